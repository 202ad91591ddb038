//! A server on a free loopback port, and a class in it.

use std::net::SocketAddr;

use classroom::limits::Limits;
use classroom::load::{open_room, Client};
use classroom::protocol::{ClientMsg, Question, ServerMsg, TeacherView};
use classroom::server::{start, Config, Running};

pub async fn server(limits: Limits) -> Running {
    start(Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        dist: None,
        limits,
    })
    .await
    .unwrap()
}

/// A room and its teacher's connection (welcomed).
pub async fn teacher(addr: SocketAddr) -> (String, String, Client) {
    let (code, token, _) = open_room(addr).await.unwrap();
    let mut t = Client::connect(addr).await.unwrap();
    t.send(&ClientMsg::Teacher {
        code: code.clone(),
        token: token.clone(),
    })
    .await
    .unwrap();
    t.until(|m| matches!(m, ServerMsg::Welcome { .. }))
        .await
        .unwrap();
    (code, token, t)
}

/// A student who joined: (connection, id, rejoin token).
pub async fn student(addr: SocketAddr, code: &str, nickname: &str) -> (Client, u32, String) {
    let mut c = Client::connect(addr).await.unwrap();
    c.send(&ClientMsg::Join {
        code: code.into(),
        nickname: nickname.into(),
    })
    .await
    .unwrap();
    match c.recv().await.unwrap() {
        Some(ServerMsg::Welcome {
            student: Some(id),
            token: Some(t),
            ..
        }) => (c, id, t),
        other => panic!("{nickname}: expected a welcome, got {other:?}"),
    }
}

/// The first refusal a hello gets: (error code, then the close).
pub async fn refused(c: &mut Client) -> classroom::protocol::ErrorCode {
    let code = match c.recv().await.unwrap() {
        Some(ServerMsg::Error { code, .. }) => code,
        other => panic!("expected an error, got {other:?}"),
    };
    assert!(
        matches!(c.recv().await.unwrap(), Some(ServerMsg::Closed { .. })),
        "a refused hello is closed"
    );
    assert!(c.recv().await.unwrap().is_none());
    code
}

/// The next error on a connection that stays open.
pub async fn error(c: &mut Client) -> classroom::protocol::ErrorCode {
    match c
        .until(|m| matches!(m, ServerMsg::Error { .. }))
        .await
        .unwrap()
    {
        ServerMsg::Error { code, .. } => code,
        _ => unreachable!(),
    }
}

/// The teacher's views until one satisfies `f`.
pub async fn teacher_until(t: &mut Client, f: impl Fn(&TeacherView) -> bool) -> TeacherView {
    match t
        .until(|m| matches!(m, ServerMsg::Teacher { view } if f(view)))
        .await
        .unwrap()
    {
        ServerMsg::Teacher { view } => view,
        _ => unreachable!(),
    }
}

/// A question from the load test's small lesson.
pub fn question(index: u32) -> Question {
    Question {
        index,
        of: 3,
        ..classroom::load::load_question()
    }
}

/// Opens `question(index)` and waits until the teacher sees it; returns seq.
pub async fn open(t: &mut Client, index: u32) -> u32 {
    t.send(&ClientMsg::Open {
        question: question(index),
    })
    .await
    .unwrap();
    let v = teacher_until(t, |v| v.question.as_ref().is_some_and(|q| q.index == index)).await;
    v.question.unwrap().seq
}

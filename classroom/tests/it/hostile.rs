//! Hostile clients: each is refused, and the class next to it loses
//! nothing (its students stay, its answers stay, the teacher keeps control).

use std::time::Duration;

use classroom::limits::Limits;
use classroom::load::{http, Client};
use classroom::protocol::{ClientMsg, CloseReason, ErrorCode, Phase, ServerMsg};

use crate::support::*;

/// A class with one answer in: the teacher, Ada (who predicted 0.5), seq.
async fn class(addr: std::net::SocketAddr) -> (String, Client, Client, u32) {
    let (code, _, mut t) = teacher(addr).await;
    let (mut ada, _, _) = student(addr, &code, "Ada").await;
    let seq = open(&mut t, 1).await;
    ada.send(&ClientMsg::Predict { seq, value: 0.5 })
        .await
        .unwrap();
    ada.until(|m| matches!(m, ServerMsg::Ack { .. }))
        .await
        .unwrap();
    teacher_until(&mut t, |v| v.answered == 1).await;
    (code, t, ada, seq)
}

/// The class still works: Ada changes her answer, the teacher sees it.
async fn still_fine(t: &mut Client, ada: &mut Client, seq: u32, students: usize) {
    ada.send(&ClientMsg::Predict { seq, value: 0.7 })
        .await
        .unwrap();
    let ack = ada
        .until(|m| matches!(m, ServerMsg::Ack { .. }))
        .await
        .unwrap();
    assert_eq!(ack, ServerMsg::Ack { seq, value: 0.7 });
    let v = teacher_until(t, |v| v.histogram.median == Some(0.7)).await;
    assert_eq!((v.answered, v.students.len()), (1, students));
    assert_eq!(v.phase, Phase::Asking);
}

#[tokio::test]
async fn wrong_and_guessed_codes_are_refused_then_rate_limited() {
    let srv = server(Limits::default()).await;
    let (code, mut t, mut ada, seq) = class(srv.addr).await;
    // Ten guesses a minute per address; the eleventh is refused even with
    // the right code, so enumerating 31^8 codes is hopeless.
    for i in 0..10 {
        let mut c = Client::connect(srv.addr).await.unwrap();
        let guess = format!("2345{:04}", 6789 - i)
            .replace('0', "A")
            .replace('1', "B");
        c.send(&ClientMsg::Join {
            code: guess,
            nickname: format!("guesser {i}"),
        })
        .await
        .unwrap();
        assert_eq!(refused(&mut c).await, ErrorCode::NoRoom, "guess {i}");
    }
    let mut c = Client::connect(srv.addr).await.unwrap();
    c.send(&ClientMsg::Join {
        code: code.clone(),
        nickname: "guesser".into(),
    })
    .await
    .unwrap();
    assert_eq!(refused(&mut c).await, ErrorCode::RateLimited);
    // a code that is not even a code
    let mut c = Client::connect(srv.addr).await.unwrap();
    c.send(&ClientMsg::Join {
        code: "0OIL".into(),
        nickname: "x".into(),
    })
    .await
    .unwrap();
    assert_eq!(refused(&mut c).await, ErrorCode::RateLimited);
    still_fine(&mut t, &mut ada, seq, 1).await;
    srv.stop();
}

#[tokio::test]
async fn forged_teacher_actions_are_refused() {
    let srv = server(Limits::default()).await;
    let (code, mut t, mut ada, seq) = class(srv.addr).await;
    for forged in [
        ClientMsg::Reveal {},
        ClientMsg::Close {},
        ClientMsg::Run {},
        ClientMsg::End {},
        ClientMsg::Kick { student: 0 },
        ClientMsg::Open {
            question: classroom::protocol::Question {
                lesson: "x".into(),
                ..question(2)
            },
        },
    ] {
        ada.send(&forged).await.unwrap();
        assert_eq!(error(&mut ada).await, ErrorCode::NotTeacher, "{forged:?}");
    }
    // A teacher's hello with a guessed token, a student's with a forged one.
    let mut c = Client::connect(srv.addr).await.unwrap();
    c.send(&ClientMsg::Teacher {
        code: code.clone(),
        token: "A".repeat(32),
    })
    .await
    .unwrap();
    assert_eq!(refused(&mut c).await, ErrorCode::BadToken);
    let mut c = Client::connect(srv.addr).await.unwrap();
    c.send(&ClientMsg::Rejoin {
        code: code.clone(),
        token: "B".repeat(32),
    })
    .await
    .unwrap();
    assert_eq!(refused(&mut c).await, ErrorCode::BadToken);
    // The export needs the token too.
    let (status, _) = http(
        srv.addr,
        "GET",
        &format!("/api/rooms/{code}/answers.csv"),
        &[("Authorization", "Bearer nope")],
    )
    .await
    .unwrap();
    assert_eq!(status, 403);
    // A second hello on a student's connection does not make it a teacher.
    ada.send(&ClientMsg::Teacher {
        code: code.clone(),
        token: "x".into(),
    })
    .await
    .unwrap();
    assert_eq!(error(&mut ada).await, ErrorCode::Hello);
    still_fine(&mut t, &mut ada, seq, 1).await;
    srv.stop();
}

#[tokio::test]
async fn oversized_and_malformed_messages_are_refused() {
    let srv = server(Limits::default()).await;
    let (code, mut t, mut ada, seq) = class(srv.addr).await;
    let (mut eve, _, _) = student(srv.addr, &code, "Eve").await;
    // over a student's 512 bytes: refused, the connection stays
    let long = format!(r#"{{"type":"ping","n":1,"pad":"{}"}}"#, "x".repeat(600));
    eve.send_raw(long).await.unwrap();
    assert_eq!(error(&mut eve).await, ErrorCode::TooLarge);
    for bad in [
        "not json",
        r#"{"type":"predict","seq":1}"#,
        r#"{"type":"predict","seq":1,"value":"fast"}"#,
        r#"{"type":"predict","seq":1,"value":1,"extra":true}"#,
        r#"{"type":"become_admin"}"#,
        r#"[1,2,3]"#,
    ] {
        eve.send_raw(bad.into()).await.unwrap();
        assert_eq!(error(&mut eve).await, ErrorCode::Malformed, "{bad}");
    }
    for v in ["1e999", "-1e13", "1e-300"] {
        eve.send_raw(format!(r#"{{"type":"predict","seq":{seq},"value":{v}}}"#))
            .await
            .unwrap();
        let e = error(&mut eve).await;
        assert!(
            matches!(e, ErrorCode::BadValue | ErrorCode::Malformed),
            "{v}: {e:?}"
        );
    }
    // over the server's 64 KiB: the connection is cut
    let huge = "x".repeat(100 * 1024);
    let _ = eve.send_raw(huge).await;
    let gone = loop {
        match eve.recv().await {
            Ok(Some(ServerMsg::Error { .. })) => continue,
            Ok(None) | Err(_) => break true,
            Ok(Some(_)) => continue,
        }
    };
    assert!(gone);
    // a hello that is not one
    let mut c = Client::connect(srv.addr).await.unwrap();
    c.send_raw("{\"type\":\"reveal\"}".into()).await.unwrap();
    assert_eq!(refused(&mut c).await, ErrorCode::Hello);
    let v = teacher_until(&mut t, |v| v.students.iter().any(|s| !s.online)).await;
    assert_eq!(v.students.len(), 2, "Eve keeps her seat: she may come back");
    still_fine(&mut t, &mut ada, seq, 2).await;
    srv.stop();
}

#[tokio::test]
async fn scripts_and_invisible_characters_in_nicknames_are_refused() {
    let srv = server(Limits::default()).await;
    let (code, mut t, mut ada, seq) = class(srv.addr).await;
    for nick in [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "gnp\u{202E}exe.js",
        "zero\u{200B}width",
        "",
        "a very long nickname that goes on",
    ] {
        let mut c = Client::connect(srv.addr).await.unwrap();
        c.send(&ClientMsg::Join {
            code: code.clone(),
            nickname: nick.into(),
        })
        .await
        .unwrap();
        assert_eq!(refused(&mut c).await, ErrorCode::BadNickname, "{nick:?}");
    }
    // Quotes and ampersands are fine: they are escaped where shown.
    let (_c, _, _) = student(srv.addr, &code, "O'Brien & \"Co\"").await;
    let v = teacher_until(&mut t, |v| v.students.len() == 2).await;
    assert_eq!(v.students[1].nickname, "O'Brien & \"Co\"");
    still_fine(&mut t, &mut ada, seq, 2).await;
    srv.stop();
}

#[tokio::test]
async fn a_flood_of_joins_fills_the_room_and_no_more() {
    let limits = Limits {
        max_students: 20,
        ..Limits::default()
    };
    let srv = server(limits).await;
    let (code, mut t, mut ada, seq) = class(srv.addr).await;
    let mut tasks = Vec::new();
    for i in 0..60 {
        let (addr, code) = (srv.addr, code.clone());
        tasks.push(tokio::spawn(async move {
            let mut c = Client::connect(addr).await.unwrap();
            c.send(&ClientMsg::Join {
                code,
                nickname: format!("bot {i}"),
            })
            .await
            .unwrap();
            match c.recv().await.unwrap() {
                Some(ServerMsg::Welcome { .. }) => (true, Some(c)),
                Some(ServerMsg::Error {
                    code: ErrorCode::RoomFull,
                    ..
                }) => (false, None),
                other => panic!("{other:?}"),
            }
        }));
    }
    let mut seated = Vec::new();
    for task in tasks {
        let (ok, c) = task.await.unwrap();
        if ok {
            seated.extend(c);
        }
    }
    assert_eq!(seated.len(), 19, "Ada holds the 20th seat");
    let v = teacher_until(&mut t, |v| v.students.len() == 20).await;
    assert_eq!(v.answered, 1);
    still_fine(&mut t, &mut ada, seq, 20).await;
    srv.stop();
}

#[tokio::test]
async fn floods_of_messages_and_silent_connections_are_closed() {
    let limits = Limits {
        hello_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let srv = server(limits).await;
    let (code, mut t, mut ada, seq) = class(srv.addr).await;
    let (mut spam, _, _) = student(srv.addr, &code, "Spam").await;
    for n in 0..200 {
        if spam.send(&ClientMsg::Ping { n }).await.is_err() {
            break;
        }
    }
    let closed = spam
        .until(|m| matches!(m, ServerMsg::Closed { .. }))
        .await
        .unwrap();
    assert!(matches!(
        closed,
        ServerMsg::Closed {
            reason: CloseReason::Misbehaving,
            ..
        }
    ));
    // a connection that never says who it is
    let mut silent = Client::connect(srv.addr).await.unwrap();
    assert_eq!(refused(&mut silent).await, ErrorCode::Hello);
    still_fine(&mut t, &mut ada, seq, 2).await;
    srv.stop();
}

#[tokio::test]
async fn rooms_and_connections_are_capped() {
    let limits = Limits {
        max_rooms: 2,
        max_connections: 3,
        rooms_per_hour: 5,
        ..Limits::default()
    };
    let srv = server(limits).await;
    let (code, mut t, mut ada, seq) = class(srv.addr).await;
    classroom::load::open_room(srv.addr).await.unwrap();
    let (status, body) = http(srv.addr, "POST", "/api/rooms", &[]).await.unwrap();
    assert_eq!(status, 503, "{body}");
    // two connections are open (teacher, Ada); a third fits, a fourth does not
    let (_bo, _, _) = student(srv.addr, &code, "Bo").await;
    assert!(
        Client::connect(srv.addr).await.is_err(),
        "the fourth connection is refused"
    );
    still_fine(&mut t, &mut ada, seq, 2).await;
    // per address, rooms are rate-limited too (5 an hour here: 2 used, 1 refused)
    for _ in 0..2 {
        http(srv.addr, "POST", "/api/rooms", &[]).await.unwrap();
    }
    let (status, _) = http(srv.addr, "POST", "/api/rooms", &[]).await.unwrap();
    assert_eq!(status, 429);
    srv.stop();
}

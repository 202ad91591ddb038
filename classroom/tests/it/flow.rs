//! A class as it should go: join, predict, the teacher's live distribution,
//! the reveal with the measured answer, the run, rejoining, the export.

use classroom::histogram::histogram;
use classroom::limits::Limits;
use classroom::load::http;
use classroom::protocol::{AnswerStatus, ClientMsg, Phase, ServerMsg};

use crate::support::*;

#[tokio::test]
async fn a_class_predicts_and_sees_the_answer_beside_its_distribution() {
    let srv = server(Limits::default()).await;
    let addr = srv.addr;
    let (code, token, mut t) = teacher(addr).await;
    let mut class = Vec::new();
    for name in ["Ada", "Bo", "Cy"] {
        class.push(student(addr, &code, name).await);
    }
    teacher_until(&mut t, |v| v.students.len() == 3).await;
    let seq = open(&mut t, 1).await;
    let guesses = [0.2, 0.5, 0.9];
    for ((c, _, _), g) in class.iter_mut().zip(guesses) {
        c.until(|m| matches!(m, ServerMsg::Room { view } if view.phase == Phase::Asking))
            .await
            .unwrap();
        c.send(&ClientMsg::Predict { seq, value: g }).await.unwrap();
        let ack = c
            .until(|m| matches!(m, ServerMsg::Ack { .. }))
            .await
            .unwrap();
        assert_eq!(ack, ServerMsg::Ack { seq, value: g });
    }
    // The teacher's distribution: exactly the three guesses, the count who
    // answered, and the roster's ticks.
    // The server measures the answer meanwhile: M/M/1 at rate 0.5, so
    // utilisation rho = 0.5.
    let v = teacher_until(&mut t, |v| {
        v.answered == 3 && matches!(v.answer, AnswerStatus::Ready { .. })
    })
    .await;
    assert_eq!(v.histogram, histogram(&guesses, None));
    assert!(v.students.iter().all(|s| s.answered && s.online));
    let AnswerStatus::Ready { answer } = v.answer else {
        unreachable!()
    };
    assert!((answer.mean - 0.5).abs() < 0.2, "{answer:?}");
    assert_eq!(answer.seeds, 10); // every lesson runs at least 10 seeds
    t.send(&ClientMsg::Reveal {}).await.unwrap();
    let (c, _, _) = &mut class[0];
    let view = match c
        .until(|m| matches!(m, ServerMsg::Room { view } if view.phase == Phase::Revealed))
        .await
        .unwrap()
    {
        ServerMsg::Room { view } => view,
        _ => unreachable!(),
    };
    assert_eq!(
        view.answer,
        Some(AnswerStatus::Ready {
            answer: answer.clone()
        })
    );
    let h = view.histogram.unwrap();
    assert_eq!(h, histogram(&guesses, Some(answer.mean)));
    // Run it for all.
    t.send(&ClientMsg::Run {}).await.unwrap();
    c.until(|m| matches!(m, ServerMsg::Room { view } if view.run_link.is_some()))
        .await
        .unwrap();
    // The export has one row per answer, with the answer measured.
    let auth = format!("Bearer {token}");
    let (status, csv) = http(
        addr,
        "GET",
        &format!("/api/rooms/{code}/answers.csv"),
        &[("Authorization", &auth)],
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{csv}");
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(csv.contains("\"Bo\",0.5,"), "{csv}");
    srv.stop();
}

#[tokio::test]
async fn a_student_who_comes_back_keeps_their_seat_and_answer() {
    let srv = server(Limits::default()).await;
    let (code, _, mut t) = teacher(srv.addr).await;
    let (mut c, id, tok) = student(srv.addr, &code, "Ada").await;
    let seq = open(&mut t, 1).await;
    c.send(&ClientMsg::Predict { seq, value: 3.0 })
        .await
        .unwrap();
    c.until(|m| matches!(m, ServerMsg::Ack { .. }))
        .await
        .unwrap();
    drop(c); // the phone slept
    teacher_until(&mut t, |v| v.students.iter().any(|s| !s.online)).await;
    let mut again = classroom::load::Client::connect(srv.addr).await.unwrap();
    again
        .send(&ClientMsg::Rejoin {
            code: code.clone(),
            token: tok,
        })
        .await
        .unwrap();
    match again.recv().await.unwrap() {
        Some(ServerMsg::Welcome {
            student, nickname, ..
        }) => {
            assert_eq!((student, nickname.as_deref()), (Some(id), Some("Ada")))
        }
        other => panic!("{other:?}"),
    }
    let ack = again
        .until(|m| matches!(m, ServerMsg::Ack { .. }))
        .await
        .unwrap();
    assert_eq!(ack, ServerMsg::Ack { seq, value: 3.0 });
    let v = teacher_until(&mut t, |v| v.students.iter().all(|s| s.online)).await;
    assert_eq!(v.answered, 1);
    srv.stop();
}

#[tokio::test]
async fn the_teacher_removes_a_student_and_ends_the_class() {
    let srv = server(Limits::default()).await;
    let (code, token, mut t) = teacher(srv.addr).await;
    let (mut rude, id, _) = student(srv.addr, &code, "rude word").await;
    let (mut ada, _, _) = student(srv.addr, &code, "Ada").await;
    // Both on the teacher's screen first: otherwise a view from before Ada
    // joined (one student, the rude one) would pass the check below.
    teacher_until(&mut t, |v| v.students.len() == 2).await;
    t.send(&ClientMsg::Kick { student: id }).await.unwrap();
    let closed = rude
        .until(|m| matches!(m, ServerMsg::Closed { .. }))
        .await
        .unwrap();
    assert!(matches!(
        closed,
        ServerMsg::Closed {
            reason: classroom::protocol::CloseReason::Kicked,
            ..
        }
    ));
    let v = teacher_until(&mut t, |v| v.students.len() == 1).await;
    assert_eq!(v.students[0].nickname, "Ada");
    t.send(&ClientMsg::End {}).await.unwrap();
    ada.until(|m| matches!(m, ServerMsg::Closed { .. }))
        .await
        .unwrap();
    // nothing is kept: the room and its export are gone
    let auth = format!("Bearer {token}");
    let (status, _) = http(
        srv.addr,
        "GET",
        &format!("/api/rooms/{code}/answers.csv"),
        &[("Authorization", &auth)],
    )
    .await
    .unwrap();
    assert_eq!(status, 403);
    srv.stop();
}

#[tokio::test]
async fn rooms_expire_and_tell_their_students() {
    let limits = Limits {
        room_ttl: std::time::Duration::from_secs(2),
        ..Limits::default()
    };
    let srv = server(limits).await;
    let (code, _, _t) = teacher(srv.addr).await;
    let (mut c, _, _) = student(srv.addr, &code, "Ada").await;
    let m = c
        .until(|m| matches!(m, ServerMsg::Closed { .. }))
        .await
        .unwrap();
    assert!(matches!(
        m,
        ServerMsg::Closed {
            reason: classroom::protocol::CloseReason::Expired,
            ..
        }
    ));
    let mut late = classroom::load::Client::connect(srv.addr).await.unwrap();
    late.send(&ClientMsg::Join {
        code,
        nickname: "Bo".into(),
    })
    .await
    .unwrap();
    assert_eq!(
        refused(&mut late).await,
        classroom::protocol::ErrorCode::NoRoom
    );
    srv.stop();
}

#[tokio::test]
async fn the_server_says_where_students_join_and_draws_the_qr_code() {
    let srv = server(Limits::default()).await;
    let (status, body) = http(srv.addr, "GET", "/api/info", &[]).await.unwrap();
    assert_eq!(status, 200);
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(info["classroom"], 1);
    // Bound to loopback: phones cannot join, and the page is told so.
    assert_eq!(info["lan"], false);
    let (_, _, reply) = classroom::load::open_room(srv.addr).await.unwrap();
    let url = reply["join_url"].as_str().unwrap();
    assert!(
        url.ends_with(&format!("/?join={}", reply["code"].as_str().unwrap())),
        "{url}"
    );
    assert!(reply["qr_svg"].as_str().unwrap().contains("<svg"));
    let msg = classroom::server::startup_message(srv.addr);
    assert!(msg.contains("--host 0.0.0.0"), "{msg}");
    srv.stop();
}

//! One WebSocket connection: the hello that says who it is, then a reader
//! (every message checked: size, rate, shape, role) and a writer (the
//! connection's mailbox, and the room's views, coalesced so that a burst
//! of changes costs a slow phone one message, not a queue).

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{token, Outgoing, RoomCell, Shared};
use crate::protocol::{
    normalise_code, AnswerStatus, ClientMsg, CloseReason, ErrorCode, Role, ServerMsg, MAX_MESSAGE,
    MAX_STUDENT_MESSAGE,
};
use crate::room::{answer_view, Refusal};

/// Views are sent at most this often to one connection.
const COALESCE: Duration = Duration::from_millis(100);
/// Messages waiting for one connection; a client this far behind is
/// dropped rather than buffered.
const MAILBOX: usize = 64;

pub(crate) async fn upgrade(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ws: WebSocketUpgrade,
) -> Response {
    if shared.connections.load(Ordering::SeqCst) >= shared.limits.max_connections {
        return (StatusCode::SERVICE_UNAVAILABLE, "server full").into_response();
    }
    ws.max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .on_upgrade(move |socket| run(shared, peer.ip(), socket))
}

/// Counts a live connection for as long as it is held.
struct Counted(Arc<Shared>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Who a connection is, once its hello was accepted.
struct Ident {
    cell: Arc<RoomCell>,
    role: Role,
    student: Option<u32>,
    conn: u64,
}

fn json(m: &ServerMsg) -> Message {
    Message::Text(serde_json::to_string(m).expect("messages serialise").into())
}

fn error(code: ErrorCode, message: impl Into<String>) -> ServerMsg {
    ServerMsg::Error {
        code,
        message: message.into(),
    }
}

async fn run(shared: Arc<Shared>, ip: IpAddr, socket: WebSocket) {
    shared.connections.fetch_add(1, Ordering::SeqCst);
    let _counted = Counted(Arc::clone(&shared));
    let (mut sink, mut stream) = socket.split();
    let first = tokio::time::timeout(shared.limits.hello_timeout, stream.next()).await;
    let text = match first {
        Ok(Some(Ok(Message::Text(t)))) => t,
        Ok(Some(Ok(_))) => {
            let e = error(ErrorCode::Hello, "the first message is a JSON hello");
            return refuse(&mut sink, e).await;
        }
        Err(_) => {
            let e = error(ErrorCode::Hello, "no hello in time");
            return refuse(&mut sink, e).await;
        }
        _ => return,
    };
    let (tx, rx) = mpsc::channel(MAILBOX);
    let ident = match hello(&shared, ip, text.as_str(), &tx) {
        Ok(ident) => ident,
        Err((code, message)) => return refuse(&mut sink, error(code, message)).await,
    };
    ident.cell.changed();
    let writer = tokio::spawn(write(
        sink,
        rx,
        Arc::clone(&ident.cell),
        ident.role,
        Arc::clone(&shared),
    ));
    read(&shared, &ident, &mut stream, &tx, writer).await;
    leave(&shared, &ident);
}

async fn refuse(sink: &mut SplitSink<WebSocket, Message>, e: ServerMsg) {
    let _ = sink.send(json(&e)).await;
    let closed = ServerMsg::Closed {
        reason: CloseReason::Refused,
        message: "refused".into(),
    };
    let _ = sink.send(json(&closed)).await;
    let _ = sink.close().await;
}

/// Checks the hello and seats the connection in its room.
fn hello(
    shared: &Arc<Shared>,
    ip: IpAddr,
    text: &str,
    tx: &mpsc::Sender<Outgoing>,
) -> Result<Ident, Refusal> {
    if text.len() > MAX_STUDENT_MESSAGE {
        return Err((ErrorCode::TooLarge, "a hello is short".into()));
    }
    let msg: ClientMsg = serde_json::from_str(text).map_err(|e| {
        (
            ErrorCode::Malformed,
            format!("not a hello: {}", short(&e.to_string())),
        )
    })?;
    let code = match &msg {
        ClientMsg::Teacher { code, .. }
        | ClientMsg::Join { code, .. }
        | ClientMsg::Rejoin { code, .. } => code.clone(),
        _ => {
            return Err((
                ErrorCode::Hello,
                "say who you are first: teacher, join or rejoin".into(),
            ))
        }
    };
    if !shared.may_try(ip) {
        return Err((
            ErrorCode::RateLimited,
            "too many wrong codes from this address: wait a minute".into(),
        ));
    }
    let code = normalise_code(&code).map_err(|m| (ErrorCode::BadCode, m))?;
    let Some(cell) = shared.room(&code) else {
        shared.fail(ip);
        return Err((
            ErrorCode::NoRoom,
            "no room has this code: check it on the projector".into(),
        ));
    };
    let now = shared.now_ms();
    let conn = shared.conn_id();
    let mut room = cell.room.lock().expect("room lock");
    let (role, student, welcome) = match msg {
        ClientMsg::Teacher { token, .. } => {
            if !room.is_teacher(&token) {
                drop(room);
                shared.fail(ip);
                return Err((ErrorCode::BadToken, "not this room's teacher".into()));
            }
            room.teacher_online(true, now);
            (Role::Teacher, None, welcome(Role::Teacher, &code, None))
        }
        ClientMsg::Join { nickname, .. } => {
            let t = token();
            let (id, name) = room.join(&nickname, t.clone())?;
            (
                Role::Student,
                Some(id),
                welcome(Role::Student, &code, Some((id, name, t))),
            )
        }
        ClientMsg::Rejoin { token, .. } => {
            let (id, name) = room.rejoin(&token).inspect_err(|_| {
                shared.fail(ip);
            })?;
            (
                Role::Student,
                Some(id),
                welcome(Role::Student, &code, Some((id, name, token))),
            )
        }
        _ => unreachable!("checked above"),
    };
    if let Some(id) = student {
        room.set_online(id, true);
    }
    let mut queue = vec![Outgoing::Msg(welcome)];
    if let Some((seq, value)) = student.and_then(|id| room.prediction_of(id)) {
        queue.push(Outgoing::Msg(ServerMsg::Ack { seq, value }));
    }
    drop(room);
    for m in queue {
        let _ = tx.try_send(m);
    }
    let old = cell
        .conns
        .lock()
        .expect("conns lock")
        .insert(student, (conn, tx.clone()));
    if let Some((_, old)) = old {
        let why = "you opened the room elsewhere; this page is no longer connected";
        let _ = old.try_send(Outgoing::Close(CloseReason::Replaced, why.into()));
    }
    Ok(Ident {
        cell,
        role,
        student,
        conn,
    })
}

fn welcome(role: Role, code: &str, student: Option<(u32, String, String)>) -> ServerMsg {
    let (student, nickname, token) = match student {
        Some((id, name, t)) => (Some(id), Some(name), Some(t)),
        None => (None, None, None),
    };
    ServerMsg::Welcome {
        role,
        code: code.to_string(),
        student,
        nickname,
        token,
    }
}

fn short(s: &str) -> String {
    s.chars().take(200).collect()
}

/// A connection's own budget of messages per second.
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn take(&mut self, per_s: f64, burst: f64) -> bool {
        let now = Instant::now();
        let dt = now.duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + dt * per_s).min(burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

async fn read(
    shared: &Arc<Shared>,
    ident: &Ident,
    stream: &mut SplitStream<WebSocket>,
    tx: &mpsc::Sender<Outgoing>,
    mut writer: tokio::task::JoinHandle<()>,
) {
    let l = &shared.limits;
    let burst = f64::from(l.message_burst.max(1));
    let mut bucket = Bucket {
        tokens: burst,
        at: Instant::now(),
    };
    let mut strikes = 0;
    loop {
        let msg = tokio::select! {
            m = stream.next() => m,
            _ = &mut writer => return,
        };
        let refused = match msg {
            Some(Ok(Message::Text(t))) => {
                if !bucket.take(f64::from(l.messages_per_s), burst) {
                    Err((
                        ErrorCode::RateLimited,
                        "slow down: too many messages".into(),
                    ))
                } else {
                    handle(shared, ident, t.as_str(), tx)
                }
            }
            Some(Ok(Message::Binary(_))) => {
                Err((ErrorCode::Malformed, "text (JSON) messages only".into()))
            }
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
            Some(Ok(_)) => Ok(()), // ping and pong frames
        };
        if let Err((code, message)) = refused {
            strikes += 1;
            if strikes >= l.strikes {
                // Wait for room in the mailbox (briefly): the client should
                // learn why it is closed, even behind its own flood's replies.
                let why = format!("closed after {strikes} refused messages");
                let close = tx.send(Outgoing::Close(CloseReason::Misbehaving, why));
                let _ = tokio::time::timeout(Duration::from_secs(1), close).await;
                break;
            }
            let _ = tx.try_send(Outgoing::Msg(error(code, message)));
        }
    }
    // Let the writer send what is queued (a close), then stop it.
    let _ = tokio::time::timeout(Duration::from_secs(2), &mut writer).await;
    writer.abort();
}

/// One message after the hello.
fn handle(
    shared: &Arc<Shared>,
    ident: &Ident,
    text: &str,
    tx: &mpsc::Sender<Outgoing>,
) -> Result<(), Refusal> {
    if ident.role == Role::Student && text.len() > MAX_STUDENT_MESSAGE {
        return Err((
            ErrorCode::TooLarge,
            format!("a student's message has at most {MAX_STUDENT_MESSAGE} bytes"),
        ));
    }
    let msg: ClientMsg =
        serde_json::from_str(text).map_err(|e| (ErrorCode::Malformed, short(&e.to_string())))?;
    let cell = &ident.cell;
    match (msg, ident.student) {
        (ClientMsg::Ping { n }, _) => {
            let _ = tx.try_send(Outgoing::Msg(ServerMsg::Pong { n }));
        }
        (ClientMsg::Predict { seq, value }, Some(id)) => {
            let v = cell
                .room
                .lock()
                .expect("room lock")
                .predict(id, seq, value)?;
            cell.teacher_dirty.send_modify(|n| *n += 1);
            let _ = tx.try_send(Outgoing::Msg(ServerMsg::Ack { seq, value: v }));
        }
        (ClientMsg::Teacher { .. } | ClientMsg::Join { .. } | ClientMsg::Rejoin { .. }, _) => {
            return Err((
                ErrorCode::Hello,
                "this connection already said who it is".into(),
            ));
        }
        (ClientMsg::Predict { .. }, None) => {
            return Err((ErrorCode::NotNow, "the teacher does not predict".into()));
        }
        (m, None) if ident.role == Role::Teacher => teach(shared, cell, m)?,
        _ => {
            return Err((
                ErrorCode::NotTeacher,
                "only the teacher's page can do that".into(),
            ));
        }
    }
    Ok(())
}

/// A teacher's action.
fn teach(shared: &Arc<Shared>, cell: &Arc<RoomCell>, msg: ClientMsg) -> Result<(), Refusal> {
    let mut room = cell.room.lock().expect("room lock");
    match msg {
        ClientMsg::Open { question } => {
            let (lesson, scenario) = (question.lesson.clone(), question.scenario.clone());
            let seq = room.open(question)?;
            measure(Arc::clone(shared), Arc::clone(cell), seq, lesson, scenario);
        }
        ClientMsg::Close {} => room.close()?,
        ClientMsg::Reveal {} => room.reveal()?,
        ClientMsg::Run {} => room.run(true)?,
        ClientMsg::StopRun {} => room.run(false)?,
        ClientMsg::Kick { student } => {
            room.kick(student)?;
            if let Some((_, tx)) = cell
                .conns
                .lock()
                .expect("conns lock")
                .remove(&Some(student))
            {
                let why = "the teacher removed you from the room";
                let _ = tx.try_send(Outgoing::Close(CloseReason::Kicked, why.into()));
            }
        }
        ClientMsg::End {} => {
            let code = room.code().to_string();
            drop(room);
            shared.remove_room(&code);
            cell.close_all(
                CloseReason::Ended,
                "the teacher ended the class; nothing is kept",
            );
            return Ok(());
        }
        _ => unreachable!("students' messages are handled by the caller"),
    }
    // `changed` locks the room again: a guard still held here would deadlock.
    drop(room);
    cell.changed();
    Ok(())
}

/// Measures question `seq`'s answer off the async threads, one lesson at
/// a time on the server; skipped if the room has moved on by then.
fn measure(
    shared: Arc<Shared>,
    cell: Arc<RoomCell>,
    seq: u32,
    lesson: String,
    scenario: Option<String>,
) {
    tokio::spawn(async move {
        let Ok(_permit) = shared.compute.acquire().await else {
            return;
        };
        let current = cell.room.lock().expect("room lock").current_seq();
        let status = if current != Some(seq) {
            AnswerStatus::Failed {
                message: "not measured: another question was opened".into(),
            }
        } else {
            let max = shared.limits.max_work;
            let job = move || answer(&lesson, scenario.as_deref(), max);
            tokio::task::spawn_blocking(job)
                .await
                .unwrap_or_else(|_| AnswerStatus::Failed {
                    message: "the simulation of this lesson failed".into(),
                })
        };
        cell.room.lock().expect("room lock").set_answer(seq, status);
        cell.changed();
    });
}

fn answer(lesson: &str, scenario: Option<&str>, max_work: u64) -> AnswerStatus {
    let measured = sim_core::lesson::Lesson::from_toml_str(lesson)
        .and_then(|l| sim_core::workshop::class_answer(&l, scenario, max_work));
    match measured {
        Ok(a) => AnswerStatus::Ready {
            answer: answer_view(&a),
        },
        Err(e) => AnswerStatus::Failed {
            message: format!("lesson: {e}"),
        },
    }
}

/// The connection's writer: its mailbox first, then the room's view when
/// it changed (at most every [`COALESCE`]).
async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Outgoing>,
    cell: Arc<RoomCell>,
    role: Role,
    shared: Arc<Shared>,
) {
    let mut students = cell.students_view.subscribe();
    let mut teacher = cell.teacher_dirty.subscribe();
    students.mark_changed();
    teacher.mark_changed();
    let mut next_view = Instant::now();
    loop {
        let view_changed = async {
            tokio::time::sleep_until(next_view).await;
            match role {
                Role::Student => students.changed().await,
                Role::Teacher => teacher.changed().await,
            }
        };
        let out = tokio::select! {
            biased;
            m = rx.recv() => match m {
                Some(Outgoing::Msg(m)) => json(&m),
                Some(Outgoing::Close(reason, message)) => {
                    let _ = sink.send(json(&ServerMsg::Closed { reason, message })).await;
                    let _ = sink.close().await;
                    return;
                }
                None => return,
            },
            r = view_changed => {
                if r.is_err() {
                    return;
                }
                next_view = Instant::now() + COALESCE;
                match role {
                    Role::Student => Message::Text(students.borrow_and_update().clone()),
                    Role::Teacher => {
                        teacher.borrow_and_update();
                        let view = cell.room.lock().expect("room lock").teacher_view(shared.now_ms());
                        json(&ServerMsg::Teacher { view })
                    }
                }
            }
        };
        if sink.send(out).await.is_err() {
            return;
        }
    }
}

/// The connection is gone: the seat stays (the student can come back),
/// marked offline, unless another connection took it over.
fn leave(shared: &Shared, ident: &Ident) {
    let mut conns = ident.cell.conns.lock().expect("conns lock");
    let ours = conns
        .get(&ident.student)
        .is_some_and(|(c, _)| *c == ident.conn);
    if !ours {
        return;
    }
    conns.remove(&ident.student);
    drop(conns);
    {
        let mut room = ident.cell.room.lock().expect("room lock");
        match ident.student {
            Some(id) => room.set_online(id, false),
            None => room.teacher_online(false, shared.now_ms()),
        }
    }
    ident.cell.changed();
}

//! The load test of `cargo xtask bench --only classroom`, and the small
//! HTTP and WebSocket clients it (and the integration tests) use.
//!
//! N students join one room of a running server on loopback; the teacher
//! opens a question; then, by turns, every student pings (the yardstick: a
//! round trip through the server that touches no room) and every student
//! predicts (a round trip through the room's lock, and a teacher update).
//! It checks that the teacher's distribution is exactly the histogram of
//! the last predictions, and reports the server's memory and the latency
//! percentiles. Bounded: every wait has a deadline, nothing repeats more
//! than `rounds` times.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::histogram::histogram;
use crate::protocol::{ClientMsg, Phase, Question, ServerMsg, TeacherView};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One HTTP/1.1 request over a fresh connection: (status, body).
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<(u16, String), String> {
    let mut s = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n"
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    timeout(Duration::from_secs(20), s.read_to_end(&mut raw))
        .await
        .map_err(|_| "HTTP response timed out".to_string())?
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no HTTP header")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no HTTP status")?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok((status, body))
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

/// A room opened over HTTP: (code, teacher token, the whole reply).
pub async fn open_room(addr: SocketAddr) -> Result<(String, String, Value), String> {
    let (status, body) = http(addr, "POST", "/api/rooms", &[]).await?;
    if status != 201 {
        return Err(format!("POST /api/rooms: {status} {body}"));
    }
    let v: Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    let code = v["code"].as_str().ok_or("no code")?.to_string();
    let token = v["token"].as_str().ok_or("no token")?.to_string();
    Ok((code, token, v))
}

/// A WebSocket client speaking the protocol.
pub struct Client {
    ws: Ws,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Result<Client, String> {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .map_err(|e| e.to_string())?;
        Ok(Client { ws })
    }

    pub async fn send(&mut self, m: &ClientMsg) -> Result<(), String> {
        self.send_raw(serde_json::to_string(m).expect("serialises"))
            .await
    }

    pub async fn send_raw(&mut self, text: String) -> Result<(), String> {
        self.ws
            .send(Message::text(text))
            .await
            .map_err(|e| e.to_string())
    }

    /// The next protocol message (`None`: the connection closed), within 20 s.
    pub async fn recv(&mut self) -> Result<Option<ServerMsg>, String> {
        loop {
            let next = timeout(Duration::from_secs(20), self.ws.next())
                .await
                .map_err(|_| "no message in 20 s".to_string())?;
            match next {
                Some(Ok(Message::Text(t))) => {
                    return serde_json::from_str(t.as_str())
                        .map(Some)
                        .map_err(|e| format!("{e}: {t}"))
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ok(None),
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Messages until one matches `want` (returned); errors if the
    /// connection closes or 20 s pass without a message first.
    pub async fn until(
        &mut self,
        mut want: impl FnMut(&ServerMsg) -> bool,
    ) -> Result<ServerMsg, String> {
        loop {
            match self.recv().await? {
                Some(m) if want(&m) => return Ok(m),
                Some(_) => continue,
                None => return Err("the connection closed".into()),
            }
        }
    }
}

/// A small lesson the load test's question carries (the server measures it).
pub const LOAD_LESSON: &str = r#"
id = "LOAD"
title = "M/M/1 at half load"
section = "Load test"
narrative = "One server, half busy."
question = "How busy is the server?"
predict = { metric = "nodes.s.utilisation", state = "mistake", unit = "" }
[[claims]]
text = "busy"
metric = "nodes.s.utilisation"
compare = "mistake"
op = ">="
value = 0.1
[scenario]
version = 1
name = "m/m/1"
duration_s = 100
[scenario.nodes.c]
kind = "source"
target = "s"
arrival = { process = "poisson", rate = 0.5 }
[scenario.nodes.s]
kind = "service"
workers = 1
service = { dist = "exponential", mean_s = 1.0 }
"#;

pub fn load_question() -> Question {
    Question {
        index: 1,
        of: 1,
        lesson_id: "LOAD".into(),
        title: "M/M/1 at half load".into(),
        question: "How busy is the server?".into(),
        unit: String::new(),
        lesson: LOAD_LESSON.into(),
        scenario: None,
        run_link: "?lesson=LOAD&embed".into(),
    }
}

#[derive(Clone, Debug)]
pub struct Options {
    pub addr: SocketAddr,
    pub students: usize,
    pub rounds: usize,
    pub server_pid: Option<u32>,
}

/// Percentiles of a latency sample, in milliseconds.
#[derive(Clone, Debug, Serialize)]
pub struct Latency {
    pub n: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    fn of(mut ms: Vec<f64>) -> Latency {
        ms.sort_by(f64::total_cmp);
        // nearest rank: the smallest value with at least q of the sample at or below it
        let q = |q: f64| ms[((q * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
        Latency {
            n: ms.len(),
            p50_ms: q(0.50),
            p95_ms: q(0.95),
            p99_ms: q(0.99),
            max_ms: ms[ms.len() - 1],
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub students: usize,
    pub rounds: usize,
    /// Seconds for every student to join.
    pub join_s: f64,
    /// Server memory (kB) with the room open and no student, and with
    /// every student in and every prediction made.
    pub rss_idle_kb: Option<u64>,
    pub rss_full_kb: Option<u64>,
    /// Round trips: predict -> ack (through the room), ping -> pong (not).
    pub predict: Latency,
    pub ping: Latency,
    /// p50 of predict over p50 of ping, per round (by turns): what the room costs.
    pub ratio_p50_by_round: Vec<f64>,
    /// From the last round's first prediction sent to the teacher's view
    /// showing every one of them, exactly.
    pub teacher_tally_ms: f64,
    /// From the reveal sent to the last student seeing it.
    pub reveal_broadcast: Latency,
    /// The teacher's distribution equals the histogram of the predictions.
    pub distribution_exact: bool,
}

fn rss_kb(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

enum Cmd {
    Ping(u32),
    Predict(u32, f64),
}

enum Event {
    Ready,
    Latency { predict: bool, ms: f64 },
    Phase(Phase, Instant),
}

/// The prediction of student `i` in round `r`: spread over two decades.
fn value(i: usize, r: usize) -> f64 {
    let x = ((i * 7919 + r * 104_729) % 1000) as f64 / 1000.0;
    (10f64.powf(2.0 * x - 1.0) * 1000.0).round() / 1000.0
}

async fn student(
    addr: SocketAddr,
    code: String,
    i: usize,
    mut cmds: mpsc::Receiver<Cmd>,
    events: mpsc::Sender<Event>,
) -> Result<(), String> {
    let mut c = Client::connect(addr).await?;
    let nickname = format!("student {i:04}");
    c.send(&ClientMsg::Join { code, nickname }).await?;
    c.until(|m| matches!(m, ServerMsg::Welcome { .. })).await?;
    let _ = events.send(Event::Ready).await;
    let mut pending: Option<(bool, Instant)> = None;
    let mut phase = Phase::Lobby;
    loop {
        tokio::select! {
            cmd = cmds.recv() => {
                let Some(cmd) = cmd else { return Ok(()) };
                let (m, predict) = match cmd {
                    Cmd::Ping(n) => (ClientMsg::Ping { n }, false),
                    Cmd::Predict(seq, value) => (ClientMsg::Predict { seq, value }, true),
                };
                pending = Some((predict, Instant::now()));
                c.send(&m).await?;
            }
            m = c.ws.next() => {
                let Some(Ok(Message::Text(t))) = m else {
                    match m { Some(Ok(_)) => continue, _ => return Ok(()) }
                };
                let msg: ServerMsg = serde_json::from_str(t.as_str()).map_err(|e| e.to_string())?;
                match msg {
                    ServerMsg::Pong { .. } | ServerMsg::Ack { .. } => {
                        if let Some((predict, t0)) = pending.take() {
                            let ms = t0.elapsed().as_secs_f64() * 1e3;
                            let _ = events.send(Event::Latency { predict, ms }).await;
                        }
                    }
                    ServerMsg::Room { view } if view.phase != phase => {
                        phase = view.phase;
                        let _ = events.send(Event::Phase(phase, Instant::now())).await;
                    }
                    ServerMsg::Error { message, .. } => return Err(format!("student {i}: {message}")),
                    _ => {}
                }
            }
        }
    }
}

/// Waits for `n` events matching `f`, with a deadline.
async fn collect<T>(
    rx: &mut mpsc::Receiver<Event>,
    n: usize,
    what: &str,
    mut f: impl FnMut(Event) -> Option<T>,
) -> Result<Vec<T>, String> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let ev = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .map_err(|_| format!("{what}: only {} of {n} in 120 s", out.len()))?
            .ok_or_else(|| format!("{what}: the students stopped"))?;
        if let Some(x) = f(ev) {
            out.push(x);
        }
    }
    Ok(out)
}

pub async fn run(o: Options) -> Result<Report, String> {
    if !o.addr.ip().is_loopback() {
        return Err("the load test only targets this machine's loopback".into());
    }
    if !(1..=20_000).contains(&o.students) || !(1..=100).contains(&o.rounds) {
        return Err("the load test takes 1 to 20000 students and 1 to 100 rounds".into());
    }
    let (code, token, _) = open_room(o.addr).await?;
    let mut teacher = Client::connect(o.addr).await?;
    teacher
        .send(&ClientMsg::Teacher {
            code: code.clone(),
            token,
        })
        .await?;
    teacher
        .until(|m| matches!(m, ServerMsg::Welcome { .. }))
        .await?;
    // One task reads the teacher's views; this one sends the teacher's actions.
    let (tv_tx, mut tv_rx) = mpsc::channel::<(TeacherView, Instant)>(1024);
    let (mut t_sink, t_stream) = teacher.ws.split();
    tokio::spawn(async move {
        let mut s = t_stream;
        while let Some(Ok(Message::Text(t))) = s.next().await {
            if let Ok(ServerMsg::Teacher { view }) = serde_json::from_str(t.as_str()) {
                if tv_tx.send((view, Instant::now())).await.is_err() {
                    return;
                }
            }
        }
    });
    let rss_idle_kb = rss_kb(o.server_pid);
    let (ev_tx, mut ev_rx) = mpsc::channel(4 * o.students + 16);
    let mut cmds = Vec::with_capacity(o.students);
    let t_join = Instant::now();
    for i in 0..o.students {
        let (tx, rx) = mpsc::channel(4);
        cmds.push(tx);
        let (code, events) = (code.clone(), ev_tx.clone());
        let addr = o.addr;
        tokio::spawn(async move {
            if let Err(e) = student(addr, code, i, rx, events).await {
                eprintln!("load: {e}");
            }
        });
    }
    collect(&mut ev_rx, o.students, "joined", |e| {
        matches!(e, Event::Ready).then_some(())
    })
    .await?;
    let join_s = t_join.elapsed().as_secs_f64();
    let open = ClientMsg::Open {
        question: load_question(),
    };
    t_sink
        .send(Message::text(
            serde_json::to_string(&open).expect("serialises"),
        ))
        .await
        .map_err(|e| e.to_string())?;
    collect(&mut ev_rx, o.students, "question seen", |e| match e {
        Event::Phase(Phase::Asking, _) => Some(()),
        _ => None,
    })
    .await?;
    let (mut ping, mut predict, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let mut last_sent = Instant::now();
    for r in 0..o.rounds {
        let turn = |predicting: bool| {
            let cmds = &cmds;
            async move {
                for (i, tx) in cmds.iter().enumerate() {
                    let cmd = if predicting {
                        Cmd::Predict(1, value(i, r))
                    } else {
                        Cmd::Ping(r as u32)
                    };
                    tx.send(cmd)
                        .await
                        .map_err(|_| "a student stopped".to_string())?;
                }
                Ok::<(), String>(())
            }
        };
        // by turns: which goes first alternates
        let order = if r % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        let mut p50 = [0.0; 2];
        for predicting in order {
            let first = Instant::now();
            turn(predicting).await?;
            if predicting {
                last_sent = first;
            }
            let ms = collect(&mut ev_rx, o.students, "round trips", |e| match e {
                Event::Latency { predict, ms } if predict == predicting => Some(ms),
                _ => None,
            })
            .await?;
            p50[predicting as usize] = Latency::of(ms.clone()).p50_ms;
            if predicting {
                predict.extend(ms)
            } else {
                ping.extend(ms)
            }
        }
        ratios.push(p50[1] / p50[0]);
    }
    let last = o.rounds.saturating_sub(1);
    let expected = histogram(
        &(0..o.students).map(|i| value(i, last)).collect::<Vec<_>>(),
        None,
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let (exact, tally_at) = loop {
        let (view, at) = tokio::time::timeout_at(deadline, tv_rx.recv())
            .await
            .map_err(|_| "the teacher's view never showed every prediction".to_string())?
            .ok_or("the teacher's connection closed")?;
        if view.answered as usize == o.students && view.histogram == expected {
            break (true, at);
        }
    };
    let teacher_tally_ms = tally_at.saturating_duration_since(last_sent).as_secs_f64() * 1e3;
    let rss_full_kb = rss_kb(o.server_pid);
    let reveal_at = Instant::now();
    t_sink
        .send(Message::text(
            serde_json::to_string(&ClientMsg::Reveal {}).expect("serialises"),
        ))
        .await
        .map_err(|e| e.to_string())?;
    let seen = collect(&mut ev_rx, o.students, "reveal seen", |e| match e {
        Event::Phase(Phase::Revealed, at) => {
            Some(at.saturating_duration_since(reveal_at).as_secs_f64() * 1e3)
        }
        _ => None,
    })
    .await?;
    let _ = t_sink
        .send(Message::text(
            serde_json::to_string(&ClientMsg::End {}).expect("serialises"),
        ))
        .await;
    drop(cmds);
    Ok(Report {
        students: o.students,
        rounds: o.rounds,
        join_s,
        rss_idle_kb,
        rss_full_kb,
        predict: Latency::of(predict),
        ping: Latency::of(ping),
        ratio_p50_by_round: ratios,
        teacher_tally_ms,
        reveal_broadcast: Latency::of(seen),
        distribution_exact: exact,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        // 1..=100 ms: p50 is the 50th value, p95 the 95th, p99 the 99th.
        let l = Latency::of((1..=100).rev().map(f64::from).collect());
        assert_eq!(
            (l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms),
            (50.0, 95.0, 99.0, 100.0)
        );
        assert_eq!(Latency::of(vec![3.0]).p99_ms, 3.0);
    }

    #[test]
    fn load_values_are_valid_predictions_spread_over_two_decades() {
        let v: Vec<f64> = (0..1000).map(|i| value(i, 3)).collect();
        assert!(v.iter().all(|x| crate::protocol::check_value(*x).is_ok()));
        let (lo, hi) = v
            .iter()
            .fold((f64::MAX, 0.0f64), |(a, b), x| (a.min(*x), b.max(*x)));
        assert!(lo >= 0.1 && hi <= 10.0 && hi / lo > 50.0, "{lo} {hi}");
    }
}

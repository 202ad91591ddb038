//! The HTTP side of the classroom server (axum): the static site, opening
//! rooms, the CSV export, and the registry of rooms with its expiry. The
//! WebSocket side is in `conn`.

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tokio::sync::{mpsc, watch, Semaphore};

use crate::limits::Limits;
use crate::protocol::{
    format_code, normalise_code, CloseReason, ServerMsg, CODE_ALPHABET, CODE_LEN,
};
use crate::ratelimit::RateLimiter;
use crate::room::Room;

mod conn;
mod qr;

pub use qr::join_qr_svg;

/// How the server is started.
#[derive(Clone, Debug)]
pub struct Config {
    pub addr: SocketAddr,
    /// The built site (`dist/`); without it only the API is served.
    pub dist: Option<PathBuf>,
    pub limits: Limits,
}

/// Something to tell one connection: a message, or a message and then close.
#[derive(Debug)]
pub(crate) enum Outgoing {
    Msg(ServerMsg),
    Close(CloseReason, String),
}

/// A room and the ways to reach its connections.
pub(crate) struct RoomCell {
    pub room: Mutex<Room>,
    /// The students' view, serialised once per change.
    pub students_view: watch::Sender<axum::extract::ws::Utf8Bytes>,
    /// Bumped whenever the teacher's view changes.
    pub teacher_dirty: watch::Sender<u64>,
    /// Each connection's mailbox: the teacher's under `None`.
    pub conns: Mutex<BTreeMap<Option<u32>, (u64, mpsc::Sender<Outgoing>)>>,
}

impl RoomCell {
    /// Publishes both views after a change (call without the room locked).
    pub fn changed(&self) {
        let view = self.room.lock().expect("room lock").student_view();
        let msg = serde_json::to_string(&ServerMsg::Room { view }).expect("view serialises");
        self.students_view.send_replace(msg.into());
        self.teacher_dirty.send_modify(|v| *v += 1);
    }

    /// Closes every connection of the room.
    pub fn close_all(&self, reason: CloseReason, message: &str) {
        for (_, (_, tx)) in self.conns.lock().expect("conns lock").iter() {
            let _ = tx.try_send(Outgoing::Close(reason, message.to_string()));
        }
    }
}

pub(crate) struct Shared {
    pub limits: Limits,
    start: Instant,
    pub rooms: Mutex<BTreeMap<String, Arc<RoomCell>>>,
    /// Wrong codes and tokens, per address.
    pub failed: Mutex<RateLimiter>,
    creates: Mutex<RateLimiter>,
    pub connections: AtomicUsize,
    next_conn: AtomicUsize,
    /// Lesson answers are measured one at a time.
    pub compute: Semaphore,
    join_bases: Vec<String>,
}

impl Shared {
    pub fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    pub fn conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed) as u64
    }

    pub fn room(&self, code: &str) -> Option<Arc<RoomCell>> {
        self.rooms.lock().expect("rooms lock").get(code).cloned()
    }

    /// Counts a wrong code or token from `ip`; false once it has too many.
    pub fn fail(&self, ip: IpAddr) -> bool {
        let now = self.now_ms();
        self.failed.lock().expect("limiter lock").take(ip, now)
    }

    pub fn may_try(&self, ip: IpAddr) -> bool {
        let now = self.now_ms();
        self.failed.lock().expect("limiter lock").allows(ip, now)
    }

    pub fn remove_room(&self, code: &str) {
        self.rooms.lock().expect("rooms lock").remove(code);
    }
}

/// A secret from the OS's entropy: `n` symbols of `alphabet`, each drawn
/// without modulo bias.
pub(crate) fn secret(alphabet: &[u8], n: usize) -> String {
    let mut out = String::with_capacity(n);
    let limit = 256 - 256 % alphabet.len();
    while out.len() < n {
        let mut buf = [0u8; 32];
        getrandom::fill(&mut buf).expect("the OS has entropy");
        for b in buf {
            if (b as usize) < limit && out.len() < n {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    out
}

/// A teacher's or student's token: 32 base-62 symbols, 190 bits.
pub(crate) fn token() -> String {
    secret(
        b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        32,
    )
}

/// A running server (tests and the load test start one in-process).
pub struct Running {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub fn stop(self) {
        self.task.abort();
    }
}

/// Binds and serves on the current tokio runtime.
pub async fn start(config: Config) -> io::Result<Running> {
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    let shared = Arc::new(Shared {
        start: Instant::now(),
        rooms: Mutex::new(BTreeMap::new()),
        failed: Mutex::new(RateLimiter::new(
            config.limits.failed_per_minute,
            60_000,
            config.limits.max_addresses,
        )),
        creates: Mutex::new(RateLimiter::new(
            config.limits.rooms_per_hour,
            3_600_000,
            config.limits.max_addresses,
        )),
        connections: AtomicUsize::new(0),
        next_conn: AtomicUsize::new(0),
        compute: Semaphore::new(1),
        join_bases: join_bases(addr),
        limits: config.limits.clone(),
    });
    tokio::spawn(janitor(Arc::clone(&shared)));
    let app = router(shared, config.dist);
    let task = tokio::spawn(async move {
        let svc = app.into_make_service_with_connect_info::<SocketAddr>();
        let _ = axum::serve(listener, svc).await;
    });
    Ok(Running { addr, task })
}

fn router(shared: Arc<Shared>, dist: Option<PathBuf>) -> Router {
    let api = Router::new()
        .route("/api/info", get(info))
        .route("/api/rooms", post(create_room))
        .route("/api/rooms/{code}/answers.csv", get(export_csv))
        .route("/ws", get(conn::upgrade))
        .with_state(shared);
    let site = match dist {
        Some(dir) => Router::new().fallback_service(tower_http::services::ServeDir::new(dir)),
        None => Router::new().fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                "tailsim classroom: no site built (serve with --dist)\n",
            )
        }),
    };
    api.merge(site)
        .layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
}

/// Where students can reach this server: the address it is bound to, or
/// every LAN address when it listens on all of them.
fn join_bases(addr: SocketAddr) -> Vec<String> {
    let port = addr.port();
    if !addr.ip().is_unspecified() {
        return vec![base_url(addr.ip(), port)];
    }
    let mut out: Vec<String> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter(|i| !i.is_loopback() && i.ip().is_ipv4())
        .map(|i| base_url(i.ip(), port))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn base_url(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("http://{v4}:{port}"),
        IpAddr::V6(v6) => format!("http://[{v6}]:{port}"),
    }
}

/// The students' join address: the teacher's own (when it is not this
/// machine's loopback), else the server's LAN address.
fn join_base(shared: &Shared, headers: &HeaderMap) -> (String, bool) {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.len() <= 100
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        });
    let loopback =
        |h: &str| h.starts_with("127.") || h.starts_with("localhost") || h.starts_with("[::1]");
    match host {
        Some(h) if !loopback(h) => (format!("http://{h}"), true),
        _ => match shared.join_bases.iter().find(|b| !loopback(&b[7..])) {
            Some(b) => (b.clone(), true),
            None => (
                host.map_or_else(|| shared.join_bases[0].clone(), |h| format!("http://{h}")),
                false,
            ),
        },
    }
}

async fn info(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let (base, lan) = join_base(&shared, &headers);
    Json(json!({
        "classroom": 1,
        "join_base": base,
        "lan": lan,
        "max_students": shared.limits.max_students,
    }))
    .into_response()
}

fn api_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

async fn create_room(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let now = shared.now_ms();
    if !shared
        .creates
        .lock()
        .expect("limiter lock")
        .take(peer.ip(), now)
    {
        return api_error(
            StatusCode::TOO_MANY_REQUESTS,
            "too many rooms opened from this address: wait a while",
        );
    }
    let cell = {
        let mut rooms = shared.rooms.lock().expect("rooms lock");
        if rooms.len() >= shared.limits.max_rooms {
            return api_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "this server holds as many rooms as it may: end one first",
            );
        }
        let code = loop {
            let c = secret(CODE_ALPHABET, CODE_LEN);
            if !rooms.contains_key(&c) {
                break c;
            }
        };
        let teacher = token();
        let room = Room::new(code.clone(), teacher.clone(), now, shared.limits.clone());
        let view = serde_json::to_string(&ServerMsg::Room {
            view: room.student_view(),
        })
        .expect("view serialises");
        let cell = Arc::new(RoomCell {
            room: Mutex::new(room),
            students_view: watch::Sender::new(view.into()),
            teacher_dirty: watch::Sender::new(0),
            conns: Mutex::new(BTreeMap::new()),
        });
        rooms.insert(code.clone(), Arc::clone(&cell));
        (code, teacher)
    };
    let (code, teacher) = cell;
    let (base, lan) = join_base(&shared, &headers);
    let join_url = format!("{base}/?join={code}");
    let body = json!({
        "code": code,
        "display_code": format_code(&code),
        "token": teacher,
        "join_url": join_url,
        "qr_svg": join_qr_svg(&join_url),
        "lan": lan,
        "expires_in_s": shared.limits.room_ttl.as_secs(),
    });
    (StatusCode::CREATED, Json(body)).into_response()
}

async fn export_csv(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !shared.may_try(peer.ip()) {
        return api_error(
            StatusCode::TOO_MANY_REQUESTS,
            "too many wrong tries: wait a minute",
        );
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or("");
    let cell = normalise_code(&code).ok().and_then(|c| shared.room(&c));
    let csv = cell.and_then(|cell| {
        let room = cell.room.lock().expect("room lock");
        room.is_teacher(token).then(|| room.csv())
    });
    match csv {
        Some(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"tailsim-class-{code}.csv\""),
                ),
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
            csv,
        )
            .into_response(),
        None => {
            shared.fail(peer.ip());
            api_error(StatusCode::FORBIDDEN, "no such room, or not its teacher")
        }
    }
}

/// Every second: expired rooms go (their connections are told), and the
/// rate limiters forget addresses whose buckets have refilled.
async fn janitor(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let now = shared.now_ms();
        let expired: Vec<Arc<RoomCell>> = {
            let mut rooms = shared.rooms.lock().expect("rooms lock");
            let codes: Vec<String> = rooms
                .iter()
                .filter(|(_, c)| c.room.lock().expect("room lock").expired(now))
                .map(|(k, _)| k.clone())
                .collect();
            codes.iter().filter_map(|c| rooms.remove(c)).collect()
        };
        for cell in expired {
            cell.close_all(
                CloseReason::Expired,
                "the room expired; nothing from it is kept",
            );
        }
        shared.failed.lock().expect("limiter lock").prune(now);
        shared.creates.lock().expect("limiter lock").prune(now);
    }
}

/// What `tailsim-classroom` prints on start: where teachers and students
/// go, and how to let phones on the network in.
pub fn startup_message(addr: SocketAddr) -> String {
    let port = addr.port();
    let teacher = "teachers: open a workshop, e.g.";
    if addr.ip().is_loopback() {
        let lan = join_bases(SocketAddr::new(IpAddr::from([0, 0, 0, 0]), port));
        let example = lan
            .first()
            .cloned()
            .unwrap_or_else(|| format!("http://<this computer's address>:{port}"));
        format!(
            "{teacher} http://{addr}/?workshop=first-hour\n\
             Only this computer can reach it (bound to {ip}). For a class on this network,\n\
             restart with --host 0.0.0.0 (`cargo xtask serve --classroom --host 0.0.0.0`):\n\
             students then join at {example}/?join=CODE or scan the room's QR code.\n\
             Anyone on that network can then reach the server: use a network you trust\n\
             (and let port {port} through the firewall if phones cannot connect).",
            ip = addr.ip()
        )
    } else {
        let bases = join_bases(addr);
        let list = if bases.is_empty() {
            format!("http://<this computer's address>:{port}")
        } else {
            bases.join(" or ")
        };
        format!(
            "{teacher} {first}/?workshop=first-hour\n\
             Listening on {addr}: anyone on this network can reach it. Students join at\n\
             {list}/?join=CODE, or scan the room's QR code.",
            first = bases
                .first()
                .cloned()
                .unwrap_or_else(|| format!("http://{addr}"))
        )
    }
}

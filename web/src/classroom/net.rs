//! The page's side of the wire: one WebSocket to the classroom server
//! (`/ws` on the page's own host) speaking `classroom::protocol`, and the
//! few HTTP calls (`/api/info`, `POST /api/rooms`, the CSV export).

use classroom::protocol::{ClientMsg, ServerMsg};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CloseEvent, MessageEvent, WebSocket};
use yew::Callback;

/// What a socket reports.
#[derive(Clone, Debug, PartialEq)]
pub enum SocketEvent {
    Open,
    Msg(ServerMsg),
    /// The connection is gone (the server's close, or the network's).
    Closed,
}

/// A WebSocket whose events go to one callback; closed when dropped.
pub struct Socket {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut(JsValue)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

/// `ws://host/ws` (or `wss://` on https).
fn ws_url() -> String {
    let loc = gloo::utils::window().location();
    let proto = if loc.protocol().unwrap_or_default() == "https:" {
        "wss"
    } else {
        "ws"
    };
    format!("{proto}://{}/ws", loc.host().unwrap_or_default())
}

impl Socket {
    pub fn open(on_event: Callback<SocketEvent>) -> Result<Socket, String> {
        let ws = WebSocket::new(&ws_url()).map_err(|e| format!("{e:?}"))?;
        let on_open = {
            let cb = on_event.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |_| cb.emit(SocketEvent::Open))
        };
        let on_message = {
            let cb = on_event.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
                let Some(text) = e.data().as_string() else {
                    return;
                };
                // A message this page cannot read is dropped: the server
                // speaks the same protocol crate, so it means a newer server.
                if let Ok(m) = serde_json::from_str::<ServerMsg>(&text) {
                    cb.emit(SocketEvent::Msg(m));
                }
            })
        };
        let on_close = {
            let cb = on_event;
            Closure::<dyn FnMut(CloseEvent)>::new(move |_| cb.emit(SocketEvent::Closed))
        };
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Socket {
            ws,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        })
    }

    /// Closed, or never opened: a new one may replace it. (Dropping one
    /// that is still connecting makes the browser log an error.)
    pub fn is_closed(&self) -> bool {
        self.ws.ready_state() == WebSocket::CLOSED
    }

    pub fn send(&self, m: &ClientMsg) {
        if let Ok(text) = serde_json::to_string(m) {
            let _ = self.ws.send_with_str(&text);
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

/// A request to this page's server: (status, body text).
pub async fn fetch(
    method: &str,
    path: &str,
    bearer: Option<&str>,
) -> Result<(u16, String), String> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let req = web_sys::Request::new_with_str_and_init(path, &init).map_err(|e| format!("{e:?}"))?;
    if let Some(t) = bearer {
        req.headers()
            .set("Authorization", &format!("Bearer {t}"))
            .map_err(|e| format!("{e:?}"))?;
    }
    let resp = wasm_bindgen_futures::JsFuture::from(gloo::utils::window().fetch_with_request(&req))
        .await
        .map_err(|_| "the server cannot be reached".to_string())?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|e| format!("{e:?}"))?;
    let text = wasm_bindgen_futures::JsFuture::from(resp.text().map_err(|e| format!("{e:?}"))?)
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok((resp.status(), text.as_string().unwrap_or_default()))
}

/// Whether a classroom server serves this page (a static host answers
/// `/api/info` with the page itself, or not at all).
pub async fn classroom_info() -> Result<serde_json::Value, String> {
    let (status, body) = fetch("GET", "/api/info", None).await?;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    if status == 200 && v["classroom"] == 1 {
        Ok(v)
    } else {
        Err("no classroom server here".into())
    }
}

/// The message of an API error reply (`{"error": "..."}`), or the status.
pub fn api_error(status: u16, body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_string))
        .unwrap_or_else(|| format!("the server answered {status}"))
}

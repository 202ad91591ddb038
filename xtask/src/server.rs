//! A tiny static file server for the built site (`dist/`), used by
//! `cargo xtask serve`, by the end-to-end tests and by the wasm benchmark.
//!
//! GET and HEAD only, one thread per connection, `Connection: close`.
//! `/` and unknown paths whose last segment has no dot get `index.html`
//! (the single-page app routes on the client); other unknown paths get 404.

use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// A running server; stops when dropped (or with [`Server::stop`]).
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Serve `root` on `addr` (port 0 picks a free port) from a background thread.
    pub fn start(root: impl Into<PathBuf>, addr: impl ToSocketAddrs) -> io::Result<Server> {
        let root = root.into();
        let root = root.canonicalize().map_err(|e| {
            io::Error::new(e.kind(), format!("cannot serve {}: {e}", root.display()))
        })?;
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let root = Arc::new(root);
        let thread = thread::Builder::new()
            .name("static-server".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if stop2.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let root = Arc::clone(&root);
                    let _ = thread::Builder::new()
                        .name("static-conn".into())
                        .spawn(move || {
                            let _ = handle(stream, &root);
                        });
                }
            })?;
        Ok(Server {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Block until the server thread ends (for `cargo xtask serve`: never).
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    pub fn stop(self) {
        drop(self)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// MIME type for a file name, by extension.
pub fn mime_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "txt" | "toml" | "md" | "csv" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// What a request path maps to under `root`.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolved {
    File(PathBuf),
    NotFound,
    BadRequest,
}

/// Map a request target (`/a/b.js?x=1`) to a file under `root`.
pub fn resolve(root: &Path, target: &str) -> Resolved {
    let path = target.split(['?', '#']).next().unwrap_or("");
    if !path.starts_with('/') {
        return Resolved::BadRequest;
    }
    let Some(decoded) = percent_decode(path) else {
        return Resolved::BadRequest;
    };
    let mut file = root.to_path_buf();
    let mut last = "";
    for seg in decoded.split('/') {
        match seg {
            "" | "." => {}
            ".." => return Resolved::BadRequest,
            s if s.contains('\\') || s.contains('\0') => return Resolved::BadRequest,
            s => {
                file.push(s);
                last = s;
            }
        }
    }
    if decoded.ends_with('/') {
        last = "";
    }
    if file.is_dir() {
        let index = file.join("index.html");
        if index.is_file() {
            return Resolved::File(index);
        }
    } else if file.is_file() {
        return Resolved::File(file);
    }
    // Client-side routes: no extension → the app's index.html.
    if !last.contains('.') {
        let index = root.join("index.html");
        if index.is_file() {
            return Resolved::File(index);
        }
    }
    Resolved::NotFound
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn handle(stream: TcpStream, root: &Path) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line)? == 0 {
        return Ok(()); // the wake-up connection of Drop, or a closed socket
    }
    // Skip the headers (bounded).
    let mut header_bytes = 0usize;
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line)?;
        header_bytes += n;
        if n == 0 || line == "\r\n" || line == "\n" || header_bytes > 64 * 1024 {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("");
    let mut out = stream;
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return respond(
            &mut out,
            405,
            "Method Not Allowed",
            "text/plain",
            b"405\n",
            false,
        );
    }
    match resolve(root, target) {
        Resolved::File(path) => match fs::read(&path) {
            Ok(body) => respond(&mut out, 200, "OK", mime_type(&path), &body, head_only),
            Err(_) => respond(
                &mut out,
                404,
                "Not Found",
                "text/plain",
                b"404\n",
                head_only,
            ),
        },
        Resolved::NotFound => respond(
            &mut out,
            404,
            "Not Found",
            "text/plain",
            b"404 not found\n",
            head_only,
        ),
        Resolved::BadRequest => respond(
            &mut out,
            400,
            "Bad Request",
            "text/plain",
            b"400 bad request\n",
            head_only,
        ),
    }
}

fn respond(
    out: &mut TcpStream,
    code: u16,
    reason: &str,
    mime: &str,
    body: &[u8],
    head_only: bool,
) -> io::Result<()> {
    let header = format!(
        "HTTP/1.1 {code} {reason}\r\n\
         Content-Type: {mime}\r\n\
         Content-Length: {}\r\n\
         Cache-Control: no-cache\r\n\
         X-Content-Type-Options: nosniff\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    out.write_all(header.as_bytes())?;
    if !head_only {
        out.write_all(body)?;
    }
    out.flush()?;
    let _ = out.shutdown(Shutdown::Write);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn temp_site() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "xtask-server-test-{}-{:?}",
            std::process::id(),
            thread::current().id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("assets")).unwrap();
        fs::write(dir.join("index.html"), "<title>tailsim</title>").unwrap();
        fs::write(dir.join("app-123.wasm"), b"\0asm\x01\0\0\0").unwrap();
        fs::write(dir.join("app-123.js"), "export default 1;").unwrap();
        fs::write(dir.join("assets/a b.css"), "body{}").unwrap();
        dir
    }

    fn get(addr: SocketAddr, method: &str, path: &str) -> (String, Vec<u8>) {
        let mut s = TcpStream::connect(addr).unwrap();
        write!(s, "{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8(raw[..split].to_vec()).unwrap();
        (head, raw[split + 4..].to_vec())
    }

    #[test]
    fn mime_types() {
        assert_eq!(mime_type(Path::new("x/app_bg.wasm")), "application/wasm");
        assert_eq!(mime_type(Path::new("app.js")), "text/javascript");
        assert_eq!(
            mime_type(Path::new("index.HTML")),
            "text/html; charset=utf-8"
        );
        assert_eq!(mime_type(Path::new("noext")), "application/octet-stream");
    }

    #[test]
    fn resolves_paths() {
        let root = temp_site();
        let idx = Resolved::File(root.join("index.html"));
        assert_eq!(resolve(&root, "/"), idx);
        assert_eq!(resolve(&root, "/?q=1"), idx);
        assert_eq!(resolve(&root, "/scenario/edit"), idx);
        assert_eq!(
            resolve(&root, "/app-123.wasm"),
            Resolved::File(root.join("app-123.wasm"))
        );
        assert_eq!(
            resolve(&root, "/assets/a%20b.css"),
            Resolved::File(root.join("assets/a b.css"))
        );
        assert_eq!(resolve(&root, "/missing.js"), Resolved::NotFound);
        assert_eq!(resolve(&root, "/../etc/passwd"), Resolved::BadRequest);
        assert_eq!(resolve(&root, "/%2e%2e/x"), Resolved::BadRequest);
        assert_eq!(resolve(&root, "relative"), Resolved::BadRequest);
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn serves_over_http_and_stops() {
        let root = temp_site();
        let server = Server::start(&root, "127.0.0.1:0").unwrap();
        let addr = server.addr();

        let (head, body) = get(addr, "GET", "/");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(head.contains("Content-Type: text/html"), "{head}");
        assert_eq!(body, b"<title>tailsim</title>");

        let (head, body) = get(addr, "GET", "/app-123.wasm");
        assert!(head.contains("Content-Type: application/wasm"), "{head}");
        assert_eq!(body, b"\0asm\x01\0\0\0");

        let (head, _) = get(addr, "GET", "/app-123.js");
        assert!(head.contains("Content-Type: text/javascript"), "{head}");

        let (head, body) = get(addr, "HEAD", "/app-123.js");
        assert!(head.contains("Content-Length: 17"), "{head}");
        assert!(body.is_empty());

        let (head, _) = get(addr, "GET", "/nope.png");
        assert!(head.starts_with("HTTP/1.1 404"), "{head}");
        let (head, _) = get(addr, "POST", "/");
        assert!(head.starts_with("HTTP/1.1 405"), "{head}");

        server.stop();
        assert!(TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_err());
        fs::remove_dir_all(root).unwrap();
    }
}

//! A tiny static file server for the built site (`dist/`), used by
//! `cargo xtask serve`, by the end-to-end tests and by the wasm benchmark.
//!
//! GET and HEAD only, one thread per connection, `Connection: close`.
//! `/` and unknown paths whose last segment has no dot get `index.html`
//! (the single-page app routes on the client); other unknown paths get 404.
//! Text and wasm go out gzip-compressed when the client accepts it, as a
//! static host serves them (so the page's load and the embed's weight in
//! the benchmark are what a reader downloads); each file is compressed
//! once, and again only when it changes.

use std::collections::HashMap;
use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
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
    // Read the headers (bounded): only Accept-Encoding matters.
    let mut header_bytes = 0usize;
    let mut gzip_ok = false;
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line)?;
        header_bytes += n;
        if n == 0 || line == "\r\n" || line == "\n" || header_bytes > 64 * 1024 {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("accept-encoding:") {
            gzip_ok |= v.split(',').any(|e| e.trim().starts_with("gzip"));
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
            Ok(body) if gzip_ok && compressible(&path) => {
                let gz = gzipped(&path, &body);
                let mime = mime_type(&path);
                respond_gzip(&mut out, mime, &gz, head_only)
            }
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

/// Text and wasm: what static hosts compress.
fn compressible(path: &Path) -> bool {
    let m = mime_type(path);
    m.starts_with("text/") || m == "application/wasm" || m.contains("json") || m.contains("svg")
}

/// `body` (the file at `path`) gzip-compressed at the best level, cached
/// by path and content length (a rebuilt file gets a new hash in its name,
/// or a new length).
fn gzipped(path: &Path, body: &[u8]) -> Arc<Vec<u8>> {
    type Cache = Mutex<HashMap<(PathBuf, usize), Arc<Vec<u8>>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (path.to_path_buf(), body.len());
    if let Some(gz) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return gz;
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let gz = Arc::new(
        enc.write_all(body)
            .and_then(|()| enc.finish())
            .unwrap_or_default(),
    );
    if let Ok(mut c) = cache.lock() {
        c.insert(key, gz.clone());
    }
    gz
}

fn respond_gzip(out: &mut TcpStream, mime: &str, gz: &[u8], head_only: bool) -> io::Result<()> {
    let header = format!(
        "HTTP/1.1 200 OK\r\n\
         Content-Type: {mime}\r\n\
         Content-Encoding: gzip\r\n\
         Vary: Accept-Encoding\r\n\
         Content-Length: {}\r\n\
         Cache-Control: no-cache\r\n\
         X-Content-Type-Options: nosniff\r\n\
         Access-Control-Allow-Origin: *\r\n\
         Connection: close\r\n\r\n",
        gz.len()
    );
    out.write_all(header.as_bytes())?;
    if !head_only {
        out.write_all(gz)?;
    }
    out.flush()?;
    let _ = out.shutdown(Shutdown::Write);
    Ok(())
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
         Access-Control-Allow-Origin: *\r\n\
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
        get_with(addr, method, path, "")
    }

    fn get_with(addr: SocketAddr, method: &str, path: &str, headers: &str) -> (String, Vec<u8>) {
        let mut s = TcpStream::connect(addr).unwrap();
        write!(s, "{method} {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\n").unwrap();
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
        // (a blog on another origin embeds the light embed from here)
        assert!(head.contains("Access-Control-Allow-Origin: *"), "{head}");
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

    #[test]
    fn compresses_text_and_wasm_for_clients_that_accept_gzip() {
        let root = temp_site();
        let big = "export const x = 'tailsim';\n".repeat(200);
        fs::write(root.join("big.js"), &big).unwrap();
        fs::write(root.join("pic.png"), b"\x89PNG....").unwrap();
        let server = Server::start(&root, "127.0.0.1:0").unwrap();
        let addr = server.addr();
        let accept = "Accept-Encoding: br, GZIP;q=0.9\r\n";
        let (head, body) = get_with(addr, "GET", "/big.js", accept);
        assert!(head.contains("Content-Encoding: gzip"), "{head}");
        assert!(
            head.contains(&format!("Content-Length: {}", body.len())),
            "{head}"
        );
        assert!(
            body.len() < big.len() / 10,
            "{} of {}",
            body.len(),
            big.len()
        );
        let mut plain = String::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain, big);
        // Twice: the cached copy is the same.
        assert_eq!(get_with(addr, "GET", "/big.js", accept).1, body);
        // Without Accept-Encoding, or for an image: as stored.
        let (head, plain) = get(addr, "GET", "/big.js");
        assert!(!head.contains("Content-Encoding"), "{head}");
        assert_eq!(plain, big.as_bytes());
        let (head, _) = get_with(addr, "GET", "/pic.png", accept);
        assert!(!head.contains("Content-Encoding"), "{head}");
        server.stop();
        fs::remove_dir_all(root).unwrap();
    }
}

// SPDX-License-Identifier: MPL-2.0
//! `wkrtc serve`: a page any browser opens to call wkrtc, with WebSocket signaling.
//!
//! Each visitor's page gets its own wkrtc `PeerConnection` (see [`session`]). The server is
//! also the harness of the browser interop tests: they add their scenario pages and read
//! what the pages report.

mod http;
pub mod pattern;
mod session;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::Value;

static CAT: std::sync::LazyLock<gst::DebugCategory> =
    std::sync::LazyLock::new(|| gst::DebugCategory::new("wkrtcserve", gst::DebugColorFlags::empty(), Some("wkrtc serve")));

/// The page `wkrtc serve` shows at `/`.
const INDEX: &str = include_str!("page.html");
/// The signaling client every page uses.
pub const CLIENT: &str = include_str!("client.js");
/// The largest report body accepted on `POST /report`.
const MAX_REPORT: usize = 1024 * 1024;

/// A page served besides `/`.
#[derive(Debug, Clone)]
pub struct Page {
    /// Absolute path, such as `/test/interop.html`.
    pub path: String,
    /// `Content-Type`.
    pub content_type: String,
    /// The body.
    pub body: Vec<u8>,
}

/// What to serve and how the visitors' peers are set up.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Engine settings of every visitor's peer connection.
    pub settings: wkrtc::Settings,
    /// Extra pages.
    pub pages: Vec<Page>,
    /// Signaling connections served at once; more are refused with 503. Each visitor costs a
    /// webrtcbin (about 18 threads and 18 file descriptors once connected).
    pub max_sessions: usize,
    /// The devices a visitor's `get-user-media` opens: the server's, or wkrtc's fake camera
    /// and microphone (`WKRTC_FAKE_DEVICES=1`, `--fake-devices`).
    pub devices: wkrtc::capture::MediaDevices,
}

/// 32 visitors at once: about 600 threads of webrtcbin and libnice.
pub const DEFAULT_MAX_SESSIONS: usize = 32;

impl Default for Options {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            settings: wkrtc::Settings::default(),
            pages: Vec::new(),
            max_sessions: DEFAULT_MAX_SESSIONS,
            devices: wkrtc::capture::MediaDevices::new("wkrtc serve"),
        }
    }
}

/// A running server; stops when dropped.
pub struct Server {
    addr: SocketAddr,
    reports: flume::Receiver<Value>,
    stop: Arc<AtomicBool>,
}

impl Server {
    /// Binds and starts serving on background threads.
    pub fn start(options: Options) -> Result<Self> {
        wkrtc::init().context("wkrtc does not initialise")?;
        let listener = TcpListener::bind(options.listen).with_context(|| format!("cannot listen on {}", options.listen))?;
        let addr = listener.local_addr()?;
        let (reports_tx, reports) = flume::unbounded();
        let stop = Arc::new(AtomicBool::new(false));
        let shared = session::Shared { settings: options.settings, devices: options.devices, reports: reports_tx, stop: stop.clone() };
        let pages = Arc::new(options.pages);
        let slots = Arc::new(Slots { active: AtomicUsize::new(0), max: options.max_sessions });
        std::thread::Builder::new().name("wkrtc-serve".into()).spawn(move || {
            let next_id = AtomicU64::new(1);
            for stream in listener.incoming() {
                if shared.stop.load(Ordering::Acquire) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (shared, pages, slots) = (shared.clone(), pages.clone(), slots.clone());
                let id = next_id.fetch_add(1, Ordering::Relaxed);
                std::thread::spawn(move || {
                    if let Err(e) = connection(id, stream, &shared, &pages, &slots) {
                        gst::debug!(CAT, "wkrtc serve: connection {}: {:#}", id, e);
                    }
                });
            }
        })?;
        Ok(Self { addr, reports, stop })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What pages sent with `{"type":"report"}` or `POST /report`, in order.
    pub fn reports(&self) -> flume::Receiver<Value> {
        self.reports.clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

/// Counts the signaling sessions being served.
struct Slots {
    active: AtomicUsize,
    max: usize,
}

/// A taken slot, given back on drop.
struct Slot<'a>(&'a Slots);

impl Slots {
    fn take(&self) -> Option<Slot<'_>> {
        self.active.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < self.max).then_some(n + 1)).ok().map(|_| Slot(self))
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::AcqRel);
    }
}

fn connection(id: u64, stream: TcpStream, shared: &session::Shared, pages: &[Page], slots: &Slots) -> Result<()> {
    // Signaling is small messages in bursts (an answer, then candidates): with Nagle's
    // algorithm a candidate waits for the browser's delayed ACK of the answer (measured:
    // 40 ms of every call set-up).
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let request = http::read_request(&stream)?;
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/ws") if request.is_websocket() && request.leftover.is_empty() => {
            let Some(_slot) = slots.take() else {
                return http::respond(&stream, "503 Service Unavailable", "text/plain", b"too many sessions");
            };
            http::accept_websocket(&stream, &request)?;
            let config = tungstenite::protocol::WebSocketConfig::default().max_message_size(Some(MAX_REPORT)).max_frame_size(Some(MAX_REPORT));
            session::serve(id, stream, config, shared.clone());
        }
        ("GET", "/") | ("GET", "/index.html") => http::respond(&stream, "200 OK", "text/html; charset=utf-8", INDEX.as_bytes())?,
        ("GET", "/wkrtc-client.js") => http::respond(&stream, "200 OK", "text/javascript; charset=utf-8", CLIENT.as_bytes())?,
        ("GET", path) => match pages.iter().find(|p| p.path == path) {
            Some(p) => http::respond(&stream, "200 OK", &p.content_type, &p.body)?,
            None => http::respond(&stream, "404 Not Found", "text/plain", b"not found")?,
        },
        ("POST", "/report") => {
            let len: usize = request.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
            if len > MAX_REPORT {
                return http::respond(&stream, "413 Payload Too Large", "text/plain", b"too large");
            }
            let mut body = request.leftover.clone();
            body.truncate(len);
            let mut rest = vec![0; len - body.len()];
            std::io::Read::read_exact(&mut &stream, &mut rest)?;
            body.extend(rest);
            match serde_json::from_slice::<Value>(&body) {
                Ok(v) => {
                    let _ = shared.reports.send(v);
                    http::respond(&stream, "204 No Content", "text/plain", b"")?
                }
                Err(e) => http::respond(&stream, "400 Bad Request", "text/plain", e.to_string().as_bytes())?,
            }
        }
        _ => http::respond(&stream, "405 Method Not Allowed", "text/plain", b"")?,
    }
    Ok(())
}

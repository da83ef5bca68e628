// SPDX-License-Identifier: MPL-2.0
//! A tiny blocking HTTP/1.1 server on `127.0.0.1:0` for the smoke test: it serves static files
//! from an in-memory map and forwards the JSON body of each `POST /report` to a channel.
//!
//! It is a stand-in until the real wkrtc server serves the pages, so it is deliberately small:
//! one thread accepts, one short-lived thread per connection, `Connection: close` on every
//! answer, bounded reads. It also logs each request with its arrival time, so a test can tell
//! how long a browser took to ask for its page.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

/// What the server serves: path (with its leading `/`) -> (content type, bytes).
pub type Files = HashMap<String, (String, Vec<u8>)>;

/// The largest request body accepted.
const MAX_BODY: usize = 16 << 20;
/// Bound on reading one request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// One request the server answered.
#[derive(Debug, Clone)]
pub struct Request {
    /// When its head had been read.
    pub at: Instant,
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, query included.
    pub path: String,
    /// The status code answered.
    pub status: u16,
}

/// The running server; stops when dropped.
pub struct ReportServer {
    addr: SocketAddr,
    reports: flume::Receiver<serde_json::Value>,
    log: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ReportServer {
    /// Binds `127.0.0.1:0` and starts serving `files`.
    pub fn start(files: Files) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let (tx, rx) = flume::unbounded();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let files = Arc::new(files);
        let thread = {
            let (log, stop) = (log.clone(), stop.clone());
            std::thread::Builder::new().name("report-server".into()).spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (files, tx, log) = (files.clone(), tx.clone(), log.clone());
                    let _ = std::thread::Builder::new().name("report-conn".into()).spawn(move || {
                        if let Err(e) = serve(stream, &files, &tx, &log) {
                            eprintln!("report server: {e:#}");
                        }
                    });
                }
            })?
        };
        Ok(Self { addr, reports: rx, log, stop, thread: Some(thread) })
    }

    /// The address bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The next report, waiting at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<serde_json::Value> {
        self.reports.recv_timeout(timeout).map_err(|e| anyhow!("no report within {timeout:?}: {e}"))
    }

    /// The requests answered so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for ReportServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees `stop`.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads one request from `stream` and answers it.
fn serve(stream: TcpStream, files: &Files, reports: &flume::Sender<serde_json::Value>, log: &Mutex<Vec<Request>>) -> Result<()> {
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    stream.set_write_timeout(Some(READ_TIMEOUT))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(()); // a preconnect that never sent anything
    }
    let mut parts = line.split_whitespace();
    let (method, path) = match (parts.next(), parts.next()) {
        (Some(m), Some(p)) => (m.to_string(), p.to_string()),
        _ => bail!("bad request line {line:?}"),
    };
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().context("content-length")?;
            }
        }
    }
    let at = Instant::now();
    let (status, content_type, body): (u16, &str, Vec<u8>) = match (method.as_str(), path.as_str()) {
        ("POST", "/report") if length <= MAX_BODY => {
            let mut body = vec![0; length];
            reader.read_exact(&mut body)?;
            match serde_json::from_slice(&body) {
                Ok(value) => {
                    let _ = reports.send(value);
                    (204, "text/plain", Vec::new())
                }
                Err(e) => (400, "text/plain", format!("bad JSON: {e}\n").into_bytes()),
            }
        }
        ("POST", "/report") => (413, "text/plain", b"too large\n".to_vec()),
        ("GET" | "HEAD", _) => {
            let file = path.split(['?', '#']).next().unwrap_or("");
            match files.get(file) {
                Some((ct, bytes)) => (200, ct.as_str(), if method == "HEAD" { Vec::new() } else { bytes.clone() }),
                None => (404, "text/plain", b"not found\n".to_vec()),
            }
        }
        _ => (405, "text/plain", b"method not allowed\n".to_vec()),
    };
    log.lock().unwrap_or_else(|e| e.into_inner()).push(Request { at, method, path, status });
    let reason = match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        404 => "Not Found",
        413 => "Payload Too Large",
        _ => "Method Not Allowed",
    };
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n",
        body.len()
    )?;
    out.write_all(&body)?;
    out.flush()?;
    Ok(())
}

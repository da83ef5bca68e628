// SPDX-License-Identifier: MPL-2.0
//! An aiortc peer (`tests/peers/aiortc_peer.py`, aiortc from PyPI) driven over JSON lines,
//! and the wkrtc side of a call with it: descriptions and trickled candidates go back and
//! forth through the peer's standard input and output.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use wkrtc::{Event, PeerConnection, SdpType, SessionDescription};

/// The peer script, next to the test pages.
pub const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/peers/aiortc_peer.py");

/// The Python that has aiortc: `scripts/setup.sh`'s virtual environment (`WKRTC_VENV`,
/// default `~/.cache/wkrtc/venv`), else `python3`.
pub fn python() -> std::path::PathBuf {
    let venv = std::env::var_os("WKRTC_VENV").map(std::path::PathBuf::from).or_else(|| {
        let cache = std::env::var_os("XDG_CACHE_HOME").map(std::path::PathBuf::from).or_else(|| Some(std::path::PathBuf::from(std::env::var_os("HOME")?).join(".cache")))?;
        Some(cache.join("wkrtc/venv"))
    });
    match venv.map(|v| v.join("bin/python3")) {
        Some(p) if p.exists() => p,
        _ => "python3".into(),
    }
}

/// aiortc's version, when [`python`] can import it.
pub fn available() -> Result<String> {
    let out = Command::new(python()).args(["-c", "import aiortc; print(aiortc.__version__)"]).output().context("python3")?;
    if !out.status.success() {
        bail!("aiortc is not installed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A running aiortc peer; killed when dropped.
pub struct Aiortc {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: flume::Receiver<Value>,
}

impl Aiortc {
    /// Starts `aiortc_peer.py` with `args` (the scenario and its parameters).
    pub fn start(args: &[&str]) -> Result<Self> {
        let mut cmd = Command::new(python());
        cmd.arg(SCRIPT).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit());
        // SAFETY: prctl is async-signal-safe; the peer dies with the test process.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd.spawn().context("starting the aiortc peer")?;
        let stdout = child.stdout.take().context("aiortc stdout")?;
        let stdin = child.stdin.take();
        let (tx, lines) = flume::unbounded();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(std::result::Result::ok) {
                match serde_json::from_str::<Value>(&line) {
                    Ok(v) => {
                        if tx.send(v).is_err() {
                            return;
                        }
                    }
                    Err(_) => eprintln!("aiortc: {line}"),
                }
            }
        });
        Ok(Self { child, stdin, lines })
    }

    /// Writes one line to the peer.
    pub fn send(&mut self, value: &Value) -> Result<()> {
        let stdin = self.stdin.as_mut().context("aiortc stdin closed")?;
        writeln!(stdin, "{value}").context("writing to aiortc")?;
        Ok(())
    }

    /// The next line of type `kind` within `limit`; other lines are skipped.
    pub fn expect(&self, kind: &str, limit: Duration) -> Result<Value> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self.lines.recv_timeout(left).map_err(|_| anyhow!("no '{kind}' line from aiortc within {limit:?}"))?;
            if v["type"] == kind {
                return Ok(v);
            }
        }
    }

    /// Closes the peer's standard input: it finishes and exits.
    pub fn finish(&mut self) {
        self.stdin = None;
    }
}

impl Drop for Aiortc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Forwards `pc`'s ICE candidates to `peer` until `stop` returns something for an event,
/// or `limit` passes; every event is offered to `stop`.
pub fn pump<T>(pc: &PeerConnection, peer: &mut Aiortc, limit: Duration, mut stop: impl FnMut(&Event) -> Option<T>) -> Result<T> {
    let events = pc.events();
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = events.recv_timeout(left).map_err(|_| anyhow!("wkrtc: nothing awaited happened within {limit:?}"))?;
        if let Event::IceCandidate(Some(c)) = &event {
            peer.send(&json!({"type": "candidate", "candidate": c.candidate, "sdpMid": c.sdp_mid, "sdpMLineIndex": c.sdp_mline_index}))?;
        }
        if let Some(v) = stop(&event) {
            return Ok(v);
        }
    }
}

/// A description line of the peer as a wkrtc description.
pub fn description(line: &Value) -> Result<SessionDescription> {
    let sdp = line["sdp"].as_str().context("no sdp")?.to_owned();
    let kind = match line["type"].as_str() {
        Some("offer") => SdpType::Offer,
        Some("answer") => SdpType::Answer,
        other => bail!("not a description: {other:?}"),
    };
    Ok(SessionDescription::new(kind, sdp))
}

/// A wkrtc description as a line for the peer.
pub fn line(desc: &SessionDescription) -> Value {
    let kind = if desc.sdp_type == SdpType::Offer { "offer" } else { "answer" };
    json!({"type": kind, "sdp": desc.sdp})
}

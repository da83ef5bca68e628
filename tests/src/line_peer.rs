// SPDX-License-Identifier: MPL-2.0
//! A peer in another process, driven over JSON lines (`tests/peers/aiortc_peer.py`,
//! `wkrtc-line-peer`), and the wkrtc side of a call with it: descriptions and trickled
//! candidates go back and forth through the peer's standard input and output.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use wkrtc::{Event, PeerConnection, SdpType, SessionDescription};

/// A peer process driven over JSON lines; killed when dropped.
pub struct LinePeer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: flume::Receiver<Value>,
}

impl LinePeer {
    /// Starts `cmd` here; the peer dies with the test process.
    pub fn start(mut cmd: Command) -> Result<Self> {
        // SAFETY: prctl is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        Self::start_with(cmd, |c| c.spawn().context("starting the peer"))
    }

    /// Starts `cmd` through `spawn` (which may first move it to another namespace).
    pub fn start_with(mut cmd: Command, spawn: impl FnOnce(&mut Command) -> Result<Child>) -> Result<Self> {
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit());
        let mut child = spawn(&mut cmd)?;
        let stdout = child.stdout.take().context("the peer's stdout")?;
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
                    Err(_) => eprintln!("peer: {line}"),
                }
            }
        });
        Ok(Self { child, stdin, lines })
    }

    /// Writes one line to the peer.
    pub fn send(&mut self, value: &Value) -> Result<()> {
        let stdin = self.stdin.as_mut().context("the peer's stdin is closed")?;
        writeln!(stdin, "{value}").context("writing to the peer")?;
        Ok(())
    }

    /// The next line of type `kind` within `limit`; other lines are skipped.
    pub fn expect(&self, kind: &str, limit: Duration) -> Result<Value> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self.lines.recv_timeout(left).map_err(|_| anyhow!("no '{kind}' line from the peer within {limit:?}"))?;
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

impl Drop for LinePeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Forwards `pc`'s ICE candidates to `peer` until `stop` returns something for an event,
/// or `limit` passes; every event is offered to `stop`.
pub fn pump<T>(pc: &PeerConnection, peer: &mut LinePeer, limit: Duration, mut stop: impl FnMut(&Event) -> Option<T>) -> Result<T> {
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

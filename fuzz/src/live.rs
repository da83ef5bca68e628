// SPDX-License-Identifier: MPL-2.0
//! The targets that need live objects: `wkrtc serve` over WebSocket, and sequences of W3C
//! calls on pairs of real connections.

use std::net::TcpStream;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};
use wkrtc::{
    DataChannel, DataChannelInit, MediaKind, MediaStreamTrack, OfferOptions, PeerConnection, RtpTransceiverDirection, SdpType, SessionDescription, Settings,
    TestPattern, TrackOrKind, TransceiverInit,
};
use wkrtc_cli::serve::{Options, Server};

use crate::{candidate_input, sdp_input, Report, Rng, ODD_VALUES};

/// How long a request or a call may take before it counts as a hang: longer than wkrtc's own
/// 10 s bound on every operation.
const HANG: Duration = Duration::from_secs(20);

type Ws = WebSocket<MaybeTlsStream<TcpStream>>;

fn odd_json(rng: &mut Rng) -> Value {
    match rng.below(7) {
        0 => Value::Null,
        1 => json!(rng.bits() as i64),
        2 => json!(-1),
        3 => json!(f64::MAX),
        4 => json!(rng.pick(ODD_VALUES)),
        5 => json!([1, "x", null]),
        _ => json!({"nested": {"deeper": [true]}}),
    }
}

/// One request of the page's protocol, most of them well formed, with odd members.
fn request(rng: &mut Rng) -> String {
    let mut v = match rng.below(14) {
        0 => json!({"type": "start"}),
        1 => json!({"type": "offer", "sdp": sdp_input(rng)}),
        2 => json!({"type": "answer", "sdp": sdp_input(rng)}),
        3 => {
            let c = candidate_input(rng);
            json!({"type": "candidate", "candidate": c.candidate, "sdpMid": c.sdp_mid, "sdpMLineIndex": c.sdp_mline_index})
        }
        4 => json!({"type": "offer-me"}),
        5 => {
            json!({"type": "open-channel", "label": rng.pick(ODD_VALUES), "ordered": rng.below(2) == 0, "negotiated": rng.below(4) == 0, "id": rng.below(70000)})
        }
        6 => json!({"type": "send", "label": rng.pick(&["echo", "", "x"]), "size": rng.bits() % (1 << 25), "count": rng.below(5), "seconds": 0.2}),
        7 => {
            json!({"type": "add-media", "kind": rng.pick(&["video", "audio", "text", ""]), "width": rng.bits() % 9000, "height": rng.bits() % 9000, "framerate": rng.below(300)})
        }
        8 => {
            json!({"type": "get-user-media", "constraints": {"video": {"width": {"exact": rng.below(5000)}, "frameRate": {"max": rng.below(200)}}, "audio": rng.below(2) == 0}})
        }
        9 => json!({"type": "apply-constraints", "kind": rng.pick(&["video", "audio", "x"]), "constraints": {"height": {"min": rng.below(5000)}}}),
        10 => json!({"type": "remove-media", "kind": rng.pick(&["video", "audio", "x"])}),
        11 => json!({"type": "stats"}),
        12 => return rng.pick(&["", "{", "[]", "null", "{\"type\":", "\"offer\"", "{\"type\":7}"]).to_string(),
        _ => json!({"type": rng.pick(ODD_VALUES)}),
    };
    // An odd value for one member.
    if rng.below(3) == 0 {
        if let Some(obj) = v.as_object_mut() {
            let keys: Vec<String> = obj.keys().cloned().collect();
            let key = rng.pick(&keys).clone();
            obj.insert(key, odd_json(rng));
        }
    }
    v.to_string()
}

fn connect(server: &Server) -> Result<Ws, String> {
    let (mut ws, _) = tungstenite::connect(format!("ws://{}/ws", server.addr())).map_err(|e| format!("websocket: {e}"))?;
    if let MaybeTlsStream::Plain(s) = ws.get_mut() {
        s.set_read_timeout(Some(Duration::from_millis(50))).map_err(|e| e.to_string())?;
    }
    Ok(ws)
}

/// Reads until a message satisfies `done`. `Ok(false)`: the server closed the socket, which
/// it may do for a refused frame. `Err`: nothing within [`HANG`].
fn read_until(ws: &mut Ws, done: impl Fn(&Value) -> bool) -> Result<bool, String> {
    let deadline = Instant::now() + HANG;
    while Instant::now() < deadline {
        match ws.read() {
            Ok(Message::Text(t)) => {
                if serde_json::from_str::<Value>(t.as_str()).is_ok_and(|v| done(&v)) {
                    return Ok(true);
                }
            }
            Ok(Message::Close(_)) => return Ok(false),
            Ok(_) => {}
            Err(tungstenite::Error::Io(e)) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return Ok(false),
        }
    }
    Err(format!("no answer within {HANG:?}"))
}

/// Sends `inputs` generated requests to a real `wkrtc serve`, in sessions of up to 30; after
/// each session's requests, a probe request must still be answered (or the socket have been
/// closed). At the end a new visitor must still be greeted.
pub fn run_signaling(inputs: u64, seed: u64) -> Report {
    let mut rng = Rng::new(seed);
    let mut report = Report::default();
    let started = Instant::now();
    let options = Options { settings: Settings::loopback(), devices: wkrtc::capture::MediaDevices::fake("wkrtc fuzz"), ..Options::default() };
    let server = match Server::start(options) {
        Ok(s) => s,
        Err(e) => {
            report.finding(format!("wkrtc serve does not start: {e}"));
            return report;
        }
    };
    // WKRTC_FUZZ_TRACE=FILE: every request is written there before it is sent, so that a
    // crash of the whole process (an abort inside GStreamer) leaves its input behind.
    let mut trace = std::env::var_os("WKRTC_FUZZ_TRACE").and_then(|p| std::fs::File::create(p).ok());
    let mut session = 0u64;
    while report.inputs < inputs {
        session += 1;
        let mut ws = match connect(&server) {
            Ok(ws) => ws,
            Err(e) => {
                report.finding(format!("session {session}: {e}"));
                break;
            }
        };
        let mut sent = Vec::new();
        for _ in 0..(1 + rng.below(30)).min((inputs - report.inputs) as usize) {
            let text = request(&mut rng);
            report.inputs += 1;
            if let Some(f) = trace.as_mut() {
                let _ = std::io::Write::write_all(f, format!("session {session}: {text}\n").as_bytes());
            }
            if ws.send(Message::text(text.clone())).is_err() {
                break;
            }
            sent.push(text);
        }
        let probe = format!("fuzz-probe-{session}");
        let answered = ws.send(Message::text(json!({"type": probe}).to_string())).is_ok();
        let outcome = report.time(|| if answered { read_until(&mut ws, |v| v["request"] == probe.as_str()) } else { Ok(false) });
        match outcome {
            Ok(true) => report.accepted += sent.len() as u64,
            Ok(false) => report.refused += sent.len() as u64,
            Err(why) => report.finding(format!("session {session} (seed {seed:#x}): {why} after:\n{}", sent.join("\n"))),
        }
    }
    match connect(&server).and_then(|mut ws| read_until(&mut ws, |v| v["type"] == "hello")) {
        Ok(true) => {}
        other => report.finding(format!("after the run, a new visitor is not greeted: {other:?}")),
    }
    report.elapsed = started.elapsed();
    report
}

/// Runs a wkrtc future; `Err` when it has not finished within [`HANG`].
fn bounded<T: Send + 'static>(what: &str, fut: impl std::future::Future<Output = wkrtc::Result<T>> + Send + 'static) -> Result<wkrtc::Result<T>, String> {
    let (tx, rx) = flume::bounded(1);
    std::thread::spawn(move || {
        let _ = tx.send(futures::executor::block_on(fut));
    });
    rx.recv_timeout(HANG).map_err(|_| format!("{what} did not finish within {HANG:?}"))
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

/// One side of a fuzzed call.
struct Side {
    pc: PeerConnection,
    channels: Vec<DataChannel>,
    last_created: Option<SessionDescription>,
}

/// One random W3C call on `sides[who]`: `Ok(true)` when it succeeded, `Ok(false)` when it
/// failed with a W3C error or did not apply (nothing to remove, no channel), `Err` for a
/// hang.
fn call(rng: &mut Rng, sides: &mut [Side; 2], who: usize, track: &MediaStreamTrack) -> Result<bool, String> {
    let other_local = sides[1 - who].pc.local_description();
    let side = &mut sides[who];
    let pc = &side.pc;
    let done: wkrtc::Result<()> = match rng.below(14) {
        0 => {
            let init = DataChannelInit {
                ordered: rng.below(2) == 0,
                max_retransmits: (rng.below(3) == 0).then(|| rng.below(70000) as u16),
                negotiated: rng.below(5) == 0,
                id: (rng.below(3) == 0).then(|| rng.below(65535) as u16),
                ..DataChannelInit::default()
            };
            let label: &str = rng.pick::<&str>(ODD_VALUES);
            pc.create_data_channel(label, init).map(|dc| side.channels.push(dc))
        }
        1 => bounded("createOffer", pc.create_offer(OfferOptions { ice_restart: rng.below(4) == 0 }))?.map(|d| side.last_created = Some(d)),
        2 => bounded("createAnswer", pc.create_answer())?.map(|d| side.last_created = Some(d)),
        3 => bounded("setLocalDescription", pc.set_local_description(if rng.below(3) == 0 { None } else { side.last_created.clone() }))?,
        4 => {
            let desc = match (other_local, rng.below(3)) {
                (Some(d), 0 | 1) => d,
                _ => SessionDescription::new(*rng.pick(&[SdpType::Offer, SdpType::Answer, SdpType::Pranswer, SdpType::Rollback]), sdp_input(rng)),
            };
            bounded("setRemoteDescription", pc.set_remote_description(desc))?
        }
        5 => bounded("addIceCandidate", pc.add_ice_candidate(if rng.below(8) == 0 { None } else { Some(candidate_input(rng)) }))?,
        6 => {
            let kind = if rng.below(2) == 0 { MediaKind::Audio } else { MediaKind::Video };
            let direction = *rng.pick(&[RtpTransceiverDirection::SendRecv, RtpTransceiverDirection::RecvOnly, RtpTransceiverDirection::Inactive]);
            pc.add_transceiver(TrackOrKind::Kind(kind), TransceiverInit { direction, ..Default::default() }).map(|_| ())
        }
        7 => pc.add_track(track, &["s".into()]).map(|_| ()),
        8 => match pc.senders().first() {
            Some(s) => pc.remove_track(s),
            None => return Ok(false),
        },
        9 => {
            pc.restart_ice();
            Ok(())
        }
        10 => bounded("getStats", pc.get_stats())?.map(|_| ()),
        11 => match side.channels.first() {
            Some(dc) => dc.send_binary(&vec![7u8; rng.below(70000)]),
            None => return Ok(false),
        },
        12 => match side.channels.pop() {
            Some(dc) => {
                dc.close();
                Ok(())
            }
            None => return Ok(false),
        },
        _ => match pc.transceivers().first() {
            Some(t) => t.set_direction(*rng.pick(&[RtpTransceiverDirection::SendOnly, RtpTransceiverDirection::Stopped])),
            None => return Ok(false),
        },
    };
    Ok(done.is_ok())
}

/// Runs `sequences` random sequences of 5 to 25 calls on two fresh connections each; every
/// call is an input. Descriptors must come back to where they were once the connections are
/// gone.
pub fn run_api(sequences: u64, seed: u64) -> Report {
    let mut rng = Rng::new(seed);
    let mut report = Report::default();
    let started = Instant::now();
    let track = match MediaStreamTrack::test_pattern(MediaKind::Video, TestPattern { width: 160, height: 120, framerate: 15, frequency: 440 }) {
        Ok(t) => t,
        Err(e) => {
            report.finding(format!("no test pattern: {e}"));
            return report;
        }
    };
    let baseline = open_fds();
    for sequence in 0..sequences {
        let make = || PeerConnection::with_settings(Default::default(), Settings::loopback());
        let (a, b) = match (make(), make()) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => {
                report.finding(format!("sequence {sequence}: no connection: {e}"));
                break;
            }
        };
        let mut sides = [Side { pc: a, channels: Vec::new(), last_created: None }, Side { pc: b, channels: Vec::new(), last_created: None }];
        for step in 0..5 + rng.below(21) {
            let who = rng.below(2);
            let outcome = report.time(|| catch_unwind(AssertUnwindSafe(|| call(&mut rng, &mut sides, who, &track))));
            report.inputs += 1;
            match outcome {
                Ok(Ok(true)) => report.accepted += 1,
                Ok(Ok(false)) => report.refused += 1,
                Ok(Err(why)) => report.finding(format!("sequence {sequence} step {step} (seed {seed:#x}): {why}")),
                Err(_) => report.finding(format!("sequence {sequence} step {step} (seed {seed:#x}) panicked")),
            }
        }
        drop(sides);
    }
    // Connections release their descriptors once dropped; give their pipelines time to stop.
    let deadline = Instant::now() + HANG;
    while open_fds() > baseline + 16 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    if open_fds() > baseline + 16 {
        report.finding(format!("{} descriptors open after {sequences} sequences, {baseline} before", open_fds()));
    }
    track.stop();
    report.elapsed = started.elapsed();
    report
}

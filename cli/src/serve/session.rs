// SPDX-License-Identifier: MPL-2.0
//! One visitor: a WebSocket signaling connection driving one wkrtc `PeerConnection`.
//!
//! Every data channel echoes what it receives (text and binary), except channels whose label
//! starts with `sink`, which verify and count (for throughput into wkrtc). Every track the
//! visitor sends is decoded, counted and echoed back re-encoded on the same transceiver. The
//! page can ask wkrtc to open channels, to offer, to send verifiable messages (`send`), to add
//! or remove its own test-pattern tracks (`add-media`, `remove-media`) and for its counters
//! (`stats`). Anything malformed gets an `error` message with a W3C error name and
//! the session carries on; a vanished client ends only its own session.

use std::collections::HashMap;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tungstenite::{Message, WebSocket};
use wkrtc::jsep::ParsedDescription;
use wkrtc::{
    DataChannel, DataChannelEvent, DataChannelInit, Event, IceCandidate, MediaKind, MediaStreamTrack, OfferOptions, PeerConnection, RtpTransceiver,
    SessionDescription, Settings, TestPattern,
};

use super::pattern;

/// How long one wkrtc operation may take before the session reports an OperationError.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the signaling loop sleeps at most when nothing happens (to notice a stop).
const IDLE: Duration = Duration::from_millis(250);
/// How long a request naming a channel waits between looks at wkrtc's events.
const POLL: Duration = Duration::from_millis(5);
/// How long a request naming a channel waits for wkrtc to announce it.
const CHANNEL_WAIT: Duration = Duration::from_secs(2);
/// Test-pattern tracks one visitor may ask for (each is a source and an encoder).
const MAX_OWN_TRACKS: usize = 4;
/// Source channels keep at most this much queued in wkrtc.
const SEND_HIGH_WATER: u64 = 1024 * 1024;

/// What a session shares with the server.
#[derive(Clone)]
pub struct Shared {
    pub settings: Settings,
    /// What `get-user-media` opens.
    pub devices: wkrtc::capture::MediaDevices,
    pub reports: flume::Sender<Value>,
    pub stop: Arc<AtomicBool>,
}

#[derive(Default, Clone)]
struct Counter {
    messages: u64,
    bytes: u64,
    errors: u64,
    first_error: Option<String>,
    first: Option<Instant>,
    last: Option<Instant>,
}

/// What wkrtc decoded on one receiver, updated from the decoding thread.
#[derive(Default, Clone)]
struct Decoded {
    frames: u64,
    width: i32,
    height: i32,
}

struct Channel {
    dc: DataChannel,
    /// Signalled by the channel's reader on `bufferedamountlow`.
    low: flume::Receiver<()>,
}

/// What the WebSocket reader thread passes on.
enum Incoming {
    Text(String),
    Binary,
    Closed,
    /// A frame the server refuses, closing with this RFC 6455 code (1009: too big, 1007:
    /// text that is not UTF-8).
    Refused(CloseCode, &'static str),
}

struct Session {
    id: u64,
    /// Writes only: a reader thread owns the reading half (see [`serve`]).
    ws: WebSocket<TcpStream>,
    incoming: flume::Receiver<Incoming>,
    shared: Shared,
    pc: Option<PeerConnection>,
    events: Option<flume::Receiver<Event>>,
    channels: HashMap<String, Channel>,
    counters: Arc<Mutex<HashMap<String, Counter>>>,
    ended: Arc<AtomicBool>,
    /// The WebSocket failed to write: the client is gone.
    broken: bool,
    /// Messages from helper threads to the page.
    outbox: (flume::Sender<Value>, flume::Receiver<Value>),
    /// Decoded media per receiver track id.
    decoded: Arc<Mutex<HashMap<String, Decoded>>>,
    /// wkrtc's own test-pattern tracks.
    own_tracks: Vec<MediaStreamTrack>,
    /// wkrtc's capture tracks (`get-user-media`).
    captures: Vec<wkrtc::capture::CaptureTrack>,
}

fn error_json(e: &wkrtc::Error, request: &str) -> Value {
    json!({"type": "error", "name": e.name(), "message": e.message(), "constraint": e.constraint(), "request": request})
}

/// Runs a wkrtc future to completion, bounded.
fn run<T>(fut: impl std::future::Future<Output = wkrtc::Result<T>>) -> wkrtc::Result<T> {
    crate::wait::block_on_timeout(fut, OPERATION_TIMEOUT).unwrap_or_else(|| Err(wkrtc::Error::Operation("wkrtc did not answer in time".into())))
}

/// Serves one signaling connection until the client leaves or the server stops.
///
/// A thread reads the socket and this one waits on that, wkrtc's events and the helper
/// threads' messages at once, so nothing waits for a poll interval. The two halves use two
/// WebSocket states over one socket: the reader never writes (browsers send no pings), the
/// writer never reads.
pub fn serve(id: u64, stream: TcpStream, config: WebSocketConfig, shared: Shared) {
    let Ok(read_half) = stream.try_clone() else { return };
    let _ = stream.set_read_timeout(None);
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let _ = read_half.set_read_timeout(None);
    let (tx, incoming) = flume::unbounded();
    let mut reader = WebSocket::from_raw_socket(read_half, Role::Server, Some(config));
    std::thread::spawn(move || loop {
        let item = match reader.read() {
            Ok(Message::Text(t)) => Incoming::Text(t.as_str().to_owned()),
            Ok(Message::Binary(_)) => Incoming::Binary,
            Err(tungstenite::Error::Capacity(_)) => Incoming::Refused(CloseCode::Size, "message too big"),
            Err(tungstenite::Error::Utf8(_)) => Incoming::Refused(CloseCode::Invalid, "text is not UTF-8"),
            Ok(Message::Close(_)) | Err(_) => Incoming::Closed,
            Ok(_) => continue,
        };
        let closed = matches!(item, Incoming::Closed | Incoming::Refused(..));
        if tx.send(item).is_err() || closed {
            break;
        }
    });
    let shutdown = stream.try_clone();
    let mut s = Session {
        id,
        ws: WebSocket::from_raw_socket(stream, Role::Server, Some(config)),
        incoming,
        shared,
        pc: None,
        events: None,
        channels: HashMap::new(),
        counters: Arc::default(),
        ended: Arc::new(AtomicBool::new(false)),
        broken: false,
        outbox: flume::unbounded(),
        decoded: Arc::default(),
        own_tracks: Vec::new(),
        captures: Vec::new(),
    };
    s.run();
    s.ended.store(true, Ordering::Release);
    if let Some(pc) = s.pc.take() {
        pc.close();
    }
    for t in s.own_tracks.drain(..) {
        t.stop();
    }
    for c in s.captures.drain(..) {
        c.stop();
    }
    // Unblocks the reader thread.
    if let Ok(socket) = shutdown {
        let _ = socket.shutdown(std::net::Shutdown::Both);
    }
}

/// What woke the signaling loop.
enum Wake {
    Incoming(Incoming),
    Event(Event),
    Out(Value),
    Idle,
}

impl Session {
    /// A visitor may make wkrtc run at most MAX_OWN_TRACKS sources (test patterns and captures).
    fn check_own_track_limit(&self) -> wkrtc::Result<()> {
        let live = |t: &MediaStreamTrack| t.ready_state() == wkrtc::media::TrackState::Live;
        let n = self.own_tracks.iter().filter(|t| live(t)).count() + self.captures.iter().filter(|c| live(c.track())).count();
        if n >= MAX_OWN_TRACKS {
            return Err(wkrtc::Error::Operation(format!("at most {MAX_OWN_TRACKS} wkrtc tracks per visitor")));
        }
        Ok(())
    }

    fn run(&mut self) {
        self.send(json!({"type": "hello", "session": self.id, "wkrtc": env!("CARGO_PKG_VERSION")}));
        while !self.broken && !self.shared.stop.load(Ordering::Acquire) {
            let wake = {
                let mut select = flume::Selector::new()
                    .recv(&self.incoming, |m| Wake::Incoming(m.unwrap_or(Incoming::Closed)))
                    .recv(&self.outbox.1, |v| v.map(Wake::Out).unwrap_or(Wake::Idle));
                if let Some(events) = &self.events {
                    select = select.recv(events, |e| e.map(Wake::Event).unwrap_or(Wake::Idle));
                }
                select.wait_timeout(IDLE).unwrap_or(Wake::Idle)
            };
            match wake {
                Wake::Incoming(Incoming::Text(text)) => self.on_text(&text),
                Wake::Incoming(Incoming::Binary) => self.send(json!({"type": "error", "name": "TypeError", "message": "signaling messages are JSON text"})),
                Wake::Incoming(Incoming::Closed) => break,
                Wake::Incoming(Incoming::Refused(code, reason)) => {
                    gst::debug!(super::CAT, "session {}: closing the socket with {}: {}", self.id, u16::from(code), reason);
                    let _ = self.ws.close(Some(CloseFrame { code, reason: reason.into() }));
                    let _ = self.ws.flush();
                    break;
                }
                Wake::Event(ev) => self.forward_event(ev),
                Wake::Out(v) => self.send(v),
                Wake::Idle => {}
            }
        }
    }

    fn send(&mut self, v: Value) {
        gst::trace!(super::CAT, "session {}: -> {}", self.id, v);
        if self.ws.send(Message::text(v.to_string())).is_err() {
            self.broken = true;
        }
    }

    fn pc(&mut self) -> wkrtc::Result<&PeerConnection> {
        if self.pc.is_none() {
            let pc = PeerConnection::with_settings(Default::default(), self.shared.settings.clone())?;
            self.events = Some(pc.events());
            self.pc = Some(pc);
        }
        self.pc.as_ref().ok_or_else(|| wkrtc::Error::InvalidState("no peer connection".into()))
    }

    fn on_text(&mut self, text: &str) {
        gst::trace!(super::CAT, "session {}: <- {}", self.id, text);
        let msg: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => return self.send(json!({"type": "error", "name": "SyntaxError", "message": format!("not JSON: {e}")})),
        };
        let kind = msg.get("type").and_then(Value::as_str).unwrap_or("").to_owned();
        if let Err(e) = self.handle(&kind, &msg) {
            self.send(error_json(&e, &kind));
        }
    }

    fn handle(&mut self, kind: &str, msg: &Value) -> wkrtc::Result<()> {
        let str_field = |name: &str| msg.get(name).and_then(Value::as_str).map(str::to_owned);
        match kind {
            "start" => {
                self.pc()?;
            }
            "offer" | "answer" => {
                let sdp = str_field("sdp").ok_or_else(|| wkrtc::Error::Type(format!("{kind} without sdp")))?;
                let desc = if kind == "offer" { SessionDescription::offer(sdp.clone()) } else { SessionDescription::answer(sdp.clone()) };
                let pc = self.pc()?;
                run(pc.set_remote_description(desc))?;
                if kind == "offer" {
                    // Echo what the visitor sends on the same transceivers, in this answer.
                    let parsed = ParsedDescription::parse(&sdp)?;
                    let sending: Vec<String> =
                        parsed.media_sections().into_iter().filter(|m| m.direction.sends() && !m.rejected).filter_map(|m| m.mid).collect();
                    for t in pc.transceivers() {
                        if t.mid().is_some_and(|m| sending.contains(&m)) {
                            echo(pc, &t)?;
                        }
                    }
                    let answer = run(pc.create_answer())?;
                    run(pc.set_local_description(Some(answer.clone())))?;
                    self.send(json!({"type": "answer", "sdp": answer.sdp}));
                }
            }
            "offer-me" => self.offer()?,
            "dtmf" => {
                // insertDTMF on wkrtc's first audio sender that sends; each tonechange comes
                // back as a message, the last with an empty tone.
                let pc = self.pc()?;
                let dtmf = pc
                    .transceivers()
                    .into_iter()
                    .filter_map(|t| t.sender().dtmf())
                    .find(|d| d.can_insert_dtmf())
                    .ok_or_else(|| wkrtc::Error::InvalidState("no audio sender can send DTMF".into()))?;
                let number = |name: &str, default: u32| msg.get(name).and_then(Value::as_u64).map_or(default, |v| v.min(u64::from(u32::MAX)) as u32);
                dtmf.insert_dtmf(&str_field("tones").unwrap_or_default(), number("duration", 100), number("gap", 70))?;
                let (events, outbox, ended) = (dtmf.events(), self.outbox.0.clone(), self.ended.clone());
                std::thread::spawn(move || {
                    while !ended.load(Ordering::Relaxed) {
                        let Ok(wkrtc::DtmfEvent::ToneChange(tone)) = events.recv_timeout(Duration::from_millis(200)) else { continue };
                        let last = tone.is_empty();
                        let _ = outbox.send(json!({"type": "tonechange", "tone": tone}));
                        if last {
                            break;
                        }
                    }
                });
            }
            "candidate" => {
                let candidate = str_field("candidate").filter(|c| !c.is_empty());
                let c = candidate.map(|c| IceCandidate {
                    candidate: c,
                    sdp_mid: str_field("sdpMid"),
                    sdp_mline_index: msg.get("sdpMLineIndex").and_then(Value::as_u64).and_then(|i| u32::try_from(i).ok()),
                    username_fragment: str_field("usernameFragment"),
                });
                let pc = self.pc()?;
                run(pc.add_ice_candidate(c))?;
            }
            "open-channel" => {
                let label = str_field("label").unwrap_or_default();
                let u16_field = |name: &str| msg.get(name).and_then(Value::as_u64).and_then(|v| u16::try_from(v).ok());
                let init = DataChannelInit {
                    ordered: msg.get("ordered").and_then(Value::as_bool).unwrap_or(true),
                    max_retransmits: u16_field("maxRetransmits"),
                    max_packet_life_time: u16_field("maxPacketLifeTime"),
                    protocol: str_field("protocol").unwrap_or_default(),
                    negotiated: msg.get("negotiated").and_then(Value::as_bool).unwrap_or(false),
                    id: u16_field("id"),
                };
                let dc = self.pc()?.create_data_channel(&label, init)?;
                self.add_channel(dc);
            }
            "send" => self.start_sending(msg)?,
            "add-media" => {
                let n = |name: &str, default: u32| msg.get(name).and_then(Value::as_u64).and_then(|v| u32::try_from(v).ok()).unwrap_or(default);
                self.check_own_track_limit()?;
                // At most 1080p at 30 fps: a page must not make the server encode 8K.
                let pattern =
                    TestPattern { width: n("width", 640).min(1920), height: n("height", 480).min(1080), framerate: n("framerate", 30).min(30), frequency: 440 };
                let want = |k: &str| msg.get(k).and_then(Value::as_bool).unwrap_or(true);
                // Audio first, as browsers order a camera stream's tracks: the first m-line tags
                // the BUNDLE group, and a peer that rejects it takes the whole group apart, so
                // it should not be a video section narrowed to one codec.
                let kinds: Vec<MediaKind> =
                    [(MediaKind::Audio, want("audio")), (MediaKind::Video, want("video"))].into_iter().filter(|(_, w)| *w).map(|(k, _)| k).collect();
                // "videoCodecs": ["video/H264"] narrows the video codecs wkrtc offers.
                let video_codecs: Vec<String> = msg
                    .get("videoCodecs")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                    .unwrap_or_default();
                for kind in kinds {
                    let track = MediaStreamTrack::test_pattern(kind, pattern)?;
                    let pc = self.pc()?;
                    let sender = pc.add_track(&track, &["wkrtc".to_owned()])?;
                    if kind == MediaKind::Video && !video_codecs.is_empty() {
                        let caps: Vec<_> = wkrtc::media::receiver_capabilities(kind)
                            .into_iter()
                            .filter(|c| video_codecs.iter().any(|v| v.eq_ignore_ascii_case(&c.mime_type)))
                            .collect();
                        let t = pc.transceivers().into_iter().find(|t| t.sender().ssrc() == sender.ssrc());
                        if let Some(t) = t {
                            t.set_codec_preferences(&caps)?;
                        }
                    }
                    self.own_tracks.push(track);
                }
            }
            // getUserMedia on the server's devices (or wkrtc's fake ones), sent to the visitor:
            // {"type": "get-user-media", "constraints": {"video": {"width": 1280}}}.
            "get-user-media" => {
                self.check_own_track_limit()?;
                let constraints = msg.get("constraints").cloned().unwrap_or(Value::Null);
                let captures = self.shared.devices.get_user_media(&constraints)?;
                let mut reply = Vec::new();
                for capture in captures {
                    self.pc()?.add_track(capture.track(), &["wkrtc-capture".to_owned()])?;
                    reply.push(json!({"kind": capture.track().kind().as_str(), "label": capture.track().label(), "settings": capture.settings()}));
                    self.captures.push(capture);
                }
                self.send(json!({"type": "user-media", "tracks": reply}));
            }
            // {"type": "apply-constraints", "kind": "video", "constraints": {"width": 320}}
            "apply-constraints" => {
                let kind = MediaKind::parse(&str_field("kind").unwrap_or_default())?;
                let constraints = msg.get("constraints").cloned().unwrap_or(Value::Null);
                let capture = self
                    .captures
                    .iter()
                    .rev()
                    .find(|c| c.track().kind() == kind && c.track().ready_state() == wkrtc::media::TrackState::Live)
                    .ok_or_else(|| wkrtc::Error::NotFound(format!("no live {kind} capture track")))?;
                capture.apply_constraints(&constraints)?;
                self.send(json!({"type": "constraints-applied", "kind": kind.as_str(), "settings": capture.settings()}));
            }
            "remove-media" => {
                let kind = MediaKind::parse(&str_field("kind").unwrap_or_default())?;
                let own: Vec<String> = self.own_tracks.iter().filter(|t| t.kind() == kind).map(|t| t.id().to_owned()).collect();
                let pc = self.pc()?;
                for sender in pc.senders() {
                    if sender.track().is_some_and(|t| own.iter().any(|id| id == t.id())) {
                        pc.remove_track(&sender)?;
                    }
                }
            }
            "stats" => {
                self.pc()?;
                let pc = self.pc.as_ref().ok_or_else(|| wkrtc::Error::InvalidState("no peer connection".into()))?;
                let states = json!({
                    "signalingState": format!("{:?}", pc.signaling_state()),
                    "iceConnectionState": format!("{:?}", pc.ice_connection_state()),
                    "connectionState": format!("{:?}", pc.connection_state()),
                });
                let counters = self.counters.lock().map(|c| c.clone()).unwrap_or_default();
                let channels: serde_json::Map<String, Value> = counters
                    .into_iter()
                    .map(|(label, c)| {
                        let span = match (c.first, c.last) {
                            (Some(a), Some(b)) => b.duration_since(a).as_secs_f64() * 1000.0,
                            _ => 0.0,
                        };
                        (label, json!({"messages": c.messages, "bytes": c.bytes, "errors": c.errors, "firstError": c.first_error, "spanMs": span}))
                    })
                    .collect();
                let decoded = self.decoded.lock().map(|d| d.clone()).unwrap_or_default();
                let media: Vec<Value> = pc
                    .transceivers()
                    .iter()
                    .map(|t| {
                        let d = decoded.get(t.receiver().track().id()).cloned().unwrap_or_default();
                        let codec = t.sender().parameters().codecs.first().map(|c| c.codec.mime_type.clone());
                        json!({
                            "mid": t.mid(), "kind": t.kind().as_str(), "direction": t.direction().as_str(),
                            "currentDirection": t.current_direction().map(|d| d.as_str()),
                            "framesDecoded": d.frames, "width": d.width, "height": d.height,
                            "sendCodec": codec, "sending": t.sender().track().is_some(),
                        })
                    })
                    .collect();
                // wkrtc's getStats, with the W3C names, for the page's chart and the interop test.
                let w3c = run(pc.get_stats()).map(|r| r.to_json()).unwrap_or(Value::Null);
                self.send(json!({"type": "stats", "states": states, "channels": channels, "media": media, "w3c": w3c}));
            }
            "report" => {
                let mut report = msg.clone();
                report["session"] = json!(self.id);
                let _ = self.shared.reports.send(report);
            }
            "close" => {
                if let Some(pc) = self.pc.take() {
                    pc.close();
                }
                self.send(json!({"type": "closed"}));
            }
            other => return Err(wkrtc::Error::Type(format!("unknown message type '{other}'"))),
        }
        Ok(())
    }

    fn offer(&mut self) -> wkrtc::Result<()> {
        let pc = self.pc()?;
        let offer = run(pc.create_offer(OfferOptions::default()))?;
        run(pc.set_local_description(Some(offer.clone())))?;
        self.send(json!({"type": "offer", "sdp": offer.sdp}));
        Ok(())
    }

    fn forward_event(&mut self, ev: Event) {
        match ev {
            Event::IceCandidate(Some(c)) => self.send(json!({
                "type": "candidate", "candidate": c.candidate, "sdpMid": c.sdp_mid, "sdpMLineIndex": c.sdp_mline_index
            })),
            Event::IceCandidate(None) => self.send(json!({"type": "candidate", "candidate": null})),
            Event::NegotiationNeeded => {
                if let Err(e) = self.offer() {
                    self.send(error_json(&e, "negotiationneeded"));
                }
            }
            Event::DataChannel(dc) => self.add_channel(dc),
            Event::Track { transceiver, track, streams } => {
                self.count_decoded(&track);
                self.send(json!({"type": "track", "kind": track.kind().as_str(), "mid": transceiver.mid(), "streams": streams}));
                // A track from an answer (wkrtc offered): echo it with a renegotiation.
                if let Some(pc) = &self.pc {
                    if let Err(e) = echo(pc, &transceiver) {
                        self.send(error_json(&e, "track"));
                    }
                }
            }
            Event::ToneReceived { transceiver, tone } => self.send(json!({
                "type": "tone", "mid": transceiver.mid(), "tone": tone.tone.to_string(), "durationMs": tone.duration.as_millis() as u64
            })),
            Event::ConnectionStateChange(s) => self.send(json!({"type": "state", "what": "connection", "state": format!("{s:?}")})),
            Event::IceConnectionStateChange(s) => self.send(json!({"type": "state", "what": "ice", "state": format!("{s:?}")})),
            Event::SignalingStateChange(s) => self.send(json!({"type": "state", "what": "signaling", "state": s.as_str()})),
            _ => {}
        }
    }

    /// Counts what wkrtc decodes on `track` and keeps the last frame size.
    fn count_decoded(&mut self, track: &MediaStreamTrack) {
        let id = track.id().to_owned();
        let decoded = self.decoded.clone();
        if decoded.lock().map(|mut d| d.insert(id.clone(), Decoded::default()).is_some()).unwrap_or(true) {
            return;
        }
        track.on_sample(move |sample| {
            let size = sample.caps().and_then(|c| c.structure(0).map(|s| (s.get::<i32>("width").unwrap_or(0), s.get::<i32>("height").unwrap_or(0))));
            if let Ok(mut all) = decoded.lock() {
                let d = all.entry(id.clone()).or_default();
                d.frames += 1;
                if let Some((w, h)) = size {
                    (d.width, d.height) = (w, h);
                }
            }
        });
    }

    fn add_channel(&mut self, dc: DataChannel) {
        let label = dc.label();
        self.send(json!({"type": "channel", "label": label, "id": dc.id(), "ordered": dc.ordered()}));
        dc.set_buffered_amount_low_threshold(SEND_HIGH_WATER / 2);
        let (low_tx, low) = flume::bounded(1);
        let (counters, ended, outbox) = (self.counters.clone(), self.ended.clone(), self.outbox.0.clone());
        let reader = dc.clone();
        std::thread::spawn(move || serve_channel(reader, low_tx, counters, ended, outbox));
        self.channels.insert(label, Channel { dc, low });
    }

    /// `{"type":"send","label":L,"size":N,"count":K}` or `..."seconds":S}`: wkrtc sends
    /// verifiable messages on channel L, then reports `{"type":"sent",...}`.
    fn start_sending(&mut self, msg: &Value) -> wkrtc::Result<()> {
        let label = msg.get("label").and_then(Value::as_str).unwrap_or_default();
        // The page may ask as soon as its side of a new channel opened, which can be before
        // wkrtc's datachannel event went through this loop: give that event a moment.
        let deadline = Instant::now() + CHANNEL_WAIT;
        while !self.channels.contains_key(label) && Instant::now() < deadline {
            if let Some(events) = &self.events {
                if let Ok(ev) = events.recv_timeout(POLL) {
                    self.forward_event(ev);
                }
            } else {
                break;
            }
        }
        let ch = self.channels.get(label).ok_or_else(|| wkrtc::Error::NotFound(format!("no channel '{label}'")))?;
        let size = msg.get("size").and_then(Value::as_u64).unwrap_or(1024).clamp(8, 16 * 1024 * 1024) as usize;
        let count = msg.get("count").and_then(Value::as_u64);
        let seconds = msg.get("seconds").and_then(Value::as_f64).unwrap_or(0.0).clamp(0.0, 60.0);
        let (dc, low, outbox, ended, label) = (ch.dc.clone(), ch.low.clone(), self.outbox.0.clone(), self.ended.clone(), label.to_owned());
        std::thread::spawn(move || {
            let started = Instant::now();
            let mut sent = 0u32;
            let mut bytes = 0u64;
            let mut error = None;
            let more = |sent: u32| match count {
                Some(n) => u64::from(sent) < n,
                None => started.elapsed().as_secs_f64() < seconds,
            };
            while more(sent) && !ended.load(Ordering::Acquire) {
                if let Err(e) = drain(&dc, &low, &ended) {
                    error = Some(e);
                    break;
                }
                if let Err(e) = dc.send_binary(&pattern::message(sent, size)) {
                    error = Some(e.to_string());
                    break;
                }
                sent += 1;
                bytes += size as u64;
            }
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            let _ = outbox.send(json!({"type": "sent", "label": label, "messages": sent, "bytes": bytes, "ms": ms, "error": error}));
        });
        Ok(())
    }
}

/// How long a sender waits for a full buffer to move at all before it gives up: RFC 7675's
/// consent expiry, past which the connection itself would have failed.
const DRAIN_STALL: Duration = Duration::from_secs(30);
/// How often a waiting sender looks at the buffer.
const POLL_DRAIN: Duration = Duration::from_millis(500);

/// Waits until `dc`'s buffer is below the high-water mark. A slow link (loss, retransmissions)
/// only makes this longer: the wait fails when the channel or the session ends, or when the
/// buffer has not shrunk at all for [`DRAIN_STALL`].
fn drain(dc: &DataChannel, low: &flume::Receiver<()>, ended: &AtomicBool) -> Result<(), String> {
    let mut last = dc.buffered_amount();
    let mut moved = Instant::now();
    while dc.buffered_amount() > SEND_HIGH_WATER {
        if low.recv_timeout(POLL_DRAIN).is_ok() {
            continue;
        }
        if ended.load(Ordering::Acquire) || dc.ready_state() != wkrtc::DataChannelState::Open {
            return Err("the channel closed while messages were waiting to be sent".into());
        }
        let now = dc.buffered_amount();
        if now < last {
            (last, moved) = (now, Instant::now());
        } else if moved.elapsed() > DRAIN_STALL {
            return Err(format!("the channel's buffer did not move for {} s", DRAIN_STALL.as_secs()));
        }
    }
    Ok(())
}

/// Sends `t`'s received track back on `t` itself, unless it already sends something.
fn echo(pc: &PeerConnection, t: &RtpTransceiver) -> wkrtc::Result<()> {
    if t.sender().track().is_some() || t.stopped() {
        return Ok(());
    }
    pc.add_track(&t.receiver().track(), &["echo".to_owned()]).map(|_| ())
}

/// Reads one channel: echoes, or verifies and counts for `sink*` channels.
fn serve_channel(
    dc: DataChannel,
    low: flume::Sender<()>,
    counters: Arc<Mutex<HashMap<String, Counter>>>,
    ended: Arc<AtomicBool>,
    outbox: flume::Sender<Value>,
) {
    let label = dc.label();
    let sink = label.starts_with("sink");
    let events = dc.events();
    loop {
        let ev = match events.recv_timeout(Duration::from_millis(200)) {
            Ok(ev) => ev,
            Err(flume::RecvTimeoutError::Timeout) if !ended.load(Ordering::Acquire) => continue,
            Err(_) => break,
        };
        match ev {
            DataChannelEvent::Open => {
                let _ = outbox.send(json!({"type": "channel-open", "label": label}));
            }
            DataChannelEvent::Message(m) => {
                let len = match &m {
                    wkrtc::Message::Text(t) => t.len(),
                    wkrtc::Message::Binary(b) => b.len(),
                };
                let verdict = match (&m, sink) {
                    (wkrtc::Message::Binary(b), true) => pattern::check(b).map(|_| ()),
                    (_, true) => Err("text on a sink channel".to_owned()),
                    (wkrtc::Message::Text(t), false) => dc.send_text(t).map_err(|e| e.to_string()),
                    (wkrtc::Message::Binary(b), false) => dc.send_binary(b).map_err(|e| e.to_string()),
                };
                if let Ok(mut all) = counters.lock() {
                    let c = all.entry(label.clone()).or_default();
                    let now = Instant::now();
                    c.first.get_or_insert(now);
                    c.last = Some(now);
                    c.messages += 1;
                    c.bytes += len as u64;
                    if let Err(e) = verdict {
                        if c.errors == 0 {
                            eprintln!("wkrtc serve: channel '{label}', message {}: {e} (channel {:?})", c.messages, dc.ready_state());
                        }
                        c.errors += 1;
                        c.first_error.get_or_insert(e);
                    }
                }
            }
            DataChannelEvent::BufferedAmountLow => {
                let _ = low.try_send(());
            }
            DataChannelEvent::Close => {
                let _ = outbox.send(json!({"type": "channel-close", "label": label}));
                break;
            }
            _ => {}
        }
    }
}

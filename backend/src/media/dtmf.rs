// SPDX-License-Identifier: MPL-2.0
//! DTMF as RFC 4733 telephone events: the W3C `RTCDTMFSender` of an audio sender
//! (<https://w3c.github.io/webrtc-pc/#rtcdtmfsender>), and the tones a peer sends.
//!
//! Sending: while a tone plays, each outgoing packet of the sender's audio RTP stream is
//! replaced by a telephone-event packet with the same SSRC and sequence number and the
//! timestamp of the tone's start, as browsers do: the audio pauses for the tone. A tone
//! ends with three packets carrying the end bit (RFC 4733, section 2.5.1.4); a tone longer
//! than a 16-bit duration goes on in a new segment (section 2.5.1.3). The W3C tone buffer,
//! its timing and its `tonechange` events run on wkrtc's worker thread.
//!
//! Receiving: the peer's telephone-event packets are counted by the RTP session like any
//! other, then taken out of the audio path (`engine::media::TelephoneEvents`)
//! and reported once per tone, when it ends, with its duration.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::engine::CAT;
use crate::jsep::RtpTransceiverDirection;
use crate::lock;
use crate::{Error, Result};

/// The RTP encoding name of RFC 4733 events.
pub(crate) const TELEPHONE_EVENT: &str = "telephone-event";
/// The telephone-event formats wkrtc offers: one per audio clock rate, with the payload
/// types browsers use.
pub(crate) const OFFERED: [EventFormat; 2] = [EventFormat { payload_type: 110, clock_rate: 48000 }, EventFormat { payload_type: 126, clock_rate: 8000 }];

/// The characters `insertDTMF` accepts, once upper-cased (W3C); `,` is a 2 s pause.
const TONES: &str = "0123456789*#ABCD,";
/// The pause a `,` makes (W3C).
const COMMA_PAUSE: Duration = Duration::from_millis(2000);
/// The tone power written in every event: -10 dBm0, what browsers send.
const VOLUME: u8 = 10;
/// How often the last packet of a tone is sent (RFC 4733, section 2.5.1.4).
const END_PACKETS: u8 = 3;
/// The duration of the audio packets a tone replaces when wkrtc cannot tell from two
/// packets yet: 20 ms, what wkrtc's audio payloaders send.
const PACKET_MS: u32 = 20;

/// The RFC 4733 event code of a DTMF tone (`0`-`9`, `*`, `#`, `A`-`D`).
pub fn event_code(tone: char) -> Option<u8> {
    match tone {
        '0'..='9' => Some(tone as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        'A'..='D' => Some(12 + (tone as u8 - b'A')),
        _ => None,
    }
}

/// The DTMF tone of an RFC 4733 event code; `None` for the other telephone events.
pub fn tone_of(code: u8) -> Option<char> {
    match code {
        0..=9 => Some(char::from(b'0' + code)),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + code - 12)),
        _ => None,
    }
}

/// A negotiated `telephone-event` format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EventFormat {
    pub payload_type: u8,
    pub clock_rate: u32,
}

/// The tone being written into one sender's RTP stream, read by its send chain.
#[derive(Default)]
pub(crate) struct ToneOutput {
    state: Mutex<OutputState>,
}

#[derive(Default)]
struct OutputState {
    format: Option<EventFormat>,
    tone: Option<Playing>,
    /// A tone asked for while the last one still plays: event and length in ms.
    next: Option<(u8, u32)>,
}

struct Playing {
    event: u8,
    /// The tone's length asked for, in ms.
    requested_ms: u32,
    /// Timestamp of the current segment's first packet.
    start: Option<u32>,
    /// Duration so far in timestamp units, within the current segment.
    duration: u32,
    /// Duration of the segments before the current one.
    earlier: u32,
    /// The tone has lasted as asked: the end packets go out.
    ending: bool,
    ends_sent: u8,
}

impl Playing {
    fn new((event, requested_ms): (u8, u32)) -> Self {
        Self { event, requested_ms, start: None, duration: 0, earlier: 0, ending: false, ends_sent: 0 }
    }
}

impl ToneOutput {
    pub(crate) fn set_format(&self, format: Option<EventFormat>) {
        lock(&self.state).format = format;
    }

    pub(crate) fn format(&self) -> Option<EventFormat> {
        lock(&self.state).format
    }

    /// Plays `event` for `ms` of media time, from the next packet on (after the tone
    /// still playing, if any).
    fn start(&self, event: u8, ms: u32) {
        let mut st = lock(&self.state);
        match &st.tone {
            Some(p) if p.start.is_some() => st.next = Some((event, ms)),
            // Nothing carried the last one (no audio flowing): it is replaced.
            _ => st.tone = Some(Playing::new((event, ms))),
        }
    }

    fn stop(&self) {
        let mut st = lock(&self.state);
        st.tone = None;
        st.next = None;
    }

    /// The packet to send instead of the audio RTP packet `packet`, while a tone plays;
    /// `duration` is the audio the packet carries (its buffer duration), when known.
    ///
    /// A tone lasts as many whole packets as its length asks for (100 ms: five 20 ms
    /// packets), counted from what the packets carry rather than from their timestamps,
    /// which follow the capture clock and jitter with it.
    pub(crate) fn rewrite(&self, packet: &[u8], duration: Option<Duration>) -> Option<Vec<u8>> {
        let mut guard = lock(&self.state);
        let st = &mut *guard;
        if packet.len() < 12 || packet[0] >> 6 != 2 {
            return None;
        }
        let format = st.format?;
        let playing = st.tone.as_mut()?;
        let ts = u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]);
        let carried = duration.filter(|d| !d.is_zero()).unwrap_or(Duration::from_millis(PACKET_MS.into()));
        let frame = (carried.as_micros() as u64 * u64::from(format.clock_rate) / 1_000_000).clamp(1, 0x8000) as u32;
        let mut marker = false;
        let mut start = match playing.start {
            Some(start) => start,
            None => {
                marker = true;
                playing.start = Some(ts);
                ts
            }
        };
        if !playing.ending {
            if playing.duration + frame > 0xFFFF {
                // A new segment of the same event: new timestamp, no marker.
                playing.earlier += playing.duration;
                playing.duration = 0;
                playing.start = Some(ts);
                start = ts;
            }
            playing.duration += frame;
            let requested = u64::from(playing.requested_ms) * u64::from(format.clock_rate) / 1000;
            playing.ending = u64::from(playing.earlier + playing.duration) >= requested;
        }
        let mut out = Vec::with_capacity(16);
        out.push(0x80);
        out.push((u8::from(marker) << 7) | format.payload_type);
        out.extend_from_slice(&packet[2..4]);
        out.extend_from_slice(&start.to_be_bytes());
        out.extend_from_slice(&packet[8..12]);
        out.push(playing.event);
        out.push((u8::from(playing.ending) << 7) | VOLUME);
        out.extend_from_slice(&(playing.duration.min(0xFFFF) as u16).to_be_bytes());
        if playing.ending {
            playing.ends_sent += 1;
            if playing.ends_sent >= END_PACKETS {
                st.tone = st.next.take().map(Playing::new);
            }
        }
        Some(out)
    }
}

/// `RTCDTMFSender` events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DtmfEvent {
    /// `tonechange`: the tone that started (`","` for a pause), or `""` once the tone
    /// buffer is empty.
    ToneChange(String),
}

#[derive(Default)]
struct Buffer {
    tones: String,
    duration: u32,
    gap: u32,
    /// A playout task is scheduled.
    running: bool,
}

pub(crate) struct DtmfShared {
    buffer: Mutex<Buffer>,
    events: flume::Sender<DtmfEvent>,
    receiver: flume::Receiver<DtmfEvent>,
    pub output: Arc<ToneOutput>,
    stopped: AtomicBool,
    /// The transceiver's current direction (`None` before a negotiation).
    current: Mutex<Option<RtpTransceiverDirection>>,
}

impl DtmfShared {
    pub(crate) fn new() -> Arc<Self> {
        let (events, receiver) = flume::unbounded();
        Arc::new(Self { buffer: Mutex::default(), events, receiver, output: Arc::default(), stopped: AtomicBool::new(false), current: Mutex::new(None) })
    }

    pub(crate) fn set_current_direction(&self, direction: RtpTransceiverDirection) {
        *lock(&self.current) = Some(direction);
        if !direction.sends() {
            self.output.stop();
        }
    }

    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
        self.output.stop();
    }

    /// W3C: recvonly or inactive (or stopped) stop DTMF; no negotiation yet does not.
    fn blocked(&self) -> bool {
        self.stopped.load(Ordering::Relaxed) || lock(&self.current).is_some_and(|d| !d.sends())
    }
}

/// `RTCDTMFSender`: the DTMF sender of an audio [`crate::RtpSender`]. Clones are the same
/// sender.
#[derive(Clone)]
pub struct DtmfSender {
    pub(crate) shared: Arc<DtmfShared>,
}

impl std::fmt::Debug for DtmfSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DtmfSender").field("tone_buffer", &self.tone_buffer()).finish()
    }
}

impl DtmfSender {
    /// `canInsertDTMF`: the transceiver sends and the peer accepted telephone events at
    /// the clock rate of the audio codec.
    pub fn can_insert_dtmf(&self) -> bool {
        !self.shared.blocked() && lock(&self.shared.current).is_some() && self.shared.output.format().is_some()
    }

    /// `toneBuffer`: the tones still to play.
    pub fn tone_buffer(&self) -> String {
        lock(&self.shared.buffer).tones.clone()
    }

    /// `tonechange` events, in order.
    pub fn events(&self) -> flume::Receiver<DtmfEvent> {
        self.shared.receiver.clone()
    }

    /// `insertDTMF(tones, duration, interToneGap)`: replaces the tone buffer; each tone
    /// plays for `duration_ms` (clamped to 40..=6000) followed by `gap_ms` of silence (at
    /// least 30, at most 6000). Letters are case-insensitive; `,` pauses for 2 s.
    ///
    /// Errors: `InvalidStateError` once the transceiver is stopped or while its current
    /// direction does not send; `InvalidCharacterError` for a character that is not a
    /// DTMF tone, and then the buffer is left as it was.
    pub fn insert_dtmf(&self, tones: &str, duration_ms: u32, gap_ms: u32) -> Result<()> {
        if self.shared.stopped.load(Ordering::Relaxed) {
            return Err(Error::InvalidState("the transceiver is stopped".into()));
        }
        if let Some(d) = *lock(&self.shared.current) {
            if !d.sends() {
                return Err(Error::InvalidState(format!("the transceiver's current direction is {}", d.as_str())));
            }
        }
        let tones = tones.to_ascii_uppercase();
        if let Some(c) = tones.chars().find(|c| !TONES.contains(*c)) {
            return Err(Error::InvalidCharacter(format!("'{}' is not a DTMF tone (0-9, A-D, *, #, and , for a pause)", c.escape_default())));
        }
        let start = {
            let mut b = lock(&self.shared.buffer);
            b.tones = tones;
            b.duration = duration_ms.clamp(40, 6000);
            b.gap = gap_ms.clamp(30, 6000);
            !std::mem::replace(&mut b.running, true)
        };
        if start {
            after(Duration::ZERO, Arc::clone(&self.shared), playout);
        }
        Ok(())
    }
}

impl DtmfSender {
    /// Plays one tone now, for `duration_ms` (clamped as in [`Self::insert_dtmf`]; `,`
    /// pauses 2 s), and calls `played` on wkrtc's worker thread when its time is up. For
    /// embedders that run the W3C tone buffer themselves (WebKit's `RTCDTMFSender` does);
    /// it bypasses this sender's own buffer.
    ///
    /// Errors: as [`Self::insert_dtmf`]'s.
    pub fn play_tone(&self, tone: char, duration_ms: u32, played: impl FnOnce() + Send + 'static) -> Result<()> {
        if self.shared.blocked() {
            return Err(Error::InvalidState("the transceiver is stopped or does not send".into()));
        }
        let tone = tone.to_ascii_uppercase();
        if !TONES.contains(tone) {
            return Err(Error::InvalidCharacter(format!("'{}' is not a DTMF tone (0-9, A-D, *, #, and , for a pause)", tone.escape_default())));
        }
        let wait = match event_code(tone) {
            Some(code) => {
                let ms = duration_ms.clamp(40, 6000);
                self.shared.output.start(code, ms);
                Duration::from_millis(ms.into())
            }
            None => COMMA_PAUSE,
        };
        if !run_after(wait, played) {
            return Err(Error::Operation("wkrtc's worker thread is not running".into()));
        }
        Ok(())
    }
}

/// Runs `f` on wkrtc's worker thread after `delay`; false when there is no worker.
fn run_after(delay: Duration, f: impl FnOnce() + Send + 'static) -> bool {
    let Ok(worker) = crate::engine::worker() else { return false };
    let mut f = Some(f);
    let source = glib::timeout_source_new(delay, None, glib::Priority::DEFAULT, move || {
        if let Some(f) = f.take() {
            f();
        }
        glib::ControlFlow::Break
    });
    source.attach(Some(worker));
    true
}

/// Runs `f` with `shared` on wkrtc's worker thread after `delay`.
fn after(delay: Duration, shared: Arc<DtmfShared>, f: fn(Arc<DtmfShared>)) {
    let again = Arc::clone(&shared);
    if !run_after(delay, move || f(shared)) {
        lock(&again.buffer).running = false;
    }
}

/// The W3C "DTMF playout task steps".
fn playout(shared: Arc<DtmfShared>) {
    let (tone, duration, next) = {
        let mut b = lock(&shared.buffer);
        if shared.blocked() {
            b.running = false;
            return;
        }
        if b.tones.is_empty() {
            b.running = false;
            drop(b);
            let _ = shared.events.send(DtmfEvent::ToneChange(String::new()));
            return;
        }
        let tone = b.tones.remove(0);
        match event_code(tone) {
            Some(code) => {
                shared.output.start(code, b.duration);
                (tone, b.duration, b.duration + b.gap)
            }
            None => (tone, 0, COMMA_PAUSE.as_millis() as u32),
        }
    };
    gst::debug!(CAT, "DTMF tone '{}' for {} ms", tone, duration);
    let _ = shared.events.send(DtmfEvent::ToneChange(tone.to_string()));
    after(Duration::from_millis(u64::from(next)), shared, playout);
}

/// One telephone-event packet (RFC 4733, section 2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EventPacket {
    pub ssrc: u32,
    pub timestamp: u32,
    pub marker: bool,
    pub event: u8,
    pub end: bool,
    pub duration: u16,
}

impl EventPacket {
    /// Parses an RTP packet whose payload type is a telephone-event one; `None` when it
    /// is too short.
    pub(crate) fn parse(packet: &[u8]) -> Option<Self> {
        if packet.len() < 12 || packet[0] >> 6 != 2 {
            return None;
        }
        let csrcs = usize::from(packet[0] & 0x0f);
        let mut offset = 12 + 4 * csrcs;
        if packet[0] & 0x10 != 0 {
            let ext = packet.get(offset + 2..offset + 4)?;
            offset += 4 + 4 * usize::from(u16::from_be_bytes([ext[0], ext[1]]));
        }
        let payload = packet.get(offset..offset + 4)?;
        Some(Self {
            ssrc: u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]),
            timestamp: u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]),
            marker: packet[1] & 0x80 != 0,
            event: payload[0],
            end: payload[1] & 0x80 != 0,
            duration: u16::from_be_bytes([payload[2], payload[3]]),
        })
    }
}

/// A DTMF tone the peer sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedTone {
    /// `0`-`9`, `*`, `#` or `A`-`D`.
    pub tone: char,
    /// How long the peer played it.
    pub duration: Duration,
}

/// Turns the telephone-event packets of the streams of one connection into tones, each
/// reported once: at its first end packet, or when the next event starts without one (the
/// end packets were lost).
#[derive(Default)]
pub(crate) struct ToneAssembler {
    streams: HashMap<u32, Assembling>,
}

struct Assembling {
    event: u8,
    timestamp: u32,
    /// Samples in the segments before the current one.
    earlier: u32,
    duration: u16,
    reported: bool,
}

impl ToneAssembler {
    /// Feeds one packet with the clock rate of its payload type; returns a tone that ended.
    pub(crate) fn push(&mut self, p: EventPacket, clock_rate: u32) -> Vec<ReceivedTone> {
        let mut out = Vec::new();
        let tone = |event: u8, samples: u32| {
            tone_of(event).map(|tone| ReceivedTone { tone, duration: Duration::from_micros(u64::from(samples) * 1_000_000 / u64::from(clock_rate.max(1))) })
        };
        match self.streams.get_mut(&p.ssrc) {
            Some(a) if a.timestamp == p.timestamp => {
                if a.reported {
                    return out;
                }
                a.duration = a.duration.max(p.duration);
                if p.end {
                    a.reported = true;
                    out.extend(tone(a.event, a.earlier + u32::from(a.duration)));
                }
                return out;
            }
            Some(a) if !p.marker && !a.reported && a.event == p.event => {
                // The next segment of a long tone.
                a.earlier += u32::from(a.duration);
                a.timestamp = p.timestamp;
                a.duration = p.duration;
                if p.end {
                    a.reported = true;
                    out.extend(tone(a.event, a.earlier + u32::from(a.duration)));
                }
                return out;
            }
            Some(a) if !a.reported => out.extend(tone(a.event, a.earlier + u32::from(a.duration))),
            _ => {}
        }
        self.streams.insert(p.ssrc, Assembling { event: p.event, timestamp: p.timestamp, earlier: 0, duration: p.duration, reported: p.end });
        if p.end {
            out.extend(tone(p.event, u32::from(p.duration)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audio(seq: u16, ts: u32) -> Vec<u8> {
        let mut p = vec![0x80, 111];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&ts.to_be_bytes());
        p.extend_from_slice(&0x1234_5678u32.to_be_bytes());
        p.extend_from_slice(&[1, 2, 3]);
        p
    }

    #[test]
    fn codes_round_trip() {
        for c in "0123456789*#ABCD".chars() {
            assert_eq!(tone_of(event_code(c).unwrap()), Some(c));
        }
        assert_eq!(event_code(','), None);
        assert_eq!(tone_of(16), None);
    }

    #[test]
    fn a_tone_replaces_audio_and_ends_three_times() {
        let out = ToneOutput::default();
        out.set_format(Some(EventFormat { payload_type: 110, clock_rate: 48000 }));
        assert_eq!(out.rewrite(&audio(1, 1000), None), None, "no tone: audio passes");
        out.start(5, 70);
        let mut packets = Vec::new();
        for i in 0..8u16 {
            if let Some(p) = out.rewrite(&audio(2 + i, 1960 + 960 * u32::from(i)), Some(Duration::from_millis(20))) {
                packets.push(EventPacket::parse(&p).unwrap());
            }
        }
        assert_eq!(packets.len(), 6, "70 ms in 20 ms packets: three packets, the fourth ends it three times, then audio again");
        assert!(packets[0].marker && !packets[1].marker);
        assert!(packets.iter().all(|p| p.timestamp == 1960 && p.event == 5 && p.ssrc == 0x1234_5678));
        assert_eq!(packets.iter().map(|p| p.duration).collect::<Vec<_>>(), [960, 1920, 2880, 3840, 3840, 3840]);
        assert_eq!(packets.iter().filter(|p| p.end).count(), 3);
        let mut assembler = ToneAssembler::default();
        let tones: Vec<ReceivedTone> = packets.iter().flat_map(|p| assembler.push(*p, 48000)).collect();
        assert_eq!(tones, [ReceivedTone { tone: '5', duration: Duration::from_millis(80) }]);
    }

    #[test]
    fn long_tones_are_segmented_and_reassembled() {
        let out = ToneOutput::default();
        out.set_format(Some(EventFormat { payload_type: 126, clock_rate: 48000 }));
        out.start(11, 2000);
        let mut assembler = ToneAssembler::default();
        let mut tones = Vec::new();
        let mut starts = std::collections::BTreeSet::new();
        for i in 0..150u32 {
            if let Some(p) = out.rewrite(&audio(i as u16, 960 * i + i % 7), None) {
                let p = EventPacket::parse(&p).unwrap();
                starts.insert(p.timestamp);
                tones.extend(assembler.push(p, 48000));
            }
        }
        assert!(starts.len() > 1, "a 2 s tone at 48 kHz does not fit one 16-bit duration");
        assert_eq!(tones, [ReceivedTone { tone: '#', duration: Duration::from_millis(2000) }]);
    }

    #[test]
    fn lost_end_packets_still_report_the_tone() {
        let mut a = ToneAssembler::default();
        let p = |ts, marker, event, end, duration| EventPacket { ssrc: 1, timestamp: ts, marker, event, end, duration };
        assert!(a.push(p(100, true, 1, false, 160), 8000).is_empty());
        assert!(a.push(p(100, false, 1, false, 800), 8000).is_empty());
        let got = a.push(p(2000, true, 2, false, 160), 8000);
        assert_eq!(got, [ReceivedTone { tone: '1', duration: Duration::from_millis(100) }]);
        assert_eq!(a.push(p(2000, false, 2, true, 400), 8000), [ReceivedTone { tone: '2', duration: Duration::from_millis(50) }]);
        assert!(a.push(p(2000, false, 2, true, 400), 8000).is_empty(), "repeated end packets report once");
    }

    #[test]
    fn truncated_packets_are_ignored() {
        assert_eq!(EventPacket::parse(&[0x80, 101, 0, 1]), None);
        let mut p = audio(1, 1);
        p.truncate(14);
        assert_eq!(EventPacket::parse(&p), None);
    }
}

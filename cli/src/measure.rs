// SPDX-License-Identifier: MPL-2.0
//! Pure helpers shared by the wkrtc driver and the raw webrtcbin anchor: the test messages
//! (a header plus a deterministic pattern derived from the sequence number), the
//! answerer's verification state machine, and percentiles.
//!
//! Every message starts with a 16-byte header:
//!
//! | bytes  | field                                                          |
//! |--------|----------------------------------------------------------------|
//! | 0      | kind: `S` start of a bulk phase, `B` bulk, `E` end, `P` ping   |
//! | 1..4   | zero                                                           |
//! | 4..8   | the message length, u32 little-endian                          |
//! | 8..16  | sequence number (`S`: the phase's message size, `E`: the count) |
//!
//! Bulk and ping messages fill the rest with a pattern seeded by kind and sequence number,
//! so a lost, duplicated, reordered, truncated or corrupted message is detected.

use std::time::{Duration, Instant};

/// Header length; the smallest message.
pub const HEADER: usize = 16;

/// What a message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Starts a bulk phase; the sequence field is the size of the phase's messages.
    Start,
    /// One bulk message.
    Bulk,
    /// Ends a bulk phase; the sequence field is the number of bulk messages sent.
    End,
    /// A ping, echoed by the answerer.
    Ping,
}

impl Kind {
    fn byte(self) -> u8 {
        match self {
            Kind::Start => b'S',
            Kind::Bulk => b'B',
            Kind::End => b'E',
            Kind::Ping => b'P',
        }
    }

    fn from_byte(b: u8) -> Option<Self> {
        match b {
            b'S' => Some(Kind::Start),
            b'B' => Some(Kind::Bulk),
            b'E' => Some(Kind::End),
            b'P' => Some(Kind::Ping),
            _ => None,
        }
    }

    fn has_pattern(self) -> bool {
        matches!(self, Kind::Bulk | Kind::Ping)
    }
}

/// The pattern's word stream: xorshift64 seeded by splitmix64 of kind and sequence.
struct Pattern(u64);

impl Pattern {
    fn new(kind: Kind, seq: u64) -> Self {
        let mut z = (seq ^ (u64::from(kind.byte()) << 56)).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Self((z ^ (z >> 31)) | 1)
    }

    fn next_word(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// A message of `len` bytes (at least [`HEADER`]): header, then the pattern when `kind`
/// carries one. Panics never: a `len` below the header is raised to it.
pub fn message(kind: Kind, seq: u64, len: usize) -> Vec<u8> {
    let len = len.max(HEADER);
    let mut buf = vec![0u8; len];
    buf[0] = kind.byte();
    buf[4..8].copy_from_slice(&(len as u32).to_le_bytes());
    buf[8..16].copy_from_slice(&seq.to_le_bytes());
    if kind.has_pattern() {
        let mut pattern = Pattern::new(kind, seq);
        let mut words = buf[HEADER..].chunks_exact_mut(8);
        for chunk in &mut words {
            chunk.copy_from_slice(&pattern.next_word().to_le_bytes());
        }
        let tail = words.into_remainder();
        let n = tail.len();
        tail.copy_from_slice(&pattern.next_word().to_le_bytes()[..n]);
    }
    buf
}

/// A control message ([`Kind::Start`] or [`Kind::End`]) carrying `value`.
pub fn control(kind: Kind, value: u64) -> Vec<u8> {
    message(kind, value, HEADER)
}

/// Checks a message's header and pattern; returns its kind and sequence field.
pub fn verify(data: &[u8]) -> Result<(Kind, u64), String> {
    if data.len() < HEADER {
        return Err(format!("a {}-byte message is shorter than the {HEADER}-byte header", data.len()));
    }
    let kind = Kind::from_byte(data[0]).ok_or_else(|| format!("unknown message kind 0x{:02x}", data[0]))?;
    let mut len = [0u8; 4];
    len.copy_from_slice(&data[4..8]);
    let len = u32::from_le_bytes(len) as usize;
    if len != data.len() || data[1..4] != [0, 0, 0] {
        return Err(format!("header says {len} bytes, received {}", data.len()));
    }
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&data[8..16]);
    let seq = u64::from_le_bytes(seq);
    if kind.has_pattern() {
        let mut pattern = Pattern::new(kind, seq);
        let mut words = data[HEADER..].chunks_exact(8);
        for (i, chunk) in (&mut words).enumerate() {
            if chunk != pattern.next_word().to_le_bytes() {
                return Err(format!("message {seq}: content differs at byte {}", HEADER + 8 * i));
            }
        }
        let tail = words.remainder();
        if tail != &pattern.next_word().to_le_bytes()[..tail.len()] {
            return Err(format!("message {seq}: content differs in the last {} bytes", tail.len()));
        }
    }
    Ok((kind, seq))
}

/// What the answerer saw during one bulk phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkReport {
    /// The phase's message size, from its start message.
    pub size: usize,
    /// Bulk messages received.
    pub messages: u64,
    /// Bulk bytes received.
    pub bytes: u64,
    /// Messages that failed a check (length, order, content), plus a count mismatch.
    pub errors: u64,
    /// The first failure, for the report.
    pub first_error: Option<String>,
    /// When the last bulk message arrived.
    pub last_at: Option<Instant>,
    /// The longest wait between two bulk messages.
    pub longest_gap: Duration,
}

/// What the caller of [`Answerer::on_message`] has to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing.
    Nothing,
    /// Send the message back (a ping).
    Echo,
    /// A bulk phase ended: hand this report to the sender.
    Report(BulkReport),
}

/// The answerer's side of the data phases: verifies bulk messages in order and asks for
/// pings to be echoed.
#[derive(Debug)]
pub struct Answerer {
    size: Option<usize>,
    next_seq: u64,
    report: BulkReport,
    /// Errors seen outside a bulk phase.
    stray: BulkReport,
}

impl Default for Answerer {
    fn default() -> Self {
        Self::new()
    }
}

fn empty_report(size: usize) -> BulkReport {
    BulkReport { size, messages: 0, bytes: 0, errors: 0, first_error: None, last_at: None, longest_gap: Duration::ZERO }
}

fn arrived(report: &mut BulkReport, len: usize, now: Instant) {
    report.messages += 1;
    report.bytes += len as u64;
    if let Some(last) = report.last_at {
        report.longest_gap = report.longest_gap.max(now.saturating_duration_since(last));
    }
    report.last_at = Some(now);
}

fn record(report: &mut BulkReport, error: String) {
    report.errors += 1;
    report.first_error.get_or_insert(error);
}

impl Answerer {
    /// An answerer outside any phase.
    pub fn new() -> Self {
        Self { size: None, next_seq: 0, report: empty_report(0), stray: empty_report(0) }
    }

    /// Counts a failure against the current phase (or as stray when there is none).
    pub fn error(&mut self, error: String) {
        if self.size.is_some() {
            record(&mut self.report, error);
        } else {
            record(&mut self.stray, error);
        }
    }

    /// Failures seen outside a bulk phase: `(count, first)`.
    pub fn stray_errors(&self) -> (u64, Option<String>) {
        (self.stray.errors, self.stray.first_error.clone())
    }

    /// Handles one received binary message that arrived at `now`.
    pub fn on_message(&mut self, data: &[u8], now: Instant) -> Action {
        let (kind, seq) = match verify(data) {
            Ok(v) => v,
            Err(e) => {
                // A damaged bulk message still takes its place in the sequence.
                if self.size.is_some() && data.first() == Some(&Kind::Bulk.byte()) {
                    self.next_seq += 1;
                    arrived(&mut self.report, data.len(), now);
                }
                self.error(e);
                return Action::Nothing;
            }
        };
        match kind {
            Kind::Start => {
                if self.size.is_some() {
                    self.error("a bulk phase started before the previous one ended".into());
                }
                self.size = Some(usize::try_from(seq).unwrap_or(usize::MAX));
                self.next_seq = 0;
                self.report = empty_report(self.size.unwrap_or(0));
                Action::Nothing
            }
            Kind::Bulk => {
                let Some(size) = self.size else {
                    self.error(format!("bulk message {seq} outside a phase"));
                    return Action::Nothing;
                };
                if data.len() != size {
                    self.error(format!("message {seq}: {} bytes, expected {size}", data.len()));
                }
                if seq != self.next_seq {
                    self.error(format!("message {seq} arrived when {} was expected", self.next_seq));
                }
                self.next_seq = seq.wrapping_add(1);
                arrived(&mut self.report, data.len(), now);
                Action::Nothing
            }
            Kind::End => {
                if self.size.take().is_none() {
                    record(&mut self.stray, "end of a phase that never started".into());
                    return Action::Nothing;
                }
                let mut report = std::mem::replace(&mut self.report, empty_report(0));
                if report.messages != seq {
                    let error = format!("{seq} messages sent, {} received", report.messages);
                    record(&mut report, error);
                }
                Action::Report(report)
            }
            Kind::Ping => Action::Echo,
        }
    }
}

/// The nearest-rank percentile `p` (0-100) of `values`; `None` when empty.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (p.clamp(0.0, 100.0) / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.saturating_sub(1).min(sorted.len() - 1)).copied()
}

/// The `RcvbufErrors` counter of the `Udp:` lines of Linux's `/proc/net/snmp`: datagrams
/// the kernel dropped because a socket's receive buffer was full.
pub fn udp_rcvbuf_errors(snmp: &str) -> Option<u64> {
    let mut lines = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let (names, values) = (lines.next()?, lines.next()?);
    let column = names.split_whitespace().position(|n| n == "RcvbufErrors")?;
    values.split_whitespace().nth(column)?.parse().ok()
}

/// Milliseconds as a float.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// MB/s (10^6 bytes per second).
pub fn mb_per_s(bytes: u64, d: Duration) -> f64 {
    let s = d.as_secs_f64();
    if s > 0.0 {
        bytes as f64 / s / 1e6
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_at_every_tail_length() {
        for len in [16, 17, 23, 24, 25, 32, 1000, 16 * 1024, 64 * 1024] {
            for seq in [0, 1, 7, u64::MAX] {
                let m = message(Kind::Bulk, seq, len);
                assert_eq!(m.len(), len);
                assert_eq!(verify(&m), Ok((Kind::Bulk, seq)));
            }
        }
        assert_eq!(verify(&control(Kind::End, 42)), Ok((Kind::End, 42)));
    }

    #[test]
    fn damage_is_detected() {
        let m = message(Kind::Ping, 3, 32);
        for i in 0..m.len() {
            let mut bad = m.clone();
            bad[i] ^= 0x40;
            assert!(verify(&bad).is_err(), "flip at byte {i} passed");
        }
        assert!(verify(&m[..31]).is_err(), "truncation");
        assert!(verify(&m[..10]).is_err(), "shorter than the header");
        // Same length, another sequence number's pattern.
        let mut other = message(Kind::Ping, 4, 32);
        other[8..16].copy_from_slice(&3u64.to_le_bytes());
        assert!(verify(&other).is_err());
        assert_ne!(message(Kind::Bulk, 1, 64), message(Kind::Ping, 1, 64)[..].to_vec());
    }

    #[test]
    fn answerer_checks_order_length_and_count() {
        let now = Instant::now();
        let mut a = Answerer::new();
        assert_eq!(a.on_message(&control(Kind::Start, 100), now), Action::Nothing);
        for seq in [0, 1, 3] {
            a.on_message(&message(Kind::Bulk, seq, 100), now);
        }
        a.on_message(&message(Kind::Bulk, 4, 99), now);
        let Action::Report(r) = a.on_message(&control(Kind::End, 5), now) else { panic!("no report") };
        assert_eq!((r.size, r.messages, r.bytes), (100, 4, 399));
        // A gap (2 missing), a wrong length, and 5 sent for 4 received.
        assert_eq!(r.errors, 3, "{r:?}");
        assert_eq!(r.first_error.as_deref(), Some("message 3 arrived when 2 was expected"));

        assert_eq!(a.on_message(&message(Kind::Ping, 9, 32), now), Action::Echo);
        a.on_message(&control(Kind::Start, 64), now);
        a.on_message(&message(Kind::Bulk, 0, 64), now);
        let Action::Report(r) = a.on_message(&control(Kind::End, 1), now) else { panic!("no report") };
        assert_eq!((r.errors, r.messages, r.last_at), (0, 1, Some(now)));
        assert_eq!(a.stray_errors().0, 0);
        a.on_message(&control(Kind::End, 1), now);
        assert_eq!(a.stray_errors().0, 1);
    }

    #[test]
    fn percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 99.0), Some(99.0));
        assert_eq!(percentile(&v, 100.0), Some(100.0));
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 50.0), Some(2.0));
        assert_eq!(percentile(&[5.0], 90.0), Some(5.0));
        assert_eq!(percentile(&[], 50.0), None);
        assert!((mb_per_s(2_000_000, Duration::from_secs(2)) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn udp_drops_from_snmp() {
        let snmp = "Tcp: RtoAlgorithm RtoMin\nTcp: 1 200\n\
                    Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\n\
                    Udp: 6083056 2 19700 6102767 19701 0\n\
                    UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\n\
                    UdpLite: 0 0 0 0 0 0\n";
        assert_eq!(udp_rcvbuf_errors(snmp), Some(19701));
        assert_eq!(udp_rcvbuf_errors("Udp: InDatagrams\nUdp: 5\n"), None);
        assert_eq!(udp_rcvbuf_errors(""), None);
    }
}

// SPDX-License-Identifier: MPL-2.0
//! Generated hostile input for wkrtc, on stable Rust.
//!
//! Four targets, each a generator of inputs and a check that must hold for every one:
//!
//! - [`Target::Sdp`]: mutated offers (lines dropped, doubled, swapped, cut, bytes flipped,
//!   hostile attributes inserted, seeds spliced) through wkrtc's SDP checks and rewrites.
//!   Every outcome is a result or a W3C error of the allowed names, and a description that
//!   parsed still parses after each rewrite wkrtc makes to descriptions.
//! - [`Target::Candidate`]: mutated candidate lines with random mids, indexes and ufrags
//!   routed against a remote description: a route, a `TypeError` or an `OperationError`.
//! - [`Target::Signaling`]: mutated JSON requests to a real `wkrtc serve` over WebSocket;
//!   every request is answered or the socket closed, and a complete call works afterwards.
//! - [`Target::Api`]: random sequences of W3C calls on pairs of live connections (real
//!   webrtcbin), with W3C errors only, no call left hanging, and no descriptor kept once the
//!   connections are gone.
//!
//! A panic, a wrong error name, a broken invariant or a hang is a finding; `wkrtc-fuzz`
//! prints them with the input and the seed that made it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use wkrtc::jsep::{Fingerprint, HashAlgorithm, IceCandidate, ParsedDescription, RtpTransceiverDirection};

mod live;
pub use live::{run_api, run_signaling};

/// What a fuzz target exercises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// SDP checks and rewrites.
    Sdp,
    /// Candidate routing.
    Candidate,
    /// `wkrtc serve`'s signaling JSON.
    Signaling,
    /// Sequences of API calls on live connections.
    Api,
}

impl Target {
    /// Every target, in the order `wkrtc-fuzz` runs them.
    pub const ALL: [Target; 4] = [Target::Sdp, Target::Candidate, Target::Signaling, Target::Api];

    /// The target's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Target::Sdp => "sdp",
            Target::Candidate => "candidate",
            Target::Signaling => "signaling",
            Target::Api => "api",
        }
    }
}

/// The outcome of a run.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Inputs tried.
    pub inputs: u64,
    /// Inputs wkrtc accepted (a description that validated, a candidate routed, a request
    /// answered without error, a call that succeeded).
    pub accepted: u64,
    /// Inputs refused with a W3C error.
    pub refused: u64,
    /// The slowest input.
    pub slowest: Duration,
    /// What went wrong, each with its input; empty is a pass.
    pub findings: Vec<String>,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl Report {
    fn finding(&mut self, what: String) {
        // The first few tell the story; the count says the rest.
        if self.findings.len() < 20 {
            self.findings.push(what);
        }
    }

    fn time<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let out = f();
        self.slowest = self.slowest.max(started.elapsed());
        out
    }
}

/// xorshift64*: deterministic, so a finding names the seed and input that made it.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced: xorshift never leaves it).
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    /// The next 64 random bits.
    pub fn bits(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// A number below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.bits() % n.max(1) as u64) as usize
    }
    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A data-channel offer as a browser writes it.
pub const DATA_OFFER: &str = "v=0\r\n\
o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n\
s=-\r\n\
t=0 0\r\n\
a=group:BUNDLE 0\r\n\
a=extmap-allow-mixed\r\n\
a=msid-semantic: WMS\r\n\
m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n\
c=IN IP4 0.0.0.0\r\n\
a=candidate:1 1 udp 2113937151 6f0b1e4c-7a9e-4a3b-9d61-2b7a1f0c9e11.local 54321 typ host generation 0\r\n\
a=ice-ufrag:Zx9r\r\n\
a=ice-pwd:2bKq8mD0pHq1mB8yJk3Lw5dO\r\n\
a=ice-options:trickle\r\n\
a=fingerprint:sha-256 DE:2F:19:9B:C6:4D:AE:C2:0F:01:B8:FF:AA:56:CB:EB:04:D1:EF:FB:34:5E:08:88:2C:2C:65:45:77:A5:68:15\r\n\
a=setup:actpass\r\n\
a=mid:0\r\n\
a=sctp-port:5000\r\n\
a=max-message-size:262144\r\n";

/// An audio, video and data offer with the attributes browsers put in one.
pub const MEDIA_OFFER: &str = "v=0\r\n\
o=- 1 2 IN IP4 127.0.0.1\r\n\
s=-\r\n\
t=0 0\r\n\
a=group:BUNDLE a v d\r\n\
a=msid-semantic: WMS s1\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8\r\n\
c=IN IP4 0.0.0.0\r\n\
a=rtcp:9 IN IP4 0.0.0.0\r\n\
a=candidate:842163049 1 udp 1677729535 198.51.100.7 61000 typ srflx raddr 0.0.0.0 rport 0 generation 0\r\n\
a=ice-ufrag:Qw3e\r\n\
a=ice-pwd:pR8sT1uV4wX7yZ0aB3cD6eF9\r\n\
a=fingerprint:sha-256 11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00\r\n\
a=setup:actpass\r\n\
a=mid:a\r\n\
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n\
a=sendrecv\r\n\
a=msid:s1 t1\r\n\
a=rtcp-mux\r\n\
a=rtpmap:111 opus/48000/2\r\n\
a=rtcp-fb:111 transport-cc\r\n\
a=fmtp:111 minptime=10;useinbandfec=1\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=ssrc:1001 cname:abc\r\n\
m=video 9 UDP/TLS/RTP/SAVPF 96 97 98\r\n\
c=IN IP4 0.0.0.0\r\n\
a=ice-ufrag:Qw3e\r\n\
a=ice-pwd:pR8sT1uV4wX7yZ0aB3cD6eF9\r\n\
a=fingerprint:sha-256 11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00\r\n\
a=setup:actpass\r\n\
a=mid:v\r\n\
a=sendonly\r\n\
a=msid:s1 t2\r\n\
a=rtcp-mux\r\n\
a=rtcp-rsize\r\n\
a=rtpmap:96 VP8/90000\r\n\
a=rtcp-fb:96 nack\r\n\
a=rtcp-fb:96 nack pli\r\n\
a=rtcp-fb:96 ccm fir\r\n\
a=rtpmap:97 rtx/90000\r\n\
a=fmtp:97 apt=96\r\n\
a=rtpmap:98 H264/90000\r\n\
a=fmtp:98 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n\
a=ssrc-group:FID 2001 2002\r\n\
a=ssrc:2001 cname:abc\r\n\
a=ssrc:2002 cname:abc\r\n\
m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n\
c=IN IP4 0.0.0.0\r\n\
a=ice-ufrag:Qw3e\r\n\
a=ice-pwd:pR8sT1uV4wX7yZ0aB3cD6eF9\r\n\
a=fingerprint:sha-256 11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00\r\n\
a=setup:actpass\r\n\
a=mid:d\r\n\
a=sctp-port:5000\r\n\
a=max-message-size:262144\r\n";

/// Lines a hostile or confused peer might add.
const HOSTILE_LINES: &[&str] = &[
    "m=audio 0 RTP/AVP 0",
    "m=video 9 UDP/TLS/RTP/SAVPF",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "a=fingerprint:sha-1 00",
    "a=fingerprint:sha-512 00:11",
    "a=fingerprint:md5 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF",
    "a=fingerprint:sha-256",
    "c=IN IP6 ::1",
    "c=IN IP4 999.1.1.1/127",
    "a=mid:",
    "a=mid:a",
    "a=group:BUNDLE a a a",
    "a=group:BUNDLE",
    "a=setup:holdconn",
    "a=ice-ufrag:",
    "a=ice-pwd:x",
    "a=max-message-size:-1",
    "a=max-message-size:18446744073709551616",
    "a=sctp-port:0",
    "a=rtpmap:96 VP8/0",
    "a=rtpmap:300 opus/48000/2",
    "a=rtpmap:96",
    "a=fmtp:96 apt=96",
    "a=fmtp:97 apt=",
    "a=rtcp-fb:* nack",
    "a=ssrc:0 cname:",
    "a=ssrc-group:FID",
    "a=msid:",
    "a=simulcast:send 0;1",
    "a=rid:0 send",
    "a=extmap:15 urn:x",
    "a=extmap:999999 urn:x",
    "a=candidate:1 1 udp 1 127.0.0.1 1 typ host",
    "a=candidate:x",
    "a=end-of-candidates",
    "a=inactive",
    "a=recvonly",
    "b=AS:-5",
    "t=0",
    "v=1",
    "o=",
    "s=",
];

/// Values to put where a value was.
pub(crate) const ODD_VALUES: &[&str] =
    &["", "0", "-1", "65535", "65536", "4294967296", "18446744073709551616", "NaN", "\u{00e9}\u{1f600}", "\u{0}", " ", ":::", "a b c"];

fn mutate(rng: &mut Rng, seed: &str) -> String {
    let mut lines: Vec<String> = seed.split("\r\n").filter(|l| !l.is_empty()).map(str::to_owned).collect();
    for _ in 0..1 + rng.below(4) {
        if lines.is_empty() {
            lines.push("v=0".into());
        }
        let i = rng.below(lines.len());
        match rng.below(10) {
            0 => {
                lines.remove(i);
            }
            1 => {
                let l = lines[i].clone();
                let at = rng.below(lines.len() + 1);
                lines.insert(at, l);
            }
            2 => {
                let cut = rng.below(lines[i].len() + 1);
                lines[i] = lines[i].chars().take(cut).collect();
            }
            3 => {
                let mut bytes = lines[i].clone().into_bytes();
                for _ in 0..1 + rng.below(3) {
                    if !bytes.is_empty() {
                        let j = rng.below(bytes.len());
                        bytes[j] = rng.bits() as u8;
                    }
                }
                lines[i] = String::from_utf8_lossy(&bytes).into_owned();
            }
            4 => {
                let j = rng.below(lines.len());
                lines.swap(i, j);
            }
            5 => {
                // Keep the attribute, change its value.
                let key = lines[i].split(':').next().unwrap_or("a=x").to_owned();
                lines[i] = format!("{key}:{}", rng.pick(ODD_VALUES));
            }
            6 => lines[i] = format!("a={}", "x".repeat(rng.below(6000))),
            7 => {
                // Another seed's tail: sections spliced from a different description.
                let other = if rng.below(2) == 0 { DATA_OFFER } else { MEDIA_OFFER };
                let tail: Vec<String> = other.split("\r\n").skip(rng.below(40)).filter(|l| !l.is_empty()).map(str::to_owned).collect();
                lines.truncate(i);
                lines.extend(tail);
            }
            8 => {
                // Many sections or many candidates: the bounds.
                let line = rng.pick(&["m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=candidate:1 1 udp 1 127.0.0.1 9 typ host", "a=mid:m"]).to_string();
                let n = rng.below(300);
                lines.splice(i..i, std::iter::repeat_n(line, n));
            }
            _ => lines.insert(i, rng.pick(HOSTILE_LINES).to_string()),
        }
    }
    lines.join(if rng.below(8) == 0 { "\n" } else { "\r\n" }) + "\r\n"
}

/// One generated description.
pub fn sdp_input(rng: &mut Rng) -> String {
    let seed = if rng.below(2) == 0 { DATA_OFFER } else { MEDIA_OFFER };
    mutate(rng, seed)
}

/// Error names a description may be refused with.
const SDP_ERRORS: &[&str] = &["SyntaxError", "InvalidAccessError", "OperationError"];

/// Runs `text` through every check and rewrite wkrtc applies to descriptions. `Ok(true)`:
/// accepted as a remote description; `Ok(false)`: refused with an allowed error.
pub fn check_sdp(text: &str) -> Result<bool, String> {
    let parsed = match ParsedDescription::parse(text) {
        Ok(p) => p,
        Err(e) if SDP_ERRORS.contains(&e.name()) => return Ok(false),
        Err(e) => return Err(format!("parse refused with {}: {e}", e.name())),
    };
    let _ = (parsed.fingerprints(), parsed.mids(), parsed.ice_ufrags(), parsed.ice_credentials(), parsed.setup());
    let _ = (parsed.has_data_channel(), parsed.max_message_size(), parsed.bundle_group());
    let sections = parsed.media_sections();
    for s in &sections {
        let _ = (s.kind(), s.send_codec(), s.codec_formats(|_| true));
    }
    let accepted = match parsed.validate_remote() {
        Ok(()) => true,
        Err(e) if SDP_ERRORS.contains(&e.name()) => false,
        Err(e) => return Err(format!("validate_remote refused with {}: {e}", e.name())),
    };
    // The rewrites wkrtc makes to local and remote descriptions keep them parseable.
    let mut rewritten = parsed.clone();
    rewritten.set_ice_credentials("abcd", "0123456789012345678901");
    rewritten.set_fingerprint(&Fingerprint { algorithm: HashAlgorithm::Sha256, value: vec![0xab; 32] });
    rewritten.add_max_message_size(65536);
    rewritten.set_max_message_size(1 << 20);
    rewritten.open_media_directions();
    rewritten.fill_rejected_for_webrtcbin();
    for i in 0..sections.len() {
        rewritten.set_direction(i, RtpTransceiverDirection::RecvOnly);
        rewritten.set_msid(i, &["stream".to_owned()], "track");
    }
    let mids: Vec<String> = rewritten.mids().into_iter().flatten().collect();
    rewritten.set_bundle_group(&mids);
    let text = rewritten.to_text();
    if let Err(e) = ParsedDescription::parse(&text) {
        // Rewriting may lengthen a description past the size bounds; anything else is a bug.
        if e.name() != "OperationError" {
            return Err(format!("a rewritten description no longer parses ({}: {e}):\n{text}", e.name()));
        }
    }
    Ok(accepted)
}

const CANDIDATE_SEEDS: &[&str] = &[
    "candidate:1 1 udp 2122252543 127.0.0.1 40000 typ host",
    "candidate:842163049 1 udp 1677729535 198.51.100.7 61000 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag Zx9r network-cost 999",
    "candidate:3 1 tcp 1518280447 10.0.0.2 9 typ host tcptype active",
    "candidate:4 1 udp 41885439 203.0.113.9 50000 typ relay raddr 198.51.100.7 rport 61000",
    "candidate:5 1 udp 2113937151 6f0b1e4c-7a9e-4a3b-9d61-2b7a1f0c9e11.local 54321 typ host",
    "a=candidate:6 2 UDP 1 ::1 1 typ prflx",
    "",
];

/// One generated candidate: line, mid, m-line index, ufrag.
pub fn candidate_input(rng: &mut Rng) -> IceCandidate {
    let mut line = rng.pick(CANDIDATE_SEEDS).to_string();
    let mut fields: Vec<String> = line.split(' ').map(str::to_owned).collect();
    for _ in 0..rng.below(4) {
        let i = rng.below(fields.len());
        match rng.below(5) {
            0 => fields[i] = rng.pick(ODD_VALUES).to_string(),
            1 => {
                fields.remove(i);
            }
            2 => fields.insert(i, rng.pick(&["typ", "host", "raddr", "generation", "x"]).to_string()),
            3 => fields[i] = "f".repeat(rng.below(2000)),
            _ => {
                let j = rng.below(fields.len());
                fields.swap(i, j);
            }
        }
        if fields.is_empty() {
            fields.push(String::new());
        }
    }
    line = fields.join(" ");
    let mid = match rng.below(5) {
        0 => None,
        1 => Some(rng.pick(ODD_VALUES).to_string()),
        _ => Some(rng.pick(&["a", "v", "d", "0"]).to_string()),
    };
    let index = match rng.below(4) {
        0 => None,
        1 => Some(rng.bits() as u32),
        _ => Some(rng.below(4) as u32),
    };
    let mut c = IceCandidate::new(line, mid, index);
    c.username_fragment = match rng.below(4) {
        0 => Some("Qw3e".into()),
        1 => Some(rng.pick(ODD_VALUES).to_string()),
        _ => None,
    };
    c
}

/// Routes `candidate` against `remote`: `Ok(true)` routed, `Ok(false)` refused with a W3C
/// error of the allowed names.
pub fn check_candidate(candidate: &IceCandidate, remote: &ParsedDescription) -> Result<bool, String> {
    let _ = (candidate.address(), candidate.is_mdns(), candidate.is_end_of_candidates());
    match candidate.route(remote) {
        Ok(_) => Ok(true),
        Err(e) if ["TypeError", "OperationError"].contains(&e.name()) => Ok(false),
        Err(e) => Err(format!("route refused with {}: {e}", e.name())),
    }
}

/// Runs a pure target ([`Target::Sdp`] or [`Target::Candidate`]) for `inputs` inputs.
pub fn run_pure(target: Target, inputs: u64, seed: u64) -> Report {
    let mut rng = Rng::new(seed);
    let mut report = Report::default();
    let started = Instant::now();
    let remote = ParsedDescription::parse(MEDIA_OFFER).ok();
    for i in 0..inputs {
        let (input, outcome) = match target {
            Target::Sdp => {
                let text = sdp_input(&mut rng);
                let outcome = report.time(|| catch_unwind(AssertUnwindSafe(|| check_sdp(&text))));
                (text, outcome)
            }
            _ => {
                let c = candidate_input(&mut rng);
                let outcome = match &remote {
                    Some(r) => report.time(|| catch_unwind(AssertUnwindSafe(|| check_candidate(&c, r)))),
                    None => Ok(Err("the seed description does not parse".to_owned())),
                };
                (format!("{c:?}"), outcome)
            }
        };
        report.inputs += 1;
        match outcome {
            Ok(Ok(true)) => report.accepted += 1,
            Ok(Ok(false)) => report.refused += 1,
            Ok(Err(why)) => report.finding(format!("input {i} (seed {seed:#x}): {why}\n{input}")),
            Err(_) => report.finding(format!("input {i} (seed {seed:#x}) panicked:\n{input}")),
        }
    }
    report.elapsed = started.elapsed();
    report
}

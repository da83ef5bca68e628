// SPDX-License-Identifier: MPL-2.0
//! Builds the W3C report from webrtcbin's raw statistics and wkrtc's own state.
//!
//! What comes from where:
//! - RTP counters (packets, bytes, loss, jitter, NACK/PLI/FIR, round trip from receiver
//!   reports): webrtcbin, matched by SSRC. webrtcbin 1.22 labels bundled streams with the
//!   wrong kind and codec, so kind, mid and codec come from wkrtc's transceivers.
//! - Candidates and the selected pair: webrtcbin, whose 1.22 swaps the local and remote
//!   candidate types (its ids are right).
//! - Codecs, frames decoded, media sources, data channels, ICE and DTLS states, certificate
//!   fingerprints: wkrtc.

use std::collections::HashMap;

use super::{StatValue, Stats, StatsReport, StatsType};
use crate::engine::media::CodecFigures;
use crate::media::{AudioLevels, RtpCodecCapability};

/// The one transport: wkrtc bundles everything.
pub(crate) const TRANSPORT_ID: &str = "T01";

/// What wkrtc knows of one transceiver when the report is made.
#[derive(Debug, Clone)]
pub(crate) struct TransceiverSnapshot {
    pub mid: Option<String>,
    pub kind: &'static str,
    pub sender_ssrc: u32,
    /// The sender has a track and the negotiated direction sends.
    pub sending: bool,
    pub active: bool,
    /// The sender's track: id and frames it produced.
    pub sender_track: Option<(String, u64)>,
    /// The sender's frames: size and rate at the source, and the scale applied before encoding.
    pub source_size: Option<(u32, u32)>,
    pub source_rate: f64,
    pub scale_down: f64,
    /// The encoder's target, bits per second.
    pub target_bitrate: u32,
    /// The negotiated codec (the same both ways in wkrtc's negotiations).
    pub codec: Option<(u8, RtpCodecCapability)>,
    pub receiver_track_id: String,
    pub frames_decoded: u64,
    /// The last decoded frame's size.
    pub frame_size: Option<(u32, u32)>,
    /// The peer announced sending here.
    pub receiving: bool,
    /// What wkrtc measured on its encoder and decoder, with their element names.
    pub encoder: Option<(CodecFigures, String)>,
    pub decoder: Option<(CodecFigures, String)>,
    /// Audio levels of the sender's track (the source) and of the receiver's (decoded).
    pub source_levels: Option<AudioLevels>,
    pub received_levels: Option<AudioLevels>,
}

/// What wkrtc knows of one data channel.
#[derive(Debug, Clone)]
pub(crate) struct ChannelSnapshot {
    pub label: String,
    pub protocol: String,
    pub id: Option<u16>,
    pub state: String,
    /// Messages and bytes sent, messages and bytes received.
    pub counters: (u64, u64, u64, u64),
}

/// wkrtc's side of a report.
#[derive(Debug, Clone, Default)]
pub(crate) struct Snapshot {
    /// Milliseconds since the Unix epoch.
    pub timestamp: f64,
    pub transceivers: Vec<TransceiverSnapshot>,
    pub channels: Vec<ChannelSnapshot>,
    pub ice_state: String,
    pub dtls_state: String,
    pub ice_ufrag: Option<String>,
    /// ICE "controlling" or "controlled", DTLS "client" or "server", once negotiated.
    pub ice_role: Option<&'static str>,
    pub dtls_role: Option<&'static str>,
    /// (algorithm, fingerprint) of wkrtc's certificate and of the peer's.
    pub local_fingerprint: Option<(String, String)>,
    pub remote_fingerprint: Option<(String, String)>,
    /// Packets sent, bytes sent, packets received, bytes received over the ICE transport
    /// (everything: DTLS, SRTP, SCTP).
    pub traffic: (u64, u64, u64, u64),
    /// Candidate lines wkrtc gathered and received, and the peer's ICE username fragment.
    pub local_candidates: Vec<String>,
    pub remote_candidates: Vec<String>,
    pub remote_ufrag: Option<String>,
    /// The SSRCs the peer announced per mid (`a=ssrc`, RTX and FEC ones left out).
    pub remote_ssrcs: HashMap<String, Vec<u32>>,
}

/// One of webrtcbin's raw stats objects.
#[derive(Clone)]
pub(crate) struct Raw {
    pub kind: String,
    pub id: String,
    pub fields: gst::Structure,
}

impl Raw {
    fn u64(&self, name: &str) -> Option<u64> {
        self.fields.get::<u64>(name).ok().or_else(|| self.fields.get::<u32>(name).ok().map(u64::from))
    }
    fn i64(&self, name: &str) -> Option<i64> {
        self.fields.get::<i64>(name).ok().or_else(|| self.fields.get::<i32>(name).ok().map(i64::from))
    }
    fn f64(&self, name: &str) -> Option<f64> {
        self.fields.get::<f64>(name).ok()
    }
    fn str(&self, name: &str) -> Option<String> {
        self.fields.get::<String>(name).ok()
    }
    fn ssrc(&self) -> Option<u32> {
        self.fields.get::<u32>("ssrc").ok()
    }
    /// Fields of the embedded `gst-rtpsource-stats` structure.
    fn source(&self) -> Option<gst::Structure> {
        self.fields.get::<gst::Structure>("gst-rtpsource-stats").ok()
    }
    fn source_u64(&self, name: &str) -> Option<u64> {
        let s = self.source()?;
        s.get::<u64>(name).ok().or_else(|| s.get::<u32>(name).ok().map(u64::from))
    }
    fn source_i64(&self, name: &str) -> Option<i64> {
        self.source()?.get::<i32>(name).ok().map(i64::from)
    }
    fn source_bool(&self, name: &str) -> bool {
        self.source().and_then(|s| s.get::<bool>(name).ok()).unwrap_or(false)
    }
}

/// webrtcbin's `get-stats` reply, one entry per stats object.
pub(crate) fn raw_entries(reply: &gst::StructureRef) -> Vec<Raw> {
    reply
        .iter()
        .filter_map(|(_, value)| value.get::<gst::Structure>().ok())
        .filter_map(|s| {
            let id = s.get::<String>("id").ok()?;
            Some(Raw { kind: s.name().to_string(), id, fields: s })
        })
        .collect()
}

/// W3C: an RTP stream's stats object stays in the report once it exists, while webrtcbin
/// drops a source's entry when the source times out (a track stopped for some seconds). The
/// streams of the last report are remembered, and those webrtcbin no longer lists are
/// reported again with their last counters.
pub(crate) fn keep_rtp_streams(raw: &mut Vec<Raw>, remembered: &mut Vec<Raw>) {
    let is_stream = |r: &Raw| matches!(r.kind.as_str(), "inbound-rtp" | "outbound-rtp") && r.ssrc().is_some();
    for old in remembered.drain(..) {
        if !raw.iter().any(|new| new.kind == old.kind && new.ssrc() == old.ssrc()) {
            raw.push(old);
        }
    }
    *remembered = raw.iter().filter(|r| is_stream(r)).cloned().collect();
}

/// Packets sent, bytes sent, packets received, bytes received.
fn set_traffic(s: &mut Stats, (packets_sent, bytes_sent, packets_received, bytes_received): (u64, u64, u64, u64)) {
    s.set_u64("packetsSent", packets_sent)
        .set_u64("bytesSent", bytes_sent)
        .set_u64("packetsReceived", packets_received)
        .set_u64("bytesReceived", bytes_received);
}

/// A source's or a receiver's audio level members.
fn set_levels(s: &mut Stats, l: AudioLevels) {
    s.set_f64("audioLevel", l.audio_level).set_f64("totalAudioEnergy", l.total_audio_energy).set_f64("totalSamplesDuration", l.total_samples_duration);
}

fn codec_id(pt: u8) -> String {
    format!("CIT01_{pt}")
}

fn certificate_id(fingerprint: &str) -> String {
    format!("CF{}", fingerprint.replace(':', ""))
}

/// The report of a whole connection.
pub(crate) fn report(raw: &[Raw], snap: &Snapshot) -> StatsReport {
    let ts = snap.timestamp;
    let mut r = StatsReport::default();
    let find = |kind: &str, ssrc: u32| raw.iter().find(|e| e.kind == kind && e.ssrc() == Some(ssrc));

    // Peer connection and data channels.
    let mut pc = Stats::new("P", StatsType::PeerConnection, ts);
    let opened = snap.channels.iter().filter(|c| c.state != "connecting").count() as u64;
    let closed = snap.channels.iter().filter(|c| c.state == "closed").count() as u64;
    pc.set_u64("dataChannelsOpened", opened).set_u64("dataChannelsClosed", closed);
    r.insert(pc);
    for (i, c) in snap.channels.iter().enumerate() {
        let mut s = Stats::new(format!("D{i}"), StatsType::DataChannel, ts);
        s.set_str("label", c.label.clone()).set_str("protocol", c.protocol.clone()).set_str("state", c.state.clone());
        if let Some(id) = c.id {
            s.set_u64("dataChannelIdentifier", id.into());
        }
        let (ms, bs, mr, br) = c.counters;
        s.set_u64("messagesSent", ms).set_u64("bytesSent", bs).set_u64("messagesReceived", mr).set_u64("bytesReceived", br);
        r.insert(s);
    }

    // Transport, certificates, candidates, the selected pair.
    let mut transport = Stats::new(TRANSPORT_ID, StatsType::Transport, ts);
    transport.set_str("iceState", snap.ice_state.clone()).set_str("dtlsState", snap.dtls_state.clone());
    set_traffic(&mut transport, snap.traffic);
    if let Some(ufrag) = &snap.ice_ufrag {
        transport.set_str("iceLocalUsernameFragment", ufrag.clone());
    }
    if let Some(role) = snap.ice_role {
        transport.set_str("iceRole", role);
    }
    if let Some(role) = snap.dtls_role {
        transport.set_str("dtlsRole", role);
    }
    for (fp, member) in [(&snap.local_fingerprint, "localCertificateId"), (&snap.remote_fingerprint, "remoteCertificateId")] {
        if let Some((alg, value)) = fp {
            let mut c = Stats::new(certificate_id(value), StatsType::Certificate, ts);
            c.set_str("fingerprint", value.clone()).set_str("fingerprintAlgorithm", alg.clone());
            transport.set_str(member, c.id.clone());
            r.insert(c);
        }
    }
    let connected = matches!(snap.ice_state.as_str(), "connected" | "completed");
    for e in raw.iter().filter(|e| e.kind == "local-candidate" || e.kind == "remote-candidate") {
        // webrtcbin 1.22 swaps the types; its ids say which side a candidate is.
        let kind = if e.id.starts_with("ice-candidate-local") { StatsType::LocalCandidate } else { StatsType::RemoteCandidate };
        let mut c = Stats::new(e.id.clone(), kind, ts);
        c.set_str("transportId", TRANSPORT_ID);
        if let Some(v) = e.str("address") {
            c.set_str("address", v);
        }
        if let Some(v) = e.u64("port") {
            c.set_u64("port", v);
        }
        if let Some(v) = e.str("protocol") {
            c.set_str("protocol", v);
        }
        if let Some(v) = e.str("candidate-type") {
            c.set_str("candidateType", v);
        }
        if let Some(v) = e.u64("priority") {
            c.set_u64("priority", v);
        }
        // The candidate's line (same address and port) gives its foundation and ufrag.
        let (lines, ufrag) = match kind {
            StatsType::LocalCandidate => (&snap.local_candidates, &snap.ice_ufrag),
            _ => (&snap.remote_candidates, &snap.remote_ufrag),
        };
        if let (Some(address), Some(port)) = (e.str("address"), e.u64("port")) {
            if let Some(fields) =
                lines.iter().map(|l| l.split_whitespace().collect::<Vec<_>>()).find(|f| f.len() > 5 && f[4] == address && f[5] == port.to_string())
            {
                c.set_str("foundation", fields[0].trim_start_matches("a=").trim_start_matches("candidate:"));
                let own = fields.iter().position(|f| *f == "ufrag").and_then(|i| fields.get(i + 1)).map(|u| (*u).to_owned());
                if let Some(u) = own.or_else(|| ufrag.clone()) {
                    c.set_str("usernameFragment", u);
                }
            }
        }
        r.insert(c);
    }
    for e in raw.iter().filter(|e| e.kind == "candidate-pair") {
        let (Some(local), Some(remote)) = (e.str("local-candidate-id"), e.str("remote-candidate-id")) else { continue };
        if r.get(&local).is_none() || r.get(&remote).is_none() {
            continue;
        }
        let mut p = Stats::new(e.id.clone(), StatsType::CandidatePair, ts);
        p.set_str("transportId", TRANSPORT_ID).set_str("localCandidateId", local).set_str("remoteCandidateId", remote);
        p.set_str("state", if connected { "succeeded" } else { "in-progress" }).set("nominated", StatValue::Bool(connected));
        // One transport, one selected pair: its traffic is the transport's.
        set_traffic(&mut p, snap.traffic);
        transport.set_str("selectedCandidatePairId", e.id.clone());
        r.insert(p);
    }
    r.insert(transport);

    // RTP: codecs, media sources, outbound and inbound streams and their remote halves.
    for t in snap.transceivers.iter().filter(|t| t.mid.is_some()) {
        let mid = t.mid.clone().unwrap_or_default();
        let codec = t.codec.as_ref().map(|(pt, c)| {
            let mut s = Stats::new(codec_id(*pt), StatsType::Codec, ts);
            s.set_u64("payloadType", (*pt).into())
                .set_str("transportId", TRANSPORT_ID)
                .set_str("mimeType", c.mime_type.clone())
                .set_u64("clockRate", c.clock_rate.into());
            if let Some(ch) = c.channels {
                s.set_u64("channels", ch.into());
            }
            if let Some(f) = &c.sdp_fmtp_line {
                s.set_str("sdpFmtpLine", f.clone());
            }
            s
        });
        let stream = |id: String, kind: StatsType, ssrc: u32| {
            let mut s = Stats::new(id, kind, ts);
            s.set_u64("ssrc", ssrc.into()).set_str("kind", t.kind).set_str("transportId", TRANSPORT_ID);
            if let Some(c) = &codec {
                s.set_str("codecId", c.id.clone());
            }
            s
        };
        if t.sending {
            let ssrc = t.sender_ssrc;
            let mut out = stream(format!("OT01{}{ssrc}", t.kind.chars().next().unwrap_or('x').to_ascii_uppercase()), StatsType::OutboundRtp, ssrc);
            out.set_str("mid", mid.clone()).set("active", StatValue::Bool(t.active)).set_u64("targetBitrate", t.target_bitrate.into());
            if let (Some((f, name)), "video") = (&t.encoder, t.kind) {
                out.set_u64("framesEncoded", f.frames_out).set_u64("framesSent", f.frames_out).set_u64("keyFramesEncoded", f.key_frames);
                out.set_f64("totalEncodeTime", f.total_time).set_str("encoderImplementation", name.clone());
                out.set_f64("framesPerSecond", f.frames_per_second);
            }
            if let (Some((w, h)), "video") = (t.source_size, t.kind) {
                let scale = t.scale_down.max(1.0);
                out.set_u64("frameWidth", (f64::from(w) / scale) as u64).set_u64("frameHeight", (f64::from(h) / scale) as u64);
            }
            if let Some(e) = find("outbound-rtp", ssrc) {
                out.set_u64("packetsSent", e.u64("packets-sent").unwrap_or(0)).set_u64("bytesSent", e.u64("bytes-sent").unwrap_or(0));
                for (from, to) in [("nack-count", "nackCount"), ("pli-count", "pliCount"), ("fir-count", "firCount")] {
                    out.set_u64(to, e.u64(from).unwrap_or(0));
                }
            }
            if let Some((track, frames)) = &t.sender_track {
                let mut src = Stats::new(format!("S{track}"), StatsType::MediaSource, ts);
                src.set_str("trackIdentifier", track.clone()).set_str("kind", t.kind);
                if t.kind == "video" {
                    src.set_u64("frames", *frames).set_f64("framesPerSecond", t.source_rate);
                    if let Some((w, h)) = t.source_size {
                        src.set_u64("width", w.into()).set_u64("height", h.into());
                    }
                }
                if let (Some(l), "audio") = (t.source_levels, t.kind) {
                    set_levels(&mut src, l);
                }
                out.set_str("mediaSourceId", src.id.clone());
                r.insert(src);
            }
            // The peer's last receiver report about this stream: webrtcbin keeps one report
            // block per remote source (in its `rb-*` fields), whichever stream it names.
            if let Some(rb) = raw.iter().find(|e| e.source_bool("have-rb") && e.source_u64("rb-ssrc") == Some(u64::from(ssrc))) {
                let mut ri = stream(format!("RI{ssrc}"), StatsType::RemoteInboundRtp, ssrc);
                ri.set_str("localId", out.id.clone());
                // A 24-bit signed count; webrtcbin reports -1 before the first loss report.
                ri.set("packetsLost", StatValue::Signed(rb.source_i64("rb-packetslost").unwrap_or(0).max(0)));
                ri.set_f64("fractionLost", rb.source_u64("rb-fractionlost").unwrap_or(0) as f64 / 256.0);
                // Round trip in 1/65536 s, 0 when not measured yet.
                if let Some(rtt) = rb.source_u64("rb-round-trip").filter(|v| *v > 0) {
                    ri.set_f64("roundTripTime", rtt as f64 / 65536.0);
                }
                let clock = t.codec.as_ref().map(|(_, c)| c.clock_rate).unwrap_or(0);
                if let (Some(j), true) = (rb.source_u64("rb-jitter"), clock > 0) {
                    ri.set_f64("jitter", j as f64 / f64::from(clock));
                }
                out.set_str("remoteId", ri.id.clone());
                r.insert(ri);
            }
            r.insert(out);
        }
        let announced = snap.remote_ssrcs.get(&mid).cloned().unwrap_or_default();
        // The stream the peer sends here: the announced SSRC webrtcbin has received.
        let inbound = announced.iter().find_map(|&ssrc| find("inbound-rtp", ssrc).map(|e| (ssrc, e)));
        if let (true, Some((ssrc, e))) = (t.receiving, inbound) {
            let mut inb = stream(format!("IT01{}{ssrc}", t.kind.chars().next().unwrap_or('x').to_ascii_uppercase()), StatsType::InboundRtp, ssrc);
            inb.set_str("mid", mid.clone()).set_str("trackIdentifier", t.receiver_track_id.clone());
            inb.set_u64("packetsReceived", e.u64("packets-received").unwrap_or(0)).set_u64("bytesReceived", e.u64("bytes-received").unwrap_or(0));
            inb.set("packetsLost", StatValue::Signed(e.i64("packets-lost").unwrap_or(0).max(0)));
            if let Some(j) = e.f64("jitter") {
                inb.set_f64("jitter", j.max(0.0));
            }
            for (from, to) in [("nack-count", "nackCount"), ("pli-count", "pliCount"), ("fir-count", "firCount"), ("packets-discarded", "packetsDiscarded")] {
                if let Some(v) = e.u64(from) {
                    inb.set_u64(to, v);
                }
            }
            if t.kind == "video" {
                inb.set_u64("framesDecoded", t.frames_decoded);
                if let Some((f, name)) = &t.decoder {
                    inb.set_f64("framesPerSecond", f.frames_per_second).set_u64("framesReceived", f.frames_in).set_u64("keyFramesDecoded", f.key_frames);
                    inb.set_f64("totalDecodeTime", f.total_time).set_str("decoderImplementation", name.clone());
                }
                if let Some((w, h)) = t.frame_size {
                    inb.set_u64("frameWidth", w.into()).set_u64("frameHeight", h.into());
                }
            }
            if let (Some(l), "audio") = (t.received_levels, t.kind) {
                set_levels(&mut inb, l);
            }
            if let Some(ro) = find("remote-outbound-rtp", ssrc) {
                let mut s = stream(format!("RO{ssrc}"), StatsType::RemoteOutboundRtp, ssrc);
                s.set_str("localId", inb.id.clone());
                if let Some(v) = ro.u64("packets-sent") {
                    s.set_u64("packetsSent", v);
                }
                if let Some(v) = ro.u64("bytes-sent") {
                    s.set_u64("bytesSent", v);
                }
                if let Some(v) = ro.f64("remote-timestamp") {
                    s.set_f64("remoteTimestamp", v);
                }
                inb.set_str("remoteId", s.id.clone());
                r.insert(s);
            }
            r.insert(inb);
        }
        if let Some(c) = codec {
            r.insert(c);
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(kind: &str, ssrc: u32, packets: u64) -> Raw {
        gst::init().unwrap();
        Raw {
            kind: kind.into(),
            id: format!("{kind}_{ssrc}"),
            fields: gst::Structure::builder(kind).field("ssrc", ssrc).field("packets-received", packets).build(),
        }
    }

    #[test]
    fn streams_outlive_webrtcbins_entries() {
        let mut remembered = Vec::new();
        let mut first = vec![raw("inbound-rtp", 1, 10), raw("outbound-rtp", 2, 5), raw("transport", 0, 0)];
        keep_rtp_streams(&mut first, &mut remembered);
        assert_eq!(remembered.len(), 2);
        // webrtcbin dropped stream 1 and counted more on stream 2: 1 comes back as it was.
        let mut second = vec![raw("outbound-rtp", 2, 7)];
        keep_rtp_streams(&mut second, &mut remembered);
        let inbound = second.iter().find(|r| r.kind == "inbound-rtp").expect("the stream stays");
        assert_eq!(inbound.u64("packets-received"), Some(10));
        assert_eq!(second.iter().filter(|r| r.kind == "outbound-rtp").count(), 1, "no stream twice");
    }
}

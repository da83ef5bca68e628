// SPDX-License-Identifier: MPL-2.0
//! The W3C statistics model (<https://w3c.github.io/webrtc-stats/>): an [`StatsReport`] of
//! [`Stats`] objects, each of one [`StatsType`] with members named as the spec names them.
//!
//! webrtcbin 1.22's own `get-stats` is the raw material, corrected where it is wrong (it swaps
//! local and remote candidates, labels streams with the wrong kind and codec on a bundled
//! transport) and completed with what wkrtc knows itself (SSRCs, mids, negotiated codecs,
//! decoded frames, data-channel counters). [`collect`] builds a report from both.

pub(crate) mod collect;

use std::collections::{BTreeMap, BTreeSet};

/// `RTCStatsType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StatsType {
    /// `codec`
    Codec,
    /// `inbound-rtp`
    InboundRtp,
    /// `outbound-rtp`
    OutboundRtp,
    /// `remote-inbound-rtp`
    RemoteInboundRtp,
    /// `remote-outbound-rtp`
    RemoteOutboundRtp,
    /// `media-source`
    MediaSource,
    /// `media-playout`
    MediaPlayout,
    /// `peer-connection`
    PeerConnection,
    /// `data-channel`
    DataChannel,
    /// `transport`
    Transport,
    /// `candidate-pair`
    CandidatePair,
    /// `local-candidate`
    LocalCandidate,
    /// `remote-candidate`
    RemoteCandidate,
    /// `certificate`
    Certificate,
}

const RTP_STREAM: &[&str] = &["ssrc", "kind", "transportId", "codecId"];
const RECEIVED_RTP_STREAM: &[&str] = &[
    "packetsReceived",
    "packetsReceivedWithEct1",
    "packetsReceivedWithCe",
    "packetsReportedAsLost",
    "packetsReportedAsLostButRecovered",
    "packetsLost",
    "jitter",
];
const SENT_RTP_STREAM: &[&str] = &["packetsSent", "bytesSent"];
const CANDIDATE: &[&str] = &[
    "transportId",
    "address",
    "port",
    "protocol",
    "candidateType",
    "priority",
    "url",
    "relayProtocol",
    "foundation",
    "relatedAddress",
    "relatedPort",
    "usernameFragment",
    "tcpType",
];

impl StatsType {
    /// Every type.
    pub const ALL: [StatsType; 14] = [
        StatsType::Codec,
        StatsType::InboundRtp,
        StatsType::OutboundRtp,
        StatsType::RemoteInboundRtp,
        StatsType::RemoteOutboundRtp,
        StatsType::MediaSource,
        StatsType::MediaPlayout,
        StatsType::PeerConnection,
        StatsType::DataChannel,
        StatsType::Transport,
        StatsType::CandidatePair,
        StatsType::LocalCandidate,
        StatsType::RemoteCandidate,
        StatsType::Certificate,
    ];

    /// The W3C name.
    pub fn as_str(self) -> &'static str {
        match self {
            StatsType::Codec => "codec",
            StatsType::InboundRtp => "inbound-rtp",
            StatsType::OutboundRtp => "outbound-rtp",
            StatsType::RemoteInboundRtp => "remote-inbound-rtp",
            StatsType::RemoteOutboundRtp => "remote-outbound-rtp",
            StatsType::MediaSource => "media-source",
            StatsType::MediaPlayout => "media-playout",
            StatsType::PeerConnection => "peer-connection",
            StatsType::DataChannel => "data-channel",
            StatsType::Transport => "transport",
            StatsType::CandidatePair => "candidate-pair",
            StatsType::LocalCandidate => "local-candidate",
            StatsType::RemoteCandidate => "remote-candidate",
            StatsType::Certificate => "certificate",
        }
    }

    /// The type named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The members the spec defines for this type (besides `id`, `type` and `timestamp`).
    pub fn members(self) -> Vec<&'static str> {
        let own: &[&str] = match self {
            StatsType::Codec => &["payloadType", "transportId", "mimeType", "clockRate", "channels", "sdpFmtpLine"],
            StatsType::InboundRtp => &[
                "trackIdentifier",
                "mid",
                "remoteId",
                "framesDecoded",
                "keyFramesDecoded",
                "framesRendered",
                "framesDropped",
                "frameWidth",
                "frameHeight",
                "framesPerSecond",
                "qpSum",
                "totalDecodeTime",
                "totalInterFrameDelay",
                "totalSquaredInterFrameDelay",
                "pauseCount",
                "totalPausesDuration",
                "freezeCount",
                "totalFreezesDuration",
                "lastPacketReceivedTimestamp",
                "headerBytesReceived",
                "packetsDiscarded",
                "fecBytesReceived",
                "fecPacketsReceived",
                "fecPacketsDiscarded",
                "bytesReceived",
                "nackCount",
                "firCount",
                "pliCount",
                "totalProcessingDelay",
                "estimatedPlayoutTimestamp",
                "jitterBufferDelay",
                "jitterBufferTargetDelay",
                "jitterBufferEmittedCount",
                "jitterBufferMinimumDelay",
                "totalSamplesReceived",
                "concealedSamples",
                "silentConcealedSamples",
                "concealmentEvents",
                "insertedSamplesForDeceleration",
                "removedSamplesForAcceleration",
                "audioLevel",
                "totalAudioEnergy",
                "totalSamplesDuration",
                "framesReceived",
                "decoderImplementation",
                "playoutId",
                "powerEfficientDecoder",
                "framesAssembledFromMultiplePackets",
                "totalAssemblyTime",
                "retransmittedPacketsReceived",
                "retransmittedBytesReceived",
                "rtxSsrc",
                "fecSsrc",
            ],
            StatsType::OutboundRtp => &[
                "mid",
                "mediaSourceId",
                "remoteId",
                "rid",
                "headerBytesSent",
                "retransmittedPacketsSent",
                "retransmittedBytesSent",
                "rtxSsrc",
                "targetBitrate",
                "totalEncodedBytesTarget",
                "frameWidth",
                "frameHeight",
                "framesPerSecond",
                "framesSent",
                "hugeFramesSent",
                "framesEncoded",
                "keyFramesEncoded",
                "qpSum",
                "totalEncodeTime",
                "totalPacketSendDelay",
                "qualityLimitationReason",
                "qualityLimitationDurations",
                "qualityLimitationResolutionChanges",
                "nackCount",
                "firCount",
                "pliCount",
                "encoderImplementation",
                "powerEfficientEncoder",
                "active",
                "scalabilityMode",
            ],
            StatsType::RemoteInboundRtp => &["localId", "roundTripTime", "totalRoundTripTime", "fractionLost", "roundTripTimeMeasurements"],
            StatsType::RemoteOutboundRtp => &["localId", "remoteTimestamp", "reportsSent", "roundTripTime", "totalRoundTripTime", "roundTripTimeMeasurements"],
            StatsType::MediaSource => &[
                "trackIdentifier",
                "kind",
                "audioLevel",
                "totalAudioEnergy",
                "totalSamplesDuration",
                "echoReturnLoss",
                "echoReturnLossEnhancement",
                "width",
                "height",
                "frames",
                "framesPerSecond",
            ],
            StatsType::MediaPlayout => {
                &["kind", "synthesizedSamplesDuration", "synthesizedSamplesEvents", "totalSamplesDuration", "totalPlayoutDelay", "totalSamplesCount"]
            }
            StatsType::PeerConnection => &["dataChannelsOpened", "dataChannelsClosed"],
            StatsType::DataChannel => {
                &["label", "protocol", "dataChannelIdentifier", "state", "messagesSent", "bytesSent", "messagesReceived", "bytesReceived"]
            }
            StatsType::Transport => &[
                "packetsSent",
                "packetsReceived",
                "bytesSent",
                "bytesReceived",
                "iceRole",
                "iceLocalUsernameFragment",
                "dtlsState",
                "iceState",
                "selectedCandidatePairId",
                "localCertificateId",
                "remoteCertificateId",
                "tlsVersion",
                "dtlsCipher",
                "dtlsRole",
                "srtpCipher",
                "selectedCandidatePairChanges",
            ],
            StatsType::CandidatePair => &[
                "transportId",
                "localCandidateId",
                "remoteCandidateId",
                "state",
                "nominated",
                "packetsSent",
                "packetsReceived",
                "bytesSent",
                "bytesReceived",
                "lastPacketSentTimestamp",
                "lastPacketReceivedTimestamp",
                "totalRoundTripTime",
                "currentRoundTripTime",
                "availableOutgoingBitrate",
                "availableIncomingBitrate",
                "requestsReceived",
                "requestsSent",
                "responsesReceived",
                "responsesSent",
                "consentRequestsSent",
                "packetsDiscardedOnSend",
                "bytesDiscardedOnSend",
            ],
            StatsType::LocalCandidate | StatsType::RemoteCandidate => CANDIDATE,
            StatsType::Certificate => &["fingerprint", "fingerprintAlgorithm", "base64Certificate", "issuerCertificateId"],
        };
        let inherited: Vec<&[&str]> = match self {
            StatsType::InboundRtp | StatsType::RemoteInboundRtp => vec![RTP_STREAM, RECEIVED_RTP_STREAM],
            StatsType::OutboundRtp | StatsType::RemoteOutboundRtp => vec![RTP_STREAM, SENT_RTP_STREAM],
            _ => Vec::new(),
        };
        inherited.into_iter().flatten().chain(own).copied().collect()
    }
}

/// A member's value.
#[derive(Debug, Clone, PartialEq)]
pub enum StatValue {
    /// Counters and sizes.
    Unsigned(u64),
    /// `packetsLost` and other signed counts.
    Signed(i64),
    /// Times in seconds, rates, ratios.
    Float(f64),
    /// Ids, names, enumerations.
    Text(String),
    /// Flags.
    Bool(bool),
}

impl StatValue {
    fn to_json(&self) -> serde_json::Value {
        match self {
            StatValue::Unsigned(v) => serde_json::json!(v),
            StatValue::Signed(v) => serde_json::json!(v),
            StatValue::Float(v) => serde_json::json!(v),
            StatValue::Text(v) => serde_json::json!(v),
            StatValue::Bool(v) => serde_json::json!(v),
        }
    }

    /// The number, for counters and measures.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            StatValue::Unsigned(v) => Some(*v as f64),
            StatValue::Signed(v) => Some(*v as f64),
            StatValue::Float(v) => Some(*v),
            _ => None,
        }
    }

    /// The text, for ids and names.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            StatValue::Text(v) => Some(v),
            _ => None,
        }
    }
}

/// One stats object (`RTCStats` and its type's dictionary).
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// `id`: stable across calls for the same object.
    pub id: String,
    /// `type`.
    pub kind: StatsType,
    /// `timestamp`, in milliseconds since the Unix epoch.
    pub timestamp: f64,
    /// The members, by W3C name.
    pub members: BTreeMap<&'static str, StatValue>,
}

impl Stats {
    pub(crate) fn new(id: impl Into<String>, kind: StatsType, timestamp: f64) -> Self {
        Self { id: id.into(), kind, timestamp, members: BTreeMap::new() }
    }

    /// Sets `member`, which must be one of the type's spec members (checked by the tests: a
    /// report holds only spec members).
    pub(crate) fn set(&mut self, member: &'static str, value: StatValue) -> &mut Self {
        self.members.insert(member, value);
        self
    }

    pub(crate) fn set_u64(&mut self, member: &'static str, value: u64) -> &mut Self {
        self.set(member, StatValue::Unsigned(value))
    }

    pub(crate) fn set_f64(&mut self, member: &'static str, value: f64) -> &mut Self {
        self.set(member, StatValue::Float(value))
    }

    pub(crate) fn set_str(&mut self, member: &'static str, value: impl Into<String>) -> &mut Self {
        self.set(member, StatValue::Text(value.into()))
    }

    /// A member.
    pub fn get(&self, member: &str) -> Option<&StatValue> {
        self.members.get(member)
    }

    /// A numeric member.
    pub fn number(&self, member: &str) -> Option<f64> {
        self.get(member).and_then(StatValue::as_f64)
    }

    /// A text member.
    pub fn text(&self, member: &str) -> Option<&str> {
        self.get(member).and_then(StatValue::as_str)
    }

    /// The object as the page sees it: `id`, `type`, `timestamp` and the members, camelCase.
    pub fn to_json(&self) -> serde_json::Value {
        let mut o = serde_json::Map::new();
        o.insert("id".into(), serde_json::json!(self.id));
        o.insert("type".into(), serde_json::json!(self.kind.as_str()));
        o.insert("timestamp".into(), serde_json::json!(self.timestamp));
        for (k, v) in &self.members {
            o.insert((*k).to_owned(), v.to_json());
        }
        serde_json::Value::Object(o)
    }

    /// The ids this object refers to (members ending in `Id`), with the member.
    pub fn references(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.members.iter().filter(|(k, _)| k.ends_with("Id") && **k != "dataChannelIdentifier").filter_map(|(k, v)| v.as_str().map(|s| (*k, s)))
    }
}

/// `RTCStatsReport`: stats objects by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsReport {
    stats: BTreeMap<String, Stats>,
}

impl StatsReport {
    pub(crate) fn insert(&mut self, stats: Stats) {
        self.stats.insert(stats.id.clone(), stats);
    }

    /// The object with `id`.
    pub fn get(&self, id: &str) -> Option<&Stats> {
        self.stats.get(id)
    }

    /// Every object.
    pub fn iter(&self) -> impl Iterator<Item = &Stats> {
        self.stats.values()
    }

    /// The objects of one type.
    pub fn of_type(&self, kind: StatsType) -> impl Iterator<Item = &Stats> {
        self.stats.values().filter(move |s| s.kind == kind)
    }

    /// How many objects.
    pub fn len(&self) -> usize {
        self.stats.len()
    }

    /// No objects.
    pub fn is_empty(&self) -> bool {
        self.stats.is_empty()
    }

    /// `RTCIceTransport.getSelectedCandidatePair()`: the transport's selected pair as
    /// candidates (local, remote), written back from their stats members into candidate
    /// lines (RFC 8839, section 5.1). `None` before a pair is selected.
    pub fn selected_candidate_pair(&self) -> Option<(crate::IceCandidate, crate::IceCandidate)> {
        let transport = self.of_type(StatsType::Transport).next()?;
        let pair = self.get(transport.text("selectedCandidatePairId")?)?;
        let candidate = |member: &str| {
            let c = self.get(pair.text(member)?)?;
            let mut line = format!(
                "candidate:{} 1 {} {} {} {} typ {}",
                c.text("foundation").unwrap_or("0"),
                c.text("protocol")?,
                c.number("priority").unwrap_or(0.0) as u64,
                c.text("address")?,
                c.number("port")? as u64,
                c.text("candidateType")?
            );
            if let (Some(address), Some(port)) = (c.text("relatedAddress"), c.number("relatedPort")) {
                line.push_str(&format!(" raddr {address} rport {}", port as u64));
            }
            if let Some(tcp) = c.text("tcpType") {
                line.push_str(&format!(" tcptype {tcp}"));
            }
            let mut candidate = crate::IceCandidate::new(line, None, Some(0));
            candidate.username_fragment = c.text("usernameFragment").map(str::to_owned);
            Some(candidate)
        };
        Some((candidate("localCandidateId")?, candidate("remoteCandidateId")?))
    }

    /// The report as JSON: an object from id to stats object, as `Object.fromEntries(report)`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(self.stats.iter().map(|(id, s)| (id.clone(), s.to_json())).collect())
    }

    /// `*Id` members that name no object of the report: (object id, member, missing id).
    pub fn dangling_references(&self) -> Vec<(String, &'static str, String)> {
        self.iter().flat_map(|s| s.references().filter(|(_, to)| !self.stats.contains_key(*to)).map(|(m, to)| (s.id.clone(), m, to.to_owned()))).collect()
    }

    /// Members that are not the spec's for their type: (object id, member).
    pub fn non_spec_members(&self) -> Vec<(String, &'static str)> {
        self.iter()
            .flat_map(|s| {
                let allowed = s.kind.members();
                s.members.keys().filter(move |m| !allowed.contains(m)).map(|m| (s.id.clone(), *m)).collect::<Vec<_>>()
            })
            .collect()
    }

    /// The W3C stats selection algorithm: `roots` and every object they lead to through
    /// `*Id` members, transitively (getStats of a sender or a receiver).
    pub fn selection(&self, roots: &[&str]) -> StatsReport {
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut todo: Vec<String> = roots.iter().map(|r| (*r).to_owned()).collect();
        while let Some(id) = todo.pop() {
            let Some(s) = self.stats.get(&id) else { continue };
            if seen.insert(id) {
                todo.extend(s.references().map(|(_, to)| to.to_owned()));
            }
        }
        StatsReport { stats: seen.into_iter().filter_map(|id| self.stats.get(&id).map(|s| (id, s.clone()))).collect() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> StatsReport {
        let mut r = StatsReport::default();
        let mut out = Stats::new("OT1", StatsType::OutboundRtp, 1.0);
        out.set_u64("ssrc", 1).set_str("kind", "video").set_str("transportId", "T").set_str("codecId", "C").set_u64("packetsSent", 10);
        r.insert(out);
        let mut t = Stats::new("T", StatsType::Transport, 1.0);
        t.set_str("selectedCandidatePairId", "CP");
        r.insert(t);
        r.insert(Stats::new("C", StatsType::Codec, 1.0));
        r.insert(Stats::new("CP", StatsType::CandidatePair, 1.0));
        r.insert(Stats::new("D1", StatsType::DataChannel, 1.0));
        r
    }

    #[test]
    fn references_and_selection() {
        let mut r = report();
        assert!(r.dangling_references().is_empty());
        let selected = r.selection(&["OT1"]);
        assert_eq!(selected.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["C", "CP", "OT1", "T"], "the data channel is not reached");
        let mut bad = Stats::new("X", StatsType::InboundRtp, 1.0);
        bad.set_str("codecId", "nope");
        r.insert(bad);
        assert_eq!(r.dangling_references(), vec![("X".to_owned(), "codecId", "nope".to_owned())]);
    }

    #[test]
    fn spec_members_only_and_json_names() {
        let mut r = report();
        assert!(r.non_spec_members().is_empty());
        let mut s = Stats::new("P", StatsType::PeerConnection, 2.0);
        s.set_u64("bytesSent", 1);
        r.insert(s);
        assert_eq!(r.non_spec_members(), vec![("P".to_owned(), "bytesSent")]);
        let j = r.to_json();
        assert_eq!(j["OT1"]["type"], "outbound-rtp");
        assert_eq!(j["OT1"]["packetsSent"], 10);
        assert_eq!(j["OT1"]["transportId"], "T");
        for t in StatsType::ALL {
            assert_eq!(StatsType::from_name(t.as_str()), Some(t));
        }
    }
}

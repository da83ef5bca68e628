// SPDX-License-Identifier: MPL-2.0
//! Media sections of a description: what each m-line negotiates (kind, mid, direction,
//! formats, msid), and the rewrites wkrtc makes to them.

use super::ParsedDescription;
use crate::media::codec::{CodecSpec, MediaKind};

/// The URI of the transport-wide congestion control RTP header extension.
pub const TRANSPORT_CC: &str = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";

/// `RTCRtpTransceiverDirection`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RtpTransceiverDirection {
    /// Sends and receives.
    SendRecv,
    /// Sends only.
    SendOnly,
    /// Receives only.
    RecvOnly,
    /// Neither.
    Inactive,
    /// The transceiver was stopped.
    Stopped,
}

impl RtpTransceiverDirection {
    /// The SDP attribute / W3C string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
            Self::Stopped => "stopped",
        }
    }

    /// Parses the W3C string; anything else is a `TypeError`.
    pub fn parse(s: &str) -> crate::Result<Self> {
        Ok(match s {
            "sendrecv" => Self::SendRecv,
            "sendonly" => Self::SendOnly,
            "recvonly" => Self::RecvOnly,
            "inactive" => Self::Inactive,
            "stopped" => Self::Stopped,
            _ => return Err(crate::Error::Type(format!("'{s}' is not an RTCRtpTransceiverDirection"))),
        })
    }

    /// Sends media.
    pub fn sends(self) -> bool {
        matches!(self, Self::SendRecv | Self::SendOnly)
    }

    /// Receives media.
    pub fn receives(self) -> bool {
        matches!(self, Self::SendRecv | Self::RecvOnly)
    }

    /// From send and receive flags.
    pub fn from_flags(send: bool, recv: bool) -> Self {
        match (send, recv) {
            (true, true) => Self::SendRecv,
            (true, false) => Self::SendOnly,
            (false, true) => Self::RecvOnly,
            (false, false) => Self::Inactive,
        }
    }

    /// The direction as seen from the other end (sendonly becomes recvonly).
    pub fn reversed(self) -> Self {
        match self {
            Self::SendOnly => Self::RecvOnly,
            Self::RecvOnly => Self::SendOnly,
            d => d,
        }
    }

    /// What an answerer with `self` answers to an offer with `offered` (RFC 8829, 5.3.1).
    pub fn answer_to(self, offered: Self) -> Self {
        let offered = offered.reversed();
        Self::from_flags(self.sends() && offered.sends(), self.receives() && offered.receives())
    }
}

/// One `a=rtpmap` format of a media section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpFormat {
    /// Payload type.
    pub payload_type: u8,
    /// Encoding name as written (`VP8`, `opus`, `rtx`, ...).
    pub encoding_name: String,
    /// Clock rate.
    pub clock_rate: u32,
    /// The `a=fmtp` parameters, without the payload type.
    pub fmtp: String,
}

impl RtpFormat {
    /// The codec of this format, when wkrtc knows it and accepts its parameters.
    pub fn codec(&self) -> Option<&'static CodecSpec> {
        CodecSpec::find(&self.encoding_name, self.clock_rate).filter(|spec| spec.accepts_fmtp(&self.fmtp))
    }
}

/// A payload type with its `rtpmap`, `fmtp` and `rtcp-fb` lines, as (key, value) pairs.
pub type FormatLines = (u8, Vec<(String, String)>);

/// What one m-line negotiates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSection {
    /// Position in the description.
    pub index: usize,
    /// `audio`, `video`, `application`, ...
    pub media: String,
    /// `a=mid`.
    pub mid: Option<String>,
    /// The direction attribute (sendrecv when absent).
    pub direction: RtpTransceiverDirection,
    /// Port 0 without bundle-only: the section was rejected or stopped.
    pub rejected: bool,
    /// The RTP formats, in the description's order of preference.
    pub formats: Vec<RtpFormat>,
    /// `a=msid` stream ids (a `-` id means no stream).
    pub stream_ids: Vec<String>,
    /// `a=extmap` header extensions: id and URI.
    pub extmaps: Vec<(u8, String)>,
    /// The media SSRCs the section announces (`a=ssrc`), without the repair streams of
    /// `a=ssrc-group` (RTX, FEC).
    pub ssrcs: Vec<u32>,
}

impl MediaSection {
    /// The media kind of an audio or video section.
    pub fn kind(&self) -> Option<MediaKind> {
        MediaKind::parse(&self.media).ok()
    }

    /// The codecs of this section that `keep` accepts, each with the payload type of its
    /// first format, in the section's order.
    pub fn codec_formats(&self, keep: impl Fn(&'static CodecSpec) -> bool) -> Vec<(&'static CodecSpec, u8)> {
        let mut out: Vec<(&'static CodecSpec, u8)> = Vec::new();
        for f in &self.formats {
            let Some(spec) = f.codec().filter(|s| keep(s)) else { continue };
            if !out.iter().any(|(s, _)| std::ptr::eq(*s, spec)) {
                out.push((spec, f.payload_type));
            }
        }
        out
    }

    /// The `telephone-event` format (RFC 4733) of this section at `clock_rate`.
    pub(crate) fn telephone_event(&self, clock_rate: u32) -> Option<crate::media::dtmf::EventFormat> {
        self.telephone_events().into_iter().find(|f| f.clock_rate == clock_rate)
    }

    /// Every `telephone-event` format (RFC 4733) of this section.
    pub(crate) fn telephone_events(&self) -> Vec<crate::media::dtmf::EventFormat> {
        self.formats
            .iter()
            .filter(|f| f.encoding_name.eq_ignore_ascii_case(crate::media::dtmf::TELEPHONE_EVENT))
            .map(|f| crate::media::dtmf::EventFormat { payload_type: f.payload_type, clock_rate: f.clock_rate })
            .collect()
    }

    /// The first codec wkrtc can send, in this section's order, with its payload type.
    pub fn send_codec(&self) -> Option<(&'static CodecSpec, u8)> {
        self.codec_formats(|spec| spec.kind.as_str() == self.media && spec.can_send()).first().copied()
    }
}

impl ParsedDescription {
    /// Every m-line's negotiated properties.
    pub fn media_sections(&self) -> Vec<MediaSection> {
        self.message()
            .medias()
            .enumerate()
            .map(|(index, m)| {
                let attr = |k: &'static str| m.attributes().filter(move |a| a.key() == k).filter_map(|a| a.value().map(str::to_owned));
                let direction = ["sendrecv", "sendonly", "recvonly", "inactive"]
                    .iter()
                    .find(|d| m.attribute_val(d).is_some() || m.attributes().any(|a| a.key() == **d))
                    .and_then(|d| RtpTransceiverDirection::parse(d).ok())
                    .unwrap_or(RtpTransceiverDirection::SendRecv);
                let fmtps: Vec<(u8, String)> = attr("fmtp")
                    .filter_map(|v| {
                        let (pt, params) = v.split_once(' ').unwrap_or((&v, ""));
                        Some((pt.parse().ok()?, params.trim().to_owned()))
                    })
                    .collect();
                let rtpmaps: Vec<(u8, String, u32)> = attr("rtpmap")
                    .filter_map(|v| {
                        let (pt, rest) = v.split_once(' ')?;
                        let mut parts = rest.trim().split('/');
                        Some((pt.parse().ok()?, parts.next()?.to_owned(), parts.next()?.parse().ok()?))
                    })
                    .collect();
                let formats = m
                    .formats()
                    .filter_map(|f| f.parse::<u8>().ok())
                    .filter_map(|pt| {
                        let (_, name, rate) = rtpmaps.iter().find(|(p, _, _)| *p == pt)?;
                        let fmtp = fmtps.iter().find(|(p, _)| *p == pt).map(|(_, f)| f.clone()).unwrap_or_default();
                        Some(RtpFormat { payload_type: pt, encoding_name: name.clone(), clock_rate: *rate, fmtp })
                    })
                    .collect();
                let extmaps = attr("extmap")
                    .filter_map(|v| {
                        let mut parts = v.split_whitespace();
                        let id = parts.next()?.split('/').next()?.parse().ok()?;
                        Some((id, parts.next()?.to_owned()))
                    })
                    .collect();
                let stream_ids = attr("msid").filter_map(|v| v.split_whitespace().next().map(str::to_owned)).filter(|s| s != "-").collect();
                let repair: Vec<u32> =
                    attr("ssrc-group").flat_map(|g| g.split_whitespace().skip(2).filter_map(|n| n.parse().ok()).collect::<Vec<u32>>()).collect();
                let mut ssrcs: Vec<u32> = Vec::new();
                for ssrc in attr("ssrc").filter_map(|v| v.split_whitespace().next()?.parse().ok()) {
                    if !repair.contains(&ssrc) && !ssrcs.contains(&ssrc) {
                        ssrcs.push(ssrc);
                    }
                }
                MediaSection {
                    index,
                    media: m.media().unwrap_or_default().to_owned(),
                    mid: m.attribute_val("mid").map(str::to_owned),
                    direction,
                    rejected: m.port() == 0 && m.attribute_val("bundle-only").is_none() && !m.attributes().any(|a| a.key() == "bundle-only"),
                    formats,
                    stream_ids,
                    extmaps,
                    ssrcs,
                }
            })
            .collect()
    }

    /// Sets the direction attribute of m-line `index`.
    pub fn set_direction(&mut self, index: usize, direction: RtpTransceiverDirection) {
        let Some(media) = u32::try_from(index).ok().and_then(|i| self.message_mut().media_mut(i)) else { return };
        while let Some(i) =
            (0..media.attributes_len()).find(|&a| media.attribute(a).is_some_and(|a| matches!(a.key(), "sendrecv" | "sendonly" | "recvonly" | "inactive")))
        {
            let _ = media.remove_attribute(i);
        }
        let d = if direction == RtpTransceiverDirection::Stopped { RtpTransceiverDirection::Inactive } else { direction };
        // An empty value, as the SDP parser stores flag attributes: libgstsdp 1.22 reads a
        // missing value as a string (gst_sdp_media_attributes_to_caps crashes on NULL).
        media.add_attribute(d.as_str(), Some(""));
    }

    /// The `a=rtpmap`, `a=fmtp` and `a=rtcp-fb` lines of payload type `pt` in m-line
    /// `index`, as (key, value) pairs, in the section's order.
    pub fn format_lines(&self, index: usize, pt: u8) -> Vec<(String, String)> {
        let Some(media) = u32::try_from(index).ok().and_then(|i| self.message().media(i)) else { return Vec::new() };
        let prefix = format!("{pt} ");
        media
            .attributes()
            .filter(|a| matches!(a.key(), "rtpmap" | "fmtp" | "rtcp-fb"))
            .filter_map(|a| a.value().filter(|v| v.starts_with(&prefix)).map(|v| (a.key().to_owned(), v.to_owned())))
            .collect()
    }

    /// Replaces the payload types of m-line `index` and their `rtpmap`, `fmtp` and `rtcp-fb`
    /// lines with `formats` (each a payload type and its lines, see [`Self::format_lines`]).
    pub fn replace_formats(&mut self, index: usize, formats: &[FormatLines]) {
        let Some(media) = u32::try_from(index).ok().and_then(|i| self.message_mut().media_mut(i)) else { return };
        while media.formats_len() > 0 {
            if media.remove_format(0).is_err() {
                return;
            }
        }
        while let Some(i) = (0..media.attributes_len()).find(|&a| media.attribute(a).is_some_and(|a| matches!(a.key(), "rtpmap" | "fmtp" | "rtcp-fb"))) {
            let _ = media.remove_attribute(i);
        }
        for (pt, lines) in formats {
            media.add_format(&pt.to_string());
            for (k, v) in lines {
                media.add_attribute(k, Some(v));
            }
        }
    }

    /// The copy of a description handed to webrtcbin: every audio and video section that is
    /// not rejected is `sendrecv`.
    ///
    /// webrtcbin 1.22 refuses any change of a negotiated direction except to inactive
    /// ("transceiver direction changes are not implemented"), and never back. wkrtc decides
    /// itself what is sent (a sender feeds its encoder only while the negotiated direction
    /// sends) and what is received (the peer sends only what was negotiated), so webrtcbin
    /// can keep every media section open both ways. A section without a direction
    /// attribute (sendrecv, RFC 4566) gets an explicit one: webrtcbin 1.22 reads none as no
    /// direction and rejects the section.
    pub fn open_media_directions(&mut self) {
        let explicit: Vec<bool> =
            self.message().medias().map(|m| m.attributes().any(|a| matches!(a.key(), "sendrecv" | "sendonly" | "recvonly" | "inactive"))).collect();
        for section in self.media_sections() {
            let stated = explicit.get(section.index).copied().unwrap_or(false);
            if section.kind().is_some() && !section.rejected && (section.direction != RtpTransceiverDirection::SendRecv || !stated) {
                self.set_direction(section.index, RtpTransceiverDirection::SendRecv);
            }
        }
    }

    /// The mids of the `a=group:BUNDLE` line, in order; `None` without one.
    pub fn bundle_group(&self) -> Option<Vec<String>> {
        let msg = self.message();
        (0..msg.attributes_len())
            .filter_map(|i| msg.attribute(i))
            .find(|a| a.key() == "group" && a.value().is_some_and(|v| v.starts_with("BUNDLE")))
            .and_then(|a| a.value())
            .map(|v| v.split_whitespace().skip(1).map(str::to_owned).collect())
    }

    /// Writes the `a=group:BUNDLE` line with `mids` (adding it if absent).
    pub fn set_bundle_group(&mut self, mids: &[String]) {
        let value = std::iter::once("BUNDLE").chain(mids.iter().map(String::as_str)).collect::<Vec<_>>().join(" ");
        let msg = self.message_mut();
        let existing =
            (0..msg.attributes_len()).find(|&i| msg.attribute(i).is_some_and(|a| a.key() == "group" && a.value().is_some_and(|v| v.starts_with("BUNDLE"))));
        match existing {
            Some(i) => {
                let _ = msg.replace_attribute(i, gst_sdp::SDPAttribute::new("group", Some(&value)));
            }
            None => msg.add_attribute("group", Some(&value)),
        }
    }

    /// webrtcbin 1.22 wants `a=ice-ufrag`, `a=ice-pwd`, `a=setup` and `a=fingerprint` on
    /// every section, even a rejected one (which browsers write without them): copies them
    /// from the first section that has them, unless the session level has them.
    pub fn fill_rejected_for_webrtcbin(&mut self) {
        let keys = ["ice-ufrag", "ice-pwd", "setup", "fingerprint"];
        let source: Vec<(&str, String)> = {
            let msg = self.message();
            keys.iter().filter_map(|k| msg.medias().find_map(|m| m.attribute_val(k)).map(|v| (*k, v.to_owned()))).collect()
        };
        let session_level: Vec<&str> = keys.iter().copied().filter(|k| self.message().attribute_val(k).is_some()).collect();
        for section in self.media_sections().into_iter().filter(|s| s.rejected) {
            let Some(media) = self.message_mut().media_mut(section.index as u32) else { continue };
            for (k, v) in &source {
                if media.attribute_val(k).is_none() && !session_level.contains(k) {
                    media.add_attribute(k, Some(v));
                }
            }
        }
    }

    /// Writes `a=msid:<stream> <track>` on m-line `index` (one line per stream, or `-` for
    /// none), replacing webrtcbin's. webrtcbin 1.22 names no streams of its own.
    pub fn set_msid(&mut self, index: usize, streams: &[String], track: &str) {
        let Some(media) = u32::try_from(index).ok().and_then(|i| self.message_mut().media_mut(i)) else { return };
        while let Some(i) = (0..media.attributes_len()).find(|&a| media.attribute(a).is_some_and(|a| a.key() == "msid")) {
            let _ = media.remove_attribute(i);
        }
        if streams.is_empty() {
            media.add_attribute("msid", Some(&format!("- {track}")));
        }
        for s in streams {
            media.add_attribute("msid", Some(&format!("{s} {track}")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announced_ssrcs_leave_out_repair_streams() {
        let sdp = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\na=ssrc:11 cname:x\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\na=ssrc-group:FID 22 23\r\na=ssrc:22 cname:x\r\na=ssrc:22 msid:s t\r\na=ssrc:23 cname:x\r\n";
        let sections = ParsedDescription::parse(sdp).unwrap().media_sections();
        assert_eq!(sections[0].ssrcs, vec![11]);
        assert_eq!(sections[1].ssrcs, vec![22], "the RTX stream is not the media stream");
    }
    use RtpTransceiverDirection::*;

    #[test]
    fn answer_directions_follow_rfc_8829() {
        assert_eq!(SendRecv.answer_to(SendRecv), SendRecv);
        assert_eq!(SendRecv.answer_to(SendOnly), RecvOnly);
        assert_eq!(SendRecv.answer_to(RecvOnly), SendOnly);
        assert_eq!(RecvOnly.answer_to(SendRecv), RecvOnly);
        assert_eq!(SendOnly.answer_to(SendOnly), Inactive);
        assert_eq!(Inactive.answer_to(SendRecv), Inactive);
        assert_eq!(SendRecv.answer_to(Inactive), Inactive);
        assert_eq!(RtpTransceiverDirection::parse("sideways").unwrap_err().name(), "TypeError");
    }

    const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendrecv\r\na=extmap:3/sendrecv http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\na=msid:s1 t1\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:0 PCMU/8000\r\n\
m=video 9 UDP/TLS/RTP/SAVPF 127 125 97\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=recvonly\r\na=rtpmap:127 H264/90000\r\na=fmtp:127 profile-level-id=42e01f;packetization-mode=0\r\na=rtpmap:125 H264/90000\r\na=fmtp:125 profile-level-id=42e01f;packetization-mode=1\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=125\r\n\
m=video 0 UDP/TLS/RTP/SAVPF 120\r\nc=IN IP4 0.0.0.0\r\na=mid:2\r\na=inactive\r\na=rtpmap:120 VP8/90000\r\n";

    #[test]
    fn sections_are_read_in_order() {
        crate::engine::init().unwrap();
        let d = ParsedDescription::parse(OFFER).unwrap();
        let s = d.media_sections();
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].media.as_str(), s[0].mid.as_deref(), s[0].direction), ("audio", Some("0"), SendRecv));
        assert_eq!(s[0].stream_ids, vec!["s1".to_string()]);
        assert_eq!(s[0].extmaps, vec![(3, TRANSPORT_CC.to_string())]);
        assert_eq!(
            s[0].formats[0],
            RtpFormat { payload_type: 111, encoding_name: "opus".into(), clock_rate: 48000, fmtp: "minptime=10;useinbandfec=1".into() }
        );
        assert_eq!(s[0].send_codec().map(|(c, pt)| (c.encoding_name, pt)), Some(("OPUS", 111)));
        // H264 with packetization-mode 0 is skipped for the mode-1 format.
        assert_eq!(s[1].send_codec().map(|(c, pt)| (c.encoding_name, pt)), Some(("H264", 125)));
        assert_eq!(s[1].direction, RecvOnly);
        assert!(s[2].rejected && !s[1].rejected);
        assert_eq!(s[2].kind(), Some(MediaKind::Video));
    }

    #[test]
    fn directions_are_opened_for_webrtcbin() {
        crate::engine::init().unwrap();
        let mut d = ParsedDescription::parse(OFFER).unwrap();
        d.set_direction(0, SendOnly);
        d.open_media_directions();
        let s = d.media_sections();
        // Audio and video sections become sendrecv; the rejected one keeps its direction.
        assert_eq!((s[0].direction, s[1].direction, s[2].direction), (SendRecv, SendRecv, Inactive));
        assert_eq!(d.to_text().matches("a=sendrecv").count(), 2);
        d.set_direction(1, Stopped);
        assert_eq!(d.media_sections()[1].direction, Inactive);
        // Flag attributes are written without a colon.
        assert!(d.to_text().contains("a=inactive\r\n"));
    }

    #[test]
    fn rejected_sections_get_ice_and_setup_for_webrtcbin() {
        crate::engine::init().unwrap();
        let answer = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
m=video 0 UDP/TLS/RTP/SAVPF 120\r\na=inactive\r\na=mid:video0\r\na=rtpmap:120 VP8/90000\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=recvonly\r\na=ice-ufrag:uf\r\na=ice-pwd:pw\r\na=setup:active\r\na=fingerprint:sha-256 AB:CD\r\na=mid:audio1\r\na=rtpmap:111 opus/48000/2\r\n";
        let mut d = ParsedDescription::parse(answer).unwrap();
        d.fill_rejected_for_webrtcbin();
        let text = d.to_text();
        let video = text.split("m=audio").next().unwrap();
        assert!(video.contains("a=ice-ufrag:uf") && video.contains("a=ice-pwd:pw") && video.contains("a=setup:active"), "{text}");
        assert!(video.contains("a=fingerprint:sha-256 AB:CD"), "{text}");
        assert!(d.media_sections()[0].rejected);
    }

    #[test]
    fn formats_are_replaced_with_their_lines() {
        crate::engine::init().unwrap();
        let mut d = ParsedDescription::parse(OFFER).unwrap();
        let h264 = d.format_lines(1, 125);
        assert_eq!(
            h264,
            vec![("rtpmap".to_string(), "125 H264/90000".to_string()), ("fmtp".into(), "125 profile-level-id=42e01f;packetization-mode=1".into())]
        );
        let rtx = d.format_lines(1, 97);
        d.replace_formats(1, &[(125, h264), (97, rtx)]);
        let s = &d.media_sections()[1];
        assert_eq!(s.formats.iter().map(|f| f.payload_type).collect::<Vec<_>>(), vec![125, 97]);
        assert_eq!(s.formats[1].fmtp, "apt=125");
        assert!(!d.to_text().contains("rtpmap:127"));
    }

    #[test]
    fn msid_is_rewritten() {
        crate::engine::init().unwrap();
        let mut d = ParsedDescription::parse(OFFER).unwrap();
        d.set_msid(0, &["a".into(), "b".into()], "track");
        d.set_msid(1, &[], "t2");
        let text = d.to_text();
        assert!(text.contains("a=msid:a track\r\na=msid:b track\r\n") && text.contains("a=msid:- t2\r\n"));
        assert!(!text.contains("a=msid:s1"));
    }
}

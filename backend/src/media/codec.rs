// SPDX-License-Identifier: MPL-2.0
//! The codecs wkrtc can send and receive, and which GStreamer elements do the work.
//!
//! The table lists what wkrtc knows how to drive; whether a codec is usable is decided from
//! the installed GStreamer registry: sending needs an encoder and a payloader, receiving a
//! depayloader and a decoder ([`sender_capabilities`], [`receiver_capabilities`]).

use std::fmt;

/// `MediaStreamTrack.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// `"audio"`.
    Audio,
    /// `"video"`.
    Video,
}

impl MediaKind {
    /// `"audio"` or `"video"`, as in SDP and the W3C API.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
        }
    }

    /// Parses `"audio"` or `"video"`; anything else is a `TypeError` (W3C `addTransceiver`).
    pub fn parse(s: &str) -> crate::Result<Self> {
        match s {
            "audio" => Ok(MediaKind::Audio),
            "video" => Ok(MediaKind::Video),
            _ => Err(crate::Error::Type(format!("'{s}' is not a media kind (audio or video)"))),
        }
    }
}

impl fmt::Display for MediaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One codec wkrtc can drive, with its GStreamer elements in order of preference.
#[derive(Debug)]
pub struct CodecSpec {
    /// SDP encoding name (`VP8`, `opus`, ...), compared case-insensitively.
    pub encoding_name: &'static str,
    /// Audio or video.
    pub kind: MediaKind,
    /// RTP clock rate.
    pub clock_rate: u32,
    /// Audio channels as written in `a=rtpmap` (Opus: 2).
    pub channels: Option<u32>,
    /// The payload type wkrtc uses in its own offers (the usual browser numbers).
    pub payload_type: u8,
    /// `a=fmtp` parameters wkrtc offers.
    pub fmtp: &'static [(&'static str, &'static str)],
    /// `a=fmtp` parameters an offered format must carry for wkrtc to accept it.
    pub required_fmtp: &'static [(&'static str, &'static str)],
    /// Encoders, best first.
    pub encoders: &'static [&'static str],
    /// Payloader.
    pub payloader: &'static str,
    /// Depayloader.
    pub depayloader: &'static str,
    /// Parser between depayloader and decoder, if the decoder needs one.
    pub parser: Option<&'static str>,
    /// Decoders, best first.
    pub decoders: &'static [&'static str],
}

/// Every codec wkrtc knows, in wkrtc's order of preference per kind.
pub static CODECS: &[CodecSpec] = &[
    CodecSpec {
        encoding_name: "VP8",
        kind: MediaKind::Video,
        clock_rate: 90000,
        channels: None,
        payload_type: 96,
        fmtp: &[],
        required_fmtp: &[],
        encoders: &["vp8enc"],
        payloader: "rtpvp8pay",
        depayloader: "rtpvp8depay",
        parser: None,
        decoders: &["vp8dec"],
    },
    CodecSpec {
        encoding_name: "VP9",
        kind: MediaKind::Video,
        clock_rate: 90000,
        channels: None,
        payload_type: 98,
        fmtp: &[("profile-id", "0")],
        required_fmtp: &[],
        encoders: &["vp9enc"],
        payloader: "rtpvp9pay",
        depayloader: "rtpvp9depay",
        parser: None,
        decoders: &["vp9dec"],
    },
    CodecSpec {
        encoding_name: "H264",
        kind: MediaKind::Video,
        clock_rate: 90000,
        channels: None,
        payload_type: 102,
        fmtp: &[("level-asymmetry-allowed", "1"), ("packetization-mode", "1"), ("profile-level-id", "42e01f")],
        required_fmtp: &[("packetization-mode", "1")],
        encoders: &["x264enc", "openh264enc"],
        payloader: "rtph264pay",
        depayloader: "rtph264depay",
        parser: Some("h264parse"),
        decoders: &["avdec_h264", "openh264dec"],
    },
    CodecSpec {
        encoding_name: "OPUS",
        kind: MediaKind::Audio,
        clock_rate: 48000,
        channels: Some(2),
        payload_type: 111,
        fmtp: &[("minptime", "10"), ("useinbandfec", "1")],
        required_fmtp: &[],
        encoders: &["opusenc"],
        payloader: "rtpopuspay",
        depayloader: "rtpopusdepay",
        parser: None,
        decoders: &["opusdec"],
    },
    CodecSpec {
        encoding_name: "PCMU",
        kind: MediaKind::Audio,
        clock_rate: 8000,
        channels: None,
        payload_type: 0,
        fmtp: &[],
        required_fmtp: &[],
        encoders: &["mulawenc"],
        payloader: "rtppcmupay",
        depayloader: "rtppcmudepay",
        parser: None,
        decoders: &["mulawdec"],
    },
    CodecSpec {
        encoding_name: "PCMA",
        kind: MediaKind::Audio,
        clock_rate: 8000,
        channels: None,
        payload_type: 8,
        fmtp: &[],
        required_fmtp: &[],
        encoders: &["alawenc"],
        payloader: "rtppcmapay",
        depayloader: "rtppcmadepay",
        parser: None,
        decoders: &["alawdec"],
    },
];

/// `RTCRtpCodecCapability` (and, with a payload type, the codec part of `RTCRtpCodecParameters`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpCodecCapability {
    /// `video/VP8`, `audio/opus`, ...
    pub mime_type: String,
    /// RTP clock rate.
    pub clock_rate: u32,
    /// Audio channels, when the codec names them.
    pub channels: Option<u32>,
    /// The `a=fmtp` line, without the payload type.
    pub sdp_fmtp_line: Option<String>,
}

impl CodecSpec {
    /// Looks a codec up by its SDP encoding name and clock rate.
    pub fn find(encoding_name: &str, clock_rate: u32) -> Option<&'static CodecSpec> {
        CODECS.iter().find(|c| c.encoding_name.eq_ignore_ascii_case(encoding_name) && c.clock_rate == clock_rate)
    }

    /// Looks a codec up by MIME type (`video/VP8`).
    pub fn by_mime_type(mime: &str) -> Option<&'static CodecSpec> {
        let (kind, name) = mime.split_once('/')?;
        CODECS.iter().find(|c| c.kind.as_str().eq_ignore_ascii_case(kind) && c.encoding_name.eq_ignore_ascii_case(name))
    }

    /// `video/VP8`, `audio/opus`: the W3C spelling (Opus in lower case, as browsers write it).
    pub fn mime_type(&self) -> String {
        let name = if self.encoding_name == "OPUS" { "opus" } else { self.encoding_name };
        format!("{}/{}", self.kind, name)
    }

    /// The first installed encoder.
    pub fn encoder(&self) -> Option<&'static str> {
        self.encoders.iter().copied().find(|e| installed(e))
    }

    /// The first installed decoder.
    pub fn decoder(&self) -> Option<&'static str> {
        self.decoders.iter().copied().find(|e| installed(e))
    }

    /// An encoder and the payloader are installed.
    pub fn can_send(&self) -> bool {
        self.encoder().is_some() && installed(self.payloader)
    }

    /// The depayloader, the parser (if any) and a decoder are installed.
    pub fn can_receive(&self) -> bool {
        self.decoder().is_some() && installed(self.depayloader) && self.parser.is_none_or(installed)
    }

    /// This codec as a capability.
    pub fn capability(&self) -> RtpCodecCapability {
        let fmtp = self.fmtp.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(";");
        RtpCodecCapability {
            mime_type: self.mime_type(),
            clock_rate: self.clock_rate,
            channels: self.channels,
            sdp_fmtp_line: (!fmtp.is_empty()).then_some(fmtp),
        }
    }

    /// True if an offered format's parameters meet this codec's requirements.
    pub fn accepts_fmtp(&self, fmtp: &str) -> bool {
        self.required_fmtp.iter().all(|(k, v)| fmtp.split(';').filter_map(|p| p.trim().split_once('=')).any(|(pk, pv)| pk.eq_ignore_ascii_case(k) && pv == *v))
    }
}

fn installed(factory: &str) -> bool {
    gst::ElementFactory::find(factory).is_some()
}

/// `RTCRtpSender.getCapabilities(kind)`: codecs with an installed encoder and payloader.
pub fn sender_capabilities(kind: MediaKind) -> Vec<RtpCodecCapability> {
    let _ = crate::engine::init();
    with_rtx(kind, CODECS.iter().filter(|c| c.kind == kind && c.can_send()).map(CodecSpec::capability).collect())
}

/// `RTCRtpReceiver.getCapabilities(kind)`: codecs with an installed depayloader and decoder.
pub fn receiver_capabilities(kind: MediaKind) -> Vec<RtpCodecCapability> {
    let _ = crate::engine::init();
    with_rtx(kind, CODECS.iter().filter(|c| c.kind == kind && c.can_receive()).map(CodecSpec::capability).collect())
}

/// Video codecs are offered with retransmission (webrtcbin's RTX), listed as browsers do.
fn with_rtx(kind: MediaKind, mut caps: Vec<RtpCodecCapability>) -> Vec<RtpCodecCapability> {
    if kind == MediaKind::Video && !caps.is_empty() {
        caps.push(RtpCodecCapability { mime_type: "video/rtx".into(), clock_rate: 90000, channels: None, sdp_fmtp_line: None });
    }
    caps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_types_are_unique_across_kinds() {
        // One BUNDLE group carries audio and video: a payload type must name one codec.
        let mut pts: Vec<u8> = CODECS.iter().map(|c| c.payload_type).collect();
        pts.sort_unstable();
        pts.dedup();
        assert_eq!(pts.len(), CODECS.len());
    }

    #[test]
    fn lookups() {
        assert_eq!(CodecSpec::find("vp8", 90000).map(|c| c.payload_type), Some(96));
        assert_eq!(CodecSpec::find("opus", 48000).map(|c| c.mime_type()), Some("audio/opus".into()));
        assert!(CodecSpec::find("opus", 8000).is_none());
        assert_eq!(CodecSpec::by_mime_type("video/h264").map(|c| c.encoding_name), Some("H264"));
        assert_eq!(CodecSpec::by_mime_type("audio/OPUS").map(|c| c.clock_rate), Some(48000));
        assert!(CodecSpec::by_mime_type("video").is_none());
    }

    #[test]
    fn h264_needs_packetization_mode_1() {
        let h264 = CodecSpec::find("H264", 90000).unwrap();
        assert!(h264.accepts_fmtp("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"));
        assert!(!h264.accepts_fmtp("level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f"));
        assert!(!h264.accepts_fmtp("profile-level-id=42e01f"));
        assert!(CodecSpec::find("VP8", 90000).unwrap().accepts_fmtp(""));
    }

    #[test]
    fn capabilities_come_from_the_registry() {
        let video = sender_capabilities(MediaKind::Video);
        let names: Vec<_> = video.iter().map(|c| c.mime_type.as_str()).collect();
        assert_eq!(names.first(), Some(&"video/VP8"), "{names:?}");
        assert_eq!(names.last(), Some(&"video/rtx"));
        let audio = receiver_capabilities(MediaKind::Audio);
        let opus = audio.iter().find(|c| c.mime_type == "audio/opus").expect("opus");
        assert_eq!((opus.clock_rate, opus.channels), (48000, Some(2)));
        assert_eq!(opus.sdp_fmtp_line.as_deref(), Some("minptime=10;useinbandfec=1"));
        assert!(audio.iter().all(|c| c.mime_type.starts_with("audio/")));
    }
}

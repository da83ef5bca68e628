// SPDX-License-Identifier: MPL-2.0
//! SDP checks and rewrites, on gstreamer-sdp's parser.
//!
//! What a remote description must satisfy before it reaches webrtcbin: DTLS-SRTP keying
//! only (RFC 8827, section 6.5: SDES `a=crypto` is refused), a usable `a=fingerprint` for
//! every media section in use (RFC 8122), ICE credentials (RFC 8839). And the rewrites
//! interop needs: `a=max-message-size` on data-channel sections (RFC 8841, section 6),
//! which webrtcbin 1.22 never writes.

use gst_sdp::SDPMessage;

use super::Fingerprint;
use crate::{Error, Result};

/// The `a=max-message-size` wkrtc advertises: 64 KiB, the largest message webrtcbin 1.22
/// receives whole.
///
/// Its SCTP receiver ignores usrsctp's end-of-record flag: a message past usrsctp's partial
/// delivery point (about 65 KB) reaches the application as several messages (measured: a
/// 256 KiB message arrives as 66304 + 66304 + 66304 + 63232 bytes). Advertising more would
/// invite peers to send messages wkrtc would corrupt. Sending is not limited by this: wkrtc
/// sends up to the peer's own `a=max-message-size` (256 KiB to Chromium), at most
/// [`MAX_SEND_SIZE`].
pub const DEFAULT_MAX_MESSAGE_SIZE: u64 = 64 * 1024;

/// The largest message wkrtc sends (its `canSendSize`), whatever the peer accepts: 1 MiB.
/// webrtcbin caps sends at the smaller of the two descriptions' `a=max-message-size`, so
/// the copy of the local description handed to webrtcbin carries this value, while the
/// description the peer sees carries [`DEFAULT_MAX_MESSAGE_SIZE`].
pub const MAX_SEND_SIZE: u64 = 1024 * 1024;

/// The largest description wkrtc parses, in bytes: a browser's offer with dozens of media
/// sections stays far below it.
pub const MAX_DESCRIPTION_BYTES: usize = 256 * 1024;
/// The longest SDP line, in bytes.
pub const MAX_LINE_BYTES: usize = 4096;
/// The most media sections a remote description may have. webrtcbin's time for a description
/// grows faster than linearly with them (measured: 50 sections 0.3 s, 100 0.7 s, 200 2.2 s),
/// and a description past wkrtc's 10 s operation bound used to leave its work behind; 128
/// covers a large SFU call.
pub const MAX_MEDIA_SECTIONS: usize = 128;
/// The most `a=candidate` lines a remote description may carry.
pub const MAX_DESCRIPTION_CANDIDATES: usize = 256;
/// RFC 8839, section 5.4: `ice-ufrag` and `ice-pwd` are at most 256 characters.
const MAX_ICE_CREDENTIAL: usize = 256;
/// The longest `a=mid` wkrtc accepts. RFC 5888 sets no limit; the RTP header extension that
/// carries it (RFC 8843, section 15) holds 255 bytes.
const MAX_MID: usize = 255;

fn over_limit(what: String) -> Error {
    Error::Operation(format!("{what}: wkrtc refuses descriptions that ask this much"))
}

/// A parsed SDP text.
#[derive(Debug, Clone)]
pub struct ParsedDescription {
    msg: SDPMessage,
}

fn is_data_section(media: &gst_sdp::SDPMediaRef) -> bool {
    media.media() == Some("application") && media.proto().is_some_and(|p| p.contains("SCTP"))
}

fn is_rejected(media: &gst_sdp::SDPMediaRef) -> bool {
    media.port() == 0 && media.attribute_val("bundle-only").is_none()
}

impl ParsedDescription {
    /// Parses SDP text. Text that is not SDP (RFC 8866, section 5: `v=0` first, then
    /// `<type>=<value>` lines) is a `SyntaxError`.
    ///
    /// A text over [`MAX_DESCRIPTION_BYTES`] or with a line over [`MAX_LINE_BYTES`] is an
    /// `OperationError`, before anything is parsed.
    pub fn parse(text: &str) -> Result<Self> {
        if text.len() > MAX_DESCRIPTION_BYTES {
            return Err(over_limit(format!("the description has {} bytes, more than {MAX_DESCRIPTION_BYTES}", text.len())));
        }
        if let Some(long) = text.lines().find(|l| l.len() > MAX_LINE_BYTES) {
            return Err(over_limit(format!("an SDP line has {} bytes, more than {MAX_LINE_BYTES}", long.len())));
        }
        let mut lines = text.lines().map(|l| l.trim_end_matches('\r')).filter(|l| !l.is_empty());
        if lines.next() != Some("v=0") {
            return Err(Error::Syntax("SDP must start with the line v=0".into()));
        }
        if let Some(bad) = lines.find(|l| {
            let b = l.as_bytes();
            b.len() < 2 || !b[0].is_ascii_lowercase() || b[1] != b'='
        }) {
            let shown: String = bad.chars().take(60).collect();
            return Err(Error::Syntax(format!("'{shown}' is not an SDP line")));
        }
        if text.lines().skip(1).any(|l| l.starts_with("v=")) {
            return Err(Error::Syntax("SDP has more than one v= line".into()));
        }
        if !text.lines().any(|l| l.starts_with("o=")) {
            return Err(Error::Syntax("SDP has no o= line".into()));
        }
        // gstreamer-rs checks that GStreamer is initialised before any call into libgstsdp.
        gst::init().map_err(|e| Error::NotSupported(format!("GStreamer does not initialise: {e}")))?;
        let msg = SDPMessage::parse_buffer(text.as_bytes()).map_err(|e| Error::Syntax(format!("SDP does not parse: {e}")))?;
        // An o= line the parser could not fill would vanish when the description is written
        // out again (RFC 8866, section 5.2: six fields).
        let complete = msg.origin().is_some_and(|o| [o.sess_id(), o.sess_version(), o.nettype(), o.addrtype(), o.addr()].iter().all(Option::is_some));
        if !complete {
            return Err(Error::Syntax("SDP's o= line is incomplete".into()));
        }
        Ok(Self { msg })
    }

    /// Wraps a message webrtcbin produced.
    pub fn from_message(msg: SDPMessage) -> Self {
        Self { msg }
    }

    /// The gstreamer-sdp message.
    pub fn message(&self) -> &SDPMessage {
        &self.msg
    }

    /// The gstreamer-sdp message, to rewrite.
    pub(crate) fn message_mut(&mut self) -> &mut SDPMessage {
        &mut self.msg
    }

    /// The SDP text.
    pub fn to_text(&self) -> String {
        // The message came from a successful parse or from webrtcbin, so it serialises.
        self.msg.as_text().unwrap_or_default()
    }

    /// Checks what wkrtc demands of a remote description (see the module documentation).
    pub fn validate_remote(&self) -> Result<()> {
        if self.msg.attribute_val("crypto").is_some() {
            return Err(sdes_refused());
        }
        if self.msg.medias_len() as usize > MAX_MEDIA_SECTIONS {
            return Err(over_limit(format!("the description has {} media sections, more than {MAX_MEDIA_SECTIONS}", self.msg.medias_len())));
        }
        let attributes = || self.msg.attributes().chain(self.msg.medias().flat_map(|m| m.attributes()));
        let candidates = attributes().filter(|a| a.key() == "candidate").count();
        if candidates > MAX_DESCRIPTION_CANDIDATES {
            return Err(over_limit(format!("the description has {candidates} candidates, more than {MAX_DESCRIPTION_CANDIDATES}")));
        }
        if let Some(a) = attributes().find(|a| matches!(a.key(), "ice-ufrag" | "ice-pwd") && a.value().is_some_and(|v| v.len() > MAX_ICE_CREDENTIAL)) {
            return Err(Error::InvalidAccess(format!("a={} is longer than RFC 8839's {MAX_ICE_CREDENTIAL} characters", a.key())));
        }
        self.check_mids()?;
        let session_fingerprint = self.msg.attribute_val("fingerprint").is_some();
        let session_ice = self.msg.attribute_val("ice-ufrag").is_some() && self.msg.attribute_val("ice-pwd").is_some();
        for (index, media) in self.msg.medias().enumerate() {
            if media.attribute_val("crypto").is_some() {
                return Err(sdes_refused());
            }
            if is_rejected(media) {
                continue;
            }
            let proto = media.proto().unwrap_or("");
            let secure = proto.contains("DTLS") || proto.contains("TLS/RTP");
            if !secure {
                return Err(Error::InvalidAccess(format!(
                    "m-line {index} uses transport '{proto}': wkrtc only carries media over DTLS-SRTP and data over DTLS/SCTP"
                )));
            }
            if !session_fingerprint && media.attribute_val("fingerprint").is_none() {
                return Err(Error::InvalidAccess(format!("m-line {index} has no a=fingerprint: a DTLS fingerprint is required for every media section")));
            }
            let media_ice = media.attribute_val("ice-ufrag").is_some() && media.attribute_val("ice-pwd").is_some();
            if !session_ice && !media_ice {
                return Err(Error::InvalidAccess(format!("m-line {index} has no a=ice-ufrag and a=ice-pwd")));
            }
        }
        self.fingerprints().map(|_| ())
    }

    /// JSEP (RFC 8829, section 5.2.1) gives every media section an `a=mid` (RFC 5888), unique
    /// in the description; every WebRTC endpoint writes one. webrtcbin 1.22 cannot hold a
    /// section without one: it applies part of the description, refuses the rest, and the
    /// next offer aborts the process (an assertion in `sdp_media_from_transceiver`). So wkrtc
    /// refuses such a description whole, with an `InvalidAccessError`, before webrtcbin sees it.
    fn check_mids(&self) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        for (index, media) in self.msg.medias().enumerate() {
            let mid = media
                .attribute_val("mid")
                .ok_or_else(|| Error::InvalidAccess(format!("m-line {index} has no a=mid: every media section needs one (RFC 8829)")))?;
            let count = media.attributes().filter(|a| a.key() == "mid").count();
            if count > 1 {
                return Err(Error::InvalidAccess(format!("m-line {index} has {count} a=mid lines: a media section has one (RFC 5888)")));
            }
            let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`{|}~".contains(c);
            if mid.is_empty() || mid.len() > MAX_MID || !mid.chars().all(token) {
                return Err(Error::InvalidAccess(format!("m-line {index} has a=mid:{mid}, which is not a token of 1 to {MAX_MID} characters (RFC 5888)")));
            }
            if !seen.insert(mid) {
                return Err(Error::InvalidAccess(format!("m-line {index} repeats a=mid:{mid}: mids are unique in a description (RFC 5888)")));
            }
        }
        // RFC 5888, section 5: a group names media sections of this description. webrtcbin
        // 1.22 takes a BUNDLE group naming none for a transport, and a later offer aborts.
        for group in self.msg.attributes().filter(|a| a.key() == "group").filter_map(|a| a.value()) {
            let mut tokens = group.split_ascii_whitespace();
            let semantics = tokens.next().unwrap_or("");
            if let Some(mid) = tokens.find(|mid| !seen.contains(mid)) {
                return Err(Error::InvalidAccess(format!("a=group:{semantics} names mid {mid}, which no media section has (RFC 5888)")));
            }
        }
        Ok(())
    }

    /// RFC 8829, section 5.3.1: an answer has the offer's media sections, as many, in the
    /// same order, of the same kinds, with the same mids. webrtcbin 1.22 does not check this,
    /// and an answer that breaks it leaves its transceivers on m-lines that a later offer
    /// aborts the process over (an assertion in `sdp_media_from_transceiver`). An
    /// `InvalidAccessError`.
    pub fn check_answers(&self, offer: &ParsedDescription) -> Result<()> {
        let (ours, theirs) = (offer.msg.medias_len(), self.msg.medias_len());
        if ours != theirs {
            return Err(Error::InvalidAccess(format!("the answer has {theirs} media sections for the offer's {ours}")));
        }
        for (i, (o, a)) in offer.msg.medias().zip(self.msg.medias()).enumerate() {
            if o.media() != a.media() {
                return Err(Error::InvalidAccess(format!("m-line {i} is {:?} in the answer and {:?} in the offer", a.media(), o.media())));
            }
            if let (Some(om), Some(am)) = (o.attribute_val("mid"), a.attribute_val("mid")) {
                if om != am {
                    return Err(Error::InvalidAccess(format!("m-line {i} has mid '{am}' in the answer and '{om}' in the offer")));
                }
            }
        }
        Ok(())
    }

    /// Every usable DTLS fingerprint, session and media level. Lines with unknown hash
    /// functions are skipped; none usable while some are present is an error.
    pub fn fingerprints(&self) -> Result<Vec<Fingerprint>> {
        let values = self
            .msg
            .attributes()
            .chain(self.msg.medias().flat_map(|m| m.attributes()))
            .filter(|a| a.key() == "fingerprint")
            .filter_map(|a| a.value().map(str::to_owned))
            .collect::<Vec<_>>();
        let mut out = Vec::new();
        let mut last_err = None;
        for v in &values {
            match Fingerprint::parse(v) {
                Ok(fp) if !out.contains(&fp) => out.push(fp),
                Ok(_) => {}
                Err(e @ Error::NotSupported(_)) => last_err = Some(Error::InvalidAccess(e.message().to_owned())),
                Err(e) => return Err(e),
            }
        }
        match (out.is_empty(), last_err) {
            (true, Some(e)) => Err(e),
            _ => Ok(out),
        }
    }

    /// The `a=mid` of each m-line, in order.
    pub fn mids(&self) -> Vec<Option<String>> {
        self.msg.medias().map(|m| m.attribute_val("mid").map(str::to_owned)).collect()
    }

    /// Every `a=ice-ufrag` value (session and media level).
    pub fn ice_ufrags(&self) -> Vec<String> {
        self.msg.attribute_val("ice-ufrag").into_iter().chain(self.msg.medias().filter_map(|m| m.attribute_val("ice-ufrag"))).map(str::to_owned).collect()
    }

    /// The first `a=ice-ufrag` and `a=ice-pwd` (media level first, then session level).
    pub fn ice_credentials(&self) -> Option<(String, String)> {
        let media = self.msg.medias().find_map(|m| Some((m.attribute_val("ice-ufrag")?, m.attribute_val("ice-pwd")?)));
        let session = || Some((self.msg.attribute_val("ice-ufrag")?, self.msg.attribute_val("ice-pwd")?));
        media.or_else(session).map(|(u, p)| (u.to_owned(), p.to_owned()))
    }

    /// Writes `ufrag` and `pwd` into every `a=ice-ufrag`/`a=ice-pwd` line, session and media
    /// level. Used for ICE restarts, whose credentials webrtcbin 1.22 does not write itself.
    pub fn set_ice_credentials(&mut self, ufrag: &str, pwd: &str) {
        self.replace_attributes(|key| match key {
            "ice-ufrag" => Some(ufrag.to_owned()),
            "ice-pwd" => Some(pwd.to_owned()),
            _ => None,
        });
    }

    /// Writes `fingerprint` into every `a=fingerprint` line, session and media level.
    /// webrtcbin 1.22 hashes the certificate together with its private key when the
    /// certificate is not its own default one, so it advertises a wrong fingerprint for
    /// the certificates wkrtc gives it.
    pub fn set_fingerprint(&mut self, fingerprint: &Fingerprint) {
        let value = format!("{} {}", fingerprint.algorithm.name(), fingerprint.hex());
        self.replace_attributes(|key| (key == "fingerprint").then(|| value.clone()));
    }

    /// Replaces the value of every attribute, session and media level, for which `value`
    /// gives one.
    fn replace_attributes(&mut self, value: impl Fn(&str) -> Option<String>) {
        for i in 0..self.msg.attributes_len() {
            let Some(key) = self.msg.attribute(i).map(|a| a.key().to_owned()) else { continue };
            if let Some(new) = value(&key) {
                let _ = self.msg.replace_attribute(i, gst_sdp::SDPAttribute::new(&key, Some(&new)));
            }
        }
        for m in 0..self.msg.medias_len() {
            let Some(media) = self.msg.media_mut(m) else { continue };
            for i in 0..media.attributes_len() {
                let Some(key) = media.attribute(i).map(|a| a.key().to_owned()) else { continue };
                if let Some(new) = value(&key) {
                    let _ = media.replace_attribute(i, gst_sdp::SDPAttribute::new(&key, Some(&new)));
                }
            }
        }
    }

    /// The first `a=setup` value (media level first, then session level).
    pub fn setup(&self) -> Option<String> {
        self.msg.medias().find_map(|m| m.attribute_val("setup")).or_else(|| self.msg.attribute_val("setup")).map(str::to_owned)
    }

    /// True when a section carries data channels.
    pub fn has_data_channel(&self) -> bool {
        self.msg.medias().any(is_data_section)
    }

    /// The `a=max-message-size` of the data section; `None` when absent.
    pub fn max_message_size(&self) -> Option<u64> {
        self.msg.medias().filter(|m| is_data_section(m)).find_map(|m| m.attribute_val("max-message-size")).and_then(|v| v.trim().parse().ok())
    }

    /// Sets `a=max-message-size:<size>` on every data section, replacing any value.
    pub fn set_max_message_size(&mut self, size: u64) {
        for i in 0..self.msg.medias_len() {
            let Some(media) = self.msg.media_mut(i) else { continue };
            if !is_data_section(media) || is_rejected(media) {
                continue;
            }
            let existing = (0..media.attributes_len()).find(|&a| media.attribute(a).is_some_and(|a| a.key() == "max-message-size"));
            match existing {
                Some(a) => {
                    let _ = media.replace_attribute(a, gst_sdp::SDPAttribute::new("max-message-size", Some(&size.to_string())));
                }
                None => media.add_attribute("max-message-size", Some(&size.to_string())),
            }
        }
    }

    /// Adds `a=max-message-size:<size>` to every data section that lacks one.
    pub fn add_max_message_size(&mut self, size: u64) {
        for i in 0..self.msg.medias_len() {
            // `i` is below medias_len(), so the section exists.
            let Some(media) = self.msg.media_mut(i) else { continue };
            if is_data_section(media) && !is_rejected(media) && media.attribute_val("max-message-size").is_none() {
                media.add_attribute("max-message-size", Some(&size.to_string()));
            }
        }
    }
}

fn sdes_refused() -> Error {
    Error::InvalidAccess("SDES keying (a=crypto) is refused: wkrtc only accepts DTLS-SRTP (RFC 8827)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const OFFER: &str = "v=0\r\n\
o=- 1 0 IN IP4 0.0.0.0\r\n\
s=-\r\n\
t=0 0\r\n\
a=group:BUNDLE 0\r\n\
m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n\
c=IN IP4 0.0.0.0\r\n\
a=setup:actpass\r\n\
a=ice-ufrag:abcd\r\n\
a=ice-pwd:0123456789012345678901\r\n\
a=mid:0\r\n\
a=sctp-port:5000\r\n\
a=fingerprint:sha-256 DE:2F:19:9B:C6:4D:AE:C2:0F:01:B8:FF:AA:56:CB:EB:04:D1:EF:FB:34:5E:08:88:2C:2C:65:45:77:A5:68:15\r\n";

    fn parsed(text: &str) -> Result<ParsedDescription> {
        ParsedDescription::parse(text)
    }

    #[test]
    fn a_good_offer_passes() {
        let d = parsed(OFFER).unwrap();
        d.validate_remote().unwrap();
        assert_eq!(d.mids(), vec![Some("0".to_owned())]);
        assert_eq!(d.ice_ufrags(), vec!["abcd".to_owned()]);
        assert_eq!(d.fingerprints().unwrap().len(), 1);
        assert!(d.has_data_channel());
        assert_eq!(d.max_message_size(), None);
    }

    #[test]
    fn garbage_is_a_syntax_error() {
        for text in ["", "hello", "v=1\r\no=x\r\n", "v=0\r\nthis is not sdp\r\n", "v=0\r\ns=-\r\n", "\u{0}\u{1}binary"] {
            assert_eq!(parsed(text).unwrap_err().name(), "SyntaxError", "{text:?}");
        }
    }

    #[test]
    fn sdes_is_refused() {
        let media = OFFER.replace("a=mid:0", "a=mid:0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz");
        let err = parsed(&media).unwrap().validate_remote().unwrap_err();
        assert_eq!(err.name(), "InvalidAccessError");
        assert!(err.message().contains("a=crypto"));
        let session = OFFER.replace("t=0 0", "t=0 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAA");
        assert_eq!(parsed(&session).unwrap().validate_remote().unwrap_err().name(), "InvalidAccessError");
    }

    #[test]
    fn missing_fingerprint_is_refused() {
        let text: String = OFFER.lines().filter(|l| !l.starts_with("a=fingerprint")).map(|l| format!("{l}\r\n")).collect();
        let err = parsed(&text).unwrap().validate_remote().unwrap_err();
        assert_eq!(err.name(), "InvalidAccessError");
        assert!(err.message().contains("fingerprint"));
    }

    #[test]
    fn session_level_fingerprint_is_enough() {
        let fp: &str = OFFER.lines().find(|l| l.starts_with("a=fingerprint")).unwrap();
        let text: String = OFFER
            .lines()
            .filter(|l| !l.starts_with("a=fingerprint"))
            .map(|l| if l == "t=0 0" { format!("{l}\r\n{fp}\r\n") } else { format!("{l}\r\n") })
            .collect();
        parsed(&text).unwrap().validate_remote().unwrap();
    }

    #[test]
    fn bad_fingerprint_value_and_unknown_hash() {
        let bad = OFFER.replace("sha-256 DE:2F", "sha-256 XX:2F");
        assert_eq!(parsed(&bad).unwrap().validate_remote().unwrap_err().name(), "SyntaxError");
        let unknown = OFFER.replace("sha-256 DE:2F", "md5 DE:2F");
        assert_eq!(parsed(&unknown).unwrap().validate_remote().unwrap_err().name(), "InvalidAccessError");
    }

    #[test]
    fn plain_rtp_and_missing_ice_are_refused() {
        let avp = OFFER.replace("m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "m=audio 9 RTP/AVP 0");
        assert_eq!(parsed(&avp).unwrap().validate_remote().unwrap_err().name(), "InvalidAccessError");
        let no_ice: String = OFFER.lines().filter(|l| !l.starts_with("a=ice-pwd")).map(|l| format!("{l}\r\n")).collect();
        assert_eq!(parsed(&no_ice).unwrap().validate_remote().unwrap_err().name(), "InvalidAccessError");
    }

    #[test]
    fn every_section_needs_a_unique_mid() {
        let missing = OFFER.replace("a=mid:0\r\n", "");
        assert!(matches!(parsed(&missing).unwrap().validate_remote(), Err(Error::InvalidAccess(m)) if m.contains("no a=mid")));
        let twice = format!("{OFFER}m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\na=mid:0\r\n");
        assert!(matches!(parsed(&twice).unwrap().validate_remote(), Err(Error::InvalidAccess(m)) if m.contains("repeats")));
        let two = OFFER.replace("a=mid:0", "a=mid:0\r\na=mid:1");
        assert!(matches!(parsed(&two).unwrap().validate_remote(), Err(Error::InvalidAccess(m)) if m.contains("2 a=mid lines")));
        let odd = OFFER.replace("a=mid:0", "a=mid:a b");
        assert!(matches!(parsed(&odd).unwrap().validate_remote(), Err(Error::InvalidAccess(m)) if m.contains("token")));
        let rejected_without = format!("{OFFER}m=audio 0 UDP/TLS/RTP/SAVPF 0\r\n");
        assert!(parsed(&rejected_without).unwrap().validate_remote().is_err());
        let no_media = OFFER[..OFFER.find("m=").unwrap()].to_owned();
        assert!(matches!(parsed(&no_media).unwrap().validate_remote(), Err(Error::InvalidAccess(m)) if m.contains("BUNDLE names mid 0")));
        let empty_bundle = no_media.replace("a=group:BUNDLE 0\r\n", "");
        assert!(parsed(&empty_bundle).unwrap().validate_remote().is_ok(), "a description without media is valid");
    }

    #[test]
    fn rejected_sections_are_not_checked() {
        let text = format!("{OFFER}m=audio 0 RTP/AVP 0\r\na=mid:1\r\n");
        parsed(&text).unwrap().validate_remote().unwrap();
    }

    #[test]
    fn ice_credentials_are_rewritten_everywhere() {
        let two = format!("{OFFER}m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\na=mid:1\r\n");
        let mut d = parsed(&two).unwrap();
        assert_eq!(d.ice_credentials(), Some(("abcd".into(), "0123456789012345678901".into())));
        d.set_ice_credentials("NEWU", "NEWPASSWORDNEWPASSWORD");
        let text = d.to_text();
        assert_eq!(text.matches("a=ice-ufrag:NEWU").count(), 2);
        assert_eq!(text.matches("a=ice-pwd:NEWPASSWORDNEWPASSWORD").count(), 2);
        assert!(!text.contains("abcd"));
    }

    #[test]
    fn fingerprints_are_rewritten_everywhere() {
        let mut d = parsed(OFFER).unwrap();
        let fp = Fingerprint { algorithm: crate::jsep::HashAlgorithm::Sha256, value: vec![0xAB; 32] };
        d.set_fingerprint(&fp);
        let again = parsed(&d.to_text()).unwrap();
        assert_eq!(again.fingerprints().unwrap(), vec![fp]);
    }

    #[test]
    fn max_message_size_is_added_once() {
        let mut d = parsed(OFFER).unwrap();
        d.add_max_message_size(DEFAULT_MAX_MESSAGE_SIZE);
        d.add_max_message_size(1);
        assert_eq!(d.max_message_size(), Some(DEFAULT_MAX_MESSAGE_SIZE));
        let text = d.to_text();
        assert_eq!(text.matches("a=max-message-size:65536").count(), 1);
        assert_eq!(parsed(&text).unwrap().max_message_size(), Some(DEFAULT_MAX_MESSAGE_SIZE));
        let mut d = parsed(&text).unwrap();
        d.set_max_message_size(1 << 20);
        assert_eq!(d.max_message_size(), Some(1 << 20));
        assert_eq!(d.to_text().matches("a=max-message-size:").count(), 1);
    }
}

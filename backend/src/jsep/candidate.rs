// SPDX-License-Identifier: MPL-2.0
//! ICE candidates as the W3C API carries them, and the checks of `addIceCandidate`
//! (<https://w3c.github.io/webrtc-pc/#dom-peerconnection-addicecandidate>).

use super::ParsedDescription;
use crate::{Error, Result};

/// `RTCIceCandidateInit` / `RTCIceCandidate`: one trickled candidate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IceCandidate {
    /// The `candidate:` attribute value (RFC 8839, section 5.1); empty for end-of-candidates.
    pub candidate: String,
    /// The mid of the media section it belongs to.
    pub sdp_mid: Option<String>,
    /// The index of the media section it belongs to.
    pub sdp_mline_index: Option<u32>,
    /// The ICE ufrag it belongs to, when the sender says.
    pub username_fragment: Option<String>,
}

impl IceCandidate {
    /// A candidate line for the media section at `mline` with `mid`.
    pub fn new(candidate: impl Into<String>, sdp_mid: Option<String>, sdp_mline_index: Option<u32>) -> Self {
        Self { candidate: candidate.into(), sdp_mid, sdp_mline_index, username_fragment: None }
    }

    /// The connection address, when the line parses.
    pub fn address(&self) -> Option<&str> {
        let body = self.candidate.trim();
        let body = body.strip_prefix("a=").unwrap_or(body);
        let body = body.strip_prefix("candidate:").unwrap_or(body);
        body.split_ascii_whitespace().nth(4)
    }

    /// True for a host candidate hidden behind an mDNS name (`<uuid>.local`), as browsers
    /// send them (draft-ietf-mmusic-mdns-ice-candidates).
    pub fn is_mdns(&self) -> bool {
        self.address().is_some_and(|a| a.to_ascii_lowercase().ends_with(".local"))
    }

    /// True for the empty candidate that signals end-of-candidates.
    pub fn is_end_of_candidates(&self) -> bool {
        self.candidate.trim().is_empty()
    }

    /// The W3C's first check of `addIceCandidate`, made before any state check: a candidate
    /// line without sdpMid and sdpMLineIndex is a `TypeError` (an empty one is the
    /// end-of-candidates of every section).
    pub fn check_target(&self) -> Result<()> {
        if !self.is_end_of_candidates() && self.sdp_mid.is_none() && self.sdp_mline_index.is_none() {
            return Err(Error::Type("a candidate needs sdpMid or sdpMLineIndex".into()));
        }
        Ok(())
    }

    /// Decides where a remote candidate goes, following the W3C's checks in order:
    /// [`Self::check_target`], then `OperationError` for an unknown mid, an index past the
    /// last m-line, a ufrag that is not the remote one, or a line that is not a candidate.
    pub fn route(&self, remote: &ParsedDescription) -> Result<CandidateRoute> {
        self.check_target()?;
        if self.sdp_mid.is_none() && self.sdp_mline_index.is_none() {
            // check_target passed, so this is an empty candidate.
            return Ok(CandidateRoute::EndOfCandidates { mline: None });
        }
        let mids = remote.mids();
        let mline = match &self.sdp_mid {
            Some(mid) => mids
                .iter()
                .position(|m| m.as_deref() == Some(mid.as_str()))
                .ok_or_else(|| Error::Operation(format!("no media section with mid '{mid}' in the remote description")))?,
            None => {
                // sdp_mline_index is Some here: the both-None case returned above.
                let index = self.sdp_mline_index.unwrap_or(0) as usize;
                if index >= mids.len() {
                    return Err(Error::Operation(format!("sdpMLineIndex {index} is past the {} media sections of the remote description", mids.len())));
                }
                index
            }
        } as u32;
        if let Some(ufrag) = self.username_fragment.as_deref().filter(|u| !u.is_empty()) {
            if !remote.ice_ufrags().iter().any(|u| u == ufrag) {
                return Err(Error::Operation(format!("usernameFragment '{ufrag}' is not the remote description's")));
            }
        }
        if self.is_end_of_candidates() {
            return Ok(CandidateRoute::EndOfCandidates { mline: Some(mline) });
        }
        let line = self.candidate.trim();
        let line = line.strip_prefix("a=").unwrap_or(line);
        check_candidate_syntax(line)?;
        let line = if line.starts_with("candidate:") { line.to_owned() } else { format!("candidate:{line}") };
        Ok(CandidateRoute::Candidate { mline, line })
    }
}

/// Where a remote candidate is to be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CandidateRoute {
    /// A candidate line for the media section `mline`.
    Candidate {
        /// The m-line index webrtcbin expects.
        mline: u32,
        /// The line, with the `candidate:` prefix.
        line: String,
    },
    /// The remote side has no more candidates for `mline` (`None`: for any section).
    EndOfCandidates {
        /// The m-line index.
        mline: Option<u32>,
    },
}

/// The longest candidate line wkrtc takes, in bytes; browsers' lines, extensions included,
/// are under 200.
pub const MAX_CANDIDATE_BYTES: usize = 1024;

/// `candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...`
/// (RFC 8839, section 5.1: a foundation is 1 to 32 `ice-char`s).
fn check_candidate_syntax(line: &str) -> Result<()> {
    let body = line.strip_prefix("candidate:").unwrap_or(line);
    let bad = |why: &str| Err(Error::Operation(format!("'{}' is not an ICE candidate: {why}", line.chars().take(80).collect::<String>())));
    if line.len() > MAX_CANDIDATE_BYTES {
        return bad(&format!("longer than {MAX_CANDIDATE_BYTES} bytes"));
    }
    if line.contains('\0') {
        return bad("it contains a NUL character");
    }
    let fields: Vec<&str> = body.split_ascii_whitespace().collect();
    if fields.len() < 8 {
        return bad("too few fields");
    }
    let ice_char = |c: char| c.is_ascii_alphanumeric() || c == '+' || c == '/';
    if fields[0].len() > 32 || !fields[0].chars().all(ice_char) {
        return bad("the foundation is not 1 to 32 ice-chars");
    }
    if fields[1].parse::<u16>().is_err() {
        return bad("component is not a number");
    }
    if !["udp", "tcp"].contains(&fields[2].to_ascii_lowercase().as_str()) {
        return bad("transport is neither UDP nor TCP");
    }
    if fields[3].parse::<u32>().is_err() {
        return bad("priority is not a number");
    }
    if fields[5].parse::<u16>().is_err() {
        return bad("port is not a number");
    }
    if fields[6] != "typ" || !["host", "srflx", "prflx", "relay"].contains(&fields[7]) {
        return bad("no 'typ host|srflx|prflx|relay'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const REMOTE: &str = "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=ice-pwd:p\r\na=mid:data\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:a1\r\n";
    const LINE: &str = "candidate:1 1 UDP 2122252543 127.0.0.1 40000 typ host";

    fn route(c: IceCandidate) -> Result<CandidateRoute> {
        c.route(&ParsedDescription::parse(REMOTE).unwrap())
    }

    #[test]
    fn routes_by_mid_then_index() {
        assert_eq!(route(IceCandidate::new(LINE, Some("a1".into()), Some(0))), Ok(CandidateRoute::Candidate { mline: 1, line: LINE.into() }));
        assert_eq!(route(IceCandidate::new(LINE, None, Some(1))), Ok(CandidateRoute::Candidate { mline: 1, line: LINE.into() }));
        let bare = LINE.trim_start_matches("candidate:");
        assert_eq!(route(IceCandidate::new(format!("a={LINE}"), Some("data".into()), None)), Ok(CandidateRoute::Candidate { mline: 0, line: LINE.into() }));
        assert_eq!(route(IceCandidate::new(bare, Some("data".into()), None)), Ok(CandidateRoute::Candidate { mline: 0, line: LINE.into() }));
    }

    #[test]
    fn mdns_names() {
        let c = IceCandidate::new("candidate:1 1 udp 2122260223 6f0b1e4c-7a9e-4a3b-9d61-2b7a1f0c9e11.local 54321 typ host", Some("0".into()), None);
        assert_eq!(c.address(), Some("6f0b1e4c-7a9e-4a3b-9d61-2b7a1f0c9e11.local"));
        assert!(c.is_mdns());
        assert!(!IceCandidate::new(LINE, None, Some(0)).is_mdns());
    }

    #[test]
    fn bounded_lines() {
        let long_foundation = format!("candidate:{} 1 UDP 2122252543 127.0.0.1 40000 typ host", "f".repeat(33));
        assert_eq!(route(IceCandidate::new(long_foundation, Some("data".into()), None)).unwrap_err().name(), "OperationError");
        let bad_foundation = "candidate:a-b 1 UDP 2122252543 127.0.0.1 40000 typ host";
        assert_eq!(route(IceCandidate::new(bad_foundation, Some("data".into()), None)).unwrap_err().name(), "OperationError");
        let long = format!("{LINE} {}", "x ".repeat(600));
        assert_eq!(route(IceCandidate::new(long, Some("data".into()), None)).unwrap_err().name(), "OperationError");
        let nul = "candidate:1 1 UDP 2122252543 127.0.0.1\0 40000 typ host";
        assert_eq!(route(IceCandidate::new(nul, Some("data".into()), None)).unwrap_err().name(), "OperationError");
        let extended = format!("{LINE} generation 0 ufrag abcd network-id 1 network-cost 10");
        assert!(route(IceCandidate::new(extended, Some("data".into()), None)).is_ok());
    }

    #[test]
    fn end_of_candidates() {
        assert_eq!(route(IceCandidate::new("", Some("data".into()), None)), Ok(CandidateRoute::EndOfCandidates { mline: Some(0) }));
        assert_eq!(route(IceCandidate::new("", None, None)), Ok(CandidateRoute::EndOfCandidates { mline: None }));
        assert_eq!(IceCandidate::new("", None, None).check_target(), Ok(()));
        assert_eq!(IceCandidate::new(LINE, None, None).check_target().unwrap_err().name(), "TypeError");
    }

    #[test]
    fn refusals_have_w3c_types() {
        let cases = [
            (IceCandidate::new(LINE, None, None), "TypeError"),
            (IceCandidate::new(LINE, Some("nope".into()), None), "OperationError"),
            (IceCandidate::new(LINE, None, Some(2)), "OperationError"),
            (IceCandidate::new("candidate:garbage", Some("data".into()), None), "OperationError"),
            (IceCandidate::new("candidate:1 1 SCTP 1 127.0.0.1 1 typ host", Some("data".into()), None), "OperationError"),
            (IceCandidate::new("candidate:1 1 UDP 1 127.0.0.1 99999 typ host", Some("data".into()), None), "OperationError"),
            (IceCandidate::new("candidate:1 1 UDP 1 127.0.0.1 9 type host", Some("data".into()), None), "OperationError"),
            (IceCandidate { username_fragment: Some("zzzz".into()), ..IceCandidate::new(LINE, Some("data".into()), None) }, "OperationError"),
        ];
        for (c, name) in cases {
            assert_eq!(route(c.clone()).unwrap_err().name(), name, "{c:?}");
        }
        let ok = IceCandidate { username_fragment: Some("abcd".into()), ..IceCandidate::new(LINE, Some("data".into()), None) };
        assert!(route(ok).is_ok());
    }
}

// SPDX-License-Identifier: MPL-2.0
//! JSEP, the pure half of a peer connection: the signaling-state machine, SDP checks and
//! rewrites, fingerprints and candidate routing.
//!
//! Nothing here touches a pipeline, a clock or a thread: data in, data out. The SDP parser
//! is gstreamer-sdp's, a plain library (gstreamer-rs only asks that GStreamer be
//! initialised before it is called).

mod candidate;
mod fingerprint;
mod media;
mod sdp;
mod signaling;

pub use candidate::{CandidateRoute, IceCandidate};
pub use fingerprint::{pem_certificate_der, verify_certificate, Fingerprint, HashAlgorithm};
pub use media::{FormatLines, MediaSection, RtpFormat, RtpTransceiverDirection, TRANSPORT_CC};
pub use sdp::{ParsedDescription, DEFAULT_MAX_MESSAGE_SIZE, MAX_SEND_SIZE};
pub use signaling::{Jsep, Side, SignalingState};

/// `RTCSdpType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SdpType {
    /// An offer.
    Offer,
    /// A provisional answer.
    Pranswer,
    /// A final answer.
    Answer,
    /// Cancels the pending offer/answer exchange.
    Rollback,
}

impl SdpType {
    /// The W3C enum value (`"offer"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            SdpType::Offer => "offer",
            SdpType::Pranswer => "pranswer",
            SdpType::Answer => "answer",
            SdpType::Rollback => "rollback",
        }
    }
}

impl std::str::FromStr for SdpType {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "offer" => Ok(SdpType::Offer),
            "pranswer" => Ok(SdpType::Pranswer),
            "answer" => Ok(SdpType::Answer),
            "rollback" => Ok(SdpType::Rollback),
            other => Err(crate::Error::Type(format!("'{other}' is not a valid RTCSdpType"))),
        }
    }
}

/// `RTCSessionDescriptionInit`: a type and its SDP text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// offer, pranswer, answer or rollback.
    pub sdp_type: SdpType,
    /// The SDP (RFC 8866) text; ignored for a rollback.
    pub sdp: String,
}

impl SessionDescription {
    /// A description of `sdp_type` with the given SDP text.
    pub fn new(sdp_type: SdpType, sdp: String) -> Self {
        Self { sdp_type, sdp }
    }
    /// An offer.
    pub fn offer(sdp: impl Into<String>) -> Self {
        Self::new(SdpType::Offer, sdp.into())
    }
    /// An answer.
    pub fn answer(sdp: impl Into<String>) -> Self {
        Self::new(SdpType::Answer, sdp.into())
    }
    /// A rollback.
    pub fn rollback() -> Self {
        Self::new(SdpType::Rollback, String::new())
    }
}

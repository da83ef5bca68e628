// SPDX-License-Identifier: MPL-2.0
//! Media: tracks, the RTP transceiver objects and the codec table.

pub mod codec;
pub(crate) mod dtmf;
pub(crate) mod rtp;
pub(crate) mod track;

pub use codec::{receiver_capabilities, sender_capabilities, MediaKind, RtpCodecCapability};
pub use dtmf::{DtmfEvent, DtmfSender, ReceivedTone};
pub use rtp::{RtpCodecParameters, RtpEncodingParameters, RtpReceiver, RtpSendParameters, RtpSender, RtpTransceiver};
pub use track::{AudioLevels, MediaStreamTrack, SampleCallback, TestPattern, TrackEvent, TrackState};

// SPDX-License-Identifier: MPL-2.0
#![deny(missing_docs)]
//! # wkrtc: a WebRTC backend on GStreamer's webrtcbin
//!
//! wkrtc implements the W3C WebRTC object model (`RTCPeerConnection`, `RTCDataChannel`, ...)
//! on GStreamer's `webrtcbin`, for WebKitGTK and for any Rust program. Each W3C object is
//! one type; each async W3C operation is a future that can be awaited on any executor;
//! each object's events arrive in order on a channel.
//!
//! ## A complete call: offer, answer, trickle ICE and a data channel
//!
//! ```
//! use std::time::Duration;
//! use wkrtc::{DataChannelEvent, DataChannelInit, Event, Message, OfferOptions, PeerConnection, Settings};
//!
//! # fn main() -> Result<(), wkrtc::Error> {
//! futures::executor::block_on(async {
//!     // Two peers in one process; loopback settings gather 127.0.0.1 only.
//!     let alice = PeerConnection::with_settings(Default::default(), Settings::loopback())?;
//!     let bob = PeerConnection::with_settings(Default::default(), Settings::loopback())?;
//!     let chat = alice.create_data_channel("chat", DataChannelInit::default())?;
//!
//!     let offer = alice.create_offer(OfferOptions::default()).await?;
//!     alice.set_local_description(Some(offer.clone())).await?;
//!     bob.set_remote_description(offer).await?;
//!     let answer = bob.create_answer().await?;
//!     bob.set_local_description(Some(answer.clone())).await?;
//!     alice.set_remote_description(answer).await?;
//!
//!     // Trickle: hand each side's candidates to the other (a real application sends
//!     // them over its signaling channel).
//!     let (a_events, b_events) = (alice.events(), bob.events());
//!     let mut bob_channel = None;
//!     while bob_channel.is_none() {
//!         if let Ok(Event::IceCandidate(Some(c))) = a_events.try_recv() {
//!             bob.add_ice_candidate(Some(c)).await?;
//!         }
//!         match b_events.recv_timeout(Duration::from_millis(5)) {
//!             Ok(Event::IceCandidate(Some(c))) => alice.add_ice_candidate(Some(c)).await?,
//!             Ok(Event::DataChannel(dc)) => bob_channel = Some(dc),
//!             _ => {}
//!         }
//!     }
//!
//!     // Wait until the channel is open, then talk.
//!     let chat_events = chat.events();
//!     while chat_events.recv_timeout(Duration::from_secs(5)) != Ok(DataChannelEvent::Open) {}
//!     chat.send_text("hello bob")?;
//!     let bob_events = bob_channel.unwrap().events();
//!     loop {
//!         if let DataChannelEvent::Message(Message::Text(t)) = bob_events.recv_timeout(Duration::from_secs(5)).unwrap() {
//!             assert_eq!(t, "hello bob");
//!             break;
//!         }
//!     }
//!     Ok(())
//! })
//! # }
//! ```
//!
//! ## Layers
//! - [`jsep`]: pure signaling logic (state machine, SDP checks and rewrites, candidates).
//! - [`configuration`]: `RTCConfiguration` checks, pure.
//! - `engine` (private): webrtcbin, the worker thread, DTLS fingerprint enforcement.
//! - [`PeerConnection`], [`DataChannel`]: the W3C objects.
//!
//! Logs go through GStreamer's debug system: `GST_DEBUG=wkrtc*:6`.

pub mod capture;
mod certificate;
pub mod configuration;
mod data_channel;
pub(crate) mod engine;
mod error;
pub mod jsep;
pub mod media;
mod peer_connection;
mod settings;
pub mod stats;

pub use certificate::{Certificate, KeyAlgorithm, DEFAULT_EXPIRES as DEFAULT_CERTIFICATE_EXPIRES};
pub use configuration::{BundlePolicy, Configuration, IceServer, IceTransportPolicy};
pub use data_channel::{DataChannel, DataChannelEvent, DataChannelInit, DataChannelState, Message};
pub use engine::{init, wait_warm};
pub use error::{Error, Result};
pub use jsep::{IceCandidate, RtpTransceiverDirection, SdpType, SessionDescription, SignalingState};
pub use media::{DtmfEvent, DtmfSender, MediaKind, MediaStreamTrack, ReceivedTone, RtpReceiver, RtpSender, RtpTransceiver, TestPattern};
pub use peer_connection::{
    DtlsTransportState, Event, IceConnectionState, IceGatheringState, OfferOptions, PeerConnection, PeerConnectionState, TrackOrKind, TransceiverInit,
};
pub use settings::Settings;

/// Locks `m`, poisoned or not. wkrtc's mutexes guard plain data that a panic elsewhere
/// cannot leave half-written (counters, lists, ids), so a poisoned one is used as it is
/// rather than turned into a second panic.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

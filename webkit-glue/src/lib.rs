// SPDX-License-Identifier: MPL-2.0
//! The Rust half of wkrtc's C++ bridge (cxx).
//!
//! Thin on purpose: type conversion, panic catching and thread hand-off, no WebRTC logic.
//! Every function C++ calls catches panics (a panic must not unwind into C++, and WebKit
//! builds without exceptions, so errors come back as [`ffi::ErrorFfi`] values, never as
//! `Result`s). Asynchronous operations complete through callback objects on a thread of the
//! peer connection's own; events reach the C++ `EventSink` on another, in order. The C++ side
//! hops to its own thread (WebKit: its main thread) before touching anything else.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

use cxx::UniquePtr;
use wkrtc::media::{RtpCodecCapability, RtpEncodingParameters};
use wkrtc::{
    Configuration, DataChannel, DataChannelEvent, DataChannelInit, Event, IceCandidate, IceServer, IceTransportPolicy, MediaKind, MediaStreamTrack, Message,
    OfferOptions, PeerConnection, RtpTransceiver, RtpTransceiverDirection, SdpType, SessionDescription, Settings, TestPattern, TrackOrKind, TransceiverInit,
};

#[cxx::bridge(namespace = "wkrtc::ffi")]
mod ffi {
    /// `RTCIceServer`.
    struct IceServerFfi {
        urls: Vec<String>,
        username: String,
        credential: String,
    }

    /// `RTCCertificate`: both PEMs (what WebKit keeps), `expires` in milliseconds since
    /// the Unix epoch, and the sha-256 fingerprint (`getFingerprints()`).
    struct CertificateFfi {
        certificate_pem: String,
        private_key_pem: String,
        expires: f64,
        fingerprint_algorithm: String,
        fingerprint: String,
    }

    /// `RTCConfiguration` (`certificates`: only the PEMs are read), and `loopback` for tests
    /// (gather 127.0.0.1 only).
    struct ConfigFfi {
        ice_servers: Vec<IceServerFfi>,
        relay_only: bool,
        certificates: Vec<CertificateFfi>,
        loopback: bool,
    }

    /// A W3C error: an empty `name` means success.
    struct ErrorFfi {
        name: String,
        message: String,
    }

    /// Bytes (a DER certificate).
    struct BytesFfi {
        bytes: Vec<u8>,
    }

    /// An `RTCSessionDescription`; an empty `sdp_type` means none.
    struct DescriptionFfi {
        sdp_type: String,
        sdp: String,
    }

    /// `MediaDeviceInfo`.
    struct DeviceInfoFfi {
        device_id: String,
        kind: String,
        label: String,
        group_id: String,
    }

    /// `RTCDataChannelInit`; -1 means absent.
    struct ChannelInitFfi {
        ordered: bool,
        max_retransmits: i32,
        max_packet_life_time: i32,
        protocol: String,
        negotiated: bool,
        id: i32,
    }

    /// `RTCRtpCodecCapability`; `channels` 0 means absent.
    struct CodecCapabilityFfi {
        mime_type: String,
        clock_rate: u32,
        channels: u32,
        sdp_fmtp_line: String,
    }

    /// `RTCRtpSendParameters` with its one encoding; 0 means absent for the optional numbers.
    struct SendParametersFfi {
        transaction_id: String,
        active: bool,
        max_bitrate: u32,
        max_framerate: f64,
        scale_resolution_down_by: f64,
        /// The negotiated send codec, once negotiated (`payload_types` in the same order).
        codecs: Vec<CodecCapabilityFfi>,
        payload_types: Vec<u8>,
    }

    extern "Rust" {
        type PeerConnectionHandle;
        type TransceiverHandle;
        type CaptureHandle;
        type DataChannelHandle;
        type TrackHandle;

        fn create_peer_connection(config: &ConfigFfi, events: UniquePtr<EventSink>) -> Box<PeerConnectionHandle>;
        /// `setConfiguration` (the W3C checks are wkrtc's).
        fn set_configuration(self: &PeerConnectionHandle, config: &ConfigFfi) -> ErrorFfi;
        /// `RTCPeerConnection.generateCertificate(algorithm)`: the W3C AlgorithmIdentifier as
        /// JSON (`{"name": "ECDSA", "namedCurve": "P-256"}`, or RSASSA-PKCS1-v1_5 with
        /// `modulusLength`, `publicExponent` as an array of bytes and `hash`; `expires` in
        /// milliseconds). Synchronous: an ECDSA key takes well under a millisecond, an RSA
        /// key tens of milliseconds and more.
        fn generate_certificate(algorithm: &str, error: &mut ErrorFfi) -> CertificateFfi;
        fn creation_error(self: &PeerConnectionHandle) -> ErrorFfi;
        fn create_offer(self: &PeerConnectionHandle, ice_restart: bool, done: UniquePtr<SdpCallback>);
        fn create_answer(self: &PeerConnectionHandle, done: UniquePtr<SdpCallback>);
        fn set_local_description(self: &PeerConnectionHandle, sdp_type: &str, sdp: &str, done: UniquePtr<VoidCallback>);
        fn set_remote_description(self: &PeerConnectionHandle, sdp_type: &str, sdp: &str, done: UniquePtr<VoidCallback>);
        fn add_ice_candidate(self: &PeerConnectionHandle, candidate: &str, mid: &str, mline: i32, done: UniquePtr<VoidCallback>);
        fn restart_ice(self: &PeerConnectionHandle);
        /// `getStats()` as JSON (W3C member names), through `done`'s first argument.
        fn get_stats(self: &PeerConnectionHandle, done: UniquePtr<StatsCallback>);
        /// `RTCIceTransport.getSelectedCandidatePair()`.
        fn selected_candidate_pair(self: &PeerConnectionHandle, done: UniquePtr<PairCallback>);
        /// `RTCDtlsTransport.getRemoteCertificates()`: DER, empty until the peer's
        /// certificate matched its fingerprint.
        fn remote_certificates(self: &PeerConnectionHandle) -> Vec<BytesFfi>;
        fn create_data_channel(self: &PeerConnectionHandle, label: &str, init: &ChannelInitFfi, error: &mut ErrorFfi) -> Box<DataChannelHandle>;
        fn add_track(self: &PeerConnectionHandle, track: &TrackHandle, stream_ids: &Vec<String>, error: &mut ErrorFfi) -> Box<TransceiverHandle>;
        fn add_transceiver_of_kind(
            self: &PeerConnectionHandle,
            kind: &str,
            direction: &str,
            stream_ids: &Vec<String>,
            error: &mut ErrorFfi,
        ) -> Box<TransceiverHandle>;
        fn add_transceiver_with_track(
            self: &PeerConnectionHandle,
            track: &TrackHandle,
            direction: &str,
            stream_ids: &Vec<String>,
            error: &mut ErrorFfi,
        ) -> Box<TransceiverHandle>;
        /// `removeTrack` of the transceiver's sender.
        fn remove_track(self: &PeerConnectionHandle, transceiver: &TransceiverHandle) -> ErrorFfi;
        fn transceiver_count(self: &PeerConnectionHandle) -> usize;
        /// An empty handle past the end.
        fn transceiver_at(self: &PeerConnectionHandle, index: usize) -> Box<TransceiverHandle>;
        fn signaling_state(self: &PeerConnectionHandle) -> String;
        fn connection_state(self: &PeerConnectionHandle) -> String;
        fn local_description(self: &PeerConnectionHandle) -> String;
        fn remote_description(self: &PeerConnectionHandle) -> String;
        fn current_local_description(self: &PeerConnectionHandle) -> DescriptionFfi;
        fn pending_local_description(self: &PeerConnectionHandle) -> DescriptionFfi;
        fn current_remote_description(self: &PeerConnectionHandle) -> DescriptionFfi;
        fn pending_remote_description(self: &PeerConnectionHandle) -> DescriptionFfi;
        fn ice_gathering_state(self: &PeerConnectionHandle) -> String;
        fn ice_connection_state(self: &PeerConnectionHandle) -> String;
        /// 1 or 0, -1 while unknown (no remote description).
        fn can_trickle_ice_candidates(self: &PeerConnectionHandle) -> i32;
        /// `sctp.maxMessageSize`; 0 while there is no SCTP transport.
        fn sctp_max_message_size(self: &PeerConnectionHandle) -> u64;
        fn close(self: &PeerConnectionHandle);

        fn label(self: &DataChannelHandle) -> String;
        fn protocol(self: &DataChannelHandle) -> String;
        fn ordered(self: &DataChannelHandle) -> bool;
        fn negotiated(self: &DataChannelHandle) -> bool;
        /// -1 when absent (also for id until the SCTP transport assigns one).
        fn id(self: &DataChannelHandle) -> i32;
        fn max_retransmits(self: &DataChannelHandle) -> i32;
        fn max_packet_life_time(self: &DataChannelHandle) -> i32;
        fn set_buffered_amount_low_threshold(self: &DataChannelHandle, bytes: u64);
        fn ready_state(self: &DataChannelHandle) -> String;
        fn buffered_amount(self: &DataChannelHandle) -> u64;
        fn set_sink(self: &DataChannelHandle, sink: UniquePtr<ChannelSink>);
        fn send_text(self: &DataChannelHandle, text: &str) -> ErrorFfi;
        fn send_binary(self: &DataChannelHandle, data: &[u8]) -> ErrorFfi;
        fn close(self: &DataChannelHandle);

        /// `RTCRtpSender.getCapabilities(kind)` (`sending`) or `RTCRtpReceiver.getCapabilities(kind)`;
        /// `known` is false for a kind other than "audio" and "video".
        fn codec_capabilities(kind: &str, sending: bool, known: &mut bool) -> Vec<CodecCapabilityFfi>;
        /// The RTP header extensions wkrtc negotiates, by URI.
        fn header_extension_capabilities(kind: &str) -> Vec<String>;

        /// The same number for handles of the same transceiver.
        fn key(self: &TransceiverHandle) -> usize;
        fn kind(self: &TransceiverHandle) -> String;
        /// Empty until negotiated.
        fn mid(self: &TransceiverHandle) -> String;
        fn direction(self: &TransceiverHandle) -> String;
        /// Empty before the first negotiation.
        fn current_direction(self: &TransceiverHandle) -> String;
        fn set_direction(self: &TransceiverHandle, direction: &str) -> ErrorFfi;
        fn stop(self: &TransceiverHandle);
        fn stopped(self: &TransceiverHandle) -> bool;
        /// The remote description has the peer sending here.
        fn receiving(self: &TransceiverHandle) -> bool;
        fn receiver_stream_ids(self: &TransceiverHandle) -> Vec<String>;
        /// `sender.setStreams(ids)`.
        fn set_sender_streams(self: &TransceiverHandle, stream_ids: &Vec<String>) -> ErrorFfi;
        fn receiver_track(self: &TransceiverHandle) -> Box<TrackHandle>;
        fn set_codec_preferences(self: &TransceiverHandle, codecs: &Vec<CodecCapabilityFfi>) -> ErrorFfi;
        /// `replaceTrack(track)`.
        fn replace_track(self: &TransceiverHandle, track: &TrackHandle) -> ErrorFfi;
        /// `replaceTrack(null)`.
        fn clear_track(self: &TransceiverHandle) -> ErrorFfi;
        /// `RTCDTMFSender.canInsertDTMF` of the sender (false for video).
        fn can_insert_dtmf(self: &TransceiverHandle) -> bool;
        /// Plays one DTMF tone (`,`: a 2 s pause) and calls `played` when its time is up,
        /// for WebCore's `RTCDTMFSender`, which runs the W3C tone buffer itself.
        fn play_tone(self: &TransceiverHandle, tone: &str, duration_ms: u32, played: UniquePtr<VoidCallback>) -> ErrorFfi;
        fn send_parameters(self: &TransceiverHandle) -> SendParametersFfi;
        fn set_send_parameters(self: &TransceiverHandle, parameters: &SendParametersFfi) -> ErrorFfi;

        fn create_test_pattern_track(kind: &str, width: u32, height: u32, error: &mut ErrorFfi) -> Box<TrackHandle>;
        fn create_external_track(kind: &str, label: &str, error: &mut ErrorFfi) -> Box<TrackHandle>;

        /// `enumerateDevices()` for an origin's salt; `fake`: wkrtc's fake camera and microphone.
        fn enumerate_devices(salt: &str, fake: bool, error: &mut ErrorFfi) -> Vec<DeviceInfoFfi>;
        /// `getUserMedia(constraints)`, constraints as the page's JSON; `error.name` may be
        /// OverconstrainedError, with the constraint in `error.message` after "constraint=".
        fn get_user_media(salt: &str, fake: bool, constraints: &str, error: &mut ErrorFfi) -> Box<CaptureHandle>;
        /// The tracks of a getUserMedia result, audio first.
        fn count(self: &CaptureHandle) -> usize;
        fn track(self: &CaptureHandle, index: usize) -> Box<TrackHandle>;
        /// getSettings, getCapabilities, getConstraints of track `index`, as JSON.
        fn settings(self: &CaptureHandle, index: usize) -> String;
        fn capabilities(self: &CaptureHandle, index: usize) -> String;
        fn constraints(self: &CaptureHandle, index: usize) -> String;
        fn apply_constraints(self: &CaptureHandle, index: usize, constraints: &str) -> ErrorFfi;
        /// Stops every track and releases the devices.
        fn stop(self: &CaptureHandle);
        fn kind(self: &TrackHandle) -> String;
        fn id(self: &TrackHandle) -> String;
        fn frames(self: &TrackHandle) -> u64;
        fn set_enabled(self: &TrackHandle, enabled: bool);
        /// Replaces this handle's frame sink (a track can have several handles, each with one).
        fn set_frame_sink(self: &TrackHandle, sink: UniquePtr<FrameSink>);
        /// Removes this handle's frame sink (a frame already being delivered may still reach it).
        fn clear_frame_sink(self: &TrackHandle);
        /// # Safety
        /// `sample` is a valid `GstSample*` (borrowed for the call) or 0.
        unsafe fn push_sample(self: &TrackHandle, sample: usize) -> ErrorFfi;
        fn stop(self: &TrackHandle);
    }

    unsafe extern "C++" {
        include!("wkrtc/bridge.h");

        type EventSink;
        fn on_signaling_state(self: &EventSink, state: &str);
        fn on_ice_gathering_state(self: &EventSink, state: &str);
        fn on_ice_connection_state(self: &EventSink, state: &str);
        fn on_connection_state(self: &EventSink, state: &str);
        fn on_dtls_state(self: &EventSink, state: &str);
        fn on_ice_candidate(self: &EventSink, candidate: &str, mid: &str, mline: i32);
        fn on_negotiation_needed(self: &EventSink);
        fn on_data_channel(self: &EventSink, channel: Box<DataChannelHandle>);
        fn on_track(self: &EventSink, transceiver: Box<TransceiverHandle>, track: Box<TrackHandle>, mid: &str, stream_id: &str);
        /// The peer sent a DTMF tone on the transceiver with this key.
        fn on_tone_received(self: &EventSink, transceiver_key: usize, tone: &str, duration_ms: u32);

        type SdpCallback;
        fn done(self: &SdpCallback, sdp_type: &str, sdp: &str, error_name: &str, error_message: &str);

        type VoidCallback;
        fn done(self: &VoidCallback, error_name: &str, error_message: &str);

        type PairCallback;
        fn done(self: &PairCallback, local: &str, remote: &str, error_name: &str, error_message: &str);

        type StatsCallback;
        fn done(self: &StatsCallback, json: &str, error_name: &str, error_message: &str);

        type ChannelSink;
        fn on_open(self: &ChannelSink);
        fn on_text(self: &ChannelSink, text: &str);
        fn on_binary(self: &ChannelSink, data: &[u8]);
        fn on_buffered_amount_low(self: &ChannelSink);
        fn on_close(self: &ChannelSink);
        fn on_error(self: &ChannelSink, name: &str, message: &str);

        type FrameSink;
        fn on_frame(self: &FrameSink, sample: usize, width: i32, height: i32);
    }
}

use ffi::{
    BytesFfi, CertificateFfi, ChannelInitFfi, ChannelSink, CodecCapabilityFfi, ConfigFfi, DeviceInfoFfi, ErrorFfi, EventSink, FrameSink, PairCallback,
    SdpCallback, SendParametersFfi, StatsCallback, VoidCallback,
};

// SAFETY: the C++ interfaces are documented (bridge.h) as callable from any thread and
// const-only; wkrtc calls each object from one thread at a time.
unsafe impl Send for EventSink {}
unsafe impl Sync for EventSink {}
unsafe impl Send for SdpCallback {}
unsafe impl Send for VoidCallback {}
unsafe impl Send for StatsCallback {}
unsafe impl Send for PairCallback {}
unsafe impl Send for ChannelSink {}
unsafe impl Sync for ChannelSink {}
unsafe impl Send for FrameSink {}
unsafe impl Sync for FrameSink {}

fn ok() -> ErrorFfi {
    ErrorFfi { name: String::new(), message: String::new() }
}

fn err(e: &wkrtc::Error) -> ErrorFfi {
    ErrorFfi { name: e.name().into(), message: e.message().into() }
}

fn result(r: wkrtc::Result<()>) -> ErrorFfi {
    r.as_ref().map_or_else(err, |_| ok())
}

/// Runs `f`, turning a panic into `fallback()`: nothing unwinds into C++.
fn guard<T>(what: &str, f: impl FnOnce() -> T, fallback: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        eprintln!("wkrtc-webkit: internal error (panic) in {what}");
        fallback()
    })
}

fn internal(what: &str) -> ErrorFfi {
    ErrorFfi { name: "OperationError".into(), message: format!("internal error in wkrtc ({what})") }
}

type Job = Box<dyn FnOnce() + Send>;

/// `RTCPeerConnection` for C++.
pub struct PeerConnectionHandle {
    pc: Option<PeerConnection>,
    creation_error: Option<wkrtc::Error>,
    /// Runs operations one after the other and calls their callbacks.
    jobs: Option<flume::Sender<Job>>,
}

fn certificate_ffi(c: &wkrtc::Certificate) -> CertificateFfi {
    let fingerprint = c.fingerprint(wkrtc::jsep::HashAlgorithm::Sha256);
    CertificateFfi {
        certificate_pem: c.certificate_pem().into(),
        private_key_pem: c.private_key_pem().into(),
        expires: c.expires_millis(),
        fingerprint_algorithm: fingerprint.algorithm.name().into(),
        fingerprint: fingerprint.hex().to_lowercase(),
    }
}

fn generate_certificate(algorithm: &str, error: &mut ErrorFfi) -> CertificateFfi {
    let generated = guard(
        "generate_certificate",
        || {
            let json: serde_json::Value = serde_json::from_str(algorithm).map_err(|e| wkrtc::Error::Type(format!("the algorithm is not JSON: {e}")))?;
            let (key, expires) = wkrtc::KeyAlgorithm::from_w3c(&json)?;
            wkrtc::Certificate::generate(key, expires)
        },
        || Err(wkrtc::Error::Operation("internal error in wkrtc".into())),
    );
    *error = generated.as_ref().map_or_else(err, |_| ok());
    generated.map(|c| certificate_ffi(&c)).unwrap_or(CertificateFfi {
        certificate_pem: String::new(),
        private_key_pem: String::new(),
        expires: 0.0,
        fingerprint_algorithm: String::new(),
        fingerprint: String::new(),
    })
}

/// The configuration the C++ side describes; `InvalidAccessError` for unusable certificates.
fn configuration_from_ffi(config: &ConfigFfi) -> wkrtc::Result<Configuration> {
    let certificates =
        config.certificates.iter().map(|c| wkrtc::Certificate::from_pem(&c.certificate_pem, &c.private_key_pem)).collect::<wkrtc::Result<Vec<_>>>()?;
    Ok(Configuration {
        certificates,
        ice_servers: config
            .ice_servers
            .iter()
            .map(|s| IceServer {
                urls: s.urls.clone(),
                username: (!s.username.is_empty()).then(|| s.username.clone()),
                credential: (!s.credential.is_empty()).then(|| s.credential.clone()),
            })
            .collect(),
        ice_transport_policy: if config.relay_only { IceTransportPolicy::Relay } else { IceTransportPolicy::All },
        ..Configuration::default()
    })
}

fn create_peer_connection(config: &ConfigFfi, events: UniquePtr<EventSink>) -> Box<PeerConnectionHandle> {
    let failed = |e| Box::new(PeerConnectionHandle { pc: None, creation_error: Some(e), jobs: None });
    guard(
        "create_peer_connection",
        || {
            let configuration = match configuration_from_ffi(config) {
                Ok(c) => c,
                Err(e) => return failed(e),
            };
            let settings = if config.loopback { Settings::loopback() } else { Settings::default() };
            match PeerConnection::with_settings(configuration, settings) {
                Ok(pc) => {
                    pump_events(&pc, events);
                    let (jobs, queue) = flume::unbounded::<Job>();
                    std::thread::Builder::new()
                        .name("wkrtc-webkit-ops".into())
                        .spawn(move || {
                            for job in queue.iter() {
                                if catch_unwind(AssertUnwindSafe(job)).is_err() {
                                    eprintln!("wkrtc-webkit: internal error (panic) in an operation");
                                }
                            }
                        })
                        .ok();
                    Box::new(PeerConnectionHandle { pc: Some(pc), creation_error: None, jobs: Some(jobs) })
                }
                Err(e) => failed(e),
            }
        },
        || failed(wkrtc::Error::Operation("internal error in wkrtc".into())),
    )
}

/// Forwards a connection's events to the C++ sink, in order, from one thread.
fn pump_events(pc: &PeerConnection, sink: UniquePtr<EventSink>) {
    let events = pc.events();
    let spawned = std::thread::Builder::new().name("wkrtc-webkit-events".into()).spawn(move || {
        let Some(sink) = sink.as_ref() else { return };
        for ev in events.iter() {
            let delivered = catch_unwind(AssertUnwindSafe(|| deliver(sink, ev)));
            if delivered.is_err() {
                eprintln!("wkrtc-webkit: internal error (panic) delivering an event");
            }
        }
    });
    if let Err(e) = spawned {
        eprintln!("wkrtc-webkit: no event thread: {e}");
    }
}

fn deliver(sink: &EventSink, ev: Event) {
    let lower = |s: String| s.to_lowercase();
    match ev {
        Event::SignalingStateChange(s) => sink.on_signaling_state(s.as_str()),
        Event::IceGatheringStateChange(s) => sink.on_ice_gathering_state(&lower(format!("{s:?}"))),
        Event::IceConnectionStateChange(s) => sink.on_ice_connection_state(&lower(format!("{s:?}"))),
        Event::ConnectionStateChange(s) => sink.on_connection_state(&lower(format!("{s:?}"))),
        Event::DtlsStateChange(s) => sink.on_dtls_state(&lower(format!("{s:?}"))),
        Event::IceCandidate(Some(c)) => sink.on_ice_candidate(&c.candidate, c.sdp_mid.as_deref().unwrap_or(""), c.sdp_mline_index.map_or(-1, |i| i as i32)),
        Event::IceCandidate(None) => sink.on_ice_candidate("", "", -1),
        Event::NegotiationNeeded => sink.on_negotiation_needed(),
        Event::DataChannel(dc) => sink.on_data_channel(Box::new(DataChannelHandle { dc: Some(dc), reader: Mutex::default() })),
        Event::Track { transceiver, track, streams } => {
            let mid = transceiver.mid().unwrap_or_default();
            let transceiver = Box::new(TransceiverHandle { transceiver: Some(transceiver) });
            sink.on_track(transceiver, TrackHandle::new(Some(track)), &mid, streams.first().map(String::as_str).unwrap_or(""))
        }
        Event::ToneReceived { transceiver, tone } => {
            sink.on_tone_received(transceiver.key(), &tone.tone.to_string(), u32::try_from(tone.duration.as_millis()).unwrap_or(u32::MAX))
        }
        _ => {}
    }
}

fn sdp_type(s: &str) -> Option<SdpType> {
    s.parse().ok()
}

impl PeerConnectionHandle {
    fn set_configuration(&self, config: &ConfigFfi) -> ErrorFfi {
        guard(
            "set_configuration",
            || match &self.pc {
                Some(pc) => result(configuration_from_ffi(config).and_then(|c| pc.set_configuration(c))),
                None => err(&closed()),
            },
            || internal("set_configuration"),
        )
    }

    fn creation_error(&self) -> ErrorFfi {
        self.creation_error.as_ref().map_or_else(ok, err)
    }

    fn create_offer(&self, ice_restart: bool, done: UniquePtr<SdpCallback>) {
        guard("create_offer", || self.sdp_op(done, |pc| Box::pin(pc.create_offer(OfferOptions { ice_restart }))), || ())
    }

    fn create_answer(&self, done: UniquePtr<SdpCallback>) {
        guard("create_answer", || self.sdp_op(done, |pc| Box::pin(pc.create_answer())), || ())
    }

    /// Starts an operation and completes it on the operations thread: `finish` gets its
    /// result there, or at once the error that kept it from starting (the connection's
    /// creation error when there is no connection).
    fn run<T, F>(&self, start: impl FnOnce(&PeerConnection) -> wkrtc::Result<F>, finish: impl FnOnce(wkrtc::Result<T>) + Send + 'static)
    where
        F: std::future::Future<Output = wkrtc::Result<T>> + Send + 'static,
    {
        let started = match (&self.pc, &self.jobs) {
            (Some(pc), Some(jobs)) => start(pc).map(|f| (f, jobs)),
            _ => Err(self.creation_error.clone().unwrap_or_else(closed)),
        };
        match started {
            Ok((fut, jobs)) => {
                let _ = jobs.send(Box::new(move || finish(futures::executor::block_on(fut))));
            }
            Err(e) => finish(Err(e)),
        }
    }

    fn sdp_op(&self, done: UniquePtr<SdpCallback>, start: impl FnOnce(&PeerConnection) -> SdpFuture) {
        self.run(
            |pc| Ok(start(pc)),
            move |r| {
                let Some(cb) = done.as_ref() else { return };
                match r {
                    Ok(d) => cb.done(d.sdp_type.as_str(), &d.sdp, "", ""),
                    Err(e) => cb.done("", "", e.name(), e.message()),
                }
            },
        )
    }

    fn void_op(&self, done: UniquePtr<VoidCallback>, start: impl FnOnce(&PeerConnection) -> wkrtc::Result<VoidFuture>) {
        self.run(start, move |r| {
            let Some(cb) = done.as_ref() else { return };
            match r {
                Ok(()) => cb.done("", ""),
                Err(e) => cb.done(e.name(), e.message()),
            }
        })
    }

    fn set_local_description(&self, sdp_type_name: &str, sdp: &str, done: UniquePtr<VoidCallback>) {
        let (t, sdp) = (sdp_type(sdp_type_name), sdp.to_owned());
        let name = sdp_type_name.to_owned();
        guard(
            "set_local_description",
            || {
                self.void_op(done, move |pc| match t {
                    // An empty description: the parameterless setLocalDescription().
                    _ if sdp.is_empty() && name.is_empty() => Ok(Box::pin(pc.set_local_description(None)) as VoidFuture),
                    Some(t) => Ok(Box::pin(pc.set_local_description(Some(SessionDescription::new(t, sdp)))) as VoidFuture),
                    None => Err(wkrtc::Error::Type(format!("'{name}' is not an RTCSdpType"))),
                })
            },
            || (),
        )
    }

    fn set_remote_description(&self, sdp_type_name: &str, sdp: &str, done: UniquePtr<VoidCallback>) {
        let (t, sdp, name) = (sdp_type(sdp_type_name), sdp.to_owned(), sdp_type_name.to_owned());
        guard(
            "set_remote_description",
            || {
                self.void_op(done, move |pc| match t {
                    Some(t) => Ok(Box::pin(pc.set_remote_description(SessionDescription::new(t, sdp))) as VoidFuture),
                    None => Err(wkrtc::Error::Type(format!("'{name}' is not an RTCSdpType"))),
                })
            },
            || (),
        )
    }

    fn add_ice_candidate(&self, candidate: &str, mid: &str, mline: i32, done: UniquePtr<VoidCallback>) {
        let c = (!candidate.is_empty()).then(|| IceCandidate {
            candidate: candidate.to_owned(),
            sdp_mid: (!mid.is_empty()).then(|| mid.to_owned()),
            sdp_mline_index: u32::try_from(mline).ok(),
            username_fragment: None,
        });
        guard("add_ice_candidate", || self.void_op(done, move |pc| Ok(Box::pin(pc.add_ice_candidate(c)) as VoidFuture)), || ())
    }

    fn get_stats(&self, done: UniquePtr<StatsCallback>) {
        guard(
            "get_stats",
            || {
                self.run(
                    |pc| Ok(pc.get_stats()),
                    move |r| {
                        let Some(cb) = done.as_ref() else { return };
                        match r {
                            Ok(report) => cb.done(&report.to_json().to_string(), "", ""),
                            Err(e) => cb.done("", e.name(), e.message()),
                        }
                    },
                )
            },
            || (),
        )
    }

    fn selected_candidate_pair(&self, done: UniquePtr<PairCallback>) {
        guard(
            "selected_candidate_pair",
            || {
                self.run(
                    |pc| Ok(pc.selected_candidate_pair()),
                    move |r| {
                        let Some(cb) = done.as_ref() else { return };
                        match r {
                            Ok(Some((local, remote))) => cb.done(&local.candidate, &remote.candidate, "", ""),
                            Ok(None) => cb.done("", "", "", ""),
                            Err(e) => cb.done("", "", e.name(), e.message()),
                        }
                    },
                )
            },
            || (),
        )
    }

    fn remote_certificates(&self) -> Vec<BytesFfi> {
        guard("remote_certificates", || self.pc.as_ref().map(PeerConnection::remote_certificates).unwrap_or_default(), Vec::new)
            .into_iter()
            .map(|bytes| BytesFfi { bytes })
            .collect()
    }

    fn restart_ice(&self) {
        guard(
            "restart_ice",
            || {
                if let Some(pc) = &self.pc {
                    pc.restart_ice();
                }
            },
            || (),
        )
    }

    fn create_data_channel(&self, label: &str, init: &ChannelInitFfi, error: &mut ErrorFfi) -> Box<DataChannelHandle> {
        let made = guard(
            "create_data_channel",
            || {
                let pc = self.pc.as_ref().ok_or_else(|| wkrtc::Error::InvalidState("no peer connection".into()))?;
                let opt = |v: i32| u16::try_from(v).ok();
                let init = DataChannelInit {
                    ordered: init.ordered,
                    max_retransmits: opt(init.max_retransmits),
                    max_packet_life_time: opt(init.max_packet_life_time),
                    protocol: init.protocol.clone(),
                    negotiated: init.negotiated,
                    id: opt(init.id),
                };
                pc.create_data_channel(label, init)
            },
            || Err(wkrtc::Error::Operation("internal error in wkrtc".into())),
        );
        match made {
            Ok(dc) => {
                *error = ok();
                Box::new(DataChannelHandle { dc: Some(dc), reader: Mutex::default() })
            }
            Err(e) => {
                *error = err(&e);
                Box::new(DataChannelHandle { dc: None, reader: Mutex::default() })
            }
        }
    }

    #[allow(clippy::ptr_arg)] // the bridge passes a C++ rust::Vec by reference
    fn add_track(&self, track: &TrackHandle, stream_ids: &Vec<String>, error: &mut ErrorFfi) -> Box<TransceiverHandle> {
        self.transceiver_op("add_track", error, || {
            let (pc, t) = self.with_track(track)?;
            let sender = pc.add_track(t, stream_ids)?;
            // The transceiver whose sender this is (a reused one, or a new one).
            pc.transceivers()
                .into_iter()
                .find(|tr| tr.sender().ssrc() == sender.ssrc())
                .ok_or_else(|| wkrtc::Error::Operation("the new sender has no transceiver".into()))
        })
    }

    #[allow(clippy::ptr_arg)] // the bridge passes a C++ rust::Vec by reference
    fn add_transceiver_of_kind(&self, kind: &str, direction: &str, stream_ids: &Vec<String>, error: &mut ErrorFfi) -> Box<TransceiverHandle> {
        self.transceiver_op("add_transceiver", error, || {
            let pc = self.pc.as_ref().ok_or_else(closed)?;
            pc.add_transceiver(TrackOrKind::Kind(kind_of(kind)?), transceiver_init(direction, stream_ids)?)
        })
    }

    #[allow(clippy::ptr_arg)] // the bridge passes a C++ rust::Vec by reference
    fn add_transceiver_with_track(&self, track: &TrackHandle, direction: &str, stream_ids: &Vec<String>, error: &mut ErrorFfi) -> Box<TransceiverHandle> {
        self.transceiver_op("add_transceiver", error, || {
            let (pc, t) = self.with_track(track)?;
            pc.add_transceiver(TrackOrKind::Track(t.clone()), transceiver_init(direction, stream_ids)?)
        })
    }

    fn remove_track(&self, transceiver: &TransceiverHandle) -> ErrorFfi {
        guard(
            "remove_track",
            || match (&self.pc, &transceiver.transceiver) {
                (Some(pc), Some(t)) => result(pc.remove_track(&t.sender())),
                _ => err(&closed()),
            },
            || internal("remove_track"),
        )
    }

    fn transceiver_count(&self) -> usize {
        guard("transceiver_count", || self.pc.as_ref().map_or(0, |pc| pc.transceivers().len()), || 0)
    }

    fn transceiver_at(&self, index: usize) -> Box<TransceiverHandle> {
        let transceiver = guard("transceiver_at", || self.pc.as_ref().and_then(|pc| pc.transceivers().into_iter().nth(index)), || None);
        Box::new(TransceiverHandle { transceiver })
    }

    fn with_track<'a>(&'a self, track: &'a TrackHandle) -> wkrtc::Result<(&'a PeerConnection, &'a MediaStreamTrack)> {
        match (&self.pc, &track.track) {
            (Some(pc), Some(t)) => Ok((pc, t)),
            (None, _) => Err(closed()),
            (_, None) => Err(wkrtc::Error::Type("no track".into())),
        }
    }

    fn transceiver_op(&self, what: &str, error: &mut ErrorFfi, f: impl FnOnce() -> wkrtc::Result<RtpTransceiver>) -> Box<TransceiverHandle> {
        let made = guard(what, f, || Err(wkrtc::Error::Operation(format!("internal error in wkrtc ({what})"))));
        *error = made.as_ref().map_or_else(err, |_| ok());
        Box::new(TransceiverHandle { transceiver: made.ok() })
    }

    fn sctp_max_message_size(&self) -> u64 {
        guard("sctp_max_message_size", || self.pc.as_ref().and_then(PeerConnection::sctp_max_message_size).unwrap_or(0), || 0)
    }

    fn signaling_state(&self) -> String {
        self.pc.as_ref().map(|pc| pc.signaling_state().as_str().to_owned()).unwrap_or_else(|| "closed".into())
    }

    fn connection_state(&self) -> String {
        self.pc.as_ref().map(|pc| format!("{:?}", pc.connection_state()).to_lowercase()).unwrap_or_else(|| "closed".into())
    }

    fn local_description(&self) -> String {
        self.pc.as_ref().and_then(PeerConnection::local_description).map(|d| d.sdp).unwrap_or_default()
    }

    fn remote_description(&self) -> String {
        self.pc.as_ref().and_then(PeerConnection::remote_description).map(|d| d.sdp).unwrap_or_default()
    }

    fn description(&self, pick: impl FnOnce(&PeerConnection) -> Option<SessionDescription>) -> ffi::DescriptionFfi {
        let d = self.pc.as_ref().and_then(pick);
        ffi::DescriptionFfi { sdp_type: d.as_ref().map(|d| d.sdp_type.as_str().to_owned()).unwrap_or_default(), sdp: d.map(|d| d.sdp).unwrap_or_default() }
    }

    fn current_local_description(&self) -> ffi::DescriptionFfi {
        self.description(PeerConnection::current_local_description)
    }

    fn pending_local_description(&self) -> ffi::DescriptionFfi {
        self.description(PeerConnection::pending_local_description)
    }

    fn current_remote_description(&self) -> ffi::DescriptionFfi {
        self.description(PeerConnection::current_remote_description)
    }

    fn pending_remote_description(&self) -> ffi::DescriptionFfi {
        self.description(PeerConnection::pending_remote_description)
    }

    fn ice_gathering_state(&self) -> String {
        self.pc.as_ref().map(|pc| format!("{:?}", pc.ice_gathering_state()).to_lowercase()).unwrap_or_else(|| "new".into())
    }

    fn ice_connection_state(&self) -> String {
        self.pc.as_ref().map(|pc| format!("{:?}", pc.ice_connection_state()).to_lowercase()).unwrap_or_else(|| "closed".into())
    }

    fn can_trickle_ice_candidates(&self) -> i32 {
        match self.pc.as_ref().and_then(PeerConnection::can_trickle_ice_candidates) {
            Some(true) => 1,
            Some(false) => 0,
            None => -1,
        }
    }

    fn close(&self) {
        guard(
            "close",
            || {
                if let Some(pc) = &self.pc {
                    pc.close();
                }
            },
            || (),
        )
    }
}

type SdpFuture = std::pin::Pin<Box<dyn std::future::Future<Output = wkrtc::Result<SessionDescription>> + Send>>;
type VoidFuture = std::pin::Pin<Box<dyn std::future::Future<Output = wkrtc::Result<()>> + Send>>;

/// `RTCDataChannel` for C++.
pub struct DataChannelHandle {
    dc: Option<DataChannel>,
    /// The thread forwarding events to the sink, once one is set.
    reader: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl DataChannelHandle {
    fn label(&self) -> String {
        self.dc.as_ref().map(DataChannel::label).unwrap_or_default()
    }

    fn protocol(&self) -> String {
        self.dc.as_ref().map(DataChannel::protocol).unwrap_or_default()
    }

    fn ordered(&self) -> bool {
        self.dc.as_ref().is_none_or(DataChannel::ordered)
    }

    fn negotiated(&self) -> bool {
        self.dc.as_ref().is_some_and(DataChannel::negotiated)
    }

    fn id(&self) -> i32 {
        self.dc.as_ref().and_then(DataChannel::id).map_or(-1, i32::from)
    }

    fn max_retransmits(&self) -> i32 {
        self.dc.as_ref().and_then(DataChannel::max_retransmits).map_or(-1, i32::from)
    }

    fn max_packet_life_time(&self) -> i32 {
        self.dc.as_ref().and_then(DataChannel::max_packet_life_time).map_or(-1, i32::from)
    }

    fn set_buffered_amount_low_threshold(&self, bytes: u64) {
        if let Some(d) = &self.dc {
            d.set_buffered_amount_low_threshold(bytes);
        }
    }

    fn ready_state(&self) -> String {
        self.dc.as_ref().map(|d| format!("{:?}", d.ready_state()).to_lowercase()).unwrap_or_else(|| "closed".into())
    }

    fn buffered_amount(&self) -> u64 {
        self.dc.as_ref().map(DataChannel::buffered_amount).unwrap_or(0)
    }

    /// Forwards the channel's events (from the first one) to `sink`, on a thread of its own.
    fn set_sink(&self, sink: UniquePtr<ChannelSink>) {
        guard(
            "set_sink",
            || {
                let Some(dc) = &self.dc else { return };
                let mut reader = self.reader.lock().unwrap_or_else(|e| e.into_inner());
                if reader.is_some() {
                    return;
                }
                let (events, open) = (dc.events(), dc.ready_state() == wkrtc::DataChannelState::Open);
                *reader = std::thread::Builder::new()
                    .name("wkrtc-webkit-channel".into())
                    .spawn(move || {
                        let Some(sink) = sink.as_ref() else { return };
                        if open {
                            sink.on_open();
                        }
                        for ev in events.iter() {
                            let last = matches!(ev, DataChannelEvent::Close);
                            let delivered = catch_unwind(AssertUnwindSafe(|| match ev {
                                DataChannelEvent::Open => sink.on_open(),
                                DataChannelEvent::Message(Message::Text(t)) => sink.on_text(&t),
                                DataChannelEvent::Message(Message::Binary(b)) => sink.on_binary(&b),
                                DataChannelEvent::BufferedAmountLow => sink.on_buffered_amount_low(),
                                DataChannelEvent::Close => sink.on_close(),
                                DataChannelEvent::Error(e) => sink.on_error(e.name(), e.message()),
                                _ => {}
                            }));
                            if delivered.is_err() || last {
                                break;
                            }
                        }
                    })
                    .ok();
            },
            || (),
        )
    }

    fn send_text(&self, text: &str) -> ErrorFfi {
        guard("send_text", || self.dc.as_ref().map_or_else(|| err(&wkrtc::Error::closed_channel()), |d| result(d.send_text(text))), || internal("send_text"))
    }

    fn send_binary(&self, data: &[u8]) -> ErrorFfi {
        guard(
            "send_binary",
            || self.dc.as_ref().map_or_else(|| err(&wkrtc::Error::closed_channel()), |d| result(d.send_binary(data))),
            || internal("send_binary"),
        )
    }

    fn close(&self) {
        guard(
            "close",
            || {
                if let Some(d) = &self.dc {
                    d.close();
                }
            },
            || (),
        )
    }
}

trait ClosedChannel {
    fn closed_channel() -> Self;
}

impl ClosedChannel for wkrtc::Error {
    fn closed_channel() -> Self {
        wkrtc::Error::InvalidState("the data channel was never created".into())
    }
}

fn closed() -> wkrtc::Error {
    wkrtc::Error::InvalidState("the peer connection is closed or was not created".into())
}

fn transceiver_init(direction: &str, stream_ids: &[String]) -> wkrtc::Result<TransceiverInit> {
    Ok(TransceiverInit { direction: RtpTransceiverDirection::parse(direction)?, streams: stream_ids.to_vec(), ..TransceiverInit::default() })
}

/// `RTCRtpTransceiver` for C++, with its sender and receiver.
pub struct TransceiverHandle {
    transceiver: Option<RtpTransceiver>,
}

impl TransceiverHandle {
    fn with<T>(&self, what: &str, fallback: impl FnOnce() -> T, f: impl FnOnce(&RtpTransceiver) -> T) -> T {
        match &self.transceiver {
            Some(t) => guard(what, || f(t), fallback),
            None => fallback(),
        }
    }

    fn key(&self) -> usize {
        self.with("key", || 0, RtpTransceiver::key)
    }

    fn kind(&self) -> String {
        self.with("kind", String::new, |t| t.kind().as_str().to_owned())
    }

    fn mid(&self) -> String {
        self.with("mid", String::new, |t| t.mid().unwrap_or_default())
    }

    fn direction(&self) -> String {
        self.with("direction", String::new, |t| t.direction().as_str().to_owned())
    }

    fn current_direction(&self) -> String {
        self.with("current_direction", String::new, |t| t.current_direction().map(|d| d.as_str().to_owned()).unwrap_or_default())
    }

    fn set_direction(&self, direction: &str) -> ErrorFfi {
        self.with("set_direction", || err(&closed()), |t| result(RtpTransceiverDirection::parse(direction).and_then(|d| t.set_direction(d))))
    }

    fn stop(&self) {
        self.with("stop", || (), RtpTransceiver::stop)
    }

    fn stopped(&self) -> bool {
        self.with("stopped", || true, RtpTransceiver::stopped)
    }

    fn receiving(&self) -> bool {
        self.with("receiving", || false, RtpTransceiver::receiving)
    }

    fn receiver_stream_ids(&self) -> Vec<String> {
        self.with("receiver_stream_ids", Vec::new, |t| t.receiver().stream_ids())
    }

    #[allow(clippy::ptr_arg)] // the bridge passes a C++ rust::Vec by reference
    fn set_sender_streams(&self, stream_ids: &Vec<String>) -> ErrorFfi {
        self.with("set_sender_streams", || err(&closed()), |t| result(t.sender().set_streams(stream_ids)))
    }

    fn can_insert_dtmf(&self) -> bool {
        self.with("can_insert_dtmf", || false, |t| t.sender().dtmf().is_some_and(|d| d.can_insert_dtmf()))
    }

    fn play_tone(&self, tone: &str, duration_ms: u32, played: UniquePtr<VoidCallback>) -> ErrorFfi {
        self.with(
            "play_tone",
            || err(&closed()),
            |t| {
                let Some(dtmf) = t.sender().dtmf() else {
                    return err(&wkrtc::Error::InvalidState("a video sender has no DTMF sender".into()));
                };
                let mut chars = tone.chars();
                let (Some(c), None) = (chars.next(), chars.next()) else {
                    return err(&wkrtc::Error::InvalidCharacter(format!("'{tone}' is not one DTMF tone")));
                };
                result(dtmf.play_tone(c, duration_ms, move || {
                    if let Some(played) = played.as_ref() {
                        guard("play_tone callback", || played.done("", ""), || ());
                    }
                }))
            },
        )
    }

    fn receiver_track(&self) -> Box<TrackHandle> {
        TrackHandle::new(self.with("receiver_track", || None, |t| Some(t.receiver().track())))
    }

    #[allow(clippy::ptr_arg)] // the bridge passes a C++ rust::Vec by reference
    fn set_codec_preferences(&self, codecs: &Vec<CodecCapabilityFfi>) -> ErrorFfi {
        self.with(
            "set_codec_preferences",
            || err(&closed()),
            |t| {
                let codecs: Vec<RtpCodecCapability> = codecs.iter().map(codec_from_ffi).collect();
                result(t.set_codec_preferences(&codecs))
            },
        )
    }

    /// wkrtc's replaceTrack completes at once (no await inside), so it runs here.
    fn replace_track(&self, track: &TrackHandle) -> ErrorFfi {
        self.with("replace_track", || err(&closed()), |t| result(futures::executor::block_on(t.sender().replace_track(track.track.clone()))))
    }

    fn clear_track(&self) -> ErrorFfi {
        self.with("clear_track", || err(&closed()), |t| result(futures::executor::block_on(t.sender().replace_track(None))))
    }

    fn send_parameters(&self) -> SendParametersFfi {
        let empty = || SendParametersFfi {
            transaction_id: String::new(),
            active: false,
            max_bitrate: 0,
            max_framerate: 0.0,
            scale_resolution_down_by: 0.0,
            codecs: Vec::new(),
            payload_types: Vec::new(),
        };
        self.with("send_parameters", empty, |t| {
            let p = t.sender().parameters();
            let encoding = p.encodings.first().cloned().unwrap_or_default();
            SendParametersFfi {
                transaction_id: p.transaction_id,
                active: encoding.active,
                max_bitrate: encoding.max_bitrate.unwrap_or(0),
                max_framerate: encoding.max_framerate.unwrap_or(0.0),
                scale_resolution_down_by: encoding.scale_resolution_down_by.unwrap_or(0.0),
                payload_types: p.codecs.iter().map(|c| c.payload_type).collect(),
                codecs: p.codecs.into_iter().map(|c| codec_to_ffi(c.codec)).collect(),
            }
        })
    }

    fn set_send_parameters(&self, parameters: &SendParametersFfi) -> ErrorFfi {
        self.with(
            "set_send_parameters",
            || err(&closed()),
            |t| {
                let sender = t.sender();
                let mut p = sender.parameters();
                p.transaction_id = parameters.transaction_id.clone();
                p.encodings = vec![RtpEncodingParameters {
                    active: parameters.active,
                    max_bitrate: (parameters.max_bitrate > 0).then_some(parameters.max_bitrate),
                    max_framerate: (parameters.max_framerate > 0.0).then_some(parameters.max_framerate),
                    scale_resolution_down_by: (parameters.scale_resolution_down_by > 0.0).then_some(parameters.scale_resolution_down_by),
                }];
                result(futures::executor::block_on(sender.set_parameters(p)))
            },
        )
    }
}

fn codec_to_ffi(c: RtpCodecCapability) -> CodecCapabilityFfi {
    CodecCapabilityFfi {
        mime_type: c.mime_type,
        clock_rate: c.clock_rate,
        channels: c.channels.unwrap_or(0),
        sdp_fmtp_line: c.sdp_fmtp_line.unwrap_or_default(),
    }
}

fn codec_from_ffi(c: &CodecCapabilityFfi) -> RtpCodecCapability {
    RtpCodecCapability {
        mime_type: c.mime_type.clone(),
        clock_rate: c.clock_rate,
        channels: (c.channels > 0).then_some(c.channels),
        sdp_fmtp_line: (!c.sdp_fmtp_line.is_empty()).then(|| c.sdp_fmtp_line.clone()),
    }
}

fn devices(salt: &str, fake: bool) -> wkrtc::capture::MediaDevices {
    if fake {
        wkrtc::capture::MediaDevices::fake(salt)
    } else {
        wkrtc::capture::MediaDevices::new(salt)
    }
}

/// A W3C error, with an OverconstrainedError's constraint carried in the message.
fn capture_error(e: &wkrtc::Error) -> ErrorFfi {
    match e.constraint() {
        Some(c) => ErrorFfi { name: e.name().into(), message: format!("constraint={c}: {}", e.message()) },
        None => err(e),
    }
}

fn enumerate_devices(salt: &str, fake: bool, error: &mut ErrorFfi) -> Vec<DeviceInfoFfi> {
    let listed = guard("enumerate_devices", || devices(salt, fake).enumerate_devices(), || Err(wkrtc::Error::Operation("internal error in wkrtc".into())));
    *error = listed.as_ref().map_or_else(err, |_| ok());
    listed
        .unwrap_or_default()
        .into_iter()
        .map(|d| DeviceInfoFfi { device_id: d.device_id, kind: d.kind.as_str().into(), label: d.label, group_id: d.group_id })
        .collect()
}

fn get_user_media(salt: &str, fake: bool, constraints: &str, error: &mut ErrorFfi) -> Box<CaptureHandle> {
    let opened = guard(
        "get_user_media",
        || {
            let json: serde_json::Value = serde_json::from_str(constraints).map_err(|e| wkrtc::Error::Type(format!("constraints are not JSON: {e}")))?;
            devices(salt, fake).get_user_media(&json)
        },
        || Err(wkrtc::Error::Operation("internal error in wkrtc".into())),
    );
    *error = opened.as_ref().map_or_else(capture_error, |_| ok());
    Box::new(CaptureHandle { tracks: opened.unwrap_or_default() })
}

/// A getUserMedia result for C++.
pub struct CaptureHandle {
    tracks: Vec<wkrtc::capture::CaptureTrack>,
}

impl CaptureHandle {
    fn with<T>(&self, index: usize, what: &str, fallback: impl FnOnce() -> T, f: impl FnOnce(&wkrtc::capture::CaptureTrack) -> T) -> T {
        match self.tracks.get(index) {
            Some(t) => guard(what, || f(t), fallback),
            None => fallback(),
        }
    }

    fn count(&self) -> usize {
        self.tracks.len()
    }

    fn track(&self, index: usize) -> Box<TrackHandle> {
        TrackHandle::new(self.with(index, "track", || None, |t| Some(t.track().clone())))
    }

    fn settings(&self, index: usize) -> String {
        self.with(index, "settings", String::new, |t| t.settings().to_string())
    }

    fn capabilities(&self, index: usize) -> String {
        self.with(index, "capabilities", String::new, |t| t.capabilities().to_string())
    }

    fn constraints(&self, index: usize) -> String {
        self.with(index, "constraints", String::new, |t| t.constraints().to_string())
    }

    fn apply_constraints(&self, index: usize, constraints: &str) -> ErrorFfi {
        self.with(
            index,
            "apply_constraints",
            || err(&wkrtc::Error::NotFound("no such capture track".into())),
            |t| match serde_json::from_str::<serde_json::Value>(constraints) {
                Ok(json) => t.apply_constraints(&json).map_or_else(|e| capture_error(&e), |_| ok()),
                Err(e) => err(&wkrtc::Error::Type(format!("constraints are not JSON: {e}"))),
            },
        )
    }

    fn stop(&self) {
        for t in &self.tracks {
            guard("stop", || t.stop(), || ());
        }
    }
}

/// `MediaStreamTrack` for C++.
pub struct TrackHandle {
    track: Option<MediaStreamTrack>,
    /// This handle's frame callback on the track.
    sink: Mutex<Option<u64>>,
}

impl TrackHandle {
    fn new(track: Option<MediaStreamTrack>) -> Box<Self> {
        Box::new(Self { track, sink: Mutex::default() })
    }
}

impl Drop for TrackHandle {
    fn drop(&mut self) {
        self.clear_frame_sink();
    }
}

fn kind_of(kind: &str) -> wkrtc::Result<MediaKind> {
    MediaKind::parse(kind)
}

fn codec_capabilities(kind: &str, sending: bool, known: &mut bool) -> Vec<CodecCapabilityFfi> {
    guard(
        "codec_capabilities",
        || {
            let Ok(kind) = kind_of(kind) else {
                *known = false;
                return Vec::new();
            };
            *known = true;
            let codecs = if sending { wkrtc::media::sender_capabilities(kind) } else { wkrtc::media::receiver_capabilities(kind) };
            codecs.into_iter().map(codec_to_ffi).collect()
        },
        Vec::new,
    )
}

fn header_extension_capabilities(kind: &str) -> Vec<String> {
    guard("header_extension_capabilities", || kind_of(kind).map(|_| vec![wkrtc::jsep::TRANSPORT_CC.to_owned()]).unwrap_or_default(), Vec::new)
}

fn create_test_pattern_track(kind: &str, width: u32, height: u32, error: &mut ErrorFfi) -> Box<TrackHandle> {
    let made = guard(
        "create_test_pattern_track",
        || MediaStreamTrack::test_pattern(kind_of(kind)?, TestPattern { width, height, ..TestPattern::default() }),
        || Err(wkrtc::Error::Operation("internal error in wkrtc".into())),
    );
    *error = made.as_ref().map_or_else(err, |_| ok());
    TrackHandle::new(made.ok())
}

fn create_external_track(kind: &str, label: &str, error: &mut ErrorFfi) -> Box<TrackHandle> {
    let made = guard(
        "create_external_track",
        || kind_of(kind).map(|k| MediaStreamTrack::external(k, label)),
        || Err(wkrtc::Error::Operation("internal error".into())),
    );
    *error = made.as_ref().map_or_else(err, |_| ok());
    TrackHandle::new(made.ok())
}

impl TrackHandle {
    fn kind(&self) -> String {
        self.track.as_ref().map(|t| t.kind().as_str().to_owned()).unwrap_or_default()
    }

    fn id(&self) -> String {
        self.track.as_ref().map(|t| t.id().to_owned()).unwrap_or_default()
    }

    fn frames(&self) -> u64 {
        self.track.as_ref().map_or(0, MediaStreamTrack::frames)
    }

    fn set_enabled(&self, enabled: bool) {
        if let Some(t) = &self.track {
            t.set_enabled(enabled);
        }
    }

    /// Hands every frame to `sink` as a borrowed `GstSample*`, zero copy.
    fn set_frame_sink(&self, sink: UniquePtr<FrameSink>) {
        guard(
            "set_frame_sink",
            || {
                let Some(t) = &self.track else { return };
                let mut current = self.sink.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(old) = current.take() {
                    t.remove_sample_callback(old);
                }
                *current = Some(t.on_sample(move |sample| {
                    let Some(sink) = sink.as_ref() else { return };
                    let (w, h) = sample
                        .caps()
                        .and_then(|c| c.structure(0).map(|s| (s.get::<i32>("width").unwrap_or(0), s.get::<i32>("height").unwrap_or(0))))
                        .unwrap_or((0, 0));
                    let ptr = sample.as_ptr() as usize;
                    if catch_unwind(AssertUnwindSafe(|| sink.on_frame(ptr, w, h))).is_err() {
                        eprintln!("wkrtc-webkit: internal error (panic) delivering a frame");
                    }
                }));
            },
            || (),
        )
    }

    fn clear_frame_sink(&self) {
        guard(
            "clear_frame_sink",
            || {
                let id = self.sink.lock().unwrap_or_else(|e| e.into_inner()).take();
                if let (Some(t), Some(id)) = (&self.track, id) {
                    t.remove_sample_callback(id);
                }
            },
            || (),
        )
    }

    /// # Safety
    /// `sample` is a valid `GstSample*` for the duration of the call, or 0.
    unsafe fn push_sample(&self, sample: usize) -> ErrorFfi {
        if sample == 0 {
            return err(&wkrtc::Error::Type("a null sample".into()));
        }
        // SAFETY: the caller passes a valid GstSample*; from_glib_none takes its own reference.
        let sample = unsafe { gst::Sample::from_glib_none(sample as *mut gst::ffi::GstSample) };
        guard(
            "push_sample",
            || self.track.as_ref().map_or_else(|| err(&wkrtc::Error::InvalidState("no track".into())), |t| result(t.push_sample(&sample))),
            || internal("push_sample"),
        )
    }

    fn stop(&self) {
        if let Some(t) = &self.track {
            t.stop();
        }
    }
}

// SPDX-License-Identifier: MPL-2.0
//! `RTCRtpTransceiver`, `RTCRtpSender` and `RTCRtpReceiver`
//! (<https://w3c.github.io/webrtc-pc/#rtp-media-api>).
//!
//! The objects hold the W3C state; the peer connection binds them to webrtcbin's
//! transceivers and builds their GStreamer chains once a negotiation completes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use gst::prelude::*;

use super::codec::{CodecSpec, MediaKind, RtpCodecCapability};
use super::track::{next_id, MediaStreamTrack, Output};
use crate::engine::media::{EncodingKnobs, SendChain, DEFAULT_AUDIO_BITRATE, DEFAULT_VIDEO_BITRATE};
use crate::jsep::RtpTransceiverDirection;
use crate::lock;
use crate::{Error, Result};

/// `RTCRtpEncodingParameters` (one encoding: wkrtc does not send simulcast).
#[derive(Debug, Clone, PartialEq)]
pub struct RtpEncodingParameters {
    /// `active`: false stops sending without renegotiation.
    pub active: bool,
    /// `maxBitrate` in bits per second.
    pub max_bitrate: Option<u32>,
    /// `maxFramerate`.
    pub max_framerate: Option<f64>,
    /// `scaleResolutionDownBy` (video), at least 1.
    pub scale_resolution_down_by: Option<f64>,
}

impl Default for RtpEncodingParameters {
    fn default() -> Self {
        Self { active: true, max_bitrate: None, max_framerate: None, scale_resolution_down_by: None }
    }
}

/// `RTCRtpCodecParameters`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpCodecParameters {
    /// The negotiated payload type.
    pub payload_type: u8,
    /// The codec.
    pub codec: RtpCodecCapability,
}

/// `RTCRtpSendParameters`.
#[derive(Debug, Clone, PartialEq)]
pub struct RtpSendParameters {
    /// Ties a `set_parameters` to the `parameters` it modifies.
    pub transaction_id: String,
    /// One encoding.
    pub encodings: Vec<RtpEncodingParameters>,
    /// The negotiated send codec, once negotiated.
    pub codecs: Vec<RtpCodecParameters>,
}

pub(crate) struct SenderInner {
    pub kind: MediaKind,
    pub ssrc: u32,
    output_id: u64,
    track: Mutex<Option<MediaStreamTrack>>,
    pub streams: Mutex<Vec<String>>,
    /// The transceiver's negotiation hook, shared with it.
    on_change: ChangeHook,
    encoding: Mutex<(String, RtpEncodingParameters)>,
    pub chain: Mutex<Option<SendChain>>,
    /// The negotiated direction lets this sender send.
    sending: AtomicBool,
    stopped: AtomicBool,
    /// `dtmf` (audio senders).
    pub dtmf: Arc<super::dtmf::DtmfShared>,
}

/// `RTCRtpSender`. Clones are the same sender.
#[derive(Clone)]
pub struct RtpSender {
    pub(crate) inner: Arc<SenderInner>,
}

impl std::fmt::Debug for RtpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtpSender").field("kind", &self.inner.kind).field("track", &self.track()).finish()
    }
}

/// Told when a transceiver or its sender changed in a way that may need negotiation.
pub(crate) type ChangeHook = Arc<Mutex<Option<Box<dyn Fn() + Send + Sync>>>>;

impl RtpSender {
    fn new(kind: MediaKind, track: Option<MediaStreamTrack>, streams: Vec<String>, on_change: ChangeHook) -> Self {
        let mut ssrc = [0u8; 4];
        crate::engine::random_bytes(&mut ssrc);
        Self {
            inner: Arc::new(SenderInner {
                kind,
                ssrc: u32::from_be_bytes(ssrc).max(1),
                output_id: next_id(),
                track: Mutex::new(track),
                streams: Mutex::new(streams),
                on_change,
                encoding: Mutex::new((super::track::uuid(), RtpEncodingParameters::default())),
                chain: Mutex::default(),
                sending: AtomicBool::new(false),
                stopped: AtomicBool::new(false),
                dtmf: super::dtmf::DtmfShared::new(),
            }),
        }
    }

    /// `track`.
    pub fn track(&self) -> Option<MediaStreamTrack> {
        lock(&self.inner.track).clone()
    }

    /// The kind of media this sender carries.
    pub fn kind(&self) -> MediaKind {
        self.inner.kind
    }

    /// The sender's SSRC.
    pub fn ssrc(&self) -> u32 {
        self.inner.ssrc
    }

    /// `replaceTrack`: swaps the track without renegotiation. `None` sends nothing.
    ///
    /// Errors: `InvalidStateError` once the sender is stopped, `TypeError` for a track of
    /// the other kind.
    pub async fn replace_track(&self, track: Option<MediaStreamTrack>) -> Result<()> {
        if self.inner.stopped.load(Ordering::Relaxed) {
            return Err(Error::InvalidState("the sender is stopped".into()));
        }
        if let Some(t) = &track {
            if t.kind() != self.inner.kind {
                return Err(Error::Type(format!("a {} track cannot replace a {} sender's", t.kind(), self.inner.kind)));
            }
        }
        let old = std::mem::replace(&mut *lock(&self.inner.track), track);
        if let Some(old) = old {
            old.detach(self.inner.output_id);
        }
        self.refresh_output();
        if let Some(chain) = lock(&self.inner.chain).as_ref() {
            chain.request_key_frame();
        }
        Ok(())
    }

    /// Sets the track without the checks (`addTrack` on a reused transceiver).
    pub(crate) fn set_track(&self, track: Option<MediaStreamTrack>) {
        let old = std::mem::replace(&mut *lock(&self.inner.track), track);
        if let Some(old) = old {
            old.detach(self.inner.output_id);
        }
        self.refresh_output();
    }

    /// The encoder's figures and element name, while the sender has a send chain.
    pub(crate) fn encoder_figures(&self) -> Option<(crate::engine::media::CodecFigures, String)> {
        lock(&self.inner.chain).as_ref().map(|c| (c.counters.figures(), c.counters.implementation.clone()))
    }

    /// `getParameters`.
    pub fn parameters(&self) -> RtpSendParameters {
        let (txn, enc) = lock(&self.inner.encoding).clone();
        let codecs = lock(&self.inner.chain)
            .as_ref()
            .map(|c| vec![RtpCodecParameters { payload_type: c.payload_type, codec: c.codec.capability() }])
            .unwrap_or_default();
        RtpSendParameters { transaction_id: txn, encodings: vec![enc], codecs }
    }

    /// `setParameters`: applies `active`, `maxBitrate`, `maxFramerate` and
    /// `scaleResolutionDownBy` to the running encoder, without renegotiation.
    ///
    /// Errors: `InvalidStateError` when stopped; `InvalidModificationError` for a stale
    /// transaction id or a different number of encodings; `RangeError` for a scale below 1
    /// or a frame rate or bitrate of 0.
    pub async fn set_parameters(&self, params: RtpSendParameters) -> Result<()> {
        if self.inner.stopped.load(Ordering::Relaxed) {
            return Err(Error::InvalidState("the sender is stopped".into()));
        }
        let mut current = lock(&self.inner.encoding);
        if params.transaction_id != current.0 {
            return Err(Error::InvalidModification("the parameters are not the last ones get_parameters returned".into()));
        }
        let [enc] = params.encodings.as_slice() else {
            return Err(Error::InvalidModification("wkrtc sends one encoding; the number of encodings cannot change".into()));
        };
        // NaN and infinities are out of range too.
        if enc.scale_resolution_down_by.is_some_and(|s| !s.is_finite() || s < 1.0) {
            return Err(Error::Range("scaleResolutionDownBy must be at least 1".into()));
        }
        if enc.scale_resolution_down_by.is_some() && self.inner.kind == MediaKind::Audio {
            return Err(Error::Range("scaleResolutionDownBy applies to video only".into()));
        }
        if enc.max_framerate.is_some_and(|f| !f.is_finite() || f <= 0.0) || enc.max_bitrate == Some(0) {
            return Err(Error::Range("maxFramerate and maxBitrate must be positive".into()));
        }
        *current = (super::track::uuid(), enc.clone());
        drop(current);
        if let Some(chain) = lock(&self.inner.chain).as_ref() {
            chain.apply(self.knobs());
        }
        self.refresh_output();
        Ok(())
    }

    /// What the encoder is told now.
    pub(crate) fn knobs(&self) -> EncodingKnobs {
        let enc = lock(&self.inner.encoding).1.clone();
        let default = match self.inner.kind {
            MediaKind::Video => DEFAULT_VIDEO_BITRATE,
            MediaKind::Audio => DEFAULT_AUDIO_BITRATE,
        };
        EncodingKnobs {
            bitrate: enc.max_bitrate.map_or(default, |m| m.min(default.max(m))),
            max_framerate: enc.max_framerate,
            scale_down_by: enc.scale_resolution_down_by,
        }
    }

    /// Attaches the chain's appsrc to the track when the sender sends, detaches otherwise.
    pub(crate) fn refresh_output(&self) {
        let track = self.track();
        let Some(track) = track else { return };
        let active = lock(&self.inner.encoding).1.active;
        let appsrc = lock(&self.inner.chain).as_ref().map(|c| c.appsrc.clone());
        match appsrc {
            Some(appsrc) if active && self.inner.sending.load(Ordering::Relaxed) && !self.inner.stopped.load(Ordering::Relaxed) => {
                track.attach(Output::Sender(self.inner.output_id, appsrc));
            }
            _ => track.detach(self.inner.output_id),
        }
    }

    pub(crate) fn set_sending(&self, sending: bool) {
        self.inner.sending.store(sending, Ordering::Relaxed);
        self.refresh_output();
    }

    /// `dtmf`: the DTMF sender of an audio sender; `None` for video (W3C).
    pub fn dtmf(&self) -> Option<super::dtmf::DtmfSender> {
        (self.inner.kind == MediaKind::Audio).then(|| super::dtmf::DtmfSender { shared: Arc::clone(&self.inner.dtmf) })
    }

    pub(crate) fn stop(&self) {
        self.inner.stopped.store(true, Ordering::Relaxed);
        self.inner.dtmf.stop();
        if let Some(t) = self.track() {
            t.detach(self.inner.output_id);
        }
    }

    /// The streams the track is announced in (`a=msid`).
    pub fn stream_ids(&self) -> Vec<String> {
        lock(&self.inner.streams).clone()
    }

    /// `setStreams`: the streams later descriptions announce the track in; negotiation is
    /// needed when they differ from the current ones.
    ///
    /// Errors: `InvalidStateError` once the sender is stopped (its connection closed or its
    /// transceiver stopped), `NotSupportedError` for an id with a NUL character.
    pub fn set_streams(&self, streams: &[String]) -> Result<()> {
        if self.inner.stopped.load(Ordering::Acquire) {
            return Err(Error::InvalidState("setStreams on a stopped sender".into()));
        }
        streams.iter().try_for_each(|id| crate::error::check_no_nul(id, "a stream id"))?;
        let mut unique: Vec<String> = Vec::with_capacity(streams.len());
        for id in streams {
            if !unique.contains(id) {
                unique.push(id.clone());
            }
        }
        *lock(&self.inner.streams) = unique;
        if let Some(f) = lock(&self.inner.on_change).as_ref() {
            f();
        }
        Ok(())
    }
}

pub(crate) struct ReceiverInner {
    pub track: MediaStreamTrack,
    pub chain: Mutex<Option<gst::Bin>>,
    /// The decoder's counters, once a stream arrived.
    pub decoder: Mutex<Option<Arc<crate::engine::media::CodecCounters>>>,
    pub streams: Mutex<Vec<String>>,
    /// The SSRC of the stream it receives, once one arrived.
    pub remote_ssrc: std::sync::atomic::AtomicU32,
}

/// `RTCRtpReceiver`. Clones are the same receiver.
#[derive(Clone)]
pub struct RtpReceiver {
    pub(crate) inner: Arc<ReceiverInner>,
}

impl std::fmt::Debug for RtpReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtpReceiver").field("track", &self.inner.track).finish()
    }
}

impl RtpReceiver {
    /// `track`: always present; muted until media arrives. Its frames are the decoded
    /// `GstSample`s, delivered to [`MediaStreamTrack::on_sample`] callbacks.
    pub fn track(&self) -> MediaStreamTrack {
        self.inner.track.clone()
    }

    /// Frames (video) or audio buffers decoded so far.
    pub fn frames_decoded(&self) -> u64 {
        self.inner.track.frames()
    }

    /// The decoder's figures and element name, once a stream arrived.
    pub(crate) fn decoder_figures(&self) -> Option<(crate::engine::media::CodecFigures, String)> {
        lock(&self.inner.decoder).as_ref().map(|c| (c.figures(), c.implementation.clone()))
    }

    /// The remote streams the track belongs to (from the remote `a=msid`).
    pub fn stream_ids(&self) -> Vec<String> {
        lock(&self.inner.streams).clone()
    }
}

pub(crate) struct TransceiverState {
    /// webrtcbin's transceiver.
    pub gst: Option<gst_webrtc::WebRTCRTPTransceiver>,
    pub mid: Option<String>,
    pub mline: Option<u32>,
    pub direction: RtpTransceiverDirection,
    pub current_direction: Option<RtpTransceiverDirection>,
    pub stopped: bool,
    pub codec_preferences: Vec<&'static CodecSpec>,
    /// The remote side has sent on this transceiver in the current description (the
    /// `track` event was fired).
    pub remote_sending: bool,
    /// The current direction has included sending at some point (W3C: such a transceiver
    /// is not reused by `addTrack`).
    pub ever_sent: bool,
    /// Made by `addTrack`: a remote offer may take it over (W3C).
    pub added_by_track: bool,
    /// Made for a remote offer's section.
    pub from_remote: bool,
}

pub(crate) struct TransceiverInner {
    pub kind: MediaKind,
    pub sender: RtpSender,
    pub receiver: RtpReceiver,
    pub state: Mutex<TransceiverState>,
    pub on_change: ChangeHook,
}

/// `RTCRtpTransceiver`. Clones are the same transceiver.
#[derive(Clone)]
pub struct RtpTransceiver {
    pub(crate) inner: Arc<TransceiverInner>,
}

impl std::fmt::Debug for RtpTransceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.state();
        f.debug_struct("RtpTransceiver").field("kind", &self.inner.kind).field("mid", &st.mid).field("direction", &st.direction).finish()
    }
}

impl PartialEq for RtpTransceiver {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl RtpTransceiver {
    pub(crate) fn new(kind: MediaKind, direction: RtpTransceiverDirection, track: Option<MediaStreamTrack>, streams: Vec<String>) -> Self {
        let on_change = ChangeHook::default();
        Self {
            inner: Arc::new(TransceiverInner {
                kind,
                sender: RtpSender::new(kind, track, streams, on_change.clone()),
                receiver: RtpReceiver {
                    inner: Arc::new(ReceiverInner {
                        track: MediaStreamTrack::remote(kind),
                        chain: Mutex::default(),
                        decoder: Mutex::default(),
                        streams: Mutex::default(),
                        remote_ssrc: Default::default(),
                    }),
                },
                state: Mutex::new(TransceiverState {
                    gst: None,
                    mid: None,
                    mline: None,
                    direction,
                    current_direction: None,
                    stopped: false,
                    codec_preferences: Vec::new(),
                    remote_sending: false,
                    ever_sent: false,
                    added_by_track: false,
                    from_remote: false,
                }),
                on_change,
            }),
        }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, TransceiverState> {
        lock(&self.inner.state)
    }

    /// The media kind.
    pub fn kind(&self) -> MediaKind {
        self.inner.kind
    }
    /// `mid`, once negotiated.
    pub fn mid(&self) -> Option<String> {
        self.state().mid.clone()
    }
    /// `sender`.
    pub fn sender(&self) -> RtpSender {
        self.inner.sender.clone()
    }
    /// `receiver`.
    pub fn receiver(&self) -> RtpReceiver {
        self.inner.receiver.clone()
    }
    /// `direction`.
    pub fn direction(&self) -> RtpTransceiverDirection {
        let st = self.state();
        if st.stopped {
            RtpTransceiverDirection::Stopped
        } else {
            st.direction
        }
    }
    /// `currentDirection`: the direction the last negotiation settled; `None` before.
    pub fn current_direction(&self) -> Option<RtpTransceiverDirection> {
        let st = self.state();
        if st.stopped {
            Some(RtpTransceiverDirection::Stopped)
        } else {
            st.current_direction
        }
    }
    /// A number that identifies this transceiver, the same for all its clones (for
    /// embedders that keep their own objects per transceiver).
    pub fn key(&self) -> usize {
        Arc::as_ptr(&self.inner) as usize
    }
    /// Whether the remote description has the peer sending on this transceiver: the
    /// receiving half of the W3C [[FiredDirection]], which decides the `track` event.
    pub fn receiving(&self) -> bool {
        self.state().remote_sending
    }
    /// `stopped`... wkrtc's `stopping` and `stopped` are one state (see docs/decisions.md).
    pub fn stopped(&self) -> bool {
        self.state().stopped
    }

    /// `direction = ...`: takes effect at the next negotiation (`negotiationneeded` fires).
    ///
    /// Errors: `InvalidStateError` once stopped; `TypeError` for `Stopped` (use [`Self::stop`]).
    pub fn set_direction(&self, direction: RtpTransceiverDirection) -> Result<()> {
        if direction == RtpTransceiverDirection::Stopped {
            return Err(Error::Type("direction 'stopped' cannot be set; call stop()".into()));
        }
        {
            let mut st = self.state();
            if st.stopped {
                return Err(Error::InvalidState("the transceiver is stopped".into()));
            }
            if st.direction == direction {
                return Ok(());
            }
            st.direction = direction;
            if let Some(g) = &st.gst {
                g.set_property("direction", to_gst(direction));
            }
        }
        self.changed();
        Ok(())
    }

    /// `stop`: stops sending and receiving at once; the m-line becomes inactive at the next
    /// negotiation.
    pub fn stop(&self) {
        if self.mark_stopped() {
            self.changed();
        }
    }

    /// Stops without asking for a negotiation (the peer rejected the m-line); false if it
    /// was stopped already.
    pub(crate) fn mark_stopped(&self) -> bool {
        {
            let mut st = self.state();
            if st.stopped {
                return false;
            }
            st.stopped = true;
            if let Some(g) = &st.gst {
                g.set_property("direction", gst_webrtc::WebRTCRTPTransceiverDirection::Inactive);
            }
        }
        self.inner.sender.stop();
        self.inner.receiver.inner.track.end_from_source();
        true
    }

    /// `setCodecPreferences`: the codecs to negotiate, in order; empty restores the default.
    ///
    /// Errors: `InvalidModificationError` for a codec wkrtc cannot receive (W3C: the list
    /// must come from `RTCRtpReceiver.getCapabilities`). RTX entries are accepted and
    /// implied.
    pub fn set_codec_preferences(&self, codecs: &[RtpCodecCapability]) -> Result<()> {
        let mut specs: Vec<&'static CodecSpec> = Vec::new();
        for c in codecs {
            if c.mime_type.eq_ignore_ascii_case("video/rtx") {
                continue;
            }
            let spec = CodecSpec::by_mime_type(&c.mime_type)
                .filter(|s| s.kind == self.inner.kind && s.clock_rate == c.clock_rate && s.can_receive())
                .ok_or_else(|| Error::InvalidModification(format!("{} is not a {} codec wkrtc receives", c.mime_type, self.inner.kind)))?;
            if !specs.iter().any(|s| std::ptr::eq(*s, spec)) {
                specs.push(spec);
            }
        }
        if specs.is_empty() && !codecs.is_empty() {
            return Err(Error::InvalidModification("codec preferences need at least one media codec besides RTX".into()));
        }
        self.state().codec_preferences = specs;
        Ok(())
    }

    fn changed(&self) {
        if let Some(f) = lock(&self.inner.on_change).as_ref() {
            f();
        }
    }
}

/// webrtcbin's direction for a W3C direction.
pub(crate) fn to_gst(d: RtpTransceiverDirection) -> gst_webrtc::WebRTCRTPTransceiverDirection {
    use gst_webrtc::WebRTCRTPTransceiverDirection as G;
    match d {
        RtpTransceiverDirection::SendRecv => G::Sendrecv,
        RtpTransceiverDirection::SendOnly => G::Sendonly,
        RtpTransceiverDirection::RecvOnly => G::Recvonly,
        RtpTransceiverDirection::Inactive | RtpTransceiverDirection::Stopped => G::Inactive,
    }
}

/// The codecs a transceiver negotiates, best first: its preferences, or every codec of its
/// kind wkrtc can use in its direction.
pub(crate) fn negotiable_codecs(kind: MediaKind, direction: RtpTransceiverDirection, preferences: &[&'static CodecSpec]) -> Vec<&'static CodecSpec> {
    let usable = |c: &&'static CodecSpec| c.kind == kind && (!direction.sends() || c.can_send()) && c.can_receive();
    if preferences.is_empty() {
        super::codec::CODECS.iter().filter(usable).collect()
    } else {
        preferences.iter().copied().filter(|c| c.kind == kind && (!direction.sends() || c.can_send())).collect()
    }
}

/// Codec preferences for webrtcbin: one `application/x-rtp` structure per codec. With
/// payload types (`offer`), webrtcbin writes them into an offer; without, it intersects
/// them with an offer and keeps the offerer's numbers.
pub(crate) fn preference_caps(codecs: &[(&'static CodecSpec, Option<u8>)], ssrc: Option<u32>) -> gst::Caps {
    let mut caps = gst::Caps::new_empty();
    {
        let caps = caps.make_mut();
        for (c, pt) in codecs {
            let mut s = gst::Structure::builder("application/x-rtp")
                .field("media", c.kind.as_str())
                .field("encoding-name", c.encoding_name)
                .field("clock-rate", c.clock_rate as i32)
                .build();
            if let Some(ch) = c.channels {
                s.set("encoding-params", ch.to_string());
            }
            match pt {
                Some(pt) => {
                    s.set("payload", i32::from(*pt));
                    for (k, v) in c.fmtp {
                        s.set(*k, *v);
                    }
                }
                None => {
                    for (k, v) in c.required_fmtp {
                        s.set(*k, *v);
                    }
                }
            }
            if let Some(ssrc) = ssrc {
                s.set("ssrc", ssrc);
            }
            caps.append_structure(s);
        }
    }
    caps
}

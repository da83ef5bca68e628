// SPDX-License-Identifier: MPL-2.0
//! `RTCPeerConnection` (<https://w3c.github.io/webrtc-pc/#interface-definition>).
//!
//! Every SDP operation goes through the operations chain
//! (<https://w3c.github.io/webrtc-pc/#operations-chain>): it is queued when called and runs
//! on the wkrtc worker thread after the previous one finished, so callers get W3C ordering
//! whatever executor they await on. webrtcbin's signals arrive on its own threads and are
//! turned into [`Event`]s, in order, on one channel.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use futures::FutureExt;

mod media;
pub use media::{TrackOrKind, TransceiverInit};

use crate::configuration::EngineIceServers;
use crate::data_channel::{DataChannel, DataChannelInit};
use crate::engine::dtls::{FingerprintGate, Verdict};
use crate::engine::ice::IceCredentials;
use crate::engine::session::{Session, SessionSignal, Sink};
use crate::engine::{self, CAT};
use crate::jsep::{
    CandidateRoute, HashAlgorithm, IceCandidate, Jsep, ParsedDescription, SdpType, SessionDescription, Side, SignalingState, DEFAULT_MAX_MESSAGE_SIZE,
    MAX_SEND_SIZE,
};
use crate::lock;
use crate::media::{MediaStreamTrack, RtpTransceiver};
use crate::{Certificate, Configuration, Error, Result, Settings};

/// How long one webrtcbin call in an operation may take before it is an `OperationError`.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);
/// RFC 8841, section 6: the message size to assume when the peer gives no max-message-size.
const MAX_MESSAGE_SIZE_WITHOUT_ATTRIBUTE: u64 = 65536;
/// Remote candidates remembered for re-use after an ICE restart; a peer rarely has more
/// than a dozen, and this bounds what a hostile one can make wkrtc keep.
const MAX_REMEMBERED_CANDIDATES: usize = 64;
/// Remote candidates a connection takes through `addIceCandidate`, over its life: each one
/// makes libnice form and check pairs, so a peer that trickles without end would cost
/// without end.
const MAX_REMOTE_CANDIDATES: usize = 1024;

/// `RTCIceGatheringState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IceGatheringState {
    /// Nothing gathered yet.
    New,
    /// Gathering.
    Gathering,
    /// Done.
    Complete,
}

/// `RTCIceConnectionState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IceConnectionState {
    /// No checks yet.
    New,
    /// Checking candidate pairs.
    Checking,
    /// A usable pair was found.
    Connected,
    /// Checks finished.
    Completed,
    /// Connectivity was lost.
    Disconnected,
    /// No pair works.
    Failed,
    /// The connection is closed.
    Closed,
}

/// `RTCPeerConnectionState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerConnectionState {
    /// Nothing started.
    New,
    /// ICE or DTLS under way.
    Connecting,
    /// ICE and DTLS connected.
    Connected,
    /// Connectivity was lost.
    Disconnected,
    /// ICE or DTLS failed (including a certificate that does not match the fingerprint).
    Failed,
    /// The connection is closed.
    Closed,
}

/// `RTCDtlsTransportState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtlsTransportState {
    /// Not started.
    New,
    /// Handshake under way.
    Connecting,
    /// Handshake done and the peer certificate verified.
    Connected,
    /// Closed.
    Closed,
    /// Failed.
    Failed,
}

/// What a peer connection reports, in order.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// `signalingstatechange`.
    SignalingStateChange(SignalingState),
    /// `icegatheringstatechange`.
    IceGatheringStateChange(IceGatheringState),
    /// `iceconnectionstatechange`.
    IceConnectionStateChange(IceConnectionState),
    /// `connectionstatechange`.
    ConnectionStateChange(PeerConnectionState),
    /// The DTLS transport's `statechange`.
    DtlsStateChange(DtlsTransportState),
    /// `icecandidate`; `None` once gathering is complete (the W3C's null candidate).
    IceCandidate(Option<IceCandidate>),
    /// `icecandidateerror`: a configured STUN or TURN server gave no candidate.
    IceCandidateError {
        /// The server's URL as configured.
        url: String,
        /// 701: no host candidate could reach the server (W3C).
        error_code: u16,
        /// What went wrong.
        error_text: String,
    },
    /// `negotiationneeded`.
    NegotiationNeeded,
    /// `datachannel`: the peer opened a channel.
    DataChannel(DataChannel),
    /// The peer sent a DTMF tone (RFC 4733) on the audio of `transceiver`; reported once,
    /// when the tone ends. There is no W3C event for it.
    ToneReceived {
        /// The transceiver whose receiver got the tone.
        transceiver: RtpTransceiver,
        /// The tone and how long the peer played it.
        tone: crate::ReceivedTone,
    },
    /// `track`: the peer sends on a transceiver. The track is muted until media arrives;
    /// decoded frames reach [`MediaStreamTrack::on_sample`] callbacks.
    Track {
        /// The transceiver.
        transceiver: RtpTransceiver,
        /// Its receiver's track.
        track: MediaStreamTrack,
        /// The remote stream ids (`a=msid`).
        streams: Vec<String>,
    },
}

/// `RTCOfferOptions`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OfferOptions {
    /// Generate new ICE credentials.
    pub ice_restart: bool,
}

type Op = Box<dyn FnOnce(Arc<Inner>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

struct Inner {
    /// The configuration in force and its servers in webrtcbin's terms (`setConfiguration`
    /// replaces both).
    config: Mutex<(Configuration, EngineIceServers)>,
    settings: Settings,
    /// The DTLS identity: the configuration's first certificate, or one made for this
    /// connection. Every session generation presents it.
    certificate: Certificate,
    events: flume::Sender<Event>,
    receiver: flume::Receiver<Event>,
    ops: flume::Sender<Op>,
    /// The peer's max-message-size, read by every data channel's `send`.
    max_message_size: Arc<AtomicU64>,
    /// The RTP streams of the last stats report (see `keep_rtp_streams`).
    rtp_streams: Mutex<Vec<crate::stats::collect::Raw>>,
    /// DTMF tones the peer sends, taken out of the incoming audio.
    telephone: Arc<engine::media::TelephoneEvents>,
    state: Mutex<State>,
}

struct State {
    jsep: Jsep,
    session: Option<Arc<Session>>,
    /// Bumped when the session is rebuilt: signals of an older session are ignored.
    generation: u64,
    gate: Arc<FingerprintGate>,
    /// The mids of the local description webrtcbin has, to label its candidates.
    local_mids: Vec<Option<String>>,
    ice_gathering: IceGatheringState,
    ice_connection: IceConnectionState,
    connection: PeerConnectionState,
    dtls: DtlsTransportState,
    negotiation_needed_pending: bool,
    /// The W3C's [[NegotiationNeeded]]: `negotiationneeded` fired and no negotiation has
    /// completed since, so more changes do not fire it again.
    negotiation_needed: bool,
    /// A local data channel exists, so the session needs a data section.
    wants_data_section: bool,
    /// Every channel, local or remote, to close them with the connection.
    channels: Vec<DataChannel>,
    /// Locally created channels not negotiated yet, to recreate after a rollback.
    unnegotiated: Vec<(DataChannel, String, DataChannelInit)>,
    gathered_srflx: bool,
    gathered_relay: bool,
    /// Local ICE credentials wkrtc put in force with a restart (webrtcbin keeps writing its
    /// first ones into descriptions); `None` until the first restart.
    local_ice: Option<IceCredentials>,
    /// The remote ufrag in force, to notice the peer restarting ICE.
    remote_ufrag: Option<String>,
    /// `restartIce()` was called: the next offer restarts ICE.
    restart_requested: bool,
    /// A restart happened: announce the local candidates again after the next local
    /// description (libnice does not gather again).
    reannounce_candidates: bool,
    /// Every local candidate webrtcbin reported, by m-line.
    local_candidates: Vec<(u32, String)>,
    /// The remote candidates added so far (at most `MAX_REMEMBERED_CANDIDATES`).
    remote_candidates: Vec<(u32, String)>,
    /// How many remote candidates were added, at most `MAX_REMOTE_CANDIDATES`.
    remote_candidates_added: usize,
    /// A restart cleared libnice's remote candidates: add them again once the next remote
    /// description is in force (the peer's candidates outlive a restart; any it announces
    /// again are the same lines).
    readd_remote_candidates: bool,
    /// Every transceiver, in creation order.
    transceivers: Vec<RtpTransceiver>,

    closed: bool,
    failed: Option<String>,
}

impl State {
    /// The W3C's "check if negotiation is needed", for what wkrtc negotiates: a local data
    /// channel exists and no data section has been negotiated yet. webrtcbin 1.22 raises
    /// negotiation-needed more often than that (on the answerer, for example).
    fn needs_negotiation(&self) -> bool {
        (self.wants_data_section && !self.data_negotiated()) || (self.restart_requested && self.jsep.has_negotiated()) || Inner::media_needs_negotiation(self)
    }

    /// True once the current local description has a data section.
    fn data_negotiated(&self) -> bool {
        self.jsep.current_local_description().is_some_and(|d| d.sdp.contains("\nm=application"))
    }
}

/// `RTCPeerConnection` on one webrtcbin.
///
/// Dropping it closes the connection.
pub struct PeerConnection {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PeerConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerConnection").field("signaling_state", &self.signaling_state()).field("connection_state", &self.connection_state()).finish()
    }
}

impl PeerConnection {
    /// A connection with default [`Settings`].
    pub fn new(config: Configuration) -> Result<Self> {
        Self::with_settings(config, Settings::default())
    }

    /// A connection with explicit engine settings.
    ///
    /// Errors: the configuration's (`SyntaxError`, `InvalidAccessError`, `NotSupportedError`),
    /// and `NotSupportedError` when GStreamer lacks a required plugin.
    pub fn with_settings(config: Configuration, settings: Settings) -> Result<Self> {
        engine::init()?;
        let servers = config.validate()?;
        let certificate = match config.certificates.first() {
            Some(c) => c.clone(),
            None => Certificate::generate(settings.certificate_key, None)?,
        };
        let (events, receiver) = flume::unbounded();
        let (ops, ops_rx) = flume::unbounded::<Op>();
        let inner = Arc::new_cyclic(|weak: &Weak<Inner>| Inner {
            config: Mutex::new((config, servers)),
            settings,
            certificate,
            events,
            receiver,
            ops,
            max_message_size: Arc::new(AtomicU64::new(MAX_MESSAGE_SIZE_WITHOUT_ATTRIBUTE)),
            rtp_streams: Mutex::default(),
            telephone: Arc::default(),
            state: Mutex::new(State {
                jsep: Jsep::new(),
                session: None,
                generation: 0,
                gate: make_gate(weak.clone(), 0),
                local_mids: Vec::new(),
                ice_gathering: IceGatheringState::New,
                ice_connection: IceConnectionState::New,
                connection: PeerConnectionState::New,
                dtls: DtlsTransportState::New,
                negotiation_needed_pending: false,
                negotiation_needed: false,
                wants_data_section: false,
                channels: Vec::new(),
                unnegotiated: Vec::new(),
                gathered_srflx: false,
                gathered_relay: false,
                local_ice: None,
                remote_ufrag: None,
                restart_requested: false,
                reannounce_candidates: false,
                local_candidates: Vec::new(),
                remote_candidates: Vec::new(),
                remote_candidates_added: 0,
                readd_remote_candidates: false,
                transceivers: Vec::new(),
                closed: false,
                failed: None,
            }),
        });
        let weak = Arc::downgrade(&inner);
        inner.telephone.on_tone(move |ssrc, tone| {
            if let Some(inner) = weak.upgrade() {
                inner.tone_received(ssrc, tone);
            }
        });
        let session = {
            let st = inner.lock();
            inner.new_session(0, &st.gate)?
        };
        inner.lock().session = Some(Arc::new(session));

        let weak = Arc::downgrade(&inner);
        engine::worker()?.spawn(async move {
            while let Ok(op) = ops_rx.recv_async().await {
                let Some(inner) = weak.upgrade() else { break };
                op(inner).await;
            }
        });
        Ok(Self { inner })
    }

    /// The connection's events, in order. Clones of the receiver share one queue.
    pub fn events(&self) -> flume::Receiver<Event> {
        self.inner.receiver.clone()
    }

    /// Queues `f` on the operations chain; the returned future resolves with its result.
    fn chain<T, F, Fut>(&self, f: F) -> impl Future<Output = Result<T>> + Send + 'static
    where
        T: Send + 'static,
        F: FnOnce(Arc<Inner>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        let (tx, rx) = flume::bounded(1);
        let op: Op = Box::new(move |inner| {
            Box::pin(async move {
                let result = AssertUnwindSafe(f(inner)).catch_unwind().await.unwrap_or_else(|panic| {
                    let what = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned());
                    Err(Error::Operation(format!("internal error in wkrtc: {}", what.unwrap_or_default())))
                });
                let _ = tx.send(result);
            })
        });
        let queued = !self.inner.lock().closed && self.inner.ops.send(op).is_ok();
        async move {
            if !queued {
                return Err(Error::closed());
            }
            rx.recv_async().await.unwrap_or_else(|_| Err(Error::closed()))
        }
    }

    /// `createOffer`.
    pub fn create_offer(&self, options: OfferOptions) -> impl Future<Output = Result<SessionDescription>> + Send + 'static {
        self.chain(move |inner| async move { inner.create_offer(options).await })
    }

    /// `createAnswer`.
    pub fn create_answer(&self) -> impl Future<Output = Result<SessionDescription>> + Send + 'static {
        self.chain(|inner| async move { inner.create_answer().await })
    }

    /// `setLocalDescription`; `None` creates the offer or answer the state calls for.
    pub fn set_local_description(&self, desc: Option<SessionDescription>) -> impl Future<Output = Result<()>> + Send + 'static {
        self.chain(move |inner| async move { inner.set_local_description(desc).await })
    }

    /// `setRemoteDescription`.
    pub fn set_remote_description(&self, desc: SessionDescription) -> impl Future<Output = Result<()>> + Send + 'static {
        self.chain(move |inner| async move { inner.set_remote_description(desc).await })
    }

    /// `addIceCandidate`; `None` (or an empty candidate) is end-of-candidates.
    pub fn add_ice_candidate(&self, candidate: Option<IceCandidate>) -> impl Future<Output = Result<()>> + Send + 'static {
        let early = candidate.as_ref().and_then(|c| c.check_target().err());
        self.chain(move |inner| async move {
            match early {
                Some(e) => Err(e),
                None => inner.add_ice_candidate(candidate),
            }
        })
    }

    /// `restartIce`: the next offer restarts ICE with new credentials, and
    /// `negotiationneeded` fires. Media and data carry on over the old path meanwhile.
    pub fn restart_ice(&self) {
        {
            let mut st = self.inner.lock();
            if st.closed {
                return;
            }
            st.restart_requested = true;
        }
        self.inner.check_negotiation();
    }

    /// `createDataChannel`.
    pub fn create_data_channel(&self, label: &str, init: DataChannelInit) -> Result<DataChannel> {
        init.validate(label)?;
        let session = self.inner.live_session()?;
        let first = !std::mem::replace(&mut self.inner.lock().wants_data_section, true);
        let channel = session.create_data_channel(label, init.to_structure())?;
        let dc = DataChannel::wrap(channel, self.inner.max_message_size.clone());
        let mut st = self.inner.lock();
        st.channels.push(dc.clone());
        if !st.data_negotiated() {
            st.unnegotiated.push((dc.clone(), label.to_owned(), init));
        }
        drop(st);
        if first {
            self.inner.check_negotiation();
        }
        Ok(dc)
    }

    /// `close`: stops everything at once; fires no events (W3C).
    pub fn close(&self) {
        let (session, channels) = {
            let mut st = self.inner.lock();
            if st.closed {
                return;
            }
            st.closed = true;
            st.jsep.close();
            st.ice_connection = IceConnectionState::Closed;
            st.connection = PeerConnectionState::Closed;
            st.dtls = DtlsTransportState::Closed;
            st.unnegotiated.clear();
            Inner::stop_media(&st.transceivers);
            (st.session.take(), std::mem::take(&mut st.channels))
        };
        for dc in channels {
            dc.mark_closed(false);
        }
        if let Some(session) = session {
            session.stop();
        }
        gst::debug!(CAT, "peer connection closed");
    }

    /// `signalingState`.
    pub fn signaling_state(&self) -> SignalingState {
        self.inner.lock().jsep.state()
    }
    /// `iceGatheringState`.
    pub fn ice_gathering_state(&self) -> IceGatheringState {
        self.inner.lock().ice_gathering
    }
    /// `iceConnectionState`.
    pub fn ice_connection_state(&self) -> IceConnectionState {
        self.inner.lock().ice_connection
    }
    /// `connectionState`.
    pub fn connection_state(&self) -> PeerConnectionState {
        self.inner.lock().connection
    }
    /// `localDescription`.
    pub fn local_description(&self) -> Option<SessionDescription> {
        self.inner.lock().jsep.local_description().cloned()
    }
    /// `remoteDescription`.
    pub fn remote_description(&self) -> Option<SessionDescription> {
        self.inner.lock().jsep.remote_description().cloned()
    }
    /// `currentLocalDescription`.
    pub fn current_local_description(&self) -> Option<SessionDescription> {
        self.inner.lock().jsep.current_local_description().cloned()
    }
    /// `pendingLocalDescription`.
    pub fn pending_local_description(&self) -> Option<SessionDescription> {
        self.inner.lock().jsep.pending_local_description().cloned()
    }
    /// `currentRemoteDescription`.
    pub fn current_remote_description(&self) -> Option<SessionDescription> {
        self.inner.lock().jsep.current_remote_description().cloned()
    }
    /// `pendingRemoteDescription`.
    pub fn pending_remote_description(&self) -> Option<SessionDescription> {
        self.inner.lock().jsep.pending_remote_description().cloned()
    }
    /// `canTrickleIceCandidates`: unknown (`None`) until a remote description is set.
    pub fn can_trickle_ice_candidates(&self) -> Option<bool> {
        let st = self.inner.lock();
        st.jsep.remote_description().map(|d| d.sdp.lines().any(|l| l.starts_with("a=ice-options:") && l.contains("trickle")))
    }
    /// `getStats()`: the W3C report of the whole connection.
    ///
    /// Errors: `InvalidStateError` once closed.
    pub fn get_stats(&self) -> impl Future<Output = Result<crate::stats::StatsReport>> + Send + 'static {
        let session = self.inner.live_session();
        let snapshot = self.stats_snapshot();
        let inner = self.inner.clone();
        async move {
            let raw = session?.raw_stats().await?;
            let mut entries = crate::stats::collect::raw_entries(&raw);
            crate::stats::collect::keep_rtp_streams(&mut entries, &mut lock(&inner.rtp_streams));
            Ok(crate::stats::collect::report(&entries, &snapshot))
        }
    }

    /// `sender.getStats()`: the sender's outbound stream and what it refers to (W3C stats
    /// selection algorithm).
    pub fn get_sender_stats(&self, sender: &crate::RtpSender) -> impl Future<Output = Result<crate::stats::StatsReport>> + Send + 'static {
        let all = self.get_stats();
        let ssrc = sender.ssrc();
        async move {
            let all = all.await?;
            let roots: Vec<String> =
                all.of_type(crate::stats::StatsType::OutboundRtp).filter(|s| s.number("ssrc") == Some(f64::from(ssrc))).map(|s| s.id.clone()).collect();
            Ok(all.selection(&roots.iter().map(String::as_str).collect::<Vec<_>>()))
        }
    }

    /// `receiver.getStats()`: the receiver's inbound stream and what it refers to.
    pub fn get_receiver_stats(&self, receiver: &crate::RtpReceiver) -> impl Future<Output = Result<crate::stats::StatsReport>> + Send + 'static {
        let all = self.get_stats();
        let track = receiver.track().id().to_owned();
        async move {
            let all = all.await?;
            let roots: Vec<String> =
                all.of_type(crate::stats::StatsType::InboundRtp).filter(|s| s.text("trackIdentifier") == Some(track.as_str())).map(|s| s.id.clone()).collect();
            Ok(all.selection(&roots.iter().map(String::as_str).collect::<Vec<_>>()))
        }
    }

    /// What wkrtc itself knows for a stats report.
    fn stats_snapshot(&self) -> crate::stats::collect::Snapshot {
        use crate::stats::collect::{ChannelSnapshot, Snapshot, TransceiverSnapshot};
        let (channels, dtls, local_candidates, remote_candidates, traffic) = {
            let st = self.inner.lock();
            let lines = |v: &Vec<(u32, String)>| v.iter().map(|(_, l)| l.clone()).collect::<Vec<_>>();
            let traffic = st.session.as_ref().map(|s| {
                use std::sync::atomic::Ordering::Relaxed;
                let t = &s.traffic;
                (t.packets_sent.load(Relaxed), t.bytes_sent.load(Relaxed), t.packets_received.load(Relaxed), t.bytes_received.load(Relaxed))
            });
            (
                st.channels.clone(),
                st.session.as_ref().and_then(|s| s.dtls_state()),
                lines(&st.local_candidates),
                lines(&st.remote_candidates),
                traffic.unwrap_or_default(),
            )
        };
        let lower = |s: String| s.to_lowercase();
        let local = self.current_local_description().or_else(|| self.local_description());
        let remote = self.current_remote_description().or_else(|| self.remote_description());
        let parsed = |d: &Option<SessionDescription>| d.as_ref().and_then(|d| ParsedDescription::parse(&d.sdp).ok());
        let (local_parsed, remote_parsed) = (parsed(&local), parsed(&remote));
        let ufrag = |p: &Option<ParsedDescription>| p.as_ref().and_then(|p| p.ice_credentials()).map(|(ufrag, _)| ufrag);
        let setup = |p: &Option<ParsedDescription>| p.as_ref().and_then(ParsedDescription::setup);
        let fingerprint = |p: &Option<ParsedDescription>| {
            let first = p.as_ref().and_then(|p| p.fingerprints().ok()).and_then(|f| f.into_iter().next());
            first.map(|f| (f.algorithm.name().to_owned(), f.hex()))
        };
        let transceivers = self
            .transceivers()
            .into_iter()
            .map(|t| {
                let (sender, receiver) = (t.sender(), t.receiver());
                let (sent, received) = (sender.track(), receiver.track());
                let parameters = sender.parameters();
                let encoding = parameters.encodings.first();
                let sends = t.current_direction().is_some_and(|d| d.sends());
                TransceiverSnapshot {
                    mid: t.mid(),
                    kind: t.kind().as_str(),
                    sender_ssrc: sender.ssrc(),
                    sending: sends && sent.is_some(),
                    active: encoding.is_none_or(|e| e.active),
                    sender_track: sent.as_ref().map(|tr| (tr.id().to_owned(), tr.frames())),
                    source_size: sent.as_ref().and_then(MediaStreamTrack::frame_size),
                    source_rate: sent.as_ref().map_or(0.0, MediaStreamTrack::frame_rate),
                    source_levels: sent.as_ref().and_then(MediaStreamTrack::audio_levels),
                    scale_down: encoding.and_then(|e| e.scale_resolution_down_by).unwrap_or(1.0),
                    target_bitrate: encoding.and_then(|e| e.max_bitrate).unwrap_or(match t.kind() {
                        crate::MediaKind::Video => crate::engine::media::DEFAULT_VIDEO_BITRATE,
                        crate::MediaKind::Audio => crate::engine::media::DEFAULT_AUDIO_BITRATE,
                    }),
                    codec: parameters.codecs.first().map(|c| (c.payload_type, c.codec.clone())),
                    receiver_track_id: received.id().to_owned(),
                    frames_decoded: receiver.frames_decoded(),
                    frame_size: received.frame_size(),
                    received_levels: received.audio_levels(),
                    receiving: t.receiving(),
                    encoder: sender.encoder_figures(),
                    decoder: receiver.decoder_figures(),
                }
            })
            .collect();
        Snapshot {
            timestamp: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0),
            transceivers,
            channels: channels
                .iter()
                .map(|c| ChannelSnapshot {
                    label: c.label(),
                    protocol: c.protocol(),
                    id: c.id(),
                    state: lower(format!("{:?}", c.ready_state())),
                    counters: c.counters(),
                })
                .collect(),
            ice_state: lower(format!("{:?}", self.ice_connection_state())),
            dtls_state: dtls.map_or_else(|| "new".to_owned(), |d| lower(format!("{d:?}"))),
            ice_ufrag: ufrag(&local_parsed),
            remote_ufrag: ufrag(&remote_parsed),
            traffic,
            local_candidates,
            remote_candidates,
            // The offerer controls ICE (RFC 8445 with full ICE on both sides); the side whose
            // description says a=setup:active is the DTLS client.
            ice_role: local.as_ref().map(|d| if d.sdp_type == SdpType::Offer { "controlling" } else { "controlled" }),
            // An offer says actpass: then the answer's choice decides.
            dtls_role: match (setup(&local_parsed).as_deref(), setup(&remote_parsed).as_deref()) {
                (Some("active"), _) | (Some("actpass"), Some("passive")) => Some("client"),
                (Some("passive"), _) | (Some("actpass"), Some("active")) => Some("server"),
                _ => None,
            },
            local_fingerprint: fingerprint(&local_parsed),
            remote_fingerprint: fingerprint(&remote_parsed),
            remote_ssrcs: remote_parsed.map(|p| p.media_sections().into_iter().filter_map(|m| Some((m.mid?, m.ssrcs))).collect()).unwrap_or_default(),
        }
    }
    /// `sctp.maxMessageSize`: the largest message wkrtc sends on a data channel (the peer's
    /// limit, capped by wkrtc's); `None` until a remote description has a data section.
    pub fn sctp_max_message_size(&self) -> Option<u64> {
        let has_data = {
            let st = self.inner.lock();
            let remote = st.jsep.remote_description().map(|d| d.sdp.clone());
            remote.and_then(|sdp| ParsedDescription::parse(&sdp).ok()).is_some_and(|p| p.has_data_channel())
        };
        has_data.then(|| self.inner.max_message_size.load(Ordering::Relaxed))
    }
    /// `getConfiguration`.
    pub fn configuration(&self) -> Configuration {
        lock(&self.inner.config).0.clone()
    }

    /// `setConfiguration`: the new ICE servers and transport policy apply to the candidates
    /// gathered from now on (the first gathering, or the next ICE restart).
    ///
    /// Errors: `InvalidStateError` once closed; `InvalidModificationError` for other
    /// certificates or another bundle policy than the connection's (W3C); the server checks
    /// of [`PeerConnection::new`] (`SyntaxError`, `InvalidAccessError`, `NotSupportedError`).
    pub fn set_configuration(&self, config: Configuration) -> Result<()> {
        self.inner.set_configuration(config)
    }
    /// `RTCDtlsTransport.getRemoteCertificates()`: the certificate the peer presented (DER),
    /// once it matched the remote description's fingerprints; empty before.
    pub fn remote_certificates(&self) -> Vec<Vec<u8>> {
        self.inner.lock().gate.peer_certificate().into_iter().collect()
    }

    /// `RTCIceTransport.getSelectedCandidatePair()` (local, remote), read from the transport's
    /// statistics; `None` before a pair is selected.
    pub fn selected_candidate_pair(&self) -> impl Future<Output = Result<Option<(IceCandidate, IceCandidate)>>> + Send + 'static {
        let stats = self.get_stats();
        async move { Ok(stats.await?.selected_candidate_pair()) }
    }

    /// The certificate this connection presents in its DTLS handshakes, whose fingerprint
    /// its descriptions carry (the configuration's first, or the one wkrtc generated).
    pub fn certificate(&self) -> Certificate {
        self.inner.certificate.clone()
    }
}

impl Drop for PeerConnection {
    fn drop(&mut self) {
        self.close();
    }
}

fn make_gate(weak: Weak<Inner>, generation: u64) -> Arc<FingerprintGate> {
    FingerprintGate::new(move |verdict| {
        if let Some(inner) = weak.upgrade() {
            match verdict {
                // States that waited for the certificate check are read again.
                Verdict::Verified => inner.later(move |inner| inner.refresh_transport_states(generation)),
                Verdict::Rejected(reason) => inner.fail_later(generation, reason),
            }
        }
    })
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // State is only mutated in short sections without calls out; a poisoned lock still
        // holds consistent data.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An answer (or pranswer) applied on `side` must match the offer it answers, the other
    /// side's pending description (RFC 8829, section 5.3.1).
    fn check_answer(&self, side: Side, t: SdpType, answer: &ParsedDescription) -> Result<()> {
        if !matches!(t, SdpType::Answer | SdpType::Pranswer) {
            return Ok(());
        }
        let offer = {
            let st = self.lock();
            match side {
                Side::Local => st.jsep.pending_remote_description().cloned(),
                Side::Remote => st.jsep.pending_local_description().cloned(),
            }
        };
        match offer {
            Some(offer) => answer.check_answers(&ParsedDescription::parse(&offer.sdp)?),
            None => Ok(()),
        }
    }

    /// The W3C "set a configuration" steps after construction.
    fn set_configuration(self: &Arc<Self>, next: Configuration) -> Result<()> {
        if self.lock().closed {
            return Err(Error::closed());
        }
        let servers = next.validate()?;
        let mut current = lock(&self.config);
        if !next.certificates.is_empty() && next.certificates != current.0.certificates {
            return Err(Error::InvalidModification("the certificates cannot change after the connection is made".into()));
        }
        if next.bundle_policy != current.0.bundle_policy {
            return Err(Error::InvalidModification("the bundle policy cannot change after the connection is made".into()));
        }
        if let Some(session) = self.lock().session.clone() {
            session.set_ice_servers(&current.1, &servers, next.ice_transport_policy)?;
        }
        let certificates = std::mem::take(&mut current.0.certificates);
        *current = (Configuration { certificates, ..next }, servers);
        Ok(())
    }

    fn emit(&self, event: Event) {
        gst::trace!(CAT, "event {:?}", event);
        let _ = self.events.send(event);
    }

    fn new_session(self: &Arc<Self>, generation: u64, gate: &Arc<FingerprintGate>) -> Result<Session> {
        let weak = Arc::downgrade(self);
        let sink: Sink = Arc::new(move |signal| {
            if let Some(inner) = weak.upgrade() {
                inner.on_signal(generation, signal);
            }
        });
        let (config, servers) = lock(&self.config).clone();
        let session = Session::new(&config, &servers, &self.settings, &self.certificate, gate, sink)?;
        self.telephone.watch(session.elements().1);
        Ok(session)
    }

    /// The session, unless the connection is closed or failed.
    fn live_session(&self) -> Result<Arc<Session>> {
        let st = self.lock();
        if st.closed {
            return Err(Error::closed());
        }
        if let Some(reason) = &st.failed {
            return Err(Error::InvalidState(format!("the connection has failed: {reason}")));
        }
        st.session.clone().ok_or_else(Error::closed)
    }

    /// Runs a state check and returns the session to act on.
    fn checked(&self, check: impl FnOnce(&Jsep) -> Result<()>) -> Result<Arc<Session>> {
        let session = self.live_session()?;
        check(&self.lock().jsep)?;
        Ok(session)
    }

    async fn create_offer(self: &Arc<Self>, options: OfferOptions) -> Result<SessionDescription> {
        let session = self.checked(Jsep::check_create_offer)?;
        self.prepare_codecs(true);
        let msg = engine::bounded("create-offer", OPERATION_TIMEOUT, session.create_offer()).await?;
        let creds = {
            let st = self.lock();
            let restart = (options.ice_restart || st.restart_requested) && st.jsep.has_negotiated();
            // A restart takes effect when the offer is applied (set_local_description).
            if restart {
                Some(IceCredentials::generate()?)
            } else {
                st.local_ice.clone()
            }
        };
        Ok(SessionDescription::offer(self.rewrite_local(msg, creds.as_ref()).to_text()))
    }

    async fn create_answer(self: &Arc<Self>) -> Result<SessionDescription> {
        let session = self.checked(Jsep::check_create_answer)?;
        self.prepare_codecs(false);
        let msg = engine::bounded("create-answer", OPERATION_TIMEOUT, session.create_answer()).await?;
        let creds = self.lock().local_ice.clone();
        let mut parsed = self.rewrite_local(msg, creds.as_ref());
        self.rewrite_answer_media(&mut parsed);
        Ok(SessionDescription::answer(parsed.to_text()))
    }

    /// The rewrites every local description gets.
    fn rewrite_local(&self, msg: gst_sdp::SDPMessage, creds: Option<&IceCredentials>) -> ParsedDescription {
        let mut parsed = ParsedDescription::from_message(msg);
        parsed.set_fingerprint(&self.certificate.fingerprint(HashAlgorithm::Sha256));
        parsed.add_max_message_size(DEFAULT_MAX_MESSAGE_SIZE);
        if let Some(c) = creds {
            parsed.set_ice_credentials(&c.ufrag, &c.pwd);
        }
        self.rewrite_msid(&mut parsed);
        parsed
    }

    /// The local credentials in force: the restart's, or those of the current description.
    fn current_local_credentials(st: &State) -> Option<IceCredentials> {
        st.local_ice.clone().or_else(|| {
            let current = st.jsep.current_local_description()?;
            let (ufrag, pwd) = ParsedDescription::parse(&current.sdp).ok()?.ice_credentials()?;
            Some(IceCredentials { ufrag, pwd })
        })
    }

    async fn set_local_description(self: &Arc<Self>, desc: Option<SessionDescription>) -> Result<()> {
        let desc = match desc {
            Some(d) => d,
            None => {
                let t = self.lock().jsep.implicit_local_type()?;
                match t {
                    SdpType::Offer => self.create_offer(OfferOptions::default()).await?,
                    _ => self.create_answer().await?,
                }
            }
        };
        let t = desc.sdp_type;
        if t == SdpType::Rollback {
            return self.rollback(Side::Local).await;
        }
        let session = self.checked(|j| j.next_state(Side::Local, t).map(|_| ()))?;
        let mut parsed = ParsedDescription::parse(&desc.sdp)?;
        self.check_answer(Side::Local, t, &parsed)?;
        parsed.add_max_message_size(DEFAULT_MAX_MESSAGE_SIZE);
        let restart = {
            let mut st = self.lock();
            st.local_mids = parsed.mids();
            let wanted = parsed.ice_credentials().map(|(ufrag, pwd)| IceCredentials { ufrag, pwd });
            // New credentials restart ICE only where a transport was negotiated: after a
            // negotiation without media sections the first transport just starts.
            match (wanted, Self::current_local_credentials(&st)) {
                (Some(w), Some(current)) if st.jsep.has_negotiated() && w != current => Some(w),
                _ => None,
            }
        };
        if let Some(creds) = restart {
            gst::info!(CAT, "local description restarts ICE (ufrag {})", creds.ufrag);
            self.restart_ice(&session, creds)?;
        }
        let text = parsed.to_text();
        // webrtcbin sends at most min(local, remote) max-message-size: its copy says what
        // wkrtc can send, the text the peer gets says what wkrtc can receive.
        let mut for_webrtcbin = parsed;
        for_webrtcbin.set_max_message_size(MAX_SEND_SIZE);
        for_webrtcbin.open_media_directions();

        engine::bounded("set-local-description", OPERATION_TIMEOUT, session.set_description(Side::Local, t, for_webrtcbin.message().to_owned())).await?;
        if t == SdpType::Offer {
            self.associate_local_offer(&for_webrtcbin);
        }
        self.refresh_mids();
        self.applied(Side::Local, SessionDescription::new(t, text))?;
        if self.lock().jsep.state() == SignalingState::Stable {
            self.sync_media();
        }
        self.reannounce_candidates();
        Ok(())
    }

    /// Restarts libnice with `creds`, which every later description carries; the local
    /// candidates are announced again after the next local description, the peer's re-added
    /// after the next remote one.
    fn restart_ice(&self, session: &Session, creds: IceCredentials) -> Result<()> {
        session.restart_ice(&creds)?;
        let mut st = self.lock();
        st.local_ice = Some(creds);
        st.restart_requested = false;
        st.reannounce_candidates = true;
        st.readd_remote_candidates = true;
        Ok(())
    }

    /// After an ICE restart libnice keeps its local candidates but does not report them
    /// again: wkrtc announces them itself, once the new local description is in force.
    fn reannounce_candidates(&self) {
        let candidates = {
            let mut st = self.lock();
            if !std::mem::take(&mut st.reannounce_candidates) {
                return;
            }
            let mids = st.local_mids.clone();
            st.local_candidates.iter().map(|(m, c)| IceCandidate::new(c.clone(), mids.get(*m as usize).cloned().flatten(), Some(*m))).collect::<Vec<_>>()
        };
        gst::debug!(CAT, "announcing {} local candidates again after the ICE restart", candidates.len());
        for c in candidates {
            self.emit(Event::IceCandidate(Some(c)));
        }
    }

    async fn set_remote_description(self: &Arc<Self>, desc: SessionDescription) -> Result<()> {
        let t = desc.sdp_type;
        if t == SdpType::Rollback {
            return self.rollback(Side::Remote).await;
        }
        self.live_session()?;
        let parsed = ParsedDescription::parse(&desc.sdp)?;
        parsed.validate_remote()?;
        let fingerprints = parsed.fingerprints()?;
        self.check_answer(Side::Remote, t, &parsed)?;
        if self.lock().jsep.needs_implicit_rollback(Side::Remote, t) {
            gst::debug!(CAT, "remote offer in have-local-offer: implicit rollback");
            self.rollback(Side::Local).await?;
        }
        let session = self.checked(|j| j.next_state(Side::Remote, t).map(|_| ()))?;
        let remote_ufrag = parsed.ice_credentials().map(|(u, _)| u);
        let peer_restarted = {
            let st = self.lock();
            t == SdpType::Offer && st.jsep.has_negotiated() && st.remote_ufrag.is_some() && remote_ufrag != st.remote_ufrag
        };
        if peer_restarted {
            // RFC 8445, section 9: an offer with new credentials restarts ICE; the answerer
            // restarts too, before the new remote credentials are applied.
            let creds = IceCredentials::generate()?;
            gst::info!(CAT, "remote offer restarts ICE; local ufrag now {}", creds.ufrag);
            self.restart_ice(&session, creds)?;
        }
        let mut for_webrtcbin = parsed.clone();
        for_webrtcbin.open_media_directions();
        for_webrtcbin.fill_rejected_for_webrtcbin();

        engine::bounded("set-remote-description", OPERATION_TIMEOUT, session.set_description(Side::Remote, t, for_webrtcbin.message().to_owned())).await?;
        if t == SdpType::Offer {
            self.associate_remote_offer(&session, &parsed)?;
        }
        self.refresh_mids();
        let readd = {
            let mut st = self.lock();
            st.remote_ufrag = remote_ufrag;
            if std::mem::take(&mut st.readd_remote_candidates) {
                st.remote_candidates.clone()
            } else {
                Vec::new()
            }
        };
        for (mline, line) in &readd {
            session.add_ice_candidate(*mline, line);
        }
        if parsed.has_data_channel() {
            // RFC 8841, section 6: 0 means no limit.
            let size = match parsed.max_message_size().unwrap_or(MAX_MESSAGE_SIZE_WITHOUT_ATTRIBUTE) {
                0 => MAX_SEND_SIZE,
                n => n.min(MAX_SEND_SIZE),
            };
            self.max_message_size.store(size, Ordering::Relaxed);
        }
        // Not under the state lock: a certificate that came first is checked right here, and
        // its verdict takes the lock.
        let gate = self.lock().gate.clone();
        gate.set_expected(fingerprints);
        self.applied(Side::Remote, desc)?;
        if self.lock().jsep.state() == SignalingState::Stable {
            self.sync_media();
        }
        self.process_remote_tracks(&parsed);
        Ok(())
    }

    /// Records a description webrtcbin accepted and reports what changed.
    fn applied(&self, side: Side, desc: SessionDescription) -> Result<()> {
        let rollback = desc.sdp_type == SdpType::Rollback;
        let (before, after, negotiation_needed) = {
            let mut st = self.lock();
            let before = st.jsep.state();
            let after = st.jsep.apply(side, desc)?;
            if st.data_negotiated() {
                st.unnegotiated.clear();
            }
            // Back in stable, the W3C updates the negotiation-needed flag: a rolled-back offer
            // leaves the data channels still to negotiate.
            let mut nn = false;
            if after == SignalingState::Stable {
                let pending = std::mem::take(&mut st.negotiation_needed_pending);
                let was_set = std::mem::take(&mut st.negotiation_needed);
                nn = (pending || rollback || was_set) && st.needs_negotiation();
                st.negotiation_needed = nn;
            }
            (before, after, nn)
        };
        if before != after {
            self.emit(Event::SignalingStateChange(after));
        }
        if negotiation_needed {
            self.emit(Event::NegotiationNeeded);
        }
        Ok(())
    }

    /// Rolls back the pending offer. webrtcbin 1.22 refuses rollbacks, so before the first
    /// completed negotiation wkrtc replaces the webrtcbin with a fresh one (recreating the
    /// data channels made so far); after it, a rollback is an `OperationError`.
    async fn rollback(self: &Arc<Self>, side: Side) -> Result<()> {
        let old = self.checked(|j| j.next_state(side, SdpType::Rollback).map(|_| ()))?;
        let (generation, channels) = {
            let st = self.lock();
            if st.jsep.has_negotiated() {
                return Err(Error::Operation("rollback of a renegotiation is not supported: webrtcbin 1.22 cannot undo an applied description".into()));
            }
            (st.generation + 1, st.unnegotiated.clone())
        };
        let gate = make_gate(Arc::downgrade(self), generation);
        let session = Arc::new(self.new_session(generation, &gate)?);
        for (dc, label, init) in &channels {
            dc.bind(session.create_data_channel(label, init.to_structure())?);
        }
        self.rebind_after_rollback(&session)?;
        let reset = {
            let mut st = self.lock();
            st.generation = generation;
            st.gate = gate;
            st.session = Some(session);
            st.local_mids.clear();
            st.local_candidates.clear();
            st.remote_candidates.clear();
            st.gathered_srflx = false;
            st.gathered_relay = false;
            let reset = (st.ice_gathering != IceGatheringState::New, st.ice_connection != IceConnectionState::New);
            st.ice_gathering = IceGatheringState::New;
            st.ice_connection = IceConnectionState::New;
            st.connection = PeerConnectionState::New;
            st.dtls = DtlsTransportState::New;
            reset
        };
        old.stop();
        gst::debug!(CAT, "rolled back by replacing webrtcbin (generation {})", generation);
        if reset.0 {
            self.emit(Event::IceGatheringStateChange(IceGatheringState::New));
        }
        if reset.1 {
            self.emit(Event::IceConnectionStateChange(IceConnectionState::New));
        }
        self.applied(side, SessionDescription::rollback())
    }

    fn add_ice_candidate(self: &Arc<Self>, candidate: Option<IceCandidate>) -> Result<()> {
        let session = self.live_session()?;
        let remote = self.lock().jsep.remote_description().cloned();
        let remote = remote.ok_or_else(|| Error::InvalidState("addIceCandidate before a remote description".into()))?;
        let Some(candidate) = candidate else { return Ok(()) };
        let parsed = ParsedDescription::parse(&remote.sdp)?;
        let route = candidate.route(&parsed)?;
        if candidate.is_mdns() {
            // webrtcbin 1.22 drops `.local` names silently and may send them to the system
            // resolver (a DNS leak). ICE still connects: the peer's checks reach us and make a
            // peer-reflexive candidate.
            gst::debug!(CAT, "not passing mDNS candidate {} to webrtcbin", candidate.candidate);
            return Ok(());
        }
        match route {
            CandidateRoute::Candidate { mline, line } => {
                {
                    let mut st = self.lock();
                    if st.remote_candidates_added >= MAX_REMOTE_CANDIDATES {
                        return Err(Error::Operation(format!("this connection already took {MAX_REMOTE_CANDIDATES} remote candidates")));
                    }
                    st.remote_candidates_added += 1;
                }
                session.add_ice_candidate(mline, &line);
                let mut st = self.lock();
                let entry = (mline, line);
                if st.remote_candidates.len() < MAX_REMEMBERED_CANDIDATES && !st.remote_candidates.contains(&entry) {
                    st.remote_candidates.push(entry);
                }
            }
            CandidateRoute::EndOfCandidates { .. } => {}
        }
        Ok(())
    }

    /// The W3C's "update the negotiation-needed flag", queued on the operations chain so
    /// that it runs when no operation is in progress: fires `negotiationneeded` in stable,
    /// or remembers it until the state returns to stable.
    fn check_negotiation(&self) {
        let op: Op = Box::new(move |inner| {
            Box::pin(async move {
                let fire = {
                    let mut st = inner.lock();
                    if st.closed || !st.needs_negotiation() {
                        st.negotiation_needed = false;
                        false
                    } else if st.jsep.state() == SignalingState::Stable {
                        !std::mem::replace(&mut st.negotiation_needed, true)
                    } else {
                        st.negotiation_needed_pending = true;
                        false
                    }
                };
                if fire {
                    inner.emit(Event::NegotiationNeeded);
                }
            })
        });
        let _ = self.ops.send(op);
    }

    /// Runs `f` on the worker thread, outside any GStreamer callback, and never inline: a
    /// caller on the worker thread may hold the state lock `f` takes.
    fn later(self: &Arc<Self>, f: impl FnOnce(&Arc<Inner>) + Send + 'static) {
        let weak = Arc::downgrade(self);
        match engine::worker() {
            Ok(ctx) => {
                let mut f = Some(f);
                let source = glib::idle_source_new(None, glib::Priority::DEFAULT, move || {
                    if let (Some(f), Some(inner)) = (f.take(), weak.upgrade()) {
                        f(&inner);
                    }
                    glib::ControlFlow::Break
                });
                source.attach(Some(ctx));
            }
            Err(e) => gst::error!(CAT, "no worker thread: {}", e),
        }
    }

    /// Ends the session after a fatal error, from any thread.
    fn fail_later(self: &Arc<Self>, generation: u64, reason: String) {
        self.later(move |inner| inner.fail(generation, reason));
    }

    /// Feeds the current DTLS and connection states through [`Self::on_signal`] again.
    fn refresh_transport_states(self: &Arc<Self>, generation: u64) {
        let Some(session) = self.lock().session.clone() else { return };
        if let Some(dtls) = session.dtls_state() {
            self.on_signal(generation, SessionSignal::DtlsTransportState(dtls));
        }
        self.on_signal(generation, SessionSignal::ConnectionState(session.connection_state()));
    }

    fn fail(&self, generation: u64, reason: String) {
        let (session, channels, events) = {
            let mut st = self.lock();
            if st.closed || st.generation != generation || st.failed.is_some() {
                return;
            }
            gst::warning!(CAT, "connection failed: {}", reason);
            st.failed = Some(reason);
            let mut events = Vec::new();
            if st.dtls != DtlsTransportState::Failed {
                st.dtls = DtlsTransportState::Failed;
                events.push(Event::DtlsStateChange(DtlsTransportState::Failed));
            }
            if st.connection != PeerConnectionState::Failed {
                st.connection = PeerConnectionState::Failed;
                events.push(Event::ConnectionStateChange(PeerConnectionState::Failed));
            }
            (st.session.clone(), std::mem::take(&mut st.channels), events)
        };
        if let Some(session) = session {
            session.stop();
        }
        for dc in channels {
            dc.mark_closed(true);
        }
        for e in events {
            self.emit(e);
        }
    }

    fn on_signal(self: &Arc<Self>, generation: u64, signal: SessionSignal) {
        let mut st = self.lock();
        if st.closed || st.generation != generation {
            return;
        }
        match signal {
            SessionSignal::IceCandidate { mline, candidate } => {
                let sdp_mid = st.local_mids.get(mline as usize).cloned().flatten();
                st.local_candidates.push((mline, candidate.clone()));
                st.gathered_srflx |= candidate.contains(" typ srflx");
                st.gathered_relay |= candidate.contains(" typ relay");
                drop(st);
                self.emit(Event::IceCandidate(Some(IceCandidate::new(candidate, sdp_mid, Some(mline)))));
            }
            SessionSignal::IceGatheringState(s) => {
                let s = match s {
                    gst_webrtc::WebRTCICEGatheringState::Gathering => IceGatheringState::Gathering,
                    gst_webrtc::WebRTCICEGatheringState::Complete => IceGatheringState::Complete,
                    _ => IceGatheringState::New,
                };
                if st.ice_gathering == s {
                    return;
                }
                st.ice_gathering = s;
                let mut errors = Vec::new();
                if s == IceGatheringState::Complete {
                    let servers = lock(&self.config).1.clone();
                    if let Some(stun) = servers.stun.as_ref().filter(|_| !st.gathered_srflx) {
                        errors.push(stun.clone());
                    }
                    if !st.gathered_relay {
                        errors.extend(servers.turn.iter().map(|t| redact(t)));
                    }
                }
                drop(st);
                self.emit(Event::IceGatheringStateChange(s));
                for url in errors {
                    self.emit(Event::IceCandidateError { url, error_code: 701, error_text: "the server gave no candidate".into() });
                }
                if s == IceGatheringState::Complete {
                    self.emit(Event::IceCandidate(None));
                }
            }
            SessionSignal::IceTransportState(s) => {
                use gst_webrtc::WebRTCICEConnectionState as G;
                let s = match s {
                    G::New => IceConnectionState::New,
                    G::Checking => IceConnectionState::Checking,
                    G::Connected => IceConnectionState::Connected,
                    G::Completed => IceConnectionState::Completed,
                    G::Failed => IceConnectionState::Failed,
                    G::Disconnected => IceConnectionState::Disconnected,
                    G::Closed => IceConnectionState::Closed,
                    _ => return,
                };
                if st.ice_connection == s {
                    return;
                }
                st.ice_connection = s;
                let session = st.session.clone();
                drop(st);
                self.emit(Event::IceConnectionStateChange(s));
                if matches!(s, IceConnectionState::Connected | IceConnectionState::Completed) {
                    // Setting the agent's property from its own signal thread could re-enter
                    // libnice: defer to the worker.
                    let pacing = self.settings.connected_pacing;
                    if let (Some(session), Ok(ctx)) = (session, engine::worker()) {
                        ctx.invoke(move || session.set_pacing(pacing));
                    }
                }
            }
            SessionSignal::DtlsTransportState(s) => {
                use gst_webrtc::WebRTCDTLSTransportState as G;
                let s = match s {
                    G::New => DtlsTransportState::New,
                    G::Connecting => DtlsTransportState::Connecting,
                    G::Connected if st.gate.passes() => DtlsTransportState::Connected,
                    G::Connected => return,
                    G::Closed => DtlsTransportState::Closed,
                    G::Failed => DtlsTransportState::Failed,
                    _ => return,
                };
                if st.dtls == s || st.failed.is_some() {
                    return;
                }
                st.dtls = s;
                drop(st);
                self.emit(Event::DtlsStateChange(s));
            }
            SessionSignal::ConnectionState(s) => {
                use gst_webrtc::WebRTCPeerConnectionState as G;
                let s = match s {
                    G::New => PeerConnectionState::New,
                    G::Connecting => PeerConnectionState::Connecting,
                    G::Connected if st.gate.passes() => PeerConnectionState::Connected,
                    // Connected at the DTLS level without a verified certificate is not
                    // connected for wkrtc: the gate decides.
                    G::Connected => return,
                    G::Disconnected => PeerConnectionState::Disconnected,
                    G::Failed => PeerConnectionState::Failed,
                    G::Closed => PeerConnectionState::Closed,
                    _ => return,
                };
                if st.connection == s || st.failed.is_some() {
                    return;
                }
                st.connection = s;
                let session = st.session.clone();
                drop(st);
                self.emit(Event::ConnectionStateChange(s));
                // With GST_DEBUG_DUMP_DOT_DIR set, the pipeline graph at each state, written
                // from the worker rather than from inside webrtcbin's callback.
                if let (Some(session), Ok(ctx)) = (session, engine::worker()) {
                    ctx.invoke(move || session.dump_graph(&format!("wkrtc-{s:?}")));
                }
            }
            SessionSignal::NegotiationNeeded => {
                // webrtcbin 1.22 raises it once at start-up and then only on changes of its
                // own rough check; wkrtc runs the W3C's check itself (see check_negotiation).
                gst::trace!(CAT, "ignoring webrtcbin's negotiation-needed");
            }
            SessionSignal::DataChannel(ch) => {
                let dc = DataChannel::wrap(ch, self.max_message_size.clone());
                st.channels.push(dc.clone());
                drop(st);
                self.emit(Event::DataChannel(dc));
            }
            SessionSignal::IncomingStream(pad) => {
                let session = st.session.clone();
                drop(st);
                if let Some(session) = session {
                    self.on_incoming_stream(&session, &pad);
                }
            }
            SessionSignal::Fatal(reason) => {
                drop(st);
                self.fail_later(generation, reason);
            }
        }
    }
}

/// A TURN URI without its credentials, for events and logs.

fn redact(uri: &str) -> String {
    match (uri.find("://"), uri.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}{}", &uri[..s + 3], &uri[at + 1..]),
        _ => uri.to_owned(),
    }
}

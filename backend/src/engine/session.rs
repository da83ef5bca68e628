// SPDX-License-Identifier: MPL-2.0
//! One webrtcbin in its own pipeline: set-up of the ICE agent, the promise-based calls as
//! futures, and webrtcbin's signals turned into [`SessionSignal`]s.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gst::prelude::*;
use gst_webrtc::{WebRTCDTLSTransport, WebRTCDataChannel, WebRTCICETransport, WebRTCSDPType, WebRTCSessionDescription};

use super::dtls::FingerprintGate;
use super::CAT;
use crate::configuration::{BundlePolicy, Configuration, EngineIceServers, IceTransportPolicy};
use crate::jsep::{SdpType, Side};
use crate::{Certificate, Error, Result, Settings};

/// What a session reports, from whichever GStreamer thread it happens on.
pub(crate) enum SessionSignal {
    IceCandidate {
        mline: u32,
        candidate: String,
    },
    IceGatheringState(gst_webrtc::WebRTCICEGatheringState),
    IceTransportState(gst_webrtc::WebRTCICEConnectionState),
    DtlsTransportState(gst_webrtc::WebRTCDTLSTransportState),
    ConnectionState(gst_webrtc::WebRTCPeerConnectionState),
    NegotiationNeeded,
    DataChannel(WebRTCDataChannel),
    /// webrtcbin added a `src_%u` pad for an incoming RTP stream. Handled synchronously, in
    /// the streaming thread that added it, so the first packets find a linked pad.
    IncomingStream(gst::Pad),
    /// An error posted on the pipeline (for example an SCTP association torn down by the
    /// peer): the session is over.
    Fatal(String),
}

pub(crate) type Sink = Arc<dyn Fn(SessionSignal) + Send + Sync>;

/// Packets and bytes through the ICE transport, counted on webrtcbin's libnice elements.
#[derive(Debug, Default)]
pub struct Traffic {
    pub packets_sent: std::sync::atomic::AtomicU64,
    pub bytes_sent: std::sync::atomic::AtomicU64,
    pub packets_received: std::sync::atomic::AtomicU64,
    pub bytes_received: std::sync::atomic::AtomicU64,
}

impl Traffic {
    fn count(&self, info: &gst::PadProbeInfo, sent: bool) {
        use std::sync::atomic::Ordering::Relaxed;
        let (packets, bytes) = match &info.data {
            Some(gst::PadProbeData::Buffer(b)) => (1, b.size() as u64),
            Some(gst::PadProbeData::BufferList(l)) => (l.len() as u64, l.iter().map(|b| b.size() as u64).sum()),
            _ => return,
        };
        let (p, b) = if sent { (&self.packets_sent, &self.bytes_sent) } else { (&self.packets_received, &self.bytes_received) };
        p.fetch_add(packets, Relaxed);
        b.fetch_add(bytes, Relaxed);
    }
}

pub(crate) struct Session {
    pipeline: gst::Pipeline,
    webrtcbin: gst::Element,
    sink: Sink,
    hooked: Mutex<Vec<WebRTCDTLSTransport>>,
    /// Packets and bytes through libnice, both ways (getStats' transport and pair counters).
    pub traffic: Arc<Traffic>,
    /// The libnice elements already counted.
    counted: Mutex<Vec<glib::WeakRef<gst::Element>>>,
    /// Ta while checks run, in ms.
    check_pacing: u32,
    gate: Arc<FingerprintGate>,
    /// The SCTP association ids this session holds (given back when it is dropped).
    _sctp_ids: Arc<super::sctp::AssociationIds>,
}

fn sdp_type(t: SdpType) -> WebRTCSDPType {
    match t {
        SdpType::Offer => WebRTCSDPType::Offer,
        SdpType::Pranswer => WebRTCSDPType::Pranswer,
        SdpType::Answer => WebRTCSDPType::Answer,
        SdpType::Rollback => WebRTCSDPType::Rollback,
    }
}

impl Session {
    pub fn new(
        config: &Configuration,
        servers: &EngineIceServers,
        settings: &Settings,
        certificate: &Certificate,
        gate: &Arc<FingerprintGate>,
        sink: Sink,
    ) -> Result<Self> {
        let make_err = |e: glib::BoolError| Error::Operation(format!("cannot create webrtcbin: {e}"));
        let webrtcbin = gst::ElementFactory::make("webrtcbin").build().map_err(make_err)?;
        let pipeline = gst::Pipeline::new();
        pipeline.add(&webrtcbin).map_err(make_err)?;

        webrtcbin.set_property(
            "bundle-policy",
            match config.bundle_policy {
                BundlePolicy::Balanced => gst_webrtc::WebRTCBundlePolicy::Balanced,
                BundlePolicy::MaxCompat => gst_webrtc::WebRTCBundlePolicy::MaxCompat,
                BundlePolicy::MaxBundle => gst_webrtc::WebRTCBundlePolicy::MaxBundle,
            },
        );
        apply_ice_servers(&webrtcbin, &EngineIceServers::default(), servers, config.ice_transport_policy)?;

        let ice: glib::Object = webrtcbin.property("ice-agent");
        if ice.find_property("ice-tcp").is_some() {
            ice.set_property("ice-tcp", settings.ice_tcp);
        }
        for addr in &settings.local_addresses {
            ice.emit_by_name_with_values("add-local-ip-address", &[addr.to_string().to_value()]);
        }
        webrtcbin.set_property("latency", u32::try_from(settings.receive_latency.as_millis()).unwrap_or(u32::MAX));
        if let Some(agent) = nice_agent(&webrtcbin) {
            agent.set_property("upnp", settings.upnp);
            agent.set_property("stun-pacing-timer", pacing_ms(settings.check_pacing));
        } else {
            gst::warning!(CAT, "webrtcbin's ICE agent is not libnice: UPnP and pacing settings not applied");
        }

        let sctp_ids = Arc::new(super::sctp::AssociationIds::default());
        sctp_ids.attach(&webrtcbin);
        super::dtls::present_certificate(&webrtcbin, certificate);
        gate.attach(&webrtcbin);
        super::rtcp::filter_byes(&webrtcbin);
        let session = Self {
            pipeline,
            webrtcbin,
            sink,
            hooked: Mutex::default(),
            traffic: Arc::default(),
            counted: Mutex::default(),
            check_pacing: pacing_ms(settings.check_pacing),
            gate: gate.clone(),
            _sctp_ids: sctp_ids,
        };
        session.connect_signals();
        session.pipeline.set_state(gst::State::Playing).map_err(|e| Error::Operation(format!("webrtcbin does not start: {e}")))?;
        Ok(session)
    }

    fn connect_signals(&self) {
        let w = &self.webrtcbin;
        let sink = self.sink.clone();
        w.connect("on-ice-candidate", false, move |args| {
            let mline = args.get(1).and_then(|v| v.get::<u32>().ok());
            let candidate = args.get(2).and_then(|v| v.get::<String>().ok());
            if let (Some(mline), Some(candidate)) = (mline, candidate) {
                sink(SessionSignal::IceCandidate { mline, candidate });
            }
            None
        });
        let sink = self.sink.clone();
        w.connect("on-negotiation-needed", false, move |_| {
            sink(SessionSignal::NegotiationNeeded);
            None
        });
        let sink = self.sink.clone();
        w.connect("on-data-channel", false, move |args| {
            if let Some(ch) = args.get(1).and_then(|v| v.get::<WebRTCDataChannel>().ok()) {
                sink(SessionSignal::DataChannel(ch));
            }
            None
        });
        let sink = self.sink.clone();
        w.connect_pad_added(move |_, pad| {
            if pad.direction() == gst::PadDirection::Src {
                sink(SessionSignal::IncomingStream(pad.clone()));
            }
        });
        let sink = self.sink.clone();
        w.connect_notify(Some("ice-gathering-state"), move |w, _| {
            sink(SessionSignal::IceGatheringState(w.property("ice-gathering-state")));
        });
        let sink = self.sink.clone();
        w.connect_notify(Some("connection-state"), move |w, _| {
            sink(SessionSignal::ConnectionState(w.property("connection-state")));
        });
        let sink = self.sink.clone();
        if let Some(bus) = self.pipeline.bus() {
            bus.set_sync_handler(move |_, msg| {
                if let gst::MessageView::Error(err) = msg.view() {
                    let from = msg.src().map(|s| s.path_string().to_string()).unwrap_or_default();
                    gst::warning!(CAT, "pipeline error from {}: {} ({:?})", from, err.error(), err.debug());
                    // A failing media chain stops that stream only; webrtcbin's own errors
                    // end the session.
                    if !from.contains("/wkrtc-send-") && !from.contains("/wkrtc-recv-") {
                        sink(SessionSignal::Fatal(format!("{from}: {}", err.error())));
                    }
                }
                gst::BusSyncReply::Drop
            });
        }
    }

    /// Emits a promise-based action signal and awaits its reply.
    async fn promise(&self, signal: &str, arg: &(dyn ToValue + Sync)) -> Result<Option<gst::Structure>> {
        let (tx, rx) = flume::bounded(1);
        let promise = gst::Promise::with_change_func(move |reply| {
            let reply = match reply {
                Ok(s) => Ok(s.map(|s| s.to_owned())),
                Err(e) => Err(format!("{e:?}")),
            };
            let _ = tx.send(reply);
        });
        self.webrtcbin.emit_by_name::<()>(signal, &[arg, &promise]);
        let reply = rx
            .recv_async()
            .await
            .map_err(|_| Error::Operation(format!("webrtcbin dropped the {signal} promise")))?
            .map_err(|e| Error::Operation(format!("webrtcbin {signal} was interrupted: {e}")))?;
        if let Some(s) = &reply {
            if let Ok(err) = s.get::<glib::Error>("error") {
                return Err(Error::Operation(format!("webrtcbin {signal}: {}", err.message())));
            }
        }
        Ok(reply)
    }

    async fn create(&self, signal: &str, field: &str) -> Result<gst_sdp::SDPMessage> {
        let reply = self.promise(signal, &None::<gst::Structure>).await?;
        reply
            .as_ref()
            .and_then(|s| s.get::<WebRTCSessionDescription>(field).ok())
            .map(|d| d.sdp().to_owned())
            .ok_or_else(|| Error::Operation(format!("webrtcbin {signal} returned no {field}")))
    }

    pub async fn create_offer(&self) -> Result<gst_sdp::SDPMessage> {
        self.create("create-offer", "offer").await
    }

    pub async fn create_answer(&self) -> Result<gst_sdp::SDPMessage> {
        self.create("create-answer", "answer").await
    }

    pub async fn set_description(&self, side: Side, t: SdpType, sdp: gst_sdp::SDPMessage) -> Result<()> {
        let desc = WebRTCSessionDescription::new(sdp_type(t), sdp);
        let signal = match side {
            Side::Local => "set-local-description",
            Side::Remote => "set-remote-description",
        };
        self.promise(signal, &desc).await?;
        self.hook_transports();
        Ok(())
    }

    /// Changes the servers and the policy for the candidates gathered from now on.
    pub fn set_ice_servers(&self, old: &EngineIceServers, new: &EngineIceServers, policy: IceTransportPolicy) -> Result<()> {
        apply_ice_servers(&self.webrtcbin, old, new, policy)
    }

    pub fn add_ice_candidate(&self, mline: u32, line: &str) {
        self.webrtcbin.emit_by_name::<()>("add-ice-candidate", &[&mline, &line]);
    }

    pub fn create_data_channel(&self, label: &str, options: gst::Structure) -> Result<WebRTCDataChannel> {
        // Past the association's stream count webrtcbin only logs a critical warning and
        // refuses; the W3C makes it an OperationError.
        if let (Ok(id), Some(sctp)) = (options.get::<i32>("id"), self.webrtcbin.property::<Option<glib::Object>>("sctp-transport")) {
            let max = sctp.find_property("max-channels").and_then(|_| sctp.property_value("max-channels").get::<u32>().ok()).unwrap_or(u32::MAX);
            if id >= 0 && id as u32 > max {
                return Err(Error::Operation(format!("data channel id {id} is past the SCTP association's {max} streams")));
            }
        }
        self.webrtcbin
            .emit_by_name::<Option<WebRTCDataChannel>>("create-data-channel", &[&label, &options])
            .ok_or_else(|| Error::Operation(format!("webrtcbin refused data channel '{label}' (is its id in use?)")))
    }

    /// webrtcbin's `add-transceiver`: a transceiver with `direction` and codec preferences.
    pub fn add_transceiver(&self, direction: gst_webrtc::WebRTCRTPTransceiverDirection, caps: &gst::Caps) -> Result<gst_webrtc::WebRTCRTPTransceiver> {
        self.webrtcbin
            .emit_by_name::<Option<gst_webrtc::WebRTCRTPTransceiver>>("add-transceiver", &[&direction, caps])
            .ok_or_else(|| Error::Operation("webrtcbin refused a transceiver".into()))
    }

    /// webrtcbin's `get-stats` for the whole connection: one sub-structure per stats object.
    pub async fn raw_stats(&self) -> Result<gst::Structure> {
        self.promise("get-stats", &None::<gst::Pad>).await?.ok_or_else(|| Error::Operation("webrtcbin returned no statistics".into()))
    }

    /// The pipeline and the webrtcbin in it, to add media chains.
    pub fn elements(&self) -> (&gst::Pipeline, &gst::Element) {
        (&self.pipeline, &self.webrtcbin)
    }

    /// Counts what webrtcbin's libnice elements send and receive (once per element).
    fn count_traffic(&self) {
        let Some(bin) = self.webrtcbin.downcast_ref::<gst::Bin>() else { return };
        let mut counted = self.counted.lock().unwrap_or_else(|e| e.into_inner());
        for element in bin.iterate_recurse().into_iter().flatten() {
            let factory = element.factory().map(|f| f.name().to_string()).unwrap_or_default();
            let (pad, sent) = match factory.as_str() {
                "nicesink" => ("sink", true),
                "nicesrc" => ("src", false),
                _ => continue,
            };
            if counted.iter().any(|w| w.upgrade().as_ref() == Some(&element)) {
                continue;
            }
            if let Some(pad) = element.static_pad(pad) {
                let traffic = self.traffic.clone();
                pad.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST, move |_, info| {
                    traffic.count(info, sent);
                    gst::PadProbeReturn::Ok
                });
                counted.push(element.downgrade());
            }
        }
    }

    /// Follows the state of every DTLS transport and the ICE transport under it.
    fn hook_transports(&self) {
        self.count_traffic();
        let sctp = self.webrtcbin.property::<Option<gst_webrtc::WebRTCSCTPTransport>>("sctp-transport");
        let Some(dtls) = sctp.map(|s| s.property::<WebRTCDTLSTransport>("transport")) else { return };
        let mut hooked = self.hooked.lock().unwrap_or_else(|e| e.into_inner());
        if hooked.contains(&dtls) {
            return;
        }
        let sink = self.sink.clone();
        dtls.connect_notify(Some("state"), move |dtls, _| {
            sink(SessionSignal::DtlsTransportState(dtls.property("state")));
        });
        let ice = dtls.property::<WebRTCICETransport>("transport");
        let sink = self.sink.clone();
        ice.connect_notify(Some("state"), move |ice, _| {
            sink(SessionSignal::IceTransportState(ice.property("state")));
        });
        hooked.push(dtls);
    }

    #[cfg(test)]
    fn webrtcbin(&self) -> &gst::Element {
        &self.webrtcbin
    }

    /// webrtcbin's `connection-state`.
    pub fn connection_state(&self) -> gst_webrtc::WebRTCPeerConnectionState {
        self.webrtcbin.property("connection-state")
    }

    /// The state of the (first) DTLS transport, once there is one.
    pub fn dtls_state(&self) -> Option<gst_webrtc::WebRTCDTLSTransportState> {
        let hooked = self.hooked.lock().unwrap_or_else(|e| e.into_inner());
        hooked.first().map(|t| t.property("state"))
    }

    /// Restarts ICE on every stream with `creds` (see [`super::ice`]).
    pub fn restart_ice(&self, creds: &super::ice::IceCredentials) -> Result<()> {
        let transports: Vec<WebRTCICETransport> = {
            let hooked = self.hooked.lock().unwrap_or_else(|e| e.into_inner());
            hooked.iter().map(|d| d.property::<WebRTCICETransport>("transport")).collect()
        };
        let streams = super::ice::stream_ids(&transports);
        let agent = nice_agent(&self.webrtcbin).ok_or_else(|| Error::NotSupported("ICE restart needs libnice".into()))?;
        if streams.is_empty() {
            return Err(Error::InvalidState("no ICE transport to restart".into()));
        }
        // Checks of a restart run at the connecting pace again.
        agent.set_property("stun-pacing-timer", self.check_pacing);
        super::ice::restart(&agent, &streams, creds)
    }

    /// Writes the pipeline graph to `$GST_DEBUG_DUMP_DOT_DIR` (nothing when it is unset).
    pub fn dump_graph(&self, name: &str) {
        self.pipeline.debug_to_dot_file_with_ts(gst::DebugGraphDetails::all(), name);
    }

    /// Sets libnice's check pacing (Ta).
    pub fn set_pacing(&self, pacing: Duration) {
        if let Some(agent) = nice_agent(&self.webrtcbin) {
            agent.set_property("stun-pacing-timer", pacing_ms(pacing));
        }
    }

    /// Stops the pipeline. Call from a thread that is not one of its streaming threads.
    pub fn stop(&self) {
        self.gate.close();
        self.hold_sctp_input();
        if let Some(bus) = self.pipeline.bus() {
            bus.unset_sync_handler();
        }
        let _ = self.pipeline.set_state(gst::State::Null);
    }

    /// Waits, at most 2 s, until no packet is inside an SCTP decoder. sctpdec 1.22 aborts
    /// the process (`on_receive: assertion failed: (src_pad)`) when the association is
    /// closed, which stopping it does before its pads are deactivated, while it still
    /// delivers a packet that opens a stream. The gate, closed before, drops new packets at
    /// the DTLS decoder; this waits out the one already on its way. Nothing is blocked: a
    /// streaming thread held in a probe would deadlock the source's task as it stops.
    fn hold_sctp_input(&self) {
        let Some(bin) = self.webrtcbin.downcast_ref::<gst::Bin>() else { return };
        let pads: Vec<gst::Pad> = bin
            .iterate_recurse()
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.factory().is_some_and(|f| f.name() == "sctpdec"))
            // The pad that pushes into the decoder: an idle probe on a sink pad fires at once,
            // GStreamer only tracks pushes in progress on source pads.
            .filter_map(|e| e.static_pad("sink").and_then(|p| p.peer()))
            .collect();
        let (idle, idled) = flume::unbounded();
        for pad in &pads {
            let idle = idle.clone();
            pad.add_probe(gst::PadProbeType::IDLE, move |_, _| {
                let _ = idle.send(());
                gst::PadProbeReturn::Remove
            });
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        for _ in &pads {
            if idled.recv_deadline(deadline).is_err() {
                gst::warning!(CAT, "an SCTP decoder stayed busy for 2 s while its session stopped");
                break;
            }
        }
    }
}

/// Gives webrtcbin the STUN server, the TURN servers `old` did not have, and the policy.
/// webrtcbin 1.22 can only add TURN servers: one no longer configured keeps serving the
/// candidates it gave (see docs/decisions.md). A TURN URL webrtcbin refuses is a
/// `SyntaxError`.
fn apply_ice_servers(webrtcbin: &gst::Element, old: &EngineIceServers, new: &EngineIceServers, policy: IceTransportPolicy) -> Result<()> {
    webrtcbin.set_property("stun-server", new.stun.as_deref());
    for turn in new.turn.iter().filter(|t| !old.turn.contains(t)) {
        if !webrtcbin.emit_by_name::<bool>("add-turn-server", &[turn]) {
            return Err(Error::Syntax("webrtcbin refused a TURN server URL".into()));
        }
    }
    let policy = match policy {
        IceTransportPolicy::Relay => gst_webrtc::WebRTCICETransportPolicy::Relay,
        IceTransportPolicy::All => gst_webrtc::WebRTCICETransportPolicy::All,
    };
    webrtcbin.set_property("ice-transport-policy", policy);
    Ok(())
}

/// libnice's NiceAgent inside webrtcbin's ICE agent (not kept: plain GObjects are not Send).
fn nice_agent(webrtcbin: &gst::Element) -> Option<glib::Object> {
    let ice: glib::Object = webrtcbin.property("ice-agent");
    ice.find_property("agent").map(|_| ice.property::<glib::Object>("agent"))
}

fn pacing_ms(d: Duration) -> u32 {
    d.as_millis().clamp(1, 1000) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(settings: &Settings) -> Session {
        crate::engine::init().unwrap();
        let gate = FingerprintGate::new(|_| {});
        let certificate = Certificate::generate(Default::default(), None).unwrap();
        Session::new(&Configuration::default(), &EngineIceServers::default(), settings, &certificate, &gate, Arc::new(|_| {})).unwrap()
    }

    /// libnice turns UPnP on by default, which multicasts SSDP off the machine: wkrtc's
    /// default settings turn it off, and apply the check pacing and ICE-TCP choice.
    #[test]
    fn ice_agent_settings_are_applied() {
        let s = session(&Settings::default());
        let agent = nice_agent(s.webrtcbin()).expect("libnice agent");
        assert!(!agent.property::<bool>("upnp"), "UPnP must be off by default");
        assert_eq!(agent.property::<u32>("stun-pacing-timer"), 5);
        let ice: glib::Object = s.webrtcbin().property("ice-agent");
        assert!(ice.property::<bool>("ice-tcp"));
        s.stop();

        let loopback = session(&Settings::loopback());
        let agent = nice_agent(loopback.webrtcbin()).expect("libnice agent");
        assert!(!agent.property::<bool>("upnp"));
        assert_eq!(agent.property::<u32>("stun-pacing-timer"), 2);
        let ice: glib::Object = loopback.webrtcbin().property("ice-agent");
        assert!(!ice.property::<bool>("ice-tcp"));
        loopback.stop();

        let upnp = session(&Settings { upnp: true, ..Settings::loopback() });
        assert!(nice_agent(upnp.webrtcbin()).expect("libnice agent").property::<bool>("upnp"));
        upnp.stop();
    }
}

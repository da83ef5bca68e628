// SPDX-License-Identifier: MPL-2.0
//! The anchor: the same call made with two bare webrtcbins through gstreamer-rs, without
//! any wkrtc code, so that `wkrtc loopback` can show what wkrtc costs on top of webrtcbin.
//!
//! Each peer is one pipeline holding one webrtcbin, configured as
//! [`wkrtc::Settings::loopback`] configures wkrtc: `add-local-ip-address 127.0.0.1` and
//! `ice-tcp` off on webrtcbin's `ice-agent`, and on its libnice agent `upnp` off and a 2 ms
//! `stun-pacing-timer`. The call: `create-data-channel` before the offer, the promise-based
//! `create-offer` / `set-local-description` / `set-remote-description` / `create-answer`,
//! trickle through `on-ice-candidate` / `add-ice-candidate` once the other side has our
//! description, `on-data-channel` on the answerer, `on-open`, `send_data_full` with
//! `buffered-amount` / `on-buffered-amount-low` backpressure and `on-message-data`. The
//! answerer verifies and echoes inside webrtcbin's callbacks, as a plain application would.
//! Unlike wkrtc, the anchor keeps the 2 ms pacing once connected (wkrtc goes back to 20 ms).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use gst::prelude::*;
use gst_webrtc::{
    WebRTCDTLSTransport, WebRTCDTLSTransportState, WebRTCDataChannel, WebRTCICEConnectionState, WebRTCICETransport, WebRTCPeerConnectionState,
    WebRTCSCTPTransport, WebRTCSessionDescription,
};

use crate::loopback::{lock, Options, SETUP_TIMEOUT};
use crate::measure::{Action, Answerer, BulkReport};
use crate::phases::{self, wait_until, Link, Results, Setup, WAIT};

/// The only address candidates are gathered on.
const LOCAL_ADDRESS: &str = "127.0.0.1";
/// libnice's check pacing (Ta), the value `Settings::loopback()` gives wkrtc.
const PACING_MS: u32 = 2;
/// Bound on one promise.
const OP_TIMEOUT: Duration = Duration::from_secs(10);

/// A state change seen on the offerer, or a pipeline error.
#[derive(Debug)]
enum Change {
    Ice(WebRTCICEConnectionState),
    Dtls(WebRTCDTLSTransportState),
    Connection(WebRTCPeerConnectionState),
    Error(String),
}

type Changes = flume::Sender<(Instant, Change)>;

/// One direction of trickle: candidates wait until the other side has our description.
struct Trickle {
    to: glib::WeakRef<gst::Element>,
    open: bool,
    waiting: Vec<(u32, String)>,
}

impl Trickle {
    fn offer(this: &Mutex<Self>, mline: u32, candidate: String) {
        let to = {
            let mut t = lock(this);
            if !t.open {
                t.waiting.push((mline, candidate));
                return;
            }
            t.to.upgrade()
        };
        if let Some(to) = to {
            to.emit_by_name::<()>("add-ice-candidate", &[&mline, &candidate]);
        }
    }

    fn open(this: &Mutex<Self>) {
        let (to, waiting) = {
            let mut t = lock(this);
            t.open = true;
            (t.to.upgrade(), std::mem::take(&mut t.waiting))
        };
        if let Some(to) = to {
            for (mline, candidate) in waiting {
                to.emit_by_name::<()>("add-ice-candidate", &[&mline, &candidate]);
            }
        }
    }
}

struct Peer {
    pipeline: gst::Pipeline,
    webrtc: gst::Element,
    changes: Changes,
    /// Trickle from this peer to the other.
    trickle: Arc<Mutex<Trickle>>,
}

fn has_property(obj: &impl IsA<glib::Object>, name: &str, on: &str) -> Result<()> {
    if obj.as_ref().find_property(name).is_none() {
        bail!("{on} has no property '{name}' (is webrtcbin's ICE agent libnice?)");
    }
    Ok(())
}

impl Peer {
    fn new(role: &str, changes: Changes) -> Result<Self> {
        let pipeline = gst::Pipeline::builder().name(role).build();
        let webrtc = gst::ElementFactory::make("webrtcbin").name(role).build().context("cannot create webrtcbin")?;
        pipeline.add(&webrtc).context("cannot add webrtcbin to its pipeline")?;

        has_property(&webrtc, "ice-agent", "webrtcbin")?;
        let ice: glib::Object = webrtc.property("ice-agent");
        has_property(&ice, "ice-tcp", "webrtcbin's ice-agent")?;
        ice.set_property("ice-tcp", false);
        let added = ice.emit_by_name_with_values("add-local-ip-address", &[LOCAL_ADDRESS.to_value()]);
        if added.and_then(|v| v.get::<bool>().ok()) == Some(false) {
            bail!("the ICE agent refused the local address {LOCAL_ADDRESS}");
        }
        has_property(&ice, "agent", "webrtcbin's ice-agent")?;
        let agent: glib::Object = ice.property("agent");
        has_property(&agent, "upnp", "the NiceAgent")?;
        has_property(&agent, "stun-pacing-timer", "the NiceAgent")?;
        agent.set_property("upnp", false);
        agent.set_property("stun-pacing-timer", PACING_MS);

        let tx = changes.clone();
        webrtc.connect_notify(Some("connection-state"), move |w, _| {
            let _ = tx.send((Instant::now(), Change::Connection(w.property("connection-state"))));
        });
        let tx = changes.clone();
        let bus = pipeline.bus().context("a pipeline without a bus")?;
        bus.set_sync_handler(move |_, msg| {
            if let gst::MessageView::Error(err) = msg.view() {
                let from = msg.src().map(|s| s.path_string().to_string()).unwrap_or_default();
                let _ = tx.send((Instant::now(), Change::Error(format!("{from}: {}", err.error()))));
            }
            gst::BusSyncReply::Drop
        });
        let trickle = Arc::new(Mutex::new(Trickle { to: glib::WeakRef::new(), open: false, waiting: Vec::new() }));
        let t = trickle.clone();
        webrtc.connect("on-ice-candidate", false, move |args| {
            let mline = args.get(1).and_then(|v| v.get::<u32>().ok());
            let candidate = args.get(2).and_then(|v| v.get::<String>().ok());
            if let (Some(mline), Some(candidate)) = (mline, candidate) {
                Trickle::offer(&t, mline, candidate);
            }
            None
        });
        pipeline.set_state(gst::State::Playing).context("webrtcbin does not start")?;
        Ok(Self { pipeline, webrtc, changes, trickle })
    }

    fn trickle_to(&self, other: &Peer) {
        lock(&self.trickle).to = other.webrtc.downgrade();
    }

    /// Emits a promise-based signal and waits for the reply.
    fn promise(&self, signal: &str, arg: &dyn ToValue) -> Result<Option<gst::Structure>> {
        let (tx, rx) = flume::bounded(1);
        let promise = gst::Promise::with_change_func(move |reply| {
            let _ = tx.send(reply.map(|s| s.map(ToOwned::to_owned)).map_err(|e| format!("{e:?}")));
        });
        self.webrtc.emit_by_name::<()>(signal, &[arg, &promise]);
        let reply = match rx.recv_timeout(OP_TIMEOUT) {
            Ok(r) => r.map_err(|e| anyhow!("webrtcbin {signal} was interrupted: {e}"))?,
            Err(_) => bail!("webrtcbin {signal}: no answer within {OP_TIMEOUT:?}"),
        };
        if let Some(err) = reply.as_ref().and_then(|s| s.get::<glib::Error>("error").ok()) {
            bail!("webrtcbin {signal}: {}", err.message());
        }
        Ok(reply)
    }

    fn create(&self, signal: &str, field: &str) -> Result<WebRTCSessionDescription> {
        self.promise(signal, &None::<gst::Structure>)?
            .and_then(|s| s.get::<WebRTCSessionDescription>(field).ok())
            .ok_or_else(|| anyhow!("webrtcbin {signal} gave no {field}"))
    }

    /// Follows the ICE and DTLS transports under the SCTP transport; false when there is
    /// none yet.
    fn hook_transports(&self) -> bool {
        let Some(sctp) = self.webrtc.property::<Option<WebRTCSCTPTransport>>("sctp-transport") else { return false };
        let dtls = sctp.property::<WebRTCDTLSTransport>("transport");
        let ice = dtls.property::<WebRTCICETransport>("transport");
        let tx = self.changes.clone();
        dtls.connect_notify(Some("state"), move |dtls, _| {
            let _ = tx.send((Instant::now(), Change::Dtls(dtls.property("state"))));
        });
        let tx = self.changes.clone();
        ice.connect_notify(Some("state"), move |ice, _| {
            let _ = tx.send((Instant::now(), Change::Ice(ice.property("state"))));
        });
        let now = Instant::now();
        let _ = self.changes.send((now, Change::Dtls(dtls.property("state"))));
        let _ = self.changes.send((now, Change::Ice(ice.property("state"))));
        true
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // Also on error paths: a pipeline must reach NULL before it is disposed.
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// Two connected raw webrtcbins with an open channel.
struct Call {
    a: Peer,
    b: Peer,
    dc_a: WebRTCDataChannel,
    messages: flume::Receiver<Vec<u8>>,
    low: flume::Receiver<()>,
    answerer: Arc<Mutex<Answerer>>,
    reports: flume::Receiver<BulkReport>,
    _dc_b: WebRTCDataChannel,
}

impl Call {
    fn setup() -> Result<(Self, Setup)> {
        let (changes, offerer_changes) = flume::unbounded();
        let a = Peer::new("offerer", changes)?;
        let (changes, _answerer_changes) = flume::unbounded();
        let b = Peer::new("answerer", changes)?;
        a.trickle_to(&b);
        b.trickle_to(&a);

        let dc_a = a
            .webrtc
            .emit_by_name::<Option<WebRTCDataChannel>>("create-data-channel", &[&"bench", &None::<gst::Structure>])
            .context("webrtcbin refused create-data-channel")?;
        let (tx, opened) = flume::bounded(1);
        dc_a.connect_on_open(move |_| {
            let _ = tx.try_send(Instant::now());
        });
        let (tx, messages) = flume::unbounded();
        dc_a.connect_on_message_data(move |_, data| {
            let _ = tx.send(data.map(|b| b.to_vec()).unwrap_or_default());
        });
        let (tx, low) = flume::unbounded();
        dc_a.connect_on_buffered_amount_low(move |_| {
            let _ = tx.send(());
        });

        let answerer = Arc::new(Mutex::new(Answerer::new()));
        let (reports_tx, reports) = flume::unbounded();
        let (tx, remote_channel) = flume::bounded(1);
        let state = answerer.clone();
        b.webrtc.connect("on-data-channel", false, move |args| {
            if let Some(ch) = args.get(1).and_then(|v| v.get::<WebRTCDataChannel>().ok()) {
                let (verifier, reports) = (state.clone(), reports_tx.clone());
                ch.connect_on_message_data(move |ch, data| {
                    let data = data.map(|d| &d[..]).unwrap_or_default();
                    let state = &verifier;
                    let action = lock(state).on_message(data, Instant::now());
                    match action {
                        Action::Echo => {
                            if let Err(e) = ch.send_data_full(Some(&glib::Bytes::from(data))) {
                                lock(state).error(format!("the answerer cannot echo: {e}"));
                            }
                        }
                        Action::Report(r) => {
                            let _ = reports.send(r);
                        }
                        Action::Nothing => {}
                    }
                });
                let state = state.clone();
                ch.connect_on_message_string(move |_, _| lock(&state).error("a text message".into()));
                let _ = tx.try_send(ch);
            }
            None
        });

        let t0 = Instant::now();
        let deadline = t0 + SETUP_TIMEOUT;
        let offer = a.create("create-offer", "offer")?;
        a.promise("set-local-description", &offer)?;
        let mut hooked = a.hook_transports();
        b.promise("set-remote-description", &offer)?;
        Trickle::open(&a.trickle);
        let answer = b.create("create-answer", "answer")?;
        b.promise("set-local-description", &answer)?;
        a.promise("set-remote-description", &answer)?;
        Trickle::open(&b.trickle);
        let applied = t0.elapsed();
        if !hooked {
            hooked = a.hook_transports();
        }
        if !hooked {
            bail!("the offerer has no SCTP transport after negotiation");
        }

        let open = match opened.recv_deadline(deadline) {
            Ok(at) => at.saturating_duration_since(t0),
            Err(_) => bail!(
                "timed out waiting for the offerer's data channel to open (channel {:?}, connection {:?})",
                dc_a.ready_state(),
                a.webrtc.property::<WebRTCPeerConnectionState>("connection-state")
            ),
        };
        let (mut ice, mut dtls) = (None, None);
        let (ice, dtls) = wait_until(&offerer_changes, deadline, "the offerer's ICE and DTLS states", |(at, change)| {
            let since = at.saturating_duration_since(t0);
            match change {
                Change::Ice(WebRTCICEConnectionState::Connected | WebRTCICEConnectionState::Completed) => {
                    ice.get_or_insert(since);
                }
                Change::Dtls(WebRTCDTLSTransportState::Connected) | Change::Connection(WebRTCPeerConnectionState::Connected) => {
                    dtls.get_or_insert(since);
                }
                Change::Ice(WebRTCICEConnectionState::Failed)
                | Change::Dtls(WebRTCDTLSTransportState::Failed)
                | Change::Connection(WebRTCPeerConnectionState::Failed) => bail!("the offerer's connection failed: {change:?}"),
                Change::Error(e) => bail!("offerer pipeline error: {e}"),
                _ => {}
            }
            Ok(ice.zip(dtls))
        })?;
        let dc_b = remote_channel.recv_deadline(deadline).map_err(|_| anyhow!("timed out waiting for the answerer's on-data-channel"))?;
        Ok((Self { a, b, dc_a, messages, low, answerer, reports, _dc_b: dc_b }, Setup { applied, ice, dtls, open }))
    }

    fn close(self) -> Result<()> {
        let Call { a, b, .. } = self;
        phases::bounded("raw-close", WAIT, move || {
            for peer in [&a, &b] {
                if let Some(bus) = peer.pipeline.bus() {
                    bus.unset_sync_handler();
                }
                peer.pipeline.set_state(gst::State::Null).context("a pipeline does not stop")?;
            }
            Ok(())
        })
    }
}

impl Link for Call {
    fn send(&self, msg: Vec<u8>) -> Result<()> {
        self.dc_a.send_data_full(Some(&glib::Bytes::from_owned(msg))).map_err(|e| anyhow!("send-data failed: {e}"))
    }
    fn buffered_amount(&self) -> u64 {
        self.dc_a.buffered_amount()
    }
    fn set_buffered_amount_low_threshold(&self, bytes: u64) {
        self.dc_a.set_buffered_amount_low_threshold(bytes);
    }
    fn wait_buffered_amount_low(&self, timeout: Duration) -> Result<bool> {
        match self.low.recv_timeout(timeout) {
            Ok(()) => Ok(true),
            Err(flume::RecvTimeoutError::Timeout) => Ok(false),
            Err(flume::RecvTimeoutError::Disconnected) => bail!("the offerer's channel is gone"),
        }
    }
    fn recv(&self, timeout: Duration) -> Result<Option<Vec<u8>>> {
        match self.messages.recv_timeout(timeout) {
            Ok(m) => Ok(Some(m)),
            Err(flume::RecvTimeoutError::Timeout) => Ok(None),
            Err(flume::RecvTimeoutError::Disconnected) => bail!("the offerer's channel is gone"),
        }
    }
    fn report(&self, timeout: Duration) -> Result<Option<BulkReport>> {
        match self.reports.recv_timeout(timeout) {
            Ok(r) => Ok(Some(r)),
            Err(flume::RecvTimeoutError::Timeout) => Ok(None),
            Err(flume::RecvTimeoutError::Disconnected) => bail!("the answerer is gone"),
        }
    }
}

/// `opts.runs` raw calls; the data phases run on the last one.
pub fn measure(opts: &Options, results: &mut Results) -> Result<()> {
    for run in 0..opts.runs {
        let (call, setup) = Call::setup().with_context(|| format!("raw call {}", run + 1))?;
        results.setups.push(setup);
        if run + 1 == opts.runs {
            phases::data_phases(&call, opts.seconds, results).context("raw data phases")?;
            let (n, first) = lock(&call.answerer).stray_errors();
            results.stray_errors += n;
            if results.first_stray_error.is_none() {
                results.first_stray_error = first;
            }
        }
        call.close().with_context(|| format!("closing raw call {}", run + 1))?;
    }
    Ok(())
}

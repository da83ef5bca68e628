// SPDX-License-Identifier: MPL-2.0
//! The GStreamer side: process-wide set-up, the worker thread, and the webrtcbin session.

pub(crate) mod dtls;
pub(crate) mod ice;
pub(crate) mod session;

use std::sync::{LazyLock, OnceLock};
use std::time::{Duration, Instant};


use crate::{Error, Result};

/// The crate's debug category: `GST_DEBUG=wkrtc*:6`.
pub(crate) static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new("wkrtc", gst::DebugColorFlags::empty(), Some("wkrtc WebRTC backend"))
});

/// Elements a session cannot run without, with the Debian package that ships them.
const REQUIRED_ELEMENTS: &[(&str, &str)] = &[
    ("webrtcbin", "gstreamer1.0-plugins-bad"),
    ("nicesrc", "gstreamer1.0-nice"),
    ("nicesink", "gstreamer1.0-nice"),
    ("dtlssrtpdec", "gstreamer1.0-plugins-bad"),
    ("sctpenc", "gstreamer1.0-plugins-bad"),
    ("rtpbin", "gstreamer1.0-plugins-good"),
];

struct Runtime {
    context: glib::MainContext,
    /// Disconnects when the warm-up has finished.
    warm_done: flume::Receiver<()>,
}

static WARM_UP: OnceLock<Duration> = OnceLock::new();

static RUNTIME: OnceLock<std::result::Result<Runtime, Error>> = OnceLock::new();

/// Initialises GStreamer and wkrtc once per process: checks the plugins, starts the worker
/// thread, and starts paying the one-off costs (plugin loading, the DTLS certificate) on a
/// background thread so that the first call does not.
///
/// [`crate::PeerConnection`] calls it; call it early (at start-up) to hide those costs. A
/// program that may exit within a second of calling it should first call [`wait_warm`]:
/// exiting while the warm-up thread generates the DTLS key crashes in OpenSSL's exit
/// handlers.
pub fn init() -> Result<()> {
    runtime().map(|_| ())
}

fn runtime() -> Result<&'static Runtime> {
    RUNTIME.get_or_init(start).as_ref().map_err(Clone::clone)
}

fn start() -> Result<Runtime> {
    gst::init().map_err(|e| Error::NotSupported(format!("GStreamer does not initialise: {e}")))?;
    for (name, package) in REQUIRED_ELEMENTS {
        if gst::ElementFactory::find(name).is_none() {
            return Err(Error::NotSupported(format!("GStreamer element '{name}' is missing (Debian package {package})")));
        }
    }
    let context = glib::MainContext::new();
    let ctx = context.clone();
    std::thread::Builder::new()
        .name("wkrtc-worker".into())
        .spawn(move || {
            // The context is owned by this thread alone, so acquiring it succeeds.
            let _guard = ctx.acquire().expect("fresh context is free");
            glib::MainLoop::new(Some(&ctx), false).run();
        })
        .map_err(|e| Error::Operation(format!("cannot start the wkrtc worker thread: {e}")))?;

    let (tx, warm_done) = flume::bounded::<()>(0);
    std::thread::Builder::new()
        .name("wkrtc-warmup".into())
        .spawn(move || {
            let started = Instant::now();
            warm_up();
            let took = started.elapsed();
            gst::debug!(CAT, "warm-up took {:?}", took);
            let _ = WARM_UP.set(took);
            drop(tx);
        })
        .map_err(|e| Error::Operation(format!("cannot start the warm-up thread: {e}")))?;
    Ok(Runtime { context, warm_done })
}

/// Pays the per-process first-use costs: plugin loading, the dtls plugin's certificate (an
/// RSA key, the bulk of it) and webrtcbin's own first negotiation (measured: a first offer
/// costs twice a later one). One throwaway session creates a data channel and applies an
/// offer on loopback, then stops; nothing is sent.
fn warm_up() {
    for name in ["dtlsdec", "dtlssrtpenc", "sctpdec", "nicesrc"] {
        let _ = gst::ElementFactory::make(name).build();
    }
    let gate = dtls::FingerprintGate::new(|_| {});
    let servers = crate::configuration::EngineIceServers::default();
    let Ok(s) = session::Session::new(&crate::Configuration::default(), &servers, &crate::Settings::loopback(), &gate, std::sync::Arc::new(|_| {})) else {
        return;
    };
    let negotiated = futures::executor::block_on(async {
        let _channel = s.create_data_channel("warm-up", crate::DataChannelInit::default().to_structure())?;
        let offer = s.create_offer().await?;
        s.set_description(crate::jsep::Side::Local, crate::jsep::SdpType::Offer, offer).await
    });
    if let Err(e) = negotiated {
        gst::debug!(CAT, "warm-up negotiation failed: {}", e);
    }
    s.stop();
}

/// The worker's main context: operations, deferred calls into webrtcbin and teardown run here,
/// never inside a webrtcbin signal handler.
pub(crate) fn worker() -> Result<&'static glib::MainContext> {
    runtime().map(|r| &r.context)
}

/// Waits, at most `timeout`, for the start-up warm-up; returns how long it took.
pub fn wait_warm(timeout: Duration) -> Option<Duration> {
    let rt = runtime().ok()?;
    let _ = rt.warm_done.recv_timeout(timeout);
    WARM_UP.get().copied()
}

/// Bounds an operation on webrtcbin: a promise it never answers becomes an
/// `OperationError` after `limit` instead of a hung operations chain.
pub(crate) async fn bounded<T>(what: &str, limit: Duration, fut: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    use futures::future::{select, Either};
    let (tx, rx) = flume::bounded::<()>(1);
    let source = glib::timeout_source_new(limit, None, glib::Priority::DEFAULT, move || {
        let _ = tx.send(());
        glib::ControlFlow::Break
    });
    source.attach(Some(worker()?));
    let fut = std::pin::pin!(fut);
    let timer = rx.into_recv_async();
    match select(fut, timer).await {
        Either::Left((result, _)) => {
            source.destroy();
            result
        }
        Either::Right(_) => Err(Error::Operation(format!("{what} got no answer from webrtcbin within {limit:?}"))),
    }
}

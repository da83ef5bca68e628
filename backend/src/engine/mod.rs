// SPDX-License-Identifier: MPL-2.0
//! The GStreamer side: process-wide set-up, the worker thread, and the webrtcbin session.

pub(crate) mod dtls;
pub(crate) mod ice;
pub(crate) mod media;
pub(crate) mod rtcp;
pub(crate) mod sctp;
pub(crate) mod session;

use std::sync::{LazyLock, OnceLock};
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// The crate's debug category: `GST_DEBUG=wkrtc*:6`.
pub(crate) static CAT: LazyLock<gst::DebugCategory> =
    LazyLock::new(|| gst::DebugCategory::new("wkrtc", gst::DebugColorFlags::empty(), Some("wkrtc WebRTC backend")));

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
/// process that exits while the warm-up still runs waits for it (at most 5 s) in an exit
/// handler, before OpenSSL's own cleanup.
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
    // exit() tearing OpenSSL down under the warm-up's key generation crashes. OpenSSL
    // registers its cleanup when first initialised: initialise it now, then register wkrtc's
    // exit handler, which therefore runs first and lets the warm-up finish.
    init_openssl();
    // SAFETY: `finish_warm_up_at_exit` is an `extern "C" fn()` that neither unwinds nor
    // touches anything that exit() has already destroyed (statics live until the end).
    unsafe {
        libc::atexit(finish_warm_up_at_exit);
    }
    let context = glib::MainContext::new();
    let ctx = context.clone();
    std::thread::Builder::new()
        .name("wkrtc-worker".into())
        .spawn(move || {
            let Ok(_owner) = ctx.acquire() else {
                gst::error!(CAT, "the worker context is owned elsewhere: wkrtc cannot run operations");
                return;
            };
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

/// Fills `buf` from the kernel's random source (ICE credentials, track and stream ids).
pub(crate) fn random_bytes(buf: &mut [u8]) {
    use std::io::Read;
    if let Err(e) = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(buf)) {
        // /dev/urandom does not fail on Linux once opened; without it, ids stay unique by
        // the fallback below but are not secret.
        gst::error!(CAT, "no /dev/urandom: {}", e);
        let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (seed >> ((i % 16) * 8)) as u8 ^ i as u8;
        }
    }
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
    let Ok(certificate) = crate::Certificate::generate(crate::KeyAlgorithm::default(), None) else { return };
    let Ok(s) =
        session::Session::new(&crate::Configuration::default(), &servers, &crate::Settings::loopback(), &certificate, &gate, std::sync::Arc::new(|_| {}))
    else {
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

/// Initialises the OpenSSL the dtls plugin uses (libcrypto 3, loaded by name).
fn init_openssl() {
    type InitCrypto = unsafe extern "C" fn(u64, *const std::ffi::c_void) -> std::ffi::c_int;
    // OPENSSL_INIT_LOAD_CRYPTO_STRINGS | OPENSSL_INIT_ADD_ALL_CIPHERS | OPENSSL_INIT_ADD_ALL_DIGESTS:
    // what the dtls plugin asks for. (With no option at all the call returns at once.)
    const OPTS: u64 = 0x2 | 0x4 | 0x8;
    // SAFETY: dlopen/dlsym with NUL-terminated names; the symbol, when found, is OpenSSL 3's
    // `int OPENSSL_init_crypto(uint64_t opts, const OPENSSL_INIT_SETTINGS *settings)`, and
    // NULL settings are the documented default. The library stays loaded (no dlclose).
    unsafe {
        let lib = libc::dlopen(c"libcrypto.so.3".as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL);
        if lib.is_null() {
            return;
        }
        let sym = libc::dlsym(lib, c"OPENSSL_init_crypto".as_ptr());
        if !sym.is_null() {
            let init: InitCrypto = std::mem::transmute(sym);
            init(OPTS, std::ptr::null());
        }
    }
}

/// Exit handler: waits (at most 5 s) for the warm-up thread; see [`start`].
extern "C" fn finish_warm_up_at_exit() {
    if let Some(Ok(rt)) = RUNTIME.get() {
        let _ = rt.warm_done.recv_timeout(Duration::from_secs(5));
    }
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

// SPDX-License-Identifier: MPL-2.0
//! DTLS fingerprint enforcement (RFC 8122, section 5; RFC 8827, section 6.5).
//!
//! webrtcbin 1.22 never compares the certificate a peer presents with the remote
//! description's `a=fingerprint`: its DTLS elements accept any certificate. The gate hashes
//! the peer certificate when each `dtlssrtpdec` reports it during the handshake
//! (`notify::peer-pem`) and drops every decrypted buffer (data channel or media) on that
//! element's source pads until the certificate matches. A mismatch rejects the session
//! before one message or frame is delivered.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use gst::prelude::*;

use super::CAT;
use crate::jsep::{pem_certificate_der, verify_certificate, Fingerprint};
use crate::Certificate;

/// Makes every `dtlssrtpdec` inside `webrtcbin` present `certificate` instead of
/// GStreamer's default, a process-wide RSA-2048 one. The decoder holds the DTLS connection
/// that its encoder takes over when it starts, so a certificate set as the decoder joins
/// the bin, still in the NULL state, is the one both use.
pub(crate) fn present_certificate(webrtcbin: &gst::Element, certificate: &Certificate) {
    let Some(bin) = webrtcbin.downcast_ref::<gst::Bin>() else { return };
    let pem = certificate.dtls_pem();
    bin.connect_deep_element_added(move |_, _, element| {
        if element.factory().is_some_and(|f| f.name() == "dtlssrtpdec") {
            gst::debug!(CAT, obj = element, "presenting wkrtc's certificate");
            element.set_property("pem", &pem);
        }
    });
}

const PENDING: u8 = 0;
const VERIFIED: u8 = 1;
const REJECTED: u8 = 2;
/// The session is being torn down: nothing more goes through.
const CLOSED: u8 = 3;

/// The gate's decision, reported once.
pub(crate) enum Verdict {
    /// The certificate matches: data flows from now on.
    Verified,
    /// It does not (or cannot be read): nothing will flow.
    Rejected(String),
}

type VerdictHandler = Box<dyn Fn(Verdict) + Send + Sync>;

/// Holds data and media back until the peer's certificate matches the SDP fingerprint.
pub(crate) struct FingerprintGate {
    state: AtomicU8,
    inner: Mutex<GateInner>,
    on_verdict: VerdictHandler,
}

#[derive(Default)]
struct GateInner {
    expected: Option<Vec<Fingerprint>>,
    /// Certificates seen before the remote description said what to expect.
    unverified: Vec<Vec<u8>>,
    /// The peer's certificate (DER), once it matched.
    verified: Option<Vec<u8>>,
}

impl FingerprintGate {
    /// A closed gate; `on_verdict` is called once, from whichever thread decides (a
    /// streaming thread or the caller of [`Self::set_expected`]).
    pub fn new(on_verdict: impl Fn(Verdict) + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Self { state: AtomicU8::new(PENDING), inner: Mutex::default(), on_verdict: Box::new(on_verdict) })
    }

    /// True once the peer certificate matched.
    pub fn passes(&self) -> bool {
        self.state.load(Ordering::Acquire) == VERIFIED
    }

    /// Shuts the gate for good before the session stops: sctpdec 1.22 aborts the process
    /// (`assertion failed: (src_pad)`) when data for a stream arrives while its pads are
    /// being removed, which a pipeline going to NULL does.
    pub fn close(&self) {
        self.state.store(CLOSED, Ordering::Release);
    }

    /// The fingerprints of the remote description now in force.
    pub fn set_expected(&self, fingerprints: Vec<Fingerprint>) {
        let pending = {
            let mut inner = self.lock();
            inner.expected = Some(fingerprints);
            std::mem::take(&mut inner.unverified)
        };
        for der in pending {
            self.check(der);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GateInner> {
        // A panic while holding this lock would be a bug in the few lines above; the data
        // (a list of fingerprints) stays valid, so keep using it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The peer's certificate (DER), once it matched the remote fingerprints.
    pub fn peer_certificate(&self) -> Option<Vec<u8>> {
        self.lock().verified.clone()
    }

    fn check(&self, der: Vec<u8>) {
        let verdict = {
            let mut inner = self.lock();
            let verdict = match &inner.expected {
                None => {
                    inner.unverified.push(der);
                    return;
                }
                Some(fps) => verify_certificate(fps, &der),
            };
            if verdict.is_ok() && inner.verified.is_none() {
                inner.verified = Some(der);
            }
            verdict
        };
        match verdict {
            Ok(alg) => {
                gst::debug!(CAT, "peer certificate matches the remote {} fingerprint", alg.name());
                // A rejection is final: a second, matching certificate does not reopen the gate.
                if self.state.compare_exchange(PENDING, VERIFIED, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                    (self.on_verdict)(Verdict::Verified);
                }
            }
            Err(reason) => {
                gst::warning!(CAT, "{}", reason);
                self.reject(&reason);
            }
        }
    }

    fn reject(&self, reason: &str) {
        if self.state.swap(REJECTED, Ordering::AcqRel) != REJECTED {
            (self.on_verdict)(Verdict::Rejected(reason.to_owned()));
        }
    }

    /// Watches every `dtlssrtpdec` that appears inside `webrtcbin`.
    pub fn attach(self: &Arc<Self>, webrtcbin: &gst::Element) {
        let Some(bin) = webrtcbin.downcast_ref::<gst::Bin>() else { return };
        let gate = Arc::clone(self);
        bin.connect_deep_element_added(move |_, _, element| {
            let is_dtls_dec = element.factory().is_some_and(|f| f.name() == "dtlssrtpdec");
            if is_dtls_dec {
                gate.guard(element);
            }
        });
    }

    fn guard(self: &Arc<Self>, dec: &gst::Element) {
        gst::debug!(CAT, obj = dec, "guarding DTLS decoder until the peer fingerprint is checked");
        let gate = Arc::clone(self);
        dec.connect_notify(Some("peer-pem"), move |dec, _| {
            let pem: Option<String> = dec.property("peer-pem");
            match pem.as_deref().and_then(pem_certificate_der) {
                Some(der) => gate.check(der),
                None => gate.reject("the peer's DTLS certificate could not be read"),
            }
        });
        for pad in dec.src_pads() {
            self.probe(&pad);
        }
        let gate = Arc::clone(self);
        dec.connect_pad_added(move |_, pad| {
            if pad.direction() == gst::PadDirection::Src {
                gate.probe(pad);
            }
        });
    }

    fn probe(self: &Arc<Self>, pad: &gst::Pad) {
        let gate = Arc::clone(self);
        pad.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST, move |pad, _| {
            if gate.passes() {
                gst::PadProbeReturn::Ok
            } else {
                gst::trace!(CAT, obj = pad, "dropping data before the peer certificate is verified");
                gst::PadProbeReturn::Drop
            }
        });
    }
}

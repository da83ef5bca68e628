// SPDX-License-Identifier: MPL-2.0
//! CPU cost of a wkrtc video call: two wkrtc peers in this process, one sending a test
//! pattern to the other, which decodes it. The browser interop test prints it next to the
//! same call between two Chromium peer connections.

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use wkrtc::{Event, MediaKind, MediaStreamTrack, OfferOptions, PeerConnection, Settings, TestPattern};

use crate::wait::block_on_timeout;

const OP_TIMEOUT: Duration = Duration::from_secs(10);

/// What one measured call did.
#[derive(Debug, Clone)]
pub struct MediaCpu {
    /// Process CPU time (user + system) per minute of call, in seconds.
    pub cpu_seconds_per_minute: f64,
    /// Frames the receiving peer decoded during the measured window.
    pub frames_decoded: u64,
    /// Length of the measured window.
    pub seconds: f64,
    /// Size of the decoded frames.
    pub width: i32,
    /// Size of the decoded frames.
    pub height: i32,
    /// Both peers' getStats (W3C JSON) at the end of the window: sender, then receiver.
    pub stats: Option<(serde_json::Value, serde_json::Value)>,
}

fn op<T>(what: &str, fut: impl std::future::Future<Output = wkrtc::Result<T>>) -> Result<T> {
    block_on_timeout(fut, OP_TIMEOUT).with_context(|| format!("{what} timed out"))?.with_context(|| format!("{what} failed"))
}

/// Process CPU time so far (user + system).
pub fn process_cpu() -> Duration {
    // SAFETY: getrusage(2) fills the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Forwards `from`'s candidates to `to` and returns the other events.
fn forward(from: &PeerConnection, to: Arc<PeerConnection>) -> flume::Receiver<Event> {
    let (tx, rx) = flume::unbounded();
    let events = from.events();
    std::thread::spawn(move || {
        for ev in events.iter() {
            match ev {
                Event::IceCandidate(c) => {
                    if block_on_timeout(to.add_ice_candidate(c), OP_TIMEOUT).is_none() {
                        break;
                    }
                }
                other => {
                    if tx.send(other).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

/// Sends `pattern` (VP8, wkrtc's first codec) from one wkrtc peer to another for `window`
/// after the first decoded frame, and measures the process's CPU time over that window.
pub fn wkrtc_pair(pattern: TestPattern, window: Duration) -> Result<MediaCpu> {
    let track = MediaStreamTrack::test_pattern(MediaKind::Video, pattern)?;
    let measured = send_and_measure(&track, window, false);
    track.stop();
    measured
}

/// The same call with a camera opened by wkrtc's getUserMedia: what it delivered to the far
/// end, with the settings and label of the capture track.
pub fn capture_pair(
    devices: &wkrtc::capture::MediaDevices,
    video: serde_json::Value,
    window: Duration,
    stats: bool,
) -> Result<(MediaCpu, serde_json::Value, String)> {
    let captures = devices.get_user_media(&serde_json::json!({ "video": video })).map_err(|e| anyhow::anyhow!("getUserMedia: {e}"))?;
    let camera = &captures[0];
    let measured = send_and_measure(camera.track(), window, stats);
    let settings = camera.settings();
    camera.stop();
    Ok((measured?, settings, camera.track().label().to_owned()))
}

/// Sends `track` from one wkrtc peer to another and measures the window after the first
/// decoded frame; `stats`: both peers' reports at its end.
fn send_and_measure(track: &MediaStreamTrack, window: Duration, stats: bool) -> Result<MediaCpu> {
    let a = Arc::new(PeerConnection::with_settings(Default::default(), Settings::loopback())?);
    let b = Arc::new(PeerConnection::with_settings(Default::default(), Settings::loopback())?);
    a.add_track(track, &["bench".into()])?;
    let offer = op("createOffer", a.create_offer(OfferOptions::default()))?;
    op("setLocalDescription(offer)", a.set_local_description(Some(offer.clone())))?;
    op("setRemoteDescription(offer)", b.set_remote_description(offer))?;
    let answer = op("createAnswer", b.create_answer())?;
    op("setLocalDescription(answer)", b.set_local_description(Some(answer.clone())))?;
    op("setRemoteDescription(answer)", a.set_remote_description(answer))?;
    let _a_events = forward(&a, b.clone());
    let b_events = forward(&b, a.clone());

    let deadline = Instant::now() + Duration::from_secs(15);
    let remote = loop {
        match b_events.recv_deadline(deadline) {
            Ok(Event::Track { track, .. }) => break track,
            Ok(_) => {}
            Err(_) => bail!("no track event within 15 s"),
        }
    };
    let frames = Arc::new(AtomicU64::new(0));
    let (w, h) = (Arc::new(AtomicI32::new(0)), Arc::new(AtomicI32::new(0)));
    let (f, wc, hc) = (frames.clone(), w.clone(), h.clone());
    let (first_tx, first) = flume::bounded(1);
    remote.on_sample(move |s| {
        let _ = first_tx.try_send(());
        if let Some(st) = s.caps().and_then(|c| c.structure(0)) {
            wc.store(st.get::<i32>("width").unwrap_or(0), Ordering::Relaxed);
            hc.store(st.get::<i32>("height").unwrap_or(0), Ordering::Relaxed);
        }
        f.fetch_add(1, Ordering::Relaxed);
    });
    first.recv_deadline(deadline).map_err(|_| anyhow::anyhow!("no decoded frame within 15 s"))?;
    let (cpu0, t0, n0) = (process_cpu(), Instant::now(), frames.load(Ordering::Relaxed));
    // The measured window: the call runs on GStreamer's threads meanwhile.
    std::thread::sleep(window);
    let (cpu1, t1, n1) = (process_cpu(), Instant::now(), frames.load(Ordering::Relaxed));
    let stats = if stats { Some((op("getStats", a.get_stats())?.to_json(), op("getStats", b.get_stats())?.to_json())) } else { None };
    a.close();
    b.close();
    let seconds = (t1 - t0).as_secs_f64();
    Ok(MediaCpu {
        cpu_seconds_per_minute: (cpu1 - cpu0).as_secs_f64() * 60.0 / seconds,
        frames_decoded: n1 - n0,
        seconds,
        width: w.load(Ordering::Relaxed),
        height: h.load(Ordering::Relaxed),
        stats,
    })
}

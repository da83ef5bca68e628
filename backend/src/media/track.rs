// SPDX-License-Identifier: MPL-2.0
//! `MediaStreamTrack` (<https://w3c.github.io/mediacapture-main/#mediastreamtrack>).
//!
//! A track is a hub of raw frames: its source (a test pattern, a GStreamer element such as a
//! camera, frames pushed by the embedder, or a receiver's decoder) hands each frame as a
//! `GstSample` to everything attached to the track: the senders that encode it and the
//! embedder's callbacks. Frames are passed by reference, never copied.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use gst::prelude::*;

use super::codec::MediaKind;
use crate::engine::media::FrameRate;
use crate::engine::CAT;
use crate::{Error, Result};

/// `MediaStreamTrackState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackState {
    /// Producing frames (or able to).
    Live,
    /// Stopped for good.
    Ended,
}

/// A test pattern source: moving video or a tone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestPattern {
    /// Video width in pixels.
    pub width: u32,
    /// Video height in pixels.
    pub height: u32,
    /// Frames per second.
    pub framerate: u32,
    /// Tone frequency in Hz, for audio.
    pub frequency: u32,
}

impl Default for TestPattern {
    fn default() -> Self {
        Self { width: 640, height: 480, framerate: 30, frequency: 440 }
    }
}

/// A track's audio level (`audioLevel`, `totalAudioEnergy`, `totalSamplesDuration`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AudioLevels {
    /// The last buffer's RMS level, 0 (silence) to 1 (full scale).
    pub audio_level: f64,
    /// The sum of level squared times duration, over the track's life.
    pub total_audio_energy: f64,
    /// Seconds of audio seen.
    pub total_samples_duration: f64,
}

/// RMS level (0..1) and duration in seconds of a 16-bit interleaved audio sample.
fn level_of(sample: &gst::Sample) -> Option<(f64, f64)> {
    let s = sample.caps()?.structure(0)?;
    if s.get::<&str>("format").ok()? != "S16LE" {
        return None;
    }
    let (rate, channels) = (s.get::<i32>("rate").ok()?, s.get::<i32>("channels").ok()?);
    if rate <= 0 || channels <= 0 {
        return None;
    }
    let map = sample.buffer()?.map_readable().ok()?;
    // One pass over the samples, without copying them (this runs for every audio buffer).
    let (count, sum) = map.chunks_exact(2).fold((0usize, 0.0f64), |(n, sum), b| (n + 1, sum + (f64::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0).powi(2)));
    if count == 0 {
        return None;
    }
    let level = (sum / count as f64).sqrt().min(1.0);
    Some((level, count as f64 / f64::from(channels) / f64::from(rate)))
}

/// Receives every frame of a track, on the thread that produced it.
pub type SampleCallback = Arc<dyn Fn(&gst::Sample) + Send + Sync>;

/// Where a track's frames go.
#[derive(Clone)]
pub(crate) enum Output {
    /// A sender's `appsrc` in a peer connection's pipeline.
    Sender(u64, gst_app::AppSrc),
    /// An embedder callback.
    Callback(u64, SampleCallback),
}

impl Output {
    fn id(&self) -> u64 {
        match self {
            Output::Sender(id, _) | Output::Callback(id, _) => *id,
        }
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

pub(crate) fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

struct Inner {
    id: String,
    kind: MediaKind,
    label: String,
    enabled: AtomicBool,
    /// Remote tracks are muted until their first frame arrives (W3C).
    muted: AtomicBool,
    ended: AtomicBool,
    frames: AtomicU64,
    /// The last video frame's width and height (width in the high half).
    size: AtomicU64,
    /// Video frames per second.
    rate: FrameRate,
    /// Audio: the last buffer's level, and the W3C's total energy and duration.
    levels: Mutex<Option<AudioLevels>>,
    outputs: Mutex<Vec<Output>>,
    /// The pipeline of a test-pattern or element source.
    source: Mutex<Option<gst::Pipeline>>,
    external: bool,
    /// A black frame or silence for a disabled track, made from the last caps seen.
    blank: Mutex<Option<(gst::Caps, gst::Buffer)>>,
    events: (flume::Sender<TrackEvent>, flume::Receiver<TrackEvent>),
}

/// What a track reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackEvent {
    /// `mute`.
    Mute,
    /// `unmute`: the first frame of a remote track arrived.
    Unmute,
    /// `ended`: the source ended (a stopped remote sender, a device gone). Not fired by
    /// [`MediaStreamTrack::stop`] (W3C).
    Ended,
}

/// `MediaStreamTrack`. Clones are the same track.
#[derive(Clone)]
pub struct MediaStreamTrack {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for MediaStreamTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaStreamTrack").field("id", &self.inner.id).field("kind", &self.inner.kind).field("label", &self.inner.label).finish()
    }
}

impl PartialEq for MediaStreamTrack {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl MediaStreamTrack {
    fn new(kind: MediaKind, label: &str, external: bool, muted: bool) -> Self {
        Self {
            inner: Arc::new(Inner {
                id: uuid(),
                kind,
                label: label.to_owned(),
                enabled: AtomicBool::new(true),
                muted: AtomicBool::new(muted),
                ended: AtomicBool::new(false),
                frames: AtomicU64::new(0),
                size: AtomicU64::new(0),
                rate: FrameRate::default(),
                levels: Mutex::default(),
                outputs: Mutex::default(),
                source: Mutex::default(),
                external,
                blank: Mutex::default(),
                events: flume::unbounded(),
            }),
        }
    }

    /// A moving test pattern (video) or a sine tone (audio), produced in real time.
    pub fn test_pattern(kind: MediaKind, pattern: TestPattern) -> Result<Self> {
        crate::engine::init()?;
        if pattern.width == 0 || pattern.height == 0 || pattern.framerate == 0 || pattern.width > 7680 || pattern.height > 4320 || pattern.framerate > 240 {
            return Err(Error::Type(format!("test pattern {}x{}@{} is out of range", pattern.width, pattern.height, pattern.framerate)));
        }
        let description = match kind {
            MediaKind::Video => format!(
                "videotestsrc is-live=true pattern=ball ! video/x-raw,format=I420,width={},height={},framerate={}/1",
                pattern.width, pattern.height, pattern.framerate
            ),
            MediaKind::Audio => format!(
                "audiotestsrc is-live=true wave=sine volume=0.3 freq={} samplesperbuffer=960 ! audio/x-raw,format=S16LE,rate=48000,channels=1",
                pattern.frequency
            ),
        };
        let label = match kind {
            MediaKind::Video => format!("wkrtc test pattern {}x{}@{}", pattern.width, pattern.height, pattern.framerate),
            MediaKind::Audio => format!("wkrtc tone {} Hz", pattern.frequency),
        };
        Self::from_description(kind, &label, &description)
    }

    /// A track fed by a GStreamer source described in `gst-launch` syntax, for example
    /// `v4l2src device=/dev/video0` or `pipewiresrc path=42`. The description must produce
    /// raw video or audio of `kind`.
    pub fn from_description(kind: MediaKind, label: &str, description: &str) -> Result<Self> {
        crate::engine::init()?;
        crate::error::check_no_nul(description, "the source description")?;
        let pipeline = gst::parse::launch(&format!("{description} ! appsink name=wkrtc_sink"))
            .map_err(|e| Error::NotFound(format!("cannot build source '{description}': {e}")))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| Error::Operation("source description is not a pipeline".into()))?;
        Self::from_pipeline(kind, label, pipeline).map_err(|e| {
            if e.name() == "NotReadableError" {
                Error::NotFound(format!("source '{description}' does not start (device busy or gone?)"))
            } else {
                e
            }
        })
    }

    /// A track fed by `pipeline`, whose raw frames reach an appsink named `wkrtc_sink`. The
    /// pipeline starts here; an error from it later ends the track (`ended` fires).
    ///
    /// Errors: `NotReadableError` when the pipeline does not start (a device busy or gone).
    pub(crate) fn from_pipeline(kind: MediaKind, label: &str, pipeline: gst::Pipeline) -> Result<Self> {
        let track = Self::new(kind, label, false, false);
        let sink = pipeline.by_name("wkrtc_sink").and_then(|e| e.downcast::<gst_app::AppSink>().ok()).ok_or_else(|| Error::Operation("no appsink".into()))?;
        sink.set_property("sync", false);
        sink.set_property("max-buffers", 2u32);
        sink.set_property("drop", true);
        let weak = Arc::downgrade(&track.inner);
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    match weak.upgrade() {
                        Some(inner) => {
                            MediaStreamTrack { inner }.deliver(&sample);
                            Ok(gst::FlowSuccess::Ok)
                        }
                        None => Err(gst::FlowError::Flushing),
                    }
                })
                .build(),
        );
        let weak = Arc::downgrade(&track.inner);
        if let Some(bus) = pipeline.bus() {
            bus.set_sync_handler(move |_, msg| {
                if let gst::MessageView::Error(err) = msg.view() {
                    gst::warning!(CAT, "track source error: {} ({:?})", err.error(), err.debug());
                    if let Some(inner) = weak.upgrade() {
                        MediaStreamTrack { inner }.end_from_source();
                    }
                }
                gst::BusSyncReply::Drop
            });
        }
        if pipeline.set_state(gst::State::Playing).is_err() {
            let _ = pipeline.set_state(gst::State::Null);
            return Err(Error::NotReadable(format!("the source of '{label}' does not start (device busy or gone?)")));
        }
        *track.inner.source.lock().unwrap_or_else(|e| e.into_inner()) = Some(pipeline);
        Ok(track)
    }

    /// An element of the track's source pipeline, by name.
    pub(crate) fn source_element(&self, name: &str) -> Option<gst::Element> {
        self.inner.source.lock().unwrap_or_else(|e| e.into_inner()).as_ref().and_then(|p| p.by_name(name))
    }

    /// A track whose frames the embedder pushes with [`MediaStreamTrack::push_sample`]
    /// (WebKit's `RealtimeMediaSource` path).
    pub fn external(kind: MediaKind, label: &str) -> Self {
        Self::new(kind, label, true, false)
    }

    /// A receiver's track: muted until its first frame.
    pub(crate) fn remote(kind: MediaKind) -> Self {
        Self::new(kind, "remote", false, true)
    }

    /// Pushes one raw frame (video) or buffer of samples (audio) into an external track.
    /// The sample's caps describe the format; timestamps are re-stamped by each sender.
    ///
    /// Errors: `InvalidStateError` for a track that is not external or has ended,
    /// `TypeError` for a sample without a buffer, caps, or of the wrong kind.
    pub fn push_sample(&self, sample: &gst::Sample) -> Result<()> {
        if !self.inner.external {
            return Err(Error::InvalidState("only an external track takes pushed frames".into()));
        }
        if self.ready_state() == TrackState::Ended {
            return Err(Error::InvalidState("the track has ended".into()));
        }
        let caps = sample.caps().ok_or_else(|| Error::Type("the sample has no caps".into()))?;
        sample.buffer().ok_or_else(|| Error::Type("the sample has no buffer".into()))?;
        let name = caps.structure(0).map(|s| s.name().as_str()).unwrap_or_default();
        let expected = match self.inner.kind {
            MediaKind::Video => "video/x-raw",
            MediaKind::Audio => "audio/x-raw",
        };
        if name != expected {
            return Err(Error::Type(format!("a {} track takes {expected}, not {name}", self.inner.kind)));
        }
        self.deliver(sample);
        Ok(())
    }

    /// Hands a frame to every output.
    pub(crate) fn deliver(&self, sample: &gst::Sample) {
        if self.inner.ended.load(Ordering::Relaxed) {
            return;
        }
        let frames = self.inner.frames.fetch_add(1, Ordering::Relaxed) + 1;
        match self.inner.kind {
            MediaKind::Video => {
                self.inner.rate.tick(frames);
                if let Some(s) = sample.caps().and_then(|c| c.structure(0)) {
                    let (w, h) = (s.get::<i32>("width").unwrap_or(0) as u32, s.get::<i32>("height").unwrap_or(0) as u32);
                    self.inner.size.store((u64::from(w) << 32) | u64::from(h), Ordering::Relaxed);
                }
            }
            MediaKind::Audio => {
                if let Some((level, seconds)) = level_of(sample) {
                    let mut levels = self.inner.levels.lock().unwrap_or_else(|e| e.into_inner());
                    let l = levels.get_or_insert_with(AudioLevels::default);
                    l.audio_level = level;
                    l.total_audio_energy += level * level * seconds;
                    l.total_samples_duration += seconds;
                }
            }
        }
        if self.inner.muted.swap(false, Ordering::Relaxed) {
            let _ = self.inner.events.0.send(TrackEvent::Unmute);
        }
        let outputs = self.lock_outputs().clone();
        if outputs.is_empty() {
            return;
        }
        let blank;
        let sample = if self.inner.enabled.load(Ordering::Relaxed) {
            sample
        } else {
            match self.blank(sample) {
                Some(b) => {
                    blank = b;
                    &blank
                }
                None => return,
            }
        };
        for output in outputs {
            match output {
                Output::Callback(_, f) => f(sample),
                Output::Sender(_, appsrc) => push_to(&appsrc, sample),
            }
        }
    }

    /// Black (video) or silence (audio) shaped like `sample`.
    fn blank(&self, sample: &gst::Sample) -> Option<gst::Sample> {
        let caps = sample.caps()?;
        let mut cache = self.inner.blank.lock().unwrap_or_else(|e| e.into_inner());
        if cache.as_ref().is_none_or(|(c, _)| c != caps) {
            let made = match self.inner.kind {
                MediaKind::Video => black_frame(caps),
                MediaKind::Audio => {
                    let size = sample.buffer()?.size();
                    let mut buffer = gst::Buffer::with_size(size).ok()?;
                    buffer.get_mut()?.map_writable().ok()?.fill(0);
                    Some((caps.to_owned(), buffer))
                }
            };
            *cache = made;
        }
        let (caps, buffer) = cache.as_ref()?;
        Some(gst::Sample::builder().caps(caps).buffer(buffer).build())
    }

    pub(crate) fn attach(&self, output: Output) {
        let mut outputs = self.lock_outputs();
        outputs.retain(|o| o.id() != output.id());
        outputs.push(output);
    }

    pub(crate) fn detach(&self, id: u64) {
        self.lock_outputs().retain(|o| o.id() != id);
    }

    fn lock_outputs(&self) -> MutexGuard<'_, Vec<Output>> {
        self.inner.outputs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Calls `f` with every frame the track produces (decoded frames, for a receiver's
    /// track), on the producing thread; returns a handle for [`Self::remove_sample_callback`].
    pub fn on_sample(&self, f: impl Fn(&gst::Sample) + Send + Sync + 'static) -> u64 {
        let id = next_id();
        self.attach(Output::Callback(id, Arc::new(f)));
        id
    }

    /// Removes a callback added with [`Self::on_sample`].
    pub fn remove_sample_callback(&self, id: u64) {
        self.detach(id);
    }

    /// `id`.
    pub fn id(&self) -> &str {
        &self.inner.id
    }
    /// `kind`.
    pub fn kind(&self) -> MediaKind {
        self.inner.kind
    }
    /// `label`.
    pub fn label(&self) -> &str {
        &self.inner.label
    }
    /// `enabled`.
    pub fn enabled(&self) -> bool {
        self.inner.enabled.load(Ordering::Relaxed)
    }
    /// Sets `enabled`: a disabled track sends black frames or silence.
    pub fn set_enabled(&self, enabled: bool) {
        self.inner.enabled.store(enabled, Ordering::Relaxed);
    }
    /// `muted`.
    pub fn muted(&self) -> bool {
        self.inner.muted.load(Ordering::Relaxed)
    }
    /// `readyState`.
    pub fn ready_state(&self) -> TrackState {
        if self.inner.ended.load(Ordering::Relaxed) {
            TrackState::Ended
        } else {
            TrackState::Live
        }
    }
    /// Frames (or audio buffers) the track has produced so far.
    pub fn frames(&self) -> u64 {
        self.inner.frames.load(Ordering::Relaxed)
    }
    /// Audio: the level of the last buffer and the totals the W3C defines, once audio flowed
    /// (16-bit samples; other formats are not measured).
    pub fn audio_levels(&self) -> Option<AudioLevels> {
        *self.inner.levels.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Video frames per second over the last whole second (0 once frames stop).
    pub fn frame_rate(&self) -> f64 {
        self.inner.rate.get()
    }

    /// The size of the last video frame, once there is one.
    pub fn frame_size(&self) -> Option<(u32, u32)> {
        let v = self.inner.size.load(Ordering::Relaxed);
        (v != 0).then_some(((v >> 32) as u32, v as u32))
    }

    /// The track's events.
    pub fn events(&self) -> flume::Receiver<TrackEvent> {
        self.inner.events.1.clone()
    }

    /// `stop`: ends the track and releases its source. Fires no event (W3C).
    pub fn stop(&self) {
        if self.inner.ended.swap(true, Ordering::Relaxed) {
            return;
        }
        self.release();
    }

    /// The source ended on its own: `ended` fires.
    pub(crate) fn end_from_source(&self) {
        if self.inner.ended.swap(true, Ordering::Relaxed) {
            return;
        }
        let _ = self.inner.events.0.send(TrackEvent::Ended);
        self.release();
    }

    pub(crate) fn set_muted(&self, muted: bool) {
        if self.inner.muted.swap(muted, Ordering::Relaxed) != muted {
            let _ = self.inner.events.0.send(if muted { TrackEvent::Mute } else { TrackEvent::Unmute });
        }
    }

    fn release(&self) {
        let source = self.inner.source.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(pipeline) = source {
            if let Some(bus) = pipeline.bus() {
                bus.unset_sync_handler();
            }
            let _ = pipeline.set_state(gst::State::Null);
        }
        let senders: Vec<_> = self.lock_outputs().iter().filter_map(|o| if let Output::Sender(_, a) = o { Some(a.clone()) } else { None }).collect();
        self.lock_outputs().clear();
        drop(senders);
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(pipeline) = self.source.get_mut().unwrap_or_else(|e| e.into_inner()).take() {
            if let Some(bus) = pipeline.bus() {
                bus.unset_sync_handler();
            }
            let _ = pipeline.set_state(gst::State::Null);
        }
    }
}

/// Pushes `sample` into a sender's appsrc without copying the frame: a new buffer header
/// shares the memory, and its timestamps are cleared so the appsrc stamps it with its own
/// pipeline's running time.
fn push_to(appsrc: &gst_app::AppSrc, sample: &gst::Sample) {
    let (Some(buffer), Some(caps)) = (sample.buffer(), sample.caps()) else { return };
    if appsrc.caps().as_ref().map(|c| c.as_ref()) != Some(caps) {
        appsrc.set_caps(Some(&caps.to_owned()));
    }
    let mut buffer = buffer.copy();
    {
        let b = buffer.make_mut();
        b.set_pts(gst::ClockTime::NONE);
        b.set_dts(gst::ClockTime::NONE);
        b.set_duration(gst::ClockTime::NONE);
    }
    // A full queue (leaky) or a flushing source just drops the frame: live media.
    let _ = appsrc.push_buffer(buffer);
}

/// A black I420 frame with the size and rate of `caps`.
fn black_frame(caps: &gst::CapsRef) -> Option<(gst::Caps, gst::Buffer)> {
    let s = caps.structure(0)?;
    let (w, h) = (s.get::<i32>("width").ok()?, s.get::<i32>("height").ok()?);
    // No frame larger than 8K, whatever the caps claim.
    if !(1..=7680).contains(&w) || !(1..=4320).contains(&h) {
        return None;
    }
    let (w, h) = (w as usize, h as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let mut out = gst::Caps::builder("video/x-raw").field("format", "I420").field("width", w as i32).field("height", h as i32);
    if let Ok(rate) = s.get::<gst::Fraction>("framerate") {
        out = out.field("framerate", rate);
    }
    let mut buffer = gst::Buffer::with_size(w * h + 2 * cw * ch).ok()?;
    {
        let mut map = buffer.get_mut()?.map_writable().ok()?;
        let (y, uv) = map.split_at_mut(w * h);
        y.fill(16);
        uv.fill(128);
    }
    Some((out.build(), buffer))
}

/// A random UUID (version 4), as browsers use for track and stream ids.
pub(crate) fn uuid() -> String {
    let mut b = [0u8; 16];
    crate::engine::random_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn video_sample(w: i32, h: i32) -> gst::Sample {
        let caps = gst::Caps::builder("video/x-raw")
            .field("format", "I420")
            .field("width", w)
            .field("height", h)
            .field("framerate", gst::Fraction::new(30, 1))
            .build();
        let mut buffer = gst::Buffer::with_size((w * h * 3 / 2) as usize).unwrap();
        buffer.get_mut().unwrap().map_writable().unwrap().fill(200);
        gst::Sample::builder().caps(&caps).buffer(&buffer).build()
    }

    #[test]
    fn external_track_checks_what_it_is_given() {
        crate::engine::init().unwrap();
        let track = MediaStreamTrack::external(MediaKind::Video, "pushed");
        let (tx, rx) = flume::unbounded();
        track.on_sample(move |s| {
            let _ = tx.send(s.buffer().unwrap().map_readable().unwrap()[0]);
        });
        track.push_sample(&video_sample(64, 48)).unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(1)), Ok(200));

        // Disabled: black, same size.
        track.set_enabled(false);
        track.push_sample(&video_sample(64, 48)).unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(1)), Ok(16));
        assert_eq!(track.frames(), 2);

        let audio_caps = gst::Caps::builder("audio/x-raw").build();
        let wrong = gst::Sample::builder().caps(&audio_caps).buffer(&gst::Buffer::with_size(4).unwrap()).build();
        assert_eq!(track.push_sample(&wrong).unwrap_err().name(), "TypeError");
        let no_caps = gst::Sample::builder().buffer(&gst::Buffer::with_size(4).unwrap()).build();
        assert_eq!(track.push_sample(&no_caps).unwrap_err().name(), "TypeError");

        // A disabled track never allocates a black frame for absurd caps.
        let huge = gst::Caps::builder("video/x-raw").field("format", "I420").field("width", 1_000_000i32).field("height", 1_000_000i32).build();
        let sample = gst::Sample::builder().caps(&huge).buffer(&gst::Buffer::with_size(16).unwrap()).build();
        track.push_sample(&sample).unwrap();
        assert_eq!(track.frames(), 3);
        assert!(rx.try_recv().is_err(), "nothing delivered for a frame that cannot be blanked");

        track.stop();
        assert_eq!(track.ready_state(), TrackState::Ended);
        assert_eq!(track.push_sample(&video_sample(64, 48)).unwrap_err().name(), "InvalidStateError");
        assert!(track.events().try_recv().is_err(), "stop() fires no ended event");
    }

    #[test]
    fn test_pattern_produces_frames_in_real_time() {
        let track = MediaStreamTrack::test_pattern(MediaKind::Video, TestPattern { width: 160, height: 120, framerate: 30, frequency: 0 }).unwrap();
        let (tx, rx) = flume::unbounded();
        track.on_sample(move |s| {
            let caps = s.caps().unwrap().structure(0).unwrap().to_owned();
            let _ = tx.send((caps.get::<i32>("width").unwrap(), caps.get::<i32>("height").unwrap()));
        });
        for _ in 0..10 {
            assert_eq!(rx.recv_timeout(Duration::from_secs(2)), Ok((160, 120)));
        }
        track.stop();
        assert!(MediaStreamTrack::test_pattern(MediaKind::Video, TestPattern { width: 0, ..Default::default() }).is_err());
        assert_eq!(MediaStreamTrack::from_description(MediaKind::Video, "x", "nosuchelement").unwrap_err().name(), "NotFoundError");
        let tone = MediaStreamTrack::test_pattern(MediaKind::Audio, TestPattern::default()).unwrap();
        assert_eq!(tone.kind(), MediaKind::Audio);
        assert!(tone.label().contains("440"));
    }
}

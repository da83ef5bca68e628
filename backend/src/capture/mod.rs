// SPDX-License-Identifier: MPL-2.0
//! getUserMedia (<https://w3c.github.io/mediacapture-main/>): devices, constraints and
//! capture tracks.
//!
//! [`MediaDevices`] lists the machine's devices (or wkrtc's fake camera and microphone, with
//! `WKRTC_FAKE_DEVICES=1`) and opens them: [`MediaDevices::get_user_media`] chooses a device
//! and settings by the W3C's SelectSettings ([`constraints`]) and returns [`CaptureTrack`]s,
//! whose [`MediaStreamTrack`] is sent like any other.

pub mod constraints;
mod devices;

use std::sync::Mutex;

use gst::prelude::*;

use self::constraints::{parse_track_constraints, select_settings, settings_json, Candidate, Property, Settings, Value};
use self::devices::{Device, Source};
pub use self::devices::{DeviceKind, MediaDeviceInfo};
use crate::media::{MediaKind, MediaStreamTrack};
use crate::{Error, Result};

/// `navigator.mediaDevices` for one origin.
#[derive(Debug, Clone)]
pub struct MediaDevices {
    salt: String,
    fake: bool,
    /// The X11 display getDisplayMedia captures (default: `DISPLAY`).
    display: Option<String>,
}

impl MediaDevices {
    /// The devices as seen by an origin: `origin_salt` makes device ids stable for it and
    /// unlinkable across origins. `WKRTC_FAKE_DEVICES=1` replaces the machine's devices with
    /// wkrtc's fake camera and microphone.
    pub fn new(origin_salt: &str) -> Self {
        Self { salt: origin_salt.to_owned(), fake: std::env::var("WKRTC_FAKE_DEVICES").is_ok_and(|v| v == "1"), display: None }
    }

    /// Only wkrtc's fake camera (a moving pattern, up to 1920x1080 at 30 frames/s) and
    /// microphone (a 440 Hz tone), whatever the machine has.
    pub fn fake(origin_salt: &str) -> Self {
        Self { salt: origin_salt.to_owned(), fake: true, display: None }
    }

    /// getDisplayMedia captures X11 display `display` (such as `:0`) instead of `DISPLAY`'s.
    pub fn with_display(mut self, display: &str) -> Self {
        self.display = Some(display.to_owned());
        self
    }

    /// `getDisplayMedia(options)`: the screen, as one video track. wkrtc captures an X11
    /// screen (ximagesrc; under Wayland, XWayland's); the choice a browser offers the user is
    /// the embedder's to make. Constraints steer the size and frame rate (downscaling only).
    ///
    /// Errors: `TypeError` for `video: false`, `advanced`, or a `min` or `exact` constraint
    /// (W3C); `NotSupportedError` without an X11 display or ximagesrc; `NotReadableError`
    /// when the display cannot be opened.
    pub fn get_display_media(&self, options: &serde_json::Value) -> Result<Vec<CaptureTrack>> {
        let video = match options {
            serde_json::Value::Null => serde_json::Value::Bool(true),
            serde_json::Value::Object(o) => o.get("video").cloned().unwrap_or(serde_json::Value::Bool(true)),
            _ => return Err(Error::Type("getDisplayMedia takes a dictionary".into())),
        };
        if video == serde_json::Value::Bool(false) {
            return Err(Error::Type("getDisplayMedia needs video".into()));
        }
        if let serde_json::Value::Object(o) = &video {
            if o.contains_key("advanced") {
                return Err(Error::Type("getDisplayMedia does not take advanced constraints".into()));
            }
            if let Some((name, _)) = o.iter().find(|(_, v)| v.as_object().is_some_and(|c| c.contains_key("min") || c.contains_key("exact"))) {
                return Err(Error::Type(format!("getDisplayMedia does not take min or exact ({name})")));
            }
        }
        let display = self
            .display
            .clone()
            .or_else(|| std::env::var("DISPLAY").ok().filter(|d| !d.is_empty()))
            .ok_or_else(|| Error::NotSupported("no X11 display to capture (DISPLAY is not set)".into()))?;
        let device = devices::x11_screen(&display)?;
        let candidates = device.candidates(0, &self.salt, false);
        let constraints = parse_track_constraints(&video)?;
        let (_, settings) = select_settings(&candidates, &constraints)?;
        let track = open_track(&device, &settings)?;
        Ok(vec![CaptureTrack { track, device, candidates, salt: self.salt.clone(), state: Mutex::new((settings, video)) }])
    }

    fn devices(&self) -> Result<Vec<Device>> {
        crate::engine::init()?;
        if self.fake {
            Ok(devices::fake_devices())
        } else {
            devices::monitored_devices()
        }
    }

    /// `enumerateDevices()`.
    pub fn enumerate_devices(&self) -> Result<Vec<MediaDeviceInfo>> {
        Ok(self.devices()?.iter().map(|d| d.info(&self.salt)).collect())
    }

    /// `devicechange`: the receiver gets `()` each time a device is added, removed or
    /// changed, while the returned watch lives. wkrtc's fake devices never change.
    pub fn watch_device_changes(&self) -> Result<DeviceChanges> {
        crate::engine::init()?;
        let (tx, rx) = flume::unbounded();
        if self.fake {
            return Ok(DeviceChanges { monitor: None, rx });
        }
        let monitor = gst::DeviceMonitor::new();
        for class in ["Video/Source", "Audio/Source", "Audio/Sink"] {
            monitor.add_filter(Some(class), None);
        }
        monitor.bus().set_sync_handler(move |_, msg| {
            if matches!(msg.view(), gst::MessageView::DeviceAdded(_) | gst::MessageView::DeviceRemoved(_) | gst::MessageView::DeviceChanged(_)) {
                let _ = tx.send(());
            }
            gst::BusSyncReply::Drop
        });
        // No provider (a machine without PipeWire, PulseAudio, ALSA or V4L2): nothing changes.
        let started = monitor.start().is_ok();
        Ok(DeviceChanges { monitor: started.then_some(monitor), rx })
    }

    /// What the capture device `device_id` offers (`InputDeviceInfo.getCapabilities()`).
    ///
    /// Errors: `NotFoundError` for an unknown id or an output.
    pub fn capabilities(&self, device_id: &str) -> Result<serde_json::Value> {
        let devices = self.devices()?;
        let (index, device) = devices
            .iter()
            .enumerate()
            .find(|(_, d)| d.kind != DeviceKind::AudioOutput && d.info(&self.salt).device_id == device_id)
            .ok_or_else(|| Error::NotFound(format!("no capture device {device_id}")))?;
        Ok(capabilities_of(device, &self.candidates(&devices, device.kind).into_iter().filter(|c| c.device == index).collect::<Vec<_>>(), &self.salt))
    }

    /// `getUserMedia(constraints)`, constraints as a page writes them:
    /// `{"audio": true, "video": {"width": 1280, "frameRate": {"max": 15}}}`. Audio comes
    /// first in the result.
    ///
    /// Errors: `TypeError` for a request of neither audio nor video or a malformed one;
    /// `NotFoundError` when no device of a requested kind exists; `OverconstrainedError`
    /// naming the constraint no device meets; `NotReadableError` when the chosen device does
    /// not start (busy, or gone).
    pub fn get_user_media(&self, constraints: &serde_json::Value) -> Result<Vec<CaptureTrack>> {
        crate::engine::init()?;
        let object = constraints.as_object().ok_or_else(|| Error::Type("getUserMedia takes a dictionary".into()))?;
        let wanted = |key: &str| object.get(key).is_some_and(|v| !matches!(v, serde_json::Value::Bool(false) | serde_json::Value::Null));
        if !wanted("audio") && !wanted("video") {
            return Err(Error::Type("getUserMedia needs audio or video".into()));
        }
        let devices = self.devices()?;
        let mut tracks = Vec::new();
        for (key, kind) in [("audio", DeviceKind::AudioInput), ("video", DeviceKind::VideoInput)] {
            if wanted(key) {
                tracks.push(self.open(&devices, kind, &object[key])?);
            }
        }
        Ok(tracks)
    }

    fn candidates(&self, devices: &[Device], kind: DeviceKind) -> Vec<Candidate> {
        let dsp = gst::ElementFactory::find("webrtcdsp").is_some();
        devices.iter().enumerate().filter(|(_, d)| d.kind == kind).flat_map(|(i, d)| d.candidates(i, &self.salt, dsp)).collect()
    }

    fn open(&self, devices: &[Device], kind: DeviceKind, json: &serde_json::Value) -> Result<CaptureTrack> {
        let constraints = parse_track_constraints(json)?;
        let candidates = self.candidates(devices, kind);
        let (index, settings) = select_settings(&candidates, &constraints)?;
        let device = devices[index].clone();
        let track = open_track(&device, &settings)?;
        let candidates = candidates.into_iter().filter(|c| c.device == index).collect();
        Ok(CaptureTrack { track, device, candidates, salt: self.salt.clone(), state: Mutex::new((settings, json.clone())) })
    }
}

/// A `devicechange` subscription ([`MediaDevices::watch_device_changes`]).
pub struct DeviceChanges {
    monitor: Option<gst::DeviceMonitor>,
    rx: flume::Receiver<()>,
}

impl DeviceChanges {
    /// One `()` per change.
    pub fn events(&self) -> flume::Receiver<()> {
        self.rx.clone()
    }
}

impl Drop for DeviceChanges {
    fn drop(&mut self) {
        if let Some(monitor) = self.monitor.take() {
            monitor.bus().unset_sync_handler();
            monitor.stop();
        }
    }
}

/// A track from a capture device: `getSettings`, `getCapabilities`, `getConstraints` and
/// `applyConstraints` beside the [`MediaStreamTrack`] itself.
pub struct CaptureTrack {
    track: MediaStreamTrack,
    device: Device,
    /// This device's candidates, for applyConstraints.
    candidates: Vec<Candidate>,
    salt: String,
    /// The settings in effect and the constraints that chose them.
    state: Mutex<(Settings, serde_json::Value)>,
}

impl std::fmt::Debug for CaptureTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureTrack").field("track", &self.track).field("device", &self.device.label).finish()
    }
}

impl CaptureTrack {
    /// The track, to add to a peer connection or read frames from.
    pub fn track(&self) -> &MediaStreamTrack {
        &self.track
    }

    /// The device it captures from.
    pub fn device(&self) -> MediaDeviceInfo {
        self.device.info(&self.salt)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Settings, serde_json::Value)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `getSettings()`, with the W3C member names.
    pub fn settings(&self) -> serde_json::Value {
        settings_json(&self.lock().0)
    }

    /// `getConstraints()`: the constraints last applied, as given.
    pub fn constraints(&self) -> serde_json::Value {
        self.lock().1.clone()
    }

    /// `getCapabilities()`.
    pub fn capabilities(&self) -> serde_json::Value {
        capabilities_of(&self.device, &self.candidates, &self.salt)
    }

    /// `applyConstraints(constraints)`: chooses new settings on the same device and applies
    /// them to the live track (resolution and frame rate change without a new track).
    ///
    /// Errors: `OverconstrainedError` (settings unchanged), `TypeError` for a malformed
    /// request, `InvalidStateError` once the track has ended.
    pub fn apply_constraints(&self, json: &serde_json::Value) -> Result<()> {
        if self.track.ready_state() == crate::media::TrackState::Ended {
            return Err(Error::InvalidState("the track has ended".into()));
        }
        let constraints = parse_track_constraints(json)?;
        let (_, settings) = select_settings(&self.candidates, &constraints)?;
        let needs_reopen =
            self.device.kind == DeviceKind::AudioInput && self.lock().0.get(&Property::NoiseSuppression) != settings.get(&Property::NoiseSuppression);
        if needs_reopen {
            return Err(Error::Overconstrained {
                constraint: Property::NoiseSuppression.name().into(),
                message: "audio processing is chosen when the track is opened".into(),
            });
        }
        let caps_filter = self.track.source_element("wkrtc_caps").ok_or_else(|| Error::InvalidState("the track has no source".into()))?;
        caps_filter.set_property("caps", output_caps(self.device.kind, &settings));
        *self.lock() = (settings, json.clone());
        Ok(())
    }

    /// `stop()`: ends the track and releases the device.
    pub fn stop(&self) {
        self.track.stop();
    }
}

/// A capture device's capabilities from the settings it can be opened with.
fn capabilities_of(device: &Device, candidates: &[Candidate], salt: &str) -> serde_json::Value {
    let info = device.info(salt);
    let numbers =
        |p: Property| -> Vec<f64> { candidates.iter().filter_map(|c| if let Some(Value::Number(n)) = c.settings.get(&p) { Some(*n) } else { None }).collect() };
    let max = |p: Property| numbers(p).into_iter().fold(0.0, f64::max);
    let min = |p: Property| numbers(p).into_iter().fold(f64::MAX, f64::min);
    let bools = |p: Property| {
        let mut v: Vec<bool> = candidates.iter().filter_map(|c| if let Some(Value::Bool(b)) = c.settings.get(&p) { Some(*b) } else { None }).collect();
        v.sort_unstable();
        v.dedup();
        v.reverse();
        v
    };
    match device.kind {
        DeviceKind::VideoInput => {
            let (w, h) = (max(Property::Width), max(Property::Height));
            let mut caps = serde_json::json!({
                "deviceId": info.device_id,
                "groupId": info.group_id,
                "width": {"min": 1, "max": w as i64},
                "height": {"min": 1, "max": h as i64},
                "aspectRatio": {"min": 1.0 / h.max(1.0), "max": w},
                "frameRate": {"min": 1.0, "max": max(Property::FrameRate)},
                "resizeMode": ["none", "crop-and-scale"],
            });
            if let Some(facing) = device.facing_mode {
                caps["facingMode"] = serde_json::json!([facing]);
            }
            caps
        }
        _ => serde_json::json!({
            "deviceId": info.device_id,
            "groupId": info.group_id,
            "sampleRate": {"min": min(Property::SampleRate) as i64, "max": max(Property::SampleRate) as i64},
            "sampleSize": {"min": 16, "max": 16},
            "channelCount": {"min": min(Property::ChannelCount) as i64, "max": max(Property::ChannelCount) as i64},
            "echoCancellation": bools(Property::EchoCancellation),
            "autoGainControl": bools(Property::AutoGainControl),
            "noiseSuppression": bools(Property::NoiseSuppression),
        }),
    }
}

fn number(settings: &Settings, p: Property) -> Option<u32> {
    match settings.get(&p) {
        Some(Value::Number(n)) => Some(*n as u32),
        _ => None,
    }
}

/// The raw format a capture track delivers for `settings`.
fn output_caps(kind: DeviceKind, settings: &Settings) -> gst::Caps {
    match kind {
        DeviceKind::VideoInput => gst::Caps::builder("video/x-raw")
            .field("format", "I420")
            .field("width", number(settings, Property::Width).unwrap_or(640) as i32)
            .field("height", number(settings, Property::Height).unwrap_or(480) as i32)
            .field("framerate", gst::Fraction::new(number(settings, Property::FrameRate).unwrap_or(30) as i32, 1))
            .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
            .build(),
        _ => gst::Caps::builder("audio/x-raw")
            .field("format", "S16LE")
            .field("layout", "interleaved")
            .field("rate", number(settings, Property::SampleRate).unwrap_or(48000) as i32)
            .field("channels", number(settings, Property::ChannelCount).unwrap_or(1) as i32)
            .build(),
    }
}

fn make(factory: &str) -> Result<gst::Element> {
    gst::ElementFactory::make(factory).build().map_err(|_| Error::NotSupported(format!("the GStreamer element {factory} is not installed")))
}

/// Opens `device` with `settings`: source, conversion to the chosen format (scaling and frame
/// dropping for video, resampling and optional voice processing for audio), appsink.
fn open_track(device: &Device, settings: &Settings) -> Result<MediaStreamTrack> {
    let kind = device.kind.media_kind().ok_or_else(|| Error::Type("an audio output cannot be captured".into()))?;
    let source = match (&device.source, kind) {
        (Source::Monitor(d), _) => d.create_element(None).map_err(|_| Error::NotReadable(format!("{} cannot be opened", device.label)))?,
        (Source::Fake, MediaKind::Video) => {
            let src = make("videotestsrc")?;
            src.set_property("is-live", true);
            src.set_property_from_str("pattern", "ball");
            src
        }
        (Source::X11(display), _) => {
            let src = make("ximagesrc")?;
            src.set_property("display-name", display.as_str());
            src.set_property("use-damage", false);
            src
        }
        (Source::Fake, MediaKind::Audio) => {
            let src = make("audiotestsrc")?;
            src.set_property("is-live", true);
            src.set_property("freq", 440.0f64);
            src.set_property("volume", 0.3f64);
            src.set_property("samplesperbuffer", 480i32);
            src
        }
    };
    let caps_filter = make("capsfilter")?;
    caps_filter.set_property("name", "wkrtc_caps");
    caps_filter.set_property("caps", output_caps(device.kind, settings));
    let sink = make("appsink")?;
    sink.set_property("name", "wkrtc_sink");
    let mut chain = vec![source];
    match kind {
        MediaKind::Video => {
            chain.extend([make("videoconvert")?, make("videoscale")?]);
            let rate = make("videorate")?;
            rate.set_property("drop-only", true);
            chain.extend([rate, caps_filter]);
        }
        MediaKind::Audio => {
            chain.extend([make("audioconvert")?, make("audioresample")?, caps_filter]);
            if settings.get(&Property::NoiseSuppression) == Some(&Value::Bool(true)) {
                let dsp = make("webrtcdsp")?;
                dsp.set_property("echo-cancel", false);
                dsp.set_property("noise-suppression", true);
                dsp.set_property("gain-control", true);
                chain.push(dsp);
            }
        }
    }
    chain.push(sink);
    let pipeline = gst::Pipeline::new();
    pipeline.add_many(&chain).map_err(|_| Error::Operation("cannot build the capture pipeline".into()))?;
    gst::Element::link_many(&chain).map_err(|_| Error::NotReadable(format!("{} does not produce a usable format", device.label)))?;
    MediaStreamTrack::from_pipeline(kind, &device.label, pipeline)
}

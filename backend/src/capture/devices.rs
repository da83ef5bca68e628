// SPDX-License-Identifier: MPL-2.0
//! MediaDevices: the machine's cameras, microphones and speakers from GStreamer's device
//! monitor (PipeWire, V4L2, PulseAudio or ALSA, whichever is present), or wkrtc's fake
//! devices, with the W3C's per-origin device ids.

use gst::prelude::*;
use sha2::{Digest, Sha256};

use super::constraints::{Candidate, Property, Settings, Value};
use crate::engine::CAT;
use crate::media::MediaKind;
use crate::Result;

/// `MediaDeviceKind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    /// `videoinput`
    VideoInput,
    /// `audioinput`
    AudioInput,
    /// `audiooutput`
    AudioOutput,
}

impl DeviceKind {
    /// The W3C name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::VideoInput => "videoinput",
            DeviceKind::AudioInput => "audioinput",
            DeviceKind::AudioOutput => "audiooutput",
        }
    }

    /// The track kind a capture device of this kind makes (none for outputs).
    pub fn media_kind(self) -> Option<MediaKind> {
        match self {
            DeviceKind::VideoInput => Some(MediaKind::Video),
            DeviceKind::AudioInput => Some(MediaKind::Audio),
            DeviceKind::AudioOutput => None,
        }
    }
}

/// `MediaDeviceInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDeviceInfo {
    /// Stable for one origin salt, unlinkable across salts.
    pub device_id: String,
    /// The kind.
    pub kind: DeviceKind,
    /// The device's name.
    pub label: String,
    /// Shared by devices of one physical product (a webcam's camera and microphone).
    pub group_id: String,
}

/// What opens a device.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// A device GStreamer's monitor found.
    Monitor(gst::Device),
    /// A wkrtc fake device: a moving pattern or a tone.
    Fake,
    /// An X11 screen (getDisplayMedia), by display name such as `:0`.
    X11(String),
}

/// A device with what it can do.
#[derive(Debug, Clone)]
pub(crate) struct Device {
    /// The machine's name for it (hashed into `device_id`).
    pub internal_id: String,
    pub kind: DeviceKind,
    pub label: String,
    pub group: String,
    pub source: Source,
    /// Native video modes: width, height, frames per second.
    pub modes: Vec<(u32, u32, u32)>,
    /// Audio: sample rates and channel counts offered.
    pub sample_rates: Vec<u32>,
    pub channels: Vec<u32>,
    pub facing_mode: Option<&'static str>,
}

/// wkrtc's fake camera modes: the first is the default.
pub(crate) const FAKE_CAMERA_MODES: [(u32, u32, u32); 4] = [(640, 480, 30), (1280, 720, 30), (1920, 1080, 30), (320, 240, 30)];

/// The W3C's hashed identifier: the same for one salt (an origin), unlinkable across salts.
pub(crate) fn hashed_id(salt: &str, internal: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0u8]);
    h.update(internal.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn fake_devices() -> Vec<Device> {
    vec![
        Device {
            internal_id: "wkrtc-fake-camera".into(),
            kind: DeviceKind::VideoInput,
            label: "wkrtc fake camera".into(),
            group: "wkrtc-fake".into(),
            source: Source::Fake,
            modes: FAKE_CAMERA_MODES.to_vec(),
            sample_rates: Vec::new(),
            channels: Vec::new(),
            facing_mode: Some("user"),
        },
        Device {
            internal_id: "wkrtc-fake-microphone".into(),
            kind: DeviceKind::AudioInput,
            label: "wkrtc fake microphone".into(),
            group: "wkrtc-fake".into(),
            source: Source::Fake,
            modes: Vec::new(),
            sample_rates: vec![48000],
            channels: vec![1, 2],
            facing_mode: None,
        },
    ]
}

/// The screen of X11 display `display`, with its size as the one native mode.
///
/// Errors: `NotSupportedError` without GStreamer's ximagesrc; `NotReadableError` when the
/// display cannot be opened.
pub(crate) fn x11_screen(display: &str) -> crate::Result<Device> {
    crate::engine::init()?;
    let src = gst::ElementFactory::make("ximagesrc")
        .property("display-name", display)
        .build()
        .map_err(|_| crate::Error::NotSupported("screen capture needs GStreamer's ximagesrc (gstreamer1.0-plugins-good)".into()))?;
    let unreadable = || crate::Error::NotReadable(format!("the X11 display {display} cannot be opened"));
    src.set_state(gst::State::Ready).map_err(|_| unreadable())?;
    let caps = src.static_pad("src").map(|p| p.query_caps(None));
    let _ = src.set_state(gst::State::Null);
    let (w, h) = caps
        .as_ref()
        .and_then(|c| c.structure(0))
        .and_then(|s| Some((s.get::<i32>("width").ok()?, s.get::<i32>("height").ok()?)))
        .filter(|(w, h)| *w > 0 && *h > 0)
        .ok_or_else(unreadable)?;
    Ok(Device {
        internal_id: format!("x11:{display}"),
        kind: DeviceKind::VideoInput,
        label: format!("Screen {display}"),
        group: format!("x11:{display}"),
        source: Source::X11(display.to_owned()),
        modes: vec![(w as u32, h as u32, 30)],
        sample_rates: Vec::new(),
        channels: Vec::new(),
        facing_mode: None,
    })
}

/// The devices GStreamer's monitor sees now.
pub(crate) fn monitored_devices() -> Result<Vec<Device>> {
    crate::engine::init()?;
    let monitor = gst::DeviceMonitor::new();
    for class in ["Video/Source", "Audio/Source", "Audio/Sink"] {
        monitor.add_filter(Some(class), None);
    }
    if monitor.start().is_err() {
        gst::info!(CAT, "no device provider started: no devices");
        return Ok(Vec::new());
    }
    let devices = monitor.devices();
    monitor.stop();
    let mut result: Vec<Device> = devices.into_iter().filter_map(|d| describe(&d)).collect();
    // Providers can list one device twice (PipeWire and V4L2): keep the first of each.
    let mut seen = std::collections::HashSet::new();
    result.retain(|d| seen.insert((d.kind.as_str(), d.label.clone())));
    Ok(result)
}

fn describe(device: &gst::Device) -> Option<Device> {
    let class = device.device_class();
    let kind = if class.contains("Video/Source") {
        DeviceKind::VideoInput
    } else if class.contains("Audio/Source") {
        DeviceKind::AudioInput
    } else if class.contains("Audio/Sink") {
        DeviceKind::AudioOutput
    } else {
        return None;
    };
    let props = device.properties();
    let prop = |names: &[&str]| -> Option<String> {
        let props = props.as_ref()?;
        names.iter().find_map(|n| props.get::<String>(*n).ok().or_else(|| props.get::<u32>(*n).ok().map(|v| v.to_string())))
    };
    let label = device.display_name().to_string();
    let internal_id =
        prop(&["object.path", "api.v4l2.path", "device.path", "node.name", "alsa.card_name"]).unwrap_or_else(|| format!("{}:{label}", kind.as_str()));
    let group = prop(&["device.bus-path", "device.bus_path", "api.v4l2.cap.bus_info", "alsa.card", "device.name"]).unwrap_or_else(|| internal_id.clone());
    let caps = device.caps();
    let mut modes = Vec::new();
    let mut sample_rates = Vec::new();
    let mut channels = Vec::new();
    if let Some(caps) = caps.as_ref() {
        for s in caps.iter() {
            match kind {
                DeviceKind::VideoInput => modes.extend(video_modes(s)),
                _ => {
                    sample_rates.extend(int_values(s, "rate"));
                    channels.extend(int_values(s, "channels"));
                }
            }
        }
    }
    modes.sort_unstable();
    modes.dedup();
    sample_rates.sort_unstable();
    sample_rates.dedup();
    channels.sort_unstable();
    channels.dedup();
    Some(Device { internal_id, kind, label, group, source: Source::Monitor(device.clone()), modes, sample_rates, channels, facing_mode: None })
}

/// Fixed values of an integer field, or a range's ends.
fn int_values(s: &gst::StructureRef, field: &str) -> Vec<u32> {
    if let Ok(v) = s.get::<i32>(field) {
        return vec![v as u32];
    }
    if let Ok(r) = s.get::<gst::IntRange<i32>>(field) {
        return vec![r.min() as u32, r.max() as u32];
    }
    if let Ok(list) = s.get::<gst::List>(field) {
        return list.iter().filter_map(|v| v.get::<i32>().ok()).map(|v| v as u32).collect();
    }
    Vec::new()
}

fn framerates(s: &gst::StructureRef) -> Vec<u32> {
    let to_fps = |f: gst::Fraction| if f.denom() > 0 { (f.numer() / f.denom()) as u32 } else { 0 };
    if let Ok(f) = s.get::<gst::Fraction>("framerate") {
        return vec![to_fps(f)];
    }
    if let Ok(list) = s.get::<gst::List>("framerate") {
        return list.iter().filter_map(|v| v.get::<gst::Fraction>().ok()).map(to_fps).collect();
    }
    if let Ok(r) = s.get::<gst::FractionRange>("framerate") {
        return vec![to_fps(r.max())];
    }
    vec![30]
}

fn video_modes(s: &gst::StructureRef) -> Vec<(u32, u32, u32)> {
    let (widths, heights) = (int_values(s, "width"), int_values(s, "height"));
    let (Some(&w), Some(&h)) = (widths.last(), heights.last()) else { return Vec::new() };
    framerates(s).into_iter().filter(|&f| f > 0 && w > 0 && h > 0).map(|f| (w, h, f)).collect()
}

impl Device {
    pub(crate) fn info(&self, salt: &str) -> MediaDeviceInfo {
        MediaDeviceInfo { device_id: hashed_id(salt, &self.internal_id), kind: self.kind, label: self.label.clone(), group_id: hashed_id(salt, &self.group) }
    }

    /// What SelectSettings chooses among for this device (device index `index`).
    pub(crate) fn candidates(&self, index: usize, salt: &str, dsp: bool) -> Vec<Candidate> {
        let info = self.info(salt);
        let base = Settings::from([(Property::DeviceId, Value::Text(info.device_id)), (Property::GroupId, Value::Text(info.group_id))]);
        match self.kind {
            DeviceKind::VideoInput => self
                .modes
                .iter()
                .map(|&(w, h, f)| {
                    let mut s = base.clone();
                    s.insert(Property::Width, Value::Number(w.into()));
                    s.insert(Property::Height, Value::Number(h.into()));
                    s.insert(Property::AspectRatio, Value::Number(f64::from(w) / f64::from(h)));
                    s.insert(Property::FrameRate, Value::Number(f.into()));
                    if let Some(facing) = self.facing_mode {
                        s.insert(Property::FacingMode, Value::Text(facing.into()));
                    }
                    Candidate { device: index, settings: s, scalable: true }
                })
                .collect(),
            DeviceKind::AudioInput => {
                let rates = if self.sample_rates.is_empty() { vec![48000] } else { self.sample_rates.clone() };
                let channels = if self.channels.is_empty() { vec![1] } else { self.channels.clone() };
                // Echo cancellation needs the audio being played (webrtcdsp's echo probe);
                // wkrtc plays nothing, so it is never on. Noise suppression and gain
                // control are, when webrtcdsp is installed.
                let processing: &[bool] = if dsp { &[true, false] } else { &[false] };
                let mut out = Vec::new();
                for &rate in rates.iter().filter(|&&r| (8000..=192000).contains(&r)) {
                    for &ch in channels.iter().filter(|&&c| (1..=8).contains(&c)) {
                        for &on in processing {
                            let mut s = base.clone();
                            s.insert(Property::SampleRate, Value::Number(rate.into()));
                            s.insert(Property::SampleSize, Value::Number(16.0));
                            s.insert(Property::ChannelCount, Value::Number(ch.into()));
                            s.insert(Property::EchoCancellation, Value::Bool(false));
                            s.insert(Property::NoiseSuppression, Value::Bool(on));
                            s.insert(Property::AutoGainControl, Value::Bool(on));
                            out.push(Candidate { device: index, settings: s, scalable: false });
                        }
                    }
                }
                out
            }
            DeviceKind::AudioOutput => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_ids_are_stable_per_salt_and_unlinkable_across() {
        let a1 = hashed_id("https://a.example", "/dev/video0");
        let a2 = hashed_id("https://a.example", "/dev/video0");
        let b = hashed_id("https://b.example", "/dev/video0");
        assert_eq!(a1, a2);
        assert_ne!(a1, b);
        assert_eq!(a1.len(), 64);
        assert!(!a1.contains("video0"));
    }

    #[test]
    fn fake_devices_share_a_group() {
        let devices = fake_devices();
        let infos: Vec<_> = devices.iter().map(|d| d.info("salt")).collect();
        assert_eq!(infos[0].kind, DeviceKind::VideoInput);
        assert_eq!(infos[1].kind, DeviceKind::AudioInput);
        assert_eq!(infos[0].group_id, infos[1].group_id);
        assert_ne!(infos[0].device_id, infos[1].device_id);
    }
}

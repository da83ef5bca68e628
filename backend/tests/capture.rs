// SPDX-License-Identifier: MPL-2.0
//! getUserMedia on wkrtc's fake devices: the same device and constraints path a camera
//! takes. Frames are checked (size, rate), tracks are sent to another wkrtc peer, and live
//! constraint changes are seen by the far end.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use wkrtc::capture::{DeviceKind, MediaDevices};
use wkrtc::{Event, MediaStreamTrack};

/// (width, height, caps name) of each frame `track` produces.
fn frames(track: &MediaStreamTrack) -> flume::Receiver<(i32, i32, String)> {
    let (tx, rx) = flume::unbounded();
    track.on_sample(move |s| {
        if let Some(st) = s.caps().and_then(|c| c.structure(0).map(|s| s.to_owned())) {
            let _ = tx.send((st.get("width").unwrap_or(0), st.get("height").unwrap_or(0), st.name().to_string()));
        }
    });
    rx
}

/// Waits until a frame of `width`x`height` arrives (after a change, older frames may still come).
fn wait_size(rx: &flume::Receiver<(i32, i32, String)>, width: i32, height: i32, what: &str) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((w, h, _)) if (w, h) == (width, height) => return,
            Ok(_) => {}
            Err(_) => panic!("{what}: no {width}x{height} frame within {TIMEOUT:?}"),
        }
    }
}

#[test]
fn fake_devices_are_listed_with_per_origin_ids() {
    let a = MediaDevices::fake("https://a.example").enumerate_devices().unwrap();
    let b = MediaDevices::fake("https://b.example").enumerate_devices().unwrap();
    assert_eq!(a.iter().map(|d| d.kind).collect::<Vec<_>>(), [DeviceKind::VideoInput, DeviceKind::AudioInput]);
    assert_eq!(a[0].label, "wkrtc fake camera");
    assert_eq!(a, MediaDevices::fake("https://a.example").enumerate_devices().unwrap(), "stable for one origin");
    assert_ne!(a[0].device_id, b[0].device_id, "unlinkable across origins");
    assert_eq!(a[0].group_id, a[1].group_id, "camera and microphone of one product share a group");
}

#[test]
fn camera_at_the_requested_size_and_rate() {
    let devices = MediaDevices::fake("test");
    let tracks = devices.get_user_media(&json!({"video": {"width": 1280, "height": 720, "frameRate": {"max": 15}}})).unwrap();
    assert_eq!(tracks.len(), 1);
    let camera = &tracks[0];
    let settings = camera.settings();
    assert_eq!((settings["width"].as_i64(), settings["height"].as_i64(), settings["frameRate"].as_f64()), (Some(1280), Some(720), Some(15.0)), "{settings}");
    assert_eq!(settings["deviceId"], json!(devices.enumerate_devices().unwrap()[0].device_id));
    assert_eq!(camera.constraints()["frameRate"], json!({"max": 15}));
    let caps = camera.capabilities();
    assert_eq!(caps["width"]["max"], json!(1920));
    assert_eq!(caps["resizeMode"], json!(["none", "crop-and-scale"]));

    let rx = frames(camera.track());
    wait_size(&rx, 1280, 720, "first frames");
    // About 15 frames per second: count over two seconds.
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < Duration::from_secs(2) {
        if rx.recv_timeout(TIMEOUT).is_ok() {
            n += 1;
        }
    }
    assert!((24..=36).contains(&n), "{n} frames in 2 s at 15 frames/s");

    camera.apply_constraints(&json!({"width": {"exact": 320}, "height": {"exact": 240}})).unwrap();
    assert_eq!(camera.settings()["width"], json!(320));
    wait_size(&rx, 320, 240, "after applyConstraints");
}

#[test]
fn constraint_errors_are_typed() {
    let devices = MediaDevices::fake("test");
    let err = devices.get_user_media(&json!({"video": {"width": {"min": 4000}}})).unwrap_err();
    assert_eq!((err.name(), err.constraint()), ("OverconstrainedError", Some("width")));
    let err = devices.get_user_media(&json!({"audio": {"echoCancellation": {"exact": true}}})).unwrap_err();
    assert_eq!((err.name(), err.constraint()), ("OverconstrainedError", Some("echoCancellation")), "no echo canceller without an echo probe");
    assert_eq!(devices.get_user_media(&json!({})).unwrap_err().name(), "TypeError");
    assert_eq!(devices.get_user_media(&json!({"audio": false, "video": false})).unwrap_err().name(), "TypeError");
    assert_eq!(devices.get_user_media(&json!({"video": {"width": "wide"}})).unwrap_err().name(), "TypeError");

    let camera = devices.get_user_media(&json!({"video": true})).unwrap().remove(0);
    let before = camera.settings();
    let err = camera.apply_constraints(&json!({"frameRate": {"min": 60}})).unwrap_err();
    assert_eq!((err.name(), err.constraint()), ("OverconstrainedError", Some("frameRate")));
    assert_eq!(camera.settings(), before, "a failed applyConstraints changes nothing");
    camera.stop();
    assert_eq!(camera.apply_constraints(&json!({"width": 320})).unwrap_err().name(), "InvalidStateError");
}

#[test]
fn microphone_with_voice_processing_and_stop_releases() {
    let devices = MediaDevices::fake("test");
    let tracks = devices.get_user_media(&json!({"audio": {"noiseSuppression": true, "channelCount": 1}, "video": true})).unwrap();
    assert_eq!(tracks.iter().map(|t| t.track().kind().as_str()).collect::<Vec<_>>(), ["audio", "video"], "audio first");
    let mic = &tracks[0];
    let settings = mic.settings();
    assert_eq!((settings["noiseSuppression"].as_bool(), settings["echoCancellation"].as_bool()), (Some(true), Some(false)), "{settings}");
    assert_eq!(settings["sampleRate"], json!(48000));
    let rx = frames(mic.track());
    let (_, _, name) = rx.recv_timeout(TIMEOUT).expect("audio from the fake microphone");
    assert_eq!(name, "audio/x-raw");
    for t in &tracks {
        t.stop();
        assert_eq!(t.track().ready_state(), wkrtc::media::TrackState::Ended);
    }
    // The device is free again: a second request opens it.
    let again = devices.get_user_media(&json!({"audio": true})).unwrap();
    let rx = frames(again[0].track());
    rx.recv_timeout(TIMEOUT).expect("audio after reopening");
}

/// The far end decodes the capture track at the size asked for, and again after
/// applyConstraints, with no renegotiation.
#[test]
fn applied_constraints_reach_the_far_end() {
    let camera = MediaDevices::fake("test").get_user_media(&json!({"video": {"width": 640, "height": 360}})).unwrap().remove(0);
    let (a, b) = (Peer::new(), Peer::new());
    a.pc.add_track(camera.track(), &["cam".into()]).unwrap();
    negotiate(&a, &b);
    let remote = b.expect("track", |e| match e {
        Event::Track { track, .. } => Some(track.clone()),
        _ => None,
    });
    let rx = frames(&remote);
    wait_size(&rx, 640, 360, "decoded at the far end");
    camera.apply_constraints(&json!({"width": {"exact": 320}, "height": {"exact": 180}})).unwrap();
    wait_size(&rx, 320, 180, "decoded at the far end after applyConstraints");
}

/// The machine's own devices, through GStreamer's device monitor: a machine without a camera
/// (CI) gets NotFoundError, one with a camera a track or NotReadableError (busy).
#[test]
fn the_machines_devices() {
    let devices = MediaDevices::new("test");
    let list = devices.enumerate_devices().expect("enumerateDevices never fails for want of devices");
    let watch = devices.watch_device_changes().expect("devicechange subscription");
    let result = devices.get_user_media(&json!({"video": true}));
    if list.iter().any(|d| d.kind == DeviceKind::VideoInput) {
        match result {
            Ok(tracks) => tracks[0].stop(),
            Err(e) => assert_eq!(e.name(), "NotReadableError", "{e}"),
        }
    } else {
        assert_eq!(result.unwrap_err().name(), "NotFoundError");
    }
    drop(watch);
}

/// An X server of our own for the screen-capture test: Xvfb on a free display number, no
/// TCP, killed when dropped.
struct Xvfb {
    child: std::process::Child,
    display: String,
}

impl Xvfb {
    /// Xvfb picks a free display and writes its number once it accepts clients
    /// (`-displayfd`): the test waits for that line, not for a socket to appear.
    fn start(width: u32, height: u32) -> Xvfb {
        let mut child = std::process::Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", &format!("{width}x{height}x24"), "-nolisten", "tcp"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("Xvfb (package xvfb, installed by scripts/setup.sh)");
        let stdout = child.stdout.take().expect("Xvfb's stdout");
        let (tx, rx) = flume::bounded(1);
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(TIMEOUT).unwrap_or_else(|_| panic!("Xvfb gave no display within {TIMEOUT:?}"));
        let n: u32 = line.trim().parse().unwrap_or_else(|_| panic!("Xvfb wrote '{line}', not a display number"));
        Xvfb { child, display: format!(":{n}") }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn screen_capture_under_xvfb() {
    let x = Xvfb::start(1280, 720);
    let devices = MediaDevices::fake("test").with_display(&x.display);
    assert_eq!(devices.get_display_media(&json!({"video": false})).unwrap_err().name(), "TypeError");
    assert_eq!(devices.get_display_media(&json!({"video": {"width": {"min": 100}}})).unwrap_err().name(), "TypeError");
    assert_eq!(devices.get_display_media(&json!({"video": {"advanced": []}})).unwrap_err().name(), "TypeError");
    let screen = devices.get_display_media(&json!({"video": {"width": 640, "frameRate": 15}})).unwrap().remove(0);
    assert_eq!(screen.track().label(), format!("Screen {}", x.display));
    let settings = screen.settings();
    assert_eq!((settings["width"].as_i64(), settings["height"].as_i64()), (Some(640), Some(360)), "{settings}");
    assert_eq!(screen.capabilities()["width"]["max"], json!(1280), "the screen's size is the native mode");
    let rx = frames(screen.track());
    wait_size(&rx, 640, 360, "frames of the screen");
    screen.stop();
    let gone = MediaDevices::fake("test").with_display(":999").get_display_media(&json!({})).unwrap_err();
    assert_eq!(gone.name(), "NotReadableError", "{gone}");
}

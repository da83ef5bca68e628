// SPDX-License-Identifier: MPL-2.0
//! Media interop (`harness = false`): headless Chromium and Firefox ESR, with fake camera
//! and microphone, against `wkrtc serve` in a private network namespace.
//!
//! Per browser (`pages/media.html`): the camera and microphone echoed through wkrtc with
//! VP8, VP9 and H264 (frames decoded by wkrtc and by the browser, codecs checked on both
//! sides), wkrtc's own test pattern to the browser (wkrtc offers), renegotiation in every
//! direction (media added to a data-only call and a channel to a media-only one, tracks
//! added and removed by either side), replaceTrack without renegotiation, and ten calls in a
//! row; DTMF from the browser's `insertDTMF`, every tone reported by wkrtc, and wkrtc's tones
//! found in the audio Chromium plays out; wkrtc's getUserMedia (fake camera) at the size and frame rate asked for, as the
//! browser's stats see it, and after applyConstraints; wkrtc's getStats against the
//! browser's for the same call (every type, the required members). Chromium then runs the same first-frame measurement between two of its own peer
//! connections, the anchor the figures are compared with. Ends with `N passed, M failed`.
//!
//! `WKRTC_INTEROP_BROWSERS=chromium` (or `firefox`) and `WKRTC_INTEROP_SCENARIOS=...` narrow
//! the run, as for the data-channel interop test.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use serde_json::Value;
use wkrtc_interop::browser::{Kind, Options};
use wkrtc_interop::pages;
use wkrtc_interop::runner::{self, num, run_page, run_page_with};

const NAME: &str = "media_interop";
const SCENARIOS: &[&str] =
    &["wkrtc-camera", "stats-compare", "dtmf-to-wkrtc", "dtmf-from-wkrtc", "echo-vp8", "echo-vp9", "echo-h264", "from-wkrtc", "offer-h264", "renegotiation", "replace-track", "calls"];
/// Bound on one browser's whole run.
const RUN_TIMEOUT: Duration = Duration::from_secs(400);

fn main() -> ExitCode {
    let mut tally = match runner::begin(NAME) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let server = match runner::serve(vec![runner::html_page("/test/media.html", pages::MEDIA)]) {
        Ok(s) => s,
        Err(e) => {
            tally.fail("wkrtc serve", &format!("{e:#}"));
            return tally.finish();
        }
    };
    let browser_options = Options { fake_media: true, ..Options::default() };
    let browsers = runner::browsers();
    let scenarios: Vec<&str> = SCENARIOS.iter().copied().filter(|s| runner::wanted(s)).collect();
    let mut figures: BTreeMap<String, BTreeMap<&'static str, f64>> = BTreeMap::new();
    for browser in &browsers {
        let kind = match browser {
            Ok(kind) => *kind,
            Err(other) => {
                tally.fail(other, "unknown browser in WKRTC_INTEROP_BROWSERS");
                continue;
            }
        };
        // Headless Firefox's Web Audio does not run the tone detector of dtmf-from-wkrtc yet:
        // that scenario is Chromium's (see the closing figures).
        let scenarios: Vec<&str> = scenarios.iter().copied().filter(|s| kind == Kind::Chromium || *s != "dtmf-from-wkrtc").collect();
        let url = format!("http://{}/test/media.html?scenarios={}", server.addr(), scenarios.join(","));
        let reports = match run_page(&server, kind, &url, &browser_options, RUN_TIMEOUT, |r| r["scenario"] == "done") {
            Ok(r) => r,
            Err(e) => {
                tally.fail(&format!("{kind}"), &format!("{e:#}"));
                continue;
            }
        };
        let f = figures.entry(kind.to_string()).or_default();
        for scenario in &scenarios {
            let report = reports.iter().find(|r| r["scenario"] == *scenario);
            tally.check(&format!("{kind} {scenario}"), || check(kind, scenario, report, f));
        }
        // The page people open, with its media buttons pressed: both videos must play.
        if runner::wanted("serve-page") {
            let url = format!("http://{}/?media=auto", server.addr());
            let page = run_page(&server, kind, &url, &browser_options, RUN_TIMEOUT, |r| r["kind"] == "serve-page-media");
            tally.check(&format!("{kind} serve page media"), || {
                let r = page?.pop().context("no report")?;
                ensure!(r["ok"] == true, "{}", r["error"]);
                Ok(())
            });
        }
    }
    if browsers.contains(&Ok(Kind::Chromium)) {
        let url = format!("http://{}/test/media.html?scenarios=anchor-pair", server.addr());
        let anchor = run_page(&server, Kind::Chromium, &url, &browser_options, RUN_TIMEOUT, |r| r["scenario"] == "done");
        tally.check("chromium-to-chromium first-frame anchor", || {
            let reports = anchor?;
            let r = reports.iter().find(|r| r["scenario"] == "anchor-pair").context("no anchor report")?;
            ensure!(r["ok"] == true, "anchor failed: {}", r["error"]);
            figures.entry("chromium pair (anchor)".into()).or_default().insert("first frame median ms", num(r, "firstFrameMedianMs")?);
            Ok(())
        });
    }
    // CPU of a 640x480@30 VP8 call, sending and receiving: two wkrtc peers in this process,
    // then two Chromium peer connections in one page, each for 20 s.
    if browsers.contains(&Ok(Kind::Chromium)) && runner::wanted("cpu") {
        let pattern = wkrtc::TestPattern { width: 640, height: 480, framerate: 30, frequency: 440 };
        tally.check("wkrtc pair CPU", || {
            let m = wkrtc_cli::media_bench::wkrtc_pair(pattern, Duration::from_secs(20))?;
            // A floor that says the call ran, not a speed bar: the frame rate is a figure.
            ensure!(m.frames_decoded as f64 >= m.seconds * 10.0, "only {} frames in {:.1} s", m.frames_decoded, m.seconds);
            ensure!((m.width, m.height) == (640, 480), "decoded {}x{}", m.width, m.height);
            let f = figures.entry("wkrtc pair".into()).or_default();
            f.insert("CPU s per min 640x480 VP8", m.cpu_seconds_per_minute);
            f.insert("frames per s", m.frames_decoded as f64 / m.seconds);
            f.insert("CPU ms per frame", m.cpu_seconds_per_minute * 1000.0 / 60.0 / (m.frames_decoded as f64 / m.seconds));
            Ok(())
        });
        let url = format!("http://{}/test/media.html?scenarios=cpu-pair", server.addr());
        let mut marks = Vec::new();
        let reports = run_page_with(
            &server,
            Kind::Chromium,
            &url,
            &browser_options,
            RUN_TIMEOUT,
            |r| r["scenario"] == "done",
            |r, b| {
                if r["kind"] == "mark" {
                    marks.push((std::time::Instant::now(), b.cpu_time()));
                }
            },
        );
        tally.check("chromium pair CPU (anchor)", || {
            let reports = reports?;
            let r = reports.iter().find(|r| r["scenario"] == "cpu-pair").context("no cpu-pair report")?;
            ensure!(r["ok"] == true, "{}", r["error"]);
            let [(t0, c0), (t1, c1)] = marks.as_slice() else { anyhow::bail!("expected two marks, got {}", marks.len()) };
            let seconds = (*t1 - *t0).as_secs_f64();
            let f = figures.entry("chromium pair (anchor)".into()).or_default();
            let cpu = (*c1 - *c0).as_secs_f64();
            f.insert("CPU s per min 640x480 VP8", cpu * 60.0 / seconds);
            f.insert("frames per s", num(r, "framesDecoded")? / seconds);
            f.insert("CPU ms per frame", cpu * 1000.0 / num(r, "framesDecoded")?.max(1.0));
            println!("  chromium pair sent {}x{} {}", r["width"], r["height"], r["codec"]);
            Ok(())
        });
    }
    let cpu_anchor = figures.get("chromium pair (anchor)").and_then(|a| a.get("CPU s per min 640x480 VP8")).copied();
    let frame_anchor = figures.get("chromium pair (anchor)").and_then(|a| a.get("CPU ms per frame")).copied();
    let anchor = figures.get("chromium pair (anchor)").and_then(|a| a.get("first frame median ms")).copied();
    println!("\nfigures (first decoded frame after the offer, CPU per minute of call; ratios against the Chromium pair in this run):");
    for (who, f) in &figures {
        for (key, value) in f {
            let base = if key.starts_with("first frame") {
                anchor
            } else if key.starts_with("CPU s") {
                cpu_anchor
            } else if key.starts_with("CPU ms") {
                frame_anchor
            } else {
                None
            };
            let ratio = base.map(|a| format!("  ({:.2}x)", value / a)).unwrap_or_default();
            println!("  {who:<24} {key:<28} {value:>9.1}{ratio}");
        }
    }
    tally.finish()
}

/// Checks one scenario's report and keeps its figures.
/// Stats types a browser reports that wkrtc does not: audio playout is the embedder's.
const TYPES_NOT_IN_WKRTC: &[&str] = &["media-playout"];

/// Members wkrtc must fill wherever the browser fills them too (the rest of the difference is
/// printed, and listed in docs/stats.md).
const REQUIRED: &[(&str, &[&str])] = &[
    ("codec", &["payloadType", "mimeType", "clockRate", "transportId"]),
    (
        "inbound-rtp",
        &[
            "ssrc",
            "kind",
            "mid",
            "trackIdentifier",
            "codecId",
            "transportId",
            "packetsReceived",
            "bytesReceived",
            "packetsLost",
            "jitter",
            "framesDecoded",
            "frameWidth",
            "frameHeight",
            "nackCount",
            "pliCount",
            "remoteId",
        ],
    ),
    (
        "outbound-rtp",
        &[
            "ssrc",
            "kind",
            "mid",
            "codecId",
            "transportId",
            "packetsSent",
            "bytesSent",
            "nackCount",
            "pliCount",
            "mediaSourceId",
            "remoteId",
            "active",
            "targetBitrate",
        ],
    ),
    ("remote-inbound-rtp", &["ssrc", "kind", "localId", "packetsLost", "fractionLost", "jitter", "roundTripTime"]),
    ("remote-outbound-rtp", &["ssrc", "kind", "localId", "packetsSent", "bytesSent", "remoteTimestamp"]),
    ("media-source", &["trackIdentifier", "kind", "width", "height", "framesPerSecond", "frames", "audioLevel", "totalAudioEnergy", "totalSamplesDuration"]),
    (
        "transport",
        &["dtlsState", "iceState", "selectedCandidatePairId", "localCertificateId", "remoteCertificateId", "iceLocalUsernameFragment", "iceRole", "dtlsRole"],
    ),
    (
        "candidate-pair",
        &["transportId", "localCandidateId", "remoteCandidateId", "state", "nominated", "packetsSent", "bytesSent", "packetsReceived", "bytesReceived"],
    ),
    ("local-candidate", &["address", "port", "protocol", "candidateType", "priority", "transportId"]),
    ("remote-candidate", &["address", "port", "protocol", "candidateType", "priority", "transportId"]),
    ("certificate", &["fingerprint", "fingerprintAlgorithm"]),
    ("data-channel", &["label", "protocol", "dataChannelIdentifier", "state", "messagesSent", "bytesSent", "messagesReceived", "bytesReceived"]),
    ("peer-connection", &["dataChannelsOpened", "dataChannelsClosed"]),
];

/// wkrtc's report of a call against the browser's: every type the browser has (but audio
/// playout) is in wkrtc's, with the required members; what else the browser fills is printed.
fn compare_stats(kind: Kind, r: &Value) -> Result<()> {
    let (browser, wkrtc) = (r["browserMembers"].as_object().context("browserMembers")?, r["wkrtcMembers"].as_object().context("wkrtcMembers")?);
    let names = |v: &Value| -> Vec<String> { v.as_array().map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect()).unwrap_or_default() };
    let mut problems = Vec::new();
    for (t, members) in browser {
        if TYPES_NOT_IN_WKRTC.contains(&t.as_str()) {
            continue;
        }
        let Some(ours) = wkrtc.get(t).map(names) else {
            problems.push(format!("no {t} in wkrtc's report"));
            continue;
        };
        let theirs = names(members);
        let required = REQUIRED.iter().find(|(rt, _)| rt == t).map(|(_, m)| *m).unwrap_or(&[]);
        let missing_required: Vec<&str> = required.iter().copied().filter(|m| theirs.iter().any(|x| x == m) && !ours.iter().any(|x| x == m)).collect();
        if !missing_required.is_empty() {
            problems.push(format!("{t} lacks {missing_required:?}"));
        }
        let other: Vec<&String> = theirs.iter().filter(|m| !ours.contains(m)).collect();
        if !other.is_empty() {
            println!("  {kind} {t}: the browser also fills {other:?}");
        }
    }
    ensure!(problems.is_empty(), "{}", problems.join("; "));
    Ok(())
}

fn check(kind: Kind, scenario: &str, report: Option<&Value>, figures: &mut BTreeMap<&'static str, f64>) -> Result<()> {
    let r = report.context("the page sent no report for this scenario")?;
    ensure!(r["ok"] == true, "{}", r["error"].as_str().unwrap_or("failed"));
    if let Some(why) = r["skipped"].as_str() {
        // Only H264 in a Firefox without OpenH264 may be skipped.
        ensure!(scenario == "echo-h264" && kind == Kind::Firefox, "skipped: {why}");
        println!("  {kind} {scenario}: skipped ({why})");
        return Ok(());
    }
    match scenario {
        s if s.starts_with("echo-") => {
            ensure!(num(r, "wkrtcFramesDecoded")? >= 30.0 && num(r, "browserFramesDecoded")? >= 30.0, "too few frames: {r}");
            ensure!(r["tracks"] == "audio,video", "the browser got back {} instead of audio and video", r["tracks"]);
            if kind == Kind::Chromium {
                // Only wkrtc's transport-wide feedback moves it from its 300 kbit/s start.
                ensure!(num(r, "browserEstimateToWkrtcBps")? > 300_000.0, "Chromium's estimate towards wkrtc: {}", r["browserEstimateToWkrtcBps"]);
                figures.insert("Chromium estimate to wkrtc kbit/s", num(r, "browserEstimateToWkrtcBps")? / 1000.0);
            }
        }
        "from-wkrtc" => {
            ensure!(r["receivers"] == "audio,video", "receivers: {}", r["receivers"]);
            figures.insert("first frame median ms", num(r, "firstFrameMedianMs")?);
        }
        "stats-compare" => compare_stats(kind, r)?,
        "dtmf-from-wkrtc" => ensure!(r["heard"] == r["sent"], "the browser played out {} for wkrtc's {} ({r})", r["heard"], r["sent"]),
        "dtmf-to-wkrtc" => {
            ensure!(r["tones"] == "1234567890*#ABCD" && r["toneChanges"] == r["tones"], "wkrtc got tones {} for tonechanges {}", r["tones"], r["toneChanges"]);
            let durations: Vec<f64> = r["durations"].as_array().context("no durations")?.iter().filter_map(Value::as_f64).collect();
            // 100 ms asked; whole 20 ms packets, plus what the browser's timer adds.
            ensure!(durations.iter().all(|d| (100.0..=160.0).contains(d)), "tone durations {durations:?}");
            figures.insert("DTMF tone ms (100 asked), max", durations.iter().copied().fold(0.0, f64::max));
        }
        "offer-h264" => ensure!(r["videoRejected"] != r["hasH264"], "H264 support {} but video rejected {}", r["hasH264"], r["videoRejected"]),
        "renegotiation" => ensure!(r["wkrtcVideoDirection"] == "sendonly", "wkrtc's video direction: {}", r["wkrtcVideoDirection"]),
        "replace-track" => ensure!(num(r, "width")? == 160.0, "width {}", r["width"]),
        "calls" => {
            ensure!(num(r, "passed")? == 10.0, "not 10 of 10 calls");
            figures.insert("echo first frame median ms", num(r, "firstEchoMedianMs")?);
        }
        _ => {}
    }
    Ok(())
}

// SPDX-License-Identifier: MPL-2.0
//! Smoke test of the browser half of the interop harness (`harness = false`).
//!
//! In a private network namespace ([`wkrtc_interop::netns::isolate`]), it serves
//! `pages/local_pair.html` from the stand-in report server and runs it in headless Chromium,
//! then Firefox ESR (90 s each): two `RTCPeerConnection`s in one page connected to each other.
//! It checks each report (ok, sane figures), prints the figures, and ends with
//! `N passed, M failed`; it exits non-zero on any failure.
//!
//! Knobs for diagnosis (environment): `WKRTC_SMOKE_BROWSERS=chromium,firefox` (which, in
//! order), `WKRTC_EXTRA_ARGS` (more browser arguments, split on spaces, or on newlines if it
//! has any), `WKRTC_FIREFOX_PREFS` (`name=value;...`, values as JavaScript),
//! `WKRTC_KEEP_PROFILES=1` (keep profiles and their `stderr.log`), `WKRTC_PAGE_QUERY`
//! (appended to the page's URL, e.g. `?gum=1`); `WKRTC_CHROMIUM` / `WKRTC_FIREFOX` pick the
//! binaries. `MOZ_LOG` passes through to Firefox (e.g. `MOZ_LOG=nicer:4,signaling:4`).
//!
//! It speaks just enough of libtest's command line for `cargo nextest`: `--list` prints the
//! one test, `browsers_smoke`; a filter that does not match it runs nothing.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;
use wkrtc_interop::browser::{Browser, Kind, Options};
use wkrtc_interop::report::ReportServer;
use wkrtc_interop::{netns, pages};

/// The name under which `--list` shows this test.
const NAME: &str = "browsers_smoke";
/// Bound on one browser's whole run, from spawn to report.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        if !args.iter().any(|a| a == "--ignored") {
            println!("{NAME}: test");
        }
        return ExitCode::SUCCESS;
    }
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let exact = args.iter().any(|a| a == "--exact");
    if !filters.is_empty() && !filters.iter().any(|f| if exact { f.as_str() == NAME } else { NAME.contains(f.as_str()) }) {
        println!("0 passed, 0 failed");
        return ExitCode::SUCCESS;
    }

    if let Err(e) = netns::isolate() {
        eprintln!("{NAME}: {e:#}");
        println!("0 passed, 1 failed");
        return ExitCode::FAILURE;
    }
    println!("network namespace: lo + {} ({}, {}/24, default route into it), isolated", netns::DUMMY_IF, netns::link_type().unwrap_or("?"), netns::DUMMY_ADDR);

    let mut files = HashMap::new();
    files.insert("/local_pair.html".to_string(), ("text/html; charset=utf-8".to_string(), pages::LOCAL_PAIR.as_bytes().to_vec()));
    let server = match ReportServer::start(files) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{NAME}: report server: {e:#}");
            println!("0 passed, 1 failed");
            return ExitCode::FAILURE;
        }
    };

    let (mut passed, mut failed) = (0, 0);
    let browsers = std::env::var("WKRTC_SMOKE_BROWSERS").unwrap_or_else(|_| "chromium,firefox".into());
    for name in browsers.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let kind = match name {
            "chromium" => Kind::Chromium,
            "firefox" => Kind::Firefox,
            other => {
                failed += 1;
                println!("FAIL {other}: unknown browser in WKRTC_SMOKE_BROWSERS");
                continue;
            }
        };
        let started = Instant::now();
        match run(&server, kind) {
            Ok(()) => {
                passed += 1;
                println!("PASS {kind} ({:.1} s)", started.elapsed().as_secs_f64());
            }
            Err(e) => {
                failed += 1;
                println!("FAIL {kind} ({:.1} s): {e:#}", started.elapsed().as_secs_f64());
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs local_pair.html in `kind` and checks its report.
fn run(server: &ReportServer, kind: Kind) -> Result<()> {
    // A late report from the previous browser must not count for this one.
    while server.recv_timeout(Duration::ZERO).is_ok() {}
    let seen = server.requests().len();
    let udp_before = udp_errors();
    let mut browser =
        Browser::launch(kind, &server.url(&format!("/local_pair.html{}", std::env::var("WKRTC_PAGE_QUERY").unwrap_or_default())), &options_from_env())?;
    let report = wait_report(server, &mut browser);
    let finished = browser.started().elapsed();
    let page_at = server.requests()[seen..].iter().find(|r| r.path.starts_with("/local_pair.html")).map(|r| r.at.saturating_duration_since(browser.started()));
    let killing = Instant::now();
    let killed = browser.kill();
    let kill_time = killing.elapsed();
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprintln!("--- {kind} stderr (last 8 KiB of {}) ---\n{}", browser.stderr_path().display(), browser.stderr_tail(8192));
            return Err(e);
        }
    };
    killed?;
    println!(
        "{kind}: page requested after {}, report after {:.2} s, exit took {:.2} s",
        page_at.map_or("(never)".to_string(), |d| format!("{:.2} s", d.as_secs_f64())),
        finished.as_secs_f64(),
        kill_time.as_secs_f64()
    );
    let (in_errors, rcvbuf_errors) = udp_errors();
    println!("{kind}: UDP receive errors in the namespace during the run: {} (buffer full: {})", in_errors - udp_before.0, rcvbuf_errors - udp_before.1);
    print_figures(kind, &report);
    let checked = check(&report);
    if checked.is_err() {
        eprintln!("--- {kind} report ---\n{report:#}");
        eprintln!("--- {kind} stderr (last 8 KiB) ---\n{}", browser.stderr_tail(8192));
    }
    checked
}

/// UDP `InErrors` and `RcvbufErrors` of this network namespace (`/proc/net/snmp`): datagrams
/// dropped on receive, mostly because a socket's receive buffer was full.
fn udp_errors() -> (u64, u64) {
    let snmp = std::fs::read_to_string("/proc/net/snmp").unwrap_or_default();
    let mut lines = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let (Some(names), Some(values)) = (lines.next(), lines.next()) else {
        return (0, 0);
    };
    let field = |name: &str| names.split_whitespace().zip(values.split_whitespace()).find(|(n, _)| *n == name).and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    (field("InErrors"), field("RcvbufErrors"))
}

/// [`Options::default`], with the diagnosis knobs from the environment.
fn options_from_env() -> Options {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    Options {
        extra_args: {
            let args = var("WKRTC_EXTRA_ARGS");
            if args.contains('\n') {
                args.lines().map(str::trim).filter(|a| !a.is_empty()).map(String::from).collect()
            } else {
                args.split_whitespace().map(String::from).collect()
            }
        },
        extra_prefs: var("WKRTC_FIREFOX_PREFS")
            .split(';')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect(),
        keep_profile: var("WKRTC_KEEP_PROFILES") == "1",
        ..Options::default()
    }
}

/// Waits for the next report, at most [`BROWSER_TIMEOUT`] after the browser started; fails
/// early if the browser exits first.
fn wait_report(server: &ReportServer, browser: &mut Browser) -> Result<Value> {
    let deadline = browser.started() + BROWSER_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            bail!("{} sent no report within {BROWSER_TIMEOUT:?}", browser.kind());
        }
        if let Ok(report) = server.recv_timeout(left.min(Duration::from_millis(250))) {
            return Ok(report);
        }
        if let Some(status) = browser.try_exited()? {
            // Give a report sent just before exit a last chance.
            if let Ok(report) = server.recv_timeout(Duration::from_millis(500)) {
                return Ok(report);
            }
            bail!("{} exited ({status}) before reporting", browser.kind());
        }
    }
}

fn num(report: &Value, key: &str) -> Result<f64> {
    report.get(key).and_then(Value::as_f64).with_context(|| format!("report has no number {key:?}"))
}

/// The report must say ok and hold figures in a sane range.
fn check(report: &Value) -> Result<()> {
    ensure!(report["kind"] == "local_pair", "report kind is {}", report["kind"]);
    if report["ok"] != true {
        bail!("page reported failure: {}", report.get("error").and_then(Value::as_str).unwrap_or("(no error given)"));
    }
    for key in ["setupFirstMs", "setupMedianMs"] {
        let v = num(report, key)?;
        ensure!(v > 0.0 && v < 10_000.0, "{key} = {v} ms is not in (0, 10000)");
    }
    for key in ["mbps64k", "mbps16k"] {
        let v = num(report, key)?;
        ensure!(v > 1.0 && v < 1_000_000.0, "{key} = {v} Mbit/s is not in (1, 1e6)");
    }
    let median = num(report, "rttMedianMs")?;
    let p99 = num(report, "rttP99Ms")?;
    ensure!((0.0..1_000.0).contains(&median), "rttMedianMs = {median} is not in [0, 1000)");
    ensure!(p99 >= median && p99 < 5_000.0, "rttP99Ms = {p99} is not in [median, 5000)");
    let candidates = report["candidates"].as_array().context("report has no candidates array")?;
    ensure!(!candidates.is_empty(), "the offerer gathered no candidates");
    ensure!(report["userAgent"].is_string(), "report has no userAgent");
    Ok(())
}

fn print_figures(kind: Kind, r: &Value) {
    let f = |k: &str| r.get(k).map_or("-".to_string(), |v| v.to_string());
    println!("{kind}: userAgent {}", f("userAgent"));
    println!(
        "{kind}: ok={} setup first {} ms, median {} ms; throughput 64 KiB {} Mbit/s, 16 KiB {} Mbit/s; rtt median {} ms, p99 {} ms",
        f("ok"),
        f("setupFirstMs"),
        f("setupMedianMs"),
        f("mbps64k"),
        f("mbps16k"),
        f("rttMedianMs"),
        f("rttP99Ms")
    );
    println!("{kind}: bulk 64 KiB {}; bulk 16 KiB {}", f("bulk64k"), f("bulk16k"));
    println!("{kind}: setup runs (ms) {}", f("setupMs"));
    println!("{kind}: offerer candidates {}", f("candidates"));
    println!("{kind}: answerer candidates {}", f("answererCandidates"));
    println!("{kind}: selected pair {}", f("selectedPair"));
    if let Some(e) = r.get("error") {
        println!("{kind}: error {e}");
    }
}

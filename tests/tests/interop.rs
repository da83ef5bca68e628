// SPDX-License-Identifier: MPL-2.0
//! Browser interop (`harness = false`): headless Chromium and Firefox ESR against
//! `wkrtc serve`, in a private network namespace.
//!
//! Each browser runs every scenario of `pages/interop.html` (browser or wkrtc offering,
//! channels from either side, 1,000 verified messages each way, the largest messages, an
//! unordered unreliable channel, a negotiated channel, mDNS-hidden host candidates, a tab
//! closed mid-transfer, 20 consecutive sessions, throughput both ways); the page reports each
//! result to the server and this program asserts on them. The same Chromium then runs two
//! `RTCPeerConnection`s against each other (`pages/local_pair.html`), the anchor the figures
//! are compared with. Ends with `N passed, M failed`.
//!
//! `WKRTC_INTEROP_BROWSERS=chromium` (or `firefox`) runs one browser only;
//! `WKRTC_INTEROP_SCENARIOS=sessions,large` only those scenarios.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use serde_json::Value;
use wkrtc_interop::browser::{Kind, Options};
use wkrtc_interop::pages;
use wkrtc_interop::runner::run_page;
use wkrtc_interop::runner::{self, num};

const NAME: &str = "interop";
const SCENARIOS: &[&str] =
    &["browser-offers", "wkrtc-offers", "channels-both-sides", "large", "unordered", "negotiated", "mdns", "tab-close", "sessions", "throughput"];
/// Bound on one browser's whole run of all scenarios.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

fn main() -> ExitCode {
    let mut tally = match runner::begin(NAME) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let server =
        match runner::serve(vec![runner::html_page("/test/interop.html", pages::INTEROP), runner::html_page("/test/local_pair.html", pages::LOCAL_PAIR)]) {
            Ok(s) => s,
            Err(e) => {
                tally.fail("wkrtc serve", &format!("{e:#}"));
                return tally.finish();
            }
        };
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
        let url = format!("http://{}/test/interop.html?scenarios={}", server.addr(), scenarios.join(","));
        let reports = match run_page(&server, kind, &url, &Options::default(), RUN_TIMEOUT, |r| r["scenario"] == "done") {
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
        // The page people open (`wkrtc serve`'s `/`) runs its own checks and reports them.
        let url = format!("http://{}/", server.addr());
        let page = run_page(&server, kind, &url, &Options::default(), RUN_TIMEOUT, |r| r["kind"] == "serve-page");
        tally.check(&format!("{kind} serve page"), || {
            let r = page?.pop().context("no report")?;
            ensure!(r["ok"] == true, "{}", r["error"]);
            ensure!(num(&r, "verified")? >= 212.0, "only {} messages verified", r["verified"]);
            Ok(())
        });
    }
    if browsers.contains(&Ok(Kind::Chromium)) {
        let url = format!("http://{}/test/local_pair.html", server.addr());
        let anchor = run_page(&server, Kind::Chromium, &url, &Options::default(), RUN_TIMEOUT, |r| r["kind"] == "local_pair");
        tally.check("chromium-to-chromium anchor", || {
            let r = anchor?.pop().context("no report")?;
            ensure!(r["ok"] == true, "anchor failed: {}", r["error"]);
            let f = figures.entry("chromium pair (anchor)".into()).or_default();
            f.insert("setup median ms", num(&r, "setupMedianMs")?);
            // The page reports Mbit/s.
            f.insert("to peer 64 KiB MB/s", num(&r, "mbps64k")? / 8.0);
            f.insert("to peer 16 KiB MB/s", num(&r, "mbps16k")? / 8.0);
            Ok(())
        });
    }
    print_figures(&figures);
    tally.finish()
}

/// Checks one scenario's report and keeps its figures.
fn check(kind: Kind, scenario: &str, report: Option<&Value>, figures: &mut BTreeMap<&'static str, f64>) -> Result<()> {
    let r = report.context("the page sent no report for this scenario")?;
    ensure!(r["ok"] == true, "{}", r["error"].as_str().unwrap_or("failed"));
    match scenario {
        "browser-offers" | "wkrtc-offers" => ensure!(num(r, "messagesEachWay")? == 1000.0, "not 1000 messages each way"),
        "large" => ensure!(num(r, "largeFromWkrtc")? == 4.0, "not all 256 KiB messages arrived"),
        "mdns" => {
            // Without camera permission both browsers hide host addresses behind mDNS names,
            // which webrtcbin cannot resolve: the call connects through peer-reflexive pairs.
            let hidden = num(r, "mdnsCandidates")?;
            ensure!(hidden >= 1.0, "{kind} gathered no .local candidate: {}", r["localCandidates"]);
        }
        "tab-close" => ensure!(r["childStarted"] == true, "the child tab never started its transfer"),
        "sessions" => {
            ensure!(num(r, "passed")? == 20.0, "not 20 of 20 sessions");
            figures.insert("setup median ms", num(r, "setupMedianMs")?);
            figures.insert("setup first ms", num(r, "setupFirstMs")?);
        }
        "throughput" => {
            figures.insert("to wkrtc 64 KiB MB/s", num(r, "toWkrtc65536MBps")?);
            figures.insert("to wkrtc 16 KiB MB/s", num(r, "toWkrtc16384MBps")?);
            figures.insert("from wkrtc 64 KiB MB/s", num(r, "fromWkrtc65536MBps")?);
            figures.insert("from wkrtc 16 KiB MB/s", num(r, "fromWkrtc16384MBps")?);
        }
        _ => {}
    }
    Ok(())
}

fn print_figures(figures: &BTreeMap<String, BTreeMap<&'static str, f64>>) {
    let anchor = figures.get("chromium pair (anchor)");
    println!("\nfigures (ratios against the Chromium pair measured in this run):");
    for (who, f) in figures {
        for (key, value) in f {
            let ratio = anchor
                .and_then(|a| {
                    let base = match *key {
                        k if k.starts_with("setup median") => a.get("setup median ms"),
                        k if k.contains("64 KiB") => a.get("to peer 64 KiB MB/s"),
                        k if k.contains("16 KiB") => a.get("to peer 16 KiB MB/s"),
                        _ => None,
                    };
                    base.map(|b| format!("  ({:.2}x)", value / b))
                })
                .unwrap_or_default();
            println!("  {who:<24} {key:<24} {value:>9.2}{ratio}");
        }
    }
}

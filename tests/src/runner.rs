// SPDX-License-Identifier: MPL-2.0
//! What every `harness = false` interop test needs: enough of libtest's command line for
//! `cargo test` and `cargo nextest` (`--list`, name filters), the closing
//! `N passed, M failed` line, and running a page in a browser against `wkrtc serve` while
//! collecting what it reports.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;
use wkrtc_cli::serve::{Options as ServeOptions, Page, Server};

use crate::browser::{Browser, Kind, Options};

/// Answers `--list` and name filters for the single test `name`. `Some(code)` means: exit
/// now with `code`, there is nothing to run.
pub fn libtest_args(name: &str) -> Option<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        if !args.iter().any(|a| a == "--ignored") {
            println!("{name}: test");
        }
        return Some(ExitCode::SUCCESS);
    }
    let exact = args.iter().any(|a| a == "--exact");
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let wanted = filters.is_empty() || filters.iter().any(|f| if exact { f.as_str() == name } else { name.contains(f.as_str()) });
    if !wanted {
        println!("0 passed, 0 failed");
        return Some(ExitCode::SUCCESS);
    }
    None
}

/// The start of every namespaced test's `main()`: answers libtest's command line
/// ([`libtest_args`]), then moves the process into its private network namespace
/// ([`crate::netns::isolate`]). `Err(code)`: exit now with `code` (nothing to run, or no
/// namespace, reported as a failure).
pub fn begin(name: &str) -> Result<Tally, ExitCode> {
    if let Some(code) = libtest_args(name) {
        return Err(code);
    }
    let mut tally = Tally::default();
    if let Err(e) = crate::netns::isolate() {
        tally.fail("network namespace", &format!("{e:#}"));
        return Err(tally.finish());
    }
    Ok(tally)
}

/// Counts checks and prints each as `PASS`/`FAIL` with its duration.
#[derive(Debug, Default)]
pub struct Tally {
    passed: usize,
    failed: usize,
}

impl Tally {
    /// Runs `check` and records its outcome under `what`.
    pub fn check<T>(&mut self, what: &str, check: impl FnOnce() -> anyhow::Result<T>) -> Option<T> {
        let started = Instant::now();
        match check() {
            Ok(v) => {
                self.passed += 1;
                println!("PASS {what} ({:.1} s)", started.elapsed().as_secs_f64());
                Some(v)
            }
            Err(e) => {
                self.failed += 1;
                println!("FAIL {what} ({:.1} s): {e:#}", started.elapsed().as_secs_f64());
                None
            }
        }
    }

    /// Records a failure that happened outside [`Self::check`].
    pub fn fail(&mut self, what: &str, why: &str) {
        self.failed += 1;
        println!("FAIL {what}: {why}");
    }

    /// Prints `N passed, M failed` and turns it into the exit code.
    pub fn finish(self) -> ExitCode {
        println!("{} passed, {} failed", self.passed, self.failed);
        if self.failed == 0 && self.passed > 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}

/// An HTML page for `wkrtc serve` to serve at `path`.
pub fn html_page(path: &str, body: &str) -> Page {
    Page { path: path.into(), content_type: "text/html; charset=utf-8".into(), body: body.as_bytes().to_vec() }
}

/// Starts `wkrtc serve` with `pages`, its peers gathering on loopback and on the test
/// namespace's own address: Firefox pairs with no loopback candidate.
pub fn serve(pages: Vec<Page>) -> Result<Server> {
    let options = ServeOptions {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        settings: wkrtc::Settings {
            local_addresses: vec![[127, 0, 0, 1].into(), crate::netns::DUMMY_ADDR.parse().context("the namespace address")?],
            ..wkrtc::Settings::loopback()
        },
        pages,
        devices: wkrtc::capture::MediaDevices::fake("wkrtc interop"),
        ..ServeOptions::default()
    };
    Server::start(options)
}

/// The browsers `WKRTC_INTEROP_BROWSERS` names (default: Chromium and Firefox); an unknown
/// name comes back as `Err(name)`.
pub fn browsers() -> Vec<std::result::Result<Kind, String>> {
    let names = std::env::var("WKRTC_INTEROP_BROWSERS").unwrap_or_else(|_| "chromium,firefox".into());
    names
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| match n {
            "chromium" => Ok(Kind::Chromium),
            "firefox" => Ok(Kind::Firefox),
            other => Err(other.to_owned()),
        })
        .collect()
}

/// True when `WKRTC_INTEROP_SCENARIOS` is unset or names `scenario`.
pub fn wanted(scenario: &str) -> bool {
    let only = std::env::var("WKRTC_INTEROP_SCENARIOS").unwrap_or_default();
    only.is_empty() || only.split(',').any(|o| o == scenario)
}

/// Opens `url` in a fresh `kind` started with `options` and collects the server's reports
/// until `last` matches one; fails after `limit`.
pub fn run_page(server: &Server, kind: Kind, url: &str, options: &Options, limit: Duration, last: impl Fn(&Value) -> bool) -> Result<Vec<Value>> {
    run_page_with(server, kind, url, options, limit, last, |_, _| {})
}

/// [`run_page`], calling `seen` with each report as it arrives and the running browser (to
/// measure it at moments the page marks).
pub fn run_page_with(
    server: &Server,
    kind: Kind,
    url: &str,
    options: &Options,
    limit: Duration,
    last: impl Fn(&Value) -> bool,
    mut seen: impl FnMut(&Value, &Browser),
) -> Result<Vec<Value>> {
    let reports = server.reports();
    while reports.try_recv().is_ok() {}
    let mut browser = Browser::launch(kind, url, options)?;
    let deadline = Instant::now() + limit;
    let mut got = Vec::new();
    loop {
        if Instant::now() > deadline {
            bail!("no final report within {limit:?}; got {} reports; browser stderr:\n{}", got.len(), browser.stderr_tail(2000));
        }
        match reports.recv_timeout(Duration::from_millis(500)) {
            Ok(r) => {
                seen(&r, &browser);
                let done = last(&r);
                println!("  {kind}: {}", summarize(&r));
                got.push(r);
                if done {
                    return Ok(got);
                }
            }
            Err(flume::RecvTimeoutError::Timeout) => {
                if let Some(status) = browser.try_exited()? {
                    bail!("{kind} exited ({status}) before reporting; stderr:\n{}", browser.stderr_tail(2000));
                }
            }
            Err(e) => bail!("report channel: {e}"),
        }
    }
}

/// A report without its long members, for the log.
fn summarize(r: &Value) -> String {
    let mut r = r.clone();
    if let Some(o) = r.as_object_mut() {
        o.remove("userAgent");
        o.remove("setupsMs");
        o.remove("localCandidates");
    }
    r.to_string()
}

/// The number `key` of a report.
pub fn num(r: &Value, key: &str) -> Result<f64> {
    r[key].as_f64().with_context(|| format!("report has no number '{key}': {r}"))
}

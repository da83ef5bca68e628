// SPDX-License-Identifier: MPL-2.0
#![deny(missing_docs)]
//! # wkrtc-interop: the browser-side half of wkrtc's interop test harness
//!
//! Interop tests are `harness = false` test binaries that:
//!
//! 1. call [`netns::isolate`] first thing in `main()`, so that the test, its server and the
//!    browsers it starts live in a private network namespace (loopback plus one dummy
//!    interface, no route off the machine);
//! 2. serve pages and collect the pages' JSON reports (today the stand-in
//!    [`report::ReportServer`]; later the real wkrtc server);
//! 3. run headless Chromium or Firefox ESR on those pages with [`browser::Browser`], each with a
//!    fresh profile, killed with its whole process group when dropped.
//!
//! The pages live in `tests/pages/`; [`pages`] embeds them. `tests/tests/browsers_smoke.rs`
//! is the smoke test: the in-browser pair of peer connections ([`pages::LOCAL_PAIR`]) in both
//! browsers.

pub mod aiortc;
pub mod browser;
pub mod line_peer;
pub mod link;
pub mod netns;
pub mod report;
pub mod runner;

/// The test pages, embedded at build time.
pub mod pages {
    /// Two `RTCPeerConnection`s in one page connected to each other: setup time, data-channel
    /// throughput with every byte verified, round trips; reports `kind: "local_pair"`.
    pub const LOCAL_PAIR: &str = include_str!("../pages/local_pair.html");
    /// The interop scenarios against `wkrtc serve` (`?scenarios=a,b,...`); reports
    /// `kind: "scenario"` per scenario, then `scenario: "done"`.
    pub const INTEROP: &str = include_str!("../pages/interop.html");
    /// The media scenarios against `wkrtc serve` (fake camera and microphone; `?scenarios=`),
    /// and the Chromium pair's first-frame anchor (`?scenarios=anchor-pair`).
    pub const MEDIA: &str = include_str!("../pages/media.html");
}

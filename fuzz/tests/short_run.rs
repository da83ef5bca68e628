// SPDX-License-Identifier: MPL-2.0
//! A short run of every fuzz target, for CI: the same generators and checks as
//! `wkrtc-fuzz`, fewer inputs. The pure targets and the API sequences must exercise both
//! outcomes (accepted and refused), or they prove little.

use wkrtc_fuzz::{run_api, run_pure, run_signaling, Report, Target};

fn assert_clean(what: &str, r: &Report, min_accepted: u64, min_refused: u64) {
    assert!(r.findings.is_empty(), "{what}: {} findings, first:\n{}", r.findings.len(), r.findings[0]);
    assert!(r.accepted >= min_accepted && r.refused >= min_refused, "{what}: accepted {}, refused {} of {}", r.accepted, r.refused, r.inputs);
}

#[test]
fn sdp() {
    assert_clean("sdp", &run_pure(Target::Sdp, 30_000, 1), 1000, 1000);
}

#[test]
fn candidates() {
    assert_clean("candidate", &run_pure(Target::Candidate, 30_000, 2), 1000, 1000);
}

#[test]
fn signaling() {
    // Accepted: the session still answered after its requests; the server may also close a
    // socket, which counts as refused and is not required.
    assert_clean("signaling", &run_signaling(300, 3), 100, 0);
}

#[test]
fn api_sequences() {
    assert_clean("api", &run_api(20, 4), 10, 10);
}

// SPDX-License-Identifier: MPL-2.0
//! 200 sequential create/connect/close cycles: every one connects and exchanges a message,
//! and neither memory nor threads nor file descriptors grow with the count.

mod common;
use common::*;
use wkrtc::{DataChannelInit, Message};

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok()).unwrap()
}

fn count(dir: &str) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

fn cycle(i: usize) {
    let (a, b, dc_a, dc_b) = connected_pair(DataChannelInit::default());
    dc_a.send_text(&format!("cycle {i}")).unwrap();
    let got = next_message(&dc_b);
    assert_eq!(got, Message::Text(format!("cycle {i}")));
    a.pc.close();
    b.pc.close();
}

/// Waits, bounded, until the helper threads of closed connections have exited.
fn settled_threads(limit: usize) -> usize {
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        let n = count("/proc/self/task");
        if n <= limit || std::time::Instant::now() > deadline {
            return n;
        }
        std::thread::yield_now();
    }
}

#[test]
fn two_hundred_cycles_do_not_leak() {
    // One malloc arena: glibc otherwise gives each of the many short-lived streaming threads
    // an arena of its own, and RSS then measures fragmentation, not live memory.
    // SAFETY: mallopt is called before this test starts any thread of its own.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
    // The first connections fill process-wide caches (plugins, types, the certificate).
    for i in 0..50 {
        cycle(i);
    }
    let (rss0, fds0, threads0) = (rss_kib(), count("/proc/self/fd"), count("/proc/self/task"));
    for i in 0..200 {
        cycle(i);
        if std::env::var_os("WKRTC_CYCLES_VERBOSE").is_some() && i % 50 == 49 {
            eprintln!("cycle {}: RSS {} KiB", i + 1, rss_kib());
        }
    }
    let threads1 = settled_threads(threads0);
    let (rss1, fds1) = (rss_kib(), count("/proc/self/fd"));
    eprintln!("after warm-up: RSS {rss0} KiB, {fds0} fds, {threads0} threads; after 200 cycles: RSS {rss1} KiB, {fds1} fds, {threads1} threads");
    assert!(rss1.saturating_sub(rss0) < 5 * 1024, "RSS grew by {} KiB over 200 cycles", rss1 - rss0);
    assert!(fds1 <= fds0 + 4, "file descriptors grew from {fds0} to {fds1}");
    assert!(threads1 <= threads0 + 4, "threads grew from {threads0} to {threads1}");
}

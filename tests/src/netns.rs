// SPDX-License-Identifier: MPL-2.0
//! A private network namespace for an interop test: loopback plus one sink interface, and no
//! way off the machine.
//!
//! [`isolate`] moves the calling process into a new network namespace. A new namespace has
//! only a `lo` that is down; we bring it up and add a `dummy` interface, [`DUMMY_IF`] with
//! [`DUMMY_ADDR`]/24, so that browsers have a non-loopback host address to gather (Chromium
//! gathers no loopback address by default, and hides host addresses behind mDNS `.local`
//! names). A dummy interface drops everything sent through it: it has no peer and no wire.
//!
//! Some kernels have no `dummy` driver (this project's Firecracker VMs: `ip link add ... type
//! dummy` fails with "Unknown device type"). Then [`DUMMY_IF`] is one end of a `veth` pair
//! whose other end, [`PEER_IF`], is in the same namespace, up, without an address, and
//! forwarding is off: what is sent through [`DUMMY_IF`] arrives on [`PEER_IF`] and goes no
//! further. [`link_type`] tells which was made.
//!
//! ## The default route into the sink
//!
//! The namespace has a default route, `default dev wkrtc0`: into the sink. Both browsers need
//! it. A page that has no camera or microphone permission gathers host candidates only on the
//! interface of the default route, found by `connect()`ing a UDP socket to a public address
//! (8.8.8.8, which sends nothing) and reading the local address the kernel chose:
//!
//! - Chromium 156 without the route: `IpcNetworkManager` gets the network list, the
//!   `FilteringNetworkManager` sees "permission status: denied" and allocates on the "any"
//!   address only, whose default-route lookup fails: no candidate at all, `iceGatheringState`
//!   goes to `complete` with nothing, the pair never connects.
//! - Firefox ESR 153 without the route: nICEr logs "use only default local addresses: yes",
//!   then "failed to find default addresses"; `StartGathering` fails (`R_FAILED`) and the
//!   connection is `failed` at once. `media.peerconnection.ice.default_address_only=false`,
//!   `media.peerconnection.ice.force_interface`, `media.peerconnection.ice.loopback=true`
//!   and a live fake `getUserMedia` track (`?gum=1`) do not change that; only a standing
//!   microphone permission does (see [`crate::browser::FIREFOX_PREFS`]), and it also turns
//!   off mDNS names. Chromium gathers without the route only once the page captures media
//!   (fake devices, `?gum=1`), and then with raw addresses too.
//!
//! With the route, each gathers 10.77.0.1 and hides it behind an mDNS `.local` name.
//!
//! The private ranges ([`UNREACHABLE`]) are routed `unreachable`: both browsers send DNS
//! queries at startup to the resolver of `/etc/resolv.conf` (here 10.255.255.53); with these
//! routes the kernel fails them at once (`EHOSTUNREACH`) instead of ARPing for the resolver
//! in the sink. What still goes into the sink, seen with `tcpdump -i wkrtc0`: mDNS (the
//! browsers' own `.local` names, to 224.0.0.251), IGMP and IPv6 router/multicast-listener
//! chatter.
//!
//! ## Why nothing can leave the machine
//!
//! The namespace holds no interface but `lo` and ours; no veth end, physical device or tunnel
//! connects it to the host's namespace, so no packet sent in it can reach the host's network
//! stack, let alone another machine: whatever follows the default route ends in the dummy
//! (dropped) or in [`PEER_IF`] (no address, no forwarding: dropped). [`isolate`] checks this
//! after setting up: only those interfaces exist, none is linked to another namespace
//! (`link-netns` / `link-netnsid` in `ip -d link`), IPv4 forwarding is off, every IPv4 and
//! IPv6 route goes through `lo` or our interfaces (or is `unreachable`), a public address
//! (192.0.2.1, TEST-NET-1) routes into [`DUMMY_IF`] and a private one (10.255.255.53) is
//! unreachable.
//!
//! Call [`isolate`] at the very start of a `harness = false` test's `main()`, before any
//! thread exists: `unshare(2)` of a network namespace moves only the calling thread, and
//! every thread and process created afterwards inherits it.

use std::process::Command;

use anyhow::{bail, Context, Result};

/// The sink interface's name.
pub const DUMMY_IF: &str = "wkrtc0";
/// The sink interface's address (its prefix is /24).
pub const DUMMY_ADDR: &str = "10.77.0.1";
/// The other end of the `veth` pair, when the kernel has no `dummy` driver.
pub const PEER_IF: &str = "wkrtc1";

/// IPv4 ranges routed `unreachable` in the namespace: private (RFC 1918), shared (RFC 6598)
/// and link-local. [`DUMMY_ADDR`]'s /24, more specific, still goes to [`DUMMY_IF`].
pub const UNREACHABLE: &[&str] = &["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"];

static LINK_TYPE: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// `Some("dummy")` or `Some("veth")` once [`isolate`] has succeeded.
pub fn link_type() -> Option<&'static str> {
    LINK_TYPE.get().copied()
}

/// Moves this process into a new network namespace holding `lo` (up) and [`DUMMY_IF`] (up,
/// [`DUMMY_ADDR`]/24, the default route), then checks that nothing can leave it.
///
/// As root this is `unshare(CLONE_NEWNET)`. Otherwise (or if root lacks `CAP_SYS_ADMIN`), it
/// tries `unshare(CLONE_NEWUSER | CLONE_NEWNET)`, mapping the current uid and gid to root in
/// the new user namespace; it fails with a message saying what to do if neither works.
pub fn isolate() -> Result<()> {
    let threads = std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(1);
    if threads != 1 {
        bail!("netns::isolate() must run before any thread is started ({threads} threads exist): call it first in main()");
    }
    enter_namespace()?;
    ip(&["link", "set", "lo", "up"])?;
    let link_type = match ip(&["link", "add", DUMMY_IF, "type", "dummy"]) {
        Ok(_) => "dummy",
        Err(dummy) => {
            ip(&["link", "add", DUMMY_IF, "type", "veth", "peer", "name", PEER_IF])
                .with_context(|| format!("no dummy interface ({dummy:#}), and no veth pair either"))?;
            ip(&["link", "set", PEER_IF, "up"])?;
            "veth"
        }
    };
    // A new namespace starts with forwarding off; make sure (it is what makes PEER_IF a sink).
    if std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").map_or(true, |v| v.trim() != "0") {
        std::fs::write("/proc/sys/net/ipv4/ip_forward", "0").context("turning IPv4 forwarding off")?;
    }
    ip(&["addr", "add", &format!("{DUMMY_ADDR}/24"), "dev", DUMMY_IF])?;
    ip(&["link", "set", DUMMY_IF, "up"])?;
    ip(&["route", "add", "default", "dev", DUMMY_IF])?;
    // Private and shared ranges (but our own /24, which is more specific) are unreachable: a
    // browser's DNS query to the machine's resolver fails at once instead of going into the sink.
    for range in UNREACHABLE {
        ip(&["route", "add", "unreachable", range])?;
    }
    verify(link_type)?;
    let _ = LINK_TYPE.set(link_type);
    Ok(())
}

fn enter_namespace() -> Result<()> {
    // SAFETY: plain system calls; the process is single-threaded (checked by the caller).
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let root_error = if uid == 0 {
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } == 0 {
            return Ok(());
        }
        Some(std::io::Error::last_os_error())
    } else {
        None
    };
    if unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) } != 0 {
        let user_error = std::io::Error::last_os_error();
        let root = root_error.map(|e| format!("unshare(CLONE_NEWNET) as root: {e}; ")).unwrap_or_default();
        bail!(
            "cannot make a private network namespace: {root}unshare(CLONE_NEWUSER|CLONE_NEWNET): {user_error}. \
             Run the test as root (as CI does), or allow unprivileged user namespaces \
             (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0), \
             or grant CAP_SYS_ADMIN to the container"
        );
    }
    // Be root inside the new user namespace, so that we hold CAP_NET_ADMIN over the new
    // network namespace (`ip link add` needs it).
    std::fs::write("/proc/self/setgroups", "deny").context("writing /proc/self/setgroups")?;
    std::fs::write("/proc/self/uid_map", format!("0 {uid} 1")).context("writing /proc/self/uid_map")?;
    std::fs::write("/proc/self/gid_map", format!("0 {gid} 1")).context("writing /proc/self/gid_map")?;
    Ok(())
}

/// Runs `ip ARGS`, failing with its stderr.
fn ip(args: &[&str]) -> Result<String> {
    let out = Command::new("ip").args(args).output().with_context(|| format!("running `ip {}` (is iproute2 installed?)", args.join(" ")))?;
    if !out.status.success() {
        bail!("`ip {}` failed ({}): {}", args.join(" "), out.status, String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Checks the namespace: only `lo` and ours, none linked elsewhere, no forwarding, every route
/// through them, public addresses routed into the sink.
fn verify(link_type: &str) -> Result<()> {
    let ours: &[&str] = if link_type == "dummy" { &["lo", DUMMY_IF] } else { &["lo", DUMMY_IF, PEER_IF] };
    let links = ip(&["-d", "-o", "link", "show"])?;
    let mut names = Vec::new();
    for line in links.lines() {
        let name = line.split(':').nth(1).map(|n| n.trim().split('@').next().unwrap_or("")).unwrap_or("");
        if line.contains("link-netns") {
            bail!("interface {name} is linked to another network namespace: {line}");
        }
        names.push(name.to_string());
    }
    names.sort_unstable();
    if names != ours {
        bail!("the test namespace should hold only {ours:?}, it holds {names:?}");
    }
    let forwarding = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap_or_default();
    if forwarding.trim() != "0" {
        bail!("IPv4 forwarding is on in the test namespace");
    }
    for family in ["-4", "-6"] {
        let routes = ip(&[family, "route", "show", "table", "all"])?;
        for route in routes.lines() {
            let dev = route.split_whitespace().skip_while(|w| *w != "dev").nth(1);
            match dev {
                Some(d) if ours.contains(&d) => {}
                _ if route.starts_with("unreachable") || route.starts_with("blackhole") || route.starts_with("prohibit") => {}
                _ => bail!("unexpected route in the test namespace: {route}"),
            }
        }
    }
    // 192.0.2.1 is TEST-NET-1 (RFC 5737), never a real host; `ip route get` sends nothing.
    let to_public = ip(&["-4", "route", "get", "192.0.2.1"])?;
    if to_public.split_whitespace().skip_while(|w| *w != "dev").nth(1) != Some(DUMMY_IF) {
        bail!("a public address should route into {DUMMY_IF}: {}", to_public.trim());
    }
    if let Ok(route) = ip(&["-4", "route", "get", "10.255.255.53"]) {
        bail!("a private address outside {DUMMY_ADDR}/24 should be unreachable: {}", route.trim());
    }
    Ok(())
}

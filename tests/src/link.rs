// SPDX-License-Identifier: MPL-2.0
//! A lossy, delaying link between two network namespaces, in user space: these kernels have no
//! `sch_netem` (tc's `tbf` works, but neither drops nor delays at random).
//!
//! [`Link::new`] (after [`crate::netns::isolate`]) makes a TUN device `wkl0` with
//! [`A_ADDR`] in the calling process's namespace, and a second namespace holding only `lo`
//! and a TUN device `wkl1` with [`B_ADDR`]. This process holds both devices' file
//! descriptors and relays every IP packet between them, dropping each with the configured
//! probability and delaying it by the configured time, per direction. Nothing else is in the
//! second namespace, so nothing reaches beyond the relay. [`Link::spawn_in_b`] starts a
//! process there (the far peer).

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// The address of this process's side.
pub const A_ADDR: &str = "10.88.0.1";
/// The address of the far namespace's side.
pub const B_ADDR: &str = "10.88.0.2";

/// What one direction of the link does to packets.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Impairment {
    /// Probability of dropping a packet, 0 to 1.
    pub loss: f64,
    /// Time added to every packet that goes through.
    pub delay: Duration,
    /// Drop everything (the cable pulled).
    pub cut: bool,
}

/// Packets relayed and dropped in one direction.
#[derive(Debug, Default)]
pub struct Counters {
    /// Forwarded.
    pub forwarded: AtomicU64,
    /// Dropped on purpose.
    pub dropped: AtomicU64,
}

struct Direction {
    impairment: Mutex<Impairment>,
    counters: Counters,
}

/// The link; the relay stops and the far namespace goes when it is dropped.
pub struct Link {
    directions: [Arc<Direction>; 2],
    ns_b: File,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const IFF_TUN: libc::c_short = 0x0001;
const IFF_NO_PI: libc::c_short = 0x1000;

fn tun(name: &str) -> Result<File> {
    let file = OpenOptions::new().read(true).write(true).open("/dev/net/tun").context("/dev/net/tun")?;
    // struct ifreq: the name (16 bytes) then the flags.
    let mut ifr = [0u8; 40];
    ifr[..name.len()].copy_from_slice(name.as_bytes());
    ifr[16..18].copy_from_slice(&(IFF_TUN | IFF_NO_PI).to_ne_bytes());
    // SAFETY: TUNSETIFF reads and writes a struct ifreq, which `ifr` is large enough to hold.
    if unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF, ifr.as_mut_ptr()) } < 0 {
        bail!("TUNSETIFF {name}: {}", std::io::Error::last_os_error());
    }
    Ok(file)
}

fn ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip").args(args).output().context("ip")?;
    if !out.status.success() {
        bail!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

fn up(dev: &str, addr: &str) -> Result<()> {
    ip(&["addr", "add", &format!("{addr}/30"), "dev", dev])?;
    ip(&["link", "set", dev, "up"])
}

/// Moves packets from `from` to `to`, impaired by `dir`, until `stop`.
fn relay(from: File, to: File, dir: Arc<Direction>, stop: Arc<AtomicBool>, seed: u64) -> std::thread::JoinHandle<()> {
    let (tx, rx) = flume::unbounded::<(Instant, Vec<u8>)>();
    let writer_stop = stop.clone();
    // The writer releases packets in order at their due time: one delay per direction keeps
    // them in order, as a cable does.
    std::thread::spawn(move || {
        let mut to = to;
        while !writer_stop.load(Ordering::Acquire) {
            let Ok((due, packet)) = rx.recv_timeout(Duration::from_millis(100)) else { continue };
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            let _ = std::io::Write::write(&mut to, &packet);
        }
    });
    std::thread::spawn(move || {
        let mut rng = seed | 1;
        let mut buf = vec![0u8; 65536];
        let mut from = from;
        while !stop.load(Ordering::Acquire) {
            let mut pfd = libc::pollfd { fd: from.as_raw_fd(), events: libc::POLLIN, revents: 0 };
            // SAFETY: one valid pollfd.
            if unsafe { libc::poll(&mut pfd, 1, 100) } <= 0 {
                continue;
            }
            let Ok(n) = std::io::Read::read(&mut from, &mut buf) else { continue };
            let imp = *dir.impairment.lock().unwrap_or_else(|e| e.into_inner());
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let roll = (rng >> 11) as f64 / (1u64 << 53) as f64;
            if imp.cut || roll < imp.loss {
                dir.counters.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            dir.counters.forwarded.fetch_add(1, Ordering::Relaxed);
            let _ = tx.send((Instant::now() + imp.delay, buf[..n].to_vec()));
        }
    })
}

impl Link {
    /// Builds the second namespace and both devices, and starts the relay, unimpaired.
    pub fn new() -> Result<Self> {
        // A thread of its own enters the new namespace (unshare moves only the calling
        // thread), makes the far device there and hands back both descriptors.
        let far = std::thread::spawn(|| -> Result<(File, File)> {
            // SAFETY: affects this thread only, which ends right after.
            if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                bail!("unshare(CLONE_NEWNET): {}", std::io::Error::last_os_error());
            }
            ip(&["link", "set", "lo", "up"])?;
            let dev = tun("wkl1")?;
            up("wkl1", B_ADDR)?;
            let ns = File::open("/proc/thread-self/ns/net").context("the far namespace")?;
            Ok((dev, ns))
        });
        let (dev_b, ns_b) = far.join().map_err(|_| anyhow::anyhow!("the namespace thread panicked"))??;
        let dev_a = tun("wkl0")?;
        up("wkl0", A_ADDR)?;
        let directions = [
            Arc::new(Direction { impairment: Mutex::default(), counters: Counters::default() }),
            Arc::new(Direction { impairment: Mutex::default(), counters: Counters::default() }),
        ];
        let stop = Arc::new(AtomicBool::new(false));
        let threads = vec![
            relay(dev_a.try_clone()?, dev_b.try_clone()?, directions[0].clone(), stop.clone(), 0x1234_5678),
            relay(dev_b, dev_a, directions[1].clone(), stop.clone(), 0x8765_4321),
        ];
        Ok(Self { directions, ns_b, stop, threads })
    }

    /// Sets the impairment of both directions.
    pub fn set(&self, impairment: Impairment) {
        for d in &self.directions {
            *d.impairment.lock().unwrap_or_else(|e| e.into_inner()) = impairment;
        }
    }

    /// (forwarded, dropped) packets, both directions together.
    pub fn counters(&self) -> (u64, u64) {
        self.directions
            .iter()
            .fold((0, 0), |(f, d), dir| (f + dir.counters.forwarded.load(Ordering::Relaxed), d + dir.counters.dropped.load(Ordering::Relaxed)))
    }

    /// Starts `cmd` in the far namespace.
    pub fn spawn_in_b(&self, cmd: &mut Command) -> Result<Child> {
        let ns = self.ns_b.as_raw_fd();
        // SAFETY: setns and prctl are async-signal-safe; `ns` stays open in the child until
        // exec. The child dies with this process.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setns(ns, libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        cmd.spawn().context("starting the far peer")
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

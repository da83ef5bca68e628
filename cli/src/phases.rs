// SPDX-License-Identifier: MPL-2.0
//! The measurement phases, written once over the [`Link`] trait so that wkrtc and the raw
//! webrtcbin anchor are driven by the same code: bulk throughput with backpressure, and
//! small-message round trips. Also the bounded helpers both drivers use (a waiting loop
//! with a deadline, a thread whose end is waited for with a timeout).

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::measure::{self, BulkReport, Kind};

/// The most `bufferedAmount` may reach: a send waits while it would go above this.
pub const HIGH_WATER: u64 = 1024 * 1024;
/// `bufferedAmountLowThreshold`: sending resumes when the queue drains to this.
pub const LOW_WATER: u64 = 512 * 1024;
/// The longest the send queue may stay full before the phase fails.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Bound on every wait for a peer: an echo, an answerer's report, an event.
pub const WAIT: Duration = Duration::from_secs(10);

/// The offerer's end of an open data channel, as the phases need it.
pub trait Link {
    /// Sends one binary message.
    fn send(&self, msg: Vec<u8>) -> Result<()>;
    /// The channel's `bufferedAmount`.
    fn buffered_amount(&self) -> u64;
    /// Sets `bufferedAmountLowThreshold`.
    fn set_buffered_amount_low_threshold(&self, bytes: u64);
    /// Waits for a `bufferedamountlow` event; `false` when none came within `timeout`.
    fn wait_buffered_amount_low(&self, timeout: Duration) -> Result<bool>;
    /// The next message the offerer receives; `None` when none came within `timeout`.
    fn recv(&self, timeout: Duration) -> Result<Option<Vec<u8>>>;
    /// The answerer's report on the bulk phase that just ended; `None` on timeout.
    fn report(&self, timeout: Duration) -> Result<Option<BulkReport>>;
}

/// One bulk phase's outcome.
#[derive(Debug, Clone)]
pub struct Throughput {
    /// Message size.
    pub size: usize,
    /// MB/s (10^6 bytes per second) from the first send to the last byte received.
    pub mb_per_s: f64,
    /// What the answerer saw.
    pub report: BulkReport,
    /// UDP datagrams the kernel dropped for a full receive buffer during the phase, on the
    /// whole machine (Linux only). Each drop costs SCTP a retransmission.
    pub udp_drops: Option<u64>,
}

/// The kernel's count of UDP datagrams dropped for a full receive buffer (Linux).
fn udp_drops_so_far() -> Option<u64> {
    std::fs::read_to_string("/proc/net/snmp").ok().and_then(|s| measure::udp_rcvbuf_errors(&s))
}

/// The ping phase's outcome.
#[derive(Debug, Clone)]
pub struct Rtt {
    /// Round trips, ms, in order.
    pub samples: Vec<f64>,
    /// Echoes that did not match the ping.
    pub errors: u64,
    /// The first mismatch.
    pub first_error: Option<String>,
}

/// Waits until a message of `size` bytes fits under [`HIGH_WATER`].
fn wait_for_room(link: &impl Link, size: usize) -> Result<()> {
    let mut stalled_since: Option<(Instant, u64)> = None;
    loop {
        let queued = link.buffered_amount();
        if queued + size as u64 <= HIGH_WATER {
            return Ok(());
        }
        // Progress resets the stall clock; only a queue that does not drain fails.
        let since = match stalled_since {
            Some((t, q)) if q <= queued => t,
            _ => {
                stalled_since = Some((Instant::now(), queued));
                Instant::now()
            }
        };
        let left = STALL_TIMEOUT.saturating_sub(since.elapsed());
        if left.is_zero() {
            bail!("the send queue stayed at {queued} bytes for {STALL_TIMEOUT:?}: no bufferedamountlow, no progress");
        }
        // A stale event only costs one more look at the buffered amount.
        link.wait_buffered_amount_low(left)?;
    }
}

/// Sends `size`-byte messages for `duration`, then waits for the answerer's report.
pub fn bulk(link: &impl Link, size: usize, duration: Duration) -> Result<Throughput> {
    link.set_buffered_amount_low_threshold(LOW_WATER);
    let drops_before = udp_drops_so_far();
    link.send(measure::control(Kind::Start, size as u64)).context("cannot start a bulk phase")?;
    let start = Instant::now();
    let deadline = start + duration;
    let mut seq = 0u64;
    while Instant::now() < deadline {
        wait_for_room(link, size).with_context(|| format!("{size}-byte messages, after message {seq}"))?;
        link.send(measure::message(Kind::Bulk, seq, size)).with_context(|| format!("sending {size}-byte message {seq}"))?;
        seq += 1;
    }
    link.send(measure::control(Kind::End, seq)).context("cannot end a bulk phase")?;
    let report = link.report(WAIT)?.ok_or_else(|| anyhow!("the answerer did not report on {seq} messages of {size} bytes within {WAIT:?}"))?;
    let udp_drops = drops_before.zip(udp_drops_so_far()).map(|(a, b)| b.saturating_sub(a));
    let elapsed = report.last_at.map(|t| t.saturating_duration_since(start)).unwrap_or_default();
    Ok(Throughput { size, mb_per_s: measure::mb_per_s(report.bytes, elapsed), report, udp_drops })
}

/// Sends `count` pings of `size` bytes one after the other; each waits for its echo.
pub fn rtt(link: &impl Link, count: u64, size: usize) -> Result<Rtt> {
    let mut samples = Vec::with_capacity(count as usize);
    let (mut errors, mut first_error) = (0, None);
    for seq in 0..count {
        let ping = measure::message(Kind::Ping, seq, size);
        let sent = Instant::now();
        link.send(ping.clone()).with_context(|| format!("sending ping {seq}"))?;
        let echo = link.recv(WAIT)?.ok_or_else(|| anyhow!("no echo of ping {seq} within {WAIT:?}"))?;
        samples.push(measure::ms(sent.elapsed()));
        if echo != ping {
            errors += 1;
            first_error.get_or_insert_with(|| match measure::verify(&echo) {
                Ok((_, got)) => format!("ping {seq}: the echo is message {got}"),
                Err(e) => format!("ping {seq}: {e}"),
            });
        }
    }
    Ok(Rtt { samples, errors, first_error })
}

/// Everything one implementation measured.
#[derive(Debug, Clone, Default)]
pub struct Results {
    /// Set-up phases of every call, in order.
    pub setups: Vec<Setup>,
    /// Bulk phases, 64 KiB then 16 KiB.
    pub bulk: Vec<Throughput>,
    /// The ping phase.
    pub rtt: Option<Rtt>,
    /// Verification failures outside the phases (for example at the answerer).
    pub stray_errors: u64,
    /// The first of them.
    pub first_stray_error: Option<String>,
}

impl Results {
    /// Every verification failure.
    pub fn errors(&self) -> u64 {
        self.bulk.iter().map(|b| b.report.errors).sum::<u64>() + self.rtt.as_ref().map_or(0, |r| r.errors) + self.stray_errors
    }
}

/// One call's set-up, each phase measured from just before `createOffer`.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    /// Offer and answer set on both sides.
    pub applied: Duration,
    /// The offerer's ICE transport connected.
    pub ice: Duration,
    /// The offerer's DTLS transport (or the whole connection) connected.
    pub dtls: Duration,
    /// The offerer's channel open.
    pub open: Duration,
}

/// The data phases on one open channel, in order: 64 KiB, 16 KiB, pings.
pub fn data_phases(link: &impl Link, seconds: Duration, results: &mut Results) -> Result<()> {
    // Each size three times, interleaved: one SCTP retransmission timeout after UDP drops
    // (about 1 s, seen in both implementations) otherwise decides a whole figure.
    for _ in 0..BULK_REPEATS {
        for size in [64 * 1024, 16 * 1024] {
            results.bulk.push(bulk(link, size, seconds)?);
        }
    }
    results.rtt = Some(rtt(link, PINGS, PING_SIZE)?);
    Ok(())
}

/// How many times each throughput phase runs; the report gives the median.
pub const BULK_REPEATS: usize = 3;

/// Pings in the round-trip phase.
pub const PINGS: u64 = 1000;
/// Bytes per ping.
pub const PING_SIZE: usize = 32;

/// Waits on `rx` until `pick` returns a value, at most until `deadline`.
pub fn wait_until<E, T>(rx: &flume::Receiver<E>, deadline: Instant, what: &str, mut pick: impl FnMut(E) -> Result<Option<T>>) -> Result<T> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(ev) => {
                if let Some(v) = pick(ev)? {
                    return Ok(v);
                }
            }
            Err(flume::RecvTimeoutError::Timeout) => bail!("timed out waiting for {what}"),
            Err(flume::RecvTimeoutError::Disconnected) => bail!("gave up waiting for {what}: its source went away"),
        }
    }
}

/// A thread whose result is collected with a timeout.
pub struct Worker<T> {
    name: String,
    handle: std::thread::JoinHandle<()>,
    result: flume::Receiver<Result<T>>,
}

impl<T: Send + 'static> Worker<T> {
    /// Starts `f` on a thread called `name`.
    pub fn spawn(name: &str, f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<Self> {
        let (tx, result) = flume::bounded(1);
        let handle = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let _ = tx.send(f());
            })
            .with_context(|| format!("cannot start thread {name}"))?;
        Ok(Self { name: name.to_owned(), handle, result })
    }

    /// Waits at most `timeout` for the thread's result (the thread is left behind on timeout).
    pub fn finish(self, timeout: Duration) -> Result<T> {
        let result = match self.result.recv_timeout(timeout) {
            Ok(r) => r,
            Err(flume::RecvTimeoutError::Timeout) => bail!("thread {} did not finish within {timeout:?}", self.name),
            Err(flume::RecvTimeoutError::Disconnected) => bail!("thread {} panicked", self.name),
        };
        // It has sent its result: joining returns at once.
        if self.handle.join().is_err() {
            bail!("thread {} panicked", self.name);
        }
        result
    }
}

/// Runs `f` on its own thread and waits at most `timeout` for it (for teardown calls into
/// GStreamer that have no timeout of their own).
pub fn bounded<T: Send + 'static>(what: &str, timeout: Duration, f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    Worker::spawn(what, f)?.finish(timeout)
}

// SPDX-License-Identifier: MPL-2.0
//! `wkrtc loopback`: two wkrtc peers in this process call each other over 127.0.0.1 with
//! trickle ICE and a data channel; the command reports set-up times, data-channel
//! throughput and round trips, next to the same figures for a raw webrtcbin pair (the
//! anchor, [`crate::anchor`]) measured in the same run.
//!
//! The wkrtc driver works like an application would: every async call is awaited (with a
//! deadline), each peer's events are read by one thread that hands candidates to the other
//! peer once that peer has our description, and time-stamps the rest as they arrive.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use wkrtc::{
    Configuration, DataChannel, DataChannelEvent, DataChannelInit, DtlsTransportState, Event, IceCandidate, IceConnectionState, Message, OfferOptions,
    PeerConnection, PeerConnectionState, Settings,
};

use crate::anchor;
use crate::measure::{ms, percentile, Action, Answerer, BulkReport};
use crate::phases::{self, wait_until, Link, Results, Setup, Worker, WAIT};
use wkrtc_cli::wait::block_on_timeout;

/// What `wkrtc loopback` was asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// Calls per implementation; the first is reported on its own.
    pub runs: usize,
    /// Length of each throughput phase.
    pub seconds: Duration,
    /// After the data calls, a call carrying a camera opened by wkrtc's getUserMedia.
    pub camera: Option<wkrtc::capture::MediaDevices>,
    /// Print both peers' getStats of the camera call (W3C JSON).
    pub stats: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self { runs: 20, seconds: Duration::from_secs(2), camera: None, stats: false }
    }
}

/// The camera call of `--camera`: 640x480 asked for, three seconds measured.
fn camera_call(devices: &wkrtc::capture::MediaDevices, stats: bool) -> Result<()> {
    let (m, settings, label) = wkrtc_cli::media_bench::capture_pair(devices, serde_json::json!({"width": 640, "height": 480}), Duration::from_secs(3), stats)?;
    println!();
    println!("Camera: wkrtc getUserMedia opened '{label}' with {settings}");
    println!(
        "    the answerer decoded {} frames in {:.1} s ({:.1} frames/s) at {}x{}; process CPU {:.1} s per minute of call",
        m.frames_decoded,
        m.seconds,
        m.frames_decoded as f64 / m.seconds,
        m.width,
        m.height,
        m.cpu_seconds_per_minute
    );
    if let Some((sender, receiver)) = &m.stats {
        println!("\ngetStats of the sending peer (W3C JSON):\n{}", serde_json::to_string_pretty(sender)?);
        println!("\ngetStats of the receiving peer (W3C JSON):\n{}", serde_json::to_string_pretty(receiver)?);
    }
    Ok(())
}

/// Bound on one wkrtc operation (createOffer, setRemoteDescription, ...).
const OP_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on a whole call set-up, from createOffer to both channels.
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(15);
/// How often the event threads look at their stop flag while idle.
pub const POLL: Duration = Duration::from_millis(50);
/// How long a closed peer connection may take to release its event channel.
const RELEASE_GRACE: Duration = Duration::from_secs(1);
/// A pause between two bulk messages long enough to call out in the report.
const STALL_NOTE: Duration = Duration::from_millis(250);
/// How long wkrtc's start-up warm-up may take.
const WARM_TIMEOUT: Duration = Duration::from_secs(10);

/// Locks a mutex; the data behind a poisoned one is still usable here.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Awaits one wkrtc operation, at most [`OP_TIMEOUT`].
fn op<T>(what: &str, fut: impl Future<Output = wkrtc::Result<T>>) -> Result<T> {
    match block_on_timeout(fut, OP_TIMEOUT) {
        Some(r) => r.with_context(|| format!("{what} failed")),
        None => bail!("{what}: no answer within {OP_TIMEOUT:?}"),
    }
}

type Pending = Pin<Box<dyn Future<Output = wkrtc::Result<()>> + Send>>;

/// One direction of trickle ICE: candidates wait here until the other peer has our
/// description, then go straight to it.
struct Trickle {
    to: Weak<PeerConnection>,
    open: bool,
    waiting: Vec<IceCandidate>,
    /// `addIceCandidate` calls made, checked once the call is up.
    added: Vec<Pending>,
}

impl Trickle {
    fn new(to: &Arc<PeerConnection>) -> Arc<Mutex<Self>> {
        Arc::new(Mutex::new(Self { to: Arc::downgrade(to), open: false, waiting: Vec::new(), added: Vec::new() }))
    }

    fn offer(&mut self, c: IceCandidate) {
        if !self.open {
            self.waiting.push(c);
        } else if let Some(pc) = self.to.upgrade() {
            // Queued on the operations chain when called; the result is checked later.
            self.added.push(Box::pin(pc.add_ice_candidate(Some(c))));
        }
    }

    fn open(this: &Mutex<Self>) {
        let mut t = lock(this);
        t.open = true;
        for c in std::mem::take(&mut t.waiting) {
            t.offer(c);
        }
    }

    fn check(this: &Mutex<Self>) -> Result<()> {
        let added = std::mem::take(&mut lock(this).added);
        for fut in added {
            op("addIceCandidate", fut)?;
        }
        Ok(())
    }
}

/// A peer connection and the thread reading its events.
struct Peer {
    pc: Arc<PeerConnection>,
    /// Everything but candidates, with the time it arrived.
    events: flume::Receiver<(Instant, Event)>,
    trickle: Arc<Mutex<Trickle>>,
    stop: Arc<AtomicBool>,
    /// Ends with `true` when the connection released its event channel.
    router: Worker<bool>,
}

impl Peer {
    fn start(pc: Arc<PeerConnection>, to: &Arc<PeerConnection>, name: &str) -> Result<Self> {
        let trickle = Trickle::new(to);
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, events) = flume::unbounded();
        let all = pc.events();
        let (t, s) = (trickle.clone(), stop.clone());
        let router = Worker::spawn(name, move || {
            let mut stopping: Option<Instant> = None;
            loop {
                match all.recv_timeout(POLL) {
                    Ok(Event::IceCandidate(Some(c))) => lock(&t).offer(c),
                    Ok(Event::IceCandidate(None)) => {}
                    Ok(ev) => {
                        let _ = tx.send((Instant::now(), ev));
                    }
                    Err(flume::RecvTimeoutError::Disconnected) => return Ok(true),
                    Err(flume::RecvTimeoutError::Timeout) => {
                        if s.load(Ordering::Acquire) {
                            let since = *stopping.get_or_insert_with(Instant::now);
                            if since.elapsed() >= RELEASE_GRACE {
                                return Ok(false);
                            }
                        }
                    }
                }
            }
        })?;
        Ok(Self { pc, events, trickle, stop, router })
    }
}

/// Two connected wkrtc peers with an open channel.
struct Call {
    a: Peer,
    b: Peer,
    dc_a: DataChannel,
    dc_a_events: flume::Receiver<DataChannelEvent>,
    dc_b: DataChannel,
}

fn new_pc(role: &str) -> Result<Arc<PeerConnection>> {
    Ok(Arc::new(PeerConnection::with_settings(Configuration::default(), Settings::loopback()).with_context(|| format!("cannot create the {role}"))?))
}

fn states(pc: &PeerConnection) -> String {
    format!("signaling {:?}, ICE {:?}, connection {:?}", pc.signaling_state(), pc.ice_connection_state(), pc.connection_state())
}

impl Call {
    /// Sets up a call and measures its phases.
    fn setup() -> Result<(Self, Setup)> {
        let alice = new_pc("offerer")?;
        let bob = new_pc("answerer")?;
        let dc_a = alice.create_data_channel("bench", DataChannelInit::default()).context("createDataChannel failed")?;
        let dc_a_events = dc_a.events();
        let a = Peer::start(alice.clone(), &bob, "wkrtc-offerer-events")?;
        let b = Peer::start(bob.clone(), &alice, "wkrtc-answerer-events")?;

        let t0 = Instant::now();
        let deadline = t0 + SETUP_TIMEOUT;
        let offer = op("createOffer", alice.create_offer(OfferOptions::default()))?;
        op("offerer setLocalDescription", alice.set_local_description(Some(offer.clone())))?;
        op("answerer setRemoteDescription", bob.set_remote_description(offer))?;
        Trickle::open(&a.trickle);
        let answer = op("createAnswer", bob.create_answer())?;
        op("answerer setLocalDescription", bob.set_local_description(Some(answer.clone())))?;
        op("offerer setRemoteDescription", alice.set_remote_description(answer))?;
        Trickle::open(&b.trickle);
        let applied = t0.elapsed();

        let open = wait_until(&dc_a_events, deadline, "the offerer's data channel to open", |ev| match ev {
            DataChannelEvent::Open => Ok(Some(t0.elapsed())),
            DataChannelEvent::Error(e) => bail!("the offerer's channel failed: {e}"),
            DataChannelEvent::Closing | DataChannelEvent::Close => bail!("the offerer's channel closed before it opened"),
            _ => Ok(None),
        })
        .with_context(|| format!("offerer: {}; answerer: {}", states(&alice), states(&bob)))?;

        let (mut ice, mut dtls) = (None, None);
        let (ice, dtls) = wait_until(&a.events, deadline, "the offerer's ICE and DTLS states", |(at, ev)| {
            let since = at.saturating_duration_since(t0);
            match ev {
                Event::IceConnectionStateChange(IceConnectionState::Connected | IceConnectionState::Completed) => {
                    ice.get_or_insert(since);
                }
                Event::DtlsStateChange(DtlsTransportState::Connected) | Event::ConnectionStateChange(PeerConnectionState::Connected) => {
                    dtls.get_or_insert(since);
                }
                Event::IceConnectionStateChange(IceConnectionState::Failed)
                | Event::DtlsStateChange(DtlsTransportState::Failed)
                | Event::ConnectionStateChange(PeerConnectionState::Failed) => bail!("the offerer's connection failed: {ev:?}"),
                _ => {}
            }
            Ok(ice.zip(dtls))
        })?;

        let dc_b = wait_until(&b.events, deadline, "the answerer's datachannel event", |(_, ev)| match ev {
            Event::DataChannel(dc) => Ok(Some(dc)),
            Event::ConnectionStateChange(PeerConnectionState::Failed) => bail!("the answerer's connection failed"),
            _ => Ok(None),
        })?;
        Trickle::check(&a.trickle)?;
        Trickle::check(&b.trickle)?;
        Ok((Self { a, b, dc_a, dc_a_events, dc_b }, Setup { applied, ice, dtls, open }))
    }

    /// Closes both peers; `Ok(false)` when a closed peer connection kept its event channel
    /// alive (a leak in wkrtc).
    fn close(self) -> Result<bool> {
        Trickle::check(&self.a.trickle)?;
        Trickle::check(&self.b.trickle)?;
        let Call { a, b, dc_a, dc_a_events, dc_b } = self;
        drop((dc_a, dc_a_events, dc_b));
        let (pa, pb) = (a.pc, b.pc);
        phases::bounded("wkrtc-close", WAIT, move || {
            pa.close();
            pb.close();
            drop((pa, pb));
            Ok(())
        })?;
        a.stop.store(true, Ordering::Release);
        b.stop.store(true, Ordering::Release);
        let released_a = a.router.finish(RELEASE_GRACE + WAIT)?;
        let released_b = b.router.finish(RELEASE_GRACE + WAIT)?;
        Ok(released_a && released_b)
    }
}

/// The offerer's channel, for the phases.
struct WkrtcLink {
    dc: DataChannel,
    events: flume::Receiver<DataChannelEvent>,
    reports: flume::Receiver<BulkReport>,
}

fn channel_ended(ev: &DataChannelEvent) -> Option<anyhow::Error> {
    match ev {
        DataChannelEvent::Error(e) => Some(anyhow!("the offerer's channel failed: {e}")),
        DataChannelEvent::Closing | DataChannelEvent::Close => Some(anyhow!("the offerer's channel closed")),
        _ => None,
    }
}

impl Link for WkrtcLink {
    fn send(&self, msg: Vec<u8>) -> Result<()> {
        self.dc.send_binary(&msg).context("send failed")
    }
    fn buffered_amount(&self) -> u64 {
        self.dc.buffered_amount()
    }
    fn set_buffered_amount_low_threshold(&self, bytes: u64) {
        self.dc.set_buffered_amount_low_threshold(bytes);
    }
    fn wait_buffered_amount_low(&self, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.events.recv_deadline(deadline) {
                Ok(DataChannelEvent::BufferedAmountLow) => return Ok(true),
                Ok(DataChannelEvent::Message(_)) => bail!("the offerer received a message during a bulk phase"),
                Ok(ev) => {
                    if let Some(e) = channel_ended(&ev) {
                        return Err(e);
                    }
                }
                Err(flume::RecvTimeoutError::Timeout) => return Ok(false),
                Err(flume::RecvTimeoutError::Disconnected) => bail!("the offerer's channel is gone"),
            }
        }
    }
    fn recv(&self, timeout: Duration) -> Result<Option<Vec<u8>>> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.events.recv_deadline(deadline) {
                Ok(DataChannelEvent::Message(Message::Binary(data))) => return Ok(Some(data)),
                Ok(DataChannelEvent::Message(Message::Text(_))) => bail!("the offerer received a text message"),
                Ok(ev) => {
                    if let Some(e) = channel_ended(&ev) {
                        return Err(e);
                    }
                }
                Err(flume::RecvTimeoutError::Timeout) => return Ok(None),
                Err(flume::RecvTimeoutError::Disconnected) => bail!("the offerer's channel is gone"),
            }
        }
    }
    fn report(&self, timeout: Duration) -> Result<Option<BulkReport>> {
        match self.reports.recv_timeout(timeout) {
            Ok(r) => Ok(Some(r)),
            Err(flume::RecvTimeoutError::Timeout) => Ok(None),
            Err(flume::RecvTimeoutError::Disconnected) => bail!("the answerer stopped"),
        }
    }
}

/// The answerer's side of the data phases: verifies, echoes pings, reports each bulk phase.
/// Returns the failures seen outside a phase.
fn answerer(dc: DataChannel, reports: flume::Sender<BulkReport>, stop: Arc<AtomicBool>) -> Result<Worker<(u64, Option<String>)>> {
    Worker::spawn("wkrtc-answerer", move || {
        let events = dc.events();
        let mut state = Answerer::new();
        loop {
            match events.recv_timeout(POLL) {
                Ok(DataChannelEvent::Message(Message::Binary(data))) => match state.on_message(&data, Instant::now()) {
                    Action::Echo => dc.send_binary(&data).context("the answerer cannot echo")?,
                    Action::Report(r) => {
                        let _ = reports.send(r);
                    }
                    Action::Nothing => {}
                },
                Ok(DataChannelEvent::Message(Message::Text(_))) => state.error("a text message".into()),
                Ok(DataChannelEvent::Error(e)) => bail!("the answerer's channel failed: {e}"),
                Ok(DataChannelEvent::Closing | DataChannelEvent::Close) => break,
                Ok(_) => {}
                Err(flume::RecvTimeoutError::Timeout) => {
                    if stop.load(Ordering::Acquire) {
                        break;
                    }
                }
                Err(flume::RecvTimeoutError::Disconnected) => break,
            }
        }
        Ok(state.stray_errors())
    })
}

/// Runs the data phases on an open call.
fn data_phases(call: &Call, seconds: Duration, results: &mut Results) -> Result<()> {
    let (tx, reports) = flume::unbounded();
    let stop = Arc::new(AtomicBool::new(false));
    let worker = answerer(call.dc_b.clone(), tx, stop.clone())?;
    let link = WkrtcLink { dc: call.dc_a.clone(), events: call.dc_a_events.clone(), reports };
    let measured = phases::data_phases(&link, seconds, results);
    stop.store(true, Ordering::Release);
    let stray = worker.finish(WAIT);
    measured?;
    let (n, first) = stray?;
    results.stray_errors += n;
    if results.first_stray_error.is_none() {
        results.first_stray_error = first;
    }
    Ok(())
}

/// `opts.runs` wkrtc calls; the data phases run on the last one.
fn measure_wkrtc(opts: &Options, results: &mut Results) -> Result<()> {
    let mut leaked = 0;
    for run in 0..opts.runs {
        let (call, setup) = Call::setup().with_context(|| format!("wkrtc call {}", run + 1))?;
        results.setups.push(setup);
        if run + 1 == opts.runs {
            data_phases(&call, opts.seconds, results).context("wkrtc data phases")?;
        }
        if !call.close().with_context(|| format!("closing wkrtc call {}", run + 1))? {
            leaked += 1;
        }
    }
    if leaked > 0 {
        println!("note: in {leaked} of {} wkrtc calls a closed and dropped PeerConnection kept its event channel open", opts.runs);
    }
    Ok(())
}

/// `wkrtc loopback`.
pub fn run(opts: &Options) -> Result<()> {
    let started = Instant::now();
    wkrtc::init().context("wkrtc does not initialise")?;
    let warm = wkrtc::wait_warm(WARM_TIMEOUT).ok_or_else(|| anyhow!("wkrtc's start-up warm-up did not finish within {WARM_TIMEOUT:?}"))?;
    let ready = started.elapsed();
    let calls = if opts.runs == 1 { "1 call".to_owned() } else { format!("{} calls", opts.runs) };
    println!("wkrtc loopback: {calls} per implementation on 127.0.0.1 (trickle ICE, one data channel), each pair closed after;");
    println!(
        "on the last call {} s each of 64 KiB and 16 KiB messages, three times, then {} pings of {} bytes",
        opts.seconds.as_secs_f64(),
        phases::PINGS,
        phases::PING_SIZE
    );
    println!("{}", gst::version_string());
    println!("wkrtc warm-up (one-off, background thread at start-up): {:.1} ms; ready to call {:.1} ms after start", ms(warm), ms(ready));

    let mut ours = Results::default();
    measure_wkrtc(opts, &mut ours)?;
    let mut raw = Results::default();
    anchor::measure(opts, &mut raw).context("raw webrtcbin anchor")?;

    print_report(opts, &ours, &raw);
    let errors = ours.errors() + raw.errors();
    if errors > 0 {
        bail!("{errors} verification errors (wkrtc {}, raw webrtcbin {})", ours.errors(), raw.errors());
    }
    if let Some(devices) = &opts.camera {
        camera_call(devices, opts.stats).context("the camera call")?;
    }
    Ok(())
}

fn column(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"))
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "-".to_owned(),
    }
}

/// A set-up phase's values over the warm calls (every call but the first).
fn warm(r: &Results, phase: impl Fn(&Setup) -> Duration, p: f64) -> Option<f64> {
    let v: Vec<f64> = r.setups.iter().skip(1).map(|s| ms(phase(s))).collect();
    percentile(&v, p)
}

fn first(r: &Results, phase: impl Fn(&Setup) -> Duration) -> Option<f64> {
    r.setups.first().map(|s| ms(phase(s)))
}

/// The median throughput of the repeated phases with `size`-byte messages.
fn throughput(r: &Results, size: usize) -> Option<f64> {
    let mut v: Vec<f64> = r.bulk.iter().filter(|b| b.size == size).map(|b| b.mb_per_s).collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

fn rtt(r: &Results, p: f64) -> Option<f64> {
    r.rtt.as_ref().and_then(|x| percentile(&x.samples, p))
}

/// Which figure of a set-up phase a row shows.
#[derive(Clone, Copy)]
enum Stat {
    First,
    Warm(f64),
}

type Phase = fn(&Setup) -> Duration;

fn stat(r: &Results, phase: Phase, s: Stat) -> Option<f64> {
    match s {
        Stat::First => first(r, phase),
        Stat::Warm(p) => warm(r, phase, p),
    }
}

fn print_report(opts: &Options, ours: &Results, raw: &Results) {
    let phases: [(&str, Phase); 4] = [("offer/answer", |s| s.applied), ("ICE", |s| s.ice), ("DTLS", |s| s.dtls), ("channel open", |s| s.open)];
    let warm_n = opts.runs.saturating_sub(1);
    println!();
    println!("Call set-up, ms from just before createOffer (offerer's view)");
    print!("{:<44}", "");
    for (name, _) in &phases {
        print!("{name:>14}");
    }
    println!();
    for (label, r) in [("wkrtc", ours), ("raw webrtcbin", raw)] {
        let rows = [
            (format!("{label}, first call in this process"), Stat::First),
            (format!("{label}, warm median ({warm_n} calls)"), Stat::Warm(50.0)),
            (format!("{label}, warm p90"), Stat::Warm(90.0)),
        ];
        for (name, which) in rows {
            print!("{name:<44}");
            for (_, phase) in &phases {
                print!("{:>14}", column(stat(r, *phase, which)));
            }
            println!();
        }
    }
    println!("(the raw pair runs after wkrtc's calls: the process-wide first-use costs are already paid for it)");

    println!();
    println!("Data channel, offerer -> answerer, every byte checked (length, order, content)");
    println!("{:<28}{:>8}{:>10}{:>12}{:>8}{:>10}{:>11}", "", "MB/s", "messages", "bytes", "errors", "max gap", "UDP drops");
    for (label, r) in [("wkrtc", ours), ("raw webrtcbin", raw)] {
        for b in &r.bulk {
            let name = format!("{label}, {} KiB", b.size / 1024);
            println!(
                "{name:<28}{:>8.1}{:>10}{:>12}{:>8}{:>8.1}ms{:>11}",
                b.mb_per_s,
                b.report.messages,
                b.report.bytes,
                b.report.errors,
                ms(b.report.longest_gap),
                b.udp_drops.map_or_else(|| "-".to_owned(), |d| d.to_string())
            );
            if let Some(e) = &b.report.first_error {
                println!("    first error: {e}");
            }
            if b.report.longest_gap >= STALL_NOTE {
                let why = if b.udp_drops.unwrap_or(0) > 0 { "SCTP waiting out its retransmission timer after UDP drops" } else { "a stall" };
                println!("    note: one pause of {:.0} ms ({why}) dominates this figure; it varies from run to run", ms(b.report.longest_gap));
            }
        }
        if let Some(x) = &r.rtt {
            let name = format!("{label}, {} pings", x.samples.len());
            println!("{name:<28}{:>8}{:>10}{:>12}{:>8}", "", x.samples.len(), x.samples.len() * phases::PING_SIZE, x.errors);
            if let Some(e) = &x.first_error {
                println!("    first error: {e}");
            }
        }
        if let Some(e) = &r.first_stray_error {
            println!("    {label}: {} other errors, first: {e}", r.stray_errors);
        }
    }

    println!();
    println!("{:<34}{:>12}{:>16}{:>12}", "", "wkrtc", "raw webrtcbin", "wkrtc/raw");
    let open = |s: &Setup| s.open;
    let rows = [
        ("setup, warm median (ms)", warm(ours, open, 50.0), warm(raw, open, 50.0)),
        ("setup, first call (ms)", first(ours, open), first(raw, open)),
        ("throughput 64 KiB, median of 3 (MB/s)", throughput(ours, 64 * 1024), throughput(raw, 64 * 1024)),
        ("throughput 16 KiB, median of 3 (MB/s)", throughput(ours, 16 * 1024), throughput(raw, 16 * 1024)),
        ("RTT median (ms)", rtt(ours, 50.0), rtt(raw, 50.0)),
        ("RTT p99 (ms)", rtt(ours, 99.0), rtt(raw, 99.0)),
    ];
    for (name, a, b) in rows {
        println!("{name:<34}{:>12}{:>16}{:>12}", column(a), column(b), ratio(a, b));
    }
    println!("{:<34}{:>12}{:>16}", "verification errors", ours.errors(), raw.errors());
}

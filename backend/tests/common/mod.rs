// SPDX-License-Identifier: MPL-2.0
//! Helpers shared by the integration tests: peers on loopback, trickle between them, and
//! bounded waits. Every wait here has a timeout; nothing sleeps.
#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use wkrtc::{DataChannel, DataChannelEvent, Event, IceCandidate, OfferOptions, PeerConnection, PeerConnectionState, Settings};

pub const TIMEOUT: Duration = Duration::from_secs(15);

/// Runs a future to completion on its own thread, failing the test after `TIMEOUT`.
pub fn wait<T: Send + 'static>(fut: impl Future<Output = T> + Send + 'static) -> T {
    try_wait(fut, TIMEOUT).expect("operation timed out")
}

/// Like [`wait`], with `None` on timeout.
pub fn try_wait<T: Send + 'static>(fut: impl Future<Output = T> + Send + 'static, limit: Duration) -> Option<T> {
    let (tx, rx) = flume::bounded(1);
    std::thread::spawn(move || {
        let _ = tx.send(futures::executor::block_on(fut));
    });
    rx.recv_timeout(limit).ok()
}

/// A peer connection whose events are split: candidates on one queue, the rest on another.
pub struct Peer {
    pub pc: Arc<PeerConnection>,
    pub events: flume::Receiver<Event>,
    /// Every local candidate line seen so far.
    pub gathered: Arc<std::sync::Mutex<Vec<String>>>,
    candidates: flume::Receiver<IceCandidate>,
}

impl Peer {
    pub fn new() -> Self {
        Self::with(PeerConnection::with_settings(Default::default(), Settings::loopback()).expect("peer connection"))
    }

    pub fn with(pc: PeerConnection) -> Self {
        let (ev_tx, events) = flume::unbounded();
        let (cand_tx, candidates) = flume::unbounded();
        let all = pc.events();
        let gathered = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = gathered.clone();
        std::thread::spawn(move || {
            for ev in all.iter() {
                let sent = match ev {
                    Event::IceCandidate(Some(c)) => {
                        seen.lock().unwrap().push(c.candidate.clone());
                        cand_tx.send(c).is_ok()
                    }
                    other => ev_tx.send(other).is_ok(),
                };
                if !sent {
                    break;
                }
            }
        });
        Self { pc: Arc::new(pc), events, gathered, candidates }
    }

    /// Forwards this peer's candidates to `to` from now on (call once `to` has our description).
    pub fn trickle_to(&self, to: &Peer) {
        let cands = self.candidates.clone();
        let to = Arc::downgrade(&to.pc);
        std::thread::spawn(move || {
            for c in cands.iter() {
                let Some(pc) = to.upgrade() else { break };
                let fut = pc.add_ice_candidate(Some(c));
                drop(pc);
                match try_wait(fut, TIMEOUT) {
                    Some(Ok(())) => {}
                    Some(Err(e)) => eprintln!("trickle: {e}"),
                    None => eprintln!("trickle: add_ice_candidate timed out"),
                }
            }
        });
    }

    /// Waits for the first event that `pick` accepts; panics after `TIMEOUT`.
    pub fn expect<T>(&self, what: &str, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
        expect_event(&self.events, what, &mut pick)
    }

    pub fn wait_connected(&self) {
        self.expect("connected", |e| matches!(e, Event::ConnectionStateChange(PeerConnectionState::Connected)).then_some(()));
    }

    pub fn next_data_channel(&self) -> DataChannel {
        self.expect("datachannel", |e| match e {
            Event::DataChannel(dc) => Some(dc.clone()),
            _ => None,
        })
    }
}

pub fn expect_event<E: std::fmt::Debug, T>(rx: &flume::Receiver<E>, what: &str, pick: &mut impl FnMut(&E) -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(ev) => {
                if let Some(v) = pick(&ev) {
                    return v;
                }
            }
            Err(e) => panic!("no {what} event within {TIMEOUT:?}: {e:?}"),
        }
    }
}

/// Offer from `a`, answer from `b`, trickle both ways.
pub fn negotiate(a: &Peer, b: &Peer) {
    let offer = wait(a.pc.create_offer(OfferOptions::default())).expect("create offer");
    wait(a.pc.set_local_description(Some(offer.clone()))).expect("set local offer");
    wait(b.pc.set_remote_description(offer)).expect("set remote offer");
    a.trickle_to(b);
    let answer = wait(b.pc.create_answer()).expect("create answer");
    wait(b.pc.set_local_description(Some(answer.clone()))).expect("set local answer");
    wait(a.pc.set_remote_description(answer)).expect("set remote answer");
    b.trickle_to(a);
}

/// The channel's next message, skipping other events.
pub fn next_message(dc: &DataChannel) -> wkrtc::Message {
    expect_event(&dc.events(), "message", &mut |e| match e {
        DataChannelEvent::Message(m) => Some(m.clone()),
        _ => None,
    })
}

/// Waits for the channel's `open`.
pub fn wait_open(dc: &DataChannel) {
    expect_event(&dc.events(), "open", &mut |e| (*e == DataChannelEvent::Open).then_some(()));
}

/// Two connected peers with an open channel created by `a` with `init`.
pub fn connected_pair(init: wkrtc::DataChannelInit) -> (Peer, Peer, DataChannel, DataChannel) {
    let (a, b) = (Peer::new(), Peer::new());
    let dc_a = a.pc.create_data_channel("test", init).expect("create data channel");
    negotiate(&a, &b);
    let dc_b = b.next_data_channel();
    wait_open(&dc_a);
    if dc_b.ready_state() != wkrtc::DataChannelState::Open {
        wait_open(&dc_b);
    }
    (a, b, dc_a, dc_b)
}

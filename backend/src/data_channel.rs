// SPDX-License-Identifier: MPL-2.0
//! `RTCDataChannel` (<https://w3c.github.io/webrtc-pc/#rtcdatachannel>) on webrtcbin's
//! SCTP data channels.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gst::prelude::*;
use gst_webrtc::{WebRTCDataChannel, WebRTCDataChannelState};

use crate::engine::CAT;
use crate::jsep::DEFAULT_MAX_MESSAGE_SIZE;
use crate::{Error, Result};

/// `RTCDataChannelInit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataChannelInit {
    /// Deliver messages in order.
    pub ordered: bool,
    /// Give up retransmitting a message after this many milliseconds.
    pub max_packet_life_time: Option<u16>,
    /// Give up after this many retransmissions.
    pub max_retransmits: Option<u16>,
    /// Sub-protocol name.
    pub protocol: String,
    /// Both sides create the channel themselves with the same `id` (no in-band DCEP).
    pub negotiated: bool,
    /// The SCTP stream id; required with `negotiated`.
    pub id: Option<u16>,
}

impl Default for DataChannelInit {
    fn default() -> Self {
        Self { ordered: true, max_packet_life_time: None, max_retransmits: None, protocol: String::new(), negotiated: false, id: None }
    }
}

impl DataChannelInit {
    /// The W3C `createDataChannel` argument checks (steps 3-13): `TypeError` for a label or
    /// protocol over 65535 bytes, both reliability limits at once, `negotiated` without an
    /// id, or id 65535.
    pub fn validate(&self, label: &str) -> Result<()> {
        crate::error::check_no_nul(label, "the data channel label")?;
        crate::error::check_no_nul(&self.protocol, "the data channel protocol")?;
        if label.len() > 65535 {
            return Err(Error::Type("data channel label is longer than 65535 bytes".into()));
        }
        if self.protocol.len() > 65535 {
            return Err(Error::Type("data channel protocol is longer than 65535 bytes".into()));
        }
        if self.max_packet_life_time.is_some() && self.max_retransmits.is_some() {
            return Err(Error::Type("maxPacketLifeTime and maxRetransmits cannot both be set".into()));
        }
        if self.negotiated && self.id.is_none() {
            return Err(Error::Type("a negotiated data channel needs an id".into()));
        }
        if self.id == Some(65535) {
            return Err(Error::Type("data channel id 65535 is reserved".into()));
        }
        Ok(())
    }

    pub(crate) fn to_structure(&self) -> gst::Structure {
        let mut s = gst::Structure::builder("application/data-channel")
            .field("ordered", self.ordered)
            .field("protocol", &self.protocol)
            .field("negotiated", self.negotiated)
            .build();
        if let Some(v) = self.max_packet_life_time {
            s.set("max-packet-lifetime", i32::from(v));
        }
        if let Some(v) = self.max_retransmits {
            s.set("max-retransmits", i32::from(v));
        }
        if let Some(v) = self.id {
            s.set("id", i32::from(v));
        }
        s
    }
}

/// `RTCDataChannelState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataChannelState {
    /// Not open yet.
    Connecting,
    /// Messages can be sent.
    Open,
    /// Closing procedure under way.
    Closing,
    /// Closed.
    Closed,
}

impl DataChannelState {
    fn from_gst(s: WebRTCDataChannelState) -> Self {
        match s {
            WebRTCDataChannelState::Open => DataChannelState::Open,
            WebRTCDataChannelState::Closing => DataChannelState::Closing,
            WebRTCDataChannelState::Closed => DataChannelState::Closed,
            _ => DataChannelState::Connecting,
        }
    }
}

/// A received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A string (PPID 51).
    Text(String),
    /// Binary data (PPID 53).
    Binary(Vec<u8>),
}

/// What a data channel reports, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DataChannelEvent {
    /// `open`.
    Open,
    /// `message`.
    Message(Message),
    /// `bufferedamountlow`.
    BufferedAmountLow,
    /// `closing`.
    Closing,
    /// `close`.
    Close,
    /// `error` (an `RTCError`); the channel closes after it.
    Error(Error),
}

struct Shared {
    /// webrtcbin's channel and the handlers connected to it. Replaced when a rollback
    /// rebuilds the session before the first negotiation.
    bound: Mutex<Bound>,
    events: flume::Sender<DataChannelEvent>,
    receiver: flume::Receiver<DataChannelEvent>,
    opened: AtomicBool,
    closing: AtomicBool,
    closed: AtomicBool,
    /// Set when the connection ended under the channel.
    ended: AtomicBool,
    /// Set when the peer sent more than wkrtc's `a=max-message-size`: nothing more is
    /// delivered, and the channel closes.
    oversized: AtomicBool,
    /// The peer's `a=max-message-size`, shared with the peer connection.
    max_message_size: Arc<AtomicU64>,
    /// Messages sent while wkrtc knows the channel is open but webrtcbin does not yet.
    held: Mutex<Vec<Outgoing>>,
    /// For getStats: messages and payload bytes sent and received.
    counters: [AtomicU64; 4],
}

/// A message on its way out.
enum Outgoing {
    Text(String),
    Binary(glib::Bytes),
}

impl Outgoing {
    fn len(&self) -> usize {
        match self {
            Outgoing::Text(t) => t.len(),
            Outgoing::Binary(b) => b.len(),
        }
    }

    fn send(&self, ch: &WebRTCDataChannel) -> Result<()> {
        match self {
            Outgoing::Text(t) => ch.send_string_full(Some(t)),
            Outgoing::Binary(b) => ch.send_data_full(Some(b)),
        }
        .map_err(|e| Error::Operation(format!("send failed: {}", e.message())))
    }
}

struct Bound {
    channel: WebRTCDataChannel,
    handlers: Vec<glib::SignalHandlerId>,
}

/// `RTCDataChannel`. Clones are handles to the same channel.
#[derive(Clone)]
pub struct DataChannel {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for DataChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataChannel").field("label", &self.label()).field("id", &self.id()).field("state", &self.ready_state()).finish()
    }
}

fn connect(shared: &Arc<Shared>, ch: &WebRTCDataChannel) -> Vec<glib::SignalHandlerId> {
    let mut ids = Vec::with_capacity(5);
    let weak = Arc::downgrade(shared);
    ids.push(ch.connect_notify(Some("ready-state"), move |ch, _| {
        if let Some(s) = weak.upgrade() {
            let state = DataChannelState::from_gst(ch.ready_state());
            if state == DataChannelState::Open {
                s.flush_held(ch);
            }
            s.state_changed(state);
        }
    }));
    let weak = Arc::downgrade(shared);
    ids.push(ch.connect_on_message_string(move |_, text| {
        if let Some(s) = weak.upgrade() {
            s.received(Message::Text(text.unwrap_or_default().to_owned()));
        }
    }));
    let weak = Arc::downgrade(shared);
    ids.push(ch.connect_on_message_data(move |_, data| {
        if let Some(s) = weak.upgrade() {
            s.received(Message::Binary(data.map(|b| b.to_vec()).unwrap_or_default()));
        }
    }));
    let tx = shared.events.clone();
    ids.push(ch.connect_on_buffered_amount_low(move |_| {
        let _ = tx.send(DataChannelEvent::BufferedAmountLow);
    }));
    let tx = shared.events.clone();
    ids.push(ch.connect_on_error(move |_, err| {
        gst::warning!(CAT, "data channel error: {}", err);
        let _ = tx.send(DataChannelEvent::Error(Error::Operation(err.message().to_owned())));
    }));
    ids
}

impl DataChannel {
    pub(crate) fn wrap(channel: WebRTCDataChannel, max_message_size: Arc<AtomicU64>) -> Self {
        let (events, receiver) = flume::unbounded();
        let shared = Arc::new(Shared {
            bound: Mutex::new(Bound { channel: channel.clone(), handlers: Vec::new() }),
            events,
            receiver,
            opened: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            ended: AtomicBool::new(false),
            oversized: AtomicBool::new(false),
            max_message_size,
            held: Mutex::new(Vec::new()),
            counters: Default::default(),
        });
        let dc = Self { shared };
        dc.bind(channel);
        dc
    }

    /// Moves this handle onto another webrtcbin channel (after a session rebuild).
    pub(crate) fn bind(&self, channel: WebRTCDataChannel) {
        let handlers = connect(&self.shared, &channel);
        let old = {
            let mut bound = self.shared.lock();
            std::mem::replace(&mut *bound, Bound { channel: channel.clone(), handlers })
        };
        if old.channel != channel {
            for id in old.handlers {
                old.channel.disconnect(id);
            }
        }
        // The channel may have opened before the handlers above were connected.
        self.shared.state_changed(DataChannelState::from_gst(channel.ready_state()));
    }

    fn channel(&self) -> WebRTCDataChannel {
        self.shared.lock().channel.clone()
    }

    /// The events of this channel, in order. Every clone of the receiver shares one queue.
    pub fn events(&self) -> flume::Receiver<DataChannelEvent> {
        self.shared.receiver.clone()
    }

    /// `label`.
    pub fn label(&self) -> String {
        self.channel().label().map(|s| s.to_string()).unwrap_or_default()
    }
    /// `protocol`.
    pub fn protocol(&self) -> String {
        self.channel().protocol().map(|s| s.to_string()).unwrap_or_default()
    }
    /// `ordered`.
    pub fn ordered(&self) -> bool {
        self.channel().is_ordered()
    }
    /// `negotiated`.
    pub fn negotiated(&self) -> bool {
        self.channel().is_negotiated()
    }
    /// `maxPacketLifeTime`.
    pub fn max_packet_life_time(&self) -> Option<u16> {
        u16::try_from(self.channel().max_packet_lifetime()).ok()
    }
    /// `maxRetransmits`.
    pub fn max_retransmits(&self) -> Option<u16> {
        u16::try_from(self.channel().max_retransmits()).ok()
    }
    /// `id`, once the SCTP stream is assigned.
    pub fn id(&self) -> Option<u16> {
        u16::try_from(self.channel().id()).ok()
    }
    /// `readyState`.
    pub fn ready_state(&self) -> DataChannelState {
        if self.shared.ended.load(Ordering::Acquire) {
            return DataChannelState::Closed;
        }
        match DataChannelState::from_gst(self.channel().ready_state()) {
            // The peer's first message proves the channel open before webrtcbin says so.
            DataChannelState::Connecting if self.shared.opened.load(Ordering::Acquire) => DataChannelState::Open,
            state => state,
        }
    }
    /// `bufferedAmount`: bytes queued by `send` and not yet handed to SCTP.
    pub fn buffered_amount(&self) -> u64 {
        let held: usize = self.shared.held_lock().iter().map(Outgoing::len).sum();
        self.channel().buffered_amount() + held as u64
    }
    /// `bufferedAmountLowThreshold`.
    pub fn buffered_amount_low_threshold(&self) -> u64 {
        self.channel().buffered_amount_low_threshold()
    }
    /// Sets `bufferedAmountLowThreshold`.
    pub fn set_buffered_amount_low_threshold(&self, threshold: u64) {
        self.channel().set_buffered_amount_low_threshold(threshold);
    }

    fn check_send(&self, len: usize) -> Result<()> {
        if self.ready_state() != DataChannelState::Open {
            return Err(Error::InvalidState(format!("data channel '{}' is not open", self.label())));
        }
        let max = self.shared.max_message_size.load(Ordering::Relaxed);
        if max != 0 && len as u64 > max {
            return Err(Error::Type(format!("a {len}-byte message exceeds the peer's max-message-size of {max}")));
        }
        Ok(())
    }

    /// `send(string)`.
    pub fn send_text(&self, text: &str) -> Result<()> {
        self.check_send(text.len())?;
        self.transmit(Outgoing::Text(text.to_owned()))?;
        self.count_sent(text.len());
        Ok(())
    }

    /// `send(ArrayBuffer)`.
    pub fn send_binary(&self, data: &[u8]) -> Result<()> {
        self.check_send(data.len())?;
        self.transmit(Outgoing::Binary(glib::Bytes::from(data)))?;
        self.count_sent(data.len());
        Ok(())
    }

    fn count_sent(&self, len: usize) {
        self.shared.counters[0].fetch_add(1, Ordering::Relaxed);
        self.shared.counters[1].fetch_add(len as u64, Ordering::Relaxed);
    }

    /// For getStats: (messages sent, bytes sent, messages received, bytes received), payload
    /// bytes as the W3C counts them.
    pub fn counters(&self) -> (u64, u64, u64, u64) {
        let c = &self.shared.counters;
        (c[0].load(Ordering::Relaxed), c[1].load(Ordering::Relaxed), c[2].load(Ordering::Relaxed), c[3].load(Ordering::Relaxed))
    }

    /// Sends now, or holds the message while webrtcbin has not caught up with an open that
    /// wkrtc already saw (see [`Shared::received`]); held messages go first, in order.
    fn transmit(&self, out: Outgoing) -> Result<()> {
        let ch = self.channel();
        let mut held = self.shared.held_lock();
        match ch.ready_state() {
            WebRTCDataChannelState::Open if held.is_empty() => out.send(&ch),
            WebRTCDataChannelState::Connecting | WebRTCDataChannelState::Open => {
                held.push(out);
                Ok(())
            }
            _ => Err(Error::InvalidState(format!("data channel '{}' is not open", self.label()))),
        }
    }

    /// Marks the channel closed because its connection ended. `announce` fires `close`
    /// (the transport failed under it); without it nothing fires (the connection's own
    /// `close()`, which the W3C makes silent).
    pub(crate) fn mark_closed(&self, announce: bool) {
        self.shared.ended.store(true, Ordering::Release);
        if announce {
            self.shared.state_changed(DataChannelState::Closed);
        } else {
            self.shared.closed.store(true, Ordering::Release);
        }
    }

    /// `close()`: starts the closing procedure; `closing` then `close` follow.
    pub fn close(&self) {
        if matches!(self.ready_state(), DataChannelState::Closing | DataChannelState::Closed) {
            return;
        }
        self.channel().close();
    }
}

impl Shared {
    fn held_lock(&self) -> std::sync::MutexGuard<'_, Vec<Outgoing>> {
        // Only pushes and drains happen under this lock; a poisoned queue is still a queue.
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A message from the peer. webrtcbin delivers the first messages of a channel it opened
    /// before it marks the channel open (the open runs on its task thread, messages on the
    /// streaming thread); the peer only sends once it has the channel open, so wkrtc reports
    /// `open` first, as the W3C orders them.
    ///
    /// A message larger than wkrtc's `a=max-message-size` means the peer ignored it, and
    /// webrtcbin 1.22 hands such a message over in pieces (see [`DEFAULT_MAX_MESSAGE_SIZE`]):
    /// the first piece is already past the limit, so no piece is ever delivered as if it were
    /// a message. The channel reports an `error` and closes; what arrives after is dropped.
    fn received(&self, message: Message) {
        self.state_changed(DataChannelState::Open);
        let len = match &message {
            Message::Text(t) => t.len(),
            Message::Binary(b) => b.len(),
        };
        if self.oversized.load(Ordering::Acquire) {
            gst::debug!(CAT, "dropping {} bytes received after an oversized message", len);
            return;
        }
        if len as u64 > DEFAULT_MAX_MESSAGE_SIZE {
            self.oversized.store(true, Ordering::Release);
            let why = format!(
                "the peer sent a message of more than {DEFAULT_MAX_MESSAGE_SIZE} bytes, wkrtc's a=max-message-size (at least {len} bytes): it cannot be received whole, so the channel is closed"
            );
            gst::warning!(CAT, "{}", why);
            let _ = self.events.send(DataChannelEvent::Error(Error::Operation(why)));
            // Not from inside webrtcbin's message signal: its close procedure takes locks
            // the streaming thread may hold.
            let channel = self.lock().channel.clone();
            std::thread::spawn(move || channel.close());
            return;
        }
        self.counters[2].fetch_add(1, Ordering::Relaxed);
        self.counters[3].fetch_add(len as u64, Ordering::Relaxed);
        let _ = self.events.send(DataChannelEvent::Message(message));
    }

    /// Sends what was held for webrtcbin's open.
    fn flush_held(&self, ch: &WebRTCDataChannel) {
        let mut held = self.held_lock();
        for out in held.drain(..) {
            if let Err(e) = out.send(ch) {
                let _ = self.events.send(DataChannelEvent::Error(e));
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Bound> {
        // Only swaps happen under this lock; a poisoned one still holds a valid channel.
        self.bound.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Turns state changes into events, once each, in W3C order.
    fn state_changed(&self, state: DataChannelState) {
        match state {
            DataChannelState::Connecting => {}
            DataChannelState::Open => {
                if !self.opened.swap(true, Ordering::AcqRel) {
                    let _ = self.events.send(DataChannelEvent::Open);
                }
            }
            DataChannelState::Closing => {
                if !self.closing.swap(true, Ordering::AcqRel) {
                    let _ = self.events.send(DataChannelEvent::Closing);
                }
            }
            DataChannelState::Closed => {
                if !self.closed.swap(true, Ordering::AcqRel) {
                    let _ = self.events.send(DataChannelEvent::Close);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_checks() {
        let ok = DataChannelInit::default();
        ok.validate("chat").unwrap();
        let cases = [
            (DataChannelInit { max_packet_life_time: Some(1), max_retransmits: Some(1), ..ok.clone() }, "x".to_owned()),
            (DataChannelInit { negotiated: true, ..ok.clone() }, "x".to_owned()),
            (DataChannelInit { id: Some(65535), ..ok.clone() }, "x".to_owned()),
            (DataChannelInit { protocol: "p".repeat(65536), ..ok.clone() }, "x".to_owned()),
            (ok.clone(), "l".repeat(65536)),
        ];
        for (init, label) in cases {
            assert_eq!(init.validate(&label).unwrap_err().name(), "TypeError");
        }
        DataChannelInit { negotiated: true, id: Some(7), ..ok.clone() }.validate("x").unwrap();
        // GStreamer's strings cannot carry a NUL: refused, not truncated (nor a panic).
        assert_eq!(ok.validate("a\0b").unwrap_err().name(), "NotSupportedError");
        assert_eq!(DataChannelInit { protocol: "\0".into(), ..ok }.validate("x").unwrap_err().name(), "NotSupportedError");
    }
}

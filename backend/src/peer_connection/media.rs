// SPDX-License-Identifier: MPL-2.0
//! The media half of `RTCPeerConnection`: `addTrack`, `removeTrack`, `addTransceiver`,
//! binding wkrtc's transceivers to webrtcbin's, the `track` event, and building the send
//! and receive chains once a negotiation completes.
//!
//! webrtcbin 1.22 creates the transceivers of a remote offer only when it writes the answer
//! and sets mids, m-line indexes and current directions only when a negotiation completes;
//! wkrtc associates remote sections with its transceivers itself, when the remote
//! description is set, as the W3C does.

use std::sync::Arc;

use gst::prelude::*;

use super::{Event, Inner, PeerConnection, State};
use crate::engine::media::{discard, link_receive_chain, SendChain, SendSpec};
use crate::engine::session::Session;
use crate::engine::CAT;
use crate::jsep::{FormatLines, MediaSection, ParsedDescription, RtpTransceiverDirection, SdpType, TRANSPORT_CC};
use crate::media::codec::{CodecSpec, MediaKind};
use crate::media::rtp::{negotiable_codecs, preference_caps, to_gst, RtpEncodingParameters, RtpSender, RtpTransceiver};
use crate::media::{dtmf, MediaStreamTrack};
use crate::{Error, Result};

/// What `addTransceiver` is given: a track, or a kind.
#[derive(Debug, Clone)]
pub enum TrackOrKind {
    /// Send this track.
    Track(MediaStreamTrack),
    /// A transceiver of this kind without a track.
    Kind(MediaKind),
}

/// `RTCRtpTransceiverInit`.
#[derive(Debug, Clone)]
pub struct TransceiverInit {
    /// `direction` (default sendrecv).
    pub direction: RtpTransceiverDirection,
    /// `streams`: the stream ids the track is announced in.
    pub streams: Vec<String>,
    /// `sendEncodings`: at most one (wkrtc does not send simulcast).
    pub send_encodings: Vec<RtpEncodingParameters>,
}

impl Default for TransceiverInit {
    fn default() -> Self {
        Self { direction: RtpTransceiverDirection::SendRecv, streams: Vec::new(), send_encodings: Vec::new() }
    }
}

impl PeerConnection {
    /// `addTrack`: sends `track`, announced in `streams`. Reuses a transceiver of the same
    /// kind that has never sent (one the remote offered), or adds one; `negotiationneeded`
    /// follows.
    ///
    /// Errors: `InvalidStateError` when closed, `InvalidAccessError` if the track is already
    /// sent by this connection.
    pub fn add_track(&self, track: &MediaStreamTrack, streams: &[String]) -> Result<RtpSender> {
        let session = self.inner.live_session()?;
        check_stream_ids(streams)?;
        let reuse = {
            let st = self.inner.lock();
            if st.transceivers.iter().any(|t| t.inner.sender.track().as_ref() == Some(track)) {
                return Err(Error::InvalidAccess(format!("track {} already has a sender on this connection", track.id())));
            }
            st.transceivers
                .iter()
                .find(|t| {
                    let ts = t.state();
                    t.kind() == track.kind() && !ts.stopped && t.inner.sender.track().is_none() && !ts.ever_sent && ts.gst.is_some()
                })
                .cloned()
        };
        let transceiver = match reuse {
            Some(t) => {
                *t.inner.sender.inner.streams.lock().unwrap_or_else(|e| e.into_inner()) = streams.to_vec();
                t.inner.sender.set_track(Some(track.clone()));
                let direction = RtpTransceiverDirection::from_flags(true, t.direction().receives());
                t.set_direction(direction)?;
                t
            }
            None => {
                let t = self.inner.new_transceiver(&session, track.kind(), RtpTransceiverDirection::SendRecv, Some(track.clone()), streams.to_vec())?;
                t.state().added_by_track = true;
                t
            }
        };
        self.inner.check_negotiation();
        Ok(transceiver.sender())
    }

    /// `removeTrack`: stops sending the sender's track; the transceiver stays, receiving
    /// only. `negotiationneeded` follows.
    ///
    /// Errors: `InvalidStateError` when closed, `InvalidAccessError` for a sender of another
    /// connection.
    pub fn remove_track(&self, sender: &RtpSender) -> Result<()> {
        self.inner.live_session()?;
        let transceiver = {
            let st = self.inner.lock();
            st.transceivers.iter().find(|t| Arc::ptr_eq(&t.inner.sender.inner, &sender.inner)).cloned()
        };
        let t = transceiver.ok_or_else(|| Error::InvalidAccess("the sender does not belong to this connection".into()))?;
        if t.stopped() || sender.track().is_none() {
            return Ok(());
        }
        sender.set_track(None);
        let direction = t.direction();
        t.set_direction(RtpTransceiverDirection::from_flags(false, direction.receives()))?;
        self.inner.check_negotiation();
        Ok(())
    }

    /// `addTransceiver`.
    ///
    /// Errors: `InvalidStateError` when closed; `TypeError` for direction `stopped`;
    /// `NotSupportedError` for more than one send encoding; `RangeError` for encoding
    /// values out of range.
    pub fn add_transceiver(&self, what: TrackOrKind, init: TransceiverInit) -> Result<RtpTransceiver> {
        let session = self.inner.live_session()?;
        if init.direction == RtpTransceiverDirection::Stopped {
            return Err(Error::Type("a transceiver cannot be added stopped".into()));
        }
        if init.send_encodings.len() > 1 {
            return Err(Error::NotSupported("wkrtc sends one encoding (no simulcast)".into()));
        }
        check_stream_ids(&init.streams)?;
        let (kind, track) = match what {
            TrackOrKind::Track(t) => (t.kind(), Some(t)),
            TrackOrKind::Kind(k) => (k, None),
        };
        let t = self.inner.new_transceiver(&session, kind, init.direction, track, init.streams)?;
        if let Some(enc) = init.send_encodings.into_iter().next() {
            let mut params = t.sender().parameters();
            params.encodings = vec![enc];
            if let Err(e) = futures::executor::block_on(t.sender().set_parameters(params)) {
                self.inner.lock().transceivers.retain(|x| x != &t);
                t.stop();
                return Err(e);
            }
        }
        self.inner.check_negotiation();
        Ok(t)
    }

    /// `getTransceivers`.
    pub fn transceivers(&self) -> Vec<RtpTransceiver> {
        self.inner.lock().transceivers.clone()
    }

    /// `getSenders`.
    pub fn senders(&self) -> Vec<RtpSender> {
        self.transceivers().iter().filter(|t| !t.stopped()).map(RtpTransceiver::sender).collect()
    }

    /// `getReceivers`.
    pub fn receivers(&self) -> Vec<crate::RtpReceiver> {
        self.transceivers().iter().filter(|t| !t.stopped()).map(RtpTransceiver::receiver).collect()
    }
}

impl Inner {
    /// A transceiver made by this side, bound to a new webrtcbin transceiver.
    fn new_transceiver(
        self: &Arc<Self>,
        session: &Session,
        kind: MediaKind,
        direction: RtpTransceiverDirection,
        track: Option<MediaStreamTrack>,
        streams: Vec<String>,
    ) -> Result<RtpTransceiver> {
        let t = RtpTransceiver::new(kind, direction, track, streams);
        self.bind(session, &t, true)?;
        self.lock().transceivers.push(t.clone());
        Ok(t)
    }

    /// Creates `t`'s webrtcbin transceiver, with codec preferences for an offer or an answer.
    fn bind(self: &Arc<Self>, session: &Session, t: &RtpTransceiver, for_offer: bool) -> Result<()> {
        let caps = codec_caps(t, for_offer, None);
        if caps.is_empty() {
            return Err(Error::NotSupported(format!("GStreamer has no {} codec wkrtc can use (install gstreamer1.0-plugins-good)", t.kind())));
        }
        let gst_trans = session.add_transceiver(to_gst(t.direction()), &caps)?;
        if t.kind() == MediaKind::Video {
            gst_trans.set_property("do-nack", true);
        }
        t.state().gst = Some(gst_trans);
        let weak = Arc::downgrade(self);
        *t.inner.on_change.lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(move || {
            if let Some(inner) = weak.upgrade() {
                inner.check_negotiation();
            }
        }));
        Ok(())
    }

    /// Before webrtcbin writes an offer (`for_offer`) or an answer: each transceiver's codec
    /// preferences. Offers carry payload types (the ones already negotiated, else wkrtc's);
    /// answers none, so webrtcbin keeps the offerer's.
    pub(super) fn prepare_codecs(&self, for_offer: bool) {
        let (transceivers, remote, offer) = {
            let st = self.lock();
            (st.transceivers.clone(), sections(st.jsep.current_remote_description()), sections(st.jsep.pending_remote_description()))
        };
        for t in transceivers {
            let mid = t.mid();
            let negotiated = mid.as_ref().and_then(|m| remote.iter().find(|s| s.mid.as_deref() == Some(m.as_str()))).filter(|s| !s.rejected);
            let mut caps = codec_caps(&t, for_offer, negotiated);
            if !for_offer {
                // Answer the peer's transport-wide congestion control extension, with its
                // id: webrtcbin's RTP session then sends the feedback the peer's bandwidth
                // estimator needs (browsers otherwise keep their start-up estimate).
                let offered = mid.as_ref().and_then(|m| offer.iter().find(|s| s.mid.as_deref() == Some(m.as_str())));
                if let Some((id, uri)) = offered.and_then(|s| s.extmaps.iter().find(|(_, u)| u == TRANSPORT_CC)) {
                    let caps = caps.make_mut();
                    for s in caps.iter_mut() {
                        s.set(format!("extmap-{id}").as_str(), uri.as_str());
                    }
                }
            }
            gst::debug!(CAT, "codec preferences of {:?} (negotiated: {}): {}", t, negotiated.is_some(), caps);
            let st = t.state();
            if let Some(g) = &st.gst {
                g.set_property("codec-preferences", &caps);
                g.set_property("direction", to_gst(if st.stopped { RtpTransceiverDirection::Inactive } else { st.direction }));
            }
        }
    }

    /// The mids webrtcbin assigned (set when a negotiation completes). Where webrtcbin
    /// paired a section with another transceiver than wkrtc did, webrtcbin's pairing holds.
    pub(super) fn refresh_mids(&self) {
        let transceivers = self.lock().transceivers.clone();
        let mut assigned = Vec::new();
        for t in &transceivers {
            let mut st = t.state();
            let Some(g) = st.gst.clone() else { continue };
            if let Some(mid) = g.property::<Option<String>>("mid") {
                assigned.push(mid.clone());
                st.mid = Some(mid);
            }
            let mline = g.property::<u32>("mlineindex");
            if mline != u32::MAX {
                st.mline = Some(mline);
            }
        }
        for t in &transceivers {
            let mut st = t.state();
            let own = st.gst.as_ref().and_then(|g| g.property::<Option<String>>("mid"));
            if own.is_none() && st.mid.as_ref().is_some_and(|m| assigned.contains(m)) {
                st.mid = None;
            }
        }
    }

    /// A local offer was applied: each section's transceiver gets its mid now (W3C), found by
    /// the sender's SSRC wkrtc put in the section, else by kind in creation order. webrtcbin
    /// 1.22 assigns mids only once a negotiation completes, and never to a section the
    /// answer rejects.
    pub(super) fn associate_local_offer(&self, offer: &ParsedDescription) {
        let transceivers = self.lock().transceivers.clone();
        let text = offer.to_text();
        let bodies: Vec<&str> = text.split("\r\nm=").skip(1).collect();
        let mut taken: Vec<String> = transceivers.iter().filter_map(RtpTransceiver::mid).collect();
        for section in offer.media_sections() {
            let (Some(kind), Some(mid)) = (section.kind(), section.mid.clone()) else { continue };
            if taken.contains(&mid) {
                continue;
            }
            let body = bodies.get(section.index).copied().unwrap_or_default();
            let unassigned = |t: &&RtpTransceiver| t.kind() == kind && t.mid().is_none();
            let by_ssrc = transceivers.iter().filter(unassigned).find(|t| body.contains(&format!("a=ssrc:{} ", t.sender().ssrc())));
            let Some(t) = by_ssrc.or_else(|| transceivers.iter().filter(unassigned).find(|t| !t.direction().sends())) else { continue };
            let mut st = t.state();
            st.mid = Some(mid.clone());
            st.mline.get_or_insert(section.index as u32);
            taken.push(mid);
        }
    }

    /// A remote offer was applied: each of its audio and video sections gets a transceiver,
    /// the one already holding its mid, else an unused one of the same kind made by
    /// `addTrack`, else a new receive-only one (W3C `setRemoteDescription`, step 4.6).
    pub(super) fn associate_remote_offer(self: &Arc<Self>, session: &Session, parsed: &ParsedDescription) -> Result<()> {
        for section in parsed.media_sections() {
            let (Some(kind), Some(mid)) = (section.kind(), section.mid.clone()) else { continue };
            if section.rejected {
                continue;
            }
            let existing = {
                let st = self.lock();
                st.transceivers.iter().find(|t| t.mid().as_deref() == Some(mid.as_str())).cloned().or_else(|| {
                    st.transceivers
                        .iter()
                        .find(|t| {
                            let ts = t.state();
                            t.kind() == kind && ts.mid.is_none() && !ts.stopped && ts.added_by_track
                        })
                        .cloned()
                })
            };
            match existing {
                Some(t) => t.state().mid = Some(mid),
                None => {
                    let t = RtpTransceiver::new(kind, RtpTransceiverDirection::RecvOnly, None, Vec::new());
                    t.state().from_remote = true;
                    self.bind(session, &t, false)?;
                    t.state().mid = Some(mid);
                    self.lock().transceivers.push(t);
                }
            }
        }
        Ok(())
    }

    /// After a remote description: `track` for every section the peer now sends on, mute
    /// for those it stopped sending on (W3C "process remote tracks").
    pub(super) fn process_remote_tracks(&self, parsed: &ParsedDescription) {
        let transceivers = self.lock().transceivers.clone();
        for section in parsed.media_sections() {
            let Some(mid) = &section.mid else { continue };
            let Some(t) = transceivers.iter().find(|t| t.mid().as_deref() == Some(mid.as_str())) else { continue };
            let sends = section.direction.sends() && !section.rejected;
            let fire = {
                let mut st = t.state();
                let was = std::mem::replace(&mut st.remote_sending, sends);
                sends && !was
            };
            if sends {
                // W3C "set the associated remote streams": every description, not only the
                // one that starts the track (the peer's setStreams).
                *t.receiver().inner.streams.lock().unwrap_or_else(|e| e.into_inner()) = section.stream_ids.clone();
            }
            if fire {
                self.emit(Event::Track { transceiver: t.clone(), track: t.receiver().track(), streams: section.stream_ids.clone() });
            } else if !sends {
                t.receiver().track().set_muted(true);
            }
        }
    }

    /// A negotiation completed: current directions, and the send chains of the
    /// transceivers that now send, with the codec the peer listed first.
    pub(super) fn sync_media(&self) {
        let (session, transceivers, local, remote) = {
            let st = self.lock();
            let typed = |d: Option<&crate::SessionDescription>| d.map(|d| (d.sdp_type, sections(Some(d))));
            (st.session.clone(), st.transceivers.clone(), typed(st.jsep.current_local_description()), typed(st.jsep.current_remote_description()))
        };
        let (Some(session), Some((local_type, local)), Some((_, remote))) = (session, local, remote) else { return };
        // The telephone-event payload types this side receives, as either description names them.
        let events = local.iter().chain(&remote).filter(|s| s.kind() == Some(MediaKind::Audio) && !s.rejected).flat_map(MediaSection::telephone_events);
        self.telephone.set_formats(events.map(|f| (f.payload_type, f.clock_rate)));
        for t in transceivers {
            let (mline, stopped) = {
                let st = t.state();
                (st.mline, st.stopped)
            };
            let Some(mline) = mline else { continue };
            let (Some(l), Some(r)) = (local.get(mline as usize), remote.get(mline as usize)) else { continue };
            if (l.rejected || r.rejected) && !stopped {
                // W3C: a rejected m-line stops its transceiver; the m-line stays in the
                // BUNDLE group's descriptions as rejected, the other sections carry on.
                gst::info!(CAT, "m-line {} was rejected: its transceiver stops", mline);
                t.mark_stopped();
            }
            let current = if l.rejected || r.rejected {
                RtpTransceiverDirection::Inactive
            } else if local_type == SdpType::Answer {
                l.direction
            } else {
                r.direction.reversed()
            };
            {
                let mut st = t.state();
                st.current_direction = Some(current);
                st.ever_sent |= current.sends();
            }
            let sender = t.sender();
            let sending = current.sends() && !stopped;
            // Both sides send the first codec of the answer they can: the answerer lists them
            // in its preference order, with the offer's payload types.
            let answer = if local_type == SdpType::Answer { l } else { r };
            let gst_trans = t.state().gst.clone();
            if let Some(g) = gst_trans.filter(|_| sending && sender.inner.chain.lock().unwrap_or_else(|e| e.into_inner()).is_none()) {
                self.build_send_chain(&session, &sender, &g, mline, answer);
            }
            sender.set_sending(sending);
            if t.kind() == MediaKind::Audio {
                // RFC 4733: telephone events at the clock rate of the audio codec sent, else
                // at the one the peer has (Firefox: 8000 Hz beside 48 kHz Opus).
                let format =
                    answer.send_codec().and_then(|(codec, _)| answer.telephone_event(codec.clock_rate).or_else(|| answer.telephone_events().first().copied()));
                sender.inner.dtmf.output.set_format(format);
                sender.inner.dtmf.set_current_direction(if stopped { RtpTransceiverDirection::Inactive } else { current });
            }
        }
    }

    fn build_send_chain(&self, session: &Session, sender: &RtpSender, trans: &gst_webrtc::WebRTCRTPTransceiver, mline: u32, remote: &MediaSection) {
        let Some((codec, pt)) = remote.send_codec() else {
            gst::warning!(CAT, "m-line {}: no codec both sides support for sending", mline);
            return;
        };
        // webrtcbin checks the sink pad's caps against the codec preferences: narrow them to
        // the negotiated codec without format parameters, which the encoder fills in (an
        // H264 encoder's profile-level-id need not match the negotiated one byte for byte).
        // The next offer or answer sets them again (prepare_codecs).
        let narrowed = gst::Caps::builder("application/x-rtp")
            .field("media", codec.kind.as_str())
            .field("encoding-name", codec.encoding_name)
            .field("clock-rate", codec.clock_rate as i32)
            .field("payload", i32::from(pt))
            .build();
        trans.set_property("codec-preferences", &narrowed);
        let (pipeline, webrtcbin) = session.elements();
        let spec = SendSpec { mline, codec, payload_type: pt, ssrc: sender.ssrc() };
        let tones = (codec.kind == MediaKind::Audio).then(|| Arc::clone(&sender.inner.dtmf.output));
        match SendChain::build(pipeline, webrtcbin, trans, spec, sender.knobs(), tones) {
            Ok(chain) => *sender.inner.chain.lock().unwrap_or_else(|e| e.into_inner()) = Some(chain),
            Err(e) => gst::error!(CAT, "m-line {}: cannot send {}: {}", mline, codec.encoding_name, e),
        }
    }

    /// A DTMF tone arrived on the stream `ssrc`: reported for the receiver of that stream
    /// (else the only audio receiver).
    pub(super) fn tone_received(&self, ssrc: u32, tone: crate::ReceivedTone) {
        let transceiver = {
            let st = self.lock();
            let audio: Vec<&RtpTransceiver> = st.transceivers.iter().filter(|t| t.kind() == MediaKind::Audio).collect();
            let receiving: Vec<&&RtpTransceiver> = audio.iter().filter(|t| t.receiving()).collect();
            let by_ssrc = audio.iter().find(|t| t.inner.receiver.inner.remote_ssrc.load(std::sync::atomic::Ordering::Relaxed) == ssrc);
            by_ssrc
                .or(match receiving[..] {
                    [only] => Some(only),
                    _ => None,
                })
                .map(|t| (*t).clone())
        };
        match transceiver {
            Some(transceiver) => self.emit(Event::ToneReceived { transceiver, tone }),
            None => gst::warning!(CAT, "DTMF tone '{}' on SSRC {} matches no audio receiver", tone.tone, ssrc),
        }
    }

    /// webrtcbin added a pad for an incoming stream: decode it into its receiver's track.
    pub(super) fn on_incoming_stream(&self, session: &Session, pad: &gst::Pad) {
        let gst_trans = pad.property::<Option<gst_webrtc::WebRTCRTPTransceiver>>("transceiver");
        let receiver = gst_trans.and_then(|g| {
            let st = self.lock();
            st.transceivers.iter().find(|t| t.state().gst.as_ref() == Some(&g)).map(RtpTransceiver::receiver)
        });
        let (pipeline, _) = session.elements();
        let Some(receiver) = receiver else {
            gst::warning!(CAT, "incoming stream {} has no transceiver: discarded", pad.name());
            discard(pipeline, pad);
            return;
        };
        let mut chain = receiver.inner.chain.lock().unwrap_or_else(|e| e.into_inner());
        if chain.is_some() {
            gst::warning!(CAT, "a second stream for one receiver ({}): discarded", pad.name());
            discard(pipeline, pad);
            return;
        }
        let ssrc = pad.current_caps().and_then(|c| c.structure(0).and_then(|s| s.get::<u32>("ssrc").ok()));
        if let Some(ssrc) = ssrc {
            receiver.inner.remote_ssrc.store(ssrc, std::sync::atomic::Ordering::Relaxed);
        }
        let track = receiver.track();
        match link_receive_chain(pipeline, pad, move |sample| track.deliver(sample)) {
            Ok((bin, counters)) => {
                *chain = Some(bin);
                *receiver.inner.decoder.lock().unwrap_or_else(|e| e.into_inner()) = Some(counters);
            }
            Err(e) => {
                gst::warning!(CAT, "incoming stream {}: {}", pad.name(), e);
                discard(pipeline, pad);
            }
        }
    }

    /// wkrtc's answer from webrtcbin's, section by section, against the remote offer:
    /// - directions from each transceiver's direction and the offer's (webrtcbin answered the
    ///   copy of the offer wkrtc gave it, whose media sections are all sendrecv);
    /// - every codec of the offer the transceiver can use, in the order of its codec
    ///   preferences (else the offer's), each with its retransmission format and supported
    ///   feedback (webrtcbin 1.22 answers with one codec only).
    pub(super) fn rewrite_answer_media(&self, answer: &mut ParsedDescription) {
        let (offer, transceivers) = {
            let st = self.lock();
            (st.jsep.pending_remote_description().and_then(|d| ParsedDescription::parse(&d.sdp).ok()), st.transceivers.clone())
        };
        let Some(offer) = offer else { return };
        let offered = offer.media_sections();
        for section in answer.media_sections() {
            let (Some(kind), Some(mid), false) = (section.kind(), section.mid.as_deref(), section.rejected) else { continue };
            let Some(o) = offered.iter().find(|o| o.mid.as_deref() == Some(mid)) else { continue };
            let Some(t) = transceivers.iter().find(|t| t.mid().as_deref() == Some(mid)) else { continue };
            let dir = if t.stopped() { RtpTransceiverDirection::Inactive } else { t.direction().answer_to(o.direction) };
            if dir != section.direction {
                answer.set_direction(section.index, dir);
            }
            if let Some(formats) = answer_formats(kind, &section, o, &offer, t) {
                answer.replace_formats(section.index, &formats);
            }
        }
    }
    /// Writes `a=msid` for each section a local sender sends on (found by its SSRC, which
    /// wkrtc puts in webrtcbin's caps).
    pub(super) fn rewrite_msid(&self, parsed: &mut ParsedDescription) {
        let senders: Vec<RtpSender> = self.lock().transceivers.iter().map(RtpTransceiver::sender).collect();
        let text = parsed.to_text();
        let sections: Vec<String> = text.split("\r\nm=").map(str::to_owned).collect();
        for (i, body) in sections.iter().skip(1).enumerate() {
            let Some(sender) = senders.iter().find(|s| body.contains(&format!("a=ssrc:{} ", s.ssrc()))) else { continue };
            let Some(track) = sender.track() else { continue };
            parsed.set_msid(i, &sender.stream_ids(), track.id());
        }
    }

    /// The media part of the W3C "check if negotiation is needed".
    pub(super) fn media_needs_negotiation(st: &State) -> bool {
        if st.transceivers.is_empty() {
            return false;
        }
        let local_type = st.jsep.current_local_description().map(|d| d.sdp_type);
        let local = sections(st.jsep.current_local_description());
        let remote = sections(st.jsep.current_remote_description());
        st.transceivers.iter().any(|t| {
            let ts = t.state();
            let Some(mid) = ts.mid.as_deref() else { return !ts.stopped };
            let Some(l) = local.iter().find(|s| s.mid.as_deref() == Some(mid)) else { return !ts.stopped };
            if ts.stopped {
                let r_rejected = remote.iter().find(|s| s.mid.as_deref() == Some(mid)).is_some_and(|r| r.rejected);
                return !l.rejected && !r_rejected && l.direction != RtpTransceiverDirection::Inactive;
            }
            let expected = match (local_type, remote.iter().find(|s| s.mid.as_deref() == Some(mid))) {
                (Some(SdpType::Offer), _) => ts.direction,
                (_, Some(r)) => ts.direction.answer_to(r.direction),
                _ => ts.direction,
            };
            // W3C, "check if negotiation is needed": a sending section whose a=msid streams
            // are no longer the sender's (setStreams).
            let announced: Vec<&String> = l.stream_ids.iter().filter(|id| *id != "-").collect();
            let streams_changed = ts.direction.sends() && l.direction.sends() && announced != t.inner.sender.stream_ids().iter().collect::<Vec<_>>();
            !l.rejected && (l.direction != expected || streams_changed)
        })
    }

    /// A rollback replaced webrtcbin: rebinds the transceivers made by this side and drops
    /// those a rolled-back remote offer created.
    pub(super) fn rebind_after_rollback(self: &Arc<Self>, session: &Session) -> Result<()> {
        let transceivers = {
            let mut st = self.lock();
            st.transceivers.retain(|t| !t.state().from_remote);
            st.transceivers.clone()
        };
        for t in transceivers {
            {
                let mut st = t.state();
                st.mid = None;
                st.mline = None;
                st.gst = None;
            }
            self.bind(session, &t, true)?;
        }
        Ok(())
    }

    /// `close`: every sender stops, every remote track ends.
    pub(super) fn stop_media(transceivers: &[RtpTransceiver]) {
        for t in transceivers {
            t.sender().stop();
            t.receiver().track().end_from_source();
        }
    }
}

/// The formats (payload types with their `rtpmap`, `fmtp` and `rtcp-fb` lines) of answer
/// section `section` for transceiver `t`, taken from the offer's section `o`: see
/// `Inner::rewrite_answer_media`. `None` when no offered codec fits.
fn answer_formats(kind: MediaKind, section: &MediaSection, o: &MediaSection, offer: &ParsedDescription, t: &RtpTransceiver) -> Option<Vec<FormatLines>> {
    let (direction, preferences) = {
        let st = t.state();
        (st.direction, st.codec_preferences.clone())
    };
    let usable = negotiable_codecs(kind, direction, &preferences);
    let offered = o.codec_formats(|spec| usable.iter().any(|u| std::ptr::eq(*u, spec)));
    // One format per codec, in the preferences' order, else the offer's.
    let chosen: Vec<u8> = if preferences.is_empty() {
        offered.iter().map(|(_, pt)| *pt).collect()
    } else {
        usable.iter().filter_map(|spec| offered.iter().find(|(s, _)| std::ptr::eq(*s, *spec)).map(|(_, pt)| *pt)).collect()
    };
    if chosen.is_empty() {
        return None;
    }
    let rtx = o
        .formats
        .iter()
        .filter(|f| f.encoding_name.eq_ignore_ascii_case("rtx"))
        .filter(|f| f.fmtp.split(';').filter_map(|p| p.trim().strip_prefix("apt=")).any(|apt| apt.parse::<u8>().is_ok_and(|apt| chosen.contains(&apt))));
    let twcc = section.extmaps.iter().any(|(_, uri)| uri == TRANSPORT_CC);
    let supported = |(k, v): &(String, String)| {
        k != "rtcp-fb" || {
            let fb = v.split_once(' ').map(|(_, fb)| fb.trim()).unwrap_or("");
            matches!(fb, "nack" | "nack pli" | "ccm fir") || (fb == "transport-cc" && twcc)
        }
    };
    let mut formats: Vec<FormatLines> = chosen.iter().map(|pt| (*pt, offer.format_lines(o.index, *pt).into_iter().filter(supported).collect())).collect();
    if kind == MediaKind::Video {
        formats.extend(rtx.map(|f| (f.payload_type, offer.format_lines(o.index, f.payload_type))));
    }
    if kind == MediaKind::Audio {
        // DTMF (RFC 4733): every telephone-event format offered. RFC 4733 wants the audio
        // codec's clock rate, but Firefox offers only 8000 Hz events beside 48 kHz Opus.
        formats.extend(o.telephone_events().into_iter().map(|f| (f.payload_type, offer.format_lines(o.index, f.payload_type))));
    }
    Some(formats)
}

/// The media sections of a description wkrtc holds (`jsep` only holds descriptions that
/// parsed); none without one.
fn sections(d: Option<&crate::SessionDescription>) -> Vec<MediaSection> {
    d.and_then(|d| ParsedDescription::parse(&d.sdp).ok()).map(|p| p.media_sections()).unwrap_or_default()
}

/// webrtcbin codec preferences for `t`: for an offer with payload types (those of the
/// `negotiated` section when there is one), for an answer without.
fn codec_caps(t: &RtpTransceiver, for_offer: bool, negotiated: Option<&MediaSection>) -> gst::Caps {
    let st = t.state();
    let direction = if st.stopped { RtpTransceiverDirection::Inactive } else { st.direction };
    let codecs = negotiable_codecs(t.kind(), direction, &st.codec_preferences);
    drop(st);
    let ssrc = direction.sends().then(|| t.sender().ssrc());
    let with_pts: Vec<(&'static CodecSpec, Option<u8>)> = match (for_offer, negotiated) {
        (false, _) => codecs.iter().map(|c| (*c, None)).collect(),
        (true, None) => codecs.iter().map(|c| (*c, Some(c.payload_type))).collect(),
        (true, Some(section)) => {
            // Re-offer what was negotiated, with its payload types.
            let kept: Vec<_> =
                section.codec_formats(|spec| codecs.iter().any(|c| std::ptr::eq(*c, spec))).into_iter().map(|(spec, pt)| (spec, Some(pt))).collect();
            if kept.is_empty() {
                codecs.iter().map(|c| (*c, Some(c.payload_type))).collect()
            } else {
                kept
            }
        }
    };
    let mut caps = preference_caps(&with_pts, ssrc);
    if t.kind() == MediaKind::Audio && for_offer {
        // DTMF (RFC 4733), one format per audio clock rate offered: the negotiated
        // payload types when there are, else the usual ones.
        let negotiated = negotiated.map(MediaSection::telephone_events).unwrap_or_default();
        let events = if negotiated.is_empty() { dtmf::OFFERED.to_vec() } else { negotiated };
        let caps = caps.make_mut();
        for f in events.iter().filter(|f| with_pts.iter().any(|(c, _)| c.clock_rate == f.clock_rate)) {
            let mut s = gst::Structure::builder("application/x-rtp")
                .field("media", "audio")
                .field("encoding-name", "TELEPHONE-EVENT")
                .field("clock-rate", f.clock_rate as i32)
                .field("payload", i32::from(f.payload_type))
                .build();
            if let Some(ssrc) = ssrc {
                s.set("ssrc", ssrc);
            }
            caps.append_structure(s);
        }
    }
    caps
}

/// Stream ids end up in `a=msid` lines written by GStreamer's SDP library.
fn check_stream_ids(streams: &[String]) -> Result<()> {
    streams.iter().try_for_each(|id| crate::error::check_no_nul(id, "a stream id"))
}

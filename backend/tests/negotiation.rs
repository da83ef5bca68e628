// SPDX-License-Identifier: MPL-2.0
//! Offer/answer beyond the straight path: implicit descriptions, rollback, glare, the
//! operations chain.

mod common;
use common::*;
use wkrtc::{DataChannelInit, Event, Message, OfferOptions, SdpType, SessionDescription, SignalingState};

fn echo_check(a: &wkrtc::DataChannel, b: &wkrtc::DataChannel) {
    a.send_text("over").unwrap();
    let got = next_message(b);
    assert_eq!(got, Message::Text("over".into()));
}

#[test]
fn parameterless_set_local_description() {
    let (a, b) = (Peer::new(), Peer::new());
    let dc_a = a.pc.create_data_channel("implicit", DataChannelInit::default()).unwrap();
    wait(a.pc.set_local_description(None)).unwrap();
    let offer = a.pc.local_description().unwrap();
    assert_eq!(offer.sdp_type, SdpType::Offer);
    wait(b.pc.set_remote_description(offer)).unwrap();
    a.trickle_to(&b);
    wait(b.pc.set_local_description(None)).unwrap();
    let answer = b.pc.local_description().unwrap();
    assert_eq!(answer.sdp_type, SdpType::Answer);
    wait(a.pc.set_remote_description(answer)).unwrap();
    b.trickle_to(&a);
    let dc_b = b.next_data_channel();
    wait_open(&dc_a);
    echo_check(&dc_a, &dc_b);
}

#[test]
fn operations_run_in_call_order() {
    // All four calls are queued before the first has run: the chain orders them.
    let (a, b) = (Peer::new(), Peer::new());
    let _dc = a.pc.create_data_channel("chain", DataChannelInit::default()).unwrap();
    let offer = wait(a.pc.create_offer(OfferOptions::default())).unwrap();
    let f1 = a.pc.set_local_description(Some(offer.clone()));
    let f2 = b.pc.set_remote_description(offer);
    let f3 = b.pc.set_local_description(None);
    let results = wait(async move { (f1.await, f2.await, f3.await) });
    results.0.unwrap();
    results.1.unwrap();
    results.2.unwrap();
    assert_eq!(b.pc.signaling_state(), SignalingState::Stable);
    assert_eq!(a.pc.signaling_state(), SignalingState::HaveLocalOffer);
}

#[test]
fn rollback_of_a_local_offer_then_connect() {
    let (a, b) = (Peer::new(), Peer::new());
    let dc_a = a.pc.create_data_channel("survives", DataChannelInit::default()).unwrap();
    let offer = wait(a.pc.create_offer(OfferOptions::default())).unwrap();
    wait(a.pc.set_local_description(Some(offer))).unwrap();
    assert_eq!(a.pc.signaling_state(), SignalingState::HaveLocalOffer);
    wait(a.pc.set_local_description(Some(SessionDescription::rollback()))).unwrap();
    assert_eq!(a.pc.signaling_state(), SignalingState::Stable);
    assert!(a.pc.local_description().is_none());
    // The channel created before the rollback still works afterwards.
    negotiate(&a, &b);
    let dc_b = b.next_data_channel();
    assert_eq!(dc_b.label(), "survives");
    wait_open(&dc_a);
    echo_check(&dc_a, &dc_b);
    echo_check(&dc_b, &dc_a);
}

#[test]
fn rollback_in_stable_is_invalid_state() {
    let a = Peer::new();
    for res in [wait(a.pc.set_local_description(Some(SessionDescription::rollback()))), wait(a.pc.set_remote_description(SessionDescription::rollback()))] {
        assert_eq!(res.unwrap_err().name(), "InvalidStateError");
    }
}

/// Both sides offer at once; the polite peer (b) accepts a's offer, which rolls back its own
/// (the W3C's implicit rollback), answers, and the call connects. Each side's channel opens.
#[test]
fn glare_resolved_by_rollback() {
    let (a, b) = (Peer::new(), Peer::new());
    let dc_a = a.pc.create_data_channel("from-a", DataChannelInit::default()).unwrap();
    let dc_b = b.pc.create_data_channel("from-b", DataChannelInit::default()).unwrap();
    let offer_a = wait(a.pc.create_offer(OfferOptions::default())).unwrap();
    let offer_b = wait(b.pc.create_offer(OfferOptions::default())).unwrap();
    wait(a.pc.set_local_description(Some(offer_a.clone()))).unwrap();
    wait(b.pc.set_local_description(Some(offer_b.clone()))).unwrap();

    // The impolite peer ignores the colliding offer: applying it would be an error.
    // The polite peer applies the other offer, which rolls back its own.
    wait(b.pc.set_remote_description(offer_a)).unwrap();
    assert_eq!(b.pc.signaling_state(), SignalingState::HaveRemoteOffer);
    a.trickle_to(&b);
    let answer = wait(b.pc.create_answer()).unwrap();
    wait(b.pc.set_local_description(Some(answer.clone()))).unwrap();
    wait(a.pc.set_remote_description(answer)).unwrap();
    b.trickle_to(&a);
    let remote_on_b = b.next_data_channel();
    assert_eq!(remote_on_b.label(), "from-a");
    wait_open(&dc_a);
    echo_check(&dc_a, &remote_on_b);
    // b's own channel (created before its rolled-back offer) opens over the same SCTP
    // association once it is announced in-band.
    if dc_b.ready_state() != wkrtc::DataChannelState::Open {
        wait_open(&dc_b);
    }
    let remote_on_a = a.next_data_channel();
    assert_eq!(remote_on_a.label(), "from-b");
    echo_check(&dc_b, &remote_on_a);
}

#[test]
fn negotiation_needed_again_after_rollback() {
    let a = Peer::new();
    let _dc = a.pc.create_data_channel("x", DataChannelInit::default()).unwrap();
    a.expect("negotiationneeded", |e| matches!(e, Event::NegotiationNeeded).then_some(()));
    wait(a.pc.set_local_description(None)).unwrap();
    wait(a.pc.set_local_description(Some(SessionDescription::rollback()))).unwrap();
    a.expect("negotiationneeded after rollback", |e| matches!(e, Event::NegotiationNeeded).then_some(()));
}

/// An offer whose sections state no direction (sendrecv, RFC 4566) is answered section by
/// section, and the answerer's own next offers keep every section (webrtcbin 1.22 rejected
/// the first, and a later offer aborted the process).
#[test]
fn sections_without_direction_and_the_answerers_next_offer() {
    use wkrtc::{MediaKind, MediaStreamTrack, SessionDescription, TestPattern};
    let (a, b) = (Peer::new(), Peer::new());
    let pattern = TestPattern { width: 160, height: 120, framerate: 15, frequency: 440 };
    for kind in [MediaKind::Audio, MediaKind::Video] {
        a.pc.add_track(&MediaStreamTrack::test_pattern(kind, pattern).unwrap(), &["s".into()]).unwrap();
    }
    let _dc = a.pc.create_data_channel("x", DataChannelInit::default()).unwrap();
    let offer = wait(a.pc.create_offer(OfferOptions::default())).unwrap();
    wait(a.pc.set_local_description(Some(offer.clone()))).unwrap();
    let stripped: String = offer.sdp.split("\r\n").filter(|l| *l != "a=sendrecv").map(|l| format!("{l}\r\n")).collect();
    assert!(!stripped.contains("a=sendrecv"));
    wait(b.pc.set_remote_description(SessionDescription::offer(stripped.trim_end().to_owned() + "\r\n"))).unwrap();
    let answer = wait(b.pc.create_answer()).unwrap();
    assert!(!answer.sdp.contains("m=audio 0 ") && !answer.sdp.contains("m=video 0 "), "a section was rejected:\n{}", answer.sdp);
    wait(b.pc.set_local_description(Some(answer.clone()))).unwrap();
    wait(a.pc.set_remote_description(answer)).unwrap();
    a.trickle_to(&b);
    b.trickle_to(&a);
    // webrtcbin 1.22 offers a data section only while it has a channel (docs/decisions.md).
    let _channel = b.next_data_channel();
    for _ in 0..2 {
        let offer = wait(b.pc.create_offer(OfferOptions::default())).expect("the answerer's offer");
        assert_eq!(offer.sdp.matches("\r\nm=").count(), 3, "{}", offer.sdp);
        wait(b.pc.set_local_description(Some(offer.clone()))).expect("applied");
        wait(a.pc.set_remote_description(offer)).expect("the offerer takes it");
        let answer = wait(a.pc.create_answer()).unwrap();
        assert_eq!(answer.sdp.matches("\r\nm=").count(), 3, "{}", answer.sdp);
        wait(a.pc.set_local_description(Some(answer.clone()))).unwrap();
        wait(b.pc.set_remote_description(answer)).unwrap();
    }
}

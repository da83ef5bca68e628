// SPDX-License-Identifier: MPL-2.0
//! Two wkrtc peers connect over loopback and reach the W3C states in order.

mod common;
use common::*;
use wkrtc::{DataChannelInit, Event, IceConnectionState, Message, PeerConnectionState, SignalingState};

#[test]
fn offer_answer_trickle_and_open_channel() {
    let (a, b, dc_a, dc_b) = connected_pair(DataChannelInit::default());
    assert_eq!(dc_b.label(), "test");
    assert_eq!(a.pc.signaling_state(), SignalingState::Stable);
    assert_eq!(b.pc.signaling_state(), SignalingState::Stable);
    a.wait_connected();
    // b's events up to its datachannel event were read by connected_pair: connected came first.
    assert_eq!(b.pc.connection_state(), PeerConnectionState::Connected);
    assert_eq!(a.pc.connection_state(), PeerConnectionState::Connected);
    assert!(matches!(a.pc.ice_connection_state(), IceConnectionState::Connected | IceConnectionState::Completed));
    assert!(a.pc.current_local_description().is_some() && a.pc.current_remote_description().is_some());
    assert!(a.pc.pending_local_description().is_none());
    assert_eq!(a.pc.can_trickle_ice_candidates(), Some(true));

    // Both offer and answer advertise the message size wkrtc receives whole.
    for sdp in [a.pc.local_description().unwrap().sdp, b.pc.local_description().unwrap().sdp] {
        assert!(sdp.contains("a=max-message-size:65536"), "{sdp}");
    }

    dc_a.send_text("ping").unwrap();
    let got = next_message(&dc_b);
    assert_eq!(got, Message::Text("ping".into()));
}

#[test]
fn signaling_events_in_order() {
    let (a, b) = (Peer::new(), Peer::new());
    let _dc = a.pc.create_data_channel("x", DataChannelInit::default()).unwrap();
    a.expect("negotiationneeded", |e| matches!(e, Event::NegotiationNeeded).then_some(()));
    negotiate(&a, &b);
    let mut states = Vec::new();
    a.expect("stable", |e| match e {
        Event::SignalingStateChange(s) => {
            states.push(*s);
            (*s == SignalingState::Stable).then_some(())
        }
        _ => None,
    });
    assert_eq!(states, vec![SignalingState::HaveLocalOffer, SignalingState::Stable]);
    b.expect("gathering complete", |e| matches!(e, Event::IceGatheringStateChange(wkrtc::IceGatheringState::Complete)).then_some(()));
    a.wait_connected();
    b.wait_connected();
    // Nothing was left to negotiate on either side: no further negotiationneeded.
    while let Ok(e) = a.events.try_recv() {
        assert!(!matches!(e, Event::NegotiationNeeded), "spurious negotiationneeded on the offerer");
    }
    b.next_data_channel();
    while let Ok(e) = b.events.try_recv() {
        assert!(!matches!(e, Event::NegotiationNeeded), "spurious negotiationneeded on the answerer");
    }
}

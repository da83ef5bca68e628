// SPDX-License-Identifier: MPL-2.0
//! DTLS fingerprint enforcement: a certificate that does not match the remote description's
//! `a=fingerprint` fails the connection before a single message is delivered.

mod common;
use std::time::Duration;

use common::*;
use wkrtc::{DataChannelEvent, DataChannelInit, DataChannelState, Event, OfferOptions, PeerConnectionState, SessionDescription};

/// Flips the first byte of every sha-256 fingerprint.
fn munge(desc: &SessionDescription) -> SessionDescription {
    let sdp = desc
        .sdp
        .lines()
        .map(|l| match l.strip_prefix("a=fingerprint:sha-256 ") {
            Some(hex) => {
                let first = u8::from_str_radix(&hex[..2], 16).unwrap() ^ 0xff;
                format!("a=fingerprint:sha-256 {first:02X}{}\r\n", &hex[2..])
            }
            None => format!("{l}\r\n"),
        })
        .collect();
    assert_ne!(sdp, desc.sdp, "the description had no sha-256 fingerprint");
    SessionDescription::new(desc.sdp_type, sdp)
}

fn assert_failed_without_data(victim: &Peer, dc_a: &wkrtc::DataChannel) {
    let mut got_channel = false;
    victim.expect("failed", |e| match e {
        Event::ConnectionStateChange(PeerConnectionState::Failed) => Some(()),
        Event::ConnectionStateChange(PeerConnectionState::Connected) => panic!("connected with a wrong fingerprint"),
        Event::DataChannel(_) => {
            got_channel = true;
            None
        }
        _ => None,
    });
    assert!(!got_channel, "a data channel was announced through an unverified DTLS session");
    assert_eq!(victim.pc.connection_state(), PeerConnectionState::Failed);
    // The offerer's channel never opens: SCTP never got through the gate. Bounded wait for
    // an absence.
    match dc_a.events().recv_timeout(Duration::from_millis(1500)) {
        Ok(DataChannelEvent::Open) => panic!("channel opened through an unverified DTLS session"),
        _ => assert_ne!(dc_a.ready_state(), DataChannelState::Open),
    }
}

fn run(munge_offer: bool) {
    let (a, b) = (Peer::new(), Peer::new());
    let dc_a = a.pc.create_data_channel("secret", DataChannelInit::default()).unwrap();
    let offer = wait(a.pc.create_offer(OfferOptions::default())).unwrap();
    wait(a.pc.set_local_description(Some(offer.clone()))).unwrap();
    let offer_for_b = if munge_offer { munge(&offer) } else { offer };
    wait(b.pc.set_remote_description(offer_for_b)).unwrap();
    a.trickle_to(&b);
    let answer = wait(b.pc.create_answer()).unwrap();
    wait(b.pc.set_local_description(Some(answer.clone()))).unwrap();
    let answer_for_a = if munge_offer { answer } else { munge(&answer) };
    wait(a.pc.set_remote_description(answer_for_a)).unwrap();
    b.trickle_to(&a);
    if munge_offer {
        assert_failed_without_data(&b, &dc_a);
    } else {
        assert_failed_without_data(&a, &dc_a);
    }
}

#[test]
fn munged_offer_fingerprint_fails_the_answerer() {
    run(true);
}

#[test]
fn munged_answer_fingerprint_fails_the_offerer() {
    run(false);
}

#[test]
fn matching_fingerprints_connect() {
    let (_a, _b, dc_a, dc_b) = connected_pair(DataChannelInit::default());
    assert_eq!(dc_a.ready_state(), DataChannelState::Open);
    assert_eq!(dc_b.ready_state(), DataChannelState::Open);
}

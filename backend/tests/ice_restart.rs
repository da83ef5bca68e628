// SPDX-License-Identifier: MPL-2.0
//! ICE restart (RFC 8445, section 9) from either side, repeatedly, while data flows: new
//! credentials in both descriptions, ICE checks run again and reconnect, and every message
//! arrives in order.

mod common;
use common::*;
use wkrtc::{DataChannel, DataChannelInit, Event, IceConnectionState, Message, OfferOptions};

fn ufrag(sdp: &str) -> String {
    sdp.lines().find_map(|l| l.strip_prefix("a=ice-ufrag:")).expect("ufrag").to_owned()
}

/// Offer/answer over the trickle already running between the two peers.
fn renegotiate(offerer: &Peer, answerer: &Peer, options: OfferOptions) -> (String, String) {
    let offer = wait(offerer.pc.create_offer(options)).unwrap();
    wait(offerer.pc.set_local_description(Some(offer.clone()))).unwrap();
    wait(answerer.pc.set_remote_description(offer.clone())).unwrap();
    let answer = wait(answerer.pc.create_answer()).unwrap();
    wait(answerer.pc.set_local_description(Some(answer.clone()))).unwrap();
    wait(offerer.pc.set_remote_description(answer.clone())).unwrap();
    (ufrag(&offer.sdp), ufrag(&answer.sdp))
}

fn checks_again(p: &Peer) {
    p.expect("checking", |e| matches!(e, Event::IceConnectionStateChange(IceConnectionState::Checking)).then_some(()));
    p.expect("connected", |e| matches!(e, Event::IceConnectionStateChange(IceConnectionState::Connected | IceConnectionState::Completed)).then_some(()));
}

fn send_batch(dc: &DataChannel, from: usize, n: usize) {
    for i in from..from + n {
        dc.send_text(&i.to_string()).unwrap();
    }
}

fn receive_batch(dc: &DataChannel, from: usize, n: usize) {
    for i in from..from + n {
        assert_eq!(next_message(dc), Message::Text(i.to_string()), "message {i}");
    }
}

#[test]
fn restarts_from_either_side_keep_data_flowing() {
    let (a, b, dc_a, dc_b) = connected_pair(DataChannelInit::default());
    a.wait_connected();
    let mut ufrags = vec![ufrag(&a.pc.local_description().unwrap().sdp), ufrag(&b.pc.local_description().unwrap().sdp)];
    let mut sent = 0;
    for round in 0..4 {
        let (offerer, answerer) = if round % 2 == 0 { (&a, &b) } else { (&b, &a) };
        send_batch(&dc_a, sent, 50);
        if round < 2 {
            offerer.pc.restart_ice();
            offerer.expect("negotiationneeded", |e| matches!(e, Event::NegotiationNeeded).then_some(()));
            let (uo, ua) = renegotiate(offerer, answerer, OfferOptions::default());
            ufrags.extend([uo, ua]);
        } else {
            let (uo, ua) = renegotiate(offerer, answerer, OfferOptions { ice_restart: true });
            ufrags.extend([uo, ua]);
        }
        checks_again(offerer);
        checks_again(answerer);
        send_batch(&dc_a, sent + 50, 50);
        receive_batch(&dc_b, sent, 100);
        sent += 100;
        // And the other way, over the new pair.
        dc_b.send_text(&format!("back {round}")).unwrap();
        let got = next_message(&dc_a);
        assert_eq!(got, Message::Text(format!("back {round}")));
    }
    let mut unique = ufrags.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ufrags.len(), "every restart brings new credentials on both sides: {ufrags:?}");
}

#[test]
fn renegotiation_without_restart_keeps_credentials() {
    let (a, b, _dc_a, _dc_b) = connected_pair(DataChannelInit::default());
    let before = (ufrag(&a.pc.local_description().unwrap().sdp), ufrag(&b.pc.local_description().unwrap().sdp));
    let after = renegotiate(&a, &b, OfferOptions::default());
    assert_eq!(before, after);
}

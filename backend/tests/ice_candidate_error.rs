// SPDX-License-Identifier: MPL-2.0
//! `icecandidateerror`: a configured STUN server that gives no candidate is reported with the
//! W3C's code 701, and gathering still completes with the host candidates.

mod common;
use common::*;
use wkrtc::{Configuration, DataChannelInit, Event, IceServer, OfferOptions, PeerConnection, Settings};

#[test]
fn unreachable_stun_server_is_reported() {
    // Nothing listens on 127.0.0.1:9 (discard): the binding request goes unanswered.
    let config = Configuration { ice_servers: vec![IceServer::new("stun:127.0.0.1:9")], ..Default::default() };
    let peer = Peer::with(PeerConnection::with_settings(config, Settings::loopback()).unwrap());
    let _dc = peer.pc.create_data_channel("x", DataChannelInit::default()).unwrap();
    let offer = wait(peer.pc.create_offer(OfferOptions::default())).unwrap();
    wait(peer.pc.set_local_description(Some(offer))).unwrap();
    let (url, code) = peer.expect("icecandidateerror", |e| match e {
        Event::IceCandidateError { url, error_code, .. } => Some((url.clone(), *error_code)),
        _ => None,
    });
    assert_eq!((url.as_str(), code), ("stun://127.0.0.1:9", 701));
}

// SPDX-License-Identifier: MPL-2.0
//! DTLS fingerprint enforcement: a certificate that does not match the remote description's
//! `a=fingerprint` fails the connection before a single message is delivered.

mod common;
use std::time::Duration;

use common::*;
use wkrtc::jsep::HashAlgorithm;
use wkrtc::{
    Certificate, Configuration, DataChannelEvent, DataChannelInit, DataChannelState, Event, KeyAlgorithm, OfferOptions, PeerConnection, PeerConnectionState,
    SessionDescription, Settings,
};

/// Flips the first byte of every sha-256 fingerprint, and adds `extra` after each.
fn munge_with(desc: &SessionDescription, extra: &str) -> SessionDescription {
    let sdp = desc
        .sdp
        .lines()
        .map(|l| match l.strip_prefix("a=fingerprint:sha-256 ") {
            Some(hex) => {
                let first = u8::from_str_radix(&hex[..2], 16).unwrap() ^ 0xff;
                format!("a=fingerprint:sha-256 {first:02X}{}\r\n{extra}", &hex[2..])
            }
            None => format!("{l}\r\n"),
        })
        .collect();
    assert_ne!(sdp, desc.sdp, "the description had no sha-256 fingerprint");
    SessionDescription::new(desc.sdp_type, sdp)
}

fn munge(desc: &SessionDescription) -> SessionDescription {
    munge_with(desc, "")
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
    run_with(munge_offer, |_, desc| munge(desc));
}

/// A call in which `munge` changes the offer (or the answer) on its way; `munge` gets the
/// certificate of the side that wrote the description.
fn run_with(munge_offer: bool, munge: impl Fn(&Certificate, &SessionDescription) -> SessionDescription) {
    let (a, b) = (Peer::new(), Peer::new());
    let dc_a = a.pc.create_data_channel("secret", DataChannelInit::default()).unwrap();
    let offer = wait(a.pc.create_offer(OfferOptions::default())).unwrap();
    wait(a.pc.set_local_description(Some(offer.clone()))).unwrap();
    let offer_for_b = if munge_offer { munge(&a.pc.certificate(), &offer) } else { offer };
    wait(b.pc.set_remote_description(offer_for_b)).unwrap();
    a.trickle_to(&b);
    let answer = wait(b.pc.create_answer()).unwrap();
    wait(b.pc.set_local_description(Some(answer.clone()))).unwrap();
    let answer_for_a = if munge_offer { answer } else { munge(&b.pc.certificate(), &answer) };
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

/// RFC 8122, section 5: the strongest hash function decides. Wrong sha-256 fingerprints are
/// not rescued by a correct sha-1 one beside them.
#[test]
fn a_correct_weaker_fingerprint_does_not_rescue_wrong_strong_ones() {
    let sha1_line = |cert: &Certificate| format!("a=fingerprint:sha-1 {}\r\n", cert.fingerprint(HashAlgorithm::Sha1).hex());
    run_with(true, |cert, offer| munge_with(offer, &sha1_line(cert)));
    run_with(false, |cert, answer| munge_with(answer, &sha1_line(cert)));
}

/// A certificate given in the configuration is the one presented: its fingerprint is in the
/// offer, and the far side's check of the certificate it received passes. RSA works as an
/// option.
#[test]
fn configured_and_rsa_certificates_are_presented() {
    let cert = Certificate::generate(KeyAlgorithm::EcdsaP256, None).unwrap();
    let config = Configuration { certificates: vec![cert.clone()], ..Default::default() };
    let a = Peer::with(PeerConnection::with_settings(config, Settings::loopback()).unwrap());
    assert_eq!(a.pc.certificate(), cert);
    let rsa = Settings { certificate_key: KeyAlgorithm::Rsa { modulus_length: 2048 }, ..Settings::loopback() };
    let b = Peer::with(PeerConnection::with_settings(Configuration::default(), rsa).unwrap());
    let dc_a = a.pc.create_data_channel("cert", DataChannelInit::default()).unwrap();
    negotiate(&a, &b);
    wait_open(&dc_a);
    let offer = a.pc.local_description().unwrap();
    let expected = format!("a=fingerprint:sha-256 {}", cert.fingerprint(HashAlgorithm::Sha256).hex());
    assert!(offer.sdp.lines().all(|l| !l.starts_with("a=fingerprint:") || l == expected), "{}", offer.sdp);
    assert!(offer.sdp.contains(&expected));
    // An expired certificate is refused when the connection is made.
    let expired = Certificate::generate(KeyAlgorithm::EcdsaP256, Some(Duration::ZERO)).unwrap();
    let err = PeerConnection::new(Configuration { certificates: vec![expired], ..Default::default() }).unwrap_err();
    assert_eq!(err.name(), "InvalidAccessError");
}

#[test]
fn matching_fingerprints_connect() {
    let (a, b, dc_a, dc_b) = connected_pair(DataChannelInit::default());
    assert_eq!(dc_a.ready_state(), DataChannelState::Open);
    assert_eq!(dc_b.ready_state(), DataChannelState::Open);
    // getRemoteCertificates(): each side holds the other's certificate, as presented.
    assert_eq!(b.pc.remote_certificates(), vec![a.pc.certificate().der().to_vec()]);
    assert_eq!(a.pc.remote_certificates(), vec![b.pc.certificate().der().to_vec()]);
}

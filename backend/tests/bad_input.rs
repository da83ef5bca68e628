// SPDX-License-Identifier: MPL-2.0
//! Bad input from a page, the network or the embedder: every case gives the W3C's error
//! type, and the process (and even the same connection) goes on serving.

mod common;
use common::*;
use wkrtc::{Configuration, DataChannelInit, IceCandidate, IceServer, OfferOptions, PeerConnection, SdpType, SessionDescription, Settings};

const CANDIDATE: &str = "candidate:1 1 UDP 2122252543 127.0.0.1 40000 typ host";

fn offer_from_a_fresh_peer() -> SessionDescription {
    let p = Peer::new();
    let _dc = p.pc.create_data_channel("x", DataChannelInit::default()).unwrap();
    wait(p.pc.create_offer(OfferOptions::default())).unwrap()
}

fn edit(desc: &SessionDescription, f: impl Fn(&str) -> Option<String>) -> SessionDescription {
    let sdp = desc.sdp.lines().filter_map(f).map(|l| l + "\r\n").collect();
    SessionDescription::new(desc.sdp_type, sdp)
}

#[test]
fn remote_descriptions_are_checked() {
    let good = offer_from_a_fresh_peer();
    let cases: Vec<(&str, SessionDescription, &str)> = vec![
        ("empty", SessionDescription::offer(""), "SyntaxError"),
        ("garbage", SessionDescription::offer("hello, I am not SDP"), "SyntaxError"),
        ("binary", SessionDescription::offer("\u{0}\u{ff}\u{7f}v=0"), "SyntaxError"),
        ("truncated", SessionDescription::offer(good.sdp[..good.sdp.len() / 3].replace("v=0", "v=1")), "SyntaxError"),
        (
            "SDES offer",
            edit(&good, |l| {
                Some(if l.starts_with("a=mid:") {
                    format!("{l}\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
                } else {
                    l.to_owned()
                })
            }),
            "InvalidAccessError",
        ),
        ("no fingerprint", edit(&good, |l| (!l.starts_with("a=fingerprint")).then(|| l.to_owned())), "InvalidAccessError"),
        ("no ICE credentials", edit(&good, |l| (!l.starts_with("a=ice-pwd")).then(|| l.to_owned())), "InvalidAccessError"),
        ("plain RTP", edit(&good, |l| Some(if l.starts_with("m=") { "m=audio 9 RTP/AVP 0".to_owned() } else { l.to_owned() })), "InvalidAccessError"),
        ("answer while stable", SessionDescription::new(SdpType::Answer, good.sdp.clone()), "InvalidStateError"),
        ("pranswer while stable", SessionDescription::new(SdpType::Pranswer, good.sdp.clone()), "InvalidStateError"),
    ];
    let pc = Peer::new();
    for (what, desc, name) in cases {
        let err = wait(pc.pc.set_remote_description(desc)).expect_err(what);
        assert_eq!(err.name(), name, "{what}: {err}");
    }
    // None of it changed the connection: the good offer still applies and answers.
    wait(pc.pc.set_remote_description(good)).unwrap();
    let answer = wait(pc.pc.create_answer()).unwrap();
    assert!(answer.sdp.contains("m=application"));
}

#[test]
fn local_state_errors() {
    let p = Peer::new();
    assert_eq!(wait(p.pc.create_answer()).unwrap_err().name(), "InvalidStateError");
    let offer = offer_from_a_fresh_peer();
    let as_answer = SessionDescription::new(SdpType::Answer, offer.sdp.clone());
    assert_eq!(wait(p.pc.set_local_description(Some(as_answer))).unwrap_err().name(), "InvalidStateError");
    assert_eq!(wait(p.pc.set_local_description(Some(SessionDescription::offer("garbage")))).unwrap_err().name(), "SyntaxError");
}

#[test]
fn candidates_are_checked() {
    let p = Peer::new();
    let c = |mid: Option<&str>, idx: Option<u32>, line: &str| Some(IceCandidate::new(line, mid.map(str::to_owned), idx));
    // Before any remote description.
    assert_eq!(wait(p.pc.add_ice_candidate(c(Some("0"), None, CANDIDATE))).unwrap_err().name(), "InvalidStateError");
    // Neither mid nor index: TypeError, whatever the state.
    assert_eq!(wait(p.pc.add_ice_candidate(c(None, None, CANDIDATE))).unwrap_err().name(), "TypeError");

    let offer = offer_from_a_fresh_peer();
    let mid = offer.sdp.lines().find_map(|l| l.strip_prefix("a=mid:")).unwrap().to_owned();
    wait(p.pc.set_remote_description(offer)).unwrap();
    let cases = [
        (c(Some("no-such-mid"), None, CANDIDATE), "OperationError"),
        (c(None, Some(5), CANDIDATE), "OperationError"),
        (c(Some(&mid), None, "candidate:not a candidate"), "OperationError"),
        (c(Some(&mid), None, "candidate:1 1 UDP 1 127.0.0.1 70000 typ host"), "OperationError"),
    ];
    for (cand, name) in cases {
        let err = wait(p.pc.add_ice_candidate(cand.clone())).expect_err("bad candidate accepted");
        assert_eq!(err.name(), name, "{cand:?}: {err}");
    }
    // Good ones, by mid and by index, and end-of-candidates.
    wait(p.pc.add_ice_candidate(c(Some(&mid), None, CANDIDATE))).unwrap();
    wait(p.pc.add_ice_candidate(c(None, Some(0), CANDIDATE))).unwrap();
    wait(p.pc.add_ice_candidate(c(Some(&mid), None, ""))).unwrap();
    wait(p.pc.add_ice_candidate(None)).unwrap();
}

#[test]
fn every_call_after_close_is_invalid_state() {
    let p = Peer::new();
    let offer = offer_from_a_fresh_peer();
    p.pc.close();
    p.pc.close(); // twice is fine
    let results = [
        wait(p.pc.create_offer(OfferOptions::default())).map(|_| ()),
        wait(p.pc.create_answer()).map(|_| ()),
        wait(p.pc.set_local_description(None)),
        wait(p.pc.set_remote_description(offer)),
        wait(p.pc.add_ice_candidate(Some(IceCandidate::new(CANDIDATE, Some("0".into()), None)))),
        p.pc.create_data_channel("late", DataChannelInit::default()).map(|_| ()),
    ];
    for r in results {
        assert_eq!(r.unwrap_err().name(), "InvalidStateError");
    }
    assert_eq!(p.pc.signaling_state(), wkrtc::SignalingState::Closed);
    assert_eq!(p.pc.connection_state(), wkrtc::PeerConnectionState::Closed);
}

#[test]
fn bad_configurations() {
    let cases = [
        (IceServer::new("http://127.0.0.1"), "SyntaxError"),
        (IceServer::new("turn:127.0.0.1"), "InvalidAccessError"),
        (IceServer::turn("turns:127.0.0.1", "u", "p"), "NotSupportedError"),
    ];
    for (server, name) in cases {
        let config = Configuration { ice_servers: vec![server], ..Default::default() };
        assert_eq!(PeerConnection::with_settings(config, Settings::loopback()).unwrap_err().name(), name);
    }
    let bad_channel = DataChannelInit { negotiated: true, ..Default::default() };
    assert_eq!(Peer::new().pc.create_data_channel("x", bad_channel).unwrap_err().name(), "TypeError");
}

/// After all of the above in the same process, a fresh pair still connects and talks.
#[test]
fn the_process_keeps_serving() {
    remote_descriptions_are_checked();
    candidates_are_checked();
    every_call_after_close_is_invalid_state();
    let (_a, _b, dc_a, dc_b) = connected_pair(DataChannelInit::default());
    dc_a.send_text("still here").unwrap();
    let got = next_message(&dc_b);
    assert_eq!(got, wkrtc::Message::Text("still here".into()));
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0)
}

/// Descriptions that ask too much are refused before webrtcbin sees them, with the W3C's
/// error, and connections that met them leave nothing behind.
#[test]
fn hostile_descriptions_are_bounded_and_leave_nothing_behind() {
    let good = offer_from_a_fresh_peer();
    let with = |extra: &str| SessionDescription::offer(format!("{}{extra}", good.sdp));
    let sections: String =
        (0..500).map(|i| format!("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:x{i}\r\na=rtpmap:111 opus/48000/2\r\n")).collect();
    let candidates: String = (0..300).map(|i| format!("a=candidate:{i} 1 UDP 2122252543 127.0.0.1 {} typ host\r\n", 10000 + i)).collect();
    let cases: Vec<(&str, SessionDescription, &str)> = vec![
        ("500 media sections", with(&sections), "OperationError"),
        ("300 candidates", with(&candidates), "OperationError"),
        ("300 KB", with(&format!("a=tool:{}\r\n", "x".repeat(4000)).repeat(80)), "OperationError"),
        ("a 5,000-byte line", with(&format!("a=tool:{}\r\n", "x".repeat(5000))), "OperationError"),
        (
            "a 300-character ufrag",
            edit(&good, |l| Some(if l.starts_with("a=ice-ufrag:") { format!("a=ice-ufrag:{}", "u".repeat(300)) } else { l.to_owned() })),
            "InvalidAccessError",
        ),
    ];
    let peer = Peer::new();
    for (what, desc, name) in &cases {
        let err = wait(peer.pc.set_remote_description(desc.clone())).expect_err(what);
        assert_eq!(err.name(), *name, "{what}: {err}");
    }
    // The connection is unharmed, and a peer that trickles without end is cut off.
    wait(peer.pc.set_remote_description(good.clone())).unwrap();
    let mid = wkrtc::jsep::ParsedDescription::parse(&good.sdp).unwrap().mids()[0].clone();
    let mut refused = None;
    for port in 0..1100u32 {
        let line = format!("candidate:{port} 1 UDP 2122252543 127.0.0.1 {} typ host", 20000 + port);
        if let Err(e) = wait(peer.pc.add_ice_candidate(Some(IceCandidate::new(line, mid.clone(), Some(0))))) {
            refused = Some((port, e));
            break;
        }
    }
    let (at, err) = refused.expect("a connection takes remote candidates without end");
    assert_eq!((at, err.name()), (1024, "OperationError"), "{err}");
    drop(peer);

    // 100 connections meet a hostile description each and are dropped: their descriptors go.
    let (before, rss_before) = (open_fds(), rss_kib());
    for i in 0..100 {
        let p = Peer::new();
        let (_, desc, _) = &cases[i % cases.len()];
        assert!(wait(p.pc.set_remote_description(desc.clone())).is_err());
    }
    let deadline = std::time::Instant::now() + TIMEOUT;
    while open_fds() > before + 8 {
        assert!(std::time::Instant::now() < deadline, "{} descriptors open after 100 hostile descriptions, {before} before", open_fds());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    eprintln!("100 hostile descriptions: {before} -> {} descriptors, {rss_before} -> {} KiB resident", open_fds(), rss_kib());
}

/// An answer whose media sections are not the offer's is refused (RFC 8829, section
/// 5.3.1). webrtcbin 1.22 took one, and the next offer aborted the whole process in an
/// assertion (found by wkrtc-fuzz through `wkrtc serve`).
#[test]
fn an_answer_must_match_the_offer() {
    let a = Peer::new();
    let _dc = a.pc.create_data_channel("d", DataChannelInit::default()).unwrap();
    let offer = wait(a.pc.create_offer(OfferOptions::default())).unwrap();
    wait(a.pc.set_local_description(Some(offer))).unwrap();
    // Another peer's audio and video offer, handed back as an answer.
    let b = Peer::new();
    b.pc.add_transceiver(wkrtc::TrackOrKind::Kind(wkrtc::MediaKind::Audio), Default::default()).unwrap();
    b.pc.add_transceiver(wkrtc::TrackOrKind::Kind(wkrtc::MediaKind::Video), Default::default()).unwrap();
    let foreign = wait(b.pc.create_offer(OfferOptions::default())).unwrap();
    let err = wait(a.pc.set_remote_description(SessionDescription::new(SdpType::Answer, foreign.sdp))).unwrap_err();
    assert_eq!(err.name(), "InvalidAccessError", "{err}");
    // The connection carries on: more media, another offer, no abort.
    a.pc.add_transceiver(wkrtc::TrackOrKind::Kind(wkrtc::MediaKind::Video), Default::default()).unwrap();
    let again = wait(a.pc.create_offer(OfferOptions::default())).unwrap();
    assert!(again.sdp.contains("m=video"));
}

/// A remote offer whose BUNDLE group names a media section it lacks is refused; an offer
/// without media sections is answered, and the connection then makes its own offers (each
/// used to abort the process inside webrtcbin).
#[test]
fn groups_name_existing_sections_and_offers_without_media_work() {
    let p = Peer::new();
    let head = "v=0\r\no=- 46117 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
    let dangling = SessionDescription::offer(format!("{head}a=group:BUNDLE 0\r\na=mid:0\r\n"));
    let err = wait(p.pc.set_remote_description(dangling)).expect_err("a BUNDLE group naming no section");
    assert_eq!(err.name(), "InvalidAccessError", "{err}");

    wait(p.pc.set_remote_description(SessionDescription::offer(head))).expect("an offer without media");
    let answer = wait(p.pc.create_answer()).expect("answer");
    wait(p.pc.set_local_description(Some(answer))).expect("set answer");
    let _dc = p.pc.create_data_channel("x", DataChannelInit::default()).unwrap();
    for _ in 0..2 {
        let offer = wait(p.pc.create_offer(OfferOptions::default())).expect("offer after an empty negotiation");
        assert!(offer.sdp.contains("m=application"), "{}", offer.sdp);
        wait(p.pc.set_local_description(Some(offer))).expect("set offer");
    }
}

/// `setConfiguration`'s W3C errors; the connection keeps its configuration after each.
#[test]
fn set_configuration_rules() {
    use wkrtc::{BundlePolicy, Certificate, KeyAlgorithm};
    let p = Peer::new();
    let err = |c: Configuration| p.pc.set_configuration(c).expect_err("refused").name();
    assert_eq!(err(Configuration { bundle_policy: BundlePolicy::MaxCompat, ..Default::default() }), "InvalidModificationError");
    let other = Certificate::generate(KeyAlgorithm::default(), None).unwrap();
    assert_eq!(err(Configuration { certificates: vec![other], ..Default::default() }), "InvalidModificationError");
    assert_eq!(err(Configuration { ice_servers: vec![IceServer { urls: vec!["http://example.org".into()], username: None, credential: None }], ..Default::default() }), "SyntaxError");
    let turn = IceServer { urls: vec!["turn:127.0.0.1:3478".into()], username: None, credential: None };
    assert_eq!(err(Configuration { ice_servers: vec![turn], ..Default::default() }), "InvalidAccessError");
    assert!(p.pc.configuration().ice_servers.is_empty());
    let stun = Configuration { ice_servers: vec![IceServer { urls: vec!["stun:127.0.0.1:3478".into()], username: None, credential: None }], ..Default::default() };
    p.pc.set_configuration(stun.clone()).expect("new servers, certificates left out");
    assert_eq!(p.pc.configuration().ice_servers, stun.ice_servers);
    p.pc.close();
    assert_eq!(err(stun), "InvalidStateError");
}

// SPDX-License-Identifier: MPL-2.0
//! Data channels between two wkrtc peers: volume, large messages, reliability modes,
//! negotiated channels, closing, buffered amount.

mod common;
use common::*;
use wkrtc::{DataChannelEvent, DataChannelInit, DataChannelState, Event, Message};

fn pattern(seed: u32, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2654435761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

#[test]
fn ten_thousand_messages_each_way_in_order() {
    const N: usize = 10_000;
    let (_a, _b, dc_a, dc_b) = connected_pair(DataChannelInit::default());
    let senders: Vec<_> = [(dc_a.clone(), "a"), (dc_b.clone(), "b")]
        .into_iter()
        .map(|(dc, name)| {
            std::thread::spawn(move || {
                for i in 0..N {
                    if i % 2 == 0 {
                        dc.send_text(&format!("{name}:{i}")).unwrap();
                    } else {
                        dc.send_binary(&pattern(i as u32, 1 + i % 1200)).unwrap();
                    }
                }
            })
        })
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    for (dc, from) in [(&dc_b, "a"), (&dc_a, "b")] {
        for i in 0..N {
            let expected = if i % 2 == 0 { Message::Text(format!("{from}:{i}")) } else { Message::Binary(pattern(i as u32, 1 + i % 1200)) };
            assert_eq!(next_message(dc), expected, "message {i} from {from}");
        }
    }
}

/// The largest message wkrtc advertises (64 KiB) arrives whole in both directions; one byte
/// more is refused by the sender with a TypeError, as a browser does.
#[test]
fn largest_messages_both_ways() {
    let (_a, _b, dc_a, dc_b) = connected_pair(DataChannelInit::default());
    let max = wkrtc::jsep::DEFAULT_MAX_MESSAGE_SIZE as usize;
    let big = pattern(7, max);
    dc_a.send_binary(&big).unwrap();
    let Message::Binary(got) = next_message(&dc_b) else { panic!("binary expected") };
    assert_eq!(got.len(), big.len(), "message length");
    assert!(got == big, "message content differs");
    let text: String = big.iter().map(|b| char::from(b'a' + b % 26)).collect();
    dc_b.send_text(&text).unwrap();
    assert_eq!(next_message(&dc_a), Message::Text(text));
    let err = dc_a.send_binary(&vec![0; max + 1]).unwrap_err();
    assert_eq!(err.name(), "TypeError");
    // Nothing of the refused message was sent: the next message is the next one.
    dc_a.send_text("after").unwrap();
    assert_eq!(next_message(&dc_b), Message::Text("after".into()));
}

#[test]
fn unordered_unreliable_channel() {
    let init = DataChannelInit { ordered: false, max_retransmits: Some(0), ..Default::default() };
    let (_a, _b, dc_a, dc_b) = connected_pair(init);
    for dc in [&dc_a, &dc_b] {
        assert!(!dc.ordered());
        assert_eq!(dc.max_retransmits(), Some(0));
        assert_eq!(dc.max_packet_life_time(), None);
    }
    for i in 0..200u32 {
        dc_a.send_binary(&i.to_be_bytes()).unwrap();
    }
    // Loopback does not lose packets: every message arrives, in some order.
    let mut seen = [false; 200];
    for _ in 0..200 {
        let Message::Binary(b) = next_message(&dc_b) else { panic!("binary expected") };
        let i = u32::from_be_bytes(b.try_into().unwrap()) as usize;
        assert!(!seen[i], "duplicate {i}");
        seen[i] = true;
    }
}

#[test]
fn partially_reliable_by_lifetime() {
    let init = DataChannelInit { max_packet_life_time: Some(150), ..Default::default() };
    let (_a, _b, dc_a, dc_b) = connected_pair(init);
    assert_eq!(dc_b.max_packet_life_time(), Some(150));
    assert_eq!(dc_b.max_retransmits(), None);
    dc_a.send_text("lifetime").unwrap();
    assert_eq!(next_message(&dc_b), Message::Text("lifetime".into()));
}

#[test]
fn negotiated_channel_with_fixed_id() {
    let (a, b) = (Peer::new(), Peer::new());
    let init = DataChannelInit { negotiated: true, id: Some(7), ..Default::default() };
    let dc_a = a.pc.create_data_channel("fixed", init.clone()).unwrap();
    let dc_b = b.pc.create_data_channel("fixed", init).unwrap();
    negotiate(&a, &b);
    wait_open(&dc_a);
    if dc_b.ready_state() != DataChannelState::Open {
        wait_open(&dc_b);
    }
    assert_eq!((dc_a.id(), dc_b.id()), (Some(7), Some(7)));
    assert!(dc_a.negotiated() && dc_b.negotiated());
    dc_a.send_text("to b").unwrap();
    dc_b.send_text("to a").unwrap();
    assert_eq!(next_message(&dc_b), Message::Text("to b".into()));
    assert_eq!(next_message(&dc_a), Message::Text("to a".into()));
    // A negotiated channel is never announced with a datachannel event.
    b.wait_connected();
    while let Ok(e) = b.events.try_recv() {
        assert!(!matches!(e, Event::DataChannel(_)), "unexpected datachannel event");
    }
}

#[test]
fn close_from_either_end() {
    for closer_is_offerer in [true, false] {
        let (_a, _b, dc_a, dc_b) = connected_pair(DataChannelInit::default());
        let (closer, other) = if closer_is_offerer { (dc_a, dc_b) } else { (dc_b, dc_a) };
        closer.close();
        expect_event(&closer.events(), "close", &mut |e| (*e == DataChannelEvent::Close).then_some(()));
        expect_event(&other.events(), "close", &mut |e| (*e == DataChannelEvent::Close).then_some(()));
        assert_eq!(closer.ready_state(), DataChannelState::Closed);
        assert_eq!(other.ready_state(), DataChannelState::Closed);
        assert_eq!(closer.send_text("late").unwrap_err().name(), "InvalidStateError");
        assert_eq!(other.send_text("late").unwrap_err().name(), "InvalidStateError");
    }
}

#[test]
fn buffered_amount_low_fires() {
    let (_a, _b, dc_a, dc_b) = connected_pair(DataChannelInit::default());
    dc_a.set_buffered_amount_low_threshold(64 * 1024);
    assert_eq!(dc_a.buffered_amount_low_threshold(), 64 * 1024);
    let chunk = pattern(1, 64 * 1024);
    for _ in 0..32 {
        dc_a.send_binary(&chunk).unwrap();
    }
    expect_event(&dc_a.events(), "bufferedamountlow", &mut |e| (*e == DataChannelEvent::BufferedAmountLow).then_some(()));
    for _ in 0..32 {
        assert_eq!(next_message(&dc_b), Message::Binary(chunk.clone()));
    }
}

#[test]
fn send_before_open_is_invalid_state() {
    let a = Peer::new();
    let dc = a.pc.create_data_channel("early", DataChannelInit::default()).unwrap();
    assert_eq!(dc.ready_state(), DataChannelState::Connecting);
    assert_eq!(dc.send_text("too early").unwrap_err().name(), "InvalidStateError");
}

/// wkrtc sends up to what the peer advertises (here a peer that, like Chromium, accepts
/// 256 KiB), and refuses more with a TypeError before webrtcbin sees it.
#[test]
fn sends_up_to_the_peers_limit() {
    let (a, b) = (Peer::new(), Peer::new());
    let dc_a = a.pc.create_data_channel("big", DataChannelInit::default()).unwrap();
    assert_eq!(a.pc.sctp_max_message_size(), None, "no SCTP transport before a remote description");
    let offer = wait(a.pc.create_offer(wkrtc::OfferOptions::default())).unwrap();
    wait(a.pc.set_local_description(Some(offer.clone()))).unwrap();
    wait(b.pc.set_remote_description(offer)).unwrap();
    a.trickle_to(&b);
    let answer = wait(b.pc.create_answer()).unwrap();
    wait(b.pc.set_local_description(Some(answer.clone()))).unwrap();
    let chromium_like = answer.sdp.replace("a=max-message-size:65536", "a=max-message-size:262144");
    wait(a.pc.set_remote_description(wkrtc::SessionDescription::answer(chromium_like))).unwrap();
    assert_eq!(a.pc.sctp_max_message_size(), Some(256 * 1024), "sctp.maxMessageSize is the peer's limit");
    assert_eq!(b.pc.sctp_max_message_size(), Some(65536), "and wkrtc's own 64 KiB seen from the other side");
    b.trickle_to(&a);
    wait_open(&dc_a);
    dc_a.send_binary(&vec![7; 256 * 1024]).unwrap();
    assert_eq!(dc_a.send_binary(&vec![7; 256 * 1024 + 1]).unwrap_err().name(), "TypeError");
}

/// The side that did not create a channel may send the moment it learns of it, before the
/// creator's webrtcbin has processed the peer's acknowledgement: every message still arrives,
/// after `open`, and the creator can answer each at once.
#[test]
fn messages_right_after_the_announcement() {
    for round in 0..5 {
        let (a, b) = (Peer::new(), Peer::new());
        let dc_a = a.pc.create_data_channel("early", DataChannelInit::default()).unwrap();
        let events_a = dc_a.events();
        negotiate(&a, &b);
        let dc_b = b.next_data_channel();
        for i in 0..100 {
            dc_b.send_text(&format!("{i}")).unwrap();
        }
        let mut opened = false;
        let mut i = 0;
        while i < 100 {
            match expect_event(&events_a, "event", &mut |e| Some(e.clone())) {
                DataChannelEvent::Open => opened = true,
                DataChannelEvent::Message(m) => {
                    assert!(opened, "round {round}: message before open");
                    assert_eq!(m, Message::Text(format!("{i}")), "round {round}");
                    dc_a.send_text(&format!("echo {i}")).unwrap();
                    i += 1;
                }
                _ => {}
            }
        }
        for i in 0..100 {
            assert_eq!(next_message(&dc_b), Message::Text(format!("echo {i}")), "round {round}");
        }
    }
}

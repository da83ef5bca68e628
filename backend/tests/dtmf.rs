// SPDX-License-Identifier: MPL-2.0
//! DTMF between two wkrtc peers: `insertDTMF` with its W3C tone buffer, `tonechange` events
//! and errors, the tones carried as RFC 4733 events and reported on the far side with their
//! durations, both ways.

mod common;

use std::time::Duration;

use common::*;
use wkrtc::{DtmfEvent, DtmfSender, Error, Event, MediaKind, MediaStreamTrack, ReceivedTone, RtpTransceiver, RtpTransceiverDirection, TestPattern, TrackOrKind, TransceiverInit};

const TONE: TestPattern = TestPattern { width: 320, height: 240, framerate: 30, frequency: 440 };

fn audio_transceiver(p: &Peer, direction: RtpTransceiverDirection) -> RtpTransceiver {
    let track = MediaStreamTrack::test_pattern(MediaKind::Audio, TONE).expect("tone");
    p.pc.add_transceiver(TrackOrKind::Track(track), TransceiverInit { direction, ..Default::default() }).expect("audio transceiver")
}

/// The next `n` tones `p` receives.
fn received(p: &Peer, n: usize) -> Vec<ReceivedTone> {
    (0..n)
        .map(|_| {
            p.expect("tone", |e| match e {
                Event::ToneReceived { tone, .. } => Some(*tone),
                _ => None,
            })
        })
        .collect()
}

/// `tonechange` events until the empty one that ends the buffer.
fn tone_changes(dtmf: &DtmfSender) -> Vec<String> {
    let events = dtmf.events();
    let mut seen = Vec::new();
    loop {
        let ev = expect_event(&events, "tonechange", &mut |e: &DtmfEvent| Some(e.clone()));
        let DtmfEvent::ToneChange(tone) = ev;
        if tone.is_empty() {
            return seen;
        }
        seen.push(tone);
    }
}

fn assert_about(tone: &ReceivedTone, want: char, ms: u64) {
    assert_eq!(tone.tone, want);
    // The tone is carried in whole 20 ms audio packets: at most one packet more.
    let got = tone.duration.as_millis() as u64;
    assert!(got >= ms && got < ms + 20, "tone '{want}' lasted {got} ms, {ms} ms asked");
}

fn connected_audio_pair() -> (Peer, Peer, RtpTransceiver) {
    let (a, b) = (Peer::new(), Peer::new());
    let t = audio_transceiver(&a, RtpTransceiverDirection::SendRecv);
    let _ = b.pc.add_track(&MediaStreamTrack::test_pattern(MediaKind::Audio, TONE).expect("tone"), &["s".into()]).expect("b's track");
    negotiate(&a, &b);
    a.wait_connected();
    b.wait_connected();
    (a, b, t)
}

#[test]
fn tones_reach_the_peer_both_ways_with_their_durations() {
    let (a, b, t) = connected_audio_pair();
    let offer = a.pc.local_description().unwrap().sdp;
    assert!(offer.to_lowercase().contains("telephone-event/48000"), "offer lacks telephone-event:\n{offer}");
    let dtmf = t.sender().dtmf().expect("an audio sender has a DTMF sender");
    assert!(dtmf.can_insert_dtmf());

    dtmf.insert_dtmf("1a#", 100, 70).unwrap();
    assert_eq!(tone_changes(&dtmf), ["1", "A", "#"], "letters are upper-cased");
    assert_eq!(dtmf.tone_buffer(), "");
    let tones = received(&b, 3);
    for (tone, want) in tones.iter().zip(['1', 'A', '#']) {
        assert_about(tone, want, 100);
    }

    // The other way, from the answerer's sender; 10 ms is raised to the W3C's 40 ms floor.
    let back = b.pc.transceivers().into_iter().find(|t| t.kind() == MediaKind::Audio).unwrap();
    let dtmf_b = back.sender().dtmf().unwrap();
    assert!(dtmf_b.can_insert_dtmf());
    dtmf_b.insert_dtmf("*0", 10, 30).unwrap();
    assert_eq!(tone_changes(&dtmf_b), ["*", "0"]);
    let tones = received(&a, 2);
    assert_about(&tones[0], '*', 40);
    assert_about(&tones[1], '0', 40);

    // One tone at a time, for an embedder with its own tone buffer (WebKit's).
    let (played, done) = flume::bounded(1);
    let started = std::time::Instant::now();
    dtmf.play_tone('d', 80, move || {
        let _ = played.send(());
    })
    .unwrap();
    done.recv_timeout(TIMEOUT).expect("played");
    assert!(started.elapsed() >= Duration::from_millis(80));
    assert_about(&received(&b, 1)[0], 'D', 80);
    assert!(matches!(dtmf.play_tone('x', 80, || ()), Err(Error::InvalidCharacter(_))));
}

#[test]
fn a_comma_pauses_and_a_new_buffer_replaces_the_old() {
    let (_a, b, t) = connected_audio_pair();
    let dtmf = t.sender().dtmf().unwrap();
    dtmf.insert_dtmf("9,8", 60, 40).unwrap();
    let events = dtmf.events();
    let first = expect_event(&events, "tonechange", &mut |e: &DtmfEvent| Some(e.clone()));
    assert_eq!(first, DtmfEvent::ToneChange("9".into()));
    // Replacing the buffer while a tone plays: the rest of the old buffer is dropped.
    dtmf.insert_dtmf("7", 60, 40).unwrap();
    assert_eq!(tone_changes(&dtmf), ["7"]);
    let tones = received(&b, 2);
    assert_eq!(tones.iter().map(|t| t.tone).collect::<String>(), "97");

    let started = std::time::Instant::now();
    dtmf.insert_dtmf("5,", 40, 30).unwrap();
    assert_eq!(tone_changes(&dtmf), ["5", ","]);
    assert!(started.elapsed() >= Duration::from_millis(2000), "a comma is a 2 s pause");
}

#[test]
fn errors_follow_the_w3c() {
    let (a, b) = (Peer::new(), Peer::new());
    let send = audio_transceiver(&a, RtpTransceiverDirection::SendRecv);
    let recv = audio_transceiver(&a, RtpTransceiverDirection::RecvOnly);
    let video = a.pc.add_transceiver(TrackOrKind::Kind(MediaKind::Video), TransceiverInit::default()).unwrap();
    assert!(video.sender().dtmf().is_none(), "a video sender has no DTMF sender");

    let dtmf = send.sender().dtmf().unwrap();
    assert!(!dtmf.can_insert_dtmf(), "nothing negotiated yet");
    dtmf.insert_dtmf("12", 100, 70).expect("before negotiation the buffer is accepted (W3C)");
    match dtmf.insert_dtmf("12x", 100, 70) {
        Err(e @ Error::InvalidCharacter(_)) => assert_eq!(e.name(), "InvalidCharacterError"),
        other => panic!("a bad tone gave {other:?}"),
    }

    negotiate(&a, &b);
    a.wait_connected();
    assert!(dtmf.can_insert_dtmf());
    let recv_dtmf = recv.sender().dtmf().unwrap();
    assert!(!recv_dtmf.can_insert_dtmf());
    assert!(matches!(recv_dtmf.insert_dtmf("1", 100, 70), Err(Error::InvalidState(_))), "current direction recvonly");

    send.stop();
    assert!(!dtmf.can_insert_dtmf());
    assert!(matches!(dtmf.insert_dtmf("1", 100, 70), Err(Error::InvalidState(_))), "stopped transceiver");
}

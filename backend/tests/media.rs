// SPDX-License-Identifier: MPL-2.0
//! Media between two wkrtc peers on loopback: tracks sent, decoded frames counted and
//! checked, each codec, renegotiation, replaceTrack, parameters, transceiver rules.

mod common;

use common::*;
use wkrtc::media::{receiver_capabilities, sender_capabilities, RtpCodecCapability, TrackEvent};
use wkrtc::{Event, MediaKind, MediaStreamTrack, RtpTransceiver, RtpTransceiverDirection, TestPattern, TrackOrKind, TransceiverInit};

const SMALL: TestPattern = TestPattern { width: 320, height: 240, framerate: 30, frequency: 440 };

/// What a received frame looked like.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    media: String,
    width: i32,
    height: i32,
}

/// Collects the decoded samples of `track`.
fn collect(track: &MediaStreamTrack) -> flume::Receiver<Seen> {
    let (tx, rx) = flume::unbounded();
    track.on_sample(move |s| {
        let st = s.caps().and_then(|c| c.structure(0).map(|s| s.to_owned()));
        if let Some(st) = st {
            let _ = tx.send(Seen { media: st.name().to_string(), width: st.get("width").unwrap_or(0), height: st.get("height").unwrap_or(0) });
        }
    });
    rx
}

/// Waits for `n` samples and returns the last.
fn wait_samples(rx: &flume::Receiver<Seen>, n: usize, what: &str) -> Seen {
    let mut last = None;
    for i in 0..n {
        match rx.recv_timeout(TIMEOUT) {
            Ok(s) => last = Some(s),
            Err(_) => panic!("{what}: only {i} of {n} decoded samples within {TIMEOUT:?}"),
        }
    }
    last.expect("n > 0")
}

fn next_track(p: &Peer) -> (RtpTransceiver, MediaStreamTrack, Vec<String>) {
    p.expect("track", |e| match e {
        Event::Track { transceiver, track, streams } => Some((transceiver.clone(), track.clone(), streams.clone())),
        _ => None,
    })
}

fn video() -> MediaStreamTrack {
    MediaStreamTrack::test_pattern(MediaKind::Video, SMALL).expect("video test pattern")
}

fn audio() -> MediaStreamTrack {
    MediaStreamTrack::test_pattern(MediaKind::Audio, SMALL).expect("tone")
}

#[test]
fn video_and_audio_are_decoded_with_streams_and_kinds() {
    let (a, b) = (Peer::new(), Peer::new());
    let (v, s) = (video(), audio());
    let stream = "stream-1".to_string();
    a.pc.add_track(&v, std::slice::from_ref(&stream)).unwrap();
    a.pc.add_track(&s, std::slice::from_ref(&stream)).unwrap();
    assert!(matches!(a.events.recv_timeout(TIMEOUT), Ok(Event::NegotiationNeeded)));
    negotiate(&a, &b);

    let (t1, track1, streams1) = next_track(&b);
    let (t2, track2, streams2) = next_track(&b);
    assert_eq!(streams1, vec![stream.clone()]);
    assert_eq!(streams2, vec![stream]);
    let (vt, vtrack, atrack) = if track1.kind() == MediaKind::Video { (t1, track1, track2) } else { (t2, track2, track1) };
    assert_eq!(atrack.kind(), MediaKind::Audio);
    assert_eq!(vt.current_direction(), Some(RtpTransceiverDirection::RecvOnly));
    let frames = collect(&vtrack);
    let samples = collect(&atrack);
    let seen = wait_samples(&frames, 30, "video");
    assert_eq!((seen.media.as_str(), seen.width, seen.height), ("video/x-raw", 320, 240));
    let heard = wait_samples(&samples, 25, "audio");
    assert_eq!(heard.media, "audio/x-raw");
    assert!(!vtrack.muted());
    assert!(vt.receiver().frames_decoded() >= 30);

    // The sending side's view.
    let senders = a.pc.senders();
    assert_eq!(senders.len(), 2);
    let vs = senders.iter().find(|s| s.kind() == MediaKind::Video).unwrap();
    let params = vs.parameters();
    assert_eq!(params.codecs.first().map(|c| c.codec.mime_type.as_str()), Some("video/VP8"));
    assert_eq!(a.pc.transceivers()[0].current_direction(), Some(RtpTransceiverDirection::SendOnly));
}

/// Sends one codec and checks that frames of it are decoded.
fn one_codec(kind: MediaKind, mime: &str) {
    let (a, b) = (Peer::new(), Peer::new());
    let track = if kind == MediaKind::Video { video() } else { audio() };
    let t = a.pc.add_transceiver(TrackOrKind::Track(track), TransceiverInit { direction: RtpTransceiverDirection::SendOnly, ..Default::default() }).unwrap();
    let cap = receiver_capabilities(kind).into_iter().find(|c| c.mime_type == mime).unwrap_or_else(|| panic!("{mime} not installed"));
    t.set_codec_preferences(&[cap]).unwrap();
    negotiate(&a, &b);
    let (_, remote, _) = next_track(&b);
    let rx = collect(&remote);
    wait_samples(&rx, 10, mime);
    let sent = t.sender().parameters().codecs;
    assert_eq!(sent.first().map(|c| c.codec.mime_type.as_str()), Some(mime));
    let answer = a.pc.remote_description().unwrap().sdp;
    let name = mime.split('/').nth(1).unwrap();
    assert!(answer.to_lowercase().contains(&format!(" {}/", name.to_lowercase())), "answer lacks {mime}:\n{answer}");
}

#[test]
fn codec_vp8() {
    one_codec(MediaKind::Video, "video/VP8");
}
#[test]
fn codec_vp9() {
    one_codec(MediaKind::Video, "video/VP9");
}
#[test]
fn codec_h264() {
    one_codec(MediaKind::Video, "video/H264");
}
#[test]
fn codec_opus() {
    one_codec(MediaKind::Audio, "audio/opus");
}
#[test]
fn codec_pcmu() {
    one_codec(MediaKind::Audio, "audio/PCMU");
}
#[test]
fn codec_pcma() {
    one_codec(MediaKind::Audio, "audio/PCMA");
}

#[test]
fn capabilities_and_codec_preference_errors() {
    let video = sender_capabilities(MediaKind::Video);
    for mime in ["video/VP8", "video/VP9", "video/H264", "video/rtx"] {
        assert!(video.iter().any(|c| c.mime_type == mime), "{mime} missing from {video:?}");
    }
    let audio = receiver_capabilities(MediaKind::Audio);
    for mime in ["audio/opus", "audio/PCMU", "audio/PCMA"] {
        assert!(audio.iter().any(|c| c.mime_type == mime), "{mime} missing");
    }
    let a = Peer::new();
    let t = a.pc.add_transceiver(TrackOrKind::Kind(MediaKind::Video), TransceiverInit::default()).unwrap();
    let opus = audio.iter().find(|c| c.mime_type == "audio/opus").unwrap().clone();
    assert_eq!(t.set_codec_preferences(&[opus]).unwrap_err().name(), "InvalidModificationError");
    let bogus = RtpCodecCapability { mime_type: "video/nope".into(), clock_rate: 90000, channels: None, sdp_fmtp_line: None };
    assert_eq!(t.set_codec_preferences(&[bogus]).unwrap_err().name(), "InvalidModificationError");
    t.set_codec_preferences(&[]).unwrap();
    assert_eq!(t.set_direction(RtpTransceiverDirection::Stopped).unwrap_err().name(), "TypeError");
    let err = a.pc.add_transceiver(TrackOrKind::Kind(MediaKind::Audio), TransceiverInit { direction: RtpTransceiverDirection::Stopped, ..Default::default() });
    assert_eq!(err.unwrap_err().name(), "TypeError");
}

#[test]
fn add_track_rules() {
    let a = Peer::new();
    let v = video();
    let sender = a.pc.add_track(&v, &[]).unwrap();
    assert_eq!(a.pc.add_track(&v, &[]).unwrap_err().name(), "InvalidAccessError");
    let other = Peer::new();
    assert_eq!(other.pc.remove_track(&sender).unwrap_err().name(), "InvalidAccessError");
    // replaceTrack with the other kind is a TypeError.
    assert_eq!(wait(sender.clone().replace_track_owned(Some(audio()))).unwrap_err().name(), "TypeError");
    a.pc.close();
    assert_eq!(a.pc.add_track(&video(), &[]).unwrap_err().name(), "InvalidStateError");
}

trait ReplaceOwned {
    fn replace_track_owned(self, t: Option<MediaStreamTrack>) -> std::pin::Pin<Box<dyn std::future::Future<Output = wkrtc::Result<()>> + Send>>;
}
impl ReplaceOwned for wkrtc::RtpSender {
    fn replace_track_owned(self, t: Option<MediaStreamTrack>) -> std::pin::Pin<Box<dyn std::future::Future<Output = wkrtc::Result<()>> + Send>> {
        Box::pin(async move { self.replace_track(t).await })
    }
}

#[test]
fn renegotiation_adds_and_removes_tracks_from_either_side() {
    // Data first, media added later by the answerer, then removed by the offerer's peer.
    let (a, b) = (Peer::new(), Peer::new());
    let _dc = a.pc.create_data_channel("d", Default::default()).unwrap();
    negotiate(&a, &b);
    a.wait_connected();

    // b adds video: b offers this time.
    let bv = video();
    let sender = b.pc.add_track(&bv, &["s".into()]).unwrap();
    b.expect("negotiationneeded", |e| matches!(e, Event::NegotiationNeeded).then_some(()));
    negotiate(&b, &a);
    let (at, atrack, _) = next_track(&a);
    wait_samples(&collect(&atrack), 15, "video added by the answerer of the first round");
    assert_eq!(at.current_direction(), Some(RtpTransceiverDirection::RecvOnly));

    // a adds audio in the reverse direction; a offers.
    let asound = audio();
    a.pc.add_track(&asound, &[]).unwrap();
    a.expect("negotiationneeded", |e| matches!(e, Event::NegotiationNeeded).then_some(()));
    negotiate(&a, &b);
    let (_, btrack, _) = next_track(&b);
    wait_samples(&collect(&btrack), 10, "audio added in a renegotiation");

    // b removes its video: a's track is muted after the next negotiation.
    b.pc.remove_track(&sender).unwrap();
    b.expect("negotiationneeded", |e| matches!(e, Event::NegotiationNeeded).then_some(()));
    negotiate(&b, &a);
    assert_eq!(expect_event(&atrack.events(), "mute", &mut |e| (*e == TrackEvent::Mute).then_some(())), ());
    assert_eq!(at.current_direction(), Some(RtpTransceiverDirection::Inactive));
}

#[test]
fn replace_track_without_renegotiation() {
    let (a, b) = (Peer::new(), Peer::new());
    let first = MediaStreamTrack::test_pattern(MediaKind::Video, TestPattern { width: 320, height: 240, ..SMALL }).unwrap();
    let sender = a.pc.add_track(&first, &[]).unwrap();
    negotiate(&a, &b);
    let (_, remote, _) = next_track(&b);
    let rx = collect(&remote);
    assert_eq!(wait_samples(&rx, 10, "first track").width, 320);
    let second = MediaStreamTrack::test_pattern(MediaKind::Video, TestPattern { width: 640, height: 360, ..SMALL }).unwrap();
    let offers_before = a.pc.local_description().unwrap().sdp;
    let _earlier: Vec<_> = a.events.try_iter().collect();
    wait(sender.clone().replace_track_owned(Some(second.clone()))).unwrap();
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        let s = rx.recv_timeout(TIMEOUT).expect("frames after replaceTrack");
        if s.width == 640 {
            assert_eq!(s.height, 360);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "replaced track never arrived");
    }
    assert_eq!(a.pc.local_description().unwrap().sdp, offers_before, "no renegotiation");
    assert!(a.events.try_iter().all(|e| !matches!(e, Event::NegotiationNeeded)));
}

#[test]
fn disabled_track_sends_black_and_parameters_apply() {
    let (a, b) = (Peer::new(), Peer::new());
    let v = video();
    let sender = a.pc.add_track(&v, &[]).unwrap();
    negotiate(&a, &b);
    let (_, remote, _) = next_track(&b);
    let (tx, rx) = flume::unbounded();
    remote.on_sample(move |s| {
        let b = s.buffer().unwrap().map_readable().unwrap();
        // Mean luma of the first row.
        let w = s.caps().unwrap().structure(0).unwrap().get::<i32>("width").unwrap() as usize;
        let mean = b[..w].iter().map(|&x| u64::from(x)).sum::<u64>() / w as u64;
        let _ = tx.send((w, mean));
    });
    wait_samples_of(&rx, 10);
    v.set_enabled(false);
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        let (_, mean) = rx.recv_timeout(TIMEOUT).expect("frames while disabled");
        if mean < 24 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "frames never turned black");
    }

    // scaleResolutionDownBy 2 halves the width on the far side.
    v.set_enabled(true);
    let mut p = sender.parameters();
    p.encodings[0].scale_resolution_down_by = Some(2.0);
    p.encodings[0].max_bitrate = Some(300_000);
    let stale = p.clone();
    wait(async move { sender.set_parameters(p).await }).unwrap();
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        let (w, _) = rx.recv_timeout(TIMEOUT).expect("frames after setParameters");
        if w == 160 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "resolution never scaled");
    }
    let sender = a.pc.senders().remove(0);
    let s2 = sender.clone();
    assert_eq!(wait(async move { s2.set_parameters(stale).await }).unwrap_err().name(), "InvalidModificationError");
    let mut bad = sender.parameters();
    bad.encodings[0].scale_resolution_down_by = Some(0.5);
    assert_eq!(wait(async move { sender.set_parameters(bad).await }).unwrap_err().name(), "RangeError");
}

fn wait_samples_of<T>(rx: &flume::Receiver<T>, n: usize) {
    for i in 0..n {
        rx.recv_timeout(TIMEOUT).unwrap_or_else(|_| panic!("only {i} of {n} samples"));
    }
}

#[test]
fn recvonly_transceiver_receives_and_stop_ends_the_track() {
    let (a, b) = (Peer::new(), Peer::new());
    let t =
        a.pc.add_transceiver(TrackOrKind::Kind(MediaKind::Video), TransceiverInit { direction: RtpTransceiverDirection::RecvOnly, ..Default::default() })
            .unwrap();
    // b answers with a track: addTrack reuses the transceiver the offer created.
    let offer = wait(a.pc.create_offer(Default::default())).unwrap();
    wait(a.pc.set_local_description(Some(offer.clone()))).unwrap();
    wait(b.pc.set_remote_description(offer)).unwrap();
    let bt = b.pc.transceivers();
    assert_eq!(bt.len(), 1);
    assert_eq!(bt[0].direction(), RtpTransceiverDirection::RecvOnly);
    b.pc.add_track(&video(), &[]).unwrap();
    assert_eq!(b.pc.transceivers().len(), 1, "addTrack reused the offered transceiver");
    assert_eq!(bt[0].direction(), RtpTransceiverDirection::SendRecv);
    a.trickle_to(&b);
    let answer = wait(b.pc.create_answer()).unwrap();
    assert!(answer.sdp.contains("a=sendonly"), "{}", answer.sdp);
    wait(b.pc.set_local_description(Some(answer.clone()))).unwrap();
    wait(a.pc.set_remote_description(answer)).unwrap();
    b.trickle_to(&a);
    let (at, remote, _) = next_track(&a);
    assert_eq!(at, t);
    wait_samples(&collect(&remote), 10, "recvonly");
    t.stop();
    assert!(t.stopped());
    assert_eq!(t.direction(), RtpTransceiverDirection::Stopped);
    assert_eq!(remote.ready_state(), wkrtc::media::TrackState::Ended);
    a.expect("negotiationneeded after stop", |e| matches!(e, Event::NegotiationNeeded).then_some(()));
}

#[test]
fn answerer_echoes_a_track_added_to_a_data_only_call() {
    let (a, b) = (Peer::new(), Peer::new());
    let _dc = a.pc.create_data_channel("d", Default::default()).unwrap();
    negotiate(&a, &b);
    a.wait_connected();
    a.pc.add_track(&video(), &[]).unwrap();
    let offer = wait(a.pc.create_offer(Default::default())).unwrap();
    wait(a.pc.set_local_description(Some(offer.clone()))).unwrap();
    wait(b.pc.set_remote_description(offer)).unwrap();
    // Echo: b sends the received track back on the same transceiver, in its answer.
    let t = b.pc.transceivers().into_iter().next().expect("a transceiver for the offered video");
    b.pc.add_track(&t.receiver().track(), &[]).unwrap();
    let answer = wait(b.pc.create_answer()).unwrap();
    assert!(answer.sdp.contains("a=sendrecv"), "{}", answer.sdp);
    wait(b.pc.set_local_description(Some(answer.clone()))).unwrap();
    wait(a.pc.set_remote_description(answer)).unwrap();
    let (_, echoed, _) = next_track(&a);
    wait_samples(&collect(&echoed), 10, "echo");
}

#[test]
fn a_rejected_section_stops_its_transceiver_and_the_rest_carries_on() {
    // a offers audio then video; the answer rejects the video section (port 0, as a browser
    // without the offered video codec writes it). Audio must still flow, the video
    // transceiver is stopped, and no renegotiation is asked for.
    let (a, b) = (Peer::new(), Peer::new());
    a.pc.add_track(&audio(), &[]).unwrap();
    let video_sender = a.pc.add_track(&video(), &[]).unwrap();
    // Two tracks added in a row: one negotiationneeded (the W3C flag).
    a.expect("negotiationneeded", |e| matches!(e, Event::NegotiationNeeded).then_some(()));
    let offer = wait(a.pc.create_offer(Default::default())).unwrap();
    wait(a.pc.set_local_description(Some(offer.clone()))).unwrap();
    wait(b.pc.set_remote_description(offer)).unwrap();
    a.trickle_to(&b);
    let answer = wait(b.pc.create_answer()).unwrap();
    wait(b.pc.set_local_description(Some(answer.clone()))).unwrap();
    b.trickle_to(&a);
    // The peer's answer as a browser would write a rejected video section.
    let mut sections: Vec<String> = answer.sdp.split("\r\nm=").map(str::to_owned).collect();
    let video = sections.iter().position(|s| s.starts_with("video ")).expect("a video section");
    let mid = sections[video].lines().find_map(|l| l.strip_prefix("a=mid:")).unwrap().to_owned();
    let formats = sections[video].lines().next().unwrap().split(' ').skip(3).collect::<Vec<_>>().join(" ");
    sections[video] = format!("video 0 UDP/TLS/RTP/SAVPF {formats}\r\nc=IN IP4 0.0.0.0\r\na=inactive\r\na=mid:{mid}");
    let rejected = sections.join("\r\nm=") + "\r\n";
    if let Err(e) = wait(a.pc.set_remote_description(wkrtc::SessionDescription::answer(rejected.clone()))) {
        panic!("{e}\n{rejected}");
    }

    let audio_at_b = b.expect("track", |e| match e {
        Event::Track { track, .. } if track.kind() == MediaKind::Audio => Some(track.clone()),
        _ => None,
    });
    wait_samples(&collect(&audio_at_b), 25, "audio beside the rejected video");
    let t = a.pc.transceivers().into_iter().find(|t| t.sender().ssrc() == video_sender.ssrc()).unwrap();
    assert!(t.stopped(), "the rejected transceiver is stopped");
    assert_eq!(t.current_direction(), Some(RtpTransceiverDirection::Stopped));
    assert!(a.events.try_iter().all(|e| !matches!(e, Event::NegotiationNeeded)), "a rejected section needs no renegotiation");
}

#[test]
fn answers_list_every_common_codec_in_preference_order() {
    let (a, b) = (Peer::new(), Peer::new());
    a.pc.add_track(&video(), &[]).unwrap();
    a.pc.add_track(&audio(), &[]).unwrap();
    let offer = wait(a.pc.create_offer(Default::default())).unwrap();
    wait(a.pc.set_local_description(Some(offer.clone()))).unwrap();
    wait(b.pc.set_remote_description(offer)).unwrap();
    a.trickle_to(&b);
    // b prefers VP9, then VP8 (no H264), and sends video back.
    let bt = b.pc.transceivers().into_iter().find(|t| t.kind() == MediaKind::Video).unwrap();
    let caps = receiver_capabilities(MediaKind::Video);
    let pick = |mime: &str| caps.iter().find(|c| c.mime_type == mime).unwrap().clone();
    bt.set_codec_preferences(&[pick("video/VP9"), pick("video/VP8")]).unwrap();
    b.pc.add_track(&video(), &[]).unwrap();
    let answer = wait(b.pc.create_answer()).unwrap();
    let parsed = wkrtc::jsep::ParsedDescription::parse(&answer.sdp).unwrap();
    let sections = parsed.media_sections();
    let names = |kind: &str| sections.iter().find(|s| s.media == kind).unwrap().formats.iter().map(|f| f.encoding_name.to_uppercase()).collect::<Vec<_>>();
    // VP9 and VP8 in b's order, no H264; retransmission only for what was kept.
    let video_names = names("video");
    assert_eq!(video_names[..2], ["VP9", "VP8"], "{}", answer.sdp);
    assert!(video_names[2..].iter().all(|n| n == "RTX"), "{}", answer.sdp);
    // Then DTMF at each clock rate offered (RFC 4733).
    assert_eq!(names("audio"), vec!["OPUS", "PCMU", "PCMA", "TELEPHONE-EVENT", "TELEPHONE-EVENT"], "{}", answer.sdp);
    wait(b.pc.set_local_description(Some(answer.clone()))).unwrap();
    wait(a.pc.set_remote_description(answer)).unwrap();
    b.trickle_to(&a);
    // Both sides send the answer's first codec.
    let (_, at_a, _) = next_track(&a);
    wait_samples(&collect(&at_a), 10, "VP9 from the answerer");
    let vp9 = |p: &Peer| {
        let t = p.pc.transceivers().into_iter().find(|t| t.kind() == MediaKind::Video).unwrap();
        t.sender().parameters().codecs.first().map(|c| c.codec.mime_type.clone())
    };
    let at_b = b.expect("track", |e| match e {
        Event::Track { track, .. } if track.kind() == MediaKind::Video => Some(track.clone()),
        _ => None,
    });
    wait_samples(&collect(&at_b), 10, "VP9 from the offerer");
    assert_eq!(vp9(&a).as_deref(), Some("video/VP9"));
    assert_eq!(vp9(&b).as_deref(), Some("video/VP9"));
}

/// `sender.setStreams()`: later descriptions announce the track in the new streams, and the
/// change needs negotiation (W3C, "check if negotiation is needed").
#[test]
fn set_streams_renegotiates_the_announced_streams() {
    let (a, b) = (Peer::new(), Peer::new());
    let sender = a.pc.add_track(&video(), &["s".into()]).unwrap();
    negotiate(&a, &b);
    let remote = b.expect("track", |e| match e {
        Event::Track { streams, transceiver, .. } => Some((streams.clone(), transceiver.clone())),
        _ => None,
    });
    assert_eq!(remote.0, vec!["s".to_owned()]);
    while a.pc.events().try_recv().is_ok() {}
    sender.set_streams(&["t".into(), "u".into(), "t".into()]).unwrap();
    assert_eq!(sender.stream_ids(), vec!["t".to_owned(), "u".to_owned()], "duplicates are dropped");
    a.expect("negotiationneeded", |e| matches!(e, Event::NegotiationNeeded).then_some(()));
    negotiate(&a, &b);
    assert_eq!(remote.1.receiver().stream_ids(), vec!["t".to_owned(), "u".to_owned()]);
    assert_eq!(sender.set_streams(&["a\0b".into()]).unwrap_err().name(), "NotSupportedError");
    a.pc.close();
    assert_eq!(sender.set_streams(&["v".into()]).unwrap_err().name(), "InvalidStateError");
}

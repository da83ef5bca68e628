// SPDX-License-Identifier: MPL-2.0
//! `wkrtc serve`'s signaling under bad input, with a real wkrtc peer playing the page: a
//! client sending garbage, SDES or nothing at all gets errors or is dropped, and other
//! sessions (before, during and after) complete real calls with verified echoes.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::{stream::MaybeTlsStream, Message, WebSocket};
use wkrtc::{DataChannelEvent, DataChannelInit, Event, IceCandidate, OfferOptions, PeerConnection, SessionDescription, Settings};
use wkrtc_cli::serve::{pattern, Options, Server};

const TIMEOUT: Duration = Duration::from_secs(15);

type Ws = WebSocket<MaybeTlsStream<TcpStream>>;

fn connect(server: &Server) -> Ws {
    let (mut ws, _) = tungstenite::connect(format!("ws://{}/ws", server.addr())).expect("websocket");
    if let MaybeTlsStream::Plain(s) = ws.get_mut() {
        s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    }
    let hello = next(&mut ws, "hello");
    assert!(hello["session"].as_u64().is_some());
    ws
}

fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).unwrap();
}

/// The next message of `kind`, skipping others; panics after TIMEOUT.
fn next(ws: &mut Ws, kind: &str) -> Value {
    let deadline = Instant::now() + TIMEOUT;
    while Instant::now() < deadline {
        match ws.read() {
            Ok(Message::Text(t)) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                if v["type"] == kind {
                    return v;
                }
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e)) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(e) => panic!("signaling socket: {e}"),
        }
    }
    panic!("no '{kind}' message within {TIMEOUT:?}");
}

fn wait<T: Send + 'static>(fut: impl std::future::Future<Output = T> + Send + 'static) -> T {
    let (tx, rx) = flume::bounded(1);
    std::thread::spawn(move || {
        let _ = tx.send(futures::executor::block_on(fut));
    });
    rx.recv_timeout(TIMEOUT).expect("timed out")
}

/// A complete call through the server: a wkrtc peer plays the page, offers a channel,
/// trickles, and checks that 20 verifiable messages come back intact.
fn full_call(server: &Server) {
    let mut ws = connect(server);
    send(&mut ws, json!({"type": "start"}));
    let pc = PeerConnection::with_settings(Default::default(), Settings::loopback()).unwrap();
    let dc = pc.create_data_channel("echo", DataChannelInit::default()).unwrap();
    let offer = wait(pc.create_offer(OfferOptions::default())).unwrap();
    wait(pc.set_local_description(Some(offer.clone()))).unwrap();
    send(&mut ws, json!({"type": "offer", "sdp": offer.sdp}));
    let answer = next(&mut ws, "answer");
    wait(pc.set_remote_description(SessionDescription::answer(answer["sdp"].as_str().unwrap()))).unwrap();
    let events = pc.events();
    let deadline = Instant::now() + TIMEOUT;
    let dc_events = dc.events();
    let mut open = false;
    while !open {
        assert!(Instant::now() < deadline, "channel did not open");
        while let Ok(ev) = events.try_recv() {
            if let Event::IceCandidate(Some(c)) = ev {
                send(&mut ws, json!({"type": "candidate", "candidate": c.candidate, "sdpMid": c.sdp_mid, "sdpMLineIndex": c.sdp_mline_index}));
            }
        }
        if let Ok(Message::Text(t)) = ws.read() {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["type"] == "candidate" && v["candidate"].is_string() {
                let c =
                    IceCandidate::new(v["candidate"].as_str().unwrap(), v["sdpMid"].as_str().map(str::to_owned), v["sdpMLineIndex"].as_u64().map(|i| i as u32));
                wait(pc.add_ice_candidate(Some(c))).unwrap();
            }
        }
        open = dc_events.try_recv() == Ok(DataChannelEvent::Open);
    }
    for seq in 0..20 {
        dc.send_binary(&pattern::message(seq, 100 + seq as usize * 1000)).unwrap();
    }
    let mut seq = 0;
    while seq < 20 {
        match dc_events.recv_timeout(TIMEOUT) {
            Ok(DataChannelEvent::Message(wkrtc::Message::Binary(b))) => {
                assert_eq!(pattern::check(&b), Ok(seq));
                seq += 1;
            }
            Ok(DataChannelEvent::BufferedAmountLow) => {}
            other => panic!("expected echo {seq}, got {other:?}"),
        }
    }
    pc.close();
}

#[test]
fn bad_clients_do_not_disturb_good_ones() {
    let server = Server::start(Options { settings: Settings::loopback(), ..Options::default() }).unwrap();
    full_call(&server);

    let mut bad = connect(&server);
    let cases = [
        ("this is not json", "SyntaxError"),
        (r#"{"type":"no-such-thing"}"#, "TypeError"),
        (r#"{"type":"offer"}"#, "TypeError"),
        (r#"{"type":"offer","sdp":"garbage"}"#, "SyntaxError"),
        (r#"{"type":"answer","sdp":"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"}"#, "InvalidStateError"),
        (r#"{"type":"candidate","candidate":"candidate:1 1 UDP 1 127.0.0.1 9 typ host","sdpMid":"0"}"#, "InvalidStateError"),
        (r#"{"type":"send","label":"nope"}"#, "NotFoundError"),
        (r#"{"type":"remove-media","kind":"smell"}"#, "TypeError"),
    ];
    for (text, name) in cases {
        bad.send(Message::text(text)).unwrap();
        let err = next(&mut bad, "error");
        assert_eq!(err["name"], name, "{text}: {err}");
    }
    let sdes = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n";
    send(&mut bad, json!({"type": "offer", "sdp": sdes}));
    assert_eq!(next(&mut bad, "error")["name"], "InvalidAccessError");
    bad.send(Message::binary(vec![0u8, 1, 2])).unwrap();
    assert_eq!(next(&mut bad, "error")["name"], "TypeError");

    // Test-pattern tracks: an oversized request is clamped, a fifth track refused.
    for _ in 0..2 {
        send(&mut bad, json!({"type": "add-media", "width": 100000, "height": 100000, "framerate": 1000}));
    }
    send(&mut bad, json!({"type": "add-media"}));
    let refused = next(&mut bad, "error");
    assert_eq!(refused["name"], "OperationError", "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("at most 4"), "{refused}");

    // A client that disappears in the middle of an offer.
    let mut vanishing = connect(&server);
    let pc = PeerConnection::with_settings(Default::default(), Settings::loopback()).unwrap();
    let _dc = pc.create_data_channel("x", DataChannelInit::default()).unwrap();
    let offer = wait(pc.create_offer(OfferOptions::default())).unwrap();
    send(&mut vanishing, json!({"type": "offer", "sdp": offer.sdp}));
    drop(vanishing);

    // Raw garbage instead of HTTP.
    {
        use std::io::Write;
        let mut raw = TcpStream::connect(server.addr()).unwrap();
        raw.write_all(b"\x16\x03\x01garbage that is not HTTP\r\n\r\n").unwrap();
    }

    // The bad client's session still works, and new sessions complete calls.
    send(&mut bad, json!({"type": "stats"}));
    assert_eq!(next(&mut bad, "stats")["type"], "stats");
    full_call(&server);
    full_call(&server);
}

#[test]
fn pages_and_reports() {
    let page = wkrtc_cli::serve::Page { path: "/test/x.html".into(), content_type: "text/html".into(), body: b"<p>x</p>".to_vec() };
    let server = Server::start(Options { pages: vec![page], settings: Settings::loopback(), ..Options::default() }).unwrap();
    let get = |path: &str| {
        use std::io::{Read, Write};
        let mut s = TcpStream::connect(server.addr()).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    assert!(get("/").contains("wkrtc serve"));
    assert!(get("/wkrtc-client.js").contains("window.Wkrtc"));
    assert!(get("/test/x.html").ends_with("<p>x</p>"));
    assert!(get("/missing").starts_with("HTTP/1.1 404"));
    let mut ws = connect(&server);
    send(&mut ws, json!({"type": "report", "scenario": "demo", "ok": true}));
    let report = server.reports().recv_timeout(TIMEOUT).unwrap();
    assert_eq!(report["scenario"], "demo");
}

#[test]
fn sessions_beyond_the_limit_are_refused() {
    let server = Server::start(Options { settings: Settings::loopback(), max_sessions: 2, ..Options::default() }).unwrap();
    let first = connect(&server);
    let _second = connect(&server);
    match tungstenite::connect(format!("ws://{}/ws", server.addr())) {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 503),
        other => panic!("a third session was not refused: {:?}", other.map(|_| ())),
    }
    // A slot comes back when a session ends (bounded wait: its thread notices the close).
    drop(first);
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Ok((mut ws, _)) = tungstenite::connect(format!("ws://{}/ws", server.addr())) {
            if let MaybeTlsStream::Plain(s) = ws.get_mut() {
                s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
            }
            next(&mut ws, "hello");
            break;
        }
        assert!(Instant::now() < deadline, "the slot of a closed session never came back");
        std::thread::yield_now();
    }
}

/// RFC 6455, section 7.4.1: a message over the server's limit is closed with 1009, text that
/// is not UTF-8 with 1007; the server goes on serving.
#[test]
fn protocol_violations_close_with_their_codes() {
    use tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
    use tungstenite::protocol::frame::Frame;
    let server = Server::start(Options { settings: Settings::loopback(), ..Options::default() }).unwrap();
    let close_code = |ws: &mut Ws| {
        let deadline = Instant::now() + TIMEOUT;
        while Instant::now() < deadline {
            match ws.read() {
                Ok(Message::Close(frame)) => return frame.map(|f| f.code),
                Ok(_) => {}
                Err(tungstenite::Error::Io(e)) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(e) => panic!("no close frame: {e}"),
            }
        }
        panic!("no close frame within {TIMEOUT:?}");
    };
    let mut big = connect(&server);
    big.send(Message::binary(vec![0u8; 2 * 1024 * 1024])).unwrap();
    assert_eq!(close_code(&mut big), Some(CloseCode::Size));
    let mut bad_text = connect(&server);
    bad_text.write(Message::Frame(Frame::message(vec![b'{', 0xff, 0xfe, b'}'], OpCode::Data(Data::Text), true))).unwrap();
    bad_text.flush().unwrap();
    assert_eq!(close_code(&mut bad_text), Some(CloseCode::Invalid));
    full_call(&server);
}

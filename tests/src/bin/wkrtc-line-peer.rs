// SPDX-License-Identifier: MPL-2.0
//! A wkrtc peer driven over JSON lines on stdin and stdout, for tests that need the far side
//! in another process (another network namespace, behind a lossy link): the same protocol as
//! `tests/peers/aiortc_peer.py`.
//!
//! `wkrtc-line-peer ADDRESS`: gathers on ADDRESS only, answers the offers it reads, trickles
//! its candidates (`{"type": "candidate", ...}`), echoes every data-channel message and
//! counts the video frames it decodes. It reports `{"type": "state", "state": ...}` for each
//! connection state, `{"type": "frames", "n": N}` once a second while it decodes video, and
//! exits when its input ends.

use std::io::{BufRead, Write};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use wkrtc::{DataChannel, DataChannelEvent, Event, IceCandidate, Message, PeerConnection, SdpType, SessionDescription, Settings};

fn emit(out: &Mutex<std::io::Stdout>, v: Value) {
    let mut out = out.lock().unwrap_or_else(|e| e.into_inner());
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

/// Echoes every message in order. Messages wait in a queue while the channel's buffer is
/// full and go out on `bufferedamountlow`: nothing is dropped, nothing is reordered.
fn echo(dc: DataChannel) {
    const HIGH: u64 = 4 * 1024 * 1024;
    dc.set_buffered_amount_low_threshold(HIGH / 4);
    std::thread::spawn(move || {
        let mut queue = std::collections::VecDeque::new();
        for ev in dc.events().iter() {
            match ev {
                DataChannelEvent::Message(m) => queue.push_back(m),
                DataChannelEvent::BufferedAmountLow => {}
                DataChannelEvent::Close => return,
                _ => continue,
            }
            while dc.buffered_amount() < HIGH {
                let sent = match queue.pop_front() {
                    Some(Message::Text(t)) => dc.send_text(&t),
                    Some(Message::Binary(b)) => dc.send_binary(&b),
                    None => break,
                };
                if sent.is_err() {
                    return;
                }
            }
        }
    });
}

fn main() {
    let Some(address) = std::env::args().nth(1).and_then(|a| a.parse().ok()) else {
        eprintln!("usage: wkrtc-line-peer ADDRESS");
        std::process::exit(2);
    };
    let settings = Settings { local_addresses: vec![address], ..Settings::loopback() };
    let pc = match PeerConnection::with_settings(Default::default(), settings) {
        Ok(pc) => pc,
        Err(e) => {
            eprintln!("wkrtc-line-peer: {e}");
            std::process::exit(1);
        }
    };
    let out = Arc::new(Mutex::new(std::io::stdout()));
    let frames = Arc::new(std::sync::atomic::AtomicU64::new(0));
    {
        let (events, out, frames) = (pc.events(), out.clone(), frames.clone());
        std::thread::spawn(move || {
            for ev in events.iter() {
                match ev {
                    Event::IceCandidate(Some(c)) => {
                        emit(&out, json!({"type": "candidate", "candidate": c.candidate, "sdpMid": c.sdp_mid, "sdpMLineIndex": c.sdp_mline_index}))
                    }
                    Event::ConnectionStateChange(s) => emit(&out, json!({"type": "state", "state": format!("{s:?}").to_lowercase()})),
                    Event::DataChannel(dc) => echo(dc),
                    Event::Track { track, .. } => {
                        let frames = frames.clone();
                        track.on_sample(move |_| {
                            frames.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        });
                    }
                    _ => {}
                }
            }
        });
    }
    {
        let (out, frames) = (out.clone(), frames.clone());
        std::thread::spawn(move || loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
            let n = frames.load(std::sync::atomic::Ordering::Relaxed);
            if n > 0 {
                emit(&out, json!({"type": "frames", "n": n}));
            }
        });
    }
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        let Ok(msg) = serde_json::from_str::<Value>(&line) else { continue };
        let text = |k: &str| msg[k].as_str().unwrap_or_default().to_owned();
        let outcome = match msg["type"].as_str() {
            Some("offer") => futures::executor::block_on(async {
                pc.set_remote_description(SessionDescription::new(SdpType::Offer, text("sdp"))).await?;
                let answer = pc.create_answer().await?;
                pc.set_local_description(Some(answer.clone())).await?;
                emit(&out, json!({"type": "answer", "sdp": answer.sdp}));
                Ok(())
            }),
            Some("candidate") => {
                let c = IceCandidate::new(text("candidate"), msg["sdpMid"].as_str().map(str::to_owned), msg["sdpMLineIndex"].as_u64().map(|i| i as u32));
                futures::executor::block_on(pc.add_ice_candidate(Some(c)))
            }
            _ => Ok(()),
        };
        if let Err(e) = outcome {
            emit(&out, json!({"type": "error", "name": e.name(), "message": e.message()}));
        }
    }
    pc.close();
}

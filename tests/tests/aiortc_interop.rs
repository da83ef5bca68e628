// SPDX-License-Identifier: MPL-2.0
//! wkrtc against aiortc (PyPI), a stack that follows the RFCs to the letter (`harness =
//! false`, in a private network namespace like the browser tests).
//!
//! - wkrtc offers and aiortc answers: aiortc is the DTLS client and offers only ECDHE-ECDSA
//!   suites (RFC 8827, section 6.5), so the call works only if wkrtc presents an ECDSA
//!   certificate; 200 messages of up to 64 KiB are echoed and checked byte for byte. The
//!   same call with an RSA certificate (`Settings::certificate_key`) must fail in the DTLS
//!   handshake: that is what wkrtc did with GStreamer's default certificate.
//! - aiortc offers and wkrtc answers: aiortc sends 200 messages and checks wkrtc's echoes.
//! - aiortc ignores wkrtc's `a=max-message-size` and sends 131,072 bytes between two small
//!   messages: wkrtc delivers the first small message, never a piece of the large one,
//!   reports an error on the channel and closes it.
//!
//! Ends with `N passed, M failed`.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use wkrtc::{DataChannel, DataChannelEvent, DataChannelInit, Event, IceGatheringState, KeyAlgorithm, Message, OfferOptions, PeerConnection, Settings};
use wkrtc_interop::aiortc;
use wkrtc_interop::line_peer::{description, line, pump, LinePeer};
use wkrtc_interop::netns;
use wkrtc_interop::runner;

const NAME: &str = "aiortc_interop";
const MESSAGES: usize = 200;
const STEP: Duration = Duration::from_secs(20);

fn settings() -> Result<Settings> {
    Ok(Settings { local_addresses: vec![netns::DUMMY_ADDR.parse().context("the namespace address")?], ..Settings::loopback() })
}

/// The i-th message wkrtc sends: text and binary in turns, up to 64 KiB.
fn payload(i: usize) -> Message {
    let size: usize = [1, 100, 1200, 5000, 16384, 65536][i % 6];
    if i.is_multiple_of(2) {
        let mut s = format!("{i}:");
        s.extend(std::iter::repeat_n('y', size.saturating_sub(s.len())));
        s.truncate(size);
        Message::Text(s)
    } else {
        Message::Binary((0..size).map(|k| ((i * 7 + k) % 256) as u8).collect())
    }
}

fn send(dc: &DataChannel, m: &Message) -> Result<()> {
    match m {
        Message::Text(t) => dc.send_text(t)?,
        Message::Binary(b) => dc.send_binary(b)?,
    }
    Ok(())
}

fn next_event(dc: &DataChannel, limit: Duration) -> Result<DataChannelEvent> {
    dc.events().recv_timeout(limit).with_context(|| format!("no data-channel event within {limit:?}"))
}

fn wait_open(dc: &DataChannel) -> Result<()> {
    loop {
        match next_event(dc, STEP)? {
            DataChannelEvent::Open => return Ok(()),
            DataChannelEvent::Error(e) => bail!("{e}"),
            _ => {}
        }
    }
}

/// Sends wkrtc's candidates to aiortc until wkrtc has gathered them all.
fn trickle_all(pc: &PeerConnection, peer: &mut LinePeer) -> Result<()> {
    pump(pc, peer, STEP, |e| matches!(e, Event::IceGatheringStateChange(IceGatheringState::Complete)).then_some(()))
}

/// wkrtc offers with `settings`; aiortc answers and echoes. Returns the channel and aiortc.
fn wkrtc_offers(settings: Settings) -> Result<(PeerConnection, DataChannel, LinePeer, Instant)> {
    let mut peer = aiortc::start(&["echo"])?;
    let pc = PeerConnection::with_settings(Default::default(), settings)?;
    let dc = pc.create_data_channel("chat", DataChannelInit::default())?;
    let started = Instant::now();
    let offer = futures::executor::block_on(pc.create_offer(OfferOptions::default()))?;
    futures::executor::block_on(pc.set_local_description(Some(offer.clone())))?;
    peer.send(&line(&offer))?;
    let answer = description(&peer.expect("answer", STEP)?)?;
    futures::executor::block_on(pc.set_remote_description(answer))?;
    Ok((pc, dc, peer, started))
}

fn ecdsa_call() -> Result<String> {
    let (pc, dc, mut peer, started) = wkrtc_offers(settings()?)?;
    trickle_all(&pc, &mut peer)?;
    wait_open(&dc)?;
    let open_ms = started.elapsed().as_secs_f64() * 1000.0;
    let dtls = peer.expect("dtls", STEP)?;
    ensure!(dtls["state"] == "connected", "aiortc's DTLS: {dtls}");
    let cipher = dtls["cipher"].as_str().unwrap_or_default().to_owned();
    ensure!(cipher.starts_with("ECDHE-ECDSA"), "aiortc negotiated {cipher}");
    let sent: Vec<Message> = (0..MESSAGES).map(payload).collect();
    for m in &sent {
        send(&dc, m)?;
    }
    for (i, want) in sent.iter().enumerate() {
        loop {
            match next_event(&dc, STEP)? {
                DataChannelEvent::Message(got) => {
                    ensure!(&got == want, "echo {i} differs");
                    break;
                }
                DataChannelEvent::BufferedAmountLow => {}
                other => bail!("echo {i}: {other:?} instead of a message"),
            }
        }
    }
    Ok(format!("{cipher}; offer to open {open_ms:.0} ms; {MESSAGES} echoes verified"))
}

fn rsa_refused() -> Result<String> {
    let rsa = Settings { certificate_key: KeyAlgorithm::Rsa { modulus_length: 2048 }, ..settings()? };
    let (pc, dc, mut peer, _) = wkrtc_offers(rsa)?;
    trickle_all(&pc, &mut peer)?;
    // The handshake cannot succeed: aiortc reports the failure when wkrtc's alert reaches
    // it, or keeps retrying in vain. Either way no channel opens (a bounded wait for an
    // absence: the certificate never becomes acceptable).
    match peer.expect("dtls", Duration::from_secs(10)) {
        Ok(dtls) => ensure!(dtls["state"] == "failed", "aiortc's DTLS with an RSA certificate: {dtls}"),
        Err(_) => ensure!(pc.connection_state() != wkrtc::PeerConnectionState::Connected, "connected with an RSA certificate"),
    }
    ensure!(dc.ready_state() != wkrtc::DataChannelState::Open, "the channel opened");
    Ok("aiortc refused the RSA certificate (no shared cipher), as expected".into())
}

/// aiortc offers (running `args`) and wkrtc answers; returns the channel aiortc opened.
fn aiortc_offers_with(args: &[&str]) -> Result<(PeerConnection, DataChannel, LinePeer)> {
    let mut peer = aiortc::start(args)?;
    let pc = PeerConnection::with_settings(Default::default(), settings()?)?;
    let offer = description(&peer.expect("offer", STEP)?)?;
    futures::executor::block_on(pc.set_remote_description(offer))?;
    let answer = futures::executor::block_on(pc.create_answer())?;
    futures::executor::block_on(pc.set_local_description(Some(answer.clone())))?;
    peer.send(&line(&answer))?;
    let dc = pump(&pc, &mut peer, STEP, |e| match e {
        Event::DataChannel(dc) => Some(dc.clone()),
        _ => None,
    })?;
    Ok((pc, dc, peer))
}

fn aiortc_offers() -> Result<String> {
    let (_pc, dc, peer) = aiortc_offers_with(&["send", &MESSAGES.to_string()])?;
    // Echo until aiortc has all its messages back.
    let echo = dc.clone();
    let echoing = std::thread::spawn(move || -> Result<usize> {
        let mut n = 0;
        while n < MESSAGES {
            match next_event(&echo, STEP)? {
                DataChannelEvent::Message(m) => {
                    send(&echo, &m)?;
                    n += 1;
                }
                DataChannelEvent::Error(e) => bail!("{e}"),
                _ => {}
            }
        }
        Ok(n)
    });
    let result = peer.expect("result", STEP * 2)?;
    let echoed = echoing.join().map_err(|_| anyhow::anyhow!("echo thread panicked"))??;
    ensure!(result["verified"] == MESSAGES, "aiortc verified {} of {MESSAGES} (first bad: {})", result["verified"], result["first_bad"]);
    Ok(format!("{echoed} messages echoed by wkrtc, all verified by aiortc"))
}

fn oversize() -> Result<String> {
    let (_pc, dc, peer) = aiortc_offers_with(&["oversize"])?;
    let (mut messages, mut error) = (Vec::new(), None);
    loop {
        match next_event(&dc, STEP)? {
            DataChannelEvent::Message(m) => messages.push(m),
            DataChannelEvent::Error(e) => error = Some(e),
            DataChannelEvent::Close => break,
            _ => {}
        }
    }
    let error = error.context("no error event before close")?;
    ensure!(error.name() == "OperationError", "{error:?}");
    ensure!(
        messages == vec![Message::Text("before".into())],
        "delivered: {:?}",
        messages.iter().map(|m| format!("{m:?}").chars().take(40).collect::<String>()).collect::<Vec<_>>()
    );
    let result = peer.expect("result", STEP)?;
    ensure!(result["closed"] == true, "aiortc: {result}");
    Ok(format!("'before' delivered, the 131,072-byte message refused ({}), channel closed on both sides", error.message()))
}

fn main() -> ExitCode {
    let mut tally = match runner::begin(NAME) {
        Ok(t) => t,
        Err(code) => return code,
    };
    match aiortc::available() {
        Ok(v) => println!("aiortc {v}"),
        Err(e) => {
            tally.fail("aiortc", &format!("{e:#}"));
            return tally.finish();
        }
    }
    type Scenario = fn() -> Result<String>;
    let scenarios: [(&str, Scenario); 4] =
        [("wkrtc-offers-ecdsa", ecdsa_call), ("wkrtc-offers-rsa-refused", rsa_refused), ("aiortc-offers", aiortc_offers), ("oversize", oversize)];
    for (name, scenario) in scenarios {
        if runner::wanted(name) {
            if let Some(figures) = tally.check(&format!("aiortc {name}"), scenario) {
                println!("  {figures}");
            }
        }
    }
    tally.finish()
}

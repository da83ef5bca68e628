// SPDX-License-Identifier: MPL-2.0
//! TURN (RFC 8656) through a real coturn on loopback: with `iceTransportPolicy: "relay"` both
//! peers gather only relayed candidates, connect through the server, and data flows; over
//! UDP and over TCP to the server; and with the server and policy given by `setConfiguration`.

mod common;
use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use wkrtc::{Configuration, DataChannelInit, IceServer, IceTransportPolicy, Message, PeerConnection, Settings};

const USER: &str = "wkrtc";
const PASSWORD: &str = "not a secret";

/// A coturn on 127.0.0.1, stopped on drop.
struct Coturn {
    child: Child,
    port: u16,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Coturn {
    fn start(port: u16, relay_ports: (u16, u16)) -> Self {
        let dir = std::env::temp_dir().join(format!("wkrtc-coturn-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = Command::new("turnserver")
            .args(["-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", "--allow-loopback-peers", "--lt-cred-mech", "--fingerprint"])
            .args(["--realm=wkrtc.test", "--no-tls", "--no-dtls", "--no-cli", "--log-file=stdout"])
            .arg(format!("--listening-port={port}"))
            .arg(format!("--user={USER}:{PASSWORD}"))
            .arg(format!("--min-port={}", relay_ports.0))
            .arg(format!("--max-port={}", relay_ports.1))
            .arg(format!("--pidfile={}", dir.join("turn.pid").display()))
            .arg(format!("--userdb={}", dir.join("turndb").display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("turnserver (Debian package coturn; scripts/setup.sh installs it)");
        // Ready once it reports its servers...
        let (tx, rx) = flume::unbounded();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("Total General servers") {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(TIMEOUT).expect("coturn did not start");
        // ...and answers a STUN binding request (RFC 8489, section 5).
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let request = [0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        let deadline = Instant::now() + TIMEOUT;
        let mut buf = [0u8; 512];
        loop {
            socket.send_to(&request, ("127.0.0.1", port)).unwrap();
            if let Ok((n, _)) = socket.recv_from(&mut buf) {
                if n >= 20 && buf[0..2] == [0x01, 0x01] {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "coturn does not answer STUN");
        }
        Self { child, port, _dir: TempDir(dir) }
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn relay_peer(url: &str) -> Peer {
    let config =
        Configuration { ice_servers: vec![IceServer::turn(url, USER, PASSWORD)], ice_transport_policy: IceTransportPolicy::Relay, ..Default::default() };
    Peer::with(PeerConnection::with_settings(config, Settings::loopback()).unwrap())
}

/// A peer made without servers, given the TURN server and the relay policy by
/// `setConfiguration` before its first gathering.
fn reconfigured_peer(url: &str) -> Peer {
    let p = Peer::with(PeerConnection::with_settings(Configuration::default(), Settings::loopback()).unwrap());
    let config =
        Configuration { ice_servers: vec![IceServer::turn(url, USER, PASSWORD)], ice_transport_policy: IceTransportPolicy::Relay, ..Default::default() };
    p.pc.set_configuration(config.clone()).unwrap();
    assert_eq!(p.pc.configuration().ice_servers, config.ice_servers);
    p
}

fn call_through(url: &str) {
    call_between(relay_peer(url), relay_peer(url));
}

fn call_between(a: Peer, b: Peer) {
    let dc_a = a.pc.create_data_channel("relayed", DataChannelInit::default()).unwrap();
    negotiate(&a, &b);
    let dc_b = b.next_data_channel();
    wait_open(&dc_a);
    for i in 0..100 {
        dc_a.send_text(&format!("a{i}")).unwrap();
        dc_b.send_text(&format!("b{i}")).unwrap();
    }
    for i in 0..100 {
        assert_eq!(next_message(&dc_b), Message::Text(format!("a{i}")));
        assert_eq!(next_message(&dc_a), Message::Text(format!("b{i}")));
    }
    for p in [&a, &b] {
        let gathered = p.gathered.lock().unwrap().clone();
        assert!(!gathered.is_empty(), "no candidates");
        assert!(gathered.iter().all(|c| c.contains(" typ relay")), "relay policy leaked other candidates: {gathered:?}");
    }
}

#[test]
fn relay_only_over_udp_and_tcp() {
    let port = 20000 + (std::process::id() % 5000) as u16;
    let relay = 40000 + (std::process::id() % 400) as u16 * 50;
    let server = Coturn::start(port, (relay, relay + 49));
    call_through(&format!("turn:127.0.0.1:{}", server.port));
    call_through(&format!("turn:127.0.0.1:{}?transport=tcp", server.port));
    let url = format!("turn:127.0.0.1:{}", server.port);
    call_between(reconfigured_peer(&url), reconfigured_peer(&url));
}

// SPDX-License-Identifier: MPL-2.0
//! Hostile SDP and candidate text never panics the pure layer: 20,000 mutations of a real
//! browser offer (bytes flipped, lines dropped, duplicated, truncated, spliced) each either
//! parse and validate to a result or fail with a W3C error.

use wkrtc::jsep::{IceCandidate, ParsedDescription};

const OFFER: &str = "v=0\r\n\
o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n\
s=-\r\n\
t=0 0\r\n\
a=group:BUNDLE 0\r\n\
a=extmap-allow-mixed\r\n\
a=msid-semantic: WMS\r\n\
m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n\
c=IN IP4 0.0.0.0\r\n\
a=candidate:1 1 udp 2113937151 6f0b1e4c-7a9e-4a3b-9d61-2b7a1f0c9e11.local 54321 typ host generation 0\r\n\
a=ice-ufrag:Zx9r\r\n\
a=ice-pwd:2bKq8mD0pHq1mB8yJk3Lw5dO\r\n\
a=ice-options:trickle\r\n\
a=fingerprint:sha-256 DE:2F:19:9B:C6:4D:AE:C2:0F:01:B8:FF:AA:56:CB:EB:04:D1:EF:FB:34:5E:08:88:2C:2C:65:45:77:A5:68:15\r\n\
a=setup:actpass\r\n\
a=mid:0\r\n\
a=sctp-port:5000\r\n\
a=max-message-size:262144\r\n";

/// xorshift64*: deterministic, so a failure names its iteration.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut lines: Vec<String> = text.split("\r\n").map(str::to_owned).collect();
    for _ in 0..1 + rng.below(4) {
        let i = rng.below(lines.len());
        match rng.below(7) {
            0 => {
                lines.remove(i);
            }
            1 => {
                let l = lines[i].clone();
                lines.insert(i, l);
            }
            2 => {
                let cut = rng.below(lines[i].len() + 1);
                lines[i] = lines[i].chars().take(cut).collect();
            }
            3 => {
                let mut bytes = lines[i].clone().into_bytes();
                if !bytes.is_empty() {
                    let j = rng.below(bytes.len());
                    bytes[j] = (rng.next() & 0x7f) as u8;
                }
                lines[i] = String::from_utf8_lossy(&bytes).into_owned();
            }
            4 => {
                let j = rng.below(lines.len());
                lines.swap(i, j);
            }
            5 => lines[i] = format!("a={}", "x".repeat(rng.below(5000))),
            _ => lines.insert(
                i,
                ["m=audio 0 RTP/AVP 0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AA", "a=fingerprint:sha-1 00", "c=IN IP6 ::1", "a=mid:"][rng.below(5)]
                    .to_owned(),
            ),
        }
    }
    lines.join(if rng.below(4) == 0 { "\n" } else { "\r\n" })
}

#[test]
fn mutated_offers_never_panic() {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let (mut accepted, mut refused) = (0, 0);
    for i in 0..20_000 {
        let text = mutate(&mut rng, OFFER);
        let outcome = std::panic::catch_unwind(|| match ParsedDescription::parse(&text) {
            Ok(d) => {
                let _ = d.fingerprints();
                let _ = (d.mids(), d.ice_ufrags(), d.ice_credentials(), d.max_message_size());
                let line = text.lines().find(|l| l.starts_with("a=candidate")).unwrap_or("candidate:");
                for mid in [Some("0".to_owned()), None] {
                    let _ = IceCandidate::new(line, mid, Some(0)).route(&d);
                }
                d.validate_remote().is_ok()
            }
            Err(e) => {
                assert!(["SyntaxError", "InvalidAccessError"].contains(&e.name()), "{}", e.name());
                false
            }
        });
        match outcome {
            Ok(true) => accepted += 1,
            Ok(false) => refused += 1,
            Err(_) => panic!("iteration {i} panicked on:\n{text}"),
        }
    }
    // The mutations must exercise both outcomes, or the test proves little.
    assert!(accepted > 1000 && refused > 1000, "accepted {accepted}, refused {refused}");
}

// SPDX-License-Identifier: MPL-2.0
//! Knobs outside the W3C API, in one place.

use std::net::IpAddr;
use std::time::Duration;

use crate::certificate::KeyAlgorithm;

/// Off: libnice's UPnP discovery multicasts SSDP to the whole LAN and asks routers to open
/// ports, which a browser never does.
pub const DEFAULT_UPNP: bool = false;
/// On: browsers gather ICE-TCP candidates too, and some networks only pass TCP.
pub const DEFAULT_ICE_TCP: bool = true;
/// 5 ms: RFC 8445, section 14.2 puts the floor of the check pacing (Ta) at 5 ms. libnice's
/// 20 ms default makes the three-check ICE phase cost ~60 ms on its own.
pub const DEFAULT_CHECK_PACING: Duration = Duration::from_millis(5);
/// 20 ms: libnice's default, restored once connected, since a short Ta keeps the agent's
/// timer ticking for seconds after the checks.
pub const DEFAULT_CONNECTED_PACING: Duration = Duration::from_millis(20);

/// 50 ms: the receive jitter buffer's latency. webrtcbin's 200 ms default dominated the time
/// to the first decoded frame; browsers adapt theirs from a few tens of milliseconds.
pub const DEFAULT_RECEIVE_LATENCY: Duration = Duration::from_millis(50);

/// ECDSA P-256: what browsers use, and the only key a peer that follows RFC 8827, section 6.5
/// to the letter (ECDHE-ECDSA suites only) accepts. Cheap to generate, unlike RSA.
pub const DEFAULT_CERTIFICATE_KEY: KeyAlgorithm = KeyAlgorithm::EcdsaP256;

/// Engine settings that the W3C `RTCConfiguration` does not cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Let libnice discover UPnP routers (sends SSDP multicast off the machine).
    pub upnp: bool,
    /// Gather candidates only on these addresses; empty means every interface libnice sees.
    pub local_addresses: Vec<IpAddr>,
    /// Gather ICE-TCP candidates.
    pub ice_tcp: bool,
    /// ICE check pacing (Ta) while connecting.
    pub check_pacing: Duration,
    /// ICE pacing once connected.
    pub connected_pacing: Duration,
    /// Latency of the receive jitter buffer (time left for reordering and retransmission).
    pub receive_latency: Duration,
    /// The key of the certificate generated for a connection whose configuration brings
    /// none.
    pub certificate_key: KeyAlgorithm,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            upnp: DEFAULT_UPNP,
            local_addresses: Vec::new(),
            ice_tcp: DEFAULT_ICE_TCP,
            check_pacing: DEFAULT_CHECK_PACING,
            connected_pacing: DEFAULT_CONNECTED_PACING,
            receive_latency: DEFAULT_RECEIVE_LATENCY,
            certificate_key: DEFAULT_CERTIFICATE_KEY,
        }
    }
}

impl Settings {
    /// Settings for two peers on one machine: loopback candidates only, UDP only, and a 2 ms
    /// check pacing (nothing leaves the host, so the RFC's network-friendliness floor does
    /// not apply). Used by `wkrtc loopback`, the tests and the benchmarks.
    pub fn loopback() -> Self {
        Self { local_addresses: vec![IpAddr::from([127, 0, 0, 1])], ice_tcp: false, check_pacing: Duration::from_millis(2), ..Self::default() }
    }
}

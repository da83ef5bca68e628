// SPDX-License-Identifier: MPL-2.0
//! `RTCConfiguration`: ICE servers and policies, checked as the W3C's "set a configuration"
//! does (<https://w3c.github.io/webrtc-pc/#set-the-configuration>), and turned into what
//! webrtcbin takes. Pure.

use crate::{Certificate, Error, Result};

/// `RTCIceServer`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IceServer {
    /// `stun:` or `turn:` URLs (RFC 7064, RFC 7065).
    pub urls: Vec<String>,
    /// TURN username.
    pub username: Option<String>,
    /// TURN password.
    pub credential: Option<String>,
}

impl IceServer {
    /// A server reached through `url`, without credentials.
    pub fn new(url: impl Into<String>) -> Self {
        Self { urls: vec![url.into()], ..Default::default() }
    }
    /// A TURN server with its long-term credentials.
    pub fn turn(url: impl Into<String>, username: impl Into<String>, credential: impl Into<String>) -> Self {
        Self { urls: vec![url.into()], username: Some(username.into()), credential: Some(credential.into()) }
    }
}

/// `RTCIceTransportPolicy`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IceTransportPolicy {
    /// Every candidate type.
    #[default]
    All,
    /// Relay candidates only: no host or server-reflexive address is revealed.
    Relay,
}

/// `RTCBundlePolicy`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BundlePolicy {
    /// One transport per media kind when the peer does not bundle.
    Balanced,
    /// One transport per m-line when the peer does not bundle.
    MaxCompat,
    /// One transport for everything. The default: what every current browser negotiates,
    /// and the only policy that never needs more than one ICE/DTLS session.
    #[default]
    MaxBundle,
}

/// `RTCConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Configuration {
    /// STUN and TURN servers.
    pub ice_servers: Vec<IceServer>,
    /// Which candidates may be used.
    pub ice_transport_policy: IceTransportPolicy,
    /// How media sections share transports.
    pub bundle_policy: BundlePolicy,
    /// The DTLS identities to use (`certificates`); the first is used. Empty: wkrtc
    /// generates one for the connection ([`Settings::certificate_key`](crate::Settings)).
    pub certificates: Vec<Certificate>,
}

/// A configuration that passed the checks, in webrtcbin's terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct EngineIceServers {
    /// webrtcbin takes one STUN server: `stun://host:port`.
    pub stun: Option<String>,
    /// `turn://user:pass@host:port[?transport=tcp]`.
    pub turn: Vec<String>,
}

/// A parsed `stun:`/`turn:` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ServerUrl {
    turn: bool,
    host: String,
    port: u16,
    tcp: bool,
}

fn parse_url(url: &str) -> Result<ServerUrl> {
    let syntax = |why: &str| Error::Syntax(format!("ICE server URL '{url}': {why}"));
    if url.contains('\0') {
        return Err(syntax("it contains a NUL character"));
    }
    let (scheme, rest) = url.split_once(':').ok_or_else(|| syntax("no scheme"))?;
    let (turn, default_port) = match scheme.to_ascii_lowercase().as_str() {
        "stun" => (false, 3478),
        "turn" => (true, 3478),
        // libnice 0.1.21 as webrtcbin 1.22 drives it speaks plain TCP to a turns: server
        // (no TLS), and has no STUN over TLS: refusing beats a silent downgrade.
        "stuns" | "turns" => {
            return Err(Error::NotSupported(format!(
                "ICE server URL '{url}': {scheme}: (TLS) is not supported by libnice as webrtcbin 1.22 uses it; use turn: with ?transport=tcp"
            )))
        }
        _ => return Err(syntax("the scheme is not stun or turn")),
    };
    if rest.starts_with("//") {
        return Err(syntax("stun:/turn: URLs have no '//'"));
    }
    let (hostport, query) = match rest.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (rest, None),
    };
    let tcp = match query {
        None => false,
        Some(q) if turn => match q {
            "transport=udp" => false,
            "transport=tcp" => true,
            _ => return Err(syntax("the only query is ?transport=udp or ?transport=tcp")),
        },
        Some(_) => return Err(syntax("stun: URLs take no query")),
    };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or_else(|| syntax("unclosed '['"))?;
        (format!("[{h}]"), after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (hostport.to_owned(), None),
        }
    };
    let port = match port {
        Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| syntax("bad port"))?,
        None => default_port,
    };
    let host_ok = !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || "-.[]:".contains(c));
    if !host_ok {
        return Err(syntax("bad host"));
    }
    Ok(ServerUrl { turn, host, port, tcp })
}

/// Percent-encodes userinfo for webrtcbin's `turn://user:pass@...` URIs.
fn encode_userinfo(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

impl Configuration {
    /// Checks the configuration and returns the servers in webrtcbin's form.
    ///
    /// `SyntaxError` for an empty or malformed URL, `NotSupportedError` for `stuns:` and
    /// `turns:`, `InvalidAccessError` for a TURN server without username or credential or
    /// for an expired certificate.
    pub(crate) fn validate(&self) -> Result<EngineIceServers> {
        if self.certificates.iter().any(Certificate::is_expired) {
            return Err(Error::InvalidAccess("a certificate of the configuration has expired".into()));
        }
        let mut out = EngineIceServers::default();
        for server in &self.ice_servers {
            if server.urls.is_empty() {
                return Err(Error::Syntax("an RTCIceServer needs at least one URL".into()));
            }
            for url in &server.urls {
                let parsed = parse_url(url)?;
                if parsed.turn {
                    let (Some(user), Some(pass)) = (&server.username, &server.credential) else {
                        return Err(Error::InvalidAccess(format!("TURN server '{url}' needs a username and a credential")));
                    };
                    out.turn.push(format!(
                        "turn://{}:{}@{}:{}{}",
                        encode_userinfo(user),
                        encode_userinfo(pass),
                        parsed.host,
                        parsed.port,
                        if parsed.tcp { "?transport=tcp" } else { "" }
                    ));
                } else if out.stun.is_none() {
                    out.stun = Some(format!("stun://{}:{}", parsed.host, parsed.port));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(servers: Vec<IceServer>) -> Result<EngineIceServers> {
        Configuration { ice_servers: servers, ..Default::default() }.validate()
    }

    #[test]
    fn maps_servers() {
        let out = cfg(vec![
            IceServer::new("stun:127.0.0.1:3478"),
            IceServer::new("stun:stun.example.org"),
            IceServer::turn("turn:[::1]:3479?transport=tcp", "17000:al ice", "p@ss:w/rd"),
        ])
        .unwrap();
        assert_eq!(out.stun.as_deref(), Some("stun://127.0.0.1:3478"));
        assert_eq!(out.turn, vec!["turn://17000%3Aal%20ice:p%40ss%3Aw%2Frd@[::1]:3479?transport=tcp".to_owned()]);
    }

    #[test]
    fn refusals() {
        let cases: Vec<(IceServer, &str)> = vec![
            (IceServer { urls: vec![], ..Default::default() }, "SyntaxError"),
            (IceServer::new("http://example.org"), "SyntaxError"),
            (IceServer::new("stun"), "SyntaxError"),
            (IceServer::new("stun://127.0.0.1"), "SyntaxError"),
            (IceServer::new("stun:127.0.0.1:99999"), "SyntaxError"),
            (IceServer::new("stun:127.0.0.1?transport=tcp"), "SyntaxError"),
            (IceServer::new("turn:127.0.0.1?transport=sctp"), "SyntaxError"),
            (IceServer::new("stun:bad host"), "SyntaxError"),
            (IceServer::new("turn:127.0.0.1"), "InvalidAccessError"),
            (IceServer { urls: vec!["turn:127.0.0.1".into()], username: Some("u".into()), credential: None }, "InvalidAccessError"),
            (IceServer::turn("turns:127.0.0.1", "u", "p"), "NotSupportedError"),
            (IceServer::new("stuns:127.0.0.1"), "NotSupportedError"),
        ];
        for (server, name) in cases {
            assert_eq!(cfg(vec![server.clone()]).unwrap_err().name(), name, "{server:?}");
        }
    }
}

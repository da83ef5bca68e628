// SPDX-License-Identifier: MPL-2.0
//! DTLS certificate fingerprints (RFC 8122, section 5) and their comparison with the
//! certificate a peer presents.

use sha2::Digest;

use crate::{Error, Result};

/// A hash function allowed in `a=fingerprint`, weakest first: the order is the strength
/// RFC 8122, section 5 ranks them by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HashAlgorithm {
    /// `sha-1`
    Sha1,
    /// `sha-224`
    Sha224,
    /// `sha-256`
    Sha256,
    /// `sha-384`
    Sha384,
    /// `sha-512`
    Sha512,
}

impl HashAlgorithm {
    fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "sha-1" => Some(HashAlgorithm::Sha1),
            "sha-224" => Some(HashAlgorithm::Sha224),
            "sha-256" => Some(HashAlgorithm::Sha256),
            "sha-384" => Some(HashAlgorithm::Sha384),
            "sha-512" => Some(HashAlgorithm::Sha512),
            _ => None,
        }
    }

    /// The name `a=fingerprint` and the W3C statistics use.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha1 => "sha-1",
            HashAlgorithm::Sha224 => "sha-224",
            HashAlgorithm::Sha256 => "sha-256",
            HashAlgorithm::Sha384 => "sha-384",
            HashAlgorithm::Sha512 => "sha-512",
        }
    }

    /// The digest of `data` with this function.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            HashAlgorithm::Sha1 => sha1::Sha1::digest(data).to_vec(),
            HashAlgorithm::Sha224 => sha2::Sha224::digest(data).to_vec(),
            HashAlgorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
            HashAlgorithm::Sha384 => sha2::Sha384::digest(data).to_vec(),
            HashAlgorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    fn len(self) -> usize {
        match self {
            HashAlgorithm::Sha1 => 20,
            HashAlgorithm::Sha224 => 28,
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha384 => 48,
            HashAlgorithm::Sha512 => 64,
        }
    }
}

/// One `a=fingerprint:<hash> <hex>` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// The hash function.
    pub algorithm: HashAlgorithm,
    /// The digest bytes.
    pub value: Vec<u8>,
}

impl Fingerprint {
    /// Parses the value of an `a=fingerprint` attribute. An unknown hash function is
    /// `NotSupported` (such a line is ignored when another one is usable); a malformed
    /// value is `SyntaxError`.
    pub fn parse(attr: &str) -> Result<Self> {
        let mut parts = attr.split_ascii_whitespace();
        let (Some(alg), Some(hex), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Error::Syntax(format!("a=fingerprint:{attr} is not '<hash-function> <hex>'")));
        };
        let algorithm = HashAlgorithm::parse(alg).ok_or_else(|| Error::NotSupported(format!("unknown fingerprint hash function '{alg}'")))?;
        let value = hex
            .split(':')
            .map(|b| if b.len() == 2 { u8::from_str_radix(b, 16).ok() } else { None })
            .collect::<Option<Vec<u8>>>()
            .filter(|v| v.len() == algorithm.len())
            .ok_or_else(|| Error::Syntax(format!("a=fingerprint:{attr} is not a {alg} digest in hex pairs")))?;
        Ok(Self { algorithm, value })
    }

    /// The digest as `a=fingerprint` writes it: uppercase hex pairs separated by colons.
    pub fn hex(&self) -> String {
        self.value.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
    }

    /// True when the DER certificate hashes to this fingerprint.
    pub fn matches(&self, der: &[u8]) -> bool {
        self.algorithm.digest(der) == self.value
    }
}

/// Checks the certificate a peer presented against the fingerprints of its description
/// (RFC 8122, section 5): only the strongest hash function among them counts, and every
/// fingerprint of that function must match, since a DTLS peer presents one certificate. A
/// weaker function (sha-1 beside sha-256, say) is ignored, so a correct weak fingerprint
/// cannot vouch for a certificate the strong ones reject. Returns the function that decided.
pub fn verify_certificate(expected: &[Fingerprint], der: &[u8]) -> std::result::Result<HashAlgorithm, String> {
    let Some(strongest) = expected.iter().map(|fp| fp.algorithm).max() else {
        return Err("the remote description has no usable a=fingerprint".into());
    };
    let digest = strongest.digest(der);
    match expected.iter().filter(|fp| fp.algorithm == strongest).all(|fp| fp.value == digest) {
        true => Ok(strongest),
        false => Err(format!("the peer's DTLS certificate does not match the {} a=fingerprint of the remote description", strongest.name())),
    }
}

/// Decodes the first certificate of a PEM text to DER.
pub fn pem_certificate_der(pem: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let begin = pem.find("-----BEGIN CERTIFICATE-----")? + "-----BEGIN CERTIFICATE-----".len();
    let end = begin + pem[begin..].find("-----END CERTIFICATE-----")?;
    let b64: String = pem[begin..end].chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_matches() {
        let der = b"not really a certificate";
        let hex: Vec<String> = HashAlgorithm::Sha256.digest(der).iter().map(|b| format!("{b:02X}")).collect();
        let fp = Fingerprint::parse(&format!("sha-256 {}", hex.join(":"))).unwrap();
        assert!(fp.matches(der));
        assert!(!fp.matches(b"another certificate"));
        let lower = Fingerprint::parse(&format!("SHA-256 {}", hex.join(":").to_lowercase())).unwrap();
        assert_eq!(lower, fp);
    }

    fn fingerprint(alg: HashAlgorithm, der: &[u8]) -> Fingerprint {
        Fingerprint { algorithm: alg, value: alg.digest(der) }
    }

    #[test]
    fn the_strongest_function_decides() {
        let (cert, other) = (b"the certificate".as_slice(), b"another one".as_slice());
        use HashAlgorithm::*;
        // A correct sha-1 does not rescue wrong sha-256 ones, and a wrong sha-1 does not spoil
        // a correct sha-256.
        let wrong_strong = [fingerprint(Sha256, other), fingerprint(Sha1, cert)];
        assert!(verify_certificate(&wrong_strong, cert).unwrap_err().contains("sha-256"));
        assert_eq!(verify_certificate(&[fingerprint(Sha256, cert), fingerprint(Sha1, other)], cert), Ok(Sha256));
        // sha-512 outranks sha-256; every fingerprint of the strongest function must match.
        assert_eq!(verify_certificate(&[fingerprint(Sha256, other), fingerprint(Sha512, cert)], cert), Ok(Sha512));
        assert!(verify_certificate(&[fingerprint(Sha384, cert), fingerprint(Sha384, other)], cert).is_err());
        // Alone, a sha-1 fingerprint is the strongest offered and is used.
        assert_eq!(verify_certificate(&[fingerprint(Sha1, cert)], cert), Ok(Sha1));
        assert!(verify_certificate(&[], cert).is_err());
    }

    #[test]
    fn refuses_malformed() {
        assert_eq!(Fingerprint::parse("sha-256").unwrap_err().name(), "SyntaxError");
        assert_eq!(Fingerprint::parse("sha-256 AB:CD").unwrap_err().name(), "SyntaxError");
        assert_eq!(Fingerprint::parse("sha-1 ZZ:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00").unwrap_err().name(), "SyntaxError");
        assert_eq!(Fingerprint::parse("md5 AB:CD").unwrap_err().name(), "NotSupportedError");
    }

    #[test]
    fn pem_roundtrip() {
        let pem = "-----BEGIN CERTIFICATE-----\nAAEC\nAw==\n-----END CERTIFICATE-----\n";
        assert_eq!(pem_certificate_der(pem), Some(vec![0, 1, 2, 3]));
        assert_eq!(pem_certificate_der("garbage"), None);
    }
}

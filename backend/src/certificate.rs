// SPDX-License-Identifier: MPL-2.0
//! `RTCCertificate`: the DTLS identity of a peer connection
//! (<https://w3c.github.io/webrtc-pc/#sec.cert-mgmt>).
//!
//! wkrtc generates an ECDSA P-256 certificate for each connection unless the configuration
//! brings one, as browsers do: RFC 8827, section 6.5 makes
//! `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256` mandatory, and a peer that offers only ECDSA
//! suites cannot talk to GStreamer's default RSA certificate. RSA stays available through
//! [`generate`](Certificate::generate). Certificates are made with the system's OpenSSL, the
//! library GStreamer's DTLS elements use.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509NameBuilder, X509};

use crate::jsep::{Fingerprint, HashAlgorithm};
use crate::{Error, Result};

/// 30 days: the W3C's default lifetime of a generated certificate.
pub const DEFAULT_EXPIRES: Duration = Duration::from_secs(30 * 24 * 3600);
/// 365 days: the W3C caps `expires` there (<https://w3c.github.io/webrtc-pc/#dom-rtcpeerconnection-generatecertificate>).
pub const MAX_EXPIRES: Duration = Duration::from_secs(365 * 24 * 3600);
/// The RSA moduli wkrtc generates, in bits (Chromium's bounds).
pub const RSA_MODULUS_BITS: std::ops::RangeInclusive<u32> = 1024..=8192;

/// The key of a certificate to generate (`AlgorithmIdentifier` of `generateCertificate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyAlgorithm {
    /// `{name: "ECDSA", namedCurve: "P-256"}`: what browsers use, and wkrtc's default.
    #[default]
    EcdsaP256,
    /// `{name: "RSASSA-PKCS1-v1_5", modulusLength, publicExponent: 65537, hash: "SHA-256"}`.
    Rsa {
        /// The modulus length in bits, within [`RSA_MODULUS_BITS`].
        modulus_length: u32,
    },
}

impl KeyAlgorithm {
    /// Reads a W3C `AlgorithmIdentifier` (the argument of `generateCertificate`, as JSON: a
    /// name string or a dictionary; `publicExponent` as an array of big-endian bytes) and
    /// its `expires` member in milliseconds. An algorithm wkrtc does not generate is a
    /// `NotSupportedError`, a malformed member a `TypeError`.
    pub fn from_w3c(value: &serde_json::Value) -> Result<(Self, Option<Duration>)> {
        let unsupported = |what: String| Error::NotSupported(format!("generateCertificate: {what}"));
        let (name, dict) = match value {
            serde_json::Value::String(s) => (s.as_str(), None),
            serde_json::Value::Object(d) => match d.get("name").and_then(|n| n.as_str()) {
                Some(n) => (n, Some(d)),
                None => return Err(Error::Type("generateCertificate: the algorithm has no name".into())),
            },
            _ => return Err(Error::Type("generateCertificate: the algorithm is neither a name nor a dictionary".into())),
        };
        let member = |key: &str| dict.and_then(|d| d.get(key));
        let expires = match member("expires") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => {
                let ms = v
                    .as_f64()
                    .filter(|ms| ms.is_finite() && *ms >= 0.0)
                    .ok_or_else(|| Error::Type("generateCertificate: expires is not a non-negative number".into()))?;
                Some(Duration::from_millis(ms.min(u64::MAX as f64) as u64))
            }
        };
        let key = match name.to_ascii_uppercase().as_str() {
            "ECDSA" => match member("namedCurve").and_then(|c| c.as_str()) {
                Some("P-256") => KeyAlgorithm::EcdsaP256,
                Some(other) => return Err(unsupported(format!("ECDSA curve {other}; wkrtc generates P-256"))),
                None => return Err(Error::Type("generateCertificate: ECDSA needs a namedCurve".into())),
            },
            "RSASSA-PKCS1-V1_5" => {
                let modulus_length = member("modulusLength")
                    .and_then(|m| m.as_u64())
                    .and_then(|m| u32::try_from(m).ok())
                    .ok_or_else(|| Error::Type("generateCertificate: RSASSA-PKCS1-v1_5 needs a modulusLength".into()))?;
                if !RSA_MODULUS_BITS.contains(&modulus_length) {
                    return Err(unsupported(format!(
                        "an RSA modulus of {modulus_length} bits (from {} to {})",
                        RSA_MODULUS_BITS.start(),
                        RSA_MODULUS_BITS.end()
                    )));
                }
                let exponent = member("publicExponent")
                    .and_then(|e| e.as_array())
                    .and_then(|bytes| bytes.iter().try_fold(0u64, |acc, b| Some((acc << 8) | b.as_u64().filter(|b| *b < 256)?)))
                    .ok_or_else(|| Error::Type("generateCertificate: publicExponent is not an array of bytes".into()))?;
                if exponent != 65537 {
                    return Err(unsupported(format!("the RSA public exponent {exponent}; wkrtc uses 65537")));
                }
                match member("hash").map(|h| h.as_str().or_else(|| h.get("name").and_then(|n| n.as_str()))) {
                    Some(Some(h)) if h.eq_ignore_ascii_case("SHA-256") => {}
                    _ => return Err(unsupported("RSASSA-PKCS1-v1_5 without hash SHA-256".into())),
                }
                KeyAlgorithm::Rsa { modulus_length }
            }
            _ => return Err(unsupported(format!("the algorithm {name}; wkrtc generates ECDSA P-256 and RSASSA-PKCS1-v1_5"))),
        };
        Ok((key, expires))
    }
}

/// A DTLS certificate and its private key (`RTCCertificate`). Cloning shares it.
#[derive(Clone)]
pub struct Certificate(Arc<Inner>);

struct Inner {
    certificate_pem: String,
    private_key_pem: String,
    der: Vec<u8>,
    expires: SystemTime,
}

fn openssl_error(what: &str) -> impl Fn(openssl::error::ErrorStack) -> Error + '_ {
    move |e| Error::Operation(format!("{what}: {e}"))
}

impl Certificate {
    /// Generates a self-signed certificate valid for `expires` ([`DEFAULT_EXPIRES`] when
    /// `None`, at most [`MAX_EXPIRES`]), as `RTCPeerConnection.generateCertificate()` does.
    pub fn generate(key: KeyAlgorithm, expires: Option<Duration>) -> Result<Self> {
        let fail = openssl_error("certificate generation");
        let pkey: PKey<Private> = match key {
            KeyAlgorithm::EcdsaP256 => {
                let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(&fail)?;
                PKey::from_ec_key(EcKey::generate(&group).map_err(&fail)?).map_err(&fail)?
            }
            KeyAlgorithm::Rsa { modulus_length } => {
                if !RSA_MODULUS_BITS.contains(&modulus_length) {
                    return Err(Error::NotSupported(format!("an RSA modulus of {modulus_length} bits")));
                }
                PKey::from_rsa(Rsa::generate(modulus_length).map_err(&fail)?).map_err(&fail)?
            }
        };
        let lifetime = expires.unwrap_or(DEFAULT_EXPIRES).min(MAX_EXPIRES);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        // Valid from a day ago, like browsers, so a peer whose clock is behind accepts it.
        let not_before = Asn1Time::from_unix(now.as_secs().saturating_sub(24 * 3600) as libc::time_t).map_err(&fail)?;
        let not_after = Asn1Time::from_unix((now + lifetime).as_secs() as libc::time_t).map_err(&fail)?;

        let mut name = X509NameBuilder::new().map_err(&fail)?;
        name.append_entry_by_nid(Nid::COMMONNAME, "wkrtc").map_err(&fail)?;
        let name = name.build();
        let mut serial = BigNum::new().map_err(&fail)?;
        serial.rand(63, MsbOption::MAYBE_ZERO, false).map_err(&fail)?;
        let mut builder = X509::builder().map_err(&fail)?;
        builder.set_version(2).map_err(&fail)?;
        let serial = serial.to_asn1_integer().map_err(&fail)?;
        builder.set_serial_number(&serial).map_err(&fail)?;
        builder.set_subject_name(&name).map_err(&fail)?;
        builder.set_issuer_name(&name).map_err(&fail)?;
        builder.set_pubkey(&pkey).map_err(&fail)?;
        builder.set_not_before(&not_before).map_err(&fail)?;
        builder.set_not_after(&not_after).map_err(&fail)?;
        builder.sign(&pkey, MessageDigest::sha256()).map_err(&fail)?;
        let cert = builder.build();

        let pem = |bytes: Vec<u8>| String::from_utf8(bytes).map_err(|_| Error::Operation("OpenSSL wrote a PEM that is not text".into()));
        Ok(Self(Arc::new(Inner {
            certificate_pem: pem(cert.to_pem().map_err(&fail)?)?,
            private_key_pem: pem(pkey.private_key_to_pem_pkcs8().map_err(&fail)?)?,
            der: cert.to_der().map_err(&fail)?,
            expires: UNIX_EPOCH + now + lifetime,
        })))
    }

    /// A certificate an embedder kept (WebKit's `RTCCertificate` carries both PEMs). Text
    /// that is not a certificate and its private key is an `InvalidAccessError`.
    pub fn from_pem(certificate_pem: &str, private_key_pem: &str) -> Result<Self> {
        fn bad(what: &'static str) -> impl Fn(openssl::error::ErrorStack) -> Error {
            move |e| Error::InvalidAccess(format!("{what}: {e}"))
        }
        let cert = X509::from_pem(certificate_pem.as_bytes()).map_err(bad("not a PEM certificate"))?;
        let key = PKey::private_key_from_pem(private_key_pem.as_bytes()).map_err(bad("not a PEM private key"))?;
        let public = cert.public_key().map_err(bad("the certificate's key cannot be read"))?;
        if !public.public_eq(&key) {
            return Err(Error::InvalidAccess("the private key is not the certificate's".into()));
        }
        let expires = asn1_to_system_time(cert.not_after()).ok_or_else(|| Error::InvalidAccess("the certificate's expiry cannot be read".into()))?;
        Ok(Self(Arc::new(Inner {
            certificate_pem: String::from_utf8_lossy(&cert.to_pem().map_err(bad("certificate"))?).into_owned(),
            private_key_pem: String::from_utf8_lossy(&key.private_key_to_pem_pkcs8().map_err(bad("private key"))?).into_owned(),
            der: cert.to_der().map_err(bad("certificate"))?,
            expires,
        })))
    }

    /// When the certificate stops being valid (`RTCCertificate.expires`).
    pub fn expires(&self) -> SystemTime {
        self.0.expires
    }

    /// `expires` as the W3C gives it: milliseconds since the Unix epoch.
    pub fn expires_millis(&self) -> f64 {
        self.0.expires.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as f64).unwrap_or(0.0)
    }

    /// True once the certificate has expired; a configuration may not use it then.
    pub fn is_expired(&self) -> bool {
        self.0.expires <= SystemTime::now()
    }

    /// `RTCCertificate.getFingerprints()`: the sha-256 fingerprint, the one wkrtc writes
    /// into its descriptions.
    pub fn fingerprints(&self) -> Vec<Fingerprint> {
        vec![self.fingerprint(HashAlgorithm::Sha256)]
    }

    /// The fingerprint of the certificate with `algorithm`.
    pub fn fingerprint(&self, algorithm: HashAlgorithm) -> Fingerprint {
        Fingerprint { algorithm, value: algorithm.digest(&self.0.der) }
    }

    /// The certificate, DER encoded.
    pub fn der(&self) -> &[u8] {
        &self.0.der
    }

    /// The certificate as PEM.
    pub fn certificate_pem(&self) -> &str {
        &self.0.certificate_pem
    }

    /// The private key as PKCS #8 PEM.
    pub fn private_key_pem(&self) -> &str {
        &self.0.private_key_pem
    }

    /// Certificate then key, the text GStreamer's DTLS elements take as `pem`.
    pub(crate) fn dtls_pem(&self) -> String {
        format!("{}{}", self.0.certificate_pem, self.0.private_key_pem)
    }
}

fn asn1_to_system_time(t: &openssl::asn1::Asn1TimeRef) -> Option<SystemTime> {
    let epoch = Asn1Time::from_unix(0).ok()?;
    let diff = epoch.diff(t).ok()?;
    let secs = i64::from(diff.days) * 86_400 + i64::from(diff.secs);
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.0.der == other.0.der
    }
}
impl Eq for Certificate {}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate").field("sha-256", &self.fingerprint(HashAlgorithm::Sha256).hex()).field("expires", &self.0.expires).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ecdsa_certificate_is_p256_and_self_consistent() {
        let c = Certificate::generate(KeyAlgorithm::EcdsaP256, None).unwrap();
        let x509 = X509::from_der(c.der()).unwrap();
        let key = x509.public_key().unwrap();
        assert_eq!(key.ec_key().unwrap().group().curve_name(), Some(Nid::X9_62_PRIME256V1));
        assert!(x509.verify(&key).unwrap(), "self-signed");
        let days = c.expires().duration_since(SystemTime::now()).unwrap().as_secs() / 86_400;
        assert!((29..=30).contains(&days), "{days} days");
        // The PEMs round-trip, and the fingerprint is the DER's sha-256.
        let back = Certificate::from_pem(c.certificate_pem(), c.private_key_pem()).unwrap();
        assert_eq!(back, c);
        assert_eq!(back.expires_millis().round() as u64 / 1000, c.expires_millis().round() as u64 / 1000);
        assert_eq!(c.fingerprints()[0].value, HashAlgorithm::Sha256.digest(c.der()));
        // Each call makes a new identity.
        assert_ne!(Certificate::generate(KeyAlgorithm::EcdsaP256, None).unwrap(), c);
    }

    #[test]
    fn rsa_and_expiry() {
        let c = Certificate::generate(KeyAlgorithm::Rsa { modulus_length: 1024 }, Some(Duration::from_secs(3600))).unwrap();
        let x509 = X509::from_der(c.der()).unwrap();
        assert_eq!(x509.public_key().unwrap().rsa().unwrap().size(), 128);
        assert!(!c.is_expired());
        let capped = Certificate::generate(KeyAlgorithm::EcdsaP256, Some(Duration::from_secs(10 * 365 * 86_400))).unwrap();
        assert!(capped.expires() <= SystemTime::now() + MAX_EXPIRES);
        assert!(Certificate::generate(KeyAlgorithm::EcdsaP256, Some(Duration::ZERO)).unwrap().is_expired());
    }

    #[test]
    fn foreign_pem_is_checked() {
        let a = Certificate::generate(KeyAlgorithm::EcdsaP256, None).unwrap();
        let b = Certificate::generate(KeyAlgorithm::EcdsaP256, None).unwrap();
        assert_eq!(Certificate::from_pem(a.certificate_pem(), b.private_key_pem()).unwrap_err().name(), "InvalidAccessError");
        assert_eq!(Certificate::from_pem("garbage", a.private_key_pem()).unwrap_err().name(), "InvalidAccessError");
        assert_eq!(Certificate::from_pem(a.certificate_pem(), "").unwrap_err().name(), "InvalidAccessError");
    }

    #[test]
    fn w3c_algorithm_identifiers() {
        let ok = |v| KeyAlgorithm::from_w3c(&v).unwrap();
        let err = |v| KeyAlgorithm::from_w3c(&v).unwrap_err().name();
        assert_eq!(ok(json!({"name": "ECDSA", "namedCurve": "P-256"})), (KeyAlgorithm::EcdsaP256, None));
        assert_eq!(ok(json!({"name": "ECDSA", "namedCurve": "P-256", "expires": 1000})), (KeyAlgorithm::EcdsaP256, Some(Duration::from_secs(1))));
        let rsa = json!({"name": "RSASSA-PKCS1-v1_5", "modulusLength": 2048, "publicExponent": [1, 0, 1], "hash": "SHA-256"});
        assert_eq!(ok(rsa), (KeyAlgorithm::Rsa { modulus_length: 2048 }, None));
        assert_eq!(err(json!({"name": "ECDSA", "namedCurve": "P-384"})), "NotSupportedError");
        assert_eq!(err(json!({"name": "RSASSA-PKCS1-v1_5", "modulusLength": 512, "publicExponent": [1, 0, 1], "hash": "SHA-256"})), "NotSupportedError");
        assert_eq!(err(json!({"name": "RSASSA-PKCS1-v1_5", "modulusLength": 2048, "publicExponent": [3], "hash": "SHA-256"})), "NotSupportedError");
        assert_eq!(err(json!({"name": "RSASSA-PKCS1-v1_5", "modulusLength": 2048, "publicExponent": [1, 0, 1], "hash": "SHA-1"})), "NotSupportedError");
        assert_eq!(err(json!("AES-GCM")), "NotSupportedError");
        assert_eq!(err(json!({"namedCurve": "P-256"})), "TypeError");
        assert_eq!(err(json!({"name": "ECDSA", "namedCurve": "P-256", "expires": -1})), "TypeError");
        assert_eq!(err(json!(7)), "TypeError");
    }
}

// SPDX-License-Identifier: MPL-2.0
//! ICE restart (RFC 8445, section 9) on the libnice agent inside webrtcbin.
//!
//! webrtcbin 1.22 ignores the `ice-restart` offer option, and new credentials written into a
//! description are accepted without restarting anything. libnice can restart a stream in
//! place (`nice_agent_restart_stream`: remote candidates and check lists are cleared, checks
//! start again), after which wkrtc installs credentials of its own: libnice's regenerated
//! ones are only partly new. DTLS, SCTP and media carry on over the new pair untouched.

use std::ffi::{c_char, c_int, c_uint, CString};
use std::io::Read;

use glib::translate::ToGlibPtr;
use gst::prelude::*;

use super::CAT;
use crate::{Error, Result};

#[link(name = "nice")]
extern "C" {
    fn nice_agent_restart_stream(agent: *mut glib::gobject_ffi::GObject, stream_id: c_uint) -> c_int;
    fn nice_agent_set_local_credentials(agent: *mut glib::gobject_ffi::GObject, stream_id: c_uint, ufrag: *const c_char, pwd: *const c_char) -> c_int;
}

/// A local ICE username fragment and password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IceCredentials {
    pub ufrag: String,
    pub pwd: String,
}

impl IceCredentials {
    /// Fresh random credentials: 16 ice-chars of ufrag (96 bits) and 32 of password (192
    /// bits), above RFC 8445's minimum of 24 and 128 bits.
    pub fn generate() -> Result<Self> {
        const ICE_CHARS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut bytes = [0u8; 48];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut bytes))
            .map_err(|e| Error::Operation(format!("no randomness for ICE credentials: {e}")))?;
        let chars: String = bytes.iter().map(|b| ICE_CHARS[usize::from(b & 63)] as char).collect();
        Ok(Self { ufrag: chars[..16].to_owned(), pwd: chars[16..].to_owned() })
    }
}

/// The libnice stream ids of webrtcbin's ICE transports.
pub(crate) fn stream_ids(ice_transports: &[gst_webrtc::WebRTCICETransport]) -> Vec<u32> {
    let mut ids: Vec<u32> = ice_transports
        .iter()
        .filter(|t| t.find_property("stream").is_some())
        .map(|t| t.property::<glib::Object>("stream"))
        .filter(|s| s.find_property("stream-id").is_some())
        .map(|s| s.property::<u32>("stream-id"))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Restarts every stream of the agent and gives it `creds`.
pub(crate) fn restart(agent: &glib::Object, streams: &[u32], creds: &IceCredentials) -> Result<()> {
    if !agent.type_().name().starts_with("NiceAgent") {
        return Err(Error::NotSupported("ICE restart needs webrtcbin's libnice ICE agent".into()));
    }
    let ufrag = CString::new(creds.ufrag.as_str()).map_err(|_| Error::Operation("bad ufrag".into()))?;
    let pwd = CString::new(creds.pwd.as_str()).map_err(|_| Error::Operation("bad pwd".into()))?;
    for &id in streams {
        let ptr: *mut glib::gobject_ffi::GObject = agent.to_glib_none().0;
        // SAFETY: `agent` is a live NiceAgent (its type was checked above) kept alive by the
        // borrow for the duration of both calls; the strings are NUL-terminated and copied
        // by libnice.
        let ok = unsafe { nice_agent_restart_stream(ptr, id) != 0 && nice_agent_set_local_credentials(ptr, id, ufrag.as_ptr(), pwd.as_ptr()) != 0 };
        if !ok {
            return Err(Error::Operation(format!("libnice could not restart ICE stream {id}")));
        }
        gst::debug!(CAT, "restarted ICE stream {} with ufrag {}", id, creds.ufrag);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_fresh_ice_chars() {
        let a = IceCredentials::generate().unwrap();
        let b = IceCredentials::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!((a.ufrag.len(), a.pwd.len()), (16, 32));
        assert!(a.ufrag.chars().chain(a.pwd.chars()).all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/'));
    }
}

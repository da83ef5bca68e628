// SPDX-License-Identifier: MPL-2.0
//! The one error type of wkrtc, named after the W3C `DOMException`s a page would see.

use std::fmt;

/// A failed wkrtc operation.
///
/// Each variant is the W3C exception a browser raises for the same failure
/// (<https://webidl.spec.whatwg.org/#idl-DOMException-error-names>), so an embedder such as
/// WebKit maps it one to one; [`Error::name`] gives that name. The message says what went
/// wrong in words a developer can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The object is not in a state that allows the call (for example an answer while
    /// stable, a candidate before a remote description, any call after close).
    InvalidState(String),
    /// A parameter or description is not acceptable for this object (for example SDES
    /// keys, a missing DTLS fingerprint, a TURN server without credentials).
    InvalidAccess(String),
    /// The call was valid but the operation failed (for example webrtcbin refused a
    /// description, a candidate names an unknown media section).
    Operation(String),
    /// Text that does not parse: SDP, a candidate line, an ICE server URL.
    Syntax(String),
    /// An argument of the wrong shape (for example a configuration member out of range).
    Type(String),
    /// A named object does not exist.
    NotFound(String),
    /// The requested feature is valid but not supported by wkrtc or the installed GStreamer.
    NotSupported(String),
    /// A configuration change that the W3C forbids after construction, or parameters
    /// that do not match what they modify.
    InvalidModification(String),
    /// A number out of its allowed range (ECMAScript `RangeError`).
    Range(String),
    /// No device or setting satisfies a required constraint (`OverconstrainedError`, whose
    /// `constraint` names it).
    Overconstrained {
        /// The constraint that could not be met, for example `width`.
        constraint: String,
        /// What went wrong.
        message: String,
    },
    /// The device exists but cannot be read: busy, or gone (`NotReadableError`).
    NotReadable(String),
    /// A string holds a character the operation does not accept (`insertDTMF` tones).
    InvalidCharacter(String),
}

/// Refuses text GStreamer cannot carry: its strings are C strings, so a NUL character would
/// cut them (and glib's bindings refuse them outright). A page may put one in a label or a
/// stream id; wkrtc answers `NotSupportedError` instead of passing a truncated value on.
pub(crate) fn check_no_nul(value: &str, what: &str) -> Result<()> {
    match value.contains('\0') {
        true => Err(Error::NotSupported(format!("{what} contains a NUL character, which GStreamer's strings cannot carry"))),
        false => Ok(()),
    }
}

impl Error {
    /// The W3C exception name: `InvalidStateError`, `TypeError`, ...
    pub fn name(&self) -> &'static str {
        match self {
            Error::InvalidState(_) => "InvalidStateError",
            Error::InvalidAccess(_) => "InvalidAccessError",
            Error::Operation(_) => "OperationError",
            Error::Syntax(_) => "SyntaxError",
            Error::Type(_) => "TypeError",
            Error::NotFound(_) => "NotFoundError",
            Error::NotSupported(_) => "NotSupportedError",
            Error::InvalidModification(_) => "InvalidModificationError",
            Error::Range(_) => "RangeError",
            Error::Overconstrained { .. } => "OverconstrainedError",
            Error::NotReadable(_) => "NotReadableError",
            Error::InvalidCharacter(_) => "InvalidCharacterError",
        }
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        match self {
            Error::InvalidState(m)
            | Error::InvalidAccess(m)
            | Error::Operation(m)
            | Error::Syntax(m)
            | Error::Type(m)
            | Error::NotFound(m)
            | Error::NotSupported(m)
            | Error::InvalidModification(m)
            | Error::Range(m)
            | Error::NotReadable(m)
            | Error::InvalidCharacter(m)
            | Error::Overconstrained { message: m, .. } => m,
        }
    }

    /// For `OverconstrainedError`: the constraint that could not be met.
    pub fn constraint(&self) -> Option<&str> {
        match self {
            Error::Overconstrained { constraint, .. } => Some(constraint),
            _ => None,
        }
    }

    pub(crate) fn closed() -> Self {
        Error::InvalidState("the RTCPeerConnection is closed".into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name(), self.message())
    }
}

impl std::error::Error for Error {}

/// Shorthand for `Result<T, wkrtc::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

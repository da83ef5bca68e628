// SPDX-License-Identifier: MPL-2.0
//! The W3C signaling-state machine and the four session descriptions it keeps.
//!
//! Implements the state checks of `createOffer`, `createAnswer` and "set the session
//! description" (<https://w3c.github.io/webrtc-pc/#set-description>) and the JSEP state
//! diagram (RFC 8829, section 3.2). Pure: no GStreamer, no clock.

use super::{SdpType, SessionDescription};
use crate::{Error, Result};

/// `RTCSignalingState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignalingState {
    /// No offer/answer exchange is in progress.
    Stable,
    /// A local offer has been applied.
    HaveLocalOffer,
    /// A remote offer has been applied.
    HaveRemoteOffer,
    /// A remote offer and a local provisional answer have been applied.
    HaveLocalPranswer,
    /// A local offer and a remote provisional answer have been applied.
    HaveRemotePranswer,
    /// The connection is closed.
    Closed,
}

impl SignalingState {
    /// The W3C enum value, such as `"have-local-offer"`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignalingState::Stable => "stable",
            SignalingState::HaveLocalOffer => "have-local-offer",
            SignalingState::HaveRemoteOffer => "have-remote-offer",
            SignalingState::HaveLocalPranswer => "have-local-pranswer",
            SignalingState::HaveRemotePranswer => "have-remote-pranswer",
            SignalingState::Closed => "closed",
        }
    }
}

/// Which end a description belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Ours (`setLocalDescription`).
    Local,
    /// The peer's (`setRemoteDescription`).
    Remote,
}

/// The signaling state with the pending and current descriptions of both sides.
#[derive(Debug, Clone, Default)]
pub struct Jsep {
    state: Option<SignalingState>,
    pending_local: Option<SessionDescription>,
    current_local: Option<SessionDescription>,
    pending_remote: Option<SessionDescription>,
    current_remote: Option<SessionDescription>,
    /// Whether any offer/answer exchange has completed (a current description exists).
    negotiated: bool,
}

impl Jsep {
    /// A machine in `stable` with no descriptions.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current signaling state.
    pub fn state(&self) -> SignalingState {
        self.state.unwrap_or(SignalingState::Stable)
    }

    /// `pendingLocalDescription ?? currentLocalDescription`.
    pub fn local_description(&self) -> Option<&SessionDescription> {
        self.pending_local.as_ref().or(self.current_local.as_ref())
    }
    /// `pendingRemoteDescription ?? currentRemoteDescription`.
    pub fn remote_description(&self) -> Option<&SessionDescription> {
        self.pending_remote.as_ref().or(self.current_remote.as_ref())
    }
    /// `pendingLocalDescription`.
    pub fn pending_local_description(&self) -> Option<&SessionDescription> {
        self.pending_local.as_ref()
    }
    /// `currentLocalDescription`.
    pub fn current_local_description(&self) -> Option<&SessionDescription> {
        self.current_local.as_ref()
    }
    /// `pendingRemoteDescription`.
    pub fn pending_remote_description(&self) -> Option<&SessionDescription> {
        self.pending_remote.as_ref()
    }
    /// `currentRemoteDescription`.
    pub fn current_remote_description(&self) -> Option<&SessionDescription> {
        self.current_remote.as_ref()
    }

    /// True once an offer/answer exchange has completed at least once.
    pub fn has_negotiated(&self) -> bool {
        self.negotiated
    }

    /// `createOffer` is allowed in `stable` and `have-local-offer`.
    pub fn check_create_offer(&self) -> Result<()> {
        match self.state() {
            SignalingState::Stable | SignalingState::HaveLocalOffer => Ok(()),
            SignalingState::Closed => Err(Error::closed()),
            s => Err(Error::InvalidState(format!("cannot create an offer in signaling state {}", s.as_str()))),
        }
    }

    /// `createAnswer` is allowed in `have-remote-offer` and `have-local-pranswer`.
    pub fn check_create_answer(&self) -> Result<()> {
        match self.state() {
            SignalingState::HaveRemoteOffer | SignalingState::HaveLocalPranswer => Ok(()),
            SignalingState::Closed => Err(Error::closed()),
            s => Err(Error::InvalidState(format!("cannot create an answer in signaling state {}", s.as_str()))),
        }
    }

    /// The type a parameterless `setLocalDescription()` creates.
    pub fn implicit_local_type(&self) -> Result<SdpType> {
        match self.state() {
            SignalingState::Stable | SignalingState::HaveLocalOffer | SignalingState::HaveRemotePranswer => Ok(SdpType::Offer),
            SignalingState::HaveRemoteOffer | SignalingState::HaveLocalPranswer => Ok(SdpType::Answer),
            SignalingState::Closed => Err(Error::closed()),
        }
    }

    /// True when `setRemoteDescription(offer)` in this state first rolls back a local offer
    /// (the W3C's implicit rollback, which resolves glare for the polite peer).
    pub fn needs_implicit_rollback(&self, side: Side, sdp_type: SdpType) -> bool {
        side == Side::Remote && sdp_type == SdpType::Offer && self.state() == SignalingState::HaveLocalOffer
    }

    /// The state that applying a description of `sdp_type` on `side` leads to, or the
    /// `InvalidStateError` the W3C prescribes. Does not change anything.
    pub fn next_state(&self, side: Side, sdp_type: SdpType) -> Result<SignalingState> {
        use SignalingState::*;
        let state = self.state();
        let next = match (side, sdp_type, state) {
            (_, _, Closed) => return Err(Error::closed()),
            (_, SdpType::Rollback, HaveLocalOffer | HaveRemoteOffer) => Some(Stable),
            (_, SdpType::Rollback, _) => None,
            (Side::Local, SdpType::Offer, Stable | HaveLocalOffer) => Some(HaveLocalOffer),
            (Side::Local, SdpType::Answer, HaveRemoteOffer | HaveLocalPranswer) => Some(Stable),
            (Side::Local, SdpType::Pranswer, HaveRemoteOffer | HaveLocalPranswer) => Some(HaveLocalPranswer),
            (Side::Remote, SdpType::Offer, Stable | HaveRemoteOffer) => Some(HaveRemoteOffer),
            (Side::Remote, SdpType::Answer, HaveLocalOffer | HaveRemotePranswer) => Some(Stable),
            (Side::Remote, SdpType::Pranswer, HaveLocalOffer | HaveRemotePranswer) => Some(HaveRemotePranswer),
            _ => None,
        };
        next.ok_or_else(|| {
            Error::InvalidState(format!(
                "cannot set a {} {} in signaling state {}",
                match side {
                    Side::Local => "local",
                    Side::Remote => "remote",
                },
                sdp_type.as_str(),
                state.as_str()
            ))
        })
    }

    /// Applies a description that the engine accepted; returns the new state.
    ///
    /// Follows the W3C's bookkeeping of pending and current descriptions.
    pub fn apply(&mut self, side: Side, desc: SessionDescription) -> Result<SignalingState> {
        let next = self.next_state(side, desc.sdp_type)?;
        match (side, desc.sdp_type) {
            (_, SdpType::Rollback) => {
                self.pending_local = None;
                self.pending_remote = None;
            }
            (Side::Local, SdpType::Offer | SdpType::Pranswer) => self.pending_local = Some(desc),
            (Side::Remote, SdpType::Offer | SdpType::Pranswer) => self.pending_remote = Some(desc),
            (Side::Local, SdpType::Answer) => {
                self.current_local = Some(desc);
                self.current_remote = self.pending_remote.take().or(self.current_remote.take());
                self.pending_local = None;
                self.negotiated = true;
            }
            (Side::Remote, SdpType::Answer) => {
                self.current_remote = Some(desc);
                self.current_local = self.pending_local.take().or(self.current_local.take());
                self.pending_remote = None;
                self.negotiated = true;
            }
        }
        self.state = Some(next);
        Ok(next)
    }

    /// Moves to `closed`; every later check fails with `InvalidStateError`.
    pub fn close(&mut self) {
        self.state = Some(SignalingState::Closed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SignalingState::*;

    fn desc(t: SdpType) -> SessionDescription {
        SessionDescription::new(t, format!("v=0 {}", t.as_str()))
    }

    fn in_state(state: SignalingState) -> Jsep {
        let mut j = Jsep::new();
        let steps: &[(Side, SdpType)] = match state {
            Stable => &[],
            HaveLocalOffer => &[(Side::Local, SdpType::Offer)],
            HaveRemoteOffer => &[(Side::Remote, SdpType::Offer)],
            HaveLocalPranswer => &[(Side::Remote, SdpType::Offer), (Side::Local, SdpType::Pranswer)],
            HaveRemotePranswer => &[(Side::Local, SdpType::Offer), (Side::Remote, SdpType::Pranswer)],
            Closed => {
                j.close();
                &[]
            }
        };
        for (side, t) in steps {
            j.apply(*side, desc(*t)).unwrap();
        }
        assert_eq!(j.state(), state);
        j
    }

    const STATES: [SignalingState; 6] = [Stable, HaveLocalOffer, HaveRemoteOffer, HaveLocalPranswer, HaveRemotePranswer, Closed];
    const TYPES: [SdpType; 4] = [SdpType::Offer, SdpType::Pranswer, SdpType::Answer, SdpType::Rollback];

    /// The complete transition table: every (state, side, type), with the W3C's outcome.
    #[test]
    fn every_transition() {
        let expected = |state, side, t| -> Option<SignalingState> {
            use SdpType::*;
            match (state, side, t) {
                (Closed, _, _) => None,
                (HaveLocalOffer | HaveRemoteOffer, _, Rollback) => Some(Stable),
                (Stable | HaveLocalOffer, Side::Local, Offer) => Some(HaveLocalOffer),
                (HaveRemoteOffer | HaveLocalPranswer, Side::Local, Answer) => Some(Stable),
                (HaveRemoteOffer | HaveLocalPranswer, Side::Local, Pranswer) => Some(HaveLocalPranswer),
                (Stable | HaveRemoteOffer, Side::Remote, Offer) => Some(HaveRemoteOffer),
                (HaveLocalOffer | HaveRemotePranswer, Side::Remote, Answer) => Some(Stable),
                (HaveLocalOffer | HaveRemotePranswer, Side::Remote, Pranswer) => Some(HaveRemotePranswer),
                _ => None,
            }
        };
        let mut checked = 0;
        for state in STATES {
            for side in [Side::Local, Side::Remote] {
                for t in TYPES {
                    let mut j = in_state(state);
                    let got = j.apply(side, desc(t));
                    match expected(state, side, t) {
                        Some(next) => {
                            assert_eq!(got, Ok(next), "{state:?} {side:?} {t:?}");
                            assert_eq!(j.state(), next);
                        }
                        None => {
                            let err = got.expect_err("transition must be refused");
                            assert_eq!(err.name(), "InvalidStateError", "{state:?} {side:?} {t:?}");
                            assert_eq!(j.state(), state, "a refused transition changes nothing");
                        }
                    }
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 48);
    }

    #[test]
    fn create_offer_and_answer_states() {
        for state in STATES {
            let j = in_state(state);
            assert_eq!(j.check_create_offer().is_ok(), matches!(state, Stable | HaveLocalOffer), "{state:?}");
            assert_eq!(j.check_create_answer().is_ok(), matches!(state, HaveRemoteOffer | HaveLocalPranswer), "{state:?}");
            if state != Stable && state != HaveLocalOffer {
                assert_eq!(j.check_create_offer().unwrap_err().name(), "InvalidStateError");
            }
        }
    }

    #[test]
    fn implicit_types() {
        assert_eq!(in_state(Stable).implicit_local_type(), Ok(SdpType::Offer));
        assert_eq!(in_state(HaveLocalOffer).implicit_local_type(), Ok(SdpType::Offer));
        assert_eq!(in_state(HaveRemoteOffer).implicit_local_type(), Ok(SdpType::Answer));
        assert_eq!(in_state(HaveLocalPranswer).implicit_local_type(), Ok(SdpType::Answer));
        assert_eq!(in_state(Closed).implicit_local_type().unwrap_err().name(), "InvalidStateError");
    }

    #[test]
    fn descriptions_follow_the_w3c_bookkeeping() {
        let mut j = Jsep::new();
        let offer = desc(SdpType::Offer);
        j.apply(Side::Local, offer.clone()).unwrap();
        assert_eq!(j.pending_local_description(), Some(&offer));
        assert_eq!(j.local_description(), Some(&offer));
        assert!(j.current_local_description().is_none());
        assert!(!j.has_negotiated());

        let answer = desc(SdpType::Answer);
        j.apply(Side::Remote, answer.clone()).unwrap();
        assert_eq!(j.current_local_description(), Some(&offer));
        assert_eq!(j.current_remote_description(), Some(&answer));
        assert!(j.pending_local_description().is_none());
        assert!(j.pending_remote_description().is_none());
        assert!(j.has_negotiated());

        // A renegotiation that is rolled back leaves the current descriptions alone.
        let offer2 = SessionDescription::new(SdpType::Offer, "v=0 second".into());
        j.apply(Side::Remote, offer2.clone()).unwrap();
        assert_eq!(j.remote_description(), Some(&offer2));
        j.apply(Side::Local, desc(SdpType::Rollback)).unwrap();
        assert_eq!(j.state(), Stable);
        assert_eq!(j.remote_description(), Some(&answer));
        assert_eq!(j.local_description(), Some(&offer));
    }

    #[test]
    fn implicit_rollback_only_for_a_remote_offer_in_have_local_offer() {
        for state in STATES {
            let j = in_state(state);
            for side in [Side::Local, Side::Remote] {
                for t in TYPES {
                    let want = state == HaveLocalOffer && side == Side::Remote && t == SdpType::Offer;
                    assert_eq!(j.needs_implicit_rollback(side, t), want);
                }
            }
        }
    }
}

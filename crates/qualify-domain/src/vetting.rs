//! The vetting state machine: a request starts `InReview` and is decided once, to `Approved`
//! or to `Denied` with a reason. Nothing leaves a decided state.

use qualify_types::VettingStatus;

use crate::values::{DenialReason, InvalidValue};

/// Where one vetting request stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VettingState {
    /// Waiting for a decision.
    InReview,
    /// Qualified.
    Approved,
    /// Not qualified, and why.
    Denied(DenialReason),
}

/// A reviewer's (or a policy's) decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Qualify the customer.
    Approve,
    /// Refuse, saying why.
    Deny(DenialReason),
}

/// A decision the state machine refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionRefused {
    /// The request was decided already; decisions are final.
    #[error("The vetting request was already decided: it is {0}.")]
    AlreadyDecided(VettingStatus),
}

impl VettingState {
    /// The wire status.
    pub fn status(&self) -> VettingStatus {
        match self {
            Self::InReview => VettingStatus::InReview,
            Self::Approved => VettingStatus::Approved,
            Self::Denied(_) => VettingStatus::Denied,
        }
    }

    /// Why it was denied; `None` unless it was.
    pub fn reason(&self) -> Option<&DenialReason> {
        match self {
            Self::Denied(reason) => Some(reason),
            Self::InReview | Self::Approved => None,
        }
    }

    /// The state after `verdict`, if this state may be decided.
    pub fn decide(&self, verdict: Verdict) -> Result<Self, DecisionRefused> {
        match self {
            Self::InReview => Ok(match verdict {
                Verdict::Approve => Self::Approved,
                Verdict::Deny(reason) => Self::Denied(reason),
            }),
            decided => Err(DecisionRefused::AlreadyDecided(decided.status())),
        }
    }
}

impl Verdict {
    /// The verdict a decision body asks for: `Approved` without a reason, or `Denied` with one.
    pub fn from_request(status: VettingStatus, reason: Option<&str>) -> Result<Self, InvalidValue> {
        match (status, reason) {
            (VettingStatus::Approved, None) => Ok(Self::Approve),
            (VettingStatus::Approved, Some(_)) => Err(InvalidValue::new(
                "vettingReason",
                "is only given with Denied",
            )),
            (VettingStatus::Denied, Some(reason)) => DenialReason::parse(reason).map(Self::Deny),
            (VettingStatus::Denied, None) => Err(InvalidValue::new(
                "vettingReason",
                "is required with Denied (the partner reads it)",
            )),
            (VettingStatus::InReview, _) => Err(InvalidValue::new(
                "vettingStatus",
                "must be Approved or Denied",
            )),
        }
    }

    /// The status this verdict leads to.
    pub fn status(&self) -> VettingStatus {
        match self {
            Self::Approve => VettingStatus::Approved,
            Self::Deny(_) => VettingStatus::Denied,
        }
    }

    /// The reason, for a denial.
    pub fn reason(&self) -> Option<&DenialReason> {
        match self {
            Self::Approve => None,
            Self::Deny(reason) => Some(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason() -> DenialReason {
        DenialReason::parse("Not an Education Customer").unwrap()
    }

    fn every_state() -> [VettingState; 3] {
        [
            VettingState::InReview,
            VettingState::Approved,
            VettingState::Denied(reason()),
        ]
    }

    #[test]
    fn only_a_denied_state_has_a_reason() {
        assert_eq!(VettingState::Denied(reason()).reason(), Some(&reason()));
        assert_eq!(VettingState::InReview.reason(), None);
        assert_eq!(VettingState::Approved.reason(), None);
    }

    #[test]
    fn in_review_moves_to_approved_or_denied() {
        assert_eq!(
            VettingState::InReview.decide(Verdict::Approve),
            Ok(VettingState::Approved)
        );
        assert_eq!(
            VettingState::InReview.decide(Verdict::Deny(reason())),
            Ok(VettingState::Denied(reason()))
        );
    }

    #[test]
    fn a_decided_request_refuses_every_further_decision() {
        for state in every_state()
            .into_iter()
            .filter(|s| *s != VettingState::InReview)
        {
            for verdict in [Verdict::Approve, Verdict::Deny(reason())] {
                assert_eq!(
                    state.decide(verdict),
                    Err(DecisionRefused::AlreadyDecided(state.status())),
                    "{state:?}"
                );
            }
        }
    }

    #[test]
    fn a_decision_body_needs_a_reason_exactly_when_it_denies() {
        assert_eq!(
            Verdict::from_request(VettingStatus::Approved, None),
            Ok(Verdict::Approve)
        );
        assert_eq!(
            Verdict::from_request(VettingStatus::Denied, Some("Not an Academic Domain"))
                .unwrap()
                .reason()
                .map(DenialReason::as_str),
            Some("Not an Academic Domain")
        );
        assert_eq!(
            Verdict::from_request(VettingStatus::Denied, None)
                .unwrap_err()
                .property,
            "vettingReason"
        );
        assert_eq!(
            Verdict::from_request(VettingStatus::Denied, Some("  "))
                .unwrap_err()
                .property,
            "vettingReason"
        );
        assert_eq!(
            Verdict::from_request(VettingStatus::Approved, Some("fine"))
                .unwrap_err()
                .property,
            "vettingReason"
        );
        assert_eq!(
            Verdict::from_request(VettingStatus::InReview, None)
                .unwrap_err()
                .property,
            "vettingStatus"
        );
    }
}

//! A rule's timed decision, the job a submission enqueues when its rule decides after a delay:
//! made (by `Qualify::decide_by_rule`) when the delay has passed on the partner's clock.
//! A reviewer who decided first wins; the job then finds nothing to decide, and is done.

use qualify_domain::Verdict;
use qualify_store::VettingRecord;
use qualify_types::{TenantId, Timestamp, VettingRequestId, VettingStatus};
use serde::{Deserialize, Serialize};

use crate::jobs::JobKind;

/// The decision a rule scheduled: the job's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimedDecision {
    /// The vetting request.
    pub request: VettingRequestId,
    /// Its partner, whose clock the delay runs on.
    pub partner: TenantId,
    /// The rule's name.
    pub rule: String,
    /// `Approved` or `Denied`.
    pub vetting_status: VettingStatus,
    /// The denial's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vetting_reason: Option<String>,
    /// When the decision falls due, on the partner's clock: the date it is given.
    pub due: Timestamp,
}

impl JobKind for TimedDecision {
    const NAME: &'static str = "vetting.decide";

    /// A rule's delay runs on the partner's clock.
    fn clock_partner(&self) -> Option<TenantId> {
        Some(self.partner)
    }
}

impl TimedDecision {
    /// `rule`'s decision `verdict` on `request`, due at `due`.
    pub(crate) fn new(
        request: &VettingRecord,
        rule: &str,
        verdict: &Verdict,
        due: Timestamp,
    ) -> Self {
        Self {
            request: request.id,
            partner: request.partner_tenant_id,
            rule: rule.to_owned(),
            vetting_status: verdict.status(),
            vetting_reason: verdict.reason().map(|r| r.as_str().to_owned()),
            due,
        }
    }
}

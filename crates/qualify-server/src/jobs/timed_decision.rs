//! A rule's timed decision: made when the rule's delay has passed on the partner's clock. A
//! reviewer who decided first wins; the job then finds nothing to decide, and is done.

use qualify_domain::Verdict;
use qualify_store::{Tx, VettingRecord};
use qualify_types::{TenantId, Timestamp, VettingRequestId, VettingStatus};
use serde::{Deserialize, Serialize};

use super::runner::Attempt;
use crate::AppState;
use crate::metrics::DecidedBy;
use crate::usecases::{Decider, UseCaseError, When, decide};

/// The decision a rule scheduled: the job's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TimedDecision {
    /// The vetting request.
    pub(crate) request: VettingRequestId,
    /// Its partner, whose clock the delay runs on.
    pub(crate) partner: TenantId,
    /// The rule's name.
    pub(crate) rule: String,
    /// `Approved` or `Denied`.
    pub(crate) vetting_status: VettingStatus,
    /// The denial's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) vetting_reason: Option<String>,
    /// When the decision falls due, on the partner's clock: the date it is given.
    pub(crate) due: Timestamp,
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

    /// Makes the decision, dated when it fell due: a decision that fell due while the server
    /// was down is made when it is back, with the date the rule gave it.
    pub(super) async fn run(&self, state: &AppState) -> Attempt {
        let verdict =
            match Verdict::from_request(self.vetting_status, self.vetting_reason.as_deref()) {
                Ok(verdict) => verdict,
                Err(unreadable) => return Attempt::Hopeless(unreadable.to_string()),
            };
        let decider = Decider::Rule {
            name: self.rule.clone(),
        };
        let decided = state
            .store
            .transaction(async |tx: &mut Tx| {
                decide(
                    tx,
                    &state.vetting,
                    self.request,
                    &verdict,
                    &decider,
                    When::At(self.due),
                )
                .await
            })
            .await;
        match decided {
            Ok(record) => {
                state.jobs_ready.notify_waiters();
                state
                    .metrics
                    .decided(record.state.status(), DecidedBy::Rule);
                tracing::info!(request = %self.request, rule = %self.rule, status = %record.state.status(), "decided by a rule");
                Attempt::Done
            }
            Err(UseCaseError::Decision(overtaken)) => {
                tracing::info!(request = %self.request, rule = %self.rule, %overtaken, "nothing to decide: decided first by someone else");
                Attempt::Done
            }
            Err(UseCaseError::VettingRequestNotFound(_)) => {
                tracing::info!(request = %self.request, rule = %self.rule, "nothing to decide: the request is gone");
                Attempt::Done
            }
            Err(error) => Attempt::Failed(error.to_string()),
        }
    }
}

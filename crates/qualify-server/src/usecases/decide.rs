//! Deciding a vetting request: a reviewer (through the reviewer API) ends it `Approved`, or
//! `Denied` with a reason. Exactly one decision wins; a later one is refused with the state the
//! request is in.

use qualify_domain::Verdict;
use qualify_store::{AuditEvent, Tx, VettingRecord};
use qualify_types::{EventType, Timestamp, VettingRequestId};

use super::{Actor, UseCaseError, Vetting};

/// Who decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decider {
    /// A reviewer of the operator tenant.
    Reviewer {
        /// The operator tenant.
        tenant: String,
        /// The reviewer's sign-in name.
        username: String,
    },
}

impl Decider {
    /// What the request records as `decidedBy`, and the audit trail as the actor.
    fn actor(&self) -> Actor {
        match self {
            Self::Reviewer { tenant, username } => Actor {
                tenant: tenant.clone(),
                name: username.clone(),
            },
        }
    }
}

/// Decides the vetting request `id` with `verdict`, at `at`, if it is still in review.
pub(crate) async fn decide(
    tx: &mut Tx,
    vetting: &Vetting,
    id: VettingRequestId,
    verdict: &Verdict,
    decider: &Decider,
    at: Timestamp,
) -> Result<VettingRecord, UseCaseError> {
    let actor = decider.actor();
    let decided = tx
        .decide_vetting_request(id, verdict, &actor.name, at)
        .await?;
    let current = tx
        .find_vetting_request(id)
        .await?
        .ok_or(UseCaseError::VettingRequestNotFound(id))?;
    if !decided {
        // Not in review any more: the state machine says why.
        return Err(match current.state.decide(verdict.clone()) {
            Err(refused) => refused.into(),
            Ok(_) => UseCaseError::internal("a request in review refused the decision"),
        });
    }
    let detail = serde_json::json!({
        "vettingStatus": verdict.status().as_str(),
        "vettingReason": verdict.reason().map(|r| r.as_str()),
    })
    .to_string();
    tx.record_audit(&AuditEvent {
        at,
        actor_tenant: &actor.tenant,
        actor: &actor.name,
        action: "vetting.decided",
        subject: &id.to_string(),
        detail: &detail,
    })
    .await?;
    tx.enqueue_jobs(
        &vetting
            .outbox
            .jobs(EventType::QualificationDecided, &current, at),
        at,
    )
    .await?;
    Ok(current)
}

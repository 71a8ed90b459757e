//! Deciding a vetting request: a reviewer (through the reviewer API) or a vetting rule ends it
//! `Approved`, or `Denied` with a reason. Exactly one decision wins; a later one is refused with
//! the state the request is in.

use qualify_domain::Verdict;
use qualify_store::{AuditEvent, Tx, VettingRecord};
use qualify_types::{EventType, Timestamp, VettingRequestId};

use super::{Actor, UseCaseError, Vetting, audit};

/// Who decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decider {
    /// A reviewer of the operator tenant.
    Reviewer {
        /// The operator tenant.
        tenant: String,
        /// The reviewer's sign-in name.
        username: String,
    },
    /// A vetting rule of the operator's (or of a test's).
    Rule {
        /// The rule's name.
        name: String,
    },
}

impl Decider {
    /// What the request records as `decidedBy`, and the audit trail as the actor.
    fn actor(&self) -> Actor {
        match self {
            Self::Reviewer { tenant, username } => Actor {
                tenant: tenant.clone(),
                name: username.clone(),
                application_id: None,
                user_principal_name: Some(username.clone()),
            },
            Self::Rule { name } => Actor {
                tenant: "operator".into(),
                name: format!("rule:{name}"),
                application_id: None,
                user_principal_name: None,
            },
        }
    }
}

/// When a decision is dated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Now, on the clock of the request's partner.
    Now,
    /// At this time on that clock: when a rule's delay ended.
    At(Timestamp),
}

/// Decides the vetting request `id` with `verdict`, if it is still in review.
pub(crate) async fn decide(
    tx: &mut Tx,
    vetting: &Vetting,
    id: VettingRequestId,
    verdict: &Verdict,
    decider: &Decider,
    when: When,
) -> Result<VettingRecord, UseCaseError> {
    let current = tx
        .find_vetting_request(id)
        .await?
        .ok_or(UseCaseError::VettingRequestNotFound(id))?;
    let decided = current.state.decide(verdict.clone())?;
    let at = match when {
        When::At(at) => at,
        When::Now => {
            vetting
                .partners
                .now_for(tx, current.partner_tenant_id)
                .await?
        }
    };
    let actor = decider.actor();
    if !tx
        .decide_vetting_request(id, verdict, &actor.name, at)
        .await?
    {
        // Another transaction decided it between this one's read and its update.
        let now = tx
            .find_vetting_request(id)
            .await?
            .ok_or(UseCaseError::VettingRequestNotFound(id))?;
        return Err(match now.state.decide(verdict.clone()) {
            Err(refused) => refused.into(),
            Ok(_) => UseCaseError::internal("a request in review refused the decision"),
        });
    }
    let record = VettingRecord {
        state: decided,
        decided_at: Some(at),
        decided_by: Some(actor.name.clone()),
        ..current.clone()
    };
    let detail = serde_json::json!({
        "vettingStatus": verdict.status().as_str(),
        "vettingReason": verdict.reason().map(|r| r.as_str()),
    })
    .to_string();
    let (before, after) = (
        audit::qualification_value(&current),
        audit::qualification_value(&record),
    );
    let audit_seq = tx
        .record_audit(&AuditEvent {
            at,
            actor_tenant: &actor.tenant,
            actor: &actor.name,
            action: "vetting.decided",
            subject: &id.to_string(),
            detail: &detail,
            change: Some(audit::qualification_change(
                &record,
                None,
                Some(&before),
                &after,
            )),
        })
        .await?;
    let server_now = vetting.partners.server_now();
    let audit_id = audit::record_id(
        &record.partner_tenant_id.to_string(),
        &record.customer_id.to_string(),
        audit::DECIDE_QUALIFICATION,
        audit_seq,
    );
    vetting
        .outbox
        .enqueue(
            tx,
            EventType::QualificationDecided,
            &record,
            at,
            server_now,
            &audit_id,
        )
        .await?;
    Ok(record)
}

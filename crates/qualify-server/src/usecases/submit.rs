//! Submitting a qualification for vetting: `POST …/qualifications` and the legacy
//! `PUT …/qualification` both come here (the submission carries which channel it came by).

use qualify_domain::{Submission, SubmissionRefused, VettingState, check_submission};
use qualify_store::{AuditEvent, CodeSpent, HistoryEntry, NewVettingRequest, Tx, VettingRecord};
use qualify_types::{CustomerId, EventType, Timestamp, VettingRequestId};

use super::{Actor, UseCaseError, Vetting};

/// Submits `submission` for the partner's `customer`, at `at`: the request is created in
/// review if the customer's history and the partner's GCC codes allow it.
pub(crate) async fn submit(
    tx: &mut Tx,
    vetting: &Vetting,
    caller: &Actor,
    partner: qualify_types::TenantId,
    customer: CustomerId,
    submission: &Submission,
    at: Timestamp,
) -> Result<VettingRecord, UseCaseError> {
    // The lock serialises this customer's submissions on every backend, so the history read
    // next is the one the new request is checked against.
    let locked = tx
        .lock_customer(partner, customer)
        .await?
        .ok_or(UseCaseError::CustomerNotFound(customer))?;
    let history = tx
        .customer_history(partner, customer)
        .await?
        .unwrap_or_default();
    let prior: Vec<_> = history.iter().map(HistoryEntry::as_prior).collect();
    let qualification = submission.qualification();
    let attempt = check_submission(&prior, qualification, &vetting.policy)?;
    if let Some(code) = submission.validation_code() {
        match tx.spend_validation_code(partner, code.as_str(), at).await? {
            CodeSpent::Spent => {}
            CodeSpent::NoSuchCode => {
                return Err(SubmissionRefused::UnknownValidationCode(code.to_string()).into());
            }
            CodeSpent::NoneLeft => {
                return Err(SubmissionRefused::ValidationCodeExhausted(code.to_string()).into());
            }
        }
    }
    let id = VettingRequestId::time_ordered();
    tx.insert_vetting_request(
        &NewVettingRequest {
            id,
            partner_tenant_id: partner,
            customer_id: customer,
            submission,
            attempt,
        },
        at,
    )
    .await?;
    let detail = serde_json::json!({
        "customerId": customer,
        "qualification": qualification.as_str(),
        "attempt": attempt,
        "channel": submission.channel(),
    })
    .to_string();
    tx.record_audit(&AuditEvent {
        at,
        actor_tenant: &caller.tenant,
        actor: &caller.name,
        action: "vetting.submitted",
        subject: &id.to_string(),
        detail: &detail,
    })
    .await?;
    // Everything the record holds is known here: no need to read it back.
    let record = VettingRecord {
        id,
        partner_tenant_id: partner,
        customer_id: customer,
        customer_domain: locked.domain,
        customer_company_name: locked.company_name,
        qualification,
        education_segment: submission.education_segment(),
        website: submission.website().map(|w| w.to_string()),
        validation_code: submission.validation_code().map(|c| c.to_string()),
        channel: submission.channel(),
        attempt,
        state: VettingState::InReview,
        created_at: at,
        decided_at: None,
        decided_by: None,
    };
    tx.enqueue_jobs(
        &vetting
            .outbox
            .jobs(EventType::QualificationSubmitted, &record, at),
        at,
    )
    .await?;
    Ok(record)
}

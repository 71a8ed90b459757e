//! Submitting a qualification for vetting: `POST …/qualifications` and the legacy
//! `PUT …/qualification` both come here (the submission carries which channel it came by). The
//! first vetting rule that matches (the partner's own, set by its tests, then the server's)
//! decides it at once (in this transaction), schedules its decision for later, or leaves it to a
//! reviewer.

use qualify_domain::{
    Facts, Rule, RuleDecision, Submission, SubmissionRefused, Verdict, VettingState,
    check_submission,
};
use qualify_store::{AuditEvent, CodeSpent, HistoryEntry, NewVettingRequest, Tx, VettingRecord};
use qualify_types::{CustomerId, EventType, TenantId, VettingRequestId};

use super::TimedDecision;
use super::{Actor, Decider, UseCaseError, Vetting, When, audit, decide};
use crate::jobs::JobKind;

/// Submits `submission` for the `partner`'s `customer`: the request is created in review if the
/// customer's history and the partner's GCC codes allow it, then a vetting rule may decide it.
pub(crate) async fn submit(
    tx: &mut Tx,
    vetting: &Vetting,
    caller: &Actor,
    partner: TenantId,
    customer: CustomerId,
    submission: &Submission,
) -> Result<VettingRecord, UseCaseError> {
    // The lock serialises this customer's submissions on every backend, so the history read
    // next is the one the new request is checked against.
    let locked = tx
        .lock_customer(partner, customer)
        .await?
        .ok_or(UseCaseError::CustomerNotFound(customer))?;
    let view = vetting.partners.view(tx, partner).await?;
    let at = view.now;
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
    let server_rules = vetting.rules.current();
    let matched = view.first_match(
        &server_rules,
        &Facts {
            partner,
            customer_domain: &locked.domain,
            submission,
        },
    );
    if let Some(matched) = &matched {
        matched.use_once(tx, partner).await?;
    }
    let rule = matched.as_ref().map(|m| m.rule);
    let id = VettingRequestId::time_ordered();
    tx.insert_vetting_request(
        &NewVettingRequest {
            id,
            partner_tenant_id: partner,
            customer_id: customer,
            submission,
            attempt,
            matched_rule: rule.map(Rule::name),
        },
        at,
    )
    .await?;
    let detail = serde_json::json!({
        "customerId": customer,
        "qualification": qualification.as_str(),
        "attempt": attempt,
        "channel": submission.channel(),
        "matchedRule": rule.map(Rule::name),
    })
    .to_string();
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
        matched_rule: rule.map(|r| r.name().to_owned()),
    };
    let (before, after) = (
        audit::prior_value(&history, &record),
        audit::qualification_value(&record),
    );
    let audit_seq = tx
        .record_audit(&AuditEvent {
            at,
            actor_tenant: &caller.tenant,
            actor: &caller.name,
            action: "vetting.submitted",
            subject: &id.to_string(),
            detail: &detail,
            change: Some(audit::qualification_change(
                &record,
                Some(caller),
                before.as_deref(),
                &after,
            )),
        })
        .await?;
    let server_now = vetting.partners.server_now();
    let audit_id = audit::record_id(
        &record.partner_tenant_id.to_string(),
        &record.customer_id.to_string(),
        audit::UPDATE_QUALIFICATION,
        audit_seq,
    );
    vetting
        .outbox
        .enqueue(
            tx,
            EventType::QualificationSubmitted,
            &record,
            at,
            server_now,
            &audit_id,
        )
        .await?;
    match rule {
        Some(rule) => apply(tx, vetting, record, rule, view.offset_ms).await,
        None => Ok(record),
    }
}

/// What `rule` does to the new request `record`: decides it now, schedules its decision, or
/// leaves it to a reviewer. `offset_ms` is how far its partner's clock runs ahead of the
/// server's, as the submission read it.
async fn apply(
    tx: &mut Tx,
    vetting: &Vetting,
    record: VettingRecord,
    rule: &Rule,
    offset_ms: i64,
) -> Result<VettingRecord, UseCaseError> {
    let verdict = match rule.decision() {
        RuleDecision::Hold => return Ok(record),
        RuleDecision::Approve => Verdict::Approve,
        RuleDecision::Deny(reason) => Verdict::Deny(reason.clone()),
    };
    let decider = Decider::Rule {
        name: rule.name().to_owned(),
    };
    let Some(after) = rule.after() else {
        return decide(
            tx,
            vetting,
            record.id,
            &verdict,
            &decider,
            When::At(record.created_at),
        )
        .await;
    };
    let after_ms = i64::try_from(after.as_millis()).unwrap_or(i64::MAX);
    let due = record.created_at.plus_millis(after_ms);
    let timed = TimedDecision::new(&record, rule.name(), &verdict, due);
    // Due when the partner's clock reaches the date: on the server's clock, the date less the
    // offset the submission read (and share-locked: an advance moves it, and this job, after).
    let server_now = vetting.partners.server_now();
    let job = timed
        .to_new(due.plus_millis(-offset_ms), vetting.job_max_attempts)
        .map_err(UseCaseError::internal)?;
    tx.enqueue_jobs(&[job], server_now).await?;
    Ok(record)
}

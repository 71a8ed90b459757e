//! What a partner's audit record says of a change to one of its customers, in Partner Center's
//! terms (`GET /v1/auditrecords`): the resource and operation types, who acted, and the
//! qualification before and after. Decisions name the vetting service, never the operator's
//! reviewer or rule: those are the operator's to know (the reviewer API shows them).

use qualify_store::{AuditEvent, AuditedChange, HistoryEntry, Tx, VettingRecord};
use qualify_types::Timestamp;
use serde_json::json;

use super::{Actor, UseCaseError};

/// Partner Center's resource type of every change audited here: the qualification is the
/// customer's.
pub const CUSTOMER: &str = "customer";
/// Partner Center's operation type of a new customer.
pub const ADD_CUSTOMER: &str = "add_customer";
/// Partner Center's operation type of a qualification submitted.
pub const UPDATE_QUALIFICATION: &str = "update_customer_qualification";
/// Qualify's operation type of a qualification decided (Partner Center has none: its vetting
/// is not audited for the partner).
pub const DECIDE_QUALIFICATION: &str = "decide_customer_qualification";
/// The application a decision names.
pub const VETTING_SERVICE: &str = "VettingService";

/// The id of an audit record, as Partner Center builds them:
/// `{partnerId}_{customerId}_{operationType}_{position}`. `GET /v1/auditrecords/{id}` and an
/// event's `AuditUri` use it.
pub fn record_id(partner: &str, customer: &str, operation_type: &str, seq: i64) -> String {
    format!("{partner}_{customer}_{operation_type}_{seq}")
}

/// A qualification's vetting as its audit record shows it, before or after a change (JSON).
pub(crate) fn qualification_value(record: &VettingRecord) -> String {
    json!({
        "vettingRequestId": record.id,
        "qualification": record.qualification,
        "educationSegment": record.education_segment,
        "website": record.website,
        "attempt": record.attempt,
        "vettingStatus": record.state.status(),
        "vettingReason": record.state.reason().map(ToString::to_string),
    })
    .to_string()
}

/// The customer's latest request for the same qualification, before a new submission (JSON).
pub(crate) fn prior_value(history: &[HistoryEntry], record: &VettingRecord) -> Option<String> {
    let latest = history
        .iter()
        .filter(|entry| entry.qualification == record.qualification)
        .max_by_key(|entry| entry.attempt)?;
    Some(
        json!({
            "qualification": latest.qualification,
            "attempt": latest.attempt,
            "vettingStatus": latest.state.status(),
            "vettingReason": latest.state.reason().map(ToString::to_string),
        })
        .to_string(),
    )
}

/// The partner's record of a change to `record`'s qualification, made by `actor` (a
/// submission) or by the vetting service (`actor` is `None`: a decision).
pub(crate) fn qualification_change<'a>(
    record: &'a VettingRecord,
    actor: Option<&'a Actor>,
    old_value: Option<&'a str>,
    new_value: &'a str,
) -> AuditedChange<'a> {
    AuditedChange {
        partner: record.partner_tenant_id,
        customer: record.customer_id,
        customer_name: &record.customer_company_name,
        resource_type: CUSTOMER,
        operation_type: match actor {
            Some(_) => UPDATE_QUALIFICATION,
            None => DECIDE_QUALIFICATION,
        },
        application_id: match actor {
            Some(actor) => actor.application_id.as_deref(),
            None => Some(VETTING_SERVICE),
        },
        user_principal_name: actor.and_then(|a| a.user_principal_name.as_deref()),
        old_value,
        new_value: Some(new_value),
    }
}

/// Records, in `tx`, that `actor` did `action` to `subject` (`detail` in JSON): a change of the
/// operator's trail only, with no customer's qualification in it (Partner Center's feed shows
/// partners the changes to their customers alone).
pub(crate) async fn record(
    tx: &mut Tx,
    at: Timestamp,
    actor: &Actor,
    action: &str,
    subject: &str,
    detail: &str,
) -> Result<(), UseCaseError> {
    tx.record_audit(&AuditEvent {
        at,
        actor_tenant: &actor.tenant,
        actor: &actor.name,
        action,
        subject,
        detail,
        change: None,
    })
    .await?;
    Ok(())
}

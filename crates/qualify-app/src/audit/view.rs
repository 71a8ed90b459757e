//! Audit records as partners and the operator read them, in Partner Center's shape: a record's
//! id, its operation type, and what the operator's view adds (who acted, what the trail says).

use qualify_store::AuditRecord as StoredRecord;
use qualify_types::{Attributes, AuditRecord, KeyValue};

/// A record's id: `{partnerId}_{customerId}_{operationType}_{position}`, as Partner Center
/// builds its own (partner, customer, operation, and a number that orders them).
pub fn record_id(record: &StoredRecord) -> String {
    crate::usecases::audit::record_id(
        record.partner.as_deref().unwrap_or(&record.actor_tenant),
        record.customer.as_deref().unwrap_or_default(),
        &operation_type(record),
        record.seq,
    )
}

/// The operation type; the operator's own records (no Partner Center type) are named after
/// their action: `tenant.created` is `tenant_created`.
fn operation_type(record: &StoredRecord) -> String {
    record
        .operation_type
        .clone()
        .unwrap_or_else(|| record.action.replace('.', "_"))
}

/// A record as the operator reads it: who acted, and what the trail says of it, included.
pub fn operator_view(record: &StoredRecord) -> AuditRecord {
    dto(record, true)
}

/// The record as Partner Center shows it; the operator's view also names who acted and what the trail says.
pub fn dto(record: &StoredRecord, operator: bool) -> AuditRecord {
    let mut customized = Vec::new();
    let pair = |key: &str, value: &str| KeyValue {
        key: key.to_owned(),
        value: Some(value.to_owned()),
    };
    if record.action.starts_with("vetting.") {
        customized.push(pair("VettingRequestId", &record.subject));
    }
    if operator {
        customized.push(pair("Actor", &record.actor));
        customized.push(pair("ActorTenantId", &record.actor_tenant));
        customized.push(pair("Action", &record.action));
        customized.push(pair("Detail", &record.detail));
    }
    AuditRecord {
        id: record_id(record),
        partner_id: record
            .partner
            .clone()
            .unwrap_or_else(|| record.actor_tenant.clone()),
        customer_id: record.customer.clone(),
        customer_name: record.customer_name.clone(),
        user_principal_name: record.user_principal_name.clone(),
        application_id: record.application_id.clone(),
        resource_type: record.resource_type.clone().unwrap_or_else(|| {
            record
                .action
                .split('.')
                .next()
                .unwrap_or_default()
                .to_owned()
        }),
        resource_old_value: record.old_value.clone(),
        resource_new_value: record.new_value.clone(),
        operation_type: operation_type(record),
        operation_status: "succeeded".into(),
        operation_date: record.at,
        customized_data: customized,
        attributes: Attributes::new("AuditRecord"),
    }
}

//! Creating a customer of a partner.

use qualify_store::{AuditEvent, CustomerRecord, NewCustomerRecord, StoreError, Tx, Unique};
use qualify_types::Timestamp;

use super::{Actor, UseCaseError};

/// Creates `new` at `at`; a partner's customers have distinct domains.
pub(crate) async fn create_customer(
    tx: &mut Tx,
    caller: &Actor,
    new: &NewCustomerRecord<'_>,
    at: Timestamp,
) -> Result<CustomerRecord, UseCaseError> {
    let created = tx
        .insert_customer(new, at)
        .await
        .map_err(|error| match error {
            StoreError::Duplicate(Unique::CustomerDomain) => {
                UseCaseError::CustomerDomainTaken(new.domain.to_owned())
            }
            other => other.into(),
        })?;
    let detail =
        serde_json::json!({ "domain": new.domain, "companyName": new.company_name }).to_string();
    tx.record_audit(&AuditEvent {
        at,
        actor_tenant: &caller.tenant,
        actor: &caller.name,
        action: "customer.created",
        subject: &created.id.to_string(),
        detail: &detail,
    })
    .await?;
    Ok(created)
}

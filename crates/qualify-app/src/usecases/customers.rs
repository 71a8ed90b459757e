//! Creating a customer of a partner.

use qualify_store::{
    AuditEvent, AuditedChange, CustomerRecord, NewCustomerRecord, StoreError, Tx, Unique,
};

use super::{Actor, UseCaseError, Vetting, audit};

/// Creates `new`, dated by its partner's clock; a partner's customers have distinct domains.
pub(crate) async fn create_customer(
    tx: &mut Tx,
    vetting: &Vetting,
    caller: &Actor,
    new: &NewCustomerRecord<'_>,
) -> Result<CustomerRecord, UseCaseError> {
    let at = vetting.partners.now_for(tx, new.partner_tenant_id).await?;
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
        change: Some(AuditedChange {
            partner: new.partner_tenant_id,
            customer: created.id,
            customer_name: new.company_name,
            resource_type: audit::CUSTOMER,
            operation_type: audit::ADD_CUSTOMER,
            application_id: caller.application_id.as_deref(),
            user_principal_name: caller.user_principal_name.as_deref(),
            old_value: None,
            new_value: Some(&detail),
        }),
    })
    .await?;
    Ok(created)
}

//! What a partner's test changes of its own partner (development mode): its clock, its own
//! vetting rules, and its data, reset. Each is audited, naming the test's caller.

use qualify_domain::RuleSet;
use qualify_store::Tx;
use qualify_types::{TenantId, Timestamp, VettingRule};

use super::{Actor, UseCaseError, audit};
use crate::partners::PartnerRules;

/// Moves `partner`'s clock forward by `by_ms` milliseconds.
pub(crate) async fn advance_clock(
    tx: &mut Tx,
    caller: &Actor,
    partner: TenantId,
    by_ms: i64,
    at: Timestamp,
) -> Result<(), UseCaseError> {
    tx.advance_partner_clock(partner, by_ms).await?;
    let detail = serde_json::json!({ "advancedMs": by_ms }).to_string();
    audit::record(
        tx,
        at,
        caller,
        "clock.advanced",
        &partner.to_string(),
        &detail,
    )
    .await
}

/// Replaces `partner`'s own rules with `rules`, checked as the rules file's; returns them.
pub(crate) async fn set_rules(
    tx: &mut Tx,
    caller: &Actor,
    partner: TenantId,
    rules: Vec<VettingRule>,
    at: Timestamp,
) -> Result<Vec<VettingRule>, UseCaseError> {
    let (rules, _): (Vec<VettingRule>, RuleSet) =
        PartnerRules::check(rules).map_err(UseCaseError::Invalid)?;
    let json = serde_json::to_string(&rules).map_err(UseCaseError::internal)?;
    tx.set_partner_rules(partner, &json).await?;
    audit::record(tx, at, caller, "rules.set", &partner.to_string(), &json).await?;
    Ok(rules)
}

/// Removes `partner`'s own rules: its submissions go by the server's alone again.
pub(crate) async fn delete_rules(
    tx: &mut Tx,
    caller: &Actor,
    partner: TenantId,
    at: Timestamp,
) -> Result<(), UseCaseError> {
    tx.delete_partner_rules(partner).await?;
    audit::record(tx, at, caller, "rules.deleted", &partner.to_string(), "{}").await
}

/// Removes `partner`'s customers, vetting requests (and their pending timed decisions), rules
/// and clock, and gives its GCC codes all their creates again; its credentials stay.
pub(crate) async fn reset_data(
    tx: &mut Tx,
    caller: &Actor,
    partner: TenantId,
    at: Timestamp,
) -> Result<(), UseCaseError> {
    tx.reset_partner_data(partner, at).await?;
    audit::record(tx, at, caller, "data.reset", &partner.to_string(), "{}").await
}

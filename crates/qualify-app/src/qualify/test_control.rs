//! What a partner's test does to its own partner (development mode): moves its clock (and sees
//! the decisions that fall due made before it returns), sets its own rules, resets its data;
//! and partners made on demand.

use std::net::IpAddr;
use std::time::Duration;

use qualify_store::{StoreError, Tx};
use qualify_types::{TenantId, TestPartner, VettingRule};

use super::Qualify;
use crate::usecases::{Actor, UseCaseError, test_control, test_partners};

impl Qualify {
    /// Moves `partner`'s clock forward by `by_ms` milliseconds, then runs the decisions that
    /// fell due (waiting up to `patience` for those another worker holds).
    pub async fn advance_clock(
        &self,
        caller: &Actor,
        partner: TenantId,
        by_ms: i64,
        patience: Duration,
    ) -> Result<(), UseCaseError> {
        let at = self.clock.now();
        self.store
            .transaction(async |tx: &mut Tx| {
                test_control::advance_clock(tx, caller, partner, by_ms, at).await
            })
            .await?;
        self.committed(None);
        let runner = self.job_runner(format!("clock-advance/{partner}"));
        runner.settle(partner, patience).await?;
        Ok(())
    }

    /// Replaces `partner`'s own rules; returns them as set.
    pub async fn set_test_rules(
        &self,
        caller: &Actor,
        partner: TenantId,
        rules: Vec<VettingRule>,
    ) -> Result<Vec<VettingRule>, UseCaseError> {
        let at = self.clock.now();
        let set = self
            .store
            .transaction(async |tx: &mut Tx| {
                test_control::set_rules(tx, caller, partner, rules, at).await
            })
            .await?;
        self.committed(None);
        Ok(set)
    }

    /// Removes `partner`'s own rules.
    pub async fn delete_test_rules(
        &self,
        caller: &Actor,
        partner: TenantId,
    ) -> Result<(), UseCaseError> {
        let at = self.clock.now();
        self.store
            .transaction(async |tx: &mut Tx| {
                test_control::delete_rules(tx, caller, partner, at).await
            })
            .await?;
        self.committed(None);
        Ok(())
    }

    /// Resets `partner`'s data: its customers, vetting requests (and their pending timed
    /// decisions), rules and clock are gone, its GCC codes have all their creates again; its
    /// credentials stay.
    pub async fn reset_partner_data(
        &self,
        caller: &Actor,
        partner: TenantId,
    ) -> Result<(), UseCaseError> {
        let at = self.clock.now();
        self.store
            .transaction(async |tx: &mut Tx| {
                test_control::reset_data(tx, caller, partner, at).await
            })
            .await?;
        self.committed(None);
        tracing::info!(%partner, "reset a partner's data");
        Ok(())
    }

    /// A new partner of its own for a test run, with App+User credentials and a GCC code, asked
    /// for from `source` (the client's address, when the request came over a connection).
    pub async fn create_test_partner(
        &self,
        source: Option<IpAddr>,
    ) -> Result<TestPartner, UseCaseError> {
        self.test_partners.admit(source)?;
        let prepared = test_partners::prepare().await?;
        let at = self.clock.now();
        let admission = &self.test_partners;
        self.store
            .transaction(async |tx: &mut Tx| {
                admission.room(tx).await?;
                test_partners::insert(tx, &prepared, at).await
            })
            .await?;
        tracing::info!(tenant = %prepared.partner.tenant_id, "created a partner on demand");
        Ok(prepared.partner)
    }

    /// `partner`'s time.
    pub async fn partner_now(
        &self,
        partner: TenantId,
    ) -> Result<qualify_types::Timestamp, StoreError> {
        self.vetting
            .partners
            .read_now_for(&self.store, partner)
            .await
    }
}

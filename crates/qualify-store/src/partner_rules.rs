//! A partner's own vetting rules (development mode): stored as its tests set them, under a
//! revision that changes with every write, so each node can keep a parsed copy and know when it
//! is stale. What the rules mean is the service's business; this is where they are kept.

use qualify_types::{TenantId, Timestamp};
use uuid::Uuid;

use crate::db::{self, Executor};
use crate::{Store, StoreError, Tx, on_reader};

/// What a submission needs to know of its partner's test state, read in one statement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartnerControls {
    /// How far the partner's clock runs ahead of the server's, in milliseconds.
    pub clock_offset_ms: i64,
    /// The revision of the partner's own rules, if it has any.
    pub rules_revision: Option<String>,
}

/// A partner's own rules, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRules {
    /// The rules, as JSON.
    pub rules: String,
    /// Their revision.
    pub revision: String,
}

db::row! {
    struct ControlsRow {
        offset_ms: Option<i64>,
        revision: Option<String>,
    }
}

db::row! {
    struct RulesRow {
        rules: String,
        revision: String,
    }
}

async fn rules_of(on: impl Executor, partner: TenantId) -> Result<Option<StoredRules>, StoreError> {
    const SQL: &str = "SELECT rules, revision FROM partner_rules WHERE partner_tenant_id = $1";
    let row: Option<RulesRow> = db::query(SQL)
        .bind(partner.to_string())
        .fetch_optional(on)
        .await?;
    Ok(row.map(|row| StoredRules {
        rules: row.rules,
        revision: row.revision,
    }))
}

impl Store {
    /// The partner's own rules, if it has any.
    pub async fn partner_rules(
        &self,
        partner: TenantId,
    ) -> Result<Option<StoredRules>, StoreError> {
        on_reader!(self, |pool| rules_of(pool, partner).await)
    }
}

impl Tx {
    /// The partner's clock offset and rules revision.
    pub async fn partner_controls(
        &mut self,
        partner: TenantId,
    ) -> Result<PartnerControls, StoreError> {
        // On PostgreSQL the partner's tenant row is share-locked until this transaction ends: a
        // clock's advance (`Tx::advance_partner_clock`) locks it too, so a submission reads
        // the offset either after an advance has moved the clock and its jobs, or commits its
        // own job before the advance moves it. The lock is taken by a statement of its own:
        // the read that follows then sees what an advance it waited for committed (a
        // statement's snapshot is taken when it starts). SQLite's one writer serialises them.
        const LOCK_POSTGRES: &str = "SELECT id FROM tenants WHERE id = $1 FOR SHARE";
        const SQL: &str = "SELECT \
            (SELECT offset_ms FROM partner_clocks WHERE partner_tenant_id = $1) AS offset_ms, \
            (SELECT revision FROM partner_rules WHERE partner_tenant_id = $1) AS revision";
        if self.backend() == crate::Backend::Postgres {
            let _: Option<String> = db::query(LOCK_POSTGRES)
                .bind(partner.to_string())
                .fetch_optional(&mut *self)
                .await?;
        }
        let row: Option<ControlsRow> = db::query(SQL)
            .bind(partner.to_string())
            .fetch_optional(self)
            .await?;
        Ok(
            row.map_or_else(PartnerControls::default, |row| PartnerControls {
                clock_offset_ms: row.offset_ms.unwrap_or(0),
                rules_revision: row.revision,
            }),
        )
    }

    /// The partner's own rules, as this transaction sees them.
    pub async fn partner_rules(
        &mut self,
        partner: TenantId,
    ) -> Result<Option<StoredRules>, StoreError> {
        rules_of(self, partner).await
    }

    /// Sets the partner's own rules to `rules` (JSON), under a new revision, which it returns.
    pub async fn set_partner_rules(
        &mut self,
        partner: TenantId,
        rules: &str,
    ) -> Result<String, StoreError> {
        const SQL: &str = "INSERT INTO partner_rules (partner_tenant_id, rules, revision) VALUES ($1, $2, $3) \
            ON CONFLICT (partner_tenant_id) DO UPDATE SET rules = $2, revision = $3";
        let revision = Uuid::new_v4().to_string();
        db::query(SQL)
            .bind(partner.to_string())
            .bind(rules)
            .bind(&revision)
            .execute(self)
            .await?;
        Ok(revision)
    }

    /// Replaces the partner's rules with `rules` only if they are still at `revision` (a
    /// counted rule was used: its count goes down once, whatever runs at the same time). False
    /// when another transaction changed them first.
    pub async fn replace_partner_rules(
        &mut self,
        partner: TenantId,
        revision: &str,
        rules: &str,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE partner_rules SET rules = $3, revision = $4 \
            WHERE partner_tenant_id = $1 AND revision = $2";
        let replaced = db::query(SQL)
            .bind(partner.to_string())
            .bind(revision)
            .bind(rules)
            .bind(Uuid::new_v4().to_string())
            .execute(self)
            .await?
            .rows_affected();
        Ok(replaced == 1)
    }

    /// Removes the partner's own rules; false when it had none.
    pub async fn delete_partner_rules(&mut self, partner: TenantId) -> Result<bool, StoreError> {
        const SQL: &str = "DELETE FROM partner_rules WHERE partner_tenant_id = $1";
        let deleted = db::query(SQL)
            .bind(partner.to_string())
            .execute(self)
            .await?
            .rows_affected();
        Ok(deleted > 0)
    }

    /// Empties the partner's data, as a test's reset does: its customers and their vetting
    /// requests, its idempotency records, its rules' pending decisions, its own rules and its
    /// clock; its GCC codes get all their creates back (changed at `at`). Its tenant,
    /// applications, users and the audit trail stay.
    pub async fn reset_partner_data(
        &mut self,
        partner: TenantId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        const STATEMENTS: &[&str] = &[
            "DELETE FROM jobs WHERE clock_partner = $1 AND state = 'pending'",
            "DELETE FROM vetting_requests WHERE partner_tenant_id = $1",
            "DELETE FROM customers WHERE partner_tenant_id = $1",
            "DELETE FROM idempotency_keys WHERE partner_tenant_id = $1",
            "DELETE FROM partner_rules WHERE partner_tenant_id = $1",
            "DELETE FROM partner_clocks WHERE partner_tenant_id = $1",
        ];
        const RESTORE_CODES: &str = "UPDATE validation_codes SET remaining_creates = max_creates, updated_at = $2 \
            WHERE partner_tenant_id = $1 AND remaining_creates < max_creates";
        for sql in STATEMENTS {
            db::query(sql)
                .bind(partner.to_string())
                .execute(&mut *self)
                .await?;
        }
        db::query(RESTORE_CODES)
            .bind(partner.to_string())
            .bind(at.unix_millis())
            .execute(self)
            .await?;
        Ok(())
    }
}

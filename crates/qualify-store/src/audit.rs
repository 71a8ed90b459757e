//! The audit trail's rows: who did what to which subject, when, and why. The layers above write
//! each one through [`Tx::record_audit`], in the transaction of the change it records, so the
//! trail never misses nor invents a change.

use qualify_types::Timestamp;

use crate::db;
use crate::records::timestamp;
use crate::{Store, StoreError, Tx, on_reader};

/// One event of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent<'a> {
    /// When it happened.
    pub at: Timestamp,
    /// The tenant of whoever did it (`operator` for the operator's command line).
    pub actor_tenant: &'a str,
    /// Who did it: a user's sign-in name, `app:<client id>`, `rule:<name>`, `admin-cli:<user>`.
    pub actor: &'a str,
    /// What was done, e.g. `vetting.submitted`.
    pub action: &'a str,
    /// The id of what it was done to.
    pub subject: &'a str,
    /// Details, as JSON text.
    pub detail: &'a str,
}

impl Tx {
    /// Appends `event` to the audit trail.
    pub async fn record_audit(&mut self, event: &AuditEvent<'_>) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO audit_events (at, actor_tenant_id, actor, action, subject_id, detail) \
                           VALUES ($1, $2, $3, $4, $5, $6)";
        db::query(SQL)
            .bind(event.at.unix_millis())
            .bind(event.actor_tenant)
            .bind(event.actor)
            .bind(event.action)
            .bind(event.subject)
            .bind(event.detail)
            .execute(self)
            .await?;
        Ok(())
    }
}

/// An event of the audit trail, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Its position in the trail.
    pub seq: i64,
    /// When it happened.
    pub at: Timestamp,
    /// The tenant of whoever did it.
    pub actor_tenant: String,
    /// Who did it.
    pub actor: String,
    /// What was done.
    pub action: String,
    /// The id of what it was done to.
    pub subject: String,
    /// Details, as JSON text.
    pub detail: String,
}

db::row! {
    struct AuditRow {
        seq: i64,
        at: i64,
        actor_tenant_id: String,
        actor: String,
        action: String,
        subject_id: String,
        detail: String,
    }
}

impl Store {
    /// Up to `limit` events of the audit trail after position `after`, oldest first.
    pub async fn audit_trail(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        const SQL: &str = "SELECT seq, at, actor_tenant_id, actor, action, subject_id, detail \
                           FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2";
        let rows: Vec<AuditRow> = on_reader!(self, |pool| db::query(SQL)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?);
        rows.into_iter()
            .map(|row| {
                Ok(AuditRecord {
                    seq: row.seq,
                    at: timestamp("audit_events.at", row.at)?,
                    actor_tenant: row.actor_tenant_id,
                    actor: row.actor,
                    action: row.action,
                    subject: row.subject_id,
                    detail: row.detail,
                })
            })
            .collect()
    }
}

//! The validation events (`test-created`) partners asked for, and when each one's delivery
//! ended.

use qualify_types::{TenantId, Timestamp};

use crate::db;
use crate::records::timestamp;
use crate::{Store, StoreError, Tx, on_reader};

use crate::webhook_registrations::tenant;

/// A validation event (`test-created`) a partner asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationEvent {
    /// Its correlation id.
    pub correlation_id: String,
    /// The partner.
    pub partner: TenantId,
    /// Where it was sent.
    pub url: String,
    /// When it was asked for.
    pub created_at: Timestamp,
    /// When its delivery ended: delivered, or given up.
    pub finished_at: Option<Timestamp>,
}

db::row! {
    struct ValidationRow {
        correlation_id: String,
        partner_tenant_id: String,
        url: String,
        created_at: i64,
        finished_at: Option<i64>,
    }
}

impl TryFrom<ValidationRow> for ValidationEvent {
    type Error = StoreError;

    fn try_from(row: ValidationRow) -> Result<Self, StoreError> {
        Ok(Self {
            correlation_id: row.correlation_id,
            partner: tenant(
                "webhook_validation_events.partner_tenant_id",
                &row.partner_tenant_id,
            )?,
            url: row.url,
            created_at: timestamp("webhook_validation_events.created_at", row.created_at)?,
            finished_at: row
                .finished_at
                .map(|at| timestamp("webhook_validation_events.finished_at", at))
                .transpose()?,
        })
    }
}

db::row! {
    struct Counted {
        n: i64,
    }
}

impl Tx {
    /// Validation events the partner asked for since `since`.
    pub async fn validation_events_since(
        &mut self,
        partner: TenantId,
        since: Timestamp,
    ) -> Result<u32, StoreError> {
        const SQL: &str = "SELECT COUNT(*) AS n FROM webhook_validation_events \
                           WHERE partner_tenant_id = $1 AND created_at > $2";
        let counted: Counted = db::query(SQL)
            .bind(partner.to_string())
            .bind(since.unix_millis())
            .fetch_one(&mut *self)
            .await?;
        Ok(u32::try_from(counted.n).unwrap_or(u32::MAX))
    }

    /// Records a validation event, sent (by the job enqueued with it) to `url`.
    pub async fn insert_validation_event(
        &mut self,
        correlation_id: &str,
        partner: TenantId,
        url: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO webhook_validation_events (correlation_id, partner_tenant_id, url, created_at) \
                           VALUES ($1, $2, $3, $4)";
        db::query(SQL)
            .bind(correlation_id)
            .bind(partner.to_string())
            .bind(url)
            .bind(at.unix_millis())
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    /// Marks a validation event's delivery as ended.
    pub async fn finish_validation_event(
        &mut self,
        correlation_id: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE webhook_validation_events SET finished_at = $2 \
                           WHERE correlation_id = $1 AND finished_at IS NULL";
        db::query(SQL)
            .bind(correlation_id)
            .bind(at.unix_millis())
            .execute(&mut *self)
            .await?
            .rows_affected();
        Ok(())
    }

    /// Forgets up to `limit` validation events asked for before `cutoff`; how many.
    pub async fn forget_validation_events(
        &mut self,
        cutoff: Timestamp,
        limit: u32,
    ) -> Result<u64, StoreError> {
        const SQL: &str = "DELETE FROM webhook_validation_events WHERE correlation_id IN \
            (SELECT correlation_id FROM webhook_validation_events WHERE created_at < $1 LIMIT $2)";
        Ok(db::query(SQL)
            .bind(cutoff.unix_millis())
            .bind(i64::from(limit))
            .execute(&mut *self)
            .await?
            .rows_affected())
    }
}

impl Store {
    /// A validation event, by its correlation id.
    pub async fn validation_event(
        &self,
        correlation_id: &str,
    ) -> Result<Option<ValidationEvent>, StoreError> {
        const SQL: &str = "SELECT correlation_id, partner_tenant_id, url, created_at, finished_at \
                           FROM webhook_validation_events WHERE correlation_id = $1";
        let row: Option<ValidationRow> = on_reader!(self, |pool| db::query(SQL)
            .bind(correlation_id)
            .fetch_optional(pool)
            .await?);
        row.map(ValidationEvent::try_from).transpose()
    }
}

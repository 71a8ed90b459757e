//! The log of every attempt to deliver an event (to a partner's receiver or to an operator's
//! webhook), by the partner the event is about: what `qualify admin webhooks deliveries` and a
//! validation event's results show.

use qualify_types::{TenantId, Timestamp};

use crate::db;
use crate::records::timestamp;
use crate::{Store, StoreError, Tx, on_reader};

use crate::webhook_registrations::tenant;

/// One attempt to deliver an event about a partner's customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// Its position in the log.
    pub seq: i64,
    /// The event's id (a validation event's correlation id).
    pub event_id: String,
    /// The job that delivers it (what `qualify admin webhooks redeliver` takes).
    pub job_id: i64,
    /// The partner.
    pub partner: TenantId,
    /// The event's name.
    pub event_name: String,
    /// Where it was POSTed.
    pub url: String,
    /// Which attempt, from 1.
    pub attempt: u32,
    /// When.
    pub at: Timestamp,
    /// The receiver's status code; `None` when it did not answer.
    pub status_code: Option<u16>,
    /// How long the attempt took.
    pub latency_ms: u64,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

db::row! {
    struct AttemptRow {
        seq: i64,
        event_id: String,
        job_id: i64,
        partner_tenant_id: String,
        event_name: String,
        url: String,
        attempt: i64,
        at: i64,
        status_code: Option<i64>,
        latency_ms: i64,
        error: Option<String>,
    }
}

impl TryFrom<AttemptRow> for DeliveryAttempt {
    type Error = StoreError;

    fn try_from(row: AttemptRow) -> Result<Self, StoreError> {
        Ok(Self {
            seq: row.seq,
            event_id: row.event_id,
            job_id: row.job_id,
            partner: tenant(
                "webhook_deliveries.partner_tenant_id",
                &row.partner_tenant_id,
            )?,
            event_name: row.event_name,
            url: row.url,
            attempt: u32::try_from(row.attempt).unwrap_or(0),
            at: timestamp("webhook_deliveries.at", row.at)?,
            status_code: row.status_code.and_then(|code| u16::try_from(code).ok()),
            latency_ms: u64::try_from(row.latency_ms).unwrap_or(0),
            error: row.error,
        })
    }
}

impl Tx {
    /// Logs one attempt to deliver a partner's event.
    pub async fn record_delivery_attempt(
        &mut self,
        attempt: &DeliveryAttempt,
    ) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO webhook_deliveries \
                           (event_id, job_id, partner_tenant_id, event_name, url, attempt, at, status_code, latency_ms, error) \
                           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
        db::query(SQL)
            .bind(&attempt.event_id)
            .bind(attempt.job_id)
            .bind(attempt.partner.to_string())
            .bind(&attempt.event_name)
            .bind(&attempt.url)
            .bind(i64::from(attempt.attempt))
            .bind(attempt.at.unix_millis())
            .bind(attempt.status_code.map(i64::from))
            .bind(i64::try_from(attempt.latency_ms).unwrap_or(i64::MAX))
            .bind(attempt.error.as_deref())
            .execute(&mut *self)
            .await?
            .rows_affected();
        Ok(())
    }

    /// Forgets up to `limit` delivery attempts made before `cutoff`; how many.
    pub async fn forget_delivery_attempts(
        &mut self,
        cutoff: Timestamp,
        limit: u32,
    ) -> Result<u64, StoreError> {
        const SQL: &str = "DELETE FROM webhook_deliveries WHERE seq IN \
            (SELECT seq FROM webhook_deliveries WHERE at < $1 LIMIT $2)";
        Ok(db::query(SQL)
            .bind(cutoff.unix_millis())
            .bind(i64::from(limit))
            .execute(&mut *self)
            .await?
            .rows_affected())
    }
}

impl Store {
    /// The attempts to deliver the event `event_id`, in order.
    pub async fn delivery_attempts_of(
        &self,
        event_id: &str,
    ) -> Result<Vec<DeliveryAttempt>, StoreError> {
        const SQL: &str = "SELECT seq, event_id, job_id, partner_tenant_id, event_name, url, attempt, at, status_code, latency_ms, error \
                           FROM webhook_deliveries WHERE event_id = $1 ORDER BY seq";
        let rows: Vec<AttemptRow> = on_reader!(self, |pool| db::query(SQL)
            .bind(event_id)
            .fetch_all(pool)
            .await?);
        rows.into_iter().map(DeliveryAttempt::try_from).collect()
    }

    /// The latest `limit` attempts (of `partner`'s events, when given), newest first.
    pub async fn delivery_attempts(
        &self,
        partner: Option<TenantId>,
        limit: u32,
    ) -> Result<Vec<DeliveryAttempt>, StoreError> {
        const SQL: &str = "SELECT seq, event_id, job_id, partner_tenant_id, event_name, url, attempt, at, status_code, latency_ms, error \
                           FROM webhook_deliveries WHERE ($1 IS NULL OR partner_tenant_id = $1) \
                           ORDER BY seq DESC LIMIT $2";
        let rows: Vec<AttemptRow> = on_reader!(self, |pool| db::query(SQL)
            .bind(partner.map(|p| p.to_string()))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?);
        rows.into_iter().map(DeliveryAttempt::try_from).collect()
    }
}

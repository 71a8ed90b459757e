//! Partner Center's webhooks as stored: a partner's one registration (where its events go and
//! which), the validation events it asked for, the key and certificate that sign what is
//! delivered (one for every node), and a log of every attempt to deliver an event (to a
//! partner's receiver or to an operator's webhook), by the partner the event is about.

use qualify_types::{TenantId, Timestamp};

use crate::db;
use crate::records::timestamp;
use crate::{Store, StoreError, Tx, on_reader, on_writer};

/// A partner's webhook registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRegistration {
    /// The partner.
    pub partner: TenantId,
    /// Partner Center's `SubscriberId`.
    pub subscriber_id: String,
    /// Where events are POSTed.
    pub url: String,
    /// The event names it receives.
    pub events: Vec<String>,
    /// The signature goes in `x-ms-signature`, not `Authorization`.
    pub signature_header: bool,
}

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

/// The key and certificate signing partners' events, as stored (the key maybe sealed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWebhookSigner {
    /// The private key: PEM, or sealed by the server's key-encryption key.
    pub private_key: String,
    /// The certificate, PEM.
    pub certificate_pem: String,
}

/// The tenant id a column holds.
fn tenant(column: &'static str, text: &str) -> Result<TenantId, StoreError> {
    text.parse().map_err(|_| StoreError::corrupt(column, text))
}

db::row! {
    struct RegistrationRow {
        partner_tenant_id: String,
        subscriber_id: String,
        url: String,
        events: String,
        signature_header: i64,
    }
}

impl TryFrom<RegistrationRow> for WebhookRegistration {
    type Error = StoreError;

    fn try_from(row: RegistrationRow) -> Result<Self, StoreError> {
        Ok(Self {
            partner: tenant(
                "webhook_registrations.partner_tenant_id",
                &row.partner_tenant_id,
            )?,
            subscriber_id: row.subscriber_id,
            url: row.url,
            events: serde_json::from_str(&row.events)
                .map_err(|_| StoreError::corrupt("webhook_registrations.events", &row.events))?,
            signature_header: row.signature_header != 0,
        })
    }
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

db::row! {
    struct SignerRow {
        private_key_pem: String,
        certificate_pem: String,
    }
}

db::row! {
    struct Counted {
        n: i64,
    }
}

impl Tx {
    /// The partner's registration, read in this transaction (to enqueue its events with the
    /// change that causes them).
    pub async fn webhook_registration(
        &mut self,
        partner: TenantId,
    ) -> Result<Option<WebhookRegistration>, StoreError> {
        const SQL: &str = "SELECT partner_tenant_id, subscriber_id, url, events, signature_header \
                           FROM webhook_registrations WHERE partner_tenant_id = $1";
        let row: Option<RegistrationRow> = db::query(SQL)
            .bind(partner.to_string())
            .fetch_optional(&mut *self)
            .await?;
        row.map(WebhookRegistration::try_from).transpose()
    }

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

    /// Stores `registration` as its partner's first; false when the partner has one already.
    pub async fn insert_webhook_registration(
        &mut self,
        registration: &WebhookRegistration,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "INSERT INTO webhook_registrations \
                           (partner_tenant_id, subscriber_id, url, events, signature_header, created_at, updated_at) \
                           VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (partner_tenant_id) DO NOTHING";
        let events = serde_json::to_string(&registration.events).unwrap_or_else(|_| "[]".into());
        let inserted = db::query(SQL)
            .bind(registration.partner.to_string())
            .bind(&registration.subscriber_id)
            .bind(&registration.url)
            .bind(&events)
            .bind(i64::from(registration.signature_header))
            .bind(at.unix_millis())
            .execute(&mut *self)
            .await?
            .rows_affected();
        Ok(inserted == 1)
    }

    /// Replaces the partner's registration's URL, events and signature header; false when it
    /// has none.
    pub async fn update_webhook_registration(
        &mut self,
        registration: &WebhookRegistration,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE webhook_registrations SET url = $2, events = $3, signature_header = $4, updated_at = $5 \
                           WHERE partner_tenant_id = $1";
        let events = serde_json::to_string(&registration.events).unwrap_or_else(|_| "[]".into());
        let updated = db::query(SQL)
            .bind(registration.partner.to_string())
            .bind(&registration.url)
            .bind(&events)
            .bind(i64::from(registration.signature_header))
            .bind(at.unix_millis())
            .execute(&mut *self)
            .await?
            .rows_affected();
        Ok(updated == 1)
    }

    /// Removes the partner's registration; false when it had none.
    pub async fn delete_webhook_registration(
        &mut self,
        partner: TenantId,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "DELETE FROM webhook_registrations WHERE partner_tenant_id = $1";
        let deleted = db::query(SQL)
            .bind(partner.to_string())
            .execute(&mut *self)
            .await?
            .rows_affected();
        Ok(deleted == 1)
    }

    /// Makes the finished job `id`, if it is of one of `kinds`, run again now as a first
    /// attempt (`qualify admin webhooks redeliver`). False when there is no such job, or it is
    /// still pending.
    pub async fn rerun_job(
        &mut self,
        id: i64,
        kinds: [&str; 2],
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE jobs SET state = 'pending', attempts = 0, run_at = $2, locked_by = NULL, \
                           locked_until = NULL, finished_at = NULL, last_error = NULL \
                           WHERE id = $1 AND state <> 'pending' AND kind IN ($3, $4)";
        let rerun = db::query(SQL)
            .bind(id)
            .bind(now.unix_millis())
            .bind(kinds[0])
            .bind(kinds[1])
            .execute(&mut *self)
            .await?
            .rows_affected();
        Ok(rerun == 1)
    }
}

impl Store {
    /// The partner's registration.
    pub async fn webhook_registration(
        &self,
        partner: TenantId,
    ) -> Result<Option<WebhookRegistration>, StoreError> {
        const SQL: &str = "SELECT partner_tenant_id, subscriber_id, url, events, signature_header \
                           FROM webhook_registrations WHERE partner_tenant_id = $1";
        let row: Option<RegistrationRow> = on_reader!(self, |pool| db::query(SQL)
            .bind(partner.to_string())
            .fetch_optional(pool)
            .await?);
        row.map(WebhookRegistration::try_from).transpose()
    }

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

    /// Marks a validation event's delivery as ended.
    pub async fn finish_validation_event(
        &self,
        correlation_id: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE webhook_validation_events SET finished_at = $2 \
                           WHERE correlation_id = $1 AND finished_at IS NULL";
        on_writer!(self, |pool| db::query(SQL)
            .bind(correlation_id)
            .bind(at.unix_millis())
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Logs one attempt to deliver a partner's event.
    pub async fn record_delivery_attempt(
        &self,
        attempt: &DeliveryAttempt,
    ) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO webhook_deliveries \
                           (event_id, job_id, partner_tenant_id, event_name, url, attempt, at, status_code, latency_ms, error) \
                           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
        on_writer!(self, |pool| db::query(SQL)
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
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

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

    /// The key and certificate that sign partners' events, if made.
    pub async fn webhook_signer(&self) -> Result<Option<StoredWebhookSigner>, StoreError> {
        const SQL: &str =
            "SELECT private_key_pem, certificate_pem FROM webhook_signing_keys WHERE id = 1";
        let row: Option<SignerRow> =
            on_reader!(self, |pool| db::query(SQL).fetch_optional(pool).await?);
        Ok(row.map(|row| StoredWebhookSigner {
            private_key: row.private_key_pem,
            certificate_pem: row.certificate_pem,
        }))
    }

    /// Stores the signing key and certificate, unless another node stored its own first; the
    /// one stored either way.
    pub async fn insert_webhook_signer(
        &self,
        signer: &StoredWebhookSigner,
        at: Timestamp,
    ) -> Result<StoredWebhookSigner, StoreError> {
        const SQL: &str = "INSERT INTO webhook_signing_keys (id, private_key_pem, certificate_pem, created_at) \
                           VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING";
        on_writer!(self, |pool| db::query(SQL)
            .bind(&signer.private_key)
            .bind(&signer.certificate_pem)
            .bind(at.unix_millis())
            .execute(pool)
            .await?
            .rows_affected());
        self.webhook_signer()
            .await?
            .ok_or_else(|| StoreError::corrupt("webhook_signing_keys", "missing after insert"))
    }
    /// Forgets what deliveries leave behind: attempts logged before `log_cutoff`, delivery jobs
    /// that ended before it, and validation events asked for before `validation_cutoff`. In
    /// batches, so the writer is never held long. How many rows were removed.
    pub async fn purge_delivery_history(
        &self,
        log_cutoff: Timestamp,
        delivery_kinds: [&str; 2],
        validation_cutoff: Timestamp,
    ) -> Result<u64, StoreError> {
        const ATTEMPTS: &str = "DELETE FROM webhook_deliveries WHERE seq IN \
            (SELECT seq FROM webhook_deliveries WHERE at < $1 LIMIT 5000)";
        const JOBS: &str = "DELETE FROM jobs WHERE id IN \
            (SELECT id FROM jobs WHERE state <> 'pending' AND finished_at < $1 \
             AND kind IN ($2, $3) LIMIT 5000)";
        const VALIDATIONS: &str = "DELETE FROM webhook_validation_events WHERE correlation_id IN \
            (SELECT correlation_id FROM webhook_validation_events WHERE created_at < $1 LIMIT 5000)";
        let mut removed = 0;
        loop {
            let batch = on_writer!(self, |pool| db::query(ATTEMPTS)
                .bind(log_cutoff.unix_millis())
                .execute(pool)
                .await?
                .rows_affected())
                + on_writer!(self, |pool| db::query(JOBS)
                    .bind(log_cutoff.unix_millis())
                    .bind(delivery_kinds[0])
                    .bind(delivery_kinds[1])
                    .execute(pool)
                    .await?
                    .rows_affected())
                + on_writer!(self, |pool| db::query(VALIDATIONS)
                    .bind(validation_cutoff.unix_millis())
                    .execute(pool)
                    .await?
                    .rows_affected());
            removed += batch;
            if batch == 0 {
                return Ok(removed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDatabase;
    use crate::{NewJob, NewTenant, StoreOptions, TenantKind};

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_unix_millis(millis).unwrap()
    }

    #[tokio::test]
    async fn old_deliveries_ended_jobs_and_validation_events_are_forgotten_and_nothing_else() {
        for db in TestDatabase::every_backend("delivery history").await {
            let store = Store::connect(&StoreOptions::new(db.url().clone()))
                .await
                .unwrap();
            let partner = TenantId::random();
            let (old, recent, now) = (at(1_000_000), at(5_000_000), at(6_000_000));
            let job = |kind: &str, run_at: Timestamp| NewJob {
                kind: kind.to_owned(),
                payload: "{}".into(),
                run_at,
                max_attempts: 1,
                clock_partner: None,
                sequence_key: None,
            };
            store
                .transaction(async |tx: &mut Tx| {
                    let tenant = NewTenant {
                        id: partner,
                        kind: TenantKind::Partner,
                        name: "P",
                        dev: false,
                    };
                    tx.insert_tenant(&tenant, old).await?;
                    tx.insert_validation_event("old", partner, "https://r.example/", old)
                        .await?;
                    tx.insert_validation_event("recent", partner, "https://r.example/", recent)
                        .await?;
                    // Delivered, given up, another kind's (ended), and one not due yet.
                    let later = at(9_000_000);
                    let jobs = [
                        job("hook", old),
                        job("hook", old),
                        job("other", old),
                        job("hook", later),
                    ];
                    tx.enqueue_jobs(&jobs, old).await
                })
                .await
                .unwrap();
            for claimed in 0..3 {
                let job = store
                    .claim_job("w", std::time::Duration::from_secs(60), now, None)
                    .await
                    .unwrap()
                    .unwrap();
                if claimed == 1 {
                    store.give_up_job(job.id, "w", "gone", old).await.unwrap();
                } else {
                    store.complete_job(job.id, "w", old).await.unwrap();
                }
            }
            for (seq, when) in [(1, old), (2, recent)] {
                let attempt = DeliveryAttempt {
                    seq,
                    event_id: format!("e{seq}"),
                    job_id: 1,
                    partner,
                    event_name: "test-created".into(),
                    url: "https://r.example/".into(),
                    attempt: 1,
                    at: when,
                    status_code: Some(200),
                    latency_ms: 3,
                    error: None,
                };
                store.record_delivery_attempt(&attempt).await.unwrap();
            }

            let cutoff = at(2_000_000);
            let removed = store
                .purge_delivery_history(cutoff, ["hook", "unused"], cutoff)
                .await
                .unwrap();
            // One attempt, one validation event, and the two hook jobs that ended.
            assert_eq!(removed, 1 + 1 + 2);
            let attempts = store.delivery_attempts(None, 10).await.unwrap();
            assert_eq!(attempts.len(), 1);
            assert_eq!(attempts[0].event_id, "e2");
            assert!(store.validation_event("old").await.unwrap().is_none());
            assert!(store.validation_event("recent").await.unwrap().is_some());
            let left: Vec<(String, bool)> = store
                .jobs()
                .await
                .unwrap()
                .into_iter()
                .map(|j| (j.kind, j.finished_at.is_some()))
                .collect();
            assert_eq!(
                left,
                [("other".to_owned(), true), ("hook".to_owned(), false)],
                "another kind's job and a pending one stay"
            );
            store.close().await;
        }
    }
}

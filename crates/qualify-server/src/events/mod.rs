//! Events and their delivery: each vetting change enqueues, in its own transaction, one
//! delivery job per webhook the operator configured and one for the partner's own registered
//! receiver ([`Outbox`]); the job runners deliver them, signed, at least once.

pub(crate) mod guard;
pub(crate) mod partner;
pub(crate) mod signer;
mod webhook;

use qualify_store::{NewJob, StoreError, Tx, VettingRecord};
use qualify_types::{Event, EventData, EventType, Timestamp};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use webhook::{ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};

use crate::Settings;
use crate::jobs::Job;

/// A delivery's payload: which endpoint, and the event's exact body (so every attempt and every
/// node sends the same bytes, and the same event id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Delivery {
    pub(crate) url: String,
    pub(crate) body: String,
}

/// The sequence of a webhook's deliveries about one customer: they run in order.
fn sequence_key(url: &str, record: &VettingRecord) -> String {
    format!("webhook:{url}:{}", record.customer_id)
}

/// The event a vetting change causes.
fn event(event_type: EventType, record: &VettingRecord, at: Timestamp) -> Event {
    Event {
        id: Uuid::new_v4().to_string(),
        event_type,
        created_at: at,
        data: EventData {
            vetting_request_id: record.id,
            partner_tenant_id: record.partner_tenant_id,
            customer_id: record.customer_id,
            qualification: record.qualification,
            education_segment: record.education_segment,
            vetting_status: record.state.status(),
            vetting_reason: record.state.reason().map(ToString::to_string),
            attempt: record.attempt,
        },
    }
}

/// Where vetting changes are announced: one delivery job per configured webhook, enqueued in
/// the change's own transaction.
#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    webhooks: Vec<url::Url>,
    max_attempts: u32,
    /// The URL clients reach the server at: the base of partners' events' URIs.
    public_base: String,
}

impl Outbox {
    /// The outbox of a server with `settings`, reached at `public_base`.
    pub(crate) fn new(settings: &Settings, public_base: String) -> Self {
        Self {
            webhooks: settings.webhooks.webhooks().map(|w| w.url).collect(),
            max_attempts: settings.jobs.job_max_attempts,
            public_base,
        }
    }

    /// Enqueues, in `tx`, the deliveries of one vetting change to `record` (which happened at
    /// `occurred` on the partner's clock, audited as `audit_record_id`), to run from `run_at`:
    /// to every configured webhook, and to the partner's receiver if it registered for
    /// `customer-qualification-updated`.
    pub(crate) async fn enqueue(
        &self,
        tx: &mut Tx,
        event_type: EventType,
        record: &VettingRecord,
        occurred: Timestamp,
        run_at: Timestamp,
        audit_record_id: &str,
    ) -> Result<(), StoreError> {
        let mut jobs = self.jobs(event_type, record, occurred, run_at);
        if let Some(delivery) =
            partner::qualification_updated(tx, &self.public_base, record, occurred, audit_record_id)
                .await?
        {
            let customer = record.customer_id.to_string();
            match partner::job(delivery, Some(&customer), run_at, self.max_attempts) {
                Ok(job) => jobs.push(job),
                Err(error) => tracing::error!(%error, "an event could not be serialised"),
            }
        }
        tx.enqueue_jobs(&jobs, run_at).await
    }

    /// The delivery jobs of one vetting change, which happened at `occurred` (on the partner's
    /// clock), to run from `run_at` (on the server's): one per webhook, none when there is none.
    pub(crate) fn jobs(
        &self,
        event_type: EventType,
        record: &VettingRecord,
        occurred: Timestamp,
        run_at: Timestamp,
    ) -> Vec<NewJob> {
        if self.webhooks.is_empty() {
            return Vec::new();
        }
        let jobs = serde_json::to_string(&event(event_type, record, occurred)).and_then(|body| {
            self.webhooks
                .iter()
                .map(|url| {
                    let delivery = Delivery {
                        url: url.to_string(),
                        body: body.clone(),
                    };
                    let sequence = sequence_key(url.as_str(), record);
                    let mut job = Job::DeliverEvent(delivery).to_new(run_at, self.max_attempts)?;
                    job.sequence_key = Some(sequence);
                    Ok(job)
                })
                .collect()
        });
        jobs.unwrap_or_else(|error| {
            tracing::error!(error = %error, "an event could not be serialised");
            Vec::new()
        })
    }
}

/// Why a delivery did not happen.
#[derive(Debug)]
pub(crate) enum Undeliverable {
    /// It failed this time; another attempt may succeed.
    Retry(String),
    /// It can never succeed (the webhook was removed from the configuration, say).
    Never(String),
}

/// Delivers `delivery` to its webhook, if it is still configured, as attempt `attempt` of the
/// job `job_id`; logs the attempt beside partners' (`qualify admin webhooks deliveries`).
pub(crate) async fn deliver(
    state: &crate::AppState,
    http: &reqwest::Client,
    delivery: &Delivery,
    job_id: i64,
    attempt: u32,
) -> Result<(), Undeliverable> {
    let webhook = state
        .settings
        .webhooks
        .webhooks()
        .find(|w| w.url.as_str() == delivery.url)
        .ok_or_else(|| {
            Undeliverable::Never(format!(
                "the webhook {} is no longer configured",
                delivery.url
            ))
        })?;
    let event: Event = serde_json::from_str(&delivery.body)
        .map_err(|_| Undeliverable::Never("the event is not readable".into()))?;
    let (at, started) = (state.clock.now(), std::time::Instant::now());
    let sent = webhook::deliver(http, &webhook, &event.id, &delivery.body).await;
    let logged = qualify_store::DeliveryAttempt {
        seq: 0,
        event_id: event.id.clone(),
        job_id,
        partner: event.data.partner_tenant_id,
        event_name: event.event_type.as_str().to_owned(),
        url: delivery.url.clone(),
        attempt,
        at,
        status_code: match &sent {
            Ok(status) | Err(webhook::DeliveryError::Refused(status)) => Some(*status),
            Err(_) => None,
        },
        latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        error: sent.as_ref().err().map(ToString::to_string),
    };
    if let Err(error) = state.store.record_delivery_attempt(&logged).await {
        tracing::warn!(%error, "logging a delivery attempt failed");
    }
    sent.map(|_| ())
        .map_err(|error| Undeliverable::Retry(error.to_string()))
}

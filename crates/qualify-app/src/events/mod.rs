//! Events and their delivery: each vetting change enqueues, in its own transaction, one
//! delivery job per webhook the operator configured ([`OperatorDelivery`]) and one for the
//! partner's own registered receiver ([`PartnerDelivery`]), through the [`Outbox`]; the job
//! runners deliver them, signed, at least once, with what [`Deliveries`] holds.

mod deliveries;
pub mod guard;
mod operator;
pub mod partner;
pub mod signer;

use qualify_store::{NewJob, StoreError, Tx, VettingRecord};
use qualify_types::{Event, EventData, EventType, Timestamp};
use uuid::Uuid;

pub use deliveries::{BREAKER_FAILURES, Deliveries};
pub use operator::{ID_HEADER, OperatorDelivery, SIGNATURE_HEADER, TIMESTAMP_HEADER};
pub use partner::PartnerDelivery;

use crate::jobs::JobKind;
use crate::settings::WebhookSettings;

/// The kinds that deliver an event: what may be redelivered, and what the delivery history
/// keeps.
pub const DELIVERY_KINDS: [&str; 2] = [OperatorDelivery::NAME, PartnerDelivery::NAME];

/// A receiver's URL as logs and the operator's tables show it: without its query or fragment,
/// where a partner or an operator may have put a key (`?code=…`, as Azure Functions do).
pub fn shown_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            parsed.set_query(None);
            parsed.set_fragment(None);
            parsed.to_string()
        }
        Err(_) => "<not a URL>".to_owned(),
    }
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
pub struct Outbox {
    webhooks: Vec<url::Url>,
    max_attempts: u32,
    /// The URL clients reach the server at: the base of partners' events' URIs.
    public_base: String,
}

impl Outbox {
    /// The outbox of a server with the webhooks of `settings`, whose jobs get `max_attempts`,
    /// reached at `public_base`.
    pub fn new(settings: &WebhookSettings, max_attempts: u32, public_base: String) -> Self {
        Self {
            webhooks: settings.webhooks().map(|w| w.url).collect(),
            max_attempts,
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
                    let delivery = OperatorDelivery {
                        url: url.to_string(),
                        body: body.clone(),
                    };
                    let sequence = operator::sequence_key(url.as_str(), record);
                    let mut job = delivery.to_new(run_at, self.max_attempts)?;
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

/// What a failed request says, with its causes (a refused address names itself there).
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

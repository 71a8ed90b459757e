//! Events and their delivery: each vetting change enqueues, in its own transaction, one
//! delivery job per configured webhook; the workers deliver them, signed, at least once.

mod webhook;
mod worker;

use qualify_store::{NewJob, VettingRecord};
use qualify_types::{Event, EventData, EventType, Timestamp};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use webhook::{SIGNATURE_HEADER, sign};
pub(crate) use worker::Workers;

use crate::Settings;

/// The job kind of a webhook delivery.
pub(crate) const DELIVER: &str = "webhook.deliver";

/// A delivery job's payload: which endpoint, and the event's exact body (so every attempt and
/// every node sends the same bytes, and the same event id).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Delivery {
    pub(crate) url: String,
    pub(crate) body: String,
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
}

impl Outbox {
    /// The outbox of a server with `settings`.
    pub(crate) fn new(settings: &Settings) -> Self {
        Self {
            webhooks: settings.webhooks.iter().map(|w| w.url.clone()).collect(),
            max_attempts: settings.jobs.max_attempts,
        }
    }

    /// The delivery jobs of one vetting change: one per webhook, none when there is none.
    pub(crate) fn jobs(
        &self,
        event_type: EventType,
        record: &VettingRecord,
        at: Timestamp,
    ) -> Vec<NewJob> {
        if self.webhooks.is_empty() {
            return Vec::new();
        }
        let body = match serde_json::to_string(&event(event_type, record, at)) {
            Ok(body) => body,
            Err(error) => {
                tracing::error!(error = %error, "an event could not be serialised");
                return Vec::new();
            }
        };
        self.webhooks
            .iter()
            .filter_map(|url| {
                let payload = serde_json::to_string(&Delivery {
                    url: url.to_string(),
                    body: body.clone(),
                })
                .ok()?;
                Some(NewJob {
                    kind: DELIVER.to_owned(),
                    payload,
                    run_at: at,
                    max_attempts: self.max_attempts,
                })
            })
            .collect()
    }
}

//! Background work: a typed [`Job`] stored in the jobs table, claimed with a lease, run, and its
//! outcome recorded (done, retried with backoff, or given up). [`JobRunner::run_next`] runs one
//! due job; the node's workers (`workers.rs`) call it in a loop, and tests call
//! [`JobRunner::drain`] to run everything due, deterministically, instead of waiting for them.

mod runner;
mod timed_decision;
mod workers;

use qualify_store::{ClaimedJob, NewJob};
use qualify_types::Timestamp;
use serde::{Deserialize, Serialize};

use crate::events::Delivery;
use crate::events::partner::PartnerDelivery;

pub use runner::JobRunner;
pub(crate) use timed_decision::TimedDecision;
pub(crate) use workers::Workers;

/// One piece of background work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Job {
    /// POST an event to a webhook the operator configured.
    DeliverEvent(Delivery),
    /// POST an event to a partner's registered receiver.
    DeliverPartnerEvent(PartnerDelivery),
    /// Decide a vetting request as a rule said, once its delay is over.
    DecideByRule(TimedDecision),
}

/// How each kind is named in the jobs table. Stored names: never change one.
const DELIVER_EVENT: &str = "webhook.deliver";
const DECIDE_BY_RULE: &str = "vetting.decide";
const DELIVER_PARTNER_EVENT: &str = "partner-webhook.deliver";
/// The kinds that deliver an event: what may be redelivered.
pub(crate) const DELIVERY_KINDS: [&str; 2] = [DELIVER_EVENT, DELIVER_PARTNER_EVENT];
/// Every kind this build runs.
pub(crate) const KINDS: [&str; 3] = [DELIVER_EVENT, DECIDE_BY_RULE, DELIVER_PARTNER_EVENT];

/// `kind` as a metric's label: one of [`KINDS`], or `other` (a row of a kind this build does not
/// know, left by another version), so labels stay a fixed set whatever the table holds.
pub(crate) fn kind_label(kind: &str) -> &'static str {
    KINDS.into_iter().find(|k| *k == kind).unwrap_or("other")
}

/// Whose receiver a job of `kind` delivers to, as deliveries are counted.
fn delivery_receiver(kind: &str) -> Option<&'static str> {
    match kind {
        DELIVER_EVENT => Some("operator"),
        DELIVER_PARTNER_EVENT => Some("partner"),
        _ => None,
    }
}

impl Job {
    /// The job as stored, due at `run_at`.
    pub(crate) fn to_new(
        &self,
        run_at: Timestamp,
        max_attempts: u32,
    ) -> Result<NewJob, serde_json::Error> {
        let (kind, payload, clock_partner) = match self {
            Self::DeliverEvent(delivery) => (DELIVER_EVENT, serde_json::to_string(delivery)?, None),
            Self::DeliverPartnerEvent(delivery) => (
                DELIVER_PARTNER_EVENT,
                serde_json::to_string(delivery)?,
                None,
            ),
            // A rule's delay runs on the partner's clock.
            Self::DecideByRule(timed) => (
                DECIDE_BY_RULE,
                serde_json::to_string(timed)?,
                Some(timed.partner),
            ),
        };
        Ok(NewJob {
            kind: kind.to_owned(),
            payload,
            run_at,
            max_attempts,
            clock_partner,
            sequence_key: None,
        })
    }

    /// The job a claimed row holds.
    fn from_claimed(claimed: &ClaimedJob) -> Result<Self, String> {
        fn payload<T: for<'de> Deserialize<'de>>(claimed: &ClaimedJob) -> Result<T, String> {
            serde_json::from_str(&claimed.payload).map_err(|error| {
                format!(
                    "the {} job's payload is not readable: {error}",
                    claimed.kind
                )
            })
        }
        match claimed.kind.as_str() {
            DELIVER_EVENT => payload(claimed).map(Self::DeliverEvent),
            DECIDE_BY_RULE => payload(claimed).map(Self::DecideByRule),
            DELIVER_PARTNER_EVENT => payload(claimed).map(Self::DeliverPartnerEvent),
            other => Err(format!("unknown job kind {other}")),
        }
    }
}

/// What became of a job's attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum JobOutcome {
    /// It is done.
    Done,
    /// It failed and runs again later.
    Retry(String),
    /// It failed for the last time, or can't succeed: given up.
    Dead(String),
}

/// One attempt a runner made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    /// The job's id.
    pub id: i64,
    /// Its kind, as stored.
    pub kind: String,
    /// Which attempt this was, from 1.
    pub attempt: u32,
    /// What became of it.
    pub outcome: JobOutcome,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_reads_back_as_it_was_stored() {
        let job = Job::DeliverEvent(Delivery {
            url: "https://hooks.example/q".into(),
            body: "{\"id\":\"e1\"}".into(),
        });
        let stored = job
            .to_new(Timestamp::from_unix_millis(0).unwrap(), 3)
            .unwrap();
        assert_eq!(stored.kind, "webhook.deliver");
        let claimed = ClaimedJob {
            id: 1,
            kind: stored.kind,
            payload: stored.payload,
            attempt: 1,
            max_attempts: 3,
        };
        assert_eq!(Job::from_claimed(&claimed), Ok(job));
        let unknown = ClaimedJob {
            kind: "mystery".into(),
            ..claimed
        };
        assert!(Job::from_claimed(&unknown).is_err());
    }
}

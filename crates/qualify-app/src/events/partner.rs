//! Partner Center's events for a partner's registered receiver: the envelope
//! (`EventName`, `ResourceUri`, `ResourceName`, `AuditUri`, `ResourceChangeUtcDate`), enqueued
//! with the change that causes it when the partner registered for it, delivered signed as
//! Partner Center signs (`Authorization: Signature …`, `X-MS-Certificate-Url`,
//! `X-MS-Signature-Algorithm`), each attempt logged for the partner and the operator. A
//! customer's events run in sequence, so its receiver sees them in the order they happened.

use std::time::Instant;

use qualify_store::{DeliveryAttempt, NewJob, StoreError, Tx, VettingRecord};
use qualify_types::TenantId;
use qualify_types::Timestamp;
use qualify_types::webhooks::{CUSTOMER_QUALIFICATION_UPDATED, PartnerEvent, TEST_CREATED};
use serde::{Deserialize, Serialize};

use super::deliveries::{Delivered, ended};
use super::{Deliveries, describe};
use crate::jobs::{Attempt, JobKind, Lane, Lease};

/// Where a partner's signature goes, when it did not ask for `x-ms-signature`.
const AUTHORIZATION: &str = "Authorization";
/// Where it goes when it did (`SignatureTokenToMsSignatureHeader`).
const MS_SIGNATURE: &str = "x-ms-signature";
/// Where the receiver downloads the certificate to verify with.
const CERTIFICATE_URL: &str = "X-MS-Certificate-Url";
/// The one algorithm.
const SIGNATURE_ALGORITHM: &str = "X-MS-Signature-Algorithm";

/// A delivery's payload: the partner, the event's id and name, and its exact body (every
/// attempt on every node sends the same bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerDelivery {
    pub(crate) partner: TenantId,
    /// The event's id; a validation event's correlation id.
    pub(crate) event_id: String,
    pub(crate) event_name: String,
    pub(crate) body: String,
}

/// The path of a customer's qualifications, where `customer-qualification-updated` points.
fn qualifications_uri(public_base: &str, record: &VettingRecord) -> String {
    format!(
        "{public_base}/v1/customers/{}/qualifications",
        record.customer_id
    )
}

/// Partner Center's dates: ISO 8601 in UTC.
fn utc(at: Timestamp) -> String {
    at.to_string()
}

/// The delivery of `customer-qualification-updated` for a change to `record` (at `occurred`,
/// on the partner's clock, audited as `audit_record_id`), when the partner registered for it.
pub(crate) async fn qualification_updated(
    tx: &mut Tx,
    public_base: &str,
    record: &VettingRecord,
    occurred: Timestamp,
    audit_record_id: &str,
) -> Result<Option<PartnerDelivery>, StoreError> {
    let Some(registration) = tx.webhook_registration(record.partner_tenant_id).await? else {
        return Ok(None);
    };
    if !registration
        .events
        .iter()
        .any(|e| e == CUSTOMER_QUALIFICATION_UPDATED)
    {
        return Ok(None);
    }
    let event = PartnerEvent {
        event_name: CUSTOMER_QUALIFICATION_UPDATED.into(),
        resource_uri: qualifications_uri(public_base, record),
        resource_name: "qualification".into(),
        audit_uri: Some(format!("{public_base}/v1/auditrecords/{audit_record_id}")),
        resource_change_utc_date: utc(occurred),
    };
    Ok(Some(PartnerDelivery {
        partner: record.partner_tenant_id,
        event_id: uuid::Uuid::new_v4().to_string(),
        event_name: CUSTOMER_QUALIFICATION_UPDATED.into(),
        body: serde_json::to_string(&event).unwrap_or_default(),
    }))
}

/// The delivery of a `test-created` validation event, `correlation_id`.
pub(crate) fn test_created(
    public_base: &str,
    partner: TenantId,
    correlation_id: &str,
    at: Timestamp,
) -> PartnerDelivery {
    let event = PartnerEvent {
        event_name: TEST_CREATED.into(),
        resource_uri: format!(
            "{public_base}/webhooks/v1/registration/validationEvents/{correlation_id}"
        ),
        resource_name: "test".into(),
        audit_uri: None,
        resource_change_utc_date: utc(at),
    };
    PartnerDelivery {
        partner,
        event_id: correlation_id.to_owned(),
        event_name: TEST_CREATED.into(),
        body: serde_json::to_string(&event).unwrap_or_default(),
    }
}

impl JobKind for PartnerDelivery {
    const NAME: &'static str = "partner-webhook.deliver";
    const DELIVERS_TO: Option<&'static str> = Some("partner");
    const LANE: Lane = Lane::Deliveries;

    /// The partner's one registered receiver, whatever its URL is when the job runs.
    fn receiver(&self) -> Option<String> {
        Some(format!("partner:{}", self.partner))
    }
}

impl PartnerDelivery {
    /// The key that keeps one customer's events (or one partner's validation events) in order.
    pub(crate) fn sequence_key(&self, customer: Option<&str>) -> String {
        match customer {
            Some(customer) => format!("partner-webhook:{}:{customer}", self.partner),
            None => format!("partner-webhook:{}", self.partner),
        }
    }
}

impl Deliveries {
    /// An attempt of the job `lease` holds to deliver `delivery`, recorded with its log line;
    /// a validation event is finished when its delivery ends.
    pub(crate) async fn to_partner(&self, delivery: &PartnerDelivery, lease: &Lease) -> Attempt {
        let mut delivered = self.partner_attempt(delivery, lease).await;
        // A validation event is over once delivered, given up, or dropped: its status says so.
        let last = lease.claimed.attempt >= lease.claimed.max_attempts;
        if delivery.event_name == TEST_CREATED && ended(&delivered.attempt, last) {
            delivered.ends_validation = Some(delivery.event_id.clone());
        }
        self.finish(lease, delivered).await
    }

    /// One attempt: POSTs `delivery` to the partner's receiver as registered now, signed; a
    /// receiver that is no longer allowed is logged as refused.
    async fn partner_attempt(&self, delivery: &PartnerDelivery, lease: &Lease) -> Delivered {
        let untried = |attempt| Delivered {
            attempt,
            logged: None,
            tried: false,
            ends_validation: None,
        };
        let registration = match self.store.webhook_registration(delivery.partner).await {
            Ok(Some(registration)) => registration,
            Ok(None) => {
                return untried(Attempt::Hopeless(
                    "the partner has no webhook registration any more".into(),
                ));
            }
            Err(error) => return untried(Attempt::Failed(error.to_string())),
        };
        if !registration.events.contains(&delivery.event_name) {
            return untried(Attempt::Hopeless(format!(
                "the partner no longer receives {}",
                delivery.event_name
            )));
        }
        let (http, signer) = match (self.partner_http().await, self.signer().await) {
            (Ok(http), Ok(signer)) => (http, signer),
            (Err(error), _) => return untried(Attempt::Failed(error)),
            (_, Err(error)) => return untried(Attempt::Failed(error.to_string())),
        };
        let mut logged = DeliveryAttempt {
            seq: 0,
            event_id: delivery.event_id.clone(),
            job_id: lease.claimed.id,
            partner: delivery.partner,
            event_name: delivery.event_name.clone(),
            url: registration.url.clone(),
            attempt: lease.claimed.attempt,
            at: self.clock.now(),
            status_code: None,
            latency_ms: 0,
            error: None,
        };
        // Allowed when registered, maybe not now (the operator turned private addresses off).
        if let Err(why) = url::Url::parse(&registration.url)
            .map_err(|e| e.to_string())
            .and_then(|url| super::guard::check_url(&url, self.allow_private))
        {
            let refused = format!("the receiver {} is refused: {why}", registration.url);
            logged.error = Some(refused.clone());
            return Delivered {
                attempt: Attempt::Hopeless(refused),
                logged: Some(logged),
                tried: false,
                ends_validation: None,
            };
        }
        let signature = match signer.sign(delivery.body.as_bytes()) {
            Ok(signature) => signature,
            Err(error) => return untried(Attempt::Failed(error.to_string())),
        };
        let header = if registration.signature_header {
            MS_SIGNATURE
        } else {
            AUTHORIZATION
        };
        let certificate_url = format!(
            "{}/webhooks/v1/certificates/{}",
            self.public_base,
            signer.certificate_name()
        );
        let started = Instant::now();
        let sent = http
            .post(&registration.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(header, format!("Signature {signature}"))
            .header(CERTIFICATE_URL, certificate_url)
            .header(SIGNATURE_ALGORITHM, "rsa-sha256")
            .body(delivery.body.clone())
            .send();
        let sent = tokio::time::timeout(self.response_timeout, sent).await;
        logged.latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let outcome = match &sent {
            Ok(Ok(response)) if response.status().is_success() => Ok(()),
            Ok(Ok(response)) => Err(format!(
                "the receiver answered HTTP {}",
                response.status().as_u16()
            )),
            Ok(Err(error)) => Err(describe(error)),
            Err(_) => Err(format!(
                "the receiver did not answer within {:?}",
                self.response_timeout
            )),
        };
        logged.status_code = match &sent {
            Ok(Ok(response)) => Some(response.status().as_u16()),
            _ => None,
        };
        logged.error = outcome.as_ref().err().cloned();
        Delivered {
            attempt: match outcome {
                Ok(()) => Attempt::Done,
                Err(error) => Attempt::Failed(error),
            },
            logged: Some(logged),
            tried: true,
            ends_validation: None,
        }
    }
}

/// The job of `delivery`, due at `run_at`, in `customer`'s sequence.
pub(crate) fn job(
    delivery: PartnerDelivery,
    customer: Option<&str>,
    run_at: Timestamp,
    max_attempts: u32,
) -> Result<NewJob, serde_json::Error> {
    let sequence_key = delivery.sequence_key(customer);
    let mut job = delivery.to_new(run_at, max_attempts)?;
    job.sequence_key = Some(sequence_key);
    Ok(job)
}

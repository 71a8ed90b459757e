//! The server's settings, as the binary assembles them from defaults, the config file, `QUALIFY_`
//! variables and flags. Plain values, passed in: nothing here reads the environment.

use std::time::Duration;

use qualify_domain::SubmissionPolicy;
use qualify_store::{DatabaseUrl, StoreOptions};

pub use crate::identity::TrustedIssuer;
use crate::tls::TlsSettings;
use secrecy::SecretString;
use url::Url;

/// Which shape `GET …/qualifications` answers in. Only serialisation differs, never behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContractProfile {
    /// The seed document's shape: `{"qualifications": [...]}`, dates named `vettingCreatedDate`.
    #[default]
    Documented,
    /// What Microsoft's .NET SDK reads: a bare array, dates named `vettingCreateDate`.
    Sdk,
}

impl std::str::FromStr for ContractProfile {
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

/// Everything [`crate::App::build`] needs to know.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The database and its pool.
    pub store: StoreOptions,
    /// The URL clients reach this server at; the token issuer's `iss` is derived from it.
    /// Defaults to `http://` and the address the server listens on. Every node behind a load
    /// balancer must be given the same one.
    pub public_url: Option<Url>,
    /// The shape of the qualification list.
    pub contract: ContractProfile,
    /// Development mode: seed and accept the well-known identities.
    pub dev: bool,
    /// Limits on submissions.
    pub policy: SubmissionPolicy,
    /// How long issued access tokens live.
    pub token_lifetime: Duration,
    /// How long a refresh token (password grant with `offline_access`) works, if unused.
    pub refresh_token_lifetime: Duration,
    /// Tokens are accepted this long before `nbf` and after `exp`, for clock skew.
    pub clock_skew: Duration,
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Requests taking longer are answered 503.
    pub request_timeout: Duration,
    /// How long `MS-RequestId` idempotency records are kept (at least 24 hours).
    pub idempotency_retention: Duration,
    /// Where events are delivered.
    pub webhooks: Vec<Webhook>,
    /// External OpenID Connect issuers whose tokens are accepted (for partners' tenants).
    pub trusted_issuers: Vec<TrustedIssuer>,
    /// App+User tokens must show multi-factor authentication (`amr` contains `mfa`), as
    /// Partner Center requires since 2026.
    pub require_mfa: bool,
    /// Verified tokens kept to skip their signature check on reuse; 0 turns the cache off.
    pub token_cache_capacity: u64,
    /// How often this node reads the signing keys again (to pick up a rotation).
    pub signing_key_refresh: Duration,
    /// The least time between two fetches of a trusted issuer's keys (an unknown `kid` asks
    /// for one; forged tokens must not turn into a flood of fetches).
    pub issuer_refresh_interval: Duration,
    /// How background jobs (event delivery) run.
    pub jobs: JobSettings,
    /// Serve HTTPS instead of HTTP.
    pub tls: Option<TlsSettings>,
}

/// A webhook endpoint: events are POSTed to `url`, signed with `secret`.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// Where to POST events.
    pub url: Url,
    /// The HMAC-SHA256 key of the `Qualify-Signature` header.
    pub secret: SecretString,
}

/// How this node runs background jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSettings {
    /// Jobs run at once on this node; 0 runs none (the node only serves requests).
    pub workers: usize,
    /// How long a claimed job is this node's: if the node dies, another takes the job over once
    /// the lease ends. Longer than any job runs.
    pub lease: Duration,
    /// How often idle workers look for due jobs (they are also woken by this node's writes).
    pub poll_interval: Duration,
    /// The wait before a failed job's first retry; it doubles with each attempt, up to an hour.
    pub retry_base: Duration,
    /// Attempts before a job is given up.
    pub max_attempts: u32,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            workers: 2,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
            retry_base: Duration::from_secs(10),
            max_attempts: 10,
        }
    }
}

impl Settings {
    /// Defaults for a server on `database`.
    pub fn new(database: DatabaseUrl) -> Self {
        Self {
            store: StoreOptions::new(database),
            public_url: None,
            contract: ContractProfile::Documented,
            dev: false,
            policy: SubmissionPolicy::default(),
            token_lifetime: Duration::from_secs(3600),
            refresh_token_lifetime: Duration::from_secs(14 * 24 * 3600),
            clock_skew: Duration::from_secs(60),
            body_limit: 64 * 1024,
            request_timeout: Duration::from_secs(30),
            idempotency_retention: Duration::from_secs(24 * 3600),
            webhooks: Vec::new(),
            trusted_issuers: Vec::new(),
            require_mfa: true,
            token_cache_capacity: 10_000,
            signing_key_refresh: Duration::from_secs(60),
            issuer_refresh_interval: Duration::from_secs(5),
            jobs: JobSettings::default(),
            tls: None,
        }
    }
}

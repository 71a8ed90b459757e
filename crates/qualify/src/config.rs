//! The server's configuration, layered: built-in defaults, then the config file (`--config` or
//! `QUALIFY_CONFIG`, TOML), then `QUALIFY_*` environment variables, then flags. Loading reads
//! files and the environment but changes nothing.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use qualify_server::{ContractProfile, Settings, TlsSettings, TrustedIssuer, Webhook};
use qualify_store::{DatabaseUrl, SqliteSync};
use serde::{Deserialize, Serialize};

use crate::telemetry::LogFormat;

/// Every setting of `qualify serve`, with its key in the config file; the environment variable
/// is the key upper-cased with a `QUALIFY_` prefix (`listen` → `QUALIFY_LISTEN`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct ServeConfig {
    /// Address to listen on.
    pub listen: String,
    /// Database URL; SQLite file `./qualify-data/qualify.db` when absent.
    pub database: Option<String>,
    /// The URL clients use to reach this server (issuer of its tokens).
    pub public_url: Option<String>,
    /// `documented` or `sdk`.
    pub contract: String,
    /// Development mode.
    pub dev: bool,
    /// Vetting requests allowed per customer and qualification.
    pub max_vetting_requests: u32,
    /// Lifetime of issued access tokens.
    #[serde(with = "humantime_serde")]
    pub token_lifetime: Duration,
    /// Largest request body, in bytes.
    pub body_limit: usize,
    /// Requests running longer are answered 503.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// SQLite durability: `full` (fsync each commit) or `normal`.
    pub sqlite_sync: String,
    /// Database connections (PostgreSQL pool size; SQLite readers).
    pub db_max_connections: u32,
    /// PostgreSQL statement timeout; SQLite busy timeout.
    #[serde(with = "humantime_serde")]
    pub db_statement_timeout: Duration,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// A webhook to deliver events to (with `webhook_secret`); the file may list more as
    /// `[[webhooks]]` tables with `url` and `secret`.
    pub webhook_url: Option<String>,
    /// The signing secret of `webhook_url`.
    pub webhook_secret: Option<String>,
    /// More webhooks (config file).
    pub webhooks: Vec<WebhookConfig>,
    /// Background jobs run at once on this node (0: none).
    pub job_workers: usize,
    /// How long a claimed job belongs to this node before another may take it over.
    #[serde(with = "humantime_serde")]
    pub job_lease: Duration,
    /// OpenID Connect issuers whose tokens are accepted (flags).
    pub trust_issuer: Vec<String>,
    /// The same, with an audience and allowed tenants (config file).
    pub trusted_issuers: Vec<TrustedIssuerConfig>,
    /// App+User tokens must carry `amr` = `mfa`.
    pub require_mfa: bool,
    /// Verified tokens cached (0: no cache).
    pub token_cache: u64,
    /// How long an unused refresh token works.
    #[serde(with = "humantime_serde")]
    pub refresh_token_lifetime: Duration,
    /// Serve HTTPS with this certificate chain (PEM), with `tls_key`.
    pub tls_cert: Option<String>,
    /// The private key of `tls_cert` (PEM).
    pub tls_key: Option<String>,
    /// Serve HTTPS with a development certificate made (once) for `tls_names`.
    pub tls_self_signed: bool,
    /// The names of the development certificate.
    pub tls_names: Vec<String>,
    /// Where the development certificate and its authority are kept.
    pub tls_dir: String,
}

/// A trusted issuer in the config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TrustedIssuerConfig {
    /// The issuer's URL (its discovery document is under it).
    pub url: String,
    /// The audience its tokens must carry [default: Partner Center's API].
    #[serde(default)]
    pub audience: Option<String>,
    /// Only these tenants' tokens [default: any known partner's].
    #[serde(default)]
    pub tenants: Vec<String>,
}

/// A webhook in the config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WebhookConfig {
    /// Where events are POSTed.
    pub url: String,
    /// The HMAC key of their signature.
    pub secret: String,
}

impl Default for ServeConfig {
    fn default() -> Self {
        let defaults = Settings::new(DatabaseUrl::default_sqlite());
        Self {
            listen: "127.0.0.1:8080".into(),
            database: None,
            public_url: None,
            contract: "documented".into(),
            dev: false,
            max_vetting_requests: defaults.policy.max_requests_per_qualification,
            token_lifetime: defaults.token_lifetime,
            body_limit: defaults.body_limit,
            request_timeout: defaults.request_timeout,
            sqlite_sync: "full".into(),
            db_max_connections: defaults.store.max_connections,
            db_statement_timeout: defaults.store.statement_timeout,
            log_format: LogFormat::Text,
            webhook_url: None,
            webhook_secret: None,
            webhooks: Vec::new(),
            job_workers: defaults.jobs.workers,
            job_lease: defaults.jobs.lease,
            trust_issuer: Vec::new(),
            trusted_issuers: Vec::new(),
            require_mfa: defaults.require_mfa,
            token_cache: defaults.token_cache_capacity,
            refresh_token_lifetime: defaults.refresh_token_lifetime,
            tls_cert: None,
            tls_key: None,
            tls_self_signed: false,
            tls_names: vec![
                "localhost".into(),
                "127.0.0.1".into(),
                "api.partnercenter.microsoft.com".into(),
            ],
            tls_dir: "qualify-data/tls".into(),
        }
    }
}

/// The keys an environment variable may set; other `QUALIFY_*` variables belong to the
/// client commands and are ignored here.
const KEYS: &[&str] = &[
    "listen",
    "database",
    "public_url",
    "contract",
    "dev",
    "max_vetting_requests",
    "token_lifetime",
    "body_limit",
    "request_timeout",
    "sqlite_sync",
    "db_max_connections",
    "db_statement_timeout",
    "log_format",
    "webhook_url",
    "webhook_secret",
    "job_workers",
    "job_lease",
    "require_mfa",
    "token_cache",
    "refresh_token_lifetime",
    "tls_cert",
    "tls_key",
    "tls_self_signed",
    "tls_dir",
];

/// Layers the sources; `overrides` holds only the flags given on the command line.
pub(crate) fn load(
    file: Option<&PathBuf>,
    overrides: &impl Serialize,
) -> anyhow::Result<ServeConfig> {
    let mut figment = Figment::from(Serialized::defaults(ServeConfig::default()));
    if let Some(file) = file {
        anyhow::ensure!(
            file.exists(),
            "the config file {} does not exist",
            file.display()
        );
        figment = figment.merge(Toml::file(file));
    }
    figment
        .merge(Env::prefixed("QUALIFY_").only(KEYS))
        .merge(Serialized::defaults(overrides))
        .extract()
        .context("reading the configuration")
}

impl ServeConfig {
    /// The listen address.
    pub(crate) fn listen_addr(&self) -> anyhow::Result<SocketAddr> {
        self.listen
            .parse()
            .with_context(|| format!("listen address '{}' is not host:port", self.listen))
    }

    /// The server's settings.
    pub(crate) fn settings(&self) -> anyhow::Result<Settings> {
        let database = match &self.database {
            Some(url) => url.parse()?,
            None => DatabaseUrl::default_sqlite(),
        };
        let mut settings = Settings::new(database);
        settings.public_url = self
            .public_url
            .as_deref()
            .map(url::Url::parse)
            .transpose()
            .context("public_url is not a URL")?;
        settings.contract = self.contract.parse().map_err(anyhow::Error::msg)?;
        settings.dev = self.dev;
        anyhow::ensure!(
            self.max_vetting_requests >= 1,
            "max_vetting_requests must be at least 1"
        );
        settings.policy.max_requests_per_qualification = self.max_vetting_requests;
        settings.token_lifetime = self.token_lifetime;
        anyhow::ensure!(
            self.body_limit >= 1024,
            "body_limit must be at least 1024 bytes"
        );
        settings.body_limit = self.body_limit;
        settings.request_timeout = self.request_timeout;
        settings.store.sqlite_sync = match self.sqlite_sync.to_ascii_lowercase().as_str() {
            "full" => SqliteSync::Full,
            "normal" => SqliteSync::Normal,
            other => anyhow::bail!("sqlite_sync '{other}' is not full or normal"),
        };
        settings.store.max_connections = self.db_max_connections.max(1);
        settings.store.statement_timeout = self.db_statement_timeout;
        let flagged = match (&self.webhook_url, &self.webhook_secret) {
            (Some(url), Some(secret)) => Some(WebhookConfig {
                url: url.clone(),
                secret: secret.clone(),
            }),
            (None, None) => None,
            _ => anyhow::bail!("webhook_url and webhook_secret go together"),
        };
        for webhook in self.webhooks.iter().chain(&flagged) {
            let url = url::Url::parse(&webhook.url)
                .with_context(|| format!("webhook URL '{}'", webhook.url))?;
            anyhow::ensure!(
                matches!(url.scheme(), "http" | "https"),
                "webhook URL '{url}' is not http(s)"
            );
            anyhow::ensure!(
                webhook.secret.len() >= 8,
                "a webhook secret must be at least 8 characters"
            );
            settings.webhooks.push(Webhook {
                url,
                secret: webhook.secret.clone().into(),
            });
        }
        settings.jobs.workers = self.job_workers;
        anyhow::ensure!(
            self.job_lease >= Duration::from_secs(1),
            "job_lease must be at least 1s"
        );
        settings.jobs.lease = self.job_lease;
        let flagged = self.trust_issuer.iter().map(|url| TrustedIssuerConfig {
            url: url.clone(),
            audience: None,
            tenants: Vec::new(),
        });
        for issuer in self.trusted_issuers.iter().cloned().chain(flagged) {
            let url = url::Url::parse(&issuer.url)
                .with_context(|| format!("trusted issuer '{}'", issuer.url))?;
            anyhow::ensure!(
                url.scheme() == "https"
                    || url.host_str() == Some("127.0.0.1")
                    || url.host_str() == Some("localhost"),
                "trusted issuer '{url}' must be https (plain http only on localhost)"
            );
            let tenants = issuer
                .tenants
                .iter()
                .map(|t| {
                    t.parse()
                        .map_err(|_| anyhow::anyhow!("trusted issuer tenant '{t}' is not a GUID"))
                })
                .collect::<anyhow::Result<_>>()?;
            settings.trusted_issuers.push(TrustedIssuer {
                url,
                audience: issuer.audience,
                tenants,
            });
        }
        settings.require_mfa = self.require_mfa;
        settings.token_cache_capacity = self.token_cache;
        settings.refresh_token_lifetime = self.refresh_token_lifetime;
        settings.tls = match (&self.tls_cert, &self.tls_key, self.tls_self_signed) {
            (Some(cert), Some(key), false) => Some(TlsSettings::Files {
                cert: cert.into(),
                key: key.into(),
            }),
            (None, None, true) => Some(TlsSettings::Generated {
                dir: self.tls_dir.clone().into(),
                names: self.tls_names.clone(),
            }),
            (None, None, false) => None,
            (_, _, true) => anyhow::bail!(
                "tls_self_signed makes its own certificate: drop tls_cert and tls_key"
            ),
            _ => anyhow::bail!("tls_cert and tls_key go together"),
        };
        Ok(settings)
    }
}

/// The contract profile's name, for flags.
pub(crate) fn contract_name(profile: ContractProfile) -> &'static str {
    match profile {
        ContractProfile::Documented => "documented",
        ContractProfile::Sdk => "sdk",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct NoFlags {}

    #[test]
    fn defaults_make_a_local_sqlite_server() {
        let config = load(None, &NoFlags {}).unwrap();
        assert_eq!(config.listen_addr().unwrap().to_string(), "127.0.0.1:8080");
        let settings = config.settings().unwrap();
        assert_eq!(
            settings.store.url.to_string(),
            "sqlite://qualify-data/qualify.db"
        );
        assert_eq!(settings.policy.max_requests_per_qualification, 3);
    }

    #[test]
    fn the_file_is_overridden_by_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("qualify.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9000\"\ncontract = \"sdk\"\ntoken_lifetime = \"10m\"\n",
        )
        .unwrap();
        #[derive(Serialize)]
        struct Flags {
            listen: &'static str,
        }
        let config = load(
            Some(&file),
            &Flags {
                listen: "127.0.0.1:9001",
            },
        )
        .unwrap();
        assert_eq!(config.listen, "127.0.0.1:9001");
        assert_eq!(contract_name(config.settings().unwrap().contract), "sdk");
        assert_eq!(config.token_lifetime, Duration::from_secs(600));
    }
}

//! What the HTTP adapter serves and how: where it listens, what a connection and a request may
//! cost, the shape of its answers, Partner Center's throttling, HTTPS, metrics, logs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use super::InvalidSettings;
use super::parse::{displayed, networks, parsed};

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

impl std::fmt::Display for ContractProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How the server's log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// What a rate limit counts requests by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
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

/// Where the HTTPS certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSettings {
    /// PEM files the operator provides.
    Files {
        /// The certificate chain.
        cert: PathBuf,
        /// Its private key.
        key: PathBuf,
    },
    /// A development certificate for `names`, made (once) in `dir` and signed by a local
    /// authority whose certificate is `dir/ca.pem`.
    Generated {
        /// Where the authority and the certificate are kept.
        dir: PathBuf,
        /// The host names (and IP addresses) the certificate is for.
        names: Vec<String>,
    },
}

/// The HTTP adapter's settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct HttpSettings {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The URL clients reach this server at; the token issuer's `iss` is derived from it.
    /// Defaults to `http(s)://` and the address the server listens on. Every node behind a load
    /// balancer must be given the same one.
    pub public_url: Option<Url>,
    /// The shape of the qualification list.
    #[serde(deserialize_with = "parsed", serialize_with = "displayed")]
    pub contract: ContractProfile,
    /// Rate limits per operation, as Partner Center throttles (config file; none by default).
    pub rate_limits: Vec<RateLimit>,
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
    /// The log's format.
    pub log_format: LogFormat,
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
    /// Reverse proxies (addresses or CIDR blocks) whose `X-Forwarded-For` names the client:
    /// behind them the brute-force lock-outs count failures by the client's address, not the
    /// proxy's (none by default: the peer is the client).
    #[serde(deserialize_with = "networks")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            contract: ContractProfile::Documented,
            rate_limits: Vec::new(),
            body_limit: 64 * 1024,
            request_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            shutdown_delay: Duration::ZERO,
            metrics_listen: None,
            max_connections: None,
            log_format: LogFormat::Text,
            tls_cert: None,
            tls_key: None,
            tls_self_signed: false,
            tls_names: vec![
                "localhost".into(),
                "127.0.0.1".into(),
                "api.partnercenter.microsoft.com".into(),
            ],
            tls_dir: PathBuf::from("qualify-data").join("tls"),
            trusted_proxies: Vec::new(),
        }
    }
}

impl HttpSettings {
    pub(super) fn check(&self) -> Result<(), InvalidSettings> {
        if self.body_limit < 1024 {
            return Err(InvalidSettings::new(
                "body_limit must be at least 1024 bytes",
            ));
        }
        if self.header_read_timeout < Duration::from_millis(100) {
            return Err(InvalidSettings::new(
                "header_read_timeout must be at least 100ms",
            ));
        }
        if self.max_connections == Some(0) {
            return Err(InvalidSettings::new("max_connections must be at least 1"));
        }
        for limit in &self.rate_limits {
            if limit.requests < 1 || limit.per < Duration::from_secs(1) {
                return Err(InvalidSettings::new(format!(
                    "rate limit of {}: at least 1 request per at least 1s",
                    limit.operation
                )));
            }
        }
        self.tls().map(|_| ())
    }

    /// Whether the server answers over HTTPS.
    pub fn serves_tls(&self) -> bool {
        matches!(self.tls(), Ok(Some(_)))
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
            (_, _, true) => Err(InvalidSettings::new(
                "tls_self_signed makes its own certificate: drop tls_cert and tls_key",
            )),
            _ => Err(InvalidSettings::new("tls_cert and tls_key go together")),
        }
    }
}

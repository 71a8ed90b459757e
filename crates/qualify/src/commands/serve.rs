//! `qualify serve`: run the server until SIGTERM or Ctrl-C, then drain in-flight requests.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use qualify_server::App;
use secrecy::{ExposeSecret, SecretString};
use serde::{Serialize, Serializer};
use tokio::net::TcpListener;

use crate::config::{self, ConfigArgs};
use crate::telemetry;

/// Flags of `qualify serve`. Each is also a config file key and a `QUALIFY_*` variable; only the
/// flags given override those. Their defaults are the settings' own, which `--help` shows.
#[derive(Debug, Args, Serialize)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    #[serde(flatten)]
    config: ConfigArgs,
    /// Address to listen on
    #[arg(long, value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<String>,
    /// The URL clients reach this server at; tokens are issued by {URL}/{tenant}/v2.0
    #[arg(long, value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    public_url: Option<String>,
    /// Shape of GET …/qualifications: documented (the seed's) or sdk (Microsoft's .NET SDK's)
    #[arg(long, value_name = "PROFILE", value_parser = ["documented", "sdk"])]
    #[serde(skip_serializing_if = "Option::is_none")]
    contract: Option<String>,
    /// Development mode: seed and accept the well-known identities (see the README).
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    dev: bool,
    /// Vetting rules (TOML) that decide submissions without a reviewer; reread on SIGHUP (docs/rules.md).
    #[arg(long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    rules: Option<PathBuf>,
    /// Vetting requests allowed per customer and qualification, counting the first
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_vetting_requests: Option<u32>,
    /// A file of 32 random bytes (raw or base64) sealing the token signing keys in the database (docs/configuration.md).
    #[arg(long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    key_encryption_key_file: Option<PathBuf>,
    /// Lifetime of issued access tokens, e.g. 1h
    #[arg(long, value_name = "DURATION")]
    #[serde(skip_serializing_if = "Option::is_none")]
    token_lifetime: Option<String>,
    /// Largest request body in bytes
    #[arg(long, value_name = "BYTES")]
    #[serde(skip_serializing_if = "Option::is_none")]
    body_limit: Option<usize>,
    /// Requests taking longer are answered 503, e.g. 30s
    #[arg(long, value_name = "DURATION")]
    #[serde(skip_serializing_if = "Option::is_none")]
    request_timeout: Option<String>,
    /// A request's headers (and a TLS handshake) must arrive within this; idle keep-alive connections close after it, e.g. 10s
    #[arg(long, value_name = "DURATION")]
    #[serde(skip_serializing_if = "Option::is_none")]
    header_read_timeout: Option<String>,
    /// After SIGTERM, keep serving this long with /readyz answering 503, so load balancers take the node out first, e.g. 5s
    #[arg(long, value_name = "DURATION")]
    #[serde(skip_serializing_if = "Option::is_none")]
    shutdown_delay: Option<String>,
    /// Serve Prometheus metrics (GET /metrics) on this address, apart from the API, e.g. 127.0.0.1:9464 [when unset: off] (docs/operations.md).
    #[arg(long, value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics_listen: Option<String>,
    /// Connections open at once; more wait to be accepted [when unset: the open-files limit, raised to its maximum, less 256].
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_connections: Option<usize>,
    /// SQLite only: durability, full (fsync every commit) or normal [when unset: full].
    #[arg(long, value_name = "MODE", value_parser = ["full", "normal"])]
    #[serde(skip_serializing_if = "Option::is_none")]
    sqlite_sync: Option<String>,
    /// Memory for the cache of what GETs read, in MiB; 0 turns it off [when unset: 160, about a million customers].
    #[arg(long, value_name = "MIB")]
    #[serde(skip_serializing_if = "Option::is_none")]
    read_cache_mib: Option<u64>,
    /// PostgreSQL only: the connection pool's size [when unset: 8].
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    db_max_connections: Option<u32>,
    /// PostgreSQL statement timeout, SQLite busy timeout, e.g. 10s
    #[arg(long, value_name = "DURATION")]
    #[serde(skip_serializing_if = "Option::is_none")]
    db_statement_timeout: Option<String>,
    /// Deliver events to this URL (signed with --webhook-secret); see docs/events.md.
    #[arg(long, value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_url: Option<String>,
    /// The secret that signs events (Standard Webhooks: whsec_ and base64; make one with: echo whsec_$(openssl rand -base64 32)).
    #[arg(long, value_name = "SECRET")]
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "secret")]
    webhook_secret: Option<SecretString>,
    /// Deliver partners' events (their registered webhooks) to loopback, private and link-local addresses [when unset: only with --dev].
    #[arg(long, value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_allow_private: Option<bool>,
    /// Workers making timed decisions on this node (deliveries have their own: --delivery-concurrency); 0 runs no background job at all
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    job_workers: Option<usize>,
    /// Event deliveries in flight at once on this node, every receiver together
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery_concurrency: Option<usize>,
    /// Deliveries to one receiver in flight at once, every node together: a slow receiver holds no more
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery_per_receiver: Option<u32>,
    /// How long a receiver has to answer a delivery (after connecting), e.g. 5s
    #[arg(long, value_name = "DURATION")]
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery_response_timeout: Option<String>,
    /// How long a claimed job is this node's before another node may take it over, e.g. 60s
    #[arg(long, value_name = "DURATION")]
    #[serde(skip_serializing_if = "Option::is_none")]
    job_lease: Option<String>,
    /// Reverse proxies (addresses or CIDR blocks, repeatable or comma-separated) whose X-Forwarded-For names the client, so that lock-outs after failed sign-ins apply to the client's address, not the proxy's.
    #[arg(long, value_name = "CIDR", value_delimiter = ',')]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    trusted_proxies: Vec<String>,
    /// Accept tokens of this OpenID Connect issuer (repeatable), e.g. https://login.microsoftonline.com/common/v2.0 for Entra ID.
    #[arg(long = "trust-issuer", value_name = "URL")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    trust_issuer: Vec<String>,
    /// Require multi-factor authentication (amr=mfa) on App+User tokens
    #[arg(long, value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    require_mfa: Option<bool>,
    /// Verified tokens to cache, skipping their signature check on reuse; 0 turns it off
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    token_cache: Option<u64>,
    /// Serve HTTPS with this certificate chain (PEM); with --tls-key.
    #[arg(long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_cert: Option<String>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_key: Option<String>,
    /// Serve HTTPS with a local development certificate, made once (with its own authority, ca.pem, to trust) in --tls-dir.
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    tls_self_signed: bool,
    /// Names of the development certificate
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tls_names: Vec<String>,
    /// Where the development certificate is kept
    #[arg(long, value_name = "DIR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_dir: Option<String>,
    /// Log format: text, or json (one object per line)
    #[arg(long, value_name = "FORMAT", value_parser = ["text", "json"])]
    #[serde(skip_serializing_if = "Option::is_none")]
    log_format: Option<String>,
}

/// Runs the server.
pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let settings = config::load(args.config.config.as_deref(), &args)?;
    // Held until the server has stopped, so its last lines are written out.
    let _log_writer = telemetry::init(settings.http.log_format);
    let addr = settings.http.listen;
    let contract = settings.http.contract;
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    let app = App::build(settings, listener)
        .await
        .context("starting the server")?;
    // Building the server freed megabytes the allocator would otherwise keep while it idles.
    qualify_allocator::release_freed_memory();
    tracing::info!(
        ready_in_ms = qualify_types::rounded_millis(started.elapsed()),
        contract = contract.name(),
        "ready"
    );
    app.run_until_stopped(shutdown_signal())
        .await
        .context("serving")
}

/// A secret flag, for the settings it overrides.
fn secret<S: Serializer>(secret: &Option<SecretString>, to: S) -> Result<S::Ok, S::Error> {
    secret
        .as_ref()
        .map(ExposeSecret::expose_secret)
        .serialize(to)
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// The flags of `serve` are its settings' keys, spelt with dashes.
    #[test]
    fn every_flag_is_a_settings_key() {
        let keys = qualify_app::Settings::keys();
        let command = crate::cli::Cli::command();
        let serve = command.find_subcommand("serve").unwrap();
        for arg in serve.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if matches!(long, "config" | "help" | "version") {
                continue;
            }
            assert!(keys.contains(&long.replace('-', "_").as_str()), "--{long}");
        }
    }

    #[test]
    fn the_flags_never_print_a_secret() {
        use clap::Parser;
        let cli = crate::cli::Cli::parse_from([
            "qualify",
            "serve",
            "--database",
            "postgres://qualify:hunter2@db/qualify",
            "--webhook-url",
            "https://hooks.example/q",
            "--webhook-secret",
            "whsec_do_not_print",
        ]);
        let printed = format!("{cli:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(!printed.contains("whsec_do_not_print"), "{printed}");
    }
}

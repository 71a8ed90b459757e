//! Qualify's service as a library: the Partner Center qualification API, the Entra-compatible
//! token issuer, and the reviewer API, over a [`qualify_store::Store`].
//!
//! [`App::build`] prepares everything (database, migrations, keys, development identities) on a
//! listener the caller bound; [`App::run_until_stopped`] serves until the caller's shutdown
//! future completes, then drains in-flight requests. The binary and the tests run the same code.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use qualify_store::{Store, StoreError};
use tokio::net::TcpListener;

pub mod admin;
mod api;
mod console;
mod error;
pub mod events;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod http;
mod jobs;
mod metrics;
mod openapi;
mod router;
mod state;
mod test_control;
pub mod tls;
mod usecases;
mod wire;

pub use error::ApiError;
pub use http::RequestIds;
pub use jobs::{JobOutcome, JobRunner, Ran};
pub use qualify_app::clock::{self, Clock, ManualClock, wall_now};
pub use qualify_app::settings::{
    self, ContractProfile, InvalidSettings, LogFormat, RateLimit, RateLimitKey, Settings,
    TlsSettings, TrustedIssuer, Webhook,
};
pub use qualify_app::vetting_rules;
pub use state::AppState;

use qualify_app::identity::{self, Identity};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The database could not be opened or migrated.
    #[error("opening the database {url}")]
    Store {
        /// The database, password redacted.
        url: String,
        /// Why.
        #[source]
        source: StoreError,
    },
    /// The token issuer's keys could not be loaded or created.
    #[error("loading the token signing keys")]
    Keys(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The development identities could not be seeded.
    #[error("seeding the development identities")]
    Seed(#[source] StoreError),
    /// The settings make no sense.
    #[error("invalid settings: {0}")]
    Settings(#[from] InvalidSettings),
    /// The vetting rules file can't be used.
    #[error("reading the vetting rules: {0}")]
    Rules(#[from] vetting_rules::RulesFileError),
    /// The HTTPS certificate could not be made or read.
    #[error("preparing HTTPS")]
    Tls(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The listener has no local address.
    #[error("reading the listener's address")]
    Listener(#[source] std::io::Error),
    /// The metrics listener could not be bound.
    #[error("listening for metrics scrapes on {addr}")]
    MetricsListener {
        /// The address of `--metrics-listen`.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A server ready to run.
#[derive(Debug)]
pub struct App {
    listener: TcpListener,
    state: AppState,
    local_addr: SocketAddr,
    /// The HTTPS configuration, when serving HTTPS.
    tls: Option<Arc<rustls::ServerConfig>>,
    /// Where `/metrics` is served (`--metrics-listen`), when it is.
    metrics_listener: Option<TcpListener>,
}

impl App {
    /// Opens the database (applying migrations), loads or creates the signing keys, seeds the
    /// development identities with `--dev`, and prepares to serve on `listener`, on the wall
    /// clock.
    pub async fn build(settings: Settings, listener: TcpListener) -> Result<Self, StartupError> {
        Self::build_with_clock(settings, listener, Clock::wall()).await
    }

    /// As [`App::build`], with dates read from `clock` (a test's [`ManualClock`], say). Token
    /// lifetimes follow the wall clock whatever `clock` says.
    pub async fn build_with_clock(
        settings: Settings,
        listener: TcpListener,
        clock: Clock,
    ) -> Result<Self, StartupError> {
        settings.check()?;
        let rules = Arc::new(vetting_rules::RuleBook::load(
            settings.vetting.rules.as_deref(),
        )?);
        let local_addr = listener.local_addr().map_err(StartupError::Listener)?;
        let store = Store::connect(&settings.store.options())
            .await
            .map_err(|source| StartupError::Store {
                url: settings.store.database.to_string(),
                source,
            })?;
        if settings.dev {
            identity::dev::seed(&store, clock.now())
                .await
                .map_err(StartupError::Seed)?;
        }
        let kek = settings
            .identity
            .key_encryption_key_file
            .as_deref()
            .map(identity::KeyEncryptionKey::from_file)
            .transpose()
            .map_err(|e| StartupError::Keys(Box::new(e)))?
            .map(Arc::new);
        let tls = match &settings.http.tls()? {
            Some(tls) => Some(tls::server_config(tls).map_err(|e| StartupError::Tls(Box::new(e)))?),
            None => None,
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let issuer_base = settings.http.public_url.as_ref().map_or_else(
            || format!("{scheme}://{local_addr}"),
            |url| url.as_str().trim_end_matches('/').to_owned(),
        );
        let identity = Identity::open(
            store.clone(),
            &settings.identity,
            settings.dev,
            issuer_base.clone(),
            kek.clone(),
        )
        .await
        .map_err(|e| StartupError::Keys(Box::new(e)))?;
        let vetting = usecases::Vetting {
            policy: settings.vetting.submission_policy(),
            outbox: events::Outbox::new(&settings, issuer_base.clone()),
            rules,
            partners: qualify_app::partners::Partners::new(clock.clone(), settings.dev),
            job_max_attempts: settings.jobs.job_max_attempts,
        };
        let test_control = settings.dev.then(Arc::default);
        let metrics_listener = match settings.http.metrics_listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| StartupError::MetricsListener { addr, source })?,
            ),
            None => None,
        };
        let metrics = metrics::Metrics::new(&store);
        let rate_limits = http::throttle::RateLimits::new(
            &settings.http.rate_limits,
            &openapi::document(settings.dev, settings.http.contract),
        )?;
        let state = AppState::new(state::Shared {
            store,
            clock,
            vetting,
            rate_limits,
            test_control,
            settings: Arc::new(settings),
            identity,
            jobs_ready: Arc::new(tokio::sync::Notify::new()),
            kek,
            webhook_signer: tokio::sync::OnceCell::new(),
            stopping: std::sync::atomic::AtomicBool::new(false),
            metrics,
        });
        Ok(Self {
            listener,
            state,
            local_addr,
            tls,
            metrics_listener,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address `/metrics` is served on, with `--metrics-listen`.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    /// A runner of this server's jobs, for a caller that runs them itself (a test, with
    /// `jobs.workers` 0, draining them deterministically instead of waiting for workers).
    pub fn job_runner(&self) -> JobRunner {
        JobRunner::new(
            self.state.clone(),
            format!("{}-runner", self.local_addr.port()),
        )
    }

    /// The URL clients use, and the base of the token issuer.
    pub fn public_url(&self) -> &str {
        self.state.public_base()
    }

    /// Serves until `shutdown` completes, then stops accepting connections, lets in-flight
    /// requests finish, and closes the database.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let metrics_addr = self.metrics_addr();
        let Self {
            listener,
            state,
            local_addr,
            tls,
            metrics_listener,
        } = self;
        let housekeeping = tokio::spawn(purge_idempotency_records(state.clone()));
        let delivery_housekeeping = tokio::spawn(purge_delivery_history(state.clone()));
        let rules_reloads = tokio::spawn(reload_rules_on_hangup(state.clone()));
        let rate_limit_tidying = tokio::spawn(http::throttle::tidy(state.clone()));
        let key_refresh = tokio::spawn(refresh_signing_keys(state.clone()));
        // Names this node's workers in job leases, so an operator can tell whose lease it is.
        let node = format!(
            "{}-{}",
            local_addr.port(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let workers = jobs::Workers::start(&state, &node);
        let metrics_server = metrics_listener
            .map(|listener| tokio::spawn(metrics::scrape::serve(listener, state.clone())));

        tracing::info!(%local_addr, public_url = state.public_base(), dev = state.settings.dev, metrics_addr = metrics_addr.map(tracing::field::display), "serving");
        let routes = router::service::<hyper::body::Incoming>(state.clone());
        // Asked to stop, the node says so on /readyz and goes on serving for the shutdown
        // delay (load balancers see it and stop sending requests), then stops accepting.
        let stopping = state.clone();
        let shutdown = async move {
            shutdown.await;
            stopping
                .stopping
                .store(true, std::sync::atomic::Ordering::Relaxed);
            let delay = stopping.settings.http.shutdown_delay;
            if !delay.is_zero() {
                tracing::info!(delay = %humantime::format_duration(delay), "stopping: not ready, serving until the shutdown delay ends");
                tokio::time::sleep(delay).await;
            }
        };
        let served = http::connections::serve(
            listener,
            tls.map(tokio_rustls::TlsAcceptor::from),
            routes,
            http::connections::limits(&state.settings.http),
            shutdown,
        )
        .await;
        housekeeping.abort();
        delivery_housekeeping.abort();
        rules_reloads.abort();
        rate_limit_tidying.abort();
        key_refresh.abort();
        if let Some(metrics_server) = metrics_server {
            metrics_server.abort();
        }
        // In-flight jobs finish; jobs not yet claimed wait for the next node to run.
        workers.stop().await;
        state.store.close().await;
        tracing::info!("stopped");
        served
    }
}

/// How long delivery attempts, and the delivery jobs that ended, are kept: what `qualify admin
/// webhooks deliveries` shows and `redeliver` takes.
const DELIVERY_HISTORY: Duration = Duration::from_secs(30 * 24 * 3600);

/// Forgets, every hour, the delivery attempts and ended delivery jobs older than
/// [`DELIVERY_HISTORY`], and the validation events older than Partner Center keeps them: what
/// deliveries leave behind does not grow with traffic.
async fn purge_delivery_history(state: AppState) {
    let millis = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let mut every_hour = tokio::time::interval(Duration::from_secs(3600));
    loop {
        every_hour.tick().await;
        let now = state.clock.now();
        let purged = state
            .store
            .purge_delivery_history(
                now.plus_millis(-millis(DELIVERY_HISTORY)),
                jobs::DELIVERY_KINDS,
                now.plus_millis(-millis(api::webhook_registration::VALIDATION_EVENTS_KEPT)),
            )
            .await;
        match purged {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "forgot old deliveries"),
            Err(error) => tracing::warn!(%error, "purging old deliveries failed"),
        }
    }
}

/// Reads the vetting rules file again at each SIGHUP; a file with a problem leaves the rules in
/// force as they were, and says why.
async fn reload_rules_on_hangup(state: AppState) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(hangups) => hangups,
            Err(error) => {
                tracing::warn!(%error, "SIGHUP can't be handled; the vetting rules won't reload");
                return;
            }
        };
        while hangups.recv().await.is_some() {
            let rules = &state.vetting.rules;
            let Some(file) = rules.file() else {
                tracing::info!("SIGHUP: no rules file to reload (--rules)");
                continue;
            };
            match rules.reload() {
                Ok(count) => {
                    tracing::info!(file = %file.display(), rules = count, "reloaded the vetting rules")
                }
                Err(error) => {
                    tracing::warn!(%error, "the vetting rules file has a problem; the rules in force stay")
                }
            }
        }
    }
    #[cfg(not(unix))]
    std::future::pending::<()>().await;
}

/// Reads the signing keys again now and then, so a rotation reaches this node's signer and JWKS.
async fn refresh_signing_keys(state: AppState) {
    let mut every = tokio::time::interval(state.settings.identity.signing_key_refresh);
    every.tick().await;
    loop {
        every.tick().await;
        if let Err(error) = state.identity.reload_keys().await {
            tracing::warn!(error = %error, "reloading the signing keys failed");
        }
    }
}

/// Forgets `MS-RequestId` records older than the retention, hourly.
async fn purge_idempotency_records(state: AppState) {
    let retention = state
        .settings
        .vetting
        .idempotency_retention
        .max(Duration::from_secs(24 * 3600));
    let retention_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    let mut every_hour = tokio::time::interval(Duration::from_secs(3600));
    loop {
        every_hour.tick().await;
        let cutoff = state.clock.now().plus_millis(-retention_ms);
        match state.store.purge_idempotency_records(cutoff).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "forgot old idempotency records"),
            Err(error) => tracing::warn!(error = %error, "purging idempotency records failed"),
        }
    }
}

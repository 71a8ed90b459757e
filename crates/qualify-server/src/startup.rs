//! Putting a server together: [`App::build`] opens the application core (database, migrations,
//! keys, development identities) and prepares the HTTP side (TLS, the metrics listener, rate
//! limits, the test control plane) on a listener the caller bound; [`App::run_until_stopped`]
//! serves until the caller's shutdown future completes, then drains in-flight requests and
//! running jobs. The binary and the tests run the same code.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use qualify_app::{Clock, OpenError, Qualify, Settings};
use tokio::net::TcpListener;

use crate::chores::Chores;
use crate::http::connections;
use crate::metrics::scrape;
use crate::openapi;
use crate::rate_limits::RateLimits;
use crate::router::{Routes, documented, service};
use crate::state::{AppState, Shared};
use crate::tls::server_config;

/// Runs this server's jobs; tests drain them with it.
pub type JobRunner = qualify_app::jobs::JobRunner<qualify_app::Core>;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The application core could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The settings make no sense.
    #[error("invalid settings: {0}")]
    Settings(#[from] qualify_app::settings::InvalidSettings),
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
    pub(crate) state: AppState,
    local_addr: SocketAddr,
    /// The HTTPS configuration, when serving HTTPS.
    tls: Option<Arc<rustls::ServerConfig>>,
    /// Where `/metrics` is served (`--metrics-listen`), when it is.
    metrics_listener: Option<TcpListener>,
    /// The routes, built with the rest of the server so that start-up ends when `build` does.
    routes: Routes,
}

impl App {
    /// Opens the core and prepares to serve it on `listener`, on the wall clock.
    pub async fn build(settings: Settings, listener: TcpListener) -> Result<Self, StartupError> {
        Self::build_with_clock(settings, listener, Clock::wall()).await
    }

    /// As [`App::build`], with dates read from `clock` (a test's
    /// [`ManualClock`](qualify_app::ManualClock), say). Token lifetimes follow the wall clock
    /// whatever `clock` says.
    pub async fn build_with_clock(
        settings: Settings,
        listener: TcpListener,
        clock: Clock,
    ) -> Result<Self, StartupError> {
        settings.check()?;
        let local_addr = listener.local_addr().map_err(StartupError::Listener)?;
        let tls = match &settings.http.tls()? {
            Some(tls) => Some(server_config(tls).map_err(|e| StartupError::Tls(Box::new(e)))?),
            None => None,
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let public_base = settings.http.public_url.as_ref().map_or_else(
            || format!("{scheme}://{local_addr}"),
            |url| url.as_str().trim_end_matches('/').to_owned(),
        );
        let metrics_listener = match settings.http.metrics_listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| StartupError::MetricsListener { addr, source })?,
            ),
            None => None,
        };
        // The route table and its document are built once, here, and the document kept only as
        // the bytes `/openapi.json` serves: built, it takes megabytes of small allocations that
        // an idle server would keep.
        let (documented_routes, document) = documented(settings.dev, settings.http.contract);
        let rate_limits = RateLimits::new(&settings.http.rate_limits, &document)?;
        let published = openapi::published(document);
        let test_control = settings
            .dev
            .then(|| Arc::new(crate::test_control::TestControl::new(&published)));
        let openapi_json = openapi::serialised(&published);
        drop(published);
        // Opening the core is most of the work, and most of the future: boxed, the future of a
        // server's build stays small wherever it is awaited.
        let app = Box::pin(Qualify::open(settings, clock, public_base)).await?;
        let state = AppState::new(Shared {
            app,
            rate_limits,
            test_control,
            openapi_json,
            stopping: std::sync::atomic::AtomicBool::new(false),
        });
        let routes = service::<hyper::body::Incoming>(state.clone(), documented_routes);
        Ok(Self {
            listener,
            state,
            local_addr,
            tls,
            metrics_listener,
            routes,
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
    /// `job_workers` 0, draining them deterministically instead of waiting for workers).
    pub fn job_runner(&self) -> JobRunner {
        self.state
            .app
            .job_runner(format!("{}-runner", self.local_addr.port()))
    }

    /// The URL clients use, and the base of the token issuer.
    pub fn public_url(&self) -> &str {
        self.state.public_base()
    }

    /// Serves until `shutdown` completes, then stops accepting connections, lets in-flight
    /// requests finish, stops the job workers after their current jobs, and closes the
    /// database.
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
            routes,
        } = self;
        let chores = Chores::start(&state);
        // Names this node's workers in job leases, so an operator can tell whose lease it is.
        let node = format!(
            "{}-{}",
            local_addr.port(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let workers = state.app.start_workers(&node);
        let metrics_server =
            metrics_listener.map(|listener| tokio::spawn(scrape::serve(listener, state.clone())));

        tracing::info!(%local_addr, public_url = state.public_base(), dev = state.settings().dev, metrics_addr = metrics_addr.map(tracing::field::display), database = %state.settings().store.database, "serving");
        log_what_is_configured(state.settings());
        // Asked to stop, the node says so on /readyz and goes on serving for the shutdown
        // delay (load balancers see it and stop sending requests), then stops accepting.
        let stopping = state.clone();
        let shutdown = async move {
            shutdown.await;
            stopping
                .stopping
                .store(true, std::sync::atomic::Ordering::Relaxed);
            let delay = stopping.settings().http.shutdown_delay;
            if !delay.is_zero() {
                tracing::info!(delay = %humantime::format_duration(delay), "stopping: not ready, serving until the shutdown delay ends");
                tokio::time::sleep(delay).await;
            }
        };
        let served = connections::serve(
            listener,
            tls.map(tokio_rustls::TlsAcceptor::from),
            routes,
            connections::limits(&state.settings().http),
            shutdown,
        )
        .await;
        chores.stop();
        if let Some(metrics_server) = metrics_server {
            metrics_server.abort();
        }
        // In-flight jobs finish; jobs not yet claimed wait for the next node to run.
        workers.stop().await;
        state.app.store().close().await;
        tracing::info!("stopped");
        served
    }
}

/// Says at start-up what a person starting the server needs to know before the first request:
/// the well-known identities a development server accepts (their secrets are in the README, not
/// in logs), and where events go (receivers' URLs without their query, which may hold a key).
fn log_what_is_configured(settings: &qualify_app::Settings) {
    if settings.dev {
        for identity in qualify_types::dev::ALL {
            tracing::info!(
                dev_identity = identity.name,
                tenant = identity.tenant_id,
                client_id = identity.client_id,
                username = identity.username,
                "development identity (its secrets: README, \"the well-known identities\")"
            );
        }
    }
    let webhooks: Vec<String> = settings
        .webhooks
        .webhooks()
        .map(|webhook| qualify_app::events::shown_url(webhook.url.as_str()))
        .collect();
    if webhooks.is_empty() {
        tracing::info!(
            "no operator webhooks configured; partners' own receivers still get their events"
        );
    } else {
        tracing::info!(
            webhooks = webhooks.join(" "),
            "operator webhooks: every event is delivered to each"
        );
    }
}

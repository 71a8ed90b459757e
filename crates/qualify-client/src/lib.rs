//! A typed async client for Qualify: Partner Center's customer qualification API, the built-in
//! token endpoint, and the reviewer API.
//!
//! It behaves as a good Partner Center client should: it acquires and caches tokens and renews
//! them before they expire; it sends `MS-RequestId` and `MS-CorrelationId`; it retries
//! connection failures and 5xx answers with exponential backoff and jitter, and 429 answers after
//! the server's `Retry-After` (where Microsoft's .NET SDK gives up), reusing the request's
//! `MS-RequestId` so a retried write is idempotent; it never retries other 4xx answers.
//!
//! ```no_run
//! use qualify_client::{Client, Credentials};
//! use qualify_types::{EducationSegment, Qualification, QualificationSubmission, VettingStatus};
//!
//! # async fn run() -> Result<(), qualify_client::ClientError> {
//! let client = Client::builder("http://127.0.0.1:8080")?
//!     .credentials(Credentials::dev_user(qualify_types::dev::PARTNER_A))
//!     .build()?;
//! let customer = client.create_customer("school.onmicrosoft.com", "Contoso School").await?;
//! let mut submission = QualificationSubmission::new(Qualification::Education);
//! submission.education_segment = Some(EducationSegment::K12);
//! client.submit_qualification(customer.id, &submission).await?;
//!
//! // Later: wait until a reviewer decides.
//! let outcome = client
//!     .wait_for_vetting(customer.id, Qualification::Education, Default::default())
//!     .await?;
//! if outcome.vetting_status == VettingStatus::Denied {
//!     println!("denied: {}", outcome.vetting_reason.unwrap_or_default());
//! }
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

use tokio::sync::Mutex;
use url::Url;

mod auth;
mod endpoints;
mod error;
mod retry;
mod test_control;
mod transport;
mod wait;

pub use auth::{Credentials, TokenStore};
pub use endpoints::ReviewFilter;
pub use error::ClientError;
pub use retry::RetryPolicy;
pub use wait::WaitOptions;

/// A client of one Qualify (or Partner Center) server. Share one behind an `Arc` rather than
/// making many: it caches its token and its connections.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    credentials: Option<Credentials>,
    token: Mutex<Option<auth::CachedToken>>,
    retry: RetryPolicy,
    correlation_id: Option<String>,
    /// Where tokens outlive the client, with their key there.
    store: Option<(std::sync::Arc<dyn TokenStore>, String)>,
}

/// Configures a [`Client`].
#[derive(Debug)]
pub struct ClientBuilder {
    base: Url,
    credentials: Option<Credentials>,
    retry: RetryPolicy,
    timeout: Duration,
    correlation_id: Option<String>,
    store: Option<std::sync::Arc<dyn TokenStore>>,
}

impl Client {
    /// Starts configuring a client of the server at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn builder(base: &str) -> Result<ClientBuilder, ClientError> {
        let mut base = Url::parse(base)
            .map_err(|e| ClientError::Config(format!("'{base}' is not a URL: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(ClientError::Config(format!(
                "'{base}' is not an http(s) URL"
            )));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(ClientBuilder {
            base,
            credentials: None,
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(30),
            correlation_id: None,
            store: None,
        })
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    fn url(&self, path: &str) -> Url {
        // Paths are absolute API paths; the base may carry a prefix (a reverse proxy's).
        self.base
            .join(path.trim_start_matches('/'))
            .unwrap_or_else(|_| self.base.clone())
    }
}

impl ClientBuilder {
    /// Who the client is.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// How it retries (default: 4 attempts, backoff from 200 ms up to 10 s).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The timeout of each HTTP request (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sends this `MS-CorrelationId` on every call (default: a new one per call).
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.correlation_id = Some(id.into());
        self
    }

    /// Keeps tokens in `store` too, shared with later clients of the same server and
    /// credentials (a command line's next run): a token is asked for only when the store has
    /// none still good.
    pub fn token_store(mut self, store: std::sync::Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The client.
    pub fn build(self) -> Result<Client, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("qualify-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Config(format!("building the HTTP client: {e}")))?;
        let store = match (self.store, &self.credentials) {
            (Some(store), Some(credentials)) => {
                Some((store, auth::store_key(&self.base, credentials)))
            }
            _ => None,
        };
        Ok(Client {
            http,
            base: self.base,
            credentials: self.credentials,
            token: Mutex::new(None),
            retry: self.retry,
            correlation_id: self.correlation_id,
            store,
        })
    }
}

//! What delivering events takes, shared by every delivery job of a node: the operator's
//! webhooks, the HTTP clients (one guarded against internal addresses for partners' receivers),
//! the key that signs partners' events, and the log of attempts.

use std::sync::Arc;
use std::time::Duration;

use qualify_store::{DeliveryAttempt, Store, Tx};
use tokio::sync::OnceCell;

use super::guard::PublicAddressesOnly;
use super::signer::{SignerError, WebhookSigner};
use crate::clock::Clock;
use crate::identity::KeyEncryptionKey;
use crate::settings::Webhook;

/// What delivery jobs work with.
#[derive(Debug)]
pub struct Deliveries {
    pub(super) store: Store,
    pub(super) clock: Clock,
    /// The operator's webhooks, as configured now.
    pub(super) webhooks: Vec<Webhook>,
    /// Whether partners' receivers may be internal addresses.
    pub(super) allow_private: bool,
    /// The URL clients reach the service at: where receivers fetch the signing certificate.
    pub(super) public_base: String,
    /// How long one attempt may take: within the job's lease.
    timeout: Duration,
    /// Seals the signing key in the database, when the operator gave one.
    kek: Option<Arc<KeyEncryptionKey>>,
    /// Built when first needed (most servers never deliver).
    http: OnceCell<reqwest::Client>,
    partner_http: OnceCell<reqwest::Client>,
    signer: OnceCell<WebhookSigner>,
}

impl Deliveries {
    /// Deliveries of a node on `store`, to `webhooks` and partners' receivers (internal ones
    /// only when `allow_private`), each attempt within `lease`, as the service reached at
    /// `public_base`.
    pub fn new(
        store: Store,
        clock: Clock,
        webhooks: Vec<Webhook>,
        allow_private: bool,
        public_base: String,
        lease: Duration,
        kek: Option<Arc<KeyEncryptionKey>>,
    ) -> Self {
        Self {
            store,
            clock,
            webhooks,
            allow_private,
            public_base,
            timeout: lease.min(Duration::from_secs(30)) / 2,
            kek,
            http: OnceCell::new(),
            partner_http: OnceCell::new(),
            signer: OnceCell::new(),
        }
    }

    /// What signs partners' events, loaded or made on first use (making it costs an RSA key).
    pub async fn signer(&self) -> Result<&WebhookSigner, SignerError> {
        self.signer
            .get_or_try_init(|| WebhookSigner::load_or_create(&self.store, self.kek.as_deref()))
            .await
    }

    /// The client for the operator's webhooks: a timeout within the lease, no redirects.
    pub(super) async fn http(&self) -> Result<&reqwest::Client, String> {
        self.http
            .get_or_try_init(|| async { self.client_builder().build() })
            .await
            .map_err(|error| format!("building the webhook client failed: {error}"))
    }

    /// The client for partners' receivers: as [`Deliveries::http`], and resolving names to
    /// public addresses only, unless the operator allows private ones.
    pub(super) async fn partner_http(&self) -> Result<&reqwest::Client, String> {
        self.partner_http
            .get_or_try_init(|| async {
                let builder = self.client_builder();
                if self.allow_private {
                    builder.build()
                } else {
                    builder.dns_resolver(Arc::new(PublicAddressesOnly)).build()
                }
            })
            .await
            .map_err(|error| format!("building the webhook client failed: {error}"))
    }

    /// What both clients share: a timeout within the lease, no redirects followed, no proxy
    /// from the environment (a proxy would resolve names the guard must see).
    fn client_builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("qualify-webhooks/", env!("CARGO_PKG_VERSION")))
    }

    /// Logs an attempt; a failure to log does not fail the delivery.
    pub(super) async fn log(&self, attempt: &DeliveryAttempt) {
        if let Err(error) = self
            .store
            .transaction(async |tx: &mut Tx| tx.record_delivery_attempt(attempt).await)
            .await
        {
            tracing::warn!(%error, "logging a delivery attempt failed");
        }
    }
}

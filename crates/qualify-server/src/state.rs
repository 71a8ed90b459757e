//! What every handler can reach: the store, the settings, the keys and the token verifier.

use std::sync::Arc;

use qualify_store::Store;

use qualify_app::identity::{Identity, KeyEncryptionKey};

use crate::Settings;

/// The shared state of one server: one `Arc`, since axum clones the state several times per
/// request (a clone of each field would be an atomic increment, and a decrement, apiece).
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

/// What the state holds.
#[derive(Debug)]
pub struct Shared {
    pub(crate) store: Store,
    /// Where every date the service writes comes from.
    pub(crate) clock: crate::Clock,
    pub(crate) settings: Arc<Settings>,
    /// The token issuer and verifier.
    pub(crate) identity: Identity,
    /// What the vetting use cases work with.
    pub(crate) vetting: crate::usecases::Vetting,
    /// The configured rate limits and their counts.
    pub(crate) rate_limits: crate::http::throttle::RateLimits,
    /// The test control plane's faults and journal; only in development mode.
    pub(crate) test_control: Option<Arc<crate::test_control::TestControl>>,
    /// Woken when this node enqueues jobs, so its idle workers start at once.
    pub(crate) jobs_ready: Arc<tokio::sync::Notify>,
    /// The operator's key-encryption key, sealing the keys stored in the database.
    pub(crate) kek: Option<Arc<KeyEncryptionKey>>,
    /// Set once the node has been asked to stop: `/readyz` then says so while it drains.
    pub(crate) stopping: std::sync::atomic::AtomicBool,
    /// What the node counts for Prometheus.
    pub(crate) metrics: crate::metrics::Metrics,
    /// What signs partners' events: loaded (or made) when first needed.
    pub(crate) webhook_signer: tokio::sync::OnceCell<crate::events::signer::WebhookSigner>,
}

impl AppState {
    pub(crate) fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }

    /// What signs partners' events, loaded or made on first use (most servers never need it,
    /// and making it costs an RSA key).
    pub(crate) async fn webhook_signer(
        &self,
    ) -> Result<&crate::events::signer::WebhookSigner, crate::events::signer::SignerError> {
        self.webhook_signer
            .get_or_try_init(|| async {
                crate::events::signer::WebhookSigner::load_or_create(
                    &self.store,
                    self.kek.as_deref(),
                )
                .await
            })
            .await
    }

    /// The issuer of the built-in token service for `tenant`: `{public URL}/{tenant}/v2.0`.
    pub(crate) fn issuer_for(&self, tenant: &str) -> String {
        self.identity.issuer_for(tenant)
    }

    /// The public URL, without a trailing slash.
    pub(crate) fn public_base(&self) -> &str {
        self.identity.public_base()
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

//! What every handler can reach: the application core, and what the HTTP side keeps of its own
//! (the rate limits' counts, the test control plane's faults and journal, whether the node is
//! stopping).

use std::sync::Arc;

use qualify_app::{Qualify, Settings};

/// The shared state of one server: one `Arc`, since axum clones the state several times per
/// request (a clone of each field would be an atomic increment, and a decrement, apiece).
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

/// What the state holds.
#[derive(Debug)]
pub struct Shared {
    /// The application core: every write goes through it.
    pub(crate) app: Qualify,
    /// The configured rate limits and their counts.
    pub(crate) rate_limits: crate::rate_limits::RateLimits,
    /// The test control plane's faults and journal; only in development mode.
    pub(crate) test_control: Option<Arc<crate::test_control::TestControl>>,
    /// The OpenAPI document `/openapi.json` answers, serialised once at start.
    pub(crate) openapi_json: axum::body::Bytes,
    /// Set once the node has been asked to stop: `/readyz` then says so while it drains.
    pub(crate) stopping: std::sync::atomic::AtomicBool,
}

impl AppState {
    pub(crate) fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }

    /// The settings the server was started with.
    pub(crate) fn settings(&self) -> &Settings {
        self.app.settings()
    }

    /// The issuer of the built-in token service for `tenant`: `{public URL}/{tenant}/v2.0`.
    pub(crate) fn issuer_for(&self, tenant: &str) -> String {
        self.app.identity().issuer_for(tenant)
    }

    /// The public URL, without a trailing slash.
    pub(crate) fn public_base(&self) -> &str {
        self.app.identity().public_base()
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

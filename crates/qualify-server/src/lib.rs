//! Qualify's HTTP adapter, as a library: the Partner Center qualification API, the
//! Entra-compatible token endpoint, the reviewer API and console, the OpenAPI document, metrics
//! and the test control plane's HTTP side, over the application core (`qualify-app`).
//!
//! [`App::build`] puts a server together on a listener the caller bound;
//! [`App::run_until_stopped`] serves until the caller's shutdown future completes. The route
//! table is `router`; extractors and middleware are in `http/`; handlers, named after their URL
//! segment, in `api/`; the one place that knows statuses and error bodies is `error`.

mod api;
mod chores;
mod console;
mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod http;
mod metrics;
mod openapi;
mod rate_limits;
mod router;
mod startup;
mod state;
mod test_control;
pub mod tls;
mod wire;

pub use error::ApiError;
pub use http::RequestIds;
pub use qualify_app::clock::{self, Clock, ManualClock, wall_now};
pub use qualify_app::jobs::{JobOutcome, Lane, Ran};
pub use qualify_app::settings::{
    self, ContractProfile, InvalidSettings, LogFormat, RateLimit, RateLimitKey, Settings,
    TlsSettings, TrustedIssuer, Webhook,
};
pub use qualify_app::vetting_rules;
pub use startup::{App, JobRunner, StartupError};
pub use state::AppState;

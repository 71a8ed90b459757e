//! HTTP plumbing: extractors that turn requests into typed values, the middleware every request
//! passes through, and the HTTP side of idempotency. The route table is `crate::router`.

pub(crate) mod auth;
pub(crate) mod caller;
pub(crate) mod client_address;
pub(crate) mod connections;
pub(crate) mod docs_assets;
mod extract;
pub(crate) mod idempotency;
pub(crate) mod middleware;
pub(crate) mod pagination;
pub(crate) mod request_ids;
pub(crate) mod test_control;
pub(crate) mod throttle;
pub(crate) mod trace;

pub(crate) use extract::{IdPath, LenientJson, PathText, QueryParams};
pub use request_ids::RequestIds;

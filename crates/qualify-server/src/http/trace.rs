//! One span per request, named by its route template, carrying the request and correlation
//! ids, the partner tenant (recorded by authentication), the status and the latency. Headers and
//! bodies are never recorded, so tokens and secrets never reach the log.

use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::response::Response;
use tracing::{Span, field};

use super::request_ids::RequestIds;
use crate::error::ServerFault;

/// Creates the request's span.
pub(crate) fn make_span(request: &Request) -> Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("<unmatched>", MatchedPath::as_str);
    let ids = request.extensions().get::<RequestIds>();
    tracing::info_span!(
        "request",
        method = %request.method(),
        route,
        request_id = ids.map(|ids| ids.request_id.as_str()),
        correlation_id = ids.map(|ids| ids.correlation_id.as_str()),
        tenant = field::Empty,
        status = field::Empty,
        latency_ms = field::Empty,
    )
}

/// Records the outcome, logging a server fault's cause with its source chain.
pub(crate) fn on_response<B>(response: &Response<B>, latency: Duration, span: &Span) {
    let status = response.status().as_u16();
    span.record("status", status);
    span.record("latency_ms", latency.as_secs_f64() * 1000.0);
    match response.extensions().get::<ServerFault>() {
        Some(ServerFault(fault)) => {
            let mut chain = String::new();
            let mut source = std::error::Error::source(fault.as_ref());
            while let Some(cause) = source {
                chain.push_str(": ");
                chain.push_str(&cause.to_string());
                source = cause.source();
            }
            tracing::error!(error = %fault, cause = %chain, "request failed");
        }
        None if status >= 500 => tracing::error!("request failed"),
        None => tracing::info!("request finished"),
    }
}

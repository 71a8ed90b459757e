//! `GET /metrics` on the listener of `--metrics-listen`, apart from the API so it can stay off
//! the public network: the counts are read from the database, then every metric is encoded in
//! Prometheus's text format (or OpenMetrics, when the scraper asks for it).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::{prometheus_text, text};
use tokio::net::TcpListener;

use crate::http::connections::{self, ConnectionLimits};
use crate::state::AppState;

use qualify_app::metrics::COUNTS_TIMEOUT;

/// OpenMetrics' media type, as Prometheus asks for it.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Scrapers at once: Prometheus, an agent, someone with curl.
const SCRAPERS: usize = 16;

/// Serves `/metrics` on `listener` until the task is dropped.
pub(crate) async fn serve(listener: TcpListener, state: AppState) {
    let routes = Router::new()
        .route("/metrics", get(metrics))
        .fallback(crate::http::middleware::not_found)
        .with_state(state.clone());
    let limits = ConnectionLimits {
        header_read_timeout: state.settings().http.header_read_timeout,
        max_connections: SCRAPERS,
    };
    if let Err(error) =
        connections::serve(listener, None, routes, limits, std::future::pending()).await
    {
        tracing::error!(%error, "the metrics listener failed");
    }
}

/// `GET /metrics`.
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    // One scrape at a time reads the counts and encodes them: another would clear the counted
    // gauges while this one writes them out. A scrape that can't have its turn in time is
    // answered 503, so queued scrapes don't hold the listener's few connections.
    let Ok(_one_at_a_time) =
        tokio::time::timeout(COUNTS_TIMEOUT, state.app.metrics().counted.reading.lock()).await
    else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "another scrape is still reading the counts\n",
        )
            .into_response();
    };
    state
        .app
        .metrics()
        .read_counts(state.app.store(), state.app.clock().now(), |kind| {
            state.app.job_kind_label(kind)
        })
        .await;
    let registry = state.app.metrics().registry();
    let mut body = String::with_capacity(32 * 1024);
    let (encoded, content_type) = if wants_openmetrics(&headers) {
        (text::encode(&mut body, registry), OPENMETRICS)
    } else {
        (
            prometheus_text::encode(&mut body, registry),
            prometheus_text::CONTENT_TYPE,
        )
    };
    if let Err(error) = encoded {
        tracing::error!(%error, "encoding the metrics failed");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}

/// Whether the scraper prefers OpenMetrics (Prometheus asks for it first by default).
fn wants_openmetrics(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|accept| accept.contains("application/openmetrics-text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openmetrics_is_served_to_those_who_ask_for_it() {
        let mut headers = HeaderMap::new();
        assert!(!wants_openmetrics(&headers));
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static(
                "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
            ),
        );
        assert!(wants_openmetrics(&headers));
    }
}

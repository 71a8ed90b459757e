//! `GET /metrics` on the listener of `--metrics-listen`, apart from the API so it can stay off
//! the public network: the counts are read from the database, then every metric is encoded in
//! Prometheus's text format (or OpenMetrics, when the scraper asks for it).

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::{prometheus_text, text};
use qualify_store::JOB_COUNT_STATES;
use qualify_types::VettingStatus;
use tokio::net::TcpListener;

use super::{JobLabels, StateLabels};
use crate::AppState;
use crate::http::connections::{self, ConnectionLimits};

/// How long a scrape waits for the database's counts before answering without them.
const COUNTS_TIMEOUT: Duration = Duration::from_secs(5);

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
        header_read_timeout: state.settings.http.header_read_timeout,
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
        tokio::time::timeout(COUNTS_TIMEOUT, state.metrics.counted.reading.lock()).await
    else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "another scrape is still reading the counts\n",
        )
            .into_response();
    };
    read_counts(&state).await;
    let registry = state.metrics.registry();
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

/// Sets the gauges read from the database. A database that does not answer in time leaves them
/// out (rather than stale) and says so in `qualify_database_up`.
async fn read_counts(state: &AppState) {
    let counted = &state.metrics.counted;
    let store = &state.store;
    let now = state.clock.now();
    let read = tokio::time::timeout(COUNTS_TIMEOUT, async {
        tokio::try_join!(
            store.vetting_request_counts(),
            store.oldest_in_review(),
            store.job_counts(now),
        )
    })
    .await;
    // Until the counts are read, nothing is said of them: a failed read leaves no stale value.
    counted.vetting_requests.clear();
    counted.jobs.clear();
    counted.oldest_in_review_seconds.set(f64::NAN);
    let (states, oldest, jobs) = match read {
        Ok(Ok(counts)) => counts,
        Ok(Err(error)) => {
            tracing::warn!(%error, "metrics: reading the counts failed");
            counted.database_up.set(0);
            return;
        }
        Err(_) => {
            tracing::warn!(timeout = ?COUNTS_TIMEOUT, "metrics: the database did not give the counts in time");
            counted.database_up.set(0);
            return;
        }
    };
    counted.database_up.set(1);
    // Every state and kind has a series, zero or not: a rate over a series that appears
    // only once it is non-zero misses its first increase.
    for status in [
        VettingStatus::InReview,
        VettingStatus::Approved,
        VettingStatus::Denied,
    ] {
        let count = states
            .iter()
            .filter(|(stored, _)| stored == status.as_str())
            .map(|(_, count)| *count)
            .sum::<u64>();
        counted
            .vetting_requests
            .get_or_create(&StateLabels {
                state: status.as_str(),
            })
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }
    let waited_ms = oldest.map_or(0, |created| {
        (now.unix_millis() - created.unix_millis()).max(0)
    });
    counted
        .oldest_in_review_seconds
        .set(waited_ms as f64 / 1000.0);
    for kind in crate::jobs::KINDS {
        for job_state in JOB_COUNT_STATES {
            counted
                .jobs
                .get_or_create(&JobLabels {
                    kind,
                    state: job_state,
                })
                .set(0);
        }
    }
    for job in jobs {
        counted
            .jobs
            .get_or_create(&JobLabels {
                kind: crate::jobs::kind_label(&job.kind),
                state: job.state,
            })
            .inc_by(i64::try_from(job.count).unwrap_or(i64::MAX));
    }
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

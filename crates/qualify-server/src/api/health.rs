//! `GET /healthz`: ready when the database answers.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use crate::AppState;
use crate::wire::Wire;

/// How long the database gets to answer before the server reports itself unavailable.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Health {
    status: &'static str,
}

/// 200 `{"status":"ok"}`, or 503 `{"status":"unavailable"}` when the database does not answer.
#[utoipa::path(get, path = "/healthz", tag = "operations", operation_id = "health",
    responses(
        (status = 200, description = "Ready: the database answers", body = Health),
        (status = 503, description = "Not ready: the database does not answer", body = Health)))]
pub(crate) async fn check(State(state): State<AppState>) -> Wire<Health> {
    match tokio::time::timeout(PING_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => Wire::ok(Health { status: "ok" }),
        Ok(Err(error)) => {
            tracing::warn!(error = %error, "health check: database unavailable");
            Wire::with_status(
                StatusCode::SERVICE_UNAVAILABLE,
                Health {
                    status: "unavailable",
                },
            )
        }
        Err(_) => {
            tracing::warn!("health check: database did not answer in time");
            Wire::with_status(
                StatusCode::SERVICE_UNAVAILABLE,
                Health {
                    status: "unavailable",
                },
            )
        }
    }
}

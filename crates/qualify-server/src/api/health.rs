//! Health for load balancers and orchestrators: `GET /livez` (the process answers), `GET /readyz`
//! (it can serve: the database answers, has this build's migrations, and the node is not
//! stopping), and `GET /healthz` (the database answers; the original check, kept as it was).

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use crate::state::AppState;
use crate::wire::Wire;

/// How long the database gets to answer before the server reports itself unavailable.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Health {
    /// `ok`; or why not: `unavailable` (the database does not answer), `migrating` (the
    /// database lacks this build's migrations), `stopping` (the node is shutting down).
    status: &'static str,
}

fn answer(status: &'static str) -> Wire<Health> {
    if status == "ok" {
        Wire::ok(Health { status })
    } else {
        Wire::with_status(StatusCode::SERVICE_UNAVAILABLE, Health { status })
    }
}

/// Whether the database answers within [`PING_TIMEOUT`]; says why not in the log.
async fn database_answers(state: &AppState) -> bool {
    match tokio::time::timeout(PING_TIMEOUT, state.app.store().ping()).await {
        Ok(Ok(())) => true,
        Ok(Err(error)) => {
            tracing::warn!(error = %error, "health check: database unavailable");
            false
        }
        Err(_) => {
            tracing::warn!("health check: database did not answer in time");
            false
        }
    }
}

/// Whether the server and its database answer.
///
/// 200 `{"status":"ok"}`, or 503 `{"status":"unavailable"}` when the database does not answer.
#[utoipa::path(get, path = "/healthz", tag = "operations", operation_id = "health",
    responses(
        (status = 200, description = "The database answers", body = Health),
        (status = 503, description = "The database does not answer", body = Health)))]
pub(crate) async fn check(State(state): State<AppState>) -> Wire<Health> {
    answer(if database_answers(&state).await {
        "ok"
    } else {
        "unavailable"
    })
}

/// Whether the process answers at all (liveness).
///
/// 200 `{"status":"ok"}` while the process answers requests at all: what a liveness probe
/// restarts it on. Touches nothing else, so a slow database never gets a live node restarted.
#[utoipa::path(get, path = "/livez", tag = "operations", operation_id = "live",
    responses((status = 200, description = "The process answers", body = Health)))]
pub(crate) async fn live() -> Wire<Health> {
    answer("ok")
}

/// Whether this node can serve (readiness).
///
/// 200 `{"status":"ok"}` when this node can serve; 503 with why not: `stopping` once it has been
/// asked to stop (so a load balancer stops sending it requests while it drains), `unavailable`
/// when the database does not answer, `migrating` when the database lacks this build's
/// migrations.
#[utoipa::path(get, path = "/readyz", tag = "operations", operation_id = "ready",
    responses(
        (status = 200, description = "Ready to serve", body = Health),
        (status = 503, description = "Not ready: stopping, unavailable or migrating", body = Health)))]
pub(crate) async fn ready(State(state): State<AppState>) -> Wire<Health> {
    if state.stopping.load(Ordering::Relaxed) {
        return answer("stopping");
    }
    // One statement answers both questions: the database answers, and with what it has.
    match tokio::time::timeout(PING_TIMEOUT, state.app.store().migrations_applied()).await {
        Ok(Ok(true)) => answer("ok"),
        Ok(Ok(false)) => answer("migrating"),
        Ok(Err(error)) => {
            tracing::warn!(error = %error, "readiness: database unavailable");
            answer("unavailable")
        }
        Err(_) => {
            tracing::warn!("readiness: database did not answer in time");
            answer("unavailable")
        }
    }
}

//! `GET /test/v1/journal`: what the calling partner's code sent, newest first.

use axum::extract::State;
use qualify_types::Journal;

use crate::error::ApiError;
use crate::http::auth::Partner;
use crate::state::AppState;
use crate::wire::Wire;

/// Read back the requests the partner sent.
#[utoipa::path(get, path = "/test/v1/journal", tag = "test-control", operation_id = "getJournal",
    responses((status = 200, description = "The calling partner's last requests to this node (at most 1,000), newest first; never a token or secret", body = Journal)))]
pub(crate) async fn show(
    State(state): State<AppState>,
    Partner(caller): Partner,
) -> Result<Wire<Journal>, ApiError> {
    let items = state
        .test_control
        .as_deref()
        .map(|control| control.journal.entries(caller.tenant_id))
        .unwrap_or_default();
    Ok(Wire::ok(Journal { items }))
}

//! `DELETE /test/v1/data`: the calling partner starts over, as a test's teardown wants.

use axum::extract::State;
use axum::http::StatusCode;
use qualify_app::usecases::Actor;

use crate::error::ApiError;
use crate::http::auth::Partner;
use crate::state::AppState;

/// Delete the partner's test data.
///
/// The partner's customers, vetting requests (and their pending timed
/// decisions), rules, faults, journal and clock are gone, its GCC codes have all their creates
/// again; its credentials stay, and nothing of any other partner changes.
#[utoipa::path(delete, path = "/test/v1/data", tag = "test-control", operation_id = "resetTestData",
    responses((status = 204, description = "The partner's data is gone; its credentials work as before")))]
pub(crate) async fn reset(
    State(state): State<AppState>,
    Partner(caller): Partner,
) -> Result<StatusCode, ApiError> {
    let partner = caller.tenant_id;
    state
        .app
        .reset_partner_data(&Actor::caller(&caller), partner)
        .await?;
    // What the HTTP side keeps of the partner's tests goes with it.
    if let Some(control) = state.test_control.as_deref() {
        control.faults.clear(partner);
        control.journal.clear(partner);
        control.conformance.clear(partner);
    }
    Ok(StatusCode::NO_CONTENT)
}

//! `/test/v1/faults`: faults the calling partner's test injects into its own requests.

use axum::extract::State;
use axum::http::StatusCode;
use qualify_types::TestFaults;

use super::control;
use crate::error::ApiError;
use crate::http::LenientJson;
use crate::http::auth::Partner;
use crate::state::AppState;
use crate::test_control::faults::FaultsRefused;
use crate::wire::Wire;

/// Get the partner's injected faults.
///
/// The partner's faults, with what remains of each one's `times`.
#[utoipa::path(get, path = "/test/v1/faults", tag = "test-control", operation_id = "getFaults",
    responses((status = 200, description = "The calling partner's faults on this node, in order", body = TestFaults)))]
pub(crate) async fn show(
    State(state): State<AppState>,
    Partner(caller): Partner,
) -> Result<Wire<TestFaults>, ApiError> {
    let faults = control(&state)?.faults.list(caller.tenant_id);
    Ok(Wire::ok(TestFaults { faults }))
}

/// Inject faults into the partner's calls.
///
/// Replaces the partner's faults.
#[utoipa::path(put, path = "/test/v1/faults", tag = "test-control", operation_id = "setFaults",
    request_body = TestFaults,
    responses(
        (status = 200, description = "The partner's faults, as set", body = TestFaults),
        (status = 400, description = "A fault that can't be used, and why, such as a bound passed (3000)", body = qualify_types::ErrorBody)))]
pub(crate) async fn set(
    State(state): State<AppState>,
    Partner(caller): Partner,
    LenientJson(body): LenientJson<TestFaults>,
) -> Result<Wire<TestFaults>, ApiError> {
    let control = control(&state)?;
    control
        .faults
        .set(caller.tenant_id, body.faults)
        // Each refusal is the request's to change (fewer or shorter faults, or removing others'):
        // a 400 that says which, as the limits table promises; never a 5xx logged as the
        // server's failure.
        .map_err(|refused: FaultsRefused| ApiError::InvalidProperty(refused.to_string()))?;
    Ok(Wire::ok(TestFaults {
        faults: control.faults.list(caller.tenant_id),
    }))
}

/// Remove the partner's injected faults.
///
/// No more faults for the partner.
#[utoipa::path(delete, path = "/test/v1/faults", tag = "test-control", operation_id = "deleteFaults",
    responses((status = 204, description = "The partner has no faults")))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Partner(caller): Partner,
) -> Result<StatusCode, ApiError> {
    control(&state)?.faults.clear(caller.tenant_id);
    Ok(StatusCode::NO_CONTENT)
}

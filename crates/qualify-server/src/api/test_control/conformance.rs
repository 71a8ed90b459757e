//! `/test/v1/conformance`: what the calling partner's integration did that Partner Center would
//! punish, and how its requests are checked (`strict`, the polling interval).

use axum::extract::State;
use qualify_types::{ConformanceReport, ConformanceSettings, MAX_POLLS_PER_MINUTE};

use super::control;
use crate::error::ApiError;
use crate::http::LenientJson;
use crate::http::auth::Partner;
use crate::state::AppState;
use crate::wire::Wire;

/// Read the partner's conformance findings.
///
/// What the partner's requests to this node (as its journal holds them) and its tokens show
/// that Partner Center would punish, each finding with its evidence and Microsoft's guidance.
#[utoipa::path(get, path = "/test/v1/conformance", tag = "test-control", operation_id = "getConformance",
    responses((status = 200, description = "The calling partner's findings, the most recently seen first, and how many of each severity", body = ConformanceReport)))]
pub(crate) async fn show(
    State(state): State<AppState>,
    Partner(caller): Partner,
) -> Result<Wire<ConformanceReport>, ApiError> {
    let control = control(&state)?;
    Ok(Wire::ok(
        control
            .conformance
            .report(&control.journal, caller.tenant_id),
    ))
}

/// Set how the partner's requests are checked.
///
/// With `strict`, a request Partner Center would refuse (sent before a 429's `Retry-After` has
/// passed, or to a retired endpoint) gets Partner Center's answer instead of passing.
#[utoipa::path(put, path = "/test/v1/conformance/settings", tag = "test-control", operation_id = "setConformanceSettings",
    request_body = ConformanceSettings,
    responses(
        (status = 200, description = "The partner's settings, as set", body = ConformanceSettings),
        (status = 400, description = "Not settings (800002), or pollsPerMinute out of range (3000)", body = qualify_types::ErrorBody)))]
pub(crate) async fn set(
    State(state): State<AppState>,
    Partner(caller): Partner,
    LenientJson(settings): LenientJson<ConformanceSettings>,
) -> Result<Wire<ConformanceSettings>, ApiError> {
    let control = control(&state)?;
    if let Some(polls) = settings.polls_per_minute
        && !(1..=MAX_POLLS_PER_MINUTE).contains(&polls)
    {
        return Err(ApiError::InvalidProperty(format!(
            "'pollsPerMinute' must be from 1 to {MAX_POLLS_PER_MINUTE}, not {polls}"
        )));
    }
    control.conformance.set(caller.tenant_id, settings);
    Ok(Wire::ok(control.conformance.settings(caller.tenant_id)))
}

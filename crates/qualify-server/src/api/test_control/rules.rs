//! `/test/v1/rules`: the calling partner's own vetting rules, tried before the server's file
//! (the file's format in JSON, keys in camelCase; `times` makes a rule decide that many
//! submissions, then go).

use axum::extract::State;
use axum::http::StatusCode;
use qualify_app::usecases::Actor;
use qualify_types::{TestRules, VettingRule};

use crate::error::ApiError;
use crate::http::LenientJson;
use crate::http::auth::Partner;
use crate::state::AppState;
use crate::wire::Wire;

/// Get the partner's vetting rules.
///
/// The partner's rules, with what remains of each one's `times`.
#[utoipa::path(get, path = "/test/v1/rules", tag = "test-control", operation_id = "getTestRules",
    responses((status = 200, description = "The calling partner's own rules, in order", body = TestRules)))]
pub(crate) async fn show(
    State(state): State<AppState>,
    Partner(caller): Partner,
) -> Result<Wire<TestRules>, ApiError> {
    let stored = state.app.store().partner_rules(caller.tenant_id).await?;
    let rules: Vec<VettingRule> = match stored {
        Some(stored) => serde_json::from_str(&stored.rules).map_err(ApiError::internal)?,
        None => Vec::new(),
    };
    Ok(Wire::ok(TestRules { rules }))
}

/// Replace the partner's vetting rules.
///
/// Replaces the partner's rules.
#[utoipa::path(put, path = "/test/v1/rules", tag = "test-control", operation_id = "setTestRules",
    request_body = TestRules,
    responses(
        (status = 200, description = "The partner's rules, as set", body = TestRules),
        (status = 400, description = "A rule that can't be used, and why (3000)", body = qualify_types::ErrorBody)))]
pub(crate) async fn set(
    State(state): State<AppState>,
    Partner(caller): Partner,
    LenientJson(body): LenientJson<TestRules>,
) -> Result<Wire<TestRules>, ApiError> {
    let rules = state
        .app
        .set_test_rules(&Actor::caller(&caller), caller.tenant_id, body.rules)
        .await?;
    Ok(Wire::ok(TestRules { rules }))
}

/// Delete the partner's vetting rules.
///
/// The partner's submissions go by the server's rules alone again.
#[utoipa::path(delete, path = "/test/v1/rules", tag = "test-control", operation_id = "deleteTestRules",
    responses((status = 204, description = "The partner has no rules of its own")))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Partner(caller): Partner,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .delete_test_rules(&Actor::caller(&caller), caller.tenant_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

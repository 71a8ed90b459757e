//! `/test/v1/clock`: the calling partner's clock, which a test moves forward to make its timed
//! decisions fall due without waiting for them.

use axum::extract::State;
use qualify_app::usecases::Actor;
use qualify_types::{AdvanceClock, ClockNow};

use crate::error::ApiError;
use crate::http::LenientJson;
use crate::http::auth::Partner;
use crate::state::AppState;
use crate::wire::Wire;

/// The most one call may move a clock: ten years of 366 days.
const MAX_ADVANCE_SECONDS: u64 = 10 * 366 * 24 * 3600;

/// Get the partner's clock.
///
/// The partner's time.
#[utoipa::path(get, path = "/test/v1/clock", tag = "test-control", operation_id = "getClock",
    responses((status = 200, description = "The calling partner's clock (development mode only; 404 otherwise)", body = ClockNow)))]
pub(crate) async fn show(
    State(state): State<AppState>,
    Partner(caller): Partner,
) -> Result<Wire<ClockNow>, ApiError> {
    let now = state.app.partner_now(caller.tenant_id).await?;
    Ok(Wire::ok(ClockNow { now }))
}

/// The body of an advance, as sent.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct AdvanceInput {
    seconds: Option<serde_json::Number>,
}

/// The whole seconds of an advance, in milliseconds.
fn advance_ms(input: AdvanceInput) -> Result<i64, ApiError> {
    let seconds = input.seconds.ok_or_else(|| ApiError::missing("seconds"))?;
    let whole = seconds
        .as_u64()
        .filter(|s| *s <= MAX_ADVANCE_SECONDS)
        .ok_or_else(|| {
            ApiError::InvalidProperty(format!(
                "The property 'seconds' must be a whole number from 0 to {MAX_ADVANCE_SECONDS} (ten years): a clock moves forward only, {seconds} is not that."
            ))
        })?;
    i64::try_from(whole * 1000).map_err(ApiError::internal)
}

/// Move the partner's clock forward.
///
/// Moves the partner's clock forward; the decisions that fall due
/// are made before it answers.
#[utoipa::path(post, path = "/test/v1/clock/advance", tag = "test-control", operation_id = "advanceClock",
    request_body = AdvanceClock,
    responses(
        (status = 200, description = "The partner's clock after the move; every timed decision now due is made", body = ClockNow),
        (status = 400, description = "Not a whole number of seconds from 0 to ten years (3000)", body = qualify_types::ErrorBody)))]
pub(crate) async fn advance(
    State(state): State<AppState>,
    Partner(caller): Partner,
    LenientJson(input): LenientJson<AdvanceInput>,
) -> Result<Wire<ClockNow>, ApiError> {
    let by = advance_ms(input)?;
    let partner = caller.tenant_id;
    // Within the request's own time limit, so the answer comes before the client gives up.
    let patience = state.settings().http.request_timeout / 2;
    state
        .app
        .advance_clock(&Actor::caller(&caller), partner, by, patience)
        .await?;
    let now = state.app.partner_now(partner).await?;
    Ok(Wire::ok(ClockNow { now }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seconds(json: &str) -> Result<i64, ApiError> {
        advance_ms(serde_json::from_str(json).unwrap())
    }

    #[test]
    fn an_advance_is_whole_seconds_forward_and_not_absurd() {
        assert_eq!(seconds(r#"{"seconds": 172800}"#).unwrap(), 172_800_000);
        assert_eq!(seconds(r#"{"seconds": 0}"#).unwrap(), 0);
        for refused in [
            r#"{"seconds": -1}"#,
            r#"{"seconds": 1.5}"#,
            r#"{"seconds": 1e300}"#,
            r#"{"seconds": 316224001}"#,
            r#"{}"#,
        ] {
            assert!(seconds(refused).is_err(), "{refused}");
        }
    }
}

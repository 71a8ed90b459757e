//! `POST /test/v1/partners`: a new, isolated partner with App+User credentials, without a
//! token (a test suite starts from nothing but the server's address).

use axum::extract::State;
use axum::http::StatusCode;
use qualify_types::TestPartner;

use crate::error::ApiError;
use crate::http::client_address::ClientAddress;
use crate::state::AppState;
use crate::wire::Wire;

/// Create a partner for a test run.
#[utoipa::path(post, path = "/test/v1/partners", tag = "test-control", operation_id = "createTestPartner",
    security(()),
    responses(
        (status = 201, description = "A new partner of its own for a test run: its tenant, an application and a user (App+User), and a GCC validation code", body = TestPartner),
        (status = 409, description = "The server holds its most partners made on demand (610019)", body = qualify_types::ErrorBody),
        (status = 429, description = "Too many partners made from this address in the last minute: Partner Center's throttling answer, with Retry-After", body = qualify_types::ThrottleBody)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    ClientAddress(source): ClientAddress,
) -> Result<Wire<TestPartner>, ApiError> {
    let partner = state.app.create_test_partner(source).await?;
    Ok(Wire::with_status(StatusCode::CREATED, partner))
}

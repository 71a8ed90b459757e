//! `/test/v1`: the test control plane, served only in development mode (without `--dev` no route
//! exists, so every path is a 404 and nothing of it costs a request). Each call acts on the
//! calling partner alone; `POST /test/v1/partners` makes a partner and needs no token.

pub(crate) mod clock;
pub(crate) mod conformance;
pub(crate) mod data;
pub(crate) mod faults;
pub(crate) mod journal;
pub(crate) mod partners;
pub(crate) mod rules;

use crate::error::ApiError;
use crate::state::AppState;
use crate::test_control::TestControl;

/// What the server keeps of its partners' tests: there wherever these routes are (development
/// mode), so its absence is the server's mistake, not the client's.
fn control(state: &AppState) -> Result<&TestControl, ApiError> {
    state
        .test_control
        .as_deref()
        .ok_or_else(|| ApiError::internal("no test control plane"))
}

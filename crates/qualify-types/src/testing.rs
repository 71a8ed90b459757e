//! The test control plane's bodies (`/test/v1`, development mode only).

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// A partner's clock: `GET /test/v1/clock`, and the answer to advancing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClockNow {
    /// The time on the partner's clock.
    pub now: Timestamp,
}

/// `POST /test/v1/clock/advance`: how far to move the partner's clock forward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdvanceClock {
    /// Whole seconds, from 0 to ten years; never back.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 316_224_000))]
    pub seconds: u64,
}

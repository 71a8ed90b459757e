//! Error bodies: Partner Center's `PartnerFD` error, and its different throttling body.

use serde::{Deserialize, Serialize};

/// Every error Qualify answers (but throttling): `{"code", "description", "data", "source"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// A number from [`codes`].
    pub code: i64,
    /// A sentence for a human, saying what was wrong and, where it applies, which property.
    pub description: String,
    /// Always empty; Partner Center sends it.
    #[serde(default)]
    pub data: Vec<serde_json::Value>,
    /// Always `PartnerFD`.
    #[serde(default)]
    pub source: String,
}

impl ErrorBody {
    /// The body for `code` and `description`.
    pub fn new(code: i64, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            data: Vec::new(),
            source: "PartnerFD".into(),
        }
    }
}

/// The body of a `429 Too Many Requests`, which Partner Center shapes differently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ThrottleBody {
    /// Always 429.
    pub status_code: u16,
    /// `Rate limit is exceeded. Try again in N seconds.`
    pub message: String,
}

/// The error codes Qualify sends. Partner Center's own where one fits; Qualify's own (6100xx)
/// where Partner Center documents none. `docs/errors.md` lists them with their statuses.
pub mod codes {
    /// 400: a customer id (or other id in the path) that is not a GUID.
    pub const MALFORMED_ID: i64 = 900_118;
    /// 400: a value that is not one of its enumeration's names.
    pub const UNKNOWN_ENUM_VALUE: i64 = 900_126;
    /// 400: a property (or header, or query parameter) is missing or invalid.
    pub const INVALID_PROPERTY: i64 = 3000;
    /// 400: the body is not JSON, or not the right shape.
    pub const MALFORMED_BODY: i64 = 800_002;
    /// 401: no bearer token.
    pub const MISSING_TOKEN: i64 = 800_001;
    /// 401: the token is invalid, expired, or for another issuer or audience.
    pub const INVALID_TOKEN: i64 = 400;
    /// 403: the token lacks the right for this call.
    pub const FORBIDDEN: i64 = 900_150;
    /// 404: no such customer, or not the caller's customer.
    pub const CUSTOMER_NOT_FOUND: i64 = 60_003;
    /// 500: an unexpected error; the cause is in the server's log.
    pub const INTERNAL: i64 = 800_003;

    /// 409: the qualification is already in review or approved for this customer.
    pub const ALREADY_SUBMITTED: i64 = 610_001;
    /// 409: Education and GovernmentCommunityCloud exclude each other.
    pub const CONFLICTING_QUALIFICATION: i64 = 610_002;
    /// 409: the customer used every vetting request allowed for this qualification.
    pub const RESUBMISSION_LIMIT: i64 = 610_003;
    /// 409: the GCC validation code has no creates left.
    pub const VALIDATION_CODE_EXHAUSTED: i64 = 610_004;
    /// 409: the `MS-RequestId` was already used for a different request.
    pub const IDEMPOTENCY_KEY_REUSED: i64 = 610_005;
    /// 409: the vetting request was already decided.
    pub const ALREADY_DECIDED: i64 = 610_006;
    /// 409: the partner already has a customer with that domain.
    pub const DUPLICATE_CUSTOMER_DOMAIN: i64 = 610_007;
    /// 413: the body is larger than the server accepts.
    pub const BODY_TOO_LARGE: i64 = 610_008;
    /// 404: no such route.
    pub const ROUTE_NOT_FOUND: i64 = 610_009;
    /// 405: the route exists, but not with this method.
    pub const METHOD_NOT_ALLOWED: i64 = 610_010;
    /// 503: the database is unreachable; retry later.
    pub const UNAVAILABLE: i64 = 610_011;
    /// 503: the request took longer than the server's request timeout.
    pub const TIMEOUT: i64 = 610_012;
    /// 404: no such vetting request.
    pub const VETTING_REQUEST_NOT_FOUND: i64 = 610_013;
    /// 4xx/5xx: a fault the partner's test set (`PUT /test/v1/faults`, development mode only).
    pub const INJECTED_FAULT: i64 = 610_014;
    /// 404: no such audit record, or not the caller's.
    pub const AUDIT_RECORD_NOT_FOUND: i64 = 610_015;
    /// 404: the partner has no webhook registration.
    pub const WEBHOOK_REGISTRATION_NOT_FOUND: i64 = 610_016;
    /// 409: the partner already has a webhook registration (update it with PUT).
    pub const WEBHOOK_REGISTRATION_EXISTS: i64 = 610_017;
    /// 404: no such validation event, or not the caller's, or older than 7 days.
    pub const VALIDATION_EVENT_NOT_FOUND: i64 = 610_018;
    /// 409: the server holds its most partners made on demand (`test_partners_max`).
    pub const TEST_PARTNERS_FULL: i64 = 610_019;
    /// 410: a retired endpoint, answered so only for a partner in strict conformance mode.
    pub const RETIRED_ENDPOINT: i64 = 610_020;
}

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

/// `POST /test/v1/partners`' answer: a new partner, isolated from every other, with App+User
/// credentials (a development identity: refused by a server without `--dev`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TestPartner {
    /// Its tenant id (the token endpoint's path, the tokens' `tid`).
    pub tenant_id: crate::TenantId,
    /// Its application's client id.
    pub client_id: String,
    /// Its application's secret.
    pub client_secret: String,
    /// Its user's sign-in name.
    pub username: String,
    /// Its user's password.
    pub password: String,
    /// A GCC validation code of its own, good for 5 creates.
    pub validation_code: String,
}

/// One vetting rule, as `PUT /test/v1/rules` takes it (camelCase) and the rules file writes it
/// (snake_case): see docs/rules.md. List keys take one string too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VettingRule {
    /// Its name, unique in its set; its decisions are `decidedBy` `rule:<name>`.
    pub name: String,
    /// `Education`, `GovernmentCommunityCloud` or `StateOwnedEntity`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualification: Option<String>,
    /// Globs over the customer's domain.
    #[serde(
        default,
        alias = "customer_domain",
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub customer_domain: Vec<String>,
    /// Globs over the submitted website.
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub website: Vec<String>,
    /// Partner tenant ids.
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub partner: Vec<String>,
    /// `K12` or `HigherEducation`.
    #[serde(
        default,
        alias = "education_segment",
        skip_serializing_if = "Option::is_none"
    )]
    pub education_segment: Option<String>,
    /// Globs over the GCC validation code.
    #[serde(
        default,
        alias = "validation_code",
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub validation_code: Vec<String>,
    /// `Approved`, `Denied` or `InReview`.
    pub decision: String,
    /// The denial's reason: required with `Denied`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A delay such as `2d` or `36h`; absent, at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// A test's own rules only: it decides this many submissions, then is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
}

/// A list written as one value or several.
fn one_or_many<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(value) => vec![value],
        OneOrMany::Many(values) => values,
    })
}

/// `PUT /test/v1/rules`' body, and `GET /test/v1/rules`' answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TestRules {
    /// The partner's rules, tried in order before the server's.
    pub rules: Vec<VettingRule>,
}

/// One fault a test injects: the next matching requests of the partner get this answer instead
/// of the real one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fault {
    /// The method it applies to (`GET`, `POST`…); absent or `*`, any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// A glob over the request's path (`*` within a segment, `**` across them).
    pub path: String,
    /// The answer's status: 429 (with `Retry-After` and Partner Center's throttling body), or
    /// another 4xx or 5xx with Partner Center's error body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// With 429: the `Retry-After` seconds [default: 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u32>,
    /// How many matching requests it applies to; absent, until removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// Delay the answer this long (before the status, or before the real answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Close the connection without an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close: Option<bool>,
    /// The chance (0 to 1) that a matching request gets it [default: 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// The seed of the draws, so that a run repeats exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

/// `PUT /test/v1/faults`' body, and `GET /test/v1/faults`' answer (with what remains of each).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TestFaults {
    /// The faults, tried in order.
    pub faults: Vec<Fault>,
}

/// One request of a partner, as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct JournalEntry {
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The query string, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The answer's status; 0 when a fault closed the connection without one.
    pub status: u16,
    /// `MS-RequestId`.
    pub request_id: String,
    /// `MS-CorrelationId`.
    pub correlation_id: String,
    /// When it arrived (the server's clock).
    pub at: Timestamp,
    /// How long the answer took, in milliseconds.
    pub duration_ms: f64,
    /// The body of a write (at most 4 KiB of it; secrets redacted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The fault that answered it, if one did: `status 429`, `delay`, `close`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

/// `GET /test/v1/journal`'s answer: the partner's last requests, newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Journal {
    /// At most the last 1,000.
    pub items: Vec<JournalEntry>,
}

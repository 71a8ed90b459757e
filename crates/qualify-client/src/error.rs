//! What can go wrong when calling Qualify: the network, an error the service answered (Partner
//! Center's body, or OAuth's at the token endpoint), or a response that can't be read.

use std::time::Duration;

use qualify_types::Qualification;

/// A failed call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The service could not be reached, or the connection failed (after retries).
    #[error("could not reach {url}")]
    Transport {
        /// What was called.
        url: String,
        /// Why it failed.
        #[source]
        source: reqwest::Error,
    },
    /// The service answered with Partner Center's error body.
    #[error("{description} (HTTP {status}, code {code})")]
    Api {
        /// The HTTP status.
        status: u16,
        /// Partner Center's error code (see the server's `docs/errors.md`).
        code: i64,
        /// The service's explanation.
        description: String,
        /// The request's `MS-RequestId`, to find it in the server's log.
        request_id: Option<String>,
    },
    /// The token endpoint refused the credentials (OAuth 2.0 error).
    #[error("the token endpoint refused: {error}: {description}")]
    Auth {
        /// The HTTP status.
        status: u16,
        /// `invalid_client`, `invalid_grant`, …
        error: String,
        /// The service's explanation.
        description: String,
    },
    /// Still throttled after every retry.
    #[error("throttled by the service (HTTP 429); retry after {retry_after:?}")]
    Throttled {
        /// What the last `Retry-After` asked for.
        retry_after: Option<Duration>,
    },
    /// A response that is neither the expected body nor an error body.
    #[error("unexpected response (HTTP {status}): {snippet}")]
    UnexpectedResponse {
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        snippet: String,
    },
    /// The expected body could not be decoded.
    #[error("could not decode the response (HTTP {status}): {source}")]
    Decode {
        /// The HTTP status.
        status: u16,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// `wait_for_vetting` reached its deadline with the qualification still in review.
    #[error("{qualification} was still in review after {waited:?}")]
    VettingTimeout {
        /// The qualification waited for.
        qualification: Qualification,
        /// How long.
        waited: Duration,
    },
    /// `wait_for_vetting` found no such qualification for the customer.
    #[error("the customer has no {0} qualification to wait for; submit it first")]
    NotSubmitted(Qualification),
    /// The client is not configured for this call (e.g. no credentials).
    #[error("{0}")]
    Config(String),
}

impl ClientError {
    /// Partner Center's error code, when the service answered with one.
    pub fn code(&self) -> Option<i64> {
        match self {
            Self::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The HTTP status, when the service answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. }
            | Self::Auth { status, .. }
            | Self::UnexpectedResponse { status, .. }
            | Self::Decode { status, .. } => Some(*status),
            Self::Throttled { .. } => Some(429),
            _ => None,
        }
    }
}

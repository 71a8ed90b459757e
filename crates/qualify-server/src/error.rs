//! The one place that knows HTTP statuses and Partner Center's error body. Handlers return
//! `Result<_, ApiError>` and use `?`; everything a client can get wrong has a variant here, and
//! a 5xx never shows its cause to the client: the cause rides along in the response's
//! extensions and the request's span logs it once, with its source chain.

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use qualify_domain::{InvalidValue, SubmissionRefused};
use qualify_store::{StoreError, Unique};
use qualify_types::{ErrorBody, ParseEnumError, codes};

use qualify_app::identity::{AuthError, OAuthError};

use crate::wire::Wire;
use qualify_app::audit::InvalidDate;
use qualify_app::usecases::UseCaseError;

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// An id in the path is not a GUID.
    #[error("The {what} '{value}' is not a valid GUID.")]
    MalformedId {
        /// Which id, e.g. `customer id`.
        what: &'static str,
        /// What was sent (truncated).
        value: String,
    },
    /// A path segment's %-escapes decode to bytes that are not UTF-8 (so no id, no tenant).
    #[error("The path is not valid: a segment's %-escapes do not decode to UTF-8 text.")]
    UndecodablePath,
    /// An enum value is not one of its names.
    #[error("{0}")]
    UnknownEnumValue(#[from] ParseEnumError),
    /// A property, header or parameter is missing or invalid.
    #[error("{0}")]
    InvalidProperty(String),
    /// The body is not JSON, or not the right shape.
    #[error("The request body is not valid: {0}")]
    MalformedBody(String),
    /// The body is larger than the limit.
    #[error("The request body is larger than {limit} bytes.")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// No bearer token.
    #[error("The request has no bearer token. Send 'Authorization: Bearer <access token>'.")]
    MissingToken,
    /// The token is not acceptable.
    #[error("The access token is not valid: {0}")]
    InvalidToken(&'static str),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// No such customer, or not the caller's.
    #[error("The customer '{0}' was not found.")]
    CustomerNotFound(qualify_types::CustomerId),
    /// No such vetting request.
    #[error("The vetting request '{0}' was not found.")]
    VettingRequestNotFound(qualify_types::VettingRequestId),
    /// No route matches the path.
    #[error("No resource matches '{0}'.")]
    RouteNotFound(String),
    /// No such resource (other than a customer or a vetting request), or not the caller's.
    #[error("{description}")]
    NotFound {
        /// A code from [`codes`].
        code: i64,
        /// What was not found.
        description: String,
    },
    /// The route does not take this method.
    #[error("The method {0} is not allowed on this resource.")]
    MethodNotAllowed(String),
    /// The request conflicts with the stored state.
    #[error("{description}")]
    Conflict {
        /// A code from [`codes`].
        code: i64,
        /// What conflicts.
        description: String,
    },
    /// The caller asked too often (Partner Center's throttling answer).
    #[error("Rate limit is exceeded. Try again in {retry_after} seconds.")]
    Throttled {
        /// Seconds before it may ask again.
        retry_after: u32,
    },
    /// The database is unavailable.
    #[error("The service is temporarily unavailable; retry later.")]
    Unavailable(#[source] StoreError),
    /// The request took too long.
    #[error("The request took longer than the server's limit; retry later.")]
    Timeout,
    /// Anything unexpected.
    #[error("An unexpected error occurred.")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The cause of a 5xx, attached to the response for the request span to log.
#[derive(Debug, Clone)]
pub(crate) struct ServerFault(pub(crate) Arc<ApiError>);

impl ApiError {
    /// A required property that is absent.
    pub fn missing(property: &str) -> Self {
        Self::InvalidProperty(format!("The property '{property}' is required."))
    }

    /// An unexpected failure.
    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(cause.into())
    }

    /// The status and Partner Center code this error answers with.
    pub fn status_and_code(&self) -> (StatusCode, i64) {
        match self {
            Self::MalformedId { .. } | Self::UndecodablePath => {
                (StatusCode::BAD_REQUEST, codes::MALFORMED_ID)
            }
            Self::UnknownEnumValue(_) => (StatusCode::BAD_REQUEST, codes::UNKNOWN_ENUM_VALUE),
            Self::InvalidProperty(_) => (StatusCode::BAD_REQUEST, codes::INVALID_PROPERTY),
            Self::MalformedBody(_) => (StatusCode::BAD_REQUEST, codes::MALFORMED_BODY),
            Self::BodyTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, codes::BODY_TOO_LARGE),
            Self::MissingToken => (StatusCode::UNAUTHORIZED, codes::MISSING_TOKEN),
            Self::InvalidToken(_) => (StatusCode::UNAUTHORIZED, codes::INVALID_TOKEN),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, codes::FORBIDDEN),
            Self::CustomerNotFound(_) => (StatusCode::NOT_FOUND, codes::CUSTOMER_NOT_FOUND),
            Self::VettingRequestNotFound(_) => {
                (StatusCode::NOT_FOUND, codes::VETTING_REQUEST_NOT_FOUND)
            }
            Self::RouteNotFound(_) => (StatusCode::NOT_FOUND, codes::ROUTE_NOT_FOUND),
            Self::NotFound { code, .. } => (StatusCode::NOT_FOUND, *code),
            Self::MethodNotAllowed(_) => {
                (StatusCode::METHOD_NOT_ALLOWED, codes::METHOD_NOT_ALLOWED)
            }
            Self::Conflict { code, .. } => (StatusCode::CONFLICT, *code),
            // Partner Center's throttling body carries the status where others carry a code.
            Self::Throttled { .. } => (StatusCode::TOO_MANY_REQUESTS, 429),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, codes::UNAVAILABLE),
            Self::Timeout => (StatusCode::SERVICE_UNAVAILABLE, codes::TIMEOUT),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, codes::INTERNAL),
        }
    }
}

impl From<InvalidValue> for ApiError {
    fn from(invalid: InvalidValue) -> Self {
        Self::InvalidProperty(invalid.to_string())
    }
}

impl From<InvalidDate> for ApiError {
    fn from(invalid: InvalidDate) -> Self {
        Self::InvalidProperty(invalid.0)
    }
}

impl From<StoreError> for ApiError {
    /// The one place a store error meets the wire: a uniqueness rule the write ran into becomes
    /// the conflict that rule stands for (a race lost to a concurrent write of the same thing,
    /// which a retry will see), an unreachable database a 503, anything else a 500.
    fn from(error: StoreError) -> Self {
        match &error {
            StoreError::Duplicate(rule) => {
                let (code, description) = match rule {
                    Unique::CustomerDomain => (
                        codes::DUPLICATE_CUSTOMER_DOMAIN,
                        "The partner already has a customer with this domain.",
                    ),
                    Unique::HeldQualification | Unique::VettingAttempt => (
                        codes::ALREADY_SUBMITTED,
                        "A concurrent submission of this qualification for this customer was made; read the customer's qualifications.",
                    ),
                    Unique::IdempotencyKey => (
                        codes::IDEMPOTENCY_KEY_REUSED,
                        "A concurrent request with this MS-RequestId was made; retry to get its answer.",
                    ),
                    Unique::Username | Unique::ActiveSigningKey | Unique::Other(_) => {
                        return Self::internal(error);
                    }
                };
                Self::Conflict {
                    code,
                    description: description.to_owned(),
                }
            }
            StoreError::Unavailable(_) => Self::Unavailable(error),
            StoreError::Internal { .. } => Self::internal(error),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(refused: AuthError) -> Self {
        match refused {
            AuthError::MissingToken => Self::MissingToken,
            AuthError::InvalidToken(why) => Self::InvalidToken(why),
            AuthError::Forbidden(why) => Self::Forbidden(why),
            AuthError::Store(error) => error.into(),
        }
    }
}

impl From<UseCaseError> for ApiError {
    fn from(error: UseCaseError) -> Self {
        let conflict = |code, error: &UseCaseError| Self::Conflict {
            code,
            description: error.to_string(),
        };
        match error {
            UseCaseError::CustomerNotFound(id) => Self::CustomerNotFound(id),
            UseCaseError::VettingRequestNotFound(id) => Self::VettingRequestNotFound(id),
            UseCaseError::Submission(ref refused) => match refused {
                SubmissionRefused::AlreadySubmitted { .. } => {
                    conflict(codes::ALREADY_SUBMITTED, &error)
                }
                SubmissionRefused::Conflicting { .. } => {
                    conflict(codes::CONFLICTING_QUALIFICATION, &error)
                }
                SubmissionRefused::LimitReached { .. } => {
                    conflict(codes::RESUBMISSION_LIMIT, &error)
                }
                // An unknown code is the client's mistake, not a state conflict.
                SubmissionRefused::UnknownValidationCode(_) => {
                    Self::InvalidProperty(error.to_string())
                }
                SubmissionRefused::ValidationCodeExhausted(_) => {
                    conflict(codes::VALIDATION_CODE_EXHAUSTED, &error)
                }
            },
            UseCaseError::Decision(_) => conflict(codes::ALREADY_DECIDED, &error),
            UseCaseError::CustomerDomainTaken(_) => {
                conflict(codes::DUPLICATE_CUSTOMER_DOMAIN, &error)
            }
            UseCaseError::RequestIdReused => conflict(codes::IDEMPOTENCY_KEY_REUSED, &error),
            UseCaseError::Invalid(why) => Self::InvalidProperty(why),
            UseCaseError::WebhookNotRegistered => Self::NotFound {
                code: codes::WEBHOOK_REGISTRATION_NOT_FOUND,
                description: error.to_string(),
            },
            UseCaseError::WebhookRegistrationExists => {
                conflict(codes::WEBHOOK_REGISTRATION_EXISTS, &error)
            }
            UseCaseError::TestPartnersFull { .. } => conflict(codes::TEST_PARTNERS_FULL, &error),
            UseCaseError::Throttled { retry_after } => Self::Throttled { retry_after },
            UseCaseError::Store(error) => error.into(),
            UseCaseError::Internal(cause) => Self::Internal(cause),
        }
    }
}

/// Partner Center's throttling answer: 429, `Retry-After`, and its own body,
/// `{"statusCode": 429, "message": "Rate limit is exceeded. Try again in N seconds."}`.
pub(crate) fn throttled(retry_after: u32) -> Response {
    let body = qualify_types::ThrottleBody {
        status_code: 429,
        message: format!("Rate limit is exceeded. Try again in {retry_after} seconds."),
    };
    let mut response = Wire::with_status(StatusCode::TOO_MANY_REQUESTS, body).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Throttled { retry_after } = self {
            return throttled(retry_after);
        }
        let (status, code) = self.status_and_code();
        let description = match &self {
            Self::MalformedId { what, value } => {
                let shown: String = value.chars().take(64).collect();
                format!("The {what} '{shown}' is not a valid GUID.")
            }
            other => other.to_string(),
        };
        let mut response =
            Wire::with_status(status, ErrorBody::new(code, description)).into_response();
        match &self {
            Self::MissingToken | Self::InvalidToken(_) => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::Unavailable(_) | Self::Timeout => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        if status.is_server_error() {
            response
                .extensions_mut()
                .insert(ServerFault(Arc::new(self)));
        }
        response
    }
}

/// A token endpoint's refusal, answered as OAuth 2.0 (RFC 6749 §5.2) and Entra ID do: 400 (401
/// when the client failed HTTP Basic authentication, with its challenge), the error body, never
/// cached.
pub(crate) fn oauth_response(refused: OAuthError) -> Response {
    let status = if refused.basic_auth_failed {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::BAD_REQUEST
    };
    let body = qualify_types::OAuthErrorBody {
        error: refused.error.to_owned(),
        error_description: refused.description,
    };
    let mut response = Wire::with_status(status, body).into_response();
    if refused.basic_auth_failed {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"qualify\""),
        );
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each uniqueness rule answers as what it stands for, in one place.
    #[test]
    fn a_duplicate_answers_as_the_rule_it_broke() {
        let code = |rule: Unique| ApiError::from(StoreError::Duplicate(rule)).status_and_code();
        assert_eq!(
            code(Unique::CustomerDomain),
            (StatusCode::CONFLICT, codes::DUPLICATE_CUSTOMER_DOMAIN)
        );
        for race in [Unique::HeldQualification, Unique::VettingAttempt] {
            assert_eq!(code(race), (StatusCode::CONFLICT, codes::ALREADY_SUBMITTED));
        }
        assert_eq!(
            code(Unique::IdempotencyKey),
            (StatusCode::CONFLICT, codes::IDEMPOTENCY_KEY_REUSED)
        );
        // A rule no client can break is the server's fault, not the client's conflict.
        for internal in [
            Unique::Username,
            Unique::ActiveSigningKey,
            Unique::Other("tenants.id".into()),
        ] {
            assert_eq!(code(internal).0, StatusCode::INTERNAL_SERVER_ERROR);
        }
    }
}

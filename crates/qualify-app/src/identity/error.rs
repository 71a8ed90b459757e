//! Why identity said no: a bearer token that does not let its caller act ([`AuthError`]), and a
//! token request refused as OAuth 2.0 and Entra ID refuse them ([`OAuthError`]). The HTTP
//! adapter turns each into its answer; nothing here knows a status code.

use qualify_store::StoreError;

/// Why a request's bearer token does not let it act.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No bearer token.
    #[error("The request has no bearer token. Send 'Authorization: Bearer <access token>'.")]
    MissingToken,
    /// The token is not acceptable.
    #[error("The access token is not valid: {0}")]
    InvalidToken(&'static str),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The caller's status could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AuthError {
    /// Why a token failed `jsonwebtoken`'s checks, for the client.
    pub(crate) fn rejected(kind: &jsonwebtoken::errors::ErrorKind) -> Self {
        use jsonwebtoken::errors::ErrorKind;
        Self::InvalidToken(match kind {
            ErrorKind::ExpiredSignature => "it has expired.",
            ErrorKind::ImmatureSignature => "it is not valid yet (nbf).",
            ErrorKind::InvalidAudience => "its audience is not this API's.",
            ErrorKind::InvalidSignature => "its signature does not verify.",
            ErrorKind::InvalidAlgorithm => "it is not signed with its key's algorithm.",
            ErrorKind::MissingRequiredClaim(_) => {
                "it lacks a required claim (exp, nbf, iss, aud, sub)."
            }
            _ => "it could not be decoded.",
        })
    }
}

/// A token request refused, as OAuth 2.0 (RFC 6749 §5.2) and Entra ID refuse:
/// `{"error": "invalid_client", "error_description": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {description}")]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unsupported_grant_type`, …
    pub error: &'static str,
    /// A sentence for a human, prefixed like Entra's with an `AADSTS` code where one fits.
    pub description: String,
    /// The client authenticated with HTTP Basic and failed (RFC 6749 then requires a 401).
    pub basic_auth_failed: bool,
}

/// Every `error` a client's mistake carries (the server's own failures are `server_error` and
/// `temporarily_unavailable`).
pub const OAUTH_ERRORS: [&str; 5] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unsupported_grant_type",
    "invalid_scope",
];

impl OAuthError {
    fn new(error: &'static str, description: impl Into<String>) -> Self {
        debug_assert!(
            OAUTH_ERRORS.contains(&error),
            "{error} is not in OAUTH_ERRORS"
        );
        Self {
            error,
            description: description.into(),
            basic_auth_failed: false,
        }
    }

    /// The request is malformed.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new("invalid_request", description)
    }

    /// The client could not be authenticated.
    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new("invalid_client", description)
    }

    /// The grant (user credentials, refresh token) is not valid.
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new("invalid_grant", description)
    }

    /// The grant type is not one this endpoint issues.
    pub fn unsupported_grant_type(grant: &str) -> Self {
        let shown: String = grant.chars().take(64).collect();
        Self::new(
            "unsupported_grant_type",
            format!(
                "AADSTS70003: The grant type '{shown}' is not supported; use client_credentials or password."
            ),
        )
    }

    /// The client id is locked out after repeated failures.
    pub fn locked(wait: std::time::Duration) -> Self {
        Self::new(
            "invalid_client",
            format!(
                "AADSTS50053: Too many failed sign-ins for this client; try again in {} seconds.",
                wait.as_secs().max(1)
            ),
        )
    }

    /// The scope is not this API's.
    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new("invalid_scope", description)
    }

    /// The token could not be issued for a fault of the server's (`what` says which).
    pub fn server_error(what: &str) -> Self {
        Self {
            error: "server_error",
            description: format!("The token could not be issued: {what}."),
            basic_auth_failed: false,
        }
    }

    /// The store did not answer: the client may retry.
    pub fn temporarily_unavailable() -> Self {
        Self {
            error: "temporarily_unavailable",
            description: "The service is temporarily unavailable; retry later.".into(),
            basic_auth_failed: false,
        }
    }
}

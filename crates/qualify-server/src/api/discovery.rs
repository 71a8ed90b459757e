//! OpenID Connect discovery and the JWKS, so any OIDC library can verify Qualify's tokens.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use qualify_types::TenantId;
use serde::Serialize;

use crate::http::IdPath;
use crate::wire::{Wire, json_bytes};
use crate::{AppState, OAuthError};

/// The OpenID provider metadata of one tenant's issuer.
#[derive(Serialize)]
pub(crate) struct OpenIdConfiguration {
    issuer: String,
    token_endpoint: String,
    authorization_endpoint: String,
    jwks_uri: String,
    response_types_supported: [&'static str; 1],
    subject_types_supported: [&'static str; 1],
    id_token_signing_alg_values_supported: [&'static str; 1],
    token_endpoint_auth_methods_supported: [&'static str; 2],
    grant_types_supported: [&'static str; 2],
    scopes_supported: [&'static str; 2],
    claims_supported: [&'static str; 14],
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub(crate) async fn openid_configuration(
    State(state): State<AppState>,
    IdPath(tenant): IdPath<TenantId>,
) -> Wire<OpenIdConfiguration> {
    let base = state.public_base();
    Wire::ok(OpenIdConfiguration {
        issuer: state.issuer_for(&tenant.to_string()),
        token_endpoint: format!("{base}/{tenant}/oauth2/v2.0/token"),
        authorization_endpoint: format!("{base}/{tenant}/oauth2/v2.0/authorize"),
        jwks_uri: format!("{base}/discovery/v2.0/keys"),
        response_types_supported: ["token"],
        subject_types_supported: ["pairwise"],
        id_token_signing_alg_values_supported: ["RS256"],
        token_endpoint_auth_methods_supported: ["client_secret_post", "client_secret_basic"],
        grant_types_supported: ["client_credentials", "password"],
        scopes_supported: [
            "https://api.partnercenter.microsoft.com/.default",
            "https://api.partnercenter.microsoft.com/user_impersonation",
        ],
        claims_supported: [
            "iss", "aud", "sub", "tid", "iat", "nbf", "exp", "appid", "azp", "oid", "scp", "upn",
            "amr", "idtyp",
        ],
    })
}

/// `GET /{tenant}/oauth2/v2.0/authorize`: published because OIDC metadata requires it, but the
/// built-in issuer has no interactive sign-in.
pub(crate) async fn authorize() -> OAuthError {
    OAuthError {
        error: "unsupported_response_type",
        description: "Qualify's built-in issuer has no interactive sign-in; use the token endpoint's client_credentials or password grant.".into(),
        basic_auth_failed: false,
    }
}

/// `GET /discovery/v2.0/keys`: the public keys that verify tokens.
pub(crate) async fn keys(State(state): State<AppState>) -> Response {
    let jwks = state.keys.current().jwks.clone();
    let mut response =
        json_bytes(StatusCode::OK, axum::body::Bytes::from_owner(jwks)).into_response();
    // Short, so clients see a rotation soon.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

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
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct OpenIdConfiguration {
    issuer: String,
    token_endpoint: String,
    authorization_endpoint: String,
    jwks_uri: String,
    response_types_supported: Vec<&'static str>,
    subject_types_supported: Vec<&'static str>,
    id_token_signing_alg_values_supported: Vec<&'static str>,
    token_endpoint_auth_methods_supported: Vec<&'static str>,
    grant_types_supported: Vec<&'static str>,
    scopes_supported: Vec<&'static str>,
    claims_supported: Vec<&'static str>,
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
#[utoipa::path(get, path = "/{tenant}/v2.0/.well-known/openid-configuration", tag = "identity", operation_id = "openIdConfiguration",
    params(("tenant" = uuid::Uuid, Path, description = "A tenant id")),
    responses((status = 200, description = "The tenant's issuer metadata", body = OpenIdConfiguration)))]
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
        response_types_supported: vec!["token"],
        subject_types_supported: vec!["pairwise"],
        id_token_signing_alg_values_supported: vec!["RS256"],
        token_endpoint_auth_methods_supported: vec!["client_secret_post", "client_secret_basic"],
        grant_types_supported: vec!["client_credentials", "password", "refresh_token"],
        scopes_supported: vec![
            "https://api.partnercenter.microsoft.com/.default",
            "https://api.partnercenter.microsoft.com/user_impersonation",
        ],
        claims_supported: vec![
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
#[utoipa::path(get, path = "/discovery/v2.0/keys", tag = "identity", operation_id = "signingKeys",
    responses((status = 200, description = "A JWK set (RFC 7517)", body = serde_json::Value)))]
pub(crate) async fn keys(State(state): State<AppState>) -> Response {
    let jwks = state.keys.current().await.jwks.clone();
    let mut response =
        json_bytes(StatusCode::OK, axum::body::Bytes::from_owner(jwks)).into_response();
    // Short, so clients see a rotation soon.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

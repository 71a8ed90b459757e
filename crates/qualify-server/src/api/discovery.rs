//! OpenID Connect discovery and the JWKS, so any OIDC library can verify Qualify's tokens.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::http::{IdPath, PathText};
use crate::wire::{Wire, json_bytes};
use qualify_app::identity::{Authority, OAuthError};

use crate::error::ApiError;
use crate::error::oauth_response;
use crate::state::AppState;

/// The OpenID provider metadata of one tenant's issuer, with the fields Entra's document has
/// (Microsoft's libraries read some of them: MSAL the endpoints and the issuer's host).
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct OpenIdConfiguration {
    issuer: String,
    token_endpoint: String,
    authorization_endpoint: String,
    device_authorization_endpoint: String,
    end_session_endpoint: String,
    kerberos_endpoint: String,
    userinfo_endpoint: &'static str,
    jwks_uri: String,
    response_types_supported: Vec<&'static str>,
    response_modes_supported: Vec<&'static str>,
    subject_types_supported: Vec<&'static str>,
    id_token_signing_alg_values_supported: Vec<&'static str>,
    token_endpoint_auth_methods_supported: Vec<&'static str>,
    grant_types_supported: Vec<&'static str>,
    scopes_supported: Vec<&'static str>,
    claims_supported: Vec<&'static str>,
    request_uri_parameter_supported: bool,
    http_logout_supported: bool,
    frontchannel_logout_supported: bool,
    tenant_region_scope: Option<&'static str>,
    cloud_instance_name: &'static str,
    cloud_graph_host_name: &'static str,
    msgraph_host: &'static str,
    rbac_url: &'static str,
}

/// Get the token issuer's OpenID configuration.
#[utoipa::path(get, path = "/{tenant}/v2.0/.well-known/openid-configuration", tag = "identity", operation_id = "openIdConfiguration",
    params(("tenant" = String, Path, description = "A tenant id, or organizations or common", pattern = r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|organizations|common)$")),
    responses((status = 200, description = "The tenant's issuer metadata", body = OpenIdConfiguration)))]
pub(crate) async fn openid_configuration(
    State(state): State<AppState>,
    IdPath(authority): IdPath<Authority>,
) -> Wire<OpenIdConfiguration> {
    Wire::ok(configuration(&state, authority))
}

/// Get the token issuer's OpenID configuration (Entra's v1 path).
///
/// Entra's v1 path: the same document, since
/// Qualify issues v2 tokens only, so that a client that looks there finds the endpoints that
/// exist and the issuer its tokens carry.
#[utoipa::path(get, path = "/{tenant}/.well-known/openid-configuration", tag = "identity", operation_id = "openIdConfigurationV1",
    params(("tenant" = String, Path, description = "A tenant id, or organizations or common", pattern = r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|organizations|common)$")),
    responses((status = 200, description = "The tenant's issuer metadata (the v2 document)", body = OpenIdConfiguration)))]
pub(crate) async fn openid_configuration_v1(
    State(state): State<AppState>,
    IdPath(authority): IdPath<Authority>,
) -> Wire<OpenIdConfiguration> {
    Wire::ok(configuration(&state, authority))
}

/// The metadata of `authority`'s issuer. For `organizations` and `common` the issuer holds
/// Entra's `{tenantid}` placeholder, as Entra's does: each token carries its own tenant's.
fn configuration(state: &AppState, authority: Authority) -> OpenIdConfiguration {
    let base = state.public_base();
    let endpoint = |path: &str| format!("{base}/{authority}/{path}");
    OpenIdConfiguration {
        issuer: match authority.tenant() {
            Some(tenant) => state.issuer_for(&tenant.to_string()),
            None => state.issuer_for("{tenantid}"),
        },
        token_endpoint: endpoint("oauth2/v2.0/token"),
        authorization_endpoint: endpoint("oauth2/v2.0/authorize"),
        device_authorization_endpoint: endpoint("oauth2/v2.0/devicecode"),
        end_session_endpoint: endpoint("oauth2/v2.0/logout"),
        kerberos_endpoint: endpoint("kerberos"),
        // Entra's points at Microsoft Graph; Qualify has no user info of its own.
        userinfo_endpoint: "https://graph.microsoft.com/oidc/userinfo",
        jwks_uri: format!("{base}/discovery/v2.0/keys"),
        response_types_supported: vec!["code", "id_token", "code id_token", "id_token token"],
        response_modes_supported: vec!["query", "fragment", "form_post"],
        subject_types_supported: vec!["pairwise"],
        id_token_signing_alg_values_supported: vec!["RS256"],
        token_endpoint_auth_methods_supported: vec!["client_secret_post", "client_secret_basic"],
        grant_types_supported: vec!["client_credentials", "password", "refresh_token"],
        scopes_supported: vec![
            "openid",
            "profile",
            "email",
            "offline_access",
            "https://api.partnercenter.microsoft.com/.default",
            "https://api.partnercenter.microsoft.com/user_impersonation",
        ],
        claims_supported: vec![
            "iss",
            "aud",
            "sub",
            "tid",
            "iat",
            "nbf",
            "exp",
            "appid",
            "azp",
            "oid",
            "scp",
            "upn",
            "amr",
            "idtyp",
            "name",
            "preferred_username",
            "ver",
        ],
        request_uri_parameter_supported: false,
        http_logout_supported: true,
        frontchannel_logout_supported: true,
        // Entra's multi-tenant documents have none.
        tenant_region_scope: authority.tenant().map(|_| "NA"),
        cloud_instance_name: "microsoftonline.com",
        cloud_graph_host_name: "graph.windows.net",
        msgraph_host: "graph.microsoft.com",
        rbac_url: "https://pas.windows.net",
    }
}

/// Entra's answer to "how does this user sign in?": `Managed` (Qualify checks the password
/// itself; nothing is federated). MSAL for Python asks before every password sign-in.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct UserRealm {
    ver: &'static str,
    account_type: &'static str,
    domain_name: String,
    cloud_instance_name: &'static str,
    cloud_audience_urn: &'static str,
}

/// Get a user's realm, as Entra answers it.
///
/// The same answer for every name, known or not, so that
/// it tells nobody which users exist.
#[utoipa::path(get, path = "/common/userrealm/{username}", tag = "identity", operation_id = "userRealm",
    params(("username" = String, Path, description = "A user's sign-in name", min_length = 1)),
    responses((status = 200, description = "How the user signs in: always Managed", body = UserRealm)))]
pub(crate) async fn user_realm(username: Result<PathText, ApiError>) -> Wire<UserRealm> {
    let domain_name = username
        .ok()
        .and_then(|PathText(name)| {
            name.rsplit_once('@')
                .map(|(_, domain)| domain.chars().take(255).collect())
        })
        .unwrap_or_default();
    Wire::ok(UserRealm {
        ver: "1.0",
        account_type: "Managed",
        domain_name,
        cloud_instance_name: "microsoftonline.com",
        cloud_audience_urn: "urn:federation:MicrosoftOnline",
    })
}

/// `GET /{tenant}/oauth2/v2.0/authorize`: published because OIDC metadata requires it, but the
/// built-in issuer has no interactive sign-in.
pub(crate) async fn authorize() -> Response {
    oauth_response(OAuthError {
        error: "unsupported_response_type",
        description: "Qualify's built-in issuer has no interactive sign-in; use the token endpoint's client_credentials or password grant.".into(),
        basic_auth_failed: false,
    })
}

/// Get the keys that verify tokens.
///
/// The public keys that verify tokens.
#[utoipa::path(get, path = "/discovery/v2.0/keys", tag = "identity", operation_id = "signingKeys",
    responses((status = 200, description = "A JWK set (RFC 7517)", body = serde_json::Value)))]
pub(crate) async fn keys(State(state): State<AppState>) -> Response {
    let jwks = state.app.identity().jwks().await;
    let mut response =
        json_bytes(StatusCode::OK, axum::body::Bytes::from_owner(jwks)).into_response();
    // Short, so clients see a rotation soon.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

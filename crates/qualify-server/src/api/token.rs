//! `POST /{tenant}/oauth2/v2.0/token`: Entra ID's v2 token endpoint. The grants are
//! `qualify_app::identity`'s; this reads the form and the HTTP Basic credentials, and answers
//! as Entra does (`Cache-Control: no-store`, OAuth 2.0's error body).

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use qualify_app::identity::{OAuthError, TokenRequest};
use serde::Deserialize;

use crate::error::ApiError;
use crate::error::oauth_response;
use crate::http::PathText;
use crate::http::client_address::ClientAddress;
use crate::state::AppState;
use crate::wire::Wire;

/// The form fields of a token request. Unknown fields are ignored, as Entra does.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct TokenForm {
    #[schema(pattern = "^(client_credentials|password|refresh_token)$")]
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
    username: Option<String>,
    password: Option<String>,
    refresh_token: Option<String>,
    /// `1` asks for Entra's `client_info` beside the tokens (MSAL always sends it).
    client_info: Option<String>,
}

/// The client id and secret of HTTP Basic authentication (`client_secret_basic`).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// A 400 from the token endpoint, for the OpenAPI document: OAuth's body, or Partner Center's
/// when a request-id header is unusable (checked before the endpoint runs).
#[derive(utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // a schema, never built
pub(crate) enum TokenRequestError {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unsupported_grant_type`, `invalid_scope`.
    OAuth(qualify_types::OAuthErrorBody),
    /// An unusable `MS-RequestId` or `MS-CorrelationId` (3000).
    Header(qualify_types::ErrorBody),
}

/// Issue an access token.
///
/// Issues an access token.
#[utoipa::path(post, path = "/{tenant}/oauth2/v2.0/token", tag = "identity", operation_id = "issueToken",
    params(("tenant" = String, Path, description = "The caller's tenant id, or organizations (the application's tenant; password and refresh_token grants) or common (refresh_token only)", pattern = r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|organizations|common)$")),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded",
        description = "client_credentials (App-only), password (App+User; with offline_access a refresh token too), or refresh_token"),
    responses(
        (status = 200, description = "A token", body = qualify_types::TokenResponse),
        (status = 400, description = "An OAuth 2.0 error: invalid_request, invalid_client, invalid_grant, unsupported_grant_type, invalid_scope", body = TokenRequestError),
        (status = 401, description = "invalid_client, when the client authenticated with HTTP Basic", body = qualify_types::OAuthErrorBody),
        (status = 503, description = "The store is unavailable", body = qualify_types::OAuthErrorBody)))]
pub(crate) async fn issue(
    State(state): State<AppState>,
    tenant: Result<PathText, ApiError>,
    ClientAddress(source): ClientAddress,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    let issued = issue_token(&state, tenant, (&headers, source), form).await;
    match &issued {
        Ok(grant_type) => state.app.metrics().token_issued(grant_type.1),
        Err(refused) => state.app.metrics().token_refused(refused.error),
    }
    match issued {
        Ok((response, _)) => response,
        Err(refused) => oauth_response(refused),
    }
}

/// Reads the request, asks for the tokens, and answers with them; with the grant type.
async fn issue_token(
    state: &AppState,
    tenant: Result<PathText, ApiError>,
    (headers, source): (&HeaderMap, Option<std::net::IpAddr>),
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<(Response, &'static str), OAuthError> {
    let Form(form) =
        form.map_err(|rejection| OAuthError::invalid_request(rejection.body_text()))?;
    // A tenant whose %-escapes are not UTF-8 is a tenant that does not exist, shown as such.
    let segment = tenant.map_or_else(|_| char::REPLACEMENT_CHARACTER.to_string(), |t| t.0);
    let basic = basic_credentials(headers);
    let request = TokenRequest {
        tenant: &segment,
        grant_type: form.grant_type.as_deref(),
        client_id: form.client_id.as_deref(),
        client_secret: form.client_secret.as_deref(),
        scope: form.scope.as_deref(),
        username: form.username.as_deref(),
        password: form.password.as_deref(),
        refresh_token: form.refresh_token.as_deref(),
        client_info: form.client_info.as_deref(),
        basic: basic
            .as_ref()
            .map(|(id, secret)| (id.as_str(), secret.as_str())),
        source,
    };
    let issued = state.app.identity().issue_token(&request).await?;
    // The token endpoint's own record, for the conformance checks of a development server.
    if let Some(control) = state.test_control.as_deref() {
        control.journal.token_issued(
            issued.tenant,
            crate::test_control::journal::TokenIssued {
                client_id: issued.client_id,
                user: issued.grant_type != "client_credentials",
                at: state.app.clock().now(),
                lifetime_secs: issued.response.expires_in,
            },
        );
    }
    let mut response = Wire::ok(issued.response).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok((response, issued.grant_type))
}

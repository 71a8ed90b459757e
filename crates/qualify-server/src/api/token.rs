//! `POST /{tenant}/oauth2/v2.0/token`: Entra ID's v2 token endpoint, for the client credentials
//! (App-only) and password (App+User) grants, with Partner Center's API as the only resource.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use qualify_types::{PARTNER_CENTER_AUDIENCE, TenantId, Timestamp, TokenResponse};
use serde::Deserialize;

use crate::identity::{Subject, USER_IMPERSONATION, check_client, check_user, mint};
use crate::wire::Wire;
use crate::{AppState, OAuthError};

/// The form fields of a token request. Unknown fields are ignored, as Entra does.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
    username: Option<String>,
    password: Option<String>,
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

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, OAuthError> {
    value.as_deref().filter(|v| !v.is_empty()).ok_or_else(|| {
        OAuthError::invalid_request(format!(
            "AADSTS900144: The request body must contain the following parameter: '{name}'."
        ))
    })
}

/// Which of Partner Center's scopes the request asks for: `.default` for either grant,
/// `user_impersonation` for the password grant. Other OpenID scopes may ride along.
fn granted_scope(requested: &str, delegated: bool) -> Result<String, OAuthError> {
    let default = format!("{PARTNER_CENTER_AUDIENCE}/.default");
    let impersonation = format!("{PARTNER_CENTER_AUDIENCE}/{USER_IMPERSONATION}");
    let mut granted = None;
    for scope in requested.split_whitespace() {
        if scope == default || (delegated && scope == impersonation) {
            granted = Some(if delegated {
                impersonation.clone()
            } else {
                default.clone()
            });
        } else if !matches!(scope, "openid" | "profile" | "offline_access" | "email") {
            let shown: String = scope.chars().take(120).collect();
            return Err(OAuthError::invalid_scope(format!(
                "AADSTS70011: The scope '{shown}' is not valid here; ask for {default}{}.",
                if delegated {
                    format!(" or {impersonation}")
                } else {
                    String::new()
                }
            )));
        }
    }
    granted.ok_or_else(|| {
        OAuthError::invalid_scope(format!("AADSTS70011: The scope must include {default}."))
    })
}

/// Issues an access token.
pub(crate) async fn issue(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<Response, OAuthError> {
    let Form(form) =
        form.map_err(|rejection| OAuthError::invalid_request(rejection.body_text()))?;
    let tenant: TenantId = tenant.parse().map_err(|_| {
        let shown: String = tenant.chars().take(64).collect();
        OAuthError::invalid_request(format!(
            "AADSTS90002: Tenant '{shown}' not found; use the tenant's GUID."
        ))
    })?;
    let basic = basic_credentials(&headers);
    let grant_type = required(&form.grant_type, "grant_type")?;
    let delegated = match grant_type {
        "client_credentials" => false,
        "password" => true,
        other => return Err(OAuthError::unsupported_grant_type(other)),
    };
    let scope = granted_scope(required(&form.scope, "scope")?, delegated)?;
    let (client_id, client_secret) = match (&basic, &form.client_id) {
        (Some(_), Some(_)) if form.client_secret.is_some() => {
            return Err(OAuthError::invalid_request(
                "AADSTS90023: Send the client's credentials once: in the body or with HTTP Basic, not both.",
            ));
        }
        (Some((id, secret)), _) => (id.as_str(), secret.as_str()),
        (None, _) => (
            required(&form.client_id, "client_id")?,
            required(&form.client_secret, "client_secret")?,
        ),
    };
    let app = check_client(
        &state.store,
        tenant,
        client_id,
        client_secret,
        state.settings.dev,
    )
    .await
    .map_err(|error| OAuthError {
        basic_auth_failed: basic.is_some() && error.error == "invalid_client",
        ..error
    })?;
    let user = if delegated {
        let username = required(&form.username, "username")?;
        let password = required(&form.password, "password")?;
        Some(check_user(&state.store, &app, username, password, state.settings.dev).await?)
    } else {
        None
    };
    let subject = match &user {
        Some(user) => Subject::User(&app, user),
        None => Subject::App(&app),
    };
    let lifetime = state.settings.token_lifetime;
    let access_token = mint(
        &state.keys.current(),
        state.issuer_for(&tenant.to_string()),
        subject,
        lifetime,
        Timestamp::now(),
    )
    .map_err(|error| {
        tracing::error!(error = %error, "minting a token failed");
        OAuthError {
            error: "server_error",
            description: "The token could not be issued.".into(),
            basic_auth_failed: false,
        }
    })?;
    tracing::info!(tenant = %tenant, client_id = %app.client_id, grant_type, "issued a token");
    let mut response = Wire::ok(TokenResponse {
        token_type: "Bearer".into(),
        expires_in: lifetime.as_secs(),
        ext_expires_in: lifetime.as_secs(),
        scope,
        access_token,
        refresh_token: None,
    })
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_must_name_partner_centers_api() {
        assert_eq!(
            granted_scope("https://api.partnercenter.microsoft.com/.default", false).unwrap(),
            "https://api.partnercenter.microsoft.com/.default"
        );
        assert_eq!(
            granted_scope(
                "openid https://api.partnercenter.microsoft.com/user_impersonation offline_access",
                true
            )
            .unwrap(),
            "https://api.partnercenter.microsoft.com/user_impersonation"
        );
        assert!(
            granted_scope(
                "https://api.partnercenter.microsoft.com/user_impersonation",
                false
            )
            .is_err()
        );
        assert!(granted_scope("https://graph.microsoft.com/.default", false).is_err());
        assert!(granted_scope("openid", false).is_err());
    }
}

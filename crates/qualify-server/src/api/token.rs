//! `POST /{tenant}/oauth2/v2.0/token`: Entra ID's v2 token endpoint, with Partner Center's API as
//! the only resource. Grants: `client_credentials` (App-only), `password` (App+User; with
//! `offline_access` in the scope it also returns a refresh token), and `refresh_token` (rotating:
//! each use returns a new one and retires the old; reusing a retired one revokes them all).

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use qualify_store::{AppRecord, NewRefreshToken, Redeemed, UserRecord};
use qualify_types::{PARTNER_CENTER_AUDIENCE, TokenResponse};
use serde::Deserialize;
use uuid::Uuid;

use crate::http::PathText;
use crate::identity::{
    Authority, OPENID_SCOPES, Subject, USER_IMPERSONATION, check_client, check_user, client_info,
    mint, mint_id_token, random_secret, secret_hash,
};
use crate::wire::Wire;
use crate::{ApiError, AppState, OAuthError};

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

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, OAuthError> {
    value.as_deref().filter(|v| !v.is_empty()).ok_or_else(|| {
        OAuthError::invalid_request(format!(
            "AADSTS900144: The request body must contain the following parameter: '{name}'."
        ))
    })
}

/// A token that could not be signed: logged with its cause, answered without it.
fn signing_failed(error: jsonwebtoken::errors::Error) -> OAuthError {
    tracing::error!(error = %error, "signing a token failed");
    server_error("signing failed")
}

fn server_error(what: &str) -> OAuthError {
    OAuthError {
        error: "server_error",
        description: format!("The token could not be issued: {what}."),
        basic_auth_failed: false,
    }
}

/// The scope granted: Partner Center's `.default` (App-only) or `user_impersonation` (App+User),
/// plus `offline_access` when asked for with a delegated grant. Other OpenID scopes may ride along.
fn granted_scope(requested: &str, delegated: bool) -> Result<(String, bool), OAuthError> {
    let default = format!("{PARTNER_CENTER_AUDIENCE}/.default");
    let impersonation = format!("{PARTNER_CENTER_AUDIENCE}/{USER_IMPERSONATION}");
    let mut api = false;
    let mut offline = false;
    for scope in requested.split_whitespace() {
        if scope == default || (delegated && scope == impersonation) {
            api = true;
        } else if scope == "offline_access" {
            offline = delegated;
        } else if !matches!(scope, "openid" | "profile" | "email") {
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
    if !api {
        return Err(OAuthError::invalid_scope(format!(
            "AADSTS70011: The scope must include {default}."
        )));
    }
    let granted = match (delegated, offline) {
        (false, _) => default,
        (true, false) => impersonation,
        (true, true) => format!("{impersonation} offline_access"),
    };
    Ok((granted, offline))
}

/// Authenticates the client, through the brute-force throttle.
async fn client(
    state: &AppState,
    authority: Authority,
    form: &TokenForm,
    basic: Option<&(String, String)>,
) -> Result<AppRecord, OAuthError> {
    let (client_id, client_secret) = match (basic, &form.client_id) {
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
    if let Some(wait) = state.login_throttle.locked_for(client_id) {
        return Err(OAuthError::locked(wait));
    }
    match check_client(
        &state.store,
        authority,
        client_id,
        client_secret,
        state.settings.dev,
    )
    .await
    {
        Ok(app) => Ok(app),
        Err(error) => {
            if error.error == "invalid_client" {
                state.login_throttle.failed(client_id);
            }
            Err(OAuthError {
                basic_auth_failed: basic.is_some() && error.error == "invalid_client",
                ..error
            })
        }
    }
}

/// The user a refresh token stands for, if it is valid for `app`.
async fn redeem(
    state: &AppState,
    app: &AppRecord,
    presented: &str,
    successor: &str,
) -> Result<(UserRecord, String), OAuthError> {
    let invalid = || {
        OAuthError::invalid_grant(
            "AADSTS70008: The refresh token has expired or is invalid; sign in again.",
        )
    };
    let now = crate::clock::wall_now();
    let expires = now.plus_millis(
        i64::try_from(state.settings.identity.refresh_token_lifetime.as_millis())
            .unwrap_or(i64::MAX),
    );
    let redeemed = state
        .store
        .redeem_refresh_token(
            &secret_hash(presented),
            &secret_hash(successor),
            expires,
            now,
        )
        .await
        .map_err(|_| server_error("the store is unavailable"))?;
    let (client_id, user_id, scope) = match redeemed {
        Redeemed::Valid {
            client_id,
            user_id,
            scope,
        } => (client_id, user_id, scope),
        Redeemed::Reused => {
            tracing::warn!(client_id = %app.client_id, "a used refresh token was presented again; its family is revoked");
            return Err(OAuthError::invalid_grant(
                "AADSTS70000: The refresh token was already used; every token of its sign-in is revoked. Sign in again.",
            ));
        }
        Redeemed::Unknown | Redeemed::Expired => return Err(invalid()),
    };
    if client_id != app.client_id {
        // Presented by another application than it was issued to: treat it as stolen.
        let _ = state
            .store
            .revoke_refresh_family_of(&secret_hash(successor), now)
            .await;
        return Err(invalid());
    }
    let user = state
        .store
        .find_user(user_id)
        .await
        .map_err(|_| server_error("the store is unavailable"))?
        .ok_or_else(invalid)?;
    if user.disabled || user.tenant_id != app.tenant_id || (user.dev && !state.settings.dev) {
        return Err(invalid());
    }
    Ok((user, scope))
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
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<Response, OAuthError> {
    let issued = issue_token(&state, tenant, &headers, form).await;
    match &issued {
        Ok((_, grant_type)) => state.metrics.token_issued(grant_type),
        Err(refused) => state.metrics.token_refused(refused.error),
    }
    issued.map(|(response, _)| response)
}

/// The grant types the endpoint takes.
pub(crate) const GRANT_TYPES: [&str; 3] = ["client_credentials", "password", "refresh_token"];

/// Refuses a grant over a multi-tenant authority where Entra does: a user's password or an
/// application's own credentials over `/common`, an application's over `/organizations` too
/// (an application acting as itself needs its tenant named).
fn refuse_grant_over(authority: Authority, grant_type: &str) -> Result<(), OAuthError> {
    match (authority, grant_type) {
        (Authority::Common, "password" | "client_credentials") => Err(OAuthError::invalid_request(
            "AADSTS9001023: The grant type is not supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.",
        )),
        (Authority::Organizations, "client_credentials") => Err(OAuthError::invalid_request(
            "The client_credentials grant needs the application's tenant in the path: use the tenant-specific endpoint.",
        )),
        _ => Ok(()),
    }
}

/// Issues a token, or says why not; with the grant type it was issued under.
async fn issue_token(
    state: &AppState,
    tenant: Result<PathText, ApiError>,
    headers: &HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<(Response, &'static str), OAuthError> {
    let Form(form) =
        form.map_err(|rejection| OAuthError::invalid_request(rejection.body_text()))?;
    // A tenant whose %-escapes are not UTF-8 is a tenant that does not exist, shown as such.
    let segment = tenant.map_or_else(|_| char::REPLACEMENT_CHARACTER.to_string(), |t| t.0);
    let authority = Authority::parse(&segment).ok_or_else(|| {
        let shown: String = segment.chars().take(64).collect();
        OAuthError::invalid_request(format!(
            "AADSTS90002: Tenant '{shown}' not found; use the tenant's GUID, organizations or common."
        ))
    })?;
    let basic = basic_credentials(headers);
    let requested = required(&form.grant_type, "grant_type")?;
    let Some(grant_type) = GRANT_TYPES.into_iter().find(|g| *g == requested) else {
        return Err(OAuthError::unsupported_grant_type(requested));
    };
    refuse_grant_over(authority, grant_type)?;
    let app = client(state, authority, &form, basic.as_ref()).await?;
    // The tenant the tokens are for: the application's, which the path named or stood for.
    let tenant = app.tenant_id;
    let (user, scope, refresh) = match grant_type {
        "client_credentials" => (
            None,
            granted_scope(required(&form.scope, "scope")?, false)?.0,
            None,
        ),
        "password" => {
            let (scope, offline) = granted_scope(required(&form.scope, "scope")?, true)?;
            let username = required(&form.username, "username")?;
            let password = required(&form.password, "password")?;
            let user = match check_user(&state.store, &app, username, password, state.settings.dev)
                .await
            {
                Ok(user) => user,
                Err(error) => {
                    state.login_throttle.failed(&app.client_id.to_string());
                    return Err(error);
                }
            };
            let refresh = if offline {
                Some(start_refresh_family(state, &app, &user, &scope).await?)
            } else {
                None
            };
            (Some(user), scope, refresh)
        }
        _ => {
            let presented = required(&form.refresh_token, "refresh_token")?;
            let successor = random_secret().ok_or_else(|| server_error("no randomness"))?;
            let (user, scope) = redeem(state, &app, presented, &successor).await?;
            (Some(user), scope, Some(successor))
        }
    };
    state.login_throttle.succeeded(&app.client_id.to_string());
    let subject = match &user {
        Some(user) => Subject::User(&app, user),
        None => Subject::App(&app),
    };
    let lifetime = state.settings.identity.token_lifetime;
    // On a new database, the first key may still be in the making: this waits for it.
    let keys = state.keys.current().await;
    // One issuer and one moment for every token of the answer, as Entra's share their `iat`.
    let issuer = state.issuer_for(&tenant.to_string());
    let now = crate::clock::wall_now();
    let access_token =
        mint(&keys, issuer.clone(), subject, lifetime, now).map_err(signing_failed)?;
    // OpenID Connect rides along a delegated grant, as with Entra: the ID token when the scope
    // asks for `openid`, `client_info` when the client asks for it, and the OpenID scopes
    // asked for echoed in the scope granted.
    let openid = match &user {
        Some(_) => openid_scopes_asked(form.scope.as_deref().unwrap_or_default()),
        None => Vec::new(),
    };
    let id_token = match &user {
        Some(user) if openid.contains(&"openid") => {
            Some(mint_id_token(&keys, issuer, &app, user, lifetime, now).map_err(signing_failed)?)
        }
        _ => None,
    };
    let client_info = user
        .as_ref()
        .filter(|_| form.client_info.as_deref() == Some("1"))
        .map(client_info);
    let scope = std::iter::once(scope.as_str())
        .chain(openid)
        .collect::<Vec<_>>()
        .join(" ");
    tracing::info!(tenant = %tenant, client_id = %app.client_id, grant_type, "issued a token");
    let mut response = Wire::ok(TokenResponse {
        token_type: "Bearer".into(),
        expires_in: lifetime.as_secs(),
        ext_expires_in: lifetime.as_secs(),
        scope,
        access_token,
        refresh_token: refresh,
        id_token,
        client_info,
    })
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok((response, grant_type))
}

/// The OpenID scopes among those `requested`, each once, in the order asked.
fn openid_scopes_asked(requested: &str) -> Vec<&str> {
    let mut asked = Vec::new();
    for scope in requested.split_whitespace() {
        if OPENID_SCOPES.contains(&scope) && !asked.contains(&scope) {
            asked.push(scope);
        }
    }
    asked
}

/// The first refresh token of a new sign-in.
async fn start_refresh_family(
    state: &AppState,
    app: &AppRecord,
    user: &UserRecord,
    scope: &str,
) -> Result<String, OAuthError> {
    let token = random_secret().ok_or_else(|| server_error("no randomness"))?;
    let now = crate::clock::wall_now();
    let family = Uuid::new_v4().to_string();
    let hash = secret_hash(&token);
    let record = NewRefreshToken {
        token_hash: &hash,
        family_id: &family,
        client_id: app.client_id,
        user_id: user.id,
        scope,
        expires_at: now.plus_millis(
            i64::try_from(state.settings.identity.refresh_token_lifetime.as_millis())
                .unwrap_or(i64::MAX),
        ),
    };
    state
        .store
        .insert_refresh_token(&record, now)
        .await
        .map_err(|_| server_error("the store is unavailable"))?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_must_name_partner_centers_api() {
        let default = "https://api.partnercenter.microsoft.com/.default";
        let user = "https://api.partnercenter.microsoft.com/user_impersonation";
        assert_eq!(
            granted_scope(default, false).unwrap(),
            (default.to_owned(), false)
        );
        assert_eq!(
            granted_scope(&format!("openid {user}"), true).unwrap(),
            (user.to_owned(), false)
        );
        assert_eq!(
            granted_scope(&format!("{user} offline_access"), true).unwrap(),
            (format!("{user} offline_access"), true)
        );
        assert_eq!(
            granted_scope(&format!("{default} offline_access"), false).unwrap(),
            (default.to_owned(), false)
        );
        assert!(granted_scope(user, false).is_err());
        assert!(granted_scope("https://graph.microsoft.com/.default", false).is_err());
        assert!(granted_scope("openid", false).is_err());
    }

    #[test]
    fn the_openid_scopes_asked_are_echoed_once_each() {
        assert_eq!(
            openid_scopes_asked(
                "https://api.partnercenter.microsoft.com/user_impersonation profile openid offline_access openid"
            ),
            ["profile", "openid"]
        );
        assert!(openid_scopes_asked("https://api.partnercenter.microsoft.com/.default").is_empty());
    }
}

//! The token endpoint's grants, as Entra ID's v2 endpoint issues them with Partner Center's API
//! as the only resource: `client_credentials` (App-only), `password` (App+User; with
//! `offline_access` in the scope it also returns a refresh token), and `refresh_token`
//! (rotating: each use returns a new one and retires the old; reusing a retired one revokes
//! them all). Client ids are throttled against guessing.

use qualify_store::{AppRecord, NewRefreshToken, Redeemed, Tx, UserRecord};
use qualify_types::{PARTNER_CENTER_AUDIENCE, TokenResponse};
use uuid::Uuid;

use super::{
    Authority, Identity, OAuthError, OPENID_SCOPES, Subject, USER_IMPERSONATION, check_client,
    check_user, client_info, mint, mint_id_token, random_secret, secret_hash,
};

/// The grant types the endpoint takes.
pub const GRANT_TYPES: [&str; 3] = ["client_credentials", "password", "refresh_token"];

/// A token request, as the client sent it: the path's tenant segment and the form's fields
/// (each `None` when absent), and the client's credentials when it sent them with HTTP Basic.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenRequest<'a> {
    /// The tenant segment of the path: a tenant id, `organizations` or `common`.
    pub tenant: &'a str,
    pub grant_type: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub client_secret: Option<&'a str>,
    pub scope: Option<&'a str>,
    pub username: Option<&'a str>,
    pub password: Option<&'a str>,
    pub refresh_token: Option<&'a str>,
    /// `1` asks for Entra's `client_info` beside the tokens (MSAL always sends it).
    pub client_info: Option<&'a str>,
    /// `client_secret_basic`: the client id and secret of HTTP Basic authentication.
    pub basic: Option<(&'a str, &'a str)>,
    /// Where the request came from (the client's address), which failures are counted by.
    pub source: Option<std::net::IpAddr>,
}

/// The tokens issued, and the grant they were issued under.
#[derive(Debug)]
pub struct IssuedToken {
    /// The token endpoint's answer.
    pub response: TokenResponse,
    /// `client_credentials`, `password` or `refresh_token`.
    pub grant_type: &'static str,
    /// The tenant of the application it was issued to.
    pub tenant: qualify_types::TenantId,
    /// The application's client id.
    pub client_id: uuid::Uuid,
}

fn required<'a>(value: Option<&'a str>, name: &str) -> Result<&'a str, OAuthError> {
    value.filter(|v| !v.is_empty()).ok_or_else(|| {
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
    OAuthError::server_error(what)
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

impl Identity {
    /// Issues a token, or says why not; with the grant type it was issued under.
    pub async fn issue_token(&self, form: &TokenRequest<'_>) -> Result<IssuedToken, OAuthError> {
        let segment = form.tenant;
        let authority = Authority::parse(segment).ok_or_else(|| {
            let shown: String = segment.chars().take(64).collect();
            OAuthError::invalid_request(format!(
                "AADSTS90002: Tenant '{shown}' not found; use the tenant's GUID, organizations or common."
            ))
        })?;
        let requested = required(form.grant_type, "grant_type")?;
        let Some(grant_type) = GRANT_TYPES.into_iter().find(|g| *g == requested) else {
            return Err(OAuthError::unsupported_grant_type(requested));
        };
        refuse_grant_over(authority, grant_type)?;
        let app = self.client(authority, form).await?;
        // The tenant the tokens are for: the application's, which the path named or stood for.
        let tenant = app.tenant_id;
        let (user, scope, refresh) = match grant_type {
            "client_credentials" => (
                None,
                granted_scope(required(form.scope, "scope")?, false)?.0,
                None,
            ),
            "password" => {
                let (scope, offline) = granted_scope(required(form.scope, "scope")?, true)?;
                let username = required(form.username, "username")?;
                let password = required(form.password, "password")?;
                let user = match check_user(&self.store, &app, username, password, self.dev).await {
                    Ok(user) => user,
                    Err(error) => {
                        self.login_throttle
                            .failed(&app.client_id.to_string(), form.source);
                        return Err(error);
                    }
                };
                let refresh = if offline {
                    Some(self.start_refresh_family(&app, &user, &scope).await?)
                } else {
                    None
                };
                (Some(user), scope, refresh)
            }
            _ => {
                let presented = required(form.refresh_token, "refresh_token")?;
                let successor = random_secret().ok_or_else(|| server_error("no randomness"))?;
                let (user, scope) = self.redeem(&app, presented, &successor).await?;
                (Some(user), scope, Some(successor))
            }
        };
        self.login_throttle
            .succeeded(&app.client_id.to_string(), form.source);
        let subject = match &user {
            Some(user) => Subject::User(&app, user),
            None => Subject::App(&app),
        };
        let lifetime = self.settings.token_lifetime;
        // On a new database, the first key may still be in the making: this waits for it.
        let keys = self.keys.current().await;
        // One issuer and one moment for every token of the answer, as Entra's share their `iat`.
        let issuer = self.issuer_for(&tenant.to_string());
        let now = crate::clock::wall_now();
        let access_token =
            mint(&keys, issuer.clone(), subject, lifetime, now).map_err(signing_failed)?;
        // OpenID Connect rides along a delegated grant, as with Entra: the ID token when the scope
        // asks for `openid`, `client_info` when the client asks for it, and the OpenID scopes
        // asked for echoed in the scope granted.
        let openid = match &user {
            Some(_) => openid_scopes_asked(form.scope.unwrap_or_default()),
            None => Vec::new(),
        };
        let id_token = match &user {
            Some(user) if openid.contains(&"openid") => Some(
                mint_id_token(&keys, issuer, &app, user, lifetime, now).map_err(signing_failed)?,
            ),
            _ => None,
        };
        let client_info = user
            .as_ref()
            .filter(|_| form.client_info == Some("1"))
            .map(client_info);
        let scope = std::iter::once(scope.as_str())
            .chain(openid)
            .collect::<Vec<_>>()
            .join(" ");
        tracing::info!(tenant = %tenant, client_id = %app.client_id, grant_type, "issued a token");
        let response = TokenResponse {
            token_type: "Bearer".into(),
            expires_in: lifetime.as_secs(),
            ext_expires_in: lifetime.as_secs(),
            scope,
            access_token,
            refresh_token: refresh,
            id_token,
            client_info,
        };
        Ok(IssuedToken {
            response,
            grant_type,
            tenant,
            client_id: app.client_id,
        })
    }

    /// Authenticates the client, through the brute-force throttle.
    async fn client(
        &self,
        authority: Authority,
        form: &TokenRequest<'_>,
    ) -> Result<AppRecord, OAuthError> {
        let (basic, source) = (form.basic.as_ref(), form.source);
        let (client_id, client_secret) = match (basic, &form.client_id) {
            (Some(_), Some(_)) if form.client_secret.is_some() => {
                return Err(OAuthError::invalid_request(
                    "AADSTS90023: Send the client's credentials once: in the body or with HTTP Basic, not both.",
                ));
            }
            (Some((id, secret)), _) => (*id, *secret),
            (None, _) => (
                required(form.client_id, "client_id")?,
                required(form.client_secret, "client_secret")?,
            ),
        };
        if let Some(wait) = self.login_throttle.locked_for(client_id, source) {
            return Err(OAuthError::locked(wait));
        }
        match check_client(&self.store, authority, client_id, client_secret, self.dev).await {
            Ok(app) => Ok(app),
            Err(error) => {
                if error.error == "invalid_client" {
                    self.login_throttle.failed(client_id, source);
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
        &self,
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
            i64::try_from(self.settings.refresh_token_lifetime.as_millis()).unwrap_or(i64::MAX),
        );
        let redeemed = self
            .store
            .transaction(async |tx: &mut Tx| {
                tx.redeem_refresh_token(
                    &secret_hash(presented),
                    &secret_hash(successor),
                    expires,
                    now,
                )
                .await
            })
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
            let _ = self
                .store
                .transaction(async |tx: &mut Tx| {
                    tx.revoke_refresh_family_of(&secret_hash(successor), now)
                        .await
                })
                .await;
            return Err(invalid());
        }
        let user = self
            .store
            .find_user(user_id)
            .await
            .map_err(|_| server_error("the store is unavailable"))?
            .ok_or_else(invalid)?;
        if user.disabled || user.tenant_id != app.tenant_id || (user.dev && !self.dev) {
            return Err(invalid());
        }
        Ok((user, scope))
    }

    /// The first refresh token of a new sign-in.
    async fn start_refresh_family(
        &self,
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
                i64::try_from(self.settings.refresh_token_lifetime.as_millis()).unwrap_or(i64::MAX),
            ),
        };
        self.store
            .transaction(async |tx: &mut Tx| tx.insert_refresh_token(&record, now).await)
            .await
            .map_err(|_| server_error("the store is unavailable"))?;
        Ok(token)
    }
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

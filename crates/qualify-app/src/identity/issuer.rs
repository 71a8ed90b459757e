//! Minting access tokens: RS256 JWTs with Entra ID's claims for Partner Center's API.

use std::time::Duration;

use jsonwebtoken::{Algorithm, Header, encode};
use qualify_store::{AppRecord, UserRecord};
use qualify_types::{PARTNER_CENTER_AUDIENCE, Timestamp};
use uuid::Uuid;

use super::keys::KeySet;
use super::{AccessClaims, USER_IMPERSONATION};

/// Who a token is for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Subject<'a> {
    /// An application acting as itself (client credentials): App-only.
    App(&'a AppRecord),
    /// An application acting for a user (password grant): App+User.
    User(&'a AppRecord, &'a UserRecord),
}

/// A signed access token for `subject`, issued by `issuer`, valid for `lifetime` from `now`.
pub(crate) fn mint(
    keys: &KeySet,
    issuer: String,
    subject: Subject<'_>,
    lifetime: Duration,
    now: Timestamp,
) -> Result<String, jsonwebtoken::errors::Error> {
    let app = match subject {
        Subject::App(app) | Subject::User(app, _) => app,
    };
    let issued = now.unix_seconds();
    let lifetime = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
    let mut claims = AccessClaims {
        iss: issuer,
        aud: PARTNER_CENTER_AUDIENCE.to_owned(),
        sub: app.client_id.to_string(),
        tid: app.tenant_id.to_string(),
        iat: issued,
        nbf: issued,
        exp: issued.saturating_add(lifetime),
        appid: Some(app.client_id.to_string()),
        azp: Some(app.client_id.to_string()),
        oid: Some(app.client_id.to_string()),
        jti: Some(Uuid::new_v4().to_string()),
        idtyp: Some("app".to_owned()),
        ver: Some("2.0".to_owned()),
        scp: None,
        upn: None,
        amr: None,
    };
    if let Subject::User(_, user) = subject {
        claims.sub = user.id.to_string();
        claims.oid = Some(user.id.to_string());
        claims.idtyp = Some("user".to_owned());
        claims.scp = Some(USER_IMPERSONATION.to_owned());
        claims.upn = Some(user.username.clone());
        // The built-in issuer stands in for Entra with MFA enforced, as Partner Center requires.
        claims.amr = Some(vec!["pwd".to_owned(), "mfa".to_owned()]);
    }
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(keys.signer.kid.clone());
    encode(&header, &claims, &keys.signer.key)
}

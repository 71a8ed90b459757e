//! What Microsoft's token libraries need from a delegated sign-in besides the access token: an
//! ID token naming the user, and `client_info`, Entra's pair of the user's and the tenant's ids.
//! MSAL builds its account from them (its cache key, and what silent renewal looks up), and
//! azure-identity its `AuthenticationRecord`; without them a password sign-in works once and
//! renews never.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header, encode};
use qualify_store::{AppRecord, UserRecord};
use qualify_types::Timestamp;
use serde::Serialize;
use uuid::Uuid;

use super::keys::KeySet;

/// The scopes of OpenID Connect, which ask for an ID token (`openid`) and what it says.
pub const OPENID_SCOPES: [&str; 3] = ["openid", "profile", "email"];

/// An ID token's claims, as Entra's v2 endpoint writes them for a user.
#[derive(Debug, Serialize)]
struct IdClaims<'a> {
    /// The application the token is for: its client id.
    aud: String,
    iss: String,
    iat: i64,
    nbf: i64,
    exp: i64,
    /// The user's display name; Qualify knows users by their sign-in name only.
    name: &'a str,
    /// The user's object id.
    oid: String,
    preferred_username: &'a str,
    sub: String,
    tid: String,
    /// A unique token id.
    uti: String,
    ver: &'static str,
}

/// A signed ID token for `user` signing in to `app`, issued by `issuer`.
pub(crate) fn mint_id_token(
    keys: &KeySet,
    issuer: String,
    app: &AppRecord,
    user: &UserRecord,
    lifetime: Duration,
    now: Timestamp,
) -> Result<String, jsonwebtoken::errors::Error> {
    let issued = now.unix_seconds();
    let lifetime = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
    let claims = IdClaims {
        aud: app.client_id.to_string(),
        iss: issuer,
        iat: issued,
        nbf: issued,
        exp: issued.saturating_add(lifetime),
        name: &user.username,
        oid: user.id.to_string(),
        preferred_username: &user.username,
        sub: user.id.to_string(),
        tid: user.tenant_id.to_string(),
        uti: Uuid::new_v4().simple().to_string(),
        ver: "2.0",
    };
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(keys.signer.kid.clone());
    encode(&header, &claims, &keys.signer.key)
}

/// `client_info` as Entra encodes it: unpadded base64url of `{"uid":…,"utid":…}`, the user's
/// object id and tenant (MSAL's home account id is `uid.utid`).
pub(crate) fn client_info(user: &UserRecord) -> String {
    let json = serde_json::json!({
        "uid": user.id.to_string(),
        "utid": user.tenant_id.to_string(),
    });
    URL_SAFE_NO_PAD.encode(json.to_string())
}

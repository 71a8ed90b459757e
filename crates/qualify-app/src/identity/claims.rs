//! The claims of an access token, as Microsoft Entra ID writes them for Partner Center's API.

use serde::{Deserialize, Serialize};

/// An access token's claims. The built-in issuer writes all of them; tokens are read with the
/// optional ones optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AccessClaims {
    /// Issuer: `{public URL}/{tenant}/v2.0`.
    pub iss: String,
    /// Audience: `https://api.partnercenter.microsoft.com`.
    pub aud: String,
    /// Subject: the user's or the application's object id.
    pub sub: String,
    /// The caller's tenant.
    pub tid: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Expires.
    pub exp: i64,
    /// The application's client id (Entra v1 name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
    /// The application's client id (Entra v2 name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    /// The principal's object id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oid: Option<String>,
    /// A unique token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// `app` or `user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idtyp: Option<String>,
    /// Token version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ver: Option<String>,
    /// Delegated scopes, space separated; `user_impersonation` makes it App+User.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scp: Option<String>,
    /// The user's sign-in name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    /// How the user authenticated, e.g. `["pwd", "mfa"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
}

impl AccessClaims {
    /// The delegated scopes.
    pub(crate) fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scp.as_deref().unwrap_or_default().split_whitespace()
    }
}

//! The token endpoint's bodies, shaped as Microsoft Entra ID's v2 endpoint answers.

use serde::{Deserialize, Serialize};

/// A successful token response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Entra's extended lifetime; the same as `expires_in` here.
    #[serde(default)]
    pub ext_expires_in: u64,
    /// The scopes granted, space separated.
    #[serde(default)]
    pub scope: String,
    /// The JWT to send as `Authorization: Bearer …`.
    pub access_token: String,
    /// A refresh token (password grant only), when the server issues them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// An OpenID Connect ID token naming the user, for a delegated grant whose scope asks for
    /// `openid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// Entra's `client_info` (unpadded base64url of `{"uid":…,"utid":…}`), for a delegated
    /// grant that sends `client_info=1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_info: Option<String>,
}

/// An OAuth 2.0 error (RFC 6749 §5.2): `invalid_client`, `invalid_grant`, ….
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OAuthErrorBody {
    /// The RFC 6749 error code.
    pub error: String,
    /// A sentence for a human.
    pub error_description: String,
}

//! Verifying the bearer token of every API call: signature (RS256 only, a key of the issuer),
//! issuer, audience, expiry and not-before with a small clock skew, and a tenant that is known,
//! enabled, and not a development identity unless the server runs with `--dev`.

use std::sync::Arc;

use axum::http::{HeaderMap, header};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation, decode, decode_header};
use qualify_store::{Store, TenantKind};
use qualify_types::{PARTNER_CENTER_AUDIENCE, TenantId};

use super::principal::{Principal, PrincipalUser};
use super::{AccessClaims, KeyRing, USER_IMPERSONATION};
use crate::ApiError;

/// Tokens longer than this are refused unread; Entra's are well under 4 KiB.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Turns a request's `Authorization` header into a [`Principal`].
pub(crate) struct Authenticator {
    pub(crate) keys: Arc<KeyRing>,
    /// The public URL, without a trailing slash; issuers are `{base}/{tenant}/v2.0`.
    pub(crate) issuer_base: String,
    pub(crate) clock_skew_secs: u64,
    pub(crate) store: Store,
    pub(crate) dev_mode: bool,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("issuer_base", &self.issuer_base)
            .finish_non_exhaustive()
    }
}

/// The token of `Authorization: Bearer <token>` (scheme in any case).
fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::MissingToken)?;
    let value = value.to_str().map_err(|_| ApiError::MissingToken)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(ApiError::MissingToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::MissingToken);
    }
    Ok(token.trim())
}

fn rejection(kind: &ErrorKind) -> ApiError {
    ApiError::InvalidToken(match kind {
        ErrorKind::ExpiredSignature => "it has expired.",
        ErrorKind::ImmatureSignature => "it is not valid yet (nbf).",
        ErrorKind::InvalidAudience => {
            "its audience is not https://api.partnercenter.microsoft.com."
        }
        ErrorKind::InvalidSignature => "its signature does not verify.",
        ErrorKind::InvalidAlgorithm => "it is not signed with RS256.",
        ErrorKind::MissingRequiredClaim(_) => {
            "it lacks a required claim (exp, nbf, iss, aud, sub)."
        }
        _ => "it could not be decoded.",
    })
}

impl Authenticator {
    /// The issuer of the built-in token service for `tenant`.
    pub(crate) fn issuer_for(&self, tenant: &str) -> String {
        format!("{}/{tenant}/v2.0", self.issuer_base)
    }

    /// Who sent `headers`, if their token is valid.
    pub(crate) async fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, ApiError> {
        let token = bearer(headers)?;
        if token.len() > MAX_TOKEN_LEN {
            return Err(ApiError::InvalidToken("it is too long."));
        }
        let header =
            decode_header(token).map_err(|_| ApiError::InvalidToken("it is not a JWT."))?;
        // Only the key's own algorithm: never `none`, never HMAC with the public key as secret.
        if header.alg != Algorithm::RS256 {
            return Err(ApiError::InvalidToken("it is not signed with RS256."));
        }
        let kid = header
            .kid
            .ok_or(ApiError::InvalidToken("it names no signing key (kid)."))?;
        let key = self
            .keys
            .verifier(&kid)
            .await
            .ok_or(ApiError::InvalidToken(
                "it is signed by a key this issuer does not have.",
            ))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[PARTNER_CENTER_AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.leeway = self.clock_skew_secs;
        validation.validate_nbf = true;
        let claims = decode::<AccessClaims>(token, &key, &validation)
            .map_err(|error| rejection(error.kind()))?
            .claims;
        let tenant_id: TenantId = claims
            .tid
            .parse()
            .map_err(|_| ApiError::InvalidToken("its tenant (tid) is not a GUID."))?;
        if claims.iss != self.issuer_for(&claims.tid) {
            return Err(ApiError::InvalidToken("its issuer is not this server's."));
        }
        let tenant = self
            .store
            .find_tenant(tenant_id)
            .await?
            .ok_or(ApiError::InvalidToken("its tenant is not known here."))?;
        if tenant.disabled {
            return Err(ApiError::InvalidToken("its tenant is disabled."));
        }
        if tenant.dev && !self.dev_mode {
            return Err(ApiError::InvalidToken(
                "it belongs to a well-known development identity, refused because the server is not running with --dev.",
            ));
        }
        Ok(principal(claims, tenant_id, tenant.kind))
    }
}

fn principal(claims: AccessClaims, tenant_id: TenantId, tenant_kind: TenantKind) -> Principal {
    let delegated = claims.scopes().any(|scope| scope == USER_IMPERSONATION);
    let mfa = claims
        .amr
        .as_ref()
        .is_some_and(|amr| amr.iter().any(|m| m == "mfa"));
    let user = delegated.then(|| PrincipalUser {
        object_id: claims.oid.clone().unwrap_or_else(|| claims.sub.clone()),
        upn: claims.upn.clone(),
    });
    Principal {
        tenant_id,
        tenant_kind,
        app_id: claims.appid.or(claims.azp),
        user,
        mfa,
    }
}

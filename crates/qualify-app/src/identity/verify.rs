//! Verifying the bearer token of every API call. A token is the built-in issuer's (RS256, one of
//! its keys, issuer `{public URL}/{tenant}/v2.0`) or a trusted external issuer's; either way its
//! signature, algorithm, issuer, audience, expiry and not-before (with a small clock skew) are
//! checked. Verified tokens are cached until they expire, so a client reusing its token pays for
//! the signature once. What can change at any moment (a tenant, application or user disabled)
//! is read from the database on every call.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::dangerous::insecure_decode_claims;
use jsonwebtoken::{Algorithm, Validation, decode, decode_header};
use qualify_store::{HistoryEntry, PrincipalStatus, Store, TenantKind};
use qualify_types::{CustomerId, PARTNER_CENTER_AUDIENCE, TenantId};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::AuthError;
use super::external::ExternalIssuers;
use super::principal::{Principal, PrincipalUser};
use super::{AccessClaims, KeyRing, USER_IMPERSONATION};

/// Tokens longer than this are refused unread; Entra's are well under 4 KiB.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// A token whose signature and claims were verified.
#[derive(Debug)]
pub(crate) struct Verified {
    claims: AccessClaims,
    /// Issued by this server (so its application and user are registered here).
    built_in: bool,
}

/// Who a verified token says the caller is: the ids whose status the database holds.
#[derive(Debug, Clone, Copy)]
struct Claimed {
    tenant_id: TenantId,
    app_id: Option<Uuid>,
    /// The user, for an App+User token.
    user_id: Option<Uuid>,
    /// An App+User token (`scp` contains `user_impersonation`).
    delegated: bool,
}

impl Claimed {
    fn of(verified: &Verified) -> Result<Self, AuthError> {
        let claims = &verified.claims;
        let tenant_id: TenantId = claims
            .tid
            .parse()
            .map_err(|_| AuthError::InvalidToken("its tenant (tid) is not a GUID."))?;
        let delegated = claims.scopes().any(|scope| scope == USER_IMPERSONATION);
        let app_id = claims
            .appid
            .as_deref()
            .or(claims.azp.as_deref())
            .and_then(|id| Uuid::try_parse(id).ok());
        let user_id = claims
            .oid
            .as_deref()
            .filter(|_| delegated)
            .and_then(|id| Uuid::try_parse(id).ok());
        Ok(Self {
            tenant_id,
            app_id,
            user_id,
            delegated,
        })
    }
}

/// Turns a request's `Authorization` header into a [`Principal`].
pub(crate) struct Authenticator {
    pub(crate) keys: Arc<KeyRing>,
    pub(crate) external: ExternalIssuers,
    /// The public URL, without a trailing slash; issuers are `{base}/{tenant}/v2.0`.
    pub(crate) issuer_base: String,
    pub(crate) clock_skew_secs: u64,
    pub(crate) store: Store,
    pub(crate) dev_mode: bool,
    pub(crate) require_mfa: bool,
    /// Verified tokens by SHA-256, each until it expires; `None` when caching is off.
    pub(crate) cache: Option<TokenCache>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("issuer_base", &self.issuer_base)
            .finish_non_exhaustive()
    }
}

/// Keeps each cached token until its own `exp`.
struct UntilExpiry;

impl moka::Expiry<[u8; 32], Arc<Verified>> for UntilExpiry {
    fn expire_after_create(
        &self,
        _: &[u8; 32],
        verified: &Arc<Verified>,
        _: std::time::Instant,
    ) -> Option<Duration> {
        Some(Duration::from_secs(
            u64::try_from(verified.claims.exp - now_secs()).unwrap_or(0),
        ))
    }
}

/// Verified tokens by their SHA-256, each until its expiry, at most `capacity` of them.
pub(crate) type TokenCache = moka::sync::Cache<[u8; 32], Arc<Verified>>;

/// A token cache of `capacity` tokens; none for 0.
pub(crate) fn token_cache(capacity: u64) -> Option<TokenCache> {
    (capacity > 0).then(|| {
        moka::sync::Cache::builder()
            .max_capacity(capacity)
            .expire_after(UntilExpiry)
            .build()
    })
}

fn now_secs() -> i64 {
    crate::clock::wall_now().unix_seconds()
}

/// The token of `Authorization: Bearer <token>` (scheme in any case), from the header's value.
fn bearer(authorization: Option<&str>) -> Result<&str, AuthError> {
    let value = authorization.ok_or(AuthError::MissingToken)?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or(AuthError::MissingToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::MissingToken);
    }
    Ok(token.trim())
}

impl Authenticator {
    /// The issuer of the built-in token service for `tenant`.
    pub(crate) fn issuer_for(&self, tenant: &str) -> String {
        format!("{}/{tenant}/v2.0", self.issuer_base)
    }

    /// Who sent `headers`, if their token is valid and their tenant, application and user may act.
    pub(crate) async fn authenticate(
        &self,
        authorization: Option<&str>,
    ) -> Result<Principal, AuthError> {
        let verified = self.verified(authorization).await?;
        let claimed = Claimed::of(&verified)?;
        let status = self
            .store
            .principal_status(claimed.tenant_id, claimed.app_id, claimed.user_id)
            .await?;
        self.admit(&verified, &claimed, status)
    }

    /// A partner's read of its customer's history: the caller is authenticated as by
    /// [`Self::authenticate`], and the history read in the same read of the database as the
    /// caller's status (`Store::principal_status_and_history`).
    pub(crate) async fn authenticate_reading_history(
        &self,
        authorization: Option<&str>,
        customer: CustomerId,
    ) -> Result<(Principal, Option<Vec<HistoryEntry>>), AuthError> {
        let verified = self.verified(authorization).await?;
        let claimed = Claimed::of(&verified)?;
        let (status, history) = self
            .store
            .principal_status_and_history(
                claimed.tenant_id,
                claimed.app_id,
                claimed.user_id,
                customer,
            )
            .await?;
        Ok((self.admit(&verified, &claimed, status)?, history))
    }

    /// The tenant of `headers`' token, if its signature and claims verify; its status is not
    /// read (the handler reads it). For what must know whose request it is before the handler
    /// runs: the test control plane's faults and journal.
    pub(crate) async fn verified_tenant(&self, authorization: Option<&str>) -> Option<TenantId> {
        let verified = self.verified(authorization).await.ok()?;
        Claimed::of(&verified).ok().map(|claimed| claimed.tenant_id)
    }

    /// The verified token of `headers` (from the cache when it was seen before).
    async fn verified(&self, authorization: Option<&str>) -> Result<Arc<Verified>, AuthError> {
        let token = bearer(authorization)?;
        if token.len() > MAX_TOKEN_LEN {
            return Err(AuthError::InvalidToken("it is too long."));
        }
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let verified = match self.cache.as_ref().and_then(|cache| cache.get(&digest)) {
            // The cache drops a token at its expiry; the check covers the moment in between.
            Some(verified)
                if verified.claims.exp + i64::try_from(self.clock_skew_secs).unwrap_or(0)
                    > now_secs() =>
            {
                verified
            }
            _ => {
                let verified = Arc::new(self.verify(token).await?);
                if let Some(cache) = &self.cache {
                    cache.insert(digest, Arc::clone(&verified));
                }
                verified
            }
        };
        Ok(verified)
    }

    /// Checks a token's signature and claims.
    async fn verify(&self, token: &str) -> Result<Verified, AuthError> {
        let header =
            decode_header(token).map_err(|_| AuthError::InvalidToken("it is not a JWT."))?;
        // Read unverified only to choose the issuer whose key must have signed it.
        let unverified: AccessClaims = insecure_decode_claims(token)
            .map_err(|_| AuthError::InvalidToken("it could not be decoded."))?;
        if unverified.iss == self.issuer_for(&unverified.tid) {
            // Only the key's own algorithm: never `none`, never HMAC with the public key as secret.
            if header.alg != Algorithm::RS256 {
                return Err(AuthError::InvalidToken("it is not signed with RS256."));
            }
            let kid = header
                .kid
                .ok_or(AuthError::InvalidToken("it names no signing key (kid)."))?;
            let key = self
                .keys
                .verifier(&kid)
                .await
                .ok_or(AuthError::InvalidToken(
                    "it is signed by a key this issuer does not have.",
                ))?;
            let mut validation = Validation::new(Algorithm::RS256);
            validation.set_audience(&[PARTNER_CENTER_AUDIENCE]);
            validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
            validation.leeway = self.clock_skew_secs;
            validation.validate_nbf = true;
            let claims = decode::<AccessClaims>(token, &key, &validation)
                .map_err(|e| AuthError::rejected(e.kind()))?
                .claims;
            if claims.iss != self.issuer_for(&claims.tid) {
                return Err(AuthError::InvalidToken("its issuer is not this server's."));
            }
            return Ok(Verified {
                claims,
                built_in: true,
            });
        }
        match self
            .external
            .verify(
                token,
                &unverified,
                header.kid.as_deref(),
                self.clock_skew_secs,
            )
            .await?
        {
            Some(claims) => Ok(Verified {
                claims,
                built_in: false,
            }),
            None => Err(AuthError::InvalidToken("its issuer is not trusted here.")),
        }
    }

    /// Checks that the token's tenant, application and user may act now (`status`, read from
    /// the database for this request), and who they are.
    fn admit(
        &self,
        verified: &Verified,
        claimed: &Claimed,
        status: PrincipalStatus,
    ) -> Result<Principal, AuthError> {
        let claims = &verified.claims;
        let Claimed {
            tenant_id,
            app_id,
            delegated,
            ..
        } = *claimed;
        let tenant = status
            .tenant
            .ok_or(AuthError::InvalidToken("its tenant is not known here."))?;
        if tenant.disabled {
            return Err(AuthError::InvalidToken("its tenant is disabled."));
        }
        if tenant.dev && !self.dev_mode {
            return Err(AuthError::InvalidToken(
                "it belongs to a well-known development identity, refused because the server is not running with --dev.",
            ));
        }
        let mut role = None;
        if verified.built_in {
            match status.app_disabled {
                Some(false) => {}
                Some(true) => return Err(AuthError::InvalidToken("its application is disabled.")),
                None => {
                    return Err(AuthError::InvalidToken(
                        "its application is not registered here.",
                    ));
                }
            }
            if delegated {
                match status.user {
                    Some((user_role, false)) => role = Some(user_role),
                    Some((_, true)) => {
                        return Err(AuthError::InvalidToken("its user is disabled."));
                    }
                    None => return Err(AuthError::InvalidToken("its user is not known here.")),
                }
            }
        } else if tenant.kind != TenantKind::Partner {
            // External identity providers speak for partners; reviewers sign in here.
            return Err(AuthError::InvalidToken("its tenant is not a partner's."));
        }
        let mfa = claims
            .amr
            .as_ref()
            .is_some_and(|amr| amr.iter().any(|m| m == "mfa"));
        if delegated && !mfa && self.require_mfa {
            return Err(AuthError::Forbidden(
                "Multi-factor authentication is required: the App+User token's amr claim has no mfa.",
            ));
        }
        Ok(Principal {
            tenant_id,
            tenant_kind: tenant.kind,
            app_id: app_id
                .map(|id| id.to_string())
                .or_else(|| claims.appid.clone().or(claims.azp.clone())),
            user: delegated.then(|| PrincipalUser {
                object_id: claims.oid.clone().unwrap_or_else(|| claims.sub.clone()),
                upn: claims.upn.clone(),
            }),
            role,
            mfa,
        })
    }
}

//! Trust in external OpenID Connect issuers, Microsoft Entra ID above all: their discovery
//! document and keys are fetched, cached, refreshed when a token names an unknown key (at most
//! every few seconds) and when they expire; their tokens are verified like the built-in
//! issuer's, with the algorithm the key states (never HMAC), their audience, and their tenants.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use qualify_types::PARTNER_CENTER_AUDIENCE;
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};

use super::AccessClaims;
use super::AuthError;

/// How long fetched keys are trusted before they are fetched again.
const KEYS_TTL: Duration = Duration::from_secs(3600);

use crate::settings::TrustedIssuer;

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

/// Keys fetched from one issuer.
struct Fetched {
    /// The `issuer` of the discovery document, possibly a template with `{tenantid}` (Entra's
    /// multi-tenant endpoints publish `https://login.microsoftonline.com/{tenantid}/v2.0`).
    issuer: String,
    keys: HashMap<String, (DecodingKey, Algorithm)>,
    fetched_at: Instant,
}

struct Issuer {
    trust: TrustedIssuer,
    fetched: RwLock<Option<Fetched>>,
    last_fetch: Mutex<Option<Instant>>,
}

/// Every trusted external issuer.
pub(crate) struct ExternalIssuers {
    issuers: Vec<Issuer>,
    /// Built at the first fetch: most servers trust no external issuer, and building a client
    /// (its TLS roots) is a few milliseconds of every start.
    http: tokio::sync::OnceCell<reqwest::Client>,
    /// How often an unknown `kid` (or a failed fetch) may cause a fetch.
    refresh_interval: Duration,
}

impl std::fmt::Debug for ExternalIssuers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.issuers.iter().map(|i| i.trust.url.as_str()))
            .finish()
    }
}

/// The algorithm a JWK may sign with: only asymmetric ones, as the key states or its type implies.
fn algorithm(jwk: &jsonwebtoken::jwk::Jwk) -> Option<Algorithm> {
    let stated = jwk
        .common
        .key_algorithm
        .and_then(|alg| alg.to_string().parse::<Algorithm>().ok());
    let allowed = |alg: Algorithm| match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => matches!(
            alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ),
        AlgorithmParameters::EllipticCurve(_) => matches!(alg, Algorithm::ES256 | Algorithm::ES384),
        _ => false,
    };
    match stated {
        Some(alg) => allowed(alg).then_some(alg),
        None => match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
            _ => None,
        },
    }
}

/// Does a token's `iss` match a discovery `issuer`, literally or with `{tenantid}` as its `tid`?
fn issuer_matches(template: &str, iss: &str, tid: &str) -> bool {
    template == iss || template.replace("{tenantid}", tid) == iss
}

impl ExternalIssuers {
    pub(crate) fn new(trusted: Vec<TrustedIssuer>, refresh_interval: Duration) -> Self {
        let issuers = trusted
            .into_iter()
            .map(|trust| Issuer {
                trust,
                fetched: RwLock::new(None),
                last_fetch: Mutex::new(None),
            })
            .collect();
        Self {
            issuers,
            http: tokio::sync::OnceCell::new(),
            refresh_interval,
        }
    }

    async fn fetch(
        &self,
        issuer: &Issuer,
    ) -> Result<Fetched, Box<dyn std::error::Error + Send + Sync>> {
        let base = issuer.trust.url.as_str().trim_end_matches('/');
        let http = self
            .http
            .get_or_try_init(|| async {
                reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .user_agent(concat!("qualify/", env!("CARGO_PKG_VERSION")))
                    .build()
            })
            .await?;
        let discovery: Discovery = http
            .get(format!("{base}/.well-known/openid-configuration"))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let set: JwkSet = http
            .get(discovery.jwks_uri)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let keys = set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                let alg = algorithm(jwk)?;
                Some((kid, (DecodingKey::from_jwk(jwk).ok()?, alg)))
            })
            .collect();
        Ok(Fetched {
            issuer: discovery.issuer,
            keys,
            fetched_at: Instant::now(),
        })
    }

    /// Fetches an issuer's keys again, unless that happened within the refresh interval; callers
    /// arriving meanwhile wait for the fetch in progress.
    async fn refresh(&self, issuer: &Issuer, stale: impl Fn(&Option<Fetched>) -> bool) {
        let mut last = issuer.last_fetch.lock().await;
        if !stale(&*issuer.fetched.read().await) {
            return; // another caller refreshed while this one waited
        }
        if last.is_some_and(|at| at.elapsed() < self.refresh_interval) {
            return;
        }
        *last = Some(Instant::now());
        match self.fetch(issuer).await {
            Ok(fetched) => {
                tracing::info!(issuer = %issuer.trust.url, keys = fetched.keys.len(), "fetched the keys of a trusted issuer");
                *issuer.fetched.write().await = Some(fetched);
            }
            Err(error) => {
                tracing::warn!(issuer = %issuer.trust.url, error = %error, "fetching a trusted issuer's keys failed")
            }
        }
    }

    /// Verifies a token some trusted issuer claims to have issued; `Ok(None)` when none is its
    /// issuer.
    pub(crate) async fn verify(
        &self,
        token: &str,
        unverified: &AccessClaims,
        kid: Option<&str>,
        clock_skew_secs: u64,
    ) -> Result<Option<AccessClaims>, AuthError> {
        for issuer in &self.issuers {
            let expired =
                |f: &Option<Fetched>| f.as_ref().is_none_or(|f| f.fetched_at.elapsed() > KEYS_TTL);
            if expired(&*issuer.fetched.read().await) {
                self.refresh(issuer, expired).await;
            }
            let matches = issuer
                .fetched
                .read()
                .await
                .as_ref()
                .is_some_and(|f| issuer_matches(&f.issuer, &unverified.iss, &unverified.tid));
            if !matches {
                continue;
            }
            let kid = kid.ok_or(AuthError::InvalidToken("it names no signing key (kid)."))?;
            let unknown =
                |f: &Option<Fetched>| f.as_ref().is_none_or(|f| !f.keys.contains_key(kid));
            if unknown(&*issuer.fetched.read().await) {
                self.refresh(issuer, unknown).await;
            }
            let fetched = issuer.fetched.read().await;
            let (key, alg) =
                fetched
                    .as_ref()
                    .and_then(|f| f.keys.get(kid))
                    .ok_or(AuthError::InvalidToken(
                        "it is signed by a key its issuer does not publish.",
                    ))?;
            let mut validation = Validation::new(*alg);
            let audience = issuer
                .trust
                .audience
                .as_deref()
                .unwrap_or(PARTNER_CENTER_AUDIENCE);
            validation.set_audience(&[audience]);
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            validation.leeway = clock_skew_secs;
            validation.validate_nbf = true;
            let claims = decode::<AccessClaims>(token, key, &validation)
                .map_err(|e| AuthError::rejected(e.kind()))?
                .claims;
            if !issuer.trust.tenants.is_empty()
                && !issuer
                    .trust
                    .tenants
                    .iter()
                    .any(|t| t.to_string() == claims.tid.to_ascii_lowercase())
            {
                return Err(AuthError::InvalidToken(
                    "its tenant is not one this issuer is trusted for.",
                ));
            }
            return Ok(Some(claims));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entras_issuer_template_matches_the_tokens_tenant() {
        let template = "https://login.microsoftonline.com/{tenantid}/v2.0";
        let tid = "aaaaaaaa-0000-4000-8000-000000000001";
        assert!(issuer_matches(
            template,
            &format!("https://login.microsoftonline.com/{tid}/v2.0"),
            tid
        ));
        assert!(!issuer_matches(
            template,
            "https://login.microsoftonline.com/other/v2.0",
            tid
        ));
        assert!(issuer_matches(
            "https://idp.example.com",
            "https://idp.example.com",
            tid
        ));
    }
}

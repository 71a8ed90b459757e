//! The token issuer (lifetimes, sealed keys) and the verification of tokens (trusted issuers,
//! MFA, the cache of verified tokens, clock skew).

use std::path::PathBuf;
use std::time::Duration;

use qualify_types::TenantId;
use serde::{Deserialize, Serialize};
use url::Url;

use super::InvalidSettings;

/// An external OpenID Connect issuer whose tokens are accepted (Microsoft Entra ID, say).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedIssuer {
    /// The issuer's URL; its discovery document is at `{url}/.well-known/openid-configuration`.
    pub url: Url,
    /// The audience its tokens must carry (default: Partner Center's API).
    #[serde(default)]
    pub audience: Option<String>,
    /// When not empty, only tokens of these tenants.
    #[serde(default)]
    pub tenants: Vec<TenantId>,
}

/// The identity settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct IdentitySettings {
    /// A file holding 32 random bytes (raw or base64) that seals the token signing keys in the
    /// database; keys stored unsealed are sealed at start.
    pub key_encryption_key_file: Option<PathBuf>,
    /// How long issued access tokens live.
    #[serde(with = "humantime_serde")]
    pub token_lifetime: Duration,
    /// How long a refresh token (password grant with `offline_access`) works, if unused.
    #[serde(with = "humantime_serde")]
    pub refresh_token_lifetime: Duration,
    /// External OpenID Connect issuers whose tokens are accepted (the flags' way: URLs only).
    pub trust_issuer: Vec<Url>,
    /// The same, with an audience and allowed tenants each (the config file's way).
    pub trusted_issuers: Vec<TrustedIssuer>,
    /// App+User tokens must show multi-factor authentication (`amr` contains `mfa`), as
    /// Partner Center requires since 2026.
    pub require_mfa: bool,
    /// Verified tokens kept to skip their signature check on reuse; 0 turns the cache off.
    pub token_cache: u64,
    /// Tokens are accepted this long before `nbf` and after `exp`, for clock skew.
    #[serde(with = "humantime_serde")]
    pub clock_skew: Duration,
    /// How often this node reads the signing keys again (to pick up a rotation).
    #[serde(with = "humantime_serde")]
    pub signing_key_refresh: Duration,
    /// The least time between two fetches of a trusted issuer's keys (an unknown `kid` asks
    /// for one; forged tokens must not turn into a flood of fetches).
    #[serde(with = "humantime_serde")]
    pub issuer_refresh_interval: Duration,
    /// Partners made on demand (`POST /test/v1/partners`, development mode) from one source (an
    /// IPv4 address or IPv6 /64) in a minute, all at once if they like; more answer 429.
    pub test_partners_per_minute: u32,
    /// Partners made on demand the database may hold; more answer 409.
    pub test_partners_max: u64,
}

impl Default for IdentitySettings {
    fn default() -> Self {
        Self {
            key_encryption_key_file: None,
            token_lifetime: Duration::from_secs(3600),
            refresh_token_lifetime: Duration::from_secs(14 * 24 * 3600),
            trust_issuer: Vec::new(),
            trusted_issuers: Vec::new(),
            require_mfa: true,
            token_cache: 10_000,
            clock_skew: Duration::from_secs(60),
            signing_key_refresh: Duration::from_secs(60),
            issuer_refresh_interval: Duration::from_secs(5),
            test_partners_per_minute: 60,
            test_partners_max: 10_000,
        }
    }
}

impl IdentitySettings {
    pub(super) fn check(&self) -> Result<(), InvalidSettings> {
        if self.test_partners_per_minute == 0 {
            return Err(InvalidSettings::new(
                "test_partners_per_minute must be at least 1 (test_partners_max bounds the total)",
            ));
        }
        for issuer in self.trusted_issuers() {
            let local = matches!(issuer.url.host_str(), Some("127.0.0.1" | "localhost"));
            if issuer.url.scheme() != "https" && !local {
                return Err(InvalidSettings::new(format!(
                    "trusted issuer '{}' must be https (plain http only on localhost)",
                    issuer.url
                )));
            }
        }
        Ok(())
    }

    /// Every trusted issuer: the file's, and the flags' (with the default audience, any tenant).
    pub fn trusted_issuers(&self) -> Vec<TrustedIssuer> {
        let flagged = self.trust_issuer.iter().map(|url| TrustedIssuer {
            url: url.clone(),
            audience: None,
            tenants: Vec::new(),
        });
        self.trusted_issuers
            .iter()
            .cloned()
            .chain(flagged)
            .collect()
    }
}

//! Credentials and the token they buy: acquired from the token endpoint on first use, cached,
//! and renewed shortly before they expire, so a long-running client never sends an expired one.

use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use qualify_types::{PARTNER_CENTER_AUDIENCE, TenantId, dev::DevIdentity};

/// How a client proves who it is.
#[derive(Clone)]
pub enum Credentials {
    /// An application acting as itself (client credentials grant): an App-only token.
    App {
        /// The application's tenant.
        tenant: TenantId,
        /// The application's client id.
        client_id: String,
        /// Its secret.
        client_secret: String,
    },
    /// An application acting for a user (password grant): an App+User token.
    User {
        /// The tenant.
        tenant: TenantId,
        /// The application's client id.
        client_id: String,
        /// Its secret.
        client_secret: String,
        /// The user's sign-in name.
        username: String,
        /// The user's password.
        password: String,
    },
    /// A token obtained elsewhere (e.g. from Microsoft Entra ID), sent as is.
    Token(String),
}

impl fmt::Debug for Credentials {
    /// Secrets are never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::App {
                tenant, client_id, ..
            } => f
                .debug_struct("App")
                .field("tenant", tenant)
                .field("client_id", client_id)
                .finish_non_exhaustive(),
            Self::User {
                tenant,
                client_id,
                username,
                ..
            } => f
                .debug_struct("User")
                .field("tenant", tenant)
                .field("client_id", client_id)
                .field("username", username)
                .finish_non_exhaustive(),
            Self::Token(_) => f.write_str("Token(<redacted>)"),
        }
    }
}

impl Credentials {
    /// A well-known development identity's App+User credentials.
    pub fn dev_user(identity: DevIdentity) -> Self {
        Self::User {
            tenant: identity
                .tenant_id
                .parse()
                .unwrap_or_else(|_| TenantId::random()),
            client_id: identity.client_id.to_owned(),
            client_secret: identity.client_secret.to_owned(),
            username: identity.username.to_owned(),
            password: identity.password.to_owned(),
        }
    }

    /// A well-known development identity's App-only credentials.
    pub fn dev_app(identity: DevIdentity) -> Self {
        Self::App {
            tenant: identity
                .tenant_id
                .parse()
                .unwrap_or_else(|_| TenantId::random()),
            client_id: identity.client_id.to_owned(),
            client_secret: identity.client_secret.to_owned(),
        }
    }

    /// The tenant whose token endpoint to ask, when the token is not given.
    pub(crate) fn tenant(&self) -> Option<TenantId> {
        match self {
            Self::App { tenant, .. } | Self::User { tenant, .. } => Some(*tenant),
            Self::Token(_) => None,
        }
    }

    /// The token request's form.
    pub(crate) fn form(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::App {
                client_id,
                client_secret,
                ..
            } => vec![
                ("grant_type", "client_credentials".into()),
                ("client_id", client_id.clone()),
                ("client_secret", client_secret.clone()),
                ("scope", format!("{PARTNER_CENTER_AUDIENCE}/.default")),
            ],
            Self::User {
                client_id,
                client_secret,
                username,
                password,
                ..
            } => vec![
                ("grant_type", "password".into()),
                ("client_id", client_id.clone()),
                ("client_secret", client_secret.clone()),
                ("username", username.clone()),
                ("password", password.clone()),
                (
                    "scope",
                    // offline_access: a refresh token, so renewals don't resend the password.
                    format!("{PARTNER_CENTER_AUDIENCE}/user_impersonation offline_access"),
                ),
            ],
            Self::Token(_) => Vec::new(),
        }
    }
}

/// A token and when to stop using it.
#[derive(Clone)]
pub(crate) struct CachedToken {
    pub(crate) access_token: String,
    /// The refresh token that came with it (password grant), used for the next renewal.
    pub(crate) refresh_token: Option<String>,
    renew_at: Instant,
}

/// Where a client keeps its tokens beyond its own life, so that short-lived processes (each
/// run of a command line) share one token instead of asking for one per run: a token endpoint
/// sees a token per call as misbehaviour, and Entra throttles it. `key` names the server and
/// the credentials (never in clear: a hash); the store decides where and how it keeps them.
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// The token kept under `key`, and when it expires.
    fn load(&self, key: &str) -> Option<(String, SystemTime)>;
    /// Keeps `token`, which expires at `expires_at`, under `key`.
    fn save(&self, key: &str, token: &str, expires_at: SystemTime);
    /// Forgets what is kept under `key` (the server refused it).
    fn forget(&self, key: &str);
}

/// Now, by the wall clock: a kept token's expiry is a moment in real time, shared with other
/// processes, and the client has no clock of its own to read it by.
#[allow(clippy::disallowed_methods)]
pub(crate) fn wall_now() -> SystemTime {
    SystemTime::now()
}

/// The key of `credentials`' tokens from the server at `base` in a [`TokenStore`]: a hash of
/// them all (the secret included, so a changed secret never finds the old token).
pub(crate) fn store_key(base: &url::Url, credentials: &Credentials) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(base.as_str());
    match credentials {
        Credentials::App {
            tenant,
            client_id,
            client_secret,
        } => {
            for part in ["app", &tenant.to_string(), client_id, client_secret] {
                hash.update([0]);
                hash.update(part);
            }
        }
        Credentials::User {
            tenant,
            client_id,
            client_secret,
            username,
            password,
        } => {
            let tenant = tenant.to_string();
            for part in [
                "user",
                &tenant,
                client_id,
                client_secret,
                username,
                password,
            ] {
                hash.update([0]);
                hash.update(part);
            }
        }
        Credentials::Token(token) => hash.update(token),
    }
    hash.finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

impl fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedToken")
            .field("renew_at", &self.renew_at)
            .finish_non_exhaustive()
    }
}

impl CachedToken {
    /// A token valid for `expires_in`, renewed when a tenth of its life (at least a minute, at
    /// most five) is left.
    pub(crate) fn new(
        access_token: String,
        expires_in: Duration,
        refresh_token: Option<String>,
    ) -> Self {
        let margin = (expires_in / 10).clamp(Duration::from_secs(60), Duration::from_secs(300));
        Self {
            access_token,
            refresh_token,
            renew_at: Instant::now() + expires_in.saturating_sub(margin),
        }
    }

    /// Still good to send?
    pub(crate) fn is_fresh(&self) -> bool {
        Instant::now() < self.renew_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let printed = format!("{:?}", Credentials::dev_user(qualify_types::dev::PARTNER_A));
        assert!(
            !printed.contains("dev-app-secret-a") && !printed.contains("dev-user-password-a"),
            "{printed}"
        );
        assert!(!format!("{:?}", Credentials::Token("eyJsecret".into())).contains("eyJsecret"));
    }

    #[test]
    fn a_token_is_renewed_before_it_expires() {
        assert!(CachedToken::new("t".into(), Duration::from_secs(3600), None).is_fresh());
        assert!(!CachedToken::new("t".into(), Duration::from_secs(0), None).is_fresh());
        // A one-second token is renewed at once rather than sent with half a second to live.
        assert!(!CachedToken::new("t".into(), Duration::from_millis(900), None).is_fresh());
    }
}

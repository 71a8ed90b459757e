//! Identity: the built-in Entra-compatible token issuer (keys, credentials, grants, minting), the
//! verification of every bearer token, who a verified caller is, and the reviewers' console
//! sessions. [`Identity`] is the one service the rest of the product asks; its refusals are
//! [`AuthError`] and [`OAuthError`], which know nothing of HTTP.

mod authority;
mod claims;
mod credentials;
pub mod dev;
mod error;
mod external;
mod grants;
mod id_token;
mod issuer;
mod key_encryption;
mod keys;
mod passwords;
mod principal;
mod refresh;
mod reviewer_sessions;
mod throttle;
mod verify;

use std::sync::Arc;

use qualify_store::{HistoryEntry, Store};
use qualify_types::{CustomerId, TenantId};

use crate::settings::IdentitySettings;

pub use authority::Authority;
pub(crate) use claims::AccessClaims;
pub(crate) use credentials::{check_client, check_user};
pub use error::{AuthError, OAUTH_ERRORS, OAuthError};
pub(crate) use external::ExternalIssuers;
pub use grants::{GRANT_TYPES, IssuedToken, TokenRequest};
pub use id_token::OPENID_SCOPES;
pub(crate) use id_token::{client_info, mint_id_token};
pub(crate) use issuer::{Subject, mint};
pub use key_encryption::{KeyEncryptionKey, SealError};
pub use key_encryption::{from_store as open_stored_key, to_store as key_to_store};
pub(crate) use keys::KeyRing;
pub use keys::{KeyError, generate_signing_key};
pub use passwords::hash_well_known;
pub use passwords::{hash_secret, verify_secret};
pub use principal::{Principal, PrincipalUser};
pub use refresh::{hash as secret_hash, random_secret};
pub use reviewer_sessions::{NewSession, SessionReviewer, SignInRefused};
pub(crate) use throttle::LoginThrottle;
pub(crate) use verify::{Authenticator, token_cache};

/// The scope an App+User token carries, and that App+User endpoints require.
pub const USER_IMPERSONATION: &str = "user_impersonation";

/// The token issuer and verifier of one service: its keys, the credentials it checks, the
/// throttle on guessing them, and the sessions of the reviewers' console.
#[derive(Debug)]
pub struct Identity {
    store: Store,
    keys: Arc<KeyRing>,
    authenticator: Authenticator,
    login_throttle: LoginThrottle,
    settings: IdentitySettings,
    dev: bool,
}

impl Identity {
    /// The identity of a service on `store`, reached at `public_base` (the base of its
    /// issuers), in development mode when `dev`: loads the signing keys (making the first
    /// one in the background on a new database), opened with `kek` when they are sealed.
    pub async fn open(
        store: Store,
        settings: &IdentitySettings,
        dev: bool,
        public_base: String,
        kek: Option<Arc<KeyEncryptionKey>>,
    ) -> Result<Self, KeyError> {
        let keys = Arc::new(KeyRing::load(store.clone(), settings.token_lifetime, kek).await?);
        keys.make_first_key_in_background();
        let authenticator = Authenticator {
            keys: Arc::clone(&keys),
            external: ExternalIssuers::new(
                settings.trusted_issuers(),
                settings.issuer_refresh_interval,
            ),
            issuer_base: public_base,
            clock_skew_secs: settings.clock_skew.as_secs(),
            store: store.clone(),
            dev_mode: dev,
            require_mfa: settings.require_mfa,
            cache: token_cache(settings.token_cache),
        };
        Ok(Self {
            store,
            keys,
            authenticator,
            login_throttle: LoginThrottle::default(),
            settings: settings.clone(),
            dev,
        })
    }

    /// Who sent `authorization` (the `Authorization` header's value), if their token is
    /// valid and their tenant, application and user may act.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, AuthError> {
        self.authenticator.authenticate(authorization).await
    }

    /// A partner's read of its customer's history, with the caller authenticated as by
    /// [`Identity::authenticate`] in the same read of the database (the hot path of polling
    /// clients). The history is `None` when the customer does not exist or is another's.
    pub async fn authenticate_reading_history(
        &self,
        authorization: Option<&str>,
        customer: CustomerId,
    ) -> Result<(Principal, Option<Vec<HistoryEntry>>), AuthError> {
        self.authenticator
            .authenticate_reading_history(authorization, customer)
            .await
    }

    /// The tenant of a token whose signature and claims verify; its status is not read. For
    /// what must know whose request it is before the request is served (faults, the journal).
    pub async fn verified_tenant(&self, authorization: Option<&str>) -> Option<TenantId> {
        self.authenticator.verified_tenant(authorization).await
    }

    /// The issuer of the built-in token service for `tenant`: `{public URL}/{tenant}/v2.0`.
    pub fn issuer_for(&self, tenant: &str) -> String {
        self.authenticator.issuer_for(tenant)
    }

    /// The URL clients reach the service at, without a trailing slash.
    pub fn public_base(&self) -> &str {
        &self.authenticator.issuer_base
    }

    /// The public keys that verify tokens, as a JWK set (waiting for the first key of a new
    /// database to be made).
    pub async fn jwks(&self) -> Arc<[u8]> {
        self.keys.current().await.jwks.clone()
    }

    /// Reads the signing keys again, so a rotation reaches this node's signer and JWKS.
    pub async fn reload_keys(&self) -> Result<(), KeyError> {
        self.keys.reload().await
    }
}

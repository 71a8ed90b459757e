//! Identity: the built-in Entra-compatible token issuer (keys, credentials, minting), the
//! verification of every bearer token, and who a verified caller is.

mod authority;
mod claims;
mod credentials;
pub mod dev;
mod external;
mod id_token;
mod issuer;
mod key_encryption;
mod keys;
mod passwords;
mod principal;
mod refresh;
mod throttle;
mod verify;

pub(crate) use authority::Authority;
pub(crate) use claims::AccessClaims;
pub(crate) use credentials::{
    ReviewerRefused, check_client, check_reviewer, check_user, is_reviewer,
};
pub(crate) use external::ExternalIssuers;
pub use external::TrustedIssuer;
pub(crate) use id_token::{OPENID_SCOPES, client_info, mint_id_token};
pub(crate) use issuer::{Subject, mint};
pub use key_encryption::{KeyEncryptionKey, SealError};
pub(crate) use key_encryption::{from_store as open_stored_key, to_store as key_to_store};
pub(crate) use keys::KeyRing;
pub use keys::{KeyError, generate_signing_key};
pub(crate) use passwords::hash_well_known;
pub use passwords::{hash_secret, verify_secret};
pub use principal::{
    Partner, PartnerCustomerHistory, PartnerUser, Principal, PrincipalUser, Reviewer,
};
pub(crate) use refresh::hash as secret_hash;
pub use refresh::random_secret;
pub(crate) use throttle::LoginThrottle;
pub(crate) use verify::{Authenticator, token_cache};

/// The scope an App+User token carries, and that App+User endpoints require.
pub const USER_IMPERSONATION: &str = "user_impersonation";

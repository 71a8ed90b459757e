//! What an operator does to partners, applications, users, reviewers, GCC validation codes and
//! signing keys, with the rules each follows (which role a user gets in which kind of tenant, the
//! operator tenant and its application made with the first reviewer, unique names and codes).
//! Every change is written in one transaction with its audit record. `qualify admin` calls this
//! library on the database directly; a server sees each change on its next request. It also
//! reads the audit trail and the background work as the operator sees them.

mod codes;
mod identities;
mod jobs;
#[cfg(test)]
mod tests;
mod trail;
mod webhooks;

use qualify_store::{AuditEvent, Store, StoreError, Tx};
use qualify_types::{TenantId, Timestamp};

pub use codes::IssuedCode;
pub use identities::{NewCredentials, NewReviewer};
pub use jobs::{BackedOffReceiver, JobsOverview, LATENESS_WINDOW, LaneOverview, Lateness};
pub use trail::{TrailPage, TrailSelection};

use crate::clock::Clock;

/// The tenant the audit trail names for an operator's actions.
const OPERATOR: &str = "operator";

/// Why an administrative change was not made.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No tenant has this id.
    #[error("no tenant {0}: create it first (admin partners create)")]
    NoSuchTenant(TenantId),
    /// No partner has this id.
    #[error("no partner {0}")]
    NoSuchPartner(TenantId),
    /// A tenant with this id exists.
    #[error("a tenant {0} exists already")]
    TenantExists(TenantId),
    /// No application has this client id.
    #[error("no application {0}")]
    NoSuchApp(uuid::Uuid),
    /// No user signs in with this name.
    #[error("no user {0}")]
    NoSuchUser(String),
    /// A user signs in with this name already.
    #[error("a user {0} exists already")]
    UserExists(String),
    /// Users of the operator tenant are reviewers.
    #[error("users of the operator tenant are reviewers: use admin reviewers create")]
    OperatorUser,
    /// Something given is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// The partner has this validation code already.
    #[error("the partner already has the code {0}")]
    CodeExists(String),
    /// No unused code was found by chance.
    #[error("could not find an unused code; pass one with --code")]
    NoFreeCode,
    /// The operating system's random generator failed.
    #[error("the operating system's random generator failed")]
    Random,
    /// Hashing a secret failed.
    #[error("hashing the secret failed")]
    Hashing,
    /// Making a signing key failed.
    #[error(transparent)]
    Key(#[from] crate::identity::KeyError),
    /// A signing key can't be sealed or opened with the key-encryption key given.
    #[error(transparent)]
    Sealed(#[from] crate::identity::SealError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An operator's administration of one database, acting as `actor` (who the audit trail names).
#[derive(Debug, Clone)]
pub struct Admin {
    store: Store,
    clock: Clock,
    actor: String,
}

impl Admin {
    /// Administration of `store` by `actor` (e.g. `admin-cli:alice`), dated by `clock`.
    pub fn new(store: Store, clock: Clock, actor: impl Into<String>) -> Self {
        Self {
            store,
            clock,
            actor: actor.into(),
        }
    }

    /// The store administered, for reading.
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Appends the audit record of a change to `tx`.
    async fn audit(
        &self,
        tx: &mut Tx,
        at: Timestamp,
        action: &str,
        subject: &str,
        detail: serde_json::Value,
    ) -> Result<(), StoreError> {
        tx.record_audit(&AuditEvent {
            at,
            actor_tenant: OPERATOR,
            actor: &self.actor,
            action,
            subject,
            detail: &detail.to_string(),
            change: None,
        })
        .await
        .map(|_| ())
    }
}

/// A new secret, `Err` if the OS generator failed.
fn secret() -> Result<String, AdminError> {
    crate::identity::random_secret().ok_or(AdminError::Random)
}

/// The Argon2 hash of `secret`, computed off the runtime's threads.
async fn hash(secret: &str) -> Result<String, AdminError> {
    let secret = secret.to_owned();
    tokio::task::spawn_blocking(move || crate::identity::hash_secret(&secret))
        .await
        .map_err(|_| AdminError::Hashing)
}

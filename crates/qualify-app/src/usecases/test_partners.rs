//! Partners made on demand (`POST /test/v1/partners`): each test run, or each test, gets a
//! partner of its own, isolated as real partners are from one another, with App+User
//! credentials and a GCC validation code. Marked as development identities: a server started
//! without `--dev` refuses them.
//!
//! Anyone who can reach a development server may make them, without credentials; so each
//! source may make a few a minute and the database holds a bounded number ([`Admission`]):
//! once, 45,711 were made in 30 s, the database growing 2.8 MB/s.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota};
use qualify_store::{
    AuditEvent, NewApp, NewTenant, NewUser, NewValidationCode, TenantKind, Tx, UserRole,
};
use qualify_types::{TenantId, TestPartner, Timestamp};
use uuid::Uuid;

use super::UseCaseError;
use crate::identity::{hash_well_known, random_secret};
use crate::source::Source;

/// Sources a node counts at once before it forgets those whose minute has passed. Past it even
/// then (more sources at once than any test farm has), every request waits its turn: the
/// counts' memory stays bounded.
const COUNTED_SOURCES: usize = 100_000;

/// How many partners each source may make, and how many there may be.
#[derive(Debug)]
pub(crate) struct Admission {
    per_source: DefaultKeyedRateLimiter<Source>,
    per_minute: NonZeroU32,
    max: u64,
}

impl Admission {
    /// `per_minute` from each source (all at once if it likes: a test suite making one per test
    /// starts them together), `max` in the database.
    pub(crate) fn new(per_minute: u32, max: u64) -> Self {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        Self {
            per_source: DefaultKeyedRateLimiter::keyed(Quota::per_minute(per_minute)),
            per_minute,
            max,
        }
    }

    /// Whether `source` may make one more now: `Throttled` with the seconds to wait if not.
    pub(crate) fn admit(&self, source: Option<IpAddr>) -> Result<(), UseCaseError> {
        if self.per_source.len() > COUNTED_SOURCES {
            self.per_source.retain_recent();
            self.per_source.shrink_to_fit();
        }
        if self.per_source.len() > COUNTED_SOURCES {
            // One source's share of a minute.
            let retry_after = 60_u32.div_ceil(self.per_minute.get());
            return Err(UseCaseError::Throttled { retry_after });
        }
        self.per_source
            .check_key(&Source::of(source))
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(std::time::Instant::now());
                UseCaseError::Throttled {
                    retry_after: u32::try_from(wait.as_secs() + 1).unwrap_or(u32::MAX),
                }
            })
    }

    /// Checks, in the transaction that would add one, that the database has room for it.
    pub(crate) async fn room(&self, tx: &mut Tx) -> Result<(), UseCaseError> {
        if tx.count_dev_partners().await? >= self.max {
            return Err(UseCaseError::TestPartnersFull { max: self.max });
        }
        Ok(())
    }
}

/// The creates a new partner's GCC validation code allows, as partner A's.
const VALIDATION_CODE_CREATES: u32 = qualify_types::dev::PARTNER_A_VALIDATION_CODE_MAX_CREATES;

/// A partner about to be made: its credentials (shown once) and their hashes (stored).
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) partner: TestPartner,
    user_id: Uuid,
    name: String,
    secret_hash: String,
    password_hash: String,
}

/// Makes up a partner's ids and secrets, and hashes the secrets (off the runtime's threads).
pub(crate) async fn prepare() -> Result<Prepared, UseCaseError> {
    let secret = || random_secret().ok_or_else(|| UseCaseError::internal("no randomness"));
    let tenant_id = TenantId::random();
    let client_id = Uuid::new_v4();
    let user_id = Uuid::new_v4();
    let client_secret = secret()?;
    let password = secret()?;
    let short = &tenant_id.to_string()[..8];
    let username = format!("admin@partner-{short}.test");
    let name = format!("Test partner {short}");
    let validation_code = format!(
        "{:06}",
        u128::from_le_bytes(*Uuid::new_v4().as_bytes()) % 1_000_000
    );
    // The secrets are random and long: the cheap hash of the well-known identities is enough.
    let (secret_hash, password_hash) = tokio::task::spawn_blocking({
        let (client_secret, password) = (client_secret.clone(), password.clone());
        move || (hash_well_known(&client_secret), hash_well_known(&password))
    })
    .await
    .map_err(UseCaseError::internal)?;
    let partner = TestPartner {
        tenant_id,
        client_id: client_id.to_string(),
        client_secret,
        username,
        password,
        validation_code,
    };
    Ok(Prepared {
        partner,
        user_id,
        name,
        secret_hash,
        password_hash,
    })
}

/// Stores `prepared` in `tx`: the partner, its application, its user and a validation code.
pub(crate) async fn insert(
    tx: &mut Tx,
    prepared: &Prepared,
    at: Timestamp,
) -> Result<(), UseCaseError> {
    let Prepared {
        partner,
        user_id,
        name,
        secret_hash,
        password_hash,
    } = prepared;
    let tenant_id = partner.tenant_id;
    let client_id: Uuid = partner.client_id.parse().map_err(UseCaseError::internal)?;
    let (user_id, username, validation_code) =
        (*user_id, &partner.username, &partner.validation_code);
    let tenant = NewTenant {
        id: tenant_id,
        kind: TenantKind::Partner,
        name,
        dev: true,
    };
    tx.insert_tenant(&tenant, at).await?;
    let app = NewApp {
        client_id,
        tenant_id,
        name,
        secret_hash,
        dev: true,
    };
    tx.insert_app(&app, at).await?;
    let user = NewUser {
        id: user_id,
        tenant_id,
        username,
        password_hash,
        role: UserRole::Member,
        dev: true,
    };
    tx.insert_user(&user, at).await?;
    let code = NewValidationCode {
        partner_tenant_id: tenant_id,
        validation_id: validation_code,
        organization_name: "Test organisation",
        max_creates: VALIDATION_CODE_CREATES,
        dev: true,
    };
    tx.insert_validation_code(&code, at).await?;
    tx.record_audit(&AuditEvent {
        at,
        actor_tenant: "operator",
        actor: "test-control",
        action: "tenant.created",
        subject: &tenant_id.to_string(),
        detail: &serde_json::json!({ "name": name, "dev": true }).to_string(),
        change: None,
    })
    .await?;
    Ok(())
}

//! Tenants, applications, users and the token issuer's signing keys.

use qualify_types::{TenantId, Timestamp};
use uuid::Uuid;

use crate::db::{self, Executor};
use crate::records::{AppRow, SigningKeyRow, TenantRow, UserRow};
use crate::{
    AppRecord, SigningKeyRecord, Store, StoreError, TenantKind, TenantRecord, Tx, UserRecord,
    UserRole, on_reader,
};

/// A tenant to create.
#[derive(Debug, Clone)]
pub struct NewTenant<'a> {
    /// Its tenant id.
    pub id: TenantId,
    /// Partner or operator.
    pub kind: TenantKind,
    /// Display name.
    pub name: &'a str,
    /// A well-known development identity.
    pub dev: bool,
}

/// An application to register.
#[derive(Debug, Clone)]
pub struct NewApp<'a> {
    /// Its client id.
    pub client_id: Uuid,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Display name.
    pub name: &'a str,
    /// PHC string of the secret's slow hash.
    pub secret_hash: &'a str,
    /// A well-known development identity.
    pub dev: bool,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// Its object id.
    pub id: Uuid,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Sign-in name; stored lower case.
    pub username: &'a str,
    /// PHC string of the password's slow hash.
    pub password_hash: &'a str,
    /// Member or reviewer.
    pub role: UserRole,
    /// A well-known development identity.
    pub dev: bool,
}

/// The tenant with `id`, read on `on`.
async fn find_tenant(on: impl Executor, id: TenantId) -> Result<Option<TenantRecord>, StoreError> {
    const SQL: &str = "SELECT id, kind, name, dev, disabled_at FROM tenants WHERE id = $1";
    let row: Option<TenantRow> = db::query(SQL)
        .bind(id.to_string())
        .fetch_optional(on)
        .await?;
    row.map(TenantRecord::try_from).transpose()
}

impl Tx {
    /// How many partner tenants marked as development identities there are: the well-known
    /// ones and those made on demand.
    pub async fn count_dev_partners(&mut self) -> Result<u64, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM tenants WHERE kind = 'partner' AND dev = 1";
        let count: i64 = db::query(SQL).fetch_one(self).await?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    /// The tenant with `id`, as this transaction sees it.
    pub async fn find_tenant(&mut self, id: TenantId) -> Result<Option<TenantRecord>, StoreError> {
        find_tenant(self, id).await
    }

    /// Creates a tenant unless one with its id exists. True when it was created.
    pub async fn insert_tenant(
        &mut self,
        tenant: &NewTenant<'_>,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "INSERT INTO tenants (id, kind, name, dev, created_at) VALUES ($1, $2, $3, $4, $5) \
                           ON CONFLICT (id) DO NOTHING";
        let done = db::query(SQL)
            .bind(tenant.id.to_string())
            .bind(tenant.kind.as_str())
            .bind(tenant.name)
            .bind(i64::from(tenant.dev))
            .bind(at.unix_millis())
            .execute(self)
            .await?
            .rows_affected();
        Ok(done == 1)
    }

    /// Registers an application unless one with its client id exists. True when created.
    pub async fn insert_app(
        &mut self,
        app: &NewApp<'_>,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "INSERT INTO apps (client_id, tenant_id, name, secret_hash, dev, created_at) \
                           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (client_id) DO NOTHING";
        let done = db::query(SQL)
            .bind(app.client_id.to_string())
            .bind(app.tenant_id.to_string())
            .bind(app.name)
            .bind(app.secret_hash)
            .bind(i64::from(app.dev))
            .bind(at.unix_millis())
            .execute(self)
            .await?
            .rows_affected();
        Ok(done == 1)
    }

    /// Creates a user unless one with its id or user name exists. True when created.
    pub async fn insert_user(
        &mut self,
        user: &NewUser<'_>,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "INSERT INTO users (id, tenant_id, username, password_hash, role, dev, created_at) \
                           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING";
        let done = db::query(SQL)
            .bind(user.id.to_string())
            .bind(user.tenant_id.to_string())
            .bind(user.username.to_lowercase())
            .bind(user.password_hash)
            .bind(user.role.as_str())
            .bind(i64::from(user.dev))
            .bind(at.unix_millis())
            .execute(self)
            .await?
            .rows_affected();
        Ok(done == 1)
    }

    /// Stores a new signing key.
    pub async fn insert_signing_key(
        &mut self,
        kid: &str,
        private_key_pem: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        const SQL: &str =
            "INSERT INTO signing_keys (kid, private_key_pem, created_at) VALUES ($1, $2, $3)";
        db::query(SQL)
            .bind(kid)
            .bind(private_key_pem)
            .bind(at.unix_millis())
            .execute(&mut *self)
            .await?
            .rows_affected();
        Ok(())
    }

    /// Replaces the stored text of the key `kid`, if it is still `was`: a key sealed once a
    /// key-encryption key is given. Whether it was replaced (another node may have been first).
    pub async fn replace_signing_key_text(
        &mut self,
        kid: &str,
        was: &str,
        now: &str,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE signing_keys SET private_key_pem = $3 \
                           WHERE kid = $1 AND private_key_pem = $2";
        let replaced = db::query(SQL)
            .bind(kid)
            .bind(was)
            .bind(now)
            .execute(&mut *self)
            .await?
            .rows_affected();
        Ok(replaced == 1)
    }
}

impl Store {
    /// The tenant with `id`.
    pub async fn find_tenant(&self, id: TenantId) -> Result<Option<TenantRecord>, StoreError> {
        on_reader!(self, |pool| find_tenant(pool, id).await)
    }

    /// The application with `client_id`.
    pub async fn find_app(&self, client_id: Uuid) -> Result<Option<AppRecord>, StoreError> {
        const SQL: &str = "SELECT client_id, tenant_id, name, secret_hash, dev, disabled_at FROM apps WHERE client_id = $1";
        let row: Option<AppRow> = on_reader!(self, |pool| db::query(SQL)
            .bind(client_id.to_string())
            .fetch_optional(pool)
            .await?);
        row.map(AppRecord::try_from).transpose()
    }

    /// The user signing in as `username` (any casing).
    pub async fn find_user_by_name(
        &self,
        username: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        const SQL: &str = "SELECT id, tenant_id, username, password_hash, role, dev, disabled_at FROM users WHERE username = $1";
        let row: Option<UserRow> = on_reader!(self, |pool| db::query(SQL)
            .bind(username.to_lowercase())
            .fetch_optional(pool)
            .await?);
        row.map(UserRecord::try_from).transpose()
    }

    /// The user with object id `id`.
    pub async fn find_user(&self, id: Uuid) -> Result<Option<UserRecord>, StoreError> {
        const SQL: &str = "SELECT id, tenant_id, username, password_hash, role, dev, disabled_at FROM users WHERE id = $1";
        let row: Option<UserRow> = on_reader!(self, |pool| db::query(SQL)
            .bind(id.to_string())
            .fetch_optional(pool)
            .await?);
        row.map(UserRecord::try_from).transpose()
    }

    /// Every signing key, newest first.
    pub async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        const SQL: &str = "SELECT kid, private_key_pem, created_at, retired_at FROM signing_keys \
                           ORDER BY created_at DESC, kid DESC";
        let rows: Vec<SigningKeyRow> =
            on_reader!(self, |pool| db::query(SQL).fetch_all(pool).await?);
        rows.into_iter().map(SigningKeyRecord::try_from).collect()
    }
}

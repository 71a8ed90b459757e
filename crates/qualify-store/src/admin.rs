//! The statements of what operators do to identities: list, disable and enable tenants,
//! applications and users; find the operator tenant; rotate the token issuer's signing key; and
//! the status of a caller's tenant, application and user, read in one statement on every request.

use qualify_types::{TenantId, Timestamp};
use uuid::Uuid;

use crate::db::{self, Executor};
use crate::read_cache::Lookup;
use crate::records::{AppRow, TenantRow, UserRow};
use crate::{
    AppRecord, Store, StoreError, TenantKind, TenantRecord, Tx, UserRecord, UserRole,
    on_hot_reader, on_reader,
};

/// Whether a caller may act: its tenant, and its application and user when the token names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalStatus {
    /// The tenant, if it exists.
    pub tenant: Option<TenantRecord>,
    /// The application: `Some(disabled)` when it is registered here.
    pub app_disabled: Option<bool>,
    /// The user: `Some((role, disabled))` when it exists here.
    pub user: Option<(UserRole, bool)>,
}

db::row! {
    pub(crate) struct StatusRow {
        id: String,
        kind: String,
        name: String,
        dev: i64,
        disabled_at: Option<i64>,
        app_found: Option<String>,
        app_disabled_at: Option<i64>,
        user_role: Option<String>,
        user_disabled_at: Option<i64>,
    }
}

/// The statement reading the status of a token's tenant, application and user (one row). The
/// application and the user are found only in the token's tenant: a token naming tenant A with
/// tenant B's application finds no application.
pub(crate) fn status_query(tenant: TenantId, app: Option<Uuid>, user: Option<Uuid>) -> db::Query {
    const SQL: &str = "SELECT t.id, t.kind, t.name, t.dev, t.disabled_at, \
        a.client_id AS app_found, a.disabled_at AS app_disabled_at, \
        u.role AS user_role, u.disabled_at AS user_disabled_at \
        FROM tenants t \
        LEFT JOIN apps a ON a.client_id = $2 AND a.tenant_id = t.id \
        LEFT JOIN users u ON u.id = $3 AND u.tenant_id = t.id \
        WHERE t.id = $1";
    db::query(SQL)
        .bind(tenant.to_string())
        .bind(app.map(|a| a.to_string()))
        .bind(user.map(|u| u.to_string()))
}

/// The status that `status_query`'s row says.
pub(crate) fn principal_status(row: Option<StatusRow>) -> Result<PrincipalStatus, StoreError> {
    let Some(row) = row else {
        return Ok(PrincipalStatus {
            tenant: None,
            app_disabled: None,
            user: None,
        });
    };
    let user = match row.user_role {
        Some(role) => Some((UserRole::parse(&role)?, row.user_disabled_at.is_some())),
        None => None,
    };
    let app_disabled = row.app_found.map(|_| row.app_disabled_at.is_some());
    let tenant = TenantRow {
        id: row.id,
        kind: row.kind,
        name: row.name,
        dev: row.dev,
        disabled_at: row.disabled_at,
    };
    Ok(PrincipalStatus {
        tenant: Some(TenantRecord::try_from(tenant)?),
        app_disabled,
        user,
    })
}

impl Store {
    /// The tenant, and (when given) the application and user of a token, in one statement.
    pub async fn principal_status(
        &self,
        tenant: TenantId,
        app: Option<Uuid>,
        user: Option<Uuid>,
    ) -> Result<PrincipalStatus, StoreError> {
        let caller = (tenant, app, user);
        let cached = self
            .sqlite_cache()
            .and_then(|cache| cache.lookup_status(caller));
        if let Some(Lookup {
            found: Some(status),
            ..
        }) = cached
        {
            return Ok(status);
        }
        let row: Option<StatusRow> = on_hot_reader!(self, |pool| status_query(tenant, app, user)
            .fetch_optional(pool)
            .await?);
        let status = principal_status(row)?;
        if let (Some(cache), Some(lookup)) = (self.sqlite_cache(), cached) {
            cache.fill_status(&lookup, caller, &status);
        }
        Ok(status)
    }

    /// Every tenant of `kind` (or all), in creation order.
    pub async fn list_tenants(
        &self,
        kind: Option<TenantKind>,
    ) -> Result<Vec<TenantRecord>, StoreError> {
        on_reader!(self, |pool| list_tenants(pool, kind).await)
    }

    /// Every application (of `tenant`, when given), in creation order.
    pub async fn list_apps(&self, tenant: Option<TenantId>) -> Result<Vec<AppRecord>, StoreError> {
        on_reader!(self, |pool| list_apps(pool, tenant).await)
    }

    /// Every user (of `tenant`, when given), in creation order.
    pub async fn list_users(
        &self,
        tenant: Option<TenantId>,
    ) -> Result<Vec<UserRecord>, StoreError> {
        const SQL: &str = "SELECT id, tenant_id, username, password_hash, role, dev, disabled_at FROM users \
                           WHERE ($1 IS NULL OR tenant_id = $1) ORDER BY created_at, id";
        let rows: Vec<UserRow> = on_reader!(self, |pool| db::query(SQL)
            .bind(tenant.map(|t| t.to_string()))
            .fetch_all(pool)
            .await?);
        rows.into_iter().map(UserRecord::try_from).collect()
    }
}

/// Every tenant of `kind` (or all), in creation order, read on `on`.
async fn list_tenants(
    on: impl Executor,
    kind: Option<TenantKind>,
) -> Result<Vec<TenantRecord>, StoreError> {
    const SQL: &str = "SELECT id, kind, name, dev, disabled_at FROM tenants \
                       WHERE ($1 IS NULL OR kind = $1) ORDER BY created_at, id";
    let rows: Vec<TenantRow> = db::query(SQL)
        .bind(kind.map(TenantKind::as_str))
        .fetch_all(on)
        .await?;
    rows.into_iter().map(TenantRecord::try_from).collect()
}

/// Every application (of `tenant`, when given), in creation order, read on `on`.
async fn list_apps(
    on: impl Executor,
    tenant: Option<TenantId>,
) -> Result<Vec<AppRecord>, StoreError> {
    const SQL: &str = "SELECT client_id, tenant_id, name, secret_hash, dev, disabled_at FROM apps \
                       WHERE ($1 IS NULL OR tenant_id = $1) ORDER BY created_at, client_id";
    let rows: Vec<AppRow> = db::query(SQL)
        .bind(tenant.map(|t| t.to_string()))
        .fetch_all(on)
        .await?;
    rows.into_iter().map(AppRecord::try_from).collect()
}

impl Tx {
    /// Every tenant of `kind` (or all), in creation order, as this transaction sees them.
    pub async fn list_tenants(
        &mut self,
        kind: Option<TenantKind>,
    ) -> Result<Vec<TenantRecord>, StoreError> {
        list_tenants(self, kind).await
    }

    /// Every application (of `tenant`, when given), as this transaction sees them.
    pub async fn list_apps(
        &mut self,
        tenant: Option<TenantId>,
    ) -> Result<Vec<AppRecord>, StoreError> {
        list_apps(self, tenant).await
    }

    /// Disables (or enables) a tenant: its tokens are refused from the next request on. False
    /// when there is no such tenant.
    pub async fn set_tenant_disabled(
        &mut self,
        id: TenantId,
        disabled: bool,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE tenants SET disabled_at = $2 WHERE id = $1";
        let done = db::query(SQL)
            .bind(id.to_string())
            .bind(disabled.then(|| at.unix_millis()))
            .execute(self)
            .await?
            .rows_affected();
        Ok(done == 1)
    }

    /// Disables (or enables) an application: it gets no more tokens, and those it has are refused.
    pub async fn set_app_disabled(
        &mut self,
        client_id: Uuid,
        disabled: bool,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE apps SET disabled_at = $2 WHERE client_id = $1";
        let done = db::query(SQL)
            .bind(client_id.to_string())
            .bind(disabled.then(|| at.unix_millis()))
            .execute(self)
            .await?
            .rows_affected();
        Ok(done == 1)
    }

    /// Disables (or enables) a user by sign-in name; disabling also revokes the user's refresh
    /// tokens. False when there is no such user.
    pub async fn set_user_disabled(
        &mut self,
        username: &str,
        disabled: bool,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        const UPDATE: &str = "UPDATE users SET disabled_at = $2 WHERE username = $1 RETURNING id";
        const REVOKE: &str =
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL";
        let id: Option<String> = db::query(UPDATE)
            .bind(username.to_lowercase())
            .bind(disabled.then(|| at.unix_millis()))
            .fetch_optional(&mut *self)
            .await?;
        let Some(id) = id else { return Ok(false) };
        if disabled {
            db::query(REVOKE)
                .bind(&id)
                .bind(at.unix_millis())
                .execute(self)
                .await?;
        }
        Ok(true)
    }

    /// Retires the active signing key and makes `kid` the active one, at once for every node
    /// (each reloads when it first meets the new `kid`). The retired key keeps verifying the
    /// tokens it signed until they expire.
    pub async fn rotate_signing_key(
        &mut self,
        kid: &str,
        private_key_pem: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        const RETIRE: &str = "UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL";
        const INSERT: &str =
            "INSERT INTO signing_keys (kid, private_key_pem, created_at) VALUES ($1, $2, $3)";
        db::query(RETIRE)
            .bind(at.unix_millis())
            .execute(&mut *self)
            .await?;
        db::query(INSERT)
            .bind(kid)
            .bind(private_key_pem)
            .bind(at.unix_millis())
            .execute(self)
            .await?;
        Ok(())
    }
}

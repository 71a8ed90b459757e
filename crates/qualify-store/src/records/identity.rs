//! Tenants, their applications and users, and the token issuer's signing keys, as records.

use qualify_types::{TenantId, Timestamp};
use secrecy::SecretString;
use uuid::Uuid;

use super::{parse, timestamp};
use crate::StoreError;
use crate::db;

/// Whether a tenant is a partner or the operator that runs the vetting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantKind {
    /// A partner, who submits customers for qualification.
    Partner,
    /// The vetting organisation, whose reviewers decide.
    Operator,
}

impl TenantKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Partner => "partner",
            Self::Operator => "operator",
        }
    }

    fn parse(value: &str) -> Result<Self, StoreError> {
        match value {
            "partner" => Ok(Self::Partner),
            "operator" => Ok(Self::Operator),
            other => Err(StoreError::corrupt("tenants.kind", other)),
        }
    }
}

/// A user's role within its tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserRole {
    /// An ordinary user (a partner's staff).
    Member,
    /// A reviewer of the operator tenant.
    Reviewer,
}

impl UserRole {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Reviewer => "reviewer",
        }
    }

    pub(crate) fn parse(value: &str) -> Result<Self, StoreError> {
        match value {
            "member" => Ok(Self::Member),
            "reviewer" => Ok(Self::Reviewer),
            other => Err(StoreError::corrupt("users.role", other)),
        }
    }
}

/// A tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRecord {
    /// Its tenant id.
    pub id: TenantId,
    /// Partner or operator.
    pub kind: TenantKind,
    /// Display name.
    pub name: String,
    /// A well-known development identity, refused unless the server runs with `--dev`.
    pub dev: bool,
    /// Disabled by an operator: its tokens are refused.
    pub disabled: bool,
}

db::row! {
    pub(crate) struct TenantRow {
        pub(crate) id: String,
        pub(crate) kind: String,
        pub(crate) name: String,
        pub(crate) dev: i64,
        pub(crate) disabled_at: Option<i64>,
    }
}

impl TryFrom<TenantRow> for TenantRecord {
    type Error = StoreError;

    fn try_from(row: TenantRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: parse("tenants.id", &row.id)?,
            kind: TenantKind::parse(&row.kind)?,
            name: row.name,
            dev: row.dev != 0,
            disabled: row.disabled_at.is_some(),
        })
    }
}

/// A registered application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRecord {
    /// Its client id.
    pub client_id: Uuid,
    /// The tenant it is registered in.
    pub tenant_id: TenantId,
    /// Display name.
    pub name: String,
    /// PHC string of the secret's slow hash.
    pub secret_hash: String,
    /// A well-known development identity.
    pub dev: bool,
    /// Disabled by an operator.
    pub disabled: bool,
}

db::row! {
    pub(crate) struct AppRow {
        client_id: String,
        tenant_id: String,
        name: String,
        secret_hash: String,
        dev: i64,
        disabled_at: Option<i64>,
    }
}

impl TryFrom<AppRow> for AppRecord {
    type Error = StoreError;

    fn try_from(row: AppRow) -> Result<Self, StoreError> {
        Ok(Self {
            client_id: parse("apps.client_id", &row.client_id)?,
            tenant_id: parse("apps.tenant_id", &row.tenant_id)?,
            name: row.name,
            secret_hash: row.secret_hash,
            dev: row.dev != 0,
            disabled: row.disabled_at.is_some(),
        })
    }
}

/// A user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Its object id (`oid`).
    pub id: Uuid,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Its sign-in name (`upn`), lower case.
    pub username: String,
    /// PHC string of the password's slow hash.
    pub password_hash: String,
    /// Member or reviewer.
    pub role: UserRole,
    /// A well-known development identity.
    pub dev: bool,
    /// Disabled by an operator.
    pub disabled: bool,
}

db::row! {
    pub(crate) struct UserRow {
        id: String,
        tenant_id: String,
        username: String,
        password_hash: String,
        role: String,
        dev: i64,
        disabled_at: Option<i64>,
    }
}

impl TryFrom<UserRow> for UserRecord {
    type Error = StoreError;

    fn try_from(row: UserRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: parse("users.id", &row.id)?,
            tenant_id: parse("users.tenant_id", &row.tenant_id)?,
            username: row.username,
            password_hash: row.password_hash,
            role: UserRole::parse(&row.role)?,
            dev: row.dev != 0,
            disabled: row.disabled_at.is_some(),
        })
    }
}

/// One of the token issuer's signing keys.
#[derive(Debug, Clone)]
pub struct SigningKeyRecord {
    /// Key id, published in the JWKS and in each token's header.
    pub kid: String,
    /// The RSA private key, PKCS#8 PEM.
    pub private_key_pem: SecretString,
    /// When it was created; the newest unretired key signs.
    pub created_at: Timestamp,
    /// When it stopped signing; it still verifies until its last tokens expire.
    pub retired_at: Option<Timestamp>,
}

db::row! {
    pub(crate) struct SigningKeyRow {
        kid: String,
        private_key_pem: String,
        created_at: i64,
        retired_at: Option<i64>,
    }
}

impl TryFrom<SigningKeyRow> for SigningKeyRecord {
    type Error = StoreError;

    fn try_from(row: SigningKeyRow) -> Result<Self, StoreError> {
        Ok(Self {
            kid: row.kid,
            private_key_pem: SecretString::from(row.private_key_pem),
            created_at: timestamp("signing_keys.created_at", row.created_at)?,
            retired_at: row
                .retired_at
                .map(|at| timestamp("signing_keys.retired_at", at))
                .transpose()?,
        })
    }
}

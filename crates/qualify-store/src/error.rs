//! The store's one error type. The drivers' errors (rusqlite's for SQLite, sqlx's for
//! PostgreSQL and migrations) are translated here, once: callers see which uniqueness rule a
//! write ran into, "try again later", or an internal failure. A row that is not there is not an
//! error: lookups answer `Option`.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule of the schema refused the write: an earlier or concurrent write holds
    /// what this one claims. Which rule it was is named, so the layers above can say why.
    #[error("the write duplicates what is stored ({0})")]
    Duplicate(Unique),
    /// The database can't be reached or is overloaded; the same request may succeed later.
    #[error("the database is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Anything else: a bug, corrupt data, a failed migration.
    #[error("database failure: {context}")]
    Internal {
        /// What the store was doing.
        context: &'static str,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The schema's uniqueness rules a write can run into.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unique {
    /// `customers_partner_domain`: the partner already has a customer with this domain.
    #[error("customers_partner_domain")]
    CustomerDomain,
    /// `vetting_requests_one_held`: the customer already has a request of this qualification in
    /// review or approved.
    #[error("vetting_requests_one_held")]
    HeldQualification,
    /// `vetting_requests_attempt`: this attempt of the customer's qualification exists.
    #[error("vetting_requests_attempt")]
    VettingAttempt,
    /// `idempotency_keys_pkey`: the partner's request id has a stored response.
    #[error("idempotency_keys_pkey")]
    IdempotencyKey,
    /// `users_username`: a user signs in with this name already.
    #[error("users_username")]
    Username,
    /// `signing_keys_one_active`: another key became the active one meanwhile.
    #[error("signing_keys_one_active")]
    ActiveSigningKey,
    /// Any other (the primary key of an id chosen at random, say), as the database named it.
    #[error("{0}")]
    Other(String),
}

/// Each rule: its name on PostgreSQL (the constraint or index), and how SQLite names it in its
/// message (the columns, or the index for an index on an expression).
const UNIQUE_RULES: &[(Unique, &str, &str)] = &[
    (
        Unique::CustomerDomain,
        "customers_partner_domain",
        "customers.partner_tenant_id, customers.domain",
    ),
    (
        Unique::HeldQualification,
        "vetting_requests_one_held",
        "vetting_requests.customer_id, vetting_requests.qualification",
    ),
    (
        Unique::VettingAttempt,
        "vetting_requests_attempt",
        "vetting_requests.customer_id, vetting_requests.qualification, vetting_requests.attempt",
    ),
    (
        Unique::IdempotencyKey,
        "idempotency_keys_pkey",
        "idempotency_keys.partner_tenant_id, idempotency_keys.request_id",
    ),
    (Unique::Username, "users_username", "users.username"),
    (
        Unique::ActiveSigningKey,
        "signing_keys_one_active",
        "index 'signing_keys_one_active'",
    ),
];

impl Unique {
    /// The rule PostgreSQL names `constraint`.
    fn from_postgres(constraint: &str) -> Self {
        UNIQUE_RULES
            .iter()
            .find(|(_, name, _)| *name == constraint)
            .map_or_else(
                || Self::Other(constraint.to_owned()),
                |(rule, _, _)| rule.clone(),
            )
    }

    /// The rule of SQLite's message "UNIQUE constraint failed: <columns or index>".
    fn from_sqlite(message: &str) -> Self {
        let named = message
            .strip_prefix("UNIQUE constraint failed: ")
            .unwrap_or(message);
        UNIQUE_RULES
            .iter()
            .find(|(_, _, columns)| *columns == named)
            .map_or_else(
                || Self::Other(named.to_owned()),
                |(rule, _, _)| rule.clone(),
            )
    }
}

impl StoreError {
    /// An internal error with what the store was doing.
    pub(crate) fn internal(
        context: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Internal {
            context,
            source: source.into(),
        }
    }

    /// A stored value that does not parse: the database was written by something else.
    pub(crate) fn corrupt(column: &'static str, value: &str) -> Self {
        Self::internal(
            "reading a row",
            format!("column {column} holds an invalid value {value:?}"),
        )
    }
}

/// Is this database error one after which the same statement may succeed later? PostgreSQL's
/// connection (08), resource (53), operator-intervention (57) and system (58) classes, a
/// serialisation failure or deadlock, a database not accepting connections (55000, which only
/// connecting raises here) or a lock not available; SQLite's busy and locked.
fn is_transient(code: &str) -> bool {
    const CLASSES: &[&str] = &["08", "53", "57", "58"];
    const CODES: &[&str] = &[
        "40001", // serialization_failure
        "40P01", // deadlock_detected
        "55000", // object_not_in_prerequisite_state: "database is not currently accepting connections"
        "55P03", // lock_not_available
        "5",     // SQLITE_BUSY (sqlx opens SQLite only to migrate it)
        "6",     // SQLITE_LOCKED
        "517",   // SQLITE_BUSY_SNAPSHOT
    ];
    CODES.contains(&code)
        || (code.len() == 5 && CLASSES.iter().any(|class| code.starts_with(class)))
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => Self::Unavailable(error.into()),
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::Duplicate(
                Unique::from_postgres(db.constraint().unwrap_or(db.message())),
            ),
            sqlx::Error::Database(db) if db.code().is_some_and(|code| is_transient(&code)) => {
                Self::Unavailable(error.into())
            }
            _ => Self::internal("running a statement", error),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        use rusqlite::ffi;
        match &error {
            rusqlite::Error::SqliteFailure(failure, message) => match failure.extended_code {
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    Self::Duplicate(Unique::from_sqlite(message.as_deref().unwrap_or_default()))
                }
                _ => match failure.code {
                    rusqlite::ErrorCode::DatabaseBusy
                    | rusqlite::ErrorCode::DatabaseLocked
                    | rusqlite::ErrorCode::CannotOpen => Self::Unavailable(error.into()),
                    _ => Self::internal("running a statement", error),
                },
            },
            _ => Self::internal("running a statement", error),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        match error {
            sqlx::migrate::MigrateError::Execute(inner) => match Self::from(inner) {
                Self::Unavailable(e) => Self::Unavailable(e),
                other => Self::internal("applying migrations", other),
            },
            other => Self::internal("applying migrations", other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniqueness_rules_are_named_alike_on_both_engines() {
        for (rule, postgres, sqlite) in UNIQUE_RULES {
            assert_eq!(&Unique::from_postgres(postgres), rule);
            assert_eq!(
                &Unique::from_sqlite(&format!("UNIQUE constraint failed: {sqlite}")),
                rule
            );
        }
        assert_eq!(
            Unique::from_sqlite("UNIQUE constraint failed: tenants.id"),
            Unique::Other("tenants.id".into())
        );
    }
}

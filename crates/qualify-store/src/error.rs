//! The store's one error type. The drivers' errors (rusqlite's for SQLite, sqlx's for
//! PostgreSQL and migrations) are translated here, once: callers see not-found, conflicts they
//! can explain to a client, "try again later", or an internal failure.

use qualify_domain::{DecisionRefused, SubmissionRefused};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row asked for does not exist (or is not the caller's).
    #[error("not found")]
    NotFound,
    /// The change conflicts with what is stored.
    #[error(transparent)]
    Conflict(#[from] Conflict),
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

/// A change refused because of the stored state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// The partner already has a customer with this domain.
    #[error("The partner already has a customer with the domain '{0}'.")]
    CustomerDomainTaken(String),
    /// The customer's history (or the partner's GCC codes) refuses the submission.
    #[error(transparent)]
    Submission(#[from] SubmissionRefused),
    /// The vetting request can't take this decision.
    #[error(transparent)]
    Decision(#[from] DecisionRefused),
    /// A uniqueness rule of the schema refused the write; a concurrent write won the race.
    #[error("a concurrent change conflicts with this one ({0})")]
    Unique(String),
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
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => Self::Unavailable(error.into()),
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                let which = db
                    .constraint()
                    .map_or_else(|| db.message().to_owned(), str::to_owned);
                Self::Conflict(Conflict::Unique(which))
            }
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
            rusqlite::Error::QueryReturnedNoRows => Self::NotFound,
            rusqlite::Error::SqliteFailure(failure, message) => match failure.extended_code {
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    Self::Conflict(Conflict::Unique(
                        message.clone().unwrap_or_else(|| failure.to_string()),
                    ))
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

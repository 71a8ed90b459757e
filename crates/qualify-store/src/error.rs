//! The store's one error type. `sqlx::Error` is translated here, once: callers see not-found,
//! conflicts they can explain to a client, "try again later", or an internal failure.

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
    Unavailable(#[source] sqlx::Error),
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

/// SQLSTATEs and SQLite codes after which the same statement may succeed later.
const TRANSIENT_CODES: &[&str] = &[
    "40001", // serialization_failure
    "40P01", // deadlock_detected
    "57014", // query_canceled (statement_timeout)
    "57P01", // admin_shutdown
    "57P02", // crash_shutdown
    "57P03", // cannot_connect_now
    "53300", // too_many_connections
    "5",     // SQLITE_BUSY
    "6",     // SQLITE_LOCKED
    "517",   // SQLITE_BUSY_SNAPSHOT
];

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => Self::Unavailable(error),
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                let which = db
                    .constraint()
                    .map_or_else(|| db.message().to_owned(), str::to_owned);
                Self::Conflict(Conflict::Unique(which))
            }
            sqlx::Error::Database(db)
                if db
                    .code()
                    .is_some_and(|code| TRANSIENT_CODES.contains(&code.as_ref())) =>
            {
                Self::Unavailable(error)
            }
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

//! Statements written once and run on either engine: SQLite through rusqlite, in the calling
//! thread; PostgreSQL through sqlx, and its hot reads through tokio-postgres (`pipeline.rs`),
//! concurrent GETs' merged into one statement (`batched.rs`).
//!
//! Why not sqlx for SQLite as well: sqlx gives each SQLite connection a thread of its own and
//! sends it every statement, so each statement costs two thread hand-offs. Measured on the CI
//! machines, a point query took 43 µs that way against 4 µs in the calling thread, and those
//! hand-offs were most of a GET's and a submission's time (BENCHMARKS.md, "Where the time
//! goes"). SQLite statements take microseconds and never wait on the network, so they run where
//! the request runs; the only waits (the write lock, a commit's checkpoint, an fsync) are taken
//! off the runtime's threads by the writer (`writer.rs`, `group_commit.rs`).
//!
//! The API is the small part of sqlx's the store uses: `query(SQL).bind(…).fetch_optional(on)`,
//! with `$N` placeholders, so that one statement serves both engines. Rows are decoded by
//! column name through [`FromRow`], implemented by the [`row!`] macro.

mod batched;
mod pipeline;
mod postgres;
mod sqlite;

use std::future::Future;

pub(crate) use batched::{Batched, BatchedRead};
pub(crate) use pipeline::Pipeline;
pub(crate) use sqlite::{Readers, open_writer};

use crate::StoreError;

/// A value bound to a statement's parameter. Typed even when NULL, as PostgreSQL wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Arg {
    Text(Option<String>),
    Int(Option<i64>),
}

impl From<String> for Arg {
    fn from(value: String) -> Self {
        Self::Text(Some(value))
    }
}

impl From<&str> for Arg {
    fn from(value: &str) -> Self {
        Self::Text(Some(value.to_owned()))
    }
}

impl From<&String> for Arg {
    fn from(value: &String) -> Self {
        Self::Text(Some(value.clone()))
    }
}

impl From<Option<String>> for Arg {
    fn from(value: Option<String>) -> Self {
        Self::Text(value)
    }
}

impl From<Option<&str>> for Arg {
    fn from(value: Option<&str>) -> Self {
        Self::Text(value.map(str::to_owned))
    }
}

impl From<i64> for Arg {
    fn from(value: i64) -> Self {
        Self::Int(Some(value))
    }
}

impl From<Option<i64>> for Arg {
    fn from(value: Option<i64>) -> Self {
        Self::Int(value)
    }
}

/// How many rows a statement's caller wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rows {
    /// The first, if any.
    First,
    /// Every row.
    All,
}

/// One statement and its arguments, bound in order to `$1`, `$2`, ….
#[derive(Debug)]
#[must_use = "a query does nothing until it is executed or fetched"]
pub(crate) struct Query {
    sql: &'static str,
    args: Vec<Arg>,
}

/// The statement `sql`, whose `$N` placeholders take the values bound next.
pub(crate) fn query(sql: &'static str) -> Query {
    Query {
        sql,
        args: Vec::new(),
    }
}

/// What executing a statement did.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Executed {
    rows_affected: u64,
}

impl Executed {
    /// How many rows the statement inserted, changed or deleted.
    pub(crate) fn rows_affected(self) -> u64 {
        self.rows_affected
    }
}

impl Query {
    /// Binds the next parameter.
    pub(crate) fn bind(mut self, value: impl Into<Arg>) -> Self {
        self.args.push(value.into());
        self
    }

    /// Runs the statement for its effect.
    pub(crate) async fn execute(self, on: impl Executor) -> Result<Executed, StoreError> {
        let rows_affected = on.execute(self).await?;
        Ok(Executed { rows_affected })
    }

    /// The first row, if any.
    pub(crate) async fn fetch_optional<R: FromRow>(
        self,
        on: impl Executor,
    ) -> Result<Option<R>, StoreError> {
        Ok(on.fetch(self, Rows::First).await?.into_iter().next())
    }

    /// The first row of a statement that always returns one (`COUNT(*)`, `RETURNING` of an
    /// insert): none is a bug, not an answer.
    pub(crate) async fn fetch_one<R: FromRow>(self, on: impl Executor) -> Result<R, StoreError> {
        let sql = self.sql;
        self.fetch_optional(on).await?.ok_or_else(|| {
            StoreError::internal("running a statement", format!("no row from: {sql}"))
        })
    }

    /// Every row.
    pub(crate) async fn fetch_all<R: FromRow>(
        self,
        on: impl Executor,
    ) -> Result<Vec<R>, StoreError> {
        on.fetch(self, Rows::All).await
    }
}

/// Where a statement runs: SQLite's readers or writer connection, PostgreSQL's pool or one of
/// its connections (inside a transaction).
pub(crate) trait Executor: Send {
    /// Runs `query`, returning its rows.
    fn fetch<R: FromRow>(
        self,
        query: Query,
        rows: Rows,
    ) -> impl Future<Output = Result<Vec<R>, StoreError>> + Send;

    /// Runs `query` for its effect, returning how many rows it changed.
    fn execute(self, query: Query) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// A column's value as both engines decode it (PostgreSQL's through either of its drivers).
pub(crate) trait Value:
    rusqlite::types::FromSql
    + for<'r> sqlx::Decode<'r, sqlx::Postgres>
    + sqlx::Type<sqlx::Postgres>
    + for<'r> tokio_postgres::types::FromSql<'r>
{
}

impl<T> Value for T where
    T: rusqlite::types::FromSql
        + for<'r> sqlx::Decode<'r, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>
        + for<'r> tokio_postgres::types::FromSql<'r>
{
}

/// One row of a result, on either engine.
pub(crate) trait Row {
    /// The column named `name`.
    fn get<T: Value>(&self, name: &str) -> Result<T, StoreError>;
    /// The column at `index` (from 0).
    fn get_at<T: Value>(&self, index: usize) -> Result<T, StoreError>;
    /// The column named `name`, expected at `index`: where it is there, found without looking
    /// through the others (on SQLite that search compares names case-insensitively, one column
    /// at a time, and was a few percent of a GET's CPU).
    fn get_expected_at<T: Value>(&self, index: usize, name: &str) -> Result<T, StoreError> {
        let _ = index;
        self.get(name)
    }
}

/// A value read from a row.
pub(crate) trait FromRow: Sized + Send {
    /// Reads one.
    fn from_row(row: &impl Row) -> Result<Self, StoreError>;
}

/// A single column's value is a row of one column.
macro_rules! scalar_rows {
    ($($ty:ty),*) => {$(
        impl FromRow for $ty {
            fn from_row(row: &impl Row) -> Result<Self, StoreError> {
                row.get_at(0)
            }
        }
    )*};
}

scalar_rows!(i64, String, Option<i64>);

impl<A: Value + Send, B: Value + Send> FromRow for (A, B) {
    fn from_row(row: &impl Row) -> Result<Self, StoreError> {
        Ok((row.get_at(0)?, row.get_at(1)?))
    }
}

/// Declares a struct read from rows by column name: each field takes the column of its name,
/// looked for first at the field's own position (statements usually select in field order).
macro_rules! row {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $($(#[$field_meta:meta])* $field_vis:vis $field:ident : $ty:ty),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $($(#[$field_meta])* $field_vis $field: $ty),*
        }

        impl $crate::db::FromRow for $name {
            fn from_row(row: &impl $crate::db::Row) -> Result<Self, $crate::StoreError> {
                Self::from_row_at(row, 0)
            }
        }

        impl $name {
            /// Reads one from the row's columns from `start` on (for a statement that reads
            /// it beside others).
            #[allow(unused_assignments, dead_code)] // the last field's `position += 1`
            pub(crate) fn from_row_at(
                row: &impl $crate::db::Row,
                start: usize,
            ) -> Result<Self, $crate::StoreError> {
                let mut position = start;
                Ok(Self {
                    $($field: {
                        let value = $crate::db::Row::get_expected_at(row, position, stringify!($field))?;
                        position += 1;
                        value
                    }),*
                })
            }
        }
    };
}

pub(crate) use row;

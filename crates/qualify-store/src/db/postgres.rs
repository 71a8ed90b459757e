//! Running statements on PostgreSQL, through sqlx: on the pool, or on one connection of it
//! (a transaction's).

use sqlx::postgres::{PgArguments, PgConnection, PgPool, PgRow};
use sqlx::{PgExecutor, Postgres};

use super::{Arg, Executor, FromRow, Query, Row, Rows, Value};
use crate::StoreError;

fn build(query: Query) -> sqlx::query::Query<'static, Postgres, PgArguments> {
    query
        .args
        .into_iter()
        .fold(sqlx::query(query.sql), |statement, arg| match arg {
            Arg::Text(text) => statement.bind(text),
            Arg::Int(int) => statement.bind(int),
        })
}

async fn fetch<'e, R: FromRow>(
    on: impl PgExecutor<'e>,
    query: Query,
    wanted: Rows,
) -> Result<Vec<R>, StoreError> {
    let statement = build(query);
    let rows = match wanted {
        Rows::First => statement.fetch_optional(on).await?.into_iter().collect(),
        Rows::All => statement.fetch_all(on).await?,
    };
    rows.iter()
        .map(|row| R::from_row(&PostgresRow(row)))
        .collect()
}

async fn execute<'e>(on: impl PgExecutor<'e>, query: Query) -> Result<u64, StoreError> {
    Ok(build(query).execute(on).await?.rows_affected())
}

struct PostgresRow<'r>(&'r PgRow);

impl Row for PostgresRow<'_> {
    fn get<T: Value>(&self, name: &str) -> Result<T, StoreError> {
        Ok(sqlx::Row::try_get(self.0, name)?)
    }

    fn get_at<T: Value>(&self, index: usize) -> Result<T, StoreError> {
        Ok(sqlx::Row::try_get(self.0, index)?)
    }
}

impl Executor for &PgPool {
    async fn fetch<R: FromRow>(self, query: Query, rows: Rows) -> Result<Vec<R>, StoreError> {
        fetch(self, query, rows).await
    }

    async fn execute(self, query: Query) -> Result<u64, StoreError> {
        execute(self, query).await
    }
}

impl Executor for &mut PgConnection {
    async fn fetch<R: FromRow>(self, query: Query, rows: Rows) -> Result<Vec<R>, StoreError> {
        fetch(self, query, rows).await
    }

    async fn execute(self, query: Query) -> Result<u64, StoreError> {
        execute(self, query).await
    }
}

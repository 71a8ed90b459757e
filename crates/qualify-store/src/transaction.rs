//! Transactions the layers above the store can hold: [`Store::transaction`] runs a closure's
//! typed statements (the methods of [`Tx`], defined beside their tables' other statements) all
//! or nothing, on either backend. The store decides nothing here: what to read and write, and
//! in which order, is the caller's business; the store makes it atomic and durable.

use crate::db::{Executor, FromRow, Query, Rows};
use crate::jobs::signals::Enqueued;
use crate::{Pool, Store, StoreError, writer};

/// An open write transaction. Its statements see each other's writes; none is visible to
/// anyone else until it commits, and none survives if it is rolled back.
///
/// On SQLite it is a savepoint within the writer's current batch (`writer.rs`): the same
/// all-or-nothing, acknowledged only once the batch is committed and durable. On PostgreSQL it
/// is a transaction on one pooled connection, at READ COMMITTED: what must not race is guarded
/// by row locks ([`Tx::lock_customer`]) and the schema's unique and check constraints.
#[derive(Debug)]
pub struct Tx {
    conn: Conn,
    /// What it enqueued, for the job workers once it commits.
    pub(crate) enqueued: Enqueued,
}

enum Conn {
    Sqlite(writer::Turn),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sqlite(_) => "Sqlite",
            Self::Postgres(_) => "Postgres",
        })
    }
}

impl Store {
    /// Runs `work` in one write transaction: committed when it returns `Ok`, rolled back when it
    /// returns `Err` (or is cancelled). Returns once the commit is durable.
    pub async fn transaction<T, E>(
        &self,
        work: impl AsyncFnOnce(&mut Tx) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        self.transaction_as(Flush::Wait, work).await
    }

    /// As [`Store::transaction`], but returns without waiting for the commit to be durable (it
    /// is with the next commit that waits, or PostgreSQL's WAL writer): for writes whose loss in
    /// a crash only repeats work, such as a job's claim (a lost claim leaves the job to be
    /// claimed again; jobs are at-least-once anyway). What it wrote is seen by every later
    /// transaction.
    pub async fn transaction_unflushed<T, E>(
        &self,
        work: impl AsyncFnOnce(&mut Tx) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        self.transaction_as(Flush::DontWait, work).await
    }

    async fn transaction_as<T, E>(
        &self,
        flush: Flush,
        work: impl AsyncFnOnce(&mut Tx) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut tx = self.begin().await?;
        if flush == Flush::DontWait
            && let Conn::Postgres(conn) = &mut tx.conn
        {
            sqlx::query("SET LOCAL synchronous_commit TO OFF")
                .execute(&mut **conn)
                .await
                .map_err(StoreError::from)?;
        }
        let outcome = work(&mut tx).await;
        let enqueued = std::mem::take(&mut tx.enqueued);
        tx.end(outcome.is_ok(), flush).await?;
        if outcome.is_ok() && !enqueued.is_empty() {
            self.signals.committed(&enqueued);
        }
        outcome
    }

    async fn begin(&self) -> Result<Tx, StoreError> {
        let conn = match &self.pool {
            Pool::Sqlite { writer, .. } => Conn::Sqlite(writer.turn().await?),
            Pool::Postgres(pool, ..) => Conn::Postgres(pool.begin().await?),
        };
        Ok(Tx {
            conn,
            enqueued: Enqueued::default(),
        })
    }
}

/// Whether a commit waits until it is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flush {
    Wait,
    DontWait,
}

impl Tx {
    /// Which engine this transaction runs on (for the rare statement that differs).
    pub(crate) fn backend(&self) -> crate::Backend {
        match self.conn {
            Conn::Sqlite(_) => crate::Backend::Sqlite,
            Conn::Postgres(_) => crate::Backend::Postgres,
        }
    }

    /// Commits (`keep`) or rolls back.
    async fn end(self, keep: bool, flush: Flush) -> Result<(), StoreError> {
        match self.conn {
            Conn::Sqlite(turn) => turn.finish(keep, flush == Flush::Wait).await,
            Conn::Postgres(tx) if keep => Ok(tx.commit().await?),
            Conn::Postgres(tx) => Ok(tx.rollback().await?),
        }
    }
}

impl Executor for &mut Tx {
    async fn fetch<R: FromRow>(self, query: Query, rows: Rows) -> Result<Vec<R>, StoreError> {
        match &mut self.conn {
            Conn::Sqlite(turn) => turn.conn().fetch(query, rows).await,
            Conn::Postgres(tx) => (&mut **tx).fetch(query, rows).await,
        }
    }

    async fn execute(self, query: Query) -> Result<u64, StoreError> {
        match &mut self.conn {
            Conn::Sqlite(turn) => turn.conn().execute(query).await,
            Conn::Postgres(tx) => (&mut **tx).execute(query).await,
        }
    }
}

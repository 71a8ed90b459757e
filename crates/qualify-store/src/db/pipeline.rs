//! PostgreSQL's hot reads (what every authenticated request and every GET of a customer's
//! qualifications reads), on a few connections that every request shares: tokio-postgres
//! writes the statements of concurrent requests to a connection together and reads their
//! answers together, each statement prepared once per connection.
//!
//! Why not sqlx's pool, as every other statement: it gives each statement a connection of its
//! own, and each statement its own writes, reads and task wake-ups; at 64 concurrent GETs the
//! server spent 89 µs of CPU per GET, most of it in the kernel's socket calls and the context
//! switches they cause, and answered 0.26 of what PostgreSQL itself answers (`pgbench -S`).
//! Pipelined, many requests' statements share each of those calls (BENCHMARKS.md, "Reads").
//! Only reads are sent here: a transaction needs a connection of its own, which the pool gives.
//!
//! These connections plan each statement once (`plan_cache_mode = force_generic_plan`). Left to
//! PostgreSQL's choice (`auto`), which weighs each execution's parameters, the batched GET read
//! (`postgres_gets.rs`, whose arrays change length with every batch) ran four times slower: one
//! node answered 3,700 GETs a second against 15,000 with the plan forced, sending one key a
//! statement, so the time went into planning, not reading. Every statement sent here is a
//! lookup by key, whose generic plan is the one wanted; the batched read's is checked by its
//! test.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Statement};

use super::{Arg, Executor, FromRow, Query, Row, Rows, Value};
use crate::StoreError;

/// The shared connections.
pub(crate) struct Pipeline {
    config: tokio_postgres::Config,
    slots: Box<[Slot]>,
    next: AtomicUsize,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("connections", &self.slots.len())
            .finish_non_exhaustive()
    }
}

/// One shared connection: made on first use, and again after it is lost.
#[derive(Default)]
struct Slot {
    current: RwLock<Option<Arc<Connected>>>,
    /// Held while connecting, so that a lost connection is replaced once, not by every request.
    connecting: tokio::sync::Mutex<()>,
}

struct Connected {
    client: Client,
    /// The statements prepared on this connection, by their text.
    prepared: Mutex<HashMap<&'static str, Statement>>,
}

impl Pipeline {
    /// `connections` shared connections to `url`, each statement limited to `statement_timeout`,
    /// a connection attempt to `connect_timeout`. Connects on first use.
    pub(crate) fn new(
        url: &str,
        connections: usize,
        statement_timeout: Duration,
        connect_timeout: Duration,
    ) -> Result<Self, StoreError> {
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|error| StoreError::internal("reading the PostgreSQL URL", error))?;
        config
            .application_name("qualify")
            .connect_timeout(connect_timeout)
            .options(format!(
                "-c statement_timeout={} -c plan_cache_mode=force_generic_plan",
                statement_timeout.as_millis()
            ));
        Ok(Self {
            config,
            slots: (0..connections.max(1)).map(|_| Slot::default()).collect(),
            next: AtomicUsize::new(0),
        })
    }

    /// The next connection in turn, connected.
    async fn connection(&self) -> Result<Arc<Connected>, StoreError> {
        let slot = &self.slots[self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len()];
        if let Some(connected) = slot.live() {
            return Ok(connected);
        }
        let _connecting = slot.connecting.lock().await;
        if let Some(connected) = slot.live() {
            return Ok(connected); // another request replaced it meanwhile
        }
        let (client, connection) = self
            .config
            .connect(NoTls)
            .await
            .map_err(|error| StoreError::Unavailable(Box::new(error)))?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::warn!(%error, "a shared PostgreSQL connection was lost; the next read makes another");
            }
        });
        let connected = Arc::new(Connected {
            client,
            prepared: Mutex::default(),
        });
        *slot.current.write().unwrap_or_else(PoisonError::into_inner) =
            Some(Arc::clone(&connected));
        Ok(connected)
    }

    /// How many shared connections there are.
    pub(super) fn connections(&self) -> usize {
        self.slots.len()
    }

    /// The rows `sql` answers with `parameters`, on the next connection in turn.
    pub(super) async fn rows(
        &self,
        sql: &'static str,
        parameters: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, Failed> {
        let connected = self.connection().await.map_err(Failed::Store)?;
        let statement = connected.statement(sql).await.map_err(Failed::Store)?;
        connected
            .client
            .query(&statement, parameters)
            .await
            .map_err(Failed::Postgres)
    }

    async fn fetch<R: FromRow>(&self, query: Query, wanted: Rows) -> Result<Vec<R>, StoreError> {
        let args: Vec<&(dyn ToSql + Sync)> = query.args.iter().map(Arg::as_postgres).collect();
        let rows = self
            .rows(query.sql, &args)
            .await
            .map_err(StoreError::from)?;
        let rows = match wanted {
            Rows::First => &rows[..rows.len().min(1)],
            Rows::All => &rows[..],
        };
        rows.iter()
            .map(|row| R::from_row(&PipelinedRow(row)))
            .collect()
    }
}

impl Slot {
    /// The connection, unless there is none or it was lost.
    fn live(&self) -> Option<Arc<Connected>> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|connected| !connected.client.is_closed())
            .cloned()
    }
}

impl Connected {
    /// `sql`, prepared on this connection (once).
    async fn statement(&self, sql: &'static str) -> Result<Statement, StoreError> {
        let known = self
            .prepared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(sql)
            .cloned();
        if let Some(statement) = known {
            return Ok(statement);
        }
        let statement = self
            .client
            .prepare(sql)
            .await
            .map_err(|error| StoreError::from(Failed::Postgres(error)))?;
        self.prepared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(sql, statement.clone());
        Ok(statement)
    }
}

/// Why a shared-connection statement failed: before it was sent (no connection, say), or what
/// the connection answered.
#[derive(Debug)]
pub(super) enum Failed {
    Store(StoreError),
    Postgres(tokio_postgres::Error),
}

impl From<Failed> for StoreError {
    fn from(failed: Failed) -> Self {
        match failed {
            Failed::Store(error) => error,
            Failed::Postgres(error) => {
                let said_by_postgres = error.as_db_error().is_some();
                postgres_failure(said_by_postgres, Box::new(error))
            }
        }
    }
}

/// A lost connection or a refused one is the database being unavailable (503, try again);
/// anything PostgreSQL said about the statement is a bug.
pub(super) fn postgres_failure(
    said_by_postgres: bool,
    error: Box<dyn std::error::Error + Send + Sync>,
) -> StoreError {
    if said_by_postgres {
        StoreError::Internal {
            context: "running a shared-connection read",
            source: error,
        }
    } else {
        StoreError::Unavailable(error)
    }
}

impl Arg {
    fn as_postgres(&self) -> &(dyn ToSql + Sync) {
        match self {
            Self::Text(text) => text,
            Self::Int(int) => int,
        }
    }
}

pub(super) struct PipelinedRow<'r>(pub(super) &'r tokio_postgres::Row);

impl Row for PipelinedRow<'_> {
    fn get<T: Value>(&self, name: &str) -> Result<T, StoreError> {
        self.0
            .try_get(name)
            .map_err(|error| StoreError::internal("reading a column", error))
    }

    fn get_at<T: Value>(&self, index: usize) -> Result<T, StoreError> {
        self.0
            .try_get(index)
            .map_err(|error| StoreError::internal("reading a column", error))
    }

    fn get_expected_at<T: Value>(&self, index: usize, name: &str) -> Result<T, StoreError> {
        match self.0.columns().get(index) {
            Some(column) if column.name() == name => self.get_at(index),
            _ => self.get(name),
        }
    }
}

impl Executor for &Pipeline {
    async fn fetch<R: FromRow>(self, query: Query, rows: Rows) -> Result<Vec<R>, StoreError> {
        Pipeline::fetch(self, query, rows).await
    }

    async fn execute(self, query: Query) -> Result<u64, StoreError> {
        let connected = self.connection().await?;
        let statement = connected.statement(query.sql).await?;
        let args: Vec<&(dyn ToSql + Sync)> = query.args.iter().map(Arg::as_postgres).collect();
        connected
            .client
            .execute(&statement, &args)
            .await
            .map_err(|error| Failed::Postgres(error).into())
    }
}

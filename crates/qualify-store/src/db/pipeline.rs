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
                "-c statement_timeout={}",
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

    async fn fetch<R: FromRow>(&self, query: Query, wanted: Rows) -> Result<Vec<R>, StoreError> {
        let connected = self.connection().await?;
        let statement = connected.statement(query.sql).await?;
        let args: Vec<&(dyn ToSql + Sync)> = query.args.iter().map(Arg::as_postgres).collect();
        let rows = connected
            .client
            .query(&statement, &args)
            .await
            .map_err(failed)?;
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
        let statement = self.client.prepare(sql).await.map_err(failed)?;
        self.prepared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(sql, statement.clone());
        Ok(statement)
    }
}

/// A lost connection or a refused one is the database being unavailable (503, try again);
/// anything PostgreSQL said about the statement is a bug.
fn failed(error: tokio_postgres::Error) -> StoreError {
    if error.as_db_error().is_some() {
        StoreError::internal("running a shared-connection read", error)
    } else {
        StoreError::Unavailable(Box::new(error))
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

struct PipelinedRow<'r>(&'r tokio_postgres::Row);

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
            .map_err(failed)
    }
}

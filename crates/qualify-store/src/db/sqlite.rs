//! Running statements on SQLite, in the calling thread: the read connections, opening the
//! writer's connection, binding `$N` parameters and decoding rows.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags};

use super::{Arg, Executor, FromRow, Query, Row, Rows, Value};
use crate::StoreError;

/// Prepared statements kept per connection: more than the store has, so none is re-prepared.
const STATEMENT_CACHE: usize = 256;

/// Opens the writer's connection, creating the database: write-ahead log, NORMAL sync (the
/// writer makes commits durable itself when asked to, see `group_commit.rs`), foreign keys.
/// It never waits for SQLite's write lock inside a statement: the writer waits between
/// attempts instead, off the runtime's threads (`writer.rs`).
pub(crate) fn open_writer(path: &Path, busy_timeout: Duration) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    // Another process on the same file (a second node starting, `qualify admin`) may hold a
    // lock while this one opens: the setup waits for it, as any statement would.
    conn.busy_timeout(busy_timeout)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Each writer's turn is a savepoint inside the batch's transaction, whose undo records
    // (the statement journal) would otherwise spill to a temporary file past 64 KiB and double
    // the batch's writes. A batch (at most 128 writers) changes a few hundred pages, so its
    // undo records fit in memory.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // From here the writer takes the write lock itself, and waits for it off the runtime's
    // threads (writer.rs): a statement must not wait inside SQLite.
    conn.busy_timeout(Duration::ZERO)?;
    Ok(conn)
}

/// The read-only connections. A statement takes one, runs and gives it back without awaiting
/// anything, so no more are ever open than threads that run statements at once.
#[derive(Debug)]
pub(crate) struct Readers {
    path: PathBuf,
    busy_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    /// Readers of the database at `path`, which must exist (the writer creates it). A reader
    /// waits up to `busy_timeout` for SQLite's locks, which in WAL mode only a checkpoint that
    /// truncates the log or a recovery holds, and then briefly.
    pub(crate) fn new(path: &Path, busy_timeout: Duration) -> Self {
        Self {
            path: path.to_owned(),
            busy_timeout,
            idle: Mutex::new(Vec::new()),
        }
    }

    fn open(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(self.busy_timeout)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }

    /// Runs `f` on an idle connection, or a new one if none is idle.
    fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let idle = self.lock().pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.open()?,
        };
        let outcome = f(&conn);
        // A connection still inside a transaction would answer every later read from its old
        // snapshot: it is closed rather than kept.
        if conn.is_autocommit() {
            self.lock().push(conn);
        }
        outcome
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        // A panic while holding the lock leaves a list of connections, still fine to use.
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Closes the idle connections.
    pub(crate) fn close(&self) {
        self.lock().clear();
    }
}

impl ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Self::Text(Some(text)) => ValueRef::Text(text.as_bytes()),
            Self::Int(Some(int)) => ValueRef::Integer(*int),
            Self::Text(None) | Self::Int(None) => ValueRef::Null,
        }))
    }
}

/// Prepares `query` (from the connection's cache) and binds its arguments. `$N` takes the N-th
/// argument wherever it appears, as on PostgreSQL (SQLite itself numbers named parameters in
/// order of first appearance).
fn prepare<'c>(
    conn: &'c Connection,
    query: &Query,
) -> Result<rusqlite::CachedStatement<'c>, StoreError> {
    let mut statement = conn.prepare_cached(query.sql)?;
    for index in 1..=statement.parameter_count() {
        let number = match statement.parameter_name(index) {
            Some(name) => name
                .strip_prefix('$')
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| {
                    StoreError::internal(
                        "binding a statement",
                        format!("parameter {name} is not of the form $N"),
                    )
                })?,
            None => index,
        };
        let arg = number
            .checked_sub(1)
            .and_then(|n| query.args.get(n))
            .ok_or_else(|| {
                StoreError::internal(
                    "binding a statement",
                    format!("${number} has no argument ({} bound)", query.args.len()),
                )
            })?;
        statement.raw_bind_parameter(index, arg)?;
    }
    Ok(statement)
}

fn fetch<R: FromRow>(conn: &Connection, query: &Query, wanted: Rows) -> Result<Vec<R>, StoreError> {
    let mut statement = prepare(conn, query)?;
    let mut rows = statement.raw_query();
    let mut found = Vec::new();
    while let Some(row) = rows.next()? {
        found.push(R::from_row(&SqliteRow(row))?);
        if wanted == Rows::First {
            break;
        }
    }
    Ok(found)
}

fn execute(conn: &Connection, query: &Query) -> Result<u64, StoreError> {
    let mut statement = prepare(conn, query)?;
    let mut rows = statement.raw_query();
    while rows.next()?.is_some() {}
    Ok(conn.changes())
}

struct SqliteRow<'r>(&'r rusqlite::Row<'r>);

impl Row for SqliteRow<'_> {
    fn get<T: Value>(&self, name: &str) -> Result<T, StoreError> {
        Ok(self.0.get(name)?)
    }

    fn get_at<T: Value>(&self, index: usize) -> Result<T, StoreError> {
        Ok(self.0.get(index)?)
    }

    fn get_expected_at<T: Value>(&self, index: usize, name: &str) -> Result<T, StoreError> {
        let statement: &rusqlite::Statement<'_> = self.0.as_ref();
        if statement
            .column_name(index)
            .is_ok_and(|found| found == name)
        {
            self.get_at(index)
        } else {
            self.get(name)
        }
    }
}

impl Executor for &Readers {
    async fn fetch<R: FromRow>(self, query: Query, rows: Rows) -> Result<Vec<R>, StoreError> {
        self.with(|conn| fetch(conn, &query, rows))
    }

    async fn execute(self, query: Query) -> Result<u64, StoreError> {
        self.with(|conn| execute(conn, &query))
    }
}

impl Executor for &mut Connection {
    async fn fetch<R: FromRow>(self, query: Query, rows: Rows) -> Result<Vec<R>, StoreError> {
        fetch(self, &query, rows)
    }

    async fn execute(self, query: Query) -> Result<u64, StoreError> {
        execute(self, &query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::db::row! {
        struct Count {
            n: i64,
        }
    }

    fn count() -> Query {
        super::super::query("SELECT COUNT(*) AS n FROM t")
    }

    /// A database holding table `t`, its readers, and a connection that writes as another
    /// process would.
    fn setup() -> (tempfile::TempDir, Readers, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let writer = open_writer(&path, Duration::from_secs(1)).unwrap();
        writer.execute_batch("CREATE TABLE t (n INTEGER)").unwrap();
        (dir, Readers::new(&path, Duration::from_secs(5)), writer)
    }

    /// `.cargo/config.toml` builds the bundled SQLite this way; without it every allocation
    /// SQLite makes takes a process-wide lock.
    #[test]
    fn the_bundled_sqlite_keeps_no_memory_statistics() {
        let conn = Connection::open_in_memory().unwrap();
        let mut statement = conn.prepare("PRAGMA compile_options").unwrap();
        let options: Vec<String> = statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            options.iter().any(|option| option == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
    }

    #[test]
    fn a_connection_left_inside_a_transaction_is_not_reused() {
        let (_dir, readers, writer) = setup();
        readers
            .with(|conn| Ok(conn.execute_batch("BEGIN; SELECT COUNT(*) FROM t")?))
            .unwrap();
        writer.execute_batch("INSERT INTO t VALUES (1)").unwrap();
        let seen: Vec<Count> = readers
            .with(|conn| fetch(conn, &count(), Rows::All))
            .unwrap();
        assert_eq!(seen.first().map(|c| c.n), Some(1));
        assert!(readers.lock().iter().all(Connection::is_autocommit));
    }
}

//! Whether a backup's schema is the one Qualify's migrations make: the same tables, indexes,
//! triggers and views, defined alike, and nothing else. A backup is a whole SQLite file, and a
//! crafted one may hold anything SQLite can (a trigger on `customers` that copies every row
//! elsewhere, a table of its own): restored and opened by a server, that would run as Qualify.
//!
//! The migrations a backup records as applied must be this build's first ones, checksums and
//! all; the expected schema is what those migrations make of an empty database, here and now,
//! compared object by object with the backup's `sqlite_schema`.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::Connection;

use super::{BackupError, sqlite};

/// sqlx's own table of applied migrations: compared by its columns, since its text is sqlx's.
const MIGRATIONS_TABLE: &str = "_sqlx_migrations";
/// That table as sqlx makes it (`sqlx-sqlite`'s `ensure_migrations_table`), for its columns and
/// its primary key's index.
const MIGRATIONS_TABLE_DDL: &str = "CREATE TABLE _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN NOT NULL,
    checksum BLOB NOT NULL,
    execution_time BIGINT NOT NULL
)";

/// What SQLite's `ANALYZE` creates: SQLite's own (no other object may be named `sqlite_…`), kept
/// only when defined exactly so.
const STATISTICS: [(&str, &str); 2] = [
    ("sqlite_stat1", "CREATE TABLE sqlite_stat1(tbl,idx,stat)"),
    (
        "sqlite_stat4",
        "CREATE TABLE sqlite_stat4(tbl,idx,neq,nlt,ndlt,sample)",
    ),
];

/// A schema object: its type and table, and its definition (`None` for SQLite's automatic
/// indexes), by name.
type Objects = BTreeMap<String, (String, String, Option<String>)>;

fn foreign(path: &Path, differences: impl Into<String>) -> BackupError {
    BackupError::ForeignSchema {
        path: path.to_owned(),
        differences: differences.into(),
    }
}

/// Refuses `backup` (read from `path`) unless its schema is exactly what the migrations it
/// records as applied make.
pub(super) fn check(backup: &Connection, path: &Path) -> Result<(), BackupError> {
    let applied = applied_migrations(backup, path)?;
    let known: Vec<_> = crate::SQLITE_MIGRATIONS.iter().collect();
    for (index, (version, checksum, success)) in applied.iter().enumerate() {
        let Some(migration) = known.get(index) else {
            return Err(foreign(
                path,
                format!(
                    "it records migration {version}, which this build of Qualify does not know (a newer build made it?)"
                ),
            ));
        };
        if migration.version != *version || *migration.checksum != **checksum || !success {
            return Err(foreign(
                path,
                format!(
                    "its migration {version} is not this build's migration {} as applied",
                    migration.version
                ),
            ));
        }
    }
    let expected = Connection::open_in_memory().map_err(sqlite(path))?;
    expected
        .execute_batch(MIGRATIONS_TABLE_DDL)
        .map_err(sqlite(path))?;
    for migration in &known[..applied.len()] {
        expected
            .execute_batch(migration.sql.as_str())
            .map_err(sqlite(path))?;
    }
    let mut found = objects(backup, path)?;
    let mut wanted = objects(&expected, path)?;
    for (name, definition) in STATISTICS {
        if found
            .get(name)
            .is_some_and(|(kind, _, sql)| kind == "table" && sql.as_deref() == Some(definition))
        {
            found.remove(name);
        }
    }
    // The migrations table's text is sqlx's, whatever its version wrote: compared by columns.
    let migrations_table = found.remove(MIGRATIONS_TABLE);
    wanted.remove(MIGRATIONS_TABLE);
    let mut differences = Vec::new();
    for (name, object) in &found {
        match wanted.get(name) {
            None => differences.push(format!("{} '{name}' is not Qualify's", object.0)),
            Some(expected) if expected != object => {
                differences.push(format!("{} '{name}' is defined differently", object.0));
            }
            Some(_) => {}
        }
    }
    for (name, object) in &wanted {
        if !found.contains_key(name) {
            differences.push(format!("{} '{name}' is missing", object.0));
        }
    }
    match migrations_table {
        Some((kind, _, _)) if kind == "table" => {
            if columns(backup, path, MIGRATIONS_TABLE)?
                != columns(&expected, path, MIGRATIONS_TABLE)?
            {
                differences.push(format!("table '{MIGRATIONS_TABLE}' is not sqlx's"));
            }
        }
        _ => differences.push(format!("table '{MIGRATIONS_TABLE}' is missing")),
    }
    if differences.is_empty() {
        Ok(())
    } else {
        Err(foreign(path, differences.join("; ")))
    }
}

fn columns(
    conn: &Connection,
    path: &Path,
    table: &str,
) -> Result<Vec<(String, String, bool, bool)>, BackupError> {
    let mut statement = conn
        .prepare("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1)")
        .map_err(sqlite(path))?;
    statement
        .query_map([table], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get::<_, i64>(2)? != 0,
                row.get::<_, i64>(3)? != 0,
            ))
        })
        .map_err(sqlite(path))?
        .collect::<Result<_, _>>()
        .map_err(sqlite(path))
}

/// The migrations `conn` records, in order: version, checksum, whether it succeeded.
fn applied_migrations(
    conn: &Connection,
    path: &Path,
) -> Result<Vec<(i64, Vec<u8>, bool)>, BackupError> {
    let mut statement = conn
        .prepare(&format!(
            "SELECT version, checksum, success FROM {MIGRATIONS_TABLE} ORDER BY version"
        ))
        .map_err(|e| foreign(path, format!("its migrations can't be read ({e})")))?;
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(|e| foreign(path, format!("its migrations can't be read ({e})")))
}

/// Every object of `conn`'s schema.
fn objects(conn: &Connection, path: &Path) -> Result<Objects, BackupError> {
    let mut statement = conn
        .prepare("SELECT name, type, tbl_name, sql FROM sqlite_schema")
        .map_err(sqlite(path))?;
    statement
        .query_map([], |row| {
            Ok((row.get(0)?, (row.get(1)?, row.get(2)?, row.get(3)?)))
        })
        .map_err(sqlite(path))?
        .collect::<Result<_, _>>()
        .map_err(sqlite(path))
}

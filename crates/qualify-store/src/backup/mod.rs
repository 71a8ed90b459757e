//! Copies of a SQLite database taken while servers write to it, and putting one back: SQLite's
//! online backup API, which copies one consistent moment of the database (in WAL mode, without
//! stopping the writer). PostgreSQL has its own tools (`pg_dump`, `pg_restore`), which know far
//! more about a live cluster than a copy through this crate could.

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod schema;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

/// How long a statement waits on a lock another connection holds.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a copy goes on trying while another connection keeps a lock it needs.
const LOCKED_OUT_AFTER: Duration = Duration::from_secs(60);

/// Why a backup or a restore could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// SQLite refused.
    #[error("{path}: {source}")]
    Sqlite {
        /// The file it was working on.
        path: PathBuf,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
    /// Writing the copy's file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a Qualify database.
    #[error("{0} is not a Qualify database (it has no migrations table)")]
    NotQualify(PathBuf),
    /// SQLite's check of the copy found problems.
    #[error("{path} fails SQLite's integrity check: {problems}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What the check said.
        problems: String,
    },
    /// The backup's file exists, and the caller did not say it may be overwritten.
    #[error("{0} exists; pass --replace to overwrite it")]
    WouldOverwrite(PathBuf),
    /// The backup holds objects Qualify's migrations don't make (or lacks some they do).
    #[error(
        "{path} is not a database as Qualify's migrations make it, so it is not restored: {differences}"
    )]
    ForeignSchema {
        /// The backup.
        path: PathBuf,
        /// What differs, object by object.
        differences: String,
    },
    /// The database is in use, or being restored.
    #[error("{0}")]
    InUse(String),
    /// Restoring would overwrite data, and the caller did not say it may.
    #[error(
        "{0} already holds a Qualify database; stop every server on it and pass --replace to overwrite it"
    )]
    WouldReplace(PathBuf),
}

/// What was copied.
#[derive(Debug, Clone, Copy)]
pub struct Copied {
    /// Database pages.
    pub pages: u64,
    /// Bytes.
    pub bytes: u64,
}

fn sqlite(path: &Path) -> impl Fn(rusqlite::Error) -> BackupError + '_ {
    move |source| BackupError::Sqlite {
        path: path.to_owned(),
        source,
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_owned(),
        source,
    }
}

fn open(path: &Path, flags: OpenFlags) -> Result<Connection, BackupError> {
    let conn = Connection::open_with_flags(path, flags).map_err(sqlite(path))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sqlite(path))?;
    Ok(conn)
}

/// Whether `conn` holds a Qualify database (sqlx's migrations table).
fn is_qualify(conn: &Connection, path: &Path) -> Result<bool, BackupError> {
    conn.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        [],
        |row| row.get::<_, i64>(0),
    )
    .map(|count| count == 1)
    .map_err(sqlite(path))
}

/// SQLite's quick check of the whole file (every page, without the index cross-checks that
/// make a full check slow on a large database).
fn check(conn: &Connection, path: &Path) -> Result<(), BackupError> {
    let mut statement = conn.prepare("PRAGMA quick_check").map_err(sqlite(path))?;
    let problems: Vec<String> = statement
        .query_map([], |row| row.get(0))
        .map_err(sqlite(path))?
        .collect::<Result<_, _>>()
        .map_err(sqlite(path))?;
    if problems == ["ok"] {
        Ok(())
    } else {
        Err(BackupError::Damaged {
            path: path.to_owned(),
            problems: problems.join("; "),
        })
    }
}

/// Copies every page of `from` into `to` in one step: one read transaction on `from`, so one
/// consistent moment even while another process writes (a copy in several steps starts over
/// whenever another connection writes, and under steady load would never end).
// Runs on a thread of its own (the command's blocking task), where waiting out a lock is fine.
#[allow(clippy::disallowed_methods)]
fn copy(from: &Connection, to: &mut Connection, to_path: &Path) -> Result<Copied, BackupError> {
    let backup = Backup::new(from, to).map_err(sqlite(to_path))?;
    let deadline = std::time::Instant::now() + LOCKED_OUT_AFTER;
    loop {
        match backup.step(-1).map_err(sqlite(to_path))? {
            StepResult::Done => break,
            // Another connection holds a lock it will release: wait, then try again.
            _ if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            _ => {
                return Err(sqlite(to_path)(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                    Some(format!(
                        "still locked by another connection after {}s",
                        LOCKED_OUT_AFTER.as_secs()
                    )),
                )));
            }
        }
    }
    let pages = u64::try_from(backup.progress().pagecount).unwrap_or_default();
    drop(backup);
    let page_size: i64 = to
        .query_row("PRAGMA page_size", [], |row| row.get(0))
        .map_err(sqlite(to_path))?;
    Ok(Copied {
        pages,
        bytes: pages * u64::try_from(page_size).unwrap_or_default(),
    })
}

/// Copies the SQLite database at `database` to `file`, consistent as of one moment, while
/// servers go on using it. The copy is one self-contained file (no write-ahead log beside it),
/// checked by SQLite before it is put in place; `file` appears only once complete.
pub fn backup_sqlite(database: &Path, file: &Path, replace: bool) -> Result<Copied, BackupError> {
    if !replace && file.try_exists().map_err(io(file))? {
        return Err(BackupError::WouldOverwrite(file.to_owned()));
    }
    let source = open(database, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    if !is_qualify(&source, database)? {
        return Err(BackupError::NotQualify(database.to_owned()));
    }
    // FILE.partial beside it, whatever FILE's extension: renamed into place when complete.
    let partial = {
        let mut name = file.as_os_str().to_owned();
        name.push(".partial");
        PathBuf::from(name)
    };
    match std::fs::remove_file(&partial) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(&partial)(e)),
    }
    // A backup holds password hashes and (without a key-encryption key) signing keys: made
    // readable by its owner only, whatever the umask, before SQLite writes a byte of it.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)
        .map_err(io(&partial))?;
    let copied = {
        let mut copy_conn = open(&partial, OpenFlags::default())?;
        let copied = copy(&source, &mut copy_conn, &partial)?;
        // The source is in WAL mode and so is a page-for-page copy; a backup is one file.
        copy_conn
            .query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))
            .map_err(sqlite(&partial))?;
        check(&copy_conn, &partial)?;
        copy_conn.close().map_err(|(_, e)| sqlite(&partial)(e))?;
        copied
    };
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(io(&partial))?;
    std::fs::rename(&partial, file).map_err(io(file))?;
    sync_directory_of(file)?;
    Ok(copied)
}

/// Puts the backup `file` into the SQLite database at `database` (created if missing). Only a
/// backup whose every table, index, trigger and view is one Qualify's migrations make is
/// restored (`schema.rs`). A database that already holds Qualify's tables is overwritten only
/// with `replace`, and never while a process uses it (`in_use.rs`): servers keep what they read
/// (keys, caches) in memory.
pub fn restore_sqlite(file: &Path, database: &Path, replace: bool) -> Result<Copied, BackupError> {
    let backup = open(file, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    if !is_qualify(&backup, file)? {
        return Err(BackupError::NotQualify(file.to_owned()));
    }
    check(&backup, file)?;
    schema::check(&backup, file)?;
    if let Some(parent) = database.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    // Held until the restore is done: no server opens the database meanwhile.
    let _alone = crate::in_use::InUse::exclusive(database).map_err(|e| match e {
        crate::in_use::NotHeld::Busy(why) => BackupError::InUse(why),
        crate::in_use::NotHeld::Io { path, source } => BackupError::Io { path, source },
    })?;
    let mut target = open(database, OpenFlags::default())?;
    if is_qualify(&target, database)? && !replace {
        return Err(BackupError::WouldReplace(database.to_owned()));
    }
    // Through SQLite, not by copying the file: the database's own journal makes the restore
    // all-or-nothing, and a write-ahead log beside it is kept consistent.
    let copied = copy(&backup, &mut target, database)?;
    check(&target, database)?;
    target.close().map_err(|(_, e)| sqlite(database)(e))?;
    // The pages were copied past the writer's update hook (`read_cache/changes.rs`): tell any
    // process caching what it read that everything may have changed.
    if let Ok(counter) = crate::read_cache::changes::ChangeCounter::open(database) {
        let _ = counter.bump();
    }
    Ok(copied)
}

/// Makes a rename in `file`'s directory durable.
fn sync_directory_of(file: &Path) -> Result<(), BackupError> {
    let directory = match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::File::open(directory)
        .and_then(|d| d.sync_all())
        .map_err(io(directory))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDatabase;
    use crate::{DatabaseUrl, Store, StoreOptions};

    /// A migrated database, as a server leaves it, and its backup file, in `dir`.
    async fn backed_up(dir: &Path) -> PathBuf {
        let db = TestDatabase::sqlite();
        let store = Store::connect(&StoreOptions::new(db.url().clone()))
            .await
            .unwrap();
        drop(store);
        let DatabaseUrl::Sqlite(live) = db.url().clone() else {
            unreachable!()
        };
        let file = dir.join("backup.db");
        backup_sqlite(&live, &file, false).unwrap();
        file
    }

    /// `file` changed by `statements`, written as anyone can write a SQLite file.
    fn tampered(file: &Path, statements: &str) -> PathBuf {
        let copy = file.with_extension("tampered.db");
        std::fs::copy(file, &copy).unwrap();
        Connection::open(&copy)
            .unwrap()
            .execute_batch(statements)
            .unwrap();
        copy
    }

    #[tokio::test]
    async fn a_backup_holding_objects_the_migrations_dont_make_is_refused_and_restores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let file = backed_up(dir.path()).await;
        let target = dir.path().join("restored.db");
        for (statements, said) in [
            (
                "CREATE TABLE loot (row TEXT)",
                "table 'loot' is not Qualify's",
            ),
            (
                "CREATE TRIGGER copy AFTER INSERT ON customers BEGIN SELECT 1; END",
                "trigger 'copy' is not Qualify's",
            ),
            (
                "CREATE TRIGGER keep AFTER INSERT ON refresh_tokens BEGIN SELECT 1; END",
                "trigger 'keep' is not Qualify's",
            ),
            (
                "CREATE VIEW everything AS SELECT * FROM customers",
                "view 'everything' is not Qualify's",
            ),
            (
                "DROP TABLE console_sessions",
                "table 'console_sessions' is missing",
            ),
            (
                "PRAGMA writable_schema = ON; \
                 UPDATE sqlite_schema SET sql = replace(sql, 'TEXT PRIMARY KEY', 'TEXT PRIMARY KEY /* x */') WHERE name = 'tenants'; \
                 PRAGMA writable_schema = OFF;",
                "table 'tenants' is defined differently",
            ),
            (
                "UPDATE _sqlx_migrations SET checksum = x'00' WHERE version = 1",
                "migration 1 is not this build's",
            ),
            (
                "INSERT INTO _sqlx_migrations VALUES (99999, 'future', 0, 1, x'00', 0)",
                "does not know",
            ),
        ] {
            let refused = restore_sqlite(&tampered(&file, statements), &target, true).unwrap_err();
            assert!(
                refused.to_string().contains(said),
                "{statements}: {refused} (expected {said})"
            );
            assert!(!target.exists(), "{statements}: nothing was restored");
        }
        // SQLite's own statistics are no foreign object.
        let analyzed = tampered(&file, "ANALYZE");
        assert!(restore_sqlite(&analyzed, &target, false).is_ok());
    }

    #[tokio::test]
    async fn a_restore_never_replaces_a_database_a_process_uses() {
        let dir = tempfile::tempdir().unwrap();
        let file = backed_up(dir.path()).await;
        let target = dir.path().join("live.db");
        let url = DatabaseUrl::Sqlite(target.clone());
        let store = Store::connect(&StoreOptions::new(url.clone()))
            .await
            .unwrap();
        let refused = restore_sqlite(&file, &target, true).unwrap_err();
        assert!(
            matches!(&refused, BackupError::InUse(why) if why.contains("stop every process")),
            "{refused}"
        );
        drop(store);
        restore_sqlite(&file, &target, true).unwrap();
        // And with the restore's hold taken, no server opens it.
        let _restoring = crate::in_use::InUse::exclusive(&target).unwrap();
        let refused = Store::connect(&StoreOptions::new(url)).await.unwrap_err();
        assert!(
            format!("{refused:#}").contains("holding the database"),
            "{refused:#}"
        );
    }
}

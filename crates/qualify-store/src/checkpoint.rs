//! Checkpoints of SQLite's write-ahead log, taken off the writer's connection.
//!
//! SQLite's own automatic checkpoint runs inside the commit that crosses its threshold, on the
//! committing connection: it copies the log's pages into the database and fsyncs both, which
//! on the CI machines held the one writer connection for about 65 ms (the database's fsync
//! alone took 13 ms) several times a second under load, with every writer waiting. Instead a
//! separate connection checkpoints in the background (`PASSIVE`: it never blocks the writer,
//! which keeps appending to the log meanwhile), started when a commit leaves the log longer
//! than [`BACKGROUND_FRAMES`].
//!
//! A background checkpoint cannot always finish: frames committed while it runs are left for
//! the next one, and under sustained writes the log could grow without end. So a commit that
//! leaves the log past [`BLOCKING_FRAMES`] checkpoints on the writer's own connection, as
//! SQLite would, which by then has little left to copy.

use std::cell::Cell;
use std::ffi::c_int;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use rusqlite::hooks::Wal;

/// Log length (in pages) past which a background checkpoint starts: SQLite's default.
pub(crate) const BACKGROUND_FRAMES: c_int = 1_000;
/// Log length past which the writer checkpoints itself: about 32 MiB of 4 KiB pages.
pub(crate) const BLOCKING_FRAMES: c_int = 8 * BACKGROUND_FRAMES;

thread_local! {
    /// The log's length after the last commit on this thread, as SQLite's WAL hook reports it.
    /// The hook runs inside `COMMIT`, on the thread that runs it, and takes no context.
    static LOG_FRAMES: Cell<c_int> = const { Cell::new(0) };
}

fn note_log_frames(_: &Wal, frames: c_int) -> rusqlite::Result<()> {
    LOG_FRAMES.set(frames);
    Ok(())
}

/// The checkpointer of one database.
#[derive(Debug)]
pub(crate) struct Checkpoints {
    inner: Arc<Background>,
    runtime: Option<tokio::runtime::Handle>,
}

#[derive(Debug)]
struct Background {
    path: PathBuf,
    /// Its own connection, opened at the first checkpoint.
    conn: Mutex<Option<Connection>>,
    running: AtomicBool,
}

impl Checkpoints {
    /// Takes over checkpointing from SQLite for `writer` (the WAL hook replaces SQLite's
    /// automatic checkpoint).
    pub(crate) fn take_over(writer: &Connection) -> Self {
        writer.wal_hook(Some(note_log_frames));
        Self {
            inner: Arc::new(Background {
                path: writer.path().unwrap_or_default().into(),
                conn: Mutex::new(None),
                running: AtomicBool::new(false),
            }),
            runtime: tokio::runtime::Handle::try_current().ok(),
        }
    }

    /// Called on the writer's thread right after each commit of `writer`.
    pub(crate) fn after_commit(&self, writer: &Connection) {
        let frames = LOG_FRAMES.replace(0);
        if frames >= BLOCKING_FRAMES {
            // After the background checkpoint in progress, if any: while it runs, this one
            // would find the log busy and do nothing.
            let _background = self.inner.lock_conn();
            checkpoint(writer);
            return;
        }
        if frames < BACKGROUND_FRAMES || self.inner.running.swap(true, Ordering::AcqRel) {
            return;
        }
        let background = Arc::clone(&self.inner);
        let run = move || {
            background.run();
            background.running.store(false, Ordering::Release);
        };
        match &self.runtime {
            Some(runtime) => drop(runtime.spawn_blocking(run)),
            None => run(),
        }
    }
}

impl Background {
    fn lock_conn(&self) -> std::sync::MutexGuard<'_, Option<Connection>> {
        // A panic while checkpointing leaves a connection that is still fine to use.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn run(&self) {
        let mut conn = self.lock_conn();
        if conn.is_none() {
            match Connection::open(&self.path) {
                Ok(opened) => *conn = Some(opened),
                Err(error) => {
                    tracing::warn!(%error, "opening the checkpointer's connection failed");
                    return;
                }
            }
        }
        if let Some(conn) = conn.as_ref() {
            checkpoint(conn);
        }
    }
}

/// Copies as much of the log into the database as no reader still needs, without waiting.
/// Another checkpoint in progress (the background one, or another process's) is no failure:
/// it does the same work.
fn checkpoint(conn: &Connection) {
    match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
        Ok(()) => {}
        Err(error) if error.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {}
        Err(error) => tracing::warn!(%error, "checkpointing the write-ahead log failed"),
    }
}

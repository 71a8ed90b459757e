//! Who uses a SQLite database: every process that opens it through [`crate::Store`] (a server,
//! `qualify admin`) holds a shared lock on a file beside it, `<database>-in-use`, for as long as
//! it has it open; `qualify restore` takes that lock exclusively. So a restore never replaces a
//! database under a running server (which keeps signing keys and caches in memory, and would go
//! on writing into what it believes is the old database), and no server opens a database while
//! one is being restored. The lock is the kernel's (`flock`), released when its process ends,
//! however it ends; the file itself is empty and stays.
//!
//! A file of its own, not the database: SQLite's own locks are POSIX record locks, which a
//! process loses on closing *any* descriptor of the file, so Qualify never opens the database
//! file itself.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

/// What the lock file's name adds to the database's.
const SUFFIX: &str = "-in-use";

/// The lock file of `database`.
pub fn lock_file(database: &Path) -> PathBuf {
    crate::sidecar::path(database, SUFFIX)
}

/// A hold on a database: shared by the processes using it, or a restore's alone. Released on drop.
#[derive(Debug)]
pub struct InUse {
    _file: File,
}

/// Why a database could not be held.
#[derive(Debug, thiserror::Error)]
pub enum NotHeld {
    /// Someone holds it the other way: a restore, for a server; a server, for a restore.
    #[error("{0}")]
    Busy(String),
    /// The lock file could not be opened or locked.
    #[error("{path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn open(database: &Path) -> Result<(File, PathBuf), NotHeld> {
    crate::sidecar::open(database, SUFFIX).map_err(|source| NotHeld::Io {
        path: lock_file(database),
        source,
    })
}

impl InUse {
    /// A server's (or `qualify admin`'s) hold on `database`, shared with the others using it.
    pub fn shared(database: &Path) -> Result<Self, NotHeld> {
        let (file, path) = open(database)?;
        match file.try_lock_shared() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(NotHeld::Busy(format!(
                "{} is being restored (`qualify restore` holds {}); start the server once it is done",
                database.display(),
                path.display()
            ))),
            Err(TryLockError::Error(source)) => Err(NotHeld::Io { path, source }),
        }
    }

    /// A restore's hold on `database`: nobody else uses it while this is held.
    pub fn exclusive(database: &Path) -> Result<Self, NotHeld> {
        let (file, path) = open(database)?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(NotHeld::Busy(format!(
                "a running server (or `qualify admin`) uses {} (it holds {}); stop every process using it before restoring into it",
                database.display(),
                path.display()
            ))),
            Err(TryLockError::Error(source)) => Err(NotHeld::Io { path, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_share_a_database_and_a_restore_has_it_alone() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("q.db");
        let first = InUse::shared(&database).unwrap();
        let second = InUse::shared(&database).unwrap();
        assert!(matches!(
            InUse::exclusive(&database),
            Err(NotHeld::Busy(why)) if why.contains("stop every process")
        ));
        drop((first, second));
        let restoring = InUse::exclusive(&database).unwrap();
        assert!(matches!(
            InUse::shared(&database),
            Err(NotHeld::Busy(why)) if why.contains("being restored")
        ));
        drop(restoring);
        assert!(InUse::shared(&database).is_ok());
    }
}

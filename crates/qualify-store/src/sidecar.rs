//! Files beside a SQLite database that its processes share (`<database>-changes`, the change
//! counter; `<database>-in-use`, the hold a restore checks): created readable by their owner
//! only, opened for reading and writing, never truncated. Never the database itself: closing
//! any descriptor of it would drop the POSIX locks SQLite holds on it.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The file `<database><suffix>`.
pub(crate) fn path(database: &Path, suffix: &str) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Opens (or creates) `<database><suffix>`; the file and its path.
pub(crate) fn open(database: &Path, suffix: &str) -> std::io::Result<(File, PathBuf)> {
    let path = path(database, suffix);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)?;
    Ok((file, path))
}

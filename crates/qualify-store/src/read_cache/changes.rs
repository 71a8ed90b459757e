//! What a SQLite commit changed that a cached read depends on, and how every process writing the
//! database tells the others it changed something.
//!
//! In this process: temporary triggers on the writer's connection (invisible to every other
//! connection, and not part of the schema) note each customer whose row or requests a
//! statement touched, and any change to tenants, applications or users, in a temporary table
//! that the commit empties. Whatever path a write takes (a use case, a data reset, a rule's
//! decision), the statement itself reports it.
//!
//! Across processes (`qualify admin` beside a running server, or a second server on the same
//! file): a counter in a file beside the database (`<database>-changes`), which each process's
//! writer bumps after a commit that changed any of it, under a file lock. A reader whose
//! cache accounts for a value other than the file's drops everything.

use std::fs::File;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::StoreError;

/// The tables a cached read depends on, and the column naming the customer a row is of (`None`:
/// a tenant, application or user, noted as a NULL customer).
const WATCHED: [(&str, Option<&str>); 5] = [
    ("customers", Some("id")),
    ("vetting_requests", Some("customer_id")),
    ("tenants", None),
    ("apps", None),
    ("users", None),
];

/// The temporary table, and a trigger per watched table and kind of change.
fn capture_sql() -> String {
    let mut sql =
        String::from("CREATE TEMP TABLE IF NOT EXISTS qualify_changes (customer TEXT);\n");
    for (table, customer) in WATCHED {
        // An update keeps a row's customer, so the old row names it as well as the new.
        for (event, row) in [("INSERT", "NEW"), ("UPDATE", "OLD"), ("DELETE", "OLD")] {
            let value =
                customer.map_or_else(|| "NULL".to_owned(), |column| format!("{row}.{column}"));
            sql.push_str(&format!(
                "CREATE TEMP TRIGGER IF NOT EXISTS qualify_{table}_{event} AFTER {event} ON main.{table} \
                 BEGIN INSERT INTO qualify_changes VALUES ({value}); END;\n"
            ));
        }
    }
    sql
}

/// More customers than this changed in one commit (a data reset, say): dropping everything is
/// cheaper than dropping each.
const MANY: usize = 10_000;

/// What one commit changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) enum Changed {
    /// Nothing a cached read depends on.
    #[default]
    Nothing,
    /// These customers' rows or requests, and (`principals`) tenants, applications or users.
    Some {
        customers: Vec<String>,
        principals: bool,
    },
    /// Too much to name.
    Everything,
}

/// Makes the temporary triggers on the writer's connection (once the schema exists).
pub(crate) fn capture(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(&capture_sql())?;
    Ok(())
}

/// What the open transaction changed, emptying the record of it (inside the transaction, so
/// that a rollback keeps the record as it was, to be reported by the next commit).
pub(crate) fn take(conn: &Connection) -> Result<Changed, StoreError> {
    let mut statement =
        conn.prepare_cached("DELETE FROM temp.qualify_changes RETURNING customer")?;
    let mut rows = statement.query([])?;
    let (mut customers, mut principals) = (Vec::new(), false);
    while let Some(row) = rows.next()? {
        match row.get::<_, Option<String>>(0)? {
            Some(customer) => customers.push(customer),
            None => principals = true,
        }
    }
    customers.sort_unstable();
    customers.dedup();
    Ok(match (customers.len(), principals) {
        (0, false) => Changed::Nothing,
        (n, _) if n > MANY => Changed::Everything,
        _ => Changed::Some {
            customers,
            principals,
        },
    })
}

/// The counter in `<database>-changes`.
#[derive(Debug)]
pub(crate) struct ChangeCounter {
    file: File,
    path: PathBuf,
}

impl ChangeCounter {
    /// Opens (or creates, readable by its owner only) the counter of `database`.
    pub(crate) fn open(database: &Path) -> Result<Self, StoreError> {
        let mut name = database.as_os_str().to_owned();
        name.push("-changes");
        let path = PathBuf::from(name);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|error| StoreError::internal("opening the change counter", error))?;
        Ok(Self { file, path })
    }

    /// Its value (0 for a new file).
    pub(crate) fn read(&self) -> Result<u64, StoreError> {
        let mut bytes = [0u8; 8];
        match self.file.read_exact_at(&mut bytes, 0) {
            Ok(()) => Ok(u64::from_le_bytes(bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => Ok(0),
            Err(error) => Err(self.failed(error)),
        }
    }

    /// Adds one, under the file's lock so that two processes never count as one; the new value.
    pub(crate) fn bump(&self) -> Result<u64, StoreError> {
        self.file.lock().map_err(|error| self.failed(error))?;
        let bumped = self.read().and_then(|value| {
            let next = value.wrapping_add(1);
            self.file
                .write_all_at(&next.to_le_bytes(), 0)
                .map_err(|error| self.failed(error))?;
            Ok(next)
        });
        let unlocked = self.file.unlock().map_err(|error| self.failed(error));
        let next = bumped?;
        unlocked?;
        Ok(next)
    }

    fn failed(&self, error: std::io::Error) -> StoreError {
        tracing::warn!(path = %self.path.display(), %error, "the change counter failed");
        StoreError::internal("using the change counter", error)
    }
}

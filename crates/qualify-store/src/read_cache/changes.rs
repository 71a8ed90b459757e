//! What a SQLite commit changed that a cached read depends on, and how every process writing the
//! database tells the others it changed something.
//!
//! In this process: SQLite's update hook on the writer's connection notes each row a statement
//! inserts, updates or deletes in the tables a cached read depends on; before the transaction
//! commits, the noted rows of customers and their requests are looked up for their customer
//! (a deleted one can't be: then everything is dropped, as after a data reset), and a change to
//! tenants, applications or users drops every status. Whatever path a write takes (a use case,
//! a data reset, a rule's decision), the statement itself reports it. What a rolled-back
//! statement noted is dropped all the same: an entry too many, never one too few. (The hook
//! does not fire for `DELETE` without `WHERE`, SQLite's truncate optimisation, nor for rows
//! `REPLACE` deletes: no statement on these tables is written that way. Triggers would fire,
//! but each statement under a trigger opens and closes a statement journal, at a cost that
//! grows with the transaction: seeding 100,000 customers went from seconds to minutes.)
//!
//! Across processes (`qualify admin` beside a running server, or a second server on the same
//! file): a counter in a file beside the database (`<database>-changes`), which each process's
//! writer bumps after a commit that changed any of it, under a file lock. A reader whose
//! cache accounts for a value other than the file's drops everything.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;
use rusqlite::hooks::Action;

use crate::StoreError;

/// A table a cached read depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Watched {
    Customers,
    Requests,
    Principals,
}

impl Watched {
    fn of(table: &str) -> Option<Self> {
        match table {
            "customers" => Some(Self::Customers),
            "vetting_requests" => Some(Self::Requests),
            "tenants" | "apps" | "users" => Some(Self::Principals),
            _ => None,
        }
    }
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

/// What the writer's statements noted since the last commit: rows by their rowid.
#[derive(Debug, Default)]
struct Noted {
    customers: Vec<i64>,
    requests: Vec<i64>,
    principals: bool,
    /// A customer or request deleted (its customer can't be looked up), or more rows than are
    /// worth naming.
    everything: bool,
}

/// The record the update hook writes to, on one connection.
#[derive(Debug, Clone, Default)]
pub(crate) struct Capture(Arc<Mutex<Noted>>);

impl Capture {
    /// Sets the update hook on the writer's connection.
    pub(crate) fn install(conn: &Connection) -> Result<Self, StoreError> {
        let capture = Self::default();
        let noted = Arc::clone(&capture.0);
        conn.update_hook(Some(
            move |action: Action, database: &str, table: &str, rowid: i64| {
                let Some(watched) = Watched::of(table).filter(|_| database == "main") else {
                    return;
                };
                let mut noted = noted.lock().unwrap_or_else(PoisonError::into_inner);
                if noted.everything {
                    return;
                }
                match (watched, action) {
                    (Watched::Principals, _) => noted.principals = true,
                    (_, Action::SQLITE_DELETE) => noted.everything = true,
                    _ if noted.customers.len() + noted.requests.len() >= MANY => {
                        *noted = Noted {
                            everything: true,
                            ..Noted::default()
                        };
                    }
                    (Watched::Customers, _) => noted.customers.push(rowid),
                    (Watched::Requests, _) => noted.requests.push(rowid),
                }
            },
        ))?;
        Ok(capture)
    }

    /// What was noted since the last call, emptying the record; inside the transaction, so
    /// that the rows noted are still there to be looked up.
    pub(crate) fn take(&self, conn: &Connection) -> Result<Changed, StoreError> {
        let noted = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        if noted.everything {
            return Ok(Changed::Everything);
        }
        let mut customers = Vec::new();
        for (rowids, sql) in [
            (
                &noted.customers,
                "SELECT id FROM customers WHERE rowid IN (SELECT value FROM json_each(?1))",
            ),
            (
                &noted.requests,
                "SELECT customer_id FROM vetting_requests WHERE rowid IN (SELECT value FROM json_each(?1))",
            ),
        ] {
            if rowids.is_empty() {
                continue;
            }
            let list = serde_json::to_string(rowids)
                .map_err(|error| StoreError::internal("listing changed rows", error))?;
            let mut statement = conn.prepare_cached(sql)?;
            let found = statement.query_map([list], |row| row.get::<_, String>(0))?;
            for customer in found {
                customers.push(customer?);
            }
        }
        customers.sort_unstable();
        customers.dedup();
        Ok(match (customers.is_empty(), noted.principals) {
            (true, false) => Changed::Nothing,
            _ => Changed::Some {
                customers,
                principals: noted.principals,
            },
        })
    }
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
        let (file, path) = crate::sidecar::open(database, "-changes")
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

//! The database, and how the store talks to it.

use std::time::Duration;

use qualify_store::{Backend, DatabaseUrl, SqliteSync, StoreOptions};
use serde::{Deserialize, Serialize};

use super::InvalidSettings;
use super::parse::{displayed, displayed_option, parsed, parsed_option};

/// The store's settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct StoreSettings {
    /// The database: an SQLite file (created on first use) or a PostgreSQL server.
    #[serde(deserialize_with = "parsed", serialize_with = "displayed")]
    pub database: DatabaseUrl,
    /// SQLite only: how commits are made durable [default: full].
    #[serde(
        deserialize_with = "parsed_option",
        serialize_with = "displayed_option"
    )]
    pub sqlite_sync: Option<SqliteSync>,
    /// The most memory, in MiB, that the read cache of what GETs read takes (on SQLite callers'
    /// statuses and customers' histories; on PostgreSQL customers' histories, each checked
    /// against its version in the database on every read); 0 turns it off [default: 160, about
    /// 1.3 million customers with three requests each].
    pub read_cache_mib: Option<u64>,
    /// PostgreSQL only: the connection pool's size [default: 8]. (SQLite reads on as many
    /// connections as threads run statements at once, and writes on one.)
    pub db_max_connections: Option<u32>,
    /// PostgreSQL only: how long a request waits for a free connection before it is answered
    /// 503 [default: 5s].
    #[serde(with = "humantime_serde::option")]
    pub db_acquire_timeout: Option<Duration>,
    /// PostgreSQL's `statement_timeout`; on SQLite, how long to wait for another process's
    /// write lock.
    #[serde(with = "humantime_serde")]
    pub db_statement_timeout: Duration,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            database: DatabaseUrl::default_sqlite(),
            sqlite_sync: None,
            read_cache_mib: None,
            db_max_connections: None,
            db_acquire_timeout: None,
            db_statement_timeout: Duration::from_secs(10),
        }
    }
}

impl StoreSettings {
    pub(super) fn check(&self) -> Result<(), InvalidSettings> {
        let refused = match self.database.backend() {
            Backend::Sqlite if self.db_max_connections.is_some() => {
                "db_max_connections is PostgreSQL's pool size; SQLite reads on as many connections as threads run statements, and writes on one: remove it"
            }
            Backend::Sqlite if self.db_acquire_timeout.is_some() => {
                "db_acquire_timeout is PostgreSQL's wait for a pooled connection; SQLite has no pool: remove it"
            }
            Backend::Postgres if self.sqlite_sync.is_some() => {
                "sqlite_sync applies to SQLite only; PostgreSQL's durability is its own (synchronous_commit): remove it"
            }
            _ => return Ok(()),
        };
        Err(InvalidSettings::new(refused))
    }

    /// How the store connects.
    pub fn options(&self) -> StoreOptions {
        let mut options = StoreOptions::new(self.database.clone());
        options.statement_timeout = self.db_statement_timeout;
        if let Some(sync) = self.sqlite_sync {
            options.sqlite_sync = sync;
        }
        if let Some(mib) = self.read_cache_mib {
            options.read_cache_bytes = mib.saturating_mul(1 << 20);
        }
        if let Some(connections) = self.db_max_connections {
            options.max_connections = connections.max(1);
        }
        if let Some(timeout) = self.db_acquire_timeout {
            options.acquire_timeout = timeout;
        }
        options
    }
}

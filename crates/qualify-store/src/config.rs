//! Where the database is and how to talk to it. The PostgreSQL URL may carry a password, so it
//! lives in a secret and every printed form redacts it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

/// Which database, parsed from `--database`.
#[derive(Clone)]
pub enum DatabaseUrl {
    /// An SQLite file, created on first use.
    Sqlite(PathBuf),
    /// A PostgreSQL (or PostgreSQL-compatible) server.
    Postgres(SecretString),
}

/// A `--database` value that names no database Qualify can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unsupported database URL '{0}': use sqlite:///absolute/path.db, a file path, or postgres://…"
)]
pub struct UnsupportedDatabaseUrl(String);

impl DatabaseUrl {
    /// The default: `qualify.db` in `./qualify-data/`.
    pub fn default_sqlite() -> Self {
        Self::Sqlite(Path::new("qualify-data").join("qualify.db"))
    }

    /// Which backend this URL selects.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// The URL with its password, to hand to another process (`--database`). Never log it.
    pub fn expose(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::Postgres(url) => url.expose_secret().to_owned(),
        }
    }

    pub(crate) fn postgres_url(&self) -> Option<&str> {
        match self {
            Self::Postgres(url) => Some(url.expose_secret()),
            Self::Sqlite(_) => None,
        }
    }
}

impl FromStr for DatabaseUrl {
    type Err = UnsupportedDatabaseUrl;

    /// `postgres://…` or `postgresql://…`; `sqlite:///abs/path.db`, `sqlite://rel/path.db` or
    /// `sqlite:path.db`; or a bare file path.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(Self::Postgres(SecretString::from(s.to_owned())));
        }
        let path = match s.strip_prefix("sqlite:") {
            Some(rest) => rest.strip_prefix("//").unwrap_or(rest),
            None if s.contains("://") => return Err(UnsupportedDatabaseUrl(s.to_owned())),
            None => s,
        };
        if path.is_empty() || path.contains('?') || path == ":memory:" {
            return Err(UnsupportedDatabaseUrl(s.to_owned()));
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }
}

impl fmt::Display for DatabaseUrl {
    /// The URL with any password replaced by `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            Self::Postgres(url) => match url::Url::parse(url.expose_secret()) {
                Ok(mut parsed) => {
                    if parsed.password().is_some() {
                        // Only fails for URLs that cannot carry a password, which this one did.
                        let _ = parsed.set_password(Some("***"));
                    }
                    // libpq also takes secrets as parameters (`?password=…`, `sslpassword`).
                    if parsed
                        .query_pairs()
                        .any(|(key, _)| is_secret_parameter(&key))
                    {
                        let kept: Vec<(String, String)> = parsed
                            .query_pairs()
                            .map(|(key, value)| {
                                let value = if is_secret_parameter(&key) {
                                    "***".to_owned()
                                } else {
                                    value.into_owned()
                                };
                                (key.into_owned(), value)
                            })
                            .collect();
                        parsed.query_pairs_mut().clear().extend_pairs(kept);
                    }
                    f.write_str(parsed.as_str())
                }
                Err(_) => f.write_str("postgres://<unparseable URL redacted>"),
            },
        }
    }
}

/// Whether a PostgreSQL URL's parameter `key` carries a secret.
fn is_secret_parameter(key: &str) -> bool {
    key.eq_ignore_ascii_case("password") || key.eq_ignore_ascii_case("sslpassword")
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// The database engine behind a [`crate::Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// How SQLite makes a commit durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteSync {
    /// fsync the write-ahead log at every commit: an acknowledged write survives a power cut.
    #[default]
    Full,
    /// fsync at checkpoints only: an acknowledged write survives a crash of the process (even
    /// `kill -9`), but the last commits may be lost on a power cut. Faster.
    Normal,
}

impl FromStr for SqliteSync {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "full" => Ok(Self::Full),
            "normal" => Ok(Self::Normal),
            other => Err(format!("sqlite_sync '{other}' is not full or normal")),
        }
    }
}

impl fmt::Display for SqliteSync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Full => "full",
            Self::Normal => "normal",
        })
    }
}

/// The read cache's default bound, in MiB: a customer's history is packed (`read_cache/packed.rs`),
/// so a million customers with three requests each take about 120 MiB of it (measured: 122 bytes
/// a customer, the table's share included), and it holds 1.3 million of them.
pub const DEFAULT_READ_CACHE_MIB: u64 = 160;

/// How the store connects.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Which database.
    pub url: DatabaseUrl,
    /// PostgreSQL only: the pool's size. (SQLite ignores it: it reads on as many connections as
    /// threads run statements at once, and writes on one.)
    pub max_connections: u32,
    /// PostgreSQL only: how long to wait for a free connection before giving up (503).
    pub acquire_timeout: Duration,
    /// PostgreSQL only: the connections that every request's hot reads share, pipelined
    /// (besides the pool's).
    pub shared_read_connections: usize,
    /// PostgreSQL's `statement_timeout`; SQLite's busy timeout.
    pub statement_timeout: Duration,
    /// SQLite only: its durability. (PostgreSQL's is its own: `synchronous_commit`.)
    pub sqlite_sync: SqliteSync,
    /// The most memory the read cache's customer histories take, roughly; 0 keeps no cache
    /// (`read_cache`; on PostgreSQL `read_cache/versioned.rs`).
    pub read_cache_bytes: u64,
}

impl StoreOptions {
    /// Defaults for `url`.
    pub fn new(url: DatabaseUrl) -> Self {
        Self {
            url,
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
            shared_read_connections: 4,
            statement_timeout: Duration::from_secs(10),
            sqlite_sync: SqliteSync::Full,
            read_cache_bytes: DEFAULT_READ_CACHE_MIB << 20,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_and_paths_name_files() {
        for (given, path) in [
            ("sqlite:///tmp/q.db", "/tmp/q.db"),
            ("sqlite://data/q.db", "data/q.db"),
            ("sqlite:q.db", "q.db"),
            ("./q.db", "./q.db"),
        ] {
            match given.parse::<DatabaseUrl>().unwrap() {
                DatabaseUrl::Sqlite(p) => assert_eq!(p, PathBuf::from(path)),
                other => panic!("{given} parsed as {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_schemes_and_empty_paths_are_refused() {
        for bad in [
            "mysql://localhost/q",
            "sqlite://",
            "sqlite::memory:",
            "sqlite:///q.db?mode=ro",
        ] {
            assert!(bad.parse::<DatabaseUrl>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_postgres_password_never_prints() {
        let url: DatabaseUrl = "postgres://qualify:hunter2@db.internal:5432/qualify"
            .parse()
            .unwrap();
        assert_eq!(url.backend(), Backend::Postgres);
        for printed in [url.to_string(), format!("{url:?}")] {
            assert!(!printed.contains("hunter2"), "{printed}");
            assert!(printed.contains("qualify:***@db.internal"), "{printed}");
        }
        let url: DatabaseUrl =
            "postgres://qualify@db.internal/qualify?sslmode=require&password=hunter2&sslpassword=x2"
                .parse()
                .unwrap();
        for printed in [url.to_string(), format!("{url:?}")] {
            assert!(
                !printed.contains("hunter2") && !printed.contains("x2"),
                "{printed}"
            );
            assert!(
                printed.contains("?sslmode=require&password=***&sslpassword=***"),
                "{printed}"
            );
        }
    }
}

//! Throw-away databases for tests: a temporary SQLite file, or a uniquely named PostgreSQL
//! database created for one test and dropped after it.
//!
//! PostgreSQL tests need a server: `QUALIFY_TEST_POSTGRES` names its maintenance database
//! (default `postgres://postgres@127.0.0.1:5432/postgres`). Without one they print that they
//! were skipped, unless `QUALIFY_REQUIRE_POSTGRES=1` makes that a failure (as CI does).

// A test fixture: the one place in the libraries that reads the environment.
#![allow(clippy::disallowed_methods)]

use std::io::Write;
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::PgConnection;
use tempfile::TempDir;

use crate::{Backend, DatabaseUrl};

const DEFAULT_MAINTENANCE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database that exists for as long as this value does.
#[derive(Debug)]
pub struct TestDatabase {
    url: DatabaseUrl,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    SqliteDir(#[allow(dead_code)] TempDir),
    PostgresDatabase {
        maintenance_url: String,
        name: String,
    },
}

impl TestDatabase {
    /// A fresh SQLite file in a temporary directory.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = DatabaseUrl::Sqlite(dir.path().join("qualify.db"));
        Self {
            url,
            cleanup: Cleanup::SqliteDir(dir),
        }
    }

    /// A freshly created PostgreSQL database, or `None` (after saying so on stderr) when no
    /// PostgreSQL server is reachable and `QUALIFY_REQUIRE_POSTGRES` is not set.
    pub async fn postgres(test: &str) -> Option<Self> {
        let maintenance_url = std::env::var("QUALIFY_TEST_POSTGRES")
            .unwrap_or_else(|_| DEFAULT_MAINTENANCE_URL.to_owned());
        let connected = tokio::time::timeout(
            Duration::from_secs(5),
            PgConnection::connect(&maintenance_url),
        )
        .await;
        let mut conn = match connected {
            Ok(Ok(conn)) => conn,
            Ok(Err(error)) => return skip(test, &maintenance_url, &error.to_string()),
            Err(_) => return skip(test, &maintenance_url, "timed out"),
        };
        let name = format!("qualify_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("CREATE DATABASE");
        let _ = conn.close().await;
        let mut url = url::Url::parse(&maintenance_url).expect("QUALIFY_TEST_POSTGRES is a URL");
        url.set_path(&name);
        Some(Self {
            url: url.as_str().parse().expect("a postgres URL"),
            cleanup: Cleanup::PostgresDatabase {
                maintenance_url,
                name,
            },
        })
    }

    /// One database of each backend: SQLite always, PostgreSQL when reachable.
    pub async fn every_backend(test: &str) -> Vec<Self> {
        let mut databases = vec![Self::sqlite()];
        databases.extend(Self::postgres(test).await);
        databases
    }

    /// Its URL.
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// Its backend.
    pub fn backend(&self) -> Backend {
        self.url.backend()
    }

    /// SQLite's own check of the whole file (`PRAGMA integrity_check`): `Ok` when it says `ok`,
    /// otherwise every problem it lists; `Ok` for PostgreSQL, whose pages its own WAL recovery
    /// vouches for. Opens the file as a new process would after a crash, recovering its log.
    pub fn integrity_check(&self) -> Result<(), Vec<String>> {
        let DatabaseUrl::Sqlite(path) = &self.url else {
            return Ok(());
        };
        let problems = rusqlite::Connection::open(path)
            .and_then(|db| {
                let mut statement = db.prepare("PRAGMA integrity_check")?;
                statement
                    .query_map([], |row| row.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap_or_else(|error| vec![format!("opening {}: {error}", path.display())]);
        if problems == ["ok"] {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Runs `statement` on the PostgreSQL server's maintenance database, with `{db}` replaced by
    /// this database's name: for tests that play the database administrator (refusing
    /// connections, ending sessions). Does nothing for SQLite.
    pub async fn administer(&self, statement: &str) {
        let Cleanup::PostgresDatabase {
            maintenance_url,
            name,
        } = &self.cleanup
        else {
            return;
        };
        let mut conn = PgConnection::connect(maintenance_url)
            .await
            .expect("the maintenance database");
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement.replace("{db}", name)))
            .execute(&mut conn)
            .await
            .expect("the administrative statement");
        let _ = conn.close().await;
    }
}

fn skip(test: &str, url: &str, why: &str) -> Option<TestDatabase> {
    let redacted: DatabaseUrl = url
        .parse()
        .unwrap_or_else(|_| DatabaseUrl::default_sqlite());
    if std::env::var("QUALIFY_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
        panic!(
            "{test}: PostgreSQL is required (QUALIFY_REQUIRE_POSTGRES=1) but {redacted} is unreachable: {why}"
        );
    }
    // Written to the process's stderr directly: the test harness captures `eprintln!` of a
    // passing test, and a skip must be seen.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED on PostgreSQL: {test}: no server at {redacted} ({why}); set QUALIFY_REQUIRE_POSTGRES=1 to fail instead"
    );
    None
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Cleanup::PostgresDatabase {
            maintenance_url,
            name,
        } = &self.cleanup
        else {
            return;
        };
        let (maintenance_url, name) = (maintenance_url.clone(), name.clone());
        let statement = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        // Drop runs inside the test's runtime, which can't be blocked on: drop the database
        // from a thread with its own small runtime, and wait for it.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&maintenance_url).await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                    .execute(&mut conn)
                    .await?;
                conn.close().await
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            let _ = writeln!(
                std::io::stderr(),
                "warning: could not drop test database {name}"
            );
        }
    }
}

//! Qualify's persistence: one [`Store`] over embedded SQLite or PostgreSQL. It owns the
//! statements, transactions ([`Store::transaction`] and its [`Tx`]), the translation of the
//! drivers' errors, and durability (the SQLite writer's group commit and checkpoints). It decides
//! no business question: which submission is allowed, who may decide, what is audited and what
//! is announced belong to the application core above, which composes these statements in one
//! transaction.
//!
//! There is one way to write a table: a method of [`Tx`], in a transaction (a job's claim and
//! its outcome, a delivery's log line, a refresh token's rotation too). Reads are methods of
//! [`Store`], and of [`Tx`] where a use case reads within its transaction; a read on both is one
//! statement, written once and run on either. Each module holds one table's statements (or a
//! few tables that are only ever read together), named after it.
//!
//! Every statement is written once, in SQL both engines run (`$N` placeholders, `RETURNING`,
//! `ON CONFLICT`, partial unique indexes), and executed through the dispatch macros below,
//! which expand the same code for each backend's connections (`db/` runs a statement on
//! either). Where the engines must differ (how a write transaction starts), the difference sits
//! in one `match` with both arms side by side.
//!
//! Invariants live in the schema, not in process memory: uniqueness of held qualifications,
//! non-negative GCC quotas, one idempotency record per request id. So they hold with several
//! server processes on one PostgreSQL database as well as with one process on SQLite.

use std::path::Path;

use std::sync::Arc;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};

mod admin;
mod audit;
pub mod backup;
mod checkpoint;
mod clocks;
mod config;
mod console_sessions;
mod customers;
mod db;
mod error;
mod group_commit;
mod history;
mod idempotency;
mod identity;
pub mod in_use;
mod jobs;
mod metrics;
mod partner_rules;
mod postgres_gets;
mod read_cache;
mod records;
mod refresh_tokens;
mod sidecar;
#[cfg(feature = "testing")]
pub mod testing;
mod transaction;
mod validation_codes;
mod validation_events;
mod vetting;
mod webhook_deliveries;
mod webhook_registrations;
mod webhook_signer;
mod writer;

pub use admin::PrincipalStatus;
pub use audit::{AuditEvent, AuditPage, AuditQuery, AuditRecord, AuditedChange};
pub use config::{
    Backend, DEFAULT_READ_CACHE_MIB, DatabaseUrl, SqliteSync, StoreOptions, UnsupportedDatabaseUrl,
};
pub use console_sessions::ConsoleSession;
pub use customers::{CustomerPage, CustomerSearch, LockedCustomer, NewCustomerRecord};
pub use error::{StoreError, Unique};
pub use history::HistoryEntry;
pub use idempotency::IdempotencyRecord;
pub use identity::{NewApp, NewTenant, NewUser};
pub use jobs::{
    Claim, ClaimedJob, JobRecord, JobState, LaneStats, NewJob, OnJobsCommitted, OpenReceiver,
};
pub use metrics::{JOB_COUNT_STATES, JobCount};
pub use partner_rules::{PartnerControls, StoredRules};
pub use read_cache::ReadCacheUsage;
pub use records::{
    AppRecord, BillingRecord, CustomerRecord, SigningKeyRecord, TenantKind, TenantRecord,
    UserRecord, UserRole, ValidationCodeRecord, VettingRecord,
};
pub use refresh_tokens::{NewRefreshToken, Redeemed};
pub use transaction::Tx;
pub use validation_codes::{CodeSpent, NewValidationCode};
pub use validation_events::ValidationEvent;
pub use vetting::{ImportedVetting, NewVettingRequest, VettingFilter, VettingPage};
pub use webhook_deliveries::DeliveryAttempt;
pub use webhook_registrations::WebhookRegistration;
pub use webhook_signer::StoredWebhookSigner;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The connections of one backend.
#[derive(Debug, Clone)]
enum Pool {
    /// SQLite allows one writer at a time: writes go through the one writer connection, which
    /// batches concurrent transactions into one (writer.rs); reads through several connections.
    Sqlite {
        readers: Arc<db::Readers>,
        writer: Arc<writer::Writer>,
        /// How sqlx opens the database to apply migrations.
        migrations: Arc<SqliteConnectOptions>,
        /// What the writer and the group commit observe, for Prometheus.
        write_metrics: metrics::WriteMetrics,
        /// This process's share of the database (`in_use.rs`): no restore replaces it meanwhile.
        _in_use: Arc<in_use::InUse>,
    },
    /// PostgreSQL serves reads and writes from one pool, and the hot reads (see
    /// [`on_hot_reader`]) from a few connections every request shares (`db/pipeline.rs`), where
    /// concurrent GETs' reads are merged into one statement (`postgres_gets.rs`).
    Postgres(
        PgPool,
        Arc<db::Pipeline>,
        Arc<db::Batched<postgres_gets::StatusAndHistory>>,
    ),
}

/// Runs `$body` with `$pool` bound to the pool that serves reads, once per backend.
macro_rules! on_reader {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite { readers, .. } => {
                let $pool: &$crate::db::Readers = readers;
                $body
            }
            $crate::Pool::Postgres($pool, ..) => $body,
        }
    };
}

pub(crate) use on_reader;

/// As [`on_reader`], for the reads every request makes (its caller's status): on PostgreSQL,
/// `$pool` is the shared, pipelined connections. (A GET's, the hottest, has a path of its own:
/// `postgres_gets.rs`.)
macro_rules! on_hot_reader {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite { readers, .. } => {
                let $pool: &$crate::db::Readers = readers;
                $body
            }
            $crate::Pool::Postgres(_, pipeline, _) => {
                let $pool: &$crate::db::Pipeline = pipeline;
                $body
            }
        }
    };
}

pub(crate) use on_hot_reader;

/// Qualify's database. Cheap to clone: clones share the pools.
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    /// What GETs read, kept in memory unless turned off (`read_cache`).
    read_cache: Option<read_cache::Kept>,
    /// Who hears of jobs committed (the node's workers).
    signals: jobs::signals::Signals,
}

impl Store {
    /// Connects, creating the SQLite file (and its directory) if missing, and applies any
    /// pending migrations. Several processes may call this at once on one PostgreSQL database:
    /// migrations run under an advisory lock.
    pub async fn connect(options: &StoreOptions) -> Result<Self, StoreError> {
        let store = match &options.url {
            DatabaseUrl::Sqlite(path) => Self::connect_sqlite(path, options).await?,
            DatabaseUrl::Postgres(_) => Self::connect_postgres(options).await?,
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn connect_sqlite(path: &Path, options: &StoreOptions) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::internal("creating the database directory", e))?;
        }
        let in_use = in_use::InUse::shared(path)
            .map_err(|e| StoreError::internal("holding the database against a restore", e))?;
        // Full durability is SQLite's NORMAL plus an fsync of the log before each write is
        // acknowledged, shared between concurrent commits (group_commit.rs).
        let write_metrics = metrics::WriteMetrics::default();
        let group_commit = match options.sqlite_sync {
            SqliteSync::Full => Some(Arc::new(group_commit::GroupCommit::new(
                path,
                write_metrics.clone(),
            ))),
            SqliteSync::Normal => None,
        };
        // Every process writing the database tells the others of its commits; one that keeps a
        // cache also drops from it what its own commits change.
        let counter = read_cache::changes::ChangeCounter::open(path)?;
        let (read_cache, after_commit) = match options.read_cache_bytes {
            0 => (None, read_cache::AfterCommit::Announce(counter)),
            bytes => {
                let cache = Arc::new(read_cache::ReadCache::new(counter, bytes)?);
                (
                    Some(Arc::clone(&cache)),
                    read_cache::AfterCommit::Drop(cache),
                )
            }
        };
        // The writer is opened first: it creates the database, so readers open an existing one.
        let writer = writer::Writer::new(
            db::open_writer(path, options.statement_timeout)?,
            group_commit,
            options.statement_timeout,
            write_metrics.batch_writes.clone(),
            Some(after_commit),
        );
        let readers = Arc::new(db::Readers::new(path, options.statement_timeout));
        let migrations = Arc::new(
            SqliteConnectOptions::new()
                .filename(path)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(options.statement_timeout),
        );
        Ok(Self {
            pool: Pool::Sqlite {
                readers,
                writer,
                migrations,
                write_metrics,
                _in_use: Arc::new(in_use),
            },
            read_cache: read_cache.map(read_cache::Kept::Sqlite),
            signals: jobs::signals::Signals::default(),
        })
    }

    async fn connect_postgres(options: &StoreOptions) -> Result<Self, StoreError> {
        let url = options.url.postgres_url().unwrap_or_default();
        let timeout_ms = options.statement_timeout.as_millis().to_string();
        let connect: PgConnectOptions = url
            .parse::<PgConnectOptions>()?
            .application_name("qualify")
            .options([("statement_timeout", timeout_ms.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await?;
        let pipeline = db::Pipeline::new(
            url,
            options.shared_read_connections,
            options.statement_timeout,
            options.acquire_timeout,
        )?;
        let pipeline = Arc::new(pipeline);
        let gets = Arc::new(db::Batched::start(Arc::clone(&pipeline)));
        Ok(Self {
            pool: Pool::Postgres(pool, pipeline, gets),
            read_cache: (options.read_cache_bytes > 0).then(|| {
                read_cache::Kept::Postgres(Arc::new(
                    read_cache::versioned::VersionedHistories::new(options.read_cache_bytes),
                ))
            }),
            signals: jobs::signals::Signals::default(),
        })
    }

    /// How full the read cache is; `None` when it is turned off.
    pub fn read_cache_usage(&self) -> Option<ReadCacheUsage> {
        self.read_cache.as_ref().map(read_cache::Kept::usage)
    }

    /// SQLite's read cache, unless it is turned off.
    fn sqlite_cache(&self) -> Option<&read_cache::ReadCache> {
        match &self.read_cache {
            Some(read_cache::Kept::Sqlite(cache)) => Some(cache),
            _ => None,
        }
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite {
                writer, migrations, ..
            } => {
                // sqlx's migrator, on a connection of its own while the writer stays idle.
                let _idle = writer.pause().await?;
                let mut conn = SqliteConnection::connect_with(migrations).await?;
                SQLITE_MIGRATIONS.run(&mut conn).await?;
                conn.close().await?;
                drop(_idle);
                writer.capture_changes().await?;
            }
            Pool::Postgres(pool, ..) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// Has `listener` told, after each commit that enqueued jobs (once it is durable), the
    /// earliest due time it enqueued in each lane: how a node's idle workers learn of work
    /// without looking at every write. One listener per store (and its clones); false if one
    /// was set already.
    pub fn on_jobs_committed(
        &self,
        listener: impl Fn(&str, qualify_types::Timestamp) + Send + Sync + 'static,
    ) -> bool {
        self.signals.listen(Box::new(listener))
    }

    /// Which engine this store runs on.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite { .. } => Backend::Sqlite,
            Pool::Postgres(..) => Backend::Postgres,
        }
    }

    /// Whether every migration this build carries has been applied to the database (a node
    /// applies them as it starts; until the database has them, it can't serve this build's
    /// statements). A database migrated further by a newer build counts as applied.
    pub async fn migrations_applied(&self) -> Result<bool, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM _sqlx_migrations WHERE success";
        let known = match self.backend() {
            Backend::Sqlite => SQLITE_MIGRATIONS.iter().count(),
            Backend::Postgres => POSTGRES_MIGRATIONS.iter().count(),
        };
        let applied: i64 = on_reader!(self, |pool| db::query(SQL).fetch_one(pool).await?);
        Ok(usize::try_from(applied).unwrap_or_default() >= known)
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_reader!(self, |pool| db::query("SELECT 1").execute(pool).await?);
        Ok(())
    }

    /// Stops using the database: on SQLite, closes the idle read connections and waits for the
    /// writer's open batch to commit (the rest close as the store is dropped, SQLite
    /// checkpointing its write-ahead log as the last one does); on PostgreSQL, closes the pool,
    /// waiting for connections in use to be returned.
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite {
                readers, writer, ..
            } => {
                readers.close();
                writer.close().await;
            }
            Pool::Postgres(pool, ..) => pool.close().await,
        }
    }
}

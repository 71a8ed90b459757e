//! What the store tells Prometheus: how SQLite's group commit batches writes and how long its
//! fsyncs take, how busy PostgreSQL's pool is and how many GETs share a statement, and the counts a scrape reads from the tables
//! (vetting requests by state, the oldest still in review, jobs by state).

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use qualify_types::Timestamp;
use sqlx::postgres::PgPool;

use crate::db;
use crate::records::timestamp;
use crate::{Pool, Store, StoreError, on_reader};

/// SQLite's write path, observed by the writer and the group commit.
#[derive(Debug, Clone)]
pub(crate) struct WriteMetrics {
    /// Callers' writes per committed SQLite transaction (the writer's batch).
    pub(crate) batch_writes: Histogram,
    /// SQLite transactions made durable by one fsync of the log.
    pub(crate) commits_per_fsync: Histogram,
    /// How long each fsync of the log took.
    pub(crate) fsync_seconds: Histogram,
}

impl Default for WriteMetrics {
    fn default() -> Self {
        // Powers of two up to the writer's largest batch (128); fsyncs from 50 µs to 1.6 s.
        Self {
            batch_writes: Histogram::new(exponential_buckets(1.0, 2.0, 8)),
            commits_per_fsync: Histogram::new(exponential_buckets(1.0, 2.0, 10)),
            fsync_seconds: Histogram::new(exponential_buckets(0.000_05, 2.0, 16)),
        }
    }
}

/// The pool's connections, read at each scrape.
#[derive(Debug)]
struct PoolUse(PgPool);

impl Collector for PoolUse {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let open = self.0.size();
        let idle = u32::try_from(self.0.num_idle())
            .unwrap_or(u32::MAX)
            .min(open);
        let mut family = encoder.encode_descriptor(
            "qualify_postgres_pool_connections",
            "Connections of the PostgreSQL pool, by whether a statement holds them",
            None,
            MetricType::Gauge,
        )?;
        for (state, count) in [("in_use", open - idle), ("idle", idle)] {
            ConstGauge::new(i64::from(count)).encode(family.encode_family(&[("state", state)])?)?;
        }
        let max = ConstGauge::new(i64::from(self.0.options().get_max_connections()));
        max.encode(encoder.encode_descriptor(
            "qualify_postgres_pool_max_connections",
            "The size the PostgreSQL pool may grow to (--db-max-connections)",
            None,
            max.metric_type(),
        )?)
    }
}

/// The states [`Store::job_counts`] counts jobs in: `due` (waiting for a worker), `running`
/// (leased), `scheduled` (due later), `dead` (given up). Done jobs are not counted.
pub const JOB_COUNT_STATES: [&str; 4] = ["due", "running", "scheduled", "dead"];

/// Jobs of one kind in one state, as a scrape counts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCount {
    /// The job's kind.
    pub kind: String,
    /// One of [`JOB_COUNT_STATES`].
    pub state: &'static str,
    /// How many.
    pub count: u64,
}

impl Store {
    /// Registers what the store observes in `registry`: SQLite's write path, or PostgreSQL's
    /// pool and merged reads.
    pub fn register_metrics(&self, registry: &mut Registry) {
        match &self.pool {
            Pool::Sqlite { write_metrics, .. } => {
                registry.register(
                    "qualify_sqlite_batch_writes",
                    "Writes committed together in one SQLite transaction (the writer's batch)",
                    write_metrics.batch_writes.clone(),
                );
                registry.register(
                    "qualify_sqlite_commits_per_fsync",
                    "SQLite transactions made durable by one fsync of the log (group commit)",
                    write_metrics.commits_per_fsync.clone(),
                );
                registry.register_with_unit(
                    "qualify_sqlite_fsync",
                    "How long an fsync of the SQLite log took",
                    Unit::Seconds,
                    write_metrics.fsync_seconds.clone(),
                );
            }
            Pool::Postgres(pool, _, gets) => {
                registry.register_collector(Box::new(PoolUse(pool.clone())));
                registry.register(
                    "qualify_postgres_get_reads_per_statement",
                    "GETs whose reads PostgreSQL answered together, in one statement",
                    gets.keys_per_statement().clone(),
                );
            }
        }
    }

    /// How many vetting requests are in each state.
    pub async fn vetting_request_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
        const SQL: &str = "SELECT status, COUNT(*) FROM vetting_requests GROUP BY status";
        let rows: Vec<(String, i64)> =
            on_reader!(self, |pool| db::query(SQL).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(|(status, count)| (status, u64::try_from(count).unwrap_or_default()))
            .collect())
    }

    /// When the oldest request still in review was submitted.
    pub async fn oldest_in_review(&self) -> Result<Option<Timestamp>, StoreError> {
        // Requests are numbered as they are made: the lowest number in review is the oldest,
        // found at the start of the (status, seq) index without reading the others.
        const SQL: &str = "SELECT created_at FROM vetting_requests WHERE status = 'InReview' ORDER BY seq LIMIT 1";
        let millis: Option<i64> =
            on_reader!(self, |pool| db::query(SQL).fetch_optional(pool).await?);
        millis
            .map(|millis| timestamp("vetting_requests.created_at", millis))
            .transpose()
    }

    /// Jobs not done, by kind and state at `now`, and the dead ones.
    pub async fn job_counts(&self, now: Timestamp) -> Result<Vec<JobCount>, StoreError> {
        // Each half reads only the rows of its partial index (pending, dead): done jobs, the
        // bulk of the table, are never read.
        const SQL: &str = "SELECT kind, CASE \
                WHEN locked_until IS NOT NULL AND locked_until > $1 THEN 'running' \
                WHEN run_at <= $1 THEN 'due' ELSE 'scheduled' END AS job_state, COUNT(*) AS jobs \
            FROM jobs WHERE state = 'pending' GROUP BY kind, job_state \
            UNION ALL \
            SELECT kind, 'dead' AS job_state, COUNT(*) AS jobs FROM jobs WHERE state = 'dead' GROUP BY kind";
        let rows: Vec<JobCountRow> = on_reader!(self, |pool| db::query(SQL)
            .bind(now.unix_millis())
            .fetch_all(pool)
            .await?);
        rows.into_iter()
            .map(|row| {
                let state = JOB_COUNT_STATES
                    .into_iter()
                    .find(|state| *state == row.job_state)
                    .ok_or_else(|| StoreError::corrupt("job state", &row.job_state))?;
                Ok(JobCount {
                    kind: row.kind,
                    state,
                    count: u64::try_from(row.jobs).unwrap_or_default(),
                })
            })
            .collect()
    }
}

db::row! {
    struct JobCountRow {
        kind: String,
        job_state: String,
        jobs: i64,
    }
}

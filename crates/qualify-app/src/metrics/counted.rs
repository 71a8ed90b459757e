//! The counts a scrape reads from the database: vetting requests by state and the oldest in
//! review, jobs by kind and state, each lane's queue and its oldest due job, and the receivers
//! held back. Read afresh at each scrape, one scrape at a time.

use std::time::Duration;

use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use qualify_store::JOB_COUNT_STATES;
use qualify_types::VettingStatus;

use super::{JobLabels, LaneLabels, LaneOnlyLabels, Metrics, StateLabels};

/// The gauges a scrape sets from the database's counts.
#[derive(Debug, Default)]
pub struct Counted {
    pub vetting_requests: Family<StateLabels, Gauge>,
    pub oldest_in_review_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
    pub jobs: Family<JobLabels, Gauge>,
    /// Each lane's jobs waiting for a worker, and those a worker holds.
    pub lane_jobs: Family<LaneLabels, Gauge>,
    /// How long the oldest job waiting for a worker has been due, by lane (0 when none is).
    pub lane_oldest_due_seconds: Family<LaneOnlyLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    /// Receivers whose deliveries are held back: their breaker is open.
    pub receivers_backed_off: Gauge,
    /// 1 when the last scrape could read the counts, 0 when the database did not answer.
    pub database_up: Gauge,
    /// Held by a scrape while it reads the counts and encodes them.
    pub reading: tokio::sync::Mutex<()>,
    /// The job kinds this node runs: each has its series, zero or not.
    pub(super) job_kinds: Vec<&'static str>,
    /// The lanes: each has its series, zero or not.
    pub(super) lanes: Vec<&'static str>,
}

/// How long a scrape waits for the database's counts before answering without them.
pub const COUNTS_TIMEOUT: Duration = Duration::from_secs(5);

impl Metrics {
    /// Sets the gauges read from the database. A database that does not answer in time leaves them
    /// out (rather than stale) and says so in `qualify_database_up`.
    pub async fn read_counts(
        &self,
        store: &qualify_store::Store,
        now: qualify_types::Timestamp,
        label: impl Fn(&str) -> &'static str,
    ) {
        let counted = &self.counted;
        let read = tokio::time::timeout(COUNTS_TIMEOUT, async {
            tokio::try_join!(
                store.vetting_request_counts(),
                store.oldest_in_review(),
                store.job_counts(now),
                store.lane_stats(now),
                store.open_receivers(now),
            )
        })
        .await;
        // Until the counts are read, nothing is said of them: a failed read leaves no stale value.
        counted.vetting_requests.clear();
        counted.jobs.clear();
        counted.lane_jobs.clear();
        counted.lane_oldest_due_seconds.clear();
        counted.oldest_in_review_seconds.set(f64::NAN);
        let (states, oldest, jobs, lanes, backed_off) = match read {
            Ok(Ok(counts)) => counts,
            Ok(Err(error)) => {
                tracing::warn!(%error, "metrics: reading the counts failed");
                counted.database_up.set(0);
                return;
            }
            Err(_) => {
                tracing::warn!(timeout = ?COUNTS_TIMEOUT, "metrics: the database did not give the counts in time");
                counted.database_up.set(0);
                return;
            }
        };
        counted.database_up.set(1);
        // Every state and kind has a series, zero or not: a rate over a series that appears
        // only once it is non-zero misses its first increase.
        for status in [
            VettingStatus::InReview,
            VettingStatus::Approved,
            VettingStatus::Denied,
        ] {
            let count = states
                .iter()
                .filter(|(stored, _)| stored == status.as_str())
                .map(|(_, count)| *count)
                .sum::<u64>();
            counted
                .vetting_requests
                .get_or_create(&StateLabels {
                    state: status.as_str(),
                })
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
        let waited_ms = oldest.map_or(0, |created| {
            (now.unix_millis() - created.unix_millis()).max(0)
        });
        counted
            .oldest_in_review_seconds
            .set(waited_ms as f64 / 1000.0);
        for kind in counted.job_kinds.iter().copied() {
            for job_state in JOB_COUNT_STATES {
                counted
                    .jobs
                    .get_or_create(&JobLabels {
                        kind,
                        state: job_state,
                    })
                    .set(0);
            }
        }
        for job in jobs {
            counted
                .jobs
                .get_or_create(&JobLabels {
                    kind: label(&job.kind),
                    state: job.state,
                })
                .inc_by(i64::try_from(job.count).unwrap_or(i64::MAX));
        }
        for lane in counted.lanes.iter().copied() {
            let stats = lanes.iter().find(|stats| stats.lane == lane);
            for (state, count) in [
                ("due", stats.map_or(0, |s| s.due)),
                ("running", stats.map_or(0, |s| s.running)),
            ] {
                counted
                    .lane_jobs
                    .get_or_create(&LaneLabels { lane, state })
                    .set(i64::try_from(count).unwrap_or(i64::MAX));
            }
            let waited_ms = stats
                .and_then(|s| s.oldest_due)
                .map_or(0, |due| (now.unix_millis() - due.unix_millis()).max(0));
            counted
                .lane_oldest_due_seconds
                .get_or_create(&LaneOnlyLabels { lane })
                .set(waited_ms as f64 / 1000.0);
        }
        counted
            .receivers_backed_off
            .set(i64::try_from(backed_off.len()).unwrap_or(i64::MAX));
    }
}

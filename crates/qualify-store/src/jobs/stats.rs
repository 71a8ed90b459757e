//! What the jobs table says about each lane: depth, oldest due job, and how late finished work
//! ran; what an operator reads to see a stuck lane before partners do.

use qualify_types::Timestamp;

use crate::db;
use crate::records::timestamp;
use crate::{Store, StoreError, on_reader};

/// What one lane holds at a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaneStats {
    /// The lane.
    pub lane: String,
    /// Jobs due and waiting for a worker.
    pub due: u64,
    /// Jobs a worker holds now.
    pub running: u64,
    /// Jobs not due yet.
    pub scheduled: u64,
    /// When the oldest job waiting for a worker fell due.
    pub oldest_due: Option<Timestamp>,
}

db::row! {
    struct LaneRow {
        lane: String,
        due: i64,
        running: i64,
        scheduled: i64,
        oldest_due: Option<i64>,
    }
}

fn number(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

impl Store {
    /// What each lane holds at `now` (a lane with no pending job is not listed).
    pub async fn lane_stats(&self, now: Timestamp) -> Result<Vec<LaneStats>, StoreError> {
        const SQL: &str = "SELECT lane, \
            SUM(CASE WHEN locked_until > $1 THEN 0 WHEN run_at <= $1 THEN 1 ELSE 0 END) AS due, \
            SUM(CASE WHEN locked_until > $1 THEN 1 ELSE 0 END) AS running, \
            SUM(CASE WHEN locked_until > $1 THEN 0 WHEN run_at > $1 THEN 1 ELSE 0 END) AS scheduled, \
            MIN(CASE WHEN locked_until > $1 THEN NULL WHEN run_at <= $1 THEN run_at END) AS oldest_due \
            FROM jobs WHERE state = 'pending' GROUP BY lane ORDER BY lane";
        let rows: Vec<LaneRow> = on_reader!(self, |pool| db::query(SQL)
            .bind(now.unix_millis())
            .fetch_all(pool)
            .await?);
        rows.into_iter()
            .map(|row| {
                Ok(LaneStats {
                    lane: row.lane,
                    due: number(row.due),
                    running: number(row.running),
                    scheduled: number(row.scheduled),
                    oldest_due: row
                        .oldest_due
                        .map(|at| timestamp("jobs.run_at", at))
                        .transpose()?,
                })
            })
            .collect()
    }

    /// How late (finished minus due, in milliseconds) each of the latest `limit` jobs of `lane`
    /// done since `since` ran, least late first. Counted on the server's clock; a retried job
    /// counts from its last due time.
    pub async fn lateness_ms(
        &self,
        lane: &str,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<i64>, StoreError> {
        const SQL: &str = "SELECT late FROM (SELECT finished_at - run_at AS late FROM jobs \
            WHERE lane = $1 AND state = 'done' AND finished_at >= $2 \
            ORDER BY finished_at DESC LIMIT $3) latest ORDER BY late";
        let late: Vec<i64> = on_reader!(self, |pool| db::query(SQL)
            .bind(lane)
            .bind(since.unix_millis())
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?);
        Ok(late.into_iter().map(|late| late.max(0)).collect())
    }
}

//! The background work as the operator reads it: what each lane holds and how long its oldest
//! due job has waited, which receivers are backed off, and how late decisions ran lately; what
//! shows a stuck lane before partners notice.

use std::time::Duration;

use qualify_store::OpenReceiver;
use qualify_types::Timestamp;
use serde::Serialize;

use super::{Admin, AdminError};
use crate::jobs::Lane;

/// How far back `jobs` looks at the lateness of decisions.
pub const LATENESS_WINDOW: Duration = Duration::from_secs(10 * 60);
/// At most so many of the latest decisions are counted: enough for a p99, cheap to read.
const LATENESS_SAMPLE: u32 = 10_000;

/// The background work at a moment.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobsOverview {
    /// When it was read (the server's clock).
    pub at: Timestamp,
    /// Every lane, busy or not.
    pub lanes: Vec<LaneOverview>,
    /// Receivers whose deliveries wait until their breaker closes.
    pub open_receivers: Vec<BackedOffReceiver>,
    /// How late the decisions done in the last [`LATENESS_WINDOW`] ran.
    pub decision_lateness: Lateness,
}

/// What one lane holds.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LaneOverview {
    /// Its name, as metrics label it.
    pub lane: &'static str,
    /// Jobs due and waiting for a worker.
    pub due: u64,
    /// Jobs a worker holds now.
    pub running: u64,
    /// Jobs not due yet.
    pub scheduled: u64,
    /// How long the oldest job waiting for a worker has been due, in milliseconds.
    pub oldest_due_ms: Option<u64>,
}

/// A receiver backed off by its breaker.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackedOffReceiver {
    /// Who: `partner:<tenant>` or `webhook:<url>`.
    pub receiver: String,
    /// Its failures in a row.
    pub failures: u32,
    /// When its deliveries are tried again.
    pub until: Timestamp,
}

/// Quantiles of how late (after their due time) jobs ran, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Lateness {
    /// How many were counted.
    pub count: usize,
    /// The median, when any was counted.
    pub p50_ms: Option<i64>,
    /// The 99th percentile.
    pub p99_ms: Option<i64>,
    /// The latest of all.
    pub max_ms: Option<i64>,
}

impl Lateness {
    /// The quantiles of `sorted` (least late first).
    pub fn of_sorted(sorted: &[i64]) -> Self {
        let quantile = |q: f64| {
            // The nearest-rank quantile: the smallest value with at least q of all at or below.
            let rank = (q * sorted.len() as f64).ceil() as usize;
            sorted.get(rank.clamp(1, sorted.len().max(1)) - 1).copied()
        };
        Self {
            count: sorted.len(),
            p50_ms: quantile(0.50),
            p99_ms: quantile(0.99),
            max_ms: sorted.last().copied(),
        }
    }
}

impl Admin {
    /// What the background work looks like now.
    pub async fn jobs_overview(&self) -> Result<JobsOverview, AdminError> {
        let now = self.now();
        let window = i64::try_from(LATENESS_WINDOW.as_millis()).unwrap_or(i64::MAX);
        let since = now.plus_millis(-window);
        let (stats, open, late) = tokio::try_join!(
            self.store.lane_stats(now),
            self.store.open_receivers(now),
            self.store
                .lateness_ms(Lane::Decisions.as_str(), since, LATENESS_SAMPLE),
        )?;
        let lanes = Lane::ALL
            .iter()
            .map(|lane| {
                let stats = stats.iter().find(|stats| stats.lane == lane.as_str());
                LaneOverview {
                    lane: lane.as_str(),
                    due: stats.map_or(0, |stats| stats.due),
                    running: stats.map_or(0, |stats| stats.running),
                    scheduled: stats.map_or(0, |stats| stats.scheduled),
                    oldest_due_ms: stats.and_then(|stats| stats.oldest_due).map(|due| {
                        u64::try_from(now.unix_millis() - due.unix_millis()).unwrap_or_default()
                    }),
                }
            })
            .collect();
        let open_receivers = open
            .into_iter()
            .map(
                |OpenReceiver {
                     receiver,
                     failures,
                     open_until,
                 }| BackedOffReceiver {
                    receiver,
                    failures,
                    until: open_until,
                },
            )
            .collect();
        Ok(JobsOverview {
            at: now,
            lanes,
            open_receivers,
            decision_lateness: Lateness::of_sorted(&late),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lateness_quantiles_are_nearest_rank() {
        assert_eq!(Lateness::of_sorted(&[]), Lateness::default());
        let one = Lateness::of_sorted(&[7]);
        assert_eq!(
            (one.p50_ms, one.p99_ms, one.max_ms),
            (Some(7), Some(7), Some(7))
        );
        let hundred: Vec<i64> = (1..=100).collect();
        let late = Lateness::of_sorted(&hundred);
        assert_eq!(late.count, 100);
        assert_eq!(
            (late.p50_ms, late.p99_ms, late.max_ms),
            (Some(50), Some(99), Some(100))
        );
        let thousand: Vec<i64> = (1..=1000).collect();
        assert_eq!(Lateness::of_sorted(&thousand).p99_ms, Some(990));
    }
}

//! A claimed job as a kind runs it: what it takes to record the job's outcome in the
//! transaction of the kind's own work, so the work and its record commit together (a decision
//! and its job's completion are one commit; a delivery's log line and its outcome another).

use std::time::Duration;

use qualify_store::{ClaimedJob, JobState, StoreError, Tx};
use qualify_types::Timestamp;

use super::{Attempt, JobOutcome};

/// A job a worker holds, and how a failed attempt of it is retried.
#[derive(Debug, Clone)]
pub struct Lease {
    /// The job.
    pub claimed: ClaimedJob,
    worker: String,
    retry_base: Duration,
}

impl Lease {
    pub(super) fn new(claimed: ClaimedJob, worker: String, retry_base: Duration) -> Self {
        Self {
            claimed,
            worker,
            retry_base,
        }
    }

    /// Records `attempt` in `tx` at `now`: the job done, retried after its backoff, or given up
    /// (after its last attempt, or at once when it can never succeed). A worker that no longer
    /// holds the job (its lease ran out and another took it over) records nothing: jobs are
    /// at-least-once.
    pub async fn finish(
        &self,
        tx: &mut Tx,
        attempt: &Attempt,
        now: Timestamp,
    ) -> Result<JobOutcome, StoreError> {
        let id = self.claimed.id;
        Ok(match attempt {
            Attempt::Done => {
                if !tx.complete_job(id, &self.worker, now).await? {
                    tracing::warn!(
                        "job done after its lease ended; another worker may have run it too"
                    );
                }
                JobOutcome::Done
            }
            Attempt::Failed(error) => {
                let retry_at = now.plus_millis(backoff_ms(self.retry_base, self.claimed.attempt));
                match tx.fail_job(id, &self.worker, error, retry_at, now).await? {
                    Some(JobState::Dead) => JobOutcome::Dead(error.clone()),
                    _ => JobOutcome::Retry(error.clone()),
                }
            }
            Attempt::Hopeless(error) => {
                tx.give_up_job(id, &self.worker, error, now).await?;
                JobOutcome::Dead(error.clone())
            }
            Attempt::Recorded(outcome) => outcome.clone(),
        })
    }
}

/// The wait before retrying after failed attempt `attempt` (from 1): `base`, doubling, at most
/// an hour.
pub(super) fn backoff_ms(base: Duration, attempt: u32) -> i64 {
    let wait = base
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(20)))
        .min(Duration::from_secs(3600));
    i64::try_from(wait.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_an_hour() {
        let base = Duration::from_secs(10);
        assert_eq!(backoff_ms(base, 1), 10_000);
        assert_eq!(backoff_ms(base, 2), 20_000);
        assert_eq!(backoff_ms(base, 4), 80_000);
        assert_eq!(backoff_ms(base, 30), 3_600_000);
    }
}

//! Running jobs: a [`JobRunner`] claims a due job with a lease, runs it through the registry,
//! and records the outcome.

use std::sync::Arc;
use std::time::{Duration, Instant};

use qualify_store::{ClaimedJob, JobState, Store, StoreError, Tx};
use qualify_types::TenantId;
use tokio::sync::Notify;
use tracing::Instrument;

use super::{Attempt, JobOutcome, Ran, Registry};
use crate::clock::Clock;
use crate::metrics::{AttemptOutcome, Metrics};
use crate::settings::JobSettings;

/// The job machinery of one node: where jobs are, the kinds it runs, how claims and retries
/// go, what it counts, and what wakes its idle workers.
#[derive(Debug)]
pub struct Jobs<C> {
    pub(crate) store: Store,
    pub(crate) clock: Clock,
    pub(crate) settings: JobSettings,
    pub(crate) registry: Registry<C>,
    pub(crate) metrics: Arc<Metrics>,
    /// Woken when this node enqueues jobs, so its idle workers start at once.
    pub(crate) ready: Notify,
}

/// Runs this node's jobs, one claimed job at a time, as the worker named `name`.
#[derive(Debug)]
pub struct JobRunner<C> {
    jobs: Arc<Jobs<C>>,
    context: Arc<C>,
    name: String,
}

impl<C> Clone for JobRunner<C> {
    fn clone(&self) -> Self {
        Self {
            jobs: Arc::clone(&self.jobs),
            context: Arc::clone(&self.context),
            name: self.name.clone(),
        }
    }
}

impl<C: Send + Sync + 'static> JobRunner<C> {
    /// A runner named `name` of `jobs`, running them in `context`.
    pub fn new(jobs: Arc<Jobs<C>>, context: Arc<C>, name: String) -> Self {
        Self {
            jobs,
            context,
            name,
        }
    }

    /// The worker's name, as job leases record it.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(super) fn jobs(&self) -> &Jobs<C> {
        &self.jobs
    }

    /// Claims the oldest due job, runs it and records the outcome; `None` when no job is due.
    pub async fn run_next(&self) -> Result<Option<Ran>, StoreError> {
        self.run_next_of(None).await
    }

    /// As [`JobRunner::run_next`]; with `only`, among the jobs on that partner's clock.
    async fn run_next_of(&self, only: Option<TenantId>) -> Result<Option<Ran>, StoreError> {
        let jobs = &self.jobs;
        let Some(claimed) = jobs
            .store
            .transaction(async |tx: &mut Tx| {
                tx.claim_job(&self.name, jobs.settings.job_lease, jobs.clock.now(), only)
                    .await
            })
            .await?
        else {
            return Ok(None);
        };
        let span = tracing::info_span!("job", id = claimed.id, kind = %claimed.kind, attempt = claimed.attempt, worker = %self.name);
        let attempt = jobs
            .registry
            .run(Arc::clone(&self.context), claimed.clone())
            .instrument(span.clone())
            .await;
        let outcome = self.record(&claimed, attempt).instrument(span).await;
        Ok(Some(Ran {
            id: claimed.id,
            kind: claimed.kind,
            attempt: claimed.attempt,
            outcome,
        }))
    }

    /// Runs jobs until none is due (by this server's clock); returns what it ran, in order.
    pub async fn drain(&self) -> Result<Vec<Ran>, StoreError> {
        let mut ran = Vec::new();
        while let Some(attempt) = self.run_next().await? {
            ran.push(attempt);
        }
        Ok(ran)
    }

    /// Runs every job on `partner`'s clock that is due, and waits (up to `patience`) for those
    /// another worker claimed first: once this returns, what fell due has been done.
    pub async fn settle(&self, partner: TenantId, patience: Duration) -> Result<(), StoreError> {
        let deadline = Instant::now() + patience;
        loop {
            while self.run_next_of(Some(partner)).await?.is_some() {}
            let now = self.jobs.clock.now();
            if self.jobs.store.due_jobs_of(partner, now).await? == 0 {
                return Ok(());
            }
            if Instant::now() >= deadline {
                tracing::warn!(%partner, "due jobs still run elsewhere; not waiting for them any longer");
                return Ok(());
            }
            // Another worker holds one: it takes milliseconds, or its lease ends.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Records `attempt` of `claimed` and says what became of the job. A failure to record
    /// leaves the lease to expire, and the job runs again (jobs are at-least-once).
    async fn record(&self, claimed: &ClaimedJob, attempt: Attempt) -> JobOutcome {
        let jobs = &self.jobs;
        let store = &jobs.store;
        let now = jobs.clock.now();
        let delivers_to = jobs.registry.delivers_to(&claimed.kind);
        let (outcome, recorded) = match attempt {
            Attempt::Done => {
                let held = store
                    .transaction(async |tx: &mut Tx| {
                        tx.complete_job(claimed.id, &self.name, now).await
                    })
                    .await;
                match held {
                    Ok(true) => tracing::info!("job done"),
                    Ok(false) => tracing::warn!(
                        "job done after its lease ended; another worker may have run it too"
                    ),
                    Err(_) => {}
                }
                (JobOutcome::Done, held.map(|_| ()))
            }
            Attempt::Failed(error) => {
                let wait = backoff_ms(jobs.settings.job_retry_base, claimed.attempt);
                let state = store
                    .transaction(async |tx: &mut Tx| {
                        tx.fail_job(claimed.id, &self.name, &error, now.plus_millis(wait), now)
                            .await
                    })
                    .await;
                let outcome = if matches!(state, Ok(Some(JobState::Dead))) {
                    // A delivery's failures are the receiver's (down, refusing, gone from the
                    // registration): worth a warning, not an error of this server.
                    if delivers_to.is_some() {
                        tracing::warn!(%error, "delivery failed for the last time; given up");
                    } else {
                        tracing::error!(%error, "job failed for the last time; given up");
                    }
                    JobOutcome::Dead(error)
                } else {
                    tracing::warn!(%error, "job failed; it will be retried");
                    JobOutcome::Retry(error)
                };
                (outcome, state.map(|_| ()))
            }
            Attempt::Hopeless(error) => {
                if delivers_to.is_some() {
                    tracing::warn!(%error, "delivery given up");
                } else {
                    tracing::error!(%error, "job given up");
                }
                let given_up = store
                    .transaction(async |tx: &mut Tx| {
                        tx.give_up_job(claimed.id, &self.name, &error, now).await
                    })
                    .await;
                (JobOutcome::Dead(error), given_up.map(|_| ()))
            }
        };
        if let Err(error) = recorded {
            tracing::warn!(error = %error, "recording a job's outcome failed; its lease will expire and it will run again");
        }
        let counted = match &outcome {
            JobOutcome::Done => AttemptOutcome::Done,
            JobOutcome::Retry(_) => AttemptOutcome::Retry,
            JobOutcome::Dead(_) => AttemptOutcome::Dead,
        };
        jobs.metrics
            .job_attempt(jobs.registry.label(&claimed.kind), counted);
        if let Some(receiver) = delivers_to {
            jobs.metrics.delivery(receiver, counted);
        }
        outcome
    }
}

/// The wait before retrying after failed attempt `attempt` (from 1): `base`, doubling, at most
/// an hour.
fn backoff_ms(base: Duration, attempt: u32) -> i64 {
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

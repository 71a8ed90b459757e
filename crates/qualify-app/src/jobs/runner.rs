//! Running jobs: a [`JobRunner`] claims due jobs with a lease, runs each through the registry,
//! and records its outcome (in the kind's own transaction when the kind did, else in one of
//! its own).

use std::sync::Arc;
use std::time::{Duration, Instant};

use qualify_store::{Claim, Store, StoreError, Tx};
use qualify_types::{TenantId, Timestamp};
use tokio::sync::Notify;
use tracing::Instrument;

use super::wake::LaneWake;
use super::{Attempt, JobOutcome, Lane, Lease, Ran, Registry};
use crate::clock::Clock;
use crate::metrics::{AttemptOutcome, Metrics};
use crate::settings::JobSettings;

/// How often a clock's advance looks again at the due jobs another node holds (this node's
/// own are awaited: each one's end wakes it).
const REMOTE_CHECK: Duration = Duration::from_millis(100);
/// Due jobs a clock's advance claims and runs together.
const SETTLE_BATCH: u32 = 16;

/// The job machinery of one node: where jobs are, the kinds it runs, how claims and retries
/// go, what it counts, and what wakes its idle workers.
#[derive(Debug)]
pub struct Jobs<C> {
    pub(crate) store: Store,
    pub(crate) clock: Clock,
    pub(crate) settings: JobSettings,
    pub(crate) registry: Registry<C>,
    pub(crate) metrics: Arc<Metrics>,
    /// What wakes the decisions lane's idle workers.
    pub(crate) decisions_wake: LaneWake,
    /// What wakes the delivery dispatcher.
    pub(crate) deliveries_wake: LaneWake,
    /// Woken when one of this node's jobs ends: a waiting advance looks again.
    pub(crate) finished: Notify,
}

impl<C> Jobs<C> {
    /// What wakes `lane`'s idle workers.
    pub(crate) fn wake(&self, lane: Lane) -> &LaneWake {
        match lane {
            Lane::Decisions => &self.decisions_wake,
            Lane::Deliveries => &self.deliveries_wake,
        }
    }

    /// This node committed jobs of the lane named `lane`, the earliest due at `due`.
    pub(crate) fn committed(&self, lane: &str, due: Timestamp) {
        if let Some(lane) = Lane::ALL.into_iter().find(|known| known.as_str() == lane) {
            self.wake(lane).committed(due);
        }
    }
}

/// Runs this node's jobs as the worker named `name`.
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

    /// Claims the oldest due job of any lane, runs it and records the outcome; `None` when no
    /// job is due.
    pub async fn run_next(&self) -> Result<Option<Ran>, StoreError> {
        let claimed = self.claim(None, None, 1).await?;
        match claimed.into_iter().next() {
            Some(lease) => Ok(Some(self.run(lease).await)),
            None => Ok(None),
        }
    }

    /// Runs jobs until none is due (by this server's clock), every lane's, one at a time in
    /// the order they fell due; returns what it ran, in order.
    pub async fn drain(&self) -> Result<Vec<Ran>, StoreError> {
        let mut ran = Vec::new();
        while let Some(attempt) = self.run_next().await? {
            ran.push(attempt);
        }
        Ok(ran)
    }

    /// Claims up to `limit` due jobs of `lane` as its workers would, runs them at once, and
    /// returns what it ran, oldest first: what a test uses to see a lane work apart from the
    /// others.
    pub async fn run_lane(&self, lane: Lane, limit: u32) -> Result<Vec<Ran>, StoreError> {
        let claimed = self.claim(Some(lane), None, limit).await?;
        Ok(self.run_all(claimed).await)
    }

    /// Claims up to `limit` due jobs of `lane` (every lane's with `None`; only those on
    /// `partner`'s clock, with one), oldest first, each under a lease of this worker's.
    pub(super) async fn claim(
        &self,
        lane: Option<Lane>,
        partner: Option<TenantId>,
        limit: u32,
    ) -> Result<Vec<Lease>, StoreError> {
        let jobs = &self.jobs;
        let claim = Claim {
            worker: &self.name,
            lease: jobs.settings.job_lease,
            now: jobs.clock.now(),
            lane: lane.map(Lane::as_str),
            partner,
            limit,
            receivers: lane != Some(Lane::Decisions),
            per_receiver: jobs.settings.delivery_per_receiver,
        };
        let claimed = jobs.store.claim_jobs(&claim).await?;
        Ok(claimed
            .into_iter()
            .map(|claimed| Lease::new(claimed, self.name.clone(), jobs.settings.job_retry_base))
            .collect())
    }

    /// Runs the job `lease` holds and records its outcome.
    pub(super) async fn run(&self, lease: Lease) -> Ran {
        let mut ran = self.run_all(vec![lease]).await;
        ran.pop().expect("one job ran")
    }

    /// Runs the jobs `leases` hold, claimed together (those of a kind that runs them in a
    /// batch, together), and records each one's outcome; gives what became of each, in their
    /// order.
    pub(super) async fn run_all(&self, leases: Vec<Lease>) -> Vec<Ran> {
        let span = tracing::info_span!("jobs", count = leases.len(), worker = %self.name);
        let attempts = self
            .jobs
            .registry
            .run_all(Arc::clone(&self.context), leases.clone())
            .instrument(span)
            .await;
        let mut ran = Vec::with_capacity(leases.len());
        for (lease, attempt) in leases.into_iter().zip(attempts) {
            let claimed = &lease.claimed;
            let span = tracing::info_span!("job", id = claimed.id, kind = %claimed.kind, attempt = claimed.attempt, worker = %self.name);
            let outcome = self.record(&lease, attempt).instrument(span).await;
            ran.push(Ran {
                id: claimed.id,
                kind: claimed.kind.clone(),
                attempt: claimed.attempt,
                outcome,
            });
        }
        self.jobs.finished.notify_waiters();
        ran
    }

    /// Runs every job on `partner`'s clock that is due, and waits (up to `patience`) for those
    /// another worker claimed first: once this returns, what fell due has been done. This
    /// node's workers wake it as each of their jobs ends; another node's are looked at again
    /// every [`REMOTE_CHECK`].
    pub async fn settle(&self, partner: TenantId, patience: Duration) -> Result<(), StoreError> {
        let deadline = Instant::now() + patience;
        loop {
            let finished = self.jobs.finished.notified();
            tokio::pin!(finished);
            finished.as_mut().enable();
            loop {
                let claimed = self.claim(None, Some(partner), SETTLE_BATCH).await?;
                if claimed.is_empty() {
                    break;
                }
                self.run_all(claimed).await;
            }
            let now = self.jobs.clock.now();
            if self.jobs.store.due_jobs_of(partner, now).await? == 0 {
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                tracing::warn!(%partner, "due jobs still run elsewhere; not waiting for them any longer");
                return Ok(());
            }
            tokio::select! {
                () = &mut finished => {}
                () = tokio::time::sleep(left.min(REMOTE_CHECK)) => {}
            }
        }
    }

    /// Records `attempt` of the job `lease` holds (unless its kind did, in its own transaction)
    /// and says what became of the job. A failure to record leaves the lease to expire, and the
    /// job runs again (jobs are at-least-once).
    async fn record(&self, lease: &Lease, attempt: Attempt) -> JobOutcome {
        let jobs = &self.jobs;
        let claimed = &lease.claimed;
        let now = jobs.clock.now();
        let outcome = match attempt {
            Attempt::Recorded(outcome) => outcome,
            attempt => {
                let recorded = jobs
                    .store
                    .transaction(async |tx: &mut Tx| lease.finish(tx, &attempt, now).await)
                    .await;
                match recorded {
                    Ok(outcome) => outcome,
                    Err(error) => {
                        tracing::warn!(error = %error, "recording a job's outcome failed; its lease will expire and it will run again");
                        match attempt {
                            Attempt::Done => JobOutcome::Done,
                            Attempt::Failed(why) => JobOutcome::Retry(why),
                            Attempt::Hopeless(why) => JobOutcome::Dead(why),
                            Attempt::Recorded(outcome) => outcome,
                        }
                    }
                }
            }
        };
        let delivers_to = jobs.registry.delivers_to(&claimed.kind);
        match &outcome {
            JobOutcome::Done => tracing::info!("job done"),
            JobOutcome::Retry(error) => tracing::warn!(%error, "job failed; it will be retried"),
            // A delivery's failures are the receiver's (down, refusing, gone from the
            // registration): worth a warning, not an error of this server.
            JobOutcome::Dead(error) if delivers_to.is_some() => {
                tracing::warn!(%error, "delivery given up")
            }
            JobOutcome::Dead(error) => tracing::error!(%error, "job given up"),
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
        if jobs.registry.lane(&claimed.kind) == Some(Lane::Decisions) && outcome == JobOutcome::Done
        {
            // How long after it fell due the work was done (the server's clock).
            let late_ms = (now.unix_millis() - claimed.run_at.unix_millis()).max(0);
            jobs.metrics.decision_late(late_ms as f64 / 1000.0);
        }
        outcome
    }
}

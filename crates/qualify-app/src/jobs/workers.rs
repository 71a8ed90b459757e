//! The workers of one node, a lane apart. Decisions: `job_workers` workers, each claiming a few
//! due decisions at once and making them together (in one transaction). Deliveries: one dispatcher that
//! claims as many as it has free slots (`delivery_concurrency`) and runs each in a task of its
//! own, a receiver never holding more than `delivery_per_receiver` of them; a silent receiver
//! costs slots for its timeouts, never the decisions' workers or another receiver's slots.
//! Idle, each waits as `wake` says: for this node's commits of jobs due sooner, a delivery's
//! end (the dispatcher), the next job's due time, or the poll.

use std::sync::Arc;
use std::time::Duration;

use qualify_types::Timestamp;
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinHandle;

use super::wake::{Looked, work_until_stopped};
use super::{JobRunner, Lane};

/// Decisions a worker claims at once.
const DECISION_BATCH: u32 = 64;

/// The running workers of this node.
#[derive(Debug)]
pub struct Workers {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Starts a decisions worker for each of `decisions`, and, with `deliveries`, the delivery
    /// dispatcher running up to `concurrency` deliveries at once.
    pub fn start<C: Send + Sync + 'static>(
        decisions: impl IntoIterator<Item = JobRunner<C>>,
        deliveries: Option<(JobRunner<C>, usize)>,
    ) -> Self {
        let (stop, stopped) = watch::channel(false);
        let mut tasks: Vec<JoinHandle<()>> = decisions
            .into_iter()
            .map(|runner| tokio::spawn(decide(runner, stopped.clone())))
            .collect();
        if let Some((runner, concurrency)) = deliveries {
            tasks.push(tokio::spawn(deliver(runner, concurrency, stopped.clone())));
        }
        Self { stop, tasks }
    }

    /// Asks the workers to stop after their current jobs, and waits for them.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// How long until `lane`'s next claimable job falls due, as an idle worker waits for it;
/// `looked_at` is when its claim looked.
async fn until_next_due<C: Send + Sync + 'static>(
    runner: &JobRunner<C>,
    lane: Lane,
    looked_at: Timestamp,
) -> Looked {
    let jobs = runner.jobs();
    let now = jobs.clock.now();
    let next = match lane {
        Lane::Decisions => jobs.store.next_due(lane.as_str(), now).await,
        Lane::Deliveries => {
            jobs.store
                .next_delivery_due(now, jobs.settings.delivery_per_receiver)
                .await
        }
    };
    match next {
        // Due when the claim looked, yet not claimed: another worker was claiming it, or it
        // waits for an earlier delivery of its sequence. That one's end, a commit, or the poll
        // wakes this worker.
        Ok(Some(due)) if due <= looked_at => Looked::Idle(jobs.settings.job_poll_interval),
        // Fell due since the claim looked: look again now.
        Ok(Some(due)) if due <= now => Looked::Worked,
        Ok(Some(due)) => Looked::Idle(Duration::from_millis(
            u64::try_from(due.unix_millis() - now.unix_millis()).unwrap_or(0),
        )),
        Ok(None) => Looked::Idle(jobs.settings.job_poll_interval),
        Err(error) => {
            tracing::warn!(worker = %runner.name(), %error, "reading the next job's due time failed");
            Looked::Failed
        }
    }
}

/// A decisions worker: claims a few due decisions, makes them, and looks again.
async fn decide<C: Send + Sync + 'static>(runner: JobRunner<C>, stopped: watch::Receiver<bool>) {
    let jobs = runner.jobs();
    work_until_stopped(
        jobs.wake(Lane::Decisions),
        None,
        &jobs.clock,
        jobs.settings.job_poll_interval,
        stopped,
        || async {
            let looked_at = jobs.clock.now();
            match runner
                .claim(Some(Lane::Decisions), None, DECISION_BATCH)
                .await
            {
                Ok(claimed) if !claimed.is_empty() => {
                    // Together: a rule's decisions are made in one transaction.
                    runner.run_all(claimed).await;
                    Looked::Worked
                }
                Ok(_) => until_next_due(&runner, Lane::Decisions, looked_at).await,
                Err(error) => {
                    tracing::warn!(worker = %runner.name(), %error, "claiming jobs failed");
                    Looked::Failed
                }
            }
        },
    )
    .await;
}

/// The delivery dispatcher: claims as many due deliveries as it has free slots, runs each in a
/// task of its own, and waits for this node's writes, a slot, the next due time, or the poll.
async fn deliver<C: Send + Sync + 'static>(
    runner: JobRunner<C>,
    concurrency: usize,
    stopped: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(concurrency));
    // Told when a delivery ends: a slot is free, its receiver may take another, and the next
    // of its sequence may run.
    let freed = Arc::new(Notify::new());
    let jobs = runner.jobs();
    work_until_stopped(
        jobs.wake(Lane::Deliveries),
        Some(&freed),
        &jobs.clock,
        jobs.settings.job_poll_interval,
        stopped,
        || async {
            let free = slots.available_permits();
            if free == 0 {
                // Every slot busy: the next delivery's end frees one, and wakes this one.
                return Looked::Idle(jobs.settings.job_poll_interval);
            }
            let looked_at = jobs.clock.now();
            let limit = u32::try_from(free).unwrap_or(u32::MAX);
            match runner.claim(Some(Lane::Deliveries), None, limit).await {
                Ok(claimed) if !claimed.is_empty() => {
                    for lease in claimed {
                        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
                            break;
                        };
                        let (runner, freed) = (runner.clone(), Arc::clone(&freed));
                        tokio::spawn(async move {
                            runner.run(lease).await;
                            // The slot is free before the dispatcher is told so.
                            drop(slot);
                            freed.notify_waiters();
                        });
                    }
                    Looked::Worked
                }
                Ok(_) => until_next_due(&runner, Lane::Deliveries, looked_at).await,
                Err(error) => {
                    tracing::warn!(worker = %runner.name(), %error, "claiming deliveries failed");
                    Looked::Failed
                }
            }
        },
    )
    .await;
    // In-flight deliveries finish (each within its timeouts); those not claimed wait for the
    // next node to run them.
    let all = u32::try_from(concurrency).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
}

//! The workers of one node, a lane apart. Decisions: `job_workers` workers, each claiming a few
//! due decisions at once and making them one after another. Deliveries: one dispatcher that
//! claims as many as it has free slots (`delivery_concurrency`) and runs each in a task of its
//! own, a receiver never holding more than `delivery_per_receiver` of them; a silent receiver
//! costs slots for its timeouts, never the decisions' workers or another receiver's slots.
//! Idle, each waits as `wake` says: for this node's writes, the next job's due time, or the
//! poll.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

use super::wake::{Looked, work_until_stopped};
use super::{JobRunner, Lane};

/// Decisions a worker claims at once.
const DECISION_BATCH: u32 = 16;

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

/// How long until `lane`'s next job falls due, as an idle worker waits for it.
async fn until_next_due<C: Send + Sync + 'static>(runner: &JobRunner<C>, lane: Lane) -> Looked {
    let jobs = runner.jobs();
    let now = jobs.clock.now();
    match jobs.store.next_due(lane.as_str(), now).await {
        // Due already, yet not claimed: another worker is claiming it, or the receiver has
        // all the deliveries it may; its end (or the poll) wakes this one.
        Ok(Some(due)) if due <= now => Looked::Idle(jobs.settings.job_poll_interval),
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
        &jobs.ready,
        jobs.settings.job_poll_interval,
        stopped,
        || async {
            match runner
                .claim(Some(Lane::Decisions), None, DECISION_BATCH)
                .await
            {
                Ok(claimed) if !claimed.is_empty() => {
                    for lease in claimed {
                        runner.run(lease).await;
                    }
                    Looked::Worked
                }
                Ok(_) => until_next_due(&runner, Lane::Decisions).await,
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
    let jobs = runner.jobs();
    work_until_stopped(
        &jobs.ready,
        jobs.settings.job_poll_interval,
        stopped,
        || async {
            let free = slots.available_permits();
            if free == 0 {
                // Every slot busy: the next delivery's end frees one.
                let freed = jobs.finished.notified();
                tokio::pin!(freed);
                freed.as_mut().enable();
                if slots.available_permits() == 0 {
                    freed.await;
                }
                return Looked::Worked;
            }
            let limit = u32::try_from(free).unwrap_or(u32::MAX);
            match runner.claim(Some(Lane::Deliveries), None, limit).await {
                Ok(claimed) if !claimed.is_empty() => {
                    for lease in claimed {
                        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
                            break;
                        };
                        let runner = runner.clone();
                        tokio::spawn(async move {
                            runner.run(lease).await;
                            // The slot is free before the dispatcher is told so.
                            drop(slot);
                            runner.jobs().finished.notify_waiters();
                        });
                    }
                    Looked::Worked
                }
                Ok(_) => until_next_due(&runner, Lane::Deliveries).await,
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

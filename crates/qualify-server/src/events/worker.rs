//! The workers of one node: each claims a due job (with a lease), runs it, and records the
//! outcome. Idle workers wait for this node's writes to wake them, or poll.

use std::sync::Arc;
use std::time::Duration;

use qualify_store::{ClaimedJob, JobState};
use qualify_types::Event;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::webhook::deliver;
use super::{DELIVER, Delivery};
use crate::AppState;

/// The running workers of this node.
#[derive(Debug)]
pub(crate) struct Workers {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// What became of one job.
enum Outcome {
    Done,
    Retry(String),
    GiveUp(String),
}

impl Workers {
    /// Starts `state.settings.jobs.workers` workers named `{node}/{n}`.
    pub(crate) fn start(state: &AppState, node: &str) -> Self {
        let (stop, stopped) = watch::channel(false);
        let http = reqwest::Client::builder()
            .timeout(state.settings.jobs.lease.min(Duration::from_secs(30)) / 2)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("qualify-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        let tasks = (0..state.settings.jobs.workers)
            .map(|n| {
                let worker = Worker {
                    state: state.clone(),
                    name: format!("{node}/{n}"),
                    http: http.clone(),
                };
                tokio::spawn(worker.run(stopped.clone()))
            })
            .collect();
        Self { stop, tasks }
    }

    /// Asks the workers to stop after their current job, and waits for them.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

struct Worker {
    state: AppState,
    name: String,
    http: reqwest::Client,
}

impl Worker {
    async fn run(self, mut stopped: watch::Receiver<bool>) {
        let ready: Arc<Notify> = Arc::clone(&self.state.jobs_ready);
        let jobs = &self.state.settings.jobs;
        while !*stopped.borrow() {
            match self
                .state
                .store
                .claim_job(&self.name, jobs.lease, self.state.clock.now())
                .await
            {
                Ok(Some(job)) => self.finish(&job).await,
                Ok(None) => {
                    tokio::select! {
                        () = ready.notified() => {}
                        () = tokio::time::sleep(jobs.poll_interval) => {}
                        _ = stopped.changed() => {}
                    }
                }
                Err(error) => {
                    tracing::warn!(worker = %self.name, error = %error, "claiming a job failed");
                    tokio::time::sleep(jobs.poll_interval).await;
                }
            }
        }
    }

    /// Runs `job` and records the outcome.
    async fn finish(&self, job: &ClaimedJob) {
        let span = tracing::info_span!("job", id = job.id, kind = %job.kind, attempt = job.attempt, worker = %self.name);
        let _entered = span.enter();
        let outcome = match job.kind.as_str() {
            DELIVER => self.deliver(job).await,
            other => Outcome::GiveUp(format!("unknown job kind {other}")),
        };
        let store = &self.state.store;
        let now = self.state.clock.now();
        let recorded = match outcome {
            Outcome::Done => store
                .complete_job(job.id, &self.name, now)
                .await
                .map(|held| {
                    if held {
                        tracing::info!("job done");
                    } else {
                        tracing::warn!(
                            "job done after its lease ended; another worker may have run it too"
                        );
                    }
                }),
            Outcome::Retry(error) => {
                let retry_at =
                    now.plus_millis(backoff_ms(self.state.settings.jobs.retry_base, job.attempt));
                store
                    .fail_job(job.id, &self.name, &error, retry_at, now)
                    .await
                    .map(|state| match state {
                        Some(JobState::Dead) => {
                            tracing::error!(%error, "job failed for the last time; given up")
                        }
                        _ => tracing::warn!(%error, "job failed; it will be retried"),
                    })
            }
            Outcome::GiveUp(error) => store
                .give_up_job(job.id, &self.name, &error, now)
                .await
                .map(|_| {
                    tracing::error!(%error, "job given up");
                }),
        };
        if let Err(error) = recorded {
            tracing::warn!(error = %error, "recording a job's outcome failed; its lease will expire and it will run again");
        }
    }

    async fn deliver(&self, job: &ClaimedJob) -> Outcome {
        let Ok(delivery) = serde_json::from_str::<Delivery>(&job.payload) else {
            return Outcome::GiveUp("the delivery's payload is not readable".into());
        };
        let Some(webhook) = self
            .state
            .settings
            .webhooks
            .iter()
            .find(|w| w.url.as_str() == delivery.url)
        else {
            return Outcome::GiveUp(format!(
                "the webhook {} is no longer configured",
                delivery.url
            ));
        };
        let (event_id, event_type) = match serde_json::from_str::<Event>(&delivery.body) {
            Ok(event) => (
                event.id,
                serde_json::to_value(event.event_type)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned)),
            ),
            Err(_) => return Outcome::GiveUp("the event is not readable".into()),
        };
        match deliver(
            &self.http,
            webhook,
            &event_id,
            event_type.as_deref().unwrap_or_default(),
            &delivery.body,
        )
        .await
        {
            Ok(()) => Outcome::Done,
            Err(error) => Outcome::Retry(error.to_string()),
        }
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

//! Running jobs: a [`JobRunner`] claims a due job with a lease, runs it, and records the outcome.

use std::sync::Arc;
use std::time::{Duration, Instant};

use qualify_store::{ClaimedJob, JobState, StoreError};
use qualify_types::TenantId;
use tokio::sync::OnceCell;
use tracing::Instrument;

use super::{Job, JobOutcome, Ran};
use crate::AppState;
use crate::events;
use crate::metrics::AttemptOutcome;

/// Runs this node's jobs, one claimed job at a time, as the worker named `name`.
#[derive(Debug, Clone)]
pub struct JobRunner {
    pub(super) state: AppState,
    pub(super) name: String,
    /// The webhook client, built when first needed (most servers never deliver).
    http: Arc<OnceCell<reqwest::Client>>,
    /// The client for partners' receivers: as `http`, and refusing internal addresses unless
    /// the operator allows them.
    partner_http: Arc<OnceCell<reqwest::Client>>,
}

impl JobRunner {
    pub(crate) fn new(state: AppState, name: String) -> Self {
        Self {
            state,
            name,
            http: Arc::default(),
            partner_http: Arc::default(),
        }
    }

    /// Claims the oldest due job, runs it and records the outcome; `None` when no job is due.
    pub async fn run_next(&self) -> Result<Option<Ran>, StoreError> {
        self.run_next_of(None).await
    }

    /// As [`JobRunner::run_next`]; with `only`, among the jobs on that partner's clock.
    async fn run_next_of(&self, only: Option<TenantId>) -> Result<Option<Ran>, StoreError> {
        let lease = self.state.settings.jobs.job_lease;
        let Some(claimed) = self
            .state
            .store
            .claim_job(&self.name, lease, self.state.clock.now(), only)
            .await?
        else {
            return Ok(None);
        };
        let span = tracing::info_span!("job", id = claimed.id, kind = %claimed.kind, attempt = claimed.attempt, worker = %self.name);
        let attempt = self.attempt(&claimed).instrument(span.clone()).await;
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
    pub(crate) async fn settle(
        &self,
        partner: TenantId,
        patience: Duration,
    ) -> Result<(), StoreError> {
        let deadline = Instant::now() + patience;
        loop {
            while self.run_next_of(Some(partner)).await?.is_some() {}
            let now = self.state.clock.now();
            if self.state.store.due_jobs_of(partner, now).await? == 0 {
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

    /// Runs one attempt of `claimed`.
    async fn attempt(&self, claimed: &ClaimedJob) -> Attempt {
        let job = match Job::from_claimed(claimed) {
            Ok(job) => job,
            Err(unreadable) => return Attempt::Hopeless(unreadable),
        };
        match job {
            Job::DeliverEvent(delivery) => {
                let http = match self.http().await {
                    Ok(http) => http,
                    Err(error) => return Attempt::Failed(error),
                };
                match events::deliver(&self.state, http, &delivery, claimed.id, claimed.attempt)
                    .await
                {
                    Ok(()) => Attempt::Done,
                    Err(events::Undeliverable::Retry(error)) => Attempt::Failed(error),
                    Err(events::Undeliverable::Never(error)) => Attempt::Hopeless(error),
                }
            }
            Job::DeliverPartnerEvent(delivery) => {
                let (http, signer) =
                    match (self.partner_http().await, self.state.webhook_signer().await) {
                        (Ok(http), Ok(signer)) => (http, signer),
                        (Err(error), _) => return Attempt::Failed(error),
                        (_, Err(error)) => return Attempt::Failed(error.to_string()),
                    };
                let last = claimed.attempt >= claimed.max_attempts;
                match events::partner::deliver(
                    &self.state,
                    http,
                    signer,
                    &delivery,
                    claimed.id,
                    claimed.attempt,
                    last,
                )
                .await
                {
                    Ok(()) => Attempt::Done,
                    Err(events::Undeliverable::Retry(error)) => Attempt::Failed(error),
                    Err(events::Undeliverable::Never(error)) => Attempt::Hopeless(error),
                }
            }
            Job::DecideByRule(timed) => timed.run(&self.state).await,
        }
    }

    /// The webhook client: a timeout within the lease, no redirects followed.
    async fn http(&self) -> Result<&reqwest::Client, String> {
        self.http
            .get_or_try_init(|| async { self.client_builder().build() })
            .await
            .map_err(|error| format!("building the webhook client failed: {error}"))
    }

    /// The client for partners' receivers: as [`JobRunner::http`], and resolving names to
    /// public addresses only, unless the operator allows private ones.
    async fn partner_http(&self) -> Result<&reqwest::Client, String> {
        let allow_private = self
            .state
            .settings
            .webhooks
            .allow_private(self.state.settings.dev);
        self.partner_http
            .get_or_try_init(|| async {
                let builder = self.client_builder();
                if allow_private {
                    builder.build()
                } else {
                    builder
                        .dns_resolver(Arc::new(events::guard::PublicAddressesOnly))
                        .build()
                }
            })
            .await
            .map_err(|error| format!("building the webhook client failed: {error}"))
    }

    /// What both clients share: a timeout within the lease, no redirects followed, no proxy
    /// from the environment (a proxy would resolve names the guard must see).
    fn client_builder(&self) -> reqwest::ClientBuilder {
        let lease = self.state.settings.jobs.job_lease;
        reqwest::Client::builder()
            .timeout(lease.min(Duration::from_secs(30)) / 2)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("qualify-webhooks/", env!("CARGO_PKG_VERSION")))
    }

    /// Records `attempt` of `claimed` and says what became of the job. A failure to record
    /// leaves the lease to expire, and the job runs again (jobs are at-least-once).
    async fn record(&self, claimed: &ClaimedJob, attempt: Attempt) -> JobOutcome {
        let store = &self.state.store;
        let now = self.state.clock.now();
        let (outcome, recorded) = match attempt {
            Attempt::Done => {
                let held = store.complete_job(claimed.id, &self.name, now).await;
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
                let wait = backoff_ms(self.state.settings.jobs.job_retry_base, claimed.attempt);
                let state = store
                    .fail_job(claimed.id, &self.name, &error, now.plus_millis(wait), now)
                    .await;
                let outcome = if matches!(state, Ok(Some(JobState::Dead))) {
                    if is_delivery(claimed) {
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
                if is_delivery(claimed) {
                    tracing::warn!(%error, "delivery given up");
                } else {
                    tracing::error!(%error, "job given up");
                }
                let given_up = store.give_up_job(claimed.id, &self.name, &error, now).await;
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
        let metrics = &self.state.metrics;
        metrics.job_attempt(super::kind_label(&claimed.kind), counted);
        if let Some(receiver) = super::delivery_receiver(&claimed.kind) {
            metrics.delivery(receiver, counted);
        }
        outcome
    }
}

/// Whether `claimed` delivers an event: its failures are the receiver's (down, refusing, gone
/// from the registration), worth a warning, not an error of this server.
fn is_delivery(claimed: &ClaimedJob) -> bool {
    super::DELIVERY_KINDS.contains(&claimed.kind.as_str())
}

/// What one attempt came to, before it is recorded.
pub(super) enum Attempt {
    Done,
    /// Failed; another attempt may succeed.
    Failed(String),
    /// Can never succeed.
    Hopeless(String),
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

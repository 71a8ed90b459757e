//! What delivering events takes, shared by every delivery job of a node: the operator's
//! webhooks, the HTTP clients (one guarded against internal addresses for partners' receivers),
//! the key that signs partners' events, and how an attempt ends: its log line, its receiver's
//! breaker and its job's outcome, recorded in one transaction. A receiver that fails
//! [`BREAKER_FAILURES`] times in a row is backed off: none of its deliveries is claimed for 30
//! seconds, doubling with each further failure up to 10 minutes, so it holds no slot while it is
//! down; its first success closes the breaker.

use std::sync::Arc;
use std::time::Duration;

use qualify_store::{DeliveryAttempt, Store, Tx};
use qualify_types::Timestamp;
use tokio::sync::OnceCell;

use super::guard::PublicAddressesOnly;
use super::signer::{SignerError, WebhookSigner};
use crate::clock::Clock;
use crate::identity::KeyEncryptionKey;
use crate::jobs::{Attempt, JobOutcome, Lease};
use crate::settings::{JobSettings, Webhook};

/// Failures in a row after which a receiver is backed off.
pub const BREAKER_FAILURES: u32 = 5;
/// How long a receiver is first backed off.
const FIRST_BACKOFF: Duration = Duration::from_secs(30);
/// The longest it is backed off.
const LONGEST_BACKOFF: Duration = Duration::from_secs(600);

/// Until when a receiver that has failed `failures` times in a row is backed off, from `now`.
fn backed_off_until(now: Timestamp, failures: u32) -> Timestamp {
    let doublings = failures.saturating_sub(BREAKER_FAILURES).min(10);
    let wait = FIRST_BACKOFF
        .saturating_mul(1 << doublings)
        .min(LONGEST_BACKOFF);
    now.plus_millis(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX))
}

/// What an attempt to deliver came to, to be recorded with its job's outcome.
#[derive(Debug)]
pub(super) struct Delivered {
    /// What became of the attempt.
    pub(super) attempt: Attempt,
    /// Its log line, when a receiver was tried (or refused).
    pub(super) logged: Option<DeliveryAttempt>,
    /// Whether a receiver was tried: its answer (or silence) counts for or against it.
    pub(super) tried: bool,
    /// A validation event whose delivery ends with this attempt.
    pub(super) ends_validation: Option<String>,
}
/// What delivery jobs work with.
#[derive(Debug)]
pub struct Deliveries {
    pub(super) store: Store,
    pub(super) clock: Clock,
    /// The operator's webhooks, as configured now.
    pub(super) webhooks: Vec<Webhook>,
    /// Whether partners' receivers may be internal addresses.
    pub(super) allow_private: bool,
    /// The URL clients reach the service at: where receivers fetch the signing certificate.
    pub(super) public_base: String,
    /// How long one attempt may take in all: within the job's lease.
    timeout: Duration,
    /// How long it may take to connect.
    connect_timeout: Duration,
    /// How long the receiver may take to answer, once connected.
    pub(super) response_timeout: Duration,
    /// Seals the signing key in the database, when the operator gave one.
    kek: Option<Arc<KeyEncryptionKey>>,
    /// Built when first needed (most servers never deliver).
    http: OnceCell<reqwest::Client>,
    partner_http: OnceCell<reqwest::Client>,
    signer: OnceCell<WebhookSigner>,
}

impl Deliveries {
    /// Deliveries of a node on `store`, to `webhooks` and partners' receivers (internal ones
    /// only when `allow_private`), each attempt within the timeouts of `jobs`, as the service
    /// reached at `public_base`.
    pub fn new(
        store: Store,
        clock: Clock,
        webhooks: Vec<Webhook>,
        allow_private: bool,
        public_base: String,
        jobs: &JobSettings,
        kek: Option<Arc<KeyEncryptionKey>>,
    ) -> Self {
        Self {
            store,
            clock,
            webhooks,
            allow_private,
            public_base,
            timeout: jobs.job_lease.min(Duration::from_secs(30)) / 2,
            // An attempt ends well within its job's lease, or another node would run it too.
            connect_timeout: jobs.delivery_connect_timeout.min(jobs.job_lease / 2),
            response_timeout: jobs.delivery_response_timeout.min(jobs.job_lease / 2),
            kek,
            http: OnceCell::new(),
            partner_http: OnceCell::new(),
            signer: OnceCell::new(),
        }
    }

    /// What signs partners' events, loaded or made on first use (making it costs an RSA key).
    pub async fn signer(&self) -> Result<&WebhookSigner, SignerError> {
        self.signer
            .get_or_try_init(|| WebhookSigner::load_or_create(&self.store, self.kek.as_deref()))
            .await
    }

    /// The client for the operator's webhooks: a timeout within the lease, no redirects.
    pub(super) async fn http(&self) -> Result<&reqwest::Client, String> {
        self.http
            .get_or_try_init(|| async { self.client_builder().build() })
            .await
            .map_err(|error| format!("building the webhook client failed: {error}"))
    }

    /// The client for partners' receivers: as [`Deliveries::http`], and resolving names to
    /// public addresses only, unless the operator allows private ones.
    pub(super) async fn partner_http(&self) -> Result<&reqwest::Client, String> {
        self.partner_http
            .get_or_try_init(|| async {
                let builder = self.client_builder();
                if self.allow_private {
                    builder.build()
                } else {
                    builder.dns_resolver(Arc::new(PublicAddressesOnly)).build()
                }
            })
            .await
            .map_err(|error| format!("building the webhook client failed: {error}"))
    }

    /// What both clients share: a timeout within the lease, no redirects followed, no proxy
    /// from the environment (a proxy would resolve names the guard must see).
    fn client_builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("qualify-webhooks/", env!("CARGO_PKG_VERSION")))
    }

    /// Records what an attempt to deliver came to, in one transaction: its log line, its
    /// receiver's count of failures in a row (or the breaker closed), the end of a validation
    /// event, and the job's outcome. When that can't be written, the runner records the outcome
    /// alone (the log line is lost; the job runs again either way).
    ///
    /// The commit does not wait for the disk: a receiver's next delivery should not wait for an
    /// fsync. What a power cut (not a crash of the process) may lose is the last fraction of a
    /// second of outcomes, whose events are then delivered again: deliveries are at-least-once.
    pub(super) async fn finish(&self, lease: &Lease, delivered: Delivered) -> Attempt {
        let now = self.clock.now();
        let receiver = lease.claimed.receiver.as_deref();
        let recorded = self
            .store
            .transaction_unflushed(async |tx: &mut Tx| {
                if let Some(logged) = &delivered.logged {
                    tx.record_delivery_attempt(logged).await?;
                }
                if let (Some(receiver), true) = (receiver, delivered.tried) {
                    if delivered.attempt == Attempt::Done {
                        tx.receiver_succeeded(receiver).await?;
                    } else {
                        let failures = tx
                            .receiver_failed(receiver, BREAKER_FAILURES, |failures| {
                                backed_off_until(now, failures)
                            })
                            .await?;
                        if failures >= BREAKER_FAILURES {
                            tracing::warn!(
                                receiver,
                                failures,
                                "receiver backed off after failing in a row"
                            );
                        }
                    }
                }
                if let Some(correlation_id) = &delivered.ends_validation {
                    tx.finish_validation_event(correlation_id, now).await?;
                }
                lease.finish(tx, &delivered.attempt, now).await
            })
            .await;
        match recorded {
            Ok(outcome) => Attempt::Recorded(outcome),
            Err(error) => {
                tracing::warn!(%error, "recording a delivery attempt failed");
                delivered.attempt
            }
        }
    }
}

/// Whether an outcome ends a job's deliveries: done, or given up.
pub(super) fn ended(attempt: &Attempt, last_attempt: bool) -> bool {
    match attempt {
        Attempt::Done | Attempt::Hopeless(_) => true,
        Attempt::Failed(_) => last_attempt,
        Attempt::Recorded(outcome) => !matches!(outcome, JobOutcome::Retry(_)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receiver_is_backed_off_from_30_seconds_doubling_to_10_minutes() {
        let now = Timestamp::from_unix_millis(0).unwrap();
        let wait = |failures| backed_off_until(now, failures).unix_millis() / 1000;
        assert_eq!(wait(BREAKER_FAILURES), 30);
        assert_eq!(wait(BREAKER_FAILURES + 1), 60);
        assert_eq!(wait(BREAKER_FAILURES + 4), 480);
        assert_eq!(wait(BREAKER_FAILURES + 5), 600);
        assert_eq!(wait(u32::MAX), 600);
    }
}

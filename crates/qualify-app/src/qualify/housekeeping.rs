//! What a node does now and then so that what it keeps does not grow with traffic: forgets
//! `MS-RequestId` records past their retention, and delivery attempts, ended jobs and
//! validation events past their history.

use std::time::Duration;

use qualify_store::{StoreError, Tx};

use super::Qualify;
use crate::usecases::webhooks::VALIDATION_EVENTS_KEPT;

/// How long delivery attempts and the jobs that ended are kept: what `qualify admin webhooks
/// deliveries` shows and `redeliver` takes.
const HISTORY: Duration = Duration::from_secs(30 * 24 * 3600);

/// `duration` in milliseconds, as a timestamp is moved by.
fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl Qualify {
    /// Forgets `MS-RequestId` records older than the retention (at least 24 hours); how many.
    pub async fn forget_idempotency_records(&self) -> Result<u64, StoreError> {
        let retention = self
            .settings
            .vetting
            .idempotency_retention
            .max(Duration::from_secs(24 * 3600));
        let cutoff = self.clock.now().plus_millis(-millis(retention));
        self.store
            .transaction(async |tx: &mut Tx| tx.purge_idempotency_records(cutoff).await)
            .await
    }

    /// Forgets the delivery attempts and the jobs that ended (of every kind) older than their
    /// history, and the validation events older than Partner Center keeps them; how many. In
    /// batches, each its own transaction, so the writer is never held long.
    pub async fn forget_history(&self) -> Result<u64, StoreError> {
        const BATCH: u32 = 5_000;
        let now = self.clock.now();
        let history = now.plus_millis(-millis(HISTORY));
        let validations = now.plus_millis(-millis(VALIDATION_EVENTS_KEPT));
        let mut forgotten = 0;
        loop {
            let batch = self
                .store
                .transaction(async |tx: &mut Tx| {
                    Ok::<_, StoreError>(
                        tx.forget_delivery_attempts(history, BATCH).await?
                            + tx.forget_ended_jobs(history, BATCH).await?
                            + tx.forget_validation_events(validations, BATCH).await?,
                    )
                })
                .await?;
            forgotten += batch;
            if batch == 0 {
                return Ok(forgotten);
            }
        }
    }
}

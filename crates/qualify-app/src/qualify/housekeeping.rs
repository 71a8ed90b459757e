//! What a node does now and then so that what it keeps does not grow with traffic: forgets
//! `MS-RequestId` records past their retention, and delivery attempts, ended delivery jobs and
//! validation events past their history.

use std::time::Duration;

use qualify_store::StoreError;

use super::Qualify;
use crate::events::DELIVERY_KINDS;
use crate::usecases::webhooks::VALIDATION_EVENTS_KEPT;

/// How long delivery attempts, and the delivery jobs that ended, are kept: what `qualify admin
/// webhooks deliveries` shows and `redeliver` takes.
const DELIVERY_HISTORY: Duration = Duration::from_secs(30 * 24 * 3600);

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
        self.store.purge_idempotency_records(cutoff).await
    }

    /// Forgets the delivery attempts and ended delivery jobs older than their history, and the
    /// validation events older than Partner Center keeps them; how many.
    pub async fn forget_delivery_history(&self) -> Result<u64, StoreError> {
        let now = self.clock.now();
        self.store
            .purge_delivery_history(
                now.plus_millis(-millis(DELIVERY_HISTORY)),
                DELIVERY_KINDS,
                now.plus_millis(-millis(VALIDATION_EVENTS_KEPT)),
            )
            .await
    }
}

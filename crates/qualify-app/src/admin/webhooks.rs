//! Deliveries as the operator sees them: every attempt to deliver an event, to a partner's
//! registered receiver or to a webhook the operator configured (status, latency, error), and a
//! redelivery of one that ended (delivered or given up).

use qualify_store::{DeliveryAttempt, Tx};
use qualify_types::TenantId;
use serde_json::json;

use super::{Admin, AdminError};
use crate::events::DELIVERY_KINDS;

impl Admin {
    /// The latest `limit` delivery attempts (of events about `partner`'s customers, when
    /// given), newest first.
    pub async fn webhook_deliveries(
        &self,
        partner: Option<TenantId>,
        limit: u32,
    ) -> Result<Vec<DeliveryAttempt>, AdminError> {
        Ok(self.store.delivery_attempts(partner, limit).await?)
    }

    /// Delivers the event of the delivery job `job` again, from its first attempt: after a
    /// receiver was fixed, say. The job must have ended (delivered, or given up).
    pub async fn redeliver(&self, job: i64) -> Result<(), AdminError> {
        // Jobs run on the server's clock: the wall clock.
        let now = crate::clock::wall_now();
        self.store
            .transaction(async |tx: &mut Tx| {
                if !tx.rerun_job(job, DELIVERY_KINDS, now).await? {
                    return Err(AdminError::Invalid(format!(
                        "no delivery job {job} that has ended (qualify admin webhooks deliveries lists them; a pending one runs by itself)"
                    )));
                }
                self.audit(tx, now, "webhook.redelivered", &job.to_string(), json!({}))
                    .await?;
                Ok(())
            })
            .await
    }
}

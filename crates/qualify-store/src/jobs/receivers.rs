//! Receivers that keep failing, backed off: a circuit breaker shared by every node.

use qualify_types::Timestamp;

use crate::db;
use crate::records::timestamp;
use crate::{Store, StoreError, Tx, on_reader};

/// A receiver whose breaker is open: none of its deliveries is claimed until `open_until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenReceiver {
    /// Who: `partner:<tenant>` or `webhook:<url>`.
    pub receiver: String,
    /// Its failures in a row.
    pub failures: u32,
    /// When its deliveries are tried again.
    pub open_until: Timestamp,
}

db::row! {
    struct ReceiverRow {
        receiver: String,
        failures: i64,
        open_until: i64,
    }
}

impl Tx {
    /// A delivery to `receiver` failed: counts it, and once it has failed `threshold` times in a
    /// row, opens its breaker until `open_until(failures)`. Returns its failures in a row.
    pub async fn receiver_failed(
        &mut self,
        receiver: &str,
        threshold: u32,
        open_until: impl FnOnce(u32) -> Timestamp,
    ) -> Result<u32, StoreError> {
        const COUNT: &str = "INSERT INTO job_receivers (receiver, failures, open_until) VALUES ($1, 1, NULL) \
            ON CONFLICT (receiver) DO UPDATE SET failures = job_receivers.failures + 1 \
            RETURNING failures";
        const OPEN: &str = "UPDATE job_receivers SET open_until = $2 WHERE receiver = $1";
        let failures: i64 = db::query(COUNT)
            .bind(receiver)
            .fetch_one(&mut *self)
            .await?;
        let failures = u32::try_from(failures).unwrap_or(u32::MAX);
        if failures >= threshold {
            db::query(OPEN)
                .bind(receiver)
                .bind(open_until(failures).unix_millis())
                .execute(&mut *self)
                .await?;
        }
        Ok(failures)
    }

    /// A delivery to `receiver` succeeded: its breaker closes, its failures are forgotten.
    pub async fn receiver_succeeded(&mut self, receiver: &str) -> Result<(), StoreError> {
        const SQL: &str = "DELETE FROM job_receivers WHERE receiver = $1";
        db::query(SQL).bind(receiver).execute(&mut *self).await?;
        Ok(())
    }
}

impl Store {
    /// The receivers whose breakers are open at `now`.
    pub async fn open_receivers(&self, now: Timestamp) -> Result<Vec<OpenReceiver>, StoreError> {
        const SQL: &str = "SELECT receiver, failures, open_until FROM job_receivers \
            WHERE open_until > $1 ORDER BY open_until";
        let rows: Vec<ReceiverRow> = on_reader!(self, |pool| db::query(SQL)
            .bind(now.unix_millis())
            .fetch_all(pool)
            .await?);
        rows.into_iter()
            .map(|row| {
                Ok(OpenReceiver {
                    receiver: row.receiver,
                    failures: u32::try_from(row.failures).unwrap_or(u32::MAX),
                    open_until: timestamp("job_receivers.open_until", row.open_until)?,
                })
            })
            .collect()
    }
}

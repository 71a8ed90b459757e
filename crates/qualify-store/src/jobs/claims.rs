//! Claiming due jobs. A claim takes, in one statement, up to so many due jobs of one lane (or of
//! every lane, for a caller that drains them all) for a worker's lease; a job that waits for an
//! earlier one of its sequence is skipped, and so is a delivery to a receiver whose breaker is
//! open or that already has as many deliveries running as it may. Claiming never holds a
//! transaction open while a job runs.

use std::time::Duration;

use qualify_types::{TenantId, Timestamp};

use super::{ClaimedJob, count, millis};
use crate::db;
use crate::records::timestamp;
use crate::{Store, StoreError, Tx, on_reader};

/// What a worker asks for.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    /// Who claims: the lease names it.
    pub worker: &'a str,
    /// How long the jobs are the worker's.
    pub lease: Duration,
    /// Now, on the server's clock.
    pub now: Timestamp,
    /// Only this lane's jobs; `None`: every lane's, in one order (a test's drain).
    pub lane: Option<&'a str>,
    /// Only the jobs on this partner's clock (a clock's advance settling its decisions).
    pub partner: Option<TenantId>,
    /// At most this many.
    pub limit: u32,
    /// Whether the jobs asked for may name receivers (deliveries): then at most `per_receiver`
    /// of a receiver's jobs run at once, and none while its breaker is open.
    pub receivers: bool,
    /// At most this many running at once per receiver, counting those running now.
    pub per_receiver: u32,
}

db::row! {
    struct ClaimedRow {
        id: i64,
        kind: String,
        payload: String,
        attempts: i64,
        max_attempts: i64,
        run_at: i64,
        receiver: Option<String>,
    }
}

/// The conditions every claimed job meets: pending, due, not leased (or its lease ran out), on
/// the partner's clock when one is asked for, and first of its sequence.
macro_rules! claimable {
    ($alias:literal) => {
        concat!(
            $alias,
            ".state = 'pending' AND ($5 IS NULL OR ",
            $alias,
            ".lane = $5) AND ",
            $alias,
            ".run_at <= $3 AND (",
            $alias,
            ".locked_until IS NULL OR ",
            $alias,
            ".locked_until <= $3) AND ($4 IS NULL OR ",
            $alias,
            ".clock_partner = $4) AND (",
            $alias,
            ".sequence_key IS NULL OR NOT EXISTS (SELECT 1 FROM jobs earlier \
             WHERE earlier.sequence_key = ",
            $alias,
            ".sequence_key AND earlier.state = 'pending' \
             AND earlier.id < ",
            $alias,
            ".id))"
        )
    };
}

/// What a claim sets and returns.
macro_rules! claim {
    ($chosen:expr) => {
        concat!(
            "UPDATE jobs SET locked_by = $1, locked_until = $2, attempts = attempts + 1 \
             WHERE id IN (",
            $chosen,
            ") AND state = 'pending' AND (locked_until IS NULL OR locked_until <= $3) \
             RETURNING id, kind, payload, attempts, max_attempts, run_at, receiver"
        )
    };
}

/// Due jobs without receivers, oldest first. On PostgreSQL the one statement that differs: it
/// skips rows another node is claiming, so concurrent claimers each get different jobs instead
/// of queueing on one row lock.
const WITHOUT_RECEIVERS_POSTGRES: &str = claim!(concat!(
    "SELECT j.id FROM jobs j WHERE ",
    claimable!("j"),
    " ORDER BY j.run_at, j.id LIMIT $6 FOR UPDATE SKIP LOCKED"
));
const WITHOUT_RECEIVERS_SQLITE: &str = claim!(concat!(
    "SELECT j.id FROM jobs j WHERE ",
    claimable!("j"),
    " ORDER BY j.run_at, j.id LIMIT $6"
));

/// Due jobs, oldest first, leaving out the deliveries of a receiver whose breaker is open, and
/// those beyond what a receiver may run at once (its running jobs, plus its place among the
/// due ones). Claimers that pick the same rows are settled by the update's own conditions: the
/// later one finds them leased and takes the others.
const WITH_RECEIVERS: &str = claim!(concat!(
    "SELECT due.id FROM (SELECT c.id, c.run_at, c.receiver, \
       ROW_NUMBER() OVER (PARTITION BY c.receiver ORDER BY c.run_at, c.id) AS place \
     FROM jobs c WHERE ",
    claimable!("c"),
    " AND (c.receiver IS NULL OR NOT EXISTS (SELECT 1 FROM job_receivers r \
       WHERE r.receiver = c.receiver AND r.open_until > $3))) due \
     WHERE due.receiver IS NULL OR due.place + (SELECT COUNT(*) FROM jobs busy \
       WHERE busy.receiver = due.receiver AND busy.state = 'pending' AND busy.locked_until > $3) <= $7 \
     ORDER BY due.run_at, due.id LIMIT $6"
));

impl Tx {
    /// Claims, for `claim.worker` until `now + lease`, up to `claim.limit` due jobs, oldest
    /// first.
    pub async fn claim_jobs(&mut self, claim: &Claim<'_>) -> Result<Vec<ClaimedJob>, StoreError> {
        let sql = match (claim.receivers, self.backend()) {
            // Without receivers, the claim reads the lane's index and nothing else.
            (false, crate::Backend::Postgres) => WITHOUT_RECEIVERS_POSTGRES,
            (false, crate::Backend::Sqlite) => WITHOUT_RECEIVERS_SQLITE,
            (true, _) => WITH_RECEIVERS,
        };
        let until = claim.now.unix_millis().saturating_add(millis(claim.lease));
        let rows: Vec<ClaimedRow> = db::query(sql)
            .bind(claim.worker)
            .bind(until)
            .bind(claim.now.unix_millis())
            .bind(claim.partner.map(|p| p.to_string()))
            .bind(claim.lane)
            .bind(i64::from(claim.limit))
            .bind(i64::from(claim.per_receiver))
            .fetch_all(&mut *self)
            .await?;
        let mut claimed = rows
            .into_iter()
            .map(|row| {
                Ok(ClaimedJob {
                    id: row.id,
                    kind: row.kind,
                    payload: row.payload,
                    attempt: count(row.attempts),
                    max_attempts: count(row.max_attempts),
                    run_at: timestamp("jobs.run_at", row.run_at)?,
                    receiver: row.receiver,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // RETURNING's order is the engine's: the caller runs them oldest first.
        claimed.sort_by_key(|job| (job.run_at, job.id));
        Ok(claimed)
    }

    /// Claims the oldest due job of any lane for `worker` until `now + lease`, if there is one;
    /// with `only`, the oldest due job on that partner's clock.
    pub async fn claim_job(
        &mut self,
        worker: &str,
        lease: Duration,
        now: Timestamp,
        only: Option<TenantId>,
    ) -> Result<Option<ClaimedJob>, StoreError> {
        let claim = Claim {
            worker,
            lease,
            now,
            lane: None,
            partner: only,
            limit: 1,
            receivers: true,
            per_receiver: u32::MAX,
        };
        Ok(self.claim_jobs(&claim).await?.into_iter().next())
    }
}

impl Store {
    /// When the next job of `lane` that a worker could claim falls due (it may have already):
    /// the earliest due time of those not leased and not held back by an open breaker, or the
    /// moment the first open breaker closes. `None`: nothing pending.
    pub async fn next_due(
        &self,
        lane: &str,
        now: Timestamp,
    ) -> Result<Option<Timestamp>, StoreError> {
        const SQL: &str = "SELECT MIN(next) FROM (\
            SELECT MIN(j.run_at) AS next FROM jobs j WHERE j.state = 'pending' AND j.lane = $1 \
              AND (j.locked_until IS NULL OR j.locked_until <= $2) \
              AND (j.receiver IS NULL OR NOT EXISTS (SELECT 1 FROM job_receivers r \
                   WHERE r.receiver = j.receiver AND r.open_until > $2)) \
            UNION ALL \
            SELECT MIN(r.open_until) AS next FROM job_receivers r WHERE r.open_until > $2) soonest";
        let next: Option<i64> = on_reader!(self, |pool| db::query(SQL)
            .bind(lane)
            .bind(now.unix_millis())
            .fetch_one(pool)
            .await?);
        next.map(|millis| timestamp("jobs.run_at", millis))
            .transpose()
    }
}

//! Background jobs, claimed with leases. A worker claims due jobs for a lease (`locked_until`)
//! and must finish them before the lease ends; if its node dies, a job becomes claimable again
//! when the lease expires, by any node. Claiming never holds a transaction open while a job
//! runs (`claims.rs`). Each job is in a lane, fixed by its kind, so decisions never wait behind
//! deliveries; a delivery names its receiver, whose failures back it off (`receivers.rs`); `stats.rs` says what each lane holds.

use std::time::Duration;

use qualify_types::{TenantId, Timestamp};

mod claims;
mod receivers;
pub(crate) mod signals;
mod stats;

use crate::db;
use crate::records::timestamp;
use crate::{Store, StoreError, Tx, on_reader};

pub use claims::Claim;
pub use receivers::OpenReceiver;
pub use signals::OnJobsCommitted;
pub use stats::LaneStats;

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// What to do, e.g. `webhook.deliver`.
    pub kind: String,
    /// Its input, JSON.
    pub payload: String,
    /// Not before.
    pub run_at: Timestamp,
    /// Attempts before it is given up (`dead`).
    pub max_attempts: u32,
    /// The partner whose clock it follows: its `run_at` moves when that partner's clock is
    /// advanced (`Tx::advance_partner_clock`). `None`: the server's clock.
    pub clock_partner: Option<TenantId>,
    /// Jobs with the same key run one at a time, in the order they were enqueued (a later one
    /// waits while an earlier one is pending, retries included). `None`: in any order.
    pub sequence_key: Option<String>,
    /// Its lane: a worker claims from one lane, so work in another never waits behind it.
    pub lane: &'static str,
    /// Who it delivers to, for a delivery: at most so many of a receiver's jobs run at once,
    /// and a receiver that keeps failing is backed off. `None`: no receiver.
    pub receiver: Option<String>,
}

/// A job claimed by a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    /// Its id.
    pub id: i64,
    /// What to do.
    pub kind: String,
    /// Its input.
    pub payload: String,
    /// Which attempt this is, from 1.
    pub attempt: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// When it fell due (the server's clock): what a decision's lateness is counted from.
    pub run_at: Timestamp,
    /// Who it delivers to, for a delivery.
    pub receiver: Option<String>,
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Waiting to run (or running, under a lease).
    Pending,
    /// Done.
    Done,
    /// Given up after its last attempt.
    Dead,
}

/// A job as stored, for inspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// Its id.
    pub id: i64,
    /// What to do.
    pub kind: String,
    /// Its input.
    pub payload: String,
    /// Where it stands.
    pub state: JobState,
    /// Attempts made.
    pub attempts: u32,
    /// The worker holding it, while leased.
    pub locked_by: Option<String>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was done or given up.
    pub finished_at: Option<Timestamp>,
    /// When it falls due (the server's clock; moved with its partner's clock).
    pub run_at: Timestamp,
    /// The lane whose workers run it.
    pub lane: String,
    /// Who it delivers to, for a delivery.
    pub receiver: Option<String>,
}

db::row! {
    struct JobRow {
        id: i64,
        kind: String,
        payload: String,
        state: String,
        attempts: i64,
        locked_by: Option<String>,
        last_error: Option<String>,
        finished_at: Option<i64>,
        run_at: i64,
        lane: String,
        receiver: Option<String>,
    }
}

pub(crate) fn count(value: i64) -> u32 {
    u32::try_from(value.max(0)).unwrap_or(u32::MAX)
}

pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl TryFrom<JobRow> for JobRecord {
    type Error = StoreError;

    fn try_from(row: JobRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.id,
            kind: row.kind,
            payload: row.payload,
            state: match row.state.as_str() {
                "pending" => JobState::Pending,
                "done" => JobState::Done,
                "dead" => JobState::Dead,
                other => return Err(StoreError::corrupt("jobs.state", other)),
            },
            attempts: count(row.attempts),
            locked_by: row.locked_by,
            last_error: row.last_error,
            finished_at: row
                .finished_at
                .map(|at| timestamp("jobs.finished_at", at))
                .transpose()?,
            run_at: timestamp("jobs.run_at", row.run_at)?,
            lane: row.lane,
            receiver: row.receiver,
        })
    }
}

impl Tx {
    /// Makes the finished job `id`, if it is of one of `kinds`, run again now as a first
    /// attempt (`qualify admin webhooks redeliver`). False when there is no such job, or it is
    /// still pending.
    pub async fn rerun_job(
        &mut self,
        id: i64,
        kinds: [&str; 2],
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE jobs SET state = 'pending', attempts = 0, run_at = $2, locked_by = NULL, \
                           locked_until = NULL, finished_at = NULL, last_error = NULL \
                           WHERE id = $1 AND state <> 'pending' AND kind IN ($3, $4)";
        let rerun = db::query(SQL)
            .bind(id)
            .bind(now.unix_millis())
            .bind(kinds[0])
            .bind(kinds[1])
            .execute(&mut *self)
            .await?
            .rows_affected();
        Ok(rerun == 1)
    }

    /// Forgets up to `limit` jobs that ended (done or given up) before `cutoff`; how many.
    pub async fn forget_ended_jobs(
        &mut self,
        cutoff: Timestamp,
        limit: u32,
    ) -> Result<u64, StoreError> {
        const SQL: &str = "DELETE FROM jobs WHERE id IN \
            (SELECT id FROM jobs WHERE state <> 'pending' AND finished_at < $1 LIMIT $2)";
        Ok(db::query(SQL)
            .bind(cutoff.unix_millis())
            .bind(i64::from(limit))
            .execute(&mut *self)
            .await?
            .rows_affected())
    }

    /// Enqueues `jobs`, created at `at`: they run only if this transaction commits.
    pub async fn enqueue_jobs(&mut self, jobs: &[NewJob], at: Timestamp) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO jobs (kind, payload, run_at, max_attempts, created_at, clock_partner, sequence_key, lane, receiver) \
                           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
        for job in jobs {
            db::query(SQL)
                .bind(&job.kind)
                .bind(&job.payload)
                .bind(job.run_at.unix_millis())
                .bind(i64::from(job.max_attempts))
                .bind(at.unix_millis())
                .bind(job.clock_partner.map(|p| p.to_string()))
                .bind(job.sequence_key.as_deref())
                .bind(job.lane)
                .bind(job.receiver.as_deref())
                .execute(&mut *self)
                .await?;
            self.enqueued.add(job.lane, job.run_at);
        }
        Ok(())
    }

    /// Marks a job done, if `worker` still holds it. False when its lease ran out and another
    /// worker took it over (the work may then be done twice: jobs are at-least-once).
    pub async fn complete_job(
        &mut self,
        id: i64,
        worker: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE jobs SET state = 'done', finished_at = $3, locked_by = NULL, locked_until = NULL \
                           WHERE id = $1 AND locked_by = $2 AND state = 'pending'";
        let done = db::query(SQL)
            .bind(id)
            .bind(worker)
            .bind(now.unix_millis())
            .execute(&mut *self)
            .await?
            .rows_affected();
        Ok(done == 1)
    }

    /// Records a failed attempt: the job runs again at `retry_at`, or is given up (`dead`) after
    /// its last attempt. Returns its new state, `None` if `worker` no longer held it.
    pub async fn fail_job(
        &mut self,
        id: i64,
        worker: &str,
        error: &str,
        retry_at: Timestamp,
        now: Timestamp,
    ) -> Result<Option<JobState>, StoreError> {
        const SQL: &str = "UPDATE jobs SET locked_by = NULL, locked_until = NULL, last_error = $3, run_at = $4, \
                           state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'pending' END, \
                           finished_at = CASE WHEN attempts >= max_attempts THEN $5 ELSE NULL END \
                           WHERE id = $1 AND locked_by = $2 AND state = 'pending' RETURNING state";
        let error: String = error.chars().take(1000).collect();
        let state: Option<String> = db::query(SQL)
            .bind(id)
            .bind(worker)
            .bind(&error)
            .bind(retry_at.unix_millis())
            .bind(now.unix_millis())
            .fetch_optional(&mut *self)
            .await?;
        Ok(state.map(|s| {
            if s == "dead" {
                JobState::Dead
            } else {
                JobState::Pending
            }
        }))
    }

    /// Gives a job up at once (`dead`), when retrying can't help. False if `worker` no longer
    /// held it.
    pub async fn give_up_job(
        &mut self,
        id: i64,
        worker: &str,
        error: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE jobs SET state = 'dead', finished_at = $4, last_error = $3, locked_by = NULL, \
                           locked_until = NULL WHERE id = $1 AND locked_by = $2 AND state = 'pending'";
        let error: String = error.chars().take(1000).collect();
        let done = db::query(SQL)
            .bind(id)
            .bind(worker)
            .bind(&error)
            .bind(now.unix_millis())
            .execute(&mut *self)
            .await?
            .rows_affected();
        Ok(done == 1)
    }
}

impl Store {
    /// How many jobs on `partner`'s clock are due by `now` and not done: claimed by a worker
    /// that is running them, or waiting for one.
    pub async fn due_jobs_of(&self, partner: TenantId, now: Timestamp) -> Result<u64, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM jobs WHERE state = 'pending' AND clock_partner = $1 AND run_at <= $2";
        let count: i64 = on_reader!(self, |pool| db::query(SQL)
            .bind(partner.to_string())
            .bind(now.unix_millis())
            .fetch_one(pool)
            .await?);
        Ok(u64::try_from(count).unwrap_or_default())
    }

    /// Every job, oldest first: for operators and tests.
    pub async fn jobs(&self) -> Result<Vec<JobRecord>, StoreError> {
        const SQL: &str = "SELECT id, kind, payload, state, attempts, locked_by, last_error, finished_at, run_at, lane, receiver FROM jobs ORDER BY id";
        let rows: Vec<JobRow> = on_reader!(self, |pool| db::query(SQL).fetch_all(pool).await?);
        rows.into_iter().map(JobRecord::try_from).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDatabase;
    use crate::{DeliveryAttempt, NewTenant, StoreOptions, TenantKind};

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_unix_millis(millis).unwrap()
    }

    /// What a node forgets hourly (`Qualify::forget_history`): attempts and validation events
    /// past their cutoffs, and jobs of every kind that ended before it; never a pending job.
    #[tokio::test]
    async fn old_deliveries_ended_jobs_and_validation_events_are_forgotten_and_nothing_else() {
        for db in TestDatabase::every_backend("delivery history").await {
            let store = Store::connect(&StoreOptions::new(db.url().clone()))
                .await
                .unwrap();
            let partner = TenantId::random();
            let (old, recent, now) = (at(1_000_000), at(5_000_000), at(6_000_000));
            let job = |kind: &str, run_at: Timestamp| NewJob {
                kind: kind.to_owned(),
                payload: "{}".into(),
                run_at,
                max_attempts: 1,
                clock_partner: None,
                sequence_key: None,
                lane: "decisions",
                receiver: None,
            };
            store
                .transaction(async |tx: &mut Tx| {
                    let tenant = NewTenant {
                        id: partner,
                        kind: TenantKind::Partner,
                        name: "P",
                        dev: false,
                    };
                    tx.insert_tenant(&tenant, old).await?;
                    tx.insert_validation_event("old", partner, "https://r.example/", old)
                        .await?;
                    tx.insert_validation_event("recent", partner, "https://r.example/", recent)
                        .await?;
                    // Delivered, given up, another kind's (ended), and one not due yet.
                    let later = at(9_000_000);
                    let jobs = [
                        job("hook", old),
                        job("hook", old),
                        job("other", old),
                        job("hook", later),
                    ];
                    tx.enqueue_jobs(&jobs, old).await
                })
                .await
                .unwrap();
            for claimed in 0..3 {
                store
                    .transaction(async |tx: &mut Tx| {
                        let job = tx
                            .claim_job("w", Duration::from_secs(60), now, None)
                            .await?
                            .expect("a due job");
                        if claimed == 1 {
                            tx.give_up_job(job.id, "w", "gone", old).await?;
                        } else {
                            tx.complete_job(job.id, "w", old).await?;
                        }
                        Ok::<_, StoreError>(())
                    })
                    .await
                    .unwrap();
            }
            for (seq, when) in [(1, old), (2, recent)] {
                let attempt = DeliveryAttempt {
                    seq,
                    event_id: format!("e{seq}"),
                    job_id: 1,
                    partner,
                    event_name: "test-created".into(),
                    url: "https://r.example/".into(),
                    attempt: 1,
                    at: when,
                    status_code: Some(200),
                    latency_ms: 3,
                    error: None,
                };
                store
                    .transaction(async |tx: &mut Tx| tx.record_delivery_attempt(&attempt).await)
                    .await
                    .unwrap();
            }

            let cutoff = at(2_000_000);
            let removed = store
                .transaction(async |tx: &mut Tx| {
                    Ok::<_, StoreError>(
                        tx.forget_delivery_attempts(cutoff, 100).await?
                            + tx.forget_ended_jobs(cutoff, 100).await?
                            + tx.forget_validation_events(cutoff, 100).await?,
                    )
                })
                .await
                .unwrap();
            // One attempt, one validation event, and the three jobs that ended.
            assert_eq!(removed, 1 + 1 + 3);
            let attempts = store.delivery_attempts(None, 10).await.unwrap();
            assert_eq!(attempts.len(), 1);
            assert_eq!(attempts[0].event_id, "e2");
            assert!(store.validation_event("old").await.unwrap().is_none());
            assert!(store.validation_event("recent").await.unwrap().is_some());
            let left: Vec<(String, bool)> = store
                .jobs()
                .await
                .unwrap()
                .into_iter()
                .map(|j| (j.kind, j.finished_at.is_some()))
                .collect();
            assert_eq!(
                left,
                [("hook".to_owned(), false)],
                "only the pending job stays"
            );
            store.close().await;
        }
    }
}

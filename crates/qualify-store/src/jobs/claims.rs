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

/// The conditions every claimed job meets: pending, in `$scope` (its lane, or its partner's
/// clock: each with an index of its own, so a claim reads only that), due, not leased (or its
/// lease ran out), and first of its sequence.
macro_rules! claimable {
    ($alias:literal, $scope:literal) => {
        concat!(
            $alias,
            ".state = 'pending' AND ",
            $scope,
            " AND ",
            $alias,
            ".run_at <= $3 AND (",
            $alias,
            ".locked_until IS NULL OR ",
            $alias,
            ".locked_until <= $3) AND (",
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
///
/// The jobs are chosen once, in a materialized CTE: as `WHERE id IN (subquery)`, PostgreSQL
/// may run the subquery again for each row it updates, and with `SKIP LOCKED` each run skips
/// the rows this very statement just claimed and picks the next ones, claiming far more than
/// the limit.
macro_rules! claim {
    ($chosen:expr) => {
        concat!(
            "WITH chosen AS MATERIALIZED (",
            $chosen,
            ") UPDATE jobs SET locked_by = $1, locked_until = $2, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM chosen) AND state = 'pending' \
             AND (locked_until IS NULL OR locked_until <= $3) \
             RETURNING id, kind, payload, attempts, max_attempts, run_at, receiver"
        )
    };
}

/// `claim!` for PostgreSQL, run as one statement outside any transaction block: its commit does
/// not wait for the WAL to be flushed (`synchronous_commit` off for that transaction alone). A
/// claim lost in a crash only leaves its jobs to be claimed again, and the statement is one
/// round trip instead of four (`BEGIN`, `SET LOCAL`, the claim, `COMMIT`).
macro_rules! claim_unflushed {
    ($chosen:expr) => {
        concat!(
            "WITH unflushed AS (SELECT set_config('synchronous_commit', 'off', true) AS setting), \
             chosen AS MATERIALIZED (",
            $chosen,
            ") UPDATE jobs SET locked_by = $1, locked_until = $2, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM chosen) AND state = 'pending' \
             AND (locked_until IS NULL OR locked_until <= $3) \
             AND EXISTS (SELECT 1 FROM unflushed) \
             RETURNING id, kind, payload, attempts, max_attempts, run_at, receiver"
        )
    };
}

/// Due jobs of a lane without receivers, oldest first, read from the lane's index. On
/// PostgreSQL the one statement that differs: it skips rows another node is claiming, so
/// concurrent claimers each get different jobs instead of queueing on one row lock.
const WITHOUT_RECEIVERS_POSTGRES: &str = claim_unflushed!(concat!(
    "SELECT j.id FROM jobs j WHERE ",
    claimable!("j", "j.lane = $5"),
    " ORDER BY j.run_at, j.id LIMIT $6 FOR UPDATE SKIP LOCKED"
));
const WITHOUT_RECEIVERS_SQLITE: &str = claim!(concat!(
    "SELECT j.id FROM jobs j WHERE ",
    claimable!("j", "j.lane = $5"),
    " ORDER BY j.run_at, j.id LIMIT $6"
));

/// Due jobs on a partner's clock (a clock's advance settling its decisions), oldest first.
const ON_PARTNER_CLOCK_POSTGRES: &str = claim_unflushed!(concat!(
    "SELECT j.id FROM jobs j WHERE ",
    claimable!("j", "j.clock_partner = $4"),
    " ORDER BY j.run_at, j.id LIMIT $6 FOR UPDATE SKIP LOCKED"
));
const ON_PARTNER_CLOCK_SQLITE: &str = claim!(concat!(
    "SELECT j.id FROM jobs j WHERE ",
    claimable!("j", "j.clock_partner = $4"),
    " ORDER BY j.run_at, j.id LIMIT $6"
));

/// Due jobs of every lane, oldest first, leaving out the deliveries of a receiver whose breaker
/// is open, and those beyond what a receiver may run at once (its running jobs, plus its place
/// among the due ones). It reads every due job: for a test's drain, not for workers. Claimers that pick the same
/// rows are settled by the update's own conditions: the later one finds them leased and takes
/// the others.
const EVERY_LANE: &str = claim!(concat!(
    "SELECT due.id FROM (SELECT c.id, c.run_at, c.receiver, \
       ROW_NUMBER() OVER (PARTITION BY c.receiver ORDER BY c.run_at, c.id) AS place \
     FROM jobs c WHERE ",
    claimable!("c", "TRUE"),
    " AND (c.receiver IS NULL OR NOT EXISTS (SELECT 1 FROM job_receivers r \
       WHERE r.receiver = c.receiver AND r.open_until > $3))) due \
     WHERE due.receiver IS NULL OR due.place + (SELECT COUNT(*) FROM jobs busy \
       WHERE busy.receiver = due.receiver AND busy.state = 'pending' AND busy.locked_until > $3) <= $7 \
     ORDER BY due.run_at, due.id LIMIT $6"
));

/// `receivers_with_room`: the receivers with pending deliveries, each once, found by skipping
/// from one to the next through `jobs_leased_by_receiver` (a probe per receiver, however long
/// its backlog), less those whose breaker is open, each with how many more of its deliveries
/// may run now (`room`). `$now` and `$cap` name the parameters of the time and the limit per
/// receiver.
macro_rules! receivers_with_room {
    ($now:literal, $cap:literal) => {
        concat!(
            "WITH RECURSIVE receivers(receiver) AS ( \
               SELECT (SELECT j.receiver FROM jobs j WHERE j.state = 'pending' AND j.receiver IS NOT NULL \
                       ORDER BY j.receiver LIMIT 1) \
               UNION ALL \
               SELECT (SELECT j.receiver FROM jobs j WHERE j.state = 'pending' AND j.receiver > r.receiver \
                       ORDER BY j.receiver LIMIT 1) \
               FROM receivers r WHERE r.receiver IS NOT NULL), \
             receivers_with_room AS (SELECT r.receiver, ",
            $cap,
            " - (SELECT COUNT(*) FROM jobs busy WHERE busy.receiver = r.receiver \
                 AND busy.state = 'pending' AND busy.locked_until > ",
            $now,
            ") AS room \
               FROM receivers r WHERE r.receiver IS NOT NULL AND NOT EXISTS (SELECT 1 FROM job_receivers b \
                 WHERE b.receiver = r.receiver AND b.open_until > ",
            $now,
            ")) "
        )
    };
}

/// The delivery lane's claim on PostgreSQL, in one statement: for each receiver with room, its
/// first due deliveries (as many as its room, read from `jobs_due_by_receiver`), then the
/// oldest of all those. A receiver backed off or at its limit is never read past its index
/// entry, so its backlog, however long, costs another receiver nothing.
const BY_RECEIVER_POSTGRES: &str = claim_unflushed!(concat!(
    receivers_with_room!("$3", "$7"),
    "SELECT due.id FROM receivers_with_room o CROSS JOIN LATERAL (SELECT c.id, c.run_at FROM jobs c \
       WHERE c.receiver = o.receiver AND ",
    claimable!("c", "c.lane = $5"),
    " ORDER BY c.run_at, c.id LIMIT GREATEST(o.room, 0)) due \
     ORDER BY due.run_at, due.id LIMIT $6"
));

/// The same on SQLite, which has no `LATERAL`, in steps inside the claim's transaction (each a
/// call into the library, not a round trip; a statement takes the parameters it names): the
/// receivers with room...
const RECEIVERS_WITH_ROOM_SQLITE: &str = concat!(
    receivers_with_room!("$3", "$7"),
    "SELECT receiver, room FROM receivers_with_room WHERE room > 0"
);

/// ...each one's first due deliveries...
const FIRST_DUE_OF_RECEIVER_SQLITE: &str = concat!(
    "SELECT c.id, c.run_at FROM jobs c WHERE c.receiver = $8 AND ",
    claimable!("c", "c.lane = $5"),
    " ORDER BY c.run_at, c.id LIMIT $9"
);

/// ...and the claim of each of the oldest of them.
const ONE_SQLITE: &str = claim!("SELECT $8 AS id");

db::row! {
    struct ReceiverRoom {
        receiver: String,
        room: i64,
    }
}

db::row! {
    struct DueRow {
        id: i64,
        run_at: i64,
    }
}

impl Claim<'_> {
    /// The statement that makes this claim on PostgreSQL.
    fn postgres_sql(&self) -> &'static str {
        match (self.partner, self.lane, self.receivers) {
            (Some(_), _, _) => ON_PARTNER_CLOCK_POSTGRES,
            // Without receivers, the claim reads the lane's index and nothing else.
            (None, Some(_), false) => WITHOUT_RECEIVERS_POSTGRES,
            (None, Some(_), true) => BY_RECEIVER_POSTGRES,
            (None, None, _) => EVERY_LANE,
        }
    }

    /// `sql` with the claim's parameters bound, `$1` to `$7`.
    fn bound(&self, sql: &'static str) -> db::Query {
        let until = self.now.unix_millis().saturating_add(millis(self.lease));
        db::query(sql)
            .bind(self.worker)
            .bind(until)
            .bind(self.now.unix_millis())
            .bind(self.partner.map(|p| p.to_string()))
            .bind(self.lane)
            .bind(i64::from(self.limit))
            .bind(i64::from(self.per_receiver))
    }
}

impl Tx {
    /// Claims, for `claim.worker` until `now + lease`, up to `claim.limit` due jobs, oldest
    /// first, in this transaction (on PostgreSQL, whose commit then does not wait for the WAL
    /// flush). Workers claim with `Store::claim_jobs`.
    pub async fn claim_jobs(&mut self, claim: &Claim<'_>) -> Result<Vec<ClaimedJob>, StoreError> {
        let backend = self.backend();
        let sql = match backend {
            crate::Backend::Postgres => claim.postgres_sql(),
            crate::Backend::Sqlite => match (claim.partner, claim.lane, claim.receivers) {
                (Some(_), _, _) => ON_PARTNER_CLOCK_SQLITE,
                // Without receivers, the claim reads the lane's index and nothing else.
                (None, Some(_), false) => WITHOUT_RECEIVERS_SQLITE,
                (None, Some(_), true) => {
                    let rows = self.claim_by_receiver_sqlite(claim).await?;
                    return Self::claimed(rows);
                }
                (None, None, _) => EVERY_LANE,
            },
        };
        let rows: Vec<ClaimedRow> = claim.bound(sql).fetch_all(&mut *self).await?;
        Self::claimed(rows)
    }

    /// The claimed rows as jobs, oldest first.
    fn claimed(rows: Vec<ClaimedRow>) -> Result<Vec<ClaimedJob>, StoreError> {
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

    /// `BY_RECEIVER_POSTGRES`, in SQLite's steps.
    async fn claim_by_receiver_sqlite(
        &mut self,
        claim: &Claim<'_>,
    ) -> Result<Vec<ClaimedRow>, StoreError> {
        let receivers: Vec<ReceiverRoom> = claim
            .bound(RECEIVERS_WITH_ROOM_SQLITE)
            .fetch_all(&mut *self)
            .await?;
        let mut due = Vec::new();
        for ReceiverRoom { receiver, room } in receivers {
            let first: Vec<DueRow> = claim
                .bound(FIRST_DUE_OF_RECEIVER_SQLITE)
                .bind(receiver)
                .bind(room.min(i64::from(claim.limit)))
                .fetch_all(&mut *self)
                .await?;
            due.extend(first.into_iter().map(|row| (row.run_at, row.id)));
        }
        due.sort_unstable();
        let mut claimed = Vec::new();
        for (_, id) in due
            .into_iter()
            .take(usize::try_from(claim.limit).unwrap_or(usize::MAX))
        {
            let row: Option<ClaimedRow> = claim
                .bound(ONE_SQLITE)
                .bind(id)
                .fetch_optional(&mut *self)
                .await?;
            claimed.extend(row);
        }
        Ok(claimed)
    }
}

/// When the next delivery a worker could claim falls due: the earliest of each receiver's with
/// room (as the claim reads them), or the moment the first open breaker closes.
const NEXT_DELIVERY_DUE: &str = concat!(
    receivers_with_room!("$1", "$2"),
    "SELECT MIN(next) FROM ( \
       SELECT (SELECT c.run_at FROM jobs c WHERE c.receiver = o.receiver AND c.state = 'pending' \
               AND (c.locked_until IS NULL OR c.locked_until <= $1) ORDER BY c.run_at LIMIT 1) AS next \
       FROM receivers_with_room o WHERE o.room > 0 \
       UNION ALL \
       SELECT MIN(b.open_until) AS next FROM job_receivers b WHERE b.open_until > $1) soonest"
);

impl Store {
    /// Claims, for `claim.worker` until `now + lease`, up to `claim.limit` due jobs, oldest
    /// first, without waiting for the claim to be durable (a claim lost in a crash leaves its
    /// jobs to be claimed again): on PostgreSQL in one statement, on SQLite in a turn of the
    /// writer that does not wait for the batch's fsync.
    pub async fn claim_jobs(&self, claim: &Claim<'_>) -> Result<Vec<ClaimedJob>, StoreError> {
        match &self.pool {
            crate::Pool::Postgres(pool, ..) => {
                let rows: Vec<ClaimedRow> =
                    claim.bound(claim.postgres_sql()).fetch_all(pool).await?;
                Tx::claimed(rows)
            }
            crate::Pool::Sqlite { .. } => {
                self.transaction_unflushed(async |tx: &mut Tx| tx.claim_jobs(claim).await)
                    .await
            }
        }
    }

    /// When the next job of `lane` (one whose jobs name no receiver) that a worker could claim
    /// falls due; it may have already. `None`: nothing pending.
    pub async fn next_due(
        &self,
        lane: &str,
        now: Timestamp,
    ) -> Result<Option<Timestamp>, StoreError> {
        const SQL: &str = "SELECT MIN(run_at) FROM jobs WHERE state = 'pending' AND lane = $1 \
            AND (locked_until IS NULL OR locked_until <= $2)";
        let next: Option<i64> = on_reader!(self, |pool| db::query(SQL)
            .bind(lane)
            .bind(now.unix_millis())
            .fetch_one(pool)
            .await?);
        next.map(|millis| timestamp("jobs.run_at", millis))
            .transpose()
    }

    /// When the next delivery that a worker could claim falls due (it may have already),
    /// `per_receiver` being how many of a receiver's may run at once; or when the first open
    /// breaker closes. `None`: nothing pending.
    pub async fn next_delivery_due(
        &self,
        now: Timestamp,
        per_receiver: u32,
    ) -> Result<Option<Timestamp>, StoreError> {
        let next: Option<i64> = on_reader!(self, |pool| db::query(NEXT_DELIVERY_DUE)
            .bind(now.unix_millis())
            .bind(i64::from(per_receiver))
            .fetch_one(pool)
            .await?);
        next.map(|millis| timestamp("jobs.run_at", millis))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::NewJob;
    use crate::testing::TestDatabase;
    use crate::{StoreOptions, Tx};
    use qualify_types::TenantId;

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_unix_millis(millis).unwrap()
    }

    fn delivery(receiver: &str, sequence: &str, run_at: Timestamp) -> NewJob {
        NewJob {
            kind: "deliver".into(),
            payload: format!("{receiver}/{sequence}"),
            run_at,
            max_attempts: 3,
            clock_partner: None,
            sequence_key: Some(format!("{receiver}:{sequence}")),
            lane: "deliveries",
            receiver: Some(receiver.to_owned()),
        }
    }

    /// The delivery lane's claim: each receiver gets at most its share (counting what runs),
    /// a receiver whose breaker is open gets none, a delivery waits for the earlier one of its
    /// sequence, and what is left runs once room is made; oldest first throughout.
    #[tokio::test]
    async fn deliveries_are_claimed_by_receiver_within_their_limits() {
        for db in TestDatabase::every_backend("claims by receiver").await {
            let store = Store::connect(&StoreOptions::new(db.url().clone()))
                .await
                .unwrap();
            let now = at(10_000_000);
            let earlier = |ms: i64| at(now.unix_millis() - ms);
            let mut jobs = vec![
                // `slow`: two of one customer's events, one of another's.
                delivery("slow", "c1", earlier(900)),
                delivery("slow", "c1", earlier(800)),
                delivery("slow", "c2", earlier(700)),
                delivery("slow", "c3", earlier(600)),
            ];
            // `down`: a long backlog, backed off.
            jobs.extend((0..50).map(|n| delivery("down", &format!("d{n}"), earlier(1000 + n))));
            // `fine`: three events of different customers, and one not yet due.
            jobs.extend((0..3).map(|n| delivery("fine", &format!("f{n}"), earlier(500 - n))));
            jobs.push(delivery("fine", "f9", at(now.unix_millis() + 60_000)));
            store
                .transaction(async |tx: &mut Tx| {
                    tx.enqueue_jobs(&jobs, earlier(2000)).await?;
                    tx.receiver_failed("down", 1, |_| at(now.unix_millis() + 30_000))
                        .await
                })
                .await
                .unwrap();
            let claim = |limit: u32| Claim {
                worker: "w",
                lease: Duration::from_secs(60),
                now,
                lane: Some("deliveries"),
                partner: None,
                limit,
                receivers: true,
                per_receiver: 2,
            };
            let claim_now = async |limit: u32| {
                let claimed = store.claim_jobs(&claim(limit)).await.unwrap();
                claimed
                    .into_iter()
                    .map(|job| job.payload)
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                claim_now(10).await,
                ["slow/c1", "slow/c2", "fine/f0", "fine/f1"],
                "two each, the second of c1 after the first, none of the backed-off"
            );
            assert!(
                claim_now(10).await.is_empty(),
                "every receiver with room is at its limit"
            );
            // The first of c1 done: c1's second may run, and `slow` has room for one.
            let first = store
                .jobs()
                .await
                .unwrap()
                .into_iter()
                .find(|job| job.payload == "slow/c1")
                .unwrap();
            store
                .transaction(async |tx: &mut Tx| tx.complete_job(first.id, "w", now).await)
                .await
                .unwrap();
            assert_eq!(claim_now(10).await, ["slow/c1"]);
            // Every receiver with room is at its limit again: the next moment anything of the
            // lane may be claimed is when the breaker closes.
            let next = store.next_delivery_due(now, 2).await.unwrap();
            assert_eq!(
                next,
                Some(at(now.unix_millis() + 30_000)),
                "the breaker closes first"
            );
            store.close().await;
        }
    }

    /// A claim takes at most its limit, whichever way it chooses (on PostgreSQL, a subquery
    /// with `SKIP LOCKED` run again per updated row once claimed every due job).
    #[tokio::test]
    async fn a_claim_takes_no_more_than_its_limit() {
        for db in TestDatabase::every_backend("claim limits").await {
            let store = Store::connect(&StoreOptions::new(db.url().clone()))
                .await
                .unwrap();
            let partner = TenantId::random();
            let now = at(10_000_000);
            let jobs: Vec<NewJob> = (0..20)
                .map(|n| NewJob {
                    kind: "decide".into(),
                    payload: n.to_string(),
                    run_at: at(now.unix_millis() - 1000 + n),
                    max_attempts: 3,
                    clock_partner: Some(partner),
                    sequence_key: None,
                    lane: "decisions",
                    receiver: None,
                })
                .collect();
            store
                .transaction(async |tx: &mut Tx| tx.enqueue_jobs(&jobs, now).await)
                .await
                .unwrap();
            let claim = |lane: Option<&'static str>, partner: Option<TenantId>, limit: u32| Claim {
                worker: "w",
                lease: Duration::from_secs(60),
                now,
                lane,
                partner,
                limit,
                receivers: false,
                per_receiver: u32::MAX,
            };
            for (lane, partner, limit, first) in [
                (None, Some(partner), 1, "0"),
                (Some("decisions"), None, 3, "1"),
                (None, None, 2, "4"),
            ] {
                let claimed = store
                    .claim_jobs(&claim(lane, partner, limit))
                    .await
                    .unwrap();
                assert_eq!(claimed.len(), limit as usize, "{lane:?} {partner:?}");
                assert_eq!(claimed[0].payload, first, "oldest first");
            }
            let leased = store
                .jobs()
                .await
                .unwrap()
                .into_iter()
                .filter(|job| job.locked_by.is_some())
                .count();
            assert_eq!(leased, 1 + 3 + 2);
            store.close().await;
        }
    }
}

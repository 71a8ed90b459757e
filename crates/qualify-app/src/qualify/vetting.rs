//! The vetting writes: a submission, a reviewer's decision, a rule's timed decision, a new
//! customer; the first and last answer a partner's request once per `MS-RequestId`.

use qualify_domain::{Submission, Verdict};
use qualify_store::{NewCustomerRecord, Tx, VettingRecord};
use qualify_types::{CustomerId, TenantId, VettingRequestId, VettingStatus};

use super::Qualify;
use crate::jobs::{Attempt, JobOutcome, Lease};
use crate::metrics::DecidedBy;
use crate::usecases::idempotency::{self, Answer, IdempotencyKey};
use crate::usecases::{self, Actor, Decider, TimedDecision, UseCaseError, When};

impl Qualify {
    /// Submits `submission` for `caller`'s `customer`, answering with `answer` of the new
    /// request (the status and JSON body the partner gets); with a `key`, once: a retry gets
    /// the first answer back and writes nothing.
    pub async fn submit(
        &self,
        caller: &Actor,
        partner: TenantId,
        customer: CustomerId,
        submission: &Submission,
        key: Option<&IdempotencyKey>,
        answer: impl FnOnce(VettingRecord) -> Result<(u16, String), UseCaseError>,
    ) -> Result<Answer, UseCaseError> {
        // Set when a rule decided the new request in its own transaction: counted once committed.
        let mut decided_at_once = None;
        let answered = idempotency::once(
            &self.store,
            key,
            self.clock.now(),
            async |tx: &mut Tx| {
                usecases::submit(tx, &self.vetting, caller, partner, customer, submission).await
            },
            |created| {
                decided_at_once = (created.state.status() != VettingStatus::InReview)
                    .then(|| created.state.status());
                answer(created)
            },
        )
        .await?;
        // A replayed answer is another request's decision (a retry that lost a race ran the use
        // case too, and rolled it back): only this request's own committed decision counts.
        let decided = decided_at_once
            .filter(|_| !answered.replayed)
            .map(|status| (status, DecidedBy::Rule));
        self.committed(decided);
        Ok(answered)
    }

    /// Creates `new` for `caller`, answering with `answer` of it; with a `key`, once.
    pub async fn create_customer(
        &self,
        caller: &Actor,
        new: &NewCustomerRecord<'_>,
        key: Option<&IdempotencyKey>,
        answer: impl FnOnce(qualify_store::CustomerRecord) -> Result<(u16, String), UseCaseError>,
    ) -> Result<Answer, UseCaseError> {
        let answered = idempotency::once(
            &self.store,
            key,
            self.clock.now(),
            async |tx: &mut Tx| usecases::create_customer(tx, &self.vetting, caller, new).await,
            answer,
        )
        .await?;
        self.committed(None);
        Ok(answered)
    }

    /// A reviewer's decision, however the reviewer made it (the reviewer API or the console).
    pub async fn decide_as_reviewer(
        &self,
        (tenant, username): (TenantId, &str),
        id: VettingRequestId,
        verdict: &Verdict,
    ) -> Result<VettingRecord, UseCaseError> {
        let decider = Decider::Reviewer {
            tenant: tenant.to_string(),
            username: username.to_owned(),
        };
        let decided = self
            .store
            .transaction(async |tx: &mut Tx| {
                usecases::decide(tx, &self.vetting, id, verdict, &decider, When::Now).await
            })
            .await?;
        self.committed(Some((decided.state.status(), DecidedBy::Reviewer)));
        tracing::info!(request = %id, status = %decided.state.status(), reviewer = ?decider, "decided");
        Ok(decided)
    }

    /// Makes rules' timed decisions claimed together, each dated when it fell due (a decision
    /// that fell due while the server was down is made when it is back, with the date its rule
    /// gave it), in one transaction that also records each job done: a batch of decisions is
    /// one commit after its claim. A reviewer who decided first wins; there is then nothing to
    /// decide, and the job is done. Should the batch fail, each is made in a transaction of its
    /// own, so that one bad decision holds up no other.
    pub(crate) async fn decide_by_rule(&self, batch: Vec<(TimedDecision, Lease)>) -> Vec<Attempt> {
        if batch.len() > 1 {
            match self.decide_together(&batch).await {
                Ok(attempts) => return attempts,
                Err(error) => {
                    tracing::warn!(%error, count = batch.len(), "a batch of timed decisions failed; making them one at a time");
                }
            }
        }
        let mut attempts = Vec::with_capacity(batch.len());
        for one in &batch {
            attempts.push(
                match self.decide_together(std::slice::from_ref(one)).await {
                    Ok(mut attempt) => attempt.pop().unwrap_or(Attempt::Done),
                    Err(error) => Attempt::Failed(error.to_string()),
                },
            );
        }
        attempts
    }

    /// `decide_by_rule`'s transaction: every decision of `batch`, or none.
    async fn decide_together(
        &self,
        batch: &[(TimedDecision, Lease)],
    ) -> Result<Vec<Attempt>, UseCaseError> {
        // Requests in one order, whoever decides them: two batches never wait for each other's
        // rows in a circle.
        let mut order: Vec<usize> = (0..batch.len()).collect();
        order.sort_by_key(|&at| batch[at].0.request);
        let decided = self
            .store
            .transaction(async |tx: &mut Tx| {
                let mut decided = vec![None; batch.len()];
                for &at in &order {
                    let (timed, lease) = &batch[at];
                    decided[at] = Some(self.decide_in(tx, timed, lease).await?);
                }
                Ok::<_, UseCaseError>(decided)
            })
            .await?;
        Ok(batch
            .iter()
            .zip(decided)
            .map(|((timed, _), decided)| {
                let (record, outcome) = decided.unwrap_or((None, JobOutcome::Done));
                match record {
                    Some(record) => {
                        self.committed(Some((record.state.status(), DecidedBy::Rule)));
                        tracing::info!(request = %timed.request, rule = %timed.rule, status = %record.state.status(), "decided by a rule");
                    }
                    None => {
                        tracing::info!(request = %timed.request, rule = %timed.rule, "nothing to decide: decided first by someone else, or gone");
                    }
                }
                Attempt::Recorded(outcome)
            })
            .collect())
    }

    /// One timed decision in `tx`, with its job's outcome: the request decided, or nothing to
    /// decide (decided first, or gone: the job is done either way), or a payload that can never
    /// be decided (given up). Any other failure fails the transaction.
    async fn decide_in(
        &self,
        tx: &mut Tx,
        timed: &TimedDecision,
        lease: &Lease,
    ) -> Result<(Option<VettingRecord>, JobOutcome), UseCaseError> {
        let now = self.clock.now();
        let verdict =
            match Verdict::from_request(timed.vetting_status, timed.vetting_reason.as_deref()) {
                Ok(verdict) => verdict,
                Err(unreadable) => {
                    let outcome = lease
                        .finish(tx, &Attempt::Hopeless(unreadable.to_string()), now)
                        .await?;
                    return Ok((None, outcome));
                }
            };
        let decider = Decider::Rule {
            name: timed.rule.clone(),
        };
        let decision = usecases::decide(
            tx,
            &self.vetting,
            timed.request,
            &verdict,
            &decider,
            When::At(timed.due),
        )
        .await;
        // Refusals are read before anything is written: the transaction goes on unharmed.
        let record = match decision {
            Ok(record) => Some(record),
            Err(UseCaseError::Decision(_) | UseCaseError::VettingRequestNotFound(_)) => None,
            Err(error) => return Err(error),
        };
        let outcome = lease.finish(tx, &Attempt::Done, now).await?;
        Ok((record, outcome))
    }
}

//! The vetting writes: a submission, a reviewer's decision, a rule's timed decision, a new
//! customer; the first and last answer a partner's request once per `MS-RequestId`.

use qualify_domain::{Submission, Verdict};
use qualify_store::{NewCustomerRecord, Tx, VettingRecord};
use qualify_types::{CustomerId, TenantId, VettingRequestId, VettingStatus};

use super::Qualify;
use crate::jobs::{Attempt, Lease};
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

    /// Makes a rule's timed decision, dated when it fell due: a decision that fell due while
    /// the server was down is made when it is back, with the date the rule gave it. A reviewer
    /// who decided first wins; there is then nothing to decide, and the job is done.
    /// The job is done in the decision's own transaction: a decision is one commit after its
    /// claim.
    pub(crate) async fn decide_by_rule(&self, timed: &TimedDecision, lease: &Lease) -> Attempt {
        let verdict =
            match Verdict::from_request(timed.vetting_status, timed.vetting_reason.as_deref()) {
                Ok(verdict) => verdict,
                Err(unreadable) => return Attempt::Hopeless(unreadable.to_string()),
            };
        let decider = Decider::Rule {
            name: timed.rule.clone(),
        };
        let decided = self
            .store
            .transaction(async |tx: &mut Tx| {
                let record = usecases::decide(
                    tx,
                    &self.vetting,
                    timed.request,
                    &verdict,
                    &decider,
                    When::At(timed.due),
                )
                .await?;
                let outcome = lease.finish(tx, &Attempt::Done, self.clock.now()).await?;
                Ok::<_, UseCaseError>((record, outcome))
            })
            .await;
        match decided {
            Ok((record, outcome)) => {
                self.committed(Some((record.state.status(), DecidedBy::Rule)));
                tracing::info!(request = %timed.request, rule = %timed.rule, status = %record.state.status(), "decided by a rule");
                Attempt::Recorded(outcome)
            }
            Err(UseCaseError::Decision(overtaken)) => {
                tracing::info!(request = %timed.request, rule = %timed.rule, %overtaken, "nothing to decide: decided first by someone else");
                Attempt::Done
            }
            Err(UseCaseError::VettingRequestNotFound(_)) => {
                tracing::info!(request = %timed.request, rule = %timed.rule, "nothing to decide: the request is gone");
                Attempt::Done
            }
            Err(error) => Attempt::Failed(error.to_string()),
        }
    }
}

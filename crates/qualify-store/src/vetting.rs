//! Vetting requests: submission under the customer's rules, the customer's history, the
//! reviewers' queue, and decisions. Each change takes the customer's row lock first, so two
//! submissions for one customer are serialised by the database on every backend.

use qualify_domain::{
    Submission, SubmissionPolicy, SubmissionRefused, Verdict, VettingState, check_submission,
};
use qualify_types::{
    CustomerId, Qualification, TenantId, Timestamp, VettingRequestId, VettingStatus,
};
use uuid::Uuid;

use crate::admin;
use crate::db;
use crate::idempotency::{self, IdempotencyRow};
use crate::jobs::insert_jobs;
use crate::records::{VettingRow, channel_str, parse, timestamp, vetting_state};
use crate::{
    Conflict, IdempotencyRecord, NewJob, Pool, PrincipalStatus, Store, StoreError, VettingRecord,
    Written, audit, in_transaction, on_reader,
};

/// A vetting request to create.
#[derive(Debug, Clone)]
pub struct NewVettingRequest<'a> {
    /// Its id, chosen by the caller.
    pub id: VettingRequestId,
    /// The submitting partner.
    pub partner_tenant_id: TenantId,
    /// The customer.
    pub customer_id: CustomerId,
    /// What is submitted.
    pub submission: &'a Submission,
    /// Who submits it, for the audit trail.
    pub actor: &'a str,
}

/// Which vetting requests to list.
#[derive(Debug, Clone, Default)]
pub struct VettingFilter {
    /// Only those in this state.
    pub status: Option<VettingStatus>,
    /// Only this customer's.
    pub customer_id: Option<CustomerId>,
    /// Only this partner's.
    pub partner_tenant_id: Option<TenantId>,
}

/// A page of vetting requests, oldest first.
#[derive(Debug, Clone)]
pub struct VettingPage {
    /// The requests of this page.
    pub requests: Vec<VettingRecord>,
    /// Where the next page starts, if there is one.
    pub next_after: Option<i64>,
}

/// One entry of a customer's vetting history, as the qualification list needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The qualification.
    pub qualification: Qualification,
    /// Where this request stands.
    pub state: VettingState,
    /// Its attempt number.
    pub attempt: u32,
    /// When it was submitted.
    pub created_at: Timestamp,
}

impl HistoryEntry {
    /// What the submission rules need of it.
    pub fn as_prior(&self) -> qualify_domain::PriorRequest {
        qualify_domain::PriorRequest {
            qualification: self.qualification,
            status: self.state.status(),
            attempt: self.attempt,
        }
    }
}

db::row! {
    struct HistoryRow {
        qualification: Option<String>,
        status: Option<String>,
        reason: Option<String>,
        attempt: Option<i64>,
        created_at: Option<i64>,
    }
}

/// The rows of one customer's history: none when the customer is not the partner's, one row of
/// NULLs when it has no requests yet.
const HISTORY_SQL: &str = "SELECT v.qualification, v.status, v.reason, v.attempt, v.created_at \
                           FROM customers c LEFT JOIN vetting_requests v ON v.customer_id = c.id \
                           WHERE c.id = $1 AND c.partner_tenant_id = $2 ORDER BY v.seq";

fn history(rows: Vec<HistoryRow>) -> Result<Option<Vec<HistoryEntry>>, StoreError> {
    if rows.is_empty() {
        return Ok(None);
    }
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        let (Some(qualification), Some(status), Some(attempt), Some(created_at)) =
            (row.qualification, row.status, row.attempt, row.created_at)
        else {
            continue; // the customer has no requests: the LEFT JOIN's row of NULLs
        };
        entries.push(HistoryEntry {
            qualification: parse("vetting_requests.qualification", &qualification)?,
            state: vetting_state(&status, row.reason)?,
            attempt: u32::try_from(attempt).map_err(|_| {
                StoreError::corrupt("vetting_requests.attempt", &attempt.to_string())
            })?,
            created_at: timestamp("vetting_requests.created_at", created_at)?,
        });
    }
    Ok(Some(entries))
}

macro_rules! vetting_select {
    () => {
        "SELECT v.seq, v.id, v.partner_tenant_id, v.customer_id, c.domain AS customer_domain, \
         c.company_name AS customer_company_name, v.qualification, v.education_segment, v.website, \
         v.validation_code, v.channel, v.attempt, v.status, v.reason, v.created_at, v.decided_at, \
         v.decided_by FROM vetting_requests v JOIN customers c ON c.id = v.customer_id "
    };
}

/// The statement reading the partner's customer's history (see `HISTORY_SQL`).
fn history_query(partner: TenantId, customer: CustomerId) -> db::Query {
    db::query(HISTORY_SQL)
        .bind(customer.to_string())
        .bind(partner.to_string())
}

impl Store {
    /// The partner's customer's vetting history, oldest first; `None` when the customer does
    /// not exist or is another partner's.
    pub async fn customer_history(
        &self,
        partner: TenantId,
        customer: CustomerId,
    ) -> Result<Option<Vec<HistoryEntry>>, StoreError> {
        let rows: Vec<HistoryRow> = on_reader!(self, |pool| history_query(partner, customer)
            .fetch_all(pool)
            .await?);
        history(rows)
    }

    /// What a partner's read of its customer's history needs, read together: the status of the
    /// token's tenant, application and user (see [`Store::principal_status`]), and the history
    /// (see [`Store::customer_history`]). On SQLite both come from one read transaction, which
    /// takes SQLite's read lock once instead of twice; on PostgreSQL they are two statements.
    pub async fn principal_status_and_history(
        &self,
        partner: TenantId,
        app: Option<Uuid>,
        user: Option<Uuid>,
        customer: CustomerId,
    ) -> Result<(PrincipalStatus, Option<Vec<HistoryEntry>>), StoreError> {
        let status = admin::status_query(partner, app, user);
        let history_rows = history_query(partner, customer);
        let (status, rows): (Option<admin::StatusRow>, Vec<HistoryRow>) = match &self.pool {
            Pool::Sqlite { readers, .. } => readers.in_snapshot(|snapshot| {
                Ok((
                    snapshot.fetch_optional(status)?,
                    snapshot.fetch_all(history_rows)?,
                ))
            })?,
            Pool::Postgres(pool) => (
                status.fetch_optional(pool).await?,
                history_rows.fetch_all(pool).await?,
            ),
        };
        Ok((admin::principal_status(status)?, history(rows)?))
    }

    /// Submits a qualification for vetting, if the customer's history and `policy` allow it.
    /// A GCC submission uses one create of the partner's validation code. With `idempotency`, a
    /// repeat of the same request id submits nothing and returns the first response.
    pub async fn submit_vetting(
        &self,
        new: &NewVettingRequest<'_>,
        policy: &SubmissionPolicy,
        at: Timestamp,
        idempotency: Option<&IdempotencyRecord>,
        outbox: impl FnOnce(&VettingRecord) -> Vec<NewJob> + Send,
    ) -> Result<Written<VettingRecord>, StoreError> {
        const LOCK_CUSTOMER: &str = "UPDATE customers SET vetting_version = vetting_version + 1 \
                                     WHERE id = $1 AND partner_tenant_id = $2 RETURNING domain, company_name";
        const USE_CODE: &str = "UPDATE validation_codes SET remaining_creates = remaining_creates - 1, updated_at = $3 \
                                WHERE partner_tenant_id = $1 AND validation_id = $2 AND remaining_creates > 0";
        const CODE_EXISTS: &str = "SELECT COUNT(*) FROM validation_codes WHERE partner_tenant_id = $1 AND validation_id = $2";
        const INSERT: &str = "INSERT INTO vetting_requests (id, customer_id, partner_tenant_id, qualification, \
                              education_segment, website, validation_code, channel, attempt, status, created_at) \
                              VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'InReview', $10)";

        let partner = new.partner_tenant_id.to_string();
        let customer = new.customer_id.to_string();
        let submission = new.submission;
        let qualification = submission.qualification();
        let outcome = in_transaction!(self, |tx| {
            // The lock comes before the idempotency check: a concurrent retry holding the lock
            // has committed its record by the time this one reads.
            let locked: Option<(String, String)> = db::query(LOCK_CUSTOMER)
                .bind(&customer)
                .bind(&partner)
                .fetch_optional(&mut *tx)
                .await?;
            let Some((customer_domain, customer_company_name)) = locked else {
                return Err(StoreError::NotFound);
            };
            if let Some(record) = idempotency {
                let stored: Option<IdempotencyRow> = db::query(idempotency::FIND_SQL)
                    .bind(&partner)
                    .bind(&record.request_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(stored) = stored {
                    return Ok(Written::Replayed(stored.try_into()?));
                }
            }
            let rows: Vec<HistoryRow> = history_query(new.partner_tenant_id, new.customer_id)
                .fetch_all(&mut *tx)
                .await?;
            let prior: Vec<_> = history(rows)?
                .unwrap_or_default()
                .iter()
                .map(HistoryEntry::as_prior)
                .collect();
            let attempt =
                check_submission(&prior, qualification, policy).map_err(Conflict::from)?;
            if let Some(code) = submission.validation_code() {
                let used = db::query(USE_CODE)
                    .bind(&partner)
                    .bind(code.as_str())
                    .bind(at.unix_millis())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if used == 0 {
                    let exists: i64 = db::query(CODE_EXISTS)
                        .bind(&partner)
                        .bind(code.as_str())
                        .fetch_one(&mut *tx)
                        .await?;
                    let refused = if exists == 0 {
                        SubmissionRefused::UnknownValidationCode(code.to_string())
                    } else {
                        SubmissionRefused::ValidationCodeExhausted(code.to_string())
                    };
                    return Err(Conflict::from(refused).into());
                }
            }
            db::query(INSERT)
                .bind(new.id.to_string())
                .bind(&customer)
                .bind(&partner)
                .bind(qualification.as_str())
                .bind(submission.education_segment().map(|s| s.as_str()))
                .bind(submission.website().map(|w| w.as_str()))
                .bind(submission.validation_code().map(|c| c.as_str()))
                .bind(channel_str(submission.channel()))
                .bind(i64::from(attempt))
                .bind(at.unix_millis())
                .execute(&mut *tx)
                .await?;
            let detail = serde_json::json!({
                "customerId": customer,
                "qualification": qualification.as_str(),
                "attempt": attempt,
                "channel": channel_str(submission.channel()),
            })
            .to_string();
            db::query(audit::INSERT_SQL)
                .bind(at.unix_millis())
                .bind(&partner)
                .bind(new.actor)
                .bind("vetting.submitted")
                .bind(new.id.to_string())
                .bind(&detail)
                .execute(&mut *tx)
                .await?;
            if let Some(record) = idempotency {
                db::query(idempotency::INSERT_SQL)
                    .bind(&partner)
                    .bind(&record.request_id)
                    .bind(&record.fingerprint)
                    .bind(i64::from(record.status))
                    .bind(&record.body)
                    .bind(at.unix_millis())
                    .execute(&mut *tx)
                    .await?;
            }
            // Everything the record holds is known here: no need to read it back.
            let record = VettingRecord {
                id: new.id,
                partner_tenant_id: new.partner_tenant_id,
                customer_id: new.customer_id,
                customer_domain,
                customer_company_name,
                qualification,
                education_segment: submission.education_segment(),
                website: submission.website().map(|w| w.to_string()),
                validation_code: submission.validation_code().map(|c| c.to_string()),
                channel: submission.channel(),
                attempt,
                state: VettingState::InReview,
                created_at: at,
                decided_at: None,
                decided_by: None,
            };
            insert_jobs!(&mut *tx, outbox(&record), at);
            Ok(Written::Fresh(record))
        });
        self.replay_after_conflict(idempotency, outcome).await
    }

    /// The vetting request `id`.
    pub async fn find_vetting_request(
        &self,
        id: VettingRequestId,
    ) -> Result<Option<VettingRecord>, StoreError> {
        const SQL: &str = concat!(vetting_select!(), "WHERE v.id = $1");
        let row: Option<VettingRow> = on_reader!(self, |pool| db::query(SQL)
            .bind(id.to_string())
            .fetch_optional(pool)
            .await?);
        row.map(VettingRecord::try_from).transpose()
    }

    /// Up to `limit` vetting requests matching `filter`, oldest first, after position `after`.
    pub async fn list_vetting_requests(
        &self,
        filter: &VettingFilter,
        after: Option<i64>,
        limit: u32,
    ) -> Result<VettingPage, StoreError> {
        const SQL: &str = concat!(
            vetting_select!(),
            "WHERE ($1 IS NULL OR v.status = $1) AND ($2 IS NULL OR v.customer_id = $2) \
             AND ($3 IS NULL OR v.partner_tenant_id = $3) AND v.seq > $4 ORDER BY v.seq LIMIT $5"
        );
        let mut rows: Vec<VettingRow> = on_reader!(self, |pool| db::query(SQL)
            .bind(filter.status.map(|s| s.as_str()))
            .bind(filter.customer_id.map(|c| c.to_string()))
            .bind(filter.partner_tenant_id.map(|p| p.to_string()))
            .bind(after.unwrap_or(0))
            .bind(i64::from(limit) + 1)
            .fetch_all(pool)
            .await?);
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_after = if more {
            rows.last().map(|row| row.seq)
        } else {
            None
        };
        let requests = rows
            .into_iter()
            .map(VettingRecord::try_from)
            .collect::<Result<_, _>>()?;
        Ok(VettingPage {
            requests,
            next_after,
        })
    }

    /// Decides the vetting request `id`, if it is still in review. Of two reviewers deciding at
    /// once, exactly one succeeds; the other gets [`Conflict::Decision`].
    pub async fn decide_vetting(
        &self,
        id: VettingRequestId,
        verdict: &Verdict,
        reviewer_tenant: TenantId,
        reviewer: &str,
        at: Timestamp,
        outbox: impl FnOnce(&VettingRecord) -> Vec<NewJob> + Send,
    ) -> Result<VettingRecord, StoreError> {
        const DECIDE: &str = "UPDATE vetting_requests SET status = $1, reason = $2, decided_at = $3, decided_by = $4 \
                              WHERE id = $5 AND status = 'InReview' RETURNING customer_id";
        // Bumping the customer's version tells anything caching its qualifications to reload.
        const TOUCH_CUSTOMER: &str =
            "UPDATE customers SET vetting_version = vetting_version + 1 WHERE id = $1";
        const SELECT: &str = concat!(vetting_select!(), "WHERE v.id = $1");

        let reason = verdict.reason().map(|r| r.as_str());
        let detail = serde_json::json!({ "vettingStatus": verdict.status().as_str(), "vettingReason": reason }).to_string();
        in_transaction!(self, |tx| {
            let decided: Option<String> = db::query(DECIDE)
                .bind(verdict.status().as_str())
                .bind(reason)
                .bind(at.unix_millis())
                .bind(reviewer)
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
            let current: Option<VettingRow> = db::query(SELECT)
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
            let current = VettingRecord::try_from(current.ok_or(StoreError::NotFound)?)?;
            let Some(customer) = decided else {
                // Not in review any more: let the state machine say why.
                let refused = current.state.decide(verdict.clone()).map(|_| ()).err();
                return Err(match refused {
                    Some(refused) => Conflict::from(refused).into(),
                    None => {
                        StoreError::internal("deciding", "a request in review refused the decision")
                    }
                });
            };
            db::query(TOUCH_CUSTOMER)
                .bind(&customer)
                .execute(&mut *tx)
                .await?;
            db::query(audit::INSERT_SQL)
                .bind(at.unix_millis())
                .bind(reviewer_tenant.to_string())
                .bind(reviewer)
                .bind("vetting.decided")
                .bind(id.to_string())
                .bind(&detail)
                .execute(&mut *tx)
                .await?;
            insert_jobs!(&mut *tx, outbox(&current), at);
            Ok(current)
        })
    }
}

/// A vetting request as it stood in another system (or a benchmark's seed), imported as is.
#[derive(Debug, Clone)]
pub struct ImportedVetting {
    /// Its id.
    pub id: VettingRequestId,
    /// The customer (already imported).
    pub customer_id: CustomerId,
    /// The partner.
    pub partner_tenant_id: TenantId,
    /// The qualification.
    pub qualification: Qualification,
    /// Education's segment.
    pub education_segment: Option<qualify_types::EducationSegment>,
    /// Its attempt number.
    pub attempt: u32,
    /// Where it stands.
    pub state: VettingState,
    /// When it was submitted.
    pub created_at: Timestamp,
    /// When and by whom it was decided, if it was.
    pub decided: Option<(Timestamp, String)>,
}

impl Store {
    /// Imports vetting requests as they stand, in transactions of up to 10,000; the schema's
    /// rules (one held request per customer and qualification, attempts unique) still apply.
    pub async fn import_vetting_requests(
        &self,
        requests: &[ImportedVetting],
    ) -> Result<(), StoreError> {
        const INSERT: &str = "INSERT INTO vetting_requests (id, customer_id, partner_tenant_id, qualification, \
                              education_segment, channel, attempt, status, reason, created_at, decided_at, decided_by) \
                              VALUES ($1, $2, $3, $4, $5, 'api', $6, $7, $8, $9, $10, $11)";
        for chunk in requests.chunks(10_000) {
            in_transaction!(self, |tx| {
                for request in chunk {
                    let reason = match &request.state {
                        VettingState::Denied(reason) => Some(reason.as_str()),
                        VettingState::InReview | VettingState::Approved => None,
                    };
                    db::query(INSERT)
                        .bind(request.id.to_string())
                        .bind(request.customer_id.to_string())
                        .bind(request.partner_tenant_id.to_string())
                        .bind(request.qualification.as_str())
                        .bind(request.education_segment.map(|s| s.as_str()))
                        .bind(i64::from(request.attempt))
                        .bind(request.state.status().as_str())
                        .bind(reason)
                        .bind(request.created_at.unix_millis())
                        .bind(request.decided.as_ref().map(|(at, _)| at.unix_millis()))
                        .bind(request.decided.as_ref().map(|(_, by)| by.as_str()))
                        .execute(&mut *tx)
                        .await?;
                }
                Ok(())
            })?;
        }
        Ok(())
    }
}

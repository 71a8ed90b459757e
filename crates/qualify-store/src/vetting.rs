//! Vetting requests: their statements. The customer's history, inserting a request, deciding
//! one (only while it is in review: the database settles which of two decisions wins), and the
//! reviewers' queue. Whether a submission or a decision is allowed is not decided here.

use qualify_domain::{Submission, Verdict, VettingState};
use qualify_types::{
    CustomerId, Qualification, TenantId, Timestamp, VettingRequestId, VettingStatus,
};

use uuid::Uuid;

use crate::admin;
use crate::db::{self, Executor};
use crate::history::{HistoryEntry, HistoryRow, caller_and_history_rows, history, history_query};
use crate::read_cache::{self, Lookup};
use crate::records::{VettingRow, channel_str};
use crate::{
    Pool, PrincipalStatus, Store, StoreError, Tx, VettingRecord, on_reader, postgres_gets,
};

/// A vetting request to insert, in review.
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
    /// Which request of this customer and qualification it is, from 1.
    pub attempt: u32,
    /// The vetting rule that matched it, if one did.
    pub matched_rule: Option<&'a str>,
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
    /// Only those decided by this reviewer or rule (`rule:<name>`); a value ending in `*`
    /// matches every decider it starts (`rule:*`: decided by any rule).
    pub decided_by: Option<String>,
    /// Only those of this qualification.
    pub qualification: Option<Qualification>,
    /// Only customers whose domain contains this (domains are stored lower case).
    pub domain_contains: Option<String>,
}

/// A page of vetting requests, oldest first.
#[derive(Debug, Clone)]
pub struct VettingPage {
    /// The requests of this page.
    pub requests: Vec<VettingRecord>,
    /// Where the next page starts, if there is one.
    pub next_after: Option<i64>,
}

macro_rules! vetting_select {
    () => {
        "SELECT v.seq, v.id, v.partner_tenant_id, v.customer_id, c.domain AS customer_domain, \
         c.company_name AS customer_company_name, v.qualification, v.education_segment, v.website, \
         v.validation_code, v.channel, v.attempt, v.status, v.reason, v.created_at, v.decided_at, \
         v.decided_by, v.matched_rule FROM vetting_requests v JOIN customers c ON c.id = v.customer_id "
    };
}

/// SQLite's read for a GET (PostgreSQL's is `postgres_gets.rs`): the caller's status
/// (`admin::status_query`'s columns) beside its customer's history (`HISTORY_SQL`'s), a row per
/// request: no row when the tenant does not exist, one with
/// `customer_found` false when the customer is not the tenant's, one row of NULL history when
/// the customer has no requests yet.
const STATUS_AND_HISTORY_SQL: &str = "SELECT t.id, t.kind, t.name, t.dev, t.disabled_at, \
    a.client_id AS app_found, a.disabled_at AS app_disabled_at, \
    u.role AS user_role, u.disabled_at AS user_disabled_at, \
    CAST(CASE WHEN c.id IS NULL THEN 0 ELSE 1 END AS BIGINT) AS customer_found, \
    v.qualification, v.status, v.reason, v.attempt, v.created_at \
    FROM tenants t \
    LEFT JOIN apps a ON a.client_id = $2 AND a.tenant_id = t.id \
    LEFT JOIN users u ON u.id = $3 AND u.tenant_id = t.id \
    LEFT JOIN customers c ON c.id = $4 AND c.partner_tenant_id = t.id \
    LEFT JOIN vetting_requests v ON v.customer_id = c.id \
    WHERE t.id = $1 ORDER BY v.seq";

/// A row of `STATUS_AND_HISTORY_SQL`.
struct StatusHistoryRow {
    status: admin::StatusRow,
    customer_found: bool,
    history: HistoryRow,
}

impl db::FromRow for StatusHistoryRow {
    fn from_row(row: &impl db::Row) -> Result<Self, StoreError> {
        Ok(Self {
            status: admin::StatusRow::from_row_at(row, 0)?,
            customer_found: db::Row::get_expected_at::<i64>(row, 9, "customer_found")? != 0,
            history: HistoryRow::from_row_at(row, 10)?,
        })
    }
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

    /// What a partner's read of its customer's history needs: the status of the token's
    /// tenant, application and user (see [`Store::principal_status`]), and the history (see
    /// [`Store::customer_history`]). On SQLite, from the read cache when it holds both, else in
    /// one statement; on PostgreSQL in one statement shared with the other GETs waiting then,
    /// which reads the requests only when the node does not hold them (`postgres_gets.rs`).
    pub async fn principal_status_and_history(
        &self,
        partner: TenantId,
        app: Option<Uuid>,
        user: Option<Uuid>,
        customer: CustomerId,
    ) -> Result<(PrincipalStatus, Option<Vec<HistoryEntry>>), StoreError> {
        let caller = (partner, app, user);
        let readers = match &self.pool {
            Pool::Sqlite { readers, .. } => readers,
            Pool::Postgres(_, pipeline, gets) => {
                let histories = match &self.read_cache {
                    Some(read_cache::Kept::Postgres(histories)) => Some(&**histories),
                    _ => None,
                };
                return postgres_gets::status_and_history(
                    gets, pipeline, histories, caller, customer,
                )
                .await;
            }
        };
        let cached = self
            .sqlite_cache()
            .and_then(|cache| cache.lookup(caller, customer));
        if let Some(Lookup {
            found: Some(found), ..
        }) = cached
        {
            return Ok(found);
        }
        let rows: Vec<StatusHistoryRow> = db::query(STATUS_AND_HISTORY_SQL)
            .bind(partner.to_string())
            .bind(app.map(|a| a.to_string()))
            .bind(user.map(|u| u.to_string()))
            .bind(customer.to_string())
            .fetch_all(&**readers)
            .await?;
        let (caller_row, history_rows) = caller_and_history_rows(
            rows.into_iter()
                .map(|row| ((row.status, row.customer_found), row.history)),
        );
        let (status, history) = match caller_row {
            // No such tenant: no status, and so no customer of its.
            None => (admin::principal_status(None)?, None),
            Some((status, false)) => (admin::principal_status(Some(status))?, None),
            Some((status, true)) => (
                admin::principal_status(Some(status))?,
                history(history_rows)?,
            ),
        };
        if let (Some(cache), Some(lookup)) = (self.sqlite_cache(), cached) {
            cache.fill_status(&lookup, caller, &status);
            if let Some(history) = &history {
                cache.fill_history(&lookup, partner, customer, history);
            }
        }
        Ok((status, history))
    }

    /// The vetting request `id`.
    pub async fn find_vetting_request(
        &self,
        id: VettingRequestId,
    ) -> Result<Option<VettingRecord>, StoreError> {
        on_reader!(self, |pool| find_vetting_request(pool, id).await)
    }

    /// Every vetting request of `customer` (any partner's reading is the caller's business),
    /// oldest first, at most `limit`: one range of the customer index.
    pub async fn customer_requests(
        &self,
        customer: CustomerId,
        limit: u32,
    ) -> Result<Vec<VettingRecord>, StoreError> {
        const SQL: &str = concat!(
            vetting_select!(),
            "WHERE v.customer_id = $1 ORDER BY v.seq LIMIT $2"
        );
        let rows: Vec<VettingRow> = on_reader!(self, |pool| db::query(SQL)
            .bind(customer.to_string())
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?);
        rows.into_iter().map(VettingRecord::try_from).collect()
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
             AND ($3 IS NULL OR v.partner_tenant_id = $3) \
             AND ($6 IS NULL OR v.decided_by = $6) \
             AND ($7 IS NULL OR substr(v.decided_by, 1, length($7)) = $7) \
             AND ($8 IS NULL OR v.qualification = $8) \
             AND ($9 IS NULL OR c.domain LIKE $9 ESCAPE '\\') \
             AND v.seq > $4 ORDER BY v.seq LIMIT $5"
        );
        let (exact, prefix) = match filter.decided_by.as_deref() {
            Some(by) => match by.strip_suffix('*') {
                Some(prefix) => (None, Some(prefix)),
                None => (Some(by), None),
            },
            None => (None, None),
        };
        // LIKE's own characters in what was typed match only themselves.
        let domain_pattern = filter.domain_contains.as_deref().map(|text| {
            let escaped = text
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        });
        let mut rows: Vec<VettingRow> = on_reader!(self, |pool| db::query(SQL)
            .bind(filter.status.map(|s| s.as_str()))
            .bind(filter.customer_id.map(|c| c.to_string()))
            .bind(filter.partner_tenant_id.map(|p| p.to_string()))
            .bind(after.unwrap_or(0))
            .bind(i64::from(limit) + 1)
            .bind(exact)
            .bind(prefix)
            .bind(filter.qualification.map(Qualification::as_str))
            .bind(domain_pattern.as_deref())
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
}

/// The vetting request `id`, read on `on`.
async fn find_vetting_request(
    on: impl Executor,
    id: VettingRequestId,
) -> Result<Option<VettingRecord>, StoreError> {
    const SQL: &str = concat!(vetting_select!(), "WHERE v.id = $1");
    let row: Option<VettingRow> = db::query(SQL)
        .bind(id.to_string())
        .fetch_optional(on)
        .await?;
    row.map(VettingRecord::try_from).transpose()
}

impl Tx {
    /// The partner's customer's vetting history, oldest first, as this transaction sees it;
    /// `None` when the customer does not exist or is another partner's.
    pub async fn customer_history(
        &mut self,
        partner: TenantId,
        customer: CustomerId,
    ) -> Result<Option<Vec<HistoryEntry>>, StoreError> {
        history(history_query(partner, customer).fetch_all(self).await?)
    }

    /// Inserts a vetting request, in review, submitted at `at`.
    pub async fn insert_vetting_request(
        &mut self,
        new: &NewVettingRequest<'_>,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        const INSERT: &str = "INSERT INTO vetting_requests (id, customer_id, partner_tenant_id, qualification, \
                              education_segment, website, validation_code, channel, attempt, status, created_at, \
                              matched_rule) \
                              VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'InReview', $10, $11)";
        let submission = new.submission;
        db::query(INSERT)
            .bind(new.id.to_string())
            .bind(new.customer_id.to_string())
            .bind(new.partner_tenant_id.to_string())
            .bind(submission.qualification().as_str())
            .bind(submission.education_segment().map(|s| s.as_str()))
            .bind(submission.website().map(|w| w.as_str()))
            .bind(submission.validation_code().map(|c| c.as_str()))
            .bind(channel_str(submission.channel()))
            .bind(i64::from(new.attempt))
            .bind(at.unix_millis())
            .bind(new.matched_rule)
            .execute(self)
            .await?;
        Ok(())
    }

    /// Records `verdict` on the vetting request `id`, by `decided_by` at `at`, if the request is
    /// still in review; false when it is not (or does not exist). Of two transactions deciding
    /// one request at once, exactly one records its verdict.
    pub async fn decide_vetting_request(
        &mut self,
        id: VettingRequestId,
        verdict: &Verdict,
        decided_by: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        const DECIDE: &str = "UPDATE vetting_requests SET status = $1, reason = $2, decided_at = $3, decided_by = $4 \
                              WHERE id = $5 AND status = 'InReview'";
        let decided = db::query(DECIDE)
            .bind(verdict.status().as_str())
            .bind(verdict.reason().map(|r| r.as_str()))
            .bind(at.unix_millis())
            .bind(decided_by)
            .bind(id.to_string())
            .execute(self)
            .await?;
        // The customer's version, which PostgreSQL nodes' read caches check, is bumped by the
        // database itself (migration 0015).
        Ok(decided.rows_affected() == 1)
    }

    /// The vetting request `id`, as this transaction sees it.
    pub async fn find_vetting_request(
        &mut self,
        id: VettingRequestId,
    ) -> Result<Option<VettingRecord>, StoreError> {
        find_vetting_request(self, id).await
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
            self.transaction(async |tx: &mut Tx| {
                for request in chunk {
                    let reason = request.state.reason().map(|r| r.as_str());
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
                Ok::<_, StoreError>(())
            })
            .await?;
        }
        self.analyze_after_import("ANALYZE vetting_requests").await
    }
}

//! A customer's vetting history as a partner's GET reads it: the statement, its rows, and the
//! entries they make (both backends' GET reads end here: `vetting.rs` on SQLite,
//! `postgres_gets.rs` on PostgreSQL).

use qualify_domain::VettingState;
use qualify_types::{CustomerId, Qualification, TenantId, Timestamp};

use crate::StoreError;
use crate::db;
use crate::records::{parse, timestamp, vetting_state};

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
    /// A row of `HISTORY_SQL` (and of the GET reads that end in its columns).
    pub(crate) struct HistoryRow {
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

/// The entries `rows` make, in order: `None` when there are no rows (the customer is not the
/// partner's), none when the only row is the LEFT JOIN's NULLs (no requests yet).
pub(crate) fn history(rows: Vec<HistoryRow>) -> Result<Option<Vec<HistoryEntry>>, StoreError> {
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

/// The statement reading the partner's customer's history (see `HISTORY_SQL`).
pub(crate) fn history_query(partner: TenantId, customer: CustomerId) -> db::Query {
    db::query(HISTORY_SQL)
        .bind(customer.to_string())
        .bind(partner.to_string())
}

/// A GET read's rows split into the caller's part, which every row repeats (so the first row's;
/// `None` when there is no row), and each row's history part, in order.
pub(crate) fn caller_and_history_rows<C>(
    rows: impl ExactSizeIterator<Item = (C, HistoryRow)>,
) -> (Option<C>, Vec<HistoryRow>) {
    let mut caller = None;
    let mut history_rows = Vec::with_capacity(rows.len());
    for (row_caller, history) in rows {
        caller.get_or_insert(row_caller);
        history_rows.push(history);
    }
    (caller, history_rows)
}

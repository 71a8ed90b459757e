//! The audit trail as the operator reads it: every record (the operator's own too), in Partner
//! Center's shape, each naming who acted.

use qualify_store::AuditQuery;
use qualify_types::{AuditRecord, CustomerId, TenantId};

use super::{Admin, AdminError};
use crate::audit::{self, DEFAULT_WINDOW_DAYS, DateParam, days_before};

/// Which records: a partner's or everyone's, of a customer or all, in a period.
#[derive(Debug, Clone, Default)]
pub struct TrailSelection<'a> {
    /// Only this partner's.
    pub partner: Option<TenantId>,
    /// Only this customer's.
    pub customer: Option<CustomerId>,
    /// From this date or moment (as `GET /v1/auditrecords` takes it) [default: 30 days ago].
    pub since: Option<&'a str>,
    /// Until this one, inclusive [default: now].
    pub until: Option<&'a str>,
    /// Newest first (what an operator looking for today's actions wants), or oldest first.
    pub newest_first: bool,
    /// Continue after the record at this position in the listing's order (a page's `next_after`).
    pub after: Option<i64>,
}

/// A page of the trail, and where the next one starts.
#[derive(Debug, Clone)]
pub struct TrailPage {
    /// The records, in the selection's order.
    pub records: Vec<AuditRecord>,
    /// The position to continue after, when more records follow.
    pub next_after: Option<i64>,
}

impl Admin {
    /// Up to `limit` of the records `selection` selects, in its order.
    pub async fn audit_records(
        &self,
        selection: &TrailSelection<'_>,
        limit: u32,
    ) -> Result<TrailPage, AdminError> {
        let invalid = |e: audit::InvalidDate| AdminError::Invalid(e.to_string());
        let now = self.now();
        let from = match selection.since {
            Some(raw) => DateParam::parse("since", raw).map_err(invalid)?.as_start(),
            None => days_before(now, DEFAULT_WINDOW_DAYS),
        };
        let until = match selection.until {
            Some(raw) => DateParam::parse("until", raw).map_err(invalid)?.as_end(),
            None => now.plus_millis(1),
        };
        let query = AuditQuery {
            partner: selection.partner,
            from,
            until,
            customer: selection.customer,
            company_name_contains: None,
            resource_type: None,
            newest_first: selection.newest_first,
        };
        let page = self
            .store
            .audit_records(&query, selection.after, limit)
            .await?;
        Ok(TrailPage {
            records: page.records.iter().map(audit::operator_view).collect(),
            next_after: page.next_after,
        })
    }
}

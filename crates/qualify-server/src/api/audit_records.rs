//! Audit records in Partner Center's shape: `GET /v1/auditrecords`, a partner's own (by period,
//! filter and page); `GET /v1/auditrecords/{id}`, one of them (where an event's `AuditUri`
//! points); and `GET /review/v1/auditrecords`, everyone's, for the operator's reviewers.

use axum::extract::{MatchedPath, State};
use axum::http::HeaderMap;
use qualify_app::audit::{
    DEFAULT_WINDOW_DAYS, DateParam, RETENTION_DAYS, days_after, days_before, dto, record_id,
};
use qualify_store::AuditQuery;
use qualify_types::{AuditRecord, Collection, TenantId, Timestamp, codes};
use serde::Deserialize;

use super::audit_query::AuditFilter;
use crate::error::ApiError;
use crate::http::auth::{Partner, Reviewer};
use crate::http::pagination;
use crate::http::{PathText, QueryParams};
use crate::state::AppState;
use crate::wire::Wire;

/// The largest page, and the page when none is asked for (Partner Center's `size=500`).
const PAGE_SIZE: u32 = 500;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListQuery {
    start_date: Option<String>,
    end_date: Option<String>,
    filter: Option<String>,
    size: Option<String>,
    continuation_token: Option<String>,
    /// The operator's view only: one partner's records.
    partner_id: Option<String>,
}

/// Who reads: a partner its own records (within Partner Center's 90 days), or the operator.
#[derive(Debug, Clone, Copy)]
enum Reader {
    Partner(TenantId),
    Operator,
}

/// The period `query` asks for, by `now`: from `startDate` (default 30 days ago) to `endDate`
/// (default: 30 days after the start, or now, whichever is earlier).
fn period(
    query: &ListQuery,
    now: Timestamp,
    reader: Reader,
) -> Result<(Timestamp, Timestamp), ApiError> {
    let start = match query.start_date.as_deref() {
        Some(raw) => DateParam::parse("startDate", raw)?.as_start(),
        None => days_before(now, DEFAULT_WINDOW_DAYS),
    };
    if matches!(reader, Reader::Partner(_)) && start < days_before(now, RETENTION_DAYS) {
        return Err(ApiError::InvalidProperty(format!(
            "The parameter 'startDate' may be at most {RETENTION_DAYS} days ago, as in Partner Center."
        )));
    }
    let end = match query.end_date.as_deref() {
        Some(raw) => {
            let end = DateParam::parse("endDate", raw)?.as_end();
            if end <= start {
                return Err(ApiError::InvalidProperty(
                    "The parameter 'endDate' must be after 'startDate'.".into(),
                ));
            }
            end
        }
        // A start still to come has nothing yet: an empty period, not an error.
        None => days_after(start, DEFAULT_WINDOW_DAYS)
            .min(now.plus_millis(1))
            .max(start),
    };
    Ok((start, end))
}

/// The store's query for `reader`'s records that `query` selects.
fn store_query(query: &ListQuery, reader: Reader, now: Timestamp) -> Result<AuditQuery, ApiError> {
    let (from, until) = period(query, now, reader)?;
    let partner = match reader {
        Reader::Partner(partner) => Some(partner),
        Reader::Operator => query
            .partner_id
            .as_deref()
            .map(|raw| {
                raw.trim().parse().map_err(|_| ApiError::MalformedId {
                    what: "partnerId",
                    value: raw.chars().take(100).collect(),
                })
            })
            .transpose()?,
    };
    let mut selected = AuditQuery {
        partner,
        from,
        until,
        customer: None,
        company_name_contains: None,
        resource_type: None,
        // Partner Center's order.
        newest_first: false,
    };
    match query
        .filter
        .as_deref()
        .map(AuditFilter::parse)
        .transpose()?
    {
        Some(AuditFilter::CompanyName(name)) => selected.company_name_contains = Some(name),
        Some(AuditFilter::CustomerId(customer)) => selected.customer = Some(customer),
        Some(AuditFilter::ResourceType(kind)) => selected.resource_type = Some(kind),
        None => {}
    }
    Ok(selected)
}

/// The page's `self` link: the query, as received.
fn self_uri(base: &str, query: &ListQuery, size: u32) -> String {
    let mut uri = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("startDate", &query.start_date),
        ("endDate", &query.end_date),
        ("filter", &query.filter),
        ("partnerId", &query.partner_id),
    ] {
        if let Some(value) = value {
            uri.append_pair(name, value);
        }
    }
    uri.append_pair("size", &size.to_string());
    format!("{base}?{}", uri.finish())
}

/// The page of `reader`'s records `query` asks for.
async fn page(
    state: &AppState,
    reader: Reader,
    query: &ListQuery,
    headers: &HeaderMap,
    base: &str,
) -> Result<Collection<AuditRecord>, ApiError> {
    let now = match reader {
        Reader::Partner(partner) => state.app.partner_now(partner).await?,
        Reader::Operator => state.app.clock().now(),
    };
    let selected = store_query(query, reader, now)?;
    let size = match query.size.as_deref() {
        None => PAGE_SIZE,
        Some(raw) => pagination::page_size(Some(raw))?.min(PAGE_SIZE),
    };
    let after = pagination::decode(headers, query.continuation_token.as_deref())?;
    let page = state
        .app
        .store()
        .audit_records(&selected, after, size)
        .await?;
    let operator = matches!(reader, Reader::Operator);
    let items = page.records.iter().map(|r| dto(r, operator)).collect();
    Ok(Collection::page(
        items,
        self_uri(base, query, size),
        page.next_after.map(pagination::encode),
    ))
}

/// List the partner's audit records.
///
/// The caller's records, oldest first.
#[utoipa::path(get, path = "/v1/auditrecords", tag = "partner-center", operation_id = "getAuditRecords",
    params(
        ("startDate" = Option<String>, Query, description = "From this date (yyyy-mm-dd, RFC 3339, or MM/dd/yyyy HH:mm:ss), at most 90 days ago; default 30 days ago"),
        ("endDate" = Option<String>, Query, description = "Until this date, inclusive (a date: to its end); default 30 days after startDate or now, whichever is earlier"),
        ("filter" = Option<String>, Query, description = r#"{"Field":"CompanyName","Value":"…","Operator":"substring"}, or Field CustomerId or ResourceType with Operator equals"#),
        ("size" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size (default 500)"),
        ("continuationToken" = Option<String>, Query, description = "The next page's token (or the MS-ContinuationToken header)"),
        ("MS-ContinuationToken" = Option<String>, Header, description = "The next page's token, from links.next")),
    responses((status = 200, description = "A page of the caller's audit records, oldest first", body = Collection<AuditRecord>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    route: MatchedPath,
    Partner(principal): Partner,
    QueryParams(query): QueryParams<ListQuery>,
    headers: HeaderMap,
) -> Result<Wire<Collection<AuditRecord>>, ApiError> {
    if query.partner_id.is_some() {
        return Err(ApiError::InvalidProperty(
            "The parameter 'partnerId' is the operator's (GET /review/v1/auditrecords); a partner reads its own records.".into(),
        ));
    }
    let reader = Reader::Partner(principal.tenant_id);
    page(&state, reader, &query, &headers, route.as_str())
        .await
        .map(Wire::ok)
}

/// Get one of the partner's audit records.
///
/// One of the caller's records.
#[utoipa::path(get, path = "/v1/auditrecords/{id}", tag = "partner-center", operation_id = "getAuditRecord",
    params(("id" = String, Path, description = "The record's id, as listed (and as an event's AuditUri ends)")),
    responses(
        (status = 200, description = "The record", body = AuditRecord),
        (status = 404, description = "No such record, or not the caller's (610015)", body = qualify_types::ErrorBody)))]
pub(crate) async fn show(
    State(state): State<AppState>,
    Partner(principal): Partner,
    PathText(id): PathText,
) -> Result<Wire<AuditRecord>, ApiError> {
    let not_found = || ApiError::NotFound {
        code: codes::AUDIT_RECORD_NOT_FOUND,
        description: format!(
            "The audit record '{}' was not found.",
            id.chars().take(200).collect::<String>()
        ),
    };
    let Some(seq) = id.rsplit('_').next().and_then(|s| s.parse::<i64>().ok()) else {
        return Err(not_found());
    };
    let record = state
        .app
        .store()
        .audit_record(seq)
        .await?
        .ok_or_else(not_found)?;
    // The whole id must match, and the record be the caller's: a guessed position is not enough.
    let own = record.partner.as_deref() == Some(principal.tenant_id.to_string().as_str());
    if !own || record_id(&record) != id {
        return Err(not_found());
    }
    Ok(Wire::ok(dto(&record, false)))
}

/// List every audit record (reviewers).
///
/// Every record (the operator's own too), oldest first.
#[utoipa::path(get, path = "/review/v1/auditrecords", tag = "review", operation_id = "listAuditRecords",
    params(
        ("startDate" = Option<String>, Query, description = "From this date; default 30 days ago (no 90-day limit here)"),
        ("endDate" = Option<String>, Query, description = "Until this date, inclusive; default 30 days after startDate or now"),
        ("filter" = Option<String>, Query, description = "As for GET /v1/auditrecords"),
        ("partnerId" = Option<uuid::Uuid>, Query, description = "Only this partner's records"),
        ("size" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size (default 500)"),
        ("continuationToken" = Option<String>, Query, description = "The next page's token (or the MS-ContinuationToken header)"),
        ("MS-ContinuationToken" = Option<String>, Header, description = "The next page's token, from links.next")),
    responses((status = 200, description = "A page of audit records, oldest first, each naming who acted", body = Collection<AuditRecord>)))]
pub(crate) async fn review_list(
    State(state): State<AppState>,
    route: MatchedPath,
    _reviewer: Reviewer,
    QueryParams(query): QueryParams<ListQuery>,
    headers: HeaderMap,
) -> Result<Wire<Collection<AuditRecord>>, ApiError> {
    page(&state, Reader::Operator, &query, &headers, route.as_str())
        .await
        .map(Wire::ok)
}

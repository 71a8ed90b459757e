//! `/review/v1/requests`: the operator's reviewers list vetting requests, read one, and decide.

use axum::extract::{MatchedPath, State};
use axum::http::HeaderMap;
use qualify_domain::Verdict;
use qualify_store::{VettingFilter, VettingRecord};
use qualify_types::{
    Collection, CustomerId, TenantId, VettingRequest, VettingRequestId, VettingStatus,
};
use serde::Deserialize;

use crate::error::ApiError;
use crate::http::auth::Reviewer;
use crate::http::pagination;
use crate::http::{IdPath, LenientJson, QueryParams};
use crate::state::AppState;
use crate::wire::Wire;

/// A stored vetting request as reviewers see it.
pub(crate) fn vetting_request_dto(record: VettingRecord) -> VettingRequest {
    let reason = record.state.reason().map(ToString::to_string);
    VettingRequest {
        id: record.id,
        partner_tenant_id: record.partner_tenant_id,
        customer_id: record.customer_id,
        customer_domain: record.customer_domain,
        customer_company_name: record.customer_company_name,
        qualification: record.qualification,
        education_segment: record.education_segment,
        website: record.website,
        validation_code: record.validation_code,
        attempt: record.attempt,
        channel: record.channel,
        vetting_status: record.state.status(),
        created_at: record.created_at,
        vetting_reason: reason,
        decided_at: record.decided_at,
        decided_by: record.decided_by,
        matched_rule: record.matched_rule,
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListQuery {
    status: Option<String>,
    customer_id: Option<String>,
    partner_tenant_id: Option<String>,
    decided_by: Option<String>,
    size: Option<String>,
    continuation_token: Option<String>,
}

fn query_id<T: std::str::FromStr>(
    what: &'static str,
    raw: Option<String>,
) -> Result<Option<T>, ApiError> {
    raw.map(|raw| {
        raw.parse()
            .map_err(|_| ApiError::MalformedId { what, value: raw })
    })
    .transpose()
}

/// The `decidedBy` filter: a reviewer's name or `rule:<name>`, or a prefix ending in `*`.
fn decided_by(raw: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 256 || trimmed.chars().any(char::is_control)
    {
        return Err(ApiError::InvalidProperty(
            "The parameter 'decidedBy' must be 1 to 256 printable characters: a reviewer's user name, rule:<name>, or a prefix ending in * (rule:*).".into(),
        ));
    }
    Ok(Some(trimmed.to_owned()))
}

/// List vetting requests (reviewers).
///
/// Oldest first, filtered by `status`, `customerId`,
/// `partnerTenantId`, `decidedBy`; paged by `MS-ContinuationToken` (or `?continuationToken=`).
#[utoipa::path(get, path = "/review/v1/requests", tag = "review", operation_id = "listVettingRequests",
    params(
        ("status" = Option<VettingStatus>, Query, description = "Only those in this state"),
        ("customerId" = Option<uuid::Uuid>, Query, description = "Only this customer's"),
        ("partnerTenantId" = Option<uuid::Uuid>, Query, description = "Only this partner's"),
        ("decidedBy" = Option<String>, Query, description = "Only those decided by this reviewer or rule (rule:<name>); a trailing * matches any decider it starts (rule:* for every rule)"),
        ("size" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size (default 100)"),
        ("continuationToken" = Option<String>, Query, description = "The next page's token (or the MS-ContinuationToken header)"),
        ("MS-ContinuationToken" = Option<String>, Header, description = "The next page's token, from links.next")),
    responses((status = 200, description = "A page of vetting requests, oldest first", body = Collection<VettingRequest>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    route: MatchedPath,
    _reviewer: Reviewer,
    QueryParams(query): QueryParams<ListQuery>,
    headers: HeaderMap,
) -> Result<Wire<Collection<VettingRequest>>, ApiError> {
    let filter = VettingFilter {
        status: query
            .status
            .as_deref()
            .map(str::parse::<VettingStatus>)
            .transpose()?,
        customer_id: query_id::<CustomerId>("customerId", query.customer_id)?,
        partner_tenant_id: query_id::<TenantId>("partnerTenantId", query.partner_tenant_id)?,
        decided_by: decided_by(query.decided_by)?,
        ..VettingFilter::default()
    };
    let size = pagination::page_size(query.size.as_deref())?;
    let after = pagination::decode(&headers, query.continuation_token.as_deref())?;
    let page = state
        .app
        .store()
        .list_vetting_requests(&filter, after, size)
        .await?;
    let mut uri = format!("{}?size={size}", route.as_str());
    if let Some(status) = filter.status {
        uri.push_str(&format!("&status={status}"));
    }
    if let Some(customer) = filter.customer_id {
        uri.push_str(&format!("&customerId={customer}"));
    }
    if let Some(partner) = filter.partner_tenant_id {
        uri.push_str(&format!("&partnerTenantId={partner}"));
    }
    if let Some(decider) = &filter.decided_by {
        let encoded: String = url::form_urlencoded::byte_serialize(decider.as_bytes()).collect();
        uri.push_str(&format!("&decidedBy={encoded}"));
    }
    let items = page.requests.into_iter().map(vetting_request_dto).collect();
    Ok(Wire::ok(Collection::page(
        items,
        uri,
        page.next_after.map(pagination::encode),
    )))
}

/// Get a vetting request (reviewers).
#[utoipa::path(get, path = "/review/v1/requests/{id}", tag = "review", operation_id = "getVettingRequest",
    params(("id" = uuid::Uuid, Path, description = "The vetting request's id")),
    responses(
        (status = 200, description = "The vetting request", body = VettingRequest),
        (status = 404, description = "No such vetting request (610013)", body = qualify_types::ErrorBody)))]
pub(crate) async fn show(
    State(state): State<AppState>,
    _reviewer: Reviewer,
    IdPath(id): IdPath<VettingRequestId>,
) -> Result<Wire<VettingRequest>, ApiError> {
    let record = state
        .app
        .store()
        .find_vetting_request(id)
        .await?
        .ok_or(ApiError::VettingRequestNotFound(id))?;
    Ok(Wire::ok(vetting_request_dto(record)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DecisionInput {
    vetting_status: Option<String>,
    vetting_reason: Option<String>,
}

/// Approve or deny a vetting request (reviewers).
///
/// `Approved`, or `Denied` with a reason. Deciding a
/// request that is no longer in review is a 409.
#[utoipa::path(post, path = "/review/v1/requests/{id}/decision", tag = "review", operation_id = "decideVettingRequest",
    params(("id" = uuid::Uuid, Path, description = "The vetting request's id")),
    request_body = qualify_types::Decision,
    responses(
        (status = 200, description = "The decided request", body = VettingRequest),
        (status = 404, description = "No such vetting request (610013)", body = qualify_types::ErrorBody),
        (status = 409, description = "Already decided (610006)", body = qualify_types::ErrorBody)))]
pub(crate) async fn decide(
    State(state): State<AppState>,
    reviewer: Reviewer,
    IdPath(id): IdPath<VettingRequestId>,
    LenientJson(input): LenientJson<DecisionInput>,
) -> Result<Wire<VettingRequest>, ApiError> {
    let status = input
        .vetting_status
        .as_deref()
        .ok_or_else(|| ApiError::missing("vettingStatus"))?;
    let verdict = Verdict::from_request(status.parse()?, input.vetting_reason.as_deref())?;
    let decided = state
        .app
        .decide_as_reviewer(
            (reviewer.principal.tenant_id, &reviewer.username),
            id,
            &verdict,
        )
        .await?;
    Ok(Wire::ok(vetting_request_dto(decided)))
}

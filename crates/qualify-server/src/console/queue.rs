//! `GET /console`: the queue, oldest first, one status at a time (in review by default), with how
//! many requests each status holds, filters by partner, qualification and customer domain, and
//! paging. The status is `?status=`, as in the reviewer API and the CLI; `?state=`, the name
//! earlier versions used, keeps working.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use qualify_store::VettingFilter;
use qualify_types::{Qualification, TenantId, VettingStatus};
use serde::Deserialize;

use super::decided::Decided;
use super::pages::{self, Chrome, QueuePage, Row, StateCount};
use super::partners;
use super::session::SignedIn;
use crate::error::ApiError;
use crate::http::pagination;
use crate::state::AppState;

/// Requests on a page of the queue.
const PAGE_SIZE: u32 = 50;

/// The queue's query.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct QueueQuery {
    status: Option<String>,
    /// The earlier name of `status`, for links and bookmarks made with it.
    state: Option<String>,
    partner: Option<String>,
    qualification: Option<String>,
    domain: Option<String>,
    after: Option<String>,
    /// A request just decided on this console, confirmed at the top of the page.
    decided: Option<String>,
}

/// `GET /console`.
pub(crate) async fn show(
    State(state): State<AppState>,
    reviewer: SignedIn,
    Query(query): Query<QueueQuery>,
) -> Result<Response, ApiError> {
    let status = query
        .status
        .as_deref()
        .or(query.state.as_deref())
        .and_then(|name| name.trim().parse::<VettingStatus>().ok())
        .unwrap_or(VettingStatus::InReview);
    let partner_text = query.partner.as_deref().map(str::trim).unwrap_or_default();
    let partner = (!partner_text.is_empty())
        .then(|| partner_text.parse::<TenantId>())
        .transpose();
    let qualification = query
        .qualification
        .as_deref()
        .and_then(|name| name.trim().parse::<Qualification>().ok());
    let domain = query
        .domain
        .as_deref()
        .map(str::trim)
        .filter(|domain| !domain.is_empty());
    // The filters (all but the status), as every link of the page carries them on.
    let mut filters = String::new();
    for (name, value) in [
        ("partner", Some(partner_text)),
        ("qualification", qualification.map(Qualification::as_str)),
        ("domain", domain),
    ] {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
            filters.push_str(&format!("&{name}={encoded}"));
        }
    }
    let after = query
        .after
        .as_deref()
        .map(pagination::position)
        .transpose()
        .ok()
        .flatten();
    let counts = state.app.store().vetting_request_counts().await?;
    let states = VettingStatus::ALL
        .iter()
        .map(|s| StateCount {
            name: s.as_str(),
            count: counts
                .iter()
                .find(|(name, _)| name == s.as_str())
                .map_or(0, |(_, count)| *count),
            current: *s == status,
        })
        .collect();
    let chrome = Chrome {
        reviewer: &reviewer.username,
        csrf_token: &reviewer.csrf_token,
        dev: state.test_control.is_some(),
    };
    let (rows, next, problem) = match partner {
        Err(_) => (
            Vec::new(),
            None,
            Some("The partner tenant id is not a GUID."),
        ),
        Ok(partner) => {
            let filter = VettingFilter {
                status: Some(status),
                partner_tenant_id: partner,
                qualification,
                domain_contains: domain.map(str::to_owned),
                ..VettingFilter::default()
            };
            let page = state
                .app
                .store()
                .list_vetting_requests(&filter, after, PAGE_SIZE)
                .await?;
            let now = state.app.clock().now();
            let next = page.next_after.map(|after| {
                format!(
                    "/console?status={}{filters}&after={}",
                    status.as_str(),
                    pagination::encode(after)
                )
            });
            let partners = partners::names(state.app.store(), partners::of(&page.requests)).await?;
            let rows = page
                .requests
                .iter()
                .map(|r| Row::of(r, now, &partners))
                .collect();
            (rows, next, None)
        }
    };
    let page = QueuePage {
        chrome,
        states,
        state: status.as_str(),
        partner: partner_text,
        qualification: qualification.map_or("", Qualification::as_str),
        qualifications: Qualification::NAMES,
        domain: domain.unwrap_or_default(),
        filters: &filters,
        rows,
        next,
        problem,
        decided: Decided::read(&state, query.decided.as_deref()).await?,
    };
    Ok(pages::render(&page)?.into_response())
}

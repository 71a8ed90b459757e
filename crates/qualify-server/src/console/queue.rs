//! `GET /console`: the queue, oldest first, one state at a time (in review by default), with how
//! many requests each state holds, a partner filter, and paging.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use qualify_store::VettingFilter;
use qualify_types::{TenantId, VettingStatus};
use serde::Deserialize;

use super::pages::{self, Chrome, QueuePage, Row, StateCount};
use super::session::SignedIn;
use crate::api::pagination;
use crate::{ApiError, AppState};

/// Requests on a page of the queue.
const PAGE_SIZE: u32 = 50;

/// The queue's query.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct QueueQuery {
    state: Option<String>,
    partner: Option<String>,
    after: Option<String>,
}

/// `GET /console`.
pub(crate) async fn show(
    State(state): State<AppState>,
    reviewer: SignedIn,
    Query(query): Query<QueueQuery>,
) -> Result<Response, ApiError> {
    let status = query
        .state
        .as_deref()
        .and_then(|name| name.trim().parse::<VettingStatus>().ok())
        .unwrap_or(VettingStatus::InReview);
    let partner_text = query.partner.as_deref().map(str::trim).unwrap_or_default();
    let partner = (!partner_text.is_empty())
        .then(|| partner_text.parse::<TenantId>())
        .transpose();
    let after = query
        .after
        .as_deref()
        .map(pagination::position)
        .transpose()
        .ok()
        .flatten();
    let counts = state.store.vetting_request_counts().await?;
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
    };
    let Ok(partner) = partner else {
        let page = QueuePage {
            chrome,
            states,
            state: status.as_str(),
            partner: partner_text,
            rows: Vec::new(),
            next: None,
            problem: Some("The partner tenant id is not a GUID."),
        };
        return Ok(pages::render(&page)?.into_response());
    };
    let filter = VettingFilter {
        status: Some(status),
        partner_tenant_id: partner,
        ..VettingFilter::default()
    };
    let page = state
        .store
        .list_vetting_requests(&filter, after, PAGE_SIZE)
        .await?;
    let now = state.clock.now();
    let next = page.next_after.map(|after| {
        let mut link = format!(
            "/console?state={}&after={}",
            status.as_str(),
            pagination::encode(after)
        );
        if let Some(partner) = partner {
            link.push_str(&format!("&partner={partner}"));
        }
        link
    });
    let page = QueuePage {
        chrome,
        states,
        state: status.as_str(),
        partner: partner_text,
        rows: page.requests.iter().map(|r| Row::of(r, now)).collect(),
        next,
        problem: None,
    };
    Ok(pages::render(&page)?.into_response())
}

//! A request's page (`GET /console/requests/{id}`): the request, its customer's whole history,
//! the rule that matched; and deciding it (`POST …/decision`) through the same use case as the
//! reviewer API. A request someone decided meanwhile shows who decided it and how.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use qualify_domain::Verdict;
use qualify_store::{VettingFilter, VettingRecord};
use qualify_types::{SubmissionChannel, VettingRequestId, VettingStatus};
use serde::Deserialize;

use super::decided::{self, Decided};
use super::pages::{self, COMMON_REASONS, Chrome, MessagePage, RequestPage, Row};
use super::partners;
use super::session::SignedIn;
use crate::error::ApiError;
use crate::http::IdPath;
use crate::state::AppState;

/// The most of a customer's requests shown on one page.
const HISTORY_LIMIT: u32 = 500;

/// A request page's query.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RequestQuery {
    /// The request decided just before this one was shown, confirmed at the top.
    decided: Option<String>,
}

/// `GET /console/requests/{id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    reviewer: SignedIn,
    IdPath(id): IdPath<VettingRequestId>,
    Query(query): Query<RequestQuery>,
) -> Result<Response, ApiError> {
    let decided = Decided::read(&state, query.decided.as_deref()).await?;
    page(&state, &reviewer, id, (None, decided), StatusCode::OK).await
}

/// The page of request `id`, with what happened to a decision just tried (`notice`) or made
/// (`decided`).
async fn page(
    state: &AppState,
    reviewer: &SignedIn,
    id: VettingRequestId,
    (notice, decided): (Option<String>, Option<Decided>),
    status: StatusCode,
) -> Result<Response, ApiError> {
    let Some(record) = state.app.store().find_vetting_request(id).await? else {
        let page = MessagePage {
            title: "No such request",
            message: "There is no vetting request with this id.",
        };
        return Ok((StatusCode::NOT_FOUND, pages::render(&page)?).into_response());
    };
    let history = state
        .app
        .store()
        .customer_requests(record.customer_id, HISTORY_LIMIT)
        .await?;
    let now = state.app.clock().now();
    let partners = partners::names(
        state.app.store(),
        partners::of(std::iter::once(&record).chain(&history)),
    )
    .await?;
    let page = RequestPage {
        chrome: Chrome {
            reviewer: &reviewer.username,
            csrf_token: &reviewer.csrf_token,
            dev: state.test_control.is_some(),
        },
        request: Row::of(&record, now, &partners),
        customer_id: record.customer_id.to_string(),
        website: record.website.clone().unwrap_or_default(),
        validation_code: record.validation_code.clone().unwrap_or_default(),
        channel: match record.channel {
            SubmissionChannel::Api => "POST …/qualifications",
            SubmissionChannel::Legacy => "the legacy PUT …/qualification",
        },
        decided_at: record
            .decided_at
            .map(|at| at.to_string())
            .unwrap_or_default(),
        matched_rule: record.matched_rule.clone().unwrap_or_default(),
        in_review: record.state.status() == VettingStatus::InReview,
        history: history.iter().map(|r| Row::of(r, now, &partners)).collect(),
        reasons: COMMON_REASONS,
        notice,
        decided,
    };
    Ok((status, pages::render(&page)?).into_response())
}

/// A decision as the request page's forms send it.
#[derive(Debug, Deserialize)]
pub(crate) struct DecisionForm {
    csrf: String,
    decision: String,
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /console/requests/{id}/decision`: decides, then shows the queue's next request with a
/// confirmation of the decision at its top.
pub(crate) async fn decide(
    State(state): State<AppState>,
    reviewer: SignedIn,
    IdPath(id): IdPath<VettingRequestId>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, ApiError> {
    if !reviewer.sent_csrf(&form.csrf) {
        return Ok(pages::refused_form());
    }
    let verdict = form
        .decision
        .parse::<VettingStatus>()
        .map_err(ApiError::from)
        .and_then(|status| {
            let reason = form.reason.as_deref().filter(|r| !r.trim().is_empty());
            Verdict::from_request(status, reason).map_err(ApiError::from)
        });
    let verdict = match verdict {
        Ok(verdict) => verdict,
        Err(error) => {
            let notice = format!("Not decided: {error}");
            let shown = (Some(notice), None);
            return page(&state, &reviewer, id, shown, StatusCode::BAD_REQUEST).await;
        }
    };
    let decided = state
        .app
        .decide_as_reviewer((reviewer.tenant, &reviewer.username), id, &verdict)
        .await;
    match decided {
        Ok(_) => {
            let next = next_in_review(&state, id).await?;
            Ok(Redirect::to(&decided::confirming(&next, id)).into_response())
        }
        Err(error) => {
            // Decided by someone else since the page was shown: say by whom and how.
            let decided: Option<VettingRecord> = state.app.store().find_vetting_request(id).await?;
            match decided {
                Some(record) if record.state.status() != VettingStatus::InReview => {
                    let notice = format!(
                        "Not decided: {} decided this request meanwhile ({}).",
                        record.decided_by.as_deref().unwrap_or("someone"),
                        record.state.status()
                    );
                    let shown = (Some(notice), None);
                    page(&state, &reviewer, id, shown, StatusCode::CONFLICT).await
                }
                _ => Err(error.into()),
            }
        }
    }
}

/// Where a reviewer goes after deciding `decided`: the oldest request still in review, or the
/// queue when there is none.
async fn next_in_review(state: &AppState, decided: VettingRequestId) -> Result<String, ApiError> {
    let filter = VettingFilter {
        status: Some(VettingStatus::InReview),
        ..VettingFilter::default()
    };
    let page = state
        .app
        .store()
        .list_vetting_requests(&filter, None, 2)
        .await?;
    Ok(page.requests.iter().find(|r| r.id != decided).map_or_else(
        || "/console".to_owned(),
        |r| format!("/console/requests/{}", r.id),
    ))
}

//! `/v1/customers/{customer_id}/qualifications`: a customer's qualifications (each with the
//! state of its latest vetting request), and submitting one for vetting.

use axum::Extension;
use axum::extract::{MatchedPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use qualify_app::identity::Principal;
use qualify_app::usecases::{Actor, UseCaseError};
use qualify_domain::{
    Submission, ValidationCodeValue, VettingState, Website, latest_per_qualification,
};
use qualify_store::{HistoryEntry, VettingRecord};
use qualify_types::{
    CustomerId, EducationSegment, Qualification, QualificationChoice, QualificationState,
    Qualifications, SdkQualifications, SubmittedQualification,
};
use serde::Deserialize;

use crate::error::ApiError;
use crate::http::auth::{PartnerCustomerHistory, PartnerUser};
use crate::http::{IdPath, LenientJson, QueryParams, RequestIds, idempotency};
use crate::state::AppState;
use crate::wire::Wire;
use qualify_app::settings::ContractProfile;

/// How the latest request of a qualification reads in the list: an approved qualification
/// carries neither reason nor date, as in the seed document.
fn qualification_state(latest: &HistoryEntry) -> QualificationState {
    let (reason, date) = match &latest.state {
        VettingState::InReview => (None, Some(latest.created_at)),
        VettingState::Approved => (None, None),
        VettingState::Denied(reason) => (Some(reason.to_string()), Some(latest.created_at)),
    };
    QualificationState {
        qualification: latest.qualification,
        vetting_status: latest.state.status(),
        vetting_reason: reason,
        vetting_created_date: date,
    }
}

/// Get a customer's qualifications.
#[utoipa::path(get, path = "/v1/customers/{customer_id}/qualifications", tag = "partner-center", operation_id = "getQualifications",
    params(("customer_id" = uuid::Uuid, Path, description = "The customer's tenant id")),
    responses(
        (status = 200, description = "Each qualification with the state of its latest vetting request", body = Qualifications),
        (status = 404, description = "No such customer, or not the caller's (60003)", body = qualify_types::ErrorBody)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    PartnerCustomerHistory {
        customer, history, ..
    }: PartnerCustomerHistory,
) -> Result<Response, ApiError> {
    let history = history.ok_or(ApiError::CustomerNotFound(customer))?;
    let states: Vec<QualificationState> =
        latest_per_qualification(&history, HistoryEntry::as_prior)
            .into_iter()
            .map(qualification_state)
            .collect();
    let in_review = states
        .iter()
        .any(|s| s.vetting_status == qualify_types::VettingStatus::InReview);
    let mut response = match state.settings().http.contract {
        ContractProfile::Documented => Wire::ok(Qualifications {
            qualifications: states,
        })
        .into_response(),
        ContractProfile::Sdk => Wire::ok(SdkQualifications(&states)).into_response(),
    };
    // For the conformance checks of a development server: was this a poll of a request still
    // in review? (An extension costs nothing on the wire.)
    if state.test_control.is_some() {
        response
            .extensions_mut()
            .insert(crate::test_control::conformance::PollAnswer { in_review });
    }
    Ok(response)
}

/// The submission as sent: everything optional, so each problem gets its own clear error.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SubmitInput {
    qualification: Option<String>,
    education_segment: Option<String>,
    website: Option<String>,
    validation_code: Option<String>,
}

/// `?code=`: older clients send the GCC validation code in the query.
#[derive(Debug, Deserialize)]
pub(crate) struct SubmitQuery {
    pub(crate) code: Option<String>,
}

/// Parses a requested qualification: unknown names are 900126; `None` and `Nonprofit` exist in
/// Partner Center's enumeration but can't be requested.
pub(crate) fn requestable(choice: QualificationChoice) -> Result<Qualification, ApiError> {
    choice.requestable().ok_or_else(|| {
        ApiError::InvalidProperty(format!(
            "The property 'qualification' cannot be '{choice}': only Education, GovernmentCommunityCloud and StateOwnedEntity can be requested."
        ))
    })
}

/// The GCC code from the body or from `?code=`; both must agree when both are given.
pub(crate) fn validation_code(
    body: Option<String>,
    query: Option<String>,
) -> Result<Option<ValidationCodeValue>, ApiError> {
    let code = match (body, query) {
        (Some(body), Some(query)) if body.trim() != query.trim() => {
            return Err(ApiError::InvalidProperty(
                "The property 'validationCode' and the parameter 'code' disagree; send one.".into(),
            ));
        }
        (body, query) => body.or(query),
    };
    Ok(code
        .as_deref()
        .map(ValidationCodeValue::parse)
        .transpose()?)
}

fn parse_submission(
    input: SubmitInput,
    query_code: Option<String>,
) -> Result<Submission, ApiError> {
    let qualification = input
        .qualification
        .as_deref()
        .ok_or_else(|| ApiError::missing("qualification"))?;
    let qualification = requestable(qualification.parse::<QualificationChoice>()?)?;
    let segment = input
        .education_segment
        .as_deref()
        .map(str::parse::<EducationSegment>)
        .transpose()?;
    let website = input.website.as_deref().map(Website::parse).transpose()?;
    let code = validation_code(input.validation_code, query_code)?;
    Ok(Submission::from_api(qualification, segment, website, code)?)
}

/// The parts of a submission that make it this submission, for the idempotency fingerprint.
pub(crate) fn normalised(submission: &Submission) -> String {
    format!(
        "{}|{}|{}|{}|{:?}",
        submission.qualification(),
        submission
            .education_segment()
            .map_or("", EducationSegment::as_str),
        submission.website().map_or("", Website::as_str),
        submission
            .validation_code()
            .map_or("", ValidationCodeValue::as_str),
        submission.channel(),
    )
}

/// Submits for vetting and answers with `answer` of the new request: shared by this endpoint and
/// the legacy one, so both go through the same use case. `route` (the route template) is part
/// of the idempotency fingerprint, which says `POST` for either: a write's fingerprint.
pub(crate) async fn submit_for_vetting(
    state: &AppState,
    caller: &Principal,
    ids: &RequestIds,
    route: &MatchedPath,
    customer: CustomerId,
    submission: &Submission,
    answer: impl FnOnce(VettingRecord) -> Result<(u16, String), UseCaseError>,
) -> Result<Response, ApiError> {
    let fingerprint = idempotency::fingerprint(
        "POST",
        &format!("{}|{customer}", route.as_str()),
        &normalised(submission),
    );
    let key = idempotency::key(caller.tenant_id, ids, fingerprint);
    let answered = state
        .app
        .submit(
            &Actor::caller(caller),
            caller.tenant_id,
            customer,
            submission,
            key.as_ref(),
            answer,
        )
        .await?;
    idempotency::respond(answered)
}

/// Ask for a qualification for a customer.
///
/// App+User only; answers 201 with the new request `InReview` (or, when
/// a vetting rule decided it at once, with that decision).
#[utoipa::path(post, path = "/v1/customers/{customer_id}/qualifications", tag = "partner-center", operation_id = "submitQualification",
    params(
        ("customer_id" = uuid::Uuid, Path, description = "The customer's tenant id"),
        ("code" = Option<String>, Query, description = "The GCC validation code, for older clients (or validationCode in the body)", pattern = r"\S")),
    request_body = qualify_types::QualificationSubmission,
    responses(
        (status = 201, description = "In review", body = qualify_types::SubmittedQualification),
        (status = 404, description = "No such customer, or not the caller's (60003)", body = qualify_types::ErrorBody),
        (status = 409, description = "Already in review or approved (610001), Education and GCC exclusive (610002), resubmission limit (610003), validation code exhausted (610004), MS-RequestId reused (610005)", body = qualify_types::ErrorBody)))]
pub(crate) async fn submit(
    State(state): State<AppState>,
    route: MatchedPath,
    PartnerUser(caller): PartnerUser,
    Extension(ids): Extension<RequestIds>,
    IdPath(customer): IdPath<CustomerId>,
    QueryParams(query): QueryParams<SubmitQuery>,
    LenientJson(input): LenientJson<SubmitInput>,
) -> Result<Response, ApiError> {
    let submission = parse_submission(input, query.code)?;
    submit_for_vetting(
        &state,
        &caller,
        &ids,
        &route,
        customer,
        &submission,
        |created| {
            idempotency::answer(
                StatusCode::CREATED,
                &SubmittedQualification {
                    qualification: created.qualification,
                    vetting_status: created.state.status(),
                    vetting_reason: created.state.reason().map(ToString::to_string),
                    vetting_create_date: created.created_at,
                },
            )
        },
    )
    .await
}

//! `/v1/customers/{customer_id}/qualification` (singular): the endpoints Microsoft retired in
//! 2021 and its PowerShell module and Java SDK still call. GET answers one JSON string; PUT takes
//! a JSON string (any casing, with or without underscores) or the .NET enum's integer, and
//! submits through the same vetting lifecycle as `POST …/qualifications`. The legacy calls
//! predate education segments: an Education submission here carries none, and the reviewer sees
//! that.

use axum::Extension;
use axum::extract::{MatchedPath, State};
use axum::http::StatusCode;
use axum::response::Response;
use qualify_domain::{Submission, VettingState};
use qualify_store::HistoryEntry;
use qualify_types::{CustomerId, QualificationChoice};
use serde_json::Value;

use super::qualifications::{SubmitQuery, requestable, submit_for_vetting, validation_code};
use crate::error::ApiError;
use crate::http::auth::{PartnerCustomerHistory, PartnerUser};
use crate::http::{IdPath, LenientJson, QueryParams, RequestIds, idempotency};
use crate::state::AppState;
use crate::wire::Wire;

/// The qualification the customer holds, as the legacy GET reports it: the most recently
/// approved one, or `none` while nothing is approved (a submission in review is not held yet).
fn held(history: &[HistoryEntry]) -> QualificationChoice {
    history
        .iter()
        .filter(|entry| entry.state == VettingState::Approved)
        .max_by_key(|entry| entry.created_at)
        .map_or(QualificationChoice::None, |entry| {
            entry.qualification.into()
        })
}

/// The legacy PUT's body, for the OpenAPI document.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // a schema, never built
pub(crate) enum LegacyQualification {
    /// The name, any casing, with or without underscores: `education`, `GovernmentCommunityCloud`, …
    Name(String),
    /// The .NET enum's integer: 1 Education, 3 GovernmentCommunityCloud, 4 StateOwnedEntity.
    Code(i64),
}

/// Get a customer's qualification (legacy, retired by Partner Center).
///
/// `"education"`, `"government_community_cloud"`, `"state_owned_entity"`
/// or `"none"`.
#[utoipa::path(get, path = "/v1/customers/{customer_id}/qualification", tag = "partner-center", operation_id = "getLegacyQualification",
    params(("customer_id" = uuid::Uuid, Path, description = "The customer's tenant id")),
    responses(
        (status = 200, description = "The approved qualification, lower snake case, or none", body = String,
            content_type = "application/json", example = json!("education")),
        (status = 404, description = "No such customer, or not the caller's (60003)", body = qualify_types::ErrorBody),
        (status = 410, description = "A retired endpoint: answered so only by a development server to a partner in strict conformance mode (610020)", body = qualify_types::ErrorBody)))]
pub(crate) async fn show(
    PartnerCustomerHistory {
        customer, history, ..
    }: PartnerCustomerHistory,
) -> Result<Wire<&'static str>, ApiError> {
    let history = history.ok_or(ApiError::CustomerNotFound(customer))?;
    Ok(Wire::ok(held(&history).legacy_name()))
}

/// The body of a legacy PUT: a JSON string or the .NET enum's integer.
fn choice(body: &Value) -> Result<QualificationChoice, ApiError> {
    match body {
        Value::String(text) => Ok(QualificationChoice::parse_legacy(text)?),
        Value::Number(number) => number
            .as_i64()
            .and_then(QualificationChoice::from_legacy_code)
            .ok_or_else(|| ApiError::InvalidProperty(format!("The qualification {number} is not one of 0 to 4."))),
        _ => Err(ApiError::MalformedBody(
            "a JSON string (e.g. \"education\") or the qualification's integer (e.g. 1) is expected".into(),
        )),
    }
}

/// Set a customer's qualification (legacy, retired by Partner Center).
///
/// App+User only; submits for vetting and answers 200 with the
/// qualification's string form.
#[utoipa::path(put, path = "/v1/customers/{customer_id}/qualification", tag = "partner-center", operation_id = "submitLegacyQualification",
    params(
        ("customer_id" = uuid::Uuid, Path, description = "The customer's tenant id"),
        ("code" = Option<String>, Query, description = "The GCC validation code", pattern = r"\S")),
    request_body = LegacyQualification,
    responses(
        (status = 200, description = "Submitted for vetting; the qualification, lower snake case", body = String,
            content_type = "application/json"),
        (status = 404, description = "No such customer, or not the caller's (60003)", body = qualify_types::ErrorBody),
        (status = 409, description = "As for POST …/qualifications", body = qualify_types::ErrorBody),
        (status = 410, description = "A retired endpoint: answered so only by a development server to a partner in strict conformance mode (610020)", body = qualify_types::ErrorBody)))]
pub(crate) async fn submit(
    State(state): State<AppState>,
    route: MatchedPath,
    PartnerUser(caller): PartnerUser,
    Extension(ids): Extension<RequestIds>,
    IdPath(customer): IdPath<CustomerId>,
    QueryParams(query): QueryParams<SubmitQuery>,
    LenientJson(body): LenientJson<Value>,
) -> Result<Response, ApiError> {
    let qualification = requestable(choice(&body)?)?;
    let submission = Submission::from_legacy(qualification, validation_code(None, query.code)?)?;
    submit_for_vetting(
        &state,
        &caller,
        &ids,
        &route,
        customer,
        &submission,
        |created| idempotency::answer(StatusCode::OK, &created.qualification.legacy_name()),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_legacy_body_is_a_string_in_any_form_or_the_enums_integer() {
        for body in [
            json!("education"),
            json!("EDUCATION"),
            json!("Education"),
            json!(1),
        ] {
            assert_eq!(
                choice(&body).unwrap(),
                QualificationChoice::Education,
                "{body}"
            );
        }
        for body in [
            json!("government_community_cloud"),
            json!("GovernmentCommunityCloud"),
            json!(3),
        ] {
            assert_eq!(
                choice(&body).unwrap(),
                QualificationChoice::GovernmentCommunityCloud,
                "{body}"
            );
        }
        assert_eq!(
            choice(&json!("State_Owned_Entity")).unwrap(),
            QualificationChoice::StateOwnedEntity
        );
        assert_eq!(choice(&json!(0)).unwrap(), QualificationChoice::None);
        assert!(choice(&json!(7)).is_err());
        assert!(choice(&json!("charity")).is_err());
        assert!(choice(&json!({"qualification": "education"})).is_err());
    }
}

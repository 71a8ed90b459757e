//! Partner Center's webhook registration API, per partner: which events exist
//! (`GET /webhooks/v1/registration/events`), the partner's one registration
//! (`POST`/`GET`/`PUT`/`DELETE /webhooks/v1/registration`), validation events that test its
//! receiver (`POST …/validationEvents`, at most 2 a minute as in Partner Center, and
//! `GET …/validationEvents/{correlationId}` with one result per delivery attempt), and the
//! certificate that verifies what Qualify signs (`GET /webhooks/v1/certificates/{name}`).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use qualify_app::usecases::webhooks::VALIDATION_EVENTS_KEPT;
use qualify_app::usecases::{Actor, UseCaseError};
use qualify_store::{DeliveryAttempt, WebhookRegistration as Stored};
use qualify_types::codes;
use qualify_types::webhooks::{
    EVENT_NAMES, ValidationEventCreated, ValidationEventStatus, ValidationResult,
    WebhookRegistration, WebhookRegistrationRequest,
};

use crate::error::ApiError;
use crate::http::auth::Partner;
use crate::http::{LenientJson, PathText};
use crate::state::AppState;
use crate::wire::Wire;

fn not_registered() -> ApiError {
    UseCaseError::WebhookNotRegistered.into()
}

fn dto(stored: Stored) -> WebhookRegistration {
    WebhookRegistration {
        subscriber_id: stored.subscriber_id,
        webhook_url: stored.url,
        webhook_events: stored.events,
        signature_token_to_ms_signature_header: stored.signature_header,
    }
}

/// List the events a partner can register for.
///
/// The events a partner may register for.
#[utoipa::path(get, path = "/webhooks/v1/registration/events", tag = "webhooks", operation_id = "listWebhookEvents",
    responses((status = 200, description = "The event names: Partner Center's test-created, and Qualify's customer-qualification-updated (a submission or decision of a customer's qualification; Partner Center has no such event)", body = Vec<String>)))]
pub(crate) async fn events(Partner(_): Partner) -> Wire<Vec<String>> {
    Wire::ok(EVENT_NAMES.iter().map(|name| (*name).to_owned()).collect())
}

/// Register the partner's webhook receiver.
///
/// The partner's first registration.
#[utoipa::path(post, path = "/webhooks/v1/registration", tag = "webhooks", operation_id = "createWebhookRegistration",
    request_body = WebhookRegistrationRequest,
    responses(
        (status = 200, description = "The registration", body = WebhookRegistration),
        (status = 400, description = "A URL that is not http(s), or refused as internal; an unknown event", body = qualify_types::ErrorBody),
        (status = 409, description = "The partner has a registration already: PUT changes it (610017)", body = qualify_types::ErrorBody)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Partner(principal): Partner,
    LenientJson(request): LenientJson<WebhookRegistrationRequest>,
) -> Result<Wire<WebhookRegistration>, ApiError> {
    let registration = state
        .app
        .register_webhook(&Actor::caller(&principal), principal.tenant_id, &request)
        .await?;
    Ok(Wire::ok(dto(registration)))
}

/// Get the partner's webhook registration.
///
/// The partner's registration.
#[utoipa::path(get, path = "/webhooks/v1/registration", tag = "webhooks", operation_id = "getWebhookRegistration",
    responses(
        (status = 200, description = "The registration", body = WebhookRegistration),
        (status = 404, description = "None (610016)", body = qualify_types::ErrorBody)))]
pub(crate) async fn show(
    State(state): State<AppState>,
    Partner(principal): Partner,
) -> Result<Wire<WebhookRegistration>, ApiError> {
    let stored = state
        .app
        .store()
        .webhook_registration(principal.tenant_id)
        .await?
        .ok_or_else(not_registered)?;
    Ok(Wire::ok(dto(stored)))
}

/// Change the partner's webhook registration.
///
/// Changes the partner's registration.
#[utoipa::path(put, path = "/webhooks/v1/registration", tag = "webhooks", operation_id = "updateWebhookRegistration",
    request_body = WebhookRegistrationRequest,
    responses(
        (status = 200, description = "The registration as changed", body = WebhookRegistration),
        (status = 400, description = "As for POST", body = qualify_types::ErrorBody),
        (status = 404, description = "None to change (610016)", body = qualify_types::ErrorBody)))]
pub(crate) async fn update(
    State(state): State<AppState>,
    Partner(principal): Partner,
    LenientJson(request): LenientJson<WebhookRegistrationRequest>,
) -> Result<Wire<WebhookRegistration>, ApiError> {
    let registration = state
        .app
        .update_webhook(&Actor::caller(&principal), principal.tenant_id, &request)
        .await?;
    Ok(Wire::ok(dto(registration)))
}

/// Delete the partner's webhook registration.
///
/// No more events for the partner (Qualify's; Partner
/// Center documents none). Events not yet delivered are dropped.
#[utoipa::path(delete, path = "/webhooks/v1/registration", tag = "webhooks", operation_id = "deleteWebhookRegistration",
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "None (610016)", body = qualify_types::ErrorBody)))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Partner(principal): Partner,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .remove_webhook(&Actor::caller(&principal), principal.tenant_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Send a test event to the partner's receiver.
///
/// Sends a `test-created` event to the
/// partner's receiver.
#[utoipa::path(post, path = "/webhooks/v1/registration/validationEvents", tag = "webhooks", operation_id = "createValidationEvent",
    responses(
        (status = 200, description = "Sent (its delivery runs in the background)", body = ValidationEventCreated),
        (status = 400, description = "The registration does not include test-created", body = qualify_types::ErrorBody),
        (status = 404, description = "No registration (610016)", body = qualify_types::ErrorBody),
        (status = 429, description = "More than 2 in a minute, as in Partner Center", body = qualify_types::ThrottleBody)))]
pub(crate) async fn create_validation_event(
    State(state): State<AppState>,
    Partner(principal): Partner,
) -> Result<Response, ApiError> {
    let correlation_id = state.app.send_validation_event(principal.tenant_id).await?;
    Ok(Wire::ok(ValidationEventCreated { correlation_id }).into_response())
}

/// Get what became of a test event.
///
/// What became of a
/// validation event: one result per delivery attempt.
#[utoipa::path(get, path = "/webhooks/v1/registration/validationEvents/{correlationId}", tag = "webhooks", operation_id = "getValidationEvent",
    params(("correlationId" = String, Path, description = "As POST …/validationEvents answered")),
    responses(
        (status = 200, description = "The event and its attempts", body = ValidationEventStatus),
        (status = 404, description = "No such event of the caller's in the last 7 days (610018)", body = qualify_types::ErrorBody)))]
pub(crate) async fn show_validation_event(
    State(state): State<AppState>,
    Partner(principal): Partner,
    PathText(correlation_id): PathText,
) -> Result<Wire<ValidationEventStatus>, ApiError> {
    let not_found = || ApiError::NotFound {
        code: codes::VALIDATION_EVENT_NOT_FOUND,
        description: format!(
            "The validation event '{}' was not found.",
            correlation_id.chars().take(100).collect::<String>()
        ),
    };
    let event = state
        .app
        .store()
        .validation_event(&correlation_id)
        .await?
        .ok_or_else(not_found)?;
    let kept_ms = i64::try_from(VALIDATION_EVENTS_KEPT.as_millis()).unwrap_or(i64::MAX);
    let kept_since = state.app.clock().now().plus_millis(-kept_ms);
    if event.partner != principal.tenant_id || event.created_at < kept_since {
        return Err(not_found());
    }
    let results = state
        .app
        .store()
        .delivery_attempts_of(&correlation_id)
        .await?
        .iter()
        .map(result)
        .collect();
    Ok(Wire::ok(ValidationEventStatus {
        correlation_id: event.correlation_id,
        partner_id: event.partner.to_string(),
        status: if event.finished_at.is_some() {
            "completed"
        } else {
            "pending"
        }
        .into(),
        callback_url: event.url,
        results,
    }))
}

/// One attempt as Partner Center reports it.
fn result(attempt: &DeliveryAttempt) -> ValidationResult {
    let (response_code, response_message) = match attempt.status_code {
        Some(code) => (
            dotnet_status_name(code),
            StatusCode::from_u16(code)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or_default()
                .to_owned(),
        ),
        None => (String::new(), attempt.error.clone().unwrap_or_default()),
    };
    ValidationResult {
        response_code,
        response_message,
        system_error: attempt.status_code.is_none(),
        date_time_utc: attempt.at.to_string(),
    }
}

/// A status code as .NET's `HttpStatusCode` names it (Partner Center's `responseCode`).
fn dotnet_status_name(code: u16) -> String {
    let name = match code {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "NoContent",
        301 => "MovedPermanently",
        302 => "Redirect",
        307 => "TemporaryRedirect",
        308 => "PermanentRedirect",
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        408 => "RequestTimeout",
        409 => "Conflict",
        410 => "Gone",
        413 => "RequestEntityTooLarge",
        415 => "UnsupportedMediaType",
        429 => "TooManyRequests",
        500 => "InternalServerError",
        501 => "NotImplemented",
        502 => "BadGateway",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        other => return other.to_string(),
    };
    name.to_owned()
}

/// Get the certificate that verifies events' signatures.
///
/// The certificate that verifies events' signatures
/// (DER), where `X-MS-Certificate-Url` points. No credentials: receivers download it.
#[utoipa::path(get, path = "/webhooks/v1/certificates/{name}", tag = "webhooks", operation_id = "getWebhookCertificate",
    params(("name" = String, Path, description = "As X-MS-Certificate-Url names it")),
    responses(
        (status = 200, description = "The certificate, DER (application/pkix-cert)"),
        (status = 400, description = "A name that is not text", body = qualify_types::ErrorBody),
        (status = 404, description = "Not this server's certificate", body = qualify_types::ErrorBody)))]
pub(crate) async fn certificate(
    State(state): State<AppState>,
    PathText(name): PathText,
) -> Result<Response, ApiError> {
    let signer = state
        .app
        .deliveries()
        .signer()
        .await
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    if name != signer.certificate_name() {
        return Err(ApiError::NotFound {
            code: codes::ROUTE_NOT_FOUND,
            description: "No such certificate.".into(),
        });
    }
    Ok((
        [
            (header::CONTENT_TYPE, "application/pkix-cert"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        signer.certificate_der().to_vec(),
    )
        .into_response())
}

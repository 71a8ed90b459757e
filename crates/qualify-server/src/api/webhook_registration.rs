//! Partner Center's webhook registration API, per partner: which events exist
//! (`GET /webhooks/v1/registration/events`), the partner's one registration
//! (`POST`/`GET`/`PUT`/`DELETE /webhooks/v1/registration`), validation events that test its
//! receiver (`POST …/validationEvents`, at most 2 a minute as in Partner Center, and
//! `GET …/validationEvents/{correlationId}` with one result per delivery attempt), and the
//! certificate that verifies what Qualify signs (`GET /webhooks/v1/certificates/{name}`).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use qualify_store::{DeliveryAttempt, StoreError, Tx, WebhookRegistration as Stored};
use qualify_types::webhooks::{
    EVENT_NAMES, TEST_CREATED, ValidationEventCreated, ValidationEventStatus, ValidationResult,
    WebhookRegistration, WebhookRegistrationRequest,
};
use qualify_types::{TenantId, codes};

use crate::events::{guard, partner};
use crate::http::auth::Partner;
use crate::http::{LenientJson, PathText};
use crate::wire::Wire;
use crate::{ApiError, AppState};

/// The longest receiver URL accepted.
pub(crate) const MAX_URL_LEN: usize = 2048;

/// What a receiver's URL may be, as the server checks it and the OpenAPI document publishes it:
/// http(s); a host name (its last label starting with a letter), an IPv4 address, or an IPv6
/// one in brackets; a port; any printable path and query. Narrower than what a URL parser reads,
/// so that the document and the server agree on every value.
pub(crate) const WEBHOOK_URL_PATTERN: &str = concat!(
    "^[Hh][Tt][Tt][Pp][Ss]?://(",
    r"([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?",
    r"|((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])",
    r"|\[(",
    r"([0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}",
    r"|([0-9A-Fa-f]{1,4}:){1,7}:",
    r"|([0-9A-Fa-f]{1,4}:){1,6}:[0-9A-Fa-f]{1,4}",
    r"|([0-9A-Fa-f]{1,4}:){1,5}(:[0-9A-Fa-f]{1,4}){1,2}",
    r"|([0-9A-Fa-f]{1,4}:){1,4}(:[0-9A-Fa-f]{1,4}){1,3}",
    r"|([0-9A-Fa-f]{1,4}:){1,3}(:[0-9A-Fa-f]{1,4}){1,4}",
    r"|([0-9A-Fa-f]{1,4}:){1,2}(:[0-9A-Fa-f]{1,4}){1,5}",
    r"|[0-9A-Fa-f]{1,4}:(:[0-9A-Fa-f]{1,4}){1,6}",
    r"|:((:[0-9A-Fa-f]{1,4}){1,7}|:)",
    r")\]",
    ")(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?",
    "([/?][!-~]*)?$",
);

static WEBHOOK_URL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(WEBHOOK_URL_PATTERN).expect("the webhook URL pattern compiles")
});
/// Validation events a partner may ask for per minute, as in Partner Center.
const VALIDATION_EVENTS_PER_MINUTE: u32 = 2;
/// How long a validation event and its results can be read, as in Partner Center.
pub(crate) const VALIDATION_EVENTS_KEPT: std::time::Duration =
    std::time::Duration::from_secs(7 * 24 * 3600);

fn not_registered() -> ApiError {
    ApiError::NotFound {
        code: codes::WEBHOOK_REGISTRATION_NOT_FOUND,
        description:
            "The partner has no webhook registration; POST /webhooks/v1/registration makes one."
                .into(),
    }
}

fn dto(stored: Stored) -> WebhookRegistration {
    WebhookRegistration {
        subscriber_id: stored.subscriber_id,
        webhook_url: stored.url,
        webhook_events: stored.events,
        signature_token_to_ms_signature_header: stored.signature_header,
    }
}

/// `request`, checked, as the partner's registration with `subscriber_id`.
fn checked(
    state: &AppState,
    partner: TenantId,
    subscriber_id: String,
    request: WebhookRegistrationRequest,
) -> Result<Stored, ApiError> {
    let url = &request.webhook_url;
    if url.len() > MAX_URL_LEN {
        return Err(ApiError::InvalidProperty(format!(
            "The property 'WebhookUrl' may be at most {MAX_URL_LEN} characters."
        )));
    }
    let not_a_url = || {
        ApiError::InvalidProperty(
            "The property 'WebhookUrl' must be an absolute http(s) URL with a host name or an IP address.".into(),
        )
    };
    if !WEBHOOK_URL.is_match(url) {
        return Err(not_a_url());
    }
    let parsed = url::Url::parse(url).map_err(|_| not_a_url())?;
    guard::check_url(
        &parsed,
        state.settings.webhooks.allow_private(state.settings.dev),
    )
    .map_err(|why| {
        ApiError::InvalidProperty(format!("The property 'WebhookUrl' is refused: {why}."))
    })?;
    let mut events = Vec::new();
    for name in &request.webhook_events {
        let known = EVENT_NAMES
            .iter()
            .find(|known| known.eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| {
                ApiError::InvalidProperty(format!(
                    "The event '{}' does not exist; GET /webhooks/v1/registration/events lists them: {}.",
                    name.chars().take(100).collect::<String>(),
                    EVENT_NAMES.join(", ")
                ))
            })?;
        if !events.iter().any(|e| e == known) {
            events.push((*known).to_owned());
        }
    }
    if events.is_empty() {
        return Err(ApiError::InvalidProperty(
            "The property 'WebhookEvents' must name at least one event.".into(),
        ));
    }
    Ok(Stored {
        partner,
        subscriber_id,
        url: parsed.to_string(),
        events,
        signature_header: request.signature_token_to_ms_signature_header,
    })
}

/// `GET /webhooks/v1/registration/events`: the events a partner may register for.
#[utoipa::path(get, path = "/webhooks/v1/registration/events", tag = "webhooks", operation_id = "listWebhookEvents",
    responses((status = 200, description = "The event names: Partner Center's test-created, and Qualify's customer-qualification-updated (a submission or decision of a customer's qualification; Partner Center has no such event)", body = Vec<String>)))]
pub(crate) async fn events(Partner(_): Partner) -> Wire<Vec<String>> {
    Wire::ok(EVENT_NAMES.iter().map(|name| (*name).to_owned()).collect())
}

/// `POST /webhooks/v1/registration`: the partner's first registration.
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
    let registration = checked(
        &state,
        principal.tenant_id,
        uuid::Uuid::new_v4().to_string(),
        request,
    )?;
    let now = state.clock.now();
    if !state
        .store
        .insert_webhook_registration(&registration, now)
        .await?
    {
        return Err(ApiError::Conflict {
            code: codes::WEBHOOK_REGISTRATION_EXISTS,
            description: "The partner has a webhook registration already; PUT /webhooks/v1/registration changes it.".into(),
        });
    }
    Ok(Wire::ok(dto(registration)))
}

/// `GET /webhooks/v1/registration`: the partner's registration.
#[utoipa::path(get, path = "/webhooks/v1/registration", tag = "webhooks", operation_id = "getWebhookRegistration",
    responses(
        (status = 200, description = "The registration", body = WebhookRegistration),
        (status = 404, description = "None (610016)", body = qualify_types::ErrorBody)))]
pub(crate) async fn show(
    State(state): State<AppState>,
    Partner(principal): Partner,
) -> Result<Wire<WebhookRegistration>, ApiError> {
    let stored = state
        .store
        .webhook_registration(principal.tenant_id)
        .await?
        .ok_or_else(not_registered)?;
    Ok(Wire::ok(dto(stored)))
}

/// `PUT /webhooks/v1/registration`: changes the partner's registration.
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
    let existing = state
        .store
        .webhook_registration(principal.tenant_id)
        .await?
        .ok_or_else(not_registered)?;
    let registration = checked(&state, principal.tenant_id, existing.subscriber_id, request)?;
    if !state
        .store
        .update_webhook_registration(&registration, state.clock.now())
        .await?
    {
        return Err(not_registered());
    }
    Ok(Wire::ok(dto(registration)))
}

/// `DELETE /webhooks/v1/registration`: no more events for the partner (Qualify's; Partner
/// Center documents none). Events not yet delivered are dropped.
#[utoipa::path(delete, path = "/webhooks/v1/registration", tag = "webhooks", operation_id = "deleteWebhookRegistration",
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "None (610016)", body = qualify_types::ErrorBody)))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Partner(principal): Partner,
) -> Result<StatusCode, ApiError> {
    if state
        .store
        .delete_webhook_registration(principal.tenant_id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_registered())
    }
}

/// Why a validation event was not made.
enum NotSent {
    Store(StoreError),
    Unserialisable(serde_json::Error),
    NotRegistered,
    NotForTests,
    Throttled,
}

impl From<StoreError> for NotSent {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

/// `POST /webhooks/v1/registration/validationEvents`: sends a `test-created` event to the
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
    let partner = principal.tenant_id;
    let correlation_id = uuid::Uuid::new_v4().to_string();
    let now = state.clock.now();
    let public_base = state.public_base().to_owned();
    let max_attempts = state.settings.jobs.job_max_attempts;
    let sent = state
        .store
        .transaction(async |tx: &mut Tx| {
            let registration = tx
                .webhook_registration(partner)
                .await?
                .ok_or(NotSent::NotRegistered)?;
            if !registration.events.iter().any(|e| e == TEST_CREATED) {
                return Err(NotSent::NotForTests);
            }
            let minute_ago = now.plus_millis(-60_000);
            if tx.validation_events_since(partner, minute_ago).await?
                >= VALIDATION_EVENTS_PER_MINUTE
            {
                return Err(NotSent::Throttled);
            }
            tx.insert_validation_event(&correlation_id, partner, &registration.url, now)
                .await?;
            let delivery = partner::test_created(&public_base, partner, &correlation_id, now);
            let job =
                partner::job(delivery, None, now, max_attempts).map_err(NotSent::Unserialisable)?;
            tx.enqueue_jobs(&[job], now).await?;
            Ok(())
        })
        .await;
    match sent {
        Ok(()) => {
            state.jobs_ready.notify_waiters();
            Ok(Wire::ok(ValidationEventCreated { correlation_id }).into_response())
        }
        Err(NotSent::NotRegistered) => Err(not_registered()),
        Err(NotSent::NotForTests) => Err(ApiError::InvalidProperty(
            "The registration does not include the event 'test-created'; PUT /webhooks/v1/registration adds it.".into(),
        )),
        Err(NotSent::Throttled) => Ok(crate::http::throttle::throttled(60)),
        Err(NotSent::Store(error)) => Err(error.into()),
        Err(NotSent::Unserialisable(error)) => Err(ApiError::Internal(Box::new(error))),
    }
}

/// `GET /webhooks/v1/registration/validationEvents/{correlationId}`: what became of a
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
        .store
        .validation_event(&correlation_id)
        .await?
        .ok_or_else(not_found)?;
    let kept_ms = i64::try_from(VALIDATION_EVENTS_KEPT.as_millis()).unwrap_or(i64::MAX);
    let kept_since = state.clock.now().plus_millis(-kept_ms);
    if event.partner != principal.tenant_id || event.created_at < kept_since {
        return Err(not_found());
    }
    let results = state
        .store
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

/// `GET /webhooks/v1/certificates/{name}`: the certificate that verifies events' signatures
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
        .webhook_signer()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_grammar_takes_receivers_and_only_what_a_parser_reads_as_them() {
        for taken in [
            "https://receiver.contoso.com/events?key=a%20b&x=1",
            "HTTP://localhost:8080",
            "http://10.0.0.7:65535/",
            "http://[::1]/events",
            "http://[2001:db8::8a2e:370:7334]:443/x",
            "https://a.b/#fragment",
        ] {
            assert!(WEBHOOK_URL.is_match(taken), "{taken}");
            let parsed = url::Url::parse(taken).expect(taken);
            assert!(parsed.host().is_some(), "{taken}");
        }
        for refused in [
            " https://contoso.com",
            "https://contoso.com ",
            "ftp://contoso.com",
            "https://contoso.s*/",
            "https://1.2.3",
            "http://256.0.0.1",
            "https://contoso.com:0",
            "https://contoso.com:65536",
            "https://user:pw@contoso.com",
            "http://[::1::2]",
            "https://%63ontoso.com",
            "https://contoso.com/a b",
        ] {
            assert!(!WEBHOOK_URL.is_match(refused), "{refused}");
        }
    }
}

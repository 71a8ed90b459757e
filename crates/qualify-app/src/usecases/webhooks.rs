//! A partner's webhook registration, as Partner Center's registration API changes it: the one
//! registration (its receiver's URL, the events it wants, where the signature goes), and the
//! validation events that test its receiver (at most 2 a minute, as in Partner Center). A
//! receiver must be an http(s) URL the document's pattern allows, and a public address unless
//! the operator allows private ones.

use qualify_store::{Tx, WebhookRegistration};
use qualify_types::webhooks::{EVENT_NAMES, TEST_CREATED, WebhookRegistrationRequest};
use qualify_types::{TenantId, Timestamp};

use super::{Actor, UseCaseError, audit};
use crate::events::{guard, partner};

/// The longest receiver URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// What a receiver's URL may be, as the use case checks it and the OpenAPI document publishes
/// it: http(s); a host name (its last label starting with a letter), an IPv4 address, or an
/// IPv6 one in brackets; a port; any printable path and query. Narrower than what a URL parser
/// reads, so that the document and the server agree on every value.
pub const WEBHOOK_URL_PATTERN: &str = concat!(
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
pub const VALIDATION_EVENTS_KEPT: std::time::Duration =
    std::time::Duration::from_secs(7 * 24 * 3600);

/// `request`, checked, as the partner's registration with `subscriber_id`.
fn checked(
    partner: TenantId,
    subscriber_id: String,
    request: &WebhookRegistrationRequest,
    allow_private: bool,
) -> Result<WebhookRegistration, UseCaseError> {
    let url = &request.webhook_url;
    if url.len() > MAX_URL_LEN {
        return Err(UseCaseError::Invalid(format!(
            "The property 'WebhookUrl' may be at most {MAX_URL_LEN} characters."
        )));
    }
    let not_a_url = || {
        UseCaseError::Invalid(
            "The property 'WebhookUrl' must be an absolute http(s) URL with a host name or an IP address.".into(),
        )
    };
    if !WEBHOOK_URL.is_match(url) {
        return Err(not_a_url());
    }
    let parsed = url::Url::parse(url).map_err(|_| not_a_url())?;
    guard::check_url(&parsed, allow_private).map_err(|why| {
        UseCaseError::Invalid(format!("The property 'WebhookUrl' is refused: {why}."))
    })?;
    let mut events = Vec::new();
    for name in &request.webhook_events {
        let known = EVENT_NAMES
            .iter()
            .find(|known| known.eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| {
                UseCaseError::Invalid(format!(
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
        return Err(UseCaseError::Invalid(
            "The property 'WebhookEvents' must name at least one event.".into(),
        ));
    }
    Ok(WebhookRegistration {
        partner,
        subscriber_id,
        url: parsed.to_string(),
        events,
        signature_header: request.signature_token_to_ms_signature_header,
    })
}

/// The partner's first registration.
pub(crate) async fn register(
    tx: &mut Tx,
    caller: &Actor,
    partner: TenantId,
    request: &WebhookRegistrationRequest,
    allow_private: bool,
    at: Timestamp,
) -> Result<WebhookRegistration, UseCaseError> {
    let subscriber_id = uuid::Uuid::new_v4().to_string();
    let registration = checked(partner, subscriber_id, request, allow_private)?;
    if !tx.insert_webhook_registration(&registration, at).await? {
        return Err(UseCaseError::WebhookRegistrationExists);
    }
    audit::record(
        tx,
        at,
        caller,
        "webhook.registered",
        &partner.to_string(),
        &registration_detail(&registration),
    )
    .await?;
    Ok(registration)
}

/// Changes the partner's registration.
pub(crate) async fn update(
    tx: &mut Tx,
    caller: &Actor,
    partner: TenantId,
    request: &WebhookRegistrationRequest,
    allow_private: bool,
    at: Timestamp,
) -> Result<WebhookRegistration, UseCaseError> {
    let existing = tx
        .webhook_registration(partner)
        .await?
        .ok_or(UseCaseError::WebhookNotRegistered)?;
    let registration = checked(partner, existing.subscriber_id, request, allow_private)?;
    if !tx.update_webhook_registration(&registration, at).await? {
        return Err(UseCaseError::WebhookNotRegistered);
    }
    audit::record(
        tx,
        at,
        caller,
        "webhook.updated",
        &partner.to_string(),
        &registration_detail(&registration),
    )
    .await?;
    Ok(registration)
}

/// Removes the partner's registration; events not yet delivered are dropped by their jobs.
pub(crate) async fn remove(
    tx: &mut Tx,
    caller: &Actor,
    partner: TenantId,
    at: Timestamp,
) -> Result<(), UseCaseError> {
    if !tx.delete_webhook_registration(partner).await? {
        return Err(UseCaseError::WebhookNotRegistered);
    }
    audit::record(
        tx,
        at,
        caller,
        "webhook.removed",
        &partner.to_string(),
        "{}",
    )
    .await?;
    Ok(())
}

/// Sends a `test-created` event to the partner's receiver: records the validation event and
/// enqueues its delivery (`max_attempts` of them), answering with its correlation id.
pub(crate) async fn send_validation_event(
    tx: &mut Tx,
    public_base: &str,
    partner: TenantId,
    max_attempts: u32,
    now: Timestamp,
) -> Result<String, UseCaseError> {
    let registration = tx
        .webhook_registration(partner)
        .await?
        .ok_or(UseCaseError::WebhookNotRegistered)?;
    if !registration.events.iter().any(|e| e == TEST_CREATED) {
        return Err(UseCaseError::Invalid(
            "The registration does not include the event 'test-created'; PUT /webhooks/v1/registration adds it.".into(),
        ));
    }
    let minute_ago = now.plus_millis(-60_000);
    if tx.validation_events_since(partner, minute_ago).await? >= VALIDATION_EVENTS_PER_MINUTE {
        return Err(UseCaseError::Throttled { retry_after: 60 });
    }
    let correlation_id = uuid::Uuid::new_v4().to_string();
    tx.insert_validation_event(&correlation_id, partner, &registration.url, now)
        .await?;
    let delivery = partner::test_created(public_base, partner, &correlation_id, now);
    let job = partner::job(delivery, None, now, max_attempts).map_err(UseCaseError::internal)?;
    tx.enqueue_jobs(&[job], now).await?;
    Ok(correlation_id)
}

/// What the trail says of a registration.
fn registration_detail(registration: &WebhookRegistration) -> String {
    serde_json::json!({
        "url": registration.url,
        "events": registration.events,
        "signatureHeader": registration.signature_header,
    })
    .to_string()
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

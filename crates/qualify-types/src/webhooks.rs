//! Partner Center's webhooks on the wire: a partner's registration (`/webhooks/v1/registration`),
//! the validation events it asks for and their results, and the event POSTed to its receiver.

use serde::{Deserialize, Serialize};

/// The event Partner Center sends when a partner asks to validate its receiver.
pub const TEST_CREATED: &str = "test-created";
/// Qualify's event (Partner Center has none): a customer's qualification was submitted or
/// decided.
pub const CUSTOMER_QUALIFICATION_UPDATED: &str = "customer-qualification-updated";
/// Every event a partner may register for.
pub const EVENT_NAMES: [&str; 2] = [CUSTOMER_QUALIFICATION_UPDATED, TEST_CREATED];

/// A registration as a partner sends it (`POST`/`PUT /webhooks/v1/registration`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "PascalCase")]
pub struct WebhookRegistrationRequest {
    /// Where events are POSTed: an absolute http(s) URL with a host name or an IP address.
    pub webhook_url: String,
    /// The events to receive (`GET /webhooks/v1/registration/events` lists them).
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub webhook_events: Vec<String>,
    /// Put the signature in `x-ms-signature` instead of `Authorization`.
    #[serde(default)]
    pub signature_token_to_ms_signature_header: bool,
}

/// A partner's registration, as answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "PascalCase")]
pub struct WebhookRegistration {
    /// The registration's id.
    pub subscriber_id: String,
    /// Where events are POSTed.
    pub webhook_url: String,
    /// The events received.
    pub webhook_events: Vec<String>,
    /// Whether the signature goes in `x-ms-signature`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub signature_token_to_ms_signature_header: bool,
}

/// A validation event asked for (`POST /webhooks/v1/registration/validationEvents`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ValidationEventCreated {
    /// What `GET …/validationEvents/{correlationId}` takes.
    pub correlation_id: String,
}

/// A validation event and what became of each attempt to deliver it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ValidationEventStatus {
    /// Its id.
    pub correlation_id: String,
    /// The partner.
    pub partner_id: String,
    /// `completed` once delivered or given up, `pending` while attempts remain.
    pub status: String,
    /// Where it was sent.
    pub callback_url: String,
    /// One per attempt, oldest first.
    pub results: Vec<ValidationResult>,
}

/// One attempt to deliver a validation event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ValidationResult {
    /// The receiver's status, named as .NET names them (`OK`, `NotFound`…); empty without one.
    pub response_code: String,
    /// The receiver's status line, or why there was none.
    pub response_message: String,
    /// Whether the attempt failed before the receiver answered (unreachable, timed out,
    /// refused as a private address).
    pub system_error: bool,
    /// When, in UTC.
    pub date_time_utc: String,
}

/// The event POSTed to a partner's receiver, in Partner Center's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "PascalCase")]
pub struct PartnerEvent {
    /// `test-created` or `customer-qualification-updated`.
    pub event_name: String,
    /// Where the changed resource is read.
    pub resource_uri: String,
    /// What kind of resource: `test`, `qualification`.
    pub resource_name: String,
    /// The audit record of the change, when there is one.
    pub audit_uri: Option<String>,
    /// When the resource changed, in UTC.
    pub resource_change_utc_date: String,
}

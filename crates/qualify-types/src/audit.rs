//! Partner Center's audit records (`GET /v1/auditrecords`): what was done to a partner's
//! customers, by whom, and the resource before and after.

use serde::{Deserialize, Serialize};

use crate::{Attributes, Timestamp};

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    /// `{partnerId}_{customerId}_{operationType}_{position}`, as Partner Center builds its ids;
    /// `GET /v1/auditrecords/{id}` reads it again.
    pub id: String,
    /// The partner whose customer it concerns (the operator's view: the acting tenant for the
    /// operator's own records).
    pub partner_id: String,
    /// The customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// The customer's company name, as it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    /// The user who acted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
    /// The application that acted: a client id, or `VettingService` for a vetting decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_id: Option<String>,
    /// Partner Center's resource type, e.g. `customer`.
    pub resource_type: String,
    /// The resource before the change, as JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_old_value: Option<String>,
    /// The resource after the change, as JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_new_value: Option<String>,
    /// Partner Center's operation type: `add_customer`, `update_customer_qualification` (a
    /// submission), or Qualify's `decide_customer_qualification` (a vetting decision).
    pub operation_type: String,
    /// `succeeded`: a change is recorded only when it is made.
    pub operation_status: String,
    /// When it happened (on the partner's clock).
    pub operation_date: Timestamp,
    /// More about it, as key and value pairs (e.g. `VettingRequestId`).
    #[serde(default)]
    pub customized_data: Vec<KeyValue>,
    /// `{"objectType": "AuditRecord"}`.
    pub attributes: Attributes,
}

/// One entry of [`AuditRecord::customized_data`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyValue {
    /// The name.
    pub key: String,
    /// The value.
    pub value: Option<String>,
}

//! The reviewer API's bodies: vetting requests as reviewers see them, and decisions.

use serde::{Deserialize, Serialize};

use crate::{
    CustomerId, EducationSegment, Qualification, TenantId, Timestamp, VettingRequestId,
    VettingStatus,
};

/// How a vetting request reached Qualify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum SubmissionChannel {
    /// `POST /v1/customers/{id}/qualifications`.
    Api,
    /// The retired `PUT /v1/customers/{id}/qualification`, which carries no education segment.
    Legacy,
}

/// One vetting request, as the reviewer API shows it. `educationSegment` and `website` are
/// always present (`null` when the partner sent none, so a reviewer sees the absence); the
/// decision's fields appear once it is decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct VettingRequest {
    /// The request's id.
    pub id: VettingRequestId,
    /// The partner who submitted it.
    pub partner_tenant_id: TenantId,
    /// The customer it is about.
    pub customer_id: CustomerId,
    /// The customer's domain, for the reviewer's convenience.
    pub customer_domain: String,
    /// The customer's company name.
    pub customer_company_name: String,
    /// The qualification requested.
    pub qualification: Qualification,
    /// The education segment, for Education.
    pub education_segment: Option<EducationSegment>,
    /// The web site the partner gave, for Education.
    pub website: Option<String>,
    /// The GCC validation code used, for GovernmentCommunityCloud.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_code: Option<String>,
    /// Which request this is for the customer and qualification: 1 for the first, 2 for the
    /// first resubmission after a denial, …
    pub attempt: u32,
    /// How it was submitted.
    pub channel: SubmissionChannel,
    /// Where it stands.
    pub vetting_status: VettingStatus,
    /// When it was submitted.
    pub created_at: Timestamp,
    /// Why it was denied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vetting_reason: Option<String>,
    /// When it was decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<Timestamp>,
    /// Who decided it: the reviewer's user name, or `rule:<name>` for a vetting rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// The vetting rule that matched the submission, if one did: it decided the request, will
    /// decide it later, or left it to a reviewer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_rule: Option<String>,
}

/// The body of `POST /review/v1/requests/{id}/decision`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"vettingStatus": "Denied", "vettingReason": "Not an Education Customer"})))]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// `Approved` or `Denied`.
    pub vetting_status: VettingStatus,
    /// Required with `Denied`, refused with `Approved`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vetting_reason: Option<String>,
}

impl Decision {
    /// Approve.
    pub fn approve() -> Self {
        Self {
            vetting_status: VettingStatus::Approved,
            vetting_reason: None,
        }
    }

    /// Deny, saying why.
    pub fn deny(reason: impl Into<String>) -> Self {
        Self {
            vetting_status: VettingStatus::Denied,
            vetting_reason: Some(reason.into()),
        }
    }
}

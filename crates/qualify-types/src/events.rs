//! Events: what Qualify tells a webhook when a qualification's vetting changes. Partner Center
//! has no such event (its clients poll); this is Qualify's own, documented in `docs/events.md`.

use serde::{Deserialize, Serialize};

use crate::{
    CustomerId, EducationSegment, Qualification, TenantId, Timestamp, VettingRequestId,
    VettingStatus,
};

/// The kinds of event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventType {
    /// A qualification was submitted for vetting (it is `InReview`).
    #[serde(rename = "qualification.submitted")]
    QualificationSubmitted,
    /// A vetting request was decided (`Approved`, or `Denied` with a reason).
    #[serde(rename = "qualification.decided")]
    QualificationDecided,
}

impl EventType {
    /// The type's name, as events carry it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::QualificationSubmitted => "qualification.submitted",
            Self::QualificationDecided => "qualification.decided",
        }
    }
}

/// One event, as the webhook's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Unique per event; a redelivery repeats it, so receivers can drop duplicates.
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// When it happened.
    pub created_at: Timestamp,
    /// The vetting request it is about.
    pub data: EventData,
}

/// The vetting request an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EventData {
    /// The vetting request.
    pub vetting_request_id: VettingRequestId,
    /// The partner who submitted it.
    pub partner_tenant_id: TenantId,
    /// The customer.
    pub customer_id: CustomerId,
    /// The qualification.
    pub qualification: Qualification,
    /// Education's segment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub education_segment: Option<EducationSegment>,
    /// Where it stands now.
    pub vetting_status: VettingStatus,
    /// Why it was denied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vetting_reason: Option<String>,
    /// Which request of this customer and qualification it is, from 1.
    pub attempt: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_types_name_is_its_serialised_form() {
        for event_type in [
            EventType::QualificationSubmitted,
            EventType::QualificationDecided,
        ] {
            assert_eq!(
                serde_json::to_value(event_type).unwrap(),
                serde_json::json!(event_type.as_str())
            );
        }
    }
}

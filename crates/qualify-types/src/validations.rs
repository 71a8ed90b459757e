//! GCC validation codes, as `GET /v1/customers/all/validations` lists them.

use serde::{Deserialize, Serialize};

use crate::TenantId;

/// One of a partner's Government Community Cloud validation codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ValidationCode {
    /// The partner the code belongs to.
    pub partner_id: TenantId,
    /// The government organisation the code was issued for.
    pub organization_name: String,
    /// The code itself, sent as `validationCode` when submitting GovernmentCommunityCloud.
    pub validation_id: String,
    /// How many customers the code may qualify in all.
    pub max_creates: u32,
    /// How many it may still qualify.
    pub remaining_creates: u32,
    /// Partner Center's entity tag for the code.
    pub e_tag: String,
}

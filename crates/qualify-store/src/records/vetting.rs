//! Customers, their vetting requests, and partners' GCC validation codes, as records.

use qualify_domain::{DenialReason, VettingState};
use qualify_types::{
    CustomerId, EducationSegment, Qualification, SubmissionChannel, TenantId, Timestamp,
    VettingRequestId, VettingStatus,
};

use super::{count, parse, timestamp};
use crate::StoreError;
use crate::db;

/// A customer's billing details, every one optional.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BillingRecord {
    /// Billing e-mail.
    pub email: Option<String>,
    /// Culture, e.g. `en-US`.
    pub culture: Option<String>,
    /// Language, e.g. `en`.
    pub language: Option<String>,
    /// Company name as billed.
    pub company_name: Option<String>,
    /// Country code.
    pub country: Option<String>,
    /// Region or state.
    pub region: Option<String>,
    /// City.
    pub city: Option<String>,
    /// First address line.
    pub address_line1: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
}

/// A customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRecord {
    /// The customer's tenant id.
    pub id: CustomerId,
    /// The partner it belongs to.
    pub partner_tenant_id: TenantId,
    /// Its domain, lower case.
    pub domain: String,
    /// Its company name.
    pub company_name: String,
    /// Billing details.
    pub billing: BillingRecord,
    /// When it was created.
    pub created_at: Timestamp,
    /// The indirect reseller it was created for (Partner Center's `associatedPartnerId`).
    pub associated_partner_id: Option<TenantId>,
}

db::row! {
    pub(crate) struct CustomerRow {
        pub(crate) seq: i64,
        id: String,
        partner_tenant_id: String,
        domain: String,
        company_name: String,
        email: Option<String>,
        culture: Option<String>,
        language: Option<String>,
        billing_company_name: Option<String>,
        country: Option<String>,
        region: Option<String>,
        city: Option<String>,
        address_line1: Option<String>,
        postal_code: Option<String>,
        created_at: i64,
        associated_partner_id: Option<String>,
    }
}

impl TryFrom<CustomerRow> for CustomerRecord {
    type Error = StoreError;

    fn try_from(row: CustomerRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: parse("customers.id", &row.id)?,
            partner_tenant_id: parse("customers.partner_tenant_id", &row.partner_tenant_id)?,
            domain: row.domain,
            company_name: row.company_name,
            billing: BillingRecord {
                email: row.email,
                culture: row.culture,
                language: row.language,
                company_name: row.billing_company_name,
                country: row.country,
                region: row.region,
                city: row.city,
                address_line1: row.address_line1,
                postal_code: row.postal_code,
            },
            created_at: timestamp("customers.created_at", row.created_at)?,
            associated_partner_id: row
                .associated_partner_id
                .map(|id| parse("customers.associated_partner_id", &id))
                .transpose()?,
        })
    }
}

/// One vetting request, with enough of its customer for a reviewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VettingRecord {
    /// Its id.
    pub id: VettingRequestId,
    /// The submitting partner.
    pub partner_tenant_id: TenantId,
    /// The customer.
    pub customer_id: CustomerId,
    /// The customer's domain.
    pub customer_domain: String,
    /// The customer's company name.
    pub customer_company_name: String,
    /// The qualification.
    pub qualification: Qualification,
    /// Education's segment.
    pub education_segment: Option<EducationSegment>,
    /// Education's web site.
    pub website: Option<String>,
    /// GCC's validation code.
    pub validation_code: Option<String>,
    /// How it was submitted.
    pub channel: SubmissionChannel,
    /// 1 for the first request of this qualification for this customer, then 2, …
    pub attempt: u32,
    /// Where it stands.
    pub state: VettingState,
    /// When it was submitted.
    pub created_at: Timestamp,
    /// When it was decided.
    pub decided_at: Option<Timestamp>,
    /// Who decided it: a reviewer's sign-in name, or `rule:<name>`.
    pub decided_by: Option<String>,
    /// The vetting rule that matched the submission, if one did.
    pub matched_rule: Option<String>,
}

db::row! {
    pub(crate) struct VettingRow {
        pub(crate) seq: i64,
        id: String,
        partner_tenant_id: String,
        customer_id: String,
        customer_domain: String,
        customer_company_name: String,
        qualification: String,
        education_segment: Option<String>,
        website: Option<String>,
        validation_code: Option<String>,
        channel: String,
        attempt: i64,
        status: String,
        reason: Option<String>,
        created_at: i64,
        decided_at: Option<i64>,
        decided_by: Option<String>,
        matched_rule: Option<String>,
    }
}

pub(crate) fn channel_str(channel: SubmissionChannel) -> &'static str {
    match channel {
        SubmissionChannel::Api => "api",
        SubmissionChannel::Legacy => "legacy",
    }
}

pub(crate) fn vetting_state(
    status: &str,
    reason: Option<String>,
) -> Result<VettingState, StoreError> {
    state_of(parse("vetting_requests.status", status)?, reason)
}

/// The state a request of `status` with `reason` is in: a denial must say why.
pub(crate) fn state_of(
    status: VettingStatus,
    reason: Option<String>,
) -> Result<VettingState, StoreError> {
    Ok(match (status, reason) {
        (VettingStatus::InReview, _) => VettingState::InReview,
        (VettingStatus::Approved, _) => VettingState::Approved,
        (VettingStatus::Denied, Some(reason)) => VettingState::Denied(
            DenialReason::parse(&reason)
                .map_err(|_| StoreError::corrupt("vetting_requests.reason", &reason))?,
        ),
        (VettingStatus::Denied, None) => {
            return Err(StoreError::corrupt("vetting_requests.reason", "NULL"));
        }
    })
}

impl TryFrom<VettingRow> for VettingRecord {
    type Error = StoreError;

    fn try_from(row: VettingRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: parse("vetting_requests.id", &row.id)?,
            partner_tenant_id: parse("vetting_requests.partner_tenant_id", &row.partner_tenant_id)?,
            customer_id: parse("vetting_requests.customer_id", &row.customer_id)?,
            customer_domain: row.customer_domain,
            customer_company_name: row.customer_company_name,
            qualification: parse("vetting_requests.qualification", &row.qualification)?,
            education_segment: row
                .education_segment
                .map(|s| parse("vetting_requests.education_segment", &s))
                .transpose()?,
            website: row.website,
            validation_code: row.validation_code,
            channel: match row.channel.as_str() {
                "api" => SubmissionChannel::Api,
                "legacy" => SubmissionChannel::Legacy,
                other => return Err(StoreError::corrupt("vetting_requests.channel", other)),
            },
            attempt: count("vetting_requests.attempt", row.attempt)?,
            state: vetting_state(&row.status, row.reason)?,
            created_at: timestamp("vetting_requests.created_at", row.created_at)?,
            decided_at: row
                .decided_at
                .map(|at| timestamp("vetting_requests.decided_at", at))
                .transpose()?,
            decided_by: row.decided_by,
            matched_rule: row.matched_rule,
        })
    }
}

/// A GCC validation code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationCodeRecord {
    /// The partner it belongs to.
    pub partner_tenant_id: TenantId,
    /// The code.
    pub validation_id: String,
    /// The organisation it was issued for.
    pub organization_name: String,
    /// Creates allowed in all.
    pub max_creates: u32,
    /// Creates left.
    pub remaining_creates: u32,
    /// When it last changed (the entity tag is derived from it).
    pub updated_at: Timestamp,
}

db::row! {
    pub(crate) struct ValidationCodeRow {
        partner_tenant_id: String,
        validation_id: String,
        organization_name: String,
        max_creates: i64,
        remaining_creates: i64,
        updated_at: i64,
    }
}

impl TryFrom<ValidationCodeRow> for ValidationCodeRecord {
    type Error = StoreError;

    fn try_from(row: ValidationCodeRow) -> Result<Self, StoreError> {
        Ok(Self {
            partner_tenant_id: parse("validation_codes.partner_tenant_id", &row.partner_tenant_id)?,
            validation_id: row.validation_id,
            organization_name: row.organization_name,
            max_creates: count("validation_codes.max_creates", row.max_creates)?,
            remaining_creates: count("validation_codes.remaining_creates", row.remaining_creates)?,
            updated_at: timestamp("validation_codes.updated_at", row.updated_at)?,
        })
    }
}

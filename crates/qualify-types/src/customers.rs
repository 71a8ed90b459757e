//! Partner Center's customer resource, reduced to what qualification needs.

use serde::{Deserialize, Serialize};

use crate::{Attributes, CustomerId, TenantId};

/// A customer of a partner, as `GET /v1/customers/{id}` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// The customer's tenant id.
    pub id: CustomerId,
    /// Who the customer is.
    pub company_profile: CompanyProfile,
    /// Where the customer is billed.
    pub billing_profile: BillingProfile,
    /// Always `reseller`: the only relationship Qualify models.
    pub relationship_to_partner: String,
    /// The indirect reseller the customer was created for, when an indirect provider made it
    /// for one (customer search finds them by it: `IndirectReseller`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub associated_partner_id: Option<TenantId>,
    /// `{"objectType": "Customer"}`.
    pub attributes: Attributes,
}

/// The customer's company profile.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CompanyProfile {
    /// The customer's tenant id (the same as [`Customer::id`]); absent in a create request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<CustomerId>,
    /// The customer's domain, e.g. `contoso.onmicrosoft.com`.
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$",
            max_length = 253,
            example = "contoso.onmicrosoft.com"
        )
    )]
    pub domain: String,
    /// The company's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
}

/// The customer's billing profile; every field optional.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BillingProfile {
    /// Billing contact e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Culture for formatting, e.g. `en-US`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub culture: Option<String>,
    /// Language, e.g. `en`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The company's name as billed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "Contoso School"))]
    pub company_name: Option<String>,
    /// The billing address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_address: Option<Address>,
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// ISO 3166 two-letter country code, e.g. `US`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Region or state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// First address line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line1: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
}

/// The body of `POST /v1/customers`. The company's name may be given in either profile, as
/// Partner Center's own clients do both.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "companyProfile": {"domain": "contoso-school.onmicrosoft.com"},
    "billingProfile": {"companyName": "Contoso School", "email": "it@contoso.edu", "defaultAddress": {"country": "US"}}
})))]
#[serde(rename_all = "camelCase")]
pub struct NewCustomer {
    /// Domain (required) and, optionally, the company's name.
    pub company_profile: CompanyProfile,
    /// Billing details. Absent or `null` (as clients that serialise every property send it)
    /// both mean none.
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schema(nullable))]
    pub billing_profile: BillingProfile,
    /// An indirect provider's: the tenant id of the indirect reseller the customer is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub associated_partner_id: Option<TenantId>,
}

/// A field Partner Center's customer search looks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CustomerSearchField {
    /// The company's name.
    CompanyName,
    /// The customer's domain.
    Domain,
    /// The tenant id of the indirect reseller the customer was created for.
    IndirectReseller,
    /// The tenant id of the indirect provider holding the customer.
    IndirectCloudSolutionProvider,
}

impl CustomerSearchField {
    /// Every field, in Partner Center's order.
    pub const ALL: [Self; 4] = [
        Self::CompanyName,
        Self::Domain,
        Self::IndirectReseller,
        Self::IndirectCloudSolutionProvider,
    ];

    /// Its name as a filter writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CompanyName => "CompanyName",
            Self::Domain => "Domain",
            Self::IndirectReseller => "IndirectReseller",
            Self::IndirectCloudSolutionProvider => "IndirectCloudSolutionProvider",
        }
    }

    /// The field named `name`, in any case.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|field| field.as_str().eq_ignore_ascii_case(name))
    }
}

/// The one operator of Partner Center's customer search.
pub const STARTS_WITH: &str = "starts_with";

/// A customer search, as `GET /v1/customers?filter=` takes it (URL-encoded JSON) and as
/// Microsoft's SDKs write it: `{"Field": "Domain", "Value": "contoso", "Operator": "starts_with"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomerFilter {
    /// Where to look.
    pub field: CustomerSearchField,
    /// What the field starts with, in any case.
    pub value: String,
    /// Always [`STARTS_WITH`].
    pub operator: &'static str,
}

impl CustomerFilter {
    /// Customers whose `field` starts with `value`, in any case.
    pub fn starts_with(field: CustomerSearchField, value: impl Into<String>) -> Self {
        Self {
            field,
            value: value.into(),
            operator: STARTS_WITH,
        }
    }
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_null_billing_profile_means_none_as_an_absent_one_does() {
        let with_null: NewCustomer = serde_json::from_value(json!({
            "companyProfile": {"domain": "contoso.onmicrosoft.com"},
            "billingProfile": null
        }))
        .unwrap();
        let without: NewCustomer = serde_json::from_value(json!({
            "companyProfile": {"domain": "contoso.onmicrosoft.com"}
        }))
        .unwrap();
        assert_eq!(with_null, without);
        assert_eq!(with_null.billing_profile, BillingProfile::default());
    }
}

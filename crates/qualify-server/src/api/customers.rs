//! `/v1/customers`: a partner creates, lists and reads its own customers.

use axum::Extension;
use axum::extract::{MatchedPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use qualify_app::usecases::Actor;
use qualify_domain::{
    CompanyName, CustomerDomain, InvalidValue, optional_country, optional_email, optional_text,
};
use qualify_store::{BillingRecord, CustomerPage, CustomerRecord, NewCustomerRecord};
use qualify_types::{
    Address, Attributes, BillingProfile, Collection, CompanyProfile, Customer, CustomerId, TenantId,
};
use serde::Deserialize;

use super::customer_search::{self, Search};
use crate::error::ApiError;
use crate::http::auth::Partner;
use crate::http::pagination;
use crate::http::{IdPath, LenientJson, QueryParams, RequestIds, idempotency};
use crate::state::AppState;
use crate::wire::Wire;

/// The create request as sent: everything optional, so a missing property gets a clear error.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateCustomerInput {
    company_profile: Option<CompanyProfileInput>,
    billing_profile: Option<BillingProfileInput>,
    associated_partner_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompanyProfileInput {
    /// The new customer's id is the server's to make: one sent is ignored, but it must at least
    /// be what the contract says it is (a GUID), or the request is malformed.
    tenant_id: Option<String>,
    domain: Option<String>,
    company_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BillingProfileInput {
    email: Option<String>,
    culture: Option<String>,
    language: Option<String>,
    company_name: Option<String>,
    default_address: Option<AddressInput>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddressInput {
    country: Option<String>,
    region: Option<String>,
    city: Option<String>,
    address_line1: Option<String>,
    postal_code: Option<String>,
}

/// A create request, checked.
struct ValidCustomer {
    domain: CustomerDomain,
    company_name: CompanyName,
    billing: BillingRecord,
    associated_partner_id: Option<TenantId>,
}

impl TryFrom<CreateCustomerInput> for ValidCustomer {
    type Error = InvalidValue;

    fn try_from(input: CreateCustomerInput) -> Result<Self, InvalidValue> {
        let company = input
            .company_profile
            .ok_or(InvalidValue::missing("companyProfile"))?;
        if let Some(tenant) = &company.tenant_id
            && tenant.parse::<uuid::Uuid>().is_err()
        {
            return Err(InvalidValue::new(
                "companyProfile.tenantId",
                "must be a GUID (or left out: the server gives the customer its id)",
            ));
        }
        let domain = CustomerDomain::parse(
            company
                .domain
                .as_deref()
                .ok_or(InvalidValue::missing("companyProfile.domain"))?,
        )?;
        let billing = input.billing_profile.unwrap_or_default();
        // Partner Center's clients put the name in the billing profile; some in the company one.
        let company_name = match (&billing.company_name, &company.company_name) {
            (Some(name), _) => CompanyName::parse("billingProfile.companyName", name)?,
            (None, Some(name)) => CompanyName::parse("companyProfile.companyName", name)?,
            (None, None) => return Err(InvalidValue::missing("billingProfile.companyName")),
        };
        let address = billing.default_address.unwrap_or_default();
        let billing = BillingRecord {
            email: optional_email("billingProfile.email", billing.email.as_deref())?,
            culture: optional_text("billingProfile.culture", billing.culture.as_deref(), 16)?,
            language: optional_text("billingProfile.language", billing.language.as_deref(), 16)?,
            company_name: Some(company_name.to_string()),
            country: optional_country(
                "billingProfile.defaultAddress.country",
                address.country.as_deref(),
            )?,
            region: optional_text(
                "billingProfile.defaultAddress.region",
                address.region.as_deref(),
                128,
            )?,
            city: optional_text(
                "billingProfile.defaultAddress.city",
                address.city.as_deref(),
                128,
            )?,
            address_line1: optional_text(
                "billingProfile.defaultAddress.addressLine1",
                address.address_line1.as_deref(),
                256,
            )?,
            postal_code: optional_text(
                "billingProfile.defaultAddress.postalCode",
                address.postal_code.as_deref(),
                32,
            )?,
        };
        let associated_partner_id = input
            .associated_partner_id
            .filter(|id| !id.trim().is_empty())
            .map(|id| {
                id.trim().parse::<TenantId>().map_err(|_| {
                    InvalidValue::new(
                        "associatedPartnerId",
                        "must be the indirect reseller's tenant id (a GUID)",
                    )
                })
            })
            .transpose()?;
        Ok(Self {
            domain,
            company_name,
            billing,
            associated_partner_id,
        })
    }
}

/// A stored customer as Partner Center shows it.
pub(crate) fn customer_dto(record: CustomerRecord) -> Customer {
    let billing = record.billing;
    let has_address = [
        &billing.country,
        &billing.region,
        &billing.city,
        &billing.address_line1,
        &billing.postal_code,
    ]
    .iter()
    .any(|field| field.is_some());
    Customer {
        id: record.id,
        company_profile: CompanyProfile {
            tenant_id: Some(record.id),
            domain: record.domain,
            company_name: Some(record.company_name),
        },
        billing_profile: BillingProfile {
            email: billing.email,
            culture: billing.culture,
            language: billing.language,
            company_name: billing.company_name,
            default_address: has_address.then_some(Address {
                country: billing.country,
                region: billing.region,
                city: billing.city,
                address_line1: billing.address_line1,
                postal_code: billing.postal_code,
            }),
        },
        relationship_to_partner: "reseller".into(),
        associated_partner_id: record.associated_partner_id,
        attributes: Attributes::new("Customer"),
    }
}

/// Create a customer.
#[utoipa::path(post, path = "/v1/customers", tag = "partner-center", operation_id = "createCustomer",
    request_body = qualify_types::NewCustomer,
    responses(
        (status = 201, description = "The customer", body = qualify_types::Customer),
        (status = 409, description = "The partner already has a customer with that domain (610007), or the MS-RequestId was used for another request (610005)", body = qualify_types::ErrorBody)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    route: MatchedPath,
    Partner(caller): Partner,
    Extension(ids): Extension<RequestIds>,
    LenientJson(input): LenientJson<CreateCustomerInput>,
) -> Result<Response, ApiError> {
    let valid = ValidCustomer::try_from(input)?;
    let new = NewCustomerRecord {
        id: CustomerId::random(),
        partner_tenant_id: caller.tenant_id,
        domain: valid.domain.as_str(),
        company_name: valid.company_name.as_str(),
        billing: &valid.billing,
        associated_partner_id: valid.associated_partner_id,
    };
    let normalised = format!(
        "{}|{}|{:?}|{:?}",
        valid.domain, valid.company_name, valid.billing, valid.associated_partner_id
    );
    let fingerprint = idempotency::fingerprint("POST", route.as_str(), &normalised);
    let key = idempotency::key(caller.tenant_id, &ids, fingerprint);
    let answered = state
        .app
        .create_customer(&Actor::caller(&caller), &new, key.as_ref(), |created| {
            idempotency::answer(StatusCode::CREATED, &customer_dto(created))
        })
        .await?;
    idempotency::respond(answered)
}

/// Get a customer.
#[utoipa::path(get, path = "/v1/customers/{customer_id}", tag = "partner-center", operation_id = "getCustomer",
    params(("customer_id" = uuid::Uuid, Path, description = "The customer's tenant id")),
    responses(
        (status = 200, description = "The customer", body = qualify_types::Customer),
        (status = 404, description = "No such customer, or not the caller's (60003)", body = qualify_types::ErrorBody)))]
pub(crate) async fn show(
    State(state): State<AppState>,
    Partner(caller): Partner,
    IdPath(id): IdPath<CustomerId>,
) -> Result<Wire<Customer>, ApiError> {
    let record = state
        .app
        .store()
        .find_customer(caller.tenant_id, id)
        .await?
        .ok_or(ApiError::CustomerNotFound(id))?;
    Ok(Wire::ok(customer_dto(record)))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    size: Option<String>,
    /// Partner Center's customer search ([`customer_search`]).
    filter: Option<String>,
    /// `next`, as `links.next` writes it; the page is the continuation token's.
    #[serde(rename = "seekOperation")]
    seek_operation: Option<String>,
}

/// List the partner's customers, or find them.
///
/// The partner's customers, oldest first, paged; with `filter`, Partner Center's customer search:
/// those whose company name, domain, indirect reseller or indirect provider starts with a value,
/// in any case, in the order of that field.
#[utoipa::path(get, path = "/v1/customers", tag = "partner-center", operation_id = "listCustomers",
    params(
        ("size" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size (default 100)"),
        ("filter" = Option<String>, Query, max_length = 1024, description = "A search, URL-encoded JSON: {\"Field\": \"CompanyName\"|\"Domain\"|\"IndirectReseller\"|\"IndirectCloudSolutionProvider\", \"Value\": \"cont\", \"Operator\": \"starts_with\"}"),
        ("seekOperation" = Option<String>, Query, description = "next, as links.next has it (the page itself is chosen by the continuation token)"),
        ("MS-ContinuationToken" = Option<String>, Header, description = "The next page's token, from links.next")),
    responses(
        (status = 200, description = "A page of customers", body = qualify_types::Collection<qualify_types::Customer>),
        (status = 400, description = "A malformed filter, an unknown field or operator (610000)", body = qualify_types::ErrorBody)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    route: MatchedPath,
    Partner(caller): Partner,
    QueryParams(query): QueryParams<ListQuery>,
    headers: HeaderMap,
) -> Result<Wire<Collection<Customer>>, ApiError> {
    let size = pagination::page_size(query.size.as_deref())?;
    if let Some(seek) = &query.seek_operation
        && !seek.eq_ignore_ascii_case("next")
    {
        return Err(ApiError::InvalidProperty(
            "The parameter 'seekOperation' is 'next' (the page is the MS-ContinuationToken's), or absent.".into(),
        ));
    }
    let after = pagination::decode(&headers, None)?;
    let search = query
        .filter
        .as_deref()
        .map(customer_search::parse)
        .transpose()?;
    let store = state.app.store();
    let page = match &search {
        None => store.list_customers(caller.tenant_id, after, size).await?,
        Some(Search::Store(search)) => {
            store
                .search_customers(caller.tenant_id, search, after, size)
                .await?
        }
        Some(Search::Provider(prefix)) if Search::provider_matches(prefix, caller.tenant_id) => {
            store.list_customers(caller.tenant_id, after, size).await?
        }
        Some(Search::Provider(_)) => CustomerPage {
            customers: Vec::new(),
            next_after: None,
        },
    };
    let items = page.customers.into_iter().map(customer_dto).collect();
    let continuation = page.next_after.map(pagination::encode);
    let mut self_uri = format!("{}?size={size}", route.as_str());
    if let Some(filter) = &query.filter {
        self_uri.push_str("&filter=");
        self_uri.extend(url::form_urlencoded::byte_serialize(filter.as_bytes()));
    }
    Ok(Wire::ok(Collection::page(items, self_uri, continuation)))
}

//! The typed calls: customers, qualifications, the reviewer API, and the token endpoint.

use qualify_types::{
    BillingProfile, Collection, CompanyProfile, Customer, CustomerFilter, CustomerId, Decision,
    NewCustomer, Qualification, QualificationChoice, QualificationState, QualificationSubmission,
    Qualifications, SubmittedQualification, TenantId, TokenResponse, ValidationCode,
    VettingRequest, VettingRequestId, VettingStatus,
};
use url::form_urlencoded;

use crate::transport::Call;
use crate::{Client, ClientError};

/// Which vetting requests the reviewer API lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewFilter {
    /// Only those in this state.
    pub status: Option<VettingStatus>,
    /// Only this customer's.
    pub customer_id: Option<CustomerId>,
    /// Only this partner's.
    pub partner_tenant_id: Option<TenantId>,
    /// Only those decided by this reviewer or rule (`rule:<name>`); a trailing `*` matches every
    /// decider it starts (`rule:*`).
    pub decided_by: Option<String>,
    /// Page size (1–500).
    pub size: Option<u32>,
}

impl ReviewFilter {
    fn query(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        if let Some(status) = self.status {
            query.append_pair("status", status.as_str());
        }
        if let Some(customer) = self.customer_id {
            query.append_pair("customerId", &customer.to_string());
        }
        if let Some(partner) = self.partner_tenant_id {
            query.append_pair("partnerTenantId", &partner.to_string());
        }
        if let Some(decider) = &self.decided_by {
            query.append_pair("decidedBy", decider);
        }
        if let Some(size) = self.size {
            query.append_pair("size", &size.to_string());
        }
        query.finish()
    }
}

fn json<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, ClientError> {
    serde_json::to_value(value)
        .map_err(|e| ClientError::Config(format!("encoding the request: {e}")))
}

/// Every item of a paged collection: the first page, then each next one its continuation token
/// names, as `fetch` (given the token, none for the first) reads them.
async fn every_page<T>(
    fetch: impl AsyncFn(Option<&str>) -> Result<Collection<T>, ClientError>,
) -> Result<Vec<T>, ClientError> {
    let mut all = Vec::new();
    let mut continuation: Option<String> = None;
    loop {
        let page = fetch(continuation.as_deref()).await?;
        continuation = page.continuation_token().map(str::to_owned);
        all.extend(page.items);
        if continuation.is_none() {
            return Ok(all);
        }
    }
}

impl Client {
    /// A page of the collection at `path`, after `continuation` (a previous page's token).
    async fn page<T: serde::de::DeserializeOwned>(
        &self,
        path: String,
        continuation: Option<&str>,
    ) -> Result<Collection<T>, ClientError> {
        let headers: Vec<(&'static str, String)> = continuation
            .map(|token| (qualify_types::CONTINUATION_TOKEN_HEADER, token.to_owned()))
            .into_iter()
            .collect();
        self.execute(Call {
            headers: &headers,
            ..Call::get(path)
        })
        .await
    }

    /// A fresh access token from the token endpoint (not the cached one), for use elsewhere
    /// (e.g. `curl`).
    pub async fn fetch_token(&self) -> Result<TokenResponse, ClientError> {
        let credentials = self
            .credentials
            .as_ref()
            .ok_or_else(|| ClientError::Config("no credentials".into()))?;
        self.request_token(credentials).await
    }

    /// Creates a customer with a domain and a company name.
    pub async fn create_customer(
        &self,
        domain: &str,
        company_name: &str,
    ) -> Result<Customer, ClientError> {
        let customer = NewCustomer {
            company_profile: CompanyProfile {
                domain: domain.to_owned(),
                ..Default::default()
            },
            billing_profile: BillingProfile {
                company_name: Some(company_name.to_owned()),
                ..Default::default()
            },
            associated_partner_id: None,
        };
        self.create_customer_with(&customer).await
    }

    /// Creates a customer from a full request.
    pub async fn create_customer_with(
        &self,
        customer: &NewCustomer,
    ) -> Result<Customer, ClientError> {
        self.execute(Call::post("/v1/customers".into(), json(customer)?))
            .await
    }

    /// One of the partner's customers.
    pub async fn customer(&self, id: CustomerId) -> Result<Customer, ClientError> {
        self.execute(Call::get(format!("/v1/customers/{id}"))).await
    }

    /// A page of the partner's customers; pass the previous page's continuation token for the next.
    pub async fn customers_page(
        &self,
        size: Option<u32>,
        continuation: Option<&str>,
    ) -> Result<Collection<Customer>, ClientError> {
        let path = match size {
            Some(size) => format!("/v1/customers?size={size}"),
            None => "/v1/customers".to_owned(),
        };
        self.page(path, continuation).await
    }

    /// A page of the partner's customers that `filter` finds (Partner Center's customer
    /// search); pass the previous page's continuation token for the next.
    pub async fn search_customers_page(
        &self,
        filter: &CustomerFilter,
        size: Option<u32>,
        continuation: Option<&str>,
    ) -> Result<Collection<Customer>, ClientError> {
        let filter = serde_json::to_string(filter)
            .map_err(|e| ClientError::Config(format!("a customer filter: {e}")))?;
        let mut path = format!(
            "/v1/customers?filter={}",
            form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>()
        );
        if let Some(size) = size {
            path.push_str(&format!("&size={size}"));
        }
        self.page(path, continuation).await
    }

    /// Every customer of the partner that `filter` finds, following continuation tokens.
    pub async fn search_customers(
        &self,
        filter: &CustomerFilter,
    ) -> Result<Vec<Customer>, ClientError> {
        every_page(async |continuation| {
            self.search_customers_page(filter, Some(500), continuation)
                .await
        })
        .await
    }

    /// Every customer of the partner, following continuation tokens.
    pub async fn all_customers(&self) -> Result<Vec<Customer>, ClientError> {
        every_page(async |continuation| self.customers_page(Some(500), continuation).await).await
    }

    /// A customer's qualifications, each with the state of its latest vetting request. Reads the
    /// server's answer in either contract profile.
    pub async fn qualifications(
        &self,
        customer: CustomerId,
    ) -> Result<Vec<QualificationState>, ClientError> {
        let answer: Qualifications = self
            .execute(Call::get(format!(
                "/v1/customers/{customer}/qualifications"
            )))
            .await?;
        Ok(answer.qualifications)
    }

    /// Submits a qualification for vetting (App+User credentials). Retries reuse the request id,
    /// so a submission that reached the server is never made twice.
    pub async fn submit_qualification(
        &self,
        customer: CustomerId,
        submission: &QualificationSubmission,
    ) -> Result<SubmittedQualification, ClientError> {
        let call = Call::post(
            format!("/v1/customers/{customer}/qualifications"),
            json(submission)?,
        );
        self.execute(call).await
    }

    /// The legacy `GET …/qualification`: the customer's approved qualification as one
    /// lower-snake-case string (`education`, `government_community_cloud`,
    /// `state_owned_entity`), or `none`.
    pub async fn legacy_qualification(
        &self,
        customer: CustomerId,
    ) -> Result<QualificationChoice, ClientError> {
        let text: String = self
            .execute(Call::get(format!("/v1/customers/{customer}/qualification")))
            .await?;
        QualificationChoice::parse_legacy(&text).map_err(|e| {
            ClientError::Config(format!("the server answered an unknown qualification: {e}"))
        })
    }

    /// The legacy `PUT …/qualification[?code=]`: submits a qualification (without an education
    /// segment) for vetting, as the PowerShell module and the Java SDK do.
    pub async fn submit_legacy_qualification(
        &self,
        customer: CustomerId,
        qualification: Qualification,
        validation_code: Option<&str>,
    ) -> Result<QualificationChoice, ClientError> {
        let mut path = format!("/v1/customers/{customer}/qualification");
        if let Some(code) = validation_code {
            path.push_str(&format!(
                "?{}",
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("code", code)
                    .finish()
            ));
        }
        let call = Call {
            method: reqwest::Method::PUT,
            ..Call::post(path, serde_json::json!(qualification.legacy_name()))
        };
        let text: String = self.execute(call).await?;
        QualificationChoice::parse_legacy(&text).map_err(|e| {
            ClientError::Config(format!("the server answered an unknown qualification: {e}"))
        })
    }

    /// The partner's GCC validation codes.
    pub async fn validation_codes(&self) -> Result<Vec<ValidationCode>, ClientError> {
        self.execute(Call::get("/v1/customers/all/validations".into()))
            .await
    }

    /// A page of vetting requests (reviewer credentials), oldest first.
    pub async fn review_requests(
        &self,
        filter: &ReviewFilter,
        continuation: Option<&str>,
    ) -> Result<Collection<VettingRequest>, ClientError> {
        let path = format!("/review/v1/requests?{}", filter.query());
        self.page(path, continuation).await
    }

    /// Every vetting request matching `filter`, following continuation tokens.
    pub async fn all_review_requests(
        &self,
        filter: &ReviewFilter,
    ) -> Result<Vec<VettingRequest>, ClientError> {
        every_page(async |continuation| self.review_requests(filter, continuation).await).await
    }

    /// One vetting request (reviewer credentials).
    pub async fn review_request(
        &self,
        id: VettingRequestId,
    ) -> Result<VettingRequest, ClientError> {
        self.execute(Call::get(format!("/review/v1/requests/{id}")))
            .await
    }

    /// Decides a vetting request (reviewer credentials).
    pub async fn decide(
        &self,
        id: VettingRequestId,
        decision: &Decision,
    ) -> Result<VettingRequest, ClientError> {
        self.execute(Call::post(
            format!("/review/v1/requests/{id}/decision"),
            json(decision)?,
        ))
        .await
    }
}

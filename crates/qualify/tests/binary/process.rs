//! This crate's `qualify` binary, started through the shared harness.

pub(crate) use qualify_harness::ServerProcess;

/// The binary under test.
pub(crate) const BINARY: &str = env!("CARGO_BIN_EXE_qualify");

/// Starts `qualify serve` with `args`.
pub(crate) fn start(args: &[&str]) -> ServerProcess {
    ServerProcess::start(BINARY, args)
}

/// An App+User token of a well-known identity.
pub(crate) async fn user_token(base: &str, who: qualify_types::dev::DevIdentity) -> String {
    qualify_harness::user_token(base, who).await.unwrap()
}

/// Creates a customer of `token`'s partner with `domain`; its id.
pub(crate) async fn create_customer(base: &str, token: &str, domain: &str) -> String {
    let created: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/v1/customers"))
        .bearer_auth(token)
        .json(&serde_json::json!({"companyProfile": {"domain": domain}, "billingProfile": {"companyName": "Test"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    created["id"].as_str().unwrap().to_owned()
}

/// Submits a StateOwnedEntity qualification for `customer`; the answer.
pub(crate) async fn submit_state_owned(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    customer: &str,
) -> reqwest::Response {
    http.post(format!("{base}/v1/customers/{customer}/qualifications"))
        .bearer_auth(token)
        .json(&serde_json::json!({"qualification": "StateOwnedEntity"}))
        .send()
        .await
        .unwrap()
}

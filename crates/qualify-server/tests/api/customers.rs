//! `/v1/customers`: create, read, list with continuation tokens.

use qualify_store::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn a_created_customer_reads_back_in_partner_centers_shape() {
    for db in TestDatabase::every_backend("customer shape").await {
        let server = TestServer::start(&db).await;
        let partner = server.token(PARTNER_A, Grant::App).await;
        let body = json!({
            "CompanyProfile": {"Domain": "Contoso.OnMicrosoft.com"},
            "billingProfile": {
                "email": "it@contoso.com", "culture": "en-US", "language": "en", "companyName": "Contoso",
                "defaultAddress": {"country": "us", "region": "WA", "city": "Redmond", "addressLine1": "1 Microsoft Way", "postalCode": "98052"}
            }
        });
        let response = server.post("/v1/customers", &partner, &body).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let created: Value = response.json().await.unwrap();
        let id = created["id"].as_str().unwrap();
        assert_eq!(
            created,
            json!({
                "id": id,
                "companyProfile": {"tenantId": id, "domain": "contoso.onmicrosoft.com", "companyName": "Contoso"},
                "billingProfile": {
                    "email": "it@contoso.com", "culture": "en-US", "language": "en", "companyName": "Contoso",
                    "defaultAddress": {"country": "US", "region": "WA", "city": "Redmond", "addressLine1": "1 Microsoft Way", "postalCode": "98052"}
                },
                "relationshipToPartner": "reseller",
                "attributes": {"objectType": "Customer"}
            })
        );
        let read: Value = server
            .get(&format!("/v1/customers/{id}"), &partner)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(read, created);
        server.stop().await;
    }
}

#[tokio::test]
async fn invalid_customers_are_refused_naming_the_property() {
    for db in TestDatabase::every_backend("customer validation").await {
        let server = TestServer::start(&db).await;
        let partner = server.token(PARTNER_A, Grant::App).await;
        for (body, property) in [
            (
                json!({"billingProfile": {"companyName": "X"}}),
                "companyProfile",
            ),
            (
                json!({"companyProfile": {}, "billingProfile": {"companyName": "X"}}),
                "companyProfile.domain",
            ),
            (
                json!({"companyProfile": {"domain": "x.com"}}),
                "billingProfile.companyName",
            ),
            (
                json!({"companyProfile": {"domain": "not a domain"}, "billingProfile": {"companyName": "X"}}),
                "companyProfile.domain",
            ),
            (
                json!({"companyProfile": {"domain": "x.com"}, "billingProfile": {"companyName": "X", "email": "nope"}}),
                "billingProfile.email",
            ),
            (
                json!({"companyProfile": {"tenantId": "not-a-guid", "domain": "x.com"}, "billingProfile": {"companyName": "X"}}),
                "companyProfile.tenantId",
            ),
        ] {
            let description = assert_error(
                server.post("/v1/customers", &partner, &body).await,
                StatusCode::BAD_REQUEST,
                3000,
            )
            .await;
            assert!(
                description.contains(&format!("'{property}'")),
                "{description}"
            );
        }
        let listed: Value = server
            .get("/v1/customers", &partner)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(listed["totalCount"], 0, "nothing was stored");

        server
            .create_customer(&partner, "taken.onmicrosoft.com")
            .await;
        let again = json!({"companyProfile": {"domain": "TAKEN.onmicrosoft.com"}, "billingProfile": {"companyName": "X"}});
        assert_error(
            server.post("/v1/customers", &partner, &again).await,
            StatusCode::CONFLICT,
            610_007,
        )
        .await;
        server.stop().await;
    }
}

#[tokio::test]
async fn the_customer_list_pages_with_continuation_tokens() {
    for db in TestDatabase::every_backend("customer pages").await {
        let server = TestServer::start(&db).await;
        let partner = server.token(PARTNER_A, Grant::App).await;
        let mut created = Vec::new();
        for n in 0..5 {
            created.push(
                server
                    .create_customer(&partner, &format!("page{n}.onmicrosoft.com"))
                    .await,
            );
        }
        let mut seen = Vec::new();
        let mut continuation: Option<String> = None;
        loop {
            let mut request = server
                .http
                .get(server.url("/v1/customers?size=2"))
                .bearer_auth(&partner);
            if let Some(token) = &continuation {
                request = request.header("MS-ContinuationToken", token);
            }
            let page: Value = request.send().await.unwrap().json().await.unwrap();
            assert_eq!(page["attributes"]["objectType"], "Collection");
            let items = page["items"].as_array().unwrap();
            assert_eq!(page["totalCount"], items.len());
            seen.extend(items.iter().map(|c| c["id"].as_str().unwrap().to_owned()));
            continuation = page["links"]["next"]["headers"][0]["value"]
                .as_str()
                .map(str::to_owned);
            if continuation.is_none() {
                break;
            }
            assert_eq!(
                page["links"]["next"]["headers"][0]["key"],
                "MS-ContinuationToken"
            );
        }
        assert_eq!(seen, created);

        let bad = server
            .http
            .get(server.url("/v1/customers"))
            .bearer_auth(&partner)
            .header("MS-ContinuationToken", "forged")
            .send()
            .await
            .unwrap();
        assert_error(bad, StatusCode::BAD_REQUEST, 3000).await;
        assert_error(
            server.get("/v1/customers?size=0", &partner).await,
            StatusCode::BAD_REQUEST,
            3000,
        )
        .await;
        server.stop().await;
    }
}

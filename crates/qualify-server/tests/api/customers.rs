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
        // Each page is fetched as links.next says: its URI, with its header.
        let mut uri = "/v1/customers?size=2".to_owned();
        loop {
            let mut request = server.http.get(server.url(&uri)).bearer_auth(&partner);
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
            // As Partner Center writes it.
            assert_eq!(
                page["links"]["next"]["uri"],
                "/v1/customers?size=2&seekOperation=next"
            );
            uri = page["links"]["next"]["uri"].as_str().unwrap().to_owned();
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

/// `filter` as Microsoft's SDKs put it in the query: the JSON, compact, percent-encoded.
fn filter_query(field: &str, value: &str) -> String {
    let filter = json!({"Field": field, "Value": value, "Operator": "starts_with"}).to_string();
    url::form_urlencoded::byte_serialize(filter.as_bytes()).collect()
}

/// The domains of the customers a search answers, in its order.
async fn found(server: &TestServer, token: &str, query: &str) -> Vec<String> {
    let answered = server.get(&format!("/v1/customers?{query}"), token).await;
    assert_eq!(answered.status(), StatusCode::OK, "{query}");
    let page: Value = answered.json().await.unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["companyProfile"]["domain"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn customer_search_finds_by_each_field_as_partner_center_does() {
    const RESELLER: &str = "5eed0000-0000-4000-8000-00000000beef";
    for db in TestDatabase::every_backend("customer search").await {
        let server = TestServer::start(&db).await;
        let a = server.token(PARTNER_A, Grant::App).await;
        let b = server.token(PARTNER_B, Grant::App).await;
        for (token, domain, name, reseller) in [
            (&a, "contoso-school.edu", "Contoso School", None),
            (&a, "fabrikam.edu", "Fabrikam", None),
            (&a, "contoso.onmicrosoft.com", "Contoso Ltd", Some(RESELLER)),
            (&a, "ecole.example", "École Élan", None),
            (&a, "percent.example", "100% Pure_Name", None),
            (&b, "contoso-b.edu", "Contoso B", Some(RESELLER)),
        ] {
            let mut body = json!({"companyProfile": {"domain": domain}, "billingProfile": {"companyName": name}});
            if let Some(reseller) = reseller {
                body["associatedPartnerId"] = json!(reseller);
            }
            let created = server.post("/v1/customers", token, &body).await;
            assert_eq!(created.status(), StatusCode::CREATED);
            let created: Value = created.json().await.unwrap();
            assert_eq!(
                created["associatedPartnerId"].as_str(),
                reseller,
                "the reseller reads back"
            );
        }
        // Domain and company name: a prefix, in any case, in the field's order; only the
        // caller's customers.
        assert_eq!(
            found(
                &server,
                &a,
                &format!("filter={}", filter_query("Domain", "CONTOSO"))
            )
            .await,
            ["contoso-school.edu", "contoso.onmicrosoft.com"]
        );
        assert_eq!(
            found(
                &server,
                &a,
                &format!("filter={}", filter_query("CompanyName", "contoso s"))
            )
            .await,
            ["contoso-school.edu"]
        );
        assert_eq!(
            found(
                &server,
                &a,
                &format!("filter={}", filter_query("CompanyName", "ÉCOLE"))
            )
            .await,
            ["ecole.example"],
            "folded beyond ASCII, alike on both backends"
        );
        // What LIKE would read as a wildcard matches only itself.
        assert_eq!(
            found(
                &server,
                &a,
                &format!("filter={}", filter_query("CompanyName", "100%"))
            )
            .await,
            ["percent.example"]
        );
        assert!(
            found(
                &server,
                &a,
                &format!("filter={}", filter_query("CompanyName", "_"))
            )
            .await
            .is_empty()
        );
        assert!(
            found(
                &server,
                &a,
                &format!("filter={}", filter_query("Domain", "contoso-b"))
            )
            .await
            .is_empty(),
            "partner B's customer is not partner A's to find"
        );
        // The indirect reseller, by its tenant id's prefix; the indirect provider is the partner.
        assert_eq!(
            found(
                &server,
                &a,
                &format!("filter={}", filter_query("IndirectReseller", "5EED0000"))
            )
            .await,
            ["contoso.onmicrosoft.com"]
        );
        assert_eq!(
            found(
                &server,
                &a,
                &format!(
                    "filter={}",
                    filter_query("IndirectCloudSolutionProvider", &PARTNER_A.tenant_id[..8])
                )
            )
            .await
            .len(),
            5
        );
        assert!(
            found(
                &server,
                &a,
                &format!(
                    "filter={}",
                    filter_query("IndirectCloudSolutionProvider", "bbbb")
                )
            )
            .await
            .is_empty()
        );
        // Exactly the query string Microsoft's SDKs send.
        let sdk = "filter=%7B%22Field%22%3A%22Domain%22%2C%22Value%22%3A%22fabrikam%22%2C%22Operator%22%3A%22starts_with%22%7D";
        assert_eq!(found(&server, &a, sdk).await, ["fabrikam.edu"]);

        // Paged with size and continuation, the filter carried on in links.
        let mut seen = Vec::new();
        let mut uri = format!(
            "/v1/customers?size=1&filter={}",
            filter_query("Domain", "c")
        );
        let mut continuation: Option<String> = None;
        loop {
            let mut request = server.http.get(server.url(&uri)).bearer_auth(&a);
            if let Some(token) = &continuation {
                request = request.header("MS-ContinuationToken", token);
            }
            let page: Value = request.send().await.unwrap().json().await.unwrap();
            seen.extend(
                page["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["companyProfile"]["domain"].as_str().unwrap().to_owned()),
            );
            let Some(token) = page["links"]["next"]["headers"][0]["value"].as_str() else {
                break;
            };
            continuation = Some(token.to_owned());
            uri = page["links"]["next"]["uri"].as_str().unwrap().to_owned();
            assert!(
                uri.contains("filter=%7B") && uri.ends_with("&seekOperation=next"),
                "{uri}"
            );
        }
        assert_eq!(seen, ["contoso-school.edu", "contoso.onmicrosoft.com"]);

        // Malformed filters are refused, saying why, in Partner Center's error shape.
        for (filter, says) in [
            ("pcsdk".to_owned(), "not a JSON object"),
            (filter_query("Country", "x"), "'Country'"),
            (
                url::form_urlencoded::byte_serialize(
                    br#"{"Field":"Domain","Value":"x","Operator":"equals"}"#,
                )
                .collect(),
                "'equals'",
            ),
            (
                url::form_urlencoded::byte_serialize(br#"{"Field":"Domain","Value":"x"}"#)
                    .collect(),
                "operator",
            ),
        ] {
            let refused = server
                .get(&format!("/v1/customers?filter={filter}"), &a)
                .await;
            let message = assert_error(refused, StatusCode::BAD_REQUEST, 3000).await;
            assert!(message.contains(says), "{filter}: {message}");
        }
        // A reseller that is not a tenant id is refused, and nothing is created.
        let refused = server
            .post(
                "/v1/customers",
                &a,
                &json!({"companyProfile": {"domain": "refused.example"}, "billingProfile": {"companyName": "R"}, "associatedPartnerId": "not-a-guid"}),
            )
            .await;
        assert_error(refused, StatusCode::BAD_REQUEST, 3000).await;
        assert!(
            found(
                &server,
                &a,
                &format!("filter={}", filter_query("Domain", "refused"))
            )
            .await
            .is_empty()
        );
        server.stop().await;
    }
}

//! Audit records in Partner Center's shape: every write of a partner's is recorded, a partner
//! reads only its own, by period, filter and page, and the operator reads everyone's.

use qualify_store::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const EDUCATION: &str =
    r#"{"qualification": "Education", "educationSegment": "K12", "website": "https://audit.edu"}"#;

async fn records(server: &TestServer, token: &str, query: &str) -> Value {
    let response = server.get(&format!("/v1/auditrecords{query}"), token).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "GET /v1/auditrecords{query}"
    );
    response.json().await.unwrap()
}

fn items(page: &Value) -> Vec<Value> {
    page["items"].as_array().expect("items").clone()
}

fn customized(record: &Value, key: &str) -> Option<String> {
    record["customizedData"]
        .as_array()?
        .iter()
        .find(|pair| pair["key"] == key)
        .and_then(|pair| pair["value"].as_str().map(str::to_owned))
}

#[tokio::test]
async fn every_write_is_a_record_of_its_partner_and_no_one_elses() {
    for db in TestDatabase::every_backend("audit records").await {
        let server = TestServer::start(&db).await;
        let a = server.token(PARTNER_A, Grant::User).await;
        let b = server.token(PARTNER_B, Grant::User).await;
        let reviewer = server.token(OPERATOR, Grant::User).await;
        let customer = server.create_customer(&a, "audited.onmicrosoft.com").await;
        let education: Value = serde_json::from_str(EDUCATION).unwrap();
        assert_eq!(
            server.submit(&a, &customer, &education).await.status(),
            StatusCode::CREATED
        );
        server
            .decide_for(&reviewer, &customer, &json!({"vettingStatus": "Approved"}))
            .await;

        let page = records(&server, &a, "").await;
        assert_eq!(page["attributes"]["objectType"], "Collection");
        let all = items(&page);
        let operations: Vec<&str> = all
            .iter()
            .map(|r| r["operationType"].as_str().unwrap())
            .collect();
        assert_eq!(
            operations,
            [
                "add_customer",
                "update_customer_qualification",
                "decide_customer_qualification"
            ]
        );
        for record in &all {
            assert_eq!(record["partnerId"], PARTNER_A.tenant_id);
            assert_eq!(record["customerId"], customer.as_str());
            assert_eq!(record["customerName"], "Contoso");
            assert_eq!(record["resourceType"], "customer");
            assert_eq!(record["operationStatus"], "succeeded");
            assert_eq!(record["attributes"]["objectType"], "AuditRecord");
            assert!(record["operationDate"].is_string());
        }
        // The partner's own acts name its user and application; the decision, the service.
        let (created, submitted, decided) = (&all[0], &all[1], &all[2]);
        assert_eq!(created["userPrincipalName"], PARTNER_A.username);
        assert_eq!(submitted["applicationId"], PARTNER_A.client_id);
        assert_eq!(decided["applicationId"], "VettingService");
        assert!(decided.get("userPrincipalName").is_none(), "{decided}");
        assert!(submitted.get("resourceOldValue").is_none());
        let new: Value =
            serde_json::from_str(submitted["resourceNewValue"].as_str().unwrap()).unwrap();
        assert_eq!(new["vettingStatus"], "InReview");
        let old: Value =
            serde_json::from_str(decided["resourceOldValue"].as_str().unwrap()).unwrap();
        let now: Value =
            serde_json::from_str(decided["resourceNewValue"].as_str().unwrap()).unwrap();
        assert_eq!(
            (old["vettingStatus"].as_str(), now["vettingStatus"].as_str()),
            (Some("InReview"), Some("Approved"))
        );
        assert_eq!(
            customized(decided, "VettingRequestId"),
            new["vettingRequestId"].as_str().map(str::to_owned)
        );
        // Nothing of the operator's: who reviewed stays the operator's to know.
        assert!(customized(decided, "Actor").is_none());
        assert!(!decided.to_string().contains(OPERATOR.username));

        // One record reads again by its id (where an event's AuditUri points); not by another.
        let id = decided["id"].as_str().unwrap();
        let one = server.get(&format!("/v1/auditrecords/{id}"), &a).await;
        assert_eq!(one.status(), StatusCode::OK);
        assert_eq!(&one.json::<Value>().await.unwrap(), decided);
        let foreign = server.get(&format!("/v1/auditrecords/{id}"), &b).await;
        assert_error(foreign, StatusCode::NOT_FOUND, 610_015).await;
        let forged = id.replacen(PARTNER_A.tenant_id, PARTNER_B.tenant_id, 1);
        let forged = server.get(&format!("/v1/auditrecords/{forged}"), &b).await;
        assert_error(forged, StatusCode::NOT_FOUND, 610_015).await;

        assert!(items(&records(&server, &b, "").await).is_empty());

        // The operator sees everyone's, and who acted.
        let everyone = server.get("/review/v1/auditrecords", &reviewer).await;
        assert_eq!(everyone.status(), StatusCode::OK);
        let everyone = items(&everyone.json().await.unwrap());
        let decision = everyone
            .iter()
            .find(|r| r["operationType"] == "decide_customer_qualification")
            .unwrap();
        assert_eq!(
            customized(decision, "Actor").as_deref(),
            Some(OPERATOR.username)
        );
        let partner_reads_operators = server.get("/review/v1/auditrecords", &a).await;
        assert_eq!(partner_reads_operators.status(), StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn records_are_filtered_by_period_customer_name_and_type_and_paged() {
    for db in TestDatabase::every_backend("audit record queries").await {
        let server = TestServer::start(&db).await;
        let a = server.token(PARTNER_A, Grant::App).await;
        let mut customers = Vec::new();
        for n in 0..7 {
            customers.push(
                server
                    .create_customer(&a, &format!("paged{n}.onmicrosoft.com"))
                    .await,
            );
        }
        // Pages of 3 through MS-ContinuationToken: every record once, in order.
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut request = server
                .http
                .get(server.url("/v1/auditrecords?size=3"))
                .bearer_auth(&a);
            if let Some(token) = &token {
                request = request.header("MS-ContinuationToken", token);
            }
            let page: Value = request.send().await.unwrap().json().await.unwrap();
            let page_items = items(&page);
            assert!(page_items.len() <= 3);
            assert_eq!(page["totalCount"], page_items.len());
            seen.extend(page_items.iter().map(|r| r["customerId"].clone()));
            match page["links"]["next"]["headers"][0]["value"].as_str() {
                Some(next) => token = Some(next.to_owned()),
                None => break,
            }
        }
        let expected: Vec<Value> = customers.iter().map(|c| json!(c)).collect();
        assert_eq!(seen, expected);

        let encode = |filter: &str| -> String {
            url::form_urlencoded::byte_serialize(filter.as_bytes()).collect()
        };
        let one = encode(&format!(
            r#"{{"Field":"CustomerId","Value":"{}","Operator":"equals"}}"#,
            customers[2]
        ));
        let only = items(&records(&server, &a, &format!("?filter={one}")).await);
        assert_eq!(only.len(), 1);
        assert_eq!(only[0]["customerId"], customers[2].as_str());
        let named = encode(r#"{"Field":"CompanyName","Value":"CONTO","Operator":"substring"}"#);
        assert_eq!(
            items(&records(&server, &a, &format!("?filter={named}")).await).len(),
            7
        );
        let typed =
            encode(r#"{"Field":"ResourceType","Value":"Subscription","Operator":"equals"}"#);
        assert!(items(&records(&server, &a, &format!("?filter={typed}")).await).is_empty());

        // A period after everything, and one that holds today.
        let today = qualify_server::wall_now().as_datetime().date_naive();
        let tomorrow = today.succ_opt().unwrap();
        assert!(items(&records(&server, &a, &format!("?startDate={tomorrow}")).await).is_empty());
        assert_eq!(
            items(&records(&server, &a, &format!("?startDate={today}&endDate={today}")).await)
                .len(),
            7
        );

        for (query, why) in [
            ("?startDate=2000-01-01", "more than 90 days ago"),
            ("?startDate=yesterday", "not a date"),
            (
                &format!("?startDate={today}&endDate=2000-01-01"),
                "ends before it starts",
            ),
            ("?filter=%7Bnope", "not JSON"),
            ("?size=0", "an empty page"),
            (
                "?partnerId=00000000-0000-0000-0000-000000000000",
                "the operator's parameter",
            ),
        ] {
            let response = server.get(&format!("/v1/auditrecords{query}"), &a).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{why}: {query}");
            assert_error(response, StatusCode::BAD_REQUEST, 3000).await;
        }
    }
}

//! `MS-RequestId` as the idempotency key of writes.

use futures::future::join_all;
use qualify_store::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn post_with_id(
    server: &TestServer,
    path: &str,
    token: &str,
    request_id: &str,
    body: &Value,
) -> reqwest::Response {
    server
        .http
        .post(server.url(path))
        .bearer_auth(token)
        .header("MS-RequestId", request_id)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_retried_submission_returns_the_first_answer_and_creates_nothing() {
    for db in TestDatabase::every_backend("idempotent retry").await {
        let server = TestServer::start(&db).await;
        let partner = server.token(PARTNER_A, Grant::User).await;
        let reviewer = server.token(OPERATOR, Grant::User).await;
        let customer = server
            .create_customer(&partner, "retry.onmicrosoft.com")
            .await;
        let path = format!("/v1/customers/{customer}/qualifications");
        let body = json!({"qualification": "Education", "educationSegment": "K12"});
        let key = "5f3b8a0e-8a1c-4a52-9b1f-1c0d2e3f4a5b";

        let first = post_with_id(&server, &path, &partner, key, &body).await;
        assert_eq!(first.status(), StatusCode::CREATED);
        let first_body = first.text().await.unwrap();
        for _ in 0..3 {
            let retry = post_with_id(&server, &path, &partner, key, &body).await;
            assert_eq!(retry.status(), StatusCode::CREATED);
            assert_eq!(retry.headers()["idempotent-replayed"], "true");
            assert_eq!(retry.headers()["ms-requestid"], key);
            assert_eq!(retry.text().await.unwrap(), first_body);
        }
        assert_eq!(
            server
                .review_list(&reviewer, &format!("customerId={customer}"))
                .await
                .len(),
            1
        );

        // The same key with another body is refused, and changes nothing.
        let other = json!({"qualification": "StateOwnedEntity"});
        assert_error(
            post_with_id(&server, &path, &partner, key, &other).await,
            StatusCode::CONFLICT,
            610_005,
        )
        .await;
        assert_eq!(
            server
                .review_list(&reviewer, &format!("customerId={customer}"))
                .await
                .len(),
            1
        );

        // Another partner's identical key is its own.
        let b = server.token(PARTNER_B, Grant::User).await;
        let b_customer = server.create_customer(&b, "retry-b.onmicrosoft.com").await;
        let b_path = format!("/v1/customers/{b_customer}/qualifications");
        assert_eq!(
            post_with_id(&server, &b_path, &b, key, &body)
                .await
                .status(),
            StatusCode::CREATED
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn a_retried_customer_creation_creates_one_customer() {
    for db in TestDatabase::every_backend("idempotent create").await {
        let server = TestServer::start(&db).await;
        let partner = server.token(PARTNER_A, Grant::App).await;
        let body = json!({"companyProfile": {"domain": "once.onmicrosoft.com"}, "billingProfile": {"companyName": "Once"}});
        let key = "c0ffee00-0000-4000-8000-000000000001";
        let first: Value = post_with_id(&server, "/v1/customers", &partner, key, &body)
            .await
            .json()
            .await
            .unwrap();
        let retry = post_with_id(&server, "/v1/customers", &partner, key, &body).await;
        assert_eq!(retry.status(), StatusCode::CREATED);
        let retry: Value = retry.json().await.unwrap();
        assert_eq!(retry, first);
        let listed: Value = server
            .get("/v1/customers", &partner)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(listed["totalCount"], 1);
        server.stop().await;
    }
}

#[tokio::test]
async fn concurrent_retries_of_one_request_create_exactly_one_request() {
    for db in TestDatabase::every_backend("concurrent retries").await {
        let server = TestServer::start(&db).await;
        let partner = server.token(PARTNER_A, Grant::User).await;
        let reviewer = server.token(OPERATOR, Grant::User).await;
        let customer = server
            .create_customer(&partner, "burst.onmicrosoft.com")
            .await;
        let path = format!("/v1/customers/{customer}/qualifications");
        let body = json!({"qualification": "StateOwnedEntity"});
        let key = "b0b0b0b0-0000-4000-8000-000000000001";
        let responses =
            join_all((0..8).map(|_| post_with_id(&server, &path, &partner, key, &body))).await;
        let mut bodies = Vec::new();
        for response in responses {
            assert_eq!(response.status(), StatusCode::CREATED);
            bodies.push(response.text().await.unwrap());
        }
        bodies.dedup();
        assert_eq!(bodies.len(), 1, "every retry sees the first answer");
        assert_eq!(
            server
                .review_list(&reviewer, &format!("customerId={customer}"))
                .await
                .len(),
            1
        );
        server.stop().await;
    }
}

//! Partner Center's throttling, configured: at most so many requests of an operation in a
//! window, per partner or per partner and customer; the next answers 429 with `Retry-After`.

use std::time::Duration;

use qualify_server::{RateLimit, RateLimitKey};
use qualify_store::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

fn limit(operation: &str, key: RateLimitKey, requests: u32) -> RateLimit {
    RateLimit {
        operation: operation.into(),
        key,
        requests,
        per: Duration::from_secs(3600),
    }
}

#[tokio::test]
async fn a_configured_limit_answers_429_at_its_count_within_one_window() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start_with(&db, |s| {
        s.http.rate_limits = vec![
            limit("getQualifications", RateLimitKey::PartnerAndCustomer, 3),
            limit("listCustomers", RateLimitKey::Partner, 2),
        ];
    })
    .await;
    let a = server.token(PARTNER_A, Grant::App).await;
    let b = server.token(PARTNER_B, Grant::App).await;
    let first = server
        .create_customer(&server.token(PARTNER_A, Grant::User).await, "one.example")
        .await;
    let second = server
        .create_customer(&server.token(PARTNER_A, Grant::User).await, "two.example")
        .await;

    let read = |customer: &str| format!("/v1/customers/{customer}/qualifications");
    for _ in 0..3 {
        assert_eq!(server.get(&read(&first), &a).await.status(), StatusCode::OK);
    }
    let throttled = server.get(&read(&first), &a).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // One request comes back every window / 3: 20 minutes.
    assert!((1..=1200).contains(&retry_after), "{retry_after}");
    let body: Value = throttled.json().await.unwrap();
    assert_eq!(body["statusCode"], 429);
    assert_eq!(
        body["message"],
        format!("Rate limit is exceeded. Try again in {retry_after} seconds.")
    );
    // Counted per customer: another customer of the same partner is not throttled.
    assert_eq!(
        server.get(&read(&second), &a).await.status(),
        StatusCode::OK
    );

    // Counted per partner: the third list of partner A is throttled, partner B's is not.
    for _ in 0..2 {
        assert_eq!(
            server.get("/v1/customers", &a).await.status(),
            StatusCode::OK
        );
    }
    assert_eq!(
        server.get("/v1/customers", &a).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        server.get("/v1/customers", &b).await.status(),
        StatusCode::OK
    );
    // An operation without a limit is not counted.
    assert_eq!(
        server
            .get("/v1/customers/all/validations", &a)
            .await
            .status(),
        StatusCode::OK
    );
    server.stop().await;
}

#[tokio::test]
async fn a_limit_on_an_unknown_operation_stops_the_server_from_starting() {
    let db = TestDatabase::sqlite();
    let mut settings = qualify_server::Settings::new(db.url().clone());
    settings.http.rate_limits = vec![limit("submitQualifications", RateLimitKey::Partner, 3)];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let error = qualify_server::App::build(settings, listener)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("submitQualifications"), "{error}");
}

//! Partner Center's headers: request and correlation ids, paths in any case.

use qualify_store::testing::TestDatabase;
use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn ids_are_echoed_or_generated_on_every_response() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let partner = server.token(PARTNER_A, Grant::App).await;

    let echoed = server
        .http
        .get(server.url("/v1/customers"))
        .bearer_auth(&partner)
        .header("MS-CorrelationId", SEED_CORRELATION_ID)
        .header("MS-RequestId", SEED_REQUEST_ID)
        .header("MS-Contract-Version", "v1")
        .header("X-Locale", "en-US")
        .header("MS-PartnerCenter-Application", "tests")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.status(), StatusCode::OK);
    assert_eq!(echoed.headers()["ms-correlationid"], SEED_CORRELATION_ID);
    assert_eq!(echoed.headers()["ms-requestid"], SEED_REQUEST_ID);

    // Generated when absent, on errors too.
    let unauthenticated = server
        .http
        .get(server.url("/v1/customers"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    for header in ["ms-requestid", "ms-correlationid"] {
        let value = unauthenticated.headers()[header].to_str().unwrap();
        assert!(uuid::Uuid::try_parse(value).is_ok(), "{header}: {value}");
    }

    // An unusable id is refused, with fresh ids on the answer.
    let too_long = server
        .http
        .get(server.url("/v1/customers"))
        .bearer_auth(&partner)
        .header("MS-RequestId", "x".repeat(200))
        .send()
        .await
        .unwrap();
    assert_ne!(too_long.headers()["ms-requestid"], "x".repeat(200).as_str());
    assert_error(too_long, StatusCode::BAD_REQUEST, 3000).await;
    server.stop().await;
}

#[tokio::test]
async fn paths_match_in_any_case_and_with_a_trailing_slash() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let partner = server.token(PARTNER_A, Grant::App).await;
    let customer = server
        .create_customer(&partner, "anycase.onmicrosoft.com")
        .await;
    let path = format!("/V1/Customers/{}/Qualifications/", customer.to_uppercase());
    let response = server.get(&path, &partner).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), r#"{"qualifications":[]}"#);
    server.stop().await;
}

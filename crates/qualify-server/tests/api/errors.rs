//! Every row of the error table (`partner-center-api.md` §8), provoked.

use qualify_store::testing::TestDatabase;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn each_client_error_has_its_status_and_code() {
    for db in TestDatabase::every_backend("error table").await {
        let server = TestServer::start(&db).await;
        let partner = server.token(PARTNER_A, Grant::User).await;
        let customer = server
            .create_customer(&partner, "errors.onmicrosoft.com")
            .await;
        let submit_path = format!("/v1/customers/{customer}/qualifications");

        // 400 900118: a malformed customer id is a 400, not a 404.
        let response = server
            .get("/v1/customers/not-a-guid/qualifications", &partner)
            .await;
        let description = assert_error(response, StatusCode::BAD_REQUEST, 900_118).await;
        assert!(description.contains("not-a-guid"), "{description}");

        // 400 900126: unknown enum values.
        let response = server
            .post(&submit_path, &partner, &json!({"qualification": "Charity"}))
            .await;
        let description = assert_error(response, StatusCode::BAD_REQUEST, 900_126).await;
        assert!(
            description.contains("Charity") && description.contains("Education"),
            "{description}"
        );
        let response = server
            .post(
                &submit_path,
                &partner,
                &json!({"qualification": "Education", "educationSegment": "Kindergarten"}),
            )
            .await;
        assert_error(response, StatusCode::BAD_REQUEST, 900_126).await;

        // 400 3000: a property missing or invalid, named in the description.
        let response = server
            .post(&submit_path, &partner, &json!({"educationSegment": "K12"}))
            .await;
        let description = assert_error(response, StatusCode::BAD_REQUEST, 3000).await;
        assert!(description.contains("'qualification'"), "{description}");
        let response = server
            .post(
                &submit_path,
                &partner,
                &json!({"qualification": "Education"}),
            )
            .await;
        let description = assert_error(response, StatusCode::BAD_REQUEST, 3000).await;
        assert!(description.contains("'educationSegment'"), "{description}");
        let response = server
            .post(&submit_path, &partner, &json!({"qualification": "None"}))
            .await;
        assert_error(response, StatusCode::BAD_REQUEST, 3000).await;
        let response = server
            .post(&submit_path, &partner, &json!({"qualification": "Education", "educationSegment": "K12", "website": "not a site"}))
            .await;
        let description = assert_error(response, StatusCode::BAD_REQUEST, 3000).await;
        assert!(description.contains("'website'"), "{description}");

        // 400 800002: not JSON, or not the right shape.
        for body in ["not json", "[]", r#"{"qualification": 1}"#, ""] {
            let response = server
                .http
                .post(server.url(&submit_path))
                .bearer_auth(&partner)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_error(response, StatusCode::BAD_REQUEST, 800_002).await;
        }

        // 401 800001: no bearer token, with WWW-Authenticate.
        let response = server.send(Method::GET, &submit_path, None, None).await;
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_error(response, StatusCode::UNAUTHORIZED, 800_001).await;

        // 401 400: a token that is not valid.
        let response = server.get(&submit_path, "not.a.token").await;
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_error(response, StatusCode::UNAUTHORIZED, 400).await;

        // 403 900150: an App-only token on an App+User endpoint; a partner on the reviewer API.
        let app_only = server.token(PARTNER_A, Grant::App).await;
        let response = server
            .post(
                &submit_path,
                &app_only,
                &json!({"qualification": "StateOwnedEntity"}),
            )
            .await;
        assert_error(response, StatusCode::FORBIDDEN, 900_150).await;
        assert_error(
            server.get("/review/v1/requests", &partner).await,
            StatusCode::FORBIDDEN,
            900_150,
        )
        .await;

        // 404 60003: no such customer.
        let response = server
            .get(
                "/v1/customers/0a1b2c3d-0000-4000-8000-00000000000f/qualifications",
                &partner,
            )
            .await;
        assert_error(response, StatusCode::NOT_FOUND, 60_003).await;

        // 409 (Qualify's own): a duplicate submission.
        let soe = json!({"qualification": "StateOwnedEntity"});
        assert_eq!(
            server.post(&submit_path, &partner, &soe).await.status(),
            StatusCode::CREATED
        );
        assert_error(
            server.post(&submit_path, &partner, &soe).await,
            StatusCode::CONFLICT,
            610_001,
        )
        .await;

        // 413 (own): a body over the limit.
        let huge = json!({"qualification": "StateOwnedEntity", "padding": "x".repeat(100 * 1024)});
        let response = server.post(&submit_path, &partner, &huge).await;
        assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, 610_008).await;

        // 404 and 405 (own): no such route, or not with this method.
        assert_error(
            server.get("/v1/nothing-here", &partner).await,
            StatusCode::NOT_FOUND,
            610_009,
        )
        .await;
        let response = server
            .send(Method::DELETE, &submit_path, Some(&partner), None)
            .await;
        assert_error(response, StatusCode::METHOD_NOT_ALLOWED, 610_010).await;
        server.stop().await;
    }
}

#[tokio::test]
async fn an_unexpected_failure_is_a_generic_500_that_hides_its_cause() {
    for db in TestDatabase::every_backend("internal error").await {
        let server = TestServer::start(&db).await;
        let partner = server.token(PARTNER_A, Grant::User).await;
        let reviewer = server.token(OPERATOR, Grant::User).await;
        let customer = server
            .create_customer(&partner, "corrupt.onmicrosoft.com")
            .await;
        let soe = json!({"qualification": "StateOwnedEntity"});
        assert_eq!(
            server.submit(&partner, &customer, &soe).await.status(),
            StatusCode::CREATED
        );
        server
            .decide_for(
                &reviewer,
                &customer,
                &json!({"vettingStatus": "Denied", "vettingReason": "No"}),
            )
            .await;

        // Corrupt the stored reason behind the server's back: longer than any reason it accepts.
        corrupt_reasons(&db).await;

        let response = server
            .get(
                &format!("/v1/customers/{customer}/qualifications"),
                &partner,
            )
            .await;
        let description = assert_error(response, StatusCode::INTERNAL_SERVER_ERROR, 800_003).await;
        assert_eq!(description, "An unexpected error occurred.");
        server.stop().await;
    }
}

async fn corrupt_reasons(db: &TestDatabase) {
    let reason = "r".repeat(600);
    run_sql(
        db,
        format!("UPDATE vetting_requests SET reason = '{reason}'"),
    )
    .await;
}

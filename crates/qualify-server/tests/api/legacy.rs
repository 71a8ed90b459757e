//! The legacy singular endpoints (C and D) and the GCC validation codes (E).

use futures::future::join_all;
use qualify_server::wall_now;
use qualify_store::NewValidationCode;
use qualify_store::Tx;
use qualify_store::testing::TestDatabase;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

async fn put(server: &TestServer, token: &str, path: &str, body: &Value) -> reqwest::Response {
    server
        .send(Method::PUT, path, Some(token), Some(body))
        .await
}

#[tokio::test]
async fn the_legacy_calls_read_and_submit_through_the_same_lifecycle() {
    for db in TestDatabase::every_backend("legacy").await {
        let server = TestServer::start(&db).await;
        let partner = server.token(PARTNER_A, Grant::User).await;
        let reviewer = server.token(OPERATOR, Grant::User).await;
        let customer = server
            .create_customer(&partner, "legacy.onmicrosoft.com")
            .await;
        let path = format!("/v1/customers/{customer}/qualification");

        assert_eq!(
            server.get(&path, &partner).await.text().await.unwrap(),
            r#""none""#
        );
        let response = put(&server, &partner, &path, &json!("EDUCATION")).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"],
            "application/json; charset=utf-8"
        );
        assert_eq!(response.text().await.unwrap(), r#""education""#);

        // The reviewer sees a legacy submission, without an education segment.
        let open = server
            .review_list(&reviewer, &format!("customerId={customer}"))
            .await;
        assert_eq!(open[0]["channel"], "legacy");
        assert_eq!(open[0]["educationSegment"], Value::Null);
        // In review, the customer does not hold it yet.
        assert_eq!(
            server.get(&path, &partner).await.text().await.unwrap(),
            r#""none""#
        );
        server
            .decide_for(&reviewer, &customer, &json!({"vettingStatus": "Approved"}))
            .await;
        assert_eq!(
            server.get(&path, &partner).await.text().await.unwrap(),
            r#""education""#
        );
        assert_eq!(
            server.qualifications(&partner, &customer).await,
            json!({"qualifications": [{"qualification": "Education", "vettingStatus": "Approved"}]})
        );

        // The .NET enum's integers, and GCC's code in the query.
        let response = put(&server, &partner, &path, &json!(4)).await;
        assert_eq!(response.text().await.unwrap(), r#""state_owned_entity""#);
        let city = server
            .create_customer(&partner, "legacy-city.onmicrosoft.com")
            .await;
        let response = put(
            &server,
            &partner,
            &format!("/v1/customers/{city}/qualification?code=100001"),
            &json!("government_community_cloud"),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.text().await.unwrap(),
            r#""government_community_cloud""#
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn legacy_submissions_refuse_what_the_current_api_refuses() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let partner = server.token(PARTNER_A, Grant::User).await;
    let app = server.token(PARTNER_A, Grant::App).await;
    let customer = server
        .create_customer(&partner, "legacy-refused.onmicrosoft.com")
        .await;
    let path = format!("/v1/customers/{customer}/qualification");
    assert_error(
        put(&server, &app, &path, &json!("education")).await,
        StatusCode::FORBIDDEN,
        900_150,
    )
    .await;
    for none in [json!(0), json!("none"), json!(2), json!("nonprofit")] {
        assert_error(
            put(&server, &partner, &path, &none).await,
            StatusCode::BAD_REQUEST,
            3000,
        )
        .await;
    }
    assert_error(
        put(&server, &partner, &path, &json!(9)).await,
        StatusCode::BAD_REQUEST,
        3000,
    )
    .await;
    assert_error(
        put(&server, &partner, &path, &json!("charity")).await,
        StatusCode::BAD_REQUEST,
        900_126,
    )
    .await;
    assert_error(
        put(
            &server,
            &partner,
            &path,
            &json!({"qualification": "education"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        800_002,
    )
    .await;
    assert_error(
        put(
            &server,
            &partner,
            &path,
            &json!("government_community_cloud"),
        )
        .await,
        StatusCode::BAD_REQUEST,
        3000,
    )
    .await;
    assert_eq!(
        put(&server, &partner, &path, &json!(1)).await.status(),
        StatusCode::OK
    );
    assert_error(
        put(&server, &partner, &path, &json!(1)).await,
        StatusCode::CONFLICT,
        610_001,
    )
    .await;
    let missing = "/v1/customers/0a1b2c3d-0000-4000-8000-00000000000f/qualification";
    assert_error(
        server.get(missing, &partner).await,
        StatusCode::NOT_FOUND,
        60_003,
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn validation_codes_list_the_partners_own_with_exact_remaining_creates() {
    for db in TestDatabase::every_backend("validation codes").await {
        let server = TestServer::start(&db).await;
        let a = server.token(PARTNER_A, Grant::User).await;
        let b = server.token(PARTNER_B, Grant::App).await;
        let listed: Value = server
            .get("/v1/customers/all/validations", &a)
            .await
            .json()
            .await
            .unwrap();
        let code = &listed[0];
        assert_eq!(code["partnerId"], PARTNER_A.tenant_id);
        assert_eq!(code["validationId"], "100001");
        assert_eq!(
            (
                code["maxCreates"].as_u64(),
                code["remainingCreates"].as_u64()
            ),
            (Some(5), Some(5))
        );
        assert!(
            code["eTag"].as_str().unwrap().starts_with("W/\"datetime'"),
            "{code}"
        );
        assert!(code["organizationName"].as_str().is_some());
        assert_eq!(
            server
                .get("/v1/customers/all/validations", &b)
                .await
                .text()
                .await
                .unwrap(),
            "[]"
        );

        // A code of three creates, ten customers submitting at once: exactly three get through.
        let store = admin_store(&db).await;
        let new = NewValidationCode {
            partner_tenant_id: PARTNER_A.tenant_id.parse().unwrap(),
            validation_id: "300003",
            organization_name: "City of Fabrikam",
            max_creates: 3,
            dev: false,
        };
        store
            .transaction(async |tx: &mut Tx| tx.insert_validation_code(&new, wall_now()).await)
            .await
            .unwrap();
        store.close().await;
        let mut customers = Vec::new();
        for n in 0..10 {
            customers.push(
                server
                    .create_customer(&a, &format!("gcc{n}.onmicrosoft.com"))
                    .await,
            );
        }
        let body = json!({"qualification": "GovernmentCommunityCloud", "validationCode": "300003"});
        let statuses: Vec<StatusCode> =
            join_all(customers.iter().map(|c| server.submit(&a, c, &body)))
                .await
                .iter()
                .map(|r| r.status())
                .collect();
        assert_eq!(
            statuses
                .iter()
                .filter(|s| **s == StatusCode::CREATED)
                .count(),
            3,
            "{statuses:?}"
        );
        assert_eq!(
            statuses
                .iter()
                .filter(|s| **s == StatusCode::CONFLICT)
                .count(),
            7,
            "{statuses:?}"
        );
        let listed: Value = server
            .get("/v1/customers/all/validations", &a)
            .await
            .json()
            .await
            .unwrap();
        let fabrikam = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["validationId"] == "300003")
            .unwrap();
        assert_eq!(fabrikam["remainingCreates"], 0);
        server.stop().await;
    }
}

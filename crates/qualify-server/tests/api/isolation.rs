//! Partners never see each other's data, and can't even learn whether it exists.

use qualify_store::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// An error body with the customer id replaced, so two answers about different ids compare.
async fn body_without(response: reqwest::Response, id: &str) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    (status, body.to_string().replace(id, "<id>"))
}

#[tokio::test]
async fn partner_b_can_neither_read_nor_write_partner_as_customers() {
    for db in TestDatabase::every_backend("isolation").await {
        let server = TestServer::start(&db).await;
        let a = server.token(PARTNER_A, Grant::User).await;
        let b = server.token(PARTNER_B, Grant::User).await;
        let customer = server.create_customer(&a, "private.onmicrosoft.com").await;
        let missing = "0a1b2c3d-0000-4000-8000-00000000000f";
        let soe = json!({"qualification": "StateOwnedEntity"});

        for path in ["/v1/customers/{id}", "/v1/customers/{id}/qualifications"] {
            let theirs = body_without(
                server.get(&path.replace("{id}", &customer), &b).await,
                &customer,
            )
            .await;
            let nobodys = body_without(
                server.get(&path.replace("{id}", missing), &b).await,
                missing,
            )
            .await;
            assert_eq!(theirs.0, StatusCode::NOT_FOUND);
            assert_eq!(
                theirs, nobodys,
                "{path}: the same answer as for a customer that does not exist"
            );
        }
        let theirs = body_without(server.submit(&b, &customer, &soe).await, &customer).await;
        let nobodys = body_without(server.submit(&b, missing, &soe).await, missing).await;
        assert_eq!(theirs.0, StatusCode::NOT_FOUND);
        assert_eq!(theirs, nobodys);

        let listed: Value = server.get("/v1/customers", &b).await.json().await.unwrap();
        assert_eq!(listed["totalCount"], 0);
        // B's attempt stored nothing; A's customer is untouched.
        assert_eq!(
            server.qualifications(&a, &customer).await,
            json!({"qualifications": []})
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn partners_are_refused_the_reviewer_api_and_reviewers_the_partner_api() {
    for db in TestDatabase::every_backend("roles").await {
        let server = TestServer::start(&db).await;
        let partner = server.token(PARTNER_A, Grant::User).await;
        let partner_app = server.token(PARTNER_A, Grant::App).await;
        let reviewer = server.token(OPERATOR, Grant::User).await;
        let operator_app = server.token(OPERATOR, Grant::App).await;
        let customer = server
            .create_customer(&partner, "roles.onmicrosoft.com")
            .await;
        assert_eq!(
            server
                .submit(
                    &partner,
                    &customer,
                    &json!({"qualification": "StateOwnedEntity"})
                )
                .await
                .status(),
            StatusCode::CREATED
        );
        let request_id = server.review_list(&reviewer, "").await[0]["id"]
            .as_str()
            .unwrap()
            .to_owned();

        let decision = json!({"vettingStatus": "Approved"});
        for token in [&partner, &partner_app, &operator_app] {
            assert_error(
                server.get("/review/v1/requests", token).await,
                StatusCode::FORBIDDEN,
                900_150,
            )
            .await;
            assert_error(
                server
                    .get(&format!("/review/v1/requests/{request_id}"), token)
                    .await,
                StatusCode::FORBIDDEN,
                900_150,
            )
            .await;
            let response = server
                .post(
                    &format!("/review/v1/requests/{request_id}/decision"),
                    token,
                    &decision,
                )
                .await;
            assert_error(response, StatusCode::FORBIDDEN, 900_150).await;
        }
        // A reviewer is not a partner.
        assert_error(
            server.get("/v1/customers", &reviewer).await,
            StatusCode::FORBIDDEN,
            900_150,
        )
        .await;
        let response = server
            .submit(
                &reviewer,
                &customer,
                &json!({"qualification": "Education", "educationSegment": "K12"}),
            )
            .await;
        assert_error(response, StatusCode::FORBIDDEN, 900_150).await;
        // Nothing was decided by the refused attempts.
        assert_eq!(
            server.review_list(&reviewer, "status=InReview").await.len(),
            1
        );
        server.stop().await;
    }
}

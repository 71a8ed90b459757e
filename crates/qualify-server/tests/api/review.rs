//! The reviewer API: list, read, decide.

use qualify_store::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn reviewers_list_oldest_first_filter_and_page() {
    for db in TestDatabase::every_backend("review list").await {
        let server = TestServer::start(&db).await;
        let a = server.token(PARTNER_A, Grant::User).await;
        let b = server.token(PARTNER_B, Grant::User).await;
        let reviewer = server.token(OPERATOR, Grant::User).await;
        let mut customers = Vec::new();
        for (n, token) in [&a, &b, &a].into_iter().enumerate() {
            let customer = server
                .create_customer(token, &format!("queue{n}.onmicrosoft.com"))
                .await;
            let body = json!({"qualification": "Education", "educationSegment": "K12", "website": "https://queue.edu"});
            assert_eq!(
                server.submit(token, &customer, &body).await.status(),
                StatusCode::CREATED
            );
            customers.push(customer);
        }
        let all = server.review_list(&reviewer, "status=InReview").await;
        let order: Vec<&str> = all
            .iter()
            .map(|r| r["customerId"].as_str().unwrap())
            .collect();
        assert_eq!(
            order,
            customers.iter().map(String::as_str).collect::<Vec<_>>(),
            "oldest first"
        );
        let first = &all[0];
        for field in [
            "id",
            "partnerTenantId",
            "customerId",
            "qualification",
            "educationSegment",
            "website",
            "vettingStatus",
            "createdAt",
        ] {
            assert!(first.get(field).is_some(), "{field} in {first}");
        }
        assert!(first.get("decidedAt").is_none());

        let of_b = server
            .review_list(
                &reviewer,
                &format!("partnerTenantId={}", PARTNER_B.tenant_id),
            )
            .await;
        assert_eq!(of_b.len(), 1);
        assert_eq!(of_b[0]["customerId"], customers[1].as_str());

        let page: Value = server
            .get("/review/v1/requests?size=2", &reviewer)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), 2);
        let token = page["links"]["next"]["headers"][0]["value"]
            .as_str()
            .unwrap();
        let rest: Value = server
            .http
            .get(server.url("/review/v1/requests?size=2"))
            .bearer_auth(&reviewer)
            .header("MS-ContinuationToken", token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(rest["items"][0]["customerId"], customers[2].as_str());
        assert!(rest["links"]["next"].is_null());

        assert_error(
            server
                .get("/review/v1/requests?status=Pending", &reviewer)
                .await,
            StatusCode::BAD_REQUEST,
            900_126,
        )
        .await;
        assert_error(
            server
                .get("/review/v1/requests?customerId=nope", &reviewer)
                .await,
            StatusCode::BAD_REQUEST,
            900_118,
        )
        .await;
        server.stop().await;
    }
}

#[tokio::test]
async fn a_decision_records_who_when_and_why_and_is_final() {
    for db in TestDatabase::every_backend("decide").await {
        let server = TestServer::start(&db).await;
        let partner = server.token(PARTNER_A, Grant::User).await;
        let reviewer = server.token(OPERATOR, Grant::User).await;
        let customer = server
            .create_customer(&partner, "decide.onmicrosoft.com")
            .await;
        server
            .submit(
                &partner,
                &customer,
                &json!({"qualification": "Education", "educationSegment": "K12"}),
            )
            .await;
        let id = server.review_list(&reviewer, "status=InReview").await[0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("/review/v1/requests/{id}/decision");

        // A denial needs a reason; an approval takes none; InReview is no decision.
        let description = assert_error(
            server
                .post(&path, &reviewer, &json!({"vettingStatus": "Denied"}))
                .await,
            StatusCode::BAD_REQUEST,
            3000,
        )
        .await;
        assert!(description.contains("vettingReason"), "{description}");
        assert_error(
            server
                .post(&path, &reviewer, &json!({"vettingStatus": "InReview"}))
                .await,
            StatusCode::BAD_REQUEST,
            3000,
        )
        .await;
        assert_error(
            server
                .post(&path, &reviewer, &json!({"vettingStatus": "Maybe"}))
                .await,
            StatusCode::BAD_REQUEST,
            900_126,
        )
        .await;

        let decided: Value = server
            .post(
                &path,
                &reviewer,
                &json!({"vettingStatus": "Denied", "vettingReason": "Not an Academic Domain"}),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(decided["vettingStatus"], "Denied");
        assert_eq!(decided["vettingReason"], "Not an Academic Domain");
        assert_eq!(decided["decidedBy"], OPERATOR.username);
        assert!(decided["decidedAt"].as_str().unwrap().ends_with('Z'));

        let read: Value = server
            .get(&format!("/review/v1/requests/{id}"), &reviewer)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(read, decided);
        let description = assert_error(
            server
                .post(&path, &reviewer, &json!({"vettingStatus": "Approved"}))
                .await,
            StatusCode::CONFLICT,
            610_006,
        )
        .await;
        assert!(description.contains("Denied"), "{description}");

        let missing = "/review/v1/requests/0a1b2c3d-0000-4000-8000-00000000000f";
        assert_error(
            server.get(missing, &reviewer).await,
            StatusCode::NOT_FOUND,
            610_013,
        )
        .await;
        assert_error(
            server
                .post(
                    &format!("{missing}/decision"),
                    &reviewer,
                    &json!({"vettingStatus": "Approved"}),
                )
                .await,
            StatusCode::NOT_FOUND,
            610_013,
        )
        .await;
        server.stop().await;
    }
}

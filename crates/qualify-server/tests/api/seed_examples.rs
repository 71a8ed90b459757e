//! The seed document's examples, reproduced field for field.

use qualify_server::ContractProfile;
use qualify_store::testing::TestDatabase;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

async fn education_customer(server: &TestServer, token: &str, domain: &str) -> (String, Value) {
    let customer = server.create_customer(token, domain).await;
    let response = server
        .submit(
            token,
            &customer,
            &json!({"qualification": "Education", "educationSegment": "K12"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    (customer, created)
}

#[tokio::test]
async fn in_review_approved_and_denied_read_exactly_as_in_the_seed() {
    for db in TestDatabase::every_backend("seed examples").await {
        let server = TestServer::start(&db).await;
        let partner = server.token(PARTNER_A, Grant::User).await;
        let reviewer = server.token(OPERATOR, Grant::User).await;

        // In review: the date is the POST's vettingCreateDate, named vettingCreatedDate here.
        let (customer, created) =
            education_customer(&server, &partner, "school.onmicrosoft.com").await;
        let response = server
            .http
            .get(server.url(&format!("/v1/customers/{customer}/qualifications")))
            .bearer_auth(&partner)
            .header("Accept", "application/json")
            .header("MS-CorrelationId", SEED_CORRELATION_ID)
            .header("MS-RequestId", SEED_REQUEST_ID)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"],
            "application/json; charset=utf-8"
        );
        assert_eq!(response.headers()["ms-correlationid"], SEED_CORRELATION_ID);
        assert_eq!(response.headers()["ms-requestid"], SEED_REQUEST_ID);
        let body = response.text().await.unwrap();
        let date = created["vettingCreateDate"].as_str().unwrap();
        assert_eq!(
            body,
            format!(
                r#"{{"qualifications":[{{"qualification":"Education","vettingStatus":"InReview","vettingCreatedDate":"{date}"}}]}}"#
            )
        );

        // Approved: no date, no reason.
        server
            .decide_for(&reviewer, &customer, &json!({"vettingStatus": "Approved"}))
            .await;
        let body = server
            .get(
                &format!("/v1/customers/{customer}/qualifications"),
                &partner,
            )
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(
            body,
            r#"{"qualifications":[{"qualification":"Education","vettingStatus":"Approved"}]}"#
        );

        // Denied: the reason and the date.
        let (denied, created) =
            education_customer(&server, &partner, "not-a-school.onmicrosoft.com").await;
        server
            .decide_for(
                &reviewer,
                &denied,
                &json!({"vettingStatus": "Denied", "vettingReason": "Not an Education Customer"}),
            )
            .await;
        let body = server
            .get(&format!("/v1/customers/{denied}/qualifications"), &partner)
            .await
            .text()
            .await
            .unwrap();
        let date = created["vettingCreateDate"].as_str().unwrap();
        assert_eq!(
            body,
            format!(
                r#"{{"qualifications":[{{"qualification":"Education","vettingStatus":"Denied","vettingReason":"Not an Education Customer","vettingCreatedDate":"{date}"}}]}}"#
            )
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn a_submission_answers_201_in_review_with_its_create_date() {
    for db in TestDatabase::every_backend("post answer").await {
        let server = TestServer::start(&db).await;
        let partner = server.token(PARTNER_A, Grant::User).await;
        let customer = server
            .create_customer(&partner, "answer.onmicrosoft.com")
            .await;
        let response = server
            .submit(
                &partner,
                &customer,
                &json!({"qualification": "Education", "educationSegment": "HigherEducation"}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(
            response.headers()["content-type"],
            "application/json; charset=utf-8"
        );
        let body: Value = response.json().await.unwrap();
        let keys: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            ["qualification", "vettingCreateDate", "vettingStatus"]
        );
        assert_eq!(body["qualification"], "Education");
        assert_eq!(body["vettingStatus"], "InReview");
        let date = body["vettingCreateDate"].as_str().unwrap();
        assert!(
            date.ends_with('Z') && date.len() == "2020-12-03T10:37:38.885Z".len(),
            "{date}"
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn a_customer_without_qualifications_has_an_empty_list() {
    for db in TestDatabase::every_backend("empty list").await {
        let server = TestServer::start(&db).await;
        let partner = server.token(PARTNER_A, Grant::App).await;
        let customer = server
            .create_customer(&partner, "new.onmicrosoft.com")
            .await;
        let body = server
            .get(
                &format!("/v1/customers/{customer}/qualifications"),
                &partner,
            )
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(body, r#"{"qualifications":[]}"#);
        server.stop().await;
    }
}

#[tokio::test]
async fn the_sdk_profile_answers_a_bare_array_with_vetting_create_date() {
    for db in TestDatabase::every_backend("sdk profile").await {
        let server = TestServer::start_with(&db, |s| s.http.contract = ContractProfile::Sdk).await;
        let partner = server.token(PARTNER_A, Grant::User).await;
        let (customer, created) =
            education_customer(&server, &partner, "sdk.onmicrosoft.com").await;
        let response = server
            .send(
                Method::GET,
                &format!("/v1/customers/{customer}/qualifications"),
                Some(&partner),
                None,
            )
            .await;
        let body = response.text().await.unwrap();
        let date = created["vettingCreateDate"].as_str().unwrap();
        assert_eq!(
            body,
            format!(
                r#"[{{"qualification":"Education","vettingStatus":"InReview","vettingCreateDate":"{date}"}}]"#
            )
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn several_qualifications_each_show_their_latest_request() {
    for db in TestDatabase::every_backend("several").await {
        let server = TestServer::start(&db).await;
        let partner = server.token(PARTNER_A, Grant::User).await;
        let reviewer = server.token(OPERATOR, Grant::User).await;
        let customer = server
            .create_customer(&partner, "both.onmicrosoft.com")
            .await;
        let education = json!({"qualification": "Education", "educationSegment": "K12"});
        assert_eq!(
            server
                .submit(&partner, &customer, &education)
                .await
                .status(),
            StatusCode::CREATED
        );
        server
            .decide_for(
                &reviewer,
                &customer,
                &json!({"vettingStatus": "Denied", "vettingReason": "Not an Academic Domain"}),
            )
            .await;
        assert_eq!(
            server
                .submit(&partner, &customer, &education)
                .await
                .status(),
            StatusCode::CREATED
        );
        let soe = json!({"qualification": "StateOwnedEntity"});
        assert_eq!(
            server.submit(&partner, &customer, &soe).await.status(),
            StatusCode::CREATED
        );

        let body = server.qualifications(&partner, &customer).await;
        let states: Vec<(&str, &str)> = body["qualifications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| {
                (
                    q["qualification"].as_str().unwrap(),
                    q["vettingStatus"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            states,
            [("Education", "InReview"), ("StateOwnedEntity", "InReview")]
        );
        server.stop().await;
    }
}

//! Submitting qualifications: the rules of `partner-center-api.md` §3 through HTTP.

use qualify_store::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn property_names_and_enum_values_are_matched_case_insensitively() {
    for db in TestDatabase::every_backend("case").await {
        let server = TestServer::start(&db).await;
        let partner = server.token(PARTNER_A, Grant::User).await;
        let customer = server
            .create_customer(&partner, "case.onmicrosoft.com")
            .await;
        let body = json!({"Qualification": "EDUCATION", "EDUCATIONSEGMENT": "higherEducation", "WebSite": "contoso.edu"});
        let response = server.submit(&partner, &customer, &body).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let created: serde_json::Value = response.json().await.unwrap();
        assert_eq!(created["qualification"], "Education");

        let reviewer = server.token(OPERATOR, Grant::User).await;
        let open = server
            .review_list(&reviewer, &format!("customerId={customer}"))
            .await;
        assert_eq!(open[0]["educationSegment"], "HigherEducation");
        assert_eq!(open[0]["website"], "contoso.edu");
        server.stop().await;
    }
}

#[tokio::test]
async fn an_app_only_token_cannot_submit() {
    for db in TestDatabase::every_backend("app only").await {
        let server = TestServer::start(&db).await;
        let app = server.token(PARTNER_A, Grant::App).await;
        let customer = server
            .create_customer(&app, "apponly.onmicrosoft.com")
            .await;
        let response = server
            .submit(
                &app,
                &customer,
                &json!({"qualification": "StateOwnedEntity"}),
            )
            .await;
        let description = assert_error(response, StatusCode::FORBIDDEN, 900_150).await;
        assert!(description.contains("App+User"), "{description}");
        // It may still read.
        assert_eq!(
            server.qualifications(&app, &customer).await,
            json!({"qualifications": []})
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn education_and_gcc_exclude_each_other_while_state_owned_entity_combines() {
    for db in TestDatabase::every_backend("exclusion").await {
        let server = TestServer::start(&db).await;
        let partner = server.token(PARTNER_A, Grant::User).await;
        let customer = server
            .create_customer(&partner, "city.onmicrosoft.com")
            .await;
        let gcc = json!({"qualification": "GovernmentCommunityCloud", "validationCode": "100001"});
        assert_eq!(
            server.submit(&partner, &customer, &gcc).await.status(),
            StatusCode::CREATED
        );
        let education = json!({"qualification": "Education", "educationSegment": "K12"});
        assert_error(
            server.submit(&partner, &customer, &education).await,
            StatusCode::CONFLICT,
            610_002,
        )
        .await;
        let soe = json!({"qualification": "StateOwnedEntity"});
        assert_eq!(
            server.submit(&partner, &customer, &soe).await.status(),
            StatusCode::CREATED
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn a_held_qualification_is_a_duplicate_and_a_denied_one_may_be_resubmitted_up_to_the_limit() {
    for db in TestDatabase::every_backend("resubmission").await {
        let server = TestServer::start(&db).await;
        let partner = server.token(PARTNER_A, Grant::User).await;
        let reviewer = server.token(OPERATOR, Grant::User).await;
        let customer = server
            .create_customer(&partner, "again.onmicrosoft.com")
            .await;
        let education = json!({"qualification": "Education", "educationSegment": "K12"});
        let denial =
            json!({"vettingStatus": "Denied", "vettingReason": "Not an Education Customer"});

        assert_eq!(
            server
                .submit(&partner, &customer, &education)
                .await
                .status(),
            StatusCode::CREATED
        );
        assert_error(
            server.submit(&partner, &customer, &education).await,
            StatusCode::CONFLICT,
            610_001,
        )
        .await;
        for attempt in 2..=3 {
            server.decide_for(&reviewer, &customer, &denial).await;
            let response = server.submit(&partner, &customer, &education).await;
            assert_eq!(response.status(), StatusCode::CREATED, "attempt {attempt}");
        }
        server.decide_for(&reviewer, &customer, &denial).await;
        let description = assert_error(
            server.submit(&partner, &customer, &education).await,
            StatusCode::CONFLICT,
            610_003,
        )
        .await;
        assert!(description.contains('3'), "{description}");
        server.stop().await;
    }
}

#[tokio::test]
async fn the_resubmission_limit_is_configurable() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start_with(&db, |s| s.vetting.max_vetting_requests = 1).await;
    let partner = server.token(PARTNER_A, Grant::User).await;
    let reviewer = server.token(OPERATOR, Grant::User).await;
    let customer = server
        .create_customer(&partner, "once.onmicrosoft.com")
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
    assert_error(
        server.submit(&partner, &customer, &soe).await,
        StatusCode::CONFLICT,
        610_003,
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn gcc_needs_one_of_the_partners_codes_and_uses_one_create() {
    for db in TestDatabase::every_backend("gcc codes").await {
        let server = TestServer::start(&db).await;
        let a = server.token(PARTNER_A, Grant::User).await;
        let b = server.token(PARTNER_B, Grant::User).await;
        let gcc = json!({"qualification": "GovernmentCommunityCloud", "validationCode": "100001"});

        // Partner B does not own 100001.
        let customer_b = server.create_customer(&b, "city-b.onmicrosoft.com").await;
        let description = assert_error(
            server.submit(&b, &customer_b, &gcc).await,
            StatusCode::BAD_REQUEST,
            3000,
        )
        .await;
        assert!(description.contains("100001"), "{description}");
        // No code at all.
        let no_code = json!({"qualification": "GovernmentCommunityCloud"});
        let description = assert_error(
            server.submit(&a, &customer_b, &no_code).await,
            StatusCode::BAD_REQUEST,
            3000,
        )
        .await;
        assert!(description.contains("validationCode"), "{description}");

        // 100001 allows five creates; the query form (?code=) counts like the body's.
        for n in 0..5 {
            let customer = server
                .create_customer(&a, &format!("city{n}.onmicrosoft.com"))
                .await;
            let response = if n % 2 == 0 {
                server.submit(&a, &customer, &gcc).await
            } else {
                let path = format!("/v1/customers/{customer}/qualifications?code=100001");
                server
                    .post(
                        &path,
                        &a,
                        &json!({"qualification": "GovernmentCommunityCloud"}),
                    )
                    .await
            };
            assert_eq!(response.status(), StatusCode::CREATED, "create {n}");
        }
        let sixth = server.create_customer(&a, "city6.onmicrosoft.com").await;
        assert_error(
            server.submit(&a, &sixth, &gcc).await,
            StatusCode::CONFLICT,
            610_004,
        )
        .await;
        server.stop().await;
    }
}

#[tokio::test]
async fn a_refused_submission_stores_nothing() {
    for db in TestDatabase::every_backend("refused stores nothing").await {
        let server = TestServer::start(&db).await;
        let partner = server.token(PARTNER_A, Grant::User).await;
        let reviewer = server.token(OPERATOR, Grant::User).await;
        let customer = server
            .create_customer(&partner, "nothing.onmicrosoft.com")
            .await;
        for bad in [
            json!({"qualification": "Education"}),
            json!({"qualification": "Education", "educationSegment": "Kindergarten"}),
            json!({"qualification": "Nonprofit"}),
            json!({"qualification": "GovernmentCommunityCloud", "validationCode": "999999"}),
            json!({"qualification": "StateOwnedEntity", "website": "contoso.edu"}),
        ] {
            let response = server.submit(&partner, &customer, &bad).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        }
        assert_eq!(
            server.qualifications(&partner, &customer).await,
            json!({"qualifications": []})
        );
        assert!(
            server
                .review_list(&reviewer, &format!("customerId={customer}"))
                .await
                .is_empty()
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn fields_a_client_must_not_set_are_ignored() {
    for db in TestDatabase::every_backend("ignored fields").await {
        let server = TestServer::start(&db).await;
        let partner = server.token(PARTNER_A, Grant::User).await;
        let customer = server
            .create_customer(&partner, "sneaky.onmicrosoft.com")
            .await;
        let body = json!({"qualification": "StateOwnedEntity", "vettingStatus": "Approved", "vettingReason": "trust me"});
        let response = server.submit(&partner, &customer, &body).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let list = server.qualifications(&partner, &customer).await;
        assert_eq!(list["qualifications"][0]["vettingStatus"], "InReview");
        server.stop().await;
    }
}

//! A GET may be answered from memory (SQLite's read cache), never stale: each write acknowledged
//! before it is seen, whoever made it (this server, another node, another process on the
//! database); on PostgreSQL every node reads the database itself.

use qualify_server::wall_now;
use qualify_store::Tx;
use qualify_store::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// The qualifications of `customer` as a list of `(qualification, vettingStatus)`.
async fn states(server: &TestServer, token: &str, customer: &str) -> Vec<(String, String)> {
    let list: Value = server.qualifications(token, customer).await;
    list["qualifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            (
                q["qualification"].as_str().unwrap().to_owned(),
                q["vettingStatus"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pair(qualification: &str, status: &str) -> (String, String) {
    (qualification.to_owned(), status.to_owned())
}

#[tokio::test]
async fn the_next_get_sees_every_write_acknowledged_before_it() {
    for db in TestDatabase::every_backend("read cache writes").await {
        let server = TestServer::start(&db).await;
        let partner = server.token(PARTNER_A, Grant::User).await;
        let reviewer = server.token(OPERATOR, Grant::User).await;
        let customer = server
            .create_customer(&partner, "cached.onmicrosoft.com")
            .await;
        // Read twice: the second from memory where there is a cache.
        for _ in 0..2 {
            assert_eq!(states(&server, &partner, &customer).await, vec![]);
        }

        // A submission.
        let education = json!({"qualification": "Education", "educationSegment": "K12"});
        assert_eq!(
            server
                .submit(&partner, &customer, &education)
                .await
                .status(),
            StatusCode::CREATED
        );
        assert_eq!(
            states(&server, &partner, &customer).await,
            vec![pair("Education", "InReview")]
        );
        // A reviewer's decision.
        server
            .decide_for(&reviewer, &customer, &json!({"vettingStatus": "Approved"}))
            .await;
        assert_eq!(
            states(&server, &partner, &customer).await,
            vec![pair("Education", "Approved")]
        );

        // A rule's decision, due a day later on the partner's clock, made by an advance.
        let rules = json!({"rules": [{"name": "later", "qualification": "StateOwnedEntity",
            "decision": "Denied", "reason": "Not state-owned", "after": "1d"}]});
        let response = server
            .send(
                reqwest::Method::PUT,
                "/test/v1/rules",
                Some(&partner),
                Some(&rules),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let soe = json!({"qualification": "StateOwnedEntity"});
        assert_eq!(
            server.submit(&partner, &customer, &soe).await.status(),
            StatusCode::CREATED
        );
        assert_eq!(
            states(&server, &partner, &customer).await,
            vec![
                pair("Education", "Approved"),
                pair("StateOwnedEntity", "InReview")
            ]
        );
        let advanced = server
            .post(
                "/test/v1/clock/advance",
                &partner,
                &json!({"seconds": 2 * 24 * 3600}),
            )
            .await;
        assert_eq!(advanced.status(), StatusCode::OK);
        assert_eq!(
            states(&server, &partner, &customer).await,
            vec![
                pair("Education", "Approved"),
                pair("StateOwnedEntity", "Denied")
            ]
        );

        // A data reset: the customer is gone.
        let reset = server
            .send(
                reqwest::Method::DELETE,
                "/test/v1/data",
                Some(&partner),
                None,
            )
            .await;
        assert!(reset.status().is_success(), "{}", reset.status());
        let gone = server
            .get(
                &format!("/v1/customers/{customer}/qualifications"),
                &partner,
            )
            .await;
        assert_error(gone, StatusCode::NOT_FOUND, 60_003).await;
        server.stop().await;
    }
}

#[tokio::test]
async fn a_write_through_one_server_or_another_process_is_seen_by_the_next_get_on_every_server() {
    for db in TestDatabase::every_backend("read cache nodes").await {
        // Two servers on one database: nodes on PostgreSQL; on SQLite, two processes' worth
        // of stores on one file, each with its cache.
        let configure = |s: &mut qualify_server::Settings| {
            s.http.public_url = Some("http://qualify.test".parse().unwrap())
        };
        // One after the other: two first starts on one new SQLite file race to migrate it.
        let one = TestServer::start_with(&db, configure).await;
        let two = TestServer::start_with(&db, configure).await;
        let partner = one.token(PARTNER_B, Grant::User).await;
        let reviewer = one.token(OPERATOR, Grant::User).await;
        let customer = one.create_customer(&partner, "two.onmicrosoft.com").await;
        let education = json!({"qualification": "Education", "educationSegment": "K12"});
        assert_eq!(
            one.submit(&partner, &customer, &education).await.status(),
            StatusCode::CREATED
        );
        for server in [&one, &two] {
            assert_eq!(
                states(server, &partner, &customer).await,
                vec![pair("Education", "InReview")]
            );
        }
        // Decided through the second: the first sees it on its next read.
        two.decide_for(&reviewer, &customer, &json!({"vettingStatus": "Approved"}))
            .await;
        for server in [&one, &two] {
            assert_eq!(
                states(server, &partner, &customer).await,
                vec![pair("Education", "Approved")]
            );
        }

        // An operator disables the partner's app (as `qualify admin` does, from its own
        // store): its token is refused by the next request to either server.
        let app = one.token(PARTNER_B, Grant::App).await;
        let path = format!("/v1/customers/{customer}/qualifications");
        for server in [&one, &two] {
            assert_eq!(server.get(&path, &app).await.status(), StatusCode::OK);
        }
        let operator = admin_store(&db).await;
        let client_id = claims_of(&app)["appid"].as_str().unwrap().parse().unwrap();
        operator
            .transaction(async |tx: &mut Tx| tx.set_app_disabled(client_id, true, wall_now()).await)
            .await
            .unwrap();
        for server in [&one, &two] {
            assert_error(server.get(&path, &app).await, StatusCode::UNAUTHORIZED, 400).await;
        }
        operator.close().await;
        one.stop().await;
        two.stop().await;
    }
}

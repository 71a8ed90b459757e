//! Several server processes on one PostgreSQL database behave as one service: what one node
//! writes the other reads at once, retries are recognised across nodes, tokens are shared, and
//! races between nodes are settled by the database.

use futures::future::join_all;
use qualify_store::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// Two nodes on one fresh PostgreSQL database, started at the same moment, behind one public URL.
async fn two_nodes(db: &TestDatabase) -> (TestServer, TestServer) {
    let configure = |s: &mut qualify_server::Settings| {
        s.http.public_url = Some("http://qualify.test".parse().unwrap())
    };
    tokio::join!(
        TestServer::start_with(db, configure),
        TestServer::start_with(db, configure)
    )
}

#[tokio::test]
async fn two_nodes_on_one_database_behave_as_one_service() {
    let Some(db) = TestDatabase::postgres("multi-node").await else {
        return;
    };
    let (one, two) = two_nodes(&db).await;

    // A token from node 1 is accepted by node 2: the signing keys are shared.
    let partner = one.token(PARTNER_A, Grant::User).await;
    let reviewer = two.token(OPERATOR, Grant::User).await;
    let customer = one
        .create_customer(&partner, "shared.onmicrosoft.com")
        .await;
    let read: Value = two
        .get(&format!("/v1/customers/{customer}"), &partner)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        read["id"],
        customer.as_str(),
        "created through node 1, read through node 2"
    );

    // A retry landing on the other node still gets the first answer.
    let path = format!("/v1/customers/{customer}/qualifications");
    let body = json!({"qualification": "Education", "educationSegment": "HigherEducation"});
    let key = "aa11aa11-0000-4000-8000-000000000001";
    let send = |server: &TestServer| {
        server
            .http
            .post(server.url(&path))
            .bearer_auth(&partner)
            .header("MS-RequestId", key)
            .json(&body)
            .send()
    };
    let first = send(&two).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first = first.text().await.unwrap();
    let retry = send(&one).await.unwrap();
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.text().await.unwrap(), first);

    // A decision on node 2 is visible on node 1 at once.
    two.decide_for(&reviewer, &customer, &json!({"vettingStatus": "Approved"}))
        .await;
    assert_eq!(
        one.qualifications(&partner, &customer).await,
        json!({"qualifications": [{"qualification": "Education", "vettingStatus": "Approved"}]})
    );
    one.stop().await;
    two.stop().await;
}

#[tokio::test]
async fn races_between_nodes_are_settled_by_the_database() {
    let Some(db) = TestDatabase::postgres("multi-node races").await else {
        return;
    };
    let (one, two) = two_nodes(&db).await;
    let nodes = [&one, &two];
    let a = one.token(PARTNER_A, Grant::User).await;
    let b = two.token(PARTNER_B, Grant::User).await;
    let reviewer = one.token(OPERATOR, Grant::User).await;
    assert_eq!(
        jsonwebtoken::decode_header(&a).unwrap().kid,
        jsonwebtoken::decode_header(&b).unwrap().kid,
        "nodes started at once agree on one signing key"
    );

    // Ten customers; for each, eight clients (two partners' tokens are irrelevant: a customer is
    // one partner's) submit the same qualification at once through alternating nodes.
    let mut customers = Vec::new();
    for n in 0..10 {
        let (token, node) = if n % 2 == 0 { (&a, &one) } else { (&b, &two) };
        customers.push((
            node.create_customer(token, &format!("race{n}.onmicrosoft.com"))
                .await,
            token.clone(),
        ));
    }
    let submissions = customers.iter().flat_map(|(customer, token)| {
        (0..8).map(move |i| {
            let node = nodes[i % 2];
            let body = json!({"qualification": "StateOwnedEntity"});
            async move {
                (
                    customer.clone(),
                    node.submit(token, customer, &body).await.status(),
                )
            }
        })
    });
    let outcomes = join_all(submissions).await;
    for (customer, _) in &customers {
        let statuses: Vec<StatusCode> = outcomes
            .iter()
            .filter(|(c, _)| c == customer)
            .map(|(_, s)| *s)
            .collect();
        let created = statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count();
        let refused = statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count();
        assert_eq!((created, refused), (1, 7), "{customer}: {statuses:?}");
    }
    let open = one.review_list(&reviewer, "status=InReview&size=500").await;
    assert_eq!(
        open.len(),
        customers.len(),
        "exactly one request per customer"
    );

    // Two reviewers decide each request at once, through different nodes: one wins.
    let reviewer = &reviewer;
    let decisions = open.iter().flat_map(|request| {
        let id = request["id"].as_str().unwrap().to_owned();
        nodes.into_iter().enumerate().map(move |(i, node)| {
            let id = id.clone();
            let decision = if i == 0 {
                json!({"vettingStatus": "Approved"})
            } else {
                json!({"vettingStatus": "Denied", "vettingReason": "Not a State Owned Entity"})
            };
            async move {
                (
                    id.clone(),
                    node.post(
                        &format!("/review/v1/requests/{id}/decision"),
                        reviewer,
                        &decision,
                    )
                    .await
                    .status(),
                )
            }
        })
    });
    let outcomes = join_all(decisions).await;
    for request in &open {
        let id = request["id"].as_str().unwrap();
        let mut statuses: Vec<StatusCode> = outcomes
            .iter()
            .filter(|(r, _)| r == id)
            .map(|(_, s)| *s)
            .collect();
        statuses.sort();
        assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT], "{id}");
    }
    assert!(
        one.review_list(reviewer, "status=InReview")
            .await
            .is_empty()
    );
    one.stop().await;
    two.stop().await;
}

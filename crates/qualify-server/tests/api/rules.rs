//! Vetting that runs by itself: rules decide at once, after a delay on the partner's clock, or
//! leave the request to a reviewer; a test moves a partner's clock instead of waiting.

use std::path::PathBuf;

use qualify_store::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// The rules of these tests: universities approved after two days, free mail denied at once,
/// state-owned entities approved at once, GCC held for a reviewer.
const RULES: &str = r#"
[[rule]]
name = "free-mail"
customer_domain = ["*.gmail.com", "*.outlook.com"]
decision = "Denied"
reason = "Not an Education Customer"

[[rule]]
name = "universities"
qualification = "Education"
customer_domain = "*.edu"
decision = "Approved"
after = "2d"

[[rule]]
name = "state-owned"
qualification = "StateOwnedEntity"
decision = "Approved"

[[rule]]
name = "gcc-by-hand"
qualification = "GovernmentCommunityCloud"
decision = "InReview"
"#;

const DAY: u64 = 24 * 3600;

/// A rules file with `text`, kept for as long as the returned directory lives.
fn rules_file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

async fn server_with_rules(db: &TestDatabase, path: &std::path::Path) -> TestServer {
    let path = path.to_owned();
    TestServer::start_with(db, move |s| {
        s.vetting.rules = Some(path);
        // Every node of one deployment has the same public URL: a token of one is good on all.
        s.http.public_url = Some("http://qualify.test".parse().unwrap());
    })
    .await
}

/// The one qualification of `customer`, as its partner reads it.
async fn only_qualification(server: &TestServer, token: &str, customer: &str) -> Value {
    let list = server.qualifications(token, customer).await;
    let items = list["qualifications"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    items[0].clone()
}

/// The reviewer API's one request of `customer`.
async fn the_request(server: &TestServer, reviewer: &str, customer: &str) -> Value {
    let items = server
        .review_list(reviewer, &format!("customerId={customer}"))
        .await;
    assert_eq!(items.len(), 1, "{items:?}");
    items[0].clone()
}

async fn advance(server: &TestServer, token: &str, seconds: u64) -> Value {
    let response = server
        .post(
            "/test/v1/clock/advance",
            token,
            &json!({ "seconds": seconds }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn clock(server: &TestServer, token: &str) -> qualify_types::Timestamp {
    let response = server.get("/test/v1/clock", token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    serde_json::from_value(body["now"].clone()).unwrap()
}

fn millis(value: &Value) -> i64 {
    serde_json::from_value::<qualify_types::Timestamp>(value.clone())
        .unwrap()
        .unix_millis()
}

#[tokio::test]
async fn a_rule_without_a_delay_decides_in_the_submission_itself() {
    let (_dir, path) = rules_file(RULES);
    for db in TestDatabase::every_backend("rules at once").await {
        let server = server_with_rules(&db, &path).await;
        let partner = server.token(PARTNER_A, Grant::User).await;
        let reviewer = server.token(OPERATOR, Grant::User).await;

        let denied = server.create_customer(&partner, "school.gmail.com").await;
        let response = server
            .submit(
                &partner,
                &denied,
                &json!({"qualification": "Education", "educationSegment": "K12"}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["vettingStatus"], "Denied", "{answer}");
        assert_eq!(answer["vettingReason"], "Not an Education Customer");
        let read = only_qualification(&server, &partner, &denied).await;
        assert_eq!(read["vettingStatus"], "Denied");
        assert_eq!(read["vettingReason"], "Not an Education Customer");

        let approved = server.create_customer(&partner, "utility.example").await;
        let answer: Value = server
            .submit(
                &partner,
                &approved,
                &json!({"qualification": "StateOwnedEntity"}),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(answer["vettingStatus"], "Approved", "{answer}");
        assert!(answer.get("vettingReason").is_none());
        assert_eq!(
            only_qualification(&server, &partner, &approved).await["vettingStatus"],
            "Approved"
        );

        // The reviewer API says who decided: the rule, at the submission's time.
        let request = the_request(&server, &reviewer, &approved).await;
        assert_eq!(request["decidedBy"], "rule:state-owned");
        assert_eq!(request["matchedRule"], "state-owned");
        assert_eq!(request["decidedAt"], request["createdAt"]);
        let request = the_request(&server, &reviewer, &denied).await;
        assert_eq!(request["decidedBy"], "rule:free-mail");

        // And so does the audit trail.
        let store = admin_store(&db).await;
        let decisions: Vec<_> = store
            .audit_trail(0, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.action == "vetting.decided")
            .collect();
        let actors: Vec<&str> = decisions.iter().map(|r| r.actor.as_str()).collect();
        assert_eq!(actors, ["rule:free-mail", "rule:state-owned"]);
        store.close().await;
        server.stop().await;
    }
}

#[tokio::test]
async fn a_timed_rule_decides_when_the_partners_clock_passes_its_delay() {
    let (_dir, path) = rules_file(RULES);
    for db in TestDatabase::every_backend("timed rule").await {
        let server = server_with_rules(&db, &path).await;
        let partner = server.token(PARTNER_A, Grant::User).await;
        let reviewer = server.token(OPERATOR, Grant::User).await;
        let customer = server.create_customer(&partner, "state.edu").await;
        let answer: Value = server
            .submit(
                &partner,
                &customer,
                &json!({"qualification": "Education", "educationSegment": "HigherEducation"}),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(answer["vettingStatus"], "InReview", "{answer}");
        let submitted_at = millis(&answer["vettingCreateDate"]);

        // A day later on the partner's clock: still in review.
        advance(&server, &partner, DAY).await;
        let read = only_qualification(&server, &partner, &customer).await;
        assert_eq!(read["vettingStatus"], "InReview");
        let request = the_request(&server, &reviewer, &customer).await;
        assert_eq!(request["matchedRule"], "universities");
        assert!(request.get("decidedBy").is_none());

        // Past the second day: decided before the advance answered, dated when it fell due.
        let moved = advance(&server, &partner, DAY + 1).await;
        assert!(millis(&moved["now"]) >= submitted_at + 2 * DAY as i64 * 1000);
        let read = only_qualification(&server, &partner, &customer).await;
        assert_eq!(read["vettingStatus"], "Approved", "{read}");
        let request = the_request(&server, &reviewer, &customer).await;
        assert_eq!(request["decidedBy"], "rule:universities");
        assert_eq!(millis(&request["createdAt"]), submitted_at);
        assert_eq!(
            millis(&request["decidedAt"]),
            submitted_at + 2 * DAY as i64 * 1000
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn a_reviewer_who_decides_before_a_timed_rule_wins() {
    let (_dir, path) = rules_file(RULES);
    for db in TestDatabase::every_backend("reviewer first").await {
        let server = server_with_rules(&db, &path).await;
        let partner = server.token(PARTNER_A, Grant::User).await;
        let reviewer = server.token(OPERATOR, Grant::User).await;
        let customer = server.create_customer(&partner, "college.edu").await;
        server
            .submit(
                &partner,
                &customer,
                &json!({"qualification": "Education", "educationSegment": "HigherEducation"}),
            )
            .await;
        server
            .decide_for(
                &reviewer,
                &customer,
                &json!({"vettingStatus": "Denied", "vettingReason": "Not an Academic Domain"}),
            )
            .await;
        advance(&server, &partner, 3 * DAY).await;
        let read = only_qualification(&server, &partner, &customer).await;
        assert_eq!(read["vettingStatus"], "Denied");
        assert_eq!(read["vettingReason"], "Not an Academic Domain");
        let request = the_request(&server, &reviewer, &customer).await;
        assert_eq!(request["decidedBy"], OPERATOR.username);
        // The rule's job ran, found the request decided, and did nothing.
        let store = admin_store(&db).await;
        let jobs = store.jobs().await.unwrap();
        let decision = jobs.iter().find(|j| j.kind == "vetting.decide").unwrap();
        assert_eq!(
            (decision.state, decision.attempts),
            (qualify_store::JobState::Done, 1)
        );
        let decided: Vec<_> = store
            .audit_trail(0, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.action == "vetting.decided")
            .collect();
        assert_eq!(decided.len(), 1, "one decision, the reviewer's");
        store.close().await;
        server.stop().await;
    }
}

#[tokio::test]
async fn a_restart_between_submission_and_due_time_loses_nothing() {
    let (_dir, path) = rules_file(RULES);
    for db in TestDatabase::every_backend("rule across restart").await {
        let server = server_with_rules(&db, &path).await;
        let partner = server.token(PARTNER_A, Grant::User).await;
        let customer = server.create_customer(&partner, "tech.edu").await;
        server
            .submit(
                &partner,
                &customer,
                &json!({"qualification": "Education", "educationSegment": "HigherEducation"}),
            )
            .await;
        advance(&server, &partner, DAY).await;
        server.stop().await;

        let server = server_with_rules(&db, &path).await;
        let partner = server.token(PARTNER_A, Grant::User).await;
        assert_eq!(
            only_qualification(&server, &partner, &customer).await["vettingStatus"],
            "InReview"
        );
        advance(&server, &partner, DAY).await;
        assert_eq!(
            only_qualification(&server, &partner, &customer).await["vettingStatus"],
            "Approved"
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn two_nodes_make_each_due_decision_exactly_once() {
    let Some(db) = TestDatabase::postgres("rules on two nodes").await else {
        return;
    };
    let (_dir, path) = rules_file(RULES);
    let first = server_with_rules(&db, &path).await;
    let second = server_with_rules(&db, &path).await;
    let partner = first.token(PARTNER_A, Grant::User).await;
    let mut customers = Vec::new();
    for n in 0..12 {
        let customer = first
            .create_customer(&partner, &format!("campus{n}.edu"))
            .await;
        first
            .submit(
                &partner,
                &customer,
                &json!({"qualification": "Education", "educationSegment": "HigherEducation"}),
            )
            .await;
        customers.push(customer);
    }
    // Both nodes advance at once (their workers run too): the partner's clock is one, in the
    // database, and the twelve decisions fall due on both.
    let (a, b) = tokio::join!(
        advance(&first, &partner, DAY + 1),
        advance(&second, &partner, DAY)
    );
    assert!(
        millis(&a["now"]).max(millis(&b["now"]))
            >= clock(&first, &partner).await.unix_millis() - 60_000
    );
    for customer in &customers {
        assert_eq!(
            only_qualification(&second, &partner, customer).await["vettingStatus"],
            "Approved"
        );
    }
    let store = admin_store(&db).await;
    let decided = store
        .audit_trail(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "vetting.decided")
        .count();
    assert_eq!(decided, customers.len(), "each decision made once");
    store.close().await;
    first.stop().await;
    second.stop().await;
}

#[tokio::test]
async fn advancing_one_partners_clock_changes_nothing_for_another() {
    let (_dir, path) = rules_file(RULES);
    for db in TestDatabase::every_backend("clock isolation").await {
        let server = server_with_rules(&db, &path).await;
        let a = server.token(PARTNER_A, Grant::User).await;
        let b = server.token(PARTNER_B, Grant::User).await;
        let customer_b = server.create_customer(&b, "bschool.edu").await;
        server
            .submit(
                &b,
                &customer_b,
                &json!({"qualification": "Education", "educationSegment": "HigherEducation"}),
            )
            .await;
        let b_before = clock(&server, &b).await;
        let a_moved = advance(&server, &a, 30 * DAY).await;
        let b_after = clock(&server, &b).await;
        assert!(
            millis(&a_moved["now"]) - b_after.unix_millis() >= 30 * DAY as i64 * 1000 - 60_000,
            "A runs a month ahead of B"
        );
        assert!(
            b_after.unix_millis() - b_before.unix_millis() < 60_000,
            "B's clock did not move"
        );
        assert_eq!(
            only_qualification(&server, &b, &customer_b).await["vettingStatus"],
            "InReview",
            "B's timed decision is not due on B's clock"
        );
        // A's new customer's submission is dated on A's clock.
        let customer_a = server.create_customer(&a, "aschool.example").await;
        let answer: Value = server
            .submit(
                &a,
                &customer_a,
                &json!({"qualification": "StateOwnedEntity"}),
            )
            .await
            .json()
            .await
            .unwrap();
        assert!(millis(&answer["vettingCreateDate"]) >= millis(&a_moved["now"]));
        server.stop().await;
    }
}

#[tokio::test]
async fn a_rule_that_holds_leaves_the_request_to_a_reviewer_and_decided_by_filters() {
    let (_dir, path) = rules_file(RULES);
    for db in TestDatabase::every_backend("rule holds").await {
        let server = server_with_rules(&db, &path).await;
        let partner = server.token(PARTNER_A, Grant::User).await;
        let reviewer = server.token(OPERATOR, Grant::User).await;
        let gcc = server.create_customer(&partner, "city.example").await;
        let answer: Value = server
            .submit(
                &partner,
                &gcc,
                &json!({"qualification": "GovernmentCommunityCloud", "validationCode": "100001"}),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(answer["vettingStatus"], "InReview");
        let held = the_request(&server, &reviewer, &gcc).await;
        assert_eq!(held["matchedRule"], "gcc-by-hand");
        let by_rule = server.create_customer(&partner, "soe.example").await;
        server
            .submit(
                &partner,
                &by_rule,
                &json!({"qualification": "StateOwnedEntity"}),
            )
            .await;
        server
            .decide_for(&reviewer, &gcc, &json!({"vettingStatus": "Approved"}))
            .await;

        let ids = |items: Vec<Value>| -> Vec<String> {
            items
                .iter()
                .map(|i| i["customerId"].as_str().unwrap().to_owned())
                .collect()
        };
        let any_rule = ids(server.review_list(&reviewer, "decidedBy=rule:*").await);
        assert_eq!(any_rule, std::slice::from_ref(&by_rule));
        let exact = ids(server
            .review_list(&reviewer, "decidedBy=rule:state-owned")
            .await);
        assert_eq!(exact, [by_rule]);
        let reviewer_name = format!("decidedBy={}", OPERATOR.username);
        assert_eq!(
            ids(server.review_list(&reviewer, &reviewer_name).await),
            [gcc]
        );
        assert!(
            server
                .review_list(&reviewer, "decidedBy=rule:nobody")
                .await
                .is_empty()
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn a_bad_advance_is_refused_and_the_clock_does_not_move() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let partner = server.token(PARTNER_A, Grant::App).await;
    let before = clock(&server, &partner).await;
    for body in [
        json!({"seconds": -60}),
        json!({"seconds": 1.5}),
        json!({"seconds": 1_000_000_000_000u64}),
        json!({}),
    ] {
        let response = server.post("/test/v1/clock/advance", &partner, &body).await;
        assert_error(response, StatusCode::BAD_REQUEST, 3000).await;
    }
    // Not a number at all: the body has the wrong shape.
    let response = server
        .post(
            "/test/v1/clock/advance",
            &partner,
            &json!({"seconds": "2d"}),
        )
        .await;
    assert_error(response, StatusCode::BAD_REQUEST, 800_002).await;
    let after = clock(&server, &partner).await;
    assert!(after.unix_millis() - before.unix_millis() < 60_000);
    // The reviewer is no partner.
    let reviewer = server.token(OPERATOR, Grant::User).await;
    let response = server.get("/test/v1/clock", &reviewer).await;
    assert_error(response, StatusCode::FORBIDDEN, 900_150).await;
    let response = server
        .send(reqwest::Method::GET, "/test/v1/clock", None, None)
        .await;
    assert_error(response, StatusCode::UNAUTHORIZED, 800_001).await;
    server.stop().await;
}

#[tokio::test]
async fn without_dev_no_test_control_path_exists() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start_with(&db, |s| s.dev = false).await;
    for (method, path) in [
        (reqwest::Method::GET, "/test/v1/clock"),
        (reqwest::Method::POST, "/test/v1/clock/advance"),
        (reqwest::Method::POST, "/test/v1/partners"),
        (reqwest::Method::PUT, "/test/v1/rules"),
        (reqwest::Method::DELETE, "/test/v1/rules"),
        (reqwest::Method::PUT, "/test/v1/faults"),
        (reqwest::Method::GET, "/test/v1/journal"),
        (reqwest::Method::DELETE, "/test/v1/data"),
    ] {
        let response = server
            .send(method, path, Some("any"), Some(&json!({"seconds": 1})))
            .await;
        assert_error(response, StatusCode::NOT_FOUND, 610_009).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn a_server_does_not_start_with_a_bad_rules_file() {
    let (_dir, path) = rules_file(
        "[[rule]]\nname = \"ok\"\ndecision = \"Approved\"\n\n[[rule]]\nname = \"no-reason\"\ndecision = \"Denied\"\n",
    );
    let db = TestDatabase::sqlite();
    let mut settings = qualify_server::Settings::new(db.url().clone());
    settings.vetting.rules = Some(path.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let error = qualify_server::App::build(settings, listener)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!("{}:5: rule 'no-reason'", path.display())),
        "{error}"
    );
}

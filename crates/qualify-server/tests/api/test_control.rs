//! The test control plane: partners on demand, their own rules, faults, the journal, reset.

use futures::future::join_all;
use qualify_client::{Client, ClientError, Credentials, RetryPolicy};
use qualify_store::testing::TestDatabase;
use qualify_types::{
    EducationSegment, Fault, Qualification, QualificationSubmission, TestPartner, VettingRule,
    VettingStatus,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

const DAY: u64 = 24 * 3600;

async fn new_partner(server: &TestServer) -> (TestPartner, Client) {
    let anonymous = Client::builder(&server.base).unwrap().build().unwrap();
    let partner = anonymous.create_test_partner().await.unwrap();
    let client = server.partner_client(&partner);
    (partner, client)
}

fn education() -> QualificationSubmission {
    QualificationSubmission {
        qualification: Qualification::Education,
        education_segment: Some(EducationSegment::K12),
        website: None,
        validation_code: None,
    }
}

fn state_owned() -> QualificationSubmission {
    QualificationSubmission {
        qualification: Qualification::StateOwnedEntity,
        education_segment: None,
        website: None,
        validation_code: None,
    }
}

async fn status_of(client: &Client, customer: qualify_types::CustomerId) -> VettingStatus {
    let list = client.qualifications(customer).await.unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    list[0].vetting_status
}

#[tokio::test]
async fn partners_made_on_demand_are_isolated_and_refused_without_dev() {
    for db in TestDatabase::every_backend("partners on demand").await {
        let server = TestServer::start(&db).await;
        let (first, a) = new_partner(&server).await;
        let (second, b) = new_partner(&server).await;
        assert_ne!(first.tenant_id, second.tenant_id);
        let mine = a
            .create_customer("mine.onmicrosoft.com", "Mine")
            .await
            .unwrap();
        // The same domain is free for another partner, who sees only its own customers.
        b.create_customer("mine.onmicrosoft.com", "Theirs")
            .await
            .unwrap();
        assert_eq!(b.all_customers().await.unwrap().len(), 1);
        assert!(matches!(
            b.customer(mine.id).await,
            Err(ClientError::Api { status: 404, .. })
        ));
        // Its GCC code is its own.
        let codes = a.validation_codes().await.unwrap();
        assert_eq!(codes.len(), 1);
        assert_eq!(codes[0].validation_id, first.validation_code);
        server.stop().await;

        // Made by a development server, they are development identities.
        let server = TestServer::start_with(&db, |s| s.dev = false).await;
        let refused = server
            .partner_client(&first)
            .fetch_token()
            .await
            .unwrap_err();
        assert!(
            matches!(refused, ClientError::Auth { ref error, .. } if error == "invalid_client"),
            "{refused:?}"
        );
        server.stop().await;
    }
}

/// Anyone may make partners on a development server, without credentials: each source a few a
/// minute (Partner Center's 429), and the database a bounded number (409); a refused one leaves
/// nothing stored.
#[tokio::test]
async fn partners_made_on_demand_are_throttled_per_source_and_bounded_in_all() {
    for db in TestDatabase::every_backend("partners on demand bounded").await {
        // The well-known partners A and B count too: room for 5 more.
        let server = TestServer::start_with(&db, |s| {
            s.identity.test_partners_per_minute = 3;
            s.identity.test_partners_max = 7;
            s.http.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        })
        .await;
        let make = async |from: &str| {
            server
                .http
                .post(server.url("/test/v1/partners"))
                .header("x-forwarded-for", from)
                .send()
                .await
                .unwrap()
        };
        for _ in 0..3 {
            assert_eq!(make("198.51.100.1").await.status(), StatusCode::CREATED);
        }
        let throttled = make("198.51.100.1").await;
        assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
        let wait: u64 = throttled.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
        let body: Value = throttled.json().await.unwrap();
        assert_eq!(body["statusCode"], 429, "{body}");
        // Another source has its own minute; the database's room is everyone's.
        for _ in 0..2 {
            assert_eq!(make("198.51.100.2").await.status(), StatusCode::CREATED);
        }
        let full = make("198.51.100.2").await;
        assert_eq!(full.status(), StatusCode::CONFLICT);
        let body: Value = full.json().await.unwrap();
        assert_eq!(body["code"], 610_019, "{body}");
        assert!(
            body["description"]
                .as_str()
                .unwrap()
                .contains("test_partners_max"),
            "{body}"
        );
        server.stop().await;
        let server = TestServer::start_with(&db, |s| s.identity.test_partners_max = 8).await;
        assert_eq!(
            make_on(&server).await.status(),
            StatusCode::CREATED,
            "the refused one took no room"
        );
        assert_eq!(make_on(&server).await.status(), StatusCode::CONFLICT);
        server.stop().await;
    }
}

async fn make_on(server: &TestServer) -> reqwest::Response {
    server
        .http
        .post(server.url("/test/v1/partners"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_partners_own_rules_come_first_and_a_counted_rule_goes_once_used() {
    for db in TestDatabase::every_backend("partner rules").await {
        let server = TestServer::start(&db).await;
        let (_, a) = new_partner(&server).await;
        let (_, b) = new_partner(&server).await;
        let rules = vec![
            VettingRule {
                name: "deny-next-example".into(),
                qualification: Some("Education".into()),
                customer_domain: vec!["*.example".into()],
                decision: "Denied".into(),
                reason: Some("Not an Academic Domain".into()),
                times: Some(1),
                ..VettingRule::default()
            },
            VettingRule {
                name: "soe-in-three-days".into(),
                qualification: Some("StateOwnedEntity".into()),
                decision: "Approved".into(),
                after: Some("3d".into()),
                ..VettingRule::default()
            },
        ];
        a.set_test_rules(rules).await.unwrap();

        let first = a.create_customer("one.example", "One").await.unwrap();
        let answer = a
            .submit_qualification(first.id, &education())
            .await
            .unwrap();
        assert_eq!(answer.vetting_status, VettingStatus::Denied);
        assert_eq!(
            answer.vetting_reason.as_deref(),
            Some("Not an Academic Domain")
        );
        // Used once, the rule is gone.
        let left = rule_names(&a).await;
        assert_eq!(left, ["soe-in-three-days"]);
        let second = a.create_customer("two.example", "Two").await.unwrap();
        a.submit_qualification(second.id, &education())
            .await
            .unwrap();
        assert_eq!(status_of(&a, second.id).await, VettingStatus::InReview);

        let soe = a.create_customer("three.example", "Three").await.unwrap();
        a.submit_qualification(soe.id, &state_owned())
            .await
            .unwrap();
        a.advance_clock(3 * DAY).await.unwrap();
        assert_eq!(status_of(&a, soe.id).await, VettingStatus::Approved);

        // Another partner's submissions are untouched by them.
        let other = b.create_customer("one.example", "One").await.unwrap();
        b.submit_qualification(other.id, &education())
            .await
            .unwrap();
        assert_eq!(status_of(&b, other.id).await, VettingStatus::InReview);

        // Removed, they decide nothing more.
        a.clear_test_rules().await.unwrap();
        let fourth = a.create_customer("four.example", "Four").await.unwrap();
        a.submit_qualification(fourth.id, &state_owned())
            .await
            .unwrap();
        a.advance_clock(3 * DAY).await.unwrap();
        assert_eq!(status_of(&a, fourth.id).await, VettingStatus::InReview);
        server.stop().await;
    }
}

/// The names of the partner's own rules.
async fn rule_names(client: &Client) -> Vec<String> {
    let rules = client.test_rules().await.unwrap().rules;
    rules.into_iter().map(|rule| rule.name).collect()
}

#[tokio::test]
async fn a_rules_mistake_is_refused_with_why() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let (_, a) = new_partner(&server).await;
    let token = a.fetch_token().await.unwrap().access_token;
    for (rules, why) in [
        (
            json!([{"name": "x", "decision": "Denied"}]),
            "needs a reason",
        ),
        (
            json!([{"name": "x", "decision": "Approved", "times": 0}]),
            "at least 1",
        ),
        (
            json!([{"name": "x", "decision": "Approved"}, {"name": "x", "decision": "InReview"}]),
            "another rule is named 'x'",
        ),
        (
            json!([{"name": "x", "decision": "Approved", "customerDomian": "*.edu"}]),
            "customerDomian",
        ),
    ] {
        let response = server
            .send(
                Method::PUT,
                "/test/v1/rules",
                Some(&token),
                Some(&json!({ "rules": rules })),
            )
            .await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            body["description"].as_str().unwrap().contains(why),
            "{body} (expected {why})"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn a_throttling_fault_is_honoured_by_the_clients_retry_and_creates_one_request() {
    for db in TestDatabase::every_backend("throttling fault").await {
        let server = TestServer::start(&db).await;
        let (_, a) = new_partner(&server).await;
        let customer = a.create_customer("retry.example", "Retry").await.unwrap();
        a.set_faults(vec![Fault {
            method: Some("POST".into()),
            path: "/v1/customers/*/qualifications".into(),
            status: Some(429),
            retry_after: Some(1),
            times: Some(1),
            ..Fault::default()
        }])
        .await
        .unwrap();
        let answer = a
            .submit_qualification(customer.id, &state_owned())
            .await
            .unwrap();
        assert_eq!(answer.vetting_status, VettingStatus::InReview);
        let journal = a.journal().await.unwrap().items;
        let posts: Vec<_> = journal.iter().filter(|e| e.method == "POST").collect();
        // Newest first: the retry's 201, after the fault's 429, with the same request id.
        assert_eq!(posts[0].status, 201);
        assert_eq!(posts[1].status, 429);
        assert_eq!(posts[1].fault.as_deref(), Some("status 429"));
        assert_eq!(posts[0].request_id, posts[1].request_id);
        assert_eq!(a.qualifications(customer.id).await.unwrap().len(), 1);
        assert!(a.set_faults(Vec::new()).await.unwrap().faults.is_empty());
        server.stop().await;
    }
}

#[tokio::test]
async fn a_faulted_request_stores_nothing() {
    for db in TestDatabase::every_backend("faulted writes").await {
        let server = TestServer::start(&db).await;
        let (_, a) = new_partner(&server).await;
        a.set_faults(vec![
            Fault {
                method: Some("POST".into()),
                path: "/v1/customers".into(),
                status: Some(500),
                times: Some(1),
                ..Fault::default()
            },
            Fault {
                method: Some("POST".into()),
                path: "/v1/customers".into(),
                close: Some(true),
                times: Some(1),
                ..Fault::default()
            },
            Fault {
                method: Some("GET".into()),
                path: "/v1/customers".into(),
                delay_ms: Some(20),
                times: Some(1),
                ..Fault::default()
            },
        ])
        .await
        .unwrap();
        let token = a.fetch_token().await.unwrap().access_token;
        let body = json!({"companyProfile": {"domain": "faulted.example"}, "billingProfile": {"companyName": "F"}});
        let refused = server.post("/v1/customers", &token, &body).await;
        assert_error(refused, StatusCode::INTERNAL_SERVER_ERROR, 610_014).await;
        let closed = server
            .http
            .post(server.url("/v1/customers"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await;
        assert!(closed.is_err(), "the connection closes without an answer");
        // The delayed GET arrives, late, and shows that neither POST created anything.
        let listed = server.get("/v1/customers", &token).await;
        assert_eq!(listed.status(), StatusCode::OK);
        let page: Value = listed.json().await.unwrap();
        assert_eq!(page["items"], json!([]));
        let faults: Vec<_> = a
            .journal()
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|e| (e.method, e.status, e.fault))
            .collect();
        assert_eq!(
            faults,
            [
                ("GET".into(), 200, Some("delay 20 ms".into())),
                ("POST".into(), 0, Some("close".into())),
                ("POST".into(), 500, Some("status 500".into())),
            ]
        );
        server.stop().await;
    }
}

/// Secrets a client sends where it shouldn't (a query string, keys outside any list of words,
/// bodies that are not JSON) are not kept: the journal keeps what the API itself names.
#[tokio::test]
async fn the_journal_keeps_what_was_sent_but_never_a_token_or_secret() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let (partner, a) = new_partner(&server).await;
    let token = a.fetch_token().await.unwrap().access_token;
    let body = json!({
        "companyProfile": {"domain": "journal.example"},
        "billingProfile": {"companyName": "Journal"},
        "clientSecret": partner.client_secret,
        "pwd": "secret-pwd", "passwd": "secret-passwd", "credential": "secret-credential",
        "cookie": "secret-cookie", "pass": "secret-pass",
    });
    let query = format!(
        "/v1/customers?size=10&client_secret={}&access_token={token}",
        partner.client_secret
    );
    let created = server
        .send(Method::POST, &query, Some(&token), Some(&body))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    for raw in [
        format!("{{\"password\": \"{}\"", partner.password),
        format!("grant_type=password&password={}", partner.password),
        format!("secret-text {}", partner.password),
    ] {
        let refused = server
            .http
            .post(server.url("/v1/customers"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    }
    let journal = server.get("/test/v1/journal", &token).await;
    let text = journal.text().await.unwrap();
    for secret in [&token, &partner.client_secret, &partner.password] {
        assert!(!text.contains(secret.as_str()), "{text}");
    }
    assert!(!text.contains("secret-"), "{text}");
    let journal: Value = serde_json::from_str(&text).unwrap();
    let entry = &journal["items"][3];
    assert_eq!(entry["path"], "/v1/customers");
    assert_eq!(
        entry["query"],
        "size=10&client_secret=<redacted>&access_token=<redacted>"
    );
    assert_eq!(entry["status"], 201);
    assert!(entry["body"].as_str().unwrap().contains("journal.example"));
    let described: Vec<&str> = journal["items"].as_array().unwrap()[..3]
        .iter()
        .map(|entry| entry["body"].as_str().unwrap())
        .collect();
    assert!(described[0].contains("not JSON, not kept"), "{described:?}");
    assert!(
        described[2].contains("malformed JSON, not kept"),
        "{described:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_journal_stays_bounded() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let (_, a) = new_partner(&server).await;
    let token = a.fetch_token().await.unwrap().access_token;
    let sent = 5_000;
    for batch in 0..sent / 100 {
        let requests = (0..100).map(|n| {
            server
                .http
                .get(server.url("/v1/customers"))
                .bearer_auth(&token)
                .header("MS-RequestId", format!("{}", batch * 100 + n))
                .send()
        });
        for response in join_all(requests).await {
            assert_eq!(response.unwrap().status(), StatusCode::OK);
        }
    }
    let journal = a.journal().await.unwrap().items;
    assert_eq!(journal.len(), 1_000);
    // The last batch's requests are the newest ones kept.
    assert!(
        journal[..100]
            .iter()
            .all(|e| e.request_id.parse::<usize>().unwrap() >= sent - 100)
    );
    server.stop().await;
}

/// What a partner's client sees of its data, serialised: for comparing before and after.
async fn everything_of(client: &Client) -> String {
    let mut seen = Vec::new();
    let customers = client.all_customers().await.unwrap();
    for customer in &customers {
        let qualifications = client.qualifications(customer.id).await.unwrap();
        seen.push(json!({"customer": customer, "qualifications": qualifications}));
    }
    seen.push(json!({"codes": client.validation_codes().await.unwrap()}));
    seen.push(json!({"rules": client.test_rules().await.unwrap()}));
    serde_json::to_string(&seen).unwrap()
}

#[tokio::test]
async fn a_reset_empties_the_partner_and_leaves_another_as_it_was() {
    for db in TestDatabase::every_backend("reset").await {
        let server = TestServer::start(&db).await;
        let (a_partner, a) = new_partner(&server).await;
        let (_, b) = new_partner(&server).await;
        for client in [&a, &b] {
            client
                .set_test_rules(vec![VettingRule {
                    name: "soe".into(),
                    qualification: Some("StateOwnedEntity".into()),
                    decision: "Approved".into(),
                    after: Some("1d".into()),
                    ..VettingRule::default()
                }])
                .await
                .unwrap();
            for n in 0..3 {
                let customer = client
                    .create_customer(&format!("c{n}.example"), "C")
                    .await
                    .unwrap();
                client
                    .submit_qualification(customer.id, &state_owned())
                    .await
                    .unwrap();
            }
            let city = client
                .create_customer("city.example", "City")
                .await
                .unwrap();
            let code = client.validation_codes().await.unwrap()[0]
                .validation_id
                .clone();
            client
                .submit_qualification(
                    city.id,
                    &QualificationSubmission {
                        qualification: Qualification::GovernmentCommunityCloud,
                        education_segment: None,
                        website: None,
                        validation_code: Some(code),
                    },
                )
                .await
                .unwrap();
        }
        a.advance_clock(2 * DAY).await.unwrap();
        a.set_faults(vec![Fault {
            path: "/v1/nothing".into(),
            status: Some(503),
            ..Fault::default()
        }])
        .await
        .unwrap();
        let b_before = everything_of(&b).await;

        a.reset_test_data().await.unwrap();

        assert_eq!(everything_of(&b).await, b_before, "B is as it was");
        assert!(a.all_customers().await.unwrap().is_empty());
        assert!(
            a.journal().await.unwrap().items.len() <= 1,
            "only the read just made"
        );
        assert!(rule_names(&a).await.is_empty());
        let codes = a.validation_codes().await.unwrap();
        assert_eq!(codes[0].remaining_creates, codes[0].max_creates);
        let clock = a.clock().await.unwrap().now;
        let b_clock = b.clock().await.unwrap().now;
        assert!(
            (clock.unix_millis() - b_clock.unix_millis()).abs() < 60_000,
            "A's clock is the server's again"
        );
        // Its credentials still work, and it starts over.
        let again = server.partner_client(&a_partner);
        again.create_customer("c0.example", "C").await.unwrap();
        server.stop().await;
    }
}

#[tokio::test]
async fn a_fault_set_with_a_seed_repeats_exactly() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let (_, a) = new_partner(&server).await;
    let no_retries = Client::builder(&server.base)
        .unwrap()
        .credentials(Credentials::Token(
            a.fetch_token().await.unwrap().access_token,
        ))
        .retry(RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        })
        .build()
        .unwrap();
    let run = async || {
        a.set_faults(vec![Fault {
            path: "/v1/customers".into(),
            status: Some(503),
            probability: Some(0.5),
            seed: Some(42),
            ..Fault::default()
        }])
        .await
        .unwrap();
        let mut outcomes = Vec::new();
        for _ in 0..20 {
            outcomes.push(no_retries.all_customers().await.is_ok());
        }
        outcomes
    };
    let first = run().await;
    assert_eq!(first, run().await);
    assert!(first.contains(&true) && first.contains(&false), "{first:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_catch_all_fault_leaves_everything_but_the_partner_center_calls_working() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let (partner, a) = new_partner(&server).await;
    let token = a.fetch_token().await.unwrap().access_token;
    a.set_faults(vec![Fault {
        path: "*".into(),
        close: Some(true),
        ..Fault::default()
    }])
    .await
    .unwrap();
    // The partner's Partner Center calls are faulted, wherever the glob's `*` reaches.
    for path in ["/v1/customers", "/webhooks/v1/registration"] {
        let closed = server
            .http
            .get(server.url(path))
            .bearer_auth(&token)
            .send()
            .await;
        assert!(closed.is_err(), "{path} is faulted");
    }
    // Everything else answers, with the partner's token on it as a test client sends it.
    let tenant = partner.tenant_id.to_string();
    for path in [
        "/healthz".to_owned(),
        "/livez".to_owned(),
        "/readyz".to_owned(),
        "/openapi.json".to_owned(),
        "/docs/".to_owned(),
        "/discovery/v2.0/keys".to_owned(),
        format!("/{tenant}/v2.0/.well-known/openid-configuration"),
        "/console/sign-in".to_owned(),
        "/test/v1/faults".to_owned(),
        "/test/v1/journal".to_owned(),
        "/review/v1/requests".to_owned(),
    ] {
        let answered = server
            .http
            .get(server.url(&path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path} was faulted: {e}"));
        assert!(
            answered.status() != StatusCode::INTERNAL_SERVER_ERROR,
            "{path}: {}",
            answered.status()
        );
    }
    // The token endpoint too: the partner's client gets a new token.
    let client = server.partner_client(&partner);
    client
        .fetch_token()
        .await
        .expect("a token despite the fault");
    // And the fault is removed through the control plane it could not reach.
    assert!(a.set_faults(Vec::new()).await.unwrap().faults.is_empty());
    assert_eq!(
        server.get("/v1/customers", &token).await.status(),
        StatusCode::OK
    );
    server.stop().await;
}

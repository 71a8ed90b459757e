//! Partner Center's webhooks: a partner registers its receiver, which gets `test-created` and
//! `customer-qualification-updated` events signed as Partner Center signs them, verified here
//! as Microsoft's sample receiver does (download the certificate from `X-MS-Certificate-Url`,
//! check the RSA-SHA256 signature of the body); failures are retried without losing an event
//! or reordering a customer's; and internal addresses are refused.

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode as AxumStatus};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use qualify_server::{JobOutcome, ManualClock, wall_now};
use qualify_store::testing::TestDatabase;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::receiver::{SharedReceiver, received};

/// A receiver (its URL naming `host`) that refuses its first `failures` deliveries with 503,
/// then accepts with 200.
async fn receiver(host: &str, failures: usize) -> (String, SharedReceiver) {
    crate::receiver::start(
        host,
        failures,
        AxumStatus::SERVICE_UNAVAILABLE,
        AxumStatus::OK,
    )
    .await
}

const RETRY_BASE: Duration = Duration::from_secs(10);

/// A server whose jobs run when the test drains them, on a clock the test moves.
async fn server(db: &TestDatabase, allow_private: bool) -> (TestServer, ManualClock) {
    let clock = ManualClock::starting_at(wall_now());
    let server = TestServer::start_on(db, clock.clock(), |settings| {
        settings.jobs.job_workers = 0;
        settings.jobs.job_retry_base = RETRY_BASE;
        settings.webhooks.webhook_allow_private = Some(allow_private);
    })
    .await;
    (server, clock)
}

/// Verifies a delivery as Microsoft's sample receiver does: the headers, then the body's
/// signature with the certificate downloaded from `X-MS-Certificate-Url`.
async fn assert_signed_as_partner_center(server: &TestServer, headers: &HeaderMap, body: &str) {
    assert_eq!(headers["x-ms-signature-algorithm"], "rsa-sha256");
    let signature = headers["authorization"]
        .to_str()
        .unwrap()
        .strip_prefix("Signature ")
        .expect("Authorization: Signature <base64>");
    let signature = STANDARD.decode(signature).unwrap();
    let certificate_url = headers["x-ms-certificate-url"].to_str().unwrap();
    assert!(
        certificate_url.starts_with(&server.public_url),
        "{certificate_url}"
    );
    let path = certificate_url.strip_prefix(&server.public_url).unwrap();
    let downloaded = server
        .http
        .get(format!("{}{path}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(downloaded.status(), StatusCode::OK);
    let der = downloaded.bytes().await.unwrap().to_vec();
    let der = rustls::pki_types::CertificateDer::from(der);
    let certificate = webpki::EndEntityCert::try_from(&der).expect("an X.509 certificate");
    let algorithm = webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256;
    certificate
        .verify_signature(algorithm, body.as_bytes(), &signature)
        .expect("the signature verifies with the served certificate");
    let mut altered = body.to_owned();
    altered.push(' ');
    assert!(
        certificate
            .verify_signature(algorithm, altered.as_bytes(), &signature)
            .is_err()
    );
}

/// Asks for a validation event.
async fn send_validation_event(server: &TestServer, token: &str) -> reqwest::Response {
    server
        .send(
            Method::POST,
            "/webhooks/v1/registration/validationEvents",
            Some(token),
            None,
        )
        .await
}

/// Reads a validation event back.
async fn validation_event(server: &TestServer, token: &str, id: &str) -> reqwest::Response {
    server
        .get(
            &format!("/webhooks/v1/registration/validationEvents/{id}"),
            token,
        )
        .await
}

async fn register(server: &TestServer, token: &str, body: &Value) -> reqwest::Response {
    server
        .send(
            Method::POST,
            "/webhooks/v1/registration",
            Some(token),
            Some(body),
        )
        .await
}

#[tokio::test]
async fn a_partner_registers_and_its_receiver_verifies_every_event() {
    for db in TestDatabase::every_backend("partner webhooks").await {
        let (url, receiver) = receiver("127.0.0.1", 0).await;
        let (server, clock) = server(&db, true).await;
        let partner = server.token(PARTNER_A, Grant::User).await;
        let other = server.token(PARTNER_B, Grant::App).await;

        let events: Value = server
            .get("/webhooks/v1/registration/events", &partner)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            events,
            json!(["customer-qualification-updated", "test-created"])
        );
        assert_error(
            server.get("/webhooks/v1/registration", &partner).await,
            StatusCode::NOT_FOUND,
            610_016,
        )
        .await;

        // Registered once; a second POST is a conflict, a PUT (any key casing) a change.
        let created = register(
            &server,
            &partner,
            &json!({"WebhookUrl": url, "WebhookEvents": ["test-created"]}),
        )
        .await;
        assert_eq!(created.status(), StatusCode::OK);
        let created: Value = created.json().await.unwrap();
        let subscriber = created["SubscriberId"].as_str().unwrap().to_owned();
        assert_eq!(created["WebhookUrl"], url);
        assert_error(
            register(
                &server,
                &partner,
                &json!({"WebhookUrl": url, "WebhookEvents": ["test-created"]}),
            )
            .await,
            StatusCode::CONFLICT,
            610_017,
        )
        .await;
        let changed: Value = server
            .send(
                Method::PUT,
                "/webhooks/v1/registration",
                Some(&partner),
                Some(&json!({"webhookUrl": url, "webhookEvents": ["test-created", "Customer-Qualification-Updated"]})),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            changed,
            json!({"SubscriberId": subscriber, "WebhookUrl": url,
                   "WebhookEvents": ["test-created", "customer-qualification-updated"]})
        );
        // Another partner has none, and can't see this one.
        assert_error(
            server.get("/webhooks/v1/registration", &other).await,
            StatusCode::NOT_FOUND,
            610_016,
        )
        .await;
        for refused in [
            json!({"WebhookUrl": "ftp://x.example/", "WebhookEvents": ["test-created"]}),
            json!({"WebhookUrl": url, "WebhookEvents": ["subscription-updated"]}),
            json!({"WebhookUrl": url, "WebhookEvents": []}),
            json!({"WebhookUrl": "not a url", "WebhookEvents": ["test-created"]}),
        ] {
            let response = server
                .send(
                    Method::PUT,
                    "/webhooks/v1/registration",
                    Some(&partner),
                    Some(&refused),
                )
                .await;
            assert_error(response, StatusCode::BAD_REQUEST, 3000).await;
        }

        // A submission and its decision: two events, each pointing at the qualifications and
        // at the change's audit record.
        let customer = server
            .create_customer(&partner, "hooked.onmicrosoft.com")
            .await;
        server
            .submit(
                &partner,
                &customer,
                &json!({"qualification": "StateOwnedEntity"}),
            )
            .await;
        let reviewer = server.token(OPERATOR, Grant::User).await;
        server
            .decide_for(&reviewer, &customer, &json!({"vettingStatus": "Approved"}))
            .await;
        // The validation event: sent, then read back with one result per attempt.
        let validation = send_validation_event(&server, &partner).await;
        assert_eq!(validation.status(), StatusCode::OK);
        let correlation_id = validation.json::<Value>().await.unwrap()["correlationId"]
            .as_str()
            .unwrap()
            .to_owned();

        let ran = server.drain_jobs().await;
        assert_eq!(ran.len(), 3, "{ran:?}");
        assert!(
            ran.iter().all(|job| job.outcome == JobOutcome::Done),
            "{ran:?}"
        );
        let received = received(&receiver);
        assert_eq!(received.len(), 3);
        let mut operations = Vec::new();
        for (headers, body) in &received {
            assert_signed_as_partner_center(&server, headers, body).await;
            let event: Value = serde_json::from_str(body).unwrap();
            match event["EventName"].as_str().unwrap() {
                "customer-qualification-updated" => {
                    assert_eq!(
                        event["ResourceUri"],
                        format!(
                            "{}/v1/customers/{customer}/qualifications",
                            server.public_url
                        )
                    );
                    assert_eq!(event["ResourceName"], "qualification");
                    let audit_uri = event["AuditUri"].as_str().unwrap();
                    let path = audit_uri.strip_prefix(&server.public_url).unwrap();
                    let record: Value = server.get(path, &partner).await.json().await.unwrap();
                    assert_eq!(record["customerId"], customer);
                    operations.push(record["operationType"].as_str().unwrap().to_owned());
                    // Not another partner's to read.
                    assert_eq!(
                        server.get(path, &other).await.status(),
                        StatusCode::NOT_FOUND
                    );
                }
                "test-created" => {
                    assert_eq!(event["ResourceName"], "test");
                    assert_eq!(
                        event["ResourceUri"],
                        format!(
                            "{}/webhooks/v1/registration/validationEvents/{correlation_id}",
                            server.public_url
                        )
                    );
                    assert_eq!(event["AuditUri"], Value::Null);
                }
                other => panic!("unexpected event {other}"),
            }
            assert!(
                event["ResourceChangeUtcDate"]
                    .as_str()
                    .unwrap()
                    .ends_with('Z')
            );
        }
        assert_eq!(
            operations,
            [
                "update_customer_qualification",
                "decide_customer_qualification"
            ],
            "in the order they happened"
        );
        let status: Value = validation_event(&server, &partner, &correlation_id)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(status["status"], "completed");
        assert_eq!(status["callbackUrl"], url);
        assert_eq!(status["partnerId"], PARTNER_A.tenant_id);
        assert_eq!(status["results"].as_array().unwrap().len(), 1);
        assert_eq!(status["results"][0]["responseCode"], "OK");
        assert_eq!(status["results"][0]["systemError"], false);
        assert_error(
            validation_event(&server, &other, &correlation_id).await,
            StatusCode::NOT_FOUND,
            610_018,
        )
        .await;

        // Partner Center's limit: two validation events a minute.
        let second = send_validation_event(&server, &partner).await;
        assert_eq!(second.status(), StatusCode::OK);
        let second_id = second.json::<Value>().await.unwrap()["correlationId"]
            .as_str()
            .unwrap()
            .to_owned();
        let third = send_validation_event(&server, &partner).await;
        assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(third.headers().contains_key("retry-after"));

        // Once removed, nothing more is sent: the pending validation event is dropped (and
        // says it is over), and a new submission enqueues nothing.
        let removed = server
            .send(
                Method::DELETE,
                "/webhooks/v1/registration",
                Some(&partner),
                None,
            )
            .await;
        assert_eq!(removed.status(), StatusCode::NO_CONTENT);
        let ran = server.drain_jobs().await;
        assert!(
            matches!(ran[..], [ref job] if matches!(job.outcome, JobOutcome::Dead(_))),
            "{ran:?}"
        );
        let dropped: Value = validation_event(&server, &partner, &second_id)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(dropped["status"], "completed", "{dropped}");
        assert_eq!(dropped["results"], json!([]));
        let unhooked = server
            .create_customer(&partner, "unhooked.onmicrosoft.com")
            .await;
        server
            .submit(
                &partner,
                &unhooked,
                &json!({"qualification": "StateOwnedEntity"}),
            )
            .await;
        assert!(server.drain_jobs().await.is_empty());
        assert_eq!(receiver.lock().unwrap().received.len(), 3);

        // Kept for 7 days, as in Partner Center.
        clock.advance(Duration::from_secs(8 * 24 * 3600));
        assert_error(
            validation_event(&server, &partner, &correlation_id).await,
            StatusCode::NOT_FOUND,
            610_018,
        )
        .await;
        server.stop().await;
    }
}

#[tokio::test]
async fn a_receiver_down_for_a_while_loses_nothing_and_gets_each_customers_events_in_order() {
    for db in TestDatabase::every_backend("partner webhook retries").await {
        // Down for the first five attempts.
        let (url, receiver) = receiver("127.0.0.1", 5).await;
        let (server, clock) = server(&db, true).await;
        let partner = server.token(PARTNER_A, Grant::User).await;
        let reviewer = server.token(OPERATOR, Grant::User).await;
        register(
            &server,
            &partner,
            &json!({"WebhookUrl": url, "WebhookEvents": ["customer-qualification-updated"]}),
        )
        .await;
        let mut customers = Vec::new();
        for name in ["first", "second"] {
            let customer = server
                .create_customer(&partner, &format!("{name}.onmicrosoft.com"))
                .await;
            server
                .submit(
                    &partner,
                    &customer,
                    &json!({"qualification": "StateOwnedEntity"}),
                )
                .await;
            customers.push(customer);
        }
        for customer in &customers {
            server
                .decide_for(&reviewer, customer, &json!({"vettingStatus": "Denied", "vettingReason": "Not a State Owned Entity"}))
                .await;
        }
        // Run everything due, then let the retries fall due, until nothing is left.
        for _ in 0..20 {
            server.drain_jobs().await;
            if received(&receiver).len() == 4 {
                break;
            }
            clock.advance(Duration::from_secs(3600));
        }
        let received = received(&receiver);
        assert_eq!(received.len(), 4, "every event arrives");
        for customer in &customers {
            let operations: Vec<String> = received
                .iter()
                .map(|(_, body)| serde_json::from_str::<Value>(body).unwrap())
                .filter(|event| {
                    event["ResourceUri"]
                        .as_str()
                        .unwrap()
                        .contains(customer.as_str())
                })
                .map(|event| {
                    let audit = event["AuditUri"].as_str().unwrap();
                    audit.split('_').nth(2).unwrap().to_owned()
                })
                .collect();
            assert_eq!(operations.len(), 2);
            assert!(operations[0].starts_with("update"), "{operations:?}");
            assert!(operations[1].starts_with("decide"), "{operations:?}");
        }
        server.stop().await;
    }
}

#[tokio::test]
async fn internal_addresses_are_refused_unless_the_operator_allows_them() {
    let db = TestDatabase::sqlite();
    let (url, receiver) = receiver("localhost", 0).await;
    let (server, _clock) = server(&db, false).await;
    let partner = server.token(PARTNER_A, Grant::User).await;
    // An internal address is refused when registered...
    let literal = url.replace("localhost", "127.0.0.1");
    for refused in [
        literal.as_str(),
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/events",
    ] {
        let response = register(
            &server,
            &partner,
            &json!({"WebhookUrl": refused, "WebhookEvents": ["test-created"]}),
        )
        .await;
        let description = assert_error(response, StatusCode::BAD_REQUEST, 3000).await;
        assert!(
            description.contains("not a public address"),
            "{description}"
        );
    }
    // ...and a name is refused when it resolves to one, at delivery.
    let registered = register(
        &server,
        &partner,
        &json!({"WebhookUrl": url, "WebhookEvents": ["test-created"]}),
    )
    .await;
    assert_eq!(registered.status(), StatusCode::OK);
    let sent: Value = send_validation_event(&server, &partner)
        .await
        .json()
        .await
        .unwrap();
    let ran = server.drain_jobs().await;
    assert!(
        matches!(ran[..], [ref job] if matches!(job.outcome, JobOutcome::Retry(_))),
        "{ran:?}"
    );
    let status: Value =
        validation_event(&server, &partner, sent["correlationId"].as_str().unwrap())
            .await
            .json()
            .await
            .unwrap();
    let result = &status["results"][0];
    assert_eq!(result["systemError"], true);
    assert!(
        result["responseMessage"]
            .as_str()
            .unwrap()
            .contains("no public address"),
        "{status}"
    );
    assert!(
        received(&receiver).is_empty(),
        "nothing reached the receiver"
    );
    server.stop().await;
}

//! Events delivered to webhooks: signed, at least once, retried when the receiver fails.

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode as AxumStatus};
use qualify_server::{JobOutcome, ManualClock, Webhook, wall_now};
use qualify_store::testing::TestDatabase;
use qualify_store::{JobState, Store, StoreOptions};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::receiver::{SharedReceiver, received};

/// The webhook's secret, in the Standard Webhooks format.
const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
/// The secret it replaces, still signing during the rotation.
const PREVIOUS_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A receiver that fails its first `failures` deliveries with 500, then accepts with 204.
async fn receiver(failures: usize) -> (String, SharedReceiver) {
    crate::receiver::start(
        "127.0.0.1",
        failures,
        AxumStatus::INTERNAL_SERVER_ERROR,
        AxumStatus::NO_CONTENT,
    )
    .await
}

/// The first retry waits this long; each further one twice as long as the one before.
const RETRY_BASE: Duration = Duration::from_secs(10);

/// A server delivering to the webhook at `url`, whose jobs run only when the test drains them,
/// on a clock that moves only when the test advances it.
async fn server_delivering_to(db: &TestDatabase, url: &str) -> (TestServer, ManualClock) {
    let clock = ManualClock::starting_at(wall_now());
    let url = url.parse().unwrap();
    let server = TestServer::start_on(db, clock.clock(), move |settings| {
        settings.webhooks.webhooks = vec![Webhook {
            url,
            secret: SECRET.to_owned().into(),
            previous_secret: Some(PREVIOUS_SECRET.to_owned().into()),
        }];
        settings.jobs.job_workers = 0;
        settings.jobs.job_retry_base = RETRY_BASE;
    })
    .await;
    (server, clock)
}

/// Checks the Standard Webhooks signature with the scheme's own Rust library: a receiver
/// holding either secret of the rotation accepts the delivery, one holding another refuses it.
fn assert_signed(headers: &HeaderMap, body: &str) {
    for secret in [SECRET, PREVIOUS_SECRET] {
        standardwebhooks::Webhook::new(secret)
            .unwrap()
            .verify(body.as_bytes(), headers)
            .expect("the signature verifies");
    }
    let stranger =
        standardwebhooks::Webhook::new("whsec_c3RyYW5nZXJzdHJhbmdlcnN0cmFuZ2Vy").unwrap();
    assert!(stranger.verify(body.as_bytes(), headers).is_err());
    let mut altered = body.to_owned();
    altered.push(' ');
    assert!(
        standardwebhooks::Webhook::new(SECRET)
            .unwrap()
            .verify(altered.as_bytes(), headers)
            .is_err()
    );
}

#[tokio::test]
async fn submissions_and_decisions_are_delivered_as_signed_events() {
    for db in TestDatabase::every_backend("events").await {
        let (url, receiver) = receiver(0).await;
        let (server, _clock) = server_delivering_to(&db, &url).await;
        let partner = server.token(PARTNER_A, Grant::User).await;
        let reviewer = server.token(OPERATOR, Grant::User).await;
        let customer = server
            .create_customer(&partner, "events.onmicrosoft.com")
            .await;
        server
            .submit(
                &partner,
                &customer,
                &json!({"qualification": "Education", "educationSegment": "K12"}),
            )
            .await;
        let decided = server
            .decide_for(
                &reviewer,
                &customer,
                &json!({"vettingStatus": "Denied", "vettingReason": "Not an Education Customer"}),
            )
            .await;

        let ran = server.drain_jobs().await;
        assert_eq!(ran.len(), 2);
        assert!(
            ran.iter().all(|job| job.outcome == JobOutcome::Done),
            "{ran:?}"
        );
        let received = received(&receiver);
        assert_eq!(received.len(), 2);
        let mut events: Vec<Value> = Vec::new();
        for (headers, body) in &received {
            assert_signed(headers, body);
            let event: Value = serde_json::from_str(body).unwrap();
            assert_eq!(headers["webhook-id"], event["id"].as_str().unwrap());
            events.push(event);
        }
        events.sort_by_key(|e| e["type"].as_str().unwrap().to_owned());
        assert_eq!(events[0]["type"], "qualification.decided");
        assert_eq!(
            events[0]["data"],
            json!({
                "vettingRequestId": decided["id"], "partnerTenantId": PARTNER_A.tenant_id, "customerId": customer,
                "qualification": "Education", "educationSegment": "K12", "vettingStatus": "Denied",
                "vettingReason": "Not an Education Customer", "attempt": 1
            })
        );
        assert_eq!(events[1]["type"], "qualification.submitted");
        assert_eq!(events[1]["data"]["vettingStatus"], "InReview");
        server.stop().await;
    }
}

#[tokio::test]
async fn a_failing_receiver_gets_the_same_event_again_until_it_accepts_it() {
    for db in TestDatabase::every_backend("event retries").await {
        let (url, receiver) = receiver(2).await;
        let (server, clock) = server_delivering_to(&db, &url).await;
        let partner = server.token(PARTNER_A, Grant::User).await;
        let customer = server
            .create_customer(&partner, "retries.onmicrosoft.com")
            .await;
        server
            .submit(
                &partner,
                &customer,
                &json!({"qualification": "StateOwnedEntity"}),
            )
            .await;
        // Refused, then not due again before its retry; refused again after the first wait,
        // and accepted after the second, twice as long.
        let first = server.drain_jobs().await;
        assert!(matches!(first[..], [ref ran] if matches!(ran.outcome, JobOutcome::Retry(_))));
        clock.advance(RETRY_BASE - Duration::from_millis(1));
        assert!(server.drain_jobs().await.is_empty(), "not before its retry");
        clock.advance(Duration::from_millis(1));
        let second = server.drain_jobs().await;
        assert!(
            matches!(second[..], [ref ran] if ran.attempt == 2 && matches!(ran.outcome, JobOutcome::Retry(_)))
        );
        clock.advance(2 * RETRY_BASE);
        let third = server.drain_jobs().await;
        assert!(
            matches!(third[..], [ref ran] if ran.attempt == 3 && ran.outcome == JobOutcome::Done)
        );
        let received = received(&receiver);
        assert_eq!(received.len(), 1);
        assert_eq!(
            receiver.lock().unwrap().attempts,
            3,
            "two refusals, then accepted"
        );
        server.stop().await;

        let store = Store::connect(&StoreOptions::new(db.url().clone()))
            .await
            .unwrap();
        let jobs = store.jobs().await.unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!((jobs[0].state, jobs[0].attempts), (JobState::Done, 3));
        assert!(
            jobs[0]
                .payload
                .contains(&received[0].1.replace('"', "\\\"")),
            "the same bytes every attempt"
        );
        // Each attempt is in the delivery log, newest first, as `qualify admin webhooks
        // deliveries` shows it.
        let attempts = store.delivery_attempts(None, 10).await.unwrap();
        let logged: Vec<(u32, Option<u16>, bool)> = attempts
            .iter()
            .map(|a| (a.attempt, a.status_code, a.error.is_some()))
            .collect();
        assert_eq!(
            logged,
            [
                (3, Some(204), false),
                (2, Some(500), true),
                (1, Some(500), true)
            ]
        );
        assert!(
            attempts
                .iter()
                .all(|a| a.event_name == "qualification.submitted"
                    && a.job_id == jobs[0].id
                    && a.partner.to_string() == PARTNER_A.tenant_id)
        );
        store.close().await;
    }
}

#[tokio::test]
async fn without_a_webhook_no_delivery_is_queued() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let partner = server.token(PARTNER_A, Grant::User).await;
    let customer = server
        .create_customer(&partner, "quiet.onmicrosoft.com")
        .await;
    server
        .submit(
            &partner,
            &customer,
            &json!({"qualification": "StateOwnedEntity"}),
        )
        .await;
    server.stop().await;
    let store = Store::connect(&StoreOptions::new(db.url().clone()))
        .await
        .unwrap();
    assert!(store.jobs().await.unwrap().is_empty());
    store.close().await;
}

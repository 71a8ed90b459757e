//! Background work in lanes: a partner whose webhook receiver never answers holds up neither the
//! timed decisions of anyone (decisions run in a lane of their own) nor another partner's
//! deliveries (each receiver gets a bounded share of the delivery lane, and one that keeps
//! failing is backed off by its breaker).

use std::time::Duration;

use axum::http::StatusCode as AxumStatus;
use qualify_server::{JobOutcome, Lane, ManualClock, Ran, wall_now};
use qualify_store::testing::TestDatabase;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::helpers::*;
use crate::receiver::received;

/// Every qualification approved one second after it is asked for.
const APPROVE_AFTER_A_SECOND: &str = r#"
[[rule]]
name = "approve-after-a-second"
decision = "Approved"
after = "1s"
"#;

/// How many of one receiver's deliveries run at once (set for this test).
const PER_RECEIVER: usize = 4;

/// A receiver that accepts connections and never answers: the worst a partner can register.
async fn black_hole() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    url
}

async fn register(server: &TestServer, token: &str, url: &str) {
    let response = server
        .send(
            Method::POST,
            "/webhooks/v1/registration",
            Some(token),
            Some(&json!({"WebhookUrl": url, "WebhookEvents": ["customer-qualification-updated"]})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

/// `count` customers of the partner holding `token`, each with a qualification asked for.
async fn submit_many(server: &TestServer, token: &str, prefix: &str, count: usize) {
    for n in 0..count {
        let customer = server
            .create_customer(token, &format!("{prefix}{n}.onmicrosoft.com"))
            .await;
        let response = server
            .submit(
                token,
                &customer,
                &json!({"qualification": "StateOwnedEntity"}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
}

/// How many of the partner deliveries that ran failed and wait to be tried again.
fn retried(ran: &[Ran]) -> usize {
    ran.iter()
        .filter(|ran| ran.kind == "partner-webhook.deliver")
        .filter(|ran| matches!(ran.outcome, JobOutcome::Retry(_)))
        .count()
}

#[tokio::test]
async fn a_silent_receiver_delays_no_decision_and_no_other_partners_deliveries() {
    for db in TestDatabase::every_backend("lanes").await {
        let dir = tempfile::tempdir().unwrap();
        let rules = dir.path().join("rules.toml");
        std::fs::write(&rules, APPROVE_AFTER_A_SECOND).unwrap();
        let clock = ManualClock::starting_at(wall_now());
        let server = TestServer::start_on(&db, clock.clock(), |settings| {
            settings.jobs.job_workers = 0;
            settings.jobs.delivery_response_timeout = Duration::from_millis(300);
            settings.jobs.delivery_per_receiver = PER_RECEIVER as u32;
            settings.webhooks.webhook_allow_private = Some(true);
            settings.vetting.rules = Some(rules);
        })
        .await;
        let silent = server.token(PARTNER_A, Grant::User).await;
        let healthy = server.token(PARTNER_B, Grant::User).await;
        register(&server, &silent, &black_hole().await).await;
        let (url, receiver) =
            crate::receiver::start("127.0.0.1", 0, AxumStatus::OK, AxumStatus::OK).await;
        register(&server, &healthy, &url).await;
        submit_many(&server, &silent, "silent", 10).await;
        submit_many(&server, &healthy, "healthy", 3).await;
        clock.advance(Duration::from_secs(2));

        // Every decision is due, and so are 13 deliveries, ten of them to a receiver that
        // will never answer: the decisions lane runs every decision and nothing else.
        let ran = server.run_lane(Lane::Decisions, 100).await;
        assert_eq!(ran.len(), 13, "{ran:?}");
        assert!(
            ran.iter()
                .all(|ran| ran.kind == "vetting.decide" && ran.outcome == JobOutcome::Done),
            "{ran:?}"
        );
        assert!(received(&receiver).is_empty(), "no delivery ran yet");

        // The delivery lane gives the silent receiver its share and no more: the healthy one's
        // three events arrive in the same batch.
        let ran = server.run_lane(Lane::Deliveries, 100).await;
        assert_eq!(retried(&ran), PER_RECEIVER, "{ran:?}");
        assert_eq!(received(&receiver).len(), 3);

        // Next batch: the healthy receiver's decision events (each after its customer's first),
        // and the silent receiver's next share, which fails too...
        let ran = server.run_lane(Lane::Deliveries, 100).await;
        assert_eq!(retried(&ran), PER_RECEIVER, "{ran:?}");
        assert_eq!(received(&receiver).len(), 6, "every healthy event arrived");

        // ...and eight failures in a row open its breaker: its two deliveries still due wait,
        // unclaimed, rather than hold workers for nothing.
        let store = admin_store(&db).await;
        let silent_receiver = json!(format!("partner:{}", PARTNER_A.tenant_id));
        let open = store.open_receivers(clock.now()).await.unwrap();
        assert_eq!(open.len(), 1, "{open:?}");
        assert_eq!(json!(open[0].receiver), silent_receiver);
        assert!(open[0].failures >= 5, "{open:?}");
        let ran = server.run_lane(Lane::Deliveries, 100).await;
        assert!(ran.is_empty(), "{ran:?}");
        // Nothing of the silent partner's is lost: its ten first events and the ten decision
        // events behind them all wait for its receiver.
        let waiting: Vec<Value> = store
            .jobs()
            .await
            .unwrap()
            .into_iter()
            .filter(|job| job.lane == "deliveries" && job.finished_at.is_none())
            .map(|job| json!(job.receiver))
            .collect();
        assert_eq!(waiting.len(), 20, "{waiting:?}");
        assert!(waiting.iter().all(|receiver| *receiver == silent_receiver));
        store.close().await;
        server.stop().await;
    }
}

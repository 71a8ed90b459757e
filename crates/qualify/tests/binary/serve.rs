//! `qualify serve` as a process: durability under `kill -9`, graceful stop on SIGTERM.

use qualify_types::dev::PARTNER_A;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::process::{create_customer, start, submit_state_owned, user_token};

#[tokio::test]
async fn an_acknowledged_write_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("q.db").display());
    let server = start(&["--dev", "--database", &database]);
    let http = reqwest::Client::new();
    let token = user_token(&server.base, PARTNER_A).await;
    let customer = create_customer(&server.base, &token, "kill9.onmicrosoft.com").await;
    let submitted = submit_state_owned(&http, &server.base, &token, &customer).await;
    assert_eq!(submitted.status(), StatusCode::CREATED);
    // The 201 has been received: the write was acknowledged. Now the process dies at once.
    server.kill_9();

    let server = start(&["--dev", "--database", &database]);
    let token = user_token(&server.base, PARTNER_A).await;
    let listed: Value = http
        .get(format!(
            "{}/v1/customers/{customer}/qualifications",
            server.base
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["qualifications"][0]["qualification"],
        "StateOwnedEntity"
    );
    assert_eq!(listed["qualifications"][0]["vettingStatus"], "InReview");
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly_and_the_log_holds_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("q.db").display());
    let server = start(&["--dev", "--database", &database]);
    let health = reqwest::get(format!("{}/healthz", server.base))
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let token = user_token(&server.base, PARTNER_A).await;
    let listed = reqwest::Client::new()
        .get(format!("{}/v1/customers", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);

    let (success, log) = server.terminate().unwrap();
    assert!(success, "exit status: {log}");
    assert!(
        log.contains("shutting down") && log.contains("\"stopped\""),
        "{log}"
    );
    // One line per request, and never a credential.
    assert!(
        log.contains("/v1/customers") && log.contains(PARTNER_A.tenant_id),
        "{log}"
    );
    for secret in [token.as_str(), PARTNER_A.client_secret, PARTNER_A.password] {
        assert!(!log.contains(secret), "the log contains a secret: {log}");
    }
}

#[tokio::test]
async fn the_start_up_log_names_the_database_the_development_identities_and_the_webhooks() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("q.db").display());
    let server = start(&[
        "--dev",
        "--database",
        &database,
        "--webhook-url",
        "https://hooks.example/qualify?code=the-functions-key",
        "--webhook-secret",
        "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    ]);
    let (_, log) = server.terminate().unwrap();
    let serving = log
        .lines()
        .find(|line| line.contains("\"serving\""))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(serving.contains(&database), "{serving}");
    for identity in qualify_types::dev::ALL {
        assert!(
            log.lines().any(|line| line.contains("development identity")
                && line.contains(identity.name)
                && line.contains(identity.tenant_id)
                && line.contains(identity.client_id)
                && line.contains(identity.username)),
            "{}: {log}",
            identity.name
        );
        assert!(!log.contains(identity.client_secret), "{log}");
    }
    assert!(
        log.contains("https://hooks.example/qualify") && !log.contains("the-functions-key"),
        "{log}"
    );
}

#[tokio::test]
async fn each_request_is_one_line_with_what_finds_it_again_as_text_and_as_json() {
    const REQUEST_ID: &str = "5f1d4b2e-0c1a-4d8e-9b7a-3c2e1f0a9b8c";
    const CORRELATION_ID: &str = "c0ffee00-0000-4000-8000-00000000c0de";
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("q.db").display());
    for json in [false, true] {
        let args = ["--dev", "--database", &database];
        // As a user's server logs by default (text, `info`), and as JSON lines.
        let command = if json {
            qualify_harness::ServerCommand::new(crate::process::BINARY, &args)
        } else {
            qualify_harness::ServerCommand::defaults(crate::process::BINARY, &args)
        };
        let server = qualify_harness::ServerProcess::spawn(&command).unwrap();
        let token = user_token(&server.base, PARTNER_A).await;
        let listed = reqwest::Client::new()
            .get(format!("{}/v1/customers", server.base))
            .bearer_auth(&token)
            .header("MS-RequestId", REQUEST_ID)
            .header("MS-CorrelationId", CORRELATION_ID)
            .send()
            .await
            .unwrap();
        assert_eq!(listed.status(), StatusCode::OK);
        let (_, log) = server.terminate().unwrap();
        let line = log
            .lines()
            .find(|line| line.contains(REQUEST_ID))
            .unwrap_or_else(|| panic!("no line for the request: {log}"));
        let expected = [
            ("level", "INFO"),
            ("message", "request finished"),
            ("method", "GET"),
            ("route", "/v1/customers"),
            ("status", "200"),
            ("request_id", REQUEST_ID),
            ("correlation_id", CORRELATION_ID),
            ("tenant", PARTNER_A.tenant_id),
            ("target", "qualify_server::http::trace"),
        ];
        if json {
            let event: Value = serde_json::from_str(line).unwrap();
            for (name, value) in expected {
                let logged = match &event[name] {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                assert_eq!(logged, value, "{name} in {line}");
            }
            assert!(event["latency_ms"].as_f64().is_some(), "{line}");
        } else {
            let (_, rest) = line.split_once(' ').unwrap();
            let rest = rest
                .trim_start()
                .strip_prefix("INFO qualify_server::http::trace: request finished ")
                .unwrap_or_else(|| panic!("{line}"));
            let fields: std::collections::HashMap<&str, &str> = rest
                .split(' ')
                .filter_map(|pair| pair.split_once('='))
                .collect();
            for (name, value) in &expected[2..8] {
                assert_eq!(fields.get(name), Some(value), "{name} in {line}");
            }
            let latency = fields["latency_ms"];
            assert!(latency.parse::<f64>().is_ok(), "{line}");
            // Rounded to the microsecond, not printed to the last bit of a float.
            assert!(
                latency
                    .split('.')
                    .nth(1)
                    .is_none_or(|decimals| decimals.len() <= 3),
                "{line}"
            );
        }
        for secret in [token.as_str(), PARTNER_A.client_secret, PARTNER_A.password] {
            assert!(!log.contains(secret), "the log contains a secret: {log}");
        }
    }
}

#[tokio::test]
async fn a_log_reader_that_never_reads_slows_no_request() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("q.db").display());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // stderr is a pipe nobody reads: it fills after 64 KiB, a few hundred request lines.
    let mut child = Command::new(crate::process::BINARY)
        .args(["serve", "--dev", "--database", &database])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    // Bounded, so a server that hangs fails the test instead of hanging it.
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while http.get(format!("{base}/livez")).send().await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the server never answered"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let token = user_token(&base, PARTNER_A).await;
    for _ in 0..2_000 {
        let listed = http
            .get(format!("{base}/v1/customers"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("answered while nobody reads the log");
        assert_eq!(listed.status(), StatusCode::OK);
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A webhook receiver whose first delivery never gets an answer, and which reports each
/// delivery's body as it arrives.
async fn stalling_receiver() -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use axum::http::StatusCode as Status;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move |body: String| {
            let (tx, calls) = (tx.clone(), Arc::clone(&calls));
            async move {
                let _ = tx.send(body);
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    std::future::pending::<()>().await;
                }
                Status::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

/// How an event reaches the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// A webhook the operator configured.
    OperatorWebhook,
    /// The partner's own registration (Partner Center's webhooks).
    PartnerRegistration,
}

#[tokio::test]
async fn an_operator_webhooks_delivery_held_by_a_killed_node_is_completed_by_another() {
    a_delivery_held_by_a_killed_node_is_completed_by_another(Route::OperatorWebhook).await;
}

#[tokio::test]
async fn a_partners_event_held_by_a_killed_node_is_completed_by_another() {
    a_delivery_held_by_a_killed_node_is_completed_by_another(Route::PartnerRegistration).await;
}

/// A node claims the delivery of a submission's event, and dies while the receiver stalls;
/// another node takes the job over once its lease expires, and the same event arrives.
async fn a_delivery_held_by_a_killed_node_is_completed_by_another(route: Route) {
    use qualify_store::testing::TestDatabase;
    use qualify_store::{DatabaseUrl, JobState, Store, StoreOptions};
    use secrecy::ExposeSecret;

    let Some(db) = TestDatabase::postgres("node killed mid-job").await else {
        return;
    };
    let DatabaseUrl::Postgres(url) = db.url() else {
        unreachable!()
    };
    let (hook, mut deliveries) = stalling_receiver().await;
    let mut node_args = vec![
        "--dev",
        "--database",
        url.expose_secret(),
        "--public-url",
        "http://qualify.test",
        "--job-lease",
        "2s",
    ];
    if route == Route::OperatorWebhook {
        node_args.extend([
            "--webhook-url",
            &hook,
            "--webhook-secret",
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        ]);
    }
    let node_1 = start(&node_args);
    let token = user_token(&node_1.base, PARTNER_A).await;
    let http = reqwest::Client::new();
    if route == Route::PartnerRegistration {
        let registered = http
            .post(format!("{}/webhooks/v1/registration", node_1.base))
            .bearer_auth(&token)
            .json(&json!({"WebhookUrl": hook, "WebhookEvents": ["customer-qualification-updated"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(registered.status(), StatusCode::OK);
    }
    let customer = create_customer(&node_1.base, &token, "lease.onmicrosoft.com").await;
    let submitted = submit_state_owned(&http, &node_1.base, &token, &customer).await;
    assert_eq!(submitted.status(), StatusCode::CREATED);

    // Node 1 claimed the delivery and is waiting on the receiver; a second node joins, and node 1
    // dies mid-job, its lease still running.
    let first = deliveries.recv().await.unwrap();
    let _node_2 = start(&node_args);
    node_1.kill_9();

    // Node 2 takes the job over once the lease expires, and delivers the same event.
    let second = deliveries.recv().await.unwrap();
    assert_eq!(second, first, "the same event, delivered again");
    let store = Store::connect(&StoreOptions::new(db.url().clone()))
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let job = loop {
        let job = store.jobs().await.unwrap().remove(0);
        if job.state == JobState::Done || std::time::Instant::now() > deadline {
            break job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(job.state, JobState::Done);
    assert_eq!(job.attempts, 2, "claimed by node 1, then by node 2");
    assert_eq!(
        job.last_error, None,
        "node 1 never recorded a failure: node 2 took over an expired lease"
    );
    store.close().await;
}

/// Submits a StateOwnedEntity qualification for a new customer with `domain`; returns the
/// answer.
async fn submit_for_new_customer(base: &str, token: &str, domain: &str) -> Value {
    let customer = create_customer(base, token, domain).await;
    submit_state_owned(&reqwest::Client::new(), base, token, &customer)
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn sighup_rereads_the_rules_and_a_bad_file_keeps_those_in_force() {
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("q.db").display());
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nname = \"state-owned\"\nqualification = \"StateOwnedEntity\"\ndecision = \"Approved\"\n",
    )
    .unwrap();
    let server = start(&[
        "--dev",
        "--database",
        &database,
        "--rules",
        rules.to_str().unwrap(),
    ]);
    let token = user_token(&server.base, PARTNER_A).await;
    let first = submit_for_new_customer(&server.base, &token, "one.example").await;
    assert_eq!(first["vettingStatus"], "Approved", "{first}");

    // A file with a mistake: the server says where, and keeps the rules it has.
    std::fs::write(
        &rules,
        "[[rule]]\nname = \"state-owned\"\nqualification = \"StateOwnedEntity\"\ndecision = \"Denied\"\n",
    )
    .unwrap();
    server.hang_up().unwrap();
    assert!(
        server.wait_for_log("has a problem", Duration::from_secs(30)),
        "{}",
        server.log()
    );
    assert!(
        server.log().contains("rules.toml:1: rule 'state-owned'"),
        "{}",
        server.log()
    );
    let second = submit_for_new_customer(&server.base, &token, "two.example").await;
    assert_eq!(
        second["vettingStatus"], "Approved",
        "the old rules stay: {second}"
    );

    // A good file replaces them.
    std::fs::write(
        &rules,
        "[[rule]]\nname = \"state-owned\"\nqualification = \"StateOwnedEntity\"\ndecision = \"Denied\"\nreason = \"Not a State Owned Entity\"\n",
    )
    .unwrap();
    server.hang_up().unwrap();
    assert!(
        server.wait_for_log("reloaded the vetting rules", Duration::from_secs(30)),
        "{}",
        server.log()
    );
    let third = submit_for_new_customer(&server.base, &token, "three.example").await;
    assert_eq!(third["vettingStatus"], "Denied", "{third}");
    assert_eq!(third["vettingReason"], "Not a State Owned Entity");
    let (graceful, _) = server.terminate().unwrap();
    assert!(graceful);
}

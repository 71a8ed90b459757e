//! `qualify serve` as a process: durability under `kill -9`, graceful stop on SIGTERM.

use qualify_types::dev::PARTNER_A;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::process::{ServerProcess, user_token};

#[tokio::test]
async fn an_acknowledged_write_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("q.db").display());
    let server = ServerProcess::start(&["--dev", "--database", &database]);
    let http = reqwest::Client::new();
    let token = user_token(&server.base, PARTNER_A).await;
    let customer: Value = http
        .post(format!("{}/v1/customers", server.base))
        .bearer_auth(&token)
        .json(&json!({"companyProfile": {"domain": "kill9.onmicrosoft.com"}, "billingProfile": {"companyName": "K"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let customer = customer["id"].as_str().unwrap().to_owned();
    let submitted = http
        .post(format!(
            "{}/v1/customers/{customer}/qualifications",
            server.base
        ))
        .bearer_auth(&token)
        .json(&json!({"qualification": "StateOwnedEntity"}))
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.status(), StatusCode::CREATED);
    // The 201 has been received: the write was acknowledged. Now the process dies at once.
    server.kill_9();

    let server = ServerProcess::start(&["--dev", "--database", &database]);
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
    let server = ServerProcess::start(&["--dev", "--database", &database]);
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

    let (success, log) = server.terminate();
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

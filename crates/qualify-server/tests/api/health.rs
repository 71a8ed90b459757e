//! `/healthz` and `/readyz`: ready while the database answers, not ready while it doesn't, and
//! ready again by itself when it comes back; `/readyz` not ready either while the database lacks
//! this build's migrations, or once the node is stopping; `/livez` whatever the database does.

use std::time::{Duration, Instant};

use qualify_store::testing::TestDatabase;
use reqwest::StatusCode;

use crate::helpers::*;

async fn health(server: &TestServer) -> StatusCode {
    server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap()
        .status()
}

/// Polls `/healthz` until it answers `expected`; the bound only keeps a broken server from
/// hanging the suite.
async fn until_health(server: &TestServer, expected: StatusCode) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while health(server).await != expected {
        assert!(
            Instant::now() < deadline,
            "/healthz never answered {expected}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn health_follows_the_database_down_and_back_up() {
    let Some(db) = TestDatabase::postgres("health").await else {
        return;
    };
    let server = TestServer::start_with(&db, |s| {
        s.store.db_acquire_timeout = Some(Duration::from_millis(500))
    })
    .await;
    assert_eq!(health(&server).await, StatusCode::OK);
    let partner = server.token(PARTNER_A, Grant::App).await;
    let customer = server
        .create_customer(&partner, "down.onmicrosoft.com")
        .await;
    let qualifications = format!("/v1/customers/{customer}/qualifications");

    // The database stops accepting connections and ends the server's sessions.
    db.administer("ALTER DATABASE {db} ALLOW_CONNECTIONS false")
        .await;
    db.administer("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'")
        .await;
    until_health(&server, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(
        probe(&server, "/readyz").await,
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable".to_owned())
    );
    let unavailable = server.get("/v1/customers", &partner).await;
    assert_eq!(unavailable.headers()["retry-after"], "1");
    assert_error(unavailable, StatusCode::SERVICE_UNAVAILABLE, 610_011).await;
    // A GET of qualifications, read with whatever other GETs wait (`db/batched.rs`), too.
    let unavailable = server.get(&qualifications, &partner).await;
    assert_eq!(unavailable.headers()["retry-after"], "1");
    assert_error(unavailable, StatusCode::SERVICE_UNAVAILABLE, 610_011).await;

    // It comes back; the server recovers without a restart.
    db.administer("ALTER DATABASE {db} ALLOW_CONNECTIONS true")
        .await;
    until_health(&server, StatusCode::OK).await;
    assert_eq!(
        server.get("/v1/customers", &partner).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        server.get(&qualifications, &partner).await.status(),
        StatusCode::OK
    );
    server.stop().await;
}

async fn probe(server: &TestServer, path: &str) -> (StatusCode, String) {
    let response = server.http.get(server.url(path)).send().await.unwrap();
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap();
    (
        status,
        body["status"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn readiness_says_why_not_and_liveness_only_that_the_process_answers() {
    for db in TestDatabase::every_backend("readiness").await {
        let server = TestServer::start(&db).await;
        let ok = (StatusCode::OK, "ok".to_owned());
        assert_eq!(probe(&server, "/readyz").await, ok);
        assert_eq!(probe(&server, "/livez").await, ok);

        // The database lacks a migration this build has (restored from an older backup, say).
        run_sql(
            &db,
            "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)"
                .to_owned(),
        )
        .await;
        assert_eq!(
            probe(&server, "/readyz").await,
            (StatusCode::SERVICE_UNAVAILABLE, "migrating".to_owned())
        );
        assert_eq!(probe(&server, "/livez").await, ok);
        assert_eq!(
            probe(&server, "/healthz").await,
            ok,
            "/healthz only asks the database"
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn a_stopping_node_is_not_ready_and_serves_until_its_shutdown_delay_ends() {
    let db = TestDatabase::sqlite();
    let mut server = TestServer::start_with(&db, |s| {
        s.http.shutdown_delay = Duration::from_secs(600);
    })
    .await;
    let partner = server.token(PARTNER_A, Grant::App).await;
    assert_eq!(probe(&server, "/readyz").await.0, StatusCode::OK);

    server.begin_stop();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, why) = probe(&server, "/readyz").await;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(why, "stopping");
            break;
        }
        assert!(Instant::now() < deadline, "/readyz never said stopping");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Still serving, on a new connection too: the delay is for the load balancer to notice.
    let fresh = reqwest::Client::new()
        .get(server.url("/v1/customers"))
        .bearer_auth(&partner)
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), StatusCode::OK);
    assert_eq!(probe(&server, "/livez").await.0, StatusCode::OK);
}

//! `/healthz`: ready while the database answers, not ready while it doesn't, and ready again by
//! itself when it comes back.

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
        s.db_acquire_timeout = Some(Duration::from_millis(500))
    })
    .await;
    assert_eq!(health(&server).await, StatusCode::OK);
    let partner = server.token(PARTNER_A, Grant::App).await;

    // The database stops accepting connections and ends the server's sessions.
    db.administer("ALTER DATABASE {db} ALLOW_CONNECTIONS false")
        .await;
    db.administer("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'")
        .await;
    until_health(&server, StatusCode::SERVICE_UNAVAILABLE).await;
    let unavailable = server.get("/v1/customers", &partner).await;
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
    server.stop().await;
}

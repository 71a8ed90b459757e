//! Access rules for real deployments: MFA on App+User tokens, disabled tenants, applications and
//! users refused at once, refresh tokens that rotate and are revoked on reuse, brute-force
//! lock-outs, and signing-key rotation.

use std::time::{Duration, Instant};

use qualify_server::wall_now;
use qualify_store::Tx;
use qualify_store::testing::TestDatabase;
use qualify_types::TenantId;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn app_user_tokens_without_mfa_are_refused_unless_configured_off() {
    for require_mfa in [true, false] {
        let db = TestDatabase::sqlite();
        let server = TestServer::start_with(&db, |s| s.identity.require_mfa = require_mfa).await;
        let real = server.token(PARTNER_A, Grant::User).await;
        let mut claims = claims_of(&real);
        claims["amr"] = json!(["pwd"]);
        let without_mfa = sign_with_server_key(&db, &claims).await;
        let response = server.get("/v1/customers", &without_mfa).await;
        if require_mfa {
            let description = assert_error(response, StatusCode::FORBIDDEN, 900_150).await;
            assert!(description.contains("Multi-factor"), "{description}");
        } else {
            assert_eq!(response.status(), StatusCode::OK);
        }
        // App-only tokens have no user, so no MFA to show.
        let app = server.token(PARTNER_A, Grant::App).await;
        assert_eq!(
            server.get("/v1/customers", &app).await.status(),
            StatusCode::OK
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn disabling_a_tenant_an_app_or_a_user_refuses_their_unexpired_tokens_at_once() {
    for db in TestDatabase::every_backend("disable").await {
        let server = TestServer::start(&db).await;
        let store = admin_store(&db).await;
        let now = wall_now();

        let user_b = server.token(PARTNER_B, Grant::User).await;
        assert_eq!(
            server.get("/v1/customers", &user_b).await.status(),
            StatusCode::OK
        );
        store
            .transaction(async |tx: &mut Tx| {
                tx.set_user_disabled(PARTNER_B.username, true, now).await
            })
            .await
            .unwrap();
        let description = assert_error(
            server.get("/v1/customers", &user_b).await,
            StatusCode::UNAUTHORIZED,
            400,
        )
        .await;
        assert!(description.contains("user is disabled"), "{description}");
        store
            .transaction(async |tx: &mut Tx| {
                tx.set_user_disabled(PARTNER_B.username, false, now).await
            })
            .await
            .unwrap();
        assert_eq!(
            server.get("/v1/customers", &user_b).await.status(),
            StatusCode::OK,
            "re-enabled"
        );

        let app_b = server.token(PARTNER_B, Grant::App).await;
        store
            .transaction(async |tx: &mut Tx| {
                tx.set_app_disabled(PARTNER_B.client_id.parse().unwrap(), true, now)
                    .await
            })
            .await
            .unwrap();
        assert_error(
            server.get("/v1/customers", &app_b).await,
            StatusCode::UNAUTHORIZED,
            400,
        )
        .await;
        assert_eq!(
            server.token_response(PARTNER_B, Grant::App).await.status(),
            StatusCode::BAD_REQUEST
        );

        let app_a = server.token(PARTNER_A, Grant::App).await;
        let tenant_a: TenantId = PARTNER_A.tenant_id.parse().unwrap();
        store
            .transaction(async |tx: &mut Tx| tx.set_tenant_disabled(tenant_a, true, now).await)
            .await
            .unwrap();
        let description = assert_error(
            server.get("/v1/customers", &app_a).await,
            StatusCode::UNAUTHORIZED,
            400,
        )
        .await;
        assert!(description.contains("tenant is disabled"), "{description}");
        store.close().await;
        server.stop().await;
    }
}

async fn refresh(server: &TestServer, refresh_token: &str) -> reqwest::Response {
    server
        .http
        .post(server.url(&format!("/{}/oauth2/v2.0/token", PARTNER_A.tenant_id)))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", PARTNER_A.client_id),
            ("client_secret", PARTNER_A.client_secret),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_its_whole_sign_in() {
    for db in TestDatabase::every_backend("refresh tokens").await {
        let server = TestServer::start(&db).await;
        let signed_in: Value = server
            .http
            .post(server.url(&format!("/{}/oauth2/v2.0/token", PARTNER_A.tenant_id)))
            .form(&[
                ("grant_type", "password"),
                ("client_id", PARTNER_A.client_id),
                ("client_secret", PARTNER_A.client_secret),
                ("username", PARTNER_A.username),
                ("password", PARTNER_A.password),
                (
                    "scope",
                    "https://api.partnercenter.microsoft.com/user_impersonation offline_access",
                ),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let first = signed_in["refresh_token"]
            .as_str()
            .expect("offline_access gives a refresh token")
            .to_owned();

        let renewed: Value = refresh(&server, &first).await.json().await.unwrap();
        let second = renewed["refresh_token"]
            .as_str()
            .expect("a new refresh token")
            .to_owned();
        assert_ne!(second, first, "rotated");
        let access = renewed["access_token"].as_str().unwrap();
        assert_eq!(claims_of(access)["upn"], PARTNER_A.username);
        assert_eq!(
            server.get("/v1/customers", access).await.status(),
            StatusCode::OK
        );

        // The used one presented again: refused, and the whole sign-in is revoked.
        let reused: Value = refresh(&server, &first).await.json().await.unwrap();
        assert_eq!(reused["error"], "invalid_grant");
        let after: Value = refresh(&server, &second).await.json().await.unwrap();
        assert_eq!(after["error"], "invalid_grant", "the family is revoked");
        assert_eq!(
            refresh(&server, "not-a-token").await.status(),
            StatusCode::BAD_REQUEST
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn repeated_wrong_secrets_lock_the_client_id_out() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let attempt = |secret: &'static str| client_credentials(&server, secret, None);
    for _ in 0..5 {
        let body: Value = attempt("wrong").await.json().await.unwrap();
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .starts_with("AADSTS7000215"),
            "{body}"
        );
    }
    // Locked: even the right secret is refused, without being checked.
    let body: Value = attempt(PARTNER_A.client_secret).await.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS50053"),
        "{body}"
    );
    // Another client is not affected.
    assert_eq!(
        server.token_response(PARTNER_B, Grant::App).await.status(),
        StatusCode::OK
    );
    server.stop().await;
}

/// A client credentials grant of partner A's client id with `secret`, with `forwarded_for` as
/// its `X-Forwarded-For` (what a proxy in front of the server would say of the client).
async fn client_credentials(
    server: &TestServer,
    secret: &str,
    forwarded_for: Option<&str>,
) -> reqwest::Response {
    let endpoint = server.url(&format!("/{}/oauth2/v2.0/token", PARTNER_A.tenant_id));
    let mut request = server.http.post(&endpoint).form(&[
        ("grant_type", "client_credentials"),
        ("client_id", PARTNER_A.client_id),
        ("client_secret", secret),
        ("scope", "https://api.partnercenter.microsoft.com/.default"),
    ]);
    if let Some(client) = forwarded_for {
        request = request.header("X-Forwarded-For", client);
    }
    request.send().await.unwrap()
}

/// [`client_credentials`] from the client `from`: the refusal's error code, or `None` when a
/// token was issued.
async fn attempt_from(server: &TestServer, secret: &str, from: &str) -> Option<String> {
    let answer = client_credentials(server, secret, Some(from)).await;
    if answer.status() == StatusCode::OK {
        return None;
    }
    let body: Value = answer.json().await.unwrap();
    body["error_description"]
        .as_str()
        .and_then(|d| d.split(':').next())
        .map(str::to_owned)
}

#[tokio::test]
async fn a_guessers_failures_lock_the_guesser_out_not_the_owner() {
    const GUESSER: &str = "203.0.113.7";
    const OWNER: &str = "198.51.100.9";
    let db = TestDatabase::sqlite();
    // Behind a proxy the operator trusts (this test's own address), the client is whom
    // X-Forwarded-For names.
    let server = TestServer::start_with(&db, |s| {
        s.http.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    for _ in 0..5 {
        assert_eq!(
            attempt_from(&server, "wrong", GUESSER).await.as_deref(),
            Some("AADSTS7000215")
        );
    }
    // The guesser is locked out, whatever it sends now...
    assert_eq!(
        attempt_from(&server, PARTNER_A.client_secret, GUESSER)
            .await
            .as_deref(),
        Some("AADSTS50053")
    );
    // ...and the owner, from its own address, gets its token.
    assert_eq!(
        attempt_from(&server, PARTNER_A.client_secret, OWNER).await,
        None
    );
    // A guesser writing an address into the header itself is not believed: the proxy appends
    // the one it saw, and that one is locked.
    assert_eq!(
        attempt_from(
            &server,
            PARTNER_A.client_secret,
            &format!("{OWNER}, {GUESSER}")
        )
        .await
        .as_deref(),
        Some("AADSTS50053")
    );
    server.stop().await;

    // Without trusted proxies the header means nothing: every attempt here comes from
    // 127.0.0.1, which a forged header does not move out of its lock-out.
    let direct = TestServer::start(&TestDatabase::sqlite()).await;
    for n in 0..5 {
        attempt_from(&direct, "wrong", &format!("192.0.2.{n}")).await;
    }
    assert_eq!(
        attempt_from(&direct, PARTNER_A.client_secret, OWNER)
            .await
            .as_deref(),
        Some("AADSTS50053")
    );
    direct.stop().await;
}

#[tokio::test]
async fn a_rotated_key_signs_new_tokens_while_the_old_one_still_verifies() {
    for db in TestDatabase::every_backend("key rotation").await {
        let server = TestServer::start_with(&db, |s| {
            s.identity.signing_key_refresh = Duration::from_millis(100)
        })
        .await;
        let before = server.token(PARTNER_A, Grant::App).await;
        let old_kid = jsonwebtoken::decode_header(&before).unwrap().kid.unwrap();

        let store = admin_store(&db).await;
        let (kid, pem) = qualify_app::identity::generate_signing_key().unwrap();
        store
            .transaction(async |tx: &mut Tx| tx.rotate_signing_key(&kid, &pem, wall_now()).await)
            .await
            .unwrap();
        store.close().await;

        // The node picks the rotation up at its next reload: the JWKS publishes both keys.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let jwks: Value = server.get_json("/discovery/v2.0/keys").await;
            let kids: Vec<&str> = jwks["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["kid"].as_str().unwrap())
                .collect();
            if kids.len() == 2 {
                assert!(kids.contains(&kid.as_str()) && kids.contains(&old_kid.as_str()));
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the rotation never reached the node"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let after = server.token(PARTNER_A, Grant::App).await;
        assert_eq!(
            jsonwebtoken::decode_header(&after).unwrap().kid.unwrap(),
            kid
        );
        assert_eq!(
            server.get("/v1/customers", &before).await.status(),
            StatusCode::OK,
            "old tokens verify"
        );
        assert_eq!(
            server.get("/v1/customers", &after).await.status(),
            StatusCode::OK
        );
        server.stop().await;
    }
}

/// Reading a customer's qualifications (the polling clients' hot path) reads the caller's
/// status and the customer's history together: the caller is still checked first, and a
/// disabled tenant is refused at once, whatever the path holds.
#[tokio::test]
async fn reads_of_a_customers_qualifications_check_the_caller_first() {
    for db in TestDatabase::every_backend("history-access").await {
        let server = TestServer::start(&db).await;
        let store = admin_store(&db).await;
        let app_a = server.token(PARTNER_A, Grant::App).await;
        let customer = server.create_customer(&app_a, "access.example").await;
        let reads = [
            format!("/v1/customers/{customer}/qualifications"),
            format!("/v1/customers/{customer}/qualification"),
        ];
        let malformed = [
            "/v1/customers/not-a-guid/qualifications",
            "/v1/customers/not-a-guid/qualification",
        ];
        for path in &reads {
            assert_eq!(server.get(path, &app_a).await.status(), StatusCode::OK);
        }
        for path in malformed {
            assert_error(
                server.get(path, &app_a).await,
                StatusCode::BAD_REQUEST,
                900_118,
            )
            .await;
        }
        let app_b = server.token(PARTNER_B, Grant::App).await;
        for path in &reads {
            assert_error(
                server.get(path, &app_b).await,
                StatusCode::NOT_FOUND,
                60_003,
            )
            .await;
        }
        let reviewer = server.token(OPERATOR, Grant::User).await;
        for path in reads.iter().map(String::as_str).chain(malformed) {
            assert_error(
                server.get(path, &reviewer).await,
                StatusCode::FORBIDDEN,
                900_150,
            )
            .await;
        }

        let tenant_a: TenantId = PARTNER_A.tenant_id.parse().unwrap();
        store
            .transaction(async |tx: &mut Tx| {
                tx.set_tenant_disabled(tenant_a, true, wall_now()).await
            })
            .await
            .unwrap();
        for path in reads.iter().map(String::as_str).chain(malformed) {
            let description = assert_error(
                server.get(path, &app_a).await,
                StatusCode::UNAUTHORIZED,
                400,
            )
            .await;
            assert!(
                description.contains("tenant is disabled"),
                "{path}: {description}"
            );
        }
        store.close().await;
        server.stop().await;
    }
}

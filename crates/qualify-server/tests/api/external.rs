//! Tokens of an external OpenID Connect issuer, started inside the test with its own discovery
//! document, JWKS and signing keys, and trusted with `--trust-issuer`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use qualify_server::TrustedIssuer;
use qualify_store::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::helpers::*;

/// A signing key of the test issuer.
struct IssuerKey {
    kid: String,
    encoding: EncodingKey,
    jwk: Jwk,
}

fn issuer_key(kid: &str) -> IssuerKey {
    let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let pem = pem::encode(&pem::Pem::new(
        "PRIVATE KEY",
        pair.as_der().unwrap().as_ref().to_vec(),
    ));
    let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
    let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    jwk.common.key_algorithm = Some(KeyAlgorithm::RS256);
    IssuerKey {
        kid: kid.to_owned(),
        encoding,
        jwk,
    }
}

/// A minimal OpenID provider: discovery and JWKS, with keys the test can rotate.
struct Issuer {
    url: String,
    published: Arc<Mutex<Vec<Jwk>>>,
}

async fn issuer() -> Issuer {
    let published: Arc<Mutex<Vec<Jwk>>> = Arc::default();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/tenant-x/v2.0", listener.local_addr().unwrap());
    let discovery = json!({
        "issuer": url,
        "jwks_uri": format!("http://{}/keys", listener.local_addr().unwrap()),
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    let app = Router::new()
        .route(
            "/tenant-x/v2.0/.well-known/openid-configuration",
            get(move || async move { axum::Json(discovery) }),
        )
        .route(
            "/keys",
            get(|State(keys): State<Arc<Mutex<Vec<Jwk>>>>| async move {
                axum::Json(JwkSet {
                    keys: keys.lock().unwrap().clone(),
                })
            }),
        )
        .with_state(Arc::clone(&published));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Issuer { url, published }
}

impl Issuer {
    fn publish(&self, keys: &[&IssuerKey]) {
        *self.published.lock().unwrap() = keys.iter().map(|k| k.jwk.clone()).collect();
    }

    /// An App-only token of `tenant`, with `change` applied to its claims.
    fn token(&self, key: &IssuerKey, tenant: &str, change: impl FnOnce(&mut Value)) -> String {
        let now = jsonwebtoken::get_current_timestamp();
        let mut claims = json!({
            "iss": self.url, "aud": "https://api.partnercenter.microsoft.com", "sub": "external-app",
            "tid": tenant, "appid": "11111111-2222-4333-8444-555555555555", "iat": now, "nbf": now, "exp": now + 600,
        });
        change(&mut claims);
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, &claims, &key.encoding).unwrap()
    }
}

#[tokio::test]
async fn tokens_of_a_trusted_issuer_are_accepted_for_known_partners_across_a_key_rotation() {
    let issuer = issuer().await;
    let first = issuer_key("key-1");
    issuer.publish(&[&first]);
    let db = TestDatabase::sqlite();
    let trusted = TrustedIssuer {
        url: issuer.url.parse().unwrap(),
        audience: None,
        tenants: Vec::new(),
    };
    let server = TestServer::start_with(&db, |s| {
        s.identity.trusted_issuers = vec![trusted];
        s.identity.issuer_refresh_interval = Duration::ZERO;
    })
    .await;

    // A partner's token from its own identity provider: accepted, and it sees its own data.
    let token = issuer.token(&first, PARTNER_A.tenant_id, |_| {});
    assert_eq!(
        server.get("/v1/customers", &token).await.status(),
        StatusCode::OK
    );
    let customer = server
        .create_customer(&token, "external.onmicrosoft.com")
        .await;
    let own = server.token(PARTNER_A, Grant::App).await;
    assert_eq!(
        server
            .get(&format!("/v1/customers/{customer}"), &own)
            .await
            .status(),
        StatusCode::OK
    );

    // Its tid must be a known partner; the operator's tenant is not one.
    let unknown = issuer.token(&first, "0a1b2c3d-0000-4000-8000-00000000000f", |_| {});
    assert_error(
        server.get("/v1/customers", &unknown).await,
        StatusCode::UNAUTHORIZED,
        400,
    )
    .await;
    let operator = issuer.token(&first, OPERATOR.tenant_id, |_| {});
    assert_error(
        server.get("/v1/customers", &operator).await,
        StatusCode::UNAUTHORIZED,
        400,
    )
    .await;
    // The audience and the expiry are checked as for the built-in issuer's tokens.
    let wrong_audience = issuer.token(&first, PARTNER_A.tenant_id, |c| {
        c["aud"] = json!("https://graph.microsoft.com")
    });
    assert_error(
        server.get("/v1/customers", &wrong_audience).await,
        StatusCode::UNAUTHORIZED,
        400,
    )
    .await;
    let expired = issuer.token(&first, PARTNER_A.tenant_id, |c| {
        c["exp"] = json!(1_000_000_000)
    });
    assert_error(
        server.get("/v1/customers", &expired).await,
        StatusCode::UNAUTHORIZED,
        400,
    )
    .await;

    // The issuer rotates its key: a token with the new kid makes Qualify fetch the keys again.
    let second = issuer_key("key-2");
    issuer.publish(&[&second]);
    let rotated = issuer.token(&second, PARTNER_A.tenant_id, |c| {
        c["jti"] = json!("after-rotation")
    });
    assert_eq!(
        server.get("/v1/customers", &rotated).await.status(),
        StatusCode::OK
    );
    // A token signed with the retired key (and never seen before) is refused.
    let retired = issuer.token(&first, PARTNER_A.tenant_id, |c| c["jti"] = json!("retired"));
    assert_error(
        server.get("/v1/customers", &retired).await,
        StatusCode::UNAUTHORIZED,
        400,
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn an_untrusted_issuer_and_allowed_tenants_are_enforced() {
    let issuer = issuer().await;
    let key = issuer_key("key-1");
    issuer.publish(&[&key]);
    let db = TestDatabase::sqlite();
    // Not trusted at all.
    let server = TestServer::start(&db).await;
    let token = issuer.token(&key, PARTNER_A.tenant_id, |_| {});
    let description = assert_error(
        server.get("/v1/customers", &token).await,
        StatusCode::UNAUTHORIZED,
        400,
    )
    .await;
    assert!(description.contains("not trusted"), "{description}");
    server.stop().await;

    // Trusted for partner B only.
    let trusted = TrustedIssuer {
        url: issuer.url.parse().unwrap(),
        audience: None,
        tenants: vec![PARTNER_B.tenant_id.parse().unwrap()],
    };
    let server = TestServer::start_with(&db, |s| s.identity.trusted_issuers = vec![trusted]).await;
    assert_error(
        server.get("/v1/customers", &token).await,
        StatusCode::UNAUTHORIZED,
        400,
    )
    .await;
    let token_b = issuer.token(&key, PARTNER_B.tenant_id, |_| {});
    assert_eq!(
        server.get("/v1/customers", &token_b).await.status(),
        StatusCode::OK
    );
    server.stop().await;
}

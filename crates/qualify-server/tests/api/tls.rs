//! HTTPS with a development certificate: a client with Partner Center's host name hard-coded
//! reaches Qualify through a hosts entry (here, reqwest's `resolve`) and the local authority.

use qualify_store::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

const HOST: &str = "api.partnercenter.microsoft.com";

fn client_trusting(ca: Option<&std::path::Path>, addr: std::net::SocketAddr) -> reqwest::Client {
    let mut builder = reqwest::Client::builder().resolve(HOST, addr);
    if let Some(ca) = ca {
        builder = builder.add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap(),
        );
    }
    builder.build().unwrap()
}

#[tokio::test]
async fn a_client_with_partner_centers_url_reaches_qualify_over_https() {
    let db = TestDatabase::sqlite();
    let dir = tempfile_dir();
    let self_signed = |s: &mut qualify_server::Settings| {
        s.tls_self_signed = true;
        s.tls_dir = dir.path().to_owned();
        s.tls_names = vec![HOST.to_owned(), "localhost".to_owned()];
    };
    let server = TestServer::start_with(&db, self_signed).await;
    let addr: std::net::SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();
    let ca = qualify_server::tls::development_ca(dir.path());

    let client = client_trusting(Some(&ca), addr);
    let url = format!("https://{HOST}:{}", addr.port());
    let health = client.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let token: Value = client
        .post(format!("{url}/{}/oauth2/v2.0/token", PARTNER_A.tenant_id))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", PARTNER_A.client_id),
            ("client_secret", PARTNER_A.client_secret),
            ("scope", "https://api.partnercenter.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap();
    assert!(
        claims_of(token)["iss"]
            .as_str()
            .unwrap()
            .starts_with("https://"),
        "the issuer is the HTTPS URL"
    );
    let customers = client
        .get(format!("{url}/v1/customers"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(customers.status(), StatusCode::OK);

    // Without the authority the certificate is not trusted: it is real TLS.
    assert!(
        client_trusting(None, addr)
            .get(format!("{url}/healthz"))
            .send()
            .await
            .is_err()
    );
    server.stop().await;

    // A restart reuses the authority a client already trusts.
    let before = std::fs::read(&ca).unwrap();
    let server = TestServer::start_with(&db, self_signed).await;
    assert_eq!(std::fs::read(&ca).unwrap(), before);
    server.stop().await;
}

fn tempfile_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

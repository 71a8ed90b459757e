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
        s.http.tls_self_signed = true;
        s.http.tls_dir = dir.path().to_owned();
        s.http.tls_names = vec![HOST.to_owned(), "localhost".to_owned()];
    };
    let server = TestServer::start_with(&db, self_signed).await;
    let addr: std::net::SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();
    let ca = qualify_server::tls::development_ca(dir.path());

    let client = client_trusting(Some(&ca), addr);
    let url = format!("https://{HOST}:{}", addr.port());
    let health = client.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    // Every answer over TLS tells the browser to keep to HTTPS, errors included.
    assert_eq!(
        health.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let missing = client
        .get(format!("{url}/v1/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        missing.headers()["strict-transport-security"],
        "max-age=31536000"
    );
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

/// Verifies a certificate for `name` as a client trusting `ca` would (rustls's own verifier).
fn verify(
    ca: &rustls::pki_types::CertificateDer<'static>,
    certificate: &rustls::pki_types::CertificateDer<'static>,
    name: &str,
) -> Result<(), rustls::Error> {
    use rustls::client::danger::ServerCertVerifier;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone()).unwrap();
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        std::sync::Arc::new(roots),
        std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
    )
    .build()
    .unwrap();
    verifier
        .verify_server_cert(
            certificate,
            &[],
            &rustls::pki_types::ServerName::try_from(name.to_owned()).unwrap(),
            &[],
            rustls::pki_types::UnixTime::now(),
        )
        .map(|_| ())
}

#[tokio::test]
async fn the_development_authority_is_private_short_lived_and_limited_to_its_names() {
    use rustls::pki_types::pem::PemObject;
    use std::os::unix::fs::PermissionsExt;
    let db = TestDatabase::sqlite();
    let dir = tempfile_dir();
    let tls_dir = dir.path().join("tls");
    let names = vec![
        HOST.to_owned(),
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
    ];
    let server = TestServer::start_with(&db, |s| {
        s.http.tls_self_signed = true;
        s.http.tls_dir = tls_dir.clone();
        s.http.tls_names = names.clone();
    })
    .await;
    server.stop().await;

    // Its keys, and the folder holding them, are this user's alone.
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&tls_dir), 0o700);
    assert_eq!(mode(&tls_dir.join("ca-key.pem")), 0o600);
    assert_eq!(mode(&tls_dir.join("key.pem")), 0o600);

    let ca_path = qualify_server::tls::development_ca(&tls_dir);
    let ca = rustls::pki_types::CertificateDer::from_pem_file(&ca_path).unwrap();
    let served =
        rustls::pki_types::CertificateDer::from_pem_file(tls_dir.join("cert.pem")).unwrap();
    for name in &names {
        verify(&ca, &served, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    }

    // Whoever copies its key can sign for the names it was made for, and for nothing else: a
    // certificate it signs for another site is refused by its name constraints.
    let ca_key =
        rcgen::KeyPair::from_pem(&std::fs::read_to_string(tls_dir.join("ca-key.pem")).unwrap())
            .unwrap();
    let mut authority = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    authority
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Qualify local development CA");
    let issuer = rcgen::Issuer::new(authority, ca_key);
    let forge = |name: &str| {
        let key = rcgen::KeyPair::generate().unwrap();
        rcgen::CertificateParams::new(vec![name.to_owned()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap()
            .der()
            .clone()
    };
    verify(&ca, &forge("localhost"), "localhost").expect("a name it was made for");
    let refused = verify(
        &ca,
        &forge("login.microsoftonline.com"),
        "login.microsoftonline.com",
    );
    assert!(
        refused.is_err(),
        "signed for a name outside its constraints"
    );
    let refused = verify(&ca, &forge("www.example.org"), "www.example.org");
    assert!(
        refused.is_err(),
        "signed for a name outside its constraints"
    );

    // Years, not millennia: the authority ends within three years and a day, the server's
    // certificate within 397 days (read with the system's openssl, a second opinion).
    for (file, days) in [(&ca_path, 3 * 365 + 1), (&tls_dir.join("cert.pem"), 397)] {
        let ends_within = std::process::Command::new("openssl")
            .args(["x509", "-noout", "-checkend"])
            .arg((days * 86_400).to_string())
            .arg("-in")
            .arg(file)
            .status()
            .expect("openssl");
        // -checkend exits 1 when the certificate will have expired by then.
        assert_eq!(
            ends_within.code(),
            Some(1),
            "{} lasts too long",
            file.display()
        );
        let lasts_a_while = std::process::Command::new("openssl")
            .args([
                "x509",
                "-noout",
                "-checkend",
                &(300 * 86_400).to_string(),
                "-in",
            ])
            .arg(file)
            .status()
            .expect("openssl");
        assert_eq!(
            lasts_a_while.code(),
            Some(0),
            "{} ends too soon",
            file.display()
        );
    }
}

#[tokio::test]
async fn plain_http_makes_no_promise_of_https() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let health = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert!(!health.headers().contains_key("strict-transport-security"));
    server.stop().await;
}

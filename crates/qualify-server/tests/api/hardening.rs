//! What an attacker without credentials tried: connections that never finish their headers,
//! more connections than the server has file descriptors for, and paths whose %-escapes are not
//! UTF-8. Each held the server before its fix: connections stayed open forever, and the paths
//! were 500s.

use std::time::Duration;

use qualify_store::testing::TestDatabase;
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// Longer than any wait here should take: only a server that never closes reaches it.
const NEVER: Duration = Duration::from_secs(60);

/// Reads `stream` until the server closes it, and what it wrote before.
async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut written = Vec::new();
    tokio::time::timeout(NEVER, stream.read_to_end(&mut written))
        .await
        .expect("the server closes the connection")
        .map(|_| written)
        .unwrap_or_default()
}

#[tokio::test]
async fn connections_that_never_finish_their_headers_are_closed() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start_with(&db, |settings| {
        settings.http.header_read_timeout = Duration::from_millis(300);
    })
    .await;
    let address = server.base.trim_start_matches("http://").to_owned();

    // Nothing at all.
    let mut silent = TcpStream::connect(&address).await.unwrap();
    until_closed(&mut silent).await;

    // Half a request line, then half the headers.
    let mut slow = TcpStream::connect(&address).await.unwrap();
    slow.write_all(b"GET /healthz HT").await.unwrap();
    until_closed(&mut slow).await;
    let mut slower = TcpStream::connect(&address).await.unwrap();
    slower
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    until_closed(&mut slower).await;

    // A keep-alive connection answered once, then idle.
    let mut idle = TcpStream::connect(&address).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answered = until_closed(&mut idle).await;
    assert!(
        answered.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answered)
    );

    // Headers larger than the server reads: refused, not buffered.
    let mut huge = TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Huge: {}\r\n\r\n",
        "h".repeat(200 * 1024)
    );
    // The server may close before it has read everything: what it answered is what counts.
    let _ = huge.write_all(head.as_bytes()).await;
    let refused = until_closed(&mut huge).await;
    assert!(
        refused.starts_with(b"HTTP/1.1 431"),
        "{}",
        String::from_utf8_lossy(&refused)
    );

    // The server still answers everyone else.
    assert_eq!(
        server
            .http
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    server.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_until_one_closes() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start_with(&db, |settings| {
        settings.http.max_connections = Some(1);
    })
    .await;
    let address = server.base.trim_start_matches("http://").to_owned();
    let holder = TcpStream::connect(&address).await.unwrap();
    let url = format!("{}/healthz", server.base);
    let waiting = tokio::spawn(async move {
        reqwest::Client::new()
            .get(url)
            .timeout(NEVER)
            .send()
            .await
            .map(|r| r.status())
    });
    // While the only connection the server takes is open, the request is not answered...
    let early = tokio::time::timeout(Duration::from_secs(1), async {
        while !waiting.is_finished() {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(early.is_err(), "answered beyond the connection limit");
    // ...and once it closes, it is.
    drop(holder);
    assert_eq!(waiting.await.unwrap().unwrap(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn path_segments_that_are_not_utf8_are_refused_as_the_clients_mistake() {
    for db in TestDatabase::every_backend("undecodable paths").await {
        let server = TestServer::start(&db).await;
        let token = server.token(PARTNER_A, Grant::User).await;
        let discovery = server
            .http
            .get(format!(
                "{}/%FF/v2.0/.well-known/openid-configuration",
                server.base
            ))
            .send()
            .await
            .unwrap();
        assert_error(discovery, StatusCode::BAD_REQUEST, 900_118).await;
        for path in [
            "/v1/customers/%E9/qualifications",
            "/v1/customers/%C3%28",
            "/v1/auditrecords/%FF",
        ] {
            assert_error(
                server.get(path, &token).await,
                StatusCode::BAD_REQUEST,
                900_118,
            )
            .await;
        }
        // The token endpoint answers in OAuth's shape: such a tenant does not exist.
        let token = server
            .http
            .post(format!("{}/%FF/oauth2/v2.0/token", server.base))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(token.status(), StatusCode::BAD_REQUEST);
        let body: serde_json::Value = token.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .starts_with("AADSTS90002"),
            "{body}"
        );
        server.stop().await;
    }
}

/// The `kid` a token names.
fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

#[tokio::test]
async fn signing_keys_sealed_with_the_operators_key_are_useless_in_a_copy_of_the_database() {
    use qualify_app::admin::Admin;
    use qualify_app::identity::KeyEncryptionKey;
    use qualify_server::{App, Clock, Settings};

    for db in TestDatabase::every_backend("sealed signing keys").await {
        let dir = tempfile::tempdir().unwrap();
        let kek_file = dir.path().join("kek");
        std::fs::write(&kek_file, "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=\n").unwrap();
        let with_kek = |settings: &mut Settings| {
            settings.identity.key_encryption_key_file = Some(kek_file.clone());
        };

        // A database whose key was stored before there was a key-encryption key...
        let server = TestServer::start(&db).await;
        let before = server.token(PARTNER_A, Grant::App).await;
        server.stop().await;
        // ...has it sealed at the first start with one, and the same key still signs.
        let server = TestServer::start_with(&db, with_kek).await;
        let sealed = server.token(PARTNER_A, Grant::App).await;
        assert_eq!(kid_of(&sealed), kid_of(&before));
        assert_eq!(
            server.get("/v1/customers", &sealed).await.status(),
            StatusCode::OK
        );
        let store = admin_store(&db).await;
        let stored = store.signing_keys().await.unwrap();
        assert!(!stored.is_empty());
        for key in &stored {
            let text = secrecy::ExposeSecret::expose_secret(&key.private_key_pem);
            assert!(
                text.starts_with("sealed:v1:") && !text.contains("PRIVATE KEY"),
                "{text}"
            );
        }
        server.stop().await;

        // A rotation seals the new key; refused without the key that sealed the old ones.
        let admin = Admin::new(store.clone(), Clock::wall(), "admin-cli:test");
        assert!(admin.rotate_signing_key(None).await.is_err());
        let kek = KeyEncryptionKey::from_file(&kek_file).unwrap();
        let rotated = admin.rotate_signing_key(Some(&kek)).await.unwrap();
        store.close().await;
        let server = TestServer::start_with(&db, with_kek).await;
        let after = server.token(PARTNER_A, Grant::App).await;
        assert_eq!(kid_of(&after), rotated);
        assert_eq!(
            server.get("/v1/customers", &after).await.status(),
            StatusCode::OK
        );
        server.stop().await;

        // Without the key, or with another, the server won't start, and says why.
        for (kek, why) in [
            (None, "--key-encryption-key-file"),
            (Some([9u8; 32]), "was sealed with key-encryption key"),
        ] {
            let mut settings = Settings::new(db.url().clone());
            settings.dev = true;
            if let Some(bytes) = kek {
                let other = dir.path().join("other");
                std::fs::write(&other, bytes).unwrap();
                settings.identity.key_encryption_key_file = Some(other);
            }
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let refused = App::build(settings, listener).await.unwrap_err();
            let chain = format!("{:?}", anyhow_chain(&refused));
            assert!(chain.contains(why), "{chain}");
        }
    }
}

/// `error` and its sources, as one text.
fn anyhow_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

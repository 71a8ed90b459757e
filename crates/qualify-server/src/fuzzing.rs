//! What `cargo fuzz` drives (the `fuzzing` feature; the targets are in `fuzz/`): the whole
//! HTTP service in this process, a development server on a throw-away SQLite file fed requests
//! without a socket, and the property every target holds it to, that whatever a client sends is
//! answered without a panic, without a 500, and with errors in Partner Center's shape; the
//! vetting rules file's parser; and `qualify restore` of any file.

use std::path::Path;

use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode};
use qualify_domain::{Facts, Submission};
use qualify_store::testing::TestDatabase;
use qualify_types::{Qualification, TenantId, dev};
use tower::ServiceExt;

use crate::startup::App;
use qualify_app::Settings;

type Service = tower::util::MapRequest<axum::Router, fn(Request<Body>) -> Request<Body>>;

/// A development server answering requests in this process.
#[derive(Debug)]
pub struct Harness {
    runtime: tokio::runtime::Runtime,
    /// The routes, built once (building them is far dearer than a request).
    service: Service,
    /// An App+User token of partner A (a development identity).
    pub partner_token: String,
    /// An App+User token of the operator's reviewer.
    pub reviewer_token: String,
    _database: TestDatabase,
}

/// What the service answered.
#[derive(Debug)]
pub struct Answer {
    /// Its status.
    pub status: StatusCode,
    /// Its body.
    pub body: Bytes,
}

impl Harness {
    /// A `--dev` server on a new SQLite file, and tokens of partner A and the reviewer.
    pub fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let database = TestDatabase::sqlite();
        let mut settings = Settings::new(database.url().clone());
        settings.dev = true;
        // The server's own routes serve hyper's bodies; these serve the fuzzer's.
        let (routes, _) = crate::router::documented(settings.dev, settings.http.contract);
        let state = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a listener");
            App::build(settings, listener).await.expect("the app").state
        });
        let mut harness = Self {
            runtime,
            service: crate::router::service::<Body>(state, routes),
            partner_token: String::new(),
            reviewer_token: String::new(),
            _database: database,
        };
        harness.partner_token = harness.token(dev::PARTNER_A);
        harness.reviewer_token = harness.token(dev::OPERATOR);
        harness
    }

    fn token(&self, who: dev::DevIdentity) -> String {
        let form = [
            ("grant_type", "password"),
            ("client_id", who.client_id),
            ("client_secret", who.client_secret),
            ("username", who.username),
            ("password", who.password),
            (
                "scope",
                "https://api.partnercenter.microsoft.com/user_impersonation",
            ),
        ];
        let body = form
            .iter()
            .map(|(name, value)| {
                let value: String =
                    url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
                format!("{name}={value}")
            })
            .collect::<Vec<_>>()
            .join("&");
        let request = Request::post(format!("/{}/oauth2/v2.0/token", who.tenant_id))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("a token request");
        let answer = self.send(request);
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "the development identity's token"
        );
        let token: serde_json::Value = serde_json::from_slice(&answer.body).expect("JSON");
        token["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }

    /// Sends `request` through the whole service, as the server would after reading it.
    pub fn send(&self, request: Request<Body>) -> Answer {
        self.runtime.block_on(async {
            let response = match self.service.clone().oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap_or_default();
            Answer { status, body }
        })
    }

    /// Sends `request` and panics (which the fuzzer reports, with the input) if the answer is a
    /// 500, or an error not in Partner Center's shape (`code` and `description`) or OAuth's
    /// (`error`).
    pub fn send_and_check(&self, request: Request<Body>) -> Answer {
        let described = format!("{} {}", request.method(), request.uri());
        let answer = self.send(request);
        assert!(
            !answer.status.is_server_error(),
            "{described} answered {}: {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
        if answer.status.is_client_error() {
            let error: serde_json::Value = serde_json::from_slice(&answer.body)
                .unwrap_or_else(|e| panic!("{described}: an error body that is not JSON ({e})"));
            assert!(
                (error["code"].is_number() || error["code"].is_string())
                    && error["description"].is_string()
                    || error["error"].is_string(),
                "{described} answered {} with an error in neither shape: {error}",
                answer.status
            );
        }
        answer
    }
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

/// Writes `bytes` as a backup file and restores it into a new SQLite database: refused, or
/// restored and then opened (and migrated) as a server would open it.
pub fn restore_file(bytes: &[u8]) {
    let scratch = TestDatabase::sqlite();
    let qualify_store::DatabaseUrl::Sqlite(database) = scratch.url().clone() else {
        unreachable!("a SQLite test database")
    };
    let file = database.with_file_name("backup.db");
    std::fs::write(&file, bytes).expect("a scratch file");
    if qualify_store::backup::restore_sqlite(&file, &database, false).is_ok() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let options = qualify_store::StoreOptions::new(scratch.url().clone());
        runtime
            .block_on(qualify_store::Store::connect(&options))
            .expect("a restored backup opens");
    }
}

/// Parses `text` as a vetting rules file and, when it reads, tries its rules on a submission.
pub fn rules_file(text: &str) {
    let Ok(rules) = crate::vetting_rules::parse_rules(Path::new("rules.toml"), text) else {
        return;
    };
    let submission = Submission::from_api(Qualification::StateOwnedEntity, None, None, None)
        .expect("a valid submission");
    let partner: TenantId = dev::PARTNER_A.tenant_id.parse().expect("partner A's id");
    for domain in ["contoso.onmicrosoft.com", "", "ÄÖ.example", "*"] {
        let _ = rules.first_match(&Facts {
            partner,
            customer_domain: domain,
            submission: &submission,
        });
    }
}

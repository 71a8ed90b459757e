//! A real server on 127.0.0.1:0 over a throw-away database, and a client that speaks to it.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use qualify_client::{Client, Credentials, ReviewFilter};
use qualify_server::{App, Clock, JobRunner, Lane, Ran, Settings};
use qualify_store::testing::TestDatabase;
use qualify_store::{Store, StoreOptions};
use qualify_types::dev::DevIdentity;
use qualify_types::{Decision, VettingStatus};
use reqwest::{Method, Response, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub(crate) use qualify_types::dev::{OPERATOR, PARTNER_A, PARTNER_B};

/// The seed document's request ids.
pub(crate) const SEED_CORRELATION_ID: &str = "7d2456fd-2d79-46d0-9f8e-5d7ecd5f8745";
pub(crate) const SEED_REQUEST_ID: &str = "037db222-6d8e-4d7f-ba78-df3dca33fb68";

/// Which kind of token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grant {
    /// Client credentials: App-only.
    App,
    /// Password: App+User.
    User,
}

/// A running server.
pub(crate) struct TestServer {
    /// Where to connect.
    pub(crate) base: String,
    /// The public URL the server was told it has: the base of its tokens' issuer.
    pub(crate) public_url: String,
    /// `http://…/metrics`, with `metrics_listen` set.
    pub(crate) metrics_url: Option<String>,
    pub(crate) http: reqwest::Client,
    /// Runs the server's jobs when a test says so.
    jobs: JobRunner,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// A `--dev` server on `db`.
    pub(crate) async fn start(db: &TestDatabase) -> Self {
        Self::start_with(db, |_| {}).await
    }

    /// A server on `db` with settings adjusted by `configure` (dev mode is on unless it turns it off).
    pub(crate) async fn start_with(
        db: &TestDatabase,
        configure: impl FnOnce(&mut Settings),
    ) -> Self {
        Self::start_on(db, Clock::wall(), configure).await
    }

    /// A server on `db` whose dates come from `clock`, with settings adjusted by `configure`.
    pub(crate) async fn start_on(
        db: &TestDatabase,
        clock: Clock,
        configure: impl FnOnce(&mut Settings),
    ) -> Self {
        let mut settings = Settings::new(db.url().clone());
        settings.dev = true;
        configure(&mut settings);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let app = App::build_with_clock(settings, listener, clock)
            .await
            .expect("the server starts");
        let jobs = app.job_runner();
        let base = format!("http://{}", app.local_addr());
        let public_url = app.public_url().to_owned();
        let metrics_url = app
            .metrics_addr()
            .map(|addr| format!("http://{addr}/metrics"));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        }));
        let server = Self {
            base,
            public_url,
            metrics_url,
            http: reqwest::Client::new(),
            jobs,
            shutdown: Some(tx),
            task: Some(task),
        };
        // A new database's first signing key is made in the background: wait for it, so
        // tests that read the key from the database find it.
        let store = admin_store(db).await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while store.signing_keys().await.expect("the keys").is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "no signing key after a minute"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        store.close().await;
        server
    }

    /// Asks the server to stop, without waiting for it (its shutdown delay may be long).
    pub(crate) fn begin_stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Stops the server gracefully and waits for it.
    pub(crate) async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("the server task")
                .expect("the server stops cleanly");
        }
    }

    /// Runs every job that is due by the server's clock, as its workers would; returns what ran.
    pub(crate) async fn drain_jobs(&self) -> Vec<Ran> {
        self.jobs.drain().await.expect("the jobs table answers")
    }

    /// Claims up to `limit` due jobs of `lane` and runs them at once, as that lane's workers
    /// would, and nothing of any other lane; returns what ran.
    pub(crate) async fn run_lane(&self, lane: Lane, limit: u32) -> Vec<Ran> {
        self.jobs
            .run_lane(lane, limit)
            .await
            .expect("the jobs table answers")
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The JSON body of an anonymous `GET path` (discovery, keys, the OpenAPI document).
    pub(crate) async fn get_json(&self, path: &str) -> Value {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("GET request")
            .json()
            .await
            .expect("a JSON body")
    }

    /// Asks the token endpoint; returns the raw response.
    pub(crate) async fn token_response(&self, who: DevIdentity, grant: Grant) -> Response {
        let mut form = vec![
            ("client_id", who.client_id),
            ("client_secret", who.client_secret),
        ];
        match grant {
            Grant::App => {
                form.push(("grant_type", "client_credentials"));
                form.push(("scope", "https://api.partnercenter.microsoft.com/.default"));
            }
            Grant::User => {
                form.push(("grant_type", "password"));
                form.push((
                    "scope",
                    "https://api.partnercenter.microsoft.com/user_impersonation",
                ));
                form.push(("username", who.username));
                form.push(("password", who.password));
            }
        }
        self.http
            .post(self.url(&format!("/{}/oauth2/v2.0/token", who.tenant_id)))
            .form(&form)
            .send()
            .await
            .expect("token request")
    }

    /// An access token, fetched with the typed client.
    pub(crate) async fn token(&self, who: DevIdentity, grant: Grant) -> String {
        let credentials = match grant {
            Grant::App => Credentials::dev_app(who),
            Grant::User => Credentials::dev_user(who),
        };
        let client = Client::builder(&self.base)
            .unwrap()
            .credentials(credentials)
            .build()
            .unwrap();
        client.fetch_token().await.expect("a token").access_token
    }

    /// The typed client of a partner made on demand, with its App+User credentials.
    pub(crate) fn partner_client(&self, partner: &qualify_types::TestPartner) -> Client {
        Client::builder(&self.base)
            .unwrap()
            .credentials(Credentials::test_partner(partner))
            .build()
            .unwrap()
    }

    /// The typed client, sending `token`.
    pub(crate) fn client(&self, token: &str) -> Client {
        Client::builder(&self.base)
            .unwrap()
            .credentials(Credentials::Token(token.to_owned()))
            .build()
            .unwrap()
    }

    /// Sends `method path` with `token` and an optional JSON body.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Response {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("request")
    }

    pub(crate) async fn get(&self, path: &str, token: &str) -> Response {
        self.send(Method::GET, path, Some(token), None).await
    }

    pub(crate) async fn post(&self, path: &str, token: &str, body: &Value) -> Response {
        self.send(Method::POST, path, Some(token), Some(body)).await
    }

    /// Creates a customer with the typed client; returns its id.
    pub(crate) async fn create_customer(&self, token: &str, domain: &str) -> String {
        let customer = self
            .client(token)
            .create_customer(domain, "Contoso")
            .await
            .expect("a customer");
        customer.id.to_string()
    }

    /// Submits a qualification for a customer; returns the raw response.
    pub(crate) async fn submit(&self, token: &str, customer: &str, body: &Value) -> Response {
        self.post(
            &format!("/v1/customers/{customer}/qualifications"),
            token,
            body,
        )
        .await
    }

    /// The qualifications of a customer, as JSON.
    pub(crate) async fn qualifications(&self, token: &str, customer: &str) -> Value {
        let response = self
            .get(&format!("/v1/customers/{customer}/qualifications"), token)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("qualifications JSON")
    }

    /// The reviewer API's requests matching `query` (e.g. `status=InReview`).
    pub(crate) async fn review_list(&self, reviewer: &str, query: &str) -> Vec<Value> {
        let response = self
            .get(&format!("/review/v1/requests?{query}"), reviewer)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let page: Value = response.json().await.expect("page JSON");
        page["items"].as_array().expect("items").clone()
    }

    /// Decides the only in-review request of `customer`, with the typed client.
    pub(crate) async fn decide_for(
        &self,
        reviewer: &str,
        customer: &str,
        decision: &Value,
    ) -> Value {
        let client = self.client(reviewer);
        let filter = ReviewFilter {
            status: Some(VettingStatus::InReview),
            customer_id: Some(customer.parse().expect("a customer id")),
            ..Default::default()
        };
        let open = client
            .all_review_requests(&filter)
            .await
            .expect("the review queue");
        assert_eq!(open.len(), 1, "one request in review for {customer}");
        let decision: Decision = serde_json::from_value(decision.clone()).expect("a decision");
        let decided = client.decide(open[0].id, &decision).await.expect("decided");
        serde_json::to_value(decided).expect("JSON")
    }
}

/// Asserts an error response: status, Partner Center body with `code`, ids echoed; returns the
/// description.
pub(crate) async fn assert_error(response: Response, status: StatusCode, code: i64) -> String {
    assert_eq!(response.status(), status, "status");
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=utf-8",
        "errors are JSON"
    );
    assert!(
        response.headers().contains_key("ms-requestid"),
        "MS-RequestId echoed"
    );
    assert!(
        response.headers().contains_key("ms-correlationid"),
        "MS-CorrelationId echoed"
    );
    let body: Value = response.json().await.expect("error JSON");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["data"], json!([]), "{body}");
    assert_eq!(body["source"], "PartnerFD", "{body}");
    let description = body["description"]
        .as_str()
        .expect("description")
        .to_owned();
    assert!(!description.is_empty());
    description
}

/// Claims for a hand-made token; tests change what they attack.
pub(crate) fn claims_for(server: &TestServer, who: DevIdentity) -> Value {
    let now = qualify_server::wall_now().unix_seconds();
    json!({
        "iss": format!("{}/{}/v2.0", server.public_url, who.tenant_id),
        "aud": "https://api.partnercenter.microsoft.com",
        "sub": who.client_id,
        "tid": who.tenant_id,
        "appid": who.client_id,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    })
}

/// Signs `claims` with the server's own signing key, read from its database: a token only
/// the server could have made, with whatever claims a test needs.
pub(crate) async fn sign_with_server_key(db: &TestDatabase, claims: &Value) -> String {
    let store = Store::connect(&StoreOptions::new(db.url().clone()))
        .await
        .expect("store");
    let keys = store.signing_keys().await.expect("keys");
    store.close().await;
    let key = keys.first().expect("a signing key");
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.kid.clone());
    let encoding =
        EncodingKey::from_rsa_pem(key.private_key_pem.expose_secret().as_bytes()).expect("PEM");
    jsonwebtoken::encode(&header, claims, &encoding).expect("sign")
}

/// The claims of a token, read without checking it (the test made or received it).
pub(crate) fn claims_of(token: &str) -> Value {
    jsonwebtoken::dangerous::insecure_decode_claims(token).expect("a JWT")
}

/// A store on the server's database: what an operator's `qualify admin` command does to it.
/// Runs `sql` on `db` directly, as an operator (or an accident) would.
pub(crate) async fn run_sql(db: &TestDatabase, sql: String) {
    use qualify_store::DatabaseUrl;
    let sql = sqlx::AssertSqlSafe(sql);
    match db.url() {
        DatabaseUrl::Sqlite(path) => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            sqlx::raw_sql(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
        DatabaseUrl::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url.expose_secret()).await.unwrap();
            sqlx::raw_sql(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

pub(crate) async fn admin_store(db: &TestDatabase) -> Store {
    Store::connect(&StoreOptions::new(db.url().clone()))
        .await
        .expect("the store")
}

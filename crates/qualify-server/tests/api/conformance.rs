//! The conformance report: a well-behaved integration has no finding; each misbehaviour gives
//! exactly its finding, with its evidence; strict mode answers as Partner Center would; partners
//! never see each other's findings, and a reset forgets them. Dates come from a manual clock, so
//! "1 s later" is exact.

use std::time::Duration;

use qualify_client::Client;
use qualify_server::ManualClock;
use qualify_store::testing::TestDatabase;
use qualify_types::{ConformanceReport, Fault, Severity, TestPartner};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

/// A partner made on demand, sending raw requests as a hand-written integration would.
struct Integration<'a> {
    server: &'a TestServer,
    clock: &'a ManualClock,
    partner: TestPartner,
    /// Its one token, which the control calls use too: a new client per call would ask for a
    /// token per call, itself a finding.
    token: String,
    control: Client,
}

/// Which ids a request carries.
#[derive(Clone, Copy)]
enum Ids<'a> {
    /// A fresh `MS-RequestId`, an `MS-CorrelationId` and `MS-Contract-Version`.
    Fresh,
    /// This `MS-RequestId`, and the others.
    RequestId(&'a str),
    /// No header but the token.
    Bare,
}

impl<'a> Integration<'a> {
    async fn new(server: &'a TestServer, clock: &'a ManualClock) -> Self {
        let anonymous = Client::builder(&server.base).unwrap().build().unwrap();
        let partner = anonymous.create_test_partner().await.unwrap();
        let token = server
            .partner_client(&partner)
            .fetch_token()
            .await
            .unwrap()
            .access_token;
        let control = server.client(&token);
        Self {
            server,
            clock,
            partner,
            token,
            control,
        }
    }

    fn later(&self, seconds: u64) {
        self.clock.advance(Duration::from_secs(seconds));
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        ids: Ids<'_>,
    ) -> Response {
        let mut request = self
            .server
            .http
            .request(method, self.server.url(path))
            .bearer_auth(&self.token);
        let fresh = uuid::Uuid::new_v4().to_string();
        let request_id = match ids {
            Ids::Fresh => Some(fresh.as_str()),
            Ids::RequestId(id) => Some(id),
            Ids::Bare => None,
        };
        if let Some(id) = request_id {
            request = request
                .header("MS-RequestId", id)
                .header("MS-CorrelationId", uuid::Uuid::new_v4().to_string())
                .header("MS-Contract-Version", "v1");
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.unwrap()
    }

    /// A GET of `path` with fresh ids, as a careful client sends it.
    async fn fetch(&self, path: &str) -> Response {
        self.call(Method::GET, path, None, Ids::Fresh).await
    }

    /// Submits a StateOwnedEntity qualification for customer `id`.
    async fn submit(&self, id: &str) -> Response {
        let body = json!({"qualification": "StateOwnedEntity"});
        let path = format!("/v1/customers/{id}/qualifications");
        self.call(Method::POST, &path, Some(&body), Ids::Fresh)
            .await
    }

    async fn get(&self, path: &str) -> StatusCode {
        self.fetch(path).await.status()
    }

    async fn customer(&self, domain: &str) -> String {
        let created = self
            .call(
                Method::POST,
                "/v1/customers",
                Some(&customer(domain)),
                Ids::Fresh,
            )
            .await;
        assert_eq!(created.status(), StatusCode::CREATED);
        created.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn faults(&self, faults: Vec<Fault>) {
        self.control.set_faults(faults).await.unwrap();
    }

    async fn strict(&self) {
        let settings = qualify_types::ConformanceSettings {
            strict: true,
            ..Default::default()
        };
        self.control
            .set_conformance_settings(settings)
            .await
            .unwrap();
    }

    async fn report(&self) -> ConformanceReport {
        self.control.conformance().await.unwrap()
    }

    /// The codes found, sorted.
    async fn codes(&self) -> Vec<String> {
        let mut codes: Vec<String> = self
            .report()
            .await
            .items
            .into_iter()
            .map(|f| f.code)
            .collect();
        codes.sort();
        codes
    }
}

fn customer(domain: &str) -> Value {
    json!({"companyProfile": {"domain": domain}, "billingProfile": {"companyName": "Contoso"}})
}

fn throttle(method: &str, path: &str, retry_after: u32, times: u32) -> Fault {
    Fault {
        method: Some(method.into()),
        path: path.into(),
        status: Some(429),
        retry_after: Some(retry_after),
        times: Some(times),
        ..Fault::default()
    }
}

/// The next `method path` of the partner answers 503, as a failing server would.
fn unavailable_once(method: &str, path: &str) -> Fault {
    Fault {
        method: Some(method.into()),
        path: path.into(),
        status: Some(503),
        times: Some(1),
        ..Fault::default()
    }
}

async fn manual_server(db: &TestDatabase) -> (TestServer, ManualClock) {
    let clock = ManualClock::starting_at(qualify_server::wall_now());
    let server = TestServer::start_on(db, clock.clock(), |_| {}).await;
    (server, clock)
}

/// The typed client as documented (one token, every id, backing off after a 429), creating,
/// submitting and polling: no finding at all.
#[tokio::test]
async fn a_well_behaved_integration_has_no_finding() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let anonymous = Client::builder(&server.base).unwrap().build().unwrap();
    let partner = anonymous.create_test_partner().await.unwrap();
    let client = server.partner_client(&partner);
    client
        .set_faults(vec![throttle("GET", "/v1/customers/*", 1, 1)])
        .await
        .unwrap();
    let created = client
        .create_customer("wellbehaved.onmicrosoft.com", "Well Behaved")
        .await
        .unwrap();
    client
        .submit_qualification(
            created.id,
            &qualify_types::QualificationSubmission {
                qualification: qualify_types::Qualification::StateOwnedEntity,
                education_segment: None,
                website: None,
                validation_code: None,
            },
        )
        .await
        .unwrap();
    for _ in 0..3 {
        client.qualifications(created.id).await.unwrap();
    }
    client.customer(created.id).await.unwrap();
    let report = client.conformance().await.unwrap();
    assert!(report.items.is_empty(), "{report:#?}");
    assert_eq!(report.counts, qualify_types::SeverityCounts::default());
    server.stop().await;
}

#[tokio::test]
async fn a_request_before_retry_after_and_retries_that_dont_back_off_are_found() {
    let db = TestDatabase::sqlite();
    let (server, clock) = manual_server(&db).await;

    let hasty = Integration::new(&server, &clock).await;
    hasty
        .faults(vec![throttle("GET", "/v1/customers", 5, 1)])
        .await;
    assert_eq!(
        hasty.get("/v1/customers").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    hasty.later(1);
    assert_eq!(hasty.get("/v1/customers").await, StatusCode::OK);
    let report = hasty.report().await;
    assert_eq!(hasty.codes().await, ["retry-after-ignored"]);
    let finding = &report.items[0];
    assert_eq!(finding.severity, Severity::Error);
    assert_eq!(finding.count, 1);
    assert_eq!(
        finding
            .evidence
            .iter()
            .map(|e| (e.method.as_str(), e.path.as_str(), e.status))
            .collect::<Vec<_>>(),
        [("GET", "/v1/customers", 429), ("GET", "/v1/customers", 200)]
    );
    assert!(
        finding.guidance.contains("api-throttling-guidance"),
        "{finding:?}"
    );
    assert_eq!(report.counts.error, 1);

    let steady = Integration::new(&server, &clock).await;
    steady
        .faults(vec![throttle("GET", "/v1/customers", 1, 3)])
        .await;
    for _ in 0..3 {
        assert_eq!(
            steady.get("/v1/customers").await,
            StatusCode::TOO_MANY_REQUESTS
        );
        steady.later(2);
    }
    assert_eq!(steady.get("/v1/customers").await, StatusCode::OK);
    assert_eq!(steady.codes().await, ["retry-without-backoff"]);
    server.stop().await;
}

#[tokio::test]
async fn request_ids_retried_anew_reused_or_missing_are_found() {
    let db = TestDatabase::sqlite();
    let (server, clock) = manual_server(&db).await;

    // A write that failed, retried with the same body under a new MS-RequestId.
    let anew = Integration::new(&server, &clock).await;
    anew.faults(vec![unavailable_once("POST", "/v1/customers")])
        .await;
    let body = customer("anew.onmicrosoft.com");
    let first = anew
        .call(Method::POST, "/v1/customers", Some(&body), Ids::Fresh)
        .await;
    assert_eq!(first.status(), StatusCode::SERVICE_UNAVAILABLE);
    anew.later(1);
    let retry = anew
        .call(Method::POST, "/v1/customers", Some(&body), Ids::Fresh)
        .await;
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(anew.codes().await, ["write-retried-with-new-request-id"]);

    // The same retry under the same MS-RequestId is what the guidance asks: no finding.
    let same = Integration::new(&server, &clock).await;
    same.faults(vec![unavailable_once("POST", "/v1/customers")])
        .await;
    let body = customer("same.onmicrosoft.com");
    let id = uuid::Uuid::new_v4().to_string();
    for status in [StatusCode::SERVICE_UNAVAILABLE, StatusCode::CREATED] {
        let answer = same
            .call(
                Method::POST,
                "/v1/customers",
                Some(&body),
                Ids::RequestId(&id),
            )
            .await;
        assert_eq!(answer.status(), status);
        same.later(1);
    }
    assert!(same.codes().await.is_empty());

    // One MS-RequestId for two different writes.
    let reused = Integration::new(&server, &clock).await;
    let id = uuid::Uuid::new_v4().to_string();
    for domain in ["first.onmicrosoft.com", "second.onmicrosoft.com"] {
        reused
            .call(
                Method::POST,
                "/v1/customers",
                Some(&customer(domain)),
                Ids::RequestId(&id),
            )
            .await;
        reused.later(1);
    }
    assert_eq!(reused.codes().await, ["request-id-reused"]);
    let finding = &reused.report().await.items[0];
    assert!(
        finding.evidence.iter().all(|e| e.request_id == id),
        "{finding:?}"
    );

    // No ids at all: a write without MS-RequestId; no MS-CorrelationId, no MS-Contract-Version.
    let bare = Integration::new(&server, &clock).await;
    bare.call(
        Method::POST,
        "/v1/customers",
        Some(&customer("bare.onmicrosoft.com")),
        Ids::Bare,
    )
    .await;
    assert_eq!(
        bare.codes().await,
        [
            "contract-version-missing",
            "correlation-id-missing",
            "request-id-missing"
        ]
    );
    let severities: Vec<Severity> = bare
        .report()
        .await
        .items
        .iter()
        .map(|f| f.severity)
        .collect();
    assert!(severities.contains(&Severity::Warning) && severities.contains(&Severity::Info));
    server.stop().await;
}

#[tokio::test]
async fn a_token_per_call_is_found() {
    let db = TestDatabase::sqlite();
    let (server, clock) = manual_server(&db).await;
    let churning = Integration::new(&server, &clock).await;
    for _ in 0..3 {
        clock.advance(Duration::from_secs(1));
        let token = server
            .partner_client(&churning.partner)
            .fetch_token()
            .await
            .unwrap()
            .access_token;
        let answer = server.get("/v1/customers", &token).await;
        assert_eq!(answer.status(), StatusCode::OK);
    }
    // The integration's own calls sent every id: the only finding is the tokens.
    let codes = churning.codes().await;
    assert!(codes.contains(&"token-per-call".to_owned()), "{codes:?}");
    let report = churning.report().await;
    let finding = report
        .items
        .iter()
        .find(|f| f.code == "token-per-call")
        .unwrap();
    assert_eq!(finding.severity, Severity::Warning);
    assert!(!finding.evidence.is_empty());
    assert!(finding.guidance.contains("msal"), "{finding:?}");

    // One token for many calls: none.
    let caching = Integration::new(&server, &clock).await;
    for _ in 0..5 {
        caching.later(1);
        assert_eq!(caching.get("/v1/customers").await, StatusCode::OK);
    }
    assert!(caching.codes().await.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn polling_too_often_or_without_backing_off_is_found() {
    let db = TestDatabase::sqlite();
    let (server, clock) = manual_server(&db).await;
    let eager = Integration::new(&server, &clock).await;
    let id = eager.customer("eager.onmicrosoft.com").await;
    let path = format!("/v1/customers/{id}/qualifications");
    for _ in 0..21 {
        eager.later(1);
        assert_eq!(eager.get(&path).await, StatusCode::OK);
    }
    assert_eq!(eager.codes().await, ["polling-too-fast"]);

    // A request in review, polled every 30 s five times: no more than allowed a minute, but no
    // backing off either.
    let steady = Integration::new(&server, &clock).await;
    let id = steady.customer("steady.onmicrosoft.com").await;
    let submitted = steady.submit(&id).await;
    assert_eq!(submitted.status(), StatusCode::CREATED);
    let path = format!("/v1/customers/{id}/qualifications");
    for _ in 0..5 {
        steady.later(30);
        assert_eq!(steady.get(&path).await, StatusCode::OK);
    }
    assert_eq!(steady.codes().await, ["polling-without-backoff"]);

    // Backing off, then polling at its longest interval: none.
    let patient = Integration::new(&server, &clock).await;
    let id = patient.customer("patient.onmicrosoft.com").await;
    patient.submit(&id).await;
    let path = format!("/v1/customers/{id}/qualifications");
    for wait in [1, 2, 4, 8, 10, 10, 10, 10] {
        patient.later(wait);
        assert_eq!(patient.get(&path).await, StatusCode::OK);
    }
    assert!(patient.codes().await.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn strict_mode_answers_as_partner_center_would() {
    let db = TestDatabase::sqlite();
    let (server, clock) = manual_server(&db).await;
    let strict = Integration::new(&server, &clock).await;
    strict.strict().await;
    let id = strict.customer("strict.onmicrosoft.com").await;

    // A retired endpoint: its error, not the old answer.
    let retired = strict
        .fetch(&format!("/v1/customers/{id}/qualification"))
        .await;
    assert_eq!(retired.status(), StatusCode::GONE);
    let body: Value = retired.json().await.unwrap();
    assert_eq!(body["code"], 610_020, "{body}");

    // Before Retry-After has passed: Partner Center's 429, with the seconds left.
    strict
        .faults(vec![throttle("GET", "/v1/customers", 5, 1)])
        .await;
    assert_eq!(
        strict.get("/v1/customers").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    strict.later(2);
    let early = strict.fetch("/v1/customers").await;
    assert_eq!(early.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(early.headers()["retry-after"], "3");
    let body: Value = early.json().await.unwrap();
    assert_eq!(body["statusCode"], 429, "{body}");
    strict.later(3);
    assert_eq!(strict.get("/v1/customers").await, StatusCode::OK);
    assert_eq!(
        strict.codes().await,
        ["retired-endpoint", "retry-after-ignored"]
    );

    // Without strict mode, the same is only reported.
    let lenient = Integration::new(&server, &clock).await;
    let id = lenient.customer("lenient.onmicrosoft.com").await;
    let legacy = lenient
        .fetch(&format!("/v1/customers/{id}/qualification"))
        .await;
    assert_eq!(legacy.status(), StatusCode::OK);
    assert_eq!(lenient.codes().await, ["retired-endpoint"]);
    server.stop().await;
}

#[tokio::test]
async fn findings_are_the_partners_own_and_go_with_its_data() {
    let db = TestDatabase::sqlite();
    let (server, clock) = manual_server(&db).await;
    let careless = Integration::new(&server, &clock).await;
    let careful = Integration::new(&server, &clock).await;
    careless.strict().await;
    careless
        .call(Method::GET, "/v1/customers", None, Ids::Bare)
        .await;
    assert_eq!(careful.get("/v1/customers").await, StatusCode::OK);
    assert!(!careless.codes().await.is_empty());
    assert!(
        careful.codes().await.is_empty(),
        "another partner's findings"
    );

    // A reset forgets the findings and the settings: a retired endpoint is no longer refused.
    careless.control.reset_test_data().await.unwrap();
    assert!(careless.codes().await.is_empty());
    let nobody = uuid::Uuid::new_v4();
    let legacy = careless
        .fetch(&format!("/v1/customers/{nobody}/qualification"))
        .await;
    assert_eq!(
        legacy.status(),
        StatusCode::NOT_FOUND,
        "strict mode went with the data"
    );
    server.stop().await;
}

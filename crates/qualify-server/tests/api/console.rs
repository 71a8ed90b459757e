//! The reviewer console, through HTTP as a browser without JavaScript uses it: sign-in and its
//! session, the queue, a request's page, deciding, and what the console refuses.

use std::collections::HashMap;

use qualify_store::testing::TestDatabase;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::json;

use crate::helpers::*;

/// A browser without JavaScript: follows no redirect by itself, and keeps its cookies.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: HashMap<String, String>,
}

/// What a page answered.
struct Page {
    status: StatusCode,
    location: Option<String>,
    body: String,
    csp: Option<String>,
}

impl Page {
    /// The value of the first hidden `csrf` field.
    fn csrf(&self) -> String {
        let start = self
            .body
            .find(r#"name="csrf" value=""#)
            .expect("a form with a token")
            + r#"name="csrf" value=""#.len();
        let end = self.body[start..].find('"').unwrap();
        self.body[start..start + end].to_owned()
    }
}

impl Browser {
    fn new(server: &TestServer) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: server.base.clone(),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let response = request
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        for set in response.headers().get_all(SET_COOKIE) {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || set.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Page {
            status: response.status(),
            location: response
                .headers()
                .get(LOCATION)
                .map(|l| l.to_str().unwrap().to_owned()),
            csp: response
                .headers()
                .get("content-security-policy")
                .map(|v| v.to_str().unwrap().to_owned()),
            body: response.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let request = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send(request).await
    }

    /// Signs in with the sign-in page's form.
    async fn sign_in(&mut self, username: &str, password: &str) -> Page {
        let form = self.get("/console/sign-in").await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = form.csrf();
        self.post(
            "/console/sign-in",
            &[
                ("username", username),
                ("password", password),
                ("csrf", &csrf),
            ],
        )
        .await
    }

    fn session(&self) -> Option<&String> {
        self.cookies.get("qualify-session")
    }
}

/// Makes a customer of partner A named `company` and submits Education for it.
async fn submitted(server: &TestServer, domain: &str, company: &str) -> String {
    let token = server.token(PARTNER_A, Grant::User).await;
    let created = server
        .post(
            "/v1/customers",
            &token,
            &json!({"companyProfile": {"domain": domain, "companyName": company}}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let customer = created.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body =
        json!({"qualification": "Education", "educationSegment": "K12", "website": "contoso.edu"});
    assert_eq!(
        server.submit(&token, &customer, &body).await.status(),
        StatusCode::CREATED
    );
    customer
}

/// The first request link of the queue.
fn first_request(queue: &Page) -> String {
    let start = queue
        .body
        .find(r#"href="/console/requests/"#)
        .expect("a request in the queue")
        + r#"href=""#.len();
    let end = queue.body[start..].find('"').unwrap();
    queue.body[start..start + end].to_owned()
}

#[tokio::test]
async fn a_reviewer_signs_in_works_the_queue_and_denies_with_a_reason_the_partner_reads() {
    for db in TestDatabase::every_backend("console").await {
        let server = TestServer::start(&db).await;
        let customer = submitted(&server, "school.edu", "Contoso School").await;
        let mut browser = Browser::new(&server);
        // Not signed in: to the sign-in page.
        let queue = browser.get("/console").await;
        assert_eq!(queue.status, StatusCode::SEE_OTHER);
        assert_eq!(queue.location.as_deref(), Some("/console/sign-in"));

        let signed_in = browser.sign_in(OPERATOR.username, OPERATOR.password).await;
        assert_eq!(
            signed_in.status,
            StatusCode::SEE_OTHER,
            "{}",
            signed_in.body
        );
        assert_eq!(signed_in.location.as_deref(), Some("/console"));
        let queue = browser.get("/console").await;
        assert_eq!(queue.status, StatusCode::OK);
        assert!(queue.csp.as_deref().unwrap().contains("default-src 'none'"));
        assert!(queue.body.contains("school.edu") && queue.body.contains("Contoso School"));
        // The partner by its name, its tenant id in the detail.
        assert!(
            queue.body.contains(&format!(
                r#"<td title="Tenant {}">{}</td>"#,
                PARTNER_A.tenant_id, PARTNER_A.display_name
            )),
            "{}",
            queue.body
        );
        assert!(
            queue
                .body
                .contains("InReview <span class=\"count\">1</span>"),
            "{}",
            queue.body
        );

        let request_path = first_request(&queue);
        let request = browser.get(&request_path).await;
        assert_eq!(request.status, StatusCode::OK);
        for shown in [
            "Contoso School",
            "school.edu",
            &customer,
            "contoso.edu",
            "K12",
            ">Approve<",
            ">Deny<",
            r#"name="reason""#,
        ] {
            assert!(request.body.contains(shown), "{shown}");
        }
        let csrf = request.csrf();
        let denied = browser
            .post(
                &format!("{request_path}/decision"),
                &[
                    ("csrf", &csrf),
                    ("decision", "Denied"),
                    ("reason", "Not an Education Customer"),
                ],
            )
            .await;
        assert_eq!(denied.status, StatusCode::SEE_OTHER, "{}", denied.body);
        let request_id = request_path.rsplit('/').next().unwrap();
        assert_eq!(
            denied.location,
            Some(format!("/console?decided={request_id}")),
            "nothing else in review: to the queue, confirming the decision"
        );
        // The queue confirms what was decided, on which customer, with a link to it.
        let confirmed = browser.get(denied.location.as_deref().unwrap()).await;
        for shown in [
            r#"<p class="decided denied" role="status" id="decided">"#,
            "<strong>Denied</strong>: Education for school.edu (Contoso School)",
            "reason “Not an Education Customer”",
            &format!("by {}", OPERATOR.username),
            &format!(r#"<a href="{request_path}">See the decided request</a>"#),
        ] {
            assert!(
                confirmed.body.contains(shown),
                "{shown}\n{}",
                confirmed.body
            );
        }

        // The partner reads the decision, as made in the console, through Partner Center's API.
        let partner = server.token(PARTNER_A, Grant::User).await;
        let listed = server.qualifications(&partner, &customer).await;
        assert_eq!(listed["qualifications"][0]["vettingStatus"], "Denied");
        assert_eq!(
            listed["qualifications"][0]["vettingReason"],
            "Not an Education Customer"
        );
        // By the reviewer signed in, as the reviewer API records it.
        let operator = server.token(OPERATOR, Grant::User).await;
        let decided = server.review_list(&operator, "status=Denied").await;
        assert_eq!(decided[0]["decidedBy"], OPERATOR.username);

        // Signing out ends the session: its cookie opens nothing any more.
        let session = browser.session().unwrap().clone();
        let queue = browser.get("/console").await;
        let out = browser
            .post("/console/sign-out", &[("csrf", &queue.csrf())])
            .await;
        assert_eq!(out.location.as_deref(), Some("/console/sign-in"));
        browser.cookies.insert("qualify-session".into(), session);
        assert_eq!(browser.get("/console").await.status, StatusCode::SEE_OTHER);
        server.stop().await;
    }
}

#[tokio::test]
async fn forms_without_the_sessions_token_are_refused_and_change_nothing() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let customer = submitted(&server, "csrf.edu", "Contoso").await;
    let mut browser = Browser::new(&server);
    // A sign-in form posted from elsewhere carries no sign-in token of this browser's.
    let forged = browser
        .post(
            "/console/sign-in",
            &[
                ("username", OPERATOR.username),
                ("password", OPERATOR.password),
                ("csrf", "x"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(browser.session().is_none());
    // Nor does an empty token match an emptied cookie.
    browser
        .cookies
        .insert("qualify-sign-in".into(), String::new());
    let emptied = browser
        .post(
            "/console/sign-in",
            &[
                ("username", OPERATOR.username),
                ("password", OPERATOR.password),
                ("csrf", ""),
            ],
        )
        .await;
    assert_eq!(emptied.status, StatusCode::FORBIDDEN);
    assert!(browser.session().is_none());

    browser.sign_in(OPERATOR.username, OPERATOR.password).await;
    let queue = browser.get("/console").await;
    let request_path = first_request(&queue);
    for csrf in ["", "not-the-token"] {
        let refused = browser
            .post(
                &format!("{request_path}/decision"),
                &[("csrf", csrf), ("decision", "Approved")],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
    }
    let partner = server.token(PARTNER_A, Grant::User).await;
    let listed = server.qualifications(&partner, &customer).await;
    assert_eq!(listed["qualifications"][0]["vettingStatus"], "InReview");
    server.stop().await;
}

#[tokio::test]
async fn a_session_id_planted_before_sign_in_opens_nothing_and_sessions_expire() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let mut browser = Browser::new(&server);
    browser
        .cookies
        .insert("qualify-session".into(), "chosen-by-an-attacker".into());
    browser.sign_in(OPERATOR.username, OPERATOR.password).await;
    let session = browser.session().unwrap().clone();
    assert_ne!(session, "chosen-by-an-attacker", "a new id at sign-in");
    assert_eq!(session.len(), 43);
    assert_eq!(browser.get("/console").await.status, StatusCode::OK);
    // The database holds only a hash of the id.
    let store = admin_store(&db).await;
    assert!(
        store
            .find_console_session(&session, qualify_server::wall_now())
            .await
            .unwrap()
            .is_none()
    );
    // Past its expiry, the session opens nothing.
    run_sql(&db, "UPDATE console_sessions SET expires_at = 0".into()).await;
    let expired = browser.get("/console").await;
    assert_eq!(expired.status, StatusCode::SEE_OTHER);
    assert_eq!(expired.location.as_deref(), Some("/console/sign-in"));
    server.stop().await;
}

#[tokio::test]
async fn partners_users_and_wrong_passwords_do_not_sign_in_and_guessing_is_locked_out() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let mut browser = Browser::new(&server);
    // A partner's user is no reviewer, with the right password.
    let partner = browser
        .sign_in(PARTNER_A.username, PARTNER_A.password)
        .await;
    assert_eq!(partner.status, StatusCode::UNAUTHORIZED);
    assert!(partner.body.contains("do not sign in a reviewer"));
    assert!(browser.session().is_none());
    for _ in 0..5 {
        let wrong = browser.sign_in(OPERATOR.username, "not-the-password").await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    }
    // Locked out now: even the right password waits.
    let locked = browser.sign_in(OPERATOR.username, OPERATOR.password).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.body.contains("Too many failed sign-ins"));
    assert!(browser.session().is_none());
    server.stop().await;
}

#[tokio::test]
async fn hostile_names_and_reasons_are_shown_as_text() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let hostile = "<script>alert(1)</script>";
    let customer = submitted(&server, "hostile.edu", hostile).await;
    let operator = server.token(OPERATOR, Grant::User).await;
    server
        .decide_for(
            &operator,
            &customer,
            &json!({"vettingStatus": "Denied", "vettingReason": hostile}),
        )
        .await;
    let mut browser = Browser::new(&server);
    browser.sign_in(OPERATOR.username, OPERATOR.password).await;
    let queue = browser.get("/console?state=Denied").await;
    let request = browser.get(&first_request(&queue)).await;
    for page in [&queue, &request] {
        assert!(!page.body.contains("<script>"), "{}", page.body);
        assert!(
            page.body
                .contains("&#60;script&#62;alert(1)&#60;/script&#62;")
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn a_request_decided_meanwhile_shows_who_decided_it_and_how() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let customer = submitted(&server, "race.edu", "Contoso").await;
    let mut browser = Browser::new(&server);
    browser.sign_in(OPERATOR.username, OPERATOR.password).await;
    let queue = browser.get("/console").await;
    let request_path = first_request(&queue);
    let request = browser.get(&request_path).await;
    // Another reviewer (through the API) decides first.
    let operator = server.token(OPERATOR, Grant::User).await;
    server
        .decide_for(&operator, &customer, &json!({"vettingStatus": "Approved"}))
        .await;
    let late = browser
        .post(
            &format!("{request_path}/decision"),
            &[
                ("csrf", &request.csrf()),
                ("decision", "Denied"),
                ("reason", "Too late"),
            ],
        )
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert!(
        late.body.contains(&format!(
            "{} decided this request meanwhile (Approved)",
            OPERATOR.username
        )),
        "{}",
        late.body
    );
    let partner = server.token(PARTNER_A, Grant::User).await;
    let listed = server.qualifications(&partner, &customer).await;
    assert_eq!(listed["qualifications"][0]["vettingStatus"], "Approved");
    server.stop().await;
}

#[tokio::test]
async fn the_queue_filters_by_qualification_and_domain_and_keeps_them_across_pages() {
    for db in TestDatabase::every_backend("console filters").await {
        let server = TestServer::start(&db).await;
        let token = server.token(PARTNER_A, Grant::User).await;
        for (domain, body) in [
            (
                "springfield-k12.org",
                json!({"qualification": "Education", "educationSegment": "K12"}),
            ),
            (
                "shelbyville.edu",
                json!({"qualification": "Education", "educationSegment": "K12"}),
            ),
            (
                "state-utility.example",
                json!({"qualification": "StateOwnedEntity"}),
            ),
        ] {
            let customer = server.create_customer(&token, domain).await;
            assert_eq!(
                server.submit(&token, &customer, &body).await.status(),
                StatusCode::CREATED
            );
        }
        let mut browser = Browser::new(&server);
        browser.sign_in(OPERATOR.username, OPERATOR.password).await;
        let shown = |page: &Page| -> Vec<&'static str> {
            [
                "springfield-k12.org",
                "shelbyville.edu",
                "state-utility.example",
            ]
            .into_iter()
            .filter(|domain| page.body.contains(&format!("<td>{domain}</td>")))
            .collect()
        };
        let all = browser.get("/console").await;
        assert_eq!(shown(&all).len(), 3);
        let owned = browser.get("/console?qualification=StateOwnedEntity").await;
        assert_eq!(shown(&owned), ["state-utility.example"]);
        assert!(
            owned
                .body
                .contains(r#"<option value="StateOwnedEntity" selected>"#)
        );
        let k12 = browser.get("/console?domain=K12").await;
        assert_eq!(shown(&k12), ["springfield-k12.org"], "any case");
        // What LIKE would read as a wildcard matches only itself.
        for literal in ["%", "_", "\\"] {
            let page = browser
                .get(&format!("/console?domain={}", url_encode(literal)))
                .await;
            assert_eq!(page.status, StatusCode::OK);
            assert!(shown(&page).is_empty(), "{literal}");
        }
        // The state tabs carry the filters on.
        assert!(
            owned
                .body
                .contains("/console?status=Denied&#38;qualification=StateOwnedEntity"),
            "{}",
            owned.body
        );
        server.stop().await;
    }
}

fn url_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn the_next_page_keeps_the_filters() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let token = server.token(PARTNER_A, Grant::User).await;
    // A page and one more of StateOwnedEntity, then one Education after them.
    for n in 0..51 {
        let customer = server
            .create_customer(&token, &format!("owned-{n}.example"))
            .await;
        let body = json!({"qualification": "StateOwnedEntity"});
        assert_eq!(
            server.submit(&token, &customer, &body).await.status(),
            StatusCode::CREATED
        );
    }
    let school = server.create_customer(&token, "later-school.edu").await;
    let body = json!({"qualification": "Education", "educationSegment": "K12"});
    assert_eq!(
        server.submit(&token, &school, &body).await.status(),
        StatusCode::CREATED
    );

    let mut browser = Browser::new(&server);
    browser.sign_in(OPERATOR.username, OPERATOR.password).await;
    let first = browser.get("/console?qualification=StateOwnedEntity").await;
    assert!(first.body.contains("<td>owned-0.example</td>"));
    assert!(
        !first.body.contains("<td>owned-50.example</td>"),
        "50 to a page"
    );
    let start = first
        .body
        .find(r#"rel="next" href=""#)
        .expect("a next page")
        + r#"rel="next" href=""#.len();
    let next =
        first.body[start..start + first.body[start..].find('"').unwrap()].replace("&#38;", "&");
    assert!(next.contains("qualification=StateOwnedEntity"), "{next}");
    let second = browser.get(&next).await;
    assert!(
        second.body.contains("<td>owned-50.example</td>"),
        "{}",
        second.body
    );
    assert!(
        !second.body.contains("later-school.edu"),
        "the filter held on the next page"
    );
    server.stop().await;
}

#[tokio::test]
async fn over_https_the_cookies_are_secure_and_bound_to_the_host_even_when_removed() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start_with(&db, |settings| {
        settings.http.public_url = Some("https://qualify.test".parse().unwrap());
    })
    .await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let set_cookies = |response: &reqwest::Response| -> Vec<String> {
        response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    };
    let form = http
        .get(server.url("/console/sign-in"))
        .send()
        .await
        .unwrap();
    let sign_in_cookie = set_cookies(&form).remove(0);
    assert!(
        sign_in_cookie.starts_with("__Host-qualify-sign-in="),
        "{sign_in_cookie}"
    );
    let page = Page {
        status: form.status(),
        location: None,
        csp: None,
        body: form.text().await.unwrap(),
    };
    let signed_in = http
        .post(server.url("/console/sign-in"))
        .header(COOKIE, sign_in_cookie.split(';').next().unwrap())
        .form(&[
            ("username", OPERATOR.username),
            ("password", OPERATOR.password),
            ("csrf", &page.csrf()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let cookies = set_cookies(&signed_in);
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    for cookie in &cookies {
        assert!(cookie.starts_with("__Host-"), "{cookie}");
        for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(cookie.contains(attribute), "{cookie}: {attribute}");
        }
    }
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("__Host-qualify-sign-in=;")),
        "the sign-in cookie is removed, Secure: {cookies:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_queue_takes_status_as_the_api_does_and_state_keeps_working() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let customer = submitted(&server, "denied.edu", "Denied School").await;
    submitted(&server, "waiting.edu", "Waiting School").await;
    let operator = server.token(OPERATOR, Grant::User).await;
    server
        .decide_for(
            &operator,
            &customer,
            &json!({"vettingStatus": "Denied", "vettingReason": "Not a school"}),
        )
        .await;
    let mut browser = Browser::new(&server);
    browser.sign_in(OPERATOR.username, OPERATOR.password).await;
    let current = |page: &Page, status: &str| {
        page.body.contains(&format!(
            r#"<a href="/console?status={status}" aria-current="page">"#
        ))
    };
    for query in ["status=Denied", "state=Denied", "status=denied"] {
        let page = browser.get(&format!("/console?{query}")).await;
        assert!(current(&page, "Denied"), "{query}: {}", page.body);
        assert!(page.body.contains("<td>denied.edu</td>"), "{query}");
        assert!(!page.body.contains("<td>waiting.edu</td>"), "{query}");
        assert!(
            page.body.contains(r#"<option value="Denied" selected>"#),
            "{query}: the filter's select shows it"
        );
    }
    // `status` wins over the older name when both are sent; nothing (or nonsense) is InReview.
    let both = browser.get("/console?status=Denied&state=Approved").await;
    assert!(current(&both, "Denied"));
    for query in ["", "?status=Nonsense"] {
        let page = browser.get(&format!("/console{query}")).await;
        assert!(current(&page, "InReview"), "{query}");
        assert!(page.body.contains("<td>waiting.edu</td>"));
    }
    server.stop().await;
}

#[tokio::test]
async fn a_wrong_password_keeps_the_user_name_and_moves_to_the_password() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let mut browser = Browser::new(&server);
    let fresh = browser.get("/console/sign-in").await;
    assert!(
        fresh
            .body
            .contains(r#"autocomplete="username" value="" required autofocus>"#),
        "{}",
        fresh.body
    );
    let wrong = browser.sign_in(OPERATOR.username, "not-the-password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(
        wrong.body.contains(&format!(
            r#"autocomplete="username" value="{}" required>"#,
            OPERATOR.username
        )),
        "{}",
        wrong.body
    );
    assert!(
        wrong
            .body
            .contains(r#"autocomplete="current-password" required autofocus>"#)
    );
    // What was typed is shown as text, never as markup.
    let hostile = browser.sign_in(r#""><script>x</script>"#, "wrong").await;
    assert!(!hostile.body.contains("<script>x"), "{}", hostile.body);
    server.stop().await;
}

#[tokio::test]
async fn a_decision_is_confirmed_on_the_next_request_and_only_as_stored() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    submitted(&server, "first.edu", "First School").await;
    submitted(&server, "second.edu", "Second School").await;
    let mut browser = Browser::new(&server);
    browser.sign_in(OPERATOR.username, OPERATOR.password).await;
    let queue = browser.get("/console").await;
    let first = first_request(&queue);
    let page = browser.get(&first).await;
    // The request page shows its partner by name, with the tenant id.
    assert!(page.body.contains(&format!(
        r#"<dd>{} <span class="id">(tenant {})</span></dd>"#,
        PARTNER_A.display_name, PARTNER_A.tenant_id
    )));
    let approved = browser
        .post(
            &format!("{first}/decision"),
            &[("csrf", &page.csrf()), ("decision", "Approved")],
        )
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER);
    let next = approved.location.unwrap();
    let first_id = first.rsplit('/').next().unwrap();
    assert!(
        next.starts_with("/console/requests/") && next.ends_with(&format!("?decided={first_id}")),
        "{next}"
    );
    let shown = browser.get(&next).await;
    assert!(shown.body.contains("<h1>Education for second.edu</h1>"));
    assert!(
        shown
            .body
            .contains("<strong>Approved</strong>: Education for first.edu (First School), by"),
        "{}",
        shown.body
    );
    assert!(shown.body.contains(r#"class="decided approved""#));
    // A confirmation says only what is stored: a request still in review, an unknown id or
    // nonsense shows none.
    let second_id = next
        .trim_start_matches("/console/requests/")
        .split('?')
        .next()
        .unwrap();
    for decided in [
        second_id,
        "00000000-0000-4000-8000-000000000000",
        "<b>nonsense",
    ] {
        let page = browser
            .get(&format!("/console?decided={}", url_encode(decided)))
            .await;
        assert_eq!(page.status, StatusCode::OK, "{decided}");
        assert!(!page.body.contains(r#"id="decided""#), "{decided}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_guessers_failed_sign_ins_lock_the_guesser_out_not_the_reviewer() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start_with(&db, |s| {
        s.http.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    // Each browser's requests name its address, as the trusted proxy would.
    let from = |address: &'static str| {
        let mut browser = Browser::new(&server);
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", address.parse().unwrap());
        browser.http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .unwrap();
        browser
    };
    let mut guesser = from("203.0.113.7");
    for _ in 0..5 {
        let wrong = guesser.sign_in(OPERATOR.username, "not-the-password").await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    }
    let locked = guesser.sign_in(OPERATOR.username, OPERATOR.password).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    // The reviewer, elsewhere, signs in.
    let mut reviewer = from("198.51.100.9");
    let signed_in = reviewer.sign_in(OPERATOR.username, OPERATOR.password).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    assert!(reviewer.session().is_some());
    server.stop().await;
}

/// On a development server, an operator reads each recently active partner's conformance
/// findings, by partner name, each linked to its guidance; a partner without findings is not
/// listed. Without `--dev` the page says the report is a development server's.
#[tokio::test]
async fn the_conformance_page_lists_partners_findings_for_an_operator() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let token = server.token(PARTNER_A, Grant::User).await;
    // A call without Partner Center's headers, and a call to a retired endpoint.
    assert_eq!(
        server.get("/v1/customers", &token).await.status(),
        StatusCode::OK
    );
    let nobody = uuid::Uuid::new_v4();
    server
        .get(&format!("/v1/customers/{nobody}/qualification"), &token)
        .await;
    let mut browser = Browser::new(&server);
    browser.sign_in(OPERATOR.username, OPERATOR.password).await;
    let page = browser.get("/console/conformance").await;
    assert_eq!(page.status, StatusCode::OK);
    for shown in [
        PARTNER_A.display_name,
        "retired-endpoint",
        "correlation-id-missing",
        "https://learn.microsoft.com/en-us/partner-center/developer/headers",
        "href=\"/console/conformance\"",
    ] {
        assert!(page.body.contains(shown), "{shown} not in {}", page.body);
    }
    assert!(
        !page
            .body
            .contains(qualify_types::dev::PARTNER_B.display_name),
        "a partner without findings"
    );
    server.stop().await;

    let server = TestServer::start_with(&db, |s| s.dev = false).await;
    let page = Browser::new(&server).get("/console/conformance").await;
    assert_ne!(page.status, StatusCode::INTERNAL_SERVER_ERROR);
    server.stop().await;
}

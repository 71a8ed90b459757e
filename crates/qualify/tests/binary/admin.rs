//! `qualify admin`, end to end: an operator creates a partner, its application and user and a
//! reviewer on the database, a server without `--dev` accepts exactly those, and disabling the
//! application refuses its tokens at once.

use std::process::Command;

use serde_json::Value;

use crate::process::{BINARY, start};

fn admin(database: &str, args: &[&str]) -> Value {
    let output = Command::new(BINARY)
        .args(["admin", "--database", database, "--output", "json"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "admin {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn cli(server: &str, args: &[&str]) -> std::process::Output {
    Command::new(BINARY)
        .args(args)
        .env("QUALIFY_SERVER", server)
        .output()
        .unwrap()
}

#[tokio::test]
async fn an_operator_sets_up_a_partner_and_a_reviewer_and_disables_an_app() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("q.db").display());

    let partner = admin(
        &database,
        &["partners", "create", "--name", "Contoso Partner"],
    );
    let tenant = partner["tenantId"].as_str().unwrap().to_owned();
    let app = admin(
        &database,
        &["apps", "create", "--tenant", &tenant, "--name", "Sync"],
    );
    let (client_id, secret) = (
        app["clientId"].as_str().unwrap().to_owned(),
        app["clientSecret"].as_str().unwrap().to_owned(),
    );
    assert!(secret.len() >= 32, "a generated secret");
    let user = admin(
        &database,
        &[
            "users",
            "create",
            "--tenant",
            &tenant,
            "--username",
            "ops@contoso.test",
        ],
    );
    let password = user["password"].as_str().unwrap().to_owned();
    let reviewer = admin(
        &database,
        &["reviewers", "create", "--username", "alice@vetting.test"],
    );
    let listed = admin(&database, &["partners", "list"]);
    assert_eq!(listed[0]["tenantId"], tenant.as_str());
    let apps = admin(&database, &["apps", "list", "--tenant", &tenant]);
    assert_eq!(apps[0]["clientId"], client_id.as_str());
    assert!(
        apps[0].get("clientSecret").is_none(),
        "a secret is shown once, at creation"
    );

    // The secrets are stored only as slow hashes.
    let raw = std::fs::read(dir.path().join("q.db")).unwrap();
    let contains = |needle: &str| raw.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(
        !contains(&secret) && !contains(&password),
        "no secret in the database file"
    );

    let server = start(&["--database", &database]);
    let partner_args = [
        "--tenant",
        &tenant,
        "--client-id",
        &client_id,
        "--client-secret",
        &secret,
    ];
    let user_args = [
        &partner_args[..],
        &["--username", "ops@contoso.test", "--password", &password],
    ]
    .concat();
    let created = cli(
        &server.base,
        &[
            &[
                "customers",
                "create",
                "--domain",
                "real.onmicrosoft.com",
                "--name",
                "Real",
            ][..],
            &user_args,
        ]
        .concat(),
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let customer: Value = serde_json::from_slice(&created.stdout).unwrap();
    let submitted = cli(
        &server.base,
        &[
            &[
                "qualifications",
                "submit",
                customer["id"].as_str().unwrap(),
                "--qualification",
                "StateOwnedEntity",
            ][..],
            &user_args,
        ]
        .concat(),
    );
    assert!(
        submitted.status.success(),
        "{}",
        String::from_utf8_lossy(&submitted.stderr)
    );

    let reviewer_args = [
        "--tenant",
        reviewer["tenantId"].as_str().unwrap(),
        "--client-id",
        reviewer["clientId"].as_str().unwrap(),
        "--client-secret",
        reviewer["clientSecret"].as_str().unwrap(),
        "--username",
        "alice@vetting.test",
        "--password",
        reviewer["password"].as_str().unwrap(),
    ];
    let queue = cli(
        &server.base,
        &[
            &["review", "list", "--status", "InReview"][..],
            &reviewer_args,
        ]
        .concat(),
    );
    assert!(
        queue.status.success(),
        "{}",
        String::from_utf8_lossy(&queue.stderr)
    );
    let queue: Value = serde_json::from_slice(&queue.stdout).unwrap();
    assert_eq!(queue.as_array().unwrap().len(), 1);
    // The partner's user is no reviewer.
    let refused = cli(
        &server.base,
        &[&["review", "list"][..], &user_args].concat(),
    );
    assert_eq!(refused.status.code(), Some(1));
    // Without --dev the well-known identities don't exist for this server.
    assert_eq!(
        cli(
            &server.base,
            &["customers", "list", "--dev-identity", "partner-a"]
        )
        .status
        .code(),
        Some(1)
    );

    // Disabling the application refuses its current token and any new one.
    let token = cli(
        &server.base,
        &[&["token", "--app-only"][..], &partner_args].concat(),
    );
    let token = String::from_utf8(token.stdout).unwrap();
    let http = reqwest::Client::new();
    let before = http
        .get(format!("{}/v1/customers", server.base))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(before.status(), 200);
    admin(&database, &["apps", "disable", &client_id]);
    let after = http
        .get(format!("{}/v1/customers", server.base))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401);
    let again = cli(
        &server.base,
        &[&["token", "--app-only"][..], &partner_args].concat(),
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("invalid_client"));

    let code = admin(
        &database,
        &[
            "validation-codes",
            "create",
            "--tenant",
            &tenant,
            "--organization",
            "City of Contoso",
            "--max-creates",
            "2",
        ],
    );
    let code = code["validationId"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 6);
    let codes = admin(
        &database,
        &["validation-codes", "list", "--tenant", &tenant],
    );
    assert_eq!(
        (
            codes[0]["validationId"].as_str(),
            codes[0]["remainingCreates"].as_u64()
        ),
        (Some(code.as_str()), Some(2))
    );

    let rotated = admin(&database, &["keys", "rotate"]);
    assert!(rotated["kid"].as_str().is_some_and(|kid| !kid.is_empty()));

    // The trail: the operator's own changes and the partner's, each naming who acted.
    let trail = admin(&database, &["audit"]);
    let operations: Vec<&str> = trail
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["operationType"].as_str().unwrap())
        .collect();
    for expected in [
        "tenant_created",
        "add_customer",
        "update_customer_qualification",
    ] {
        assert!(
            operations.contains(&expected),
            "{expected} in {operations:?}"
        );
    }
    let submitted = admin(
        &database,
        &[
            "audit",
            "--partner",
            &tenant,
            "--customer",
            customer["id"].as_str().unwrap(),
        ],
    );
    let submitted = submitted.as_array().unwrap();
    assert_eq!(submitted.len(), 2, "{submitted:?}");
    // Newest first: the submission, then the customer's creation.
    assert_eq!(
        submitted[0]["operationType"], "update_customer_qualification",
        "{submitted:?}"
    );
    assert_eq!(submitted[0]["partnerId"], tenant.as_str());
    let actor = submitted[0]["customizedData"]
        .as_array()
        .unwrap()
        .iter()
        .find(|pair| pair["key"] == "Actor")
        .unwrap();
    assert_eq!(actor["value"], "ops@contoso.test");

    // A page at a time: the last line on stderr says more follow, and how to see them.
    let paged = |extra: &[&str]| {
        let output = Command::new(BINARY)
            .args([
                "admin",
                "--database",
                &database,
                "--output",
                "json",
                "audit",
            ])
            .args(["--partner", &tenant, "--limit", "1"])
            .args(extra)
            .output()
            .unwrap();
        assert!(output.status.success());
        let records: Value = serde_json::from_slice(&output.stdout).unwrap();
        let more = String::from_utf8_lossy(&output.stderr)
            .lines()
            .last()
            .and_then(|line| {
                line.split_once("--after ")
                    .map(|(_, after)| after.to_owned())
            });
        (records, more)
    };
    let (newest, more) = paged(&[]);
    assert_eq!(newest[0]["operationType"], "update_customer_qualification");
    let after = more.expect("a line saying more records follow");
    let (older, more) = paged(&["--after", &after]);
    assert_eq!(older[0]["operationType"], "add_customer");
    assert_eq!(more, None, "the oldest is the last");
    let (oldest, _) = paged(&["--oldest-first"]);
    assert_eq!(oldest[0]["operationType"], "add_customer");
}

#[tokio::test]
async fn an_operator_reads_the_deliveries_of_a_partners_events_and_redelivers_one() {
    use qualify_types::dev::PARTNER_A;
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("q.db").display());
    // A receiver reporting each body it gets.
    let (tx, mut bodies) = tokio::sync::mpsc::unbounded_channel::<String>();
    let app = axum::Router::new().route(
        "/events",
        axum::routing::post(move |body: String| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(body);
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver = format!("http://{}/events", listener.local_addr().unwrap());
    let url = format!("{receiver}?key=partner-secret");
    tokio::spawn(async move { axum::serve(listener, app).await });

    let server = start(&["--dev", "--database", &database]);
    let token = crate::process::user_token(&server.base, PARTNER_A).await;
    let http = reqwest::Client::new();
    let registered = http
        .post(format!("{}/webhooks/v1/registration", server.base))
        .bearer_auth(&token)
        .json(&serde_json::json!({"WebhookUrl": url, "WebhookEvents": ["test-created"]}))
        .send()
        .await
        .unwrap();
    assert!(registered.status().is_success());
    let sent = http
        .post(format!(
            "{}/webhooks/v1/registration/validationEvents",
            server.base
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(sent.status().is_success());
    let first = bodies
        .recv()
        .await
        .expect("delivered by the server's workers");

    let deliveries = admin(&database, &["webhooks", "deliveries"]);
    let attempt = &deliveries[0];
    assert_eq!(attempt["event"], "test-created");
    assert_eq!(attempt["statusCode"], 200);
    assert_eq!(attempt["partner"], PARTNER_A.tenant_id);
    assert_eq!(attempt["url"], url.as_str(), "the JSON has the URL whole");
    // The table names the receiver, without the key in its query.
    let table = Command::new(BINARY)
        .args(["admin", "--database", &database, "--output", "table"])
        .args(["webhooks", "deliveries"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("RECEIVER")
            && table.contains(&receiver)
            && !table.contains("partner-secret"),
        "{table}"
    );
    let job = attempt["job"].as_i64().unwrap().to_string();
    // A delivery that ended runs again, with the same bytes.
    admin(&database, &["webhooks", "redeliver", &job]);
    let again = bodies.recv().await.expect("delivered again");
    assert_eq!(again, first);
    // One that does not exist is refused, saying why.
    let refused = Command::new(BINARY)
        .args([
            "admin",
            "--database",
            &database,
            "webhooks",
            "redeliver",
            "999999",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("no delivery job 999999"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let (stopped, log) = server.terminate().unwrap();
    assert!(stopped, "{log}");
}

#[tokio::test]
async fn an_operator_sees_each_lanes_backlog_and_a_failing_receiver_backed_off() {
    use qualify_types::dev::PARTNER_A;
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("q.db").display());
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nname = \"a-day\"\ndecision = \"Approved\"\nafter = \"1d\"\n",
    )
    .unwrap();
    // A receiver that fails every delivery, reporting each attempt.
    let (tx, mut attempts) = tokio::sync::mpsc::unbounded_channel::<()>();
    let app = axum::Router::new().route(
        "/events",
        axum::routing::post(move || {
            let tx = tx.clone();
            async move {
                let _ = tx.send(());
                axum::http::StatusCode::INTERNAL_SERVER_ERROR
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver = format!("http://{}/events", listener.local_addr().unwrap());
    let url = format!("{receiver}?key=partner-secret");
    tokio::spawn(async move { axum::serve(listener, app).await });

    let server = start(&[
        "--dev",
        "--database",
        &database,
        "--rules",
        rules.to_str().unwrap(),
    ]);
    let token = crate::process::user_token(&server.base, PARTNER_A).await;
    let http = reqwest::Client::new();
    let registered = http
        .post(format!("{}/webhooks/v1/registration", server.base))
        .bearer_auth(&token)
        .json(&serde_json::json!({"WebhookUrl": url, "WebhookEvents": ["customer-qualification-updated"]}))
        .send()
        .await
        .unwrap();
    assert!(registered.status().is_success());
    for n in 0..5 {
        let customer = crate::process::create_customer(
            &server.base,
            &token,
            &format!("lane{n}.onmicrosoft.com"),
        )
        .await;
        let submitted =
            crate::process::submit_state_owned(&http, &server.base, &token, &customer).await;
        assert!(submitted.status().is_success());
    }
    // Five failures in a row open the receiver's breaker.
    for _ in 0..5 {
        attempts.recv().await.expect("an attempt");
    }
    let receiver = format!("partner:{}", PARTNER_A.tenant_id);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let overview = loop {
        let overview = admin(&database, &["jobs"]);
        if overview["openReceivers"].as_array().unwrap().len() == 1 {
            break overview;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no receiver backed off: {overview}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(overview["openReceivers"][0]["receiver"], receiver);
    assert!(overview["openReceivers"][0]["failures"].as_u64().unwrap() >= 5);
    let lane = |name: &str| {
        overview["lanes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|lane| lane["lane"] == name)
            .unwrap_or_else(|| panic!("lane {name} listed: {overview}"))
            .clone()
    };
    // The five decisions wait a day; the five events wait for their receiver, none lost.
    let decisions = lane("decisions");
    assert_eq!(decisions["scheduled"], 5, "{decisions}");
    assert_eq!(decisions["due"], 0, "{decisions}");
    let deliveries = lane("deliveries");
    let pending = ["due", "running", "scheduled"]
        .iter()
        .map(|field| deliveries[field].as_u64().unwrap())
        .sum::<u64>();
    assert_eq!(pending, 5, "{deliveries}");
    assert_eq!(overview["decisionLateness"]["count"], 0);
    // People get the same in columns.
    let table = Command::new(BINARY)
        .args([
            "admin",
            "--database",
            &database,
            "--output",
            "table",
            "jobs",
        ])
        .output()
        .unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.contains("OLDEST DUE FOR"), "{table}");
    assert!(table.contains(&receiver), "{table}");
    assert!(
        table.contains("No decision done in the last 10m"),
        "{table}"
    );
    let (stopped, log) = server.terminate().unwrap();
    assert!(stopped, "{log}");
}

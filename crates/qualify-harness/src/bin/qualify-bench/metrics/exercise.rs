//! What `qualify-bench metrics` puts a server through, and what each series must then say.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use qualify_harness::{ServerProcess, load, user_token};
use qualify_types::dev;
use serde_json::{Value as Json, json};

use crate::servers::random_reads;
use crate::webhooks::receiver;

use super::scrape::{delta, scrape, scrape_all, scrape_text, value};
use crate::Common;

/// Does what each series counts, scraping before and after; returns the last scrape of the
/// first node, in Prometheus's text format and in OpenMetrics.
pub(super) async fn exercise(
    servers: &[ServerProcess],
    common: &Common,
    target: &str,
) -> anyhow::Result<(String, String)> {
    let server = &servers[0];
    let base = server.base.as_str();
    // Counters are per node (with two nodes, either may run a job): they are summed over the
    // nodes. Gauges read from the database are the same on each: they are read from the first.
    let urls = servers
        .iter()
        .map(|s| {
            let addr = s
                .metrics_addr()
                .context("the server logs no metrics_addr")?;
            Ok(format!("http://{addr}/metrics"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let metrics_url = urls[0].clone();
    let http = reqwest::Client::new();
    let before = scrape_all(&http, &urls).await?;

    // Tokens: two issued (partner A's user, the reviewer), one refused (a wrong secret).
    let partner = user_token(base, dev::PARTNER_A).await?;
    let reviewer = user_token(base, dev::OPERATOR).await?;
    let refused = http
        .post(format!(
            "{base}/{}/oauth2/v2.0/token",
            dev::PARTNER_A.tenant_id
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", dev::PARTNER_A.client_id),
            ("client_secret", "not-the-secret"),
            ("scope", "https://api.partnercenter.microsoft.com/.default"),
        ])
        .send()
        .await?;
    ensure!(
        refused.status().is_client_error(),
        "a wrong secret got {}",
        refused.status()
    );

    // A partner webhook, so decisions are delivered to a receiver here.
    let received = Arc::new(AtomicU64::new(0));
    let receiver_url = receiver(Arc::clone(&received)).await?;
    let registered = http
        .post(format!("{base}/webhooks/v1/registration"))
        .bearer_auth(&partner)
        .json(&json!({"WebhookUrl": receiver_url, "WebhookEvents": ["customer-qualification-updated"]}))
        .send()
        .await?;
    ensure!(
        registered.status().is_success(),
        "registering the webhook: {}",
        registered.status()
    );

    // Submissions: two for the reviewer, one a rule denies at once, one it approves a day later.
    let mut for_review = Vec::new();
    for domain in [
        "one.review.test",
        "two.review.test",
        "x.denied.test",
        "y.later.test",
    ] {
        let customer = create_customer(&http, base, &partner, domain).await?;
        let submitted: Json = http
            .post(format!("{base}/v1/customers/{customer}/qualifications"))
            .bearer_auth(&partner)
            .json(&json!({"qualification": "StateOwnedEntity"}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        if domain.ends_with(".review.test") {
            for_review.push(customer);
        }
        let expected = if domain.ends_with(".denied.test") {
            "Denied"
        } else {
            "InReview"
        };
        ensure!(
            submitted["vettingStatus"] == expected,
            "{domain}: {submitted}"
        );
    }
    let in_review_while_waiting = scrape(&http, &metrics_url).await?;

    // The reviewer approves one and denies the other.
    for (customer, decision) in for_review.iter().zip([
        json!({"vettingStatus": "Approved"}),
        json!({"vettingStatus": "Denied", "vettingReason": "Not a State Owned Entity"}),
    ]) {
        let requests: Json = http
            .get(format!("{base}/review/v1/requests?customerId={customer}"))
            .bearer_auth(&reviewer)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let id = requests["items"][0]["id"]
            .as_str()
            .context("the request's id")?;
        http.post(format!("{base}/review/v1/requests/{id}/decision"))
            .bearer_auth(&reviewer)
            .json(&decision)
            .send()
            .await?
            .error_for_status()?;
    }
    // A day passes on partner A's clock: the rule's timed decision falls due and is made.
    http.post(format!("{base}/test/v1/clock/advance"))
        .bearer_auth(&partner)
        .json(&json!({"seconds": 86_400}))
        .send()
        .await?
        .error_for_status()?;
    // Each submission and each decision is an event for partner A's webhook: wait until the
    // outbox has delivered them all (no delivery job left that is not dead).
    let started = Instant::now();
    loop {
        let now = scrape(&http, &metrics_url).await?;
        let undelivered = ["due", "running", "scheduled"]
            .iter()
            .map(|state| {
                value(
                    &now,
                    "qualify_jobs",
                    &[("kind", "partner-webhook.deliver"), ("state", state)],
                )
            })
            .sum::<f64>();
        if undelivered == 0.0 && received.load(Ordering::Relaxed) >= 8 {
            break;
        }
        ensure!(
            started.elapsed() < Duration::from_secs(60),
            "the webhook got {} deliveries, {undelivered} undelivered",
            received.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let customers = Arc::new(
        for_review
            .iter()
            .map(|c| c.parse())
            .collect::<Result<Vec<_>, _>>()?,
    );
    let addrs: Vec<_> = servers.iter().map(ServerProcess::addr).collect();
    let load = load::run(
        &addrs,
        common.connections,
        common.duration.min(Duration::from_secs(5)),
        random_reads(customers, partner.clone()),
    )
    .await;
    ensure!(load.ok > 0, "the GET load failed: {:?}", load.failed);
    let (after_text, after_first) = scrape_text(&http, &metrics_url).await?;
    let after = scrape_all(&http, &urls).await?;

    let get_route = "/v1/customers/{customer_id}/qualifications";
    let gets = delta(
        &before,
        &after,
        "qualify_http_requests_total",
        &[("route", get_route), ("method", "GET"), ("status", "200")],
    );
    let checks: Vec<(&str, f64, f64)> = vec![
        (
            "POST …/qualifications 201",
            delta(
                &before,
                &after,
                "qualify_http_requests_total",
                &[("route", get_route), ("method", "POST"), ("status", "201")],
            ),
            4.0,
        ),
        (
            "latency observations of those POSTs",
            delta(
                &before,
                &after,
                "qualify_http_request_duration_seconds_count",
                &[("route", get_route), ("method", "POST")],
            ),
            4.0,
        ),
        (
            "tokens issued, password grant",
            delta(
                &before,
                &after,
                "qualify_tokens_issued_total",
                &[("grant_type", "password")],
            ),
            2.0,
        ),
        (
            "token refusals, invalid_client",
            delta(
                &before,
                &after,
                "qualify_token_refusals_total",
                &[("reason", "invalid_client")],
            ),
            1.0,
        ),
        (
            "decisions Approved by a reviewer",
            delta(
                &before,
                &after,
                "qualify_vetting_decisions_total",
                &[("outcome", "Approved"), ("decided_by", "reviewer")],
            ),
            1.0,
        ),
        (
            "decisions Denied by a reviewer",
            delta(
                &before,
                &after,
                "qualify_vetting_decisions_total",
                &[("outcome", "Denied"), ("decided_by", "reviewer")],
            ),
            1.0,
        ),
        (
            "decisions Denied by a rule",
            delta(
                &before,
                &after,
                "qualify_vetting_decisions_total",
                &[("outcome", "Denied"), ("decided_by", "rule")],
            ),
            1.0,
        ),
        (
            "decisions Approved by a rule (timed)",
            delta(
                &before,
                &after,
                "qualify_vetting_decisions_total",
                &[("outcome", "Approved"), ("decided_by", "rule")],
            ),
            1.0,
        ),
        (
            "partner deliveries delivered",
            delta(
                &before,
                &after,
                "qualify_webhook_deliveries_total",
                &[("receiver", "partner"), ("outcome", "delivered")],
            ),
            received.load(Ordering::Relaxed) as f64,
        ),
        (
            "vetting requests InReview, while waiting",
            value(
                &in_review_while_waiting,
                "qualify_vetting_requests",
                &[("state", "InReview")],
            ),
            3.0,
        ),
        (
            "vetting requests InReview, at the end",
            value(
                &after_first,
                "qualify_vetting_requests",
                &[("state", "InReview")],
            ),
            0.0,
        ),
        (
            "vetting requests Approved",
            value(
                &after_first,
                "qualify_vetting_requests",
                &[("state", "Approved")],
            ),
            2.0,
        ),
        (
            "vetting requests Denied",
            value(
                &after_first,
                "qualify_vetting_requests",
                &[("state", "Denied")],
            ),
            2.0,
        ),
        (
            "timed decisions scheduled, while waiting",
            value(
                &in_review_while_waiting,
                "qualify_jobs",
                &[("kind", "vetting.decide"), ("state", "scheduled")],
            ),
            1.0,
        ),
        (
            "dead jobs",
            value(&after_first, "qualify_jobs", &[("state", "dead")]),
            0.0,
        ),
        (
            "database up",
            value(&after_first, "qualify_database_up", &[]),
            1.0,
        ),
    ];
    let mut wrong = Vec::new();
    for (what, seen, expected) in &checks {
        let ok = (seen - expected).abs() < 1e-9;
        println!(
            "metrics      {target:<8} {what:<42} {seen:>8} {}",
            if ok { "ok" } else { "WRONG" }
        );
        if !ok {
            wrong.push(format!("{what}: {seen}, expected {expected}"));
        }
    }
    // Series whose exact value depends on timing: they must have moved.
    let moved: Vec<(&str, f64)> = vec![
        ("GETs answered 200", gets),
        (
            "oldest InReview age while waiting, s",
            value(
                &in_review_while_waiting,
                "qualify_vetting_oldest_in_review_age_seconds",
                &[],
            ),
        ),
        (
            "job attempts done",
            delta(
                &before,
                &after,
                "qualify_job_attempts_total",
                &[("outcome", "done")],
            ),
        ),
    ];
    let backend_moved = if target == "sqlite" {
        vec![
            (
                "SQLite batches committed",
                delta(&before, &after, "qualify_sqlite_batch_writes_count", &[]),
            ),
            (
                "SQLite fsyncs of the log",
                delta(&before, &after, "qualify_sqlite_fsync_seconds_count", &[]),
            ),
            (
                "SQLite commits made durable",
                delta(&before, &after, "qualify_sqlite_commits_per_fsync_sum", &[]),
            ),
        ]
    } else {
        vec![
            (
                "PostgreSQL pool connections",
                value(&after_first, "qualify_postgres_pool_connections", &[]),
            ),
            (
                "PostgreSQL pool size limit",
                value(&after_first, "qualify_postgres_pool_max_connections", &[]),
            ),
            (
                "PostgreSQL GET reads, in shared statements",
                delta(
                    &before,
                    &after,
                    "qualify_postgres_get_reads_per_statement_sum",
                    &[],
                ),
            ),
        ]
    };
    for (what, seen) in moved.into_iter().chain(backend_moved) {
        let ok = seen > 0.0;
        println!(
            "metrics      {target:<8} {what:<42} {seen:>8.3} {}",
            if ok { "ok" } else { "WRONG" }
        );
        if !ok {
            wrong.push(format!("{what}: {seen}, expected more than 0"));
        }
    }
    println!(
        "metrics      {target:<8} {} series in the scrape, {} GETs/s under load",
        after_first
            .metrics
            .iter()
            .map(|m| m.samples.len())
            .sum::<usize>(),
        load.rps.round()
    );
    ensure!(
        wrong.is_empty(),
        "series did not move as they should: {wrong:#?}"
    );
    let openmetrics = http
        .get(&metrics_url)
        .header("accept", "application/openmetrics-text; version=1.0.0")
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    Ok((after_text, openmetrics))
}

async fn create_customer(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    domain: &str,
) -> anyhow::Result<String> {
    let created: Json = http
        .post(format!("{base}/v1/customers"))
        .bearer_auth(token)
        .json(&json!({
            "companyProfile": {"domain": domain, "companyName": domain},
            "billingProfile": {"defaultAddress": {"country": "US"}}
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    created["id"]
        .as_str()
        .map(str::to_owned)
        .context("the customer's id")
}

//! `qualify-bench webhooks`: what a partner's registered webhook costs, and how fast the outbox
//! delivers. Durable submissions per second with partner A registered for
//! `customer-qualification-updated` against none (alternating servers on one SQLite database:
//! with a registration, each submission also enqueues a delivery, and the node's two workers
//! deliver while submissions go on); then, after each run with one, how many deliveries a
//! second the outbox makes to a receiver on this machine once the load stops.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use qualify_harness::load;
use qualify_harness::user_token;
use qualify_store::testing::TestDatabase;
use qualify_types::dev;
use serde_json::json;

use crate::Common;
use crate::seed;
use crate::servers::{measured, median, qualify, qualify_binary, submissions_for};

#[derive(Debug, Args)]
pub(crate) struct WebhookArgs {
    #[command(flatten)]
    common: Common,
    /// Customers seeded for the run (each takes two submissions).
    #[arg(long, default_value_t = 100_000)]
    customers: usize,
    /// The longest wait for the outbox to drain after a run.
    #[arg(long, default_value = "300s", value_parser = humantime::parse_duration)]
    drain_timeout: Duration,
}

/// A receiver on this machine that answers 200 and counts what it got; its URL.
pub(crate) async fn receiver(count: Arc<AtomicU64>) -> anyhow::Result<String> {
    let app = axum::Router::new().route(
        "/events",
        axum::routing::post(move || {
            let count = Arc::clone(&count);
            async move {
                count.fetch_add(1, Ordering::Relaxed);
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/events", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

/// Registers partner A's receiver at `url` (`Some`), or removes its registration (`None`).
async fn registration(base: &str, token: &str, url: Option<&str>) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let endpoint = format!("{base}/webhooks/v1/registration");
    let response = match url {
        Some(url) => http
            .post(&endpoint)
            .bearer_auth(token)
            .json(&json!({"WebhookUrl": url, "WebhookEvents": ["customer-qualification-updated"]}))
            .send()
            .await?,
        None => http.delete(&endpoint).bearer_auth(token).send().await?,
    };
    // 409: registered already (by an earlier round); 404: none to remove.
    anyhow::ensure!(
        response.status().is_success() || [404, 409].contains(&response.status().as_u16()),
        "the registration answered {}",
        response.status()
    );
    Ok(())
}

/// Submissions per second with a registered webhook and without, alternated; deliveries per
/// second after each run with one.
pub(crate) async fn webhooks(args: WebhookArgs, cpu: Option<usize>) -> anyhow::Result<()> {
    let binary = qualify_binary(&args.common)?;
    let db = TestDatabase::sqlite();
    let database = db.url().expose();
    let received = Arc::new(AtomicU64::new(0));
    let url = receiver(Arc::clone(&received)).await?;
    // A first server creates the schema and the identities, and issues the token every later
    // one accepts (one database, one signing key, one public URL).
    let first = qualify(&binary, &database, &[], cpu)?;
    let token = user_token(&first.base, dev::PARTNER_A).await?;
    first.terminate()?;
    let fresh = Arc::new(
        seed::populate(&db, 0, args.customers)
            .await
            .context("seeding")?
            .fresh,
    );
    let offset = Arc::new(AtomicU64::new(0));
    let (mut none, mut some, mut delivery_rates) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..args.common.rounds.max(1) {
        // A, B, then B, A: whatever favours the first (or second) of a round favours each alike.
        let mut order = [false, true];
        if round % 2 == 1 {
            order.reverse();
        }
        for registered in order {
            let server = qualify(&binary, &database, &[], cpu)?;
            registration(&server.base, &token, registered.then_some(url.as_str())).await?;
            let before = received.load(Ordering::Relaxed);
            let report = load::run(
                &[server.addr()],
                args.common.connections,
                args.common.duration,
                submissions_for(fresh.clone(), token.clone(), offset.clone()),
            )
            .await;
            if registered {
                // Every acknowledged submission has its event; time the rest of the outbox.
                let expected = before + report.ok;
                let (pending, started) =
                    (expected - received.load(Ordering::Relaxed), Instant::now());
                while received.load(Ordering::Relaxed) < expected {
                    anyhow::ensure!(
                        started.elapsed() < args.drain_timeout,
                        "the outbox did not drain: {} of {pending} delivered",
                        pending - (expected - received.load(Ordering::Relaxed))
                    );
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                let seconds = started.elapsed().as_secs_f64();
                delivery_rates.push(pending as f64 / seconds.max(f64::EPSILON));
                println!(
                    "webhooks     drained {pending} deliveries in {seconds:.2} s after the load"
                );
                some.push(report);
            } else {
                none.push(report);
            }
            server.terminate()?;
        }
    }
    let (none, some) = (measured(none), measured(some));
    for (name, m) in [("no webhook", &none), ("registered webhook", &some)] {
        println!(
            "webhooks     {name:<18} {:>9.0} req/s ({:.0}–{:.0})  p50 {:>7.2} ms  p99 {:>7.2} ms  failed {:?}",
            m.median.rps, m.min_rps, m.max_rps, m.median.p50_ms, m.median.p99_ms, m.median.failed
        );
    }
    let deliveries = median(delivery_rates);
    println!(
        "webhooks: {:.3}x the submissions per second without one; the outbox delivers {deliveries:.0}/s to a local receiver",
        some.median.rps / none.median.rps
    );
    if let Some(path) = &args.common.json {
        std::fs::write(
            path,
            serde_json::to_vec_pretty(&json!({
                "none": none,
                "registered": some,
                "deliveries_per_second": deliveries,
            }))?,
        )?;
    }
    Ok(())
}

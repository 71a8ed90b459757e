//! `qualify-bench jobs`: whether timed decisions are made on time, and healthy receivers served,
//! while a receiver misbehaves. Three partners submit at a steady rate (`--rate`, spread over
//! them) under a rule approving every request one second later, each with its own registered
//! receiver: partner A's answers 200 at once, partner B's answers 500, and partner C's accepts
//! connections and never answers. Servers run with the default settings. After the load, once
//! every decision is made and A's receiver has all its events, it reports from the jobs table
//! how late each decision was made (finished minus due, on the server's clock), how long A's
//! events took from the change to its receiver, and what the failing receivers cost.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use qualify_harness::load::{self, LoadReport};
use qualify_harness::{ServerProcess, partner_on_demand, user_token};
use qualify_store::testing::TestDatabase;
use qualify_store::{JobRecord, Store, StoreOptions};
use qualify_types::{CustomerId, Timestamp, dev};
use serde::Serialize;
use serde_json::{Value, json};

use crate::seed;
use crate::servers::qualify_binary_at;

#[derive(Debug, Args)]
pub(crate) struct JobsArgs {
    /// The `qualify` binary [default: the one beside this program].
    #[arg(long, value_name = "PATH")]
    qualify: Option<PathBuf>,
    /// Submissions per second, spread evenly over the three partners.
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// How long submissions go on.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Connections sending them: enough that the pace never waits for an answer.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Which setups: sqlite, postgres (one node), postgres-2-nodes.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    targets: Vec<String>,
    /// The longest wait, after the load, for every decision and every healthy delivery.
    #[arg(long, default_value = "300s", value_parser = humantime::parse_duration)]
    drain_timeout: Duration,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// Every request approved one second after it is asked for.
const RULES: &str =
    "[[rule]]\nname = \"approve-after-a-second\"\ndecision = \"Approved\"\nafter = \"1s\"\n";

/// Quantiles, in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
struct Quantiles {
    count: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

impl Quantiles {
    fn of(mut values: Vec<f64>) -> Self {
        values.sort_by(f64::total_cmp);
        let at = |q: f64| {
            let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len().max(1));
            values.get(rank - 1).copied().unwrap_or(0.0)
        };
        Self {
            count: values.len(),
            p50_ms: at(0.5),
            p99_ms: at(0.99),
            max_ms: values.last().copied().unwrap_or(0.0),
        }
    }

    fn line(&self) -> String {
        format!(
            "p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms  ({})",
            self.p50_ms, self.p99_ms, self.max_ms, self.count
        )
    }
}

/// What one receiver saw, and what is left for it.
#[derive(Debug, Clone, Serialize)]
struct ReceiverReport {
    name: &'static str,
    /// Deliveries it answered 2xx to.
    delivered: u64,
    /// Connections (the black hole) or requests (the others) it got.
    attempts: u64,
    /// Events still waiting for it when the report was made.
    waiting: usize,
    /// From the change to its arrival, for the events it accepted.
    latency: Quantiles,
}

#[derive(Debug, Clone, Serialize)]
struct JobsReport {
    target: String,
    submissions: LoadReport,
    decisions_late: Quantiles,
    receivers: Vec<ReceiverReport>,
}

/// A receiver that accepts every event and notes how long after the change it arrived.
async fn healthy(latencies: Arc<Mutex<Vec<f64>>>) -> anyhow::Result<String> {
    let app = axum::Router::new().route(
        "/events",
        axum::routing::post(move |body: String| {
            let latencies = Arc::clone(&latencies);
            async move {
                let arrived = wall_millis();
                let event: Value = serde_json::from_str(&body).unwrap_or_default();
                if let Ok(changed) =
                    serde_json::from_value::<Timestamp>(event["ResourceChangeUtcDate"].clone())
                    && let Ok(mut latencies) = latencies.lock()
                {
                    latencies.push((arrived - changed.unix_millis()) as f64);
                }
                axum::http::StatusCode::OK
            }
        }),
    );
    serve(app).await
}

/// A receiver that answers every event 500, counting them.
async fn failing(attempts: Arc<AtomicU64>) -> anyhow::Result<String> {
    let app = axum::Router::new().route(
        "/events",
        axum::routing::post(move || {
            let attempts = Arc::clone(&attempts);
            async move {
                attempts.fetch_add(1, Ordering::Relaxed);
                axum::http::StatusCode::INTERNAL_SERVER_ERROR
            }
        }),
    );
    serve(app).await
}

/// Now, in milliseconds since the Unix epoch: what the servers date things with.
#[allow(clippy::disallowed_methods)] // a benchmark compares the servers' dates with the wall clock
fn wall_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}

async fn serve(app: axum::Router) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/events", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

/// A receiver that accepts connections and never answers, counting them.
async fn black_hole(connections: Arc<AtomicU64>) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/events", listener.local_addr()?);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            connections.fetch_add(1, Ordering::Relaxed);
            held.push(stream);
        }
    });
    Ok(url)
}

async fn register(base: &str, token: &str, url: &str) -> anyhow::Result<()> {
    reqwest::Client::new()
        .post(format!("{base}/webhooks/v1/registration"))
        .bearer_auth(token)
        .json(&json!({"WebhookUrl": url, "WebhookEvents": ["customer-qualification-updated"]}))
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

/// Submissions for the partners' fresh customers in turn, each customer once.
fn submissions(partners: Arc<Vec<(String, Vec<CustomerId>)>>) -> impl load::RequestSource {
    const BODY: &str = r#"{"qualification":"StateOwnedEntity"}"#;
    move |n: u64| {
        let n = usize::try_from(n).ok()?;
        let (token, customers) = &partners[n % partners.len()];
        let customer = customers.get(n / partners.len())?;
        Some(load::post_json(
            &format!("/v1/customers/{customer}/qualifications"),
            token,
            BODY,
        ))
    }
}

pub(crate) async fn jobs(args: JobsArgs, cpu: Option<usize>) -> anyhow::Result<()> {
    let binary = qualify_binary_at(args.qualify.as_deref())?;
    let mut reports = Vec::new();
    for target in &args.targets {
        let (db, nodes) = match target.as_str() {
            "sqlite" => (TestDatabase::sqlite(), 1),
            "postgres" | "postgres-2-nodes" => {
                match TestDatabase::postgres("qualify-bench jobs").await {
                    Some(db) => (db, if target == "postgres" { 1 } else { 2 }),
                    None => continue,
                }
            }
            other => {
                anyhow::bail!("unknown target '{other}': use sqlite, postgres, postgres-2-nodes")
            }
        };
        let report = run(&binary, &db, nodes, target, &args, cpu).await?;
        print(&report);
        reports.push(report);
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&reports)?)?;
    }
    Ok(())
}

async fn run(
    binary: &Path,
    db: &TestDatabase,
    nodes: usize,
    target: &str,
    args: &JobsArgs,
    cpu: Option<usize>,
) -> anyhow::Result<JobsReport> {
    let database = db.url().expose();
    let dir = tempfile::tempdir()?;
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, RULES)?;
    let rules = rules.to_str().context("a UTF-8 path")?.to_owned();
    let servers = (0..nodes)
        .map(|_| crate::servers::qualify(binary, &database, &["--rules", &rules], cpu))
        .collect::<anyhow::Result<Vec<ServerProcess>>>()?;
    let base = servers[0].base.clone();

    let latencies = Arc::new(Mutex::new(Vec::new()));
    let (refused, connections) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let token_a = user_token(&base, dev::PARTNER_A).await?;
    let token_b = user_token(&base, dev::PARTNER_B).await?;
    let (tenant_c, token_c) = partner_on_demand(&base).await?;
    register(&base, &token_a, &healthy(Arc::clone(&latencies)).await?).await?;
    register(&base, &token_b, &failing(Arc::clone(&refused)).await?).await?;
    register(
        &base,
        &token_c,
        &black_hole(Arc::clone(&connections)).await?,
    )
    .await?;

    // Fresh customers for every submission the run may send, and a few to spare.
    let each = (args.rate * args.duration.as_secs_f64() / 3.0).ceil() as usize + 100;
    let mut partners = Vec::new();
    for (tenant, token) in [
        (dev::PARTNER_A.tenant_id.parse()?, token_a),
        (dev::PARTNER_B.tenant_id.parse()?, token_b),
        (tenant_c, token_c),
    ] {
        let fresh = seed::populate_for(db, tenant, 0, each)
            .await
            .context("seeding")?
            .fresh;
        partners.push((token, fresh));
    }
    let store = Store::connect(&StoreOptions::new(db.url().clone())).await?;
    let since = Timestamp::from_unix_millis(wall_millis()).context("the time")?;
    let addrs: Vec<SocketAddr> = servers.iter().map(ServerProcess::addr).collect();
    let submitted = load::run_paced(
        &addrs,
        args.connections,
        args.duration,
        Some(args.rate),
        submissions(Arc::new(partners)),
    )
    .await;

    // Every decision made, and every event of A's delivered. (Jobs are told apart by kind and
    // by the payload's partner, not by lane or receiver, so that a server from before lanes can
    // be measured the same way with `--qualify`.)
    let healthy_partner = format!("\"partner\":\"{}\"", dev::PARTNER_A.tenant_id);
    let is_decision = |job: &JobRecord| job.kind == "vetting.decide";
    let is_healthy_delivery = |job: &JobRecord| {
        job.kind == "partner-webhook.deliver" && job.payload.contains(&healthy_partner)
    };
    let started = Instant::now();
    let jobs = loop {
        let jobs = store.jobs().await?;
        let unfinished = |job: &&JobRecord| job.finished_at.is_none();
        let decisions_left = jobs
            .iter()
            .filter(|job| is_decision(job))
            .filter(unfinished)
            .count();
        let healthy_left = jobs
            .iter()
            .filter(|job| is_healthy_delivery(job))
            .filter(unfinished)
            .count();
        if decisions_left == 0 && healthy_left == 0 {
            break jobs;
        }
        anyhow::ensure!(
            started.elapsed() < args.drain_timeout,
            "{target}: after {:?}, {decisions_left} decisions and {healthy_left} of A's deliveries are left",
            args.drain_timeout
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let late: Vec<f64> = jobs
        .iter()
        .filter(|job| is_decision(job))
        .filter_map(|job| job.finished_at.map(|done| (done, job.run_at)))
        .filter(|(done, _)| *done >= since)
        .map(|(done, due)| (done.unix_millis() - due.unix_millis()).max(0) as f64)
        .collect();
    let waiting = |partner: &str| {
        let payload = format!("\"partner\":\"{partner}\"");
        jobs.iter()
            .filter(|job| job.kind == "partner-webhook.deliver" && job.payload.contains(&payload))
            .filter(|job| job.finished_at.is_none())
            .count()
    };
    let latencies = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    let receivers = vec![
        ReceiverReport {
            name: "healthy",
            delivered: latencies.len() as u64,
            attempts: latencies.len() as u64,
            waiting: 0,
            latency: Quantiles::of(latencies),
        },
        ReceiverReport {
            name: "failing-500",
            delivered: 0,
            attempts: refused.load(Ordering::Relaxed),
            waiting: waiting(dev::PARTNER_B.tenant_id),
            latency: Quantiles::default(),
        },
        ReceiverReport {
            name: "black-hole",
            delivered: 0,
            attempts: connections.load(Ordering::Relaxed),
            waiting: waiting(&tenant_c.to_string()),
            latency: Quantiles::default(),
        },
    ];
    store.close().await;
    for server in servers {
        server.terminate()?;
    }
    Ok(JobsReport {
        target: target.to_owned(),
        submissions: submitted,
        decisions_late: Quantiles::of(late),
        receivers,
    })
}

fn print(report: &JobsReport) {
    let target = &report.target;
    let s = &report.submissions;
    println!(
        "jobs  {target:<16} submissions  {:>7.0}/s  p50 {:>7.2} ms  p99 {:>7.2} ms  failed {:?}",
        s.rps, s.p50_ms, s.p99_ms, s.failed
    );
    println!(
        "jobs  {target:<16} decisions late by  {}",
        report.decisions_late.line()
    );
    for receiver in &report.receivers {
        if receiver.delivered > 0 {
            println!(
                "jobs  {target:<16} {:<12} change to delivery  {}",
                receiver.name,
                receiver.latency.line()
            );
        } else {
            println!(
                "jobs  {target:<16} {:<12} {} attempts, {} events waiting (backed off, none lost)",
                receiver.name, receiver.attempts, receiver.waiting
            );
        }
    }
}

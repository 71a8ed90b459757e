//! `qualify-bench`: measures real `qualify serve` processes under load from this process, with
//! the server pinned to one CPU and the load generator to another where the machine has two.
//!
//! `qualify-bench submissions` measures durable submissions per second (each one committed with
//! its audit record and idempotency key before it is acknowledged) on SQLite, and on PostgreSQL
//! with one and two nodes. `qualify-bench reads` measures `GET …/qualifications` over random
//! customers, with the verified-token cache on and off, alternating runs so drift hits both.

#![allow(clippy::print_stdout)] // a report on stdout is this program's job

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use qualify_harness::load::{self, LoadReport};
use qualify_harness::{ServerCommand, ServerProcess, user_token};
use qualify_store::testing::TestDatabase;
use qualify_store::{BillingRecord, NewCustomerRecord, Store, StoreOptions};
use qualify_types::{CustomerId, TenantId, Timestamp, dev};
use serde::Serialize;

#[derive(Debug, Parser)]
#[command(
    name = "qualify-bench",
    about = "Benchmarks real qualify servers",
    version
)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// Durable submissions per second: SQLite, PostgreSQL with one node, with two nodes.
    #[command(
        after_help = "Example:\n  cargo run --release -p qualify-harness --bin qualify-bench -- submissions --duration 10s"
    )]
    Submissions(SubmissionArgs),
    /// GET …/qualifications per second, with the token cache on and off (alternating runs).
    #[command(
        after_help = "Example:\n  cargo run --release -p qualify-harness --bin qualify-bench -- reads --duration 5s --rounds 3"
    )]
    Reads(ReadArgs),
}

#[derive(Debug, Args)]
struct Common {
    /// The `qualify` binary [default: the one beside this program].
    #[arg(long, value_name = "PATH")]
    qualify: Option<PathBuf>,
    /// Concurrent connections (closed loop: each sends its next request when answered).
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// How long each measurement runs.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct SubmissionArgs {
    #[command(flatten)]
    common: Common,
    /// Which setups: sqlite, postgres, postgres-2-nodes.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "sqlite,postgres,postgres-2-nodes"
    )]
    targets: Vec<String>,
    /// Customers seeded for the run (each takes one submission).
    #[arg(long, default_value_t = 200_000)]
    customers: usize,
}

#[derive(Debug, Args)]
struct ReadArgs {
    #[command(flatten)]
    common: Common,
    /// Customers seeded (requests pick one at random).
    #[arg(long, default_value_t = 10_000)]
    customers: usize,
    /// Runs of each variant, alternated (A, B, A, B, …); the median is reported.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

#[derive(Debug, Serialize)]
struct Row {
    scenario: &'static str,
    target: String,
    #[serde(flatten)]
    report: LoadReport,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // The load generator runs on one thread, pinned to the last CPU; servers get CPU 0.
    let cpus = core_affinity::get_core_ids().unwrap_or_default();
    let load_cpu = cpus.last().copied().filter(|_| cpus.len() > 1);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if let Some(cpu) = load_cpu {
        core_affinity::set_for_current(cpu);
    }
    let server_cpu = load_cpu.map(|_| 0);
    runtime.block_on(async {
        match cli.scenario {
            Scenario::Submissions(args) => submissions(args, server_cpu).await,
            Scenario::Reads(args) => reads(args, server_cpu).await,
        }
    })
}

fn qualify_binary(common: &Common) -> anyhow::Result<PathBuf> {
    match &common.qualify {
        Some(path) => Ok(path.clone()),
        None => {
            let beside = std::env::current_exe()?.with_file_name("qualify");
            anyhow::ensure!(
                beside.exists(),
                "no qualify binary at {}: build it (cargo build --release -p qualify) or pass --qualify",
                beside.display()
            );
            Ok(beside)
        }
    }
}

/// Seeds `count` customers of partner A straight into the database.
async fn seed_customers(db: &TestDatabase, count: usize) -> anyhow::Result<Vec<CustomerId>> {
    let store = Store::connect(&StoreOptions::new(db.url().clone())).await?;
    let partner: TenantId = dev::PARTNER_A
        .tenant_id
        .parse()
        .map_err(|_| anyhow::anyhow!("partner A's id"))?;
    let ids: Vec<CustomerId> = (0..count).map(|_| CustomerId::random()).collect();
    let domains: Vec<String> = (0..count)
        .map(|n| format!("bench{n}.onmicrosoft.com"))
        .collect();
    let billing = BillingRecord::default();
    let records: Vec<NewCustomerRecord<'_>> = ids
        .iter()
        .zip(&domains)
        .map(|(id, domain)| NewCustomerRecord {
            id: *id,
            partner_tenant_id: partner,
            domain,
            company_name: "Bench",
            billing: &billing,
            actor: "qualify-bench",
        })
        .collect();
    store.import_customers(&records, Timestamp::now()).await?;
    store.close().await;
    Ok(ids)
}

async fn submissions(args: SubmissionArgs, server_cpu: Option<usize>) -> anyhow::Result<()> {
    let binary = qualify_binary(&args.common)?;
    let mut rows = Vec::new();
    for target in &args.targets {
        let (db, nodes) = match target.as_str() {
            "sqlite" => (TestDatabase::sqlite(), 1),
            "postgres" | "postgres-2-nodes" => {
                match TestDatabase::postgres("qualify-bench").await {
                    Some(db) => (db, if target == "postgres" { 1 } else { 2 }),
                    None => continue,
                }
            }
            other => {
                anyhow::bail!("unknown target '{other}': use sqlite, postgres, postgres-2-nodes")
            }
        };
        let database = db.url().expose();
        let mut servers = Vec::new();
        for _ in 0..nodes {
            servers.push(ServerProcess::spawn(&bench_server(
                &binary,
                &database,
                &[],
                server_cpu,
            ))?);
        }
        let token = user_token(&servers[0].base, dev::PARTNER_A).await?;
        let customers = seed_customers(&db, args.customers)
            .await
            .context("seeding customers")?;
        let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
        let client = load::client(args.common.connections);
        let report = load::run(
            &client,
            args.common.connections,
            args.common.duration,
            move |client: &reqwest::Client, n: u64| {
                let customer = customers.get(usize::try_from(n).ok()?)?;
                let base = &bases[usize::try_from(n).unwrap_or_default() % bases.len()];
                Some(
                    client
                        .post(format!("{base}/v1/customers/{customer}/qualifications"))
                        .bearer_auth(&token)
                        .header("MS-RequestId", uuid::Uuid::new_v4().to_string())
                        .header("Content-Type", "application/json")
                        .body(r#"{"qualification":"StateOwnedEntity"}"#),
                )
            },
        )
        .await;
        for server in servers {
            server.terminate()?;
        }
        println!(
            "submissions  {target:<18} {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  ok {:>7}  failed {:?}",
            report.rps, report.p50_ms, report.p99_ms, report.ok, report.failed
        );
        rows.push(Row {
            scenario: "submissions",
            target: target.clone(),
            report,
        });
    }
    if let Some(path) = &args.common.json {
        std::fs::write(path, serde_json::to_vec_pretty(&rows)?)?;
    }
    Ok(())
}

/// The run with the median throughput.
fn median(mut runs: Vec<LoadReport>) -> LoadReport {
    runs.sort_by(|a, b| a.rps.total_cmp(&b.rps));
    runs.swap_remove(runs.len() / 2)
}

async fn reads(args: ReadArgs, server_cpu: Option<usize>) -> anyhow::Result<()> {
    let binary = qualify_binary(&args.common)?;
    let db = TestDatabase::sqlite();
    let database = db.url().expose();
    let variants = [("token cache on", "10000"), ("token cache off", "0")];
    // Seed once, through a first server that creates the schema and the dev identities.
    let customers = {
        let server = ServerProcess::spawn(&bench_server(&binary, &database, &[], server_cpu))?;
        let customers = seed_customers(&db, args.customers).await?;
        server.terminate()?;
        customers
    };
    let customers = std::sync::Arc::new(customers);
    let mut runs: Vec<Vec<LoadReport>> = vec![Vec::new(); variants.len()];
    for _ in 0..args.rounds.max(1) {
        for (variant, (_, capacity)) in variants.iter().enumerate() {
            let server = ServerProcess::spawn(&bench_server(
                &binary,
                &database,
                &["--token-cache", capacity],
                server_cpu,
            ))?;
            let token = user_token(&server.base, dev::PARTNER_A).await?;
            let client = load::client(args.common.connections);
            let (base, customers) = (server.base.clone(), std::sync::Arc::clone(&customers));
            let report = load::run(
                &client,
                args.common.connections,
                args.common.duration,
                move |client: &reqwest::Client, n: u64| {
                    // A cheap, well-spread pseudo-random pick (a multiplicative hash of n).
                    let index = usize::try_from(n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32)
                        .unwrap_or_default()
                        % customers.len();
                    Some(
                        client
                            .get(format!(
                                "{base}/v1/customers/{}/qualifications",
                                customers[index]
                            ))
                            .bearer_auth(&token),
                    )
                },
            )
            .await;
            server.terminate()?;
            runs[variant].push(report);
        }
    }
    let mut rows = Vec::new();
    for ((name, _), reports) in variants.iter().zip(runs) {
        let report = median(reports);
        println!(
            "reads        {name:<18} {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  ok {:>7}  failed {:?}",
            report.rps, report.p50_ms, report.p99_ms, report.ok, report.failed
        );
        rows.push(Row {
            scenario: "reads",
            target: (*name).to_owned(),
            report,
        });
    }
    if let (Some(on), Some(off)) = (rows.first(), rows.get(1)) {
        println!(
            "token cache: {:.2}x the requests per second without it",
            on.report.rps / off.report.rps
        );
    }
    if let Some(path) = &args.common.json {
        std::fs::write(path, serde_json::to_vec_pretty(&rows)?)?;
    }
    Ok(())
}

/// A `qualify serve --dev` on `database`, logging startup and errors only, pinned to `cpu`.
fn bench_server(
    binary: &std::path::Path,
    database: &str,
    extra: &[&str],
    cpu: Option<usize>,
) -> ServerCommand {
    let mut args = vec![
        "--dev",
        "--database",
        database,
        "--public-url",
        "http://qualify.bench",
    ];
    args.extend_from_slice(extra);
    let mut command = ServerCommand::new(binary, &args);
    // Startup and errors, not a line per request: the "serving" line tells the harness the address.
    command.rust_log = "warn,qualify_server=info,qualify_server::http=warn".into();
    command.cpu = cpu;
    command
}

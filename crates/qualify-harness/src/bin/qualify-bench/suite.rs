//! The measurements: servers started as processes on throw-away databases, loads alternated
//! between the things compared (A, B, A, B, …) so drift on a noisy machine hits both, medians
//! reported with their spread.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use qualify_harness::load::{self, LoadReport};
use qualify_harness::{ServerCommand, ServerProcess, user_token};
use qualify_store::testing::TestDatabase;
use qualify_types::{CustomerId, dev};
use serde::Serialize;

use crate::Common;
use crate::{disk, seed};

/// Startup and errors, not a line per request; the "serving" line tells the harness the address.
const SERVER_LOG: &str = "warn,qualify_server=info,qualify_server::http=warn";

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

/// A `qualify serve --dev` on `database`, pinned to `cpu`.
fn qualify(
    binary: &Path,
    database: &str,
    extra: &[&str],
    cpu: Option<usize>,
) -> anyhow::Result<ServerProcess> {
    let mut args = vec![
        "--dev",
        "--database",
        database,
        "--public-url",
        "http://qualify.bench",
    ];
    args.extend_from_slice(extra);
    let mut command = ServerCommand::new(binary, &args);
    command.rust_log = SERVER_LOG.into();
    command.cpu = cpu;
    ServerProcess::spawn(&command)
}

/// The static ceiling, pinned to `cpu`.
fn baseline(cpu: Option<usize>) -> anyhow::Result<ServerProcess> {
    let mut command = ServerCommand::other(std::env::current_exe()?, &["baseline"]);
    command.cpu = cpu;
    ServerProcess::spawn(&command)
}

/// The run with the median throughput, and the lowest and highest throughput seen.
#[derive(Debug, Clone, Serialize)]
struct Measured {
    median: LoadReport,
    min_rps: f64,
    max_rps: f64,
}

fn measured(mut runs: Vec<LoadReport>) -> Measured {
    runs.sort_by(|a, b| a.rps.total_cmp(&b.rps));
    let (min_rps, max_rps) = (
        runs.first().map_or(0.0, |r| r.rps),
        runs.last().map_or(0.0, |r| r.rps),
    );
    Measured {
        median: runs.swap_remove(runs.len() / 2),
        min_rps,
        max_rps,
    }
}

/// A well-spread pick of one of `len` items for request `n` (a multiplicative hash).
fn pick(n: u64, len: usize) -> usize {
    usize::try_from(n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32).unwrap_or_default() % len.max(1)
}

/// GETs of random customers' qualifications.
fn random_reads(
    customers: std::sync::Arc<Vec<CustomerId>>,
    token: String,
) -> impl load::RequestSource {
    move |n: u64| {
        Some(load::get(
            &format!(
                "/v1/customers/{}/qualifications",
                customers[pick(n, customers.len())]
            ),
            Some(&token),
        ))
    }
}

/// Submissions for fresh customers, each used once (two qualifications each: StateOwnedEntity, then Education).
fn submissions_for(
    fresh: std::sync::Arc<Vec<CustomerId>>,
    token: String,
    offset: std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> impl load::RequestSource {
    const SOE: &str = r#"{"qualification":"StateOwnedEntity"}"#;
    const EDUCATION: &str = r#"{"qualification":"Education","educationSegment":"K12"}"#;
    move |_: u64| {
        let n = offset.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let index = usize::try_from(n).ok()?;
        let (customer, body) = if index < fresh.len() {
            (fresh.get(index)?, SOE)
        } else {
            (fresh.get(index - fresh.len())?, EDUCATION)
        };
        Some(load::post_json(
            &format!("/v1/customers/{customer}/qualifications"),
            &token,
            body,
        ))
    }
}

/// Milliseconds from spawning `qualify serve` on `database` to its first 200 on `/healthz`.
async fn cold_start(binary: &Path, database: &str, cpu: Option<usize>) -> anyhow::Result<f64> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut command = match cpu {
        Some(cpu) => {
            let mut taskset = std::process::Command::new("taskset");
            taskset.args(["-c", &cpu.to_string()]).arg(binary);
            taskset
        }
        None => std::process::Command::new(binary),
    };
    let started = Instant::now();
    let mut child = command
        .args([
            "serve",
            "--dev",
            "--listen",
            &addr.to_string(),
            "--database",
            database,
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let ready = loop {
        if let Ok(stream) = tokio::net::TcpStream::connect(addr).await {
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Ok((mut sender, connection)) = hyper::client::conn::http1::handshake(io).await {
                tokio::spawn(connection);
                if let Ok(response) = sender.send_request(load::get("/healthz", None)).await
                    && response.status() == 200
                {
                    break started.elapsed();
                }
            }
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            anyhow::bail!("the server did not answer /healthz within a minute");
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    Ok(ready.as_secs_f64() * 1000.0)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

#[derive(Debug, Clone, Args)]
pub(crate) struct SuiteArgs {
    #[command(flatten)]
    common: Common,
    /// Customers with qualifications in every state, read by the GETs.
    #[arg(long, default_value_t = 10_000)]
    customers: usize,
    /// Customers of the large database, whose GETs are compared with the small one's (0: skip).
    #[arg(long, default_value_t = 1_000_000)]
    large_customers: usize,
    /// Customers without qualifications, each taking two submissions: enough for the POST runs
    /// and a 10-minute soak at a few thousand submissions a second.
    #[arg(long, default_value_t = 1_200_000)]
    fresh_customers: usize,
    /// How long the soak runs (a 90/10 mix) before memory is read again.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    soak: Duration,
    /// A few seconds in all, to check the benchmark works; the numbers mean nothing.
    #[arg(long)]
    smoke: bool,
}

/// Everything `all` measured, as written to JSON.
#[derive(Debug, Serialize)]
struct SuiteReport {
    machine: String,
    /// 4 KiB writes with an fdatasync each, per second: what bounds durable submissions.
    disk_fsyncs_per_second: f64,
    connections: usize,
    duration_seconds: f64,
    rounds: usize,
    customers: usize,
    large_customers: usize,
    ceiling_get: Measured,
    get: Measured,
    get_ratio_to_ceiling: f64,
    get_large: Option<Measured>,
    get_large_ratio_to_small: Option<f64>,
    post: Measured,
    mixed: Measured,
    cold_start_empty_ms: f64,
    cold_start_large_ms: Option<f64>,
    rss_idle_kib: u64,
    rss_peak_kib: u64,
    rss_soak_start_kib: u64,
    rss_soak_end_kib: u64,
    soak_seconds: f64,
}

fn machine() -> String {
    // Read from /proc: this process is pinned to one CPU, so it can't ask the scheduler.
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpus = info.lines().filter(|l| l.starts_with("processor")).count();
    let model = info
        .lines()
        .find(|l| l.starts_with("model name"))
        .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        .unwrap_or_default();
    format!("{cpus} CPUs, {model}")
}

/// Prepares a database of `customers` customers with history and `fresh` without.
async fn prepared(
    binary: &Path,
    customers: usize,
    fresh: usize,
    cpu: Option<usize>,
) -> anyhow::Result<(TestDatabase, seed::Seeded)> {
    let db = TestDatabase::sqlite();
    // A first server creates the schema and the development identities.
    qualify(binary, &db.url().expose(), &[], cpu)?.terminate()?;
    let started = Instant::now();
    let seeded = seed::populate(&db, customers, fresh)
        .await
        .context("seeding")?;
    eprintln!(
        "seeded {customers} customers with history and {fresh} without in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok((db, seeded))
}

pub(crate) async fn all(mut args: SuiteArgs, cpu: Option<usize>) -> anyhow::Result<()> {
    if args.smoke {
        args.common.duration = Duration::from_secs(1);
        args.common.rounds = 1;
        args.common.connections = args.common.connections.min(8);
        args.customers = args.customers.min(300);
        args.large_customers = args.large_customers.min(1_000);
        args.fresh_customers = args.fresh_customers.min(2_000);
        args.soak = args.soak.min(Duration::from_secs(2));
    }
    let binary = qualify_binary(&args.common)?;
    let Common {
        connections,
        duration,
        rounds,
        ..
    } = args.common;
    let rounds = rounds.max(1);

    let disk_fsyncs_per_second = disk_fsyncs(args.smoke)?;
    let (db, seeded) = prepared(&binary, args.customers, args.fresh_customers, cpu).await?;
    let database = db.url().expose();
    let ceiling = baseline(cpu)?;
    let server = qualify(&binary, &database, &[], cpu)?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle_kib = server.rss_kib().unwrap_or_default();
    let token = user_token(&server.base, dev::PARTNER_A).await?;
    let read_customers = std::sync::Arc::new(seeded.with_history);

    // GET: the ceiling and Qualify, alternated.
    let (mut ceiling_runs, mut get_runs) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        ceiling_runs.push(
            load::run(
                &[ceiling.addr()],
                connections,
                duration,
                random_reads(read_customers.clone(), token.clone()),
            )
            .await,
        );
        get_runs.push(
            load::run(
                &[server.addr()],
                connections,
                duration,
                random_reads(read_customers.clone(), token.clone()),
            )
            .await,
        );
    }
    let (ceiling_get, get) = (measured(ceiling_runs), measured(get_runs));
    drop(ceiling);

    // Durable POSTs, then the 90/10 mix, on fresh customers.
    let fresh = std::sync::Arc::new(seeded.fresh);
    let offset = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut post_runs = Vec::new();
    for _ in 0..rounds {
        post_runs.push(
            load::run(
                &[server.addr()],
                connections,
                duration,
                submissions_for(fresh.clone(), token.clone(), offset.clone()),
            )
            .await,
        );
    }
    let post = measured(post_runs);
    let mix = |fresh: std::sync::Arc<Vec<CustomerId>>,
               offset: std::sync::Arc<std::sync::atomic::AtomicU64>| {
        let (get, post) = (
            random_reads(read_customers.clone(), token.clone()),
            submissions_for(fresh, token.clone(), offset),
        );
        move |n: u64| {
            if n % 10 == 9 {
                load::RequestSource::request(&post, n)
            } else {
                load::RequestSource::request(&get, n)
            }
        }
    };
    let mut mixed_runs = Vec::new();
    for _ in 0..rounds {
        mixed_runs.push(
            load::run(
                &[server.addr()],
                connections,
                duration,
                mix(fresh.clone(), offset.clone()),
            )
            .await,
        );
    }
    let mixed = measured(mixed_runs);
    let rss_peak_kib = server.peak_rss_kib().unwrap_or_default();

    // The soak: the mix for a long while; memory must not grow.
    let soak_started = Instant::now();
    let warm = (args.soak / 10).max(Duration::from_secs(1));
    let _ = load::run(
        &[server.addr()],
        connections,
        warm,
        mix(fresh.clone(), offset.clone()),
    )
    .await;
    let rss_soak_start_kib = server.rss_kib().unwrap_or_default();
    let _ = load::run(
        &[server.addr()],
        connections,
        args.soak.saturating_sub(warm),
        mix(fresh.clone(), offset.clone()),
    )
    .await;
    let rss_soak_end_kib = server.rss_kib().unwrap_or_default();
    let soak_seconds = soak_started.elapsed().as_secs_f64();
    if soak_seconds < args.soak.as_secs_f64() * 0.95 {
        eprintln!(
            "warning: the soak ran out of fresh customers after {soak_seconds:.0} s of {:.0} s; \
             the table reports the shorter soak (pass a larger --fresh-customers)",
            args.soak.as_secs_f64()
        );
    }
    server.terminate()?;

    // 1M customers against the small database, alternated, and cold starts.
    let mut cold_start_large_ms = None;
    let (mut get_large, mut get_large_ratio_to_small) = (None, None);
    if args.large_customers > 0 {
        let (large_db, large_seeded) = prepared(&binary, args.large_customers, 0, cpu).await?;
        let large_database = large_db.url().expose();
        let mut starts = Vec::new();
        for _ in 0..3 {
            starts.push(cold_start(&binary, &large_database, cpu).await?);
        }
        cold_start_large_ms = Some(median(starts));
        let small = qualify(&binary, &database, &[], cpu)?;
        let large = qualify(&binary, &large_database, &[], cpu)?;
        let small_token = user_token(&small.base, dev::PARTNER_A).await?;
        let large_token = user_token(&large.base, dev::PARTNER_A).await?;
        let large_customers = std::sync::Arc::new(large_seeded.with_history);
        let (mut small_runs, mut large_runs) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            small_runs.push(
                load::run(
                    &[small.addr()],
                    connections,
                    duration,
                    random_reads(read_customers.clone(), small_token.clone()),
                )
                .await,
            );
            large_runs.push(
                load::run(
                    &[large.addr()],
                    connections,
                    duration,
                    random_reads(large_customers.clone(), large_token.clone()),
                )
                .await,
            );
        }
        let (small_get, large_get) = (measured(small_runs), measured(large_runs));
        get_large_ratio_to_small = Some(large_get.median.rps / small_get.median.rps);
        get_large = Some(large_get);
        small.terminate()?;
        large.terminate()?;
    }
    let mut empty_starts = Vec::new();
    for _ in 0..3 {
        let empty = TestDatabase::sqlite();
        empty_starts.push(cold_start(&binary, &empty.url().expose(), cpu).await?);
    }

    let report = SuiteReport {
        machine: machine(),
        disk_fsyncs_per_second,
        connections,
        duration_seconds: duration.as_secs_f64(),
        rounds,
        customers: args.customers,
        large_customers: args.large_customers,
        get_ratio_to_ceiling: get.median.rps / ceiling_get.median.rps,
        ceiling_get,
        get,
        get_large,
        get_large_ratio_to_small,
        post,
        mixed,
        cold_start_empty_ms: median(empty_starts),
        cold_start_large_ms,
        rss_idle_kib,
        rss_peak_kib,
        rss_soak_start_kib,
        rss_soak_end_kib,
        soak_seconds,
    };
    print_suite(&report);
    if let Some(path) = &args.common.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(())
}

fn row(name: &str, m: &Measured, ratio: &str) {
    println!(
        "| {name} | {:.0} | {:.0}–{:.0} | {:.2} | {:.2} | {ratio} |",
        m.median.rps, m.min_rps, m.max_rps, m.median.p50_ms, m.median.p99_ms
    );
}

fn print_suite(r: &SuiteReport) {
    println!(
        "Machine: {}; {} connections, {:.0} s per run, {} runs each (median; min–max).",
        r.machine, r.connections, r.duration_seconds, r.rounds
    );
    println!(
        "Disk: {:.0} fsyncs/s (4 KiB written and fdatasync'd, one after another).",
        r.disk_fsyncs_per_second
    );
    println!();
    println!("| measure | requests/s | min–max | p50 ms | p99 ms | ratio |");
    println!("|---|---:|---:|---:|---:|---|");
    row("GET, static ceiling", &r.ceiling_get, "1.00");
    row(
        &format!("GET, Qualify, SQLite, {} customers", r.customers),
        &r.get,
        &format!("{:.2} of the ceiling", r.get_ratio_to_ceiling),
    );
    if let (Some(large), Some(ratio)) = (&r.get_large, r.get_large_ratio_to_small) {
        row(
            &format!("GET, Qualify, SQLite, {} customers", r.large_customers),
            large,
            &format!("{ratio:.2} of {} customers", r.customers),
        );
    }
    row(
        "POST, durable submissions",
        &r.post,
        &format!(
            "{:.2} per fsync the disk does",
            r.post.median.rps / r.disk_fsyncs_per_second
        ),
    );
    row("90/10 GET/POST", &r.mixed, "");
    println!();
    println!("| measure | value |");
    println!("|---|---:|");
    println!(
        "| cold start to first 200, empty database | {:.1} ms |",
        r.cold_start_empty_ms
    );
    if let Some(ms) = r.cold_start_large_ms {
        println!(
            "| cold start to first 200, {} customers | {ms:.1} ms |",
            r.large_customers
        );
    }
    println!("| RSS idle | {:.1} MB |", r.rss_idle_kib as f64 / 1024.0);
    println!(
        "| RSS peak under load | {:.1} MB |",
        r.rss_peak_kib as f64 / 1024.0
    );
    println!(
        "| RSS over a {:.0} s soak | {:.1} MB → {:.1} MB |",
        r.soak_seconds,
        r.rss_soak_start_kib as f64 / 1024.0,
        r.rss_soak_end_kib as f64 / 1024.0
    );
}

#[derive(Debug, Args)]
pub(crate) struct SubmissionArgs {
    #[command(flatten)]
    common: Common,
    /// Which setups: sqlite, postgres, postgres-2-nodes.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "sqlite,postgres,postgres-2-nodes"
    )]
    targets: Vec<String>,
    /// Customers seeded for the run (each takes two submissions).
    #[arg(long, default_value_t = 100_000)]
    customers: usize,
}

/// Durable submissions per second on each target.
pub(crate) async fn submissions(args: SubmissionArgs, cpu: Option<usize>) -> anyhow::Result<()> {
    let binary = qualify_binary(&args.common)?;
    let disk_fsyncs_per_second = disk_fsyncs(false)?;
    println!(
        "disk         {disk_fsyncs_per_second:.0} fsyncs/s (4 KiB written and fdatasync'd, one after another)"
    );
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
            servers.push(qualify(&binary, &database, &[], cpu)?);
        }
        let token = user_token(&servers[0].base, dev::PARTNER_A).await?;
        let fresh = std::sync::Arc::new(
            seed::populate(&db, 0, args.customers)
                .await
                .context("seeding")?
                .fresh,
        );
        let addrs: Vec<SocketAddr> = servers.iter().map(ServerProcess::addr).collect();
        let offset = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut runs = Vec::new();
        for _ in 0..args.common.rounds.max(1) {
            runs.push(
                load::run(
                    &addrs,
                    args.common.connections,
                    args.common.duration,
                    submissions_for(fresh.clone(), token.clone(), offset.clone()),
                )
                .await,
            );
        }
        for server in servers {
            server.terminate()?;
        }
        let result = measured(runs);
        println!(
            "submissions  {target:<18} {:>9.0} req/s ({:.0}–{:.0}, {:.2} per fsync)  p50 {:>7.2} ms  p99 {:>7.2} ms  failed {:?}",
            result.median.rps,
            result.min_rps,
            result.max_rps,
            result.median.rps / disk_fsyncs_per_second,
            result.median.p50_ms,
            result.median.p99_ms,
            result.median.failed
        );
        rows.push((target.clone(), result));
    }
    if let Some(path) = &args.common.json {
        let report = serde_json::json!({
            "disk_fsyncs_per_second": disk_fsyncs_per_second,
            "targets": rows,
        });
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(())
}

/// The disk's fsyncs per second, over 2 s (0.2 s in smoke mode).
fn disk_fsyncs(smoke: bool) -> anyhow::Result<f64> {
    let duration = Duration::from_millis(if smoke { 200 } else { 2_000 });
    disk::fsyncs_per_second(duration).context("measuring the disk's fsyncs per second")
}

#[derive(Debug, Args)]
pub(crate) struct ReadArgs {
    #[command(flatten)]
    common: Common,
    /// Customers seeded (requests pick one at random).
    #[arg(long, default_value_t = 10_000)]
    customers: usize,
}

/// GET throughput with the token cache on and off, alternated.
pub(crate) async fn reads(args: ReadArgs, cpu: Option<usize>) -> anyhow::Result<()> {
    let binary = qualify_binary(&args.common)?;
    let (db, seeded) = prepared(&binary, args.customers, 0, cpu).await?;
    let database = db.url().expose();
    let customers = std::sync::Arc::new(seeded.with_history);
    let with_cache = qualify(&binary, &database, &["--token-cache", "10000"], cpu)?;
    let without = qualify(&binary, &database, &["--token-cache", "0"], cpu)?;
    let (token_on, token_off) = (
        user_token(&with_cache.base, dev::PARTNER_A).await?,
        user_token(&without.base, dev::PARTNER_A).await?,
    );
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for _ in 0..args.common.rounds.max(1) {
        on.push(
            load::run(
                &[with_cache.addr()],
                args.common.connections,
                args.common.duration,
                random_reads(customers.clone(), token_on.clone()),
            )
            .await,
        );
        off.push(
            load::run(
                &[without.addr()],
                args.common.connections,
                args.common.duration,
                random_reads(customers.clone(), token_off.clone()),
            )
            .await,
        );
    }
    with_cache.terminate()?;
    without.terminate()?;
    let (on, off) = (measured(on), measured(off));
    for (name, m) in [("token cache on", &on), ("token cache off", &off)] {
        println!(
            "reads        {name:<18} {:>9.0} req/s ({:.0}–{:.0})  p50 {:>7.2} ms  p99 {:>7.2} ms  failed {:?}",
            m.median.rps, m.min_rps, m.max_rps, m.median.p50_ms, m.median.p99_ms, m.median.failed
        );
    }
    println!(
        "token cache: {:.2}x the requests per second without it",
        on.median.rps / off.median.rps
    );
    if let Some(path) = &args.common.json {
        std::fs::write(
            path,
            serde_json::to_vec_pretty(&[("on", on), ("off", off)])?,
        )?;
    }
    Ok(())
}

//! `qualify-bench all`: the whole suite of BENCHMARKS.md, on servers configured as a user's are
//! by default (text logs, a line per request), with the request log off beside them for the GETs,
//! and GETs and POSTs on PostgreSQL (one node, two) when it is reachable.

use std::time::{Duration, Instant};

use clap::Args;
use qualify_harness::load::{self};
use qualify_harness::user_token;
use qualify_store::testing::TestDatabase;
use qualify_types::{CustomerId, dev};
use serde::Serialize;

use crate::Common;

use crate::servers::*;

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
    /// Customers without qualifications for the PostgreSQL POSTs (one node, then two).
    #[arg(long, default_value_t = 100_000)]
    postgres_fresh_customers: usize,
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
    /// GETs of a server configured as by default (a log line per request).
    get: Measured,
    get_ratio_to_ceiling: f64,
    /// GETs of the same build with its request log off, alternated with `get`.
    get_logging_off: Measured,
    get_ratio_to_logging_off: f64,
    get_large: Option<Measured>,
    get_large_ratio_to_small: Option<f64>,
    post: Measured,
    mixed: Measured,
    /// GETs and POSTs on PostgreSQL, one node and two; absent when none was reachable.
    postgres: Option<Vec<crate::postgres::PostgresRow>>,
    /// The size of the `qualify` binary measured.
    binary_bytes: u64,
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

pub(crate) async fn all(mut args: SuiteArgs, cpu: Option<usize>) -> anyhow::Result<()> {
    if args.smoke {
        args.common.duration = Duration::from_secs(1);
        args.common.rounds = 1;
        args.common.connections = args.common.connections.min(8);
        args.customers = args.customers.min(300);
        args.large_customers = args.large_customers.min(1_000);
        args.fresh_customers = args.fresh_customers.min(2_000);
        args.postgres_fresh_customers = args.postgres_fresh_customers.min(2_000);
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
    let quiet = serve_logging(&binary, &database, &["--dev"], cpu, Some(REQUEST_LOG_OFF))?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle_kib = server.rss_kib().unwrap_or_default();
    let token = user_token(&server.base, dev::PARTNER_A).await?;
    let read_customers = std::sync::Arc::new(seeded.with_history);

    // GET: the ceiling, Qualify as configured by default, and with its request log off, alternated
    // (default first in even rounds, second in odd ones, so neither gains from its place).
    let (mut ceiling_runs, mut get_runs, mut quiet_runs) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        ceiling_runs.push(
            load::run(
                &[ceiling.addr()],
                connections,
                duration,
                random_reads(read_customers.clone(), token.clone()),
            )
            .await,
        );
        let mut pair = [(&server, &mut get_runs), (&quiet, &mut quiet_runs)];
        if round % 2 == 1 {
            pair.reverse();
        }
        for (measured_server, runs) in pair {
            runs.push(
                load::run(
                    &[measured_server.addr()],
                    connections,
                    duration,
                    random_reads(read_customers.clone(), token.clone()),
                )
                .await,
            );
        }
    }
    let (ceiling_get, get, get_logging_off) = (
        measured(ceiling_runs),
        measured(get_runs),
        measured(quiet_runs),
    );
    drop(ceiling);
    quiet.terminate()?;

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
    let postgres = crate::postgres::rows(
        &binary,
        args.customers,
        args.postgres_fresh_customers,
        &crate::postgres::Load {
            connections,
            duration,
            rounds,
        },
        cpu,
    )
    .await?;
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
        get_ratio_to_logging_off: get.median.rps / get_logging_off.median.rps,
        ceiling_get,
        get,
        get_logging_off,
        get_large,
        get_large_ratio_to_small,
        post,
        mixed,
        postgres,
        binary_bytes: std::fs::metadata(&binary).map_or(0, |m| m.len()),
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
    row(
        "GET, the same, request log off",
        &r.get_logging_off,
        &format!(
            "default logging runs at {:.2} of it",
            r.get_ratio_to_logging_off
        ),
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
    for pg in r.postgres.iter().flatten() {
        let nodes = match pg.nodes {
            1 => "one node".to_owned(),
            n => format!("{n} nodes, load spread over them"),
        };
        row(
            &format!("GET, PostgreSQL, {nodes}"),
            &pg.get,
            &format!("{:.2} of SQLite's", pg.get.median.rps / r.get.median.rps),
        );
        row(
            &format!("POST, PostgreSQL, {nodes}"),
            &pg.post,
            &format!("{:.2} of SQLite's", pg.post.median.rps / r.post.median.rps),
        );
    }
    println!();
    println!("| measure | value |");
    println!("|---|---:|");
    println!(
        "| the qualify binary measured | {:.1} MB |",
        r.binary_bytes as f64 / 1e6
    );
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

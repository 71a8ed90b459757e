//! What every measurement shares: `qualify serve` processes on throw-away databases, the
//! requests they are sent, and medians of runs alternated between the things compared (A, B,
//! A, B, …) so drift on a noisy machine hits both.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use qualify_harness::load::{self, LoadReport};
use qualify_harness::{ServerCommand, ServerProcess};
use qualify_store::testing::TestDatabase;
use qualify_types::CustomerId;
use serde::Serialize;

use crate::Common;
use crate::{disk, seed};

pub(crate) fn qualify_binary(common: &Common) -> anyhow::Result<PathBuf> {
    qualify_binary_at(common.qualify.as_deref())
}

/// `path`, or the `qualify` binary beside this program.
pub(crate) fn qualify_binary_at(path: Option<&Path>) -> anyhow::Result<PathBuf> {
    match path {
        Some(path) => Ok(path.to_owned()),
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

/// `RUST_LOG` for a server with its request log off: warnings, and the startup lines (the
/// harness reads the address from one), not a line per request.
pub(crate) const REQUEST_LOG_OFF: &str = "warn,qualify_server=info,qualify_server::http=warn";

/// A development server (`--dev`: the well-known identities, the test control plane) on
/// `database`, pinned to `cpu`.
pub(crate) fn qualify(
    binary: &Path,
    database: &str,
    extra: &[&str],
    cpu: Option<usize>,
) -> anyhow::Result<ServerProcess> {
    let mut args = vec!["--dev"];
    args.extend_from_slice(extra);
    serve(binary, database, &args, cpu)
}

/// A server as `extra` configures it, without `--dev` unless it says so, logging as a user's
/// server does by default (a line per request, as text); every one has the same public URL, so
/// a token of one is good on all.
pub(crate) fn serve(
    binary: &Path,
    database: &str,
    extra: &[&str],
    cpu: Option<usize>,
) -> anyhow::Result<ServerProcess> {
    serve_logging(binary, database, extra, cpu, None)
}

/// As [`serve`], with `RUST_LOG` set to `rust_log` (`None`: unset, the default).
pub(crate) fn serve_logging(
    binary: &Path,
    database: &str,
    extra: &[&str],
    cpu: Option<usize>,
    rust_log: Option<&str>,
) -> anyhow::Result<ServerProcess> {
    let mut args = vec![
        "--database",
        database,
        "--public-url",
        "http://qualify.bench",
    ];
    args.extend_from_slice(extra);
    let mut command = ServerCommand::defaults(binary, &args);
    command.rust_log = rust_log.map(str::to_owned);
    command.cpu = cpu;
    ServerProcess::spawn(&command)
}

/// The static ceiling, pinned to `cpu`.
pub(crate) fn baseline(cpu: Option<usize>) -> anyhow::Result<ServerProcess> {
    let mut command = ServerCommand::other(std::env::current_exe()?, &["baseline"]);
    command.cpu = cpu;
    ServerProcess::spawn(&command)
}

/// The run with the median throughput, and the lowest and highest throughput seen.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Measured {
    pub(crate) median: LoadReport,
    pub(crate) min_rps: f64,
    pub(crate) max_rps: f64,
}

pub(crate) fn measured(mut runs: Vec<LoadReport>) -> Measured {
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
pub(crate) fn random_reads(
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
pub(crate) fn submissions_for(
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
pub(crate) async fn cold_start(
    binary: &Path,
    database: &str,
    cpu: Option<usize>,
) -> anyhow::Result<f64> {
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
        .env_remove("RUST_LOG")
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

pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// Prepares a database of `customers` customers with history and `fresh` without.
pub(crate) async fn prepared(
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

/// The disk's fsyncs per second, over 2 s (0.2 s in smoke mode).
pub(crate) fn disk_fsyncs(smoke: bool) -> anyhow::Result<f64> {
    let duration = Duration::from_millis(if smoke { 200 } else { 2_000 });
    disk::fsyncs_per_second(duration).context("measuring the disk's fsyncs per second")
}

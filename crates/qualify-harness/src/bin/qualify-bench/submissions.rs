//! `qualify-bench submissions`: durable submissions per second on SQLite and PostgreSQL, one
//! node and two.

use std::net::SocketAddr;

use anyhow::Context;
use clap::Args;
use qualify_harness::load::{self};
use qualify_harness::{ServerProcess, user_token};
use qualify_store::testing::TestDatabase;
use qualify_types::dev;

use crate::Common;
use crate::seed;

use crate::servers::*;

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

//! `qualify-bench start`: milliseconds from spawning `qualify serve --dev` on an empty SQLite
//! database to its first `/healthz` 200, over several runs (the suite measures it too, with a
//! large database beside).

use clap::Args;
use qualify_store::testing::TestDatabase;

use crate::Common;
use crate::servers::{cold_start, median, qualify_binary};

#[derive(Debug, Args)]
pub(crate) struct StartArgs {
    #[command(flatten)]
    common: Common,
    /// Starts measured, each on a new database.
    #[arg(long, default_value_t = 9)]
    runs: usize,
}

/// Prints the median start and every run's.
pub(crate) async fn start(args: StartArgs, cpu: Option<usize>) -> anyhow::Result<()> {
    let binary = qualify_binary(&args.common)?;
    let mut starts = Vec::new();
    for _ in 0..args.runs.max(1) {
        let empty = TestDatabase::sqlite();
        starts.push(cold_start(&binary, &empty.url().expose(), cpu).await?);
    }
    let runs: Vec<String> = starts.iter().map(|ms| format!("{ms:.1}")).collect();
    println!(
        "start        empty database: median {:.1} ms to the first /healthz 200 (runs: {} ms)",
        median(starts.clone()),
        runs.join(", ")
    );
    if let Some(path) = &args.common.json {
        std::fs::write(path, serde_json::to_vec_pretty(&starts)?)?;
    }
    Ok(())
}

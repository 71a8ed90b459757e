//! `qualify-bench reads`: GETs per second with the verified-token cache on and off.

use clap::Args;
use qualify_harness::load::{self};
use qualify_harness::user_token;
use qualify_types::dev;

use crate::Common;

use crate::servers::*;

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

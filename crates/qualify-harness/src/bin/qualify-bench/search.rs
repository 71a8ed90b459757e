//! `qualify-bench search`: Partner Center's customer search (`GET /v1/customers?filter=`) with a
//! partner of 10,000 customers against one of 1,000,000, on SQLite and PostgreSQL, alternated.
//! Half the searches find one customer by a prefix of its domain; half ask for the first page of
//! a prefix every customer's company name starts with (the broadest a search gets). Each is a
//! range over an index in the field's order, so the two sizes should answer alike.

use std::net::SocketAddr;

use anyhow::Context;
use clap::Args;
use qualify_harness::load::{self, LoadReport};
use qualify_harness::user_token;
use qualify_store::testing::TestDatabase;
use qualify_types::dev;

use crate::Common;
use crate::seed;
use crate::servers::{measured, qualify, qualify_binary};

#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    #[command(flatten)]
    common: Common,
    /// The smaller partner's customers.
    #[arg(long, default_value_t = 10_000)]
    small: usize,
    /// The larger partner's customers.
    #[arg(long, default_value_t = 1_000_000)]
    large: usize,
    /// Which backends: sqlite, postgres.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<String>,
}

/// `filter` as Microsoft's SDKs send it: the JSON, percent-encoded.
fn filter(field: &str, value: &str) -> String {
    let json = format!(r#"{{"Field":"{field}","Value":"{value}","Operator":"starts_with"}}"#);
    url::form_urlencoded::byte_serialize(json.as_bytes()).collect()
}

/// Searches of a partner with `customers` customers seeded by `seed::populate` (`fresh…`
/// domains, in chunks of 50,000; every company named `Bench`): even requests find one customer
/// by its domain's prefix, odd ones ask for the first ten of all by the company name's.
fn searches(customers: usize, token: String) -> impl load::RequestSource {
    let broad = format!(
        "/v1/customers?size=10&filter={}",
        filter("CompanyName", "BEN")
    );
    move |n: u64| {
        if n % 2 == 1 {
            return Some(load::get(&broad, Some(&token)));
        }
        let pick = usize::try_from(n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 33).unwrap_or(0)
            % customers.max(1);
        let domain = format!("fresh{}-{}.", pick / 50_000, pick % 50_000);
        let path = format!("/v1/customers?size=10&filter={}", filter("Domain", &domain));
        Some(load::get(&path, Some(&token)))
    }
}

/// A database of `customers` customers of partner A, on SQLite or (when reachable) PostgreSQL.
async fn seeded(
    binary: &std::path::Path,
    postgres: bool,
    customers: usize,
    cpu: Option<usize>,
) -> anyhow::Result<Option<TestDatabase>> {
    let db = if postgres {
        match TestDatabase::postgres("qualify-bench search").await {
            Some(db) => db,
            None => return Ok(None),
        }
    } else {
        TestDatabase::sqlite()
    };
    // A first server creates the schema and the development identities.
    qualify(binary, &db.url().expose(), &[], cpu)?.terminate()?;
    let started = std::time::Instant::now();
    seed::populate(&db, 0, customers)
        .await
        .context("seeding customers")?;
    eprintln!(
        "seeded {customers} customers on {} in {:.1}s",
        if postgres { "PostgreSQL" } else { "SQLite" },
        started.elapsed().as_secs_f64()
    );
    Ok(Some(db))
}

/// Prints, per backend, searches per second and p99 with each partner size, and their ratio.
pub(crate) async fn search(args: SearchArgs, cpu: Option<usize>) -> anyhow::Result<()> {
    let binary = qualify_binary(&args.common)?;
    let mut report = Vec::new();
    for backend in &args.backends {
        let postgres = match backend.as_str() {
            "sqlite" => false,
            "postgres" => true,
            other => anyhow::bail!("no backend {other}: sqlite or postgres"),
        };
        let name = if postgres { "PostgreSQL" } else { "SQLite" };
        let (Some(small), Some(large)) = (
            seeded(&binary, postgres, args.small, cpu).await?,
            seeded(&binary, postgres, args.large, cpu).await?,
        ) else {
            eprintln!("{name}: no server reachable, skipped");
            continue;
        };
        let servers = [
            qualify(&binary, &small.url().expose(), &[], cpu)?,
            qualify(&binary, &large.url().expose(), &[], cpu)?,
        ];
        // Each database has its own signing keys: a token of each server.
        let tokens = [
            user_token(&servers[0].base, dev::PARTNER_A).await?,
            user_token(&servers[1].base, dev::PARTNER_A).await?,
        ];
        let sizes = [args.small, args.large];
        let mut runs: [Vec<LoadReport>; 2] = [Vec::new(), Vec::new()];
        // Alternated, so that the machine's drift falls on both alike.
        for _ in 0..args.common.rounds.max(1) {
            for (index, server) in servers.iter().enumerate() {
                let addr: SocketAddr = server.addr();
                let ran = load::run(
                    &[addr],
                    args.common.connections,
                    args.common.duration,
                    searches(sizes[index], tokens[index].clone()),
                )
                .await;
                anyhow::ensure!(
                    ran.failed.is_empty(),
                    "{name}: searches failed: {:?}",
                    ran.failed
                );
                runs[index].push(ran);
            }
        }
        for server in servers {
            server.terminate()?;
        }
        let [small_runs, large_runs] = runs;
        let (small_m, large_m) = (measured(small_runs), measured(large_runs));
        println!(
            "search {name:<10} {:>9} customers: {:>8.0}/s p99 {:>6.2} ms | {:>9} customers: {:>8.0}/s p99 {:>6.2} ms | large/small {:.2}",
            args.small,
            small_m.median.rps,
            small_m.median.p99_ms,
            args.large,
            large_m.median.rps,
            large_m.median.p99_ms,
            large_m.median.rps / small_m.median.rps.max(f64::MIN_POSITIVE)
        );
        report.push(serde_json::json!({
            "backend": name, "small": args.small, "large": args.large,
            "small_run": small_m, "large_run": large_m,
        }));
        drop((small, large));
    }
    if let Some(path) = &args.common.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(())
}

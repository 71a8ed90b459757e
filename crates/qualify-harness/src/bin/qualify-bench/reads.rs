//! `qualify-bench reads`: by default (no `--compare`) the table of `ceilings.rs`, each
//! backend beside the static ceiling and pgbench. Otherwise GETs per second of two servers on
//! one database, alternated: with the verified-token cache and without (`--compare cache`), or with `--dev` and
//! without (`--compare dev`: what the test control plane costs a request when no test uses it),
//! logging as by default and with the request log off (`--compare logging`: what a line per request
//! costs), with `--metrics-listen` and without (`--compare metrics`: what counting and timing
//! each request costs), or two servers alike (`--compare same`: the noise of the machine, against which the
//! others are read). Every server logs as a user's does by default unless the comparison says.

use std::process::Command;

use anyhow::Context;
use clap::{Args, ValueEnum};
use qualify_harness::load::{self};
use qualify_harness::{ServerProcess, User, password_token, user_token};
use qualify_store::testing::TestDatabase;
use qualify_types::{TenantId, dev};
use serde_json::Value;

use crate::Common;
use crate::seed;
use crate::servers::{
    REQUEST_LOG_OFF, measured, median, prepared, qualify, qualify_binary, random_reads, serve,
    serve_logging,
};

/// What two servers differ in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Compare {
    /// The verified-token cache on (10,000 tokens) and off.
    Cache,
    /// `--dev` (the test control plane's layer runs for every request) and not.
    Dev,
    /// Logging as by default (`info`, a line per request) and with the request log off.
    Logging,
    /// Prometheus metrics served (`--metrics-listen`: each request counted and timed) and not.
    Metrics,
    /// Two servers alike (without `--dev`): how far apart this machine measures the same thing.
    Same,
}

#[derive(Debug, Args)]
pub(crate) struct ReadArgs {
    #[command(flatten)]
    common: Common,
    /// Customers seeded (requests pick one at random).
    #[arg(long, default_value_t = 10_000)]
    customers: usize,
    /// With the ceilings: also SQLite with this many customers (each read once before the runs),
    /// its GETs compared with the first's (0: skip).
    #[arg(long, default_value_t = 0)]
    large_customers: usize,
    /// With the ceilings: PostgreSQL's one and two nodes once more with each node held to this
    /// fraction of a CPU (a cgroup quota; needs root), so that a second node brings CPU of its own
    /// as on a machine of its own (0: skip).
    #[arg(long, default_value_t = 0.4, value_name = "FRACTION")]
    node_cpu: f64,
    /// Compare two servers that differ in this [default: no pair, the ceilings table: the
    /// static ceiling, SQLite, PostgreSQL with one and two nodes, and pgbench].
    #[arg(long, value_enum)]
    compare: Option<Compare>,
}

/// A partner made as an operator makes one (`qualify admin`), so that a server without `--dev`
/// accepts it: its tenant, and the fields of its user's sign-in.
struct Operated {
    tenant: String,
    client_id: String,
    client_secret: String,
    username: String,
    password: String,
}

/// Runs `qualify admin --database … --output json args…` and reads its JSON.
fn admin(binary: &std::path::Path, database: &str, args: &[&str]) -> anyhow::Result<Value> {
    let output = Command::new(binary)
        .args(["admin", "--database", database, "--output", "json"])
        .args(args)
        .output()
        .context("running qualify admin")?;
    anyhow::ensure!(
        output.status.success(),
        "qualify admin {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(serde_json::from_slice(&output.stdout)?)
}

fn operated_partner(binary: &std::path::Path, database: &str) -> anyhow::Result<Operated> {
    let field = |value: &Value, name: &str| -> anyhow::Result<String> {
        value[name]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("qualify admin's {name}"))
    };
    let partner = admin(binary, database, &["partners", "create", "--name", "Bench"])?;
    let tenant = field(&partner, "tenantId")?;
    let app = admin(
        binary,
        database,
        &["apps", "create", "--tenant", &tenant, "--name", "Bench"],
    )?;
    let username = "reader@bench.example";
    let user = admin(
        binary,
        database,
        &[
            "users",
            "create",
            "--tenant",
            &tenant,
            "--username",
            username,
        ],
    )?;
    Ok(Operated {
        client_id: field(&app, "clientId")?,
        client_secret: field(&app, "clientSecret")?,
        password: field(&user, "password")?,
        username: username.to_owned(),
        tenant,
    })
}

/// GET throughput of the two servers `compare` names, alternated.
pub(crate) async fn reads(
    args: ReadArgs,
    cpu: Option<usize>,
    load_cpu: Option<usize>,
) -> anyhow::Result<()> {
    let Some(compare) = args.compare else {
        return crate::ceilings::ceilings(
            &args.common,
            args.customers,
            args.large_customers,
            Some(args.node_cpu).filter(|&fraction| fraction != 0.0),
            cpu,
            load_cpu,
        )
        .await;
    };
    let binary = qualify_binary(&args.common)?;
    let (_db, customers, (first, second), tokens, names) = match compare {
        Compare::Cache | Compare::Logging | Compare::Metrics => {
            let (db, seeded) = prepared(&binary, args.customers, 0, cpu).await?;
            let database = db.url().expose();
            let (on, off) = match compare {
                Compare::Cache => (
                    qualify(&binary, &database, &["--token-cache", "10000"], cpu)?,
                    qualify(&binary, &database, &["--token-cache", "0"], cpu)?,
                ),
                Compare::Metrics => (
                    qualify(
                        &binary,
                        &database,
                        &["--metrics-listen", "127.0.0.1:0"],
                        cpu,
                    )?,
                    qualify(&binary, &database, &[], cpu)?,
                ),
                _ => (
                    qualify(&binary, &database, &[], cpu)?,
                    serve_logging(&binary, &database, &["--dev"], cpu, Some(REQUEST_LOG_OFF))?,
                ),
            };
            let tokens = (
                user_token(&on.base, dev::PARTNER_A).await?,
                user_token(&off.base, dev::PARTNER_A).await?,
            );
            (
                db,
                seeded.with_history,
                (on, off),
                tokens,
                match compare {
                    Compare::Cache => ["token cache on", "token cache off"],
                    Compare::Metrics => ["metrics served", "no metrics"],
                    _ => ["default logging", "request log off"],
                },
            )
        }
        Compare::Dev | Compare::Same => {
            let db = TestDatabase::sqlite();
            let database = db.url().expose();
            // A first server creates the schema.
            serve(&binary, &database, &[], cpu)?.terminate()?;
            let operated = operated_partner(&binary, &database)?;
            let partner: TenantId = operated.tenant.parse()?;
            let seeded = seed::populate_for(&db, partner, args.customers, 0).await?;
            let with = if compare == Compare::Dev {
                qualify(&binary, &database, &[], cpu)?
            } else {
                serve(&binary, &database, &[], cpu)?
            };
            let without = serve(&binary, &database, &[], cpu)?;
            let user = User {
                tenant: &operated.tenant,
                client_id: &operated.client_id,
                client_secret: &operated.client_secret,
                username: &operated.username,
                password: &operated.password,
            };
            let tokens = (
                password_token(&with.base, &user).await?,
                password_token(&without.base, &user).await?,
            );
            (
                db,
                seeded.with_history,
                (with, without),
                tokens,
                if compare == Compare::Dev {
                    ["--dev", "without --dev"]
                } else {
                    ["one server", "its twin"]
                },
            )
        }
    };
    let customers = std::sync::Arc::new(customers);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    // The server's CPU time per answered request, per run: steadier than throughput on a machine
    // whose other load comes and goes, since it does not count the time the server waited.
    let (mut cpu_a, mut cpu_b) = (Vec::new(), Vec::new());
    for round in 0..args.common.rounds.max(1) {
        // A, B, then B, A: whatever favours the first (or second) of a round favours each alike.
        let mut pair = [
            (&first, &tokens.0, &mut a, &mut cpu_a),
            (&second, &tokens.1, &mut b, &mut cpu_b),
        ];
        if round % 2 == 1 {
            pair.reverse();
        }
        for (server, token, runs, cpu) in pair {
            let cpu_before = server.cpu_seconds();
            let report = load::run(
                &[ServerProcess::addr(server)],
                args.common.connections,
                args.common.duration,
                random_reads(customers.clone(), token.clone()),
            )
            .await;
            if let (Some(before), Some(after)) = (cpu_before, server.cpu_seconds()) {
                cpu.push((after - before) * 1e6 / report.ok.max(1) as f64);
            }
            runs.push(report);
        }
    }
    first.terminate()?;
    second.terminate()?;
    let (a, b) = (measured(a), measured(b));
    let (cpu_a, cpu_b) = (median(cpu_a), median(cpu_b));
    for (name, m, cpu) in [(names[0], &a, cpu_a), (names[1], &b, cpu_b)] {
        println!(
            "reads        {name:<18} {:>9.0} req/s ({:.0}–{:.0})  p50 {:>7.2} ms  p99 {:>7.2} ms  server CPU {cpu:>5.1} µs/request  failed {:?}",
            m.median.rps, m.min_rps, m.max_rps, m.median.p50_ms, m.median.p99_ms, m.median.failed
        );
    }
    println!(
        "{}: {:.3}x the requests per second of {}, at {:.3}x its server CPU per request",
        names[0],
        a.median.rps / b.median.rps,
        names[1],
        cpu_a / cpu_b,
    );
    if let Some(path) = &args.common.json {
        std::fs::write(
            path,
            serde_json::to_vec_pretty(&[(names[0], a), (names[1], b)])?,
        )?;
    }
    Ok(())
}

//! `qualify-bench reads` (without `--compare`): GETs per second of Qualify on
//! each backend beside what bounds them, in one run with the rounds alternated: the static
//! ceiling (a bare server answering fixed bytes, on the server's CPU), SQLite, PostgreSQL with
//! one node and with two on one database, and PostgreSQL's own primary-key reads
//! (`pgbench -S -M prepared`, as many clients as the load has connections) as its ceiling;
//! with `--large-customers`, SQLite on a database that large beside it.
//!
//! Two nodes pinned to one CPU take turns on it, so they also run once more with each node held
//! to a CPU budget of its own (`cpu_budget.rs`), beside one node held to the same: what a second
//! node adds when it brings its own CPU, as it does on a machine of its own.

use std::process::Command;
use std::sync::Arc;

use anyhow::Context;
use qualify_harness::load::{self, LoadReport};
use qualify_harness::{ServerProcess, user_token};
use qualify_store::testing::TestDatabase;
use qualify_types::{CustomerId, dev};
use serde::Serialize;

use crate::Common;
use crate::cpu_budget::CpuBudget;
use crate::seed;
use crate::servers::{
    Measured, baseline, measured, median, prepared, qualify, qualify_binary, random_reads,
};

/// What is measured, in the report's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
enum Target {
    Static,
    Sqlite,
    SqliteLarge,
    PostgresOneNode,
    PostgresTwoNodes,
    PostgresOneNodeBudgeted,
    PostgresTwoNodesBudgeted,
    Pgbench,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Self::Static => "static ceiling",
            Self::Sqlite => "Qualify, SQLite",
            Self::SqliteLarge => "Qualify, SQLite, large",
            Self::PostgresOneNode => "Qualify, PostgreSQL 1 node",
            Self::PostgresTwoNodes => "Qualify, PostgreSQL 2 nodes",
            Self::PostgresOneNodeBudgeted => "Qualify, PostgreSQL 1 node, budgeted",
            Self::PostgresTwoNodesBudgeted => "Qualify, PostgreSQL 2 nodes, budgeted",
            Self::Pgbench => "pgbench -S -M prepared",
        }
    }

    /// PostgreSQL's rows: how many nodes, and whether each is held to a CPU budget.
    fn postgres_nodes(self) -> Option<(usize, bool)> {
        match self {
            Self::PostgresOneNode => Some((1, false)),
            Self::PostgresTwoNodes => Some((2, false)),
            Self::PostgresOneNodeBudgeted => Some((1, true)),
            Self::PostgresTwoNodesBudgeted => Some((2, true)),
            _ => None,
        }
    }

    /// The one-node row a two-node row is compared with.
    fn one_node(self) -> Option<Self> {
        match self {
            Self::PostgresTwoNodes => Some(Self::PostgresOneNode),
            Self::PostgresTwoNodesBudgeted => Some(Self::PostgresOneNodeBudgeted),
            _ => None,
        }
    }
}

/// One target's runs.
#[derive(Debug, Serialize)]
struct Row {
    target: Target,
    name: &'static str,
    reads: Measured,
    /// The Qualify servers' CPU time per answered GET (all nodes together), median of runs.
    server_cpu_us: Option<f64>,
}

/// The servers a target's GETs go to, and whose CPU is counted.
struct Servers {
    processes: Vec<ServerProcess>,
    /// Each process's CPU budget, when it has one; dropped after the processes have exited.
    budgets: Vec<CpuBudget>,
    customers: Arc<Vec<CustomerId>>,
    token: String,
}

impl Servers {
    /// `nodes` servers on `database`, each held to `budget` of a CPU when given.
    async fn start(
        binary: &std::path::Path,
        database: &str,
        nodes: usize,
        customers: Arc<Vec<CustomerId>>,
        cpu: Option<usize>,
        budget: Option<f64>,
    ) -> anyhow::Result<Self> {
        let processes = (0..nodes)
            .map(|_| qualify(binary, database, &[], cpu))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let budgets = match budget {
            Some(fraction) => processes
                .iter()
                .map(|process| {
                    let budget = CpuBudget::new("qualify-bench-node", fraction)?;
                    budget.admit(process.child.id())?;
                    Ok(budget)
                })
                .collect::<anyhow::Result<Vec<_>>>()?,
            None => Vec::new(),
        };
        let token = user_token(&processes[0].base, dev::PARTNER_A).await?;
        Ok(Self {
            processes,
            budgets,
            customers,
            token,
        })
    }

    fn cpu_seconds(&self) -> Option<f64> {
        self.processes.iter().map(ServerProcess::cpu_seconds).sum()
    }

    /// One run of GETs spread over the nodes, and the servers' CPU per GET.
    async fn run(&self, common: &Common) -> (LoadReport, Option<f64>) {
        let addrs: Vec<_> = self.processes.iter().map(ServerProcess::addr).collect();
        let before = self.cpu_seconds();
        let report = load::run(
            &addrs,
            common.connections,
            common.duration,
            random_reads(Arc::clone(&self.customers), self.token.clone()),
        )
        .await;
        let cpu = before
            .zip(self.cpu_seconds())
            .map(|(before, after)| (after - before) * 1e6 / report.ok.max(1) as f64);
        (report, cpu)
    }

    fn terminate(self) -> anyhow::Result<()> {
        for process in self.processes {
            process.terminate()?;
        }
        drop(self.budgets);
        Ok(())
    }
}

/// PostgreSQL's own ceiling: a pgbench database, and `pgbench -S -M prepared` runs against it.
struct Pgbench {
    db: TestDatabase,
    load_cpu: Option<usize>,
}

impl Pgbench {
    /// A fresh database initialised by `pgbench -i` (100,000 accounts).
    async fn prepare(load_cpu: Option<usize>) -> anyhow::Result<Option<Self>> {
        let Some(db) = TestDatabase::postgres("qualify-bench pgbench").await else {
            return Ok(None);
        };
        let output = Command::new("pgbench")
            .args(["-i", "-q", "-s", "1", &db.url().expose()])
            .output()
            .context("running pgbench -i (Debian's postgresql-client has it)")?;
        anyhow::ensure!(
            output.status.success(),
            "pgbench -i: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(Some(Self { db, load_cpu }))
    }

    /// One run, pinned where the load generator runs; its transactions per second (each one
    /// primary-key read) as a report, with latencies from its per-transaction log (`-l`).
    fn run(&self, common: &Common) -> anyhow::Result<LoadReport> {
        let seconds = common.duration.as_secs().max(1).to_string();
        let clients = common.connections.to_string();
        let logs = tempfile::tempdir()?;
        let prefix = logs.path().join("pgbench");
        let mut command = match self.load_cpu {
            Some(cpu) => {
                let mut taskset = Command::new("taskset");
                taskset.args(["-c", &cpu.to_string(), "pgbench"]);
                taskset
            }
            None => Command::new("pgbench"),
        };
        let output = command
            .args([
                "-n",
                "-S",
                "-M",
                "prepared",
                "-j",
                "1",
                "-l",
                "--log-prefix",
            ])
            .arg(&prefix)
            .args(["-c", &clients, "-T", &seconds])
            .arg(self.db.url().expose())
            .output()
            .context("running pgbench")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        anyhow::ensure!(
            output.status.success(),
            "pgbench: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let number_after = |label: &str| -> Option<f64> {
            let line = stdout.lines().find(|line| line.starts_with(label))?;
            line[label.len()..].split_whitespace().next()?.parse().ok()
        };
        let tps = number_after("tps = ").context("pgbench printed no tps")?;
        let transactions =
            number_after("number of transactions actually processed: ").unwrap_or(0.0);
        let latencies = transaction_latencies(logs.path())?;
        let ms = |quantile: f64| latencies.value_at_quantile(quantile) as f64 / 1000.0;
        Ok(LoadReport {
            ok: transactions as u64,
            failed: Default::default(),
            seconds: common.duration.as_secs_f64(),
            rps: tps,
            p50_ms: ms(0.5),
            p99_ms: ms(0.99),
            max_ms: latencies.max() as f64 / 1000.0,
        })
    }
}

/// The latencies, in µs, of every transaction in the pgbench logs in `dir`: each line is
/// `client transaction latency_us script epoch_s epoch_us`.
fn transaction_latencies(dir: &std::path::Path) -> anyhow::Result<hdrhistogram::Histogram<u64>> {
    let mut latencies = hdrhistogram::Histogram::new_with_bounds(1, 60_000_000, 3)?;
    for file in std::fs::read_dir(dir)? {
        let text = std::fs::read_to_string(file?.path())?;
        for line in text.lines() {
            let latency: u64 = line
                .split_whitespace()
                .nth(2)
                .and_then(|field| field.parse().ok())
                .with_context(|| format!("a pgbench log line without a latency: {line}"))?;
            latencies.saturating_record(latency.max(1));
        }
    }
    anyhow::ensure!(!latencies.is_empty(), "pgbench logged no transaction");
    Ok(latencies)
}

/// Whether this machine gives a node a CPU budget of `fraction`, tried once before the runs so
/// that a machine without cgroups still gets the other rows, and the reason on stderr.
fn budgets_work(fraction: f64) -> bool {
    match CpuBudget::new("qualify-bench-probe", fraction) {
        Ok(_) => true,
        Err(error) => {
            eprintln!(
                "reads: the nodes can't be given CPU budgets, so the budgeted rows are left out: {error:#}"
            );
            false
        }
    }
}

/// Reads every customer once, in order: what a server's cache holds after its partners have
/// polled for a while.
async fn warm_up(servers: &Servers, common: &Common) {
    let customers = Arc::clone(&servers.customers);
    let token = servers.token.clone();
    let addrs: Vec<_> = servers.processes.iter().map(ServerProcess::addr).collect();
    let every_one = move |n: u64| {
        let customer = customers.get(usize::try_from(n).ok()?)?;
        Some(load::get(
            &format!("/v1/customers/{customer}/qualifications"),
            Some(&token),
        ))
    };
    load::run(
        &addrs,
        common.connections,
        std::time::Duration::from_secs(3600),
        every_one,
    )
    .await;
}

/// The table: each target's GETs per second, its ratio to the static ceiling, for PostgreSQL's
/// rows to pgbench, and for two nodes to one; with `large` customers, a second SQLite server on
/// a database that large (warmed up: each customer read once), compared with the first; with
/// `node_cpu`, PostgreSQL's nodes once more, each held to that fraction of a CPU.
pub(crate) async fn ceilings(
    common: &Common,
    customers: usize,
    large: usize,
    node_cpu: Option<f64>,
    cpu: Option<usize>,
    load_cpu: Option<usize>,
) -> anyhow::Result<()> {
    let binary = qualify_binary(common)?;
    let static_ceiling = baseline(cpu)?;
    let (_sqlite_db, seeded) = prepared(&binary, customers, 0, cpu).await?;
    let sqlite = Servers::start(
        &binary,
        &_sqlite_db.url().expose(),
        1,
        Arc::new(seeded.with_history),
        cpu,
        None,
    )
    .await?;
    let (_large_db, sqlite_large) = match large {
        0 => (None, None),
        large => {
            let (db, seeded) = prepared(&binary, large, 0, cpu).await?;
            let servers = Servers::start(
                &binary,
                &db.url().expose(),
                1,
                Arc::new(seeded.with_history),
                cpu,
                None,
            )
            .await?;
            warm_up(&servers, common).await;
            (Some(db), Some(servers))
        }
    };
    let postgres = match TestDatabase::postgres("qualify-bench reads").await {
        Some(db) => {
            let database = db.url().expose();
            // A first server creates the schema and the development identities.
            qualify(&binary, &database, &[], cpu)?.terminate()?;
            let seeded = seed::populate(&db, customers, 0)
                .await
                .context("seeding PostgreSQL")?;
            Some((db, Arc::new(seeded.with_history)))
        }
        None => {
            eprintln!("reads: no PostgreSQL reachable; its rows are left out");
            None
        }
    };
    let pgbench = Pgbench::prepare(load_cpu).await?;

    let mut targets = vec![Target::Static, Target::Sqlite];
    if sqlite_large.is_some() {
        targets.push(Target::SqliteLarge);
    }
    if postgres.is_some() {
        targets.extend([Target::PostgresOneNode, Target::PostgresTwoNodes]);
    }
    let node_cpu = node_cpu.filter(|&fraction| postgres.is_some() && budgets_work(fraction));
    if node_cpu.is_some() {
        targets.extend([
            Target::PostgresOneNodeBudgeted,
            Target::PostgresTwoNodesBudgeted,
        ]);
    }
    if pgbench.is_some() {
        targets.push(Target::Pgbench);
    }
    let mut runs: Vec<(Vec<LoadReport>, Vec<f64>)> =
        targets.iter().map(|_| Default::default()).collect();
    for round in 0..common.rounds.max(1) {
        // Each round starts one further along, so none is always first after a pause.
        for step in 0..targets.len() {
            let index = (round + step) % targets.len();
            let (report, server_cpu) = match targets[index] {
                Target::Static => {
                    let report = load::run(
                        &[static_ceiling.addr()],
                        common.connections,
                        common.duration,
                        random_reads(Arc::clone(&sqlite.customers), sqlite.token.clone()),
                    )
                    .await;
                    (report, None)
                }
                Target::Sqlite => sqlite.run(common).await,
                Target::SqliteLarge => sqlite_large.as_ref().context("large")?.run(common).await,
                Target::PostgresOneNode
                | Target::PostgresTwoNodes
                | Target::PostgresOneNodeBudgeted
                | Target::PostgresTwoNodesBudgeted => {
                    let (db, customers) = postgres.as_ref().context("PostgreSQL")?;
                    let (nodes, budgeted) = targets[index]
                        .postgres_nodes()
                        .context("a PostgreSQL row")?;
                    // Started afresh for each run, so two nodes never share the machine with an
                    // idle third.
                    let servers = Servers::start(
                        &binary,
                        &db.url().expose(),
                        nodes,
                        Arc::clone(customers),
                        cpu,
                        node_cpu.filter(|_| budgeted),
                    )
                    .await?;
                    let measured = servers.run(common).await;
                    servers.terminate()?;
                    measured
                }
                Target::Pgbench => (pgbench.as_ref().context("pgbench")?.run(common)?, None),
            };
            runs[index].0.push(report);
            runs[index].1.extend(server_cpu);
        }
    }
    static_ceiling.terminate()?;
    sqlite.terminate()?;
    if let Some(servers) = sqlite_large {
        servers.terminate()?;
    }

    let rows: Vec<Row> = targets
        .iter()
        .zip(runs)
        .map(|(&target, (reports, cpu))| Row {
            target,
            name: target.name(),
            reads: measured(reports),
            server_cpu_us: (!cpu.is_empty()).then(|| median(cpu)),
        })
        .collect();
    let rps_of = |wanted: Target| {
        rows.iter()
            .find(|row| row.target == wanted)
            .map(|row| row.reads.median.rps)
    };
    let (ceiling, pg_ceiling) = (rps_of(Target::Static), rps_of(Target::Pgbench));
    println!(
        "reads        {:<38} {:>9} {:>15} {:>9} {:>9} {:>10} {:>12} {:>10}",
        "", "GET/s", "(min–max)", "p50 ms", "p99 ms", "of static", "of pgbench", "of 1 node"
    );
    for row in &rows {
        let m = &row.reads;
        let of = |ceiling: Option<f64>| {
            ceiling
                .filter(|c| *c > 0.0)
                .map_or_else(|| "-".to_owned(), |c| format!("{:.2}", m.median.rps / c))
        };
        let of_pgbench = match row.target {
            _ if row.target.postgres_nodes().is_some() => of(pg_ceiling),
            Target::SqliteLarge => format!("{} of SQLite's", of(rps_of(Target::Sqlite))),
            _ => "-".to_owned(),
        };
        let of_one_node = row
            .target
            .one_node()
            .map_or_else(|| "-".to_owned(), |one| of(rps_of(one)));
        let cpu = row
            .server_cpu_us
            .map_or_else(String::new, |cpu| format!("  server CPU {cpu:.1} µs/GET"));
        println!(
            "reads        {:<38} {:>9.0} {:>15} {:>9.2} {:>9} {:>10} {:>12} {:>10}{cpu}{}",
            row.name,
            m.median.rps,
            format!("({:.0}–{:.0})", m.min_rps, m.max_rps),
            m.median.p50_ms,
            format!("{:.2}", m.median.p99_ms),
            of(ceiling),
            of_pgbench,
            of_one_node,
            if m.median.failed.is_empty() {
                String::new()
            } else {
                format!("  failed {:?}", m.median.failed)
            },
        );
    }
    println!(
        "reads        (pgbench's latencies are its transactions', from its own log: the floor under a GET's on PostgreSQL)"
    );
    if let Some(fraction) = node_cpu {
        println!(
            "reads        (budgeted: each node held to {fraction} of a CPU by a cgroup quota, so that a second node brings CPU of its own as on a machine of its own; unbudgeted, two nodes share one CPU)"
        );
    }
    if let Some(path) = &common.json {
        std::fs::write(path, serde_json::to_vec_pretty(&rows)?)?;
    }
    Ok(())
}

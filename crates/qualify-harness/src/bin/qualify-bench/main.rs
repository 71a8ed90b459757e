//! `qualify-bench`: measures real `qualify serve` processes under load from this process, the
//! servers pinned to one CPU and the load generator to another where the machine has two (unless
//! `--unpinned`).
//!
//! - `all`: the whole suite of BENCHMARKS.md (GET against a static ceiling, durable POSTs, a
//!   90/10 mix, 1M customers against 10k, cold starts, memory at rest, under load and after a
//!   soak), printed as a table and written as JSON.
//! - `submissions`: durable submissions per second on SQLite and PostgreSQL, one and two nodes.
//! - `reads`: GET throughput on each backend against the static ceiling and pgbench, or two
//!   configurations compared (`--compare`).
//! - `rules`, `webhooks`: what vetting rules and a partner's registered webhook cost.
//! - `jobs`: timed decisions and healthy deliveries on time, with a receiver failing and one silent.
//! - `search`: Partner Center's customer search, a partner of 10,000 customers against one of
//!   1,000,000, on each backend.
//! - `start`: how long a server on an empty database takes to answer.
//! - `metrics`: a scrape parses, and every series moves as the server works.
//! - `crash`: the reliability suite: SIGKILLs under load, then every acknowledged write checked.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a report on stdout is this program's job

mod baseline;
mod ceilings;
mod console;
mod cpu_budget;
mod crash;
mod disk;
mod hostile;
mod jobs;
mod metrics;
mod postgres;
mod reads;
mod rules;
mod search;
mod seed;
mod servers;
mod start;
mod submissions;
mod suite;
mod webhooks;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "qualify-bench",
    about = "Benchmarks real qualify servers",
    version
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Pin nothing: servers, PostgreSQL and the load generator share every CPU, as on a machine
    /// where nothing is pinned. By default the servers get CPU 0 and the load generator the last
    /// one, so that runs compare; this shows what a setup does when its processes are free to
    /// spread (two PostgreSQL nodes, say, each on a CPU of its own while the other is busy).
    #[arg(long, global = true)]
    unpinned: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The whole suite, as in BENCHMARKS.md.
    #[command(
        after_help = "Examples:\n  qualify-bench all                 # the full run (about 25 minutes with the 10-minute soak)\n  qualify-bench all --smoke         # a few seconds: checks it works, numbers mean nothing"
    )]
    All(suite::SuiteArgs),
    /// Durable submissions per second: SQLite, PostgreSQL with one node, with two nodes.
    #[command(after_help = "Example:\n  qualify-bench submissions --duration 10s")]
    Submissions(submissions::SubmissionArgs),
    /// Durable submissions per second with a file of vetting rules against none (alternating runs).
    #[command(after_help = "Example:\n  qualify-bench rules --rules 50 --duration 10s")]
    Rules(rules::RulesArgs),
    /// Submissions per second with a partner's registered webhook against none, and deliveries per second.
    #[command(after_help = "Example:\n  qualify-bench webhooks --duration 10s --rounds 3")]
    Webhooks(webhooks::WebhookArgs),
    /// Timed decisions' lateness and each receiver's deliveries, at a steady rate with a failing and a silent receiver.
    #[command(
        after_help = "Examples:\n  qualify-bench jobs                                  # 1,000 submissions/s for 30 s, SQLite then PostgreSQL\n  qualify-bench jobs --rate 200 --duration 5s --targets sqlite"
    )]
    Jobs(jobs::JobsArgs),
    /// GET …/qualifications per second on each backend beside the static ceiling and pgbench, or two configurations compared (alternating runs).
    #[command(
        after_help = "Examples:\n  qualify-bench reads --duration 5s --rounds 3          # the ceilings table\n  qualify-bench reads --compare cache --duration 5s     # token cache on against off"
    )]
    Reads(reads::ReadArgs),
    /// Customer searches per second with a partner of 10,000 customers against one of 1,000,000 (alternating runs).
    #[command(
        after_help = "Examples:\n  qualify-bench search                                  # SQLite and PostgreSQL, 10k and 1M\n  qualify-bench search --large 100000 --backends sqlite --duration 3s"
    )]
    Search(search::SearchArgs),
    /// SIGKILLs servers under load at random moments, then checks every acknowledged submission.
    #[command(
        after_help = "Examples:\n  qualify-bench crash                          # 20 kills on SQLite, 20 of a node of two on PostgreSQL\n  qualify-bench crash --cycles 5 --targets sqlite --customers 20000"
    )]
    Crash(crash::CrashArgs),
    /// Scrapes servers with --metrics-listen before and after working them; checks every series moved.
    #[command(
        after_help = "Example:\n  qualify-bench metrics --duration 5s --save-scrape /tmp/scrape   # also writes /tmp/scrape-sqlite.txt, …"
    )]
    Metrics(metrics::MetricsArgs),
    /// How long each reviewer console page takes with 100,000 vetting requests in the database.
    #[command(after_help = "Example:\n  qualify-bench console --requests 100000 --runs 50")]
    Console(console::ConsoleArgs),
    /// Milliseconds from spawning a server on an empty database to its first /healthz 200.
    #[command(after_help = "Example:\n  qualify-bench start --runs 15")]
    Start(start::StartArgs),
    /// The static ceiling server (started by the other commands).
    #[command(hide = true)]
    Baseline,
}

/// Options every measuring command shares.
#[derive(Debug, Clone, Args)]
pub(crate) struct Common {
    /// The `qualify` binary [default: the one beside this program].
    #[arg(long, value_name = "PATH")]
    pub(crate) qualify: Option<PathBuf>,
    /// Concurrent connections (closed loop: each sends its next request when answered).
    #[arg(long, default_value_t = 64)]
    pub(crate) connections: usize,
    /// How long each measurement runs.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub(crate) duration: Duration,
    /// Runs of each measurement, alternated between the things compared; the median is reported.
    #[arg(long, default_value_t = 3)]
    pub(crate) rounds: usize,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // The load generator runs on one thread, pinned to the last CPU; servers get CPU 0 (with
    // `--unpinned`, neither is pinned).
    let cpus = core_affinity::get_core_ids().unwrap_or_default();
    let load_cpu = cpus
        .last()
        .copied()
        .filter(|_| cpus.len() > 1 && !cli.unpinned);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if let Command::Baseline = cli.command {
        return runtime.block_on(baseline::serve());
    }
    if let Some(cpu) = load_cpu {
        core_affinity::set_for_current(cpu);
    }
    let server_cpu = load_cpu.map(|_| 0);
    runtime.block_on(async {
        match cli.command {
            Command::All(args) => suite::all(args, server_cpu).await,
            Command::Submissions(args) => submissions::submissions(args, server_cpu).await,
            Command::Reads(args) => {
                reads::reads(args, server_cpu, load_cpu.map(|cpu| cpu.id)).await
            }
            Command::Rules(args) => rules::rules(args, server_cpu).await,
            Command::Webhooks(args) => webhooks::webhooks(args, server_cpu).await,
            Command::Jobs(args) => jobs::jobs(args, server_cpu).await,
            Command::Crash(args) => crash::crash(args, server_cpu).await,
            Command::Search(args) => search::search(args, server_cpu).await,
            Command::Start(args) => start::start(args, server_cpu).await,
            Command::Console(args) => console::console(args, server_cpu).await,
            Command::Metrics(args) => metrics::metrics(args, server_cpu).await,
            Command::Baseline => Ok(()),
        }
    })
}

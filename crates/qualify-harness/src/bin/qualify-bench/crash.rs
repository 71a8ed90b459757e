//! `qualify-bench crash`: the reliability suite. Submissions flow from many connections while
//! a server is SIGKILLed at a random moment, then restarted, cycle after cycle; afterwards every
//! submission the server acknowledged must be stored exactly once, every acknowledged
//! submission's retry (same `MS-RequestId`) must answer its first answer, a retry of one whose
//! answer was lost must leave it stored exactly once, nothing refused may be stored, and SQLite's
//! own check of the file must pass after every kill. On PostgreSQL two nodes share the load and
//! one of them, chosen at random, dies each cycle while the other goes on. Beside the load, a
//! hostile test suite (`hostile.rs`) sets the costliest faults and sends secrets where they don't
//! belong: none of its requests may get a 5xx, and its journal must keep no secret. On SQLite, the
//! database is then backed up and restored with `qualify`, and every acknowledged submission
//! must be in the restored copy exactly once.
//!
//! Exits with an error, after listing what broke, when any of that fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use futures::{StreamExt, stream};
use qualify_harness::user_token;
use qualify_store::Backend;
use qualify_store::testing::TestDatabase;
use qualify_types::{CustomerId, dev};
use serde::Serialize;
use serde_json::{Value, json};

use crate::hostile::Hostile;
use crate::seed;
use crate::servers::{qualify, qualify_binary_at};

#[derive(Debug, Args)]
pub(crate) struct CrashArgs {
    /// The `qualify` binary [default: the one beside this program].
    #[arg(long, value_name = "PATH")]
    qualify: Option<PathBuf>,
    /// Which setups: sqlite (one node), postgres-2-nodes.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres-2-nodes")]
    targets: Vec<String>,
    /// Kills per setup.
    #[arg(long, default_value_t = 20)]
    cycles: usize,
    /// Concurrent connections submitting.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// The shortest time a server runs under load before it is killed.
    #[arg(long, default_value = "200ms", value_parser = humantime::parse_duration)]
    min_uptime: Duration,
    /// The longest.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    max_uptime: Duration,
    /// Customers seeded for each setup (one submission each); the load stops early when they
    /// run out.
    #[arg(long, default_value_t = 100_000)]
    customers: usize,
    /// The seed of the kill moments and victims [default: random, printed].
    #[arg(long)]
    seed: Option<u64>,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// What became of one submission, as its client saw it.
#[derive(Debug, Clone)]
enum Answer {
    /// 201: the server acknowledged it, with this body.
    Acknowledged(Value),
    /// Any other status: the server refused it, so it must not be stored.
    Refused(u16),
    /// No answer (the server died, or was dead): stored or not, a retry must leave it once.
    Lost,
}

#[derive(Debug, Clone)]
struct Submission {
    customer: CustomerId,
    request_id: String,
    answer: Answer,
}

/// One setup's results.
#[derive(Debug, Default, Serialize)]
struct CrashReport {
    target: String,
    cycles: usize,
    submissions: usize,
    acknowledged: usize,
    lost: usize,
    refused: BTreeMap<u16, usize>,
    /// Acknowledged submissions found stored exactly once.
    acknowledged_once: usize,
    /// Acknowledged submissions whose retry answered their first answer.
    replays_identical: usize,
    /// Lost submissions stored before their retry: committed, the answer lost with the server.
    lost_stored: usize,
    /// Lost submissions stored once after their retry.
    lost_once_after_retry: usize,
    /// `PRAGMA integrity_check` runs that said ok (SQLite: after each kill and at the end).
    integrity_checks_ok: usize,
    /// The hostile suite's requests answered.
    hostile_requests: usize,
    /// SQLite: acknowledged submissions found exactly once in the restored backup.
    restored_once: usize,
    seconds: f64,
    problems: Vec<String>,
}

const SUBMISSION: &str = r#"{"qualification":"StateOwnedEntity"}"#;

/// Runs the suite on each setup; fails if anything did not hold.
pub(crate) async fn crash(args: CrashArgs, cpu: Option<usize>) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.min_uptime <= args.max_uptime,
        "--min-uptime is longer than --max-uptime"
    );
    let binary = qualify_binary_at(args.qualify.as_deref())?;
    let seed = args.seed.unwrap_or_else(|| fastrand::u64(..));
    println!("crash        seed {seed} (pass --seed {seed} to kill at the same moments again)");
    let mut reports = Vec::new();
    for target in &args.targets {
        let mut rng = fastrand::Rng::with_seed(seed);
        let report = match target.as_str() {
            "sqlite" => run(&binary, TestDatabase::sqlite(), 1, &args, &mut rng, cpu).await?,
            "postgres-2-nodes" => match TestDatabase::postgres("qualify-bench crash").await {
                Some(db) => run(&binary, db, 2, &args, &mut rng, cpu).await?,
                None => continue,
            },
            other => anyhow::bail!("unknown target '{other}': use sqlite, postgres-2-nodes"),
        };
        let integrity = if report.target == "sqlite" {
            format!(
                ", integrity checks ok {}, in the restored backup once {}",
                report.integrity_checks_ok, report.restored_once
            )
        } else {
            String::new()
        };
        println!(
            "crash        {:<17} {} kills in {:.0} s: {} submissions; {} acknowledged, {} stored once, {} retries answered the same; {} lost, {} of them stored, {} stored once after a retry; refused {:?}; {} hostile requests{integrity}",
            report.target,
            report.cycles,
            report.seconds,
            report.submissions,
            report.acknowledged,
            report.acknowledged_once,
            report.replays_identical,
            report.lost,
            report.lost_stored,
            report.lost_once_after_retry,
            report.refused,
            report.hostile_requests,
        );
        for problem in &report.problems {
            println!("crash        PROBLEM {problem}");
        }
        reports.push(report);
    }
    if let Some(path) = &args.json {
        std::fs::write(
            path,
            serde_json::to_vec_pretty(&json!({"seed": seed, "targets": reports}))?,
        )?;
    }
    let problems: usize = reports.iter().map(|r| r.problems.len()).sum();
    anyhow::ensure!(problems == 0, "{problems} problems (listed above)");
    Ok(())
}

/// One setup: `nodes` servers on `db`, the kill cycles, then the checks.
async fn run(
    binary: &Path,
    db: TestDatabase,
    nodes: usize,
    args: &CrashArgs,
    rng: &mut fastrand::Rng,
    cpu: Option<usize>,
) -> anyhow::Result<CrashReport> {
    let started = Instant::now();
    let sqlite = db.backend() == Backend::Sqlite;
    let target = if sqlite { "sqlite" } else { "postgres-2-nodes" };
    let mut report = CrashReport {
        target: target.into(),
        ..CrashReport::default()
    };
    let database = db.url().expose();
    let mut servers = Vec::new();
    for _ in 0..nodes {
        servers.push(qualify(binary, &database, &[], cpu)?);
    }
    let token = user_token(&servers[0].base, dev::PARTNER_A).await?;
    let hostile = Hostile::new(&servers[0].base).await?;
    let customers = Arc::new(
        seed::populate(&db, 0, args.customers)
            .await
            .context("seeding")?
            .fresh,
    );
    let next_customer = Arc::new(AtomicUsize::new(0));
    let http = reqwest::Client::new();
    let (mut submissions, mut ran_out) = (Vec::new(), false);
    for cycle in 0..args.cycles {
        let stop = Arc::new(AtomicBool::new(false));
        let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
        let workers: Vec<_> = (0..args.connections)
            .map(|i| {
                let load = Load {
                    http: http.clone(),
                    base: bases[i % bases.len()].clone(),
                    token: token.clone(),
                    customers: Arc::clone(&customers),
                    next_customer: Arc::clone(&next_customer),
                    stop: Arc::clone(&stop),
                };
                tokio::spawn(load.submit_until_stopped())
            })
            .collect();
        let attack = tokio::spawn(
            hostile
                .clone()
                .until_stopped(bases[0].clone(), Arc::clone(&stop)),
        );
        let uptime = args.min_uptime + (args.max_uptime - args.min_uptime).mul_f64(rng.f64());
        tokio::time::sleep(uptime).await;
        let victim = rng.usize(..nodes);
        servers.remove(victim).kill_9();
        stop.store(true, Ordering::Relaxed);
        for worker in workers {
            submissions.extend(worker.await.context("a load worker")?);
        }
        let attacked = attack.await.context("the hostile suite")?;
        report.hostile_requests += attacked.answered;
        report.problems.extend(
            attacked
                .server_errors
                .into_iter()
                .map(|error| format!("a hostile request answered {error}")),
        );
        report.cycles += 1;
        if sqlite {
            match db.integrity_check() {
                Ok(()) => report.integrity_checks_ok += 1,
                Err(problems) => report.problems.push(format!(
                    "integrity check after kill {}: {}",
                    cycle + 1,
                    problems.join("; ")
                )),
            }
        }
        servers.insert(victim, qualify(binary, &database, &[], cpu)?);
        if next_customer.load(Ordering::Relaxed) >= customers.len() && !ran_out {
            ran_out = true;
            eprintln!(
                "crash: all {} customers submitted for after {} kills (later kills are of idle servers); raise --customers",
                customers.len(),
                cycle + 1
            );
        }
    }
    check(&http, &servers[0].base, &token, &submissions, &mut report).await;
    // The journal of the node that took the hostile suite's last round keeps none of its secret.
    let mut last_round = crate::hostile::HostileCounts::default();
    hostile.round(&servers[0].base, &mut last_round).await?;
    if hostile.journal_keeps_the_secret(&servers[0].base).await? {
        report
            .problems
            .push("the hostile partner's journal keeps its secret".into());
    }
    for server in servers {
        server.terminate()?;
    }
    if sqlite {
        match db.integrity_check() {
            Ok(()) => report.integrity_checks_ok += 1,
            Err(problems) => report.problems.push(format!(
                "integrity check at the end: {}",
                problems.join("; ")
            )),
        }
        restored(binary, &database, &token, &submissions, &mut report, cpu).await?;
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Backs the database up and restores the copy with `qualify`, then counts the acknowledged
/// submissions the restored database holds exactly once.
async fn restored(
    binary: &Path,
    database: &str,
    token: &str,
    submissions: &[Submission],
    report: &mut CrashReport,
    cpu: Option<usize>,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (copy, restored) = (dir.path().join("backup.db"), dir.path().join("restored.db"));
    let restored_url = format!("sqlite://{}", restored.display());
    for args in [
        [
            "backup",
            &copy.display().to_string(),
            "--database",
            database,
        ],
        [
            "restore",
            &copy.display().to_string(),
            "--database",
            &restored_url,
        ],
    ] {
        let output = std::process::Command::new(binary).args(args).output()?;
        anyhow::ensure!(
            output.status.success(),
            "qualify {}: {}",
            args[0],
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let server = qualify(binary, &restored_url, &[], cpu)?;
    let http = reqwest::Client::new();
    let acknowledged = submissions
        .iter()
        .filter(|s| matches!(s.answer, Answer::Acknowledged(_)));
    let counts: Vec<(CustomerId, anyhow::Result<usize>)> = stream::iter(acknowledged)
        .map(|s| {
            let (http, base) = (&http, &server.base);
            async move { (s.customer, stored(http, base, token, s.customer).await) }
        })
        .buffered(16)
        .collect()
        .await;
    for (customer, count) in counts {
        match count {
            Ok(1) => report.restored_once += 1,
            Ok(n) => report.problems.push(format!(
                "customer {customer}: acknowledged, {n} times in the restored backup"
            )),
            Err(e) => report.problems.push(format!(
                "customer {customer}: reading the restored backup: {e:#}"
            )),
        }
    }
    server.terminate()?;
    Ok(())
}

/// One connection's worth of submissions, each for the next unused customer.
struct Load {
    http: reqwest::Client,
    base: String,
    token: String,
    customers: Arc<Vec<CustomerId>>,
    next_customer: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Load {
    async fn submit_until_stopped(self) -> Vec<Submission> {
        let mut submitted = Vec::new();
        while !self.stop.load(Ordering::Relaxed) {
            let index = self.next_customer.fetch_add(1, Ordering::Relaxed);
            let Some(&customer) = self.customers.get(index) else {
                break;
            };
            let request_id = uuid::Uuid::new_v4().to_string();
            let answer =
                match submit(&self.http, &self.base, &self.token, customer, &request_id).await {
                    Ok((201, body)) => Answer::Acknowledged(body),
                    Ok((status, _)) => Answer::Refused(status),
                    Err(_) => Answer::Lost,
                };
            let lost = matches!(answer, Answer::Lost);
            submitted.push(Submission {
                customer,
                request_id,
                answer,
            });
            if lost {
                // The server is gone; the next cycle starts another.
                break;
            }
        }
        submitted
    }
}

/// POSTs the submission for `customer` under `request_id`; its status and body.
async fn submit(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    customer: CustomerId,
    request_id: &str,
) -> reqwest::Result<(u16, Value)> {
    let response = http
        .post(format!("{base}/v1/customers/{customer}/qualifications"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .header("ms-requestid", request_id)
        .body(SUBMISSION)
        .send()
        .await?;
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    Ok((status, body))
}

/// How many StateOwnedEntity submissions `customer` has stored.
async fn stored(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    customer: CustomerId,
) -> anyhow::Result<usize> {
    let listed: Value = http
        .get(format!("{base}/v1/customers/{customer}/qualifications"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    // The documented shape wraps the list; the SDK profile's is the bare array.
    let list = listed.get("qualifications").unwrap_or(&listed);
    let list = list.as_array().context("a list of qualifications")?;
    Ok(list
        .iter()
        .filter(|q| q["qualification"] == "StateOwnedEntity")
        .count())
}

/// The checks, with every server up: what is stored, then each retry and what it left.
async fn check(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    submissions: &[Submission],
    report: &mut CrashReport,
) {
    report.submissions = submissions.len();
    // Checking is reading and retrying, not what is measured: 16 at a time, in order.
    let outcomes: Vec<Result<usize, String>> = stream::iter(submissions)
        .map(|submission| check_one(http, base, token, submission))
        .buffered(16)
        .collect()
        .await;
    for (submission, outcome) in submissions.iter().zip(outcomes) {
        let stored_before_retry = outcome.map_err(|problem| report.problems.push(problem));
        let held = stored_before_retry.is_ok();
        match &submission.answer {
            Answer::Acknowledged(_) => {
                report.acknowledged += 1;
                report.acknowledged_once += usize::from(held);
                report.replays_identical += usize::from(held);
            }
            Answer::Lost => {
                report.lost += 1;
                report.lost_stored += stored_before_retry.unwrap_or_default();
                report.lost_once_after_retry += usize::from(held);
            }
            Answer::Refused(status) => *report.refused.entry(*status).or_default() += 1,
        }
    }
}

/// One submission's checks: how many times it was stored before its retry, or the first check
/// that failed, described.
async fn check_one(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    submission: &Submission,
) -> Result<usize, String> {
    let Submission {
        customer,
        request_id,
        answer,
    } = submission;
    let count = |when: &'static str| async move {
        stored(http, base, token, *customer)
            .await
            .map_err(|e| format!("customer {customer}: reading its qualifications {when}: {e:#}"))
    };
    let before = count("before the retry").await?;
    match answer {
        Answer::Refused(status) if before != 0 => Err(format!(
            "customer {customer}: refused with {status}, yet stored {before} times"
        )),
        Answer::Refused(_) => Ok(0),
        Answer::Acknowledged(_) if before != 1 => Err(format!(
            "customer {customer}: acknowledged, stored {before} times"
        )),
        Answer::Lost if before > 1 => Err(format!(
            "customer {customer}: answer lost, stored {before} times"
        )),
        Answer::Acknowledged(_) | Answer::Lost => {
            let (status, body) = submit(http, base, token, *customer, request_id)
                .await
                .map_err(|e| format!("customer {customer}: the retry failed: {e}"))?;
            if let Answer::Acknowledged(first) = answer
                && (status != 201 || &body != first)
            {
                return Err(format!(
                    "customer {customer}: the retry of {request_id} answered {status} {body}, not its first answer {first}"
                ));
            }
            if status != 201 {
                return Err(format!(
                    "customer {customer}: the retry of a lost submission answered {status} {body}"
                ));
            }
            match count("after the retry").await? {
                1 => Ok(before),
                after => Err(format!(
                    "customer {customer}: stored {after} times after the retry of {request_id}"
                )),
            }
        }
    }
}

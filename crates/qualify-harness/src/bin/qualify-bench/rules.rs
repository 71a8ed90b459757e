//! `qualify-bench rules`: durable submissions per second with a file of vetting rules against
//! none, alternating servers on one SQLite database. No rule matches the benchmark's
//! submissions, so every rule is tried on every submission: the cost of evaluating them, and
//! nothing else (a matching rule would add a decision's writes).

use std::fmt::Write as _;

use anyhow::Context;
use clap::Args;
use qualify_harness::load;
use qualify_harness::user_token;
use qualify_store::testing::TestDatabase;
use qualify_types::dev;

use crate::Common;
use crate::seed;
use crate::servers::{measured, qualify, qualify_binary, submissions_for};

#[derive(Debug, Args)]
pub(crate) struct RulesArgs {
    #[command(flatten)]
    common: Common,
    /// How many rules the file holds.
    #[arg(long, default_value_t = 50)]
    rules: usize,
    /// Customers seeded for the run (each takes two submissions).
    #[arg(long, default_value_t = 100_000)]
    customers: usize,
}

/// `count` rules that look like an operator's (domains, websites, partners, segments, codes), of
/// which none matches a submission of partner A for a `*.onmicrosoft.com` customer.
fn rules_file(count: usize) -> String {
    let mut file = String::new();
    for n in 0..count {
        let rule = match n % 5 {
            0 => format!(
                "qualification = \"Education\"\ncustomer_domain = [\"*.school{n}.edu\", \"*.ac{n}.uk\"]\neducation_segment = \"HigherEducation\"\ndecision = \"Approved\"\nafter = \"2d\"\n"
            ),
            1 => format!(
                "customer_domain = [\"*.mail{n}.example\", \"*.free{n}.example\", \"*.webmail{n}.example\"]\ndecision = \"Denied\"\nreason = \"Not an Education Customer\"\n"
            ),
            2 => format!(
                "qualification = \"Education\"\nwebsite = [\"*.k12.{n}.us\"]\ndecision = \"Approved\"\n"
            ),
            3 => "qualification = \"StateOwnedEntity\"\npartner = [\"bbbbbbbb-0000-4000-8000-000000000001\"]\ndecision = \"InReview\"\n".to_owned(),
            _ => format!(
                "qualification = \"GovernmentCommunityCloud\"\nvalidation_code = [\"{n}*\"]\ndecision = \"Approved\"\n"
            ),
        };
        let _ = write!(file, "[[rule]]\nname = \"rule-{n}\"\n{rule}\n");
    }
    file
}

/// Submissions per second with the rules and without, alternated.
pub(crate) async fn rules(args: RulesArgs, cpu: Option<usize>) -> anyhow::Result<()> {
    let binary = qualify_binary(&args.common)?;
    let db = TestDatabase::sqlite();
    let database = db.url().expose();
    // Beside the throw-away database, and gone with it.
    let qualify_store::DatabaseUrl::Sqlite(path) = db.url() else {
        anyhow::bail!("the benchmark's database is SQLite");
    };
    let file = path.with_file_name("rules.toml");
    std::fs::write(&file, rules_file(args.rules))?;
    let file = file.to_str().context("a UTF-8 path")?.to_owned();
    // A first server creates the schema and the development identities, and issues the token
    // every later one accepts (one database, one signing key, one public URL).
    let first = qualify(&binary, &database, &[], cpu)?;
    let token = user_token(&first.base, dev::PARTNER_A).await?;
    first.terminate()?;
    let fresh = std::sync::Arc::new(
        seed::populate(&db, 0, args.customers)
            .await
            .context("seeding")?
            .fresh,
    );
    let offset = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let with = ["--rules", file.as_str()];
    let (mut none, mut some) = (Vec::new(), Vec::new());
    for round in 0..args.common.rounds.max(1) {
        // A, B, then B, A: whatever favours the first (or second) of a round favours each alike.
        let mut pair = [(&[][..], &mut none), (&with[..], &mut some)];
        if round % 2 == 1 {
            pair.reverse();
        }
        for (extra, runs) in pair {
            let server = qualify(&binary, &database, extra, cpu)?;
            runs.push(
                load::run(
                    &[server.addr()],
                    args.common.connections,
                    args.common.duration,
                    submissions_for(fresh.clone(), token.clone(), offset.clone()),
                )
                .await,
            );
            server.terminate()?;
        }
    }
    let (none, some) = (measured(none), measured(some));
    let label = format!("{} rules", args.rules);
    for (name, m) in [("no rules", &none), (label.as_str(), &some)] {
        println!(
            "rules        {name:<18} {:>9.0} req/s ({:.0}–{:.0})  p50 {:>7.2} ms  p99 {:>7.2} ms  failed {:?}",
            m.median.rps, m.min_rps, m.max_rps, m.median.p50_ms, m.median.p99_ms, m.median.failed
        );
    }
    println!(
        "rules: {:.3}x the submissions per second without them",
        some.median.rps / none.median.rps
    );
    if let Some(path) = &args.common.json {
        std::fs::write(
            path,
            serde_json::to_vec_pretty(&[("none", none), (label.as_str(), some)])?,
        )?;
    }
    Ok(())
}

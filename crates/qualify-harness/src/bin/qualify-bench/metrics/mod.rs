//! `qualify-bench metrics`: a scrape of a running server parses, and every series moves as the
//! server works. Starts a server with `--metrics-listen` and a rules file, scrapes it, puts it
//! through what each series counts (tokens issued and refused, customers and submissions, a
//! rule's decision at once and one after a delay, a reviewer's approval and denial, a partner's
//! webhook deliveries, then a load of GETs), scrapes again, and checks each series against what
//! was done. On SQLite and, when reachable, PostgreSQL (two nodes, whose pools are seen).

use anyhow::{Context, bail};
use clap::Args;
use qualify_store::testing::TestDatabase;

use crate::Common;
use crate::servers::{qualify, qualify_binary};

mod exercise;
mod scrape;

use exercise::exercise;

#[derive(Debug, Args)]
pub(crate) struct MetricsArgs {
    #[command(flatten)]
    common: Common,
    /// Which setups: sqlite, postgres.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    targets: Vec<String>,
    /// Write the last scrape of each setup beside FILE, in both formats served, for another
    /// parser to check: `FILE-sqlite.txt` (Prometheus text), `FILE-sqlite.openmetrics`, ….
    #[arg(long, value_name = "FILE")]
    save_scrape: Option<std::path::PathBuf>,
}

/// Vetting rules for the run: Denied at once for `*.denied.test`, Approved a day after
/// submission for `*.later.test`; anything else waits for a reviewer.
const RULES: &str = r#"
[[rule]]
name = "denied-at-once"
customer_domain = "*.denied.test"
decision = "Denied"
reason = "Not a State Owned Entity"

[[rule]]
name = "approved-later"
customer_domain = "*.later.test"
decision = "Approved"
after = "1d"
"#;

pub(crate) async fn metrics(args: MetricsArgs, cpu: Option<usize>) -> anyhow::Result<()> {
    let binary = qualify_binary(&args.common)?;
    let rules = tempfile_with(RULES)?;
    let rules_path = rules.path().to_string_lossy().into_owned();
    for target in &args.targets {
        let (db, nodes) = match target.as_str() {
            "sqlite" => (TestDatabase::sqlite(), 1),
            "postgres" => match TestDatabase::postgres("qualify-bench metrics").await {
                Some(db) => (db, 2),
                None => continue,
            },
            other => bail!("unknown target '{other}': use sqlite, postgres"),
        };
        let database = db.url().expose();
        let flags = [
            "--rules",
            rules_path.as_str(),
            "--metrics-listen",
            "127.0.0.1:0",
        ];
        let servers = (0..nodes)
            .map(|_| qualify(&binary, &database, &flags, cpu))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let last = exercise(&servers, &args.common, target)
            .await
            .with_context(|| format!("{target}: {}", servers[0].log()))?;
        if let Some(path) = &args.save_scrape {
            let (prometheus_text, openmetrics) = last;
            let beside = |suffix: &str| {
                let mut name = path.as_os_str().to_owned();
                name.push(format!("-{target}.{suffix}"));
                std::path::PathBuf::from(name)
            };
            std::fs::write(beside("txt"), prometheus_text)?;
            std::fs::write(beside("openmetrics"), openmetrics)?;
        }
        for server in servers {
            server.terminate()?;
        }
    }
    Ok(())
}

/// A file holding `text`, removed when dropped.
fn tempfile_with(text: &str) -> anyhow::Result<tempfile::NamedTempFile> {
    let mut file = tempfile::NamedTempFile::new()?;
    std::io::Write::write_all(&mut file, text.as_bytes())?;
    Ok(file)
}

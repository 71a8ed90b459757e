//! `qualify test …`: what a test suite asks of a development server about its own partner.
//! `qualify test conformance` prints what the partner's integration did that Partner Center
//! would punish, and exits 1 when a finding is at or above `--fail-on`: a CI job fails on it.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use qualify_types::{ConformanceReport, Severity};

use super::connection::Connection;
use super::output::{note, print};

/// `qualify test …`.
#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    #[command(subcommand)]
    command: TestCommand,
    #[command(flatten)]
    connection: Connection,
}

#[derive(Debug, Subcommand)]
enum TestCommand {
    /// The partner's conformance findings; exit 1 if one is at or above --fail-on.
    #[command(
        after_help = "Examples:\n  qualify test conformance --dev-identity partner-a\n  qualify test conformance --client-id \"$CLIENT_ID\" \\\n      --client-secret \"$CLIENT_SECRET\" --tenant \"$TENANT\" \\\n      --fail-on warning --output json"
    )]
    Conformance {
        /// The least severity that fails the command: info, warning or error.
        #[arg(long, value_name = "SEVERITY", default_value = "error")]
        fail_on: Severity,
    },
}

const HEADERS: [&str; 5] = ["SEVERITY", "CODE", "COUNT", "LAST SEEN", "WHAT HAPPENED"];

/// Runs a test command: its exit code says whether the build should fail.
pub(crate) async fn run(args: TestArgs) -> anyhow::Result<ExitCode> {
    let client = args.connection.client(true)?;
    let output = args.connection.output();
    match args.command {
        TestCommand::Conformance { fail_on } => {
            let report = client.conformance().await?;
            let rows = report
                .items
                .iter()
                .map(|finding| {
                    vec![
                        finding.severity.to_string(),
                        finding.code.clone(),
                        finding.count.to_string(),
                        finding.last_seen.to_string(),
                        finding.message.clone(),
                    ]
                })
                .collect();
            print(output, &report, &HEADERS, rows)?;
            Ok(verdict(&report, fail_on))
        }
    }
}

/// 1 when a finding is at or above `fail_on`, saying so on stderr; 0 otherwise.
fn verdict(report: &ConformanceReport, fail_on: Severity) -> ExitCode {
    let failing = report
        .items
        .iter()
        .filter(|finding| finding.severity >= fail_on)
        .count();
    if failing == 0 {
        return ExitCode::SUCCESS;
    }
    note(&format!(
        "{failing} finding{} at or above {fail_on}: see docs/conformance.md for each code and its fix",
        if failing == 1 { "" } else { "s" }
    ));
    ExitCode::FAILURE
}

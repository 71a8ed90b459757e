//! The command line: `qualify <command>`. Usage errors exit 2 (clap's convention); failures exit
//! 1 with one readable line on stderr (the Partner Center code and description when the server
//! sent one); `qualifications submit --wait` exits 3 when denied and 4 on timeout.

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::commands::{
    admin, backup, completions, customers, migrate, qualifications, review, rules, serve, test,
    token,
};

#[cfg(test)]
mod help_examples;

/// `0.1.0 (commit 4328431)`: the version and the git commit built from (`, modified` when the
/// working tree had changes), as the build script recorded them.
fn version() -> &'static str {
    static VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let commit = match (
            option_env!("VERGEN_GIT_SHA"),
            option_env!("VERGEN_GIT_DIRTY"),
        ) {
            (Some(sha), dirty) if !sha.is_empty() => {
                let modified = if dirty == Some("true") {
                    ", modified"
                } else {
                    ""
                };
                format!("commit {sha}{modified}")
            }
            _ => "no git commit recorded".to_owned(),
        };
        format!("{} ({commit})", env!("CARGO_PKG_VERSION"))
    });
    &VERSION
}

/// Qualify: Partner Center's customer qualification API, with the vetting behind it.
#[derive(Debug, Parser)]
#[command(
    name = "qualify",
    version = version(),
    propagate_version = true,
    after_help = "Start a development server with `qualify serve --dev`, then try:\n  qualify customers create --dev-identity partner-a \\\n      --domain school.onmicrosoft.com --name 'Contoso School'"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    #[command(
        after_help = "Examples:\n  qualify serve --dev\n  qualify serve --listen 0.0.0.0:8080 \\\n      --database postgres://qualify@db/qualify \\\n      --public-url https://qualify.example.com"
    )]
    Serve(Box<serve::ServeArgs>),
    /// Apply database migrations without starting the server.
    #[command(
        after_help = "Example:\n  qualify migrate --database sqlite:///var/lib/qualify/qualify.db"
    )]
    Migrate(migrate::MigrateArgs),
    /// Copy a SQLite database while its servers run (one consistent moment, checked).
    #[command(
        after_help = "Example:\n  qualify backup /var/backups/qualify-$(date +%F).db \\\n      --database sqlite:///var/lib/qualify/qualify.db\n\nPostgreSQL: use pg_dump (docs/operations.md)."
    )]
    Backup(backup::BackupArgs),
    /// Put a copy made by `qualify backup` back into a SQLite database (stop its servers first).
    #[command(
        after_help = "Example:\n  qualify restore /var/backups/qualify-2026-12-01.db \\\n      --database sqlite:///var/lib/qualify/qualify.db --replace"
    )]
    Restore(backup::RestoreArgs),
    /// Print an access token (for curl and other tools).
    #[command(
        after_help = "Example:\n  curl -H \"Authorization: Bearer $(qualify token --dev-identity partner-a)\" \\\n      http://127.0.0.1:8080/v1/customers"
    )]
    Token(token::TokenArgs),
    /// Create, list and show the partner's customers.
    #[command(
        after_help = "Examples:\n  qualify customers create --dev-identity partner-a \\\n      --domain school.onmicrosoft.com --name 'Contoso School'\n  qualify customers list --dev-identity partner-a"
    )]
    Customers(customers::CustomersArgs),
    /// A customer's qualifications: get them, submit one for vetting, wait for a decision.
    #[command(
        after_help = "Examples:\n  qualify qualifications submit 3f2c7a1e-5b1d-4c7e-9a4b-2f1d3c4b5a6e \\\n      --dev-identity partner-a --qualification Education --segment K12 \\\n      --wait\n  qualify qualifications get 3f2c7a1e-5b1d-4c7e-9a4b-2f1d3c4b5a6e \\\n      --dev-identity partner-a"
    )]
    Qualifications(qualifications::QualificationsArgs),
    /// Review vetting requests: list, show, approve, deny.
    #[command(
        after_help = "Examples:\n  qualify review list --dev-identity operator --status InReview\n  qualify review deny 7b1e2c3d-4f5a-4b6c-8d7e-9f0a1b2c3d4e \\\n      --dev-identity operator --reason 'Not an accredited school'"
    )]
    Review(review::ReviewArgs),
    /// Administer partners, applications, users, reviewers and signing keys (on the database).
    #[command(
        after_help = "Example:\n  qualify admin --database postgres://qualify@db/qualify partners create \\\n      --name 'Contoso Partner'"
    )]
    Admin(admin::AdminArgs),
    /// Ask a development server about the partner's tests: its conformance findings.
    #[command(after_help = "Example:
  qualify test conformance --dev-identity partner-a --fail-on warning")]
    Test(test::TestArgs),
    /// Check a vetting rules file before a server reads it.
    #[command(after_help = "Example:\n  qualify rules check rules.toml")]
    Rules(rules::RulesArgs),
    /// Print a shell completion script.
    #[command(after_help = "Example:\n  qualify completions bash > /etc/bash_completion.d/qualify")]
    Completions(completions::CompletionsArgs),
}

/// The command line, as `--help` describes it: with the settings' defaults, and empty
/// `QUALIFY_*` variables taken as unset.
pub(crate) fn command() -> clap::Command {
    crate::environment::without_empty_variables(crate::config::with_defaults(Cli::command()))
}

/// Parses the command line (exiting with usage on a mistake).
fn parse() -> Cli {
    let matches = command().get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit())
}

/// Parses the command line and runs the command.
pub(crate) async fn run() -> ExitCode {
    let cli = parse();
    let outcome = match cli.command {
        Command::Serve(args) => serve::run(*args).await.map(|()| ExitCode::SUCCESS),
        Command::Migrate(args) => migrate::run(args).await.map(|()| ExitCode::SUCCESS),
        Command::Backup(args) => backup::backup(args).await.map(|()| ExitCode::SUCCESS),
        Command::Restore(args) => backup::restore(args).await.map(|()| ExitCode::SUCCESS),
        Command::Token(args) => token::run(args).await.map(|()| ExitCode::SUCCESS),
        Command::Customers(args) => customers::run(args).await.map(|()| ExitCode::SUCCESS),
        Command::Qualifications(args) => qualifications::run(args).await,
        Command::Review(args) => review::run(args).await.map(|()| ExitCode::SUCCESS),
        Command::Admin(args) => admin::run(args).await.map(|()| ExitCode::SUCCESS),
        Command::Rules(args) => rules::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Test(args) => test::run(args).await,
        Command::Completions(args) => {
            completions::run(&args, command()).map(|()| ExitCode::SUCCESS)
        }
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            // One line: the error and its causes, outermost first.
            let _ = writeln!(std::io::stderr(), "error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}

//! `qualify rules check FILE`: reads a vetting rules file as the server would, so a mistake is
//! found before a server is started (or reloaded) with it.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use qualify_app::vetting_rules::read_rules_file;

use super::output::ignore_closed_stdout;

/// `qualify rules …`.
#[derive(Debug, Args)]
pub(crate) struct RulesArgs {
    #[command(subcommand)]
    command: RulesCommand,
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Check a rules file: exit 0 when every rule is usable, 1 with the file, line and why.
    #[command(after_help = "Example:\n  qualify rules check /etc/qualify/rules.toml")]
    Check {
        /// The rules file (TOML).
        file: PathBuf,
    },
}

/// Runs a rules command.
pub(crate) fn run(args: &RulesArgs) -> anyhow::Result<()> {
    match &args.command {
        RulesCommand::Check { file } => {
            let rules = read_rules_file(file)?;
            let count = rules.len();
            let noun = if count == 1 { "rule" } else { "rules" };
            ignore_closed_stdout(writeln!(
                std::io::stdout().lock(),
                "{}: {count} {noun}, each usable",
                file.display()
            ))
        }
    }
}

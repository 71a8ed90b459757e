//! The command line: `qualify <command>`. Usage errors exit 2 (clap's convention), failures 1
//! with one readable line on stderr.

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commands::{migrate, serve};

/// Qualify: Partner Center's customer qualification API, with the vetting behind it.
#[derive(Debug, Parser)]
#[command(name = "qualify", version, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    #[command(
        after_help = "Examples:\n  qualify serve --dev\n  qualify serve --listen 0.0.0.0:8080 --database postgres://qualify@db/qualify --public-url https://qualify.example.com"
    )]
    Serve(Box<serve::ServeArgs>),
    /// Apply database migrations without starting the server.
    #[command(
        after_help = "Example:\n  qualify migrate --database sqlite:///var/lib/qualify/qualify.db"
    )]
    Migrate(migrate::MigrateArgs),
}

/// Parses the command line and runs the command.
pub(crate) async fn run() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Serve(args) => serve::run(*args).await,
        Command::Migrate(args) => migrate::run(args).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
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

//! `qualify completions bash|zsh|fish|…`: shell completion scripts.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::cli::Cli;

/// Flags of `qualify completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    shell: Shell,
}

/// Prints the completion script on stdout.
pub(crate) fn run(args: &CompletionsArgs) {
    clap_complete::generate(
        args.shell,
        &mut Cli::command(),
        "qualify",
        &mut std::io::stdout(),
    );
}

//! `qualify completions bash|zsh|fish|…`: shell completion scripts.

use std::io::Write;

use clap::Args;
use clap_complete::Shell;

use crate::commands::output::ignore_closed_stdout;

/// Flags of `qualify completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    shell: Shell,
}

/// Prints the completion script of `command` (the whole command line) on stdout.
pub(crate) fn run(args: &CompletionsArgs, mut command: clap::Command) -> anyhow::Result<()> {
    // clap_complete panics when its writer fails, as it does when the reader of a pipe has gone
    // (`qualify completions bash | head -1`): the script is made first, then written.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "qualify", &mut script);
    ignore_closed_stdout(std::io::stdout().lock().write_all(&script))
}

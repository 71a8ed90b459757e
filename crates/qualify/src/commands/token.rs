//! `qualify token`: print an access token, for curl and other tools.

use std::io::Write;

use clap::Args;

use super::connection::Connection;

/// Flags of `qualify token`.
#[derive(Debug, Args)]
pub(crate) struct TokenArgs {
    /// An App-only token even when a user is known (client credentials grant).
    #[arg(long)]
    app_only: bool,
    #[command(flatten)]
    connection: Connection,
}

/// Prints a fresh access token on stdout (one a server that has just been started on a new
/// database accepts, whatever an earlier run kept): take it once per script, not per request.
pub(crate) async fn run(args: TokenArgs) -> anyhow::Result<()> {
    let token = args.connection.client(args.app_only)?.fetch_token().await?;
    writeln!(std::io::stdout(), "{}", token.access_token)?;
    Ok(())
}

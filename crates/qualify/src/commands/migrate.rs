//! `qualify migrate`: apply the database's migrations and exit, so a deployment can migrate
//! before it starts (or restarts) its servers.

use clap::Args;
use qualify_store::Store;

use crate::config::ConfigArgs;

/// Flags of `qualify migrate`.
#[derive(Debug, Args)]
pub(crate) struct MigrateArgs {
    #[command(flatten)]
    config: ConfigArgs,
}

/// Applies pending migrations.
pub(crate) async fn run(args: MigrateArgs) -> anyhow::Result<()> {
    let settings = args.config.load()?;
    let url = &settings.store.database;
    let store = Store::connect(&settings.store.options()).await?;
    store.close().await;
    let _ = std::io::Write::write_all(
        &mut std::io::stdout(),
        format!("{url}: migrations applied\n").as_bytes(),
    );
    Ok(())
}

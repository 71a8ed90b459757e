//! `qualify migrate`: apply the database's migrations and exit, so a deployment can migrate
//! before it starts (or restarts) its servers.

use clap::Args;
use qualify_store::{DatabaseUrl, Store, StoreOptions};

/// Flags of `qualify migrate`.
#[derive(Debug, Args)]
pub(crate) struct MigrateArgs {
    /// Database: sqlite:///path/file.db, a file path, or postgres://… [default: ./qualify-data/qualify.db].
    #[arg(long, env = "QUALIFY_DATABASE", value_name = "URL")]
    database: Option<String>,
}

/// Applies pending migrations.
pub(crate) async fn run(args: MigrateArgs) -> anyhow::Result<()> {
    let url = match args.database {
        Some(url) => url.parse()?,
        None => DatabaseUrl::default_sqlite(),
    };
    let store = Store::connect(&StoreOptions::new(url.clone())).await?;
    store.close().await;
    let _ = std::io::Write::write_all(
        &mut std::io::stdout(),
        format!("{url}: migrations applied\n").as_bytes(),
    );
    Ok(())
}

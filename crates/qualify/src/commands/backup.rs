//! `qualify backup FILE` and `qualify restore FILE`: a consistent copy of a SQLite database
//! taken while its servers run, and putting one back. PostgreSQL is backed up with its own
//! tools, which the error for a PostgreSQL URL names.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use qualify_store::DatabaseUrl;
use qualify_store::backup::{Copied, backup_sqlite, restore_sqlite};

use crate::config::ConfigArgs;

/// Flags of `qualify backup`.
#[derive(Debug, Args)]
pub(crate) struct BackupArgs {
    /// Where to write the copy (written beside as FILE.partial, renamed once complete and checked; readable by its owner only).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    #[command(flatten)]
    config: ConfigArgs,
    /// Overwrite FILE if it exists.
    #[arg(long)]
    replace: bool,
}

/// Flags of `qualify restore`.
#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    /// A copy made by `qualify backup`.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The database to restore into is `--database` (created if missing).
    #[command(flatten)]
    config: ConfigArgs,
    /// Overwrite a database that already holds Qualify's data (stop every server on it first).
    #[arg(long)]
    replace: bool,
}

/// The SQLite file the settings of `config` name, or why the command can't copy it.
fn sqlite_file(config: &ConfigArgs, what: &str) -> anyhow::Result<PathBuf> {
    match config.load()?.store.database {
        DatabaseUrl::Sqlite(path) => Ok(path),
        DatabaseUrl::Postgres(_) => anyhow::bail!(
            "qualify {what} copies SQLite databases; for PostgreSQL use pg_dump and pg_restore (see docs/operations.md)"
        ),
    }
}

fn say(line: &str) {
    let _ = std::io::Write::write_all(&mut std::io::stdout(), format!("{line}\n").as_bytes());
}

fn size(copied: Copied) -> String {
    format!(
        "{} pages, {:.1} MiB",
        copied.pages,
        copied.bytes as f64 / (1024.0 * 1024.0)
    )
}

/// Copies the database to the file.
pub(crate) async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let database = sqlite_file(&args.config, "backup")?;
    let file = args.file.clone();
    let from = database.clone();
    let copied = tokio::task::spawn_blocking(move || backup_sqlite(&from, &file, args.replace))
        .await
        .context("the copy's thread")??;
    say(&format!(
        "{}: copied to {} ({}), checked",
        database.display(),
        args.file.display(),
        size(copied)
    ));
    Ok(())
}

/// Puts the file back into the database.
pub(crate) async fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let database = sqlite_file(&args.config, "restore")?;
    let file = args.file.clone();
    let into = database.clone();
    let copied = tokio::task::spawn_blocking(move || restore_sqlite(&file, &into, args.replace))
        .await
        .context("the restore's thread")??;
    say(&format!(
        "{}: restored from {} ({}), checked; servers apply newer migrations as they start",
        database.display(),
        args.file.display(),
        size(copied)
    ));
    Ok(())
}

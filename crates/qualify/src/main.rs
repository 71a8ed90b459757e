//! The `qualify` binary: a shim over [`cli::run`], which parses arguments and runs a command.

mod cli;
mod commands;
mod config;
mod environment;
mod telemetry;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    cli::run().await
}

//! The `qualify` binary: a shim over [`cli::run`], which parses arguments and runs a command.

mod cli;
mod commands;
mod config;
mod environment;
mod telemetry;

use std::process::ExitCode;

/// mimalloc, not glibc's malloc: a GET allocates and frees a few dozen small blocks (headers,
/// rows, the body), and glibc's arena bookkeeping was a fifth of the server's CPU under load
/// (`perf`: `_int_malloc`, `_int_free`, `malloc_consolidate` …). With mimalloc the server spends
/// 9% (SQLite) to 17% (PostgreSQL) less CPU per GET and answers 12–16% more GETs a second, and
/// starts no slower (BENCHMARKS.md, "The allocator"). It keeps freed pages until a thread next
/// allocates, so `serve` hands start-up's back itself once built
/// ([`qualify_allocator::release_freed_memory`]; "Idle memory"). Without transparent huge pages
/// (`no_thp`): with them, idle RSS was 8 MB higher.
#[global_allocator]
static ALLOCATOR: qualify_allocator::Allocator = qualify_allocator::Allocator;

#[tokio::main]
async fn main() -> ExitCode {
    cli::run().await
}

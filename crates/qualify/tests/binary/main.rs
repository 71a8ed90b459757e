//! The `qualify` binary, run as a process: serving, stopping, surviving `kill -9`, migrating,
//! and the README's walk-through, as written.

// Helpers outside #[test] functions unwrap too: a test should stop loudly where it failed.
#![allow(clippy::unwrap_used)]
// Waiting on a child process is synchronous and happens outside any async runtime's hot path.
#![allow(clippy::disallowed_methods)]

mod admin;
mod backup;
mod cli;
mod client_cli;
mod process;
mod readme;
mod rules_docs;
mod serve;
mod testing_docs;

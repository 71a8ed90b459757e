//! The API, tested through HTTP against a real server on a real socket, on every backend
//! (SQLite always, PostgreSQL when reachable: in CI, always).

// Helpers outside #[test] functions unwrap too: a test should stop loudly where it failed.
#![allow(clippy::unwrap_used)]

mod access;
mod audit_records;
mod conformance;
mod console;
mod console_browser;
mod customers;
mod errors;
mod events;
mod external;
mod hardening;
mod headers;
mod health;
mod helpers;
mod idempotency;
mod isolation;
mod lanes;
mod legacy;
mod metrics;
mod multinode;
mod openapi;
mod partner_webhooks;
mod persistence;
mod read_cache;
mod receiver;
mod review;
mod rules;
mod seed_examples;
mod submissions;
mod test_control;
mod throttling;
mod tls;
mod tokens;

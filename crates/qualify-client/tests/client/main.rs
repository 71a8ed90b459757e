//! The client against a real Qualify server (client and server tested against each other), and
//! against a small scripted server that answers with the failures a real network produces.

// Helpers outside #[test] functions unwrap too: a test should stop loudly where it failed.
#![allow(clippy::unwrap_used)]

mod faults;
mod real_server;
mod testing_doc;

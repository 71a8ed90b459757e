//! Running `qualify serve` as real processes and driving load against them: shared by the
//! binary's tests (which start, stop and kill servers) and by `qualify-bench`.

// Waiting on child processes is synchronous, off any async runtime's hot path.
#![allow(clippy::disallowed_methods)]

pub mod load;
pub mod process;

pub use process::{
    ServerCommand, ServerProcess, User, partner_on_demand, password_token, user_token,
};

//! One module per subcommand; `connection` and `output` are shared by the client commands.

pub(crate) mod admin;
pub(crate) mod backup;
pub(crate) mod completions;
mod connection;
pub(crate) mod customers;
pub(crate) mod migrate;
pub(crate) mod output;
pub(crate) mod qualifications;
pub(crate) mod review;
pub(crate) mod rules;
pub(crate) mod serve;
pub(crate) mod test;
pub(crate) mod token;
mod token_store;

//! One module per subcommand.

pub(crate) mod migrate;
pub(crate) mod serve;

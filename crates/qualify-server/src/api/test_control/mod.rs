//! `/test/v1`: the test control plane, served only in development mode (without `--dev` no route
//! exists, so every path is a 404 and nothing of it costs a request). Each call acts on the
//! calling partner alone.

pub(crate) mod clock;

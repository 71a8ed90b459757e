//! This crate's `qualify` binary, started through the shared harness.

pub(crate) use qualify_harness::ServerProcess;

/// The binary under test.
pub(crate) const BINARY: &str = env!("CARGO_BIN_EXE_qualify");

/// Starts `qualify serve` with `args`.
pub(crate) fn start(args: &[&str]) -> ServerProcess {
    ServerProcess::start(BINARY, args)
}

/// An App+User token of a well-known identity.
pub(crate) async fn user_token(base: &str, who: qualify_types::dev::DevIdentity) -> String {
    qualify_harness::user_token(base, who).await.unwrap()
}

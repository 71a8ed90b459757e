//! What a running node does besides answering requests: reloads the vetting rules on SIGHUP,
//! reads the signing keys again now and then (to pick up a rotation), forgets old records
//! hourly, and tidies the rate limits' counts. Each chore is a task; [`Chores::stop`] ends them.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::http;
use crate::state::AppState;

/// The chores running for one node.
#[derive(Debug)]
pub(crate) struct Chores(Vec<JoinHandle<()>>);

impl Chores {
    /// Starts every chore of the node serving `state`.
    pub(crate) fn start(state: &AppState) -> Self {
        Self(vec![
            tokio::spawn(forget_old_records(state.clone())),
            tokio::spawn(reload_rules_on_hangup(state.clone())),
            tokio::spawn(http::throttle::tidy(state.clone())),
            tokio::spawn(refresh_signing_keys(state.clone())),
        ])
    }

    /// Ends every chore.
    pub(crate) fn stop(self) {
        for chore in self.0 {
            chore.abort();
        }
    }
}

/// Forgets, every hour, `MS-RequestId` records past their retention and the delivery history
/// past its own: what a node keeps does not grow with traffic.
async fn forget_old_records(state: AppState) {
    let mut every_hour = tokio::time::interval(Duration::from_secs(3600));
    loop {
        every_hour.tick().await;
        match state.app.forget_idempotency_records().await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "forgot old idempotency records"),
            Err(error) => tracing::warn!(error = %error, "purging idempotency records failed"),
        }
        match state.app.forget_history().await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "forgot old deliveries and jobs"),
            Err(error) => tracing::warn!(%error, "purging old deliveries failed"),
        }
    }
}

/// Reads the vetting rules file again at each SIGHUP; a file with a problem leaves the rules in
/// force as they were, and says why.
async fn reload_rules_on_hangup(state: AppState) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(hangups) => hangups,
            Err(error) => {
                tracing::warn!(%error, "SIGHUP can't be handled; the vetting rules won't reload");
                return;
            }
        };
        while hangups.recv().await.is_some() {
            let rules = state.app.rules();
            let Some(file) = rules.file() else {
                tracing::info!("SIGHUP: no rules file to reload (--rules)");
                continue;
            };
            match rules.reload() {
                Ok(count) => {
                    tracing::info!(file = %file.display(), rules = count, "reloaded the vetting rules")
                }
                Err(error) => {
                    tracing::warn!(%error, "the vetting rules file has a problem; the rules in force stay")
                }
            }
        }
    }
    #[cfg(not(unix))]
    std::future::pending::<()>().await;
}

/// Reads the signing keys again now and then, so a rotation reaches this node's signer and JWKS.
async fn refresh_signing_keys(state: AppState) {
    let mut every = tokio::time::interval(state.settings().identity.signing_key_refresh);
    every.tick().await;
    loop {
        every.tick().await;
        if let Err(error) = state.app.identity().reload_keys().await {
            tracing::warn!(error = %error, "reloading the signing keys failed");
        }
    }
}

//! The workers of one node: each runs due jobs one after another through a [`JobRunner`]; idle
//! workers wait for this node's writes to wake them, or poll.

use std::sync::Arc;

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::JobRunner;
use crate::AppState;

/// The running workers of this node.
#[derive(Debug)]
pub(crate) struct Workers {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Starts `state.settings.jobs.job_workers` workers named `{node}/{n}`.
    pub(crate) fn start(state: &AppState, node: &str) -> Self {
        let (stop, stopped) = watch::channel(false);
        let tasks = (0..state.settings.jobs.job_workers)
            .map(|n| {
                let runner = JobRunner::new(state.clone(), format!("{node}/{n}"));
                tokio::spawn(work(runner, stopped.clone()))
            })
            .collect();
        Self { stop, tasks }
    }

    /// Asks the workers to stop after their current job, and waits for them.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Runs jobs until told to stop.
async fn work(runner: JobRunner, mut stopped: watch::Receiver<bool>) {
    let ready: Arc<Notify> = Arc::clone(&runner.state.jobs_ready);
    let poll = runner.state.settings.jobs.job_poll_interval;
    while !*stopped.borrow() {
        match runner.run_next().await {
            Ok(Some(_)) => {}
            Ok(None) => {
                tokio::select! {
                    () = ready.notified() => {}
                    () = tokio::time::sleep(poll) => {}
                    _ = stopped.changed() => {}
                }
            }
            Err(error) => {
                tracing::warn!(worker = %runner.name, error = %error, "claiming a job failed");
                tokio::time::sleep(poll).await;
            }
        }
    }
}

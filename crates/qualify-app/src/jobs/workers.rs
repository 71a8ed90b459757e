//! The workers of one node: each runs due jobs one after another through a [`JobRunner`]; idle
//! workers wait for this node's writes to wake them, or poll.

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::JobRunner;

/// The running workers of this node.
#[derive(Debug)]
pub struct Workers {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Starts a worker for each of `runners`.
    pub fn start<C: Send + Sync + 'static>(
        runners: impl IntoIterator<Item = JobRunner<C>>,
    ) -> Self {
        let (stop, stopped) = watch::channel(false);
        let tasks = runners
            .into_iter()
            .map(|runner| tokio::spawn(work(runner, stopped.clone())))
            .collect();
        Self { stop, tasks }
    }

    /// Asks the workers to stop after their current job, and waits for them.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Runs jobs until told to stop.
async fn work<C: Send + Sync + 'static>(runner: JobRunner<C>, mut stopped: watch::Receiver<bool>) {
    let poll = runner.jobs().settings.job_poll_interval;
    while !*stopped.borrow() {
        match runner.run_next().await {
            Ok(Some(_)) => {}
            Ok(None) => {
                tokio::select! {
                    () = runner.jobs().ready.notified() => {}
                    () = tokio::time::sleep(poll) => {}
                    _ = stopped.changed() => {}
                }
            }
            Err(error) => {
                tracing::warn!(worker = %runner.name(), error = %error, "claiming a job failed");
                tokio::time::sleep(poll).await;
            }
        }
    }
}

//! How an idle worker waits for work without missing any: it registers for this node's
//! wake-up *before* it looks for due jobs, so a job enqueued while it looks (and the wake-up
//! that comes with it) is never lost; then, finding none, it sleeps until the next job falls
//! due, the wake-up, or the poll interval (for jobs another node enqueued), whichever is first.

use std::future::Future;
use std::time::Duration;

use tokio::sync::{Notify, watch};

/// What looking for work found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Looked {
    /// It ran something: look again at once.
    Worked,
    /// Nothing was due: wait at most this long (until the next job falls due, or the poll).
    Idle(Duration),
    /// Looking failed (the database): wait the poll interval before looking again.
    Failed,
}

/// Runs `look` until `stopped` says so, waiting between idle looks as the module says: for
/// `ready`'s wake-up (registered before each look), `Looked::Idle`'s time, or the stop.
pub(super) async fn work_until_stopped<F, Fut>(
    ready: &Notify,
    poll: Duration,
    mut stopped: watch::Receiver<bool>,
    mut look: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Looked>,
{
    while !*stopped.borrow() {
        let woken = ready.notified();
        tokio::pin!(woken);
        // From here a wake-up is kept for this worker, even one that comes while it looks.
        woken.as_mut().enable();
        let wait = match look().await {
            Looked::Worked => continue,
            Looked::Idle(until_due) => until_due.min(poll),
            Looked::Failed => poll,
        };
        tokio::select! {
            () = &mut woken => {}
            () = tokio::time::sleep(wait) => {}
            _ = stopped.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// The race the old worker lost: a job enqueued (and its wake-up sent) while the worker
    /// looks and finds nothing. The look here sends the wake-up itself, at that very moment;
    /// the worker must look again at once, not after its poll interval. Time is the test's
    /// (paused): had the worker slept, the clock would have jumped an hour.
    #[tokio::test(start_paused = true)]
    async fn a_wake_up_sent_while_the_worker_looks_is_not_missed() {
        let ready = Notify::new();
        let (stop, stopped) = watch::channel(false);
        let looks = AtomicUsize::new(0);
        let hour = Duration::from_secs(3600);
        let started = tokio::time::Instant::now();
        work_until_stopped(&ready, hour, stopped, || {
            let look = looks.fetch_add(1, Ordering::SeqCst);
            if look == 0 {
                // A writer enqueues a job while the worker looks, and wakes the idle workers.
                ready.notify_waiters();
            } else {
                let _ = stop.send(true);
            }
            async { Looked::Idle(hour) }
        })
        .await;
        assert_eq!(looks.load(Ordering::SeqCst), 2, "it looked again");
        assert_eq!(
            tokio::time::Instant::now(),
            started,
            "it looked again without waiting for its poll"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_worker_sleeps_until_the_next_job_falls_due_not_the_whole_poll() {
        let ready = Notify::new();
        let (stop, stopped) = watch::channel(false);
        let looks = AtomicUsize::new(0);
        let started = tokio::time::Instant::now();
        work_until_stopped(&ready, Duration::from_secs(3600), stopped, || {
            if looks.fetch_add(1, Ordering::SeqCst) == 1 {
                let _ = stop.send(true);
            }
            async { Looked::Idle(Duration::from_millis(250)) }
        })
        .await;
        assert_eq!(
            tokio::time::Instant::now() - started,
            Duration::from_millis(250)
        );
    }
}

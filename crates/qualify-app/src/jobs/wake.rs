//! How an idle worker waits for work without missing any, and without being woken for nothing.
//! It registers for its lane's wake-up *before* it looks for due jobs, so a job committed while
//! it looks (and the wake-up that comes with it) is never lost; then, finding none, it says when
//! it will look again and sleeps until then: the next job's due time, or the poll interval (for
//! jobs another node enqueued), whichever is first. A commit wakes the lane only for a job due
//! before that: a submission whose decision is due in two days costs the idle workers nothing.

use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use qualify_types::Timestamp;
use tokio::sync::{Notify, watch};

use crate::clock::Clock;

/// What looking for work found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Looked {
    /// It ran something, or something fell due while it looked: look again at once.
    Worked,
    /// Nothing it could run was due: wait at most this long (until the next job falls due, or
    /// the poll).
    Idle(Duration),
    /// Looking failed (the database): wait the poll interval before looking again.
    Failed,
}

/// What wakes one lane's idle workers on this node.
#[derive(Debug)]
pub(crate) struct LaneWake {
    ready: Notify,
    /// When the lane's idle workers look again at the latest (server clock, Unix ms): the
    /// last one to finish looking says so; `i64::MAX` while one is looking, so that anything
    /// committed meanwhile wakes it.
    next_look: AtomicI64,
}

impl Default for LaneWake {
    fn default() -> Self {
        Self {
            ready: Notify::new(),
            next_look: AtomicI64::new(i64::MAX),
        }
    }
}

impl LaneWake {
    /// A job of the lane due at `due` was committed: wakes the idle workers if they would look
    /// again only after it falls due. Otherwise the last worker to look wakes by then anyway
    /// (it said so), and finds it.
    pub(crate) fn committed(&self, due: Timestamp) {
        if due.unix_millis() < self.next_look.load(Ordering::SeqCst) {
            self.ready.notify_waiters();
        }
    }
}

/// Runs `look` until `stopped` says so, waiting between idle looks as the module says: for the
/// lane's wake-up or `freed` (registered before each look), `Looked::Idle`'s time, or the stop.
pub(super) async fn work_until_stopped<F, Fut>(
    lane: &LaneWake,
    freed: Option<&Notify>,
    clock: &Clock,
    poll: Duration,
    mut stopped: watch::Receiver<bool>,
    mut look: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Looked>,
{
    // A worker without slots to free waits on one that is never notified.
    let never = Notify::new();
    let freed = freed.unwrap_or(&never);
    while !*stopped.borrow() {
        let woken = lane.ready.notified();
        let slot_freed = freed.notified();
        tokio::pin!(woken, slot_freed);
        // From here a wake-up is kept for this worker, even one that comes while it looks.
        woken.as_mut().enable();
        slot_freed.as_mut().enable();
        lane.next_look.store(i64::MAX, Ordering::SeqCst);
        let wait = match look().await {
            Looked::Worked => continue,
            Looked::Idle(until_due) => until_due.min(poll),
            Looked::Failed => poll,
        };
        let wait_ms = i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
        lane.next_look.store(
            clock.now().unix_millis().saturating_add(wait_ms),
            Ordering::SeqCst,
        );
        tokio::select! {
            () = &mut woken => {}
            () = &mut slot_freed => {}
            () = tokio::time::sleep(wait) => {}
            _ = stopped.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use futures::FutureExt;

    use super::*;
    use crate::clock::ManualClock;

    /// The race the old worker lost: a job enqueued (and its wake-up sent) while the worker
    /// looks and finds nothing. The look here commits the job itself, at that very moment; the
    /// worker must look again at once, not after its poll interval. Time is the test's
    /// (paused): had the worker slept, the clock would have jumped an hour.
    #[tokio::test(start_paused = true)]
    async fn a_job_committed_while_the_worker_looks_is_not_missed() {
        let lane = LaneWake::default();
        let clock = ManualClock::starting_at(Timestamp::from_unix_millis(1_000_000).unwrap());
        let (stop, stopped) = watch::channel(false);
        let looks = AtomicUsize::new(0);
        let hour = Duration::from_secs(3600);
        let started = tokio::time::Instant::now();
        work_until_stopped(&lane, None, &clock.clock(), hour, stopped, || {
            let look = looks.fetch_add(1, Ordering::SeqCst);
            if look == 0 {
                // A writer commits a job due in a week while the worker looks.
                lane.committed(clock.now().plus_millis(7 * 24 * 3600 * 1000));
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
        let lane = LaneWake::default();
        let (stop, stopped) = watch::channel(false);
        let looks = AtomicUsize::new(0);
        let started = tokio::time::Instant::now();
        let clock = Clock::wall();
        work_until_stopped(
            &lane,
            None,
            &clock,
            Duration::from_secs(3600),
            stopped,
            || {
                if looks.fetch_add(1, Ordering::SeqCst) == 1 {
                    let _ = stop.send(true);
                }
                async { Looked::Idle(Duration::from_millis(250)) }
            },
        )
        .await;
        assert_eq!(
            tokio::time::Instant::now() - started,
            Duration::from_millis(250)
        );
    }

    /// Idle workers that look again in a second are not woken by a job due in two days (the
    /// submission of a timed rule's request), and are by one due before their next look.
    #[test]
    fn only_a_job_due_before_the_next_look_wakes_the_lane() {
        let lane = LaneWake::default();
        let now = Timestamp::from_unix_millis(1_000_000).unwrap();
        lane.next_look
            .store(now.unix_millis() + 1000, Ordering::SeqCst);
        let woken = lane.ready.notified();
        futures::pin_mut!(woken);
        woken.as_mut().enable();
        lane.committed(now.plus_millis(2 * 24 * 3600 * 1000));
        assert!(woken.as_mut().now_or_never().is_none(), "not woken");
        lane.committed(now.plus_millis(10));
        assert!(woken.as_mut().now_or_never().is_some(), "woken");
    }

    /// A delivery's end frees a slot (or lets the next of its sequence run): the dispatcher,
    /// idle for its poll, looks again at once.
    #[tokio::test(start_paused = true)]
    async fn a_freed_slot_wakes_the_dispatcher() {
        let lane = LaneWake::default();
        let freed = Notify::new();
        let (stop, stopped) = watch::channel(false);
        let looks = AtomicUsize::new(0);
        let hour = Duration::from_secs(3600);
        let started = tokio::time::Instant::now();
        let clock = Clock::wall();
        let dispatcher = work_until_stopped(&lane, Some(&freed), &clock, hour, stopped, || {
            if looks.fetch_add(1, Ordering::SeqCst) == 1 {
                let _ = stop.send(true);
            }
            async { Looked::Idle(hour) }
        });
        let finishing = async {
            tokio::task::yield_now().await;
            freed.notify_waiters();
        };
        tokio::join!(dispatcher, finishing);
        assert_eq!(looks.load(Ordering::SeqCst), 2);
        assert_eq!(tokio::time::Instant::now(), started, "without its poll");
    }
}

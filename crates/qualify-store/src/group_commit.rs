//! Group commit for SQLite: many transactions, one fsync.
//!
//! With `synchronous=FULL`, SQLite fsyncs the write-ahead log inside every commit, on the one
//! writer connection, so throughput is capped by the disk's fsyncs per second. Instead the
//! connection runs with `synchronous=NORMAL` (the commit writes the log without an fsync) and
//! each committer, before its write is acknowledged, waits here until an fsync of the log that
//! started after its commit has finished. One fsync in flight at a time covers every commit made
//! before it began, so under load each fsync acknowledges many transactions, and no write is
//! acknowledged before it is on disk: the durability of `FULL`, at the cost of latency only.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::Notify;

use crate::StoreError;
use crate::metrics::WriteMetrics;

/// The fsync coordinator of one SQLite database.
#[derive(Debug)]
pub(crate) struct GroupCommit {
    /// The write-ahead log (`<database>-wal`).
    wal: PathBuf,
    /// Commits made so far (each takes the next number once its commit returned).
    committed: AtomicU64,
    /// Every commit numbered up to this is on disk.
    synced: AtomicU64,
    /// Whether an fsync is in flight.
    syncing: AtomicBool,
    /// Woken after each fsync.
    done: Notify,
    /// How long fsyncs take and how many commits each covers.
    metrics: WriteMetrics,
}

impl GroupCommit {
    pub(crate) fn new(database: &std::path::Path, metrics: WriteMetrics) -> Self {
        let mut wal = database.as_os_str().to_owned();
        wal.push("-wal");
        Self {
            wal: PathBuf::from(wal),
            committed: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            syncing: AtomicBool::new(false),
            done: Notify::new(),
            metrics,
        }
    }

    /// Returns once the transaction that just committed on this database is on disk.
    pub(crate) async fn after_commit(&self) -> Result<(), StoreError> {
        let ticket = self.committed.fetch_add(1, Ordering::AcqRel) + 1;
        loop {
            let woken = self.done.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if self.synced.load(Ordering::Acquire) >= ticket {
                return Ok(());
            }
            if self.syncing.swap(true, Ordering::AcqRel) {
                woken.await; // someone else's fsync is in flight; it may or may not cover us
                continue;
            }
            // This caller syncs for everyone who committed before now. The guard ends the
            // fsync's turn however this returns, even if the caller is cancelled mid-way, so
            // nobody waits on an fsync that will never finish.
            let in_flight = SyncInFlight(self);
            let covered = self.committed.load(Ordering::Acquire);
            let wal = self.wal.clone();
            let started = std::time::Instant::now();
            let synced =
                tokio::task::spawn_blocking(move || std::fs::File::open(&wal)?.sync_data())
                    .await
                    .unwrap_or_else(|join| Err(std::io::Error::other(join)));
            if let Err(error) = synced {
                return Err(StoreError::internal("syncing the write-ahead log", error));
            }
            self.metrics
                .fsync_seconds
                .observe(started.elapsed().as_secs_f64());
            let before = self.synced.fetch_max(covered, Ordering::AcqRel);
            self.metrics
                .commits_per_fsync
                .observe(covered.saturating_sub(before) as f64);
            drop(in_flight);
        }
    }
}

/// An fsync in flight: when dropped, lets the next caller start one and wakes the waiters.
struct SyncInFlight<'a>(&'a GroupCommit);

impl Drop for SyncInFlight<'_> {
    fn drop(&mut self) {
        self.0.syncing.store(false, Ordering::Release);
        self.0.done.notify_waiters();
    }
}

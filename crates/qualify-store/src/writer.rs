//! The SQLite writer: one connection, and concurrent write transactions batched into one.
//!
//! SQLite has one writer at a time, and each commit writes every page it changed to the log
//! (and, for durability, fsyncs it). One transaction per request caps writes at a few thousand a
//! second however fast the disk. So concurrent writers share a transaction instead: the first
//! opens it, each runs its statements inside its own savepoint (released on success, rolled back
//! on failure, so one request's failure never touches another's writes), and the last writer
//! present commits for everyone; they all learn the commit's outcome (after its fsync, see
//! `group_commit.rs`) before answering. Nothing is acknowledged before it is durable, and a
//! request sees the writes of those before it in the batch, as if they ran one after another.
//!
//! Statements run in the calling thread (`db/mod.rs` says why); only the waits leave it: for
//! SQLite's write lock (held by another process, such as `qualify admin`), retried between
//! sleeps rather than inside SQLite, and for a commit, which writes the log and, rarely,
//! checkpoints it (`checkpoint.rs`).
//!
//! Requests are cancelled at any await (their client went away, the server stops). A turn is
//! cancelled only while waiting for the connection or the write lock (before anything began),
//! inside its own statements (its savepoint is then marked abandoned and rolled back by whoever
//! takes the connection next, or a clean-up task), or while waiting for its batch's commit,
//! which runs in a task of its own so that it always reports to the writers who wait on it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use prometheus_client::metrics::histogram::Histogram;
use rusqlite::Connection;
use tokio::sync::{Mutex, Notify, OwnedMutexGuard};

use crate::StoreError;
use crate::checkpoint::Checkpoints;
use crate::group_commit::GroupCommit;
use crate::read_cache::AfterCommit;
use crate::read_cache::changes::{Capture, Changed};

/// How many writers may share one transaction before it is committed regardless.
const MAX_BATCH: usize = 128;
/// How long a batch may stay open while writers keep arriving.
const MAX_BATCH_AGE: Duration = Duration::from_millis(5);
/// How long a writer waits for its batch's commit before checking whether it must commit it.
const WATCHDOG: Duration = Duration::from_millis(20);
/// The longest pause between attempts to take SQLite's write lock.
const MAX_LOCK_RETRY: Duration = Duration::from_millis(50);

/// One shared transaction, and the outcome of its commit once known.
#[derive(Debug)]
struct Batch {
    /// The commit's outcome, once it is durable.
    outcome: OnceLock<Result<(), String>>,
    committed: Notify,
    /// The commit's outcome, once it is written (seen by every reader), durable or not yet.
    written: OnceLock<Result<(), String>>,
    written_notify: Notify,
    /// Writers whose writes the batch holds (or will, once their turn ends).
    writers: AtomicUsize,
    /// Those of them who wait for their writes to be durable: without any, the batch is
    /// committed without an fsync (the next one's covers it).
    flushed_writers: AtomicUsize,
    opened: Instant,
}

impl Batch {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            outcome: OnceLock::new(),
            committed: Notify::new(),
            written: OnceLock::new(),
            written_notify: Notify::new(),
            writers: AtomicUsize::new(0),
            flushed_writers: AtomicUsize::new(0),
            opened: Instant::now(),
        })
    }

    fn publish(&self, outcome: Result<(), String>) {
        // Durable is written too (a failed commit is both at once).
        self.written(outcome.clone());
        let _ = self.outcome.set(outcome);
        self.committed.notify_waiters();
    }

    fn written(&self, outcome: Result<(), String>) {
        let _ = self.written.set(outcome);
        self.written_notify.notify_waiters();
    }

    fn is_full(&self) -> bool {
        self.writers.load(Ordering::Acquire) >= MAX_BATCH || self.opened.elapsed() >= MAX_BATCH_AGE
    }
}

/// The connection and what is open on it.
#[derive(Debug)]
struct State {
    conn: Connection,
    /// The open transaction's batch.
    open: Option<Arc<Batch>>,
    /// A writer's savepoint is open without a writer: it was cancelled and must be rolled back.
    abandoned_savepoint: bool,
    checkpoints: Checkpoints,
    /// Writes per committed transaction, for Prometheus.
    batch_writes: Histogram,
    /// What the connection's statements change, noted once the schema exists
    /// (`read_cache/changes.rs`).
    capture: Option<Capture>,
    /// Who is told what a commit changed, before its writers are.
    after_commit: Option<AfterCommit>,
}

impl State {
    fn roll_back_abandoned(&mut self) -> Result<(), StoreError> {
        if self.abandoned_savepoint {
            self.conn
                .execute_batch("ROLLBACK TO writer; RELEASE writer")?;
            self.abandoned_savepoint = false;
        }
        Ok(())
    }

    /// Ends whatever transaction is open: rolls back an abandoned savepoint, then commits the
    /// open batch. A failure rolls the whole transaction back, so that the connection is left
    /// outside any transaction either way.
    fn close_transaction(&mut self) -> (Option<Arc<Batch>>, Result<(), String>) {
        let abandoned = self.roll_back_abandoned();
        self.abandoned_savepoint = false;
        let Some(batch) = self.open.take() else {
            return (None, abandoned.map_err(|e| e.to_string()));
        };
        let committed = abandoned
            .and_then(|()| self.take_changes())
            .and_then(|changed| {
                self.conn.execute_batch("COMMIT")?;
                Ok(changed)
            });
        match &committed {
            Ok(changed) => {
                if let Some(after_commit) = &self.after_commit {
                    after_commit.committed(changed);
                }
                // A batch whose writers all rolled back commits nothing of theirs.
                let writes = batch.writers.load(Ordering::Acquire);
                if writes > 0 {
                    self.batch_writes.observe(writes as f64);
                }
                self.checkpoints.after_commit(&self.conn);
            }
            Err(_) => drop(self.conn.execute_batch("ROLLBACK")),
        }
        (Some(batch), committed.map(drop).map_err(|e| e.to_string()))
    }

    /// What the open transaction changed that cached reads depend on.
    fn take_changes(&self) -> Result<Changed, StoreError> {
        match &self.capture {
            Some(capture) => capture.take(&self.conn),
            None => Ok(Changed::Nothing),
        }
    }
}

/// The single writer of one SQLite database.
#[derive(Debug)]
pub(crate) struct Writer {
    state: Arc<Mutex<State>>,
    /// Writers waiting for the connection: while any are, the batch stays open for them.
    waiting: AtomicUsize,
    group_commit: Option<Arc<GroupCommit>>,
    /// How long to wait for SQLite's write lock when another process holds it.
    lock_timeout: Duration,
}

/// A writer counted in `Writer::waiting` for as long as it waits, cancelled or not.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn join(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        Self(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One writer's turn on the connection, inside its savepoint.
pub(crate) struct Turn {
    writer: Arc<Writer>,
    guard: Option<OwnedMutexGuard<State>>,
    batch: Arc<Batch>,
}

fn failed(error: impl std::fmt::Display) -> StoreError {
    StoreError::internal("committing a batch of writes", error.to_string())
}

impl Writer {
    pub(crate) fn new(
        conn: Connection,
        group_commit: Option<Arc<GroupCommit>>,
        lock_timeout: Duration,
        batch_writes: Histogram,
        after_commit: Option<AfterCommit>,
    ) -> Arc<Self> {
        Arc::new(Self {
            state: Arc::new(Mutex::new(State {
                checkpoints: Checkpoints::take_over(&conn),
                conn,
                open: None,
                abandoned_savepoint: false,
                batch_writes,
                capture: None,
                after_commit,
            })),
            waiting: AtomicUsize::new(0),
            group_commit,
            lock_timeout,
        })
    }

    /// From now on, notes what each transaction changes and tells `after_commit` (see
    /// `read_cache/changes.rs`); called once the schema exists (the migrations' writes are
    /// not noted: nothing has read the database yet).
    pub(crate) async fn capture_changes(&self) -> Result<(), StoreError> {
        let mut state = self.state.lock().await;
        state.capture = Some(Capture::install(&state.conn)?);
        Ok(())
    }

    /// Commits whatever is open and holds the connection idle until the returned guard is
    /// dropped: no batch begins meanwhile (while migrations run, say).
    pub(crate) async fn pause(&self) -> Result<impl Sized + '_, StoreError> {
        let mut state = self.state.lock().await;
        let (batch, committed) = state.close_transaction();
        publish(batch, committed, self.group_commit.as_deref())
            .await
            .map_err(failed)?;
        Ok(state)
    }

    /// Commits whatever is open, before the store closes.
    pub(crate) async fn close(&self) {
        let _ = self.pause().await;
    }

    /// Takes a turn: waits for the connection, joins (or opens) the batch, opens a savepoint.
    pub(crate) async fn turn(self: &Arc<Self>) -> Result<Turn, StoreError> {
        let mut state = {
            let _waiting = Waiting::join(&self.waiting);
            Arc::clone(&self.state).lock_owned().await
        };
        state.roll_back_abandoned()?;
        let batch = match &state.open {
            Some(batch) => Arc::clone(batch),
            None => {
                self.begin_immediate(&mut state).await?;
                let batch = Batch::new();
                state.open = Some(Arc::clone(&batch));
                batch
            }
        };
        // From here to the turn's creation nothing awaits, so nothing can be cancelled half-way.
        state.conn.execute_batch("SAVEPOINT writer")?;
        state.abandoned_savepoint = true; // until the turn ends properly
        batch.writers.fetch_add(1, Ordering::AcqRel);
        Ok(Turn {
            writer: Arc::clone(self),
            guard: Some(state),
            batch,
        })
    }

    /// Begins the batch's transaction. IMMEDIATE takes the write lock up front, so a batch that
    /// reads and then writes can't fail half-way because another process wrote in between; while
    /// another process holds the lock, this retries between sleeps (the connection's busy
    /// timeout is zero, so SQLite itself never blocks the thread).
    async fn begin_immediate(&self, state: &mut State) -> Result<(), StoreError> {
        let deadline = Instant::now() + self.lock_timeout;
        let mut pause = Duration::from_millis(1);
        loop {
            let attempt = state.conn.execute_batch("BEGIN IMMEDIATE");
            match attempt {
                Err(rusqlite::Error::SqliteFailure(failure, _))
                    if failure.code == rusqlite::ErrorCode::DatabaseBusy
                        && Instant::now() < deadline =>
                {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_LOCK_RETRY);
                }
                attempt => return Ok(attempt?),
            }
        }
    }

    /// Settles the connection a little later, should no writer come to do it: a cancelled turn
    /// leaves an open savepoint and transaction that would hold SQLite's write lock.
    fn clean_up_later(self: Arc<Self>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            tokio::time::sleep(WATCHDOG).await;
            if self.waiting.load(Ordering::Acquire) > 0 {
                return; // the next writer takes over
            }
            if let Ok(state) = Arc::clone(&self.state).try_lock_owned() {
                let _ = commit_batch(state, self.group_commit.clone()).await;
            }
        });
    }
}

/// Makes a committed batch durable, then tells its writers the outcome.
async fn publish(
    batch: Option<Arc<Batch>>,
    committed: Result<(), String>,
    group_commit: Option<&GroupCommit>,
) -> Result<(), String> {
    let Some(batch) = batch else {
        return committed;
    };
    let outcome = match (committed, group_commit) {
        (Ok(()), Some(group_commit)) => {
            group_commit.after_commit().await.map_err(|e| e.to_string())
        }
        (committed, _) => committed,
    };
    batch.publish(outcome.clone());
    outcome
}

/// Commits the open batch, releases the connection, makes the batch durable, tells its writers.
/// Only ever awaited inside a task of its own, so that a commit once begun always reports.
async fn commit_batch(
    state: OwnedMutexGuard<State>,
    group_commit: Option<Arc<GroupCommit>>,
) -> Result<(), String> {
    let open = state.open.clone();
    // A commit may checkpoint the log into the database (copying pages, with fsyncs): not on
    // the runtime's threads. The connection is released as soon as it is done, so the next
    // batch may begin while this one is made durable.
    let closed = tokio::task::spawn_blocking(move || {
        let mut state = state;
        state.close_transaction()
    })
    .await;
    let (batch, committed) = closed.unwrap_or_else(|join| (open, Err(join.to_string())));
    if let Some(batch) = &batch {
        batch.written(committed.clone());
    }
    publish(batch, committed, group_commit.as_deref()).await
}

impl Turn {
    /// The connection, inside this turn's savepoint.
    pub(crate) fn conn(&mut self) -> &mut Connection {
        &mut self
            .guard
            .as_mut()
            .expect("a turn holds the connection until it ends")
            .conn
    }

    /// Ends the turn: keeps its writes (`keep`) or undoes them, then returns once the batch they
    /// belong to is committed and durable; without `flush`, once it is committed (seen by
    /// every reader), not waiting for its fsync: it is durable with the next one (for writes
    /// whose loss in a crash only repeats work). Committing is the job of the last writer
    /// present.
    pub(crate) async fn finish(mut self, keep: bool, flush: bool) -> Result<(), StoreError> {
        let mut state = self.guard.take().expect("a turn ends once");
        // The turn itself is not held across the awaits below: it is not `Sync` (a connection
        // is not), and nothing of it is needed once the connection is taken out of it.
        let writer = Arc::clone(&self.writer);
        let batch = Arc::clone(&self.batch);
        drop(self);
        let close = if keep {
            "RELEASE writer"
        } else {
            "ROLLBACK TO writer; RELEASE writer"
        };
        if let Err(error) = state.conn.execute_batch(close) {
            batch.writers.fetch_sub(1, Ordering::AcqRel);
            drop(state);
            writer.clean_up_later();
            return Err(error.into());
        }
        state.abandoned_savepoint = false;
        if !keep {
            batch.writers.fetch_sub(1, Ordering::AcqRel);
        } else if flush {
            batch.flushed_writers.fetch_add(1, Ordering::AcqRel);
        }
        let last_present = writer.waiting.load(Ordering::Acquire) == 0;
        if !last_present && !batch.is_full() {
            drop(state); // the next writer continues the batch
            return match keep {
                true => await_commit(&writer, &batch, flush).await,
                false => Ok(()),
            };
        }
        // A batch of nobody's durable writes needs no fsync.
        let holds_writes = batch.flushed_writers.load(Ordering::Acquire) > 0;
        let group_commit = writer.group_commit.clone().filter(|_| holds_writes);
        let committing = tokio::spawn(commit_batch(state, group_commit));
        if !keep {
            return Ok(()); // nothing of this writer's is in it
        }
        if !flush {
            return await_commit(&writer, &batch, false).await;
        }
        committing
            .await
            .unwrap_or_else(|join| Err(join.to_string()))
            .map_err(failed)
    }
}

/// Waits for `batch` to be committed and (with `flush`) durable; commits it if nobody else is
/// left to.
async fn await_commit(
    writer: &Arc<Writer>,
    batch: &Arc<Batch>,
    flush: bool,
) -> Result<(), StoreError> {
    let (outcome, notify) = match flush {
        true => (&batch.outcome, &batch.committed),
        false => (&batch.written, &batch.written_notify),
    };
    loop {
        let woken = notify.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        if let Some(outcome) = outcome.get() {
            return outcome.clone().map_err(failed);
        }
        if tokio::time::timeout(WATCHDOG, woken).await.is_ok() {
            continue;
        }
        // Nobody committed yet: if the connection is free and the batch still open (its last
        // writer was cancelled, say), commit it.
        let Ok(state) = Arc::clone(&writer.state).try_lock_owned() else {
            continue;
        };
        if state
            .open
            .as_ref()
            .is_some_and(|open| Arc::ptr_eq(open, batch))
        {
            tokio::spawn(commit_batch(state, writer.group_commit.clone()));
        }
    }
}

impl Drop for Turn {
    /// A turn dropped before it ended was cancelled: its savepoint stays marked abandoned for
    /// the next writer to roll back, and the connection is cleaned up in case none comes.
    fn drop(&mut self) {
        if let Some(state) = self.guard.take() {
            self.batch.writers.fetch_sub(1, Ordering::AcqRel);
            drop(state);
            Arc::clone(&self.writer).clean_up_later();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    /// A writer of a new database holding `schema`, with group commit or without (no fsyncs:
    /// for tests of what reaches the files, not of durability).
    fn writer_of(schema: &str, group_commit: bool) -> (tempfile::TempDir, PathBuf, Arc<Writer>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let conn = crate::db::open_writer(&path, Duration::from_secs(1)).unwrap();
        conn.execute_batch(schema).unwrap();
        let metrics = crate::metrics::WriteMetrics::default();
        let group_commit = group_commit.then(|| Arc::new(GroupCommit::new(&path, metrics.clone())));
        let writer = Writer::new(
            conn,
            group_commit,
            Duration::from_secs(5),
            metrics.batch_writes,
            None,
        );
        (dir, path, writer)
    }

    async fn setup() -> (tempfile::TempDir, PathBuf, Arc<Writer>) {
        // As the store runs it: durability by group commit.
        writer_of("CREATE TABLE t (n INTEGER NOT NULL UNIQUE)", true)
    }

    /// Runs `f` as another process would: on a connection of its own, waiting up to 5 s for
    /// SQLite's locks, on a thread of its own so the writer's tasks go on meanwhile.
    async fn in_other_process<T: Send + 'static>(
        path: &Path,
        f: impl FnOnce(&Connection) -> T + Send + 'static,
    ) -> T {
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || {
            let conn = Connection::open(path).unwrap();
            conn.busy_timeout(Duration::from_secs(5)).unwrap();
            f(&conn)
        })
        .await
        .unwrap()
    }

    async fn count(path: &Path) -> i64 {
        in_other_process(path, |conn| {
            conn.query_row("SELECT COUNT(*) FROM t", [], |row| row.get(0))
                .unwrap()
        })
        .await
    }

    /// Every row, read inside a write transaction: proof that the write lock is free.
    async fn rows_taking_the_write_lock(path: &Path, insert: Option<i64>) -> Vec<i64> {
        in_other_process(path, move |conn| {
            conn.execute_batch("BEGIN IMMEDIATE").unwrap();
            if let Some(n) = insert {
                conn.execute("INSERT INTO t (n) VALUES (?1)", [n]).unwrap();
            }
            let mut statement = conn.prepare("SELECT n FROM t ORDER BY n").unwrap();
            let rows = statement
                .query_map([], |row| row.get(0))
                .unwrap()
                .collect::<Result<Vec<i64>, _>>()
                .unwrap();
            drop(statement);
            conn.execute_batch("COMMIT").unwrap();
            rows
        })
        .await
    }

    async fn insert(writer: &Arc<Writer>, n: i64) -> Result<(), StoreError> {
        let mut turn = writer.turn().await?;
        let inserted = turn.conn().execute("INSERT INTO t (n) VALUES (?1)", [n]);
        turn.finish(inserted.is_ok(), true).await?;
        inserted.map(|_| ()).map_err(StoreError::from)
    }

    /// Commits `count` rows of about a page each, one commit per row, and returns the longest
    /// the write-ahead log grew meanwhile (in bytes).
    async fn commit_pages(writer: &Arc<Writer>, path: &Path, count: usize) -> u64 {
        let wal = path.with_extension("db-wal");
        let fill = vec![7_u8; 4000];
        let mut longest = 0;
        for _ in 0..count {
            let mut turn = writer.turn().await.unwrap();
            turn.conn()
                .execute("INSERT INTO pages (fill) VALUES (?1)", [&fill])
                .unwrap();
            turn.finish(true, true).await.unwrap();
            longest = longest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
        }
        longest
    }

    async fn without_group_commit() -> (tempfile::TempDir, PathBuf, Arc<Writer>) {
        writer_of("CREATE TABLE pages (fill BLOB NOT NULL)", false)
    }

    #[tokio::test]
    async fn the_log_is_checkpointed_in_the_background() {
        use crate::checkpoint::BACKGROUND_FRAMES;
        let (_dir, path, writer) = without_group_commit().await;
        let pages = usize::try_from(BACKGROUND_FRAMES).unwrap() + 100;
        commit_pages(&writer, &path, pages).await;
        // Nobody checkpoints on the writer's connection below the blocking threshold (the WAL
        // hook replaced SQLite's automatic checkpoint), so only the background checkpoint can
        // copy the rows into the database file. Wait for it, however slow the machine. Each
        // commit adds a leaf page and rewrites an interior one or two, so the first background
        // checkpoint starts a few hundred rows in, and a later one may still be running after
        // the last commit: how many rows end up copied depends on timing, but never fewer than
        // the 100 asked for here (the file holds 2 pages before).
        let copied = 4096 * 100;
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::fs::metadata(&path).unwrap().len() < copied {
            assert!(Instant::now() < deadline, "no background checkpoint ran");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let rows = in_other_process(&path, |conn| {
            conn.query_row("SELECT COUNT(*) FROM pages", [], |row| row.get::<_, i64>(0))
                .unwrap()
        })
        .await;
        assert_eq!(rows, i64::try_from(pages).unwrap());
    }

    #[tokio::test]
    async fn the_log_stays_bounded_under_sustained_writes() {
        use crate::checkpoint::BLOCKING_FRAMES;
        let (_dir, path, writer) = without_group_commit().await;
        // A reader that keeps its snapshot stops checkpoints (of any kind) at its snapshot;
        // released, the next checkpoint can copy everything. Writes go on meanwhile.
        let reader = Connection::open(&path).unwrap();
        reader
            .execute_batch("BEGIN; SELECT COUNT(*) FROM pages;")
            .unwrap();
        let blocking = usize::try_from(BLOCKING_FRAMES).unwrap();
        commit_pages(&writer, &path, blocking / 8).await;
        reader.execute_batch("COMMIT").unwrap();
        drop(reader);
        // Background checkpoints alone seldom let the log start over: the writer's next
        // transaction often begins before they finish. Past the blocking threshold the writer
        // checkpoints itself and the log starts over. Each commit here appends three frames
        // (4 KiB pages with a 24-byte header); the file keeps the longest length it reached.
        let longest = commit_pages(&writer, &path, 2 * blocking).await;
        let bound = (u64::try_from(BLOCKING_FRAMES).unwrap() + 16) * (4096 + 24) + 32;
        assert!(
            longest <= bound,
            "the log grew to {longest} bytes, past {bound}"
        );
    }

    #[tokio::test]
    async fn concurrent_writers_share_commits_and_a_failure_undoes_only_its_own_writes() {
        let (_dir, path, writer) = setup().await;
        let tasks: Vec<_> = (0..64)
            .map(|n| {
                let writer = Arc::clone(&writer);
                // Every tenth writer collides with an earlier one's value and fails.
                tokio::spawn(
                    async move { insert(&writer, if n % 10 == 9 { n - 1 } else { n }).await },
                )
            })
            .collect();
        let mut ok = 0;
        for task in tasks {
            if task.await.unwrap().is_ok() {
                ok += 1;
            }
        }
        assert_eq!(ok, 58);
        // Acknowledged means committed: another connection sees exactly those.
        assert_eq!(count(&path).await, 58);
    }

    #[tokio::test]
    async fn a_cancelled_writer_is_rolled_back_and_the_write_lock_released() {
        let (_dir, path, writer) = setup().await;
        {
            let mut turn = writer.turn().await.unwrap();
            turn.conn()
                .execute("INSERT INTO t (n) VALUES (1)", [])
                .unwrap();
            // Dropped without finishing: its request was cancelled.
        }
        // Another process can take the write lock once the clean-up ran (busy timeout 5 s).
        assert_eq!(rows_taking_the_write_lock(&path, Some(2)).await, [2]);
        insert(&writer, 3).await.unwrap();
        assert_eq!(count(&path).await, 2, "the cancelled writer's row is gone");
    }

    #[tokio::test]
    async fn a_writer_cancelled_while_others_wait_does_not_strand_their_batch() {
        let (_dir, path, writer) = setup().await;
        let mut first = writer.turn().await.unwrap();
        first
            .conn()
            .execute("INSERT INTO t (n) VALUES (1)", [])
            .unwrap();
        let follower = {
            let writer = Arc::clone(&writer);
            tokio::spawn(async move { insert(&writer, 2).await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await; // the follower queues for the connection
        drop(first);
        follower.await.unwrap().unwrap();
        assert_eq!(count(&path).await, 1, "only the follower's row");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writers_cancelled_at_any_point_never_strand_the_others() {
        let (_dir, path, writer) = setup().await;
        let writers: Vec<_> = (0..300)
            .map(|n| {
                let writer = Arc::clone(&writer);
                let task = tokio::spawn(async move { insert(&writer, n).await.map(|()| n) });
                (n, task)
            })
            .collect();
        // Cancel every third writer after a varying number of scheduler turns, so that
        // cancellations land while waiting, inside a turn, while committing and while syncing.
        let (cancelled, kept): (Vec<_>, Vec<_>) =
            writers.into_iter().partition(|(n, _)| n % 3 == 0);
        for (n, task) in cancelled {
            for _ in 0..(n % 7) {
                tokio::task::yield_now().await;
            }
            task.abort();
        }
        let mut acknowledged = Vec::new();
        for (_, task) in kept {
            let outcome = tokio::time::timeout(Duration::from_secs(60), task)
                .await
                .expect("a writer was stranded waiting for a commit");
            acknowledged.push(outcome.unwrap().unwrap());
        }
        // Everything acknowledged is committed, and the write lock is free for another process.
        let rows: std::collections::HashSet<i64> = rows_taking_the_write_lock(&path, None)
            .await
            .into_iter()
            .collect();
        assert!(acknowledged.iter().all(|n| rows.contains(n)));
        assert_eq!(acknowledged.len(), 200);
        // And the writer still works.
        insert(&writer, 1000).await.unwrap();
    }
}

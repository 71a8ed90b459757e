//! Reads that concurrent requests make alike (every GET's caller status and customer history),
//! merged into one statement on PostgreSQL's shared connections: each request's key becomes one
//! element of the statement's array parameters, and each row comes back marked with its key's
//! place among them.
//!
//! Why: PostgreSQL's cost of a GET was nearly all the statement's, not its few index lookups.
//! On one machine, pgbench ran the one-key statement 21,000 times a second, and the same
//! statement for sixteen keys 11,000 times a second: eight times the lookups for the same CPU.
//!
//! Nothing waits to fill a batch. While one statement is in flight, requests arriving meanwhile
//! queue, and the next statement takes all of them (up to [`MOST_KEYS`]); a second one is sent
//! alongside only when enough are waiting to be worth a statement of their own. So an idle
//! server sends each read alone and at once, and a busy one sends fewer, larger statements just
//! when statements are what PostgreSQL is short of.
//!
//! Freshness is a single statement's: a batch is sent after every one of its requests arrived,
//! so its snapshot holds every write acknowledged before any of them.

use std::sync::Arc;

use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_postgres::types::ToSql;

use super::FromRow;
use super::pipeline::{Failed, Pipeline, PipelinedRow, postgres_failure};
use crate::StoreError;

/// The most keys in one statement: enough that a busy server's statements are few, few enough
/// that the first request of a batch does not wait long for the last one's rows.
const MOST_KEYS: usize = 64;

/// How many requests must be waiting to send another statement while one is in flight: enough
/// that PostgreSQL's cost per statement is spread thin. Measured with `qualify-bench reads` on a
/// 2-vCPU machine, one node answered 33,600–35,700 GETs a second at 16, 21,000–30,000 at 64
/// (the statement in flight alone, mostly), and 24,800–29,400 at 4 (more statements, each
/// costing PostgreSQL more than their overlap gains).
const KEYS_WORTH_ANOTHER: usize = 16;

/// The most requests queued for a batch; more wait to be queued (so memory stays bounded).
const MOST_QUEUED: usize = 4_096;

/// A read that concurrent requests merge.
pub(crate) trait BatchedRead: Send + Sync + 'static {
    /// What one request reads by.
    type Key: Send + 'static;
    /// One of the rows answering a key.
    type Row: FromRow + Send + 'static;
    /// The statement. It takes the keys as arrays (`unnest(…) WITH ORDINALITY`), and its first
    /// column is the place of the key a row answers (BIGINT, from 1).
    const SQL: &'static str;
    /// The statement's parameters for `keys`, in their order.
    fn parameters(keys: &[Self::Key]) -> Vec<Box<dyn ToSql + Send + Sync>>;
}

/// A key's rows, in the statement's order.
type Answer<R> = Result<Vec<<R as BatchedRead>::Row>, StoreError>;

/// One request waiting for its rows.
struct Waiting<R: BatchedRead> {
    key: R::Key,
    answer: oneshot::Sender<Answer<R>>,
}

/// The queue of one kind of read, and the task that sends its batches.
pub(crate) struct Batched<R: BatchedRead> {
    queue: mpsc::Sender<Waiting<R>>,
    /// How many keys each statement read (for Prometheus).
    keys_per_statement: Histogram,
}

impl<R: BatchedRead> std::fmt::Debug for Batched<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batched")
            .field("queued", &(MOST_QUEUED - self.queue.capacity()))
            .finish()
    }
}

impl<R: BatchedRead> Batched<R> {
    /// Starts sending batches on `pipeline`'s connections (a task of the current runtime, which
    /// ends when this is dropped).
    pub(crate) fn start(pipeline: Arc<Pipeline>) -> Self {
        let (queue, waiting) = mpsc::channel(MOST_QUEUED);
        // Powers of two up to `MOST_KEYS`.
        let keys_per_statement = Histogram::new(exponential_buckets(1.0, 2.0, 7));
        tokio::spawn(send_batches(pipeline, waiting, keys_per_statement.clone()));
        Self {
            queue,
            keys_per_statement,
        }
    }

    /// How many keys each statement read.
    pub(crate) fn keys_per_statement(&self) -> &Histogram {
        &self.keys_per_statement
    }

    /// The rows answering `key`, read with whatever other keys are waiting.
    pub(crate) async fn read(&self, key: R::Key) -> Answer<R> {
        let (answer, answered) = oneshot::channel();
        self.queue
            .send(Waiting { key, answer })
            .await
            .map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

/// The batches' task. One statement at a time, which takes every request queued meanwhile; more
/// at once (up to one per shared connection) only while [`KEYS_WORTH_ANOTHER`] requests wait,
/// when the statement in flight is not keeping up.
async fn send_batches<R: BatchedRead>(
    pipeline: Arc<Pipeline>,
    mut waiting: mpsc::Receiver<Waiting<R>>,
    keys_per_statement: Histogram,
) {
    let most_in_flight = pipeline.connections();
    let mut in_flight = JoinSet::new();
    let mut pending: Vec<Waiting<R>> = Vec::new();
    let mut open = true;
    loop {
        while !pending.is_empty()
            && (in_flight.is_empty()
                || (pending.len() >= KEYS_WORTH_ANOTHER && in_flight.len() < most_in_flight))
        {
            let batch: Vec<Waiting<R>> = pending.drain(..pending.len().min(MOST_KEYS)).collect();
            keys_per_statement.observe(batch.len() as f64);
            in_flight.spawn(answer_batch(Arc::clone(&pipeline), batch));
        }
        if !open && in_flight.is_empty() {
            return; // every sender is gone (the store was dropped) and every request answered
        }
        let room = (MOST_KEYS * most_in_flight).saturating_sub(pending.len());
        tokio::select! {
            received = waiting.recv_many(&mut pending, room), if open && room > 0 => {
                open = received > 0;
            }
            // A batch answered (or, had it panicked, its requests' senders dropped: they are
            // told the read failed).
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            // Not reached: with nothing in flight, whatever is pending was just sent, and with
            // no room to receive, a batch is in flight.
            else => return,
        }
    }
}

/// Sends one batch's statement and hands each request its rows. (A request whose caller went
/// away meanwhile is answered to no one, harmlessly.)
async fn answer_batch<R: BatchedRead>(pipeline: Arc<Pipeline>, batch: Vec<Waiting<R>>) {
    let (keys, answers): (Vec<R::Key>, Vec<_>) = batch
        .into_iter()
        .map(|waiting| (waiting.key, waiting.answer))
        .unzip();
    let parameters = R::parameters(&keys);
    let parameters: Vec<&(dyn ToSql + Sync)> = parameters
        .iter()
        .map(|parameter| parameter.as_ref() as &(dyn ToSql + Sync))
        .collect();
    let answered = match pipeline.rows(R::SQL, &parameters).await {
        Ok(rows) => rows_by_key::<R>(&rows, keys.len()),
        Err(failed) => each_failed(failed, keys.len()),
    };
    for (answer, rows) in answers.into_iter().zip(answered) {
        let _ = answer.send(rows);
    }
}

/// `rows` decoded and sorted out by the place of their key, of `keys` keys.
fn rows_by_key<R: BatchedRead>(rows: &[tokio_postgres::Row], keys: usize) -> Vec<Answer<R>> {
    let mut answers: Vec<Answer<R>> = (0..keys).map(|_| Ok(Vec::new())).collect();
    for row in rows {
        let place = row
            .try_get::<_, i64>(0)
            .ok()
            .and_then(|place| usize::try_from(place).ok())
            .filter(|place| (1..=keys).contains(place));
        let Some(place) = place else {
            let wrong = StoreError::internal(
                "sorting out a batched read's rows",
                std::io::Error::other("a row's first column is not the place of a key"),
            );
            return each_failed(Failed::Store(wrong), keys);
        };
        let answer = &mut answers[place - 1];
        if let Ok(decoded) = answer {
            match R::Row::from_row(&PipelinedRow(row)) {
                Ok(row) => decoded.push(row),
                Err(error) => *answer = Err(error),
            }
        }
    }
    answers
}

/// One failure, as each of `keys` requests' own error.
fn each_failed<T>(failed: Failed, keys: usize) -> Vec<Result<T, StoreError>> {
    match failed {
        Failed::Postgres(error) => {
            let said_by_postgres = error.as_db_error().is_some();
            let error = Arc::new(error);
            (0..keys)
                .map(|_| {
                    Err(postgres_failure(
                        said_by_postgres,
                        Box::new(Arc::clone(&error)),
                    ))
                })
                .collect()
        }
        Failed::Store(error) => {
            let unavailable = matches!(error, StoreError::Unavailable(_));
            let error = Arc::new(error);
            (0..keys)
                .map(|_| {
                    let source = Box::new(Arc::clone(&error));
                    Err(if unavailable {
                        StoreError::Unavailable(source)
                    } else {
                        StoreError::Internal {
                            context: "running a batched read",
                            source,
                        }
                    })
                })
                .collect()
        }
    }
}

/// The batches' task is gone: its runtime is shutting down.
fn stopped() -> StoreError {
    StoreError::Unavailable(Box::new(std::io::Error::other(
        "the batched reads' task has stopped",
    )))
}

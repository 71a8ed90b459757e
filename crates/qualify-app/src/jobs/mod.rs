//! Background work: each kind of job is a type implementing [`JobKind`], living beside its
//! domain (an event's delivery in `events`, a rule's timed decision in `usecases`); its payload
//! is stored as JSON in the jobs table under the kind's name, in the transaction of the write
//! that causes it. A [`Registry`] maps each name to what runs it; a [`JobRunner`] claims a due
//! job with a lease, runs it through the registry, and records the outcome (done, retried with
//! backoff, or given up). The node's [`Workers`] call the runner in a loop; tests call
//! [`JobRunner::drain`] to run everything due, deterministically, instead of waiting for them.
//! Nothing here knows any kind: the registry is filled where the core is put together.

mod registry;
mod runner;
mod workers;

use qualify_store::NewJob;
use qualify_types::{TenantId, Timestamp};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use registry::Registry;
pub use runner::{JobRunner, Jobs};
pub use workers::Workers;

/// A kind of background work, its payload what a job of the kind holds.
pub trait JobKind: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// How the kind is named in the jobs table. Stored: never change one.
    const NAME: &'static str;
    /// Whose receiver a job of this kind delivers an event to (`operator`, `partner`), as
    /// deliveries are counted; `None` for work that delivers nothing.
    const DELIVERS_TO: Option<&'static str> = None;

    /// The key of the sequence this job runs in: jobs with one key run one at a time, in the
    /// order they were enqueued. `None`: in any order.
    fn sequence_key(&self) -> Option<String> {
        None
    }

    /// The partner whose clock the job's due time follows (moved when that partner's clock is
    /// advanced); `None`: the server's clock.
    fn clock_partner(&self) -> Option<TenantId> {
        None
    }

    /// The job as stored, due at `run_at`, given up after `max_attempts`.
    fn to_new(&self, run_at: Timestamp, max_attempts: u32) -> Result<NewJob, serde_json::Error> {
        Ok(NewJob {
            kind: Self::NAME.to_owned(),
            payload: serde_json::to_string(self)?,
            run_at,
            max_attempts,
            clock_partner: self.clock_partner(),
            sequence_key: self.sequence_key(),
        })
    }
}

/// What one attempt of a job came to, before it is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// It is done.
    Done,
    /// It failed; another attempt may succeed.
    Failed(String),
    /// It can never succeed.
    Hopeless(String),
}

/// What became of a job's attempt, once recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum JobOutcome {
    /// It is done.
    Done,
    /// It failed and runs again later.
    Retry(String),
    /// It failed for the last time, or can't succeed: given up.
    Dead(String),
}

/// One attempt a runner made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    /// The job's id.
    pub id: i64,
    /// Its kind, as stored.
    pub kind: String,
    /// Which attempt this was, from 1.
    pub attempt: u32,
    /// What became of it.
    pub outcome: JobOutcome,
}

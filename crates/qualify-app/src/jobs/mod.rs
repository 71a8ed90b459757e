//! Background work: each kind of job is a type implementing [`JobKind`], living beside its
//! domain (an event's delivery in `events`, a rule's timed decision in `usecases`); its payload
//! is stored as JSON in the jobs table under the kind's name, in the transaction of the write
//! that causes it. Each kind runs in a [`Lane`]: decisions never wait behind deliveries, and a
//! delivery names its receiver, so one receiver's backlog or silence never delays another's. A
//! [`Registry`] maps each name to what runs it; a [`JobRunner`] claims due jobs with a lease,
//! runs them through the registry, and records each outcome (done, retried with backoff, or
//! given up), in the job's own transaction where the kind can ([`Lease`]). The node's
//! [`Workers`] run each lane; tests call [`JobRunner::drain`] to run everything due,
//! deterministically, instead of waiting for them. Nothing here knows any kind: the registry is
//! filled where the core is put together.

mod lease;
mod registry;
mod runner;
mod wake;
mod workers;

use qualify_store::NewJob;
use qualify_types::{TenantId, Timestamp};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use lease::Lease;
pub use registry::Registry;
pub use runner::{JobRunner, Jobs};
pub(crate) use wake::LaneWake;
pub use workers::Workers;

/// Where a job runs: each lane has its own workers, so work in one never waits behind another's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lane {
    /// Decisions (a rule's, when its delay ends) and other work of the core's own: short, on
    /// time.
    Decisions,
    /// Deliveries of events to receivers outside: slow, sometimes failing, isolated per
    /// receiver.
    Deliveries,
}

impl Lane {
    /// Every lane.
    pub const ALL: [Self; 2] = [Self::Decisions, Self::Deliveries];

    /// How the lane is named in the jobs table and in metrics. Stored: never change one.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Decisions => "decisions",
            Self::Deliveries => "deliveries",
        }
    }
}

/// A kind of background work, its payload what a job of the kind holds.
pub trait JobKind: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// How the kind is named in the jobs table. Stored: never change one.
    const NAME: &'static str;
    /// Whose receiver a job of this kind delivers an event to (`operator`, `partner`), as
    /// deliveries are counted; `None` for work that delivers nothing.
    const DELIVERS_TO: Option<&'static str> = None;
    /// The lane its jobs run in.
    const LANE: Lane = Lane::Decisions;

    /// Who this job delivers to (`partner:<tenant>`, `webhook:<url>`): at most so many of a
    /// receiver's jobs run at once, and a receiver that keeps failing is backed off. `None`: no
    /// receiver.
    fn receiver(&self) -> Option<String> {
        None
    }

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
            lane: Self::LANE.as_str(),
            receiver: self.receiver(),
        })
    }
}

/// What one attempt of a job came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// It is done.
    Done,
    /// It failed; another attempt may succeed.
    Failed(String),
    /// It can never succeed.
    Hopeless(String),
    /// The kind recorded the outcome itself, in its own committed transaction
    /// ([`Lease::finish`]).
    Recorded(JobOutcome),
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

//! What a committed transaction tells the node's job workers: the earliest due time it enqueued
//! in each lane, once the commit is durable, so that an idle worker wakes only for a job due
//! before it would look again anyway (not at every write).

use std::sync::{Arc, OnceLock};

use qualify_types::Timestamp;

/// Called after a commit that enqueued jobs, once per lane, with the earliest due time.
pub type OnJobsCommitted = dyn Fn(&str, Timestamp) + Send + Sync;

/// The store's listener, set once.
#[derive(Clone, Default)]
pub(crate) struct Signals(Arc<OnceLock<Box<OnJobsCommitted>>>);

impl std::fmt::Debug for Signals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "Signals(listening)"
        } else {
            "Signals(none)"
        })
    }
}

impl Signals {
    /// Sets the listener; false (and nothing changes) if one was set already.
    pub(crate) fn listen(&self, listener: Box<OnJobsCommitted>) -> bool {
        self.0.set(listener).is_ok()
    }

    /// Tells the listener of what a commit enqueued.
    pub(crate) fn committed(&self, enqueued: &Enqueued) {
        if let Some(listener) = self.0.get() {
            for (lane, due) in &enqueued.0 {
                listener(lane, *due);
            }
        }
    }
}

/// The earliest due time a transaction enqueued in each lane.
#[derive(Debug, Clone, Default)]
pub(crate) struct Enqueued(Vec<(&'static str, Timestamp)>);

impl Enqueued {
    /// Notes a job of `lane` due at `due`.
    pub(crate) fn add(&mut self, lane: &'static str, due: Timestamp) {
        match self.0.iter_mut().find(|(known, _)| *known == lane) {
            Some((_, earliest)) => *earliest = (*earliest).min(due),
            None => self.0.push((lane, due)),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

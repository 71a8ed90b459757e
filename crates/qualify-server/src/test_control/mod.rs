//! The test control plane's machinery (development mode): partners' clocks and own rules
//! (durable, in the database), the faults a test injects and the journal of what a partner sent
//! (in this node's memory, bounded), and partners made on demand. The `/test/v1` handlers are
//! in `api/test_control/`.

pub(crate) mod faults;
pub(crate) mod journal;
pub(crate) mod layer;
pub(crate) mod on_demand;
pub(crate) mod partners;

pub(crate) use partners::Partners;

/// What a development server keeps of its partners' tests in memory.
#[derive(Debug, Default)]
pub(crate) struct TestControl {
    /// The faults each partner's test set.
    pub(crate) faults: faults::Faults,
    /// What each partner sent.
    pub(crate) journal: journal::RequestJournal,
}

//! What the test control plane keeps on the HTTP side (development mode): the faults a test
//! injects into its partner's requests, the journal of what the partner sent, and the
//! conformance checks read from it, in this node's memory, bounded. The layer that applies and records them is `http::test_control`;
//! the `/test/v1` handlers are in `api/test_control/`; partners' clocks and own rules are the
//! core's (`qualify_app::partners`).

pub(crate) mod conformance;
pub(crate) mod faults;
pub(crate) mod journal;
pub(crate) mod redaction;

/// What a development server keeps of its partners' tests in memory.
#[derive(Debug)]
pub(crate) struct TestControl {
    /// The faults each partner's test set.
    pub(crate) faults: faults::Faults,
    /// What each partner sent.
    pub(crate) journal: journal::RequestJournal,
    /// How each partner's requests are checked against Partner Center's guidance.
    pub(crate) conformance: conformance::Conformance,
}

impl TestControl {
    /// Nothing yet, for a server publishing `document` (whose names say what the journal keeps).
    pub(crate) fn new(document: &serde_json::Value) -> Self {
        Self {
            faults: faults::Faults::default(),
            journal: journal::RequestJournal::new(redaction::Redaction::of(document)),
            conformance: conformance::Conformance::default(),
        }
    }
}

//! PostgreSQL's read cache: each customer's history, kept by this node beside the version the
//! database gave it. A GET still asks the database, in its one statement, for the caller's status
//! and the customer's version; it reads the customer's requests only when the version is not the
//! one kept. So a write acknowledged by any node is seen by the very next read on every node,
//! with no message between nodes: the version comes from the same snapshot as the status.
//!
//! What makes the version enough: every insert, update or delete of a customer's requests bumps
//! the customer's `vetting_version` in the same transaction, by a trigger (PostgreSQL migration
//! 0015), so no statement can forget it; and the customer's `seq`, which the version also holds,
//! is never reused, so a customer deleted and imported again under the same id starts a new
//! line of versions.

use qualify_types::{CustomerId, TenantId};
use quick_cache::Weighter;

use super::{Owned, Weight};
use crate::HistoryEntry;
use crate::read_cache::packed::PackedHistory;

/// Which state of a customer's requests a history is: the customer row's `seq` and
/// `vetting_version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CustomerVersion {
    pub(crate) seq: i64,
    pub(crate) vetting: i64,
}

impl CustomerVersion {
    /// What a read passes when it holds nothing for the customer: no row has it (`seq` starts
    /// at 1), so the database returns the requests.
    pub(crate) const NONE: Self = Self { seq: 0, vetting: 0 };
}

/// A history and the version it is of.
#[derive(Debug, Clone)]
struct Versioned {
    owned: Owned,
    version: CustomerVersion,
}

impl Weighter<CustomerId, Versioned> for Weight {
    fn weight(&self, customer: &CustomerId, versioned: &Versioned) -> u64 {
        Weighter::<CustomerId, Owned>::weight(self, customer, &versioned.owned)
            + std::mem::size_of::<CustomerVersion>() as u64
    }
}

/// Histories kept by one PostgreSQL node, bounded by weight.
pub(crate) struct VersionedHistories {
    histories: quick_cache::sync::Cache<CustomerId, Versioned, Weight>,
}

impl std::fmt::Debug for VersionedHistories {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VersionedHistories")
            .field("histories", &self.histories.len())
            .field("weight", &self.histories.weight())
            .finish()
    }
}

/// What a node holds of one customer, looked up once per read: its version goes to the database,
/// and its history is the answer when the database says the version is still the customer's.
#[derive(Debug)]
pub(crate) struct Held(Option<Versioned>);

impl Held {
    /// The version to pass to the database: [`CustomerVersion::NONE`] when nothing is held.
    pub(crate) fn version(&self) -> CustomerVersion {
        self.0
            .as_ref()
            .map_or(CustomerVersion::NONE, |versioned| versioned.version)
    }

    /// The history held for `partner`'s customer, if it is at `version`; `None` otherwise, or
    /// when its bytes don't read back (never, for bytes a node packed).
    pub(crate) fn history_at(
        &self,
        partner: TenantId,
        version: CustomerVersion,
    ) -> Option<Vec<HistoryEntry>> {
        let versioned = self.0.as_ref()?;
        (versioned.version == version && versioned.owned.partner == partner)
            .then(|| versioned.owned.history.unpack())
            .flatten()
    }
}

impl VersionedHistories {
    /// A cache of at most `bytes` of histories.
    pub(crate) fn new(bytes: u64) -> Self {
        Self {
            histories: super::weighed_histories(bytes),
        }
    }

    /// What is held of `customer`.
    pub(crate) fn held(&self, customer: CustomerId) -> Held {
        Held(self.histories.get(&customer))
    }

    /// Keeps `history` of `partner`'s `customer` at `version`. A slower read may put back an
    /// older version than another just kept: harmless, as the next read finds it is not the
    /// database's and reads the requests again.
    pub(crate) fn keep(
        &self,
        partner: TenantId,
        customer: CustomerId,
        version: CustomerVersion,
        history: &[HistoryEntry],
    ) {
        if let Some(history) = PackedHistory::pack(history) {
            let owned = Owned { partner, history };
            self.histories
                .insert(customer, Versioned { owned, version });
        }
    }

    pub(crate) fn usage(&self) -> super::ReadCacheUsage {
        super::ReadCacheUsage {
            histories: self.histories.len() as u64,
            bytes: self.histories.weight(),
            capacity: self.histories.capacity(),
            statuses: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use qualify_types::{Qualification, Timestamp};

    use super::*;

    fn history() -> Vec<HistoryEntry> {
        vec![HistoryEntry {
            qualification: Qualification::Education,
            state: qualify_domain::VettingState::InReview,
            attempt: 1,
            created_at: Timestamp::from_unix_millis(1_764_950_000_000).unwrap(),
        }]
    }

    #[test]
    fn a_history_is_handed_out_only_at_its_own_version_and_to_its_own_partner() {
        let cache = VersionedHistories::new(1 << 20);
        let (partner, other) = (TenantId::random(), TenantId::random());
        let customer = CustomerId::random();
        assert_eq!(cache.held(customer).version(), CustomerVersion::NONE);
        let version = CustomerVersion { seq: 7, vetting: 3 };
        cache.keep(partner, customer, version, &history());
        let held = cache.held(customer);
        assert_eq!(held.version(), version);
        assert_eq!(held.history_at(partner, version), Some(history()));
        for moved in [
            CustomerVersion { seq: 7, vetting: 4 },
            CustomerVersion { seq: 8, vetting: 3 },
        ] {
            assert_eq!(held.history_at(partner, moved), None);
        }
        assert_eq!(held.history_at(other, version), None);
    }

    #[test]
    fn it_keeps_no_more_than_its_bound() {
        let cache = VersionedHistories::new(64 << 10);
        let partner = TenantId::random();
        for seq in 1..=10_000 {
            let version = CustomerVersion { seq, vetting: 1 };
            cache.keep(partner, CustomerId::random(), version, &history());
        }
        let usage = cache.usage();
        assert!(usage.bytes <= usage.capacity, "{usage:?}");
        assert!(usage.histories < 10_000, "{usage:?}");
    }
}

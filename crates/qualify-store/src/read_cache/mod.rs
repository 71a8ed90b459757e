//! What a GET reads, kept in memory on SQLite: the caller's status (tenant, application, user)
//! and the customer's history, filled on a miss, bounded by weight, and never stale.
//!
//! - This process's writes: each commit names what it changed (`changes.rs`) and drops those
//!   entries once committed, before any writer of the batch is told its write is done; so a read
//!   that follows an acknowledged write finds no entry older than it.
//! - Other processes' writes: each bumps the change counter file; a read that finds a value
//!   this cache has not accounted for drops everything first.
//! - A fill racing a drop: a read notes the generation before it reads the database; every drop
//!   bumps it, and a fill that finds it moved (before or just after inserting) is not kept.
//!
//! PostgreSQL's cache (`versioned.rs`) keeps only histories, each with the customer's version: a
//! write on one node must be seen by the next read on any node, which a per-node cache can only
//! promise by asking the database, so every read still does, in one pipelined statement
//! (`db/pipeline.rs`), and reads the customer's requests only when their version moved.

pub(crate) mod changes;
mod packed;
pub(crate) mod versioned;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use qualify_types::{CustomerId, TenantId};
use quick_cache::Weighter;
use uuid::Uuid;

use crate::{HistoryEntry, PrincipalStatus};
use changes::{ChangeCounter, Changed};
use packed::PackedHistory;

/// Callers' statuses kept: a server has few callers, each with a handful of apps and users.
const STATUSES: usize = 10_000;

/// A caller: its tenant, and its application and user when the token names them.
type StatusKey = (TenantId, Option<Uuid>, Option<Uuid>);

/// What a GET reads: the caller's status, and the customer's history unless it is not the
/// caller's.
pub(crate) type StatusAndHistory = (PrincipalStatus, Option<Vec<HistoryEntry>>);

/// A customer's history and whose customer it is.
#[derive(Debug, Clone)]
struct Owned {
    partner: TenantId,
    history: PackedHistory,
}

/// What an entry costs in memory, roughly: the key, the value, the packed history, and the
/// table's and allocator's share.
#[derive(Debug, Clone, Copy)]
struct Weight;

impl Weighter<CustomerId, Owned> for Weight {
    fn weight(&self, _customer: &CustomerId, owned: &Owned) -> u64 {
        const FIXED: usize = std::mem::size_of::<CustomerId>() + std::mem::size_of::<Owned>() + 48;
        (FIXED + owned.history.len()) as u64
    }
}

/// A cache of customers' histories weighing at most `bytes`, on either backend.
fn weighed_histories<V: Clone>(bytes: u64) -> quick_cache::sync::Cache<CustomerId, V, Weight>
where
    Weight: Weighter<CustomerId, V>,
{
    // quick_cache sizes its table from an estimate of the entries: a customer with a few
    // requests weighs about 120 bytes.
    let estimated = usize::try_from(bytes / 120).unwrap_or(usize::MAX).max(16);
    quick_cache::sync::Cache::with_weighter(estimated, bytes.max(1), Weight)
}

/// What a store keeps of what GETs read, by backend.
#[derive(Debug, Clone)]
pub(crate) enum Kept {
    /// Callers' statuses and customers' histories, dropped by the commits that change them.
    Sqlite(Arc<ReadCache>),
    /// Customers' histories with their versions, checked against the database on every read.
    Postgres(Arc<versioned::VersionedHistories>),
}

impl Kept {
    pub(crate) fn usage(&self) -> ReadCacheUsage {
        match self {
            Self::Sqlite(cache) => cache.usage(),
            Self::Postgres(histories) => histories.usage(),
        }
    }
}

/// The SQLite cache of one store.
pub(crate) struct ReadCache {
    histories: quick_cache::sync::Cache<CustomerId, Owned, Weight>,
    statuses: quick_cache::sync::Cache<StatusKey, PrincipalStatus>,
    /// Bumped by every drop: a fill that began before it is not kept.
    generation: AtomicU64,
    counter: ChangeCounter,
    /// The counter's value this cache accounts for.
    seen: AtomicU64,
}

impl std::fmt::Debug for ReadCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadCache")
            .field("histories", &self.histories.len())
            .field("weight", &self.histories.weight())
            .field("statuses", &self.statuses.len())
            .finish_non_exhaustive()
    }
}

/// How full the cache is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadCacheUsage {
    /// Customers whose history is held.
    pub histories: u64,
    /// Their weight, roughly their bytes.
    pub bytes: u64,
    /// The most they may weigh.
    pub capacity: u64,
    /// Callers whose status is held.
    pub statuses: u64,
}

/// A read's ticket: what the cache held, and the generation a fill must match.
#[derive(Debug)]
pub(crate) struct Lookup<T> {
    pub(crate) found: Option<T>,
    generation: u64,
}

impl ReadCache {
    /// A cache of at most `bytes` of histories, accounting for the counter's current value.
    pub(crate) fn new(counter: ChangeCounter, bytes: u64) -> Result<Self, crate::StoreError> {
        let seen = counter.read()?;
        Ok(Self {
            histories: weighed_histories(bytes),
            statuses: quick_cache::sync::Cache::new(STATUSES),
            generation: AtomicU64::new(0),
            counter,
            seen: AtomicU64::new(seen),
        })
    }

    pub(crate) fn usage(&self) -> ReadCacheUsage {
        ReadCacheUsage {
            histories: self.histories.len() as u64,
            bytes: self.histories.weight(),
            capacity: self.histories.capacity(),
            statuses: self.statuses.len() as u64,
        }
    }

    /// The generation after accounting for other processes' writes; `None` when the counter
    /// can't be read (the caller reads the database and fills nothing).
    fn current(&self) -> Option<u64> {
        let shared = self.counter.read().ok()?;
        if shared != self.seen.load(Ordering::SeqCst) {
            // Another process wrote: anything may have changed.
            self.drop_everything();
            self.seen.store(shared, Ordering::SeqCst);
        }
        Some(self.generation.load(Ordering::SeqCst))
    }

    /// The caller's status and the partner's customer's history, as far as they are held: the
    /// history is `Some(None)` when the customer is held as another partner's.
    pub(crate) fn lookup(
        &self,
        caller: StatusKey,
        customer: CustomerId,
    ) -> Option<Lookup<StatusAndHistory>> {
        let generation = self.current()?;
        let found = self.statuses.get(&caller).and_then(|status| {
            let owned = self.histories.get(&customer)?;
            let history = match owned.partner == caller.0 {
                true => Some(owned.history.unpack()?),
                false => None,
            };
            Some((status, history))
        });
        Some(Lookup { found, generation })
    }

    /// The caller's status, if held.
    pub(crate) fn lookup_status(&self, caller: StatusKey) -> Option<Lookup<PrincipalStatus>> {
        let generation = self.current()?;
        Some(Lookup {
            found: self.statuses.get(&caller),
            generation,
        })
    }

    /// Keeps `status`, read after `lookup` missed, unless something was dropped since.
    pub(crate) fn fill_status<T>(
        &self,
        lookup: &Lookup<T>,
        caller: StatusKey,
        status: &PrincipalStatus,
    ) {
        // Only what exists: ids made up by a caller must not take the place of real ones.
        if status.tenant.is_none() || self.generation.load(Ordering::SeqCst) != lookup.generation {
            return;
        }
        self.statuses.insert(caller, status.clone());
        if self.generation.load(Ordering::SeqCst) != lookup.generation {
            self.statuses.remove(&caller);
        }
    }

    /// Keeps `history` of `partner`'s `customer`, read after `lookup` missed, unless something
    /// was dropped since.
    pub(crate) fn fill_history<T>(
        &self,
        lookup: &Lookup<T>,
        partner: TenantId,
        customer: CustomerId,
        history: &[HistoryEntry],
    ) {
        if self.generation.load(Ordering::SeqCst) != lookup.generation {
            return;
        }
        let Some(history) = PackedHistory::pack(history) else {
            return;
        };
        let owned = Owned { partner, history };
        self.histories.insert(customer, owned);
        if self.generation.load(Ordering::SeqCst) != lookup.generation {
            self.histories.remove(&customer);
        }
    }

    /// After a commit of this process (before its writers are told): drops what it changed.
    pub(crate) fn committed(&self, changed: &Changed) {
        match changed {
            Changed::Nothing => {}
            Changed::Everything => self.drop_everything(),
            Changed::Some {
                customers,
                principals,
            } => {
                self.generation.fetch_add(1, Ordering::SeqCst);
                for customer in customers {
                    // Not a customer id: nothing was kept under it.
                    if let Ok(customer) = customer.parse::<CustomerId>() {
                        self.histories.remove(&customer);
                    }
                }
                if *principals {
                    self.statuses.clear();
                }
            }
        }
    }

    /// Tells the other processes of this process's commit, and notes that the counter's new
    /// value is accounted for, unless another process bumped it meanwhile.
    pub(crate) fn announce(&self) {
        announce(&self.counter, Some(&self.seen));
    }

    fn drop_everything(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.histories.clear();
        self.statuses.clear();
    }
}

/// What a writer does after each commit that changed something a cached read depends on.
#[derive(Debug)]
pub(crate) enum AfterCommit {
    /// Tells the other processes (this one keeps no cache).
    Announce(ChangeCounter),
    /// Drops what changed from this process's cache, then tells the others.
    Drop(Arc<ReadCache>),
}

impl AfterCommit {
    pub(crate) fn committed(&self, changed: &Changed) {
        if *changed == Changed::Nothing {
            return;
        }
        match self {
            Self::Announce(counter) => announce(counter, None),
            Self::Drop(cache) => {
                cache.committed(changed);
                cache.announce();
            }
        }
    }
}

/// Bumps `counter`; with `seen`, moves it to the new value if it held the one before.
fn announce(counter: &ChangeCounter, seen: Option<&AtomicU64>) {
    // A failed bump was logged; other processes' caches may then serve what this commit
    // changed, which is why the counter's failure is a warning, not a debug line.
    if let Ok(value) = counter.bump()
        && let Some(seen) = seen
    {
        let _ = seen.compare_exchange(
            value.wrapping_sub(1),
            value,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
    }
}

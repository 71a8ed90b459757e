//! A customer's history as the read cache keeps it: packed into a few bytes a request (postcard's
//! varints: about nine bytes, plus a denial's reason), so that a million customers fit the
//! default cache; unpacked on each hit, which costs far less than the SQL it saves.

use qualify_types::{Qualification, Timestamp, VettingStatus};
use serde::{Deserialize, Serialize};

use crate::HistoryEntry;
use crate::records::state_of;

/// One request of a history, as packed.
#[derive(Debug, Serialize, Deserialize)]
struct PackedEntry<'a> {
    /// Its place in [`Qualification::ALL`].
    qualification: u8,
    /// Its place in [`VettingStatus::ALL`].
    status: u8,
    #[serde(borrow)]
    reason: Option<&'a str>,
    attempt: u32,
    created_at_ms: i64,
}

/// A history, packed: what the cache weighs and keeps.
#[derive(Debug, Clone)]
pub(crate) struct PackedHistory(Box<[u8]>);

impl PackedHistory {
    /// `history` packed; `None` if it can't be (then it is not kept).
    pub(crate) fn pack(history: &[HistoryEntry]) -> Option<Self> {
        let entries = history
            .iter()
            .map(|entry| {
                Some(PackedEntry {
                    qualification: place(Qualification::ALL, &entry.qualification)?,
                    status: place(VettingStatus::ALL, &entry.state.status())?,
                    reason: entry.state.reason().map(|reason| reason.as_str()),
                    attempt: entry.attempt,
                    created_at_ms: entry.created_at.unix_millis(),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        let bytes = postcard::to_allocvec(&entries).ok()?;
        Some(Self(bytes.into_boxed_slice()))
    }

    /// The history again; `None` if the bytes don't read back (never, for bytes `pack` made: the
    /// caller then reads the database). Read entry by entry into the history itself: a hit
    /// allocates nothing else.
    pub(crate) fn unpack(&self) -> Option<Vec<HistoryEntry>> {
        let (count, mut rest): (usize, _) = postcard::take_from_bytes(&self.0).ok()?;
        // Each entry takes at least four bytes: the room reserved is no more than the bytes
        // could hold, whatever count they claim.
        let mut history = Vec::with_capacity(count.min(rest.len() / 4));
        for _ in 0..count {
            let (entry, after): (PackedEntry<'_>, _) = postcard::take_from_bytes(rest).ok()?;
            rest = after;
            let status = *VettingStatus::ALL.get(usize::from(entry.status))?;
            history.push(HistoryEntry {
                qualification: *Qualification::ALL.get(usize::from(entry.qualification))?,
                state: state_of(status, entry.reason.map(str::to_owned)).ok()?,
                attempt: entry.attempt,
                created_at: Timestamp::from_unix_millis(entry.created_at_ms)?,
            });
        }
        rest.is_empty().then_some(history)
    }

    /// Its size in bytes.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

/// Where `value` is in `all`, as a byte.
fn place<T: PartialEq>(all: &[T], value: &T) -> Option<u8> {
    all.iter()
        .position(|candidate| candidate == value)
        .and_then(|at| u8::try_from(at).ok())
}

#[cfg(test)]
mod tests {
    use qualify_domain::{DenialReason, VettingState};

    use super::*;

    fn entry(qualification: Qualification, state: VettingState, attempt: u32) -> HistoryEntry {
        HistoryEntry {
            qualification,
            state,
            attempt,
            created_at: Timestamp::from_unix_millis(1_764_950_000_123).unwrap(),
        }
    }

    #[test]
    fn every_history_reads_back_as_it_was_and_a_request_takes_a_few_bytes() {
        let denied =
            VettingState::Denied(DenialReason::parse("Not an Education Customer").unwrap());
        let history = [
            entry(Qualification::Education, denied, 1),
            entry(Qualification::Education, VettingState::Approved, 2),
            entry(Qualification::StateOwnedEntity, VettingState::InReview, 1),
            entry(
                Qualification::GovernmentCommunityCloud,
                VettingState::InReview,
                u32::MAX,
            ),
        ];
        for n in 0..=history.len() {
            let packed = PackedHistory::pack(&history[..n]).unwrap();
            assert_eq!(packed.unpack().unwrap(), &history[..n]);
        }
        let one = PackedHistory::pack(&history[1..2]).unwrap();
        assert!(one.len() <= 12, "a request packs into {} bytes", one.len());
    }

    #[test]
    fn bytes_that_do_not_read_back_are_a_miss_not_a_panic() {
        for bytes in [
            &[1, 9, 0, 0, 1, 0][..],
            &[1, 0, 7][..],
            &[200][..],
            &[0, 0][..],
        ] {
            assert!(PackedHistory(bytes.into()).unpack().is_none());
        }
    }
}

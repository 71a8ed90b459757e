//! Strict mode: for a partner that turned it on, a request Partner Center would refuse is
//! refused as Partner Center would refuse it, before it reaches its handler: sent before the
//! `Retry-After` of an earlier 429 of the same operation has passed, it gets a 429 with the
//! seconds still to wait; sent to a retired endpoint, that endpoint's error. Everything else
//! the checks find has no answer of Partner Center's: it is only reported.

use qualify_types::{TenantId, Timestamp};

use super::Conformance;
use super::checks::{retired, route_of};
use crate::test_control::journal::RequestJournal;

/// The longest `Retry-After` looked back for: an hour, the longest window a rate limit of
/// Partner Center's has.
const LOOK_BACK_MS: i64 = 3_600_000;

/// How a request of a partner in strict mode is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Throttled still: 429, with the seconds left.
    Throttled {
        /// `Retry-After`.
        retry_after: u32,
    },
    /// A retired endpoint.
    Retired,
}

impl Conformance {
    /// How `partner`'s request (`method` on `path`, arriving `now`) is refused, if the partner
    /// is in strict mode and Partner Center would refuse it.
    pub(crate) fn refusal(
        &self,
        journal: &RequestJournal,
        partner: TenantId,
        (method, path): (&str, &str),
        now: Timestamp,
    ) -> Option<Refusal> {
        if !self.settings(partner).strict {
            return None;
        }
        let route = route_of(path);
        if retired(&route) {
            return Some(Refusal::Retired);
        }
        let now = now.unix_millis();
        journal.read(partner, |requests, _| {
            let throttled = requests
                .iter()
                .take_while(|(entry, _)| now - entry.at.unix_millis() <= LOOK_BACK_MS)
                .find(|(entry, _)| {
                    entry.status == 429 && entry.method == method && route_of(&entry.path) == route
                })?;
            let (entry, facts) = throttled;
            let until = entry.at.unix_millis() + i64::from(facts.retry_after?) * 1000;
            let left_ms = until - now;
            (left_ms > 0).then(|| Refusal::Throttled {
                retry_after: u32::try_from((left_ms + 999) / 1000).unwrap_or(u32::MAX),
            })
        })
    }
}

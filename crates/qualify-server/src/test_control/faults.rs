//! Faults a test injects into its own partner's requests: the next matching requests get a
//! status (429 as Partner Center throttles, a 5xx or 4xx), arrive late, or have their connection
//! closed, before they touch any data. Optionally with a probability and a seed, so that a run
//! repeats exactly. Kept in this node's memory, each partner's on its own: bounded per partner
//! in number and in bytes, and all of them by a node-wide budget shared fairly (past it, a partner
//! may set only its even share), so one client making partners can't take every other's room;
//! matched under each partner's own lock, so that one partner's faults never hold up another's
//! requests.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use axum::http::Method;
use qualify_domain::{Glob, Slash};
use qualify_types::{Fault, TenantId};

/// Whether a fault may apply to a request for `path`: the partner's Partner Center calls
/// (`/v1/…` and `/webhooks/v1/…`) only, and none longer than any of their routes
/// ([`MAX_FAULTED_PATH`]). Health, discovery and keys, the OpenAPI document, the token
/// endpoint, the console, the reviewer API and the control plane itself are never faulted, so
/// a test client that sends its token everywhere keeps its health checks, its key discovery and
/// its way to remove the fault.
pub(crate) fn may_apply_to(path: &str) -> bool {
    (path.starts_with("/v1/") || path.starts_with("/webhooks/v1/"))
        && path.len() <= MAX_FAULTED_PATH
}

/// The most faults one partner may set.
pub(crate) const MAX_FAULTS: usize = 100;
/// The longest path glob: longer than any path a fault can match.
pub(crate) const MAX_PATH_CHARS: usize = qualify_domain::MAX_GLOB_CHARS;
/// The text of one partner's path globs together, in bytes. Matching a request costs at most
/// its path's length times this (about 2 million steps, a few milliseconds, of the partner's
/// own requests); and it bounds what one partner's faults hold (the node's room is shared out
/// by [`BUDGET`]).
pub(crate) const MAX_PATTERN_BYTES: usize = 4 * 1024;
/// The longest path a fault applies to: Partner Center's longest route is under 100 bytes, and
/// a longer path is no route at all.
pub(crate) const MAX_FAULTED_PATH: usize = 512;
/// The longest delay a fault may add.
pub(crate) const MAX_DELAY_MS: u64 = 120_000;
/// What every partner's faults together may cost (see [`cost`]) before the room is shared out:
/// past it, a partner may set faults costing at most this divided among the partners with
/// faults. Each set within the budget, or within its share, is taken; so the total stays under
/// twice this, whatever the number of partners.
const BUDGET: usize = 32 * 1024 * 1024;
/// What a fault costs in memory beyond its pattern's text: its parsed form and bookkeeping
/// (about 300 bytes; counted high).
const FAULT_OVERHEAD: usize = 512;

/// What `faults` cost in memory: each fault's overhead, and its pattern kept three times (as
/// sent, as written, and in the matcher's dialect).
fn cost(faults: &[Fault]) -> usize {
    faults
        .iter()
        .map(|fault| FAULT_OVERHEAD + 3 * fault.path.len())
        .sum()
}

/// What a fault does to the request it applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Answer with this status instead of the real answer.
    Answer {
        /// The status.
        status: u16,
        /// With 429: `Retry-After` seconds.
        retry_after: u32,
    },
    /// Close the connection without an answer.
    Close,
    /// Let the request through (after the delay).
    Pass,
}

/// A fault that applies to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Injected {
    /// Waited before anything else.
    pub(crate) delay: Duration,
    /// Then done.
    pub(crate) effect: Effect,
}

impl Injected {
    /// How the journal names it.
    pub(crate) fn label(&self) -> String {
        match &self.effect {
            Effect::Answer { status, .. } => format!("status {status}"),
            Effect::Close => "close".into(),
            Effect::Pass => format!("delay {} ms", self.delay.as_millis()),
        }
    }
}

/// A fault as it stands: what was set, what remains of it, its draws.
#[derive(Debug)]
struct Active {
    spec: Fault,
    method: Option<Method>,
    path: Glob,
    remaining: Option<u32>,
    draws: fastrand::Rng,
    injected: Injected,
}

impl Active {
    fn new(spec: Fault) -> Result<Self, String> {
        let method = match spec.method.as_deref().map(str::trim) {
            None | Some("*") => None,
            Some(method) => Some(
                Method::from_bytes(method.to_ascii_uppercase().as_bytes())
                    .map_err(|_| format!("the method '{method}' is not an HTTP method"))?,
            ),
        };
        let path = Glob::parse(&spec.path, Slash::Separator)
            .map_err(|e| format!("the path pattern: {e}"))?;
        if !spec.path.trim().starts_with('/') && spec.path.trim() != "*" && spec.path.trim() != "**"
        {
            return Err(format!(
                "the path pattern '{}' must start with / (or be * for any path)",
                spec.path
            ));
        }
        if spec.times == Some(0) {
            return Err("'times' must be at least 1 (absent: until removed)".into());
        }
        let probability = spec.probability.unwrap_or(1.0);
        if !(0.0..=1.0).contains(&probability) {
            return Err(format!(
                "'probability' must be from 0 to 1, not {probability}"
            ));
        }
        let delay_ms = spec.delay_ms.unwrap_or(0);
        if delay_ms > MAX_DELAY_MS {
            return Err(format!("'delayMs' must be at most {MAX_DELAY_MS}"));
        }
        let close = spec.close.unwrap_or(false);
        let effect = match (spec.status, close) {
            (Some(_), true) => {
                return Err(
                    "a fault answers with a status or closes the connection, not both".into(),
                );
            }
            (Some(status), false) if (400..=599).contains(&status) => Effect::Answer {
                status,
                retry_after: spec.retry_after.unwrap_or(1),
            },
            (Some(status), false) => {
                return Err(format!("'status' must be a 4xx or 5xx, not {status}"));
            }
            (None, true) => Effect::Close,
            (None, false) if delay_ms > 0 => Effect::Pass,
            (None, false) => {
                return Err("a fault needs a 'status', 'close' or 'delayMs'".into());
            }
        };
        if spec.retry_after.is_some() && spec.status != Some(429) {
            return Err("'retryAfter' goes with status 429".into());
        }
        let draws = match spec.seed {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        };
        Ok(Self {
            method,
            path,
            remaining: spec.times,
            draws,
            injected: Injected {
                delay: Duration::from_millis(delay_ms),
                effect,
            },
            spec,
        })
    }

    fn matches(&self, method: &Method, path: &str) -> bool {
        let any_path = matches!(self.path.as_str(), "*" | "**");
        self.method.as_ref().is_none_or(|m| m == method) && (any_path || self.path.matches(path))
    }

    /// Whether this request gets the fault: a draw, when it has a probability.
    fn draw(&mut self) -> bool {
        match self.spec.probability {
            Some(p) if p < 1.0 => self.draws.f64() < p,
            _ => true,
        }
    }
}

/// Why a set of faults was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FaultsRefused {
    /// One of them is not acceptable.
    #[error("fault {index}: {why}")]
    Invalid {
        /// Its position, from 0.
        index: usize,
        /// Why.
        why: String,
    },
    /// Too many.
    #[error("at most {MAX_FAULTS} faults")]
    TooMany,
    /// Their path patterns are too long together.
    #[error(
        "the faults' path patterns hold {0} bytes together; at most {MAX_PATTERN_BYTES} (use * or ** for any segment)"
    )]
    TooLong(usize),
    /// The node's budget is spent, and these cost more than the partner's share of it.
    #[error(
        "this server's room for faults is shared by {partners} partners and is full: this partner's faults may cost {share} bytes now, these cost {cost} (each fault {FAULT_OVERHEAD} bytes and 3 per character of its path); set fewer or shorter ones"
    )]
    OverShare {
        /// Partners with faults, this one included.
        partners: usize,
        /// This partner's share.
        share: usize,
        /// What these faults cost.
        cost: usize,
    },
}

/// One partner's faults, behind its own lock.
type PartnerFaults = Arc<Mutex<Vec<Active>>>;

/// Every partner's faults, and what they cost.
#[derive(Debug, Default)]
struct Registry {
    partners: HashMap<TenantId, (PartnerFaults, usize)>,
    cost: usize,
}

impl Registry {
    fn remove(&mut self, partner: &TenantId) {
        if let Some((_, cost)) = self.partners.remove(partner) {
            self.cost -= cost;
        }
    }
}

/// Every partner's faults, on this node.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    /// Taken briefly, to find a partner's faults; never while matching.
    registry: RwLock<Registry>,
    /// Whether any partner has any: a request of a server without faults skips the lookup.
    any: AtomicBool,
}

fn locked(faults: &Mutex<Vec<Active>>) -> MutexGuard<'_, Vec<Active>> {
    faults.lock().unwrap_or_else(|p| p.into_inner())
}

impl Faults {
    fn partner(&self, partner: TenantId) -> Option<PartnerFaults> {
        let registry = self.registry.read().unwrap_or_else(|p| p.into_inner());
        registry
            .partners
            .get(&partner)
            .map(|(faults, _)| Arc::clone(faults))
    }

    /// Changes the registry: `change` under its write lock, then `any` brought up to date.
    fn change<T>(&self, change: impl FnOnce(&mut Registry) -> T) -> T {
        let mut registry = self.registry.write().unwrap_or_else(|p| p.into_inner());
        let changed = change(&mut registry);
        self.any
            .store(!registry.partners.is_empty(), Ordering::Release);
        changed
    }

    /// Sets `partner`'s faults to `faults`, replacing those it had.
    pub(crate) fn set(&self, partner: TenantId, faults: Vec<Fault>) -> Result<(), FaultsRefused> {
        if faults.len() > MAX_FAULTS {
            return Err(FaultsRefused::TooMany);
        }
        let pattern_bytes: usize = faults.iter().map(|fault| fault.path.trim().len()).sum();
        if pattern_bytes > MAX_PATTERN_BYTES {
            return Err(FaultsRefused::TooLong(pattern_bytes));
        }
        let wanted = cost(&faults);
        let active = faults
            .into_iter()
            .enumerate()
            .map(|(index, spec)| {
                Active::new(spec).map_err(|why| FaultsRefused::Invalid { index, why })
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.change(|registry| {
            if active.is_empty() {
                registry.remove(&partner);
                return Ok(());
            }
            let had = registry.partners.get(&partner).map_or(0, |(_, cost)| *cost);
            let partners =
                registry.partners.len() + usize::from(!registry.partners.contains_key(&partner));
            let share = BUDGET / partners;
            if registry.cost - had + wanted > BUDGET && wanted > share {
                // Refused whole: the faults it had stay.
                return Err(FaultsRefused::OverShare {
                    partners,
                    share,
                    cost: wanted,
                });
            }
            registry.remove(&partner);
            registry.cost += wanted;
            registry
                .partners
                .insert(partner, (Arc::new(Mutex::new(active)), wanted));
            Ok(())
        })
    }

    /// Whether any partner has faults: when none has, a request needs no fault looked up.
    pub(crate) fn any(&self) -> bool {
        self.any.load(Ordering::Acquire)
    }

    /// Removes `partner`'s faults.
    pub(crate) fn clear(&self, partner: TenantId) {
        self.change(|registry| registry.remove(&partner));
    }

    /// `partner`'s faults, with what remains of each one's `times`.
    pub(crate) fn list(&self, partner: TenantId) -> Vec<Fault> {
        self.partner(partner).map_or_else(Vec::new, |faults| {
            locked(&faults)
                .iter()
                .map(|f| Fault {
                    times: f.remaining,
                    ..f.spec.clone()
                })
                .collect()
        })
    }

    /// The fault that applies to this request of `partner`, if any: the first that matches
    /// and whose draw says so. It is used up once.
    pub(crate) fn take(&self, partner: TenantId, method: &Method, path: &str) -> Option<Injected> {
        if !self.any() || !may_apply_to(path) {
            return None;
        }
        let shared = self.partner(partner)?;
        let mut faults = locked(&shared);
        let index = faults
            .iter_mut()
            .position(|f| f.matches(method, path) && f.draw())?;
        let fault = &mut faults[index];
        let injected = fault.injected.clone();
        match &mut fault.remaining {
            Some(1) => {
                faults.remove(index);
                if faults.is_empty() {
                    drop(faults);
                    // Unless the partner set others meanwhile (a new list, another lock).
                    self.change(|registry| {
                        if registry
                            .partners
                            .get(&partner)
                            .is_some_and(|(now, _)| Arc::ptr_eq(now, &shared))
                        {
                            registry.remove(&partner);
                        }
                    });
                }
            }
            Some(left) => *left -= 1,
            None => {}
        }
        Some(injected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(path: &str) -> Fault {
        Fault {
            path: path.into(),
            status: Some(503),
            ..Fault::default()
        }
    }

    fn partner() -> TenantId {
        "aaaaaaaa-0000-4000-8000-000000000001".parse().unwrap()
    }

    #[test]
    fn a_fault_applies_to_its_next_matching_requests_then_is_gone() {
        let faults = Faults::default();
        let spec = Fault {
            method: Some("post".into()),
            times: Some(2),
            ..fault("/v1/customers/*/qualifications")
        };
        faults.set(partner(), vec![spec]).unwrap();
        let path = "/v1/customers/abc/qualifications";
        assert_eq!(
            faults.take(partner(), &Method::GET, path),
            None,
            "not a GET"
        );
        assert_eq!(
            faults.take(partner(), &Method::POST, "/v1/customers/abc/qualification"),
            None,
            "another path"
        );
        assert_eq!(
            faults.take(partner(), &Method::POST, "/v1/customers/a/b/qualifications"),
            None,
            "* stays within a segment"
        );
        for _ in 0..2 {
            assert!(matches!(
                faults.take(partner(), &Method::POST, path),
                Some(Injected {
                    effect: Effect::Answer { status: 503, .. },
                    ..
                })
            ));
        }
        assert_eq!(faults.take(partner(), &Method::POST, path), None);
        assert!(faults.list(partner()).is_empty());
        let other: TenantId = "bbbbbbbb-0000-4000-8000-000000000001".parse().unwrap();
        faults.set(partner(), vec![fault("*")]).unwrap();
        assert_eq!(
            faults.take(other, &Method::GET, path),
            None,
            "one partner's"
        );
    }

    #[test]
    fn a_seeded_probability_repeats_exactly() {
        let draws = |seed| {
            let faults = Faults::default();
            let spec = Fault {
                probability: Some(0.5),
                seed: Some(seed),
                ..fault("/v1/customers")
            };
            faults.set(partner(), vec![spec]).unwrap();
            (0..64)
                .map(|_| {
                    faults
                        .take(partner(), &Method::GET, "/v1/customers")
                        .is_some()
                })
                .collect::<Vec<_>>()
        };
        let first = draws(7);
        assert_eq!(first, draws(7));
        assert_ne!(first, draws(8));
        let hits = first.iter().filter(|hit| **hit).count();
        assert!((16..=48).contains(&hits), "{hits} of 64");
    }

    #[test]
    fn faults_that_make_no_sense_are_refused() {
        let faults = Faults::default();
        for (spec, why) in [
            (
                Fault {
                    status: None,
                    ..fault("/x")
                },
                "needs a 'status'",
            ),
            (
                Fault {
                    status: Some(200),
                    ..fault("/x")
                },
                "4xx or 5xx",
            ),
            (
                Fault {
                    close: Some(true),
                    ..fault("/x")
                },
                "not both",
            ),
            (
                Fault {
                    times: Some(0),
                    ..fault("/x")
                },
                "at least 1",
            ),
            (
                Fault {
                    probability: Some(1.5),
                    ..fault("/x")
                },
                "from 0 to 1",
            ),
            (
                Fault {
                    retry_after: Some(5),
                    ..fault("/x")
                },
                "goes with status 429",
            ),
            (
                Fault {
                    delay_ms: Some(10_000_000),
                    ..fault("/x")
                },
                "at most",
            ),
            (fault("v1/customers"), "must start with /"),
            (
                Fault {
                    method: Some("GE T".into()),
                    ..fault("/x")
                },
                "not an HTTP method",
            ),
        ] {
            let refused = faults.set(partner(), vec![spec]).unwrap_err().to_string();
            assert!(refused.contains(why), "{refused} (expected {why})");
        }
        let too_many = vec![fault("/x"); MAX_FAULTS + 1];
        assert_eq!(faults.set(partner(), too_many), Err(FaultsRefused::TooMany));
    }
}

#[cfg(test)]
mod bounds_and_isolation {
    use super::*;

    fn fault(path: String, times: Option<u32>) -> Fault {
        Fault {
            path,
            status: Some(503),
            times,
            ..Fault::default()
        }
    }

    fn partner(n: u32) -> TenantId {
        format!("aaaaaaaa-0000-4000-8000-{n:012}").parse().unwrap()
    }

    /// The longest set of faults a partner may have: [`MAX_FAULTS`] patterns sharing
    /// [`MAX_PATTERN_BYTES`].
    fn fullest() -> Vec<Fault> {
        let each = MAX_PATTERN_BYTES / MAX_FAULTS;
        let mut fullest: Vec<Fault> = (0..MAX_FAULTS)
            .map(|_| fault(format!("/v1/{}", "a".repeat(each - 4)), None))
            .collect();
        let spare = MAX_PATTERN_BYTES - each * MAX_FAULTS;
        fullest[0].path.push_str(&"a".repeat(spare));
        fullest
    }

    #[test]
    fn a_glob_is_bounded_in_length_and_a_partners_globs_in_bytes() {
        let faults = Faults::default();
        let long = format!("/v1/{}", "a".repeat(MAX_PATH_CHARS));
        let refused = faults.set(partner(1), vec![fault(long, None)]);
        assert!(
            matches!(&refused, Err(FaultsRefused::Invalid { why, .. }) if why.contains("longer than")),
            "{refused:?}"
        );
        let longest = format!("/v1/{}", "a".repeat(MAX_PATH_CHARS - 4));
        assert!(faults.set(partner(1), vec![fault(longest, None)]).is_ok());
        assert!(faults.set(partner(1), fullest()).is_ok());
        let mut over = fullest();
        over[0].path.push('a');
        assert!(matches!(
            faults.set(partner(1), over),
            Err(FaultsRefused::TooLong(_))
        ));
        assert_eq!(faults.list(partner(1)).len(), MAX_FAULTS, "the old stay");
    }

    /// However many partners one client makes and fills, another partner still gets its even
    /// share of the node's room, and the total stays bounded (before, filling the slots gave
    /// every later partner a 503).
    #[test]
    fn every_partner_gets_its_share_of_the_room_and_the_total_holds() {
        let faults = Faults::default();
        let full = cost(&fullest());
        let filled_at = BUDGET / full;
        for n in 0..u32::try_from(filled_at).unwrap() {
            assert!(faults.set(partner(n), fullest()).is_ok(), "partner {n}");
        }
        // The budget is spent: a full set is more than an even share now...
        let over = faults.set(partner(99_999), fullest());
        assert!(
            matches!(over, Err(FaultsRefused::OverShare { .. })),
            "{over:?}"
        );
        // ...and a partner's old faults stay when a new set is refused.
        let few = vec![fault("/v1/customers/*/qualifications".into(), None); 4];
        assert!(
            faults.set(partner(99_999), few.clone()).is_ok(),
            "within its share"
        );
        assert!(faults.set(partner(99_999), fullest()).is_err());
        assert_eq!(faults.list(partner(99_999)).len(), 4);
        // Many more partners, each within its share: the total stays under twice the budget.
        for n in 100_000..110_000 {
            let _ = faults.set(partner(n), few.clone());
        }
        let registry = faults.registry.read().unwrap();
        assert!(registry.cost <= 2 * BUDGET, "{}", registry.cost);
        let counted: usize = registry.partners.values().map(|(_, cost)| cost).sum();
        assert_eq!(counted, registry.cost);
    }

    /// A partner's faults are matched under its own lock: while one partner's are held (as a
    /// long match would hold them), another partner's request is answered. Under one lock for
    /// every partner, as before, this test never ends.
    #[test]
    fn one_partners_matching_holds_up_no_other_partner() {
        let faults = Faults::default();
        faults
            .set(partner(1), vec![fault("/v1/**".into(), None)])
            .unwrap();
        faults
            .set(partner(2), vec![fault("/v1/**".into(), Some(1))])
            .unwrap();
        let first = faults.partner(partner(1)).unwrap();
        let held = locked(&first);
        std::thread::scope(|scope| {
            let other = scope.spawn(|| faults.take(partner(2), &Method::GET, "/v1/customers"));
            assert!(other.join().unwrap().is_some());
        });
        drop(held);
        assert!(faults.list(partner(2)).is_empty(), "used up, and removed");
        assert!(
            faults
                .take(partner(1), &Method::GET, "/v1/customers")
                .is_some()
        );
    }

    #[test]
    fn a_path_longer_than_any_route_is_never_faulted() {
        let faults = Faults::default();
        faults
            .set(partner(1), vec![fault("*".into(), None)])
            .unwrap();
        let longest = format!("/v1/{}", "a".repeat(MAX_FAULTED_PATH - 4));
        assert!(faults.take(partner(1), &Method::GET, &longest).is_some());
        let longer = format!("{longest}a");
        assert!(faults.take(partner(1), &Method::GET, &longer).is_none());
    }
}

//! Faults a test injects into its own partner's requests: the next matching requests get a
//! status (429 as Partner Center throttles, a 5xx or 4xx), arrive late, or have their connection
//! closed, before they touch any data. Optionally with a probability and a seed, so that a run
//! repeats exactly. Kept in this node's memory: bounded per partner, and in partners.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::http::Method;
use qualify_types::{Fault, TenantId};

/// Whether a fault may apply to a request for `path`: the partner's Partner Center calls
/// (`/v1/…` and `/webhooks/v1/…`) only. Health, discovery and keys, the OpenAPI document, the
/// token endpoint, the console, the reviewer API and the control plane itself are never
/// faulted, so a test client that sends its token everywhere keeps its health checks, its key
/// discovery and its way to remove the fault.
pub(crate) fn may_apply_to(path: &str) -> bool {
    path.starts_with("/v1/") || path.starts_with("/webhooks/v1/")
}

/// The most faults one partner may set.
pub(crate) const MAX_FAULTS: usize = 100;
/// The most partners with faults at once (each test run makes its own partner).
const MAX_PARTNERS: usize = 10_000;
/// The longest path glob: longer than any path a fault can match (`/v1/…` and `/webhooks/v1/…`
/// with an id or two), and a compiled glob takes about forty times its text in memory.
pub(crate) const MAX_PATH_CHARS: usize = 256;
/// The text of every partner's globs together, in bytes: about 40 MiB compiled. Counted in bytes,
/// not only in faults and partners: 100 long globs for each of 10,000 partners made on demand
/// once took a server from 25 MB to 4.5 GB.
const MAX_PATTERN_BYTES: usize = 1 << 20;
/// The longest delay a fault may add.
pub(crate) const MAX_DELAY_MS: u64 = 120_000;

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
    path: glob::Pattern,
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
        if spec.path.trim().chars().count() > MAX_PATH_CHARS {
            return Err(format!(
                "the path pattern is longer than {MAX_PATH_CHARS} characters"
            ));
        }
        let path = glob::Pattern::new(spec.path.trim())
            .map_err(|e| format!("the path pattern '{}' is not valid: {e}", spec.path))?;
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
        const OPTIONS: glob::MatchOptions = glob::MatchOptions {
            case_sensitive: false,
            require_literal_separator: true,
            require_literal_leading_dot: false,
        };
        self.method.as_ref().is_none_or(|m| m == method)
            && (self.spec.path.trim() == "*" || self.path.matches_with(path, OPTIONS))
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
    /// Too many partners have faults on this node, or their globs take too much memory.
    #[error(
        "the server's room for faults is taken by other partners' (too many partners, or too many long path patterns); try fewer or shorter patterns, or remove faults no test uses (DELETE /test/v1/faults or /test/v1/data)"
    )]
    Full,
}

/// The bytes of glob text `faults` hold.
fn pattern_bytes(faults: &[Active]) -> usize {
    faults.iter().map(|fault| fault.spec.path.len()).sum()
}

/// Every partner's faults, on this node.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    by_partner: Mutex<HashMap<TenantId, Vec<Active>>>,
    /// Whether any partner has any: a request of a server without faults skips the lock.
    any: AtomicBool,
    /// The bytes of glob text of every partner's faults (changed under `by_partner`'s lock).
    pattern_bytes: std::sync::atomic::AtomicUsize,
}

impl Faults {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, Vec<Active>>> {
        self.by_partner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets `partner`'s faults to `faults`, replacing those it had.
    pub(crate) fn set(&self, partner: TenantId, faults: Vec<Fault>) -> Result<(), FaultsRefused> {
        if faults.len() > MAX_FAULTS {
            return Err(FaultsRefused::TooMany);
        }
        let active = faults
            .into_iter()
            .enumerate()
            .map(|(index, spec)| {
                Active::new(spec).map_err(|why| FaultsRefused::Invalid { index, why })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut all = self.lock();
        let had = all.get(&partner).map_or(0, |old| pattern_bytes(old));
        let others = self.pattern_bytes.load(Ordering::Relaxed) - had;
        let wanted = pattern_bytes(&active);
        if active.is_empty() {
            all.remove(&partner);
        } else {
            if !all.contains_key(&partner) && all.len() >= MAX_PARTNERS {
                return Err(FaultsRefused::Full);
            }
            if others + wanted > MAX_PATTERN_BYTES {
                return Err(FaultsRefused::Full);
            }
            all.insert(partner, active);
        }
        self.pattern_bytes.store(others + wanted, Ordering::Relaxed);
        self.any.store(!all.is_empty(), Ordering::Release);
        Ok(())
    }

    /// Whether any partner has faults: when none has, a request needs no fault looked up.
    pub(crate) fn any(&self) -> bool {
        self.any.load(Ordering::Acquire)
    }

    /// Removes `partner`'s faults.
    pub(crate) fn clear(&self, partner: TenantId) {
        let mut all = self.lock();
        if let Some(removed) = all.remove(&partner) {
            self.pattern_bytes
                .fetch_sub(pattern_bytes(&removed), Ordering::Relaxed);
        }
        self.any.store(!all.is_empty(), Ordering::Release);
    }

    /// `partner`'s faults, with what remains of each one's `times`.
    pub(crate) fn list(&self, partner: TenantId) -> Vec<Fault> {
        self.lock().get(&partner).map_or_else(Vec::new, |faults| {
            faults
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
        if !self.any.load(Ordering::Acquire) || !may_apply_to(path) {
            return None;
        }
        let mut all = self.lock();
        let faults = all.get_mut(&partner)?;
        let index = faults
            .iter_mut()
            .position(|f| f.matches(method, path) && f.draw())?;
        let fault = &mut faults[index];
        let injected = fault.injected.clone();
        match &mut fault.remaining {
            Some(1) => {
                let used_up = faults.remove(index);
                self.pattern_bytes
                    .fetch_sub(used_up.spec.path.len(), Ordering::Relaxed);
                if faults.is_empty() {
                    all.remove(&partner);
                    self.any.store(!all.is_empty(), Ordering::Release);
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
mod memory_bounds {
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

    #[test]
    fn a_glob_is_bounded_in_length() {
        let faults = Faults::default();
        let long = format!("/v1/{}", "a".repeat(MAX_PATH_CHARS));
        let refused = faults.set(partner(1), vec![fault(long, None)]);
        assert!(
            matches!(&refused, Err(FaultsRefused::Invalid { why, .. }) if why.contains("longer than")),
            "{refused:?}"
        );
        let longest = format!("/v1/{}", "a".repeat(MAX_PATH_CHARS - 4));
        assert!(faults.set(partner(1), vec![fault(longest, None)]).is_ok());
    }

    #[test]
    fn every_partners_globs_together_are_bounded_in_bytes_and_freed_when_removed() {
        let faults = Faults::default();
        let longest = || format!("/v1/{}", "a".repeat(MAX_PATH_CHARS - 4));
        let per_partner = MAX_FAULTS * MAX_PATH_CHARS;
        let fit = MAX_PATTERN_BYTES / per_partner;
        for n in 0..u32::try_from(fit).unwrap() {
            let set = vec![fault(longest(), None); MAX_FAULTS];
            assert!(faults.set(partner(n), set).is_ok(), "partner {n}");
        }
        // One more partner's worth does not fit: refused, not stored.
        let over = vec![fault(longest(), None); MAX_FAULTS];
        assert_eq!(faults.set(partner(99_999), over), Err(FaultsRefused::Full));
        assert!(faults.list(partner(99_999)).is_empty());
        // Removing, replacing and using faults up gives their bytes back.
        faults.clear(partner(0));
        let once = vec![fault(longest(), Some(1)); MAX_FAULTS];
        assert!(faults.set(partner(99_999), once).is_ok());
        for _ in 0..MAX_FAULTS {
            let path = format!("/v1/{}", "a".repeat(MAX_PATH_CHARS - 4));
            assert!(faults.take(partner(99_999), &Method::GET, &path).is_some());
        }
        assert!(faults.list(partner(99_999)).is_empty());
        let again = vec![fault(longest(), None); MAX_FAULTS];
        assert!(
            faults.set(partner(0), again).is_ok(),
            "the used-up faults' bytes came back"
        );
    }
}

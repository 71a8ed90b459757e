//! Brute-force protection for the token endpoint: after repeated failures for one client id,
//! the client id is locked out for a while that doubles with each further failure (up to 15
//! minutes), and the secret is not even checked while locked, so guessing costs the guesser time
//! and the server no CPU. Counts are per node and bounded in memory.

use std::time::{Duration, Instant};

/// Failures allowed before the first lock-out.
const FREE_FAILURES: u32 = 5;
/// The first lock-out.
const FIRST_LOCK: Duration = Duration::from_secs(30);
/// The longest lock-out, and how long failures are remembered.
const LONGEST_LOCK: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    locked_until: Option<Instant>,
}

/// Failure counts by client id.
#[derive(Debug)]
pub(crate) struct LoginThrottle {
    failures: moka::sync::Cache<String, Failures>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self {
            failures: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(LONGEST_LOCK)
                .build(),
        }
    }
}

impl LoginThrottle {
    /// How long `client_id` must still wait, if it is locked out.
    pub(crate) fn locked_for(&self, client_id: &str) -> Option<Duration> {
        let until = self
            .failures
            .get(&client_id.to_ascii_lowercase())?
            .locked_until?;
        until.checked_duration_since(Instant::now())
    }

    /// Counts a failure; locks the client id once it has failed too often.
    pub(crate) fn failed(&self, client_id: &str) {
        let key = client_id.to_ascii_lowercase();
        let mut entry = self.failures.get(&key).unwrap_or(Failures {
            count: 0,
            locked_until: None,
        });
        entry.count = entry.count.saturating_add(1);
        if entry.count >= FREE_FAILURES {
            let doublings = (entry.count - FREE_FAILURES).min(10);
            let lock = FIRST_LOCK.saturating_mul(1 << doublings).min(LONGEST_LOCK);
            entry.locked_until = Some(Instant::now() + lock);
        }
        self.failures.insert(key, entry);
    }

    /// Forgets a client id's failures after it authenticated.
    pub(crate) fn succeeded(&self, client_id: &str) {
        self.failures.invalidate(&client_id.to_ascii_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_id_is_locked_after_repeated_failures_and_freed_by_success() {
        let throttle = LoginThrottle::default();
        for _ in 0..FREE_FAILURES - 1 {
            throttle.failed("App");
            assert_eq!(throttle.locked_for("app"), None);
        }
        throttle.failed("app");
        let locked = throttle.locked_for("APP").expect("locked");
        assert!(locked <= FIRST_LOCK && locked > FIRST_LOCK - Duration::from_secs(5));
        throttle.failed("app");
        assert!(
            throttle.locked_for("app").expect("locked") > FIRST_LOCK,
            "the lock doubles"
        );
        throttle.succeeded("app");
        assert_eq!(throttle.locked_for("app"), None);
        assert_eq!(throttle.locked_for("other"), None);
    }
}

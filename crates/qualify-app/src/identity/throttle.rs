//! Brute-force protection for the token endpoint: after repeated failures for one client id,
//! the client id is locked out for a while that doubles with each further failure (up to 15
//! minutes), and the secret is not even checked while locked, so guessing costs the guesser time
//! and the server no CPU. Counts are per node, kept only for client ids that can name an
//! application (GUIDs: anything else is refused before a secret is looked at, so there is nothing
//! to guess), and stored as 16 bytes each: the memory they take is bounded in bytes whatever
//! clients send.

use std::time::{Duration, Instant};

use uuid::Uuid;

/// Failures allowed before the first lock-out.
const FREE_FAILURES: u32 = 5;
/// The first lock-out.
const FIRST_LOCK: Duration = Duration::from_secs(30);
/// The longest lock-out, and how long failures are remembered.
const LONGEST_LOCK: Duration = Duration::from_secs(15 * 60);
/// Client ids remembered at once. Each entry is a fixed-size key and value (well under 200 bytes
/// with the cache's own bookkeeping), so this bounds the throttle at about 20 MB.
const REMEMBERED_CLIENT_IDS: u64 = 100_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    locked_until: Option<Instant>,
}

/// Failure counts by client id.
#[derive(Debug)]
pub(crate) struct LoginThrottle {
    failures: moka::sync::Cache<Uuid, Failures>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::remembering(REMEMBERED_CLIENT_IDS)
    }
}

/// The key a client id is counted under: its GUID, or none when it is not one.
fn key(client_id: &str) -> Option<Uuid> {
    Uuid::try_parse(client_id.trim()).ok()
}

impl LoginThrottle {
    /// A throttle remembering at most `capacity` client ids.
    fn remembering(capacity: u64) -> Self {
        Self {
            failures: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_idle(LONGEST_LOCK)
                .build(),
        }
    }

    /// How long `client_id` must still wait, if it is locked out.
    pub(crate) fn locked_for(&self, client_id: &str) -> Option<Duration> {
        let until = self.failures.get(&key(client_id)?)?.locked_until?;
        until.checked_duration_since(Instant::now())
    }

    /// Counts a failure; locks the client id once it has failed too often. A client id that is
    /// not a GUID is not remembered: no application has it.
    pub(crate) fn failed(&self, client_id: &str) {
        let Some(key) = key(client_id) else {
            return;
        };
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
        if let Some(key) = key(client_id) {
            self.failures.invalidate(&key);
        }
    }

    /// Client ids remembered now.
    #[cfg(test)]
    fn remembered(&self) -> u64 {
        self.failures.run_pending_tasks();
        self.failures.entry_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: &str = "0a1b2c3d-0000-4000-8000-0000000000a1";

    #[test]
    fn a_client_id_is_locked_after_repeated_failures_and_freed_by_success() {
        let throttle = LoginThrottle::default();
        for _ in 0..FREE_FAILURES - 1 {
            throttle.failed(APP);
            assert_eq!(throttle.locked_for(APP), None);
        }
        throttle.failed(&APP.to_ascii_uppercase());
        let locked = throttle.locked_for(APP).expect("locked");
        assert!(locked <= FIRST_LOCK && locked > FIRST_LOCK - Duration::from_secs(5));
        throttle.failed(APP);
        assert!(
            throttle.locked_for(&format!(" {APP} ")).expect("locked") > FIRST_LOCK,
            "the lock doubles, whatever the spelling"
        );
        throttle.succeeded(APP);
        assert_eq!(throttle.locked_for(APP), None);
        assert_eq!(
            throttle.locked_for("0a1b2c3d-0000-4000-8000-0000000000a2"),
            None
        );
    }

    #[test]
    fn what_cannot_be_a_client_id_is_not_remembered() {
        let throttle = LoginThrottle::default();
        // The attack that grew the server to 1.7 GB: huge client ids, each a new entry.
        for n in 0..100 {
            throttle.failed(&format!("{n}{}", "x".repeat(60 * 1024)));
        }
        assert_eq!(throttle.remembered(), 0);
        assert_eq!(throttle.locked_for(&"x".repeat(60 * 1024)), None);
    }

    #[test]
    fn remembered_client_ids_are_bounded_in_number_and_each_is_fixed_size() {
        let throttle = LoginThrottle::remembering(1_000);
        for _ in 0..5_000 {
            throttle.failed(&Uuid::new_v4().to_string());
        }
        assert!(throttle.remembered() <= 1_000, "{}", throttle.remembered());
        assert_eq!(size_of::<Uuid>() + size_of::<Failures>(), 16 + 24);
    }
}

//! Brute-force protection for the token endpoint and the console's sign-in, in the manner of
//! Entra's smart lockout: after repeated failures for one client id (or reviewer name) *from one
//! source*, that source is locked out for that client id for a while that doubles with each
//! further failure (up to 15 minutes), and the secret is not even checked while it is locked, so
//! guessing costs the guesser time and the server no CPU.
//!
//! Why per source: client ids are public (every token's `appid`, every audit record), so a
//! lock-out of the client id alone let anyone lock its owner out with five wrong secrets. Keyed
//! by where the failures come from (an IPv4 address, or an IPv6 /64, the smallest block a host
//! is given), a guesser locks only itself; the owner, elsewhere, signs in as before. What Entra
//! calls a familiar location is here the owner's own address: an owner that shares its address
//! with the guesser (one NAT) shares its lock-out, as with Entra. Behind a reverse proxy the
//! source is the client's address as the proxy reports it, from the proxies the operator trusts
//! (`trusted_proxies`); otherwise every client would share the proxy's.
//!
//! Counts are per node, kept only for client ids that can name an application (GUIDs: anything
//! else is refused before a secret is looked at, so there is nothing to guess), and stored as 32
//! bytes each: the memory they take is bounded in bytes whatever clients send.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::source::Source;

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

/// Failure counts by client id and source.
#[derive(Debug)]
pub(crate) struct LoginThrottle {
    failures: moka::sync::Cache<(Uuid, Source), Failures>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::remembering(REMEMBERED_CLIENT_IDS)
    }
}

/// The key a client id's failures from `source` are counted under: its GUID and the source, or
/// none when it is not a GUID.
fn key(client_id: &str, source: Option<IpAddr>) -> Option<(Uuid, Source)> {
    Some((Uuid::try_parse(client_id.trim()).ok()?, Source::of(source)))
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

    /// How long `client_id` must still wait when asked for from `source`, if it is locked out
    /// there.
    pub(crate) fn locked_for(&self, client_id: &str, source: Option<IpAddr>) -> Option<Duration> {
        let until = self.failures.get(&key(client_id, source)?)?.locked_until?;
        until.checked_duration_since(Instant::now())
    }

    /// Counts a failure from `source`; locks the client id there once it has failed too often.
    /// A client id that is not a GUID is not remembered: no application has it.
    pub(crate) fn failed(&self, client_id: &str, source: Option<IpAddr>) {
        let Some(key) = key(client_id, source) else {
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

    /// Forgets a client id's failures from `source` after it authenticated from there.
    pub(crate) fn succeeded(&self, client_id: &str, source: Option<IpAddr>) {
        if let Some(key) = key(client_id, source) {
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
    const GUESSER: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 7)));

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn a_client_id_is_locked_after_repeated_failures_and_freed_by_success() {
        let throttle = LoginThrottle::default();
        for _ in 0..FREE_FAILURES - 1 {
            throttle.failed(APP, GUESSER);
            assert_eq!(throttle.locked_for(APP, GUESSER), None);
        }
        throttle.failed(&APP.to_ascii_uppercase(), GUESSER);
        let locked = throttle.locked_for(APP, GUESSER).expect("locked");
        assert!(locked <= FIRST_LOCK && locked > FIRST_LOCK - Duration::from_secs(5));
        throttle.failed(APP, GUESSER);
        assert!(
            throttle
                .locked_for(&format!(" {APP} "), GUESSER)
                .expect("locked")
                > FIRST_LOCK,
            "the lock doubles, whatever the spelling"
        );
        throttle.succeeded(APP, GUESSER);
        assert_eq!(throttle.locked_for(APP, GUESSER), None);
        assert_eq!(
            throttle.locked_for("0a1b2c3d-0000-4000-8000-0000000000a2", GUESSER),
            None
        );
    }

    #[test]
    fn a_guessers_failures_lock_the_guesser_not_the_owner_elsewhere() {
        let throttle = LoginThrottle::default();
        for _ in 0..FREE_FAILURES + 3 {
            throttle.failed(APP, GUESSER);
        }
        assert!(throttle.locked_for(APP, GUESSER).is_some());
        // The owner, from anywhere else, is not locked out, and its success frees nobody else.
        let owner = ip("198.51.100.9");
        assert_eq!(throttle.locked_for(APP, owner), None);
        throttle.succeeded(APP, owner);
        assert!(throttle.locked_for(APP, GUESSER).is_some());
        // An IPv6 guesser is one /64, whichever address of it it takes; the IPv4 address written
        // as IPv6 is that IPv4 address.
        for n in 0..FREE_FAILURES {
            throttle.failed(APP, ip(&format!("2001:db8:1:2::{n:x}")));
        }
        assert!(
            throttle
                .locked_for(APP, ip("2001:db8:1:2:ffff::1"))
                .is_some()
        );
        assert_eq!(throttle.locked_for(APP, ip("2001:db8:1:3::1")), None);
        assert!(throttle.locked_for(APP, ip("::ffff:203.0.113.7")).is_some());
    }

    #[test]
    fn what_cannot_be_a_client_id_is_not_remembered() {
        let throttle = LoginThrottle::default();
        // The attack that grew the server to 1.7 GB: huge client ids, each a new entry.
        for n in 0..100 {
            throttle.failed(&format!("{n}{}", "x".repeat(60 * 1024)), GUESSER);
        }
        assert_eq!(throttle.remembered(), 0);
        assert_eq!(throttle.locked_for(&"x".repeat(60 * 1024), GUESSER), None);
    }

    #[test]
    fn remembered_client_ids_are_bounded_in_number_and_each_is_fixed_size() {
        let throttle = LoginThrottle::remembering(1_000);
        for _ in 0..5_000 {
            throttle.failed(&Uuid::new_v4().to_string(), GUESSER);
        }
        assert!(throttle.remembered() <= 1_000, "{}", throttle.remembered());
        assert_eq!(size_of::<(Uuid, Source)>() + size_of::<Failures>(), 32 + 24);
    }
}

//! Where "now" comes from. Every date the service writes (a customer's creation, a submission, a
//! decision, an audit record, a job's schedule) is read from the [`Clock`] in the application
//! state: the wall clock in production, a [`ManualClock`] in a test that needs time to pass
//! without waiting for it. What must follow real time whatever a test does to its clock (token
//! lifetimes, the token cache, signatures' timestamps) reads [`wall_now`] instead.
//!
//! In development mode each partner also has a clock of its own (`test_control::Partners`): the
//! server's, ahead by however far that partner's test moved it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use qualify_types::Timestamp;

/// A source of the current time. Cheap to clone: clones share the source.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    manual: Option<ManualClock>,
}

impl Clock {
    /// The wall clock.
    pub fn wall() -> Self {
        Self { manual: None }
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        match &self.manual {
            None => wall_now(),
            Some(manual) => manual.now(),
        }
    }
}

/// A clock that moves only when told to: for tests.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<Timestamp>>);

impl ManualClock {
    /// A clock showing `start`.
    pub fn starting_at(start: Timestamp) -> Self {
        Self(Arc::new(Mutex::new(start)))
    }

    /// The time it shows.
    pub fn now(&self) -> Timestamp {
        *self.lock()
    }

    /// Moves it forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now = now.plus_millis(i64::try_from(by.as_millis()).unwrap_or(i64::MAX));
    }

    /// A [`Clock`] reading this one.
    pub fn clock(&self) -> Clock {
        Clock {
            manual: Some(self.clone()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Timestamp> {
        // A timestamp is valid whatever a panicking holder did.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The wall clock's time, for what must not follow a test's clock: token lifetimes, signatures
/// and the console's sessions.
#[allow(clippy::disallowed_methods)] // the one reading of the system's time
pub fn wall_now() -> Timestamp {
    Timestamp::from_datetime(chrono::Utc::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_advanced_and_its_clocks_follow_it() {
        let start = Timestamp::from_unix_millis(1_700_000_000_000).unwrap();
        let manual = ManualClock::starting_at(start);
        let clock = manual.clock();
        assert_eq!(clock.now(), start);
        manual.advance(Duration::from_secs(2 * 24 * 3600));
        assert_eq!(
            clock.clone().now().unix_millis() - start.unix_millis(),
            2 * 24 * 3600 * 1000
        );
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // the system's time, to compare the wall clock with
    fn the_wall_clock_reads_the_system_time() {
        let before = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis();
        let now = Clock::wall().now().unix_millis();
        assert!(u128::try_from(now).unwrap() + 1 >= before);
    }
}

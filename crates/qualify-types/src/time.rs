//! Timestamps as Partner Center writes them: UTC, RFC 3339, millisecond precision, a `Z`.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant with millisecond precision (finer precision is dropped on construction, so what is
/// stored, sent and compared is always the same value).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// Milliseconds since the Unix epoch, `None` when out of chrono's range.
    pub fn from_unix_millis(millis: i64) -> Option<Self> {
        DateTime::from_timestamp_millis(millis).map(Self)
    }

    /// Truncates to milliseconds.
    pub fn from_datetime(at: DateTime<Utc>) -> Self {
        Self::from_unix_millis(at.timestamp_millis()).unwrap_or(Self(at))
    }

    /// Milliseconds since the Unix epoch: how timestamps are stored.
    pub fn unix_millis(self) -> i64 {
        self.0.timestamp_millis()
    }

    /// Whole seconds since the Unix epoch: how JWTs carry time.
    pub fn unix_seconds(self) -> i64 {
        self.0.timestamp()
    }

    /// The underlying chrono value.
    pub fn as_datetime(self) -> DateTime<Utc> {
        self.0
    }

    /// This instant moved by `millis` (negative moves back), saturating at chrono's range.
    pub fn plus_millis(self, millis: i64) -> Self {
        Self::from_unix_millis(self.unix_millis().saturating_add(millis)).unwrap_or(self)
    }
}

/// `elapsed` in milliseconds, rounded to the microsecond: how logs, the journal and start-up
/// print a duration, so that it reads `0.189`, never `0.18851600000000002`.
pub fn rounded_millis(elapsed: std::time::Duration) -> f64 {
    (elapsed.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|at| Self::from_datetime(at.with_timezone(&Utc)))
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_in_milliseconds_to_the_microsecond() {
        let nanos = |n| std::time::Duration::from_nanos(n);
        assert_eq!(rounded_millis(nanos(188_516)).to_string(), "0.189");
        assert_eq!(rounded_millis(nanos(32_523_640)).to_string(), "32.524");
        assert_eq!(rounded_millis(nanos(2_000_000)).to_string(), "2");
        assert_eq!(rounded_millis(nanos(400)).to_string(), "0");
    }

    #[test]
    fn timestamps_print_as_utc_with_milliseconds_and_z() {
        let at = Timestamp::from_unix_millis(1_606_991_858_885).unwrap();
        assert_eq!(at.to_string(), "2020-12-03T10:37:38.885Z");
        let whole = Timestamp::from_unix_millis(1_607_115_264_000).unwrap();
        assert_eq!(whole.to_string(), "2020-12-04T20:54:24.000Z");
    }

    #[test]
    fn timestamps_round_trip_through_json_and_drop_sub_millisecond_digits() {
        let parsed: Timestamp =
            serde_json::from_str("\"2020-12-03T11:37:38.885999+01:00\"").unwrap();
        assert_eq!(parsed.unix_millis(), 1_606_991_858_885);
        assert_eq!(
            serde_json::to_string(&parsed).unwrap(),
            "\"2020-12-03T10:37:38.885Z\""
        );
    }
}

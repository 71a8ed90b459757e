//! The dates of an audit query as Partner Center's clients send them (`startDate`, `endDate`)
//! and `qualify admin audit` takes them: in any of the formats its SDKs and examples use.

use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, Utc};
use qualify_types::Timestamp;

/// How far back a partner may ask, as Partner Center limits it.
pub const RETENTION_DAYS: u64 = 90;
/// The period when `startDate` is absent, and the longest one an absent `endDate` gives.
pub const DEFAULT_WINDOW_DAYS: u64 = 30;

/// A date parameter that is no date, and what it must be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidDate(pub String);

/// An instant a date parameter names: its moment, or the start of its day when it has no time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateParam {
    /// A date and a time.
    Moment(Timestamp),
    /// A day (midnight UTC).
    Day(Timestamp),
}

impl DateParam {
    /// Reads `raw`: RFC 3339, ISO 8601 without an offset (UTC), `yyyy-mm-dd`, or the .NET SDK's
    /// `MM/dd/yyyy HH:mm:ss` and the documentation's `M/d/yyyy h:mm:ss tt`.
    pub fn parse(name: &str, raw: &str) -> Result<Self, InvalidDate> {
        let raw = raw.trim();
        if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
            return Ok(Self::Moment(Timestamp::from_datetime(
                at.with_timezone(&Utc),
            )));
        }
        for format in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M:%S%.f",
            "%m/%d/%Y %I:%M:%S %p",
            "%m/%d/%Y %H:%M:%S",
        ] {
            if let Ok(at) = NaiveDateTime::parse_from_str(raw, format) {
                return Ok(Self::Moment(Timestamp::from_datetime(at.and_utc())));
            }
        }
        for format in ["%Y-%m-%d", "%m/%d/%Y"] {
            if let Some(day) = NaiveDate::parse_from_str(raw, format)
                .ok()
                .and_then(|day| day.and_hms_opt(0, 0, 0))
            {
                return Ok(Self::Day(Timestamp::from_datetime(day.and_utc())));
            }
        }
        Err(InvalidDate(format!(
            "The parameter '{name}' must be a date (yyyy-mm-dd) or a date and time (RFC 3339, or MM/dd/yyyy HH:mm:ss)."
        )))
    }

    /// Where a period starting at it starts.
    pub fn as_start(self) -> Timestamp {
        match self {
            Self::Moment(at) | Self::Day(at) => at,
        }
    }

    /// Where a period ending at it ends (exclusive): after the moment, or after the whole day.
    pub fn as_end(self) -> Timestamp {
        match self {
            Self::Moment(at) => at.plus_millis(1),
            Self::Day(at) => days_after(at, 1),
        }
    }
}

/// `at` moved forward by `days`.
pub fn days_after(at: Timestamp, days: u64) -> Timestamp {
    at.as_datetime()
        .checked_add_days(Days::new(days))
        .map_or(at, Timestamp::from_datetime)
}

/// `at` moved back by `days`.
pub fn days_before(at: Timestamp, days: u64) -> Timestamp {
    at.as_datetime()
        .checked_sub_days(Days::new(days))
        .map_or(at, Timestamp::from_datetime)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::from_datetime(DateTime::parse_from_rfc3339(text).unwrap().to_utc())
    }

    #[test]
    fn dates_are_read_in_every_format_partner_centers_clients_send() {
        let day = DateParam::Day(at("2017-06-01T00:00:00Z"));
        assert_eq!(DateParam::parse("startDate", "2017-06-01").unwrap(), day);
        assert_eq!(DateParam::parse("startDate", "6/1/2017").unwrap(), day);
        let midnight = DateParam::Moment(at("2017-06-01T00:00:00Z"));
        for raw in [
            "6/1/2017 12:00:00 AM",
            "06/01/2017 00:00:00",
            "2017-06-01T00:00:00",
            "2017-06-01T00:00:00Z",
            "2017-06-01T02:00:00+02:00",
        ] {
            assert_eq!(
                DateParam::parse("startDate", raw).unwrap(),
                midnight,
                "{raw}"
            );
        }
        assert_eq!(
            DateParam::parse("endDate", "6/1/2017 1:30:00 PM")
                .unwrap()
                .as_start(),
            at("2017-06-01T13:30:00Z")
        );
        assert!(DateParam::parse("startDate", "yesterday").is_err());
        assert!(DateParam::parse("startDate", "2017-13-01").is_err());
    }

    #[test]
    fn a_day_ends_at_the_next_midnight_and_a_moment_just_after_itself() {
        let day = DateParam::parse("endDate", "2017-06-01").unwrap();
        assert_eq!(day.as_end(), at("2017-06-02T00:00:00Z"));
        let moment = DateParam::parse("endDate", "2017-06-01T10:00:00Z").unwrap();
        assert_eq!(moment.as_end(), at("2017-06-01T10:00:00.001Z"));
    }
}

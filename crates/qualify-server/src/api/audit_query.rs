//! The query of `GET /v1/auditrecords` as Partner Center's clients send it: `startDate` and
//! `endDate` in any of the formats its SDKs and examples use, and `filter`, a JSON object
//! `{"Field", "Value", "Operator"}` naming one of `CompanyName` (substring), `CustomerId` or
//! `ResourceType` (equals), in any case.

use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, Utc};
use qualify_types::{CustomerId, Timestamp};

use crate::ApiError;

/// How far back a partner may ask, as Partner Center limits it.
pub(crate) const RETENTION_DAYS: u64 = 90;
/// The period when `startDate` is absent, and the longest one an absent `endDate` gives.
pub(crate) const DEFAULT_WINDOW_DAYS: u64 = 30;

/// An instant a date parameter names: its moment, or the start of its day when it has no time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateParam {
    /// A date and a time.
    Moment(Timestamp),
    /// A day (midnight UTC).
    Day(Timestamp),
}

impl DateParam {
    /// Reads `raw`: RFC 3339, ISO 8601 without an offset (UTC), `yyyy-mm-dd`, or the .NET SDK's
    /// `MM/dd/yyyy HH:mm:ss` and the documentation's `M/d/yyyy h:mm:ss tt`.
    pub(crate) fn parse(name: &str, raw: &str) -> Result<Self, ApiError> {
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
        Err(ApiError::InvalidProperty(format!(
            "The parameter '{name}' must be a date (yyyy-mm-dd) or a date and time (RFC 3339, or MM/dd/yyyy HH:mm:ss)."
        )))
    }

    /// Where a period starting at it starts.
    pub(crate) fn as_start(self) -> Timestamp {
        match self {
            Self::Moment(at) | Self::Day(at) => at,
        }
    }

    /// Where a period ending at it ends (exclusive): after the moment, or after the whole day.
    pub(crate) fn as_end(self) -> Timestamp {
        match self {
            Self::Moment(at) => at.plus_millis(1),
            Self::Day(at) => days_after(at, 1),
        }
    }
}

/// `at` moved forward by `days`.
pub(crate) fn days_after(at: Timestamp, days: u64) -> Timestamp {
    at.as_datetime()
        .checked_add_days(Days::new(days))
        .map_or(at, Timestamp::from_datetime)
}

/// `at` moved back by `days`.
pub(crate) fn days_before(at: Timestamp, days: u64) -> Timestamp {
    at.as_datetime()
        .checked_sub_days(Days::new(days))
        .map_or(at, Timestamp::from_datetime)
}

/// What a `filter` selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuditFilter {
    /// Customers whose company name contains this.
    CompanyName(String),
    /// This customer.
    CustomerId(CustomerId),
    /// This resource type.
    ResourceType(String),
}

impl AuditFilter {
    /// Reads the `filter` parameter (already URL-decoded).
    pub(crate) fn parse(raw: &str) -> Result<Self, ApiError> {
        let invalid = |why: &str| {
            ApiError::InvalidProperty(format!(
                "The parameter 'filter' {why}: it is a JSON object {{\"Field\", \"Value\", \"Operator\"}} with Field CompanyName (Operator substring), CustomerId or ResourceType (Operator equals)."
            ))
        };
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(raw.trim()).map_err(|_| invalid("is not readable"))?;
        // Keys in any case: the SDKs and the documentation spell them differently.
        let member = |name: &str| {
            object
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .and_then(|(_, value)| value.as_str())
                .map(str::trim)
                .ok_or_else(|| invalid(&format!("needs {name} as a string")))
        };
        let (field, operator) = (
            member("Field")?.to_ascii_lowercase(),
            member("Operator")?.to_ascii_lowercase(),
        );
        let value = member("Value")?;
        if value.is_empty() || value.len() > 256 || value.chars().any(char::is_control) {
            return Err(invalid("needs a Value of 1 to 256 printable characters"));
        }
        match (field.as_str(), operator.as_str()) {
            ("companyname", "substring" | "equals") => Ok(Self::CompanyName(value.to_owned())),
            ("customerid", "equals") => value
                .parse()
                .map(Self::CustomerId)
                .map_err(|_| invalid("names a CustomerId that is not a GUID")),
            ("resourcetype", "equals") => Ok(Self::ResourceType(value.to_ascii_lowercase())),
            ("companyname" | "customerid" | "resourcetype", _) => {
                Err(invalid("has an Operator that its Field does not take"))
            }
            _ => Err(invalid("names a Field it cannot filter by")),
        }
    }
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

    #[test]
    fn filters_are_read_in_any_case_and_refused_with_why() {
        assert_eq!(
            AuditFilter::parse(
                r#"{"Field":"CompanyName","Value":"Contoso","Operator":"substring"}"#
            )
            .unwrap(),
            AuditFilter::CompanyName("Contoso".into())
        );
        assert_eq!(
            AuditFilter::parse(
                r#"{"field":"ResourceType","value":"Customer","operator":"Equals"}"#
            )
            .unwrap(),
            AuditFilter::ResourceType("customer".into())
        );
        let customer = "0b7d0c52-5c1e-4a6b-9b1d-2f6c1f0a9e3d";
        assert_eq!(
            AuditFilter::parse(&format!(
                r#"{{"Field":"CustomerId","Value":"{customer}","Operator":"equals"}}"#
            ))
            .unwrap(),
            AuditFilter::CustomerId(customer.parse().unwrap())
        );
        for bad in [
            "not json",
            r#"{"Field":"CustomerId","Value":"nope","Operator":"equals"}"#,
            r#"{"Field":"CustomerId","Value":"x","Operator":"substring"}"#,
            r#"{"Field":"Password","Value":"x","Operator":"equals"}"#,
            r#"{"Field":"CompanyName","Value":"","Operator":"substring"}"#,
        ] {
            assert!(AuditFilter::parse(bad).is_err(), "{bad}");
        }
    }
}

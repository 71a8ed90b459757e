//! The `filter` of `GET /v1/auditrecords` as Partner Center's clients send it: a JSON object
//! `{"Field", "Value", "Operator"}` naming one of `CompanyName` (substring), `CustomerId` or
//! `ResourceType` (equals), in any case. The dates are the core's (`qualify_app::audit`).

use qualify_types::CustomerId;

use crate::error::ApiError;

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

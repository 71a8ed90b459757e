//! Partner Center's customer search, `GET /v1/customers?filter=…`: the filter is a JSON object,
//! URL-encoded, `{"Field": "CompanyName"|"Domain"|"IndirectReseller"|"IndirectCloudSolutionProvider",
//! "Value": "…", "Operator": "starts_with"}`, as Microsoft's SDKs send it (`SimpleFieldFilter`);
//! `starts_with`, in any case, is the one operator Partner Center's customer search has.
//! Anything else is refused with a 400 that says what is wrong, never ignored: a search that
//! silently returned every customer would hand a client the wrong one.

use qualify_store::CustomerSearch;
use qualify_types::{CustomerSearchField, STARTS_WITH, TenantId};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// The longest value searched for; Partner Center's fields are at most this long.
const MAX_VALUE_CHARS: usize = 256;

/// What a filter asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Search {
    /// Customers whose field starts with a prefix, found by the store.
    Store(CustomerSearch),
    /// Customers whose indirect provider's tenant id starts with the prefix: in Qualify the
    /// provider is the partner holding them, so all of the caller's customers, or none.
    Provider(String),
}

impl Search {
    /// Whether `caller` is the indirect provider a [`Search::Provider`] names.
    pub(crate) fn provider_matches(prefix: &str, caller: TenantId) -> bool {
        caller.to_string().starts_with(&prefix.to_lowercase())
    }
}

/// The filter's JSON, its keys read in any casing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Filter {
    field: String,
    value: String,
    operator: String,
}

/// The search `raw` (the `filter` parameter, already URL-decoded) asks for.
pub(crate) fn parse(raw: &str) -> Result<Search, ApiError> {
    let invalid = |why: &str| {
        ApiError::InvalidProperty(format!(
            "The filter is not a customer search: {why}. Send {{\"Field\": \"CompanyName\", \"Value\": \"cont\", \"Operator\": \"starts_with\"}}, URL-encoded; the fields are CompanyName, Domain, IndirectReseller and IndirectCloudSolutionProvider."
        ))
    };
    let object: Map<String, Value> =
        serde_json::from_str(raw).map_err(|_| invalid("it is not a JSON object"))?;
    // Keys in any casing (`Field`, `field`), as the rest of Partner Center's API reads them.
    let lowered: Map<String, Value> = object
        .into_iter()
        .map(|(key, value)| (key.to_lowercase(), value))
        .collect();
    let filter: Filter = serde_json::from_value(Value::Object(lowered)).map_err(|error| {
        let why = error.to_string();
        let why = why.split(" at line").next().unwrap_or_default();
        invalid(&format!(
            "{why} (it has Field, Value and Operator, each a string)"
        ))
    })?;
    if !filter.operator.eq_ignore_ascii_case(STARTS_WITH) {
        return Err(invalid(&format!(
            "the operator '{}' is not one Partner Center's customer search has (starts_with)",
            printable(&filter.operator)
        )));
    }
    if filter.value.chars().count() > MAX_VALUE_CHARS {
        return Err(invalid(&format!(
            "the value is longer than {MAX_VALUE_CHARS} characters"
        )));
    }
    if filter.value.chars().any(char::is_control) {
        return Err(invalid("the value holds a control character"));
    }
    let value = filter.value;
    let field = CustomerSearchField::parse(&filter.field).ok_or_else(|| {
        invalid(&format!(
            "the field '{}' is not one it searches",
            printable(&filter.field)
        ))
    })?;
    Ok(match field {
        CustomerSearchField::CompanyName => Search::Store(CustomerSearch::CompanyName(value)),
        CustomerSearchField::Domain => Search::Store(CustomerSearch::Domain(value)),
        CustomerSearchField::IndirectReseller => {
            Search::Store(CustomerSearch::AssociatedPartner(value))
        }
        CustomerSearchField::IndirectCloudSolutionProvider => Search::Provider(value),
    })
}

/// At most 64 characters of what a client sent, for an error message.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_field_as_microsofts_sdks_send_it() {
        for (field, expected) in [
            (
                "CompanyName",
                Search::Store(CustomerSearch::CompanyName("Cont".into())),
            ),
            (
                "Domain",
                Search::Store(CustomerSearch::Domain("Cont".into())),
            ),
            (
                "domain",
                Search::Store(CustomerSearch::Domain("Cont".into())),
            ),
            (
                "IndirectReseller",
                Search::Store(CustomerSearch::AssociatedPartner("Cont".into())),
            ),
            (
                "IndirectCloudSolutionProvider",
                Search::Provider("Cont".into()),
            ),
        ] {
            let raw = format!(r#"{{"Field":"{field}","Value":"Cont","Operator":"starts_with"}}"#);
            assert_eq!(parse(&raw).unwrap(), expected, "{raw}");
        }
        let lower = r#"{"field":"Domain","value":"x","operator":"STARTS_WITH"}"#;
        assert!(parse(lower).is_ok());
    }

    #[test]
    fn the_typed_clients_filter_is_what_the_server_reads() {
        for field in CustomerSearchField::ALL {
            let filter = qualify_types::CustomerFilter::starts_with(field, "Cont");
            let raw = serde_json::to_string(&filter).unwrap();
            assert!(parse(&raw).is_ok(), "{raw}");
        }
    }

    #[test]
    fn anything_else_is_refused_saying_why() {
        for (raw, says) in [
            ("pcsdk", "not a JSON object"),
            ("[1]", "not a JSON object"),
            (r#"{"Field":"Domain","Value":"x"}"#, "operator"),
            (r#"{"Field":"Domain","Operator":"starts_with"}"#, "value"),
            (
                r#"{"Field":"Domain","Value":1,"Operator":"starts_with"}"#,
                "string",
            ),
            (
                r#"{"Field":"Country","Value":"x","Operator":"starts_with"}"#,
                "'Country'",
            ),
            (
                r#"{"Field":"Domain","Value":"x","Operator":"equals"}"#,
                "'equals'",
            ),
            (
                r#"{"Field":"Domain","Value":"x","Operator":"starts_with","Extra":1}"#,
                "extra",
            ),
            (
                r#"{"Field":"Domain","Value":"a\u0000","Operator":"starts_with"}"#,
                "control",
            ),
        ] {
            let refused = parse(raw).unwrap_err().to_string();
            assert!(refused.contains(says), "{raw}: {refused}");
        }
        let long = format!(
            r#"{{"Field":"Domain","Value":"{}","Operator":"starts_with"}}"#,
            "a".repeat(MAX_VALUE_CHARS + 1)
        );
        assert!(parse(&long).unwrap_err().to_string().contains("longer"));
    }

    #[test]
    fn the_provider_is_the_partner_holding_the_customers() {
        let caller: TenantId = "aaaaaaaa-0000-4000-8000-000000000001".parse().unwrap();
        assert!(Search::provider_matches("AAAAAAAA", caller));
        assert!(Search::provider_matches("", caller));
        assert!(!Search::provider_matches("bbbb", caller));
    }
}

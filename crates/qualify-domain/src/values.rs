//! Value types parsed once at the edge ("parse, don't validate"): once a value of one of these
//! types exists, it is valid, and nothing downstream checks it again.

use std::fmt;

use url::Url;

/// A value a client sent that is not acceptable, naming the property it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("The property '{property}' {problem}.")]
pub struct InvalidValue {
    /// The property's name as the contract spells it, e.g. `companyProfile.domain`.
    pub property: &'static str,
    /// What is wrong, phrased to follow "The property 'x' …".
    pub problem: String,
}

impl InvalidValue {
    /// `property` is wrong because `problem`.
    pub fn new(property: &'static str, problem: impl Into<String>) -> Self {
        Self {
            property,
            problem: problem.into(),
        }
    }

    /// `property` is required but absent.
    pub fn missing(property: &'static str) -> Self {
        Self::new(property, "is required")
    }
}

/// Trims `raw` and checks it is non-empty, at most `max` characters, without control characters.
fn plain_text(property: &'static str, raw: &str, max: usize) -> Result<String, InvalidValue> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(InvalidValue::new(property, "must not be empty"));
    }
    if text.chars().count() > max {
        return Err(InvalidValue::new(
            property,
            format!("must be at most {max} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(InvalidValue::new(
            property,
            "must not contain control characters",
        ));
    }
    Ok(text.to_owned())
}

/// An optional free-text property: absent, or 1–`max` characters without control characters.
pub fn optional_text(
    property: &'static str,
    raw: Option<&str>,
    max: usize,
) -> Result<Option<String>, InvalidValue> {
    raw.map(|raw| plain_text(property, raw, max)).transpose()
}

/// An optional ISO 3166 two-letter country code, stored upper case.
pub fn optional_country(
    property: &'static str,
    raw: Option<&str>,
) -> Result<Option<String>, InvalidValue> {
    raw.map(|raw| {
        let code = raw.trim();
        if code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic()) {
            Ok(code.to_ascii_uppercase())
        } else {
            Err(InvalidValue::new(
                property,
                "must be a two-letter ISO 3166 country code such as US",
            ))
        }
    })
    .transpose()
}

/// An optional e-mail address: something@somewhere, at most 254 characters.
pub fn optional_email(
    property: &'static str,
    raw: Option<&str>,
) -> Result<Option<String>, InvalidValue> {
    let Some(text) = optional_text(property, raw, 254)? else {
        return Ok(None);
    };
    match text.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
                && !text.contains(' ') =>
        {
            Ok(Some(text))
        }
        _ => Err(InvalidValue::new(property, "must be an e-mail address")),
    }
}

/// Is `host` a DNS name of at least two labels (`contoso.edu`), each label 1–63 letters,
/// digits or hyphens, not starting or ending with a hyphen?
fn is_dns_name(host: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    host.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

macro_rules! text_value {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

text_value!(
    /// A customer's domain, e.g. `contoso.onmicrosoft.com`: a DNS name, stored lower case.
    CustomerDomain
);

impl CustomerDomain {
    /// Parses the `companyProfile.domain` property.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        const PROPERTY: &str = "companyProfile.domain";
        let domain = plain_text(PROPERTY, raw, 253)?.to_ascii_lowercase();
        if !is_dns_name(&domain) {
            return Err(InvalidValue::new(
                PROPERTY,
                "must be a domain name such as contoso.onmicrosoft.com",
            ));
        }
        Ok(Self(domain))
    }
}

text_value!(
    /// A company's name: 1–200 characters of text.
    CompanyName
);

impl CompanyName {
    /// Parses a company name given in `property`.
    pub fn parse(property: &'static str, raw: &str) -> Result<Self, InvalidValue> {
        plain_text(property, raw, 200).map(Self)
    }
}

text_value!(
    /// The web site of an education customer: a host name (`contoso.edu`) or an http(s) URL.
    Website
);

impl Website {
    /// Parses the `website` property. What the partner wrote is kept as written (trimmed), so
    /// the reviewer sees it; it must name a real-looking host.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        const PROPERTY: &str = "website";
        let text = plain_text(PROPERTY, raw, 2048)?;
        let candidate = if text.contains("://") {
            text.clone()
        } else {
            format!("https://{text}")
        };
        let url = Url::parse(&candidate).map_err(|_| {
            InvalidValue::new(
                PROPERTY,
                "must be a host name such as contoso.edu or an http(s) URL",
            )
        })?;
        let host_ok = url.host_str().is_some_and(is_dns_name);
        if !matches!(url.scheme(), "http" | "https") || !host_ok {
            return Err(InvalidValue::new(
                PROPERTY,
                "must be a host name such as contoso.edu or an http(s) URL",
            ));
        }
        Ok(Self(text))
    }

    /// The host name it names, lower case (`www.contoso.edu` of `https://www.Contoso.edu/x`).
    pub fn host(&self) -> Option<String> {
        let candidate = if self.0.contains("://") {
            self.0.clone()
        } else {
            format!("https://{}", self.0)
        };
        Url::parse(&candidate)
            .ok()
            .and_then(|url| url.host_str().map(str::to_ascii_lowercase))
    }
}

text_value!(
    /// A GCC validation code as a client sends it: 1–64 printable characters.
    ValidationCodeValue
);

impl ValidationCodeValue {
    /// Parses the `validationCode` property (or the legacy `?code=` parameter).
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        const PROPERTY: &str = "validationCode";
        let code = plain_text(PROPERTY, raw, 64)?;
        if code.chars().any(char::is_whitespace) {
            return Err(InvalidValue::new(PROPERTY, "must not contain spaces"));
        }
        Ok(Self(code))
    }
}

text_value!(
    /// Why a reviewer denied a request: 1–500 characters, shown to the partner as
    /// `vettingReason`.
    DenialReason
);

impl DenialReason {
    /// Parses the `vettingReason` of a denial.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        plain_text("vettingReason", raw, 500).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_domains_are_dns_names_stored_lower_case() {
        assert_eq!(
            CustomerDomain::parse(" Contoso.OnMicrosoft.com ")
                .unwrap()
                .as_str(),
            "contoso.onmicrosoft.com"
        );
        for bad in [
            "",
            "contoso",
            "-a.com",
            "a..com",
            "a_b.com",
            "con toso.com",
            "a.com/",
        ] {
            let err = CustomerDomain::parse(bad).unwrap_err();
            assert_eq!(err.property, "companyProfile.domain", "{bad}");
        }
    }

    #[test]
    fn websites_are_hosts_or_http_urls_and_kept_as_written() {
        for good in [
            "contoso.edu",
            "https://www.contoso.edu/about",
            "http://school.k12.wa.us",
        ] {
            assert_eq!(Website::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "",
            "not a site",
            "ftp://contoso.edu",
            "localhost",
            "https://",
            "a@b",
        ] {
            assert!(Website::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_values_refuse_empty_overlong_and_control_characters() {
        assert!(CompanyName::parse("name", "  ").is_err());
        assert!(CompanyName::parse("name", &"x".repeat(201)).is_err());
        assert!(CompanyName::parse("name", "a\u{0}b").is_err());
        assert_eq!(
            CompanyName::parse("name", " Contoso ").unwrap().as_str(),
            "Contoso"
        );
        assert!(DenialReason::parse(&"r".repeat(501)).is_err());
        assert!(ValidationCodeValue::parse("100 001").is_err());
        assert_eq!(
            ValidationCodeValue::parse("100001").unwrap().as_str(),
            "100001"
        );
    }

    #[test]
    fn optional_billing_values_are_checked_only_when_present() {
        assert_eq!(optional_text("x", None, 5), Ok(None));
        assert!(optional_text("x", Some("toolong"), 5).is_err());
        assert_eq!(
            optional_country("c", Some("us")).unwrap().as_deref(),
            Some("US")
        );
        assert!(optional_country("c", Some("USA")).is_err());
        assert!(
            optional_email("e", Some("a@contoso.com"))
                .unwrap()
                .is_some()
        );
        for bad in [
            "contoso.com",
            "@contoso.com",
            "a@b",
            "a b@c.com",
            "a@b@c.com",
        ] {
            assert!(optional_email("e", Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_invalid_value_reads_as_a_sentence_naming_the_property() {
        let err = InvalidValue::missing("educationSegment");
        assert_eq!(
            err.to_string(),
            "The property 'educationSegment' is required."
        );
    }
}

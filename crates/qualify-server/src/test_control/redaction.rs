//! What the journal keeps of a request's query string and body: redacted by default, kept only
//! where it is known to hold no secret. A value is kept when its name is one the API itself
//! takes (a query parameter or a request body's property, read from the OpenAPI document, the
//! one place that knows them), that name names no secret, and the value is not shaped like one
//! (a JWT, an `Authorization` value, a long opaque string, a URL's query or password). Anything
//! else, any unknown key, a body that is not JSON or is malformed, is replaced by a marker that
//! says what was there without its content. A secret a client sends where it shouldn't (its
//! client secret in a query string, a `pwd` in a body) is exactly what the journal must not keep.

use std::borrow::Cow;
use std::collections::HashSet;

use serde_json::Value;
use url::Url;

/// What stands in for a value not kept.
pub(crate) const REDACTED: &str = "<redacted>";

/// Parts of names that say the value is a secret, whatever the API calls it.
const SECRET_WORDS: [&str; 12] = [
    "pass",
    "pwd",
    "secret",
    "token",
    "key",
    "auth",
    "assertion",
    "credential",
    "cookie",
    "session",
    "signature",
    "code_verifier",
];

/// The shortest opaque string taken for a secret: a client secret or an API key is longer, a
/// name, a domain or a country code is not one string of this many letters and digits.
const OPAQUE_CHARS: usize = 32;

/// The names whose values the journal may keep.
#[derive(Debug, Default)]
pub(crate) struct Redaction {
    /// Query parameters the API takes, lower case.
    query_names: HashSet<String>,
    /// Properties of the API's request bodies, at any depth, lower case.
    body_keys: HashSet<String>,
}

impl Redaction {
    /// The names of `document` (the OpenAPI document the server publishes): each operation's
    /// query parameters, and the properties of its request bodies, followed through references.
    pub(crate) fn of(document: &Value) -> Self {
        let mut redaction = Self::default();
        let operations = document["paths"]
            .as_object()
            .into_iter()
            .flat_map(|paths| paths.values())
            .filter_map(Value::as_object)
            .flat_map(|item| item.values());
        for operation in operations {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["in"] == "query"
                    && let Some(name) = parameter["name"].as_str()
                {
                    redaction.query_names.insert(name.to_ascii_lowercase());
                }
            }
            let contents = operation["requestBody"]["content"].as_object();
            for content in contents.into_iter().flat_map(|c| c.values()) {
                let mut seen = HashSet::new();
                collect_properties(
                    document,
                    &content["schema"],
                    &mut seen,
                    &mut redaction.body_keys,
                );
            }
        }
        redaction
    }

    /// `query` as the journal keeps it: each pair whose value may be kept as sent, the others'
    /// values redacted. Borrowed when everything is kept (the common query, `size=10`).
    pub(crate) fn query<'a>(&self, query: &'a str) -> Cow<'a, str> {
        // Decoded without copying unless escaped (the common query, `size=10`, allocates
        // nothing here).
        let keep = |pair: &str| {
            let Some((name, value)) = url::form_urlencoded::parse(pair.as_bytes()).next() else {
                return true;
            };
            self.query_names.contains(lower_case(&name).as_ref())
                && !secret_name(&name)
                && !secret_shaped(&value)
        };
        if query.split('&').all(keep) {
            return Cow::Borrowed(query);
        }
        let pairs: Vec<Cow<'_, str>> = query
            .split('&')
            .map(|pair| {
                if keep(pair) {
                    Cow::Borrowed(pair)
                } else {
                    let name = pair.split_once('=').map_or(pair, |(name, _)| name);
                    Cow::Owned(format!("{name}={REDACTED}"))
                }
            })
            .collect();
        Cow::Owned(pairs.join("&"))
    }

    /// A request body as the journal keeps it: JSON with every value not known to be harmless
    /// redacted; anything else only described.
    pub(crate) fn body(&self, bytes: &[u8]) -> Option<String> {
        if bytes.is_empty() {
            return None;
        }
        Some(match serde_json::from_slice::<Value>(bytes) {
            Ok(mut json) => {
                self.redact(None, &mut json);
                json.to_string()
            }
            Err(_) => {
                let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
                if first.is_some_and(|b| matches!(b, b'{' | b'[')) {
                    format!("<{} bytes of malformed JSON, not kept>", bytes.len())
                } else {
                    format!("<{} bytes that are not JSON, not kept>", bytes.len())
                }
            }
        })
    }

    /// Redacts `value`, found under `key` (`None`: the body itself, or an array in it).
    fn redact(&self, key: Option<&str>, value: &mut Value) {
        let known = match key {
            Some(key) => self.body_keys.contains(lower_case(key).as_ref()) && !secret_name(key),
            // A body (or an array in it) that is a string has no name to know it by.
            None => !value.is_string(),
        };
        match value {
            _ if !known => *value = Value::String(REDACTED.into()),
            Value::Object(map) => {
                for (inner_key, inner) in map.iter_mut() {
                    self.redact(Some(inner_key), inner);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.redact(key, item)),
            Value::String(text) => {
                if let Some(kept) = kept_string(text) {
                    *text = kept;
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

/// The properties of `schema`, at any depth, into `keys`; `seen` holds the references already
/// followed (schemas refer to themselves).
fn collect_properties(
    document: &Value,
    schema: &Value,
    seen: &mut HashSet<String>,
    keys: &mut HashSet<String>,
) {
    if let Some(reference) = schema["$ref"].as_str() {
        if seen.insert(reference.to_owned())
            && let Some(name) = reference.strip_prefix("#/components/schemas/")
        {
            collect_properties(
                document,
                &document["components"]["schemas"][name],
                seen,
                keys,
            );
        }
        return;
    }
    if let Some(properties) = schema["properties"].as_object() {
        for (name, property) in properties {
            keys.insert(name.to_ascii_lowercase());
            collect_properties(document, property, seen, keys);
        }
    }
    for nested in ["items", "additionalProperties"] {
        if schema[nested].is_object() {
            collect_properties(document, &schema[nested], seen, keys);
        }
    }
    for combined in ["allOf", "oneOf", "anyOf"] {
        for part in schema[combined].as_array().into_iter().flatten() {
            collect_properties(document, part, seen, keys);
        }
    }
}

/// `text` in ASCII lower case, copied only when it has an upper-case letter.
fn lower_case(text: &str) -> Cow<'_, str> {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

/// Does `name` say its value is a secret?
fn secret_name(name: &str) -> bool {
    let name = lower_case(name);
    SECRET_WORDS.iter().any(|word| name.contains(word))
}

/// Is `value` shaped like a secret, whatever its name: a JWT, an `Authorization` value, or a
/// long opaque run of letters and digits (a client secret, an API key) that is not a GUID?
fn secret_shaped(value: &str) -> bool {
    let value = value.trim();
    let has_scheme = |scheme: &str| {
        value
            .get(..scheme.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(scheme))
    };
    if ["bearer ", "basic ", "signature "]
        .into_iter()
        .any(has_scheme)
    {
        return true;
    }
    let jwt = value.starts_with("eyJ")
        && value.split('.').count() >= 2
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '='));
    if jwt {
        return true;
    }
    let opaque = value.len() >= OPAQUE_CHARS
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-' | '_' | '~'))
        && value.chars().any(|c| c.is_ascii_digit())
        && value.chars().any(|c| c.is_ascii_alphabetic());
    // A GUID as the API writes them (hyphenated) is an id; 32 bare hex digits may be a key.
    let guid = value.len() == 36 && uuid::Uuid::try_parse(value).is_ok();
    opaque && !guid
}

/// What is kept of a string under a known key: `None` to keep it as it is, the redaction
/// otherwise (a secret's shape; a URL's password and query values, which carry keys).
fn kept_string(text: &str) -> Option<String> {
    if secret_shaped(text) {
        return Some(REDACTED.into());
    }
    let mut url = Url::parse(text)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https"))?;
    if url.query().is_none() && url.password().is_none() {
        return None;
    }
    if url.password().is_some() {
        let _ = url.set_password(Some("redacted"));
    }
    let names: Vec<String> = url
        .query_pairs()
        .map(|(name, _)| name.into_owned())
        .collect();
    url.set_query(None);
    url.set_fragment(None);
    if names.is_empty() {
        return Some(url.to_string());
    }
    // Written out rather than through `set_query`, which would percent-encode the marker.
    let redacted: Vec<String> = names
        .iter()
        .map(|name| format!("{name}={REDACTED}"))
        .collect();
    Some(format!("{url}?{}", redacted.join("&")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redaction() -> Redaction {
        Redaction::of(&crate::openapi::published(crate::router::document(
            true,
            qualify_app::settings::ContractProfile::Documented,
        )))
    }

    #[test]
    fn the_apis_own_names_are_read_from_its_document() {
        let redaction = redaction();
        for name in ["size", "filter", "seekoperation", "startdate"] {
            assert!(redaction.query_names.contains(name), "{name}");
        }
        for key in ["companyprofile", "domain", "qualification", "webhookurl"] {
            assert!(redaction.body_keys.contains(key), "{key}");
        }
    }

    #[test]
    fn a_query_keeps_the_apis_parameters_and_redacts_the_rest() {
        let redaction = redaction();
        assert!(matches!(
            redaction.query("size=10"),
            Cow::Borrowed("size=10")
        ));
        let kept = redaction.query(
            "size=10&client_secret=s3cret&access_token=eyJhbGciOiJSUzI1NiJ9.e30.c2ln&pwd=hunter2",
        );
        assert_eq!(
            kept,
            "size=10&client_secret=<redacted>&access_token=<redacted>&pwd=<redacted>"
        );
        // A known parameter carrying a secret's shape is redacted too.
        let token = format!("filter=Bearer%20{}", "a1".repeat(20));
        assert_eq!(redaction.query(&token), "filter=<redacted>");
    }

    #[test]
    fn a_body_keeps_known_harmless_values_and_nothing_else() {
        let redaction = redaction();
        let kept = redaction
            .body(
                br#"{"companyProfile":{"domain":"a.example","companyName":"Contoso"},
                "clientSecret":"s3cret","pwd":"p1","passwd":"p2","credential":"p3",
                "cookie":"p4","pass":"p5","nested":[{"password":"p6"}],
                "webhookUrl":"https://hooks.example/x?code=k3y&v=1",
                "email":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"}"#,
            )
            .unwrap();
        for secret in ["s3cret", "p1", "p2", "p3", "p4", "p5", "p6", "k3y", "eyJ"] {
            assert!(!kept.contains(secret), "{secret} in {kept}");
        }
        for harmless in ["a.example", "Contoso", "https://hooks.example/x?code="] {
            assert!(kept.contains(harmless), "{harmless} not in {kept}");
        }
    }

    #[test]
    fn what_is_not_json_is_described_not_kept() {
        let redaction = redaction();
        let malformed = redaction.body(br#"{"password": "p1""#).unwrap();
        assert_eq!(malformed, "<17 bytes of malformed JSON, not kept>");
        let form = redaction.body(b"grant_type=password&password=p1").unwrap();
        assert!(!form.contains("p1"), "{form}");
        let text = redaction.body(b"hunter2").unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        assert_eq!(redaction.body(b""), None);
    }

    #[test]
    fn secrets_are_recognised_by_their_shape() {
        for secret in [
            "Bearer abc",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
            "Q8Z~abcdefghijklmnopqrstuvwxyz012345",
            "0123456789abcdef0123456789abcdef",
        ] {
            assert!(secret_shaped(secret), "{secret}");
        }
        for harmless in [
            "Contoso University",
            "contoso.edu",
            "8b1b6cbe-0d4a-4c3e-9d8b-2f1c8e9a7b6c",
            "GovernmentCommunityCloud",
            "123456",
        ] {
            assert!(!secret_shaped(harmless), "{harmless}");
        }
    }
}

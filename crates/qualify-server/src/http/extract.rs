//! Extractors that turn what a client sent into typed values, or into the contract's errors:
//! JSON bodies read the way Partner Center (an ASP.NET service) reads them, with property names
//! matched case-insensitively and whole numbers read as integers however written; GUIDs in the
//! path; query parameters.

use axum::body::Bytes;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;
use crate::state::AppState;

/// Every property name Qualify reads from a body, in its canonical spelling. A body's keys are
/// rewritten to these when they match ignoring case, before typed deserialisation; so
/// `Qualification`, `QUALIFICATION` and `qualification` all work, and error messages name the
/// canonical spelling.
const CANONICAL_NAMES: &[&str] = &[
    "qualification",
    "educationSegment",
    "website",
    "validationCode",
    "companyProfile",
    "billingProfile",
    "defaultAddress",
    "domain",
    "companyName",
    "email",
    "culture",
    "language",
    "country",
    "region",
    "city",
    "addressLine1",
    "postalCode",
    "vettingStatus",
    "vettingReason",
    "WebhookUrl",
    "WebhookEvents",
    "SignatureTokenToMsSignatureHeader",
];

/// The largest magnitude below which every whole `f64` is exact: 2^53.
const EXACT_WHOLE_FLOAT: f64 = 9_007_199_254_740_992.0;

/// Rewrites keys to their canonical spelling, and whole numbers written with a fraction or an
/// exponent (`165.0`, `1e3`) to integers: JSON Schema counts them as integers, and .NET's
/// serialisers write a double so.
fn canonicalise(value: &mut Value) {
    match value {
        Value::Number(number) => {
            if let Some(float) = number.as_f64().filter(|_| number.is_f64())
                && float.fract() == 0.0
                && float.abs() < EXACT_WHOLE_FLOAT
            {
                // Exact: the magnitude is below 2^53.
                *value = Value::from(float as i64);
            }
        }
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (key, mut inner) in entries {
                canonicalise(&mut inner);
                let canonical = CANONICAL_NAMES
                    .iter()
                    .find(|name| name.eq_ignore_ascii_case(&key))
                    .map_or(key, |name| (*name).to_owned());
                // When two keys differ only by case, the later one wins, as in ASP.NET.
                map.insert(canonical, inner);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(canonicalise),
        _ => {}
    }
}

/// A JSON body, property names matched case-insensitively.
#[derive(Debug)]
pub(crate) struct LenientJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for LenientJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::BodyTooLarge {
                        limit: state.settings().http.body_limit,
                    }
                } else {
                    ApiError::MalformedBody(rejection.body_text())
                }
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::MalformedBody(
                "the body is empty; a JSON object is expected".into(),
            ));
        }
        let mut value: Value =
            serde_json::from_slice(&bytes).map_err(|e| ApiError::MalformedBody(e.to_string()))?;
        canonicalise(&mut value);
        serde_path_to_error::deserialize(value)
            .map(Self)
            .map_err(|error| {
                let path = error.path().to_string();
                if path == "." {
                    ApiError::MalformedBody(error.into_inner().to_string())
                } else {
                    ApiError::MalformedBody(format!("at '{path}': {}", error.into_inner()))
                }
            })
    }
}

/// A GUID identifying something in the path.
pub(crate) trait PathId: std::str::FromStr {
    /// What it identifies, for the error message (`customer id`).
    const WHAT: &'static str;
}

impl PathId for qualify_types::CustomerId {
    const WHAT: &'static str = "customer id";
}

impl PathId for qualify_types::VettingRequestId {
    const WHAT: &'static str = "vetting request id";
}

impl PathId for qualify_types::TenantId {
    const WHAT: &'static str = "tenant id";
}

impl PathId for qualify_app::identity::Authority {
    const WHAT: &'static str = "tenant id (or organizations, common)";
}

/// The text of a route's one path parameter, %-escapes decoded.
#[derive(Debug)]
pub(crate) struct PathText(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathText {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(text)) => Ok(Self(text)),
            Err(PathRejection::FailedToDeserializePathParams(error))
                if matches!(error.kind(), ErrorKind::InvalidUtf8InPathParam { .. }) =>
            {
                Err(ApiError::UndecodablePath)
            }
            // The route and its handler disagree: the server's mistake.
            Err(rejection) => Err(ApiError::internal(rejection.body_text())),
        }
    }
}

/// The one id of a route's path; a malformed one is a 400 (900118), not a 404.
#[derive(Debug)]
pub(crate) struct IdPath<T>(pub T);

impl<S: Send + Sync, T: PathId> FromRequestParts<S> for IdPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let PathText(raw) = PathText::from_request_parts(parts, state).await?;
        raw.parse().map(Self).map_err(|_| ApiError::MalformedId {
            what: T::WHAT,
            value: raw,
        })
    }
}

/// Query parameters; a malformed query is a 400 naming the problem.
#[derive(Debug)]
pub(crate) struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(params)| Self(params))
            .map_err(|rejection| ApiError::InvalidProperty(rejection.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_matched_ignoring_case_at_every_depth() {
        let mut body = json!({
            "QUALIFICATION": "Education",
            "EducationSegment": "K12",
            "CompanyProfile": {"DOMAIN": "x.com"},
            "unknownKey": 1
        });
        canonicalise(&mut body);
        assert_eq!(
            body,
            json!({
                "qualification": "Education",
                "educationSegment": "K12",
                "companyProfile": {"domain": "x.com"},
                "unknownKey": 1
            })
        );
    }

    #[test]
    fn whole_numbers_are_integers_however_written() {
        let mut body: Value =
            serde_json::from_str(r#"{"a": 165.0, "b": [1e3, -2.0], "c": 1.5, "d": 1e300, "e": 7}"#)
                .unwrap();
        canonicalise(&mut body);
        assert_eq!(body["a"], json!(165));
        assert!(body["a"].is_i64());
        assert_eq!(body["b"], json!([1000, -2]));
        assert_eq!(body["c"], json!(1.5), "a fraction stays");
        assert!(
            body["d"].is_f64(),
            "beyond exact integers stays a float, refused as one"
        );
        assert_eq!(body["e"], json!(7));
    }
}

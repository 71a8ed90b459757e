//! Paging by continuation token, as Partner Center does: the next page is fetched by sending the
//! token from `links.next` in the `MS-ContinuationToken` header.

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use qualify_types::CONTINUATION_TOKEN_HEADER;

use crate::ApiError;

/// Page size when none is asked for.
pub(crate) const DEFAULT_PAGE_SIZE: u32 = 100;
/// The largest page served.
pub(crate) const MAX_PAGE_SIZE: u32 = 500;

/// The `size` query parameter: 1 to [`MAX_PAGE_SIZE`], default [`DEFAULT_PAGE_SIZE`].
pub(crate) fn page_size(raw: Option<&str>) -> Result<u32, ApiError> {
    match raw {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(raw) => raw
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|size| (1..=MAX_PAGE_SIZE).contains(size))
            .ok_or_else(|| {
                ApiError::InvalidProperty(format!(
                    "The parameter 'size' must be a whole number from 1 to {MAX_PAGE_SIZE}."
                ))
            }),
    }
}

/// The opaque token for "after position `after`".
pub(crate) fn encode(after: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{after}"))
}

/// The position a continuation token (from the header, or `query` as a fallback) points after.
pub(crate) fn decode(headers: &HeaderMap, query: Option<&str>) -> Result<Option<i64>, ApiError> {
    let header = headers
        .get(CONTINUATION_TOKEN_HEADER)
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    let Some(token) = header.or(query) else {
        return Ok(None);
    };
    let invalid = || {
        ApiError::InvalidProperty(format!(
            "The {CONTINUATION_TOKEN_HEADER} is not a token this server issued."
        ))
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(token.trim())
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let after = text
        .strip_prefix("v1:")
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n >= 0);
    after.map(Some).ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_forgeries_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTINUATION_TOKEN_HEADER, encode(42).parse().unwrap());
        assert_eq!(decode(&headers, None).unwrap(), Some(42));
        assert_eq!(
            decode(&HeaderMap::new(), Some(&encode(7))).unwrap(),
            Some(7)
        );
        assert_eq!(decode(&HeaderMap::new(), None).unwrap(), None);
        for forged in [
            "",
            "xyz",
            &URL_SAFE_NO_PAD.encode("v1:-1"),
            &URL_SAFE_NO_PAD.encode("v2:1"),
        ] {
            assert!(decode(&HeaderMap::new(), Some(forged)).is_err(), "{forged}");
        }
    }

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(page_size(None).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(Some("500")).unwrap(), 500);
        for bad in ["0", "501", "-1", "ten"] {
            assert!(page_size(Some(bad)).is_err());
        }
    }
}

//! Paging by continuation token, as Partner Center does: the next page is fetched by sending the
//! token from `links.next` in the `MS-ContinuationToken` header.
//!
//! A token is the position of the last item served, in decimal. Clients treat it as opaque; it
//! is plain so that every token the published pattern allows is one the server takes (a
//! position no page ended at still names the items after it), and it hides nothing a base64
//! wrapping would have.

use axum::http::HeaderMap;
use qualify_types::CONTINUATION_TOKEN_HEADER;

use crate::error::ApiError;

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

/// What a token looks like, for the OpenAPI document: up to 18 digits always fit the position.
pub(crate) const TOKEN_PATTERN: &str = "^[0-9]{1,18}$";

/// The token for "after position `after`".
pub(crate) fn encode(after: i64) -> String {
    after.to_string()
}

/// The position a continuation token points after: from the header or, for clients that can't
/// set headers, the `continuationToken` parameter. Each one given must be a token; the header's
/// is used when both are.
pub(crate) fn decode(headers: &HeaderMap, query: Option<&str>) -> Result<Option<i64>, ApiError> {
    let header = headers
        .get(CONTINUATION_TOKEN_HEADER)
        .map(|v| position(v.to_str().unwrap_or("\u{0}")))
        .transpose()?;
    let query = query.map(position).transpose()?;
    Ok(header.or(query))
}

/// The position a token names.
pub(crate) fn position(token: &str) -> Result<i64, ApiError> {
    let invalid = || {
        ApiError::InvalidProperty(format!(
            "The {CONTINUATION_TOKEN_HEADER} is not a token this server issued."
        ))
    };
    if token.is_empty() || token.len() > 18 || !token.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    token.parse::<i64>().map_err(|_| invalid())
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
        assert_eq!(
            decode(&HeaderMap::new(), Some("999999999999999999")).unwrap(),
            Some(999_999_999_999_999_999),
            "the largest position the pattern allows"
        );
        for forged in [
            "",
            " 1",
            "xyz",
            "-1",
            "+1",
            "1e3",
            "0x10",
            "1234567890123456789",
        ] {
            assert!(decode(&HeaderMap::new(), Some(forged)).is_err(), "{forged}");
        }
    }

    #[test]
    fn a_token_sent_both_ways_is_the_headers_and_both_must_be_tokens() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTINUATION_TOKEN_HEADER, encode(42).parse().unwrap());
        assert_eq!(decode(&headers, Some("43")).unwrap(), Some(42));
        assert!(decode(&headers, Some("x")).is_err());
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

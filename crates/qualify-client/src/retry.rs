//! When and how long to wait before retrying: exponential backoff with full jitter for
//! connection failures and 5xx answers, and the server's own `Retry-After` for 429.

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How a client retries. Retries reuse the request's `MS-RequestId`, which makes retried writes
/// idempotent: the service answers a retry of a write that did happen with its first answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, counting the first; 1 disables retries.
    pub max_attempts: u32,
    /// The first backoff; each next one doubles, up to `max_backoff`.
    pub initial_backoff: Duration,
    /// The longest backoff, and the longest `Retry-After` honoured.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn never() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The wait before attempt `attempt + 1` (`attempt` counts from 0): a random duration up to
    /// the exponential bound ("full jitter"), so clients retrying together spread out.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(16));
        let bound = self
            .initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff);
        let millis = u64::try_from(bound.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(fastrand::u64(millis / 2..=millis.max(1)))
    }

    /// The wait before retrying a 429: the server's `Retry-After` (seconds or an HTTP date),
    /// capped at `max_backoff`; the backoff when it sent none.
    pub(crate) fn throttled(&self, attempt: u32, headers: &HeaderMap) -> Duration {
        retry_after(headers)
            .map_or_else(|| self.backoff(attempt), |wait| wait.min(self.max_backoff))
    }
}

/// The `Retry-After` header as a duration.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    #[allow(clippy::disallowed_methods)] // the client has no server's Clock: a date is real time
    let now = SystemTime::now();
    Some(at.duration_since(now).unwrap_or_default())
}

/// Is a response with this status worth retrying?
pub(crate) fn retryable_status(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    )
}

/// Is a transport failure worth retrying? Connection failures and timeouts are; a request that
/// could not even be built is not.
pub(crate) fn retryable_transport(error: &reqwest::Error) -> bool {
    error.is_connect() || error.is_timeout() || error.is_request() || error.is_body()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn backoff_grows_exponentially_within_jitter_and_is_capped() {
        let policy = RetryPolicy::default();
        for attempt in 0..8 {
            let bound = policy
                .initial_backoff
                .saturating_mul(1 << attempt)
                .min(policy.max_backoff);
            let wait = policy.backoff(attempt);
            assert!(
                wait <= bound && wait >= bound / 2,
                "attempt {attempt}: {wait:?} of {bound:?}"
            );
        }
        assert!(policy.backoff(30) <= policy.max_backoff);
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // a date two minutes from real time, as a server sends
    fn retry_after_reads_seconds_and_http_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(
            wait > Duration::from_secs(100) && wait <= Duration::from_secs(120),
            "{wait:?}"
        );
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn only_server_failures_are_retried() {
        assert!(retryable_status(StatusCode::SERVICE_UNAVAILABLE));
        for status in [
            StatusCode::BAD_REQUEST,
            StatusCode::CONFLICT,
            StatusCode::NOT_FOUND,
            StatusCode::TOO_MANY_REQUESTS,
        ] {
            assert!(!retryable_status(status), "{status}");
        }
    }
}

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
    /// The longest backoff, and the longest `Retry-After` waited out: a 429 asking for longer
    /// is returned as [`crate::ClientError::Throttled`] rather than retried early.
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

    /// The wait before retrying a 429: the server's `Retry-After` (seconds or an HTTP date) and
    /// then a pause that doubles with each attempt (jittered by at most a quarter, so that
    /// successive waits always grow, as Partner Center's throttling guidance asks); the backoff
    /// when it sent none. `None` when the server asks for longer than `max_backoff`: retrying
    /// sooner would be refused again, and counted against the client.
    pub(crate) fn throttled(&self, attempt: u32, headers: &HeaderMap) -> Option<Duration> {
        match retry_after(headers) {
            Some(asked) if asked > self.max_backoff => None,
            Some(asked) => {
                let pause = self
                    .initial_backoff
                    .saturating_mul(2u32.saturating_pow(attempt.min(16)));
                let millis = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX);
                let jitter = Duration::from_millis(fastrand::u64(0..=millis / 4));
                Some(asked + pause + jitter)
            }
            None => Some(self.backoff(attempt)),
        }
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

    /// After 429s, each wait is longer than the last (and never shorter than `Retry-After`); a
    /// `Retry-After` past `max_backoff` is not waited out at all.
    #[test]
    fn waits_after_429s_grow_and_never_cut_retry_after_short() {
        let policy = RetryPolicy::default();
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
        let waits: Vec<Duration> = (0..4)
            .map(|attempt| policy.throttled(attempt, &headers).unwrap())
            .collect();
        assert!(waits[0] >= Duration::from_secs(1), "{waits:?}");
        assert!(waits.windows(2).all(|w| w[1] > w[0]), "{waits:?}");
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3600"));
        assert_eq!(policy.throttled(0, &headers), None);
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

//! `MS-RequestId` idempotency at the HTTP edge: what identifies a request (its fingerprint),
//! the record to store with the write, and the answer to a replay. The store keeps the record in
//! the write's own transaction.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use qualify_store::{IdempotencyRecord, Written};
use qualify_types::{TenantId, codes};
use sha2::{Digest, Sha256};

use crate::ApiError;
use crate::http::RequestIds;
use crate::wire::json_bytes;

/// Set on a response that replays an earlier one.
const REPLAYED_HEADER: &str = "Idempotent-Replayed";

/// A digest of what a request asks: the method, the path and the parsed, normalised body. A
/// retry must match it; the same request id with another request is refused.
pub(crate) fn fingerprint(method: &str, path: &str, normalised_body: &str) -> String {
    let mut digest = Sha256::new();
    for part in [method, path, normalised_body] {
        digest.update((part.len() as u64).to_be_bytes());
        digest.update(part.as_bytes());
    }
    digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The record to store with a write, when the client sent an `MS-RequestId`.
pub(crate) fn record(
    partner: TenantId,
    ids: &RequestIds,
    fingerprint: &str,
    status: StatusCode,
    body: &[u8],
) -> Option<IdempotencyRecord> {
    ids.idempotency_key().map(|key| IdempotencyRecord {
        partner_tenant_id: partner,
        request_id: key.to_owned(),
        fingerprint: fingerprint.to_owned(),
        status: status.as_u16(),
        body: String::from_utf8_lossy(body).into_owned(),
    })
}

/// The answer to a write: `fresh` for a new write, the stored response for a replay of the
/// same request, 409 for another request under the same id.
pub(crate) fn respond<T>(
    written: Written<T>,
    fingerprint: &str,
    fresh: impl FnOnce(T) -> Response,
) -> Result<Response, ApiError> {
    match written {
        Written::Fresh(value) => Ok(fresh(value)),
        Written::Replayed(stored) if stored.fingerprint == fingerprint => {
            let status = StatusCode::from_u16(stored.status).map_err(ApiError::internal)?;
            let mut response = json_bytes(status, stored.body);
            response.headers_mut().insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
            Ok(response)
        }
        Written::Replayed(_) => Err(ApiError::Conflict {
            code: codes::IDEMPOTENCY_KEY_REUSED,
            description: "The MS-RequestId was already used for a different request; send a new MS-RequestId for a new request.".into(),
        }),
    }
}

/// A response from serialised `body` with `status`.
pub(crate) fn fresh_response(status: StatusCode, body: Vec<u8>) -> Response {
    json_bytes(status, body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_separate_their_parts() {
        assert_ne!(
            fingerprint("POST", "/a", "bc"),
            fingerprint("POST", "/ab", "c")
        );
        assert_eq!(
            fingerprint("POST", "/a", "b"),
            fingerprint("POST", "/a", "b")
        );
    }
}

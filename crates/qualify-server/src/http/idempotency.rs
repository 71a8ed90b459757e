//! `MS-RequestId` idempotency at the HTTP edge: what identifies a request (its fingerprint), the
//! key a request carries, and the response to an answer, fresh or replayed. The use cases keep
//! the answer in the write's own transaction (`usecases::idempotency`).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use qualify_types::TenantId;
use sha2::{Digest, Sha256};

use super::RequestIds;
use crate::error::ApiError;
use crate::wire::json_bytes;
use qualify_app::usecases::UseCaseError;
use qualify_app::usecases::idempotency::{Answer, IdempotencyKey};

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

/// The key of a partner's request, when the client sent an `MS-RequestId`.
pub(crate) fn key(
    partner: TenantId,
    ids: &RequestIds,
    fingerprint: String,
) -> Option<IdempotencyKey> {
    ids.idempotency_key().map(|request_id| IdempotencyKey {
        partner,
        request_id: request_id.to_owned(),
        fingerprint,
    })
}

/// The JSON response of `body` with `status`, ready to be stored as an answer.
pub(crate) fn answer(
    status: StatusCode,
    body: &impl serde::Serialize,
) -> Result<(u16, String), UseCaseError> {
    serde_json::to_string(body)
        .map(|body| (status.as_u16(), body))
        .map_err(UseCaseError::internal)
}

/// The response to an answer; a replayed one says so.
pub(crate) fn respond(answer: Answer) -> Result<Response, ApiError> {
    let status = StatusCode::from_u16(answer.status).map_err(ApiError::internal)?;
    let mut response = json_bytes(status, answer.body).into_response();
    if answer.replayed {
        response
            .headers_mut()
            .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    }
    Ok(response)
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

//! JSON responses as Partner Center sends them: `application/json; charset=utf-8`.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use qualify_types::{ErrorBody, codes};
use serde::Serialize;

/// The content type of every JSON response.
pub(crate) const JSON_UTF8: &str = "application/json; charset=utf-8";

/// A JSON response body with a status.
#[derive(Debug)]
pub(crate) struct Wire<T> {
    status: StatusCode,
    body: T,
}

impl<T: Serialize> Wire<T> {
    /// `200 OK` with `body`.
    pub(crate) fn ok(body: T) -> Self {
        Self {
            status: StatusCode::OK,
            body,
        }
    }

    /// `status` with `body`.
    pub(crate) fn with_status(status: StatusCode, body: T) -> Self {
        Self { status, body }
    }
}

/// A response from already-serialised JSON (an idempotent replay, a cached document).
pub(crate) fn json_bytes(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8));
    response
}

impl<T: Serialize> IntoResponse for Wire<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.body) {
            Ok(bytes) => json_bytes(self.status, bytes),
            // Only a bug (a map with non-string keys, say) fails here: the client gets Partner
            // Center's generic 500, the log the cause.
            Err(error) => {
                tracing::error!(%error, "a response body could not be serialised");
                let body = ErrorBody::new(codes::INTERNAL, "An unexpected error occurred.");
                json_bytes(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    serde_json::to_vec(&body).unwrap_or_default(),
                )
            }
        }
    }
}

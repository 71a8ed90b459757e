//! Partner Center's request and correlation ids: read from the request (or generated), kept in
//! the request's extensions for handlers and logs, and echoed on every response, errors included.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use qualify_types::{CORRELATION_ID_HEADER, REQUEST_ID_HEADER};
use tracing::Instrument;
use uuid::Uuid;

use crate::error::ApiError;

/// The longest id accepted; Partner Center's are GUIDs (36 characters).
const MAX_ID_LEN: usize = 128;

/// The ids of one request.
#[derive(Debug, Clone)]
pub struct RequestIds {
    /// `MS-RequestId`: the client's, or generated.
    pub request_id: String,
    /// `MS-CorrelationId`: the client's, or generated.
    pub correlation_id: String,
    /// Whether the client sent `MS-RequestId`: only then is it an idempotency key.
    pub client_request_id: bool,
    /// Whether the client sent `MS-CorrelationId`.
    pub client_correlation_id: bool,
}

impl RequestIds {
    /// The request id as an idempotency key, when the client chose it.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.client_request_id.then_some(self.request_id.as_str())
    }
}

/// The client's value of `name`: `Ok(None)` when absent, an error when unusable.
fn client_id(headers: &HeaderMap, name: &str) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    let text = value.to_str().map(str::trim).unwrap_or_default();
    if text.is_empty() || text.len() > MAX_ID_LEN || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::InvalidProperty(format!(
            "The header '{name}' must be 1 to {MAX_ID_LEN} printable characters (a GUID)."
        )));
    }
    Ok(Some(text.to_owned()))
}

/// The middleware: the outermost layer, so even a timeout or a panic carries the ids.
pub(crate) async fn request_ids(mut request: Request, next: Next) -> Response {
    let headers = request.headers();
    let parsed = client_id(headers, REQUEST_ID_HEADER)
        .and_then(|request_id| Ok((request_id, client_id(headers, CORRELATION_ID_HEADER)?)));
    let (ids, rejection) = match parsed {
        Ok((request_id, correlation_id)) => (
            RequestIds {
                client_request_id: request_id.is_some(),
                client_correlation_id: correlation_id.is_some(),
                request_id: request_id.unwrap_or_else(|| Uuid::new_v4().to_string()),
                correlation_id: correlation_id.unwrap_or_else(|| Uuid::new_v4().to_string()),
            },
            None,
        ),
        Err(error) => (
            RequestIds {
                request_id: Uuid::new_v4().to_string(),
                correlation_id: Uuid::new_v4().to_string(),
                client_request_id: false,
                client_correlation_id: false,
            },
            Some(error),
        ),
    };
    request.extensions_mut().insert(ids.clone());
    let mut response = match rejection {
        Some(error) => error.into_response(),
        None => {
            next.run(request)
                .instrument(super::trace::span(&ids.request_id, &ids.correlation_id))
                .await
        }
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (REQUEST_ID_HEADER, &ids.request_id),
        (CORRELATION_ID_HEADER, &ids.correlation_id),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    response
}

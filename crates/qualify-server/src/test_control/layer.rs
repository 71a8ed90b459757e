//! The test control plane's middleware (development mode only): before a partner's request
//! reaches its handler, a fault the partner's test set may answer it, delay it, or close its
//! connection; after, the request goes into the partner's journal. A request is the partner's
//! when its token verifies; one without a valid token is left to the handler, which refuses it.
//! The control plane's own paths (`/test/…`) get neither.

use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use qualify_types::JournalEntry;

use super::faults::{Effect, Injected};
use super::journal::body_for_journal;
use crate::http::RequestIds;
use crate::{ApiError, AppState};

/// Applies the partner's faults, and journals the request.
pub(crate) async fn test_control(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(control) = state.test_control.as_deref() else {
        return next.run(request).await;
    };
    if request.uri().path().starts_with("/test/") {
        return next.run(request).await;
    }
    let Some(partner) = state.authenticator.verified_tenant(request.headers()).await else {
        return next.run(request).await;
    };
    let started = Instant::now();
    let at = state.clock.now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let ids = request.extensions().get::<RequestIds>().cloned();
    let (request, body) = match kept_body(request, state.settings.body_limit).await {
        Ok(kept) => kept,
        Err(refused) => return refused,
    };
    let injected = control.faults.take(partner, &method, &path);
    if let Some(Injected { delay, .. }) = &injected
        && !delay.is_zero()
    {
        tokio::time::sleep(*delay).await;
    }
    let response = match injected.as_ref().map(|i| &i.effect) {
        None | Some(Effect::Pass) => next.run(request).await,
        Some(Effect::Answer {
            status,
            retry_after,
        }) => fault_answer(*status, *retry_after),
        Some(Effect::Close) => closed_connection(),
    };
    let (request_id, correlation_id) =
        ids.map_or_else(Default::default, |ids| (ids.request_id, ids.correlation_id));
    control.journal.record(
        partner,
        JournalEntry {
            method: method.to_string(),
            path,
            query,
            // No answer at all when the fault closed the connection.
            status: match injected.as_ref().map(|i| &i.effect) {
                Some(Effect::Close) => 0,
                _ => response.status().as_u16(),
            },
            request_id,
            correlation_id,
            at,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            body,
            fault: injected.as_ref().map(Injected::label),
        },
    );
    response
}

/// The request with its body read (to keep it in the journal), for a write; a body over
/// `limit` is refused as the handler would.
async fn kept_body(request: Request, limit: usize) -> Result<(Request, Option<String>), Response> {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return Ok((request, None));
    }
    let (parts, body) = request.into_parts();
    let bytes: Bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::BodyTooLarge { limit }.into_response())?;
    let kept = body_for_journal(&bytes);
    Ok((Request::from_parts(parts, Body::from(bytes)), kept))
}

/// A fault's answer: Partner Center's throttling answer for 429, its error body otherwise.
fn fault_answer(status: u16, retry_after: u32) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    if status == StatusCode::TOO_MANY_REQUESTS {
        return crate::http::throttle::throttled(retry_after);
    }
    let body = qualify_types::ErrorBody::new(
        qualify_types::codes::INJECTED_FAULT,
        format!("A fault set by the partner's test answered this request with {status}."),
    );
    crate::wire::Wire::with_status(status, body).into_response()
}

/// A response whose body fails at once: the server closes the connection without sending an
/// answer (the HTTP/1 head is written only with the first piece of the body).
fn closed_connection() -> Response {
    let failing = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("a fault closes this connection"))
    });
    Response::new(Body::from_stream(failing))
}

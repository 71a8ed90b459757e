//! The test control plane's middleware (development mode only): before a partner's request
//! reaches its handler, a fault the partner's test set may answer it, delay it, or close its
//! connection, and for a partner in strict conformance mode Partner Center's refusal may answer
//! it; after, the request goes into the partner's journal, with the facts the conformance checks
//! read (which ids the client sent, a hash of its body, the answer's `Retry-After`). A request is
//! the partner's when its token verifies (the handler's authentication says so; the layer
//! verifies the token itself only when some partner has faults or strict mode). The control
//! plane's own paths get none of this.
//!
//! A hand-written tower service rather than `axum::middleware::from_fn`: every request of a
//! development server passes here, and this way the common request (no fault set, no body) costs no allocation of its own.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures::future::{BoxFuture, Either};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::http::RequestIds;
use crate::http::caller::{self, Watched};
use crate::test_control::TestControl;
use crate::test_control::conformance::{PollAnswer, Refusal};
use crate::test_control::faults::{self, Effect, Injected};
use crate::test_control::journal::{Facts, Sent};
use qualify_types::Timestamp;

use crate::error::ApiError;
use crate::state::AppState;

/// Puts [`TestControlService`] around a service.
#[derive(Debug, Clone)]
pub(crate) struct TestControlLayer(pub(crate) AppState);

impl<S> Layer<S> for TestControlLayer {
    type Service = TestControlService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TestControlService {
            inner,
            state: self.0.clone(),
        }
    }
}

/// Applies the partner's faults, and journals the request.
#[derive(Debug, Clone)]
pub(crate) struct TestControlService<S> {
    inner: S,
    state: AppState,
}

impl<S> Service<Request> for TestControlService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Journaled<S::Future>, BoxFuture<'static, Result<Response, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let control = match &self.state.test_control {
            Some(control) if !request.uri().path().starts_with("/test/") => Arc::clone(control),
            _ => return Either::Right(Box::pin(self.inner.call(request))),
        };
        let noted = Noted::of(&request, self.state.app.clock());
        if control.faults.any() || control.conformance.any_strict() || !bodiless(request.method()) {
            // The service made ready goes with the request, a clone stays for the next (tower's
            // contract: `call` follows a `poll_ready` of the same service).
            let clone = self.inner.clone();
            let ready = std::mem::replace(&mut self.inner, clone);
            let state = self.state.clone();
            return Either::Right(Box::pin(async move {
                Ok(controlled(&state, &control, ready, request, noted).await)
            }));
        }
        // The common case, without an allocation (every request of a test takes this way): no
        // fault to look for, no body to keep; the handler's authentication says whose it is.
        Either::Left(Journaled {
            answer: caller::watch(self.inner.call(request)),
            noted: Some(noted),
            control,
        })
    }
}

pin_project! {
    /// The handler's answer, journalled once it is known.
    pub(crate) struct Journaled<F> {
        #[pin]
        answer: Watched<F>,
        noted: Option<Noted>,
        control: Arc<TestControl>,
    }
}

impl<F> Future for Journaled<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let response = std::task::ready!(this.answer.as_mut().poll(cx))?;
        if let (Some(partner), Some(noted)) = (caller::noted(this.answer), this.noted.take()) {
            let status = response.status().as_u16();
            let facts = noted.facts(0, &response);
            this.control
                .journal
                .record(partner, noted.sent(status, (None, facts), None));
        }
        Poll::Ready(Ok(response))
    }
}

/// What the journal keeps of a request, taken before the request goes on.
pub(crate) struct Noted {
    started: Instant,
    at: Timestamp,
    method: Method,
    /// A clone shares the received bytes: nothing is copied unless the journal keeps it.
    uri: Uri,
    ids: Option<RequestIds>,
    /// The client sent `MS-Contract-Version`.
    contract_version: bool,
}

impl Noted {
    fn of(request: &Request, clock: &crate::Clock) -> Self {
        Self {
            started: Instant::now(),
            at: clock.now(),
            method: request.method().clone(),
            uri: request.uri().clone(),
            ids: request.extensions().get::<RequestIds>().cloned(),
            contract_version: request
                .headers()
                .contains_key(qualify_types::CONTRACT_VERSION_HEADER),
        }
    }

    /// What the conformance checks need of the request, whose body hashed to `body_hash`, and
    /// of its `response`.
    fn facts(&self, body_hash: u64, response: &Response) -> Facts {
        let ids = self.ids.as_ref();
        Facts {
            client_request_id: ids.is_some_and(|ids| ids.client_request_id),
            client_correlation_id: ids.is_some_and(|ids| ids.client_correlation_id),
            contract_version: self.contract_version,
            body_hash,
            retry_after: response
                .headers()
                .get(axum::http::header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse().ok()),
            in_review: response
                .extensions()
                .get::<PollAnswer>()
                .is_some_and(|poll| poll.in_review),
        }
    }

    /// The request, answered with `status` (0: the connection was closed without an answer),
    /// with its body as kept and its facts.
    fn sent(
        &self,
        status: u16,
        (body, facts): (Option<String>, Facts),
        fault: Option<String>,
    ) -> Sent<'_> {
        let ids = self.ids.as_ref();
        Sent {
            method: self.method.as_str(),
            path: self.uri.path(),
            query: self.uri.query(),
            status,
            request_id: ids.map_or("", |ids| &ids.request_id),
            correlation_id: ids.map_or("", |ids| &ids.correlation_id),
            at: self.at,
            duration_ms: qualify_types::rounded_millis(self.started.elapsed()),
            body,
            fault,
            facts,
        }
    }
}

/// Whether requests with `method` carry no body worth keeping.
fn bodiless(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Answers `request` (by `inner`, or by a fault) and journals it, its body too: the way of a
/// write, or of any request while some partner has faults.
async fn controlled<S>(
    state: &AppState,
    control: &TestControl,
    mut inner: S,
    request: Request,
    noted: Noted,
) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    // Whose request it is: known before the handler only when a fault or strict conformance may
    // apply (verifying the token here); otherwise learnt from the handler's own authentication,
    // which is not repeated.
    let checked = control.faults.any() || control.conformance.any_strict();
    let known_partner = if checked && faults::may_apply_to(noted.uri.path()) {
        state
            .app
            .identity()
            .verified_tenant(
                request
                    .headers()
                    .get(axum::http::header::AUTHORIZATION)
                    .and_then(|value| value.to_str().ok()),
            )
            .await
    } else {
        None
    };
    let (request, body, body_hash) =
        match kept_body(control, request, state.settings().http.body_limit).await {
            Ok(kept) => kept,
            Err(refused) => return refused,
        };
    let injected = known_partner.and_then(|partner| {
        control
            .faults
            .take(partner, &noted.method, noted.uri.path())
    });
    if let Some(Injected { delay, .. }) = &injected
        && !delay.is_zero()
    {
        tokio::time::sleep(*delay).await;
    }
    let effect = injected.as_ref().map(|i| &i.effect);
    let refusal = match (effect, known_partner) {
        (None | Some(Effect::Pass), Some(partner)) => control.conformance.refusal(
            &control.journal,
            partner,
            (noted.method.as_str(), noted.uri.path()),
            noted.at,
        ),
        _ => None,
    };
    let (response, caller) = match (effect, refusal) {
        (_, Some(refusal)) => (strict_answer(refusal), None),
        (None | Some(Effect::Pass), None) => {
            let mut answer = std::pin::pin!(caller::watch(pass(inner.call(request))));
            (answer.as_mut().await, caller::noted(answer))
        }
        (
            Some(Effect::Answer {
                status,
                retry_after,
            }),
            None,
        ) => (fault_answer(*status, *retry_after), None),
        (Some(Effect::Close), None) => (closed_connection(), None),
    };
    if let Some(partner) = known_partner.or(caller) {
        // No answer at all when the fault closed the connection.
        let status = match effect {
            Some(Effect::Close) => 0,
            _ => response.status().as_u16(),
        };
        let fault = injected.as_ref().map(Injected::label);
        let facts = noted.facts(body_hash, &response);
        control
            .journal
            .record(partner, noted.sent(status, (body, facts), fault));
    }
    response
}

/// The inner service's answer (it cannot fail).
async fn pass(answer: impl Future<Output = Result<Response, Infallible>>) -> Response {
    match answer.await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// The request with its body read (to keep it in the journal, and its hash for the
/// conformance checks), for a write; a body over `limit` is refused as the handler would.
async fn kept_body(
    control: &TestControl,
    request: Request,
    limit: usize,
) -> Result<(Request, Option<String>, u64), Response> {
    if bodiless(request.method()) {
        return Ok((request, None, 0));
    }
    let (parts, body) = request.into_parts();
    let bytes: Bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::BodyTooLarge { limit }.into_response())?;
    let kept = control.journal.body(&bytes);
    let hash = if bytes.is_empty() {
        0
    } else {
        std::hash::BuildHasher::hash_one(
            &std::hash::BuildHasherDefault::<std::hash::DefaultHasher>::default(),
            &bytes[..],
        )
    };
    Ok((Request::from_parts(parts, Body::from(bytes)), kept, hash))
}

/// Partner Center's answer to a request it refuses (a partner in strict conformance mode).
fn strict_answer(refusal: Refusal) -> Response {
    match refusal {
        Refusal::Throttled { retry_after } => crate::error::throttled(retry_after),
        Refusal::Retired => crate::wire::Wire::with_status(
            StatusCode::GONE,
            qualify_types::ErrorBody::new(
                qualify_types::codes::RETIRED_ENDPOINT,
                "This endpoint is retired: read and submit qualifications at /v1/customers/{id}/qualifications.",
            ),
        )
        .into_response(),
    }
}

/// A fault's answer: Partner Center's throttling answer for 429, its error body otherwise.
fn fault_answer(status: u16, retry_after: u32) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    if status == StatusCode::TOO_MANY_REQUESTS {
        return crate::error::throttled(retry_after);
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

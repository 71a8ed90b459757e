//! The request log: one line per request, written when it has been answered, with its method,
//! route template, status, latency, request and correlation ids and the partner tenant
//! authentication verified. Headers and bodies are never logged, so tokens and secrets never
//! reach the log.
//!
//! One event and no span, by design: a span per request (created, formatted, entered and left
//! at every poll, recorded into, closed) cost a GET more than the line itself. The request's span
//! ([`span`]) is at `debug`, so it costs nothing unless asked for; with
//! `RUST_LOG=info,qualify_server::http=debug` every event inside a request carries its ids too.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, Method, Response};
use qualify_types::{CORRELATION_ID_HEADER, REQUEST_ID_HEADER};
use tower::{Layer, Service};
use tracing::{Span, field};

use super::caller;
use crate::error::ServerFault;

/// The route logged for requests no route took (404, and the fallbacks).
const UNMATCHED: &str = "<unmatched>";

/// The span of a request whose ids are known: off unless `debug` is on for this module.
pub(crate) fn span(request_id: &str, correlation_id: &str) -> Span {
    tracing::debug_span!("request", request_id, correlation_id, tenant = field::Empty)
}

/// Logs every request [`RequestLog`] wraps; the outermost layer, so that what the layers inside
/// answer (a bad id header, a timeout, a panic) is logged too, with the ids they were given.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestLogLayer;

impl<S> Layer<S> for RequestLogLayer {
    type Service = RequestLog<S>;

    fn layer(&self, inner: S) -> RequestLog<S> {
        RequestLog { inner }
    }
}

/// Logs each request `inner` answers.
#[derive(Debug, Clone)]
pub(crate) struct RequestLog<S> {
    inner: S,
}

impl<S, B> Service<Request> for RequestLog<S>
where
    S: Service<Request, Response = Response<B>, Error = Infallible>,
{
    type Response = Response<B>;
    type Error = Infallible;
    type Future = Logged<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // Both are shared, not copied: a `MatchedPath` is an `Arc<str>`, a standard method a tag.
        let route = request.extensions().get::<MatchedPath>().cloned();
        let method = request.method().clone();
        Logged {
            answer: caller::watch(self.inner.call(request)),
            request: Some((method, route)),
            started: Instant::now(),
        }
    }
}

pin_project_lite::pin_project! {
    /// A request's answer in the making; logged when it is ready.
    pub(crate) struct Logged<F> {
        #[pin]
        answer: caller::Watched<F>,
        request: Option<(Method, Option<MatchedPath>)>,
        started: Instant,
    }
}

impl<F, B> Future for Logged<F>
where
    F: Future<Output = Result<Response<B>, Infallible>>,
{
    type Output = Result<Response<B>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let answered = ready!(this.answer.as_mut().poll(cx));
        if let (Ok(response), Some((method, route))) = (&answered, this.request.take()) {
            let tenant = caller::noted(this.answer);
            log(
                response,
                &method,
                route.as_ref().map_or(UNMATCHED, MatchedPath::as_str),
                tenant,
                qualify_types::rounded_millis(this.started.elapsed()),
            );
        }
        Poll::Ready(answered)
    }
}

/// The request's line: an error, with the fault's source chain, when the server failed it.
fn log<B>(
    response: &Response<B>,
    method: &Method,
    route: &str,
    tenant: Option<qualify_types::TenantId>,
    latency_ms: f64,
) {
    let status = response.status().as_u16();
    let headers = response.headers();
    let request_id = header(headers, REQUEST_ID_HEADER);
    let correlation_id = header(headers, CORRELATION_ID_HEADER);
    let tenant = tenant.map(field::display);
    macro_rules! request_event {
        ($level:ident, $($rest:tt)*) => {
            tracing::$level!(
                %method,
                route,
                status,
                latency_ms,
                request_id,
                correlation_id,
                tenant,
                $($rest)*
            )
        };
    }
    match response.extensions().get::<ServerFault>() {
        Some(ServerFault(fault)) => {
            let mut chain = String::new();
            let mut source = std::error::Error::source(fault.as_ref());
            while let Some(cause) = source {
                chain.push_str(": ");
                chain.push_str(&cause.to_string());
                source = cause.source();
            }
            request_event!(error, error = %fault, cause = %chain, "request failed");
        }
        None if status >= 500 => request_event!(error, "request failed"),
        None => request_event!(info, "request finished"),
    }
}

/// A response header's value, as the request-id layer set it.
fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

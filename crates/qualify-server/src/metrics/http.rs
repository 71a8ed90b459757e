//! Counts every request by its route template, method and status, and times it: the layer the
//! router adds when metrics are served (a server without `--metrics-listen` pays nothing).
//! Outside the panic catcher and the request timeout, so their 500s and 503s are counted too.

use std::borrow::Cow;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Response;
use tower::{Layer, Service};

use crate::state::AppState;

/// The route of requests no route took (404, and the fallbacks).
const UNMATCHED: &str = "unmatched";

/// Wraps each route in [`RequestMetrics`].
#[derive(Debug, Clone)]
pub(crate) struct RequestMetricsLayer(pub(crate) AppState);

impl<S> Layer<S> for RequestMetricsLayer {
    type Service = RequestMetrics<S>;

    fn layer(&self, inner: S) -> RequestMetrics<S> {
        RequestMetrics {
            state: self.0.clone(),
            inner,
        }
    }
}

/// Counts and times the requests `inner` answers.
#[derive(Debug, Clone)]
pub(crate) struct RequestMetrics<S> {
    state: AppState,
    inner: S,
}

impl<S, B> Service<Request> for RequestMetrics<S>
where
    S: Service<Request, Response = Response<B>, Error = Infallible>,
{
    type Response = Response<B>;
    type Error = Infallible;
    type Future = Counted<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The template (`/v1/customers/{customer_id}`), never the path: ids would make a
        // series per customer.
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or(Cow::Borrowed(UNMATCHED), |matched| {
                Cow::Owned(matched.as_str().to_owned())
            });
        let method = super::method_label(request.method());
        Counted {
            inner: self.inner.call(request),
            state: self.state.clone(),
            labels: Some((route, method)),
            started: Instant::now(),
        }
    }
}

pin_project_lite::pin_project! {
    /// A request's answer in the making; counted when it is ready.
    pub(crate) struct Counted<F> {
        #[pin]
        inner: F,
        state: AppState,
        labels: Option<(Cow<'static, str>, &'static str)>,
        started: Instant,
    }
}

impl<F, B> Future for Counted<F>
where
    F: Future<Output = Result<Response<B>, Infallible>>,
{
    type Output = Result<Response<B>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let answered = ready!(this.inner.poll(cx));
        if let (Ok(response), Some((route, method))) = (&answered, this.labels.take()) {
            this.state.app.metrics().request(
                route,
                method,
                response.status().as_u16(),
                this.started.elapsed().as_secs_f64(),
            );
        }
        Poll::Ready(answered)
    }
}

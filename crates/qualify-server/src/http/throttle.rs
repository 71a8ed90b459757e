//! The middleware that throttles as Partner Center does, with the limits of `rate_limits`: a
//! request past a limit answers 429 with `Retry-After` and Partner Center's throttling body.

use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::error::throttled;
use crate::state::AppState;

/// Counts the request against its operation's limits; answers 429 when one is spent.
pub(crate) async fn throttle(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(template) = request
        .extensions()
        .get::<MatchedPath>()
        .map(|route| route.as_str().to_owned())
        .filter(|template| state.rate_limits.apply_to(request.method(), template))
    else {
        return next.run(request).await;
    };
    // A request without a valid token is the handler's to refuse, and counts for nobody.
    let Some(partner) = state
        .app
        .identity()
        .verified_tenant(
            request
                .headers()
                .get(axum::http::header::AUTHORIZATION)
                .and_then(|value| value.to_str().ok()),
        )
        .await
    else {
        return next.run(request).await;
    };
    let counted =
        state
            .rate_limits
            .count(request.method(), &template, request.uri().path(), partner);
    match counted {
        Ok(()) => next.run(request).await,
        Err(retry_after) => throttled(retry_after),
    }
}

/// Forgets, now and then, the counts of keys whose windows have passed.
pub(crate) async fn tidy(state: AppState) {
    let mut every = tokio::time::interval(Duration::from_secs(60));
    loop {
        every.tick().await;
        state.rate_limits.tidy();
    }
}

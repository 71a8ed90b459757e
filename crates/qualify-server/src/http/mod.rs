//! HTTP plumbing: the route table, and the layers every request passes through.

mod extract;
pub(crate) mod idempotency;
mod request_ids;
mod trace;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{Method, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower::util::MapRequest;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

pub(crate) use extract::{IdPath, LenientJson, QueryParams};
pub use request_ids::RequestIds;

use crate::api::{
    customers, discovery, health, legacy, qualifications, review, token, validations,
};
use crate::{ApiError, AppState};

/// Every route of the server.
fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::check))
        // The built-in token issuer, at Entra ID's paths.
        .route("/{tenant}/oauth2/v2.0/token", post(token::issue))
        .route("/{tenant}/oauth2/v2.0/authorize", get(discovery::authorize))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route("/discovery/v2.0/keys", get(discovery::keys))
        // Partner Center.
        .route(
            "/v1/customers",
            get(customers::list).post(customers::create),
        )
        .route("/v1/customers/all/validations", get(validations::list))
        .route("/v1/customers/{customer_id}", get(customers::show))
        // The retired singular endpoints, still called by the PowerShell module and the Java SDK.
        .route(
            "/v1/customers/{customer_id}/qualification",
            get(legacy::show).put(legacy::submit),
        )
        .route(
            "/v1/customers/{customer_id}/qualifications",
            get(qualifications::list).post(qualifications::submit),
        )
        // The reviewers' API.
        .route("/review/v1/requests", get(review::list))
        .route("/review/v1/requests/{id}", get(review::show))
        .route("/review/v1/requests/{id}/decision", post(review::decide))
}

/// The routes with their layers; the outermost layer is listed first.
fn router(state: AppState) -> Router {
    let layers = ServiceBuilder::new()
        .layer(middleware::from_fn(request_ids::request_ids))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(trace::make_span)
                .on_response(trace::on_response),
        )
        .layer(CatchPanicLayer::custom(|_panic| {
            ApiError::internal("a handler panicked").into_response()
        }))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            request_timeout,
        ))
        .layer(DefaultBodyLimit::max(state.settings.body_limit));
    routes()
        // The OpenAPI document, and a page to browse it (Swagger UI, served from the binary).
        .merge(
            utoipa_swagger_ui::SwaggerUi::new("/docs")
                .url("/openapi.json", crate::openapi::document()),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(layers)
        .with_state(state)
}

/// The whole service: paths are normalised before routing, since Partner Center (ASP.NET)
/// matches them case-insensitively and clients send `/v1/Customers/…` too.
pub(crate) fn service<B>(
    state: AppState,
) -> MapRequest<Router, fn(axum::http::Request<B>) -> Request>
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    ServiceBuilder::new()
        .map_request(normalise_path::<B> as fn(axum::http::Request<B>) -> Request)
        .service(router(state))
}

/// Lower-cases the path and drops a trailing slash; the query is left as sent.
fn normalise_path<B>(request: axum::http::Request<B>) -> Request
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    // Any body (hyper's, axum's) becomes axum's, so the HTTP and HTTPS servers share one service.
    let mut request = request.map(axum::body::Body::new);
    let uri = request.uri();
    let path = uri.path();
    // Only the Partner Center and reviewer APIs: other paths (the docs page's assets) are served
    // exactly as asked.
    let api = |p: &str| {
        p.get(..4).is_some_and(|s| s.eq_ignore_ascii_case("/v1/"))
            || p.get(..8)
                .is_some_and(|s| s.eq_ignore_ascii_case("/review/"))
    };
    if !api(path) {
        return request;
    }
    let trimmed = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    if trimmed.bytes().any(|b| b.is_ascii_uppercase()) || trimmed.len() != path.len() {
        let mut normalised = trimmed.to_ascii_lowercase();
        if normalised.is_empty() {
            normalised.push('/');
        }
        if let Some(query) = uri.query() {
            normalised.push('?');
            normalised.push_str(query);
        }
        let mut parts = uri.clone().into_parts();
        if let Ok(path_and_query) = normalised.parse() {
            parts.path_and_query = Some(path_and_query);
            if let Ok(uri) = Uri::from_parts(parts) {
                *request.uri_mut() = uri;
            }
        }
    }
    request
}

async fn request_timeout(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(state.settings.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    }
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::RouteNotFound(uri.path().chars().take(200).collect())
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalised(uri: &str) -> String {
        let request = Request::builder()
            .uri(uri)
            .body(axum::body::Body::empty())
            .unwrap();
        normalise_path(request).uri().to_string()
    }

    #[test]
    fn paths_are_lower_cased_and_lose_a_trailing_slash_but_queries_are_kept() {
        assert_eq!(
            normalised("/V1/Customers/ABC/Qualifications/?Size=2"),
            "/v1/customers/abc/qualifications?Size=2"
        );
        assert_eq!(normalised("/v1/customers"), "/v1/customers");
        assert_eq!(normalised("/review/v1/Requests/"), "/review/v1/requests");
        assert_eq!(normalised("/docs/"), "/docs/", "other paths are left alone");
        assert_eq!(normalised("/"), "/");
    }
}

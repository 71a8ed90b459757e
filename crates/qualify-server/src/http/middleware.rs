//! What happens around every handler: paths normalised as Partner Center matches them, the
//! request's time limit, and the answers to a path or method no route takes.

use axum::extract::{Request, State};
use axum::http::{Method, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

/// Lower-cases the path and drops a trailing slash; the query is left as sent.
pub(crate) fn normalise_path<B>(request: axum::http::Request<B>) -> Request
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    // Any body (hyper's, axum's) becomes axum's, so the HTTP and HTTPS servers share one service.
    let mut request = request.map(axum::body::Body::new);
    let uri = request.uri();
    let path = uri.path();
    // Only the Partner Center, reviewer and test control APIs: other paths (the docs page's
    // assets) are served exactly as asked.
    let api = |p: &str| {
        ["/v1/", "/review/", "/test/"].iter().any(|prefix| {
            p.get(..prefix.len())
                .is_some_and(|s| s.eq_ignore_ascii_case(prefix))
        })
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

pub(crate) async fn request_timeout(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(state.settings().http.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    }
}

pub(crate) async fn not_found(uri: Uri) -> ApiError {
    ApiError::RouteNotFound(uri.path().chars().take(200).collect())
}

pub(crate) async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}

/// How long a browser that reached the server over HTTPS keeps to HTTPS: a year, as the HSTS
/// preload list asks; subdomains are not the server's to speak for.
const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// Under TLS, every answer says so (`Strict-Transport-Security`).
pub(crate) async fn strict_transport_security(mut response: Response) -> Response {
    response.headers_mut().insert(
        axum::http::header::STRICT_TRANSPORT_SECURITY,
        axum::http::HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
    );
    response
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

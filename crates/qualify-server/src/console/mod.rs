//! The reviewer console at `/console`: server-rendered pages where reviewers sign in, work the
//! queue and decide requests, through the same use case as the reviewer API. Every page works
//! without JavaScript (a small script adds keyboard shortcuts), and loads nothing from outside
//! the binary, under a strict Content-Security-Policy.

pub(crate) mod assets;
pub(crate) mod conformance;
mod decided;
mod pages;
mod partners;
pub(crate) mod queue;
pub(crate) mod request;
pub(crate) mod session;

use axum::http::{HeaderValue, header};
use axum::response::Response;

/// Only this origin's style sheet, script and forms; no frames, no plug-ins, no inline code.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
     img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What every console response carries: the policy, and no caching of pages (they show a
/// reviewer's session and the queue as it is now).
pub(crate) async fn protect(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

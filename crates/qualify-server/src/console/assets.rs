//! The console's style sheet and script, compiled into the binary: the pages load nothing from
//! anywhere else, which is what lets the Content-Security-Policy allow only this origin.

use axum::http::header;
use axum::response::IntoResponse;

/// `GET /console/console.css`.
pub(crate) async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("console.css"),
    )
}

/// `GET /console/console.js`: keyboard shortcuts; every page works without it.
pub(crate) async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("console.js"),
    )
}

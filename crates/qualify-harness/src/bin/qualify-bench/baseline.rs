//! The ceiling: a minimal axum server answering every request with the seed's Approved body,
//! doing no work. Run in its own process (`qualify-bench baseline`), pinned like the real server.

use std::net::SocketAddr;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;

const APPROVED: &str =
    r#"{"qualifications":[{"qualification":"Education","vettingStatus":"Approved"}]}"#;

async fn approved() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        APPROVED,
    )
}

/// Serves until killed; logs its address as `qualify serve` does, so the harness finds it.
pub(crate) async fn serve() -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    eprintln!(
        "{}",
        serde_json::json!({"message": "serving", "local_addr": addr.to_string()})
    );
    let app = Router::new().fallback(approved);
    axum::serve(listener, app).await?;
    Ok(())
}

//! A webhook receiver on a real socket, for the delivery tests: it refuses its first deliveries
//! with a status of the test's choosing, then accepts and keeps each one (headers and body).

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use tokio::net::TcpListener;

/// What a receiver got, and how it answers.
pub(crate) struct Receiver {
    failures: usize,
    refusal: StatusCode,
    accepted: StatusCode,
    /// Deliveries attempted, refused ones included.
    pub(crate) attempts: usize,
    /// Deliveries accepted, in order of arrival.
    pub(crate) received: Vec<(HeaderMap, String)>,
}

pub(crate) type SharedReceiver = Arc<Mutex<Receiver>>;

async fn receive(
    State(receiver): State<SharedReceiver>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let mut receiver = receiver.lock().unwrap();
    receiver.attempts += 1;
    if receiver.attempts <= receiver.failures {
        return receiver.refusal;
    }
    receiver.received.push((headers, body));
    receiver.accepted
}

/// A receiver whose URL names `host`, refusing its first `failures` deliveries with `refusal`,
/// then answering `accepted`.
pub(crate) async fn start(
    host: &str,
    failures: usize,
    refusal: StatusCode,
    accepted: StatusCode,
) -> (String, SharedReceiver) {
    let shared = Arc::new(Mutex::new(Receiver {
        failures,
        refusal,
        accepted,
        attempts: 0,
        received: Vec::new(),
    }));
    let app = Router::new()
        .route("/events", post(receive))
        .with_state(Arc::clone(&shared));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{host}:{}/events",
        listener.local_addr().unwrap().port()
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, shared)
}

/// The deliveries `receiver` accepted so far.
pub(crate) fn received(receiver: &SharedReceiver) -> Vec<(HeaderMap, String)> {
    receiver.lock().unwrap().received.clone()
}

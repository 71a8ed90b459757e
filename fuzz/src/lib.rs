//! What the fuzz targets share: one development server per process (built on first use), with
//! a customer and a vetting request of partner A to aim at, and requests built from raw input.

use std::sync::LazyLock;

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request};
use qualify_server::fuzzing::Harness;

/// The server, and ids that exist on it.
pub struct Target {
    pub harness: Harness,
    /// A customer of partner A.
    pub customer: String,
    /// A vetting request of that customer, in review.
    pub vetting_request: String,
}

/// The process's server, made on first use.
pub static TARGET: LazyLock<Target> = LazyLock::new(|| {
    let harness = Harness::new();
    let customer = json_of(&harness.send(json_request(
        Method::POST,
        "/v1/customers",
        &harness.partner_token,
        br#"{"companyProfile":{"domain":"fuzz.onmicrosoft.com"},"billingProfile":{"companyName":"Fuzz"}}"#,
    )))["id"]
        .as_str()
        .expect("a customer id")
        .to_owned();
    let submitted = json_of(&harness.send(json_request(
        Method::POST,
        &format!("/v1/customers/{customer}/qualifications"),
        &harness.partner_token,
        br#"{"qualification":"StateOwnedEntity"}"#,
    )));
    let listed = json_of(&harness.send(bearer_request(
        Method::GET,
        "/review/v1/requests",
        &harness.reviewer_token,
    )));
    let vetting_request = listed["items"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("a vetting request in review after {submitted}: {listed}"))
        .to_owned();
    Target {
        harness,
        customer,
        vetting_request,
    }
});

fn json_of(answer: &qualify_server::fuzzing::Answer) -> serde_json::Value {
    serde_json::from_slice(&answer.body).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        )
    })
}

/// `method path` with `token`.
pub fn bearer_request(method: Method, path: &str, token: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .expect("a request")
}

/// `method path` with `token` and a JSON `body`.
pub fn json_request(method: Method, path: &str, token: &str, body: &[u8]) -> Request<Body> {
    let mut request = bearer_request(method, path, token);
    request
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    *request.body_mut() = Body::from(body.to_vec());
    request
}

/// `bytes` as one path segment: bytes a path may hold as they are, `%` too (so inputs can hold
/// escapes, good or broken), and every other byte %-escaped.
pub fn path_segment(bytes: &[u8]) -> String {
    let mut segment = String::with_capacity(bytes.len() * 3);
    for &byte in bytes {
        if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@%".contains(&byte) {
            segment.push(char::from(byte));
        } else {
            segment.push_str(&format!("%{byte:02X}"));
        }
    }
    segment
}

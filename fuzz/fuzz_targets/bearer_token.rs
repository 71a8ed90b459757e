//! Any text as the bearer token of a request: refused (a fuzzer can't sign), without a panic or
//! a 500, in Partner Center's error shape.
#![no_main]

use axum::body::Body;
use axum::http::{HeaderValue, Request};
use libfuzzer_sys::fuzz_target;
use qualify_fuzz::TARGET;

fuzz_target!(|input: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(&[b"Bearer ", input].concat()) else {
        return;
    };
    let request = Request::get("/v1/customers")
        .header("authorization", value)
        .body(Body::empty())
        .expect("a request");
    let answer = TARGET.harness.send_and_check(request);
    assert!(
        !answer.status.is_success(),
        "a token no one signed was accepted"
    );
});

//! Any bytes as a token request's form, for a tenant that exists: answered without a panic or a
//! 500, errors in OAuth's shape.
#![no_main]

use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use qualify_fuzz::TARGET;
use qualify_types::dev;

fuzz_target!(|input: &[u8]| {
    let request = Request::post(format!("/{}/oauth2/v2.0/token", dev::PARTNER_A.tenant_id))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(input.to_vec()))
        .expect("a request");
    TARGET.harness.send_and_check(request);
});

//! Any bytes as a continuation token, in the header or the query: a page or a 400, never a panic
//! or a 500. The first byte picks the list.
#![no_main]

use axum::http::{HeaderValue, Method};
use libfuzzer_sys::fuzz_target;
use qualify_fuzz::{TARGET, bearer_request, path_segment};

fuzz_target!(|input: &[u8]| {
    let Some((&pick, token)) = input.split_first() else {
        return;
    };
    let harness = &TARGET.harness;
    let (path, bearer) = match pick % 3 {
        0 => ("/v1/customers?size=1", &harness.partner_token),
        1 => ("/v1/auditrecords?size=1", &harness.partner_token),
        _ => ("/review/v1/requests?size=1", &harness.reviewer_token),
    };
    let request = if pick & 0x80 == 0 {
        let Ok(value) = HeaderValue::from_bytes(token) else {
            return;
        };
        let mut request = bearer_request(Method::GET, path, bearer);
        request.headers_mut().insert("ms-continuationtoken", value);
        request
    } else {
        let query = format!("{path}&continuationToken={}", path_segment(token));
        bearer_request(Method::GET, &query, bearer)
    };
    harness.send_and_check(request);
});

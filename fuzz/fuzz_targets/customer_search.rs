//! Any bytes as Partner Center's customer search (`GET /v1/customers?filter=`), with any page
//! size and, from the first byte, a continuation token: a page or a 400 in Partner Center's
//! shape, never a panic or a 500.
#![no_main]

use axum::http::Method;
use libfuzzer_sys::fuzz_target;
use qualify_fuzz::{TARGET, bearer_request, path_segment};

fuzz_target!(|input: &[u8]| {
    let Some((&pick, filter)) = input.split_first() else {
        return;
    };
    let harness = &TARGET.harness;
    let size = 1 + u32::from(pick % 4);
    let mut path = format!("/v1/customers?size={size}&filter={}", path_segment(filter));
    if pick & 0x80 != 0 {
        path.push_str("&seekOperation=next");
    }
    let mut request = bearer_request(Method::GET, &path, &harness.partner_token);
    if pick & 0x40 != 0 {
        request
            .headers_mut()
            .insert("ms-continuationtoken", "1".parse().expect("a header value"));
    }
    harness.send_and_check(request);
});

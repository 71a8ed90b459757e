//! Any bytes as the body of every request that reads JSON, with a valid token: answered without
//! a panic or a 500, errors in Partner Center's shape. The first byte picks the endpoint.
#![no_main]

use axum::http::Method;
use libfuzzer_sys::fuzz_target;
use qualify_fuzz::{TARGET, bearer_request, json_request};

fuzz_target!(|input: &[u8]| {
    let Some((&pick, body)) = input.split_first() else {
        return;
    };
    let target = &*TARGET;
    let (partner, reviewer) = (
        &target.harness.partner_token,
        &target.harness.reviewer_token,
    );
    let customer = &target.customer;
    let (method, path, token) = match pick % 10 {
        0 => (Method::POST, "/v1/customers".to_owned(), partner),
        1 => (
            Method::POST,
            format!("/v1/customers/{customer}/qualifications"),
            partner,
        ),
        2 => (
            Method::PUT,
            format!("/v1/customers/{customer}/qualification"),
            partner,
        ),
        3 => (
            Method::POST,
            "/webhooks/v1/registration".to_owned(),
            partner,
        ),
        4 => (Method::PUT, "/webhooks/v1/registration".to_owned(), partner),
        5 => (
            Method::POST,
            format!("/review/v1/requests/{}/decision", target.vetting_request),
            reviewer,
        ),
        6 => (Method::PUT, "/test/v1/rules".to_owned(), partner),
        7 => (Method::PUT, "/test/v1/faults".to_owned(), partner),
        8 => (Method::POST, "/test/v1/clock/advance".to_owned(), partner),
        _ => (
            Method::POST,
            "/v1/customers/all/validations".to_owned(),
            partner,
        ),
    };
    target
        .harness
        .send_and_check(json_request(method, &path, token, body));
    // Faults answer the partner's later requests as they say (500s included): none may stay.
    if pick % 10 == 7 {
        target
            .harness
            .send_and_check(bearer_request(Method::DELETE, "/test/v1/faults", partner));
    }
});

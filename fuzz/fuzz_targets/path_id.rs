//! Any bytes as the id segment of every route that has one, with a valid token: a 400 or 404 for
//! what is not an id, never a panic or a 500. The first byte picks the route.
#![no_main]

use axum::http::{Method, Uri};
use libfuzzer_sys::fuzz_target;
use qualify_fuzz::{TARGET, bearer_request, path_segment};

fuzz_target!(|input: &[u8]| {
    let Some((&pick, id)) = input.split_first() else {
        return;
    };
    let id = path_segment(id);
    let harness = &TARGET.harness;
    let (partner, reviewer) = (&harness.partner_token, &harness.reviewer_token);
    let (method, path, token) = match pick % 9 {
        0 => (Method::GET, format!("/v1/customers/{id}"), partner),
        1 => (
            Method::GET,
            format!("/v1/customers/{id}/qualifications"),
            partner,
        ),
        2 => (
            Method::GET,
            format!("/v1/customers/{id}/qualification"),
            partner,
        ),
        3 => (Method::GET, format!("/v1/auditrecords/{id}"), partner),
        4 => (Method::GET, format!("/review/v1/requests/{id}"), reviewer),
        5 => (
            Method::GET,
            format!("/{id}/v2.0/.well-known/openid-configuration"),
            partner,
        ),
        6 => (
            Method::GET,
            format!("/webhooks/v1/certificates/{id}"),
            partner,
        ),
        7 => (
            Method::GET,
            format!("/webhooks/v1/registration/validationEvents/{id}"),
            partner,
        ),
        _ => (Method::POST, format!("/{id}/oauth2/v2.0/token"), partner),
    };
    if path.parse::<Uri>().is_err() {
        return;
    }
    harness.send_and_check(bearer_request(method, &path, token));
});

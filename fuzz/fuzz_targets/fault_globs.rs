//! Any text as a fault's path pattern, and any path: the pattern is refused with a 400 or set,
//! and the partner's next request is answered at once, matched or not (no pattern can make the
//! match backtrack: a slow input is a finding), never a panic or a 500. The text is also tried
//! as a glob of each kind directly. The first line is the pattern, the rest the path.
#![no_main]

use axum::http::Method;
use libfuzzer_sys::fuzz_target;
use qualify_domain::{Glob, Slash};
use qualify_fuzz::{TARGET, bearer_request, json_request, path_segment};

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let (pattern, path) = text.split_once('\n').unwrap_or((text, "/v1/customers"));
    for slash in [Slash::Plain, Slash::Separator] {
        if let Ok(glob) = Glob::parse(pattern, slash) {
            let _ = glob.matches(path);
        }
    }
    let harness = &TARGET.harness;
    let partner = &harness.partner_token;
    let faults = serde_json::json!({"faults": [{"path": pattern, "status": 409}]});
    harness.send_and_check(json_request(
        Method::PUT,
        "/test/v1/faults",
        partner,
        faults.to_string().as_bytes(),
    ));
    let segments: Vec<String> = path
        .split('/')
        .map(|segment| path_segment(segment.as_bytes()))
        .collect();
    let path = format!("/v1/{}", segments.join("/"));
    harness.send_and_check(bearer_request(Method::GET, &path, partner));
    harness.send_and_check(bearer_request(Method::DELETE, "/test/v1/faults", partner));
});

//! Any bytes as a partner's request body and query string, then its journal: the journal answers
//! with every entry within its bounds, and a secret the body carries under a key naming one is
//! never in it, whatever else the body holds or however malformed it is.
#![no_main]

use axum::http::Method;
use libfuzzer_sys::fuzz_target;
use qualify_fuzz::{TARGET, bearer_request, json_request, path_segment};

/// Keys whose values the journal must never keep.
const SECRET_KEYS: [&str; 6] = [
    "password",
    "pwd",
    "clientSecret",
    "token",
    "credential",
    "pass",
];

fuzz_target!(|input: &[u8]| {
    let Some((&pick, body)) = input.split_first() else {
        return;
    };
    let harness = &TARGET.harness;
    let partner = &harness.partner_token;
    let split = usize::from(pick).min(body.len());
    let (query, body) = body.split_at(split);
    // A customer no partner has: the body is read, journaled and refused, nothing is stored.
    let path = format!(
        "/v1/customers/00000000-0000-4000-8000-000000000000/qualifications?{}",
        path_segment(query)
    );
    harness.send_and_check(json_request(Method::POST, &path, partner, body));
    let journal = harness.send_and_check(bearer_request(Method::GET, "/test/v1/journal", partner));
    let journal: serde_json::Value =
        serde_json::from_slice(&journal.body).expect("the journal is JSON");
    let newest = &journal["items"][0];
    let kept = |field: &str| newest[field].as_str().map_or(0, str::len);
    assert!(kept("body") <= 4096 && kept("query") <= 1024 && kept("path") <= 1024);
    let Ok(serde_json::Value::Object(sent)) = serde_json::from_slice(body) else {
        return;
    };
    let text = newest.to_string();
    let sent_text = serde_json::Value::Object(sent.clone()).to_string();
    for key in SECRET_KEYS {
        if let Some(serde_json::Value::String(secret)) = sent.get(key)
            && secret.len() >= 8
        {
            let written = serde_json::Value::String(secret.clone()).to_string();
            // Only where the body holds it once: under a harmless key as well, it may be kept.
            if sent_text.matches(&written).count() == 1 {
                assert!(!text.contains(&written), "{key}'s value kept: {text}");
            }
        }
    }
});

//! Any text as a vetting rules file: read or refused with its line and why, never a panic; rules
//! that read are tried on a submission.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    if let Ok(text) = std::str::from_utf8(input) {
        qualify_server::fuzzing::rules_file(text);
    }
});

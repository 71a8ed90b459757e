//! Any bytes as a backup file handed to `qualify restore`: refused with a reason, or restored
//! only when it is a database exactly as Qualify's migrations make it, never a panic. The seed
//! corpus holds a real backup for the fuzzer to mutate.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    qualify_server::fuzzing::restore_file(input);
});

//! Arbitrary bytes into `decode_u64_with`: it must return, never panic or over-allocate.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_codec::{Limits, decode_u64_with};

fuzz_target!(|data: &[u8]| {
    // Errors are expected for almost every input; only a panic, abort or OOM is a finding.
    let _ = decode_u64_with(
        data,
        Limits {
            max_values: 1 << 16,
        },
    );
});

//! Arbitrary bytes as a manifest log record payload (`decode::manifest_record`): it must
//! return, never panic or over-allocate.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_partition_registry::decode;

fuzz_target!(|data: &[u8]| {
    // Errors are expected for almost every input; only a panic, abort or OOM is a finding.
    let _ = decode::manifest_record(data);
});

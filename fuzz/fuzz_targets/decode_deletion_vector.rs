//! Arbitrary bytes as a deletion-vector file (`decode::deletion_vector`): as the whole file, and
//! as the payload (segment id and roaring bitmap) of a file with a valid header and CRC, so the
//! fuzzer reaches the bitmap decoder. Neither may panic or over-allocate.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_partition_registry::{DV_MAGIC, DV_VERSION, decode};

fuzz_target!(|data: &[u8]| {
    // Errors are expected for almost every input; only a panic, abort or OOM is a finding.
    let _ = decode::deletion_vector(data);

    let mut file = Vec::with_capacity(data.len() + 24);
    file.extend_from_slice(DV_MAGIC);
    file.extend_from_slice(&DV_VERSION.to_le_bytes());
    file.extend_from_slice(&(data.len() as u64).to_le_bytes());
    file.extend_from_slice(&crc32c::crc32c(data).to_le_bytes());
    file.extend_from_slice(data);
    let _ = decode::deletion_vector(&file);
});

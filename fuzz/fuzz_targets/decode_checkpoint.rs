//! Arbitrary bytes as a checkpoint file (`decode::checkpoint`): as the whole file, and as the
//! payload of a file with a valid header and CRC for each version the reader accepts (so the
//! fuzzer reaches the payload decoder). None of it may panic or over-allocate.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_partition_registry::{CHECKPOINT_MAGIC, CHECKPOINT_VERSION, decode};

fuzz_target!(|data: &[u8]| {
    // Errors are expected for almost every input; only a panic, abort or OOM is a finding.
    let _ = decode::checkpoint(data);

    for version in 1..=CHECKPOINT_VERSION {
        let mut file = Vec::with_capacity(data.len() + 24);
        file.extend_from_slice(CHECKPOINT_MAGIC);
        file.extend_from_slice(&version.to_le_bytes());
        file.extend_from_slice(&(data.len() as u64).to_le_bytes());
        file.extend_from_slice(&crc32c::crc32c(data).to_le_bytes());
        file.extend_from_slice(data);
        let _ = decode::checkpoint(&file);
    }
});

//! Arbitrary bytes as a whole manifest log (`decode::manifest_log`, the splitter recovery runs,
//! in both recovery modes), then every record it keeps through `decode::manifest_record`.
//! Nothing may panic.
//!
//! The raw input rarely holds a record with a valid CRC, so the harness also builds a log from
//! it: `cut u16 LE | flip u16 LE | payloads separated by 0xFF`, each payload framed with its
//! length and CRC, then the log damaged by flipping the byte at `flip` (0 = none) and cut to
//! drop its last `cut` bytes — the torn tails and damaged records recovery must sort out.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_partition_registry::{RecoveryMode, decode};

fn frame(payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u32).to_le_bytes();
    let crc = crc32c::crc32c_append(crc32c::crc32c(&len), payload);
    [&len[..], &crc.to_le_bytes(), payload].concat()
}

fn split_and_decode(log: &[u8]) {
    for mode in [RecoveryMode::Strict, RecoveryMode::PointInTime] {
        if let Ok(split) = decode::manifest_log(log, mode) {
            for r in &split.records {
                if let Some(p) = log.get(r.payload.clone()) {
                    let _ = decode::manifest_record(p);
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // Errors are expected for almost every input; only a panic, abort or OOM is a finding.
    split_and_decode(data);

    let [c0, c1, f0, f1, rest @ ..] = data else {
        return;
    };
    let cut = usize::from(u16::from_le_bytes([*c0, *c1]));
    let flip = usize::from(u16::from_le_bytes([*f0, *f1]));
    let mut log: Vec<u8> = rest.split(|&b| b == 0xFF).flat_map(frame).collect();
    if let Some(b) = flip.checked_sub(1).and_then(|i| log.get_mut(i)) {
        *b ^= 0x5A;
    }
    log.truncate(log.len().saturating_sub(cut));
    split_and_decode(&log);
});

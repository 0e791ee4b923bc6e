//! Arbitrary bytes as a whole write-ahead log (`strata::wal::parse_log_bytes`, what replay runs
//! on each log file, strict and point-in-time). Nothing may panic.
//!
//! The raw input rarely holds a record with a valid CRC, so the harness also builds a version-2
//! log from it: `cut u16 LE | flip u16 LE | chunk*`, each chunk `kind u8 | len u16 LE | len
//! bytes` (the last chunk takes what is left). An even `kind` makes the bytes the record payload
//! as they are (the batch count and lengths come from the input); an odd one wraps them as the
//! payload's only batch (`n = 1 | len`), so they reach the Arrow IPC stream reader directly. Each
//! payload is framed with `strata_format::frame_record`, then the log is damaged by flipping the
//! byte at `flip` (0 = none) and cut to drop its last `cut` bytes: the torn tails and damaged
//! records replay must sort out.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use strata::wal::{WAL_MAGIC, WAL_VERSION, parse_log_bytes};
use strata_format::frame_record;

/// Records built per input: enough for damage in the middle of a log, few enough to stay fast.
const MAX_RECORDS: usize = 8;

fn parse(log: &[u8]) {
    let path = Path::new("wal-00000000000000000001.log");
    for point_in_time in [false, true] {
        // Errors are expected for almost every input; only a panic, abort or OOM is a finding.
        let _ = parse_log_bytes(log, path, point_in_time);
    }
}

/// The record payload of one chunk.
fn payload(kind: u8, bytes: &[u8]) -> Vec<u8> {
    if kind % 2 == 0 {
        return bytes.to_vec();
    }
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    [&1u32.to_le_bytes()[..], &len.to_le_bytes(), bytes].concat()
}

fuzz_target!(|data: &[u8]| {
    parse(data);

    let [c0, c1, f0, f1, chunks @ ..] = data else {
        return;
    };
    let cut = usize::from(u16::from_le_bytes([*c0, *c1]));
    let flip = usize::from(u16::from_le_bytes([*f0, *f1]));

    let mut log = WAL_MAGIC.to_vec();
    log.extend_from_slice(&WAL_VERSION.to_le_bytes());
    let mut rest = chunks;
    for _ in 0..MAX_RECORDS {
        let [kind, l0, l1, tail @ ..] = rest else {
            break;
        };
        let len = usize::from(u16::from_le_bytes([*l0, *l1])).min(tail.len());
        let (bytes, next) = tail.split_at(len);
        if let Some(record) = frame_record(&payload(*kind, bytes)) {
            log.extend_from_slice(&record);
        }
        rest = next;
    }
    if let Some(b) = flip.checked_sub(1).and_then(|i| log.get_mut(i)) {
        *b ^= 0x5A;
    }
    log.truncate(log.len().saturating_sub(cut));
    parse(&log);
});

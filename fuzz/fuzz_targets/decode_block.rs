//! Arbitrary bytes as one block of a column (`decode_block`): flags, validity, a values buffer
//! that may be a zstd frame (format 3.3's `ZSTD_VALUES`) or a codec buffer. The harness appends
//! the block's CRC32C, so the fuzzer reaches the flag, length, frame and codec checks behind it
//! the way a reader does. None of it may panic or over-allocate; a block that decodes must
//! hold the rows it was asked for.
//!
//! Input: `type u8 | rows u16 LE | block body`; the type byte picks the column's type (and its
//! top bit whether the column is nullable).
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_format::{DataType, Field, TimeUnit, decode_block};

const TYPES: [DataType; 8] = [
    DataType::Int64,
    DataType::UInt64,
    DataType::Float64,
    DataType::Float32,
    DataType::Boolean,
    DataType::Utf8,
    DataType::Binary,
    DataType::Timestamp(TimeUnit::Millisecond, None),
];

fuzz_target!(|data: &[u8]| {
    let [t, r0, r1, body @ ..] = data else {
        return;
    };
    let data_type = TYPES[usize::from(t & 0x7f) % TYPES.len()].clone();
    let field = Field::new("c", data_type, t & 0x80 != 0);
    let rows = usize::from(u16::from_le_bytes([*r0, *r1])).max(1);
    let mut block = body.to_vec();
    block.extend_from_slice(&crc32c::crc32c(body).to_le_bytes());
    if let Ok(array) = decode_block(&field, &block, rows) {
        assert_eq!(array.len(), rows);
    }
});

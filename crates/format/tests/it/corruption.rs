//! Exhaustive single-byte corruption and truncation of a small real segment.

use crate::common::{small_batch, small_options};
use bytes::Bytes;
use strata_format::{FormatError, Segment, write_segment_bytes};

fn read_everything(bytes: Vec<u8>) -> Result<arrow_array::RecordBatch, FormatError> {
    let seg = Segment::from_bytes(Bytes::from(bytes))?;
    seg.read_all()
}

fn segment() -> Vec<u8> {
    let (schema, batch) = small_batch();
    write_segment_bytes(schema, &[batch], small_options()).unwrap()
}

#[test]
fn every_flipped_byte_is_detected_with_a_typed_error() {
    let good = segment();
    assert!(read_everything(good.clone()).is_ok());
    for pos in 0..good.len() {
        for mask in [0x01u8, 0x80, 0xFF] {
            let mut bad = good.clone();
            bad[pos] ^= mask;
            match read_everything(bad) {
                Ok(_) => panic!(
                    "flip 0x{mask:02x} at byte {pos} of {} went unnoticed",
                    good.len()
                ),
                Err(e) => assert!(
                    e.is_corruption(),
                    "flip at {pos}: not a corruption error: {e}"
                ),
            }
        }
    }
}

#[test]
fn every_truncation_is_detected_with_a_typed_error() {
    let good = segment();
    for len in 0..good.len() {
        match read_everything(good[..len].to_vec()) {
            Ok(_) => panic!("truncation to {len} bytes went unnoticed"),
            Err(e) => assert!(e.is_corruption(), "truncation to {len}: {e}"),
        }
    }
}

#[test]
fn one_corrupt_block_does_not_spoil_the_others() {
    let good = segment();
    let seg = Segment::from_bytes(Bytes::from(good.clone())).unwrap();
    let target = &seg.footer().columns[2].blocks[1];
    let mut bad = good;
    bad[target.offset as usize + 1] ^= 0x10;
    let seg = Segment::from_bytes(Bytes::from(bad)).unwrap();
    assert!(matches!(
        seg.read_block(2, 1),
        Err(FormatError::ChecksumMismatch { .. })
    ));
    assert!(seg.read_block(2, 0).is_ok());
    assert!(seg.read_column(0).is_ok());
}

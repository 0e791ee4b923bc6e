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

/// A segment whose symbol dictionary the footer stores as a zstd frame (format 3.4): every
/// flipped byte is still caught, and the footer's own decoder, given the frame's bytes flipped
/// past the CRC, refuses them with a typed corruption error or reads a footer, never panics.
#[test]
fn a_compressed_dictionary_is_checked_like_the_rest_of_the_footer() {
    let (schema, batch, options) = crate::common::dictionary_batch();
    let good = write_segment_bytes(schema, &[batch], options).unwrap();
    assert!(read_everything(good.clone()).is_ok());
    for pos in 0..good.len() {
        let mut bad = good.clone();
        bad[pos] ^= 0x01;
        match read_everything(bad) {
            Ok(_) => panic!("flip at byte {pos} of {} went unnoticed", good.len()),
            Err(e) => assert!(e.is_corruption(), "flip at {pos}: {e}"),
        }
    }
    let seg = Segment::from_bytes(Bytes::from(good.clone())).unwrap();
    let footer = seg.footer();
    let end = footer
        .columns
        .iter()
        .flat_map(|c| &c.blocks)
        .map(|b| b.offset + u64::from(b.len))
        .max()
        .unwrap();
    let bytes = footer.encode().unwrap();
    // The dictionary's bytes: where the footer differs from the same footer in 3.3's layout.
    let plain = footer
        .encode_version(strata_format::FormatVersion { major: 3, minor: 3 })
        .unwrap();
    let prefix = bytes.iter().zip(&plain).take_while(|(a, b)| a == b).count();
    let suffix = bytes
        .iter()
        .rev()
        .zip(plain.iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let frame = prefix..bytes.len() - suffix;
    assert!(frame.len() > 100 && frame.len() + 1000 < plain.len() - prefix - suffix);
    let (mut refused, mut read) = (0, 0);
    for pos in frame.clone() {
        for mask in [0x01u8, 0x80] {
            let mut bad = bytes.clone();
            bad[pos] ^= mask;
            match strata_format::Footer::decode(&bad, end) {
                Ok(_) => read += 1,
                Err(e) => {
                    assert!(e.is_corruption(), "flip at footer byte {pos}: {e}");
                    refused += 1;
                }
            }
        }
    }
    assert!(refused > 0 && refused + read == 2 * frame.len());
    for len in 0..bytes.len() {
        let e = strata_format::Footer::decode(&bytes[..len], end).unwrap_err();
        assert!(e.is_corruption(), "truncation to {len}: {e}");
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

//! Exhaustive single-byte corruption and truncation of a small real segment.

use crate::common::{small_batch, small_options};
use bytes::Bytes;
use strata_format::{FormatError, Segment, write_segment_bytes};

/// The footer layout the dictionary tests splice (see `dictionary_footer`).
const V3_6: strata_format::FormatVersion = strata_format::FormatVersion { major: 3, minor: 6 };

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

/// The dictionary segment's footer as this build writes it (a compressed dictionary), the end
/// of its data region, and where the dictionary lies in those bytes (where they differ from
/// the same footer in 3.3's layout, which stores it plain), with the length of the plain one.
struct DictionaryFooter {
    end: u64,
    bytes: Vec<u8>,
    dictionary: std::ops::Range<usize>,
    plain_len: usize,
}

fn dictionary_footer() -> DictionaryFooter {
    let (schema, batch, options) = crate::common::dictionary_batch();
    let good = write_segment_bytes(schema, &[batch], options).unwrap();
    let seg = Segment::from_bytes(Bytes::from(good)).unwrap();
    let footer = seg.footer();
    let end = footer
        .columns
        .iter()
        .flat_map(|c| &c.blocks)
        .map(|b| b.offset + u64::from(b.len))
        .max()
        .unwrap();
    // 3.6's layout: the same dictionary frame as today's, and cascade names spelled out as in
    // 3.3's, so that the two differ only in the dictionary.
    let bytes = footer.encode_version(V3_6).unwrap();
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
    assert_eq!(bytes[prefix], 2, "the dictionary flag");
    DictionaryFooter {
        dictionary: prefix..bytes.len() - suffix,
        plain_len: plain.len() - prefix - suffix,
        end,
        bytes,
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
    let DictionaryFooter {
        end,
        bytes,
        dictionary: frame,
        plain_len,
        ..
    } = dictionary_footer();
    assert!(frame.len() > 100 && frame.len() + 1000 < plain_len);
    let (mut refused, mut read) = (0, 0);
    for pos in frame.clone() {
        for mask in [0x01u8, 0x80] {
            let mut bad = bytes.clone();
            bad[pos] ^= mask;
            match strata_format::Footer::decode_version(&bad, end, V3_6) {
                Ok(_) => read += 1,
                Err(e) => {
                    assert!(e.is_corruption(), "flip at footer byte {pos}: {e}");
                    refused += 1;
                }
            }
        }
    }
    // Flips of the frame are mostly caught by zstd itself; at least one must be refused.
    assert!(refused > 0, "{read} flips read, none refused");
    for len in 0..bytes.len() {
        let e = strata_format::Footer::decode_version(&bytes[..len], end, V3_6).unwrap_err();
        assert!(e.is_corruption(), "truncation to {len}: {e}");
    }
}

/// Footer bytes of the dictionary segment with its compressed dictionary replaced by a frame
/// of `raw` whose length field says `claimed`, and the range of the footer it occupies.
fn with_dictionary_frame(raw: &[u8], claimed: u32) -> (Vec<u8>, u64) {
    let DictionaryFooter {
        end,
        bytes,
        dictionary,
        ..
    } = dictionary_footer();
    let (prefix, suffix) = (dictionary.start, bytes.len() - dictionary.end);
    let frame = zstd::bulk::compress(raw, 3).unwrap();
    let mut stored = claimed.to_le_bytes().to_vec();
    stored.extend_from_slice(&frame);
    let mut out = bytes[..prefix].to_vec();
    out.push(2);
    let mut n = stored.len();
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out.extend_from_slice(&stored);
    out.extend_from_slice(&bytes[bytes.len() - suffix..]);
    (out, end)
}

/// `n` dictionary values as flag 1 stores them: `n` and each value with its length (varints).
fn dictionary_bytes(values: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    let put = |mut n: usize, out: &mut Vec<u8>| {
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    };
    put(values.len(), &mut out);
    for v in values {
        put(v.len(), &mut out);
        out.extend_from_slice(v);
    }
    out
}

/// A compressed dictionary that claims too much, decompresses to another length, holds bytes
/// after its values or more values than its column has rows is refused with a corruption error
/// naming it, at the dictionary's footer offset; a well-formed replacement reads.
#[test]
fn a_compressed_dictionary_must_decompress_to_exactly_its_values() {
    let values: Vec<Vec<u8>> = (0..1200)
        .map(|i| format!("V{:05}", i * 7919 % 100_000).into_bytes())
        .collect();
    let raw = dictionary_bytes(&values);
    let len = raw.len() as u32;
    let (ok, end) = with_dictionary_frame(&raw, len);
    let footer = strata_format::Footer::decode_version(&ok, end, V3_6).unwrap();
    assert_eq!(footer.columns[0].dictionary.as_deref(), Some(&values[..]));

    let refused = |bytes: &[u8], says: &str| {
        let e = strata_format::Footer::decode_version(bytes, end, V3_6).unwrap_err();
        assert!(e.is_corruption(), "{e}");
        let text = e.to_string();
        assert!(
            text.contains("symbol dictionary") && text.contains(says),
            "{text}"
        );
    };
    // A length field above 16 times the frame: refused before decompressing.
    let zeros = vec![0u8; 200_000];
    let (bytes, _) = with_dictionary_frame(&zeros, zeros.len() as u32);
    refused(&bytes, "at most 16 times");
    // The frame holds fewer or more bytes than its length field says.
    refused(&with_dictionary_frame(&raw, len + 1).0, "");
    refused(&with_dictionary_frame(&raw, len - 1).0, "");
    // Bytes after the values.
    let mut longer = raw.clone();
    longer.extend_from_slice(&[1, b'x']);
    refused(
        &with_dictionary_frame(&longer, longer.len() as u32).0,
        "bytes past its 1200 values",
    );
    // More values than the column's 5,000 rows.
    let many: Vec<Vec<u8>> = (0..5001)
        .map(|i| format!("W{:06}", i * 7919 % 1_000_000).into_bytes())
        .collect();
    let raw_many = dictionary_bytes(&many);
    refused(
        &with_dictionary_frame(&raw_many, raw_many.len() as u32).0,
        "5001 values for a column of 5000 rows",
    );
    // Footers of older versions never hold a compressed dictionary: each reads back as itself.
    for (major, minor) in [(1, 0), (2, 0), (3, 3)] {
        let v = strata_format::FormatVersion { major, minor };
        let older = footer.encode_version(v).unwrap();
        assert_eq!(
            strata_format::Footer::decode_version(&older, end, v).unwrap(),
            footer,
            "{v:?}"
        );
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

/// A small segment opened from a local file is read whole and its blocks' CRCs are checked at
/// open (`ReadAt::held`): a flipped byte anywhere is still found, as a corruption error, by a
/// read of everything, and a block that failed its check at open fails at its read while the
/// others read.
#[test]
fn a_segment_held_in_memory_finds_every_flipped_byte() {
    use strata_format::LocalFs;
    let good = segment();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.strata");
    let open = |bytes: &[u8]| {
        std::fs::write(&path, bytes).unwrap();
        Segment::open(&LocalFs, &path)
    };
    let seg = open(&good).unwrap();
    assert!(seg.read_all().is_ok());
    for pos in 0..good.len() {
        let mut bad = good.clone();
        bad[pos] ^= 0x01;
        match open(&bad).and_then(|s| s.read_all()) {
            Ok(_) => panic!("flip at byte {pos} of {} went unnoticed", good.len()),
            Err(e) => assert!(e.is_corruption(), "flip at {pos}: {e}"),
        }
    }
    let target = &seg.footer().columns[2].blocks[1];
    let mut bad = good.clone();
    bad[target.offset as usize + 1] ^= 0x10;
    let seg = open(&bad).unwrap();
    assert!(matches!(
        seg.read_block(2, 1),
        Err(FormatError::ChecksumMismatch { .. })
    ));
    assert!(seg.read_block(2, 0).is_ok() && seg.read_column(0).is_ok());
}

//! The general-purpose stage of format 3.3: a block's values buffer stored as a zstd frame of
//! the codec's buffer (block flag `0x04`) where that saves at least an eighth. Taken where
//! it pays and only there, read back exactly, off with `zstd_level: None`; and every field a
//! reader trusts (the raw length, the frame) is checked with a typed error naming the block,
//! on real bytes whose checksum is made to match.

use bytes::Bytes;
use strata_format::{BlockOptions, FormatError, Segment, write_segment_bytes};

use crate::common::{assert_batches_identical, zstd_batch};

const ZSTD_VALUES: u8 = 0x04;
const HAS_VALIDITY: u8 = 0x01;

/// Bytes of the blocks of the first column.
fn first_column_bytes(s: &Segment) -> u64 {
    s.footer().columns[0]
        .blocks
        .iter()
        .map(|b| u64::from(b.len))
        .sum()
}

/// Whether no block of the first column has a cascade starting with `prefix`.
fn first_column_has_none(s: &Segment, prefix: &str) -> bool {
    let blocks = &s.footer().columns[0].blocks;
    blocks.iter().all(|b| !b.cascade.starts_with(prefix))
}

fn segment(options: BlockOptions) -> Vec<u8> {
    let (schema, batch, _) = zstd_batch();
    write_segment_bytes(schema, &[batch], options).unwrap()
}

#[test]
fn repeated_codes_are_compressed_noise_is_not_and_both_read_back() {
    let (_, batch, options) = zstd_batch();
    let bytes = segment(options);
    let seg = Segment::from_bytes(Bytes::from(bytes.clone())).unwrap();
    assert_batches_identical(&seg.read_all().unwrap(), &batch);
    let cascades = |c: usize| -> Vec<String> {
        seg.footer().columns[c]
            .blocks
            .iter()
            .map(|b| b.cascade.to_string())
            .collect()
    };
    // Every block of the repeating codes holds at least one whole period (4,096 > 1,500 rows).
    for c in cascades(0) {
        assert!(c.starts_with("zstd("), "code: {c}");
    }
    for c in cascades(1) {
        assert!(!c.starts_with("zstd("), "noise: {c}");
    }
    // Off: no block is compressed, and the codes cost more.
    let off = segment(BlockOptions {
        zstd_level: None,
        ..options
    });
    let plain = Segment::from_bytes(Bytes::from(off.clone())).unwrap();
    assert_batches_identical(&plain.read_all().unwrap(), &batch);
    assert!(first_column_has_none(&plain, "zstd("));
    // 229 codes bit-pack at 8 bits: 12,000 bytes. The packing interleaves 16 lanes, so a
    // period of 1,500 codes repeats at a shifted phase of the bytes: zstd's matches find a part
    // of it (8,490 bytes when written).
    let (on, off) = (first_column_bytes(&seg), first_column_bytes(&plain));
    assert!(on * 4 < off * 3, "{on} against {off}");
    // Row ranges and single columns read from compressed blocks too.
    let col = seg.read_column(0).unwrap();
    assert_eq!(col.to_data(), batch.column(0).to_data());
}

/// The first compressed block of the codes: its offset and length in the file.
fn first_zstd_block(bytes: &[u8]) -> (usize, usize) {
    let seg = Segment::from_bytes(Bytes::from(bytes.to_vec())).unwrap();
    let b = &seg.footer().columns[0].blocks[0];
    assert!(b.cascade.starts_with("zstd("), "{}", b.cascade);
    (b.offset as usize, b.len as usize)
}

/// `bytes` with the block at `at..at + len` rewritten by `edit` (its body, checksum excluded)
/// and its checksum made to match, so that only the field under test is wrong.
fn with_block(bytes: &[u8], (at, len): (usize, usize), edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut body = bytes[at..at + len - 4].to_vec();
    assert_eq!(body[0] & ZSTD_VALUES, ZSTD_VALUES);
    assert_eq!(body[0] & HAS_VALIDITY, 0);
    edit(&mut body);
    // The block keeps its length, so the footer's offsets stay true.
    body.resize(len - 4, 0);
    let mut out = bytes[..at].to_vec();
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32c::crc32c(&body).to_le_bytes());
    out.extend_from_slice(&bytes[at + len..]);
    out
}

fn expect_corrupt(bytes: Vec<u8>, what: &str) {
    let seg = Segment::from_bytes(Bytes::from(bytes)).unwrap();
    match seg.read_all() {
        Err(e @ FormatError::Corrupt { .. }) => {
            let text = e.to_string();
            assert!(text.contains("compressed values"), "{what}: {text}");
            assert!(
                text.contains("column 0") || text.contains("code"),
                "{what}: {text}"
            );
        }
        other => panic!("{what}: {other:?}"),
    }
}

#[test]
fn bad_lengths_and_frames_of_compressed_values_are_typed_errors() {
    let bytes = segment(zstd_batch().2);
    let block = first_zstd_block(&bytes);
    let raw_len = |b: &[u8]| u32::from_le_bytes([b[1], b[2], b[3], b[4]]);
    // A length beyond what the frame may hold, one byte short, one byte long.
    expect_corrupt(
        with_block(&bytes, block, |b| {
            b[1..5].copy_from_slice(&u32::MAX.to_le_bytes())
        }),
        "huge length",
    );
    for delta in [-1i64, 1] {
        expect_corrupt(
            with_block(&bytes, block, |b| {
                let n = (i64::from(raw_len(b)) + delta) as u32;
                b[1..5].copy_from_slice(&n.to_le_bytes());
            }),
            "length off by one",
        );
    }
    // A frame that is not zstd, a frame cut short, no length at all.
    expect_corrupt(
        with_block(&bytes, block, |b| b[5..9].copy_from_slice(b"frm!")),
        "bad magic",
    );
    expect_corrupt(
        with_block(&bytes, block, |b| {
            let keep = b.len() / 2;
            b[keep..].fill(0);
        }),
        "cut frame",
    );
    expect_corrupt(with_block(&bytes, block, |b| b[1..].fill(0xff)), "garbage");
}

/// Sorted five-digit codes (postal codes): FSST finds little in them and its output compresses
/// less than the strings, so every block is stored as plain strings in a frame; the first
/// block chooses it and the column's later blocks follow it.
#[test]
fn strings_that_compress_better_plain_are_stored_plain_in_a_frame() {
    let zips: arrow_array::StringArray = (0..12_000u32)
        .map(|i| Some(format!("{:05}", 501 + i * 7)))
        .collect();
    let (schema, batch, options) =
        crate::common::in_blocks_of_4096(vec![("zip", std::sync::Arc::new(zips), false)]);
    let bytes = write_segment_bytes(schema.clone(), std::slice::from_ref(&batch), options).unwrap();
    let seg = Segment::from_bytes(Bytes::from(bytes)).unwrap();
    assert_batches_identical(&seg.read_all().unwrap(), &batch);
    let blocks = &seg.footer().columns[0].blocks;
    assert_eq!(blocks.len(), 3);
    for b in blocks {
        assert!(b.cascade.starts_with("zstd(plain"), "{}", b.cascade);
        // 4,096 distinct codes need a filter of about 4.9 KB: more than a quarter of a frame
        // (`BloomPolicy::Auto` weighs it against the stored bytes, not the plain strings).
        assert!(
            b.bloom.is_none(),
            "a filter beside a frame of {} bytes",
            b.len
        );
    }
    let off = write_segment_bytes(
        schema,
        std::slice::from_ref(&batch),
        BlockOptions {
            zstd_level: None,
            ..options
        },
    )
    .unwrap();
    let plain = Segment::from_bytes(Bytes::from(off)).unwrap();
    // Without the stage the codec's own choice (not plain strings) stands, and costs more.
    assert!(first_column_has_none(&plain, "plain"));
    let (on, off) = (first_column_bytes(&seg), first_column_bytes(&plain));
    assert!(on < off, "{on} against {off}");
}

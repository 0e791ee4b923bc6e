//! Bit-packing with a frame of reference and width per 1024-value miniblock (tag `0x0d`): the
//! encoder takes it for a node whose stretches drift apart (it pays each stretch's own range,
//! not the node's); it round-trips every length and width against the input; and every field
//! its decoder reads is checked, returning a typed error, never a panic (`common::valid_buffers`
//! holds such a node for the random-byte and byte-flip tests).

use strata_codec::{EncodeOptions, Scheme, decode_u64, encode_u64};

use crate::common::{Rng, expect_err};

/// A random walk with a small noise: each 1024 values span a few bits, the whole far more.
fn drifting(n: usize, noise: u64, seed: u64) -> Vec<u64> {
    let mut rng = Rng::new(seed);
    let mut level = 1u64 << 40;
    (0..n)
        .map(|i| {
            if i % 1024 == 0 {
                level += rng.below(1 << 30);
            }
            level + rng.below(noise)
        })
        .collect()
}

fn forced_bitpacked(values: &[u64]) -> strata_codec::Encoded {
    let opts = EncodeOptions {
        scheme: Some(Scheme::BitPacked),
        ..EncodeOptions::default()
    };
    let enc = encode_u64(values, &opts).unwrap();
    assert_eq!(enc.cascade.scheme, Scheme::BitPacked);
    assert_eq!(decode_u64(&enc.bytes).unwrap(), values);
    enc
}

#[test]
fn drifting_stretches_get_their_own_frames() {
    for n in [1025usize, 2048, 3000, 4096] {
        let values = drifting(n, 1 << 6, n as u64);
        let enc = forced_bitpacked(&values);
        assert!(
            enc.cascade.detail.contains("/1024"),
            "n={n}: {}",
            enc.cascade
        );
        // One frame for the node would need 31 bits or more a value; 6 bits each is what
        // the miniblocks take, plus their frames.
        assert!(
            enc.bytes.len() < n * 7 / 8 + 64,
            "n={n}: {} bytes",
            enc.bytes.len()
        );
        // The sampler sees it too.
        let sampled = encode_u64(&values, &EncodeOptions::default()).unwrap();
        assert!(
            sampled.bytes.len() <= enc.bytes.len(),
            "n={n}: {}",
            sampled.cascade
        );
        assert_eq!(decode_u64(&sampled.bytes).unwrap(), values);
    }
}

/// Prices in steps of five: the node's common factor divides every miniblock's offsets.
#[test]
fn miniblocks_keep_the_common_factor() {
    let values: Vec<u64> = drifting(4000, 1 << 6, 2).iter().map(|v| v * 5).collect();
    let enc = forced_bitpacked(&values);
    assert!(enc.cascade.detail.ends_with("/1024,x5"), "{}", enc.cascade);
    assert!(
        enc.bytes.len() < 4000 * 6 / 8 + 80,
        "{} bytes",
        enc.bytes.len()
    );
}

#[test]
fn one_frame_is_kept_where_miniblocks_do_not_pay() {
    let mut rng = Rng::new(3);
    let values: Vec<u64> = (0..4096).map(|_| rng.below(1 << 20)).collect();
    let enc = forced_bitpacked(&values);
    assert_eq!(enc.cascade.detail, "w=20");
}

#[test]
fn forced_miniblocks_round_trip_every_width_and_length() {
    let mut rng = Rng::new(17);
    for w in 0..=64u32 {
        for n in [1025usize, 1500, 2047, 2048, 2049, 4096, 5000] {
            let top = if w == 64 { u64::MAX } else { (1u64 << w) - 1 };
            // Each miniblock at its own base, the first one wide, the others narrow.
            let values: Vec<u64> = (0..n)
                .map(|i| {
                    let r = rng.next_u64() & top;
                    if i < 1024 {
                        r
                    } else {
                        ((i as u64 / 1024) << 50) | (r & 0xff)
                    }
                })
                .collect();
            forced_bitpacked(&values);
        }
    }
}

#[test]
fn corrupt_fields_return_typed_errors() {
    let values = drifting(3000, 1 << 6, 9);
    let good = forced_bitpacked(&values).bytes;
    assert_eq!(good[2], 0x0d, "top node is not bitpacked per miniblock");
    let mut at = 3;
    while good[at] & 0x80 != 0 {
        at += 1; // count varint
    }
    let factor = at + 1 + 8;
    let offset_width = factor + 8;
    let widths = offset_width + 1;
    let mut b = good.clone();
    b[factor..factor + 8].copy_from_slice(&0u64.to_le_bytes());
    expect_err(&b, "factor 0");

    for (field, value) in [
        (offset_width, 65u8),
        (widths, 65),
        (widths + 1, 200),
        (widths + 2, 255),
    ] {
        let mut b = good.clone();
        b[field] = value;
        expect_err(&b, &format!("byte {field} = {value}"));
    }
    // A wider miniblock needs more words than the buffer holds.
    let mut b = good.clone();
    b[widths + 2] = 64;
    expect_err(&b, "last miniblock at 64 bits");
    for cut in 0..good.len() {
        assert!(decode_u64(&good[..cut]).is_err(), "cut at {cut}");
    }
}

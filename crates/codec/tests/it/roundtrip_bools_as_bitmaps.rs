//! Booleans (validity bitmaps) decode to the same bitmap whichever node holds them: constant,
//! run-length, width-1 bit-packed, miniblock and `packedlz4` nodes straight into words, every
//! other scheme a value a row. The oracle is the input packed bit by bit.

use proptest::prelude::*;
use strata_codec::{EncodeOptions, Limits, Scheme, decode_bool_words_with, encode_bool};

use crate::common::bitmap_of;

/// Runs of equal values (validity: long valid stretches, short null gaps), then single flips.
fn runs_then_flips() -> impl Strategy<Value = Vec<bool>> {
    (
        prop::collection::vec((any::<bool>(), 1usize..300), 0..12),
        prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    )
        .prop_map(|(runs, flips)| {
            let mut v: Vec<bool> = runs
                .into_iter()
                .flat_map(|(b, n)| std::iter::repeat_n(b, n))
                .collect();
            if !v.is_empty() {
                for f in flips {
                    let i = f.index(v.len());
                    v[i] = !v[i];
                }
            }
            v
        })
}

proptest! {
    #[test]
    fn bool_bitmaps_equal_the_values_under_every_scheme(
        values in runs_then_flips(),
        scheme in prop::sample::select(vec![
            None,
            Some(Scheme::Constant),
            Some(Scheme::Rle),
            Some(Scheme::Patched),
            Some(Scheme::BitPacked),
            Some(Scheme::Dictionary),
            Some(Scheme::Plain),
            Some(Scheme::PackedLz4),
        ]),
    ) {
        let opts = EncodeOptions { scheme, ..EncodeOptions::default() };
        // A scheme that cannot hold these values (constant over two values) is an error.
        let Ok(enc) = encode_bool(&values, &opts) else {
            return Ok(());
        };
        let got = decode_bool_words_with(&enc.bytes, Limits::default()).unwrap();
        prop_assert_eq!(got, bitmap_of(&values), "{}", enc.cascade);
    }
}

#[test]
fn run_length_and_bit_packed_bitmaps_cross_word_and_chunk_boundaries() {
    // Runs starting and ending on and around word boundaries.
    // 2,100 values: two whole transposed chunks and a sequential tail when bit-packed.
    for (start, len) in [
        (0, 64),
        (63, 2),
        (64, 64),
        (1, 126),
        (5, 700),
        (127, 1),
        (0, 1000),
        (1000, 100),
        (2047, 3),
        (2090, 10),
    ] {
        let mut values = vec![true; 2100];
        for v in values.iter_mut().skip(start).take(len) {
            *v = false;
        }
        for scheme in [Scheme::Rle, Scheme::BitPacked, Scheme::PackedLz4] {
            let opts = EncodeOptions {
                scheme: Some(scheme),
                ..EncodeOptions::default()
            };
            let enc = encode_bool(&values, &opts).unwrap();
            let got = decode_bool_words_with(&enc.bytes, Limits::default()).unwrap();
            assert_eq!(got, bitmap_of(&values), "{start}+{len} {}", enc.cascade);
        }
    }
}

#[test]
fn miniblock_and_packed_lz4_bitmaps_decode_straight_into_words() {
    // 5,844 values (a long block's validity): valid but for nulls in some 1024-value stretches,
    // which bit-packs as miniblocks (constant ones, width 1 from 0, constant zeros); the
    // same forced through `packedlz4`. Both are the shapes the bitmap path now decodes itself.
    let mut values = vec![true; 5844];
    for i in (1100..1300).chain(3000..3003).chain(5840..5844) {
        values[i] = i % 3 != 0;
    }
    for v in values.iter_mut().skip(2048).take(1024) {
        *v = false;
    }
    let cases = [
        (Some(Scheme::BitPacked), "/1024"),
        (Some(Scheme::PackedLz4), "packedlz4"),
    ];
    for (scheme, shape) in cases {
        let opts = EncodeOptions {
            scheme,
            ..EncodeOptions::default()
        };
        let enc = encode_bool(&values, &opts).unwrap();
        assert!(enc.cascade.to_string().contains(shape), "{}", enc.cascade);
        let got = decode_bool_words_with(&enc.bytes, Limits::default()).unwrap();
        assert_eq!(got, bitmap_of(&values), "{}", enc.cascade);
        // Every truncation is an error from both paths (the value path is the reference).
        for cut in 0..enc.bytes.len() {
            let short = &enc.bytes[..cut];
            assert!(decode_bool_words_with(short, Limits::default()).is_err());
            assert!(strata_codec::decode_bool(short).is_err());
        }
    }
}

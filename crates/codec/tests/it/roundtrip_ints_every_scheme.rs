//! Integers (i64, u64 on the same bits, bool on the low bits) round-trip exactly under every
//! integer scheme forced at the top and under sampled choice, for both profiles and every
//! cascade depth, on adversarial shapes at the chunk and sampling edges.

use crate::common;
use crate::common::{
    EDGE_LENGTHS, INT_SCHEMES, INT_SHAPES, all_options, i64_strategy, ints, options_strategy,
    round_trip_ints,
};
use proptest::prelude::*;
use strata_codec::EncodeOptions;

fn corpus_round_trips(shapes: &[common::IntShape]) {
    let options = all_options(&INT_SCHEMES);
    for &shape in shapes {
        for len in EDGE_LENGTHS {
            let values = ints(shape, len, 0x5EED ^ len as u64);
            for opts in &options {
                round_trip_ints(&values, opts);
            }
        }
    }
}

#[test]
fn ints_first_shapes_at_edge_lengths_every_option_round_trip() {
    corpus_round_trips(&INT_SHAPES[..INT_SHAPES.len() / 2]);
}

#[test]
fn ints_last_shapes_at_edge_lengths_every_option_round_trip() {
    corpus_round_trips(&INT_SHAPES[INT_SHAPES.len() / 2..]);
}

#[test]
fn ints_extreme_literals_every_option_round_trip() {
    let cases: Vec<Vec<i64>> = vec![
        vec![],
        vec![i64::MIN],
        vec![i64::MAX],
        vec![-1],
        vec![i64::MIN, i64::MAX],
        vec![i64::MAX, i64::MIN, i64::MAX, i64::MIN],
        vec![0, -1, 0, -1, 0],
        // -1 as u64 is u64::MAX next to 0: a full 64-bit range.
        (0..1025).map(|i| if i % 7 == 0 { -1 } else { 0 }).collect(),
        (0..2049)
            .map(|i| if i % 2 == 0 { i64::MIN } else { i64::MAX })
            .collect(),
        (0..1024).map(|i| i64::MAX - i).collect(),
        (0..1024).map(|i| i64::MIN + i * i).collect(),
    ];
    for values in &cases {
        for opts in all_options(&INT_SCHEMES) {
            round_trip_ints(values, &opts);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn ints_random_shapes_and_options_round_trip(
        values in i64_strategy(),
        opts in options_strategy(&INT_SCHEMES),
    ) {
        round_trip_ints(&values, &opts);
    }

    #[test]
    fn bools_random_density_every_option_round_trip(
        len in common::len_strategy(),
        density in 0u64..=100,
        seed in any::<u64>(),
    ) {
        use strata_codec::{decode_bool, encode_bool};
        let mut rng = common::Rng::new(seed);
        let values: Vec<bool> = (0..len).map(|_| rng.below(100) < density).collect();
        for opts in all_options(&INT_SCHEMES) {
            let enc = encode_bool(&values, &opts).unwrap();
            common::check_cascade(&enc.cascade, &opts, "bools");
            prop_assert_eq!(decode_bool(&enc.bytes).unwrap(), values.clone(), "{:?} via {}", opts, enc.cascade);
        }
    }
}

#[test]
fn ints_depth_outside_range_is_clamped_and_round_trips() {
    let values = ints(common::IntShape::SortedRepeats, 3000, 7);
    for max_depth in [0u8, 4, 200] {
        let opts = EncodeOptions {
            max_depth,
            ..EncodeOptions::default()
        };
        round_trip_ints(&values, &opts);
        let enc = strata_codec::encode_i64(&values, &opts).unwrap();
        let clamped = EncodeOptions {
            max_depth: max_depth.clamp(1, 3),
            ..opts
        };
        assert_eq!(
            enc,
            strata_codec::encode_i64(&values, &clamped).unwrap(),
            "max_depth {max_depth}"
        );
    }
}

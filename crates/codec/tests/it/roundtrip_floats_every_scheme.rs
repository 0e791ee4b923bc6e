//! Floats round-trip bit-exactly (NaN payloads, -0.0, infinities, subnormals) under every float
//! and integer scheme forced at the top and under sampled choice, both profiles, every depth.

use crate::common;
use crate::common::{
    EDGE_LENGTHS, FLOAT_SCHEMES, FLOAT_SHAPES, all_options, f64_strategy, floats, options_strategy,
    round_trip_f64,
};
use proptest::prelude::*;

fn corpus_round_trips(shapes: &[common::FloatShape]) {
    let options = all_options(&FLOAT_SCHEMES);
    for &shape in shapes {
        for len in EDGE_LENGTHS {
            let values = floats(shape, len, 0xF10A7 ^ len as u64);
            for opts in &options {
                round_trip_f64(&values, opts);
            }
        }
    }
}

#[test]
fn floats_first_shapes_at_edge_lengths_every_option_round_trip_bit_exact() {
    corpus_round_trips(&FLOAT_SHAPES[..FLOAT_SHAPES.len() / 2]);
}

#[test]
fn floats_last_shapes_at_edge_lengths_every_option_round_trip_bit_exact() {
    corpus_round_trips(&FLOAT_SHAPES[FLOAT_SHAPES.len() / 2..]);
}

#[test]
fn floats_special_literals_every_option_round_trip_bit_exact() {
    let nan_payloads: Vec<f64> = (1..=64u64)
        .map(|i| {
            f64::from_bits(0x7FF0_0000_0000_0000 | (i * 0x0001_0203_0405) & ((1 << 52) - 1) | 1)
        })
        .collect();
    let cases: Vec<Vec<f64>> = vec![
        vec![],
        vec![-0.0],
        vec![f64::NAN],
        vec![0.0, -0.0, 0.0, -0.0],
        vec![f64::INFINITY, f64::NEG_INFINITY, f64::NAN, -f64::NAN],
        vec![
            f64::from_bits(1),
            f64::from_bits(0x000F_FFFF_FFFF_FFFF),
            f64::MIN_POSITIVE,
        ],
        nan_payloads.clone(),
        nan_payloads
            .iter()
            .chain(&nan_payloads)
            .copied()
            .cycle()
            .take(2049)
            .collect(),
        // Decimals next to their negative zero and one ulp off.
        (0..1025)
            .map(|i| match i % 4 {
                0 => -0.0,
                1 => 0.1,
                2 => f64::from_bits(0.1f64.to_bits() + 1),
                _ => (i as f64 * 1.01).round() / 100.0,
            })
            .collect(),
        vec![
            1e18,
            -1e18,
            9_007_199_254_740_993.0,
            4_503_599_627_370_497.5,
            1e-18,
            123_456_789.123_456_78,
        ],
        vec![f64::MAX, f64::MIN, f64::EPSILON, -f64::EPSILON],
    ];
    for values in &cases {
        for opts in all_options(&FLOAT_SCHEMES) {
            round_trip_f64(values, &opts);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn floats_random_shapes_and_options_round_trip_bit_exact(
        values in f64_strategy(),
        opts in options_strategy(&FLOAT_SCHEMES),
    ) {
        round_trip_f64(&values, &opts);
    }

    #[test]
    fn floats_decimals_with_random_digits_round_trip_bit_exact(
        digits in prop::collection::vec(any::<i32>(), 0..300),
        scale in 0u32..=6,
        opts in options_strategy(&FLOAT_SCHEMES),
    ) {
        let p = 10f64.powi(scale as i32);
        let values: Vec<f64> = digits.iter().map(|&d| f64::from(d) / p).collect();
        round_trip_f64(&values, &opts);
    }
}

//! Encoding doubles along the cascade of another input (`encode_f64_following`) round-trips
//! bit-exactly whatever that cascade is (ALP or any other float or integer scheme, from an
//! input of any shape), and an ALP cascade followed by ALP-friendly values stays ALP.

use crate::common::{
    EDGE_LENGTHS, FLOAT_SCHEMES, FLOAT_SHAPES, FloatShape, all_options, bits, f64_strategy, floats,
    options_strategy,
};
use proptest::prelude::*;
use strata_codec::{EncodeOptions, Scheme, decode_f64, encode_f64, encode_f64_following};

fn follow_round_trips(hint_from: &[f64], values: &[f64], opts: &EncodeOptions) {
    let hint = encode_f64(hint_from, opts).unwrap().cascade;
    let enc = encode_f64_following(values, opts, &hint).unwrap();
    let back = decode_f64(&enc.bytes).unwrap();
    assert_eq!(
        bits(&back),
        bits(values),
        "{} values along {hint}",
        values.len()
    );
}

#[test]
fn every_shape_follows_every_other_shapes_cascade() {
    let options = all_options(&FLOAT_SCHEMES);
    for (i, &from) in FLOAT_SHAPES.iter().enumerate() {
        for &to in &FLOAT_SHAPES {
            for len in [1usize, 2, 3, 1024] {
                let a = floats(from, EDGE_LENGTHS[i % EDGE_LENGTHS.len()].max(1), 7);
                let b = floats(to, len, 11);
                for opts in options.iter().step_by(5) {
                    follow_round_trips(&a, &b, opts);
                }
            }
        }
    }
}

#[test]
fn decimals_following_an_alp_cascade_stay_alp() {
    let decimals = |seed: u64| -> Vec<f64> {
        (0..1024u64)
            .map(|i| ((i * 37 + seed) % 5000) as f64 / 100.0)
            .collect()
    };
    let opts = EncodeOptions::default();
    let first = encode_f64(&decimals(1), &opts).unwrap();
    assert_eq!(first.cascade.scheme, Scheme::Alp, "{}", first.cascade);
    let next = decimals(2);
    let followed = encode_f64_following(&next, &opts, &first.cascade).unwrap();
    assert_eq!(followed.cascade.scheme, Scheme::Alp, "{}", followed.cascade);
    assert_eq!(bits(&decode_f64(&followed.bytes).unwrap()), bits(&next));
    // Values ALP cannot hold fall back to the full choice, still exact.
    let noise = floats(FloatShape::RandomBits, 1024, 5);
    follow_round_trips(&decimals(1), &noise, &opts);
}

#[test]
fn followed_alp_finds_the_exponent_a_full_search_finds() {
    // Decimals with `digits` fraction digits, and integers scaled by ten (a negative scale).
    let decimals = |digits: u32, seed: u64| -> Vec<f64> {
        (0..1024u64)
            .map(|i| ((i * 7919 + seed) % 100_000) as f64 / 10f64.powi(digits as i32))
            .collect()
    };
    let tens: Vec<f64> = (0..1024u64).map(|i| ((i * 13) % 900 * 10) as f64).collect();
    let opts = EncodeOptions::default();
    let mut inputs: Vec<Vec<f64>> = (0..=4).map(|d| decimals(d, u64::from(d))).collect();
    inputs.push(tens);
    let alp_detail = |values: &[f64]| {
        let c = encode_f64(values, &opts).unwrap().cascade;
        (c.scheme == Scheme::Alp).then_some(c.detail)
    };
    for from in &inputs {
        let hint = encode_f64(from, &opts).unwrap().cascade;
        assert_eq!(hint.scheme, Scheme::Alp, "{hint}");
        for values in &inputs {
            let followed = encode_f64_following(values, &opts, &hint).unwrap();
            assert_eq!(bits(&decode_f64(&followed.bytes).unwrap()), bits(values));
            // Whether the hint's scale is finer, coarser or the same, the followed block ends
            // at the scale the full search picks.
            if let Some(want) = alp_detail(values) {
                assert_eq!(followed.cascade.scheme, Scheme::Alp, "{}", followed.cascade);
                assert_eq!(followed.cascade.detail, want, "following {hint}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn random_values_follow_random_cascades(
        from in f64_strategy(),
        values in f64_strategy(),
        opts in options_strategy(&FLOAT_SCHEMES),
    ) {
        follow_round_trips(&from, &values, &opts);
    }
}

//! Encoding along the cascade of another input (`encode_i64_following`) round-trips exactly
//! whatever that cascade is: taken from an input of any shape, length and options, at every
//! depth, including cascades whose schemes do not apply to the new values.

use crate::common::{
    EDGE_LENGTHS, INT_SCHEMES, INT_SHAPES, all_options, i64_strategy, ints, options_strategy,
};
use proptest::prelude::*;
use strata_codec::{
    decode_i64, decode_u64, encode_i64, encode_i64_following, encode_u64_following,
};

fn follow_round_trips(hint_from: &[i64], values: &[i64], opts: &strata_codec::EncodeOptions) {
    let hint = encode_i64(hint_from, opts).unwrap().cascade;
    let enc = encode_i64_following(values, opts, &hint).unwrap();
    assert_eq!(
        decode_i64(&enc.bytes).unwrap(),
        values,
        "values of {} along {hint}",
        values.len()
    );
    // The codec's bound: max_depth levels, plus one for a Patched node's exception lists.
    assert!(enc.cascade.depth() <= 4, "{}", enc.cascade);
    let unsigned: Vec<u64> = values.iter().map(|&v| v as u64).collect();
    let enc = encode_u64_following(&unsigned, opts, &hint).unwrap();
    assert_eq!(decode_u64(&enc.bytes).unwrap(), unsigned);
}

#[test]
fn every_shape_follows_every_other_shapes_cascade() {
    let options = all_options(&INT_SCHEMES);
    for (i, &from) in INT_SHAPES.iter().enumerate() {
        for &to in &INT_SHAPES {
            for len in [1usize, 2, 3, 1024] {
                let a = ints(from, EDGE_LENGTHS[i % EDGE_LENGTHS.len()].max(1), 7);
                let b = ints(to, len, 11);
                for opts in options.iter().step_by(3) {
                    follow_round_trips(&a, &b, opts);
                }
            }
        }
    }
}

#[test]
fn following_its_own_cascade_gives_the_same_bytes() {
    let options = all_options(&[None]);
    for &shape in &INT_SHAPES {
        let v = ints(shape, 1024, 3);
        for opts in &options {
            let enc = encode_i64(&v, opts).unwrap();
            let again = encode_i64_following(&v, opts, &enc.cascade).unwrap();
            assert_eq!(again.bytes, enc.bytes, "{shape:?} along {}", enc.cascade);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn random_values_follow_random_cascades(
        from in i64_strategy(),
        values in i64_strategy(),
        opts in options_strategy(&INT_SCHEMES),
    ) {
        follow_round_trips(&from, &values, &opts);
    }
}

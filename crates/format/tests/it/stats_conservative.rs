//! Property: a block's stats and bloom filter never exclude a value the block contains, and the
//! block decodes back to its input.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BinaryArray, Float64Array, Int64Array, UInt64Array};
use proptest::prelude::*;
use strata_format::{BlockOptions, BloomPolicy, DataType, Field, ScalarValue, block};

fn opts() -> BlockOptions {
    BlockOptions {
        stats_prefix: 8,
        bloom: BloomPolicy::Always,
        ..BlockOptions::default()
    }
}

fn check(field: &Field, a: ArrayRef, values: Vec<Option<ScalarValue>>) {
    let enc = block::encode_block(field, &a, &opts()).unwrap();
    let back = block::decode_block(field, &enc.bytes, a.len()).unwrap();
    assert_eq!(back.to_data(), a.to_data());
    let st = &enc.stats;
    assert_eq!(st.row_count as usize, a.len());
    assert_eq!(st.null_count as usize, a.null_count());
    for v in values.into_iter().flatten() {
        assert!(st.may_contain(&v), "stats {st:?} exclude {v}");
        if let Some(bloom) = &enc.bloom {
            assert!(bloom.might_contain(&v), "bloom excludes {v}");
        }
        if let (ScalarValue::Float(x), false) =
            (&v, matches!(&v, ScalarValue::Float(x) if x.is_nan()))
        {
            // Also check the raw order against the bounds.
            let (Some(ScalarValue::Float(lo)), Some(ScalarValue::Float(hi))) = (&st.min, &st.max)
            else {
                panic!("float block without bounds")
            };
            assert!(lo <= x && x <= hi);
        }
        if let (ScalarValue::Bytes(b), Some(ScalarValue::Bytes(lo)), Some(ScalarValue::Bytes(hi))) =
            (&v, &st.min, &st.max)
        {
            assert!(lo <= b && b <= hi, "{lo:?} <= {b:?} <= {hi:?}");
            assert!(lo.len() <= 8 && (hi.len() <= 8 || hi.iter().take(8).all(|&c| c == 0xFF)));
        }
    }
}

fn near_extremes() -> impl Strategy<Value = i64> {
    prop_oneof![
        (0i64..1000).prop_map(|d| i64::MIN + d),
        (0i64..1000).prop_map(|d| i64::MAX - d),
        (-1000i64..1000).prop_map(|d| (1 << 53) + d),
        any::<i64>(),
    ]
}

fn shared_prefix_bytes() -> impl Strategy<Value = Vec<u8>> {
    (
        0usize..4,
        prop::collection::vec(
            prop_oneof![Just(0u8), Just(0xFEu8), Just(0xFFu8), any::<u8>()],
            0..24,
        ),
    )
        .prop_map(|(p, tail)| {
            let mut v = [
                b"".as_slice(),
                b"prefix-shared".as_slice(),
                b"\xff\xff\xff\xff\xff\xff\xff\xff\xff".as_slice(),
                b"prefix-sharee".as_slice(),
            ][p]
                .to_vec();
            v.extend(tail);
            v
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn int_stats_never_exclude_contained_values(v in prop::collection::vec(prop::option::weighted(0.9, near_extremes()), 1..300)) {
        let a: ArrayRef = Arc::new(Int64Array::from(v.clone()));
        check(&Field::new("x", DataType::Int64, true), a, v.into_iter().map(|x| x.map(ScalarValue::Int)).collect());
    }

    #[test]
    fn uint_stats_never_exclude_contained_values(v in prop::collection::vec(prop::option::weighted(0.9, prop_oneof![any::<u64>(), (0u64..100).prop_map(|d| u64::MAX - d)]), 1..300)) {
        let a: ArrayRef = Arc::new(UInt64Array::from(v.clone()));
        check(&Field::new("x", DataType::UInt64, true), a, v.into_iter().map(|x| x.map(ScalarValue::UInt)).collect());
    }

    #[test]
    fn float_stats_never_exclude_contained_values(v in prop::collection::vec(prop::option::weighted(0.9, prop_oneof![Just(f64::NAN), Just(-0.0), Just(0.0), Just(f64::INFINITY), Just(f64::NEG_INFINITY), any::<f64>()]), 1..300)) {
        let a: ArrayRef = Arc::new(Float64Array::from(v.clone()));
        check(&Field::new("x", DataType::Float64, true), a, v.into_iter().map(|x| x.map(ScalarValue::Float)).collect());
    }

    #[test]
    fn string_stats_never_exclude_contained_values(v in prop::collection::vec(prop::option::weighted(0.9, shared_prefix_bytes()), 1..200)) {
        let a: ArrayRef = Arc::new(v.iter().map(|o| o.as_deref()).collect::<BinaryArray>());
        check(&Field::new("x", DataType::Binary, true), a, v.into_iter().map(|x| x.map(ScalarValue::Bytes)).collect());
    }
}

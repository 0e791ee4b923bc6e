//! Never-skip property: for every block and segment, every outcome a row actually produces is in
//! the set pruning computed — so no pruning decision drops a matching row, and "always true" is
//! only claimed when every row matches. Data includes i64 near ±2^63, long common string
//! prefixes (truncated stats), NaN of both signs, ±0.0, empty strings and all-null blocks.

use crate::common::*;
use arrow_array::Array;
use proptest::prelude::*;
use strata_predicate::BoundPredicate;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn pruning_outcomes_contain_every_row_outcome(
        batch in table(200),
        opts in block_options(),
        p in predicate(),
    ) {
        let segs = segments(&batch, &[], opts);
        let bound = BoundPredicate::bind(&expr(&p), &schema()).unwrap();
        for seg in &segs {
            let seg_set = bound.prune_segment(seg);
            let rows = seg.read_all().unwrap();
            let all = oracle_mask(&p, &rows);
            for i in 0..all.len() {
                let o = all.is_valid(i).then(|| all.value(i));
                prop_assert!(seg_set.contains(o), "segment {:?} misses {:?} at row {}", seg_set, o, i);
            }
            let mut start = 0;
            for b in 0..seg.num_blocks(0) {
                let n = seg.footer().columns[0].blocks[b].rows as usize;
                let set = bound.prune_block(seg, b);
                let block = oracle_mask(&p, &rows.slice(start, n));
                for i in 0..n {
                    let o = block.is_valid(i).then(|| block.value(i));
                    prop_assert!(set.contains(o), "block {} {:?} misses {:?} at row {} of {}", b, set, o, i, p_display(&p));
                }
                start += n;
            }
        }
    }
}

fn p_display(p: &P) -> String {
    expr(p).to_string()
}

#[test]
fn pruning_extremes_keep_matching_rows() {
    // Hand-picked edges, one block each: the block must not be pruned for a matching predicate.
    use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
    use std::sync::Arc;
    use strata_format::{BlockOptions, BloomPolicy, DataType, Field, Schema, Segment};
    let schema = Schema::new(vec![
        Field::new("i", DataType::Int64, true),
        Field::new("f", DataType::Float64, true),
        Field::new("s", DataType::Utf8, true),
        Field::new("n", DataType::Int64, true),
    ])
    .unwrap();
    let long = "x".repeat(40);
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![Some(i64::MAX), Some(i64::MIN), None])),
        Arc::new(Float64Array::from(vec![Some(f64::NAN), Some(-0.0), None])),
        Arc::new(StringArray::from(vec![
            Some(format!("{long}b")),
            Some(String::new()),
            None,
        ])),
        Arc::new(Int64Array::from(vec![None, None, None])),
    ];
    let batch = RecordBatch::try_new(Arc::new(schema.to_arrow(Default::default())), cols).unwrap();
    let opts = BlockOptions {
        stats_prefix: 8,
        bloom: BloomPolicy::Always,
        ..Default::default()
    };
    let bytes = strata_format::write_segment_bytes(schema.clone(), &[batch], opts).unwrap();
    let seg = Segment::from_bytes(bytes.into()).unwrap();
    for (text, matches) in [
        ("i = 9223372036854775807", true),
        ("i = 9223372036854775806", false),
        ("i <= -9223372036854775808", true),
        ("i > 9223372036854775806", true),
        ("f > 1e308", true),
        ("f = 0.0", false),
        ("f < 0.0", true), // -0.0 < +0.0 in Arrow's total order
        ("f <= -0.0", true),
        (&format!("s = '{long}b'"), true),
        (&format!("s LIKE '{long}%'"), true),
        (&format!("s > '{long}a'"), true),
        ("s = ''", true),
        ("s < 'a'", true),
        ("n IS NULL", true),
        ("n = 1", false),
        ("n IS NOT NULL", false),
    ] {
        let p = BoundPredicate::parse_and_bind(text, &schema).unwrap();
        let rows = p.evaluate(&seg.read_all().unwrap()).unwrap();
        assert_eq!(rows.true_count() > 0, matches, "{text}");
        if matches {
            assert!(p.prune_block(&seg, 0).may_be_true(), "{text}");
            assert!(p.prune_segment(&seg).may_be_true(), "{text}");
        }
    }
}

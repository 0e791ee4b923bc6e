//! Oracle property: random data (every supported type, nulls, extremes) and random predicates —
//! the scan's result equals a plain Arrow-kernel filter of the full data, for every batch size,
//! with random projections and deleted rows.

use crate::common::*;
use arrow_array::RecordBatch;
use arrow_select::filter::filter_record_batch;
use proptest::prelude::*;
use roaring::RoaringBitmap;
use strata_format::SymbolAs;
use strata_predicate::{BoundPredicate, Scan, ScanStats, matching_rows};

fn concat(schema: &arrow_schema::SchemaRef, batches: &[RecordBatch]) -> RecordBatch {
    arrow_select::concat::concat_batches(schema, batches).unwrap()
}

/// A scan of `segs` as the tests here run it: `projection` of the test schema, symbols as
/// strings, the rows in `deleted` left out.
fn scan_of(
    segs: &[std::sync::Arc<strata_format::Segment>],
    projection: &[usize],
    deleted: &[(usize, RoaringBitmap)],
    threads: usize,
    batch_size: usize,
) -> Scan {
    let mut scan = Scan::new(segs.to_vec())
        .threads(threads)
        .target_schema(std::sync::Arc::new(schema()))
        .projection(projection.to_vec())
        .symbol_as(SymbolAs::Utf8)
        .batch_size(batch_size);
    for (i, bm) in deleted {
        scan = scan.deleted(*i, bm.clone());
    }
    scan
}

/// Runs `scan` to the end, checking that every batch but the last holds `batch_size` rows;
/// returns the batches concatenated and the scan's counts.
fn run(scan: Scan, batch_size: usize) -> (RecordBatch, ScanStats) {
    let stats = scan.stats();
    let it = scan.execute().unwrap();
    let out_schema = it.schema();
    let batches: Vec<RecordBatch> = it.map(Result::unwrap).collect();
    for (k, b) in batches.iter().enumerate() {
        assert!(b.num_rows() <= batch_size, "batch of {} rows", b.num_rows());
        if k + 1 < batches.len() {
            assert_eq!(b.num_rows(), batch_size);
        }
    }
    (concat(&out_schema, &batches), stats.get())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn scan_random_predicate_equals_oracle_for_every_batch_size(
        batch in table(300),
        opts in block_options(),
        cuts in prop::collection::vec(0usize..300, 0..3),
        p in predicate(),
        projection in prop::sample::subsequence((0..COLUMNS.len()).collect::<Vec<_>>(), 0..=COLUMNS.len()).prop_shuffle(),
        deleted_seed in prop::collection::vec(0u32..300, 0..40),
        sort_by_predicate in any::<bool>(),
    ) {
        // Half the cases sort the rows by a column the predicate reads, so its blocks are in
        // order and scans take the binary-search path over them.
        let batch = match first_column(&p) {
            Some(c) if sort_by_predicate && batch.num_rows() > 0 => sorted_by(&batch, c),
            _ => batch,
        };
        let segs = segments(&batch, &cuts, opts);
        let bound = BoundPredicate::bind(&expr(&p), &schema()).unwrap();

        // Deleted rows: positions within each segment, and the same rows of the full batch.
        let mut deleted = Vec::new();
        let mut keep = vec![true; batch.num_rows()];
        let mut base = 0usize;
        for (i, s) in segs.iter().enumerate() {
            let n = s.num_rows() as u32;
            let bm: RoaringBitmap = deleted_seed.iter().filter(|&&r| r < n).copied().collect();
            for r in &bm {
                keep[base + r as usize] = false;
            }
            base += n as usize;
            deleted.push((i, bm));
        }
        let live = filter_record_batch(&batch, &arrow_array::BooleanArray::from(keep)).unwrap();

        // The bound predicate's own evaluation agrees with the oracle row by row.
        let own = true_only(&bound.evaluate(&live).unwrap());
        let want_mask = true_only(&oracle_mask(&p, &live));
        prop_assert_eq!(&own, &want_mask);

        let expected = oracle_filter(&p, &live).project(&projection).unwrap();
        for (threads, batch_size) in [(1usize, 1usize), (1, 7), (1, 64), (1, 100_000), (3, 1), (3, 7), (3, 64), (3, 100_000)] {
            let scan = scan_of(&segs, &projection, &deleted, threads, batch_size).predicate(bound.clone());
            let (got, st) = run(scan, batch_size);
            prop_assert_eq!(got.num_rows(), expected.num_rows(), "batch size {}", batch_size);
            prop_assert_eq!(got.columns(), expected.columns(), "batch size {}", batch_size);
            prop_assert_eq!(st.rows_matched, expected.num_rows() as u64);
            prop_assert_eq!(st.segments_total, segs.len() as u64);
            prop_assert!(st.blocks_pruned + st.blocks_all_true <= st.blocks_total);
        }

        // Without a predicate every live row comes back, on one thread or several, with the
        // same blocks and bytes counted.
        let all = live.project(&projection).unwrap();
        let mut counted = None;
        for (threads, batch_size) in [(1usize, 64usize), (1, 100_000), (3, 1), (3, 64), (3, 100_000)] {
            let (got, st) = run(scan_of(&segs, &projection, &deleted, threads, batch_size), batch_size);
            prop_assert_eq!(got.num_rows(), all.num_rows(), "{} threads, batch size {}", threads, batch_size);
            prop_assert_eq!(got.columns(), all.columns(), "{} threads, batch size {}", threads, batch_size);
            prop_assert_eq!(st.rows_matched, all.num_rows() as u64);
            prop_assert_eq!(st.segments_total, segs.len() as u64);
            let read = (st.blocks_total, st.blocks_decoded, st.bytes_read);
            prop_assert_eq!(*counted.get_or_insert(read), read, "{} threads, batch size {}", threads, batch_size);
        }

        // matching_rows agrees with the oracle, segment by segment.
        let full_mask = true_only(&oracle_mask(&p, &batch));
        let mut base = 0usize;
        for (i, s) in segs.iter().enumerate() {
            let n = s.num_rows() as usize;
            let got = matching_rows(s, &bound, Some(&deleted[i].1)).unwrap();
            let want: RoaringBitmap = (0..n)
                .filter(|&r| full_mask.value(base + r) && !deleted[i].1.contains(r as u32))
                .map(|r| r as u32)
                .collect();
            prop_assert_eq!(got, want);
            base += n;
        }
    }
}

#[test]
fn scan_without_predicate_returns_everything_in_order() {
    let runner_batch = {
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        table(500).new_tree(&mut runner).unwrap().current()
    };
    let segs = segments(
        &runner_batch,
        &[100, 333],
        strata_format::BlockOptions {
            block_rows: 50,
            ..Default::default()
        },
    );
    let scan = Scan::new(segs).symbol_as(SymbolAs::Utf8).batch_size(128);
    let stats = scan.stats();
    let it = scan.execute().unwrap();
    let schema = it.schema();
    let batches: Vec<_> = it.map(Result::unwrap).collect();
    assert_eq!(concat(&schema, &batches).columns(), runner_batch.columns());
    assert_eq!(stats.get().rows_matched, runner_batch.num_rows() as u64);
    assert_eq!(stats.get().segments_pruned, 0);
}

/// One segment of 40,000 rows and many blocks, with deleted rows, read without a predicate on
/// one to three threads: every projection, batch size and thread count returns the live rows
/// in order, and counts the same blocks and bytes.
#[test]
fn scan_of_one_large_segment_returns_every_live_row_on_any_thread_count() {
    let part = {
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let mut b = table(2_000).new_tree(&mut runner).unwrap().current();
        while b.num_rows() < 1_000 {
            b = table(2_000).new_tree(&mut runner).unwrap().current();
        }
        b
    };
    let copies = 40_000usize.div_ceil(part.num_rows());
    let batch = concat(&part.schema(), &vec![part.clone(); copies]);
    let segs = segments(
        &batch,
        &[],
        strata_format::BlockOptions {
            block_rows: 64,
            ..Default::default()
        },
    );
    assert_eq!(segs.len(), 1);
    let deleted: RoaringBitmap = (0..batch.num_rows() as u32)
        .filter(|r| r % 97 == 5)
        .collect();
    let keep: Vec<bool> = (0..batch.num_rows() as u32)
        .map(|r| !deleted.contains(r))
        .collect();
    let live = filter_record_batch(&batch, &arrow_array::BooleanArray::from(keep)).unwrap();
    let every: Vec<usize> = (0..COLUMNS.len()).collect();
    let some: Vec<usize> = every.iter().rev().step_by(2).copied().collect();
    for projection in [every, some] {
        let want = live.project(&projection).unwrap();
        let mut counted = None;
        for (threads, batch_size) in [(1usize, 8192usize), (2, 8192), (3, 7_000), (3, 100_000)] {
            let deleted = [(0, deleted.clone())];
            let (got, st) = run(
                scan_of(&segs, &projection, &deleted, threads, batch_size),
                batch_size,
            );
            assert_eq!(got.columns(), want.columns(), "{threads} threads");
            assert_eq!(st.rows_matched, want.num_rows() as u64);
            assert_eq!(st.segments_total, 1);
            let read = (st.blocks_total, st.blocks_decoded, st.bytes_read);
            assert_eq!(*counted.get_or_insert(read), read, "{threads} threads");
        }
    }
}

//! Scan scenarios: pruning counts, late materialisation, deletes, schema evolution, symbol
//! dictionaries, timestamps, bad bytes.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray, TimestampSecondArray};
use roaring::RoaringBitmap;
use strata_format::{
    BlockOptions, DataType, Field, FormatError, LocalFs, Schema, Segment, SymbolAs, TimeUnit,
    write_segment_bytes,
};
use strata_predicate::{BoundPredicate, PredicateError, Scan, matching_rows};

fn schema() -> Schema {
    Schema::new(vec![
        Field::new("k", DataType::Int64, false),
        Field::new("v", DataType::Int64, true),
        Field::new("tag", DataType::Symbol, true),
        Field::new("ts", DataType::Timestamp(TimeUnit::Second, None), false),
    ])
    .unwrap()
    .with_sort_key(["k"])
    .unwrap()
}

/// 10 blocks of 100 rows: k = 0..1000, v = k * 3 (null every 7th), tag cycles a/b/c, ts = k hours.
fn segment_bytes() -> Vec<u8> {
    let n = 1000i64;
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(0..n)),
        Arc::new(Int64Array::from_iter(
            (0..n).map(|k| (k % 7 != 0).then_some(k * 3)),
        )),
        Arc::new(StringArray::from_iter_values(
            (0..n).map(|k| ["a", "b", "c"][(k % 3) as usize]),
        )),
        Arc::new(TimestampSecondArray::from_iter_values(
            (0..n).map(|k| 1_362_096_000 + k * 3600),
        )),
    ];
    let batch = RecordBatch::try_new(Arc::new(schema().to_arrow(SymbolAs::Utf8)), cols).unwrap();
    let opts = BlockOptions {
        block_rows: 100,
        ..Default::default()
    };
    write_segment_bytes(schema(), &[batch], opts).unwrap()
}

fn segment() -> Arc<Segment> {
    Arc::new(
        Segment::from_bytes(segment_bytes().into())
            .unwrap()
            .with_symbol_as(SymbolAs::Utf8),
    )
}

fn collect(scan: Scan) -> RecordBatch {
    let it = scan.execute().unwrap();
    let schema = it.schema();
    let batches: Vec<_> = it.map(Result::unwrap).collect();
    arrow_select::concat::concat_batches(&schema, &batches).unwrap()
}

fn ks(b: &RecordBatch, col: usize) -> Vec<i64> {
    b.column(col).as_primitive::<Int64Type>().values().to_vec()
}

#[test]
fn scan_range_on_sort_key_prunes_and_skips_evaluation() {
    let seg = segment();
    let p = BoundPredicate::parse_and_bind("k >= 150 AND k < 420", seg.schema()).unwrap();
    let scan = Scan::new(vec![seg.clone()])
        .predicate(p)
        .projection(vec!["k"]);
    let stats = scan.stats();
    let out = collect(scan);
    assert_eq!(ks(&out, 0), (150..420).collect::<Vec<_>>());
    let s = stats.get();
    assert_eq!(s.blocks_total, 10);
    // Blocks 0 and 5..9 cannot match; 2 and 3 match entirely; 1 and 4 are evaluated.
    assert_eq!(s.blocks_pruned, 6);
    assert_eq!(s.blocks_all_true, 2);
    // Predicate column for the two partial blocks, projected column (same column) reused,
    // plus the two all-true blocks.
    assert_eq!(s.blocks_decoded, 4);
    assert_eq!(s.rows_matched, 270);
    assert!(s.bytes_read < seg.footer_offset() / 2, "{s:?}");
}

#[test]
fn scan_decodes_projected_blocks_only_where_rows_survive() {
    let seg = segment();
    // v = 30 only in block 0 (k = 10); tag = 'b' on k = 10.
    let p = BoundPredicate::parse_and_bind("v = 30", seg.schema()).unwrap();
    let scan = Scan::new(vec![seg.clone()])
        .predicate(p)
        .projection(vec!["tag", "ts"]);
    let stats = scan.stats();
    let out = collect(scan);
    assert_eq!(out.num_rows(), 1);
    assert_eq!(out.column(0).as_string::<i32>().value(0), "b");
    let s = stats.get();
    // One block of v (the others are pruned by min/max), then one block each of tag and ts.
    assert_eq!((s.blocks_pruned, s.blocks_decoded), (9, 3));
}

#[test]
fn scan_excludes_deleted_rows_and_skips_fully_deleted_blocks() {
    let seg = segment();
    let mut deleted: RoaringBitmap = (0..100u32).collect(); // all of block 0
    deleted.insert(150);
    deleted.insert(999);
    let scan = Scan::new(vec![seg.clone()])
        .projection(vec!["k"])
        .deleted(0, deleted.clone())
        .batch_size(333);
    let stats = scan.stats();
    let out = collect(scan);
    let want: Vec<i64> = (100..1000).filter(|&k| k != 150 && k != 999).collect();
    assert_eq!(ks(&out, 0), want);
    assert_eq!(stats.get().blocks_pruned, 1);

    let p = BoundPredicate::parse_and_bind("k < 160", seg.schema()).unwrap();
    let rows = matching_rows(&seg, &p, Some(&deleted)).unwrap();
    let want: RoaringBitmap = (100..160u32).filter(|&k| k != 150).collect();
    assert_eq!(rows, want);
}

#[test]
fn scans_of_disjoint_row_ranges_read_each_row_once() {
    let seg = segment();
    let mut deleted = RoaringBitmap::new();
    deleted.insert_range(240..260); // across the cut at 250
    deleted.insert(999);
    let p = BoundPredicate::parse_and_bind("v IS NOT NULL", seg.schema()).unwrap();
    let want: Vec<i64> = (0..1000)
        .filter(|k| k % 7 != 0 && !(240..260).contains(k) && *k != 999)
        .collect();
    // Cuts on and off block boundaries (blocks of 100 rows), and a range past the end.
    for cuts in [
        vec![0, 1000],
        vec![0, 250, 1000],
        vec![0, 100, 101, 640, 2000],
    ] {
        let mut got = Vec::new();
        let mut blocks = 0;
        for w in cuts.windows(2) {
            let scan = Scan::new(vec![seg.clone()])
                .projection(vec!["k"])
                .predicate(p.clone())
                .deleted(0, deleted.clone())
                .rows(0, w[0]..w[1])
                .batch_size(64);
            let stats = scan.stats();
            got.extend(ks(&collect(scan), 0));
            blocks += stats.get().blocks_total;
        }
        assert_eq!(got, want, "cuts {cuts:?}");
        // A block cut in two is counted (and read) by both scans.
        let split_blocks = cuts[1..cuts.len() - 1]
            .iter()
            .filter(|c| **c % 100 != 0 && **c < 1000)
            .count() as u64;
        assert_eq!(blocks, 10 + split_blocks, "cuts {cuts:?}");
    }
    // An empty range reads nothing.
    let scan = Scan::new(vec![seg.clone()]).rows(0, 500..500);
    assert_eq!(collect(scan).num_rows(), 0);
}

#[test]
fn scan_target_schema_fills_missing_columns_with_nulls_and_prunes_them() {
    let seg = segment();
    let table = Arc::new(
        Schema::new(vec![
            Field::new("k", DataType::Int64, false),
            Field::new("added", DataType::Utf8, true),
        ])
        .unwrap(),
    );
    let is_null = BoundPredicate::parse_and_bind("added IS NULL AND k < 5", &table).unwrap();
    let out = collect(
        Scan::new(vec![seg.clone()])
            .target_schema(table.clone())
            .predicate(is_null),
    );
    assert_eq!(out.schema().fields().len(), 2);
    assert_eq!(ks(&out, 0), vec![0, 1, 2, 3, 4]);
    assert_eq!(out.column(1).null_count(), 5);
    assert_eq!(out.column(1).data_type(), &arrow_schema::DataType::Utf8);

    let eq = BoundPredicate::parse_and_bind("added = 'x'", &table).unwrap();
    let scan = Scan::new(vec![seg]).target_schema(table).predicate(eq);
    let stats = scan.stats();
    assert_eq!(collect(scan).num_rows(), 0);
    assert_eq!(stats.get().segments_pruned, 1);
    assert_eq!(stats.get().blocks_decoded, 0);
}

#[test]
fn scan_symbol_value_absent_from_dictionary_prunes_segment() {
    let seg = segment();
    let p = BoundPredicate::parse_and_bind("tag = 'zzz' OR tag LIKE 'q%'", seg.schema()).unwrap();
    assert!(p.prune_segment(&seg).never_true());
    let p = BoundPredicate::parse_and_bind("tag = 'b'", seg.schema()).unwrap();
    let scan = Scan::new(vec![seg.clone(), seg])
        .predicate(p)
        .projection(vec!["k"]);
    let stats = scan.stats();
    let out = collect(scan);
    assert_eq!(out.num_rows(), 2 * 333);
    assert_eq!(stats.get().segments_total, 2);
}

#[test]
fn scan_timestamp_literals_bind_in_column_unit() {
    let seg = segment();
    let p = BoundPredicate::parse_and_bind(
        "ts >= '2013-03-01T10:00:00Z' AND ts < '2013-03-01T13:00:00+00:00'",
        seg.schema(),
    )
    .unwrap();
    let out = collect(Scan::new(vec![seg]).predicate(p).projection(vec!["k"]));
    assert_eq!(ks(&out, 0), vec![10, 11, 12]);
}

#[test]
fn scan_returns_dictionary_symbols_by_default() {
    let seg = Arc::new(Segment::from_bytes(segment_bytes().into()).unwrap());
    let p = BoundPredicate::parse_and_bind("tag = 'c' AND k < 9", seg.schema()).unwrap();
    let out = collect(Scan::new(vec![seg]).predicate(p).projection(vec!["tag"]));
    assert!(matches!(
        out.column(0).data_type(),
        arrow_schema::DataType::Dictionary(..)
    ));
    assert_eq!(out.num_rows(), 3);
}

#[test]
fn scan_over_corrupt_block_returns_error_not_panic() {
    let mut bytes = segment_bytes();
    let seg = Segment::from_bytes(bytes.clone().into()).unwrap();
    let b = &seg.footer().columns[1].blocks[4];
    bytes[b.offset as usize + 3] ^= 0x55;
    let seg = Arc::new(Segment::from_bytes(bytes.into()).unwrap());
    let p = BoundPredicate::parse_and_bind("v > 0", seg.schema()).unwrap();
    let results: Vec<_> = Scan::new(vec![seg.clone()])
        .predicate(p.clone())
        .batch_size(50)
        .into_iter()
        .collect();
    let last = results.last().unwrap();
    assert!(
        matches!(last, Err(PredicateError::Format { segment: 0, .. })),
        "{last:?}"
    );
    assert!(results[..results.len() - 1].iter().all(Result::is_ok));
    assert!(matching_rows(&seg, &p, None).is_err());
}

#[test]
fn scan_over_corrupt_block_on_disk_names_the_segment_file() {
    struct RemoveOnDrop(std::path::PathBuf);
    impl Drop for RemoveOnDrop {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let dir = std::env::temp_dir().join(format!("strata-scan-corrupt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _cleanup = RemoveOnDrop(dir.clone());
    let path = dir.join("seg-17.strata");
    std::fs::write(&path, segment_bytes()).unwrap();
    let seg = Segment::open(&LocalFs, &path).unwrap();
    assert_eq!(seg.path(), Some(path.as_path()));
    // One byte inside block 4 of column v, flipped on disk.
    let b = &seg.footer().columns[1].blocks[4];
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[b.offset as usize + 3] ^= 0x55;
    std::fs::write(&path, bytes).unwrap();

    // The good segment first: the error must name the second, by file.
    let seg = Arc::new(
        Segment::open(&LocalFs, &path)
            .unwrap()
            .with_symbol_as(SymbolAs::Utf8),
    );
    let p = BoundPredicate::parse_and_bind("v > 0", seg.schema()).unwrap();
    let err = Scan::new(vec![segment(), Arc::clone(&seg)])
        .predicate(p.clone())
        .into_iter()
        .find_map(Result::err)
        .unwrap();
    let msg = err.to_string();
    assert!(
        matches!(&err, PredicateError::Format { segment: 1, path: Some(p), source }
            if p == &path && matches!(source, FormatError::ChecksumMismatch { .. })),
        "{err:?}"
    );
    assert!(msg.contains(&*path.to_string_lossy()), "{msg}");
    assert!(!msg.contains("segment 1"), "{msg}");
    assert!(
        msg.contains("checksum mismatch in column 1 block 4"),
        "{msg}"
    );
    let err = matching_rows(&seg, &p, None).unwrap_err();
    assert!(err.to_string().contains("seg-17.strata"), "{err}");
}

#[test]
fn scan_rejects_bad_arguments() {
    let seg = segment();
    let bad = |s: Scan| s.execute().map(|_| ()).unwrap_err();
    assert!(matches!(
        bad(Scan::new(vec![seg.clone()]).projection(vec!["nope"])),
        PredicateError::UnknownColumn { .. }
    ));
    assert!(matches!(
        bad(Scan::new(vec![seg.clone()]).projection(vec![9usize])),
        PredicateError::InvalidArgument(_)
    ));
    assert!(matches!(
        bad(Scan::new(vec![seg]).batch_size(0)),
        PredicateError::InvalidArgument(_)
    ));
}

/// A scan on several threads returns exactly the batches of a scan on one: same sizes, same
/// rows, same order, with segments larger than one unit of work split between threads, a
/// predicate, deleted rows and a batch size that does not divide the unit.
#[test]
fn parallel_scan_returns_the_batches_of_a_sequential_scan() {
    let n = 3 * strata_predicate::PARALLEL_UNIT_ROWS as i64 + 1234;
    let batch = |from: i64, to: i64| {
        RecordBatch::try_new(
            Arc::new(schema().to_arrow(SymbolAs::Utf8)),
            vec![
                Arc::new(Int64Array::from_iter_values(from..to)),
                Arc::new(Int64Array::from_iter(
                    (from..to).map(|k| (k % 7 != 0).then_some(k * 3)),
                )),
                Arc::new(StringArray::from_iter((from..to).map(|k| {
                    (k % 5 != 0).then(|| ["a", "b", "c"][(k % 3) as usize])
                }))),
                Arc::new(TimestampSecondArray::from_iter_values(
                    (from..to).map(|k| 1_362_096_000 + k),
                )),
            ],
        )
        .unwrap()
    };
    let seg = |from, to| {
        let bytes =
            write_segment_bytes(schema(), &[batch(from, to)], BlockOptions::default()).unwrap();
        Arc::new(Segment::from_bytes(bytes.into()).unwrap())
    };
    // A large segment (four units), a small one, another large one.
    let segs = vec![seg(0, n), seg(n, n + 500), seg(n + 500, 2 * n)];
    let deleted: RoaringBitmap = (0..n as u32).filter(|r| r % 11 == 0).collect();
    // A predicate that reads every block, and one that only the blocks of rows 60,000..70,100
    // can satisfy (two units of the first segment, which still go to two workers): the other
    // units and the two other segments are ruled out before any worker opens them, and still
    // counted as pruned.
    let preds = [
        BoundPredicate::parse_and_bind("v > 1000 OR tag = 'b'", &schema()).unwrap(),
        BoundPredicate::parse_and_bind("k >= 60000 AND k < 70100", &schema()).unwrap(),
    ];
    for batch_size in [65_536usize, 10_000, 999] {
        for with_predicate in [None, Some(&preds[0]), Some(&preds[1])] {
            let run = |threads: usize| {
                let mut scan = Scan::new(segs.clone())
                    .threads(threads)
                    .batch_size(batch_size)
                    .deleted(2, deleted.clone());
                if let Some(p) = with_predicate {
                    scan = scan.predicate(p.clone());
                }
                let stats = scan.stats();
                let batches: Vec<RecordBatch> =
                    scan.execute().unwrap().map(Result::unwrap).collect();
                (batches, stats.get())
            };
            let (one, one_stats) = run(1);
            let (many, many_stats) = run(3);
            assert_eq!(
                one.iter().map(RecordBatch::num_rows).collect::<Vec<_>>(),
                many.iter().map(RecordBatch::num_rows).collect::<Vec<_>>(),
                "batch sizes, batch size {batch_size}, predicate {with_predicate:?}"
            );
            let selective = with_predicate.is_some_and(|p| std::ptr::eq(p, &preds[1]));
            if selective {
                assert_eq!(one_stats.rows_matched, 10_100);
            } else {
                assert!(one.len() > 3);
            }
            for (a, b) in one.iter().zip(&many) {
                assert_eq!(
                    a, b,
                    "batch size {batch_size}, predicate {with_predicate:?}"
                );
            }
            assert_eq!(one_stats.rows_matched, many_stats.rows_matched);
            assert_eq!(one_stats.segments_total, 3);
            assert_eq!(many_stats.segments_total, 3);
            assert_eq!(one_stats.segments_pruned, many_stats.segments_pruned);
            assert_eq!(one_stats.blocks_total, many_stats.blocks_total);
            assert_eq!(one_stats.blocks_pruned, many_stats.blocks_pruned);
            assert_eq!(one_stats.blocks_decoded, many_stats.blocks_decoded);
        }
    }
}

/// Symbol columns read from several segments, each with its own dictionary (overlapping
/// values, another first-seen order, nulls, a segment of nulls only, one with more distinct
/// values than are merged eagerly): every batch holds the rows of the concatenated input, as
/// one dictionary array or as strings, whatever the batch size, deletes or predicate, on one
/// thread or on several (the small segments then cut into units mid-segment).
#[test]
fn symbols_of_many_segments_join_one_dictionary_per_batch() {
    let words = |k: i64, seg: i64| -> Option<String> {
        match seg {
            0 => Some(["a", "b", "c"][(k % 3) as usize].to_string()),
            1 => (k % 4 != 0).then(|| ["c", "d", "a"][(k % 3) as usize].to_string()),
            2 => None,
            3 => Some(format!("w{}", k % 5000)),
            _ => Some(["b", "e"][(k % 2) as usize].to_string()),
        }
    };
    let sizes = [700i64, 1300, 90, 9000, 2500, 30_000, 40_000];
    let mut segs = Vec::new();
    let mut expect_tags: Vec<Option<String>> = Vec::new();
    let mut from = 0i64;
    for (s, &len) in sizes.iter().enumerate() {
        let ks = from..from + len;
        let tags: Vec<Option<String>> = ks.clone().map(|k| words(k, s as i64)).collect();
        expect_tags.extend(tags.iter().cloned());
        let batch = RecordBatch::try_new(
            Arc::new(schema().to_arrow(SymbolAs::Utf8)),
            vec![
                Arc::new(Int64Array::from_iter_values(ks.clone())),
                Arc::new(Int64Array::from_iter(ks.clone().map(Some))),
                Arc::new(StringArray::from(tags)),
                Arc::new(TimestampSecondArray::from_iter_values(
                    ks.map(|k| 1_362_096_000 + k),
                )),
            ],
        )
        .unwrap();
        let opts = BlockOptions {
            block_rows: 1000,
            ..Default::default()
        };
        let bytes = write_segment_bytes(schema(), &[batch], opts).unwrap();
        segs.push(Arc::new(Segment::from_bytes(bytes.into()).unwrap()));
        from += len;
    }
    let deleted: RoaringBitmap = (0..1300u32).filter(|r| r % 9 == 0).collect();
    let pred = BoundPredicate::parse_and_bind("k < 1500 OR tag = 'c' OR tag = 'w7'", &schema());
    let preds = [None, Some(pred.unwrap())];
    for (symbol_as, threads) in [
        (SymbolAs::Dictionary, 1),
        (SymbolAs::Utf8, 1),
        (SymbolAs::Dictionary, 3),
    ] {
        for batch_size in [65_536usize, 777, 5_000] {
            for p in &preds {
                let mut scan = Scan::new(segs.clone())
                    .batch_size(batch_size)
                    .threads(threads)
                    .symbol_as(symbol_as)
                    .deleted(1, deleted.clone());
                if let Some(p) = p {
                    scan = scan.predicate(p.clone());
                }
                let mut got_k = Vec::new();
                let mut got_tag: Vec<Option<String>> = Vec::new();
                let batches: Vec<RecordBatch> =
                    scan.execute().unwrap().map(Result::unwrap).collect();
                let lens: Vec<usize> = batches.iter().map(RecordBatch::num_rows).collect();
                if let Some((_, full)) = lens.split_last() {
                    assert!(
                        full.iter().all(|&n| n == batch_size),
                        "batch sizes {lens:?}"
                    );
                }
                for b in batches {
                    let tag = b.column(2);
                    if symbol_as == SymbolAs::Dictionary && p.is_none() && threads == 1 {
                        let d = tag.as_any_dictionary();
                        // Each value once in the batch's dictionary (rows decoded straight
                        // into the batch; a predicate column's arrays, and the batches of
                        // two workers' units, are joined by Arrow, which may repeat values).
                        let values = d.values().as_string::<i32>();
                        let distinct: std::collections::BTreeSet<_> = values.iter().collect();
                        assert_eq!(
                            distinct.len(),
                            values.len(),
                            "{threads} threads, batch size {batch_size}"
                        );
                    }
                    let tag = arrow_cast::cast(tag, &arrow_schema::DataType::Utf8).unwrap();
                    got_tag.extend(tag.as_string::<i32>().iter().map(|t| t.map(String::from)));
                    got_k.extend(ks(&b, 0));
                }
                let first_of_1 = sizes[0];
                let want: Vec<(i64, Option<String>)> = expect_tags
                    .iter()
                    .enumerate()
                    .map(|(k, t)| (k as i64, t.clone()))
                    .filter(|(k, _)| {
                        let in_1 = (first_of_1..first_of_1 + sizes[1]).contains(k);
                        !(in_1 && (k - first_of_1) % 9 == 0)
                    })
                    .filter(|(k, t)| {
                        p.is_none() || *k < 1500 || matches!(t.as_deref(), Some("c" | "w7"))
                    })
                    .collect();
                let got: Vec<(i64, Option<String>)> = got_k.into_iter().zip(got_tag).collect();
                assert_eq!(
                    got, want,
                    "{symbol_as:?} on {threads} threads, batch size {batch_size}"
                );
            }
        }
    }
}

/// Segments of two different column sets, alternating (a table whose schema gained a column):
/// each segment's columns are found in it, not taken from the segment before, and consecutive
/// segments with the same columns (read alike) give the same rows as one.
#[test]
fn scan_alternating_column_sets_resolves_each_segment() {
    let narrow = Schema::new(vec![
        Field::new("k", DataType::Int64, false),
        Field::new("added", DataType::Utf8, true),
    ])
    .unwrap();
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(1000..1010)),
        Arc::new(StringArray::from_iter_values((0..10).map(|_| "y"))),
    ];
    let batch = RecordBatch::try_new(Arc::new(narrow.to_arrow(SymbolAs::Utf8)), cols).unwrap();
    let other = || {
        let bytes = write_segment_bytes(
            narrow.clone(),
            std::slice::from_ref(&batch),
            Default::default(),
        );
        Arc::new(Segment::from_bytes(bytes.unwrap().into()).unwrap())
    };
    let table = Arc::new(
        Schema::new(vec![
            Field::new("k", DataType::Int64, false),
            Field::new("v", DataType::Int64, true),
            Field::new("added", DataType::Utf8, true),
        ])
        .unwrap(),
    );
    let segs = vec![segment(), segment(), other(), segment(), other(), other()];
    let out = collect(Scan::new(segs.clone()).target_schema(table.clone()));
    let one = collect(Scan::new(vec![segment()]));
    let mut want_k: Vec<i64> = Vec::new();
    for s in [0, 0, 1, 0, 1, 1] {
        want_k.extend(if s == 0 {
            (0..1000).collect::<Vec<_>>()
        } else {
            (1000..1010).collect()
        });
    }
    assert_eq!(ks(&out, 0), want_k);
    let v = out.column(1).as_primitive::<Int64Type>();
    let added = out.column(2).as_string::<i32>();
    let mut at = 0;
    for s in [0, 0, 1, 0, 1, 1] {
        let n = if s == 0 { 1000 } else { 10 };
        for i in 0..n {
            let r = at + i;
            if s == 0 {
                assert_eq!(v.is_null(r), one.column(1).is_null(i), "row {r}");
                assert_eq!(
                    v.value(r),
                    one.column(1).as_primitive::<Int64Type>().value(i)
                );
                assert!(added.is_null(r), "row {r}");
            } else {
                assert!(v.is_null(r) && added.value(r) == "y", "row {r}");
            }
        }
        at += n;
    }
    let is_null =
        BoundPredicate::parse_and_bind("added IS NULL AND v IS NOT NULL", &table).unwrap();
    let out = collect(Scan::new(segs).target_schema(table).predicate(is_null));
    let nonnull = one.column(1).len() - one.column(1).null_count();
    assert_eq!(out.num_rows(), 3 * nonnull);
}

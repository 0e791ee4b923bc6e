//! The golden v1 segment of the format issue merges with a freshly written segment of the same
//! schema: the output holds both inputs' rows, interleaved in sort-key order.

use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch};
use arrow_schema::DataType as ArrowType;
use strata_compactor::{MergeInput, MergeOptions, merge_segments};
use strata_format::{LocalFs, Segment, SymbolAs};
use strata_writer::SegmentWriter;

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../format/tests/golden/v1")
        .join(name)
}

/// Column `i` of `b` with dictionaries as plain strings.
fn plain(b: &RecordBatch, i: usize) -> ArrayRef {
    let c = b.column(i);
    match c.data_type() {
        ArrowType::Dictionary(_, v) => arrow_cast::cast(c, v).unwrap(),
        _ => Arc::clone(c),
    }
}

#[test]
fn golden_v1_small_merged_with_a_new_segment_interleaves_all_rows() {
    let old = Arc::new(Segment::open(&LocalFs, &golden("small.seg")).unwrap());
    let rows = old.read_all().unwrap();
    assert_eq!(rows.num_rows(), 10);

    let dir = tempfile::tempdir().unwrap();
    let fs: Arc<dyn strata_format::FileSystem> = Arc::new(LocalFs);
    let mut w = SegmentWriter::create(
        Arc::clone(&fs),
        dir.path(),
        "new.seg",
        old.schema().clone(),
        Default::default(),
    )
    .unwrap();
    w.write_batch(&rows).unwrap();
    let meta = w.finish().unwrap();
    let new = Arc::new(Segment::open(&LocalFs, &meta.path).unwrap());

    let inputs = vec![
        MergeInput {
            name: "golden".into(),
            segment: Arc::clone(&old),
            deleted: None,
            write_order: 0,
        },
        MergeInput {
            name: "new".into(),
            segment: new,
            deleted: None,
            write_order: 1,
        },
    ];
    let out = merge_segments(
        fs,
        dir.path(),
        "merged.seg",
        inputs,
        &MergeOptions::default(),
    )
    .unwrap();
    assert_eq!((out.rows_in, out.rows_out), (20, 20));
    let merged = Segment::open(&LocalFs, &out.meta.path)
        .unwrap()
        .with_symbol_as(SymbolAs::Utf8)
        .read_all()
        .unwrap();

    // Oracle: both copies, ordered by ts, the golden row first among equal keys.
    let ts_col = old.schema().index_of("ts").unwrap();
    let ts = arrow_cast::cast(rows.column(ts_col), &ArrowType::Int64).unwrap();
    let ts = ts.as_any().downcast_ref::<Int64Array>().unwrap();
    let mut order: Vec<(i64, usize, usize)> = (0..2)
        .flat_map(|input| (0..10).map(move |i| (input, i)))
        .map(|(input, i)| (ts.value(i), input, i))
        .collect();
    order.sort();
    let take =
        arrow_array::UInt32Array::from(order.iter().map(|&(_, _, i)| i as u32).collect::<Vec<_>>());
    for c in 0..rows.num_columns() {
        let want = arrow_select::take::take(&plain(&rows, c), &take, None).unwrap();
        let name = old.schema().fields[c].name.clone();
        let got_col = merged.schema().index_of(&name).unwrap();
        assert_eq!(
            plain(&merged, got_col).to_data(),
            want.to_data(),
            "column {name}"
        );
    }
}

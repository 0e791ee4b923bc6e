//! The streaming writer buffers at most one partial stripe: across 200 batches of 10 000 rows
//! (2 million rows, a block size that does not divide the batch) its pending rows never exceed
//! `block_rows`, and the segment holds every row.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use strata_format::{DataType, Field, MemFs, Schema, Segment, SymbolAs};
use strata_writer::{SegmentWriter, WriterOptions};

#[test]
fn streaming_writer_two_million_rows_pending_rows_stay_within_one_block() {
    const BATCHES: i64 = 200;
    const ROWS: i64 = 10_000;
    let schema = Schema::new(vec![
        Field::new("ts", DataType::Int64, false),
        Field::new("host", DataType::Symbol, false),
        Field::new("v", DataType::Float64, true),
    ])
    .unwrap()
    .with_sort_key(["ts"])
    .unwrap();
    let arrow_schema = Arc::new(schema.to_arrow(SymbolAs::Utf8));
    let fs = Arc::new(MemFs::new());
    let opts = WriterOptions::default();
    let block_rows = opts.block.block_rows;
    assert_ne!(
        ROWS as usize % block_rows,
        0,
        "batches must leave partial stripes"
    );
    let mut w =
        SegmentWriter::create(fs.clone(), Path::new("/d"), "big.strata", schema, opts).unwrap();
    let mut max_pending = 0;
    for b in 0..BATCHES {
        let start = b * ROWS;
        let ts: ArrayRef = Arc::new(Int64Array::from_iter_values(start..start + ROWS));
        let host: ArrayRef = Arc::new(StringArray::from_iter_values(
            (start..start + ROWS).map(|i| format!("host-{}", i % 17)),
        ));
        let v: ArrayRef = Arc::new(Float64Array::from_iter(
            (start..start + ROWS).map(|i| (i % 11 != 0).then_some(i as f64 * 0.25)),
        ));
        let batch = RecordBatch::try_new(arrow_schema.clone(), vec![ts, host, v]).unwrap();
        w.write_batch(&batch).unwrap();
        assert!(
            w.pending_rows() < block_rows,
            "after batch {b}: {} pending rows, block_rows {block_rows}",
            w.pending_rows()
        );
        max_pending = max_pending.max(w.pending_rows());
    }
    assert!(max_pending > 0, "some batch left a partial stripe");
    assert_eq!(w.rows(), (BATCHES * ROWS) as u64);
    let meta = w.finish().unwrap();
    assert_eq!(meta.rows, (BATCHES * ROWS) as u64);
    let segment = Segment::open(fs.as_ref(), &meta.path).unwrap();
    assert_eq!(
        segment.num_blocks(0),
        (BATCHES * ROWS) as usize / block_rows + 1
    );
    let last = segment.read_block(0, segment.num_blocks(0) - 1).unwrap();
    let last = last.as_any().downcast_ref::<Int64Array>().unwrap();
    assert_eq!(last.value(last.len() - 1), BATCHES * ROWS - 1);
}

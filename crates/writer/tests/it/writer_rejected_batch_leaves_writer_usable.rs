//! A batch the writer refuses — out of sort order, or not matching the schema (names, types,
//! nulls, column count) — is rejected before anything is buffered, the error says why (the row
//! for `NotSorted`), and the writer still finishes a correct segment from the good batches.

use crate::support;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType as ArrowType, Field as ArrowField, Schema as ArrowSchema};
use strata_format::{BlockOptions, DataType, Field, MemFs, Schema, Segment, SymbolAs};
use strata_writer::{SegmentWriter, WriterError, WriterOptions};

fn schema() -> Schema {
    Schema::new(vec![
        Field::new("ts", DataType::Int64, false),
        Field::new("host", DataType::Symbol, true),
        Field::new("v", DataType::Float64, false),
    ])
    .unwrap()
    .with_sort_key(["ts", "host"])
    .unwrap()
}

fn batch(ts: &[i64], host: &[Option<&str>], v: &[f64]) -> RecordBatch {
    RecordBatch::try_new(
        Arc::new(schema().to_arrow(SymbolAs::Utf8)),
        vec![
            Arc::new(Int64Array::from(ts.to_vec())),
            Arc::new(StringArray::from(host.to_vec())),
            Arc::new(Float64Array::from(v.to_vec())),
        ],
    )
    .unwrap()
}

fn writer(fs: &Arc<MemFs>) -> SegmentWriter {
    let opts = WriterOptions {
        block: BlockOptions {
            block_rows: 4,
            ..BlockOptions::default()
        },
        ..WriterOptions::default()
    };
    SegmentWriter::create(fs.clone(), Path::new("/d"), "s.strata", schema(), opts).unwrap()
}

fn finish_and_read(w: SegmentWriter, fs: &MemFs) -> RecordBatch {
    let meta = w.finish().unwrap();
    Segment::open(fs, &meta.path).unwrap().read_all().unwrap()
}

#[test]
fn writer_unsorted_batch_is_rejected_naming_the_row() {
    let fs = Arc::new(MemFs::new());
    let mut w = writer(&fs);
    let good1 = batch(&[1, 2, 3], &[Some("a"), Some("a"), Some("b")], &[0.0; 3]);
    w.write_batch(&good1).unwrap();

    // Row 3 + 2 of the stream goes back in time.
    let bad = batch(&[3, 4, 2, 5], &[Some("b"), None, None, None], &[0.0; 4]);
    match w.write_batch(&bad) {
        Err(e @ WriterError::NotSorted { row: 5, .. }) => {
            assert!(e.to_string().contains("row 5"), "{e}");
            assert!(e.to_string().contains("\"ts\", \"host\""), "{e}");
        }
        other => panic!("expected NotSorted at row 5, got {other:?}"),
    }
    // The second key column decides between equal timestamps: ("b" after "a") but not
    // ("a" after "b").
    let bad_tag = batch(&[3], &[Some("a")], &[0.0]);
    assert!(matches!(
        w.write_batch(&bad_tag),
        Err(WriterError::NotSorted { row: 3, .. })
    ));
    assert_eq!(w.rows(), 3);
    assert_eq!(w.pending_rows(), 3);

    // The rejected batches changed nothing: the stream continues from (3, "b").
    let good2 = batch(&[3, 7], &[Some("b"), None], &[1.0, 2.0]);
    w.write_batch(&good2).unwrap();
    let read = finish_and_read(w, &fs);
    let expected = arrow_select::concat::concat_batches(&good1.schema(), &[good1, good2]).unwrap();
    support::batches_equal(&read, &expected).unwrap();
}

#[test]
fn writer_unsorted_rows_inside_one_batch_are_rejected_naming_the_row() {
    let fs = Arc::new(MemFs::new());
    let mut w = writer(&fs);
    let bad = batch(
        &[5, 6, 6, 1],
        &[None, Some("x"), Some("x"), None],
        &[0.0; 4],
    );
    assert!(matches!(
        w.write_batch(&bad),
        Err(WriterError::NotSorted { row: 3, .. })
    ));
    // Null hosts sort first among equal timestamps.
    let good = batch(
        &[5, 6, 6, 6],
        &[None, None, Some("x"), Some("y")],
        &[0.0; 4],
    );
    w.write_batch(&good).unwrap();
    support::batches_equal(&finish_and_read(w, &fs), &good).unwrap();
}

#[test]
fn writer_schema_mismatched_batch_is_rejected_and_good_batches_finish() {
    let fs = Arc::new(MemFs::new());
    let mut w = writer(&fs);
    // Two rows wait in the partial stripe (block_rows is 4), so a bad batch would top it up.
    let good1 = batch(&[1, 2], &[Some("a"), None], &[0.5, 1.5]);
    w.write_batch(&good1).unwrap();
    assert_eq!(w.pending_rows(), 2);

    let fields = |v_type: ArrowType, v_name: &str| {
        Arc::new(ArrowSchema::new(vec![
            ArrowField::new("ts", ArrowType::Int64, false),
            ArrowField::new("host", ArrowType::Utf8, true),
            ArrowField::new(v_name, v_type, true),
        ]))
    };
    let ts: ArrayRef = Arc::new(Int64Array::from(vec![3, 4, 5]));
    let host: ArrayRef = Arc::new(StringArray::from(vec!["a", "b", "c"]));
    let wrong_type = RecordBatch::try_new(
        fields(ArrowType::Int32, "v"),
        vec![
            ts.clone(),
            host.clone(),
            Arc::new(Int32Array::from(vec![1, 2, 3])),
        ],
    )
    .unwrap();
    let wrong_name = RecordBatch::try_new(
        fields(ArrowType::Float64, "value"),
        vec![
            ts.clone(),
            host.clone(),
            Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0])),
        ],
    )
    .unwrap();
    let null_in_required = RecordBatch::try_new(
        fields(ArrowType::Float64, "v"),
        vec![
            ts.clone(),
            host.clone(),
            Arc::new(Float64Array::from(vec![Some(1.0), None, Some(3.0)])),
        ],
    )
    .unwrap();
    let too_few_columns = RecordBatch::try_new(
        Arc::new(ArrowSchema::new(vec![
            ArrowField::new("ts", ArrowType::Int64, false),
            ArrowField::new("host", ArrowType::Utf8, true),
        ])),
        vec![ts, host],
    )
    .unwrap();
    for (what, bad, mentions) in [
        ("wrong type", wrong_type, "Int32"),
        ("wrong name", wrong_name, "\"value\""),
        (
            "null in a non-nullable column",
            null_in_required,
            "not nullable",
        ),
        ("too few columns", too_few_columns, "2 columns"),
    ] {
        match w.write_batch(&bad) {
            Err(e @ WriterError::SchemaMismatch { .. }) => {
                assert!(e.to_string().contains(mentions), "{what}: {e}");
            }
            other => panic!("{what}: expected SchemaMismatch, got {other:?}"),
        }
        assert_eq!(w.rows(), 2, "{what}");
        assert_eq!(w.pending_rows(), 2, "{what}");
    }

    let good2 = batch(
        &[3, 4, 5, 6, 7],
        &[Some("b"), Some("b"), None, Some("c"), Some("d")],
        &[2.5, 3.5, 4.5, 5.5, f64::NAN],
    );
    w.write_batch(&good2).unwrap();
    let read = finish_and_read(w, &fs);
    let expected = arrow_select::concat::concat_batches(&good1.schema(), &[good1, good2]).unwrap();
    support::batches_equal(&read, &expected).unwrap();
}

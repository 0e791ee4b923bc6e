//! `write_drained` of a memtable whose symbol column fell back to plain strings (past the
//! cardinality limit), next to one that stayed a dictionary, reads back the same values.

use crate::support;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::DataType as ArrowType;
use strata_format::{DataType, Field, MemFs, Schema, Segment, SymbolAs};
use strata_memtable::{Memtable, MemtableOptions, SymbolEncoding};
use strata_writer::{WriterOptions, write_drained};

#[test]
fn write_drained_symbol_fallback_reads_back_same_values() {
    let schema = Schema::new(vec![
        Field::new("ts", DataType::Int64, false),
        Field::new("wide", DataType::Symbol, true),
        Field::new("narrow", DataType::Symbol, true),
    ])
    .unwrap()
    .with_sort_key(["wide", "ts"])
    .unwrap();
    let mut memtable = Memtable::new(
        Arc::new(schema.clone()),
        MemtableOptions {
            symbol_cardinality_limit: 8,
            ..MemtableOptions::default()
        },
    )
    .unwrap();
    let arrow_schema = Arc::new(schema.to_arrow(SymbolAs::Utf8));
    for b in 0..5i64 {
        let ts: ArrayRef = Arc::new(Int64Array::from_iter_values((0..300).map(|i| 1000 - i - b)));
        let wide: ArrayRef =
            Arc::new(StringArray::from_iter((0..300).map(|i| {
                (i % 7 != 3).then(|| format!("user-{}", (i * 31 + b) % 97))
            })));
        let narrow: ArrayRef =
            Arc::new(StringArray::from_iter((0..300).map(|i| {
                (i % 5 != 0).then(|| ["eu", "us", "ap"][(i % 3) as usize])
            })));
        let batch = RecordBatch::try_new(arrow_schema.clone(), vec![ts, wide, narrow]).unwrap();
        memtable.append(&batch).unwrap();
    }
    assert_eq!(
        memtable.symbol_encoding("wide"),
        Some(SymbolEncoding::Plain)
    );
    assert!(matches!(
        memtable.symbol_encoding("narrow"),
        Some(SymbolEncoding::Dictionary { distinct: 3 })
    ));
    let drained = memtable.drain().unwrap().unwrap();
    assert_eq!(drained.batch.column(1).data_type(), &ArrowType::Utf8);
    assert!(matches!(
        drained.batch.column(2).data_type(),
        ArrowType::Dictionary(..)
    ));

    let fs = Arc::new(MemFs::new());
    let meta = write_drained(
        fs.clone(),
        Path::new("/d"),
        "drained.strata",
        schema.clone(),
        &drained,
        WriterOptions::default(),
    )
    .unwrap();
    assert_eq!(meta.rows, drained.rows as u64);
    let segment = Segment::open(fs.as_ref(), &meta.path).unwrap();
    assert_eq!(
        segment.schema(),
        &schema,
        "both columns are stored as symbols"
    );
    // Read back as dictionaries and as plain strings: the same values either way.
    let as_dictionary = segment.read_all().unwrap();
    support::batches_equal(&as_dictionary, &drained.batch).unwrap();
    let as_utf8 = segment.with_symbol_as(SymbolAs::Utf8).read_all().unwrap();
    assert_eq!(as_utf8.column(1), drained.batch.column(1));
    support::batches_equal(&as_utf8, &drained.batch).unwrap();
    // The wide column's segment dictionary holds every distinct value exactly once.
    let reopened = Segment::open(fs.as_ref(), &meta.path).unwrap();
    let dictionary = reopened.footer().columns[1].dictionary.as_ref().unwrap();
    assert_eq!(dictionary.len(), 97);
}

//! Drain sorts by the sort key, nulls first, and rows with equal keys keep their arrival order;
//! checked against a `Vec` of rows sorted with a stable sort. Snapshots taken between appends
//! keep showing exactly the rows they were taken with, in arrival order.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray, UInt64Array};
use arrow_cast::cast;
use arrow_schema::{DataType as ArrowType, Field as ArrowField, Schema as ArrowSchema};
use proptest::prelude::*;
use strata_format::{DataType, Field, Schema};
use strata_memtable::{Memtable, MemtableOptions};

type Row = (Option<i64>, Option<String>, u64);

fn memtable(sort_key: &[&str], cardinality: usize) -> Memtable {
    let schema = Schema::new(vec![
        Field::new("k1", DataType::Int64, true),
        Field::new("k2", DataType::Symbol, true),
        Field::new("seq", DataType::UInt64, false),
    ])
    .unwrap()
    .with_sort_key(sort_key.iter().copied())
    .unwrap();
    let options = MemtableOptions {
        symbol_cardinality_limit: cardinality,
        ..MemtableOptions::default()
    };
    Memtable::new(Arc::new(schema), options).unwrap()
}

fn batch(rows: &[Row]) -> RecordBatch {
    let k1: ArrayRef = Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.0)));
    let k2: ArrayRef = Arc::new(StringArray::from_iter(rows.iter().map(|r| r.1.as_deref())));
    let seq: ArrayRef = Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.2)));
    let schema = ArrowSchema::new(vec![
        ArrowField::new("k1", ArrowType::Int64, true),
        ArrowField::new("k2", ArrowType::Utf8, true),
        ArrowField::new("seq", ArrowType::UInt64, false),
    ]);
    RecordBatch::try_new(Arc::new(schema), vec![k1, k2, seq]).unwrap()
}

/// Reads rows back from a drained batch (k2 may be a dictionary or plain strings).
fn rows_of(b: &RecordBatch) -> Vec<Row> {
    let k1 = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
    let k2 = cast(b.column(1), &ArrowType::Utf8).unwrap();
    let k2 = k2.as_any().downcast_ref::<StringArray>().unwrap();
    let seq = b.column(2).as_any().downcast_ref::<UInt64Array>().unwrap();
    (0..b.num_rows())
        .map(|i| {
            (
                k1.is_valid(i).then(|| k1.value(i)),
                k2.is_valid(i).then(|| k2.value(i).to_string()),
                seq.value(i),
            )
        })
        .collect()
}

fn row_strategy() -> impl Strategy<Value = (Option<i64>, Option<String>)> {
    (
        prop::option::weighted(0.8, -3i64..3),
        prop::option::weighted(
            0.8,
            prop::sample::select(vec!["a", "b", "bb", "c", "é", ""]),
        ),
    )
        .prop_map(|(a, b)| (a, b.map(str::to_string)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn drain_matches_a_stable_sort_of_the_rows(
        batches in prop::collection::vec(prop::collection::vec(row_strategy(), 0..40), 1..5),
        key_order in prop::sample::select(vec![vec!["k1", "k2"], vec!["k2", "k1"], vec!["k2"], vec!["k1"]]),
        cardinality in 1usize..8,
    ) {
        let mut m = memtable(&key_order, cardinality);
        let mut oracle: Vec<Row> = Vec::new();
        // Views taken after each append, with the rows they must show (arrival order).
        let mut views = Vec::new();
        for rows in &batches {
            let rows: Vec<Row> = rows
                .iter()
                .map(|(a, b)| (*a, b.clone(), oracle.len() as u64))
                .enumerate()
                .map(|(i, (a, b, s))| (a, b, s + i as u64))
                .collect();
            m.append(&batch(&rows)).unwrap();
            oracle.extend(rows);
            views.push((m.snapshot(), oracle.clone()));
        }
        let key = |r: &Row| -> (Option<i64>, Option<String>, Option<i64>) {
            // Option's order puts None first, as the memtable puts nulls first.
            match key_order.as_slice() {
                ["k1", "k2"] => (r.0, r.1.clone(), None),
                ["k2", "k1"] => (None, r.1.clone(), r.0),
                ["k2"] => (None, r.1.clone(), None),
                _ => (r.0, None, None),
            }
        };
        oracle.sort_by_key(key); // stable
        let drained = m.drain().unwrap();
        if oracle.is_empty() {
            prop_assert!(drained.is_none());
            return Ok(());
        }
        let drained = drained.unwrap();
        prop_assert_eq!(drained.rows, oracle.len());
        prop_assert_eq!(rows_of(&drained.batch), oracle.clone());

        let range = drained.key_range.unwrap();
        let names: Vec<String> =
            range.first.schema().fields().iter().map(|f| f.name().clone()).collect();
        prop_assert_eq!(names, key_order.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let first_row = drained.batch.slice(0, 1);
        let last_row = drained.batch.slice(oracle.len() - 1, 1);
        for (i, name) in key_order.iter().enumerate() {
            prop_assert_eq!(range.first.column(i), first_row.column_by_name(name).unwrap());
            prop_assert_eq!(range.last.column(i), last_row.column_by_name(name).unwrap());
        }
        prop_assert!(m.is_empty());
        prop_assert_eq!(m.memory_bytes(), 0);
        // Later appends, fallbacks to plain strings and the drain left every view as taken.
        for (view, rows) in views {
            prop_assert_eq!(view.rows(), rows.len());
            match view.to_batch().unwrap() {
                None => prop_assert!(rows.is_empty()),
                Some(b) => {
                    let schema = b.schema();
                    prop_assert_eq!(schema.field(1).data_type(), &ArrowType::Utf8);
                    prop_assert_eq!(rows_of(&b), rows);
                }
            }
        }
    }
}

#[test]
fn without_a_sort_key_rows_drain_in_arrival_order() {
    let schema = Schema::new(vec![
        Field::new("k1", DataType::Int64, true),
        Field::new("k2", DataType::Symbol, true),
        Field::new("seq", DataType::UInt64, false),
    ])
    .unwrap();
    let mut m = Memtable::new(Arc::new(schema), MemtableOptions::default()).unwrap();
    let first: Vec<Row> = vec![(Some(9), Some("z".into()), 0), (None, None, 1)];
    let second: Vec<Row> = vec![(Some(-1), Some("a".into()), 2)];
    m.append(&batch(&first)).unwrap();
    m.append(&batch(&second)).unwrap();
    let d = m.drain().unwrap().unwrap();
    assert!(d.key_range.is_none());
    assert_eq!(rows_of(&d.batch), [first, second].concat());
}

#[test]
fn empty_memtable_drains_to_none_and_stays_usable() {
    let mut m = memtable(&["k1"], 4);
    assert!(m.drain().unwrap().is_none());
    m.append(&batch(&[])).unwrap();
    assert!(m.is_empty());
    assert!(m.drain().unwrap().is_none());
    m.append(&batch(&[(Some(2), None, 0), (Some(1), None, 1)]))
        .unwrap();
    let d = m.drain().unwrap().unwrap();
    assert_eq!(
        rows_of(&d.batch),
        vec![(Some(1), None, 1), (Some(2), None, 0)]
    );
    let schema = d.batch.schema();
    assert_eq!(
        schema.field(1).data_type(),
        &ArrowType::Dictionary(Box::new(ArrowType::Int32), Box::new(ArrowType::Utf8))
    );
    assert_eq!(
        schema.metadata().get("strata.sort_key").map(String::as_str),
        Some("k1")
    );
}

//! A batch that fails at row k of column j leaves rows, memory accounting, symbol dictionaries
//! and the next drain exactly as they were.

use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, Float32Array, Int64Array, LargeStringArray, RecordBatch, StringArray,
};
use arrow_schema::{DataType as ArrowType, Field as ArrowField, Schema as ArrowSchema};
use proptest::prelude::*;
use strata_format::{DataType, Field, Schema};
use strata_memtable::{Memtable, MemtableError, MemtableOptions, SymbolEncoding};

/// The non-nullable columns a batch can fail in, in schema order, then a nullable one.
const COLUMNS: [&str; 4] = ["id", "host", "msg", "value"];

fn memtable() -> Memtable {
    let schema = Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("host", DataType::Symbol, false),
        Field::new("msg", DataType::Utf8, false),
        Field::new("value", DataType::Float64, false),
        Field::new("note", DataType::Utf8, true),
    ])
    .unwrap()
    .with_sort_key(["host", "id"])
    .unwrap();
    let options = MemtableOptions {
        symbol_cardinality_limit: 8,
        ..MemtableOptions::default()
    };
    Memtable::new(Arc::new(schema), options).unwrap()
}

/// A batch whose `host` values come from `hosts`; when `null_at = Some((j, k))` column `j` is
/// null at row `k` (and only there).
fn batch(ids: &[i64], hosts: &[String], null_at: Option<(usize, usize)>) -> RecordBatch {
    let null = |j: usize, row: usize| null_at == Some((j, row));
    let id: ArrayRef = Arc::new(Int64Array::from_iter(
        ids.iter()
            .enumerate()
            .map(|(r, v)| (!null(0, r)).then_some(*v)),
    ));
    let host: ArrayRef = Arc::new(StringArray::from_iter(
        hosts
            .iter()
            .enumerate()
            .map(|(r, h)| (!null(1, r)).then_some(h.as_str())),
    ));
    let msg: ArrayRef = Arc::new(LargeStringArray::from_iter(
        ids.iter()
            .enumerate()
            .map(|(r, v)| (!null(2, r)).then(|| format!("m{v}"))),
    ));
    let value: ArrayRef = Arc::new(Float32Array::from_iter(
        ids.iter()
            .enumerate()
            .map(|(r, v)| (!null(3, r)).then_some(*v as f32 * 0.5)),
    ));
    let schema = ArrowSchema::new(vec![
        ArrowField::new("id", ArrowType::Int64, true),
        ArrowField::new("host", ArrowType::Utf8, true),
        ArrowField::new("msg", ArrowType::LargeUtf8, true),
        ArrowField::new("value", ArrowType::Float32, true),
    ]);
    RecordBatch::try_new(Arc::new(schema), vec![id, host, msg, value]).unwrap()
}

fn good_batch(ids: &[i64]) -> RecordBatch {
    let hosts: Vec<String> = ids
        .iter()
        .map(|v| format!("h{}", v.rem_euclid(3)))
        .collect();
    batch(ids, &hosts, None)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn failing_batch_at_row_k_of_column_j_changes_nothing(
        before in prop::collection::vec(prop::collection::vec(-50i64..50, 1..20), 0..3),
        after in prop::collection::vec(-50i64..50, 1..20),
        bad_ids in prop::collection::vec(-50i64..50, 1..40),
        k_seed in any::<usize>(),
        j in 0usize..COLUMNS.len(),
    ) {
        let k = k_seed % bad_ids.len();
        // Every row of the bad batch brings a new host, so columns staged before the failing
        // one grow the dictionary and, past 8 values, stage a fallback to plain strings.
        let bad_hosts: Vec<String> = (0..bad_ids.len()).map(|i| format!("new-{i}")).collect();
        let bad = batch(&bad_ids, &bad_hosts, Some((j, k)));

        let mut hit = memtable();
        let mut clean = memtable();
        for ids in &before {
            hit.append(&good_batch(ids)).unwrap();
            clean.append(&good_batch(ids)).unwrap();
        }
        let (rows, bytes, encoding) =
            (hit.rows(), hit.memory_bytes(), hit.symbol_encoding("host"));

        match hit.append(&bad) {
            Err(MemtableError::NullInNonNullable { column, row }) => {
                prop_assert_eq!(column, COLUMNS[j]);
                prop_assert_eq!(row, k);
            }
            other => prop_assert!(false, "expected NullInNonNullable, got {:?}", other),
        }
        prop_assert_eq!(hit.rows(), rows);
        prop_assert_eq!(hit.memory_bytes(), bytes);
        prop_assert_eq!(hit.symbol_encoding("host"), encoding);
        prop_assert_eq!(encoding, Some(SymbolEncoding::Dictionary {
            distinct: if before.is_empty() { 0 } else {
                let mut hs: Vec<i64> = before.concat().iter().map(|v| v.rem_euclid(3)).collect();
                hs.sort_unstable();
                hs.dedup();
                hs.len()
            }
        }));

        let a = hit.append(&good_batch(&after)).unwrap();
        let b = clean.append(&good_batch(&after)).unwrap();
        prop_assert_eq!(a, b);
        prop_assert_eq!(hit.drain().unwrap(), clean.drain().unwrap());
    }
}

#[test]
fn type_mismatch_in_a_later_column_changes_nothing() {
    let mut m = memtable();
    m.append(&good_batch(&[1, 2, 3])).unwrap();
    let (rows, bytes) = (m.rows(), m.memory_bytes());
    let hosts: Vec<String> = (0..20).map(|i| format!("x{i}")).collect();
    let good = batch(&(0..20).collect::<Vec<_>>(), &hosts, None);
    // Same batch, but `value` arrives as Utf8.
    let mut columns = good.columns().to_vec();
    columns[3] = Arc::new(StringArray::from(vec!["1.0"; 20]));
    let mut fields: Vec<ArrowField> = good
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields[3] = ArrowField::new("value", ArrowType::Utf8, true);
    let bad = RecordBatch::try_new(Arc::new(ArrowSchema::new(fields)), columns).unwrap();
    let err = m.append(&bad).unwrap_err();
    assert!(
        matches!(&err, MemtableError::SchemaMismatch { column, .. } if column == "value"),
        "{err}"
    );
    assert_eq!((m.rows(), m.memory_bytes()), (rows, bytes));
    assert_eq!(
        m.symbol_encoding("host"),
        Some(SymbolEncoding::Dictionary { distinct: 3 })
    );
}

#[test]
fn unknown_missing_and_duplicate_columns_change_nothing() {
    let mut m = memtable();
    m.append(&good_batch(&[5])).unwrap();
    let (rows, bytes) = (m.rows(), m.memory_bytes());
    let good = good_batch(&[1, 2]);

    let mut fields: Vec<ArrowField> = good
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    let mut columns = good.columns().to_vec();
    fields.push(ArrowField::new("extra", ArrowType::Int64, true));
    columns.push(Arc::new(Int64Array::from(vec![1, 2])));
    let unknown = RecordBatch::try_new(Arc::new(ArrowSchema::new(fields)), columns).unwrap();
    assert!(matches!(
        m.append(&unknown),
        Err(MemtableError::UnknownColumn { column }) if column == "extra"
    ));

    let missing = good.project(&[0, 1, 3]).unwrap();
    assert!(matches!(
        m.append(&missing),
        Err(MemtableError::MissingColumn { column }) if column == "msg"
    ));

    let duplicate = RecordBatch::try_new(
        Arc::new(ArrowSchema::new(vec![
            ArrowField::new("id", ArrowType::Int64, false),
            ArrowField::new("id", ArrowType::Int64, false),
        ])),
        vec![
            Arc::new(Int64Array::from(vec![1])),
            Arc::new(Int64Array::from(vec![2])),
        ],
    )
    .unwrap();
    assert!(matches!(
        m.append(&duplicate),
        Err(MemtableError::DuplicateColumn { column }) if column == "id"
    ));
    assert_eq!((m.rows(), m.memory_bytes()), (rows, bytes));
}

#[test]
fn missing_nullable_column_is_filled_with_nulls() {
    let mut m = memtable();
    m.append(&good_batch(&[1, 2])).unwrap();
    let d = m.drain().unwrap().unwrap();
    let note = d.batch.column_by_name("note").unwrap();
    assert_eq!(note.len(), 2);
    assert_eq!(note.null_count(), 2);
}

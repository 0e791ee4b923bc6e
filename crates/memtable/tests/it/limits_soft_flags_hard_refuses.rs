//! Memory is accounted in bytes: the soft limit asks for a flush, the hard limit refuses the
//! whole batch with a typed backpressure error and changes nothing.

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch};
use arrow_schema::{DataType as ArrowType, Field as ArrowField, Schema as ArrowSchema};
use strata_format::{DataType, Field, Schema};
use strata_memtable::{Memtable, MemtableError, MemtableOptions};

fn memtable(soft: usize, hard: usize) -> Memtable {
    let schema = Schema::new(vec![Field::new("v", DataType::Int64, false)])
        .unwrap()
        .with_sort_key(["v"])
        .unwrap();
    let options = MemtableOptions {
        soft_limit_bytes: soft,
        hard_limit_bytes: hard,
        ..MemtableOptions::default()
    };
    Memtable::new(Arc::new(schema), options).unwrap()
}

/// `n` non-null Int64 values: accounted as exactly `8 * n` bytes.
fn batch(n: i64) -> RecordBatch {
    let schema = ArrowSchema::new(vec![ArrowField::new("v", ArrowType::Int64, false)]);
    let col: ArrayRef = Arc::new(Int64Array::from_iter_values(0..n));
    RecordBatch::try_new(Arc::new(schema), vec![col]).unwrap()
}

#[test]
fn soft_limit_flags_a_flush_but_accepts_writes() {
    let mut m = memtable(1000, 10_000);
    let a = m.append(&batch(100)).unwrap();
    assert_eq!((a.rows, a.memory_bytes, a.should_flush), (100, 800, false));
    assert!(!m.should_flush());
    let b = m.append(&batch(25)).unwrap();
    assert_eq!((b.rows, b.memory_bytes, b.should_flush), (25, 1000, true));
    let c = m.append(&batch(1)).unwrap();
    assert!(c.should_flush);
    assert_eq!(m.rows(), 126);
}

#[test]
fn hard_limit_refuses_the_whole_batch_and_changes_nothing() {
    let mut m = memtable(1000, 2000);
    m.append(&batch(100)).unwrap();
    m.append(&batch(100)).unwrap();
    assert_eq!(m.memory_bytes(), 1600);
    match m.append(&batch(100)) {
        Err(MemtableError::Backpressure {
            current,
            incoming,
            limit,
        }) => assert_eq!((current, incoming, limit), (1600, 800, 2000)),
        other => panic!("expected backpressure, got {other:?}"),
    }
    assert_eq!((m.rows(), m.memory_bytes()), (200, 1600));
    // Exactly reaching the hard limit is allowed.
    m.append(&batch(50)).unwrap();
    assert_eq!(m.memory_bytes(), 2000);
    assert!(matches!(
        m.append(&batch(1)),
        Err(MemtableError::Backpressure { .. })
    ));
    // Draining releases everything and writes are accepted again.
    let d = m.drain().unwrap().unwrap();
    assert_eq!(d.rows, 250);
    assert_eq!((m.rows(), m.memory_bytes()), (0, 0));
    m.append(&batch(100)).unwrap();
    assert_eq!(m.memory_bytes(), 800);
}

#[test]
fn a_batch_larger_than_the_hard_limit_is_refused_even_when_empty() {
    let mut m = memtable(100, 100);
    let err = m.append(&batch(13)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "backpressure: memtable holds 0 bytes, the batch needs 104 more, hard limit is 100"
    );
    assert!(m.is_empty());
}

#[test]
fn a_small_slice_of_a_large_batch_is_accounted_and_kept_at_its_own_size() {
    let mut m = memtable(1 << 20, 1 << 30);
    let big = batch(1_000_000);
    m.append(&big.slice(500, 10)).unwrap();
    assert_eq!(m.memory_bytes(), 80);
    drop(big);
    let d = m.drain().unwrap().unwrap();
    let v = d
        .batch
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    assert_eq!(v.values(), &(500..510).collect::<Vec<i64>>());
}

#[test]
fn soft_limit_above_hard_limit_is_a_configuration_error() {
    let schema = Schema::new(vec![Field::new("v", DataType::Int64, false)]).unwrap();
    let options = MemtableOptions {
        soft_limit_bytes: 2,
        hard_limit_bytes: 1,
        ..MemtableOptions::default()
    };
    assert!(matches!(
        Memtable::new(Arc::new(schema), options),
        Err(MemtableError::InvalidConfig(_))
    ));
}

#[test]
fn default_options_are_documented_values() {
    let o = MemtableOptions::default();
    assert_eq!(o.soft_limit_bytes, 64 << 20);
    assert_eq!(o.hard_limit_bytes, 256 << 20);
    assert_eq!(o.symbol_cardinality_limit, 65_536);
}

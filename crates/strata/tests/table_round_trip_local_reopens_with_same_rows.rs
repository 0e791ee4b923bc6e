//! A table on the local filesystem: writes, flushes across day partitions, deletes (buffered
//! rows included), filtered and projected scans, close, and reopen with log replay.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use strata::{Durability, Table, TableError, TableOptions};

#[test]
fn write_flush_delete_scan_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t");
    let table = Table::create(&path, config(), TableOptions::default()).unwrap();
    table.write(&batch(0, 500)).unwrap();
    let flushed = table.flush().unwrap();
    assert_eq!(flushed.rows, 500);
    // Ids spread over three days: one segment per day partition.
    assert_eq!(flushed.segments.len(), 3);
    table.write(&batch(500, 500)).unwrap();
    assert_eq!(table.buffered_rows(), 500);

    // Delete sees buffered rows too (it flushes first).
    let deleted = table.delete("id >= 900").unwrap();
    assert_eq!(deleted, 100);
    let got = ids(&table);
    assert_eq!(got.len(), 900);
    assert!(got.values().all(|&c| c == 1));
    assert_eq!(*got.keys().next_back().unwrap(), 899);

    // Filter and projection.
    let mut rows = 0;
    let mut scan = table
        .scan()
        .filter("host = 'a' AND id < 300")
        .columns(["id", "host"])
        .batch_size(64)
        .execute()
        .unwrap();
    for b in scan.by_ref() {
        let b = b.unwrap();
        assert!(b.num_rows() <= 64);
        assert_eq!(b.num_columns(), 2);
        rows += b.num_rows();
    }
    assert_eq!(rows, 100);
    assert!(scan.stats().rows_matched >= 100);

    table.write(&batch(1000, 10)).unwrap();
    table.close().unwrap();
    assert!(matches!(table.write(&batch(0, 1)), Err(TableError::Closed)));
    assert!(!path.join(strata::LOCK_FILE).exists());
    drop(table);

    let (table, report) = Table::open(&path, TableOptions::default()).unwrap();
    assert_eq!(report.wal_rows_replayed, 0, "close flushed everything");
    assert_eq!(ids(&table).len(), 910);
}

#[test]
fn unflushed_rows_come_back_from_the_log_after_drop() {
    let dir = tempfile::tempdir().unwrap();
    let table = Table::create(dir.path(), config(), TableOptions::default()).unwrap();
    table.write(&batch(0, 100)).unwrap();
    table.flush().unwrap();
    table.write(&batch(100, 50)).unwrap();
    drop(table); // no close: the 50 rows are only in the log
    let (table, report) = Table::open(dir.path(), TableOptions::default()).unwrap();
    assert_eq!(report.wal_rows_replayed, 50);
    let got = ids(&table);
    assert_eq!(got.len(), 150);
    assert!(got.values().all(|&c| c == 1));
}

#[test]
fn durability_none_loses_unflushed_rows_only() {
    let dir = tempfile::tempdir().unwrap();
    let opts = || TableOptions::default().durability(Durability::None);
    let table = Table::create(dir.path(), config(), opts()).unwrap();
    table.write(&batch(0, 100)).unwrap();
    table.flush().unwrap();
    table.write(&batch(100, 50)).unwrap();
    drop(table);
    let (table, report) = Table::open(dir.path(), opts()).unwrap();
    assert_eq!(report.wal_rows_replayed, 0);
    assert_eq!(ids(&table).len(), 100);
}

#[test]
fn refused_batch_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let table = Table::create(dir.path(), config(), TableOptions::default()).unwrap();
    table.write(&batch(0, 10)).unwrap();
    let bad = arrow_array::RecordBatch::try_from_iter([(
        "nope",
        std::sync::Arc::new(arrow_array::Int64Array::from(vec![1])) as arrow_array::ArrayRef,
    )])
    .unwrap();
    assert!(matches!(table.write(&bad), Err(TableError::Memtable(_))));
    table.write(&batch(10, 10)).unwrap();
    drop(table);
    let (table, report) = Table::open(dir.path(), TableOptions::default()).unwrap();
    assert_eq!(report.wal_rows_replayed, 20);
    assert_eq!(ids(&table).len(), 20);
}

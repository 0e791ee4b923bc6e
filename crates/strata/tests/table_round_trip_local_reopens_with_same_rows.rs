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

#[test]
fn scans_read_the_write_buffer_with_filters_and_snapshots_stay_put() {
    let fs = strata::FaultFs::new();
    let opts = TableOptions::with_fs(std::sync::Arc::new(fs)).background_compaction(false);
    let table = Table::create("/t", config(), opts).unwrap();
    table.write(&batch(0, 300)).unwrap();
    table.flush().unwrap();
    table.write(&batch(300, 150)).unwrap();
    assert_eq!(table.buffered_rows(), 150);

    // No flush: the scan reads segments and buffer alike.
    let snap = table.snapshot().unwrap();
    assert_eq!(snap.live_rows(), 450);
    assert_eq!(snap.buffered_rows(), 150);
    table.write(&batch(450, 50)).unwrap();
    table.delete("id < 10").unwrap();
    assert_eq!(table.buffered_rows(), 0, "delete flushed the buffer");

    // The snapshot still reads 450 rows, the delete and the later write unseen.
    let ids_of = |scan: strata::TableScan| {
        let mut out = Vec::new();
        for b in scan {
            let b = b.unwrap();
            let col = b
                .column_by_name("id")
                .unwrap()
                .as_any()
                .downcast_ref::<arrow_array::Int64Array>()
                .unwrap()
                .clone();
            out.extend(col.values().iter().copied());
        }
        out.sort_unstable();
        out
    };
    assert_eq!(
        ids_of(snap.scan().execute().unwrap()),
        (0..450).collect::<Vec<_>>()
    );
    // Filter, projection and batch size apply to buffered rows too (host 'b' is id % 3 == 1).
    let mut scan = snap
        .scan()
        .filter("host = 'b' AND id >= 280")
        .columns(["id"])
        .batch_size(7)
        .execute()
        .unwrap();
    let mut got = Vec::new();
    for b in scan.by_ref() {
        let b = b.unwrap();
        assert!(b.num_rows() <= 7);
        assert_eq!(b.num_columns(), 1);
        got.extend(
            b.column(0)
                .as_any()
                .downcast_ref::<arrow_array::Int64Array>()
                .unwrap()
                .values()
                .iter()
                .copied(),
        );
    }
    got.sort_unstable();
    let want: Vec<i64> = (280..450).filter(|i| i % 3 == 1).collect();
    assert_eq!(got, want);
    assert_eq!(scan.stats().rows_matched, want.len() as u64);
    // The table now: 500 written, 10 deleted.
    assert_eq!(ids(&table).len(), 490);
}

#[test]
fn last_write_wins_keeps_the_latest_row_per_key_after_compaction() {
    use std::sync::Arc;

    use arrow_array::{
        Float64Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray,
    };
    use strata::{CompactionOptions, DuplicatePolicy};

    let row = |ts: i64, id: i64, cpu: f64| {
        RecordBatch::try_new(
            Arc::new(schema().to_arrow(strata::SymbolAs::Utf8)),
            vec![
                Arc::new(TimestampMillisecondArray::from(vec![ts])),
                Arc::new(StringArray::from(vec!["a"])),
                Arc::new(Int64Array::from(vec![id])),
                Arc::new(Float64Array::from(vec![cpu])),
            ],
        )
        .unwrap()
    };
    let opts = TableOptions {
        compaction: CompactionOptions {
            background: false,
            duplicates: DuplicatePolicy::LastWriteWins,
            ..CompactionOptions::default()
        },
        ..TableOptions::with_fs(Arc::new(strata::FaultFs::new()))
    };
    let table = Table::create("/t", config(), opts).unwrap();
    table.write(&row(1_000, 1, 0.1)).unwrap();
    table.write(&row(2_000, 2, 0.2)).unwrap();
    table.flush().unwrap();
    table.write(&row(1_000, 3, 0.3)).unwrap(); // same key (host a, ts 1000), written later
    table.flush().unwrap();
    assert_eq!(
        ids(&table).len(),
        3,
        "before a merge every written row is visible"
    );
    let cycles = table.compact_now().unwrap();
    assert_eq!(cycles.len(), 1);
    assert_eq!(cycles[0].rows_out, 2);
    let got = ids(&table);
    assert_eq!(got.keys().copied().collect::<Vec<_>>(), vec![2, 3]);
}

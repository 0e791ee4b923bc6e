//! A table on the local filesystem: writes, flushes across day partitions, deletes (buffered
//! rows included), filtered and projected scans, close, and reopen with log replay.

use crate::common::*;
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

/// Options with no background compaction, on the in-memory filesystem `fs`.
fn manual_options(fs: &std::sync::Arc<strata::FaultFs>) -> TableOptions {
    TableOptions {
        compaction: strata::CompactionOptions {
            background: false,
            ..strata::CompactionOptions::default()
        },
        ..TableOptions::with_fs(fs.clone())
    }
}

/// Every value of the Int64 column `col` of a scan, in the order the scan returns them.
fn column_in_order(scan: &mut strata::TableScan, col: &str) -> Vec<i64> {
    let mut out = Vec::new();
    for b in scan {
        let b = b.unwrap();
        let c = b
            .column_by_name(col)
            .unwrap()
            .as_any()
            .downcast_ref::<arrow_array::Int64Array>()
            .unwrap()
            .clone();
        out.extend(c.values().iter().copied());
    }
    out
}

#[test]
fn table_without_time_column_keeps_insertion_order_through_deletes_compaction_and_reopen() {
    use std::sync::Arc;

    use arrow_array::{Int64Array, RecordBatch, StringArray};
    use strata::{DataType, Field, Partitioning, Schema, TableConfig};

    let schema = Schema::new(vec![
        Field::new("country", DataType::Utf8, false),
        Field::new("year", DataType::Int64, false),
        Field::new("value", DataType::Int64, true),
    ])
    .unwrap();
    // No sort key was asked for: rows stay in the order they were written.
    assert!(schema.sort_key.is_empty());
    let config = TableConfig::without_time(schema.clone()).unwrap();
    assert_eq!(config.partitioning, Partitioning::None);
    assert!(TableConfig::new(schema.clone(), "year", Partitioning::Day).is_ok());
    let arrow = Arc::new(schema.to_arrow(strata::SymbolAs::Utf8));
    // Values descend, so any sort would show.
    let batch = |first: i64, n: i64| {
        let v: Vec<i64> = (first..first + n).map(|i| 10_000 - i).collect();
        RecordBatch::try_new(
            Arc::clone(&arrow),
            vec![
                Arc::new(StringArray::from(
                    v.iter()
                        .map(|i| ["ch", "at", "de"][i.rem_euclid(3) as usize])
                        .collect::<Vec<_>>(),
                )),
                Arc::new(Int64Array::from(
                    v.iter().map(|i| 2000 + i % 20).collect::<Vec<_>>(),
                )),
                Arc::new(Int64Array::from(v.clone())),
            ],
        )
        .unwrap()
    };
    let path = "/t";
    let fs = Arc::new(strata::FaultFs::new());
    let table = Table::create(path, config, manual_options(&fs)).unwrap();
    let mut want: Vec<i64> = Vec::new();
    for k in 0..4 {
        table.write(&batch(k * 2500, 2500)).unwrap();
        want.extend((k * 2500..(k + 1) * 2500).map(|i| 10_000 - i));
        table.flush().unwrap();
    }
    let state = table.state();
    assert_eq!(
        state.partitions.len(),
        1,
        "one partition for a table without time"
    );
    assert_eq!(state.segments().count(), 4);
    assert_eq!(
        column_in_order(&mut table.scan().execute().unwrap(), "value"),
        want
    );

    // Deletes, then a merge of the four segments: still in insertion order.
    assert_eq!(table.delete("value < 1000").unwrap(), 999);
    want.retain(|v| *v >= 1000);
    let cycles = table.compact_now().unwrap();
    assert!(!cycles.is_empty());
    assert_eq!(table.state().segments().count(), 1);
    assert_eq!(
        column_in_order(&mut table.scan().execute().unwrap(), "value"),
        want
    );

    // Zone maps prune on any column: one block range of 1024 rows holds values above 9000.
    let mut scan = table.scan().filter("value > 9000").execute().unwrap();
    let got = column_in_order(&mut scan, "value");
    assert_eq!(
        got,
        want.iter()
            .copied()
            .filter(|v| *v > 9000)
            .collect::<Vec<_>>()
    );
    let stats = scan.stats();
    assert!(stats.blocks_pruned > 0, "{stats:?}");

    // Buffered rows join the end; a reopen replays them from the log.
    table.write(&batch(20_000, 10)).unwrap();
    want.extend((20_000..20_010).map(|i| 10_000 - i));
    drop(table);
    let (table, _) = Table::open(path, manual_options(&fs)).unwrap();
    assert_eq!(
        column_in_order(&mut table.scan().execute().unwrap(), "value"),
        want
    );
}

/// Rows of the common schema with ids `first..first + ts.len()` at the given times.
fn rows_at(first: i64, ts: &[i64]) -> arrow_array::RecordBatch {
    use std::sync::Arc;

    use arrow_array::{
        Float64Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray,
    };
    let n = ts.len() as i64;
    RecordBatch::try_new(
        Arc::new(schema().to_arrow(strata::SymbolAs::Utf8)),
        vec![
            Arc::new(TimestampMillisecondArray::from(ts.to_vec())),
            Arc::new(StringArray::from(vec!["a"; ts.len()])),
            Arc::new(Int64Array::from((first..first + n).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(vec![0.5; ts.len()])),
        ],
    )
    .unwrap()
}

#[test]
fn slow_day_partitions_roll_up_into_months_and_keep_every_row() {
    use std::sync::Arc;

    let fs = Arc::new(strata::FaultFs::new());
    let table = Table::create("/t", config(), manual_options(&fs)).unwrap();
    // 70 days from 1970-01-01, ten rows a day, one flush a day: 70 tiny partitions.
    for d in 0..70 {
        let ts: Vec<i64> = (0..10).map(|h| d * DAY_MS + h * 3_600_000).collect();
        table.write(&rows_at(d * 10, &ts)).unwrap();
        table.flush().unwrap();
    }
    assert_eq!(table.state().partitions.len(), 70);
    table.compact_now().unwrap();
    // January and February are cold (March has begun): one partition and one segment each.
    // March's days stay as they are.
    let month = |s: i64, e: i64| (s * DAY_MS, e * DAY_MS);
    let state = table.state();
    let parts: Vec<(i64, i64)> = state
        .partitions
        .values()
        .map(|p| (p.start, p.end))
        .collect();
    assert_eq!(parts.len(), 2 + 11, "{parts:?}");
    assert_eq!(parts[0], month(0, 31));
    assert_eq!(parts[1], month(31, 59));
    for p in state.partitions.values().take(2) {
        assert_eq!(p.segments.len(), 1);
    }
    let got = ids(&table);
    assert_eq!(got.len(), 700);
    assert!(got.values().all(|&c| c == 1));
    // A late row for January goes into the rolled-up partition.
    table.write(&rows_at(10_000, &[15 * DAY_MS])).unwrap();
    table.flush().unwrap();
    assert_eq!(table.state().partitions.len(), 13);
    drop(table);
    let (table, _) = Table::open("/t", manual_options(&fs)).unwrap();
    assert_eq!(table.state().partitions.len(), 13);
    assert_eq!(ids(&table).len(), 701);
}

#[test]
fn auto_partitioning_decides_from_the_rows_time_span() {
    use std::sync::Arc;

    use strata::{Partitioning, TableConfig};

    let auto = || TableConfig::new(schema(), "ts", Partitioning::Auto).unwrap();
    // Six years of hourly rows: a year would hold 8,760, too few for any partition.
    let fs = Arc::new(strata::FaultFs::new());
    let table = Table::create("/sparse", auto(), manual_options(&fs)).unwrap();
    let hour = 3_600_000;
    let ts: Vec<i64> = (0..52_584).map(|h| h * hour).collect();
    table.write(&rows_at(0, &ts)).unwrap();
    table.flush().unwrap();
    let state = table.state();
    assert_eq!(state.partitions.len(), 1);
    assert_eq!(state.segments().count(), 1);
    // 100,000 rows within one hour: about 2.4 M a day, so day partitions.
    let table = Table::create("/dense", auto(), manual_options(&fs)).unwrap();
    let ts: Vec<i64> = (0..100_000).map(|i| 5 * DAY_MS + i * 36).collect();
    table.write(&rows_at(0, &ts)).unwrap();
    table.flush().unwrap();
    let parts: Vec<(i64, i64)> = table
        .state()
        .partitions
        .values()
        .map(|p| (p.start, p.end))
        .collect();
    assert_eq!(parts, vec![(5 * DAY_MS, 6 * DAY_MS)]);
}

#[test]
fn auto_transaction_whose_flushes_see_different_rates_commits_every_row() {
    use std::sync::Arc;

    use strata::{MemtableOptions, Partitioning, TableConfig};

    let fs = Arc::new(strata::FaultFs::new());
    let mut options = manual_options(&fs);
    options.memtable = MemtableOptions {
        soft_limit_bytes: 256 << 10,
        ..options.memtable
    };
    let config = TableConfig::new(schema(), "ts", Partitioning::Auto).unwrap();
    let table = Table::create("/t", config, options).unwrap();
    let mut tx = table.transaction().unwrap();
    // Dense rows first (day partitions), then rows spread over ten years (one partition for
    // the rest of time): each flush of the transaction decides from the rows it holds.
    let dense: Vec<i64> = (0..20_000).map(|i| 3 * DAY_MS + i * 100).collect();
    let sparse: Vec<i64> = (0..20_000)
        .map(|i| 10 * DAY_MS + i * 18 * DAY_MS / 100)
        .collect();
    for (k, chunk) in dense.chunks(1000).chain(sparse.chunks(1000)).enumerate() {
        tx.write(&rows_at(k as i64 * 1000, chunk)).unwrap();
    }
    assert!(tx.staged_segments() >= 2, "{}", tx.staged_segments());
    tx.commit().unwrap();
    let got = ids(&table);
    assert_eq!(got.len(), 40_000);
    assert!(got.values().all(|&c| c == 1));
    let state = table.state();
    let parts: Vec<(i64, i64)> = state
        .partitions
        .values()
        .map(|p| (p.start, p.end))
        .collect();
    // The dense rows made a calendar partition; the sparse ones the rest of time after it.
    assert_eq!(parts.len(), 2, "{parts:?}");
    assert!(
        parts[0].0 <= 3 * DAY_MS && parts[0].1 < i64::MAX,
        "{parts:?}"
    );
    assert_eq!(parts[1], (parts[0].1, i64::MAX));
}

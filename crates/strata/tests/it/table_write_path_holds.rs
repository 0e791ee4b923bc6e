//! The write path holds: transactions are all or nothing across crashes and failures at every
//! filesystem operation; refused batches leave nothing behind; damaged logs and manifests are
//! typed errors or reported discards, never silent loss; readers open without a lock and
//! write nothing; the writer lock is an OS lock.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::common::*;
use arrow_array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray,
};
use strata::{
    DeviceBandwidth, FaultFs, FileSystem, MemtableOptions, QUARANTINE_DIR, RecoveryMode, Table,
    TableError, TableOptions,
};

/// Small buffers so a transaction of a few hundred rows stages several segments.
fn options(fs: &FaultFs) -> TableOptions {
    let mut o = TableOptions::with_fs(Arc::new(fs.clone()))
        .background_compaction(false)
        .device_bandwidth(DeviceBandwidth::BytesPerSec(100_000_000));
    o.memtable = MemtableOptions {
        soft_limit_bytes: 6_000,
        hard_limit_bytes: 24_000,
        ..MemtableOptions::default()
    };
    o
}

fn id_set(table: &Table) -> BTreeMap<i64, usize> {
    ids(table)
}

/// Every file under `/t`, except the quarantine folder's.
fn files(fs: &FaultFs) -> Vec<PathBuf> {
    fs.all_files()
        .into_iter()
        .filter(|p| !p.components().any(|c| c.as_os_str() == QUARANTINE_DIR))
        .collect()
}

/// A table with 40 committed rows (ids 0..40).
fn base(fs: &FaultFs) -> Table {
    let table = Table::create("/t", config(), options(fs)).unwrap();
    table.write(&batch(0, 40)).unwrap();
    table.flush().unwrap();
    table
}

/// The transaction under test: 6 batches of 50 rows (ids 1000..1300), several flushes.
fn ingest(table: &Table) -> strata::Result<()> {
    let mut tx = table.transaction()?;
    for k in 0..6 {
        tx.write(&batch(1000 + k * 50, 50))?;
    }
    tx.commit().map(drop)
}

/// After a failed or interrupted transaction: the table holds the rows from before or after
/// (after, if it committed), and no file outside the log that the manifest does not reference.
fn assert_before_or_after(
    table: &Table,
    fs: &FaultFs,
    got: &BTreeMap<i64, usize>,
    (before, after): (&BTreeMap<i64, usize>, &BTreeMap<i64, usize>),
    committed: bool,
    what: &str,
) {
    if committed {
        assert_eq!(got, after, "{what}: a committed transaction was lost");
    } else {
        assert!(
            got == before || got == after,
            "{what}: {} rows, neither before nor after",
            got.len()
        );
    }
    let referenced: Vec<PathBuf> = table
        .registry()
        .referenced_files()
        .iter()
        .map(|f| Path::new("/t/data").join(f))
        .collect();
    for f in files(fs) {
        assert!(
            f.starts_with("/t/wal") || referenced.contains(&f),
            "{what}: leftover {}",
            f.display()
        );
    }
}

/// One clean run of the transaction on the base table: the filesystem operations it takes and
/// the rows after it.
fn clean_run() -> (u64, BTreeMap<i64, usize>, Table) {
    let fs = FaultFs::new();
    let table = base(&fs);
    let start = fs.op_count();
    ingest(&table).unwrap();
    (fs.op_count() - start, id_set(&table), table)
}

#[test]
fn transaction_crash_at_every_operation_is_all_or_nothing() {
    let (total, after, table) = clean_run();
    assert_eq!(after.len(), 340);
    assert!(
        table.state().segments().count() >= 4,
        "the transaction staged several segments"
    );
    drop(table);
    let before: BTreeMap<i64, usize> = (0..40).map(|i| (i, 1)).collect();

    for k in 0..=total {
        for torn in [0usize, 7] {
            let fs = FaultFs::new();
            let table = base(&fs);
            fs.crash_after(k);
            let result = ingest(&table);
            drop(table);
            let fs = fs.restart_torn(torn);
            let (table, report) = Table::open("/t", options(&fs))
                .unwrap_or_else(|e| panic!("crash after {k} (torn {torn}): open failed: {e}"));
            let got = id_set(&table);
            // Nothing left over: every file is referenced (quarantined ones are reported).
            let what = format!("crash after {k} (torn {torn})");
            assert_before_or_after(&table, &fs, &got, (&before, &after), result.is_ok(), &what);
            let quarantined = fs
                .all_files()
                .iter()
                .filter(|p| p.components().any(|c| c.as_os_str() == QUARANTINE_DIR))
                .count();
            if quarantined > 0 {
                assert!(
                    report.registry.torn_tail_discarded.is_some(),
                    "files quarantined without a discarded manifest tail"
                );
            }
        }
    }
}

#[test]
fn full_disk_at_every_operation_of_a_transaction_is_all_or_nothing_and_needs_no_repair() {
    let (total, after, table) = clean_run();
    drop(table);
    let before: BTreeMap<i64, usize> = (0..40).map(|i| (i, 1)).collect();
    for k in 0..=total {
        let fs = FaultFs::new();
        let table = base(&fs);
        fs.fail_once_after(k);
        let result = ingest(&table);
        // The process lives on: the table takes the next write, or (when the full disk hit
        // that write, or poisoned the table) a reopen brings it back; never a repair.
        let table = match table.write(&batch(9000, 1)) {
            Ok(()) => table,
            Err(e) => {
                assert!(
                    matches!(
                        e,
                        TableError::Poisoned | TableError::Io { .. } | TableError::Wal { .. }
                    ),
                    "ENOSPC at {k}: {e}"
                );
                drop(table);
                Table::open("/t", options(&fs))
                    .unwrap_or_else(|e| panic!("ENOSPC at {k}: reopen failed: {e}"))
                    .0
            }
        };
        table.close().unwrap();
        drop(table);
        let (table, _) = Table::open("/t", options(&fs)).unwrap();
        let mut got = id_set(&table);
        got.remove(&9000);
        let what = format!("ENOSPC at {k}");
        assert_before_or_after(&table, &fs, &got, (&before, &after), result.is_ok(), &what);
    }
}

#[test]
fn failed_transaction_without_a_crash_leaves_the_table_as_it_was_and_usable() {
    let fs = FaultFs::new();
    let table = base(&fs);
    let files_before = files(&fs);
    let mut tx = table.transaction().unwrap();
    for k in 0..4 {
        tx.write(&batch(1000 + k * 100, 100)).unwrap();
    }
    assert!(tx.staged_segments() > 0);
    // A refused batch: the transaction goes on, then is dropped uncommitted.
    let bad = with_time(&batch(2000, 3), vec![Some(1), None, Some(3)]);
    assert!(matches!(
        tx.write(&bad),
        Err(TableError::Rejected { ref column, row: 1, .. }) if column == "ts"
    ));
    drop(tx);
    assert_eq!(id_set(&table).len(), 40);
    assert_eq!(files(&fs), files_before, "the staged files are removed");
    // An aborted one too.
    let mut tx = table.transaction().unwrap();
    tx.write(&batch(1000, 200)).unwrap();
    tx.abort().unwrap();
    assert_eq!(files(&fs), files_before);
    table.write(&batch(5000, 5)).unwrap();
    assert_eq!(id_set(&table).len(), 45);
}

/// `batch` with its time column replaced.
fn with_time(b: &RecordBatch, ts: Vec<Option<i64>>) -> RecordBatch {
    let mut cols: Vec<ArrayRef> = b.columns().to_vec();
    cols[0] = Arc::new(TimestampMillisecondArray::from(ts));
    let fields: Vec<_> = b
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_nullable(true))
        .collect();
    RecordBatch::try_new(Arc::new(arrow_schema::Schema::new(fields)), cols).unwrap()
}

#[test]
fn poison_batches_are_refused_before_the_log_and_the_table_stays_usable() {
    let fs = FaultFs::new();
    let table = Table::create("/t", config(), options(&fs)).unwrap();
    table.write(&batch(0, 10)).unwrap();
    let null_time = with_time(&batch(100, 3), vec![Some(5), Some(6), None]);
    let out_of_range = with_time(&batch(200, 3), vec![Some(5), Some(i64::MAX), Some(7)]);
    let wrong_type = RecordBatch::try_from_iter([
        (
            "ts",
            Arc::new(TimestampMillisecondArray::from(vec![1])) as ArrayRef,
        ),
        ("host", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
        ("id", Arc::new(StringArray::from(vec!["x"])) as ArrayRef),
        ("cpu", Arc::new(Float64Array::from(vec![0.5])) as ArrayRef),
    ])
    .unwrap();
    let logs_before: Vec<Vec<u8>> = logs(&fs).iter().map(|p| fs.contents(p).unwrap()).collect();
    match table.write(&null_time) {
        Err(TableError::Rejected { column, row, .. }) => {
            assert_eq!((column.as_str(), row), ("ts", 2))
        }
        other => panic!("null time: {other:?}"),
    }
    match table.write(&out_of_range) {
        Err(TableError::Rejected {
            column,
            row,
            detail,
        }) => {
            assert_eq!((column.as_str(), row), ("ts", 1), "{detail}");
        }
        other => panic!("out of range: {other:?}"),
    }
    assert!(table.write(&wrong_type).is_err());
    assert!(table.write_all(&[&batch(300, 2), &null_time]).is_err());
    let logs_after: Vec<Vec<u8>> = logs(&fs).iter().map(|p| fs.contents(p).unwrap()).collect();
    assert_eq!(logs_before, logs_after, "a refused batch reached the log");
    // Every operation still works, now and after a crash.
    table.write(&batch(10, 5)).unwrap();
    table.flush().unwrap();
    table.write(&batch(15, 5)).unwrap();
    assert_eq!(id_set(&table).len(), 20);
    drop(table);
    let fs = fs.restart();
    let (table, _) = Table::open("/t", options(&fs)).unwrap();
    assert_eq!(id_set(&table).len(), 20);
    table.compact_now().unwrap();
    assert_eq!(table.delete("id < 5").unwrap(), 5);
    table.close().unwrap();
}

fn logs(fs: &FaultFs) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs
        .all_files()
        .into_iter()
        .filter(|p| p.starts_with("/t/wal"))
        .collect();
    v.sort();
    v
}

/// A table whose log holds three unflushed writes of 10 rows (ids 0..30), dropped unclosed.
fn logged_table() -> (FaultFs, PathBuf) {
    let fs = FaultFs::new();
    let table = Table::create("/t", config(), options(&fs)).unwrap();
    for k in 0..3 {
        table.write(&batch(k * 10, 10)).unwrap();
    }
    drop(table);
    let fs = fs.restart();
    let log = logs(&fs)
        .into_iter()
        .find(|p| fs.contents(p).is_some_and(|b| b.len() > 8))
        .unwrap();
    (fs, log)
}

fn damage(fs: &FaultFs, path: &Path, f: impl FnOnce(&mut Vec<u8>)) {
    let mut b = fs.contents(path).unwrap();
    f(&mut b);
    fs.set_contents(path, b);
}

#[test]
fn damaged_log_is_a_typed_error_at_head_middle_and_tail_and_recovery_reports_the_loss() {
    // Head: the file header.
    let (fs, log) = logged_table();
    damage(&fs, &log, |b| b[1] ^= 0x20);
    assert!(matches!(
        Table::open("/t", options(&fs)),
        Err(TableError::Corrupt { ref path, offset: 0, .. }) if *path == log
    ));
    // Middle: a byte of the first record.
    let (fs, log) = logged_table();
    damage(&fs, &log, |b| b[30] ^= 0x01);
    match Table::open("/t", options(&fs)) {
        Err(TableError::Corrupt {
            path,
            offset,
            detail,
        }) => {
            assert_eq!(path, log);
            assert_eq!(offset, 8, "{detail}");
        }
        other => panic!("middle damage: {:?}", other.map(|_| ())),
    }
    // A reader refuses too, and writes nothing.
    let before = fs.all_files();
    assert!(Table::open_read_only("/t", options(&fs)).is_err());
    assert_eq!(fs.all_files(), before);
    // Recovering to a point in time drops the damaged record and every one after it, and says
    // how many rows that cost.
    let (table, report) =
        Table::open("/t", options(&fs).recovery(RecoveryMode::PointInTime)).unwrap();
    assert_eq!(id_set(&table).len(), 0);
    assert_eq!(report.wal_discarded.len(), 1);
    let d = &report.wal_discarded[0];
    assert!(d.damaged);
    assert_eq!((d.records, d.rows), (2, 20));
    table.write(&batch(100, 4)).unwrap();
    table.close().unwrap();
    drop(table);
    // The damaged log is set aside, not deleted, and the table opens normally from now on.
    let name = log.file_name().unwrap();
    assert!(
        fs.all_files()
            .iter()
            .any(|p| p.components().any(|c| c.as_os_str() == QUARANTINE_DIR)
                && p.file_name() == Some(name)),
        "{:?}",
        fs.all_files()
    );
    let (table, _) = Table::open("/t", options(&fs)).unwrap();
    assert_eq!(id_set(&table).len(), 4);
    drop(table);

    // Tail: a flipped byte in the last record is damage, not a torn write.
    let (fs, log) = logged_table();
    damage(&fs, &log, |b| {
        let last = b.len() - 1;
        b[last] ^= 0x80;
    });
    assert!(matches!(
        Table::open("/t", options(&fs)),
        Err(TableError::Corrupt { .. })
    ));
    // A truncated last record is an append that never completed: discarded and reported.
    let (fs, log) = logged_table();
    damage(&fs, &log, |b| b.truncate(b.len() - 5));
    let (table, report) = Table::open("/t", options(&fs)).unwrap();
    assert_eq!(id_set(&table).len(), 20);
    assert_eq!(report.wal_rows_replayed, 20);
    assert_eq!(report.wal_discarded.len(), 1);
    assert!(!report.wal_discarded[0].damaged);
}

#[test]
fn writers_that_buffer_nothing_leave_no_logs_behind() {
    let fs = FaultFs::new();
    let table = Table::create("/t", config(), options(&fs)).unwrap();
    table.write(&batch(0, 10)).unwrap();
    table.close().unwrap();
    drop(table);
    for _ in 0..6 {
        let (t, _) = Table::open("/t", options(&fs)).unwrap();
        t.close().unwrap();
    }
    assert!(logs(&fs).len() <= 2, "{:?}", logs(&fs));
    let (t, _) = Table::open("/t", options(&fs)).unwrap();
    assert_eq!(id_set(&t).len(), 10);
}

#[test]
fn missing_log_in_the_middle_is_an_error_not_a_silent_gap() {
    // Every open starts a new log, and unflushed rows stay in the old ones: three opens, three
    // live logs of 10 rows each.
    let fs = FaultFs::new();
    let table = Table::create("/t", config(), options(&fs)).unwrap();
    table.write(&batch(0, 10)).unwrap();
    drop(table);
    for k in 1..3 {
        let (t, _) = Table::open("/t", options(&fs)).unwrap();
        t.write(&batch(k * 10, 10)).unwrap();
        drop(t);
    }
    let fs = fs.restart();
    let live: Vec<PathBuf> = logs(&fs)
        .into_iter()
        .filter(|p| fs.contents(p).is_some_and(|b| b.len() > 8))
        .collect();
    assert!(live.len() >= 2, "{live:?}");
    let all = logs(&fs);
    let middle = all.get(all.len() / 2).unwrap().clone();
    fs.remove_file(&middle).unwrap();
    match Table::open("/t", options(&fs)) {
        Err(TableError::Corrupt { detail, .. }) => assert!(detail.contains("missing"), "{detail}"),
        Ok((t, _)) => panic!("opened with a log missing: {} rows", id_set(&t).len()),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn damaged_manifest_tail_is_reported_and_its_files_quarantined_never_deleted() {
    let build = || {
        let fs = FaultFs::new();
        let table = Table::create("/t", config(), options(&fs)).unwrap();
        table.write(&batch(0, 30)).unwrap();
        table.flush().unwrap();
        let segs: Vec<String> = table.state().segments().map(|s| s.file.clone()).collect();
        drop(table);
        let fs = fs.restart();
        let manifest = fs
            .all_files()
            .into_iter()
            .filter(|p| p.to_string_lossy().contains("MANIFEST-"))
            .max_by_key(|p| fs.contents(p).map_or(0, |b| b.len()))
            .unwrap();
        (fs, manifest, segs)
    };
    // Truncated last record: discarded, reported, its segments set aside.
    let (fs, manifest, segs) = build();
    damage(&fs, &manifest, |b| b.truncate(b.len() - 3));
    let (table, report) = Table::open("/t", options(&fs)).unwrap();
    assert!(report.registry.torn_tail_discarded.is_some());
    assert_eq!(report.registry.quarantined.len(), segs.len());
    for q in &report.registry.quarantined {
        assert!(fs.contents(q).is_some(), "{} is gone", q.display());
    }
    drop(table);
    // Flipped byte in the last record: refused by default, recoverable knowingly.
    let (fs, manifest, segs) = build();
    damage(&fs, &manifest, |b| {
        let last = b.len() - 1;
        b[last] ^= 0x04;
    });
    assert!(matches!(
        Table::open("/t", options(&fs)),
        Err(TableError::Registry(_))
    ));
    let (_, report) = Table::open("/t", options(&fs).recovery(RecoveryMode::PointInTime)).unwrap();
    let t = report.registry.torn_tail_discarded.unwrap();
    assert!(t.damaged);
    assert_eq!(report.registry.quarantined.len(), segs.len());
}

#[test]
fn readers_take_no_lock_write_nothing_and_see_a_consistent_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t");
    let opts = || {
        TableOptions::default()
            .background_compaction(false)
            .device_bandwidth(DeviceBandwidth::BytesPerSec(100_000_000))
    };
    let writer = Table::create(&path, config(), opts()).unwrap();
    writer.write(&batch(0, 50)).unwrap();
    writer.flush().unwrap();
    writer.write(&batch(50, 25)).unwrap(); // in the log only
    // A second writer is refused; a stale lock file from an older version means nothing.
    assert!(matches!(
        Table::open(&path, opts()),
        Err(TableError::Locked { .. })
    ));
    let listing = |p: &Path| -> Vec<(PathBuf, u64)> {
        let mut out = Vec::new();
        let mut stack = vec![p.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let e = e.unwrap();
                if e.file_type().unwrap().is_dir() {
                    stack.push(e.path());
                } else {
                    out.push((e.path(), e.metadata().unwrap().len()));
                }
            }
        }
        out.sort();
        out
    };
    let before = listing(&path);
    for _ in 0..5 {
        let (reader, _) = Table::open_read_only(&path, opts()).unwrap();
        assert_eq!(id_set(&reader).len(), 75);
        assert!(matches!(
            reader.write(&batch(500, 1)),
            Err(TableError::ReadOnly)
        ));
        reader.close().unwrap();
    }
    assert_eq!(
        listing(&path),
        before,
        "a reader changed the table directory"
    );
    writer.close().unwrap();
    drop(writer);
    // The lock went with the writer.
    let (t, _) = Table::open(&path, opts()).unwrap();
    assert_eq!(id_set(&t).len(), 75);
}

#[test]
fn large_write_all_is_one_transaction_and_small_writes_stay_logged() {
    let fs = FaultFs::new();
    let table = Table::create("/t", config(), options(&fs)).unwrap();
    let big: Vec<RecordBatch> = (0..4).map(|k| batch(k * 100, 100)).collect();
    let refs: Vec<&RecordBatch> = big.iter().collect();
    table.write_all(&refs).unwrap();
    assert_eq!(table.buffered_rows(), 0, "went straight to segments");
    table.write(&batch(1000, 3)).unwrap();
    assert_eq!(table.buffered_rows(), 3);
    drop(table);
    let (table, report) = Table::open("/t", options(&fs.restart())).unwrap();
    assert_eq!(report.wal_rows_replayed, 3);
    assert_eq!(id_set(&table).len(), 403);
}

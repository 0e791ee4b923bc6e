//! Writers in several threads (flushing at a small soft limit) and snapshot readers: every row
//! lands exactly once.

use std::sync::Arc;

use crate::common::*;
use strata::{MemtableOptions, Table, TableOptions};

#[test]
fn writers_and_readers_in_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Table>();

    let dir = tempfile::tempdir().unwrap();
    // A small buffer so writers trigger flushes while others write and read.
    let opts = TableOptions {
        memtable: MemtableOptions {
            soft_limit_bytes: 16 * 1024,
            ..MemtableOptions::default()
        },
        ..TableOptions::default()
    };
    let table = Arc::new(Table::create(dir.path(), config(), opts).unwrap());
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let t = Arc::clone(&table);
            std::thread::spawn(move || {
                for k in 0..20 {
                    t.write(&batch((w * 20 + k) * 50, 50)).unwrap();
                }
            })
        })
        .collect();
    let reader = {
        let t = Arc::clone(&table);
        std::thread::spawn(move || {
            for _ in 0..5 {
                let snap = t.snapshot().unwrap();
                let rows: usize = snap
                    .scan()
                    .execute()
                    .unwrap()
                    .map(|b| b.unwrap().num_rows())
                    .sum();
                assert_eq!(rows as u64, snap.live_rows());
            }
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    reader.join().unwrap();
    let got = ids(&table);
    assert_eq!(got.len(), 4000);
    assert!(got.values().all(|&c| c == 1));
    assert!(
        table.state().segments().count() > 3,
        "the soft limit flushed"
    );
}

/// One writer acknowledging batches in order, a flushing deleter-free workload, an eager
/// background compactor, and readers: every snapshot holds each batch acknowledged before it
/// was taken exactly once, whole, and nothing that was not yet written.
#[test]
fn readers_see_each_acknowledged_write_once_while_flushing_and_compacting() {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::time::Duration;

    use strata::{CompactionOptions, CompactionPolicy, DeviceBandwidth, FaultFs};

    const N: i64 = 30;
    const ROWS: i64 = 40;
    let fs = FaultFs::new();
    let opts = TableOptions {
        memtable: MemtableOptions {
            soft_limit_bytes: 8 * 1024,
            hard_limit_bytes: 16 * 1024,
            ..MemtableOptions::default()
        },
        compaction: CompactionOptions {
            background: true,
            policy: CompactionPolicy {
                max_segments: 2,
                min_interval: Duration::ZERO,
                ..CompactionPolicy::default()
            },
            tick: Duration::from_millis(5),
            device_bandwidth: DeviceBandwidth::BytesPerSec(1 << 40),
            ..CompactionOptions::default()
        },
        ..TableOptions::with_fs(Arc::new(fs))
    };
    let table = Arc::new(Table::create("/t", config(), opts).unwrap());
    let acked = Arc::new(AtomicI64::new(0));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (t, acked, done) = (Arc::clone(&table), Arc::clone(&acked), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut checks = 0;
                while !done.load(Ordering::Acquire) || checks == 0 {
                    let before = acked.load(Ordering::Acquire);
                    let snap = t.snapshot().unwrap();
                    let after = acked.load(Ordering::Acquire);
                    let mut got = std::collections::BTreeMap::new();
                    for b in snap.scan().columns(["id"]).execute().unwrap() {
                        let b = b.unwrap();
                        let col = b
                            .column(0)
                            .as_any()
                            .downcast_ref::<arrow_array::Int64Array>()
                            .unwrap();
                        for v in col.values() {
                            *got.entry(*v).or_insert(0usize) += 1;
                        }
                    }
                    assert!(got.values().all(|&c| c == 1), "a row seen twice");
                    let batches = got.len() as i64 / ROWS;
                    assert_eq!(got.len() as i64 % ROWS, 0, "a batch seen in part");
                    assert!(batches >= before, "an acknowledged batch is missing");
                    assert!(batches <= after + 1, "a batch not yet written is seen");
                    assert!(
                        got.keys().all(|&i| i < batches * ROWS),
                        "batches out of order"
                    );
                    assert_eq!(snap.live_rows() as usize, got.len());
                    checks += 1;
                }
                checks
            })
        })
        .collect();
    for k in 0..N {
        table.write(&batch(k * ROWS, ROWS)).unwrap();
        acked.store(k + 1, Ordering::Release);
    }
    done.store(true, Ordering::Release);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    let cycles = table.compact_now().unwrap();
    let state = table.state();
    for p in state.partitions.values() {
        assert!(
            p.segments.len() <= 1,
            "compact_now leaves one segment per partition"
        );
    }
    let got = ids(&table);
    assert_eq!(got.len() as i64, N * ROWS);
    assert!(got.values().all(|&c| c == 1));
    let background = table.compaction_stats().unwrap();
    assert!(
        !background.cycles.is_empty() || !cycles.is_empty(),
        "something was compacted"
    );
    assert!(background.errors.is_empty(), "{:?}", background.errors);
    table.close().unwrap();
}

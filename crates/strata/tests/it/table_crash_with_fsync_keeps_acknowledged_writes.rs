//! Crash sweep over the write path on the fault-injecting filesystem: with fsync durability,
//! every acknowledged write survives, no write appears partly, and no row appears twice —
//! through flushes, a delete and a compaction (`compact_now`).

use std::sync::Arc;

use crate::common::*;
use strata::{FaultFs, Table, TableOptions};

const BATCH: i64 = 20;

/// Writes 8 batches with a flush after the 3rd, a delete after the 6th and a compaction at the
/// end; returns how many writes were acknowledged and whether the delete was.
fn workload(table: &Table) -> (i64, bool) {
    let mut acked = 0;
    for k in 0..8 {
        if table.write(&batch(k * BATCH, BATCH)).is_err() {
            return (acked, false);
        }
        acked += 1;
        if k == 2 && table.flush().is_err() {
            return (acked, false);
        }
        if k == 5 {
            return match table.delete("id < 10") {
                Ok(_) => {
                    let more = (6..8).all(|k| {
                        let ok = table.write(&batch(k * BATCH, BATCH)).is_ok();
                        if ok {
                            acked += 1;
                        }
                        ok
                    });
                    if more {
                        // Rewrites every partition; content must not change, crash or not.
                        let _ = table.compact_now();
                    }
                    (acked, true)
                }
                Err(_) => (acked, false),
            };
        }
    }
    (acked, false)
}

/// No background compactor: the operation sequence (and so every crash point) is the same in
/// every run; the workload compacts explicitly.
fn options(fs: &FaultFs) -> TableOptions {
    TableOptions::with_fs(Arc::new(fs.clone())).background_compaction(false)
}

fn check(fs: &FaultFs, acked: i64, delete_acked: bool, attempted_delete: bool) {
    let (table, _) = Table::open("/t", options(fs)).unwrap();
    let got = ids(&table);
    assert!(
        got.values().all(|&c| c == 1),
        "a row appears twice: {got:?}"
    );
    // Whole batches only.
    for k in 0..8 {
        let present = (k * BATCH..(k + 1) * BATCH)
            .filter(|i| got.contains_key(i) || (*i < 10 && attempted_delete))
            .count() as i64;
        assert!(
            present == 0 || present == BATCH,
            "batch {k} is partly there: {got:?}"
        );
    }
    for i in 0..acked * BATCH {
        let deleted = i < 10 && attempted_delete;
        if !deleted {
            assert!(got.contains_key(&i), "acknowledged row {i} lost");
        }
    }
    if delete_acked {
        assert!(got.keys().all(|&i| i >= 10), "acknowledged delete lost");
    }
}

#[test]
fn crash_at_every_operation() {
    // One clean run counts the operations.
    let fs = FaultFs::new();
    let table = Table::create("/t", config(), options(&fs)).unwrap();
    let start = fs.op_count();
    let (acked, _) = workload(&table);
    assert_eq!(acked, 8);
    assert_eq!(
        table.state().segments().count(),
        3,
        "one segment per day after compact_now"
    );
    let total = fs.op_count() - start;
    drop(table);
    assert!(total > 20);

    for k in 0..total {
        for torn in [0usize, 5] {
            let fs = FaultFs::new();
            let table = Table::create("/t", config(), options(&fs)).unwrap();
            fs.crash_after(fs.op_count() + k);
            let (acked, delete_acked) = workload(&table);
            let attempted_delete = acked >= 6;
            drop(table);
            let restarted = fs.restart_torn(torn);
            check(&restarted, acked, delete_acked, attempted_delete);
        }
    }
}

//! Writers in several threads (flushing at a small soft limit) and snapshot readers: every row
//! lands exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::*;
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

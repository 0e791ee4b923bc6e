#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Peak memory of an ingest does not grow with its size: a transaction buffers within the
//! table's memtable limits and stages segments as it goes, and nothing goes through the log.
//! Measured with a counting global allocator around the transaction only, 10× the rows
//! against 1×, on the local filesystem (file contents are not counted).

// The table helpers the consolidated tests share; this binary stays apart for its allocator.
#[path = "it/common.rs"]
#[allow(dead_code, reason = "this binary uses only part of the shared helpers")]
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use strata::{DeviceBandwidth, MemtableOptions, Table, TableOptions};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator and only adds bookkeeping.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as System.alloc.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as System.dealloc.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const BATCH: i64 = 10_000;

/// Peak bytes allocated above the start while `batches` batches of 10,000 rows go through one
/// transaction.
fn peak_of_ingest(batches: i64) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let mut options = TableOptions::default()
        .background_compaction(false)
        .device_bandwidth(DeviceBandwidth::BytesPerSec(100_000_000));
    options.memtable = MemtableOptions {
        soft_limit_bytes: 2 << 20,
        hard_limit_bytes: 8 << 20,
        ..MemtableOptions::default()
    };
    let table = Table::create(dir.path().join("t"), common::config(), options).unwrap();
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let report = {
        let mut tx = table.transaction().unwrap();
        for k in 0..batches {
            // Each batch is made and dropped inside the measured window, as a file reader's.
            tx.write(&common::batch(k * BATCH, BATCH)).unwrap();
        }
        tx.commit().unwrap()
    };
    let peak = PEAK.load(Ordering::Relaxed) - base;
    assert_eq!(report.rows, (batches * BATCH) as u64);
    assert_eq!(
        table.state().dead_space().total_rows,
        (batches * BATCH) as u64
    );
    table.close().unwrap();
    peak
}

#[test]
fn ten_times_the_rows_costs_about_the_same_peak_memory() {
    let small = peak_of_ingest(10);
    let large = peak_of_ingest(100);
    eprintln!(
        "peak: {} B for 100k rows, {} B for 1M rows ({:.2}x)",
        small,
        large,
        large as f64 / small as f64
    );
    assert!(
        (large as f64) <= 1.25 * small as f64,
        "peak grew from {small} B to {large} B with 10x the rows"
    );
}

//! The background scheduler writes flushes, runs the policy on a trigger, deletes retired
//! files, and stops and joins cleanly when its handle is dropped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use strata_compactor::{
    CompactionHandle, CompactionPolicy, Compactor, CompactorConfig, PlanReason, SchedulerConfig,
};
use strata_format::FaultFs;

fn scheduler() -> SchedulerConfig {
    SchedulerConfig {
        policy: CompactionPolicy {
            max_segments: 2,
            min_interval: Duration::ZERO,
            ..CompactionPolicy::default()
        },
        tick: Duration::from_secs(3600),
        ..SchedulerConfig::default()
    }
}

#[test]
fn scheduler_flushes_then_compacts_on_trigger_and_reports_the_cycle() {
    let fs = FaultFs::new();
    let c = Arc::new(Compactor::open(Arc::new(create(&fs)), CompactorConfig::default()).unwrap());
    let handle = CompactionHandle::start(Arc::clone(&c), scheduler()).unwrap();
    for i in 0..3 {
        let entry = handle
            .flush(batch(&[(i, i), (i + 5, i + 10)]))
            .recv()
            .unwrap()
            .unwrap();
        assert_eq!(entry.rows, 2);
    }
    // Readers see every flush at once, without the scheduler.
    let snap = c.snapshot();
    assert_eq!(snap.segments().count(), 3);
    let want = scan_rows(snap.scan());
    assert_eq!(want.len(), 6);
    drop(snap);
    handle.trigger();
    let stats = handle.join();
    assert_eq!(stats.flushes, 3);
    assert!(stats.errors.is_empty(), "{:?}", stats.errors);
    assert_eq!(stats.cycles.len(), 1, "{:?}", stats.cycles);
    let cycle = &stats.cycles[0];
    assert_eq!(cycle.reason, PlanReason::SmallSegments { segments: 3 });
    assert_eq!((cycle.segments_in, cycle.segments_out), (3, 1));
    assert_eq!((cycle.rows_in, cycle.rows_out), (6, 6));
    assert!(cycle.bytes_written > 0 && cycle.bytes_read > 0);
    assert_eq!(stats.files_deleted, 3);
    assert_eq!(c.snapshot().segments().count(), 1);
    assert_eq!(scan_rows(c.snapshot().scan()), want);
    assert_files_are_referenced(&fs, c.registry());
}

#[test]
fn dropping_the_handle_stops_and_joins_the_thread() {
    let fs = FaultFs::new();
    let c = Arc::new(Compactor::open(Arc::new(create(&fs)), CompactorConfig::default()).unwrap());
    let handle = CompactionHandle::start(Arc::clone(&c), scheduler()).unwrap();
    handle.flush(batch(&[(1, 1)])).recv().unwrap().unwrap();
    assert_eq!(Arc::strong_count(&c), 2, "the worker holds the compactor");
    drop(handle);
    assert_eq!(Arc::strong_count(&c), 1, "the worker has exited");
    assert_eq!(rows(c.registry()).len(), 1);
}

//! The background scheduler runs the policy on a trigger, deletes retired
//! files, and stops and joins cleanly when its handle is dropped.

use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
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
fn scheduler_compacts_flushed_segments_on_trigger_and_reports_the_cycle() {
    let fs = FaultFs::new();
    let c = Arc::new(Compactor::open(Arc::new(create(&fs)), CompactorConfig::default()).unwrap());
    let handle = CompactionHandle::start(Arc::clone(&c), scheduler()).unwrap();
    for i in 0..3 {
        let entry = c
            .registry()
            .write_segment(&batch(&[(i, i), (i + 5, i + 10)]), Default::default())
            .unwrap();
        c.refresh().unwrap();
        assert_eq!(entry.rows, 2);
    }
    // Readers see every flush at once, without the scheduler.
    let snap = c.snapshot();
    assert_eq!(snap.segments().count(), 3);
    let want = scan_rows(snap.scan());
    assert_eq!(want.len(), 6);
    drop(snap);
    handle.trigger();
    // `join` stops the scheduler and so cancels a merge still running: wait for the cycle.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while handle.stats().cycles.is_empty() && handle.stats().errors.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no cycle within 60 s of the trigger"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let stats = handle.join();
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
    let reg = create(&fs);
    reg.write_segment(&batch(&[(1, 1)]), Default::default())
        .unwrap();
    let c = Arc::new(Compactor::open(Arc::new(reg), CompactorConfig::default()).unwrap());
    let handle = CompactionHandle::start(Arc::clone(&c), scheduler()).unwrap();
    handle.trigger();
    assert_eq!(Arc::strong_count(&c), 2, "the worker holds the compactor");
    drop(handle);
    assert_eq!(Arc::strong_count(&c), 1, "the worker has exited");
    assert_eq!(rows(c.registry()).len(), 1);
}

#[test]
fn a_cancelled_merge_commits_nothing_and_leaves_no_file() {
    use std::sync::atomic::AtomicBool;
    use strata_compactor::CompactorError;

    let fs = FaultFs::new();
    let reg = create(&fs);
    for i in 0..3 {
        reg.write_segment(&batch(&[(i, i), (i + 5, i)]), Default::default())
            .unwrap();
    }
    let c = Compactor::open(Arc::new(reg), CompactorConfig::default()).unwrap();
    let plan = c.plan(&scheduler().policy).remove(0);
    let files = fs.all_files();
    let want = scan_rows(c.snapshot().scan());
    let err = c
        .run_plan_cancellable(&plan, Some(Arc::new(AtomicBool::new(true))))
        .unwrap_err();
    assert!(matches!(err, CompactorError::Cancelled), "{err}");
    assert_eq!(fs.all_files(), files, "no output left behind");
    assert_eq!(c.snapshot().segments().count(), 3);
    assert_eq!(scan_rows(c.snapshot().scan()), want);
    // Not raised: the same plan runs.
    let report = c
        .run_plan_cancellable(&plan, Some(Arc::new(AtomicBool::new(false))))
        .unwrap();
    assert_eq!((report.segments_in, report.segments_out), (3, 1));
    assert_eq!(scan_rows(c.snapshot().scan()), want);
}

#[test]
fn stopping_cancels_a_throttled_merge_instead_of_waiting_for_it() {
    let fs = FaultFs::new();
    let reg = create(&fs);
    // Many output batches of values that do not compress to nothing, and a device of
    // 4 KiB/s: the whole merge would take minutes.
    for i in 0..3i64 {
        let rows: Vec<(i64, i64)> = (0..4_000)
            .map(|r| (r * 3 + i, (r * 2_654_435_761) % 1_000_003))
            .collect();
        reg.write_segment(&batch(&rows), Default::default())
            .unwrap();
    }
    let config = CompactorConfig {
        device_bytes_per_sec: 4096,
        merge: strata_compactor::MergeOptions {
            batch_rows: 64,
            ..Default::default()
        },
    };
    let c = Arc::new(Compactor::open(Arc::new(reg), config).unwrap());
    let want = scan_rows(c.snapshot().scan());
    let handle = CompactionHandle::start(Arc::clone(&c), scheduler()).unwrap();
    handle.trigger();
    std::thread::sleep(Duration::from_millis(200));
    let stats = handle.join();
    assert!(
        stats.cycles.is_empty(),
        "the merge was cancelled, not finished"
    );
    assert!(stats.errors.is_empty(), "{:?}", stats.errors);
    assert_eq!(c.snapshot().segments().count(), 3, "inputs stay live");
    assert_eq!(scan_rows(c.snapshot().scan()), want);
    assert_files_are_referenced(&fs, c.registry());
}

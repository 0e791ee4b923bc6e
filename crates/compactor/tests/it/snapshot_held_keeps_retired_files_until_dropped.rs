//! A reader's snapshot keeps reading the segments a merge retired; their files are deleted
//! only after the last snapshot listing them is dropped, and only by the compactor.

use std::sync::Arc;

use crate::common::*;
use strata_compactor::{CompactionPolicy, Compactor, CompactorConfig, PlanReason};
use strata_format::{FaultFs, FileSystem};
use strata_predicate::BoundPredicate;

#[test]
fn snapshot_held_across_merge_reads_old_segments_and_files_go_after_drop() {
    let fs = FaultFs::new();
    let reg = create(&fs);
    for i in 0..4 {
        reg.write_segment(&batch(&[(i, i), (i + 10, i + 100)]), Default::default())
            .unwrap();
    }
    let p = BoundPredicate::parse_and_bind("k = 101", &schema()).unwrap();
    reg.delete(&p).unwrap();
    let c = Compactor::open(Arc::new(reg), CompactorConfig::default()).unwrap();
    let before = c.snapshot();
    let want = scan_rows(before.scan());
    assert_eq!(want.len(), 7);
    let inputs: Vec<_> = before.segments().map(|h| h.file.path().clone()).collect();
    let dv = before
        .segments()
        .find_map(|h| h.entry.deletion.as_ref())
        .map(|d| c.registry().path_of(&d.file))
        .unwrap();

    let policy = CompactionPolicy {
        dead_space_ratio: 0.0,
        target_segment_bytes: u64::MAX,
        ..CompactionPolicy::default()
    };
    let plans = c.plan(&policy);
    assert_eq!(plans.len(), 1);
    assert!(matches!(plans[0].reason, PlanReason::DeadSpace { .. }));
    let report = c.run_plan(&plans[0]).unwrap();
    assert_eq!(
        (
            report.segments_in,
            report.segments_out,
            report.rows_in,
            report.rows_out
        ),
        (4, 1, 8, 7)
    );
    assert_eq!(report.rows_deleted, 1);
    assert!(report.write_amplification() > 0.0);

    // The new snapshot sees one segment; the old one still reads its four.
    let after = c.snapshot();
    assert_eq!(after.segments().count(), 1);
    assert_eq!(scan_rows(after.scan()), want);
    assert_eq!(scan_rows(before.scan()), want);
    for p in inputs.iter().chain([&dv]) {
        assert!(
            fs.exists(p).unwrap(),
            "{} deleted under a reader",
            p.display()
        );
    }
    let (orphans, _) = orphans_and_missing(&fs, c.registry());
    assert_eq!(
        orphans.len(),
        5,
        "four retired segments and one deletion vector wait"
    );

    drop(before);
    assert!(c.deletions_pending());
    assert_eq!(c.collect_garbage().unwrap(), 5);
    for p in inputs.iter().chain([&dv]) {
        assert!(!fs.exists(p).unwrap(), "{} still there", p.display());
    }
    assert_files_are_referenced(&fs, c.registry());
    // Survives a restart unchanged.
    drop(after);
    drop(c);
    let reg = open(&fs.restart());
    assert_eq!(rows(&reg), want);
}

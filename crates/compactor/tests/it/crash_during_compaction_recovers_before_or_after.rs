//! Failpoint test of the compaction protocol: crash at every filesystem operation of
//! `Compactor::run_plan`, restart from what was durable, recover, and check that the table is
//! exactly as before the merge or exactly as after it (live segments, deletion vectors,
//! visible rows), with no orphan and no missing file; then that the recovered table compacts.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::common::*;
use strata_compactor::{CompactionPolicy, Compactor, CompactorConfig, MergePlan};
use strata_format::FaultFs;
use strata_partition_registry::{Edit, PartitionState, Registry, TableState};
use strata_predicate::BoundPredicate;

/// Partition start → (state, live segments as (id, rows, deleted rows)).
type Shape = BTreeMap<i64, (PartitionState, Vec<(u64, u64, u64)>)>;

fn shape(s: &TableState) -> Shape {
    s.partitions
        .iter()
        .map(|(k, p)| {
            let segs = p
                .segments
                .values()
                .map(|e| (e.id, e.rows, e.deleted_rows()))
                .collect();
            (*k, (p.state, segs))
        })
        .collect()
}

fn policy() -> CompactionPolicy {
    CompactionPolicy {
        dead_space_ratio: 0.0,
        target_segment_bytes: u64::MAX,
        ..CompactionPolicy::default()
    }
}

fn config() -> CompactorConfig {
    CompactorConfig {
        device_bytes_per_sec: 1 << 40,
        ..CompactorConfig::default()
    }
}

/// Three overlapping segments with deletes in day 0, one clean segment in day 1.
fn setup(fs: &FaultFs, seal: bool) -> Registry {
    let reg = create(fs);
    reg.write_segment(
        &batch(&[(1, 1), (5, 2), (9, 3), (13, 4)]),
        Default::default(),
    )
    .unwrap();
    reg.write_segment(&batch(&[(2, 5), (6, 6), (10, 7)]), Default::default())
        .unwrap();
    reg.write_segment(&batch(&[(3, 8), (20, 9)]), Default::default())
        .unwrap();
    reg.write_segment(&batch(&[(DAY + 1, 10)]), Default::default())
        .unwrap();
    let p = BoundPredicate::parse_and_bind("k = 2 OR k = 6 OR k = 10", &schema()).unwrap();
    reg.delete(&p).unwrap();
    if seal {
        reg.commit(Edit::SetPartitionState {
            partition: 0,
            state: PartitionState::Sealed,
        })
        .unwrap();
    }
    reg
}

fn the_plan(c: &Compactor) -> MergePlan {
    let plans = c.plan(&policy());
    let plan = plans.into_iter().find(|p| p.partition == 0).unwrap();
    assert_eq!(plan.inputs.len(), 3);
    plan
}

fn sweep(seal: bool) -> u64 {
    let fs = FaultFs::new();
    let c = Compactor::open(Arc::new(setup(&fs, seal)), config()).unwrap();
    let pre = shape(&c.registry().state());
    let want_rows = rows(c.registry());
    c.run_plan(&the_plan(&c)).unwrap();
    let post = shape(&c.registry().state());
    assert_ne!(pre, post);
    assert_eq!(rows(c.registry()), want_rows);
    assert_files_are_referenced(&fs, c.registry());
    drop(c);

    let mut k = 0;
    loop {
        let fs = FaultFs::new();
        let c = Compactor::open(Arc::new(setup(&fs, seal)), config()).unwrap();
        let plan = the_plan(&c);
        fs.crash_after(k);
        let result = c.run_plan(&plan);
        let crashed = fs.has_crashed();
        drop(c);
        if !crashed {
            result.unwrap();
            eprintln!("seal={seal}: {k} crash points");
            return k;
        }
        // Torn writes too: up to 11 unsynced bytes per file may survive.
        for keep in [0, 11] {
            let after = fs.restart_torn(keep);
            let (rec, _) = Registry::open(Arc::new(after.clone()), dir())
                .unwrap_or_else(|e| panic!("k={k} keep={keep}: recovery failed: {e}"));
            let c = Compactor::open(Arc::new(rec), config()).unwrap();
            let got = shape(&c.registry().state());
            if result.is_ok() {
                assert_eq!(got, post, "k={k} keep={keep}: a completed merge was lost");
            } else {
                assert!(
                    got == pre || got == post,
                    "k={k} keep={keep}: neither before nor after: {got:?}"
                );
            }
            assert_eq!(rows(c.registry()), want_rows, "k={k} keep={keep}");
            assert_eq!(
                scan_rows(c.snapshot().scan()),
                want_rows,
                "k={k} keep={keep}"
            );
            assert_files_are_referenced(&after, c.registry());
            // The recovered table compacts to the same rows, and the compactor deletes the inputs.
            if got == pre {
                c.run_plan(&the_plan(&c)).unwrap();
                assert_eq!(shape(&c.registry().state()).len(), post.len());
                assert_eq!(
                    rows(c.registry()),
                    want_rows,
                    "k={k} keep={keep}: compacting after recovery"
                );
                assert_files_are_referenced(&after, c.registry());
            }
        }
        k += 1;
    }
}

#[test]
fn crash_during_merge_of_active_partition_recovers_before_or_after() {
    let n = sweep(false);
    assert!(n >= 10, "{n} crash points");
}

#[test]
fn crash_during_merge_of_sealed_partition_recovers_before_or_after() {
    let n = sweep(true);
    assert!(n >= 10, "{n} crash points");
}

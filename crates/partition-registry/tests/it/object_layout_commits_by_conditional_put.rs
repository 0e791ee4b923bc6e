//! The object layout of the manifest (one object per version, created by a conditional put):
//! writers racing for versions lose nothing and never both win, a commit planned on a stale
//! state is a typed conflict, an older version opens read-only, a damaged record is an error
//! naming its key (or discarded on request), and retired files outlive the retention period.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::common::*;
use strata_format::{FaultFs, FileSystem, LocalFs, MemFs};
use strata_partition_registry::{
    CreateOptions, Layout, MANIFEST_DIR, OpenOptions, RecoveryMode, Registry, RegistryError,
    record_object_name,
};
use strata_predicate::BoundPredicate;

fn objects(retention_ms: u64) -> CreateOptions {
    CreateOptions {
        layout: Layout::Objects,
        retention_ms,
    }
}

fn keys(reg: &Registry) -> Vec<i64> {
    rows(reg).into_iter().map(|r| r.0).collect()
}

fn delete(reg: &Registry, predicate: &str) -> strata_partition_registry::Result<u64> {
    let p = BoundPredicate::parse_and_bind(predicate, &schema()).unwrap();
    reg.delete(&p).map(|r| r.rows_deleted)
}

/// Record versions present in `manifest/`.
fn record_versions(fs: &dyn FileSystem) -> Vec<u64> {
    fs.list_dir(&dir().join(MANIFEST_DIR))
        .unwrap()
        .iter()
        .filter_map(|p| p.file_name()?.to_str()?.strip_suffix(".rec")?.parse().ok())
        .collect()
}

#[test]
fn two_writers_racing_commit_every_segment_exactly_once() {
    let fs = MemFs::new();
    let a = Registry::create_with(Arc::new(fs.clone()), dir(), config(), objects(0)).unwrap();
    assert_eq!(a.layout(), Layout::Objects);
    let b = Registry::open(Arc::new(fs.clone()), dir()).unwrap().0;
    let write = |reg: Registry, base: i64| {
        std::thread::spawn(move || {
            for i in 0..20 {
                let day = i % 3;
                let k = base + i;
                reg.write_segment(&batch(&reg, &[(day * DAY + k, k)]), Default::default())
                    .unwrap();
            }
        })
    };
    let (ta, tb) = (write(a, 0), write(b, 1_000));
    ta.join().unwrap();
    tb.join().unwrap();

    let r = Registry::open(Arc::new(fs.clone()), dir()).unwrap().0;
    let want: Vec<i64> = (0..20).chain(1_000..1_020).collect();
    assert_eq!(keys(&r), want, "a commit was lost or doubled");
    assert_eq!(r.state().segments().count(), 40);
    // One record per version, no gaps: each version was won by exactly one writer.
    let versions = record_versions(&fs);
    assert_eq!(versions, (1..=r.state().version).collect::<Vec<_>>());
    // Ids were reserved apart: no segment file was written twice.
    let files: BTreeSet<String> = r.state().segments().map(|s| s.file.clone()).collect();
    assert_eq!(files.len(), 40);
}

#[test]
fn a_delete_planned_on_a_stale_state_is_a_conflict_and_commits_nothing() {
    let fs = MemFs::new();
    let a = Registry::create_with(Arc::new(fs.clone()), dir(), config(), objects(0)).unwrap();
    a.write_segment(
        &batch(&a, &[(1, 1), (2, 2), (3, 3), (4, 4)]),
        Default::default(),
    )
    .unwrap();
    let b = Registry::open(Arc::new(fs.clone()), dir()).unwrap().0;
    assert_eq!(delete(&a, "k = 1").unwrap(), 1);
    let before = fs.list_dir(&dir().join("part-0")).unwrap();

    // `b` computed its deletion vector without `a`'s: committing it would undelete k = 1.
    let err = delete(&b, "k = 2").unwrap_err();
    assert!(
        matches!(err, RegistryError::Conflict { .. }),
        "want a conflict, got {err:?}"
    );
    assert_eq!(
        fs.list_dir(&dir().join("part-0")).unwrap(),
        before,
        "the loser's deletion vector was left behind"
    );
    // The conflict read the winner's commit: the retry applies on top of it.
    assert_eq!(delete(&b, "k = 2").unwrap(), 1);
    a.refresh().unwrap();
    assert_eq!(keys(&a), vec![3, 4]);
    let r = Registry::open(Arc::new(fs), dir()).unwrap().0;
    assert_eq!(keys(&r), vec![3, 4]);
}

#[test]
fn an_older_version_opens_read_only_until_its_records_are_collected() {
    let fs = MemFs::new();
    let reg = Registry::create_with(Arc::new(fs.clone()), dir(), config(), objects(0)).unwrap();
    reg.write_segment(&batch(&reg, &[(1, 1)]), Default::default())
        .unwrap();
    let first = reg.state().version;
    reg.write_segment(&batch(&reg, &[(2, 2)]), Default::default())
        .unwrap();
    let at = |v: u64| {
        Registry::open_with(
            Arc::new(fs.clone()),
            dir(),
            OpenOptions {
                read_only: true,
                at_version: Some(v),
                ..OpenOptions::default()
            },
        )
    };
    let old = at(first).unwrap().0;
    assert_eq!(old.state().version, first);
    assert_eq!(keys(&old), vec![1]);
    assert!(matches!(
        at(first + 99).unwrap_err(),
        RegistryError::VersionUnavailable { .. }
    ));
    let writable = Registry::open_with(
        Arc::new(fs.clone()),
        dir(),
        OpenOptions {
            at_version: Some(first),
            ..OpenOptions::default()
        },
    );
    assert!(matches!(writable, Err(RegistryError::InvalidConfig(_))));

    // A checkpoint, then garbage collection with no retention period: the records it covers
    // go, the table still opens, the old version does not.
    reg.checkpoint().unwrap();
    let report = reg.collect_garbage(SystemTime::now()).unwrap();
    assert!(!report.removed.is_empty());
    assert!(record_versions(&fs).is_empty());
    assert!(matches!(
        at(first).unwrap_err(),
        RegistryError::VersionUnavailable { .. }
    ));
    let r = Registry::open(Arc::new(fs), dir()).unwrap().0;
    assert_eq!(keys(&r), vec![1, 2]);
}

#[test]
fn a_damaged_record_is_an_error_naming_it_or_is_set_aside_on_request() {
    let fs = FaultFs::new();
    let reg = Registry::create_with(Arc::new(fs.clone()), dir(), config(), objects(0)).unwrap();
    reg.write_segment(&batch(&reg, &[(1, 1)]), Default::default())
        .unwrap();
    reg.write_segment(&batch(&reg, &[(2, 2)]), Default::default())
        .unwrap();
    let last = reg.state().version;
    drop(reg);
    let key: PathBuf = dir().join(MANIFEST_DIR).join(record_object_name(last));
    let mut bytes = fs.contents(&key).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0x40;
    fs.set_contents(&key, bytes);

    let err = Registry::open(Arc::new(fs.clone()), dir()).unwrap_err();
    assert!(err.is_corruption(), "{err:?}");
    assert!(
        err.to_string().contains(&record_object_name(last)),
        "the error does not name the record: {err}"
    );

    let (r, report) = Registry::open_with(
        Arc::new(fs.clone()),
        dir(),
        OpenOptions {
            recovery: RecoveryMode::PointInTime,
            ..OpenOptions::default()
        },
    )
    .unwrap();
    assert_eq!(r.state().version, last - 1);
    assert!(report.torn_tail_discarded.is_some_and(|t| t.damaged));
    assert_eq!(report.quarantined.len(), 1);
    // The version is free again, and the table keeps working.
    r.write_segment(&batch(&r, &[(3, 3)]), Default::default())
        .unwrap();
    assert!(r.state().version >= last);
    assert!(record_versions(&fs).contains(&last));
    drop(r);
    let r = Registry::open(Arc::new(fs), dir()).unwrap().0;
    assert_eq!(keys(&r), vec![1, 3]);
}

#[test]
fn retired_files_outlive_the_retention_period_and_old_orphans_do_not() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("t");
    let fs: Arc<dyn FileSystem> = Arc::new(LocalFs);
    let reg = Registry::create_with(Arc::clone(&fs), &root, config(), objects(60_000)).unwrap();
    reg.write_segment(&batch(&reg, &[(1, 1), (2, 2), (3, 3)]), Default::default())
        .unwrap();
    let p = |q: &str| BoundPredicate::parse_and_bind(q, &schema()).unwrap();
    reg.delete(&p("k = 1")).unwrap();
    let first_dv = reg
        .state()
        .segments()
        .find_map(|s| s.deletion.as_ref().map(|d| d.file.clone()))
        .unwrap();
    reg.delete(&p("k = 2")).unwrap();
    // The second vector replaced the first, which a reader of the older version still needs.
    assert!(reg.state().retired.contains_key(&first_dv));
    assert!(root.join(&first_dv).exists());
    let stray = root.join("part-0").join("seg-999.strata");
    std::fs::write(&stray, b"a crashed writer's segment").unwrap();

    let now = SystemTime::now();
    let report = reg.collect_garbage(now).unwrap();
    assert!(report.removed.is_empty(), "{report:?}");
    assert!(root.join(&first_dv).exists() && stray.exists());

    let later = now + Duration::from_secs(61);
    let report = reg.collect_garbage(later).unwrap();
    assert_eq!(report.forgotten, 1);
    assert!(report.removed.contains(&root.join(&first_dv)));
    assert!(report.removed.contains(&stray));
    assert!(!root.join(&first_dv).exists() && !stray.exists());
    assert!(reg.state().retired.is_empty());
    drop(reg);
    let r = Registry::open(fs, &root).unwrap().0;
    assert!(r.state().retired.is_empty());
    assert_eq!(r.state().retention_ms, 60_000);
    assert_eq!(keys(&r), vec![3]);
}

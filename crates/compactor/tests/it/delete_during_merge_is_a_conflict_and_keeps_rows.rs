//! A delete that lands on an input while it is being merged makes the merge commit a conflict:
//! the delete is kept, the inputs stay live, the unused output is removed, and a later merge
//! succeeds.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::common::*;
use strata_compactor::{CompactionPolicy, Compactor, CompactorConfig, CompactorError};
use strata_format::{FaultFs, FileSystem, ReadAt, WritableFile};
use strata_partition_registry::{Registry, RegistryError};
use strata_predicate::BoundPredicate;

type Hook = Box<dyn FnOnce() + Send>;

/// FaultFs that runs a hook once, when a segment file is created while armed.
#[derive(Clone)]
struct HookFs {
    inner: FaultFs,
    hook: Arc<Mutex<Option<Hook>>>,
}

impl std::fmt::Debug for HookFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HookFs")
    }
}

impl FileSystem for HookFs {
    fn open_read(&self, p: &Path) -> strata_format::Result<Arc<dyn ReadAt>> {
        self.inner.open_read(p)
    }
    fn create(&self, p: &Path) -> strata_format::Result<Box<dyn WritableFile>> {
        let file = self.inner.create(p)?;
        if p.to_string_lossy().contains("seg-") {
            let hook = self.hook.lock().unwrap().take();
            if let Some(h) = hook {
                h();
            }
        }
        Ok(file)
    }
    fn rename(&self, a: &Path, b: &Path) -> strata_format::Result<()> {
        self.inner.rename(a, b)
    }
    fn remove_file(&self, p: &Path) -> strata_format::Result<()> {
        self.inner.remove_file(p)
    }
    fn sync_dir(&self, p: &Path) -> strata_format::Result<()> {
        self.inner.sync_dir(p)
    }
    fn create_dir_all(&self, p: &Path) -> strata_format::Result<()> {
        self.inner.create_dir_all(p)
    }
    fn list_dir(&self, p: &Path) -> strata_format::Result<Vec<PathBuf>> {
        self.inner.list_dir(p)
    }
    fn exists(&self, p: &Path) -> strata_format::Result<bool> {
        self.inner.exists(p)
    }
}

#[test]
fn delete_during_merge_is_a_merge_conflict_and_loses_nothing() {
    let fs = HookFs {
        inner: FaultFs::new(),
        hook: Arc::new(Mutex::new(None)),
    };
    let reg = Arc::new(Registry::create(Arc::new(fs.clone()), dir(), config()).unwrap());
    for i in 0..3 {
        reg.write_segment(&batch(&[(i, i), (i + 5, i + 10)]), Default::default())
            .unwrap();
    }
    let c = Compactor::open(Arc::clone(&reg), CompactorConfig::default()).unwrap();
    let policy = CompactionPolicy {
        max_segments: 2,
        ..CompactionPolicy::default()
    };
    let plan = c.plan(&policy).remove(0);
    assert_eq!(plan.inputs.len(), 3);

    // While the merge writes its output, a delete commits on one of its inputs.
    let r = Arc::clone(&reg);
    *fs.hook.lock().unwrap() = Some(Box::new(move || {
        let p = BoundPredicate::parse_and_bind("k = 11", &schema()).unwrap();
        assert_eq!(r.delete(&p).unwrap().rows_deleted, 1);
    }));
    let err = c.run_plan(&plan).unwrap_err();
    assert!(
        matches!(
            err,
            CompactorError::Registry(RegistryError::MergeConflict { .. })
        ),
        "{err}"
    );
    let state = reg.state();
    assert_eq!(state.segments().count(), 3, "the inputs stay live");
    let want: Vec<_> = [(0, 0), (1, 1), (2, 2), (5, 10), (7, 12)]
        .iter()
        .map(|&(ts, k)| (ts, k, Some(k * 10)))
        .collect();
    assert_eq!(rows(&reg), want, "the delete is kept");
    let (orphans, missing) = orphans_and_missing(&fs.inner, &reg);
    assert!(
        orphans.is_empty() && missing.is_empty(),
        "{orphans:?} {missing:?}"
    );

    // Planned again, the merge goes through and drops the deleted row.
    let plan = c.plan(&policy).remove(0);
    let report = c.run_plan(&plan).unwrap();
    assert_eq!(
        (report.rows_in, report.rows_deleted, report.rows_out),
        (6, 1, 5)
    );
    assert_eq!(rows(&reg), want);
    assert_eq!(scan_rows(c.snapshot().scan()), want);
    assert_files_are_referenced(&fs.inner, &reg);
}

//! The registry on the operating system's filesystem: partition folders, durable writes,
//! reopen, and removal of orphans (a crashed write's temporary file, an unreferenced segment).

use std::sync::Arc;

use crate::common::*;
use strata_format::{FileSystem, LocalFs};
use strata_partition_registry::Registry;
use strata_predicate::BoundPredicate;

#[test]
fn local_fs_round_trip_with_orphans() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("t");
    let fs: Arc<dyn FileSystem> = Arc::new(LocalFs);
    let r = Registry::create(Arc::clone(&fs), &dir, config()).unwrap();
    r.write_segment(&batch(&r, &[(1, 1), (2, 2)]), Default::default())
        .unwrap();
    r.write_segment(&batch(&r, &[(DAY + 1, 3)]), Default::default())
        .unwrap();
    r.delete(&BoundPredicate::parse_and_bind("k = 2", &schema()).unwrap())
        .unwrap();
    let want = (*r.state()).clone();
    let want_rows = rows(&r);
    drop(r);
    // Debris of a crashed write and merge.
    std::fs::write(dir.join("part-0/seg-999.strata.tmp"), b"partial").unwrap();
    std::fs::write(dir.join("part-0/seg-998.strata"), b"never committed").unwrap();
    std::fs::write(dir.join(".CHECKPOINT-9.tmp"), b"x").unwrap();
    let (r, report) = Registry::open(Arc::clone(&fs), &dir).unwrap();
    assert_eq!(*r.state(), want);
    assert_eq!(rows(&r), want_rows);
    let mut removed: Vec<String> = report
        .orphans_removed
        .iter()
        .map(|p| p.strip_prefix(&dir).unwrap().to_string_lossy().into_owned())
        .collect();
    removed.sort();
    assert!(
        removed.contains(&"part-0/seg-999.strata.tmp".to_string()),
        "{removed:?}"
    );
    assert!(removed.contains(&"part-0/seg-998.strata".to_string()));
    assert!(removed.contains(&".CHECKPOINT-9.tmp".to_string()));
    for f in r.referenced_files() {
        assert!(dir.join(&f).exists(), "{f}");
    }
}

//! The bandwidth probe file: removed after a measurement and after a failed write or fsync;
//! one a killed process left is recognised by its name and removed by `remove_stale_probes`,
//! which `Compactor::open` runs over a writable registry (never over a read-only one).

use crate::common;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use strata_compactor::{
    BANDWIDTH_PROBE_PREFIX, Compactor, CompactorConfig, CompactorError, measure_write_bandwidth,
    remove_stale_probes,
};
use strata_format::{FaultFs, FileSystem, FormatError, LocalFs, ReadAt, WritableFile};
use strata_partition_registry::{OpenOptions, Registry};

fn probes(fs: &dyn FileSystem, dir: &Path) -> Vec<PathBuf> {
    fs.list_dir(dir)
        .unwrap()
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(BANDWIDTH_PROBE_PREFIX))
        })
        .collect()
}

#[test]
fn measurement_on_a_local_disk_leaves_no_probe() {
    let dir = tempfile::tempdir().unwrap();
    let rate = measure_write_bandwidth(&LocalFs, dir.path(), 256 << 10).unwrap();
    assert!(rate >= 1_000_000);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// Where a [`FailingFs`] file gives up.
#[derive(Debug, Clone, Copy, PartialEq)]
enum FailAt {
    /// The second `write_all` (the device is full after the first chunk).
    Write,
    /// `sync`.
    Sync,
}

/// A [`FaultFs`] whose new files fail at [`FailAt`].
#[derive(Debug)]
struct FailingFs {
    inner: FaultFs,
    at: FailAt,
}

#[derive(Debug)]
struct FailingFile {
    inner: Box<dyn WritableFile>,
    at: FailAt,
    writes: usize,
}

fn failure(path: &str) -> FormatError {
    FormatError::io(
        path,
        std::io::Error::new(std::io::ErrorKind::StorageFull, "no space left on device"),
    )
}

impl WritableFile for FailingFile {
    fn write_all(&mut self, buf: &[u8]) -> strata_format::Result<()> {
        self.writes += 1;
        if self.at == FailAt::Write && self.writes > 1 {
            return Err(failure("probe"));
        }
        self.inner.write_all(buf)
    }
    fn sync(&mut self) -> strata_format::Result<()> {
        if self.at == FailAt::Sync {
            return Err(failure("probe"));
        }
        self.inner.sync()
    }
}

impl FileSystem for FailingFs {
    fn open_read(&self, path: &Path) -> strata_format::Result<Arc<dyn ReadAt>> {
        self.inner.open_read(path)
    }
    fn create(&self, path: &Path) -> strata_format::Result<Box<dyn WritableFile>> {
        Ok(Box::new(FailingFile {
            inner: self.inner.create(path)?,
            at: self.at,
            writes: 0,
        }))
    }
    fn rename(&self, from: &Path, to: &Path) -> strata_format::Result<()> {
        self.inner.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> strata_format::Result<()> {
        self.inner.remove_file(path)
    }
    fn sync_dir(&self, path: &Path) -> strata_format::Result<()> {
        self.inner.sync_dir(path)
    }
    fn create_dir_all(&self, path: &Path) -> strata_format::Result<()> {
        self.inner.create_dir_all(path)
    }
    fn list_dir(&self, path: &Path) -> strata_format::Result<Vec<PathBuf>> {
        self.inner.list_dir(path)
    }
    fn exists(&self, path: &Path) -> strata_format::Result<bool> {
        self.inner.exists(path)
    }
}

#[test]
fn failed_write_or_fsync_leaves_no_probe() {
    for at in [FailAt::Write, FailAt::Sync] {
        let fs = FailingFs {
            inner: FaultFs::new(),
            at,
        };
        let dir = common::dir();
        fs.create_dir_all(dir).unwrap();
        let err = measure_write_bandwidth(&fs, dir, 4 << 20).unwrap_err();
        let CompactorError::Io { path, .. } = &err else {
            panic!("{at:?}: {err}");
        };
        // The error names the probe, after its process.
        let name = path.file_name().unwrap().to_str().unwrap();
        assert_eq!(
            name,
            format!("{BANDWIDTH_PROBE_PREFIX}-{}.tmp", std::process::id()),
            "{at:?}"
        );
        assert_eq!(probes(&fs, dir), Vec::<PathBuf>::new(), "{at:?}: {err}");
        assert!(fs.inner.all_files().is_empty(), "{at:?}");
    }
}

/// Writes probes as processes killed mid-probe leave them: one named after its process, and
/// one of the name probes had before they carried it.
fn leave_stale_probes(fs: &FaultFs, dir: &Path) -> Vec<PathBuf> {
    let stale = vec![
        dir.join(BANDWIDTH_PROBE_PREFIX),
        dir.join(format!("{BANDWIDTH_PROBE_PREFIX}-4194305.tmp")),
    ];
    for p in &stale {
        let mut f = fs.create(p).unwrap();
        f.write_all(&[7; 4096]).unwrap();
        f.sync().unwrap();
    }
    fs.sync_dir(dir).unwrap();
    stale
}

#[test]
fn stale_probes_are_removed_and_nothing_else() {
    let fs = FaultFs::new();
    let reg = common::create(&fs);
    reg.write_segment(&common::batch(&[(1, 1), (2, 2)]), Default::default())
        .unwrap();
    let dir = common::dir();
    let table_files = fs.all_files();
    let stale = leave_stale_probes(&fs, dir);
    // This process's own probe name is left to its own measurement.
    let own = dir.join(format!(
        "{BANDWIDTH_PROBE_PREFIX}-{}.tmp",
        std::process::id()
    ));
    fs.create(&own).unwrap().sync().unwrap();
    assert_eq!(probes(&fs, dir).len(), 3);

    assert_eq!(remove_stale_probes(&fs, dir).unwrap(), stale);
    assert_eq!(probes(&fs, dir), vec![own]);
    assert_eq!(
        remove_stale_probes(&fs, dir).unwrap(),
        Vec::<PathBuf>::new()
    );

    // A measurement replaces its own and removes it; the table is as it was.
    measure_write_bandwidth(&fs, dir, 1 << 16).unwrap();
    assert_eq!(fs.all_files(), table_files);
    let c = Compactor::open(Arc::new(reg), CompactorConfig::default()).unwrap();
    assert_eq!(c.snapshot().live_rows(), 2);
}

#[test]
fn compactor_open_removes_stale_probes_unless_read_only() {
    let fs = FaultFs::new();
    let reg = common::create(&fs);
    reg.write_segment(&common::batch(&[(1, 1), (2, 2)]), Default::default())
        .unwrap();
    let reg = Arc::new(reg);
    let dir = common::dir();
    let stale = leave_stale_probes(&fs, dir);

    // A reader beside a live writer removes nothing: a probe may be the writer's.
    let (reader, _) = Registry::open_with(
        Arc::new(fs.clone()),
        dir,
        OpenOptions {
            read_only: true,
            ..OpenOptions::default()
        },
    )
    .unwrap();
    let before = fs.all_files();
    let c = Compactor::open(Arc::new(reader), CompactorConfig::default()).unwrap();
    assert_eq!(c.snapshot().live_rows(), 2);
    assert_eq!(fs.all_files(), before);
    assert_eq!(probes(&fs, dir), stale);

    // The writer's compactor does.
    let c = Compactor::open(reg, CompactorConfig::default()).unwrap();
    assert_eq!(probes(&fs, dir), Vec::<PathBuf>::new());
    assert_eq!(c.snapshot().live_rows(), 2);
}

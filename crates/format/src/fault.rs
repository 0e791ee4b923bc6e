//! A fault-injecting, crash-modelling in-memory filesystem for tests.
//!
//! [`FaultFs`] keeps two views of everything: what the process currently sees, and what would
//! survive a power cut. Each file has *durable* content (as of its last `sync`) and the bytes
//! written since (*volatile*); each directory has *durable* entries (as of its last `sync_dir`)
//! and pending creations, renames and removals. [`FaultFs::crash_after`] makes the `k+1`-th
//! mutating operation and everything after it fail with an injected I/O error (the process "dies"
//! there), and [`FaultFs::restart`] returns a filesystem holding only what was durable — exactly
//! what a real crash leaves behind under POSIX fsync semantics, without the luck that makes tests
//! on a real disk pass.
//!
//! Model details (the conservative choices a crash test needs):
//! * Only mutating operations count (`create`, `write_all`, `sync`, `rename`, `remove_file`,
//!   `sync_dir`, `create_dir_all`); reads do not, but after the crash point every operation,
//!   reads included, fails.
//! * `create` of an existing path makes a new, empty file; the old file keeps its durable
//!   content, so until the directory is synced a crash brings the old file back.
//! * A file's `sync` makes its content durable, not its name: a file created (or renamed) in a
//!   directory that was never synced afterwards disappears in a crash, whatever its content.
//! * Directories are implicit (a path prefix of a file, or made by `create_dir_all`) and their
//!   own existence is durable at once; only their entries follow the rules above.
//! * [`FaultFs::restart_torn`] keeps, per file, up to `n` of the volatile bytes (a torn write
//!   that partly reached the disk); [`FaultFs::restart`] keeps none.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;

use crate::error::{FormatError, Result};
use crate::fs::{FileSystem, ReadAt, WritableFile};

type InodeId = u64;

#[derive(Debug, Clone, Default)]
struct Inode {
    /// What a reader sees now.
    data: Vec<u8>,
    /// What survives a crash (content as of the last `sync`).
    durable: Vec<u8>,
}

#[derive(Debug, Default)]
struct State {
    inodes: BTreeMap<InodeId, Inode>,
    next_inode: InodeId,
    /// Current directory entries: path → inode.
    entries: BTreeMap<PathBuf, InodeId>,
    /// Durable directory entries: path → inode (as of each parent's last `sync_dir`).
    durable_entries: BTreeMap<PathBuf, InodeId>,
    /// Directories made by `create_dir_all` (durable at once).
    dirs: BTreeSet<PathBuf>,
    /// Mutating operations performed so far.
    ops: u64,
    /// Mutating operations allowed before the crash; `None` = never crash.
    crash_after: Option<u64>,
    crashed: bool,
    /// The mutating operation (by count) that fails once, as a full disk fails it.
    fail_at: Option<u64>,
}

impl State {
    fn gc(&mut self) {
        let live: BTreeSet<InodeId> = self
            .entries
            .values()
            .chain(self.durable_entries.values())
            .copied()
            .collect();
        self.inodes.retain(|id, _| live.contains(id));
    }
}

/// The crash-modelling filesystem. Cloning shares the same state. See the module documentation.
#[derive(Debug, Clone, Default)]
pub struct FaultFs {
    state: Arc<Mutex<State>>,
}

fn injected(path: &Path) -> FormatError {
    FormatError::io(
        path,
        std::io::Error::other("injected crash: the filesystem is down"),
    )
}

fn not_found(path: &Path) -> FormatError {
    FormatError::io(path, std::io::ErrorKind::NotFound.into())
}

impl FaultFs {
    /// An empty filesystem that never crashes until told to.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lets `k` more mutating operations succeed; the one after and every later operation fail.
    pub fn crash_after(&self, k: u64) {
        let mut s = self.lock();
        s.crash_after = Some(s.ops.saturating_add(k));
    }

    /// Lets `k` more mutating operations succeed, fails the next one as a full disk would
    /// (`ENOSPC`, nothing written), and lets every later one succeed: the process lives on.
    pub fn fail_once_after(&self, k: u64) {
        let mut s = self.lock();
        s.fail_at = Some(s.ops.saturating_add(k));
    }

    /// Crashes now: every later operation fails.
    pub fn crash(&self) {
        let mut s = self.lock();
        s.crash_after = Some(s.ops);
        s.crashed = true;
    }

    /// Whether the crash point has been reached (some operation was refused).
    pub fn has_crashed(&self) -> bool {
        self.lock().crashed
    }

    /// Mutating operations performed so far (successful ones).
    pub fn op_count(&self) -> u64 {
        self.lock().ops
    }

    /// A fresh filesystem holding only what was durable here; the original is left as it is.
    pub fn restart(&self) -> FaultFs {
        self.restart_torn(0)
    }

    /// Like [`FaultFs::restart`], but each durably named file also keeps up to `keep` of the
    /// bytes appended to it since its last `sync` (a torn write), when its durable content is a
    /// prefix of its current content.
    pub fn restart_torn(&self, keep: usize) -> FaultFs {
        let s = self.lock();
        let mut out = State {
            dirs: s.dirs.clone(),
            ..State::default()
        };
        for (path, id) in &s.durable_entries {
            let Some(inode) = s.inodes.get(id) else {
                continue;
            };
            let mut data = inode.durable.clone();
            if keep > 0 && inode.data.starts_with(&inode.durable) {
                let extra = &inode.data[inode.durable.len()..];
                data.extend_from_slice(&extra[..extra.len().min(keep)]);
            }
            let new_id = out.next_inode;
            out.next_inode += 1;
            out.inodes.insert(
                new_id,
                Inode {
                    data: data.clone(),
                    durable: data,
                },
            );
            out.entries.insert(path.clone(), new_id);
            out.durable_entries.insert(path.clone(), new_id);
        }
        FaultFs {
            state: Arc::new(Mutex::new(out)),
        }
    }

    /// Current content of `path`, if it exists (a test helper; counts as no operation).
    pub fn contents(&self, path: &Path) -> Option<Vec<u8>> {
        let s = self.lock();
        let id = s.entries.get(path)?;
        s.inodes.get(id).map(|i| i.data.clone())
    }

    /// Replaces the content of `path` durably, bypassing the model (for corruption tests).
    pub fn set_contents(&self, path: &Path, data: Vec<u8>) {
        let mut s = self.lock();
        let id = s.next_inode;
        s.next_inode += 1;
        s.inodes.insert(
            id,
            Inode {
                data: data.clone(),
                durable: data,
            },
        );
        s.entries.insert(path.to_path_buf(), id);
        s.durable_entries.insert(path.to_path_buf(), id);
        s.gc();
    }

    /// Every file path that currently exists, sorted.
    pub fn all_files(&self) -> Vec<PathBuf> {
        self.lock().entries.keys().cloned().collect()
    }

    /// Counts one mutating operation, or refuses it past the crash point.
    fn step(s: &mut State, path: &Path) -> Result<()> {
        if s.crashed {
            return Err(injected(path));
        }
        if s.crash_after.is_some_and(|limit| s.ops >= limit) {
            s.crashed = true;
            return Err(injected(path));
        }
        if s.fail_at == Some(s.ops) {
            s.fail_at = None;
            return Err(FormatError::io(
                path,
                std::io::Error::from_raw_os_error(28), // ENOSPC
            ));
        }
        s.ops += 1;
        Ok(())
    }

    fn check_alive(s: &State, path: &Path) -> Result<()> {
        if s.crashed {
            Err(injected(path))
        } else {
            Ok(())
        }
    }
}

#[derive(Debug)]
struct FaultWriteFile {
    path: PathBuf,
    inode: InodeId,
    fs: FaultFs,
}

impl WritableFile for FaultWriteFile {
    fn write_all(&mut self, buf: &[u8]) -> Result<()> {
        let mut s = self.fs.lock();
        FaultFs::step(&mut s, &self.path)?;
        let inode = s
            .inodes
            .get_mut(&self.inode)
            .ok_or_else(|| not_found(&self.path))?;
        inode.data.extend_from_slice(buf);
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        let mut s = self.fs.lock();
        FaultFs::step(&mut s, &self.path)?;
        let inode = s
            .inodes
            .get_mut(&self.inode)
            .ok_or_else(|| not_found(&self.path))?;
        inode.durable = inode.data.clone();
        Ok(())
    }
}

impl FileSystem for FaultFs {
    /// One mutating operation, atomic and durable (file and entry) when it succeeds, as
    /// `LocalFs`'s link-based create is once it returns.
    fn put_if_absent(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let mut s = self.lock();
        Self::step(&mut s, path)?;
        if s.entries.contains_key(path) {
            return Err(FormatError::io(
                path,
                std::io::ErrorKind::AlreadyExists.into(),
            ));
        }
        let id = s.next_inode;
        s.next_inode += 1;
        s.inodes.insert(
            id,
            Inode {
                data: bytes.to_vec(),
                durable: bytes.to_vec(),
            },
        );
        s.entries.insert(path.to_path_buf(), id);
        s.durable_entries.insert(path.to_path_buf(), id);
        Ok(())
    }

    fn open_read(&self, path: &Path) -> Result<Arc<dyn ReadAt>> {
        let s = self.lock();
        Self::check_alive(&s, path)?;
        let id = s.entries.get(path).ok_or_else(|| not_found(path))?;
        let inode = s.inodes.get(id).ok_or_else(|| not_found(path))?;
        Ok(Arc::new(Bytes::from(inode.data.clone())))
    }

    fn create(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        let mut s = self.lock();
        Self::step(&mut s, path)?;
        let id = s.next_inode;
        s.next_inode += 1;
        s.inodes.insert(id, Inode::default());
        s.entries.insert(path.to_path_buf(), id);
        s.gc();
        Ok(Box::new(FaultWriteFile {
            path: path.to_path_buf(),
            inode: id,
            fs: self.clone(),
        }))
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        let mut s = self.lock();
        Self::step(&mut s, from)?;
        let id = s.entries.remove(from).ok_or_else(|| not_found(from))?;
        s.entries.insert(to.to_path_buf(), id);
        s.gc();
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> Result<()> {
        let mut s = self.lock();
        Self::step(&mut s, path)?;
        s.entries.remove(path).ok_or_else(|| not_found(path))?;
        s.gc();
        Ok(())
    }

    fn sync_dir(&self, path: &Path) -> Result<()> {
        let mut s = self.lock();
        Self::step(&mut s, path)?;
        let in_dir = |p: &Path| p.parent() == Some(path);
        s.durable_entries.retain(|p, _| !in_dir(p));
        let now: Vec<(PathBuf, InodeId)> = s
            .entries
            .iter()
            .filter(|(p, _)| in_dir(p))
            .map(|(p, id)| (p.clone(), *id))
            .collect();
        s.durable_entries.extend(now);
        s.gc();
        Ok(())
    }

    fn create_dir_all(&self, path: &Path) -> Result<()> {
        let mut s = self.lock();
        Self::step(&mut s, path)?;
        s.dirs.insert(path.to_path_buf());
        Ok(())
    }

    fn list_dir(&self, path: &Path) -> Result<Vec<PathBuf>> {
        let s = self.lock();
        Self::check_alive(&s, path)?;
        let children = |p: &PathBuf| -> Option<PathBuf> {
            let rest = p.strip_prefix(path).ok()?;
            let first = rest.components().next()?;
            Some(path.join(first))
        };
        let set: BTreeSet<PathBuf> = s
            .entries
            .keys()
            .chain(s.dirs.iter())
            .filter_map(children)
            .collect();
        Ok(set.into_iter().collect())
    }

    fn exists(&self, path: &Path) -> Result<bool> {
        let s = self.lock();
        Self::check_alive(&s, path)?;
        Ok(s.entries.keys().any(|p| p.starts_with(path))
            || s.dirs.iter().any(|d| d.starts_with(path)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::write_durably;

    fn read(fs: &FaultFs, p: &str) -> Option<Vec<u8>> {
        fs.contents(Path::new(p))
    }

    #[test]
    fn unsynced_bytes_are_lost_and_synced_bytes_survive() {
        let fs = FaultFs::new();
        let mut f = fs.create(Path::new("/d/a")).unwrap();
        f.write_all(b"abc").unwrap();
        f.sync().unwrap();
        fs.sync_dir(Path::new("/d")).unwrap();
        f.write_all(b"def").unwrap();
        assert_eq!(read(&fs, "/d/a").unwrap(), b"abcdef");
        let after = fs.restart();
        assert_eq!(read(&after, "/d/a").unwrap(), b"abc");
        let torn = fs.restart_torn(2);
        assert_eq!(read(&torn, "/d/a").unwrap(), b"abcde");
    }

    #[test]
    fn creation_without_dir_sync_is_lost_even_when_file_synced() {
        let fs = FaultFs::new();
        let mut f = fs.create(Path::new("/d/a")).unwrap();
        f.write_all(b"abc").unwrap();
        f.sync().unwrap();
        assert!(read(&fs.restart(), "/d/a").is_none());
        fs.sync_dir(Path::new("/d")).unwrap();
        assert_eq!(read(&fs.restart(), "/d/a").unwrap(), b"abc");
    }

    #[test]
    fn dir_sync_without_file_sync_keeps_an_empty_file() {
        let fs = FaultFs::new();
        let mut f = fs.create(Path::new("/d/a")).unwrap();
        f.write_all(b"abc").unwrap();
        fs.sync_dir(Path::new("/d")).unwrap();
        assert_eq!(read(&fs.restart(), "/d/a").unwrap(), b"");
    }

    #[test]
    fn rename_without_dir_sync_is_undone_by_a_crash() {
        let fs = FaultFs::new();
        write_durably(&fs, Path::new("/d"), "x", b"old").unwrap();
        let mut f = fs.create(Path::new("/d/x.tmp")).unwrap();
        f.write_all(b"new").unwrap();
        f.sync().unwrap();
        fs.rename(Path::new("/d/x.tmp"), Path::new("/d/x")).unwrap();
        assert_eq!(read(&fs, "/d/x").unwrap(), b"new");
        let after = fs.restart();
        assert_eq!(read(&after, "/d/x").unwrap(), b"old");
        assert!(read(&after, "/d/x.tmp").is_none());
        fs.sync_dir(Path::new("/d")).unwrap();
        let after = fs.restart();
        assert_eq!(read(&after, "/d/x").unwrap(), b"new");
        assert_eq!(after.all_files(), vec![PathBuf::from("/d/x")]);
    }

    #[test]
    fn removal_without_dir_sync_is_undone_by_a_crash() {
        let fs = FaultFs::new();
        write_durably(&fs, Path::new("/d"), "x", b"keep").unwrap();
        fs.remove_file(Path::new("/d/x")).unwrap();
        assert!(!fs.exists(Path::new("/d/x")).unwrap());
        assert_eq!(read(&fs.restart(), "/d/x").unwrap(), b"keep");
        fs.sync_dir(Path::new("/d")).unwrap();
        assert!(read(&fs.restart(), "/d/x").is_none());
    }

    #[test]
    fn recreating_a_path_keeps_the_old_durable_file_until_dir_sync() {
        let fs = FaultFs::new();
        write_durably(&fs, Path::new("/d"), "x", b"old").unwrap();
        let mut f = fs.create(Path::new("/d/x")).unwrap();
        f.write_all(b"new").unwrap();
        f.sync().unwrap();
        assert_eq!(read(&fs.restart(), "/d/x").unwrap(), b"old");
        fs.sync_dir(Path::new("/d")).unwrap();
        assert_eq!(read(&fs.restart(), "/d/x").unwrap(), b"new");
    }

    #[test]
    fn sync_dir_only_covers_its_own_entries() {
        let fs = FaultFs::new();
        for p in ["/d/a", "/d/sub/b"] {
            let mut f = fs.create(Path::new(p)).unwrap();
            f.sync().unwrap();
        }
        fs.sync_dir(Path::new("/d")).unwrap();
        let after = fs.restart();
        assert_eq!(after.all_files(), vec![PathBuf::from("/d/a")]);
    }

    #[test]
    fn crash_after_k_refuses_operation_k_plus_one_and_everything_after() {
        let fs = FaultFs::new();
        fs.crash_after(2);
        let mut f = fs.create(Path::new("/d/a")).unwrap(); // op 1
        f.write_all(b"x").unwrap(); // op 2
        assert!(!fs.has_crashed());
        let err = f.sync().unwrap_err(); // op 3: refused
        assert!(matches!(err, FormatError::Io { .. }));
        assert!(fs.has_crashed());
        assert!(fs.list_dir(Path::new("/d")).is_err());
        assert!(fs.open_read(Path::new("/d/a")).is_err());
        assert!(fs.create(Path::new("/d/b")).is_err());
        assert_eq!(fs.op_count(), 2);
        // The restarted filesystem works and holds nothing (nothing was durable).
        let after = fs.restart();
        assert!(after.all_files().is_empty());
        after.create(Path::new("/d/c")).unwrap();
    }

    #[test]
    fn crash_now_and_op_count() {
        let fs = FaultFs::new();
        write_durably(&fs, Path::new("/d"), "x", b"1").unwrap();
        // create, write, sync, rename, sync_dir
        assert_eq!(fs.op_count(), 5);
        fs.crash();
        assert!(write_durably(&fs, Path::new("/d"), "y", b"2").is_err());
        assert_eq!(read(&fs.restart(), "/d/x").unwrap(), b"1");
    }

    #[test]
    fn write_durably_is_atomic_at_every_crash_point() {
        for k in 0..6 {
            let fs = FaultFs::new();
            write_durably(&fs, Path::new("/d"), "x", b"old").unwrap();
            fs.crash_after(k);
            let ok = write_durably(&fs, Path::new("/d"), "x", b"new").is_ok();
            let after = fs.restart();
            let got = read(&after, "/d/x").unwrap();
            if ok {
                assert_eq!(got, b"new", "k={k}");
            } else {
                // Either version, never a mix or an empty file.
                assert!(got == b"old" || got == b"new", "k={k}: {got:?}");
            }
        }
    }

    #[test]
    fn list_dir_and_exists_see_files_and_made_dirs() {
        let fs = FaultFs::new();
        fs.create_dir_all(Path::new("/t/p1")).unwrap();
        fs.create(Path::new("/t/a")).unwrap();
        assert_eq!(
            fs.list_dir(Path::new("/t")).unwrap(),
            vec![PathBuf::from("/t/a"), PathBuf::from("/t/p1")]
        );
        assert!(fs.exists(Path::new("/t/p1")).unwrap());
        assert!(!fs.exists(Path::new("/t/zz")).unwrap());
        // Made directories survive a crash (their existence is modelled as durable).
        assert!(fs.restart().exists(Path::new("/t/p1")).unwrap());
    }
}

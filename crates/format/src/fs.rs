//! The filesystem trait every read and durable write of this crate goes through.
//!
//! Keeping I/O behind [`FileSystem`] lets later layers inject crashes into every write (a
//! fault-injecting filesystem that drops un-fsynced data) and put segments on object storage.
//! [`LocalFs`] is the operating system's filesystem; [`MemFs`] keeps files in memory.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;

use crate::error::{FormatError, Result};

/// A file opened for positional reads.
pub trait ReadAt: Send + Sync + Debug {
    /// Reads exactly `len` bytes at `offset`; reading past the end is an error.
    fn read_at(&self, offset: u64, len: usize) -> Result<Bytes>;
    /// The file's length in bytes.
    fn len(&self) -> u64;
    /// True for an empty file.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Whether requests cost more than bytes (an object store): readers then fetch what they
    /// will need together ([`ReadAt::read_ranges`]) rather than one piece at a time.
    fn prefers_few_requests(&self) -> bool {
        false
    }
    /// Whether the file's bytes are held in memory, read once (a small local file read whole
    /// at open, bytes handed over): a read returns what the first returned, so a reader may
    /// check a block's CRC once ([`crate::Segment`] checks a held segment's blocks at open).
    fn held(&self) -> bool {
        false
    }
    /// Reads several ranges at once (an object store fetches them in few requests, merging
    /// near ones); the default reads them one by one.
    fn read_ranges(&self, ranges: &[std::ops::Range<u64>]) -> Result<Vec<Bytes>> {
        ranges
            .iter()
            .map(|r| {
                let len = usize::try_from(r.end.saturating_sub(r.start)).unwrap_or(usize::MAX);
                self.read_at(r.start, len)
            })
            .collect()
    }
}

/// A file opened for appending.
pub trait WritableFile: Send + Debug {
    /// Appends all of `buf`.
    fn write_all(&mut self, buf: &[u8]) -> Result<()>;
    /// Makes everything written so far durable (fsync).
    fn sync(&mut self) -> Result<()>;
    /// Hands everything written so far to the operating system (it then survives a crash of
    /// this process, not a power loss). Files that buffer nothing in the process need not
    /// override it.
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

/// What a [`FileSystem`] can do cheaply and atomically; the layers above choose their protocol
/// by it (a local disk: temp + fsync + rename and an append-only manifest log; an object store:
/// every file written once to its final name and one manifest object per version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// `rename` replaces its target atomically. On an object store it is a copy and a delete,
    /// so files are written once, whole, to their final name instead.
    pub atomic_rename: bool,
    /// A file can be appended to and synced again and again (a log). An object store writes
    /// whole objects only.
    pub append: bool,
}

impl Capabilities {
    /// A local filesystem: atomic rename and durable appends.
    pub const LOCAL: Capabilities = Capabilities {
        atomic_rename: true,
        append: true,
    };
    /// An object store: neither.
    pub const OBJECT_STORE: Capabilities = Capabilities {
        atomic_rename: false,
        append: false,
    };
}

/// True when `e` says the file already existed (a lost [`FileSystem::put_if_absent`] race).
pub fn is_already_exists(e: &FormatError) -> bool {
    matches!(e, FormatError::Io { source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists)
}

/// True when `e` says the file does not exist.
pub fn is_not_found(e: &FormatError) -> bool {
    matches!(e, FormatError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
}

/// The operations Strata needs from a filesystem.
pub trait FileSystem: Send + Sync + Debug {
    /// What it can do; the default is a local filesystem's [`Capabilities::LOCAL`].
    fn capabilities(&self) -> Capabilities {
        Capabilities::LOCAL
    }
    /// Creates `path` holding `bytes`, durably (file and directory entry), only if no file
    /// exists there: the conditional create that two writers racing for one name cannot both
    /// win. The loser gets an I/O error of kind `AlreadyExists` ([`is_already_exists`]) and
    /// nothing changes. The default refuses with kind `Unsupported`.
    fn put_if_absent(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let _ = bytes;
        Err(FormatError::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "this filesystem has no conditional create",
            ),
        ))
    }
    /// When `path` was last written, if the filesystem knows (orphan collection spares files
    /// younger than the retention period: a live writer's staged files look the same).
    fn modified(&self, path: &Path) -> Result<Option<std::time::SystemTime>> {
        let _ = path;
        Ok(None)
    }
    /// Opens `path` for positional reads.
    fn open_read(&self, path: &Path) -> Result<Arc<dyn ReadAt>>;
    /// Opens `path` for positional reads, telling the filesystem that its last `suffix` bytes
    /// (or the whole file, if shorter) are read first. Where a request costs more than its
    /// bytes (an object store) the file's length and that suffix come in one request, and
    /// reads inside the suffix cost none; a segment's tail and footer are there. The default
    /// is [`Self::open_read`].
    fn open_read_suffix(&self, path: &Path, suffix: u64) -> Result<Arc<dyn ReadAt>> {
        let _ = suffix;
        self.open_read(path)
    }
    /// Creates (or truncates) `path` for writing.
    fn create(&self, path: &Path) -> Result<Box<dyn WritableFile>>;
    /// Atomically renames `from` to `to`, replacing `to`.
    fn rename(&self, from: &Path, to: &Path) -> Result<()>;
    /// Removes a file.
    fn remove_file(&self, path: &Path) -> Result<()>;
    /// Makes the directory's entries (creations, renames, removals) durable.
    fn sync_dir(&self, path: &Path) -> Result<()>;
    /// Creates a directory and its parents.
    fn create_dir_all(&self, path: &Path) -> Result<()>;
    /// Paths of the entries of a directory, sorted.
    fn list_dir(&self, path: &Path) -> Result<Vec<PathBuf>>;
    /// Whether `path` exists.
    fn exists(&self, path: &Path) -> Result<bool>;
}

/// Writes `bytes` to `dir/name` durably: a temporary file, fsync, rename, fsync of the directory.
/// On error the temporary file is removed (best effort) and `dir/name` is untouched. Without
/// an atomic rename ([`Capabilities::atomic_rename`], an object store) the file is written
/// whole to `dir/name` in one step, which is atomic there.
pub fn write_durably(fs: &dyn FileSystem, dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    let dst = dir.join(name);
    if !fs.capabilities().atomic_rename {
        let mut f = fs.create(&dst)?;
        f.write_all(bytes)?;
        f.sync()?;
        return Ok(dst);
    }
    let tmp = dir.join(format!(".{name}.tmp"));
    let attempt = (|| {
        let mut f = fs.create(&tmp)?;
        f.write_all(bytes)?;
        f.sync()?;
        drop(f);
        fs.rename(&tmp, &dst)?;
        fs.sync_dir(dir)
    })();
    match attempt {
        Ok(()) => Ok(dst),
        Err(e) => {
            if fs.exists(&tmp).unwrap_or(false) {
                // The original error matters more than a failed cleanup.
                let _ = fs.remove_file(&tmp);
            }
            Err(e)
        }
    }
}

/// `len` bytes of `bytes` at `offset`, a slice; past the end, an `UnexpectedEof` naming `path`.
fn slice_at(bytes: &Bytes, offset: u64, len: usize, path: &Path) -> Result<Bytes> {
    let start = usize::try_from(offset).ok();
    match start.and_then(|s| Some(s..s.checked_add(len)?)) {
        Some(r) if r.end <= bytes.len() => Ok(bytes.slice(r)),
        _ => Err(FormatError::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "read of {len} bytes at {offset} past the end ({})",
                    bytes.len()
                ),
            ),
        )),
    }
}

impl ReadAt for Bytes {
    fn read_at(&self, offset: u64, len: usize) -> Result<Bytes> {
        slice_at(self, offset, len, Path::new("<memory>"))
    }
    fn len(&self) -> u64 {
        Bytes::len(self) as u64
    }
}

impl WritableFile for Vec<u8> {
    fn write_all(&mut self, buf: &[u8]) -> Result<()> {
        self.extend_from_slice(buf);
        Ok(())
    }
    fn sync(&mut self) -> Result<()> {
        Ok(())
    }
}

impl<W: WritableFile + ?Sized> WritableFile for Box<W> {
    fn write_all(&mut self, buf: &[u8]) -> Result<()> {
        (**self).write_all(buf)
    }
    fn sync(&mut self) -> Result<()> {
        (**self).sync()
    }
    fn flush(&mut self) -> Result<()> {
        (**self).flush()
    }
}

/// Makes the temporary names of concurrent [`LocalFs::put_if_absent`] calls distinct.
static UNIQUE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The operating system's filesystem.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalFs;

#[derive(Debug)]
struct LocalReadFile {
    path: PathBuf,
    file: File,
    len: u64,
}

impl LocalReadFile {
    fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| FormatError::io(path, e))?;
        let len = file.metadata().map_err(|e| FormatError::io(path, e))?.len();
        Ok(Self {
            path: path.to_path_buf(),
            file,
            len,
        })
    }
}

impl ReadAt for LocalReadFile {
    fn read_at(&self, offset: u64, len: usize) -> Result<Bytes> {
        let end = offset.checked_add(len as u64);
        if end.is_none_or(|e| e > self.len) {
            return Err(FormatError::io(
                &self.path,
                std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!(
                        "read of {len} bytes at {offset} past the end ({})",
                        self.len
                    ),
                ),
            ));
        }
        let mut buf = vec![0u8; len];
        read_exact_at(&self.file, &mut buf, offset).map_err(|e| FormatError::io(&self.path, e))?;
        Ok(Bytes::from(buf))
    }
    fn len(&self) -> u64 {
        self.len
    }
}

/// Largest file [`LocalFs::open_read_suffix`] reads whole into memory: small enough that a
/// table of thousands of small segments holds a few tens of megabytes, large enough for a
/// month of an hourly table of twenty columns.
pub const LOCAL_READ_WHOLE: u64 = 32 * 1024;

/// A small local file read whole at open ([`LocalFs::open_read_suffix`]).
#[derive(Debug)]
struct LocalWholeFile {
    path: PathBuf,
    bytes: Bytes,
}

impl ReadAt for LocalWholeFile {
    fn read_at(&self, offset: u64, len: usize) -> Result<Bytes> {
        slice_at(&self.bytes, offset, len, &self.path)
    }
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }
    fn held(&self) -> bool {
        true
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_read(file, buf, offset)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf = &mut buf[n..];
        offset += n as u64;
    }
    Ok(())
}

#[derive(Debug)]
struct LocalWriteFile {
    path: PathBuf,
    file: std::io::BufWriter<File>,
}

impl WritableFile for LocalWriteFile {
    fn write_all(&mut self, buf: &[u8]) -> Result<()> {
        self.file
            .write_all(buf)
            .map_err(|e| FormatError::io(&self.path, e))
    }
    fn sync(&mut self) -> Result<()> {
        self.file
            .flush()
            .map_err(|e| FormatError::io(&self.path, e))?;
        self.file
            .get_ref()
            .sync_all()
            .map_err(|e| FormatError::io(&self.path, e))
    }
    fn flush(&mut self) -> Result<()> {
        self.file
            .flush()
            .map_err(|e| FormatError::io(&self.path, e))
    }
}

impl FileSystem for LocalFs {
    /// Temp file, fsync, `link` to `path` (which fails if it exists), removal of the temp
    /// file, directory fsync.
    fn put_if_absent(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
        let tmp = dir.join(format!(
            ".{name}.{}.{}.tmp",
            std::process::id(),
            UNIQUE.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let attempt = (|| {
            let mut f = self.create(&tmp)?;
            f.write_all(bytes)?;
            f.sync()?;
            drop(f);
            std::fs::hard_link(&tmp, path).map_err(|e| FormatError::io(path, e))
        })();
        let _ = std::fs::remove_file(&tmp);
        attempt?;
        self.sync_dir(dir)
    }
    fn modified(&self, path: &Path) -> Result<Option<std::time::SystemTime>> {
        let m = std::fs::metadata(path).map_err(|e| FormatError::io(path, e))?;
        Ok(m.modified().ok())
    }
    fn open_read(&self, path: &Path) -> Result<Arc<dyn ReadAt>> {
        Ok(Arc::new(LocalReadFile::open(path)?))
    }
    /// A file no longer than `suffix` nor [`LOCAL_READ_WHOLE`] bytes is read whole with one
    /// read and held in memory (no descriptor stays open, later reads are slices of it); a
    /// longer one is [`Self::open_read`]. A table of many small segments (a partitioned
    /// table) then costs one system call a segment instead of one at open and one per read.
    fn open_read_suffix(&self, path: &Path, suffix: u64) -> Result<Arc<dyn ReadAt>> {
        let file = LocalReadFile::open(path)?;
        if file.len > suffix.min(LOCAL_READ_WHOLE) {
            return Ok(Arc::new(file));
        }
        Ok(Arc::new(LocalWholeFile {
            bytes: file.read_at(0, usize::try_from(file.len).unwrap_or(usize::MAX))?,
            path: file.path,
        }))
    }
    fn create(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| FormatError::io(path, e))?;
        Ok(Box::new(LocalWriteFile {
            path: path.to_path_buf(),
            file: std::io::BufWriter::with_capacity(1 << 16, file),
        }))
    }
    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        std::fs::rename(from, to).map_err(|e| FormatError::io(from, e))
    }
    fn remove_file(&self, path: &Path) -> Result<()> {
        std::fs::remove_file(path).map_err(|e| FormatError::io(path, e))
    }
    fn sync_dir(&self, path: &Path) -> Result<()> {
        #[cfg(unix)]
        {
            File::open(path)
                .and_then(|d| d.sync_all())
                .map_err(|e| FormatError::io(path, e))
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            Ok(())
        }
    }
    fn create_dir_all(&self, path: &Path) -> Result<()> {
        std::fs::create_dir_all(path).map_err(|e| FormatError::io(path, e))
    }
    fn list_dir(&self, path: &Path) -> Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(path).map_err(|e| FormatError::io(path, e))? {
            out.push(entry.map_err(|e| FormatError::io(path, e))?.path());
        }
        out.sort();
        Ok(out)
    }
    fn exists(&self, path: &Path) -> Result<bool> {
        path.try_exists().map_err(|e| FormatError::io(path, e))
    }
}

/// An in-memory filesystem (tests, and the base a fault-injecting filesystem can wrap).
/// Directories are implicit: every path prefix of a file is a directory.
#[derive(Debug, Clone, Default)]
pub struct MemFs {
    files: Arc<Mutex<BTreeMap<PathBuf, Bytes>>>,
}

impl MemFs {
    /// An empty filesystem.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<PathBuf, Bytes>> {
        self.files.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn not_found(path: &Path) -> FormatError {
        FormatError::io(path, std::io::ErrorKind::NotFound.into())
    }
}

#[derive(Debug)]
struct MemWriteFile {
    path: PathBuf,
    buf: Vec<u8>,
    files: Arc<Mutex<BTreeMap<PathBuf, Bytes>>>,
}

impl WritableFile for MemWriteFile {
    fn write_all(&mut self, buf: &[u8]) -> Result<()> {
        self.buf.extend_from_slice(buf);
        Ok(())
    }
    fn sync(&mut self) -> Result<()> {
        self.flush()
    }
    fn flush(&mut self) -> Result<()> {
        self.files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(self.path.clone(), Bytes::from(self.buf.clone()));
        Ok(())
    }
}

impl FileSystem for MemFs {
    fn put_if_absent(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let mut files = self.lock();
        if files.contains_key(path) {
            return Err(FormatError::io(
                path,
                std::io::ErrorKind::AlreadyExists.into(),
            ));
        }
        files.insert(path.to_path_buf(), Bytes::copy_from_slice(bytes));
        Ok(())
    }
    fn open_read(&self, path: &Path) -> Result<Arc<dyn ReadAt>> {
        let bytes = self
            .lock()
            .get(path)
            .cloned()
            .ok_or_else(|| Self::not_found(path))?;
        Ok(Arc::new(bytes))
    }
    /// The file appears empty at once; its contents become visible at each `flush` or `sync`.
    fn create(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        self.lock().insert(path.to_path_buf(), Bytes::new());
        Ok(Box::new(MemWriteFile {
            path: path.to_path_buf(),
            buf: Vec::new(),
            files: Arc::clone(&self.files),
        }))
    }
    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        let mut files = self.lock();
        let b = files.remove(from).ok_or_else(|| Self::not_found(from))?;
        files.insert(to.to_path_buf(), b);
        Ok(())
    }
    fn remove_file(&self, path: &Path) -> Result<()> {
        self.lock()
            .remove(path)
            .map(|_| ())
            .ok_or_else(|| Self::not_found(path))
    }
    fn sync_dir(&self, _path: &Path) -> Result<()> {
        Ok(())
    }
    fn create_dir_all(&self, _path: &Path) -> Result<()> {
        Ok(())
    }
    fn list_dir(&self, path: &Path) -> Result<Vec<PathBuf>> {
        let mut out: Vec<PathBuf> = self
            .lock()
            .keys()
            .filter_map(|p| {
                let rest = p.strip_prefix(path).ok()?;
                let first = rest.components().next()?;
                Some(path.join(first))
            })
            .collect();
        out.dedup();
        Ok(out)
    }
    fn exists(&self, path: &Path) -> Result<bool> {
        Ok(self.lock().keys().any(|p| p.starts_with(path)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_durably_then_read_back_on_local_fs() {
        let dir = tempfile::tempdir().unwrap();
        let fs = LocalFs;
        let p = write_durably(&fs, dir.path(), "a.seg", b"hello world").unwrap();
        let f = fs.open_read(&p).unwrap();
        assert_eq!(f.len(), 11);
        assert_eq!(&f.read_at(6, 5).unwrap()[..], b"world");
        assert!(f.read_at(7, 5).is_err());
        assert_eq!(fs.list_dir(dir.path()).unwrap(), vec![p.clone()]);
        assert!(fs.exists(&p).unwrap());
        fs.remove_file(&p).unwrap();
        assert!(!fs.exists(&p).unwrap());
    }

    #[test]
    fn open_read_suffix_holds_a_small_file_and_reads_a_large_one_in_place() {
        // Overwrites the first bytes of `p` in place (same file, no rename).
        fn scribble(p: &Path) {
            use std::io::{Seek, Write};
            let mut f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
            f.seek(std::io::SeekFrom::Start(0)).unwrap();
            f.write_all(b"XXXX").unwrap();
            f.sync_all().unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let fs = LocalFs;
        let small: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let p = write_durably(&fs, dir.path(), "small.seg", &small).unwrap();
        let held = fs.open_read_suffix(&p, SEGMENT_SUFFIX).unwrap();
        let in_place = fs.open_read_suffix(&p, 999).unwrap();
        assert_eq!((held.len(), in_place.len()), (1000, 1000));
        assert_eq!(&held.read_at(0, 1000).unwrap()[..], &small[..]);
        assert_eq!(&held.read_at(998, 2).unwrap()[..], &small[998..]);
        let err = held.read_at(999, 2).unwrap_err().to_string();
        assert!(
            err.contains("small.seg") && err.contains("past the end"),
            "{err}"
        );
        assert!(held.read_at(u64::MAX, 1).is_err());
        // A file no longer than the suffix is held as it was opened; one longer than the
        // suffix asked for (or than LOCAL_READ_WHOLE) is read from the file at each read.
        scribble(&p);
        assert_eq!(&held.read_at(0, 4).unwrap()[..], &small[..4]);
        assert_eq!(&in_place.read_at(0, 4).unwrap()[..], b"XXXX");

        let large: Vec<u8> = (0..=255u8)
            .cycle()
            .take(LOCAL_READ_WHOLE as usize + 1)
            .collect();
        let p = write_durably(&fs, dir.path(), "large.seg", &large).unwrap();
        let f = fs.open_read_suffix(&p, SEGMENT_SUFFIX).unwrap();
        assert_eq!(f.len(), large.len() as u64);
        assert_eq!(&f.read_at(100, 50).unwrap()[..], &large[100..150]);
        scribble(&p);
        assert_eq!(&f.read_at(0, 6).unwrap()[..], b"XXXX\x04\x05");
        assert!(
            fs.open_read_suffix(&dir.path().join("none"), SEGMENT_SUFFIX)
                .is_err()
        );
    }

    /// What [`crate::Segment::open`] asks for.
    const SEGMENT_SUFFIX: u64 = crate::SEGMENT_OPEN_SUFFIX;

    #[test]
    fn write_durably_on_mem_fs_leaves_no_temp_file() {
        let fs = MemFs::new();
        let dir = Path::new("/d");
        write_durably(&fs, dir, "x", b"abc").unwrap();
        assert_eq!(fs.list_dir(dir).unwrap(), vec![dir.join("x")]);
        assert_eq!(
            &fs.open_read(&dir.join("x")).unwrap().read_at(0, 3).unwrap()[..],
            b"abc"
        );
    }

    #[derive(Debug)]
    struct FailingSyncFs(MemFs);
    #[derive(Debug)]
    struct FailingFile;
    impl WritableFile for FailingFile {
        fn write_all(&mut self, _: &[u8]) -> Result<()> {
            Ok(())
        }
        fn sync(&mut self) -> Result<()> {
            Err(FormatError::io("x", std::io::Error::other("disk full")))
        }
    }
    impl FileSystem for FailingSyncFs {
        fn open_read(&self, p: &Path) -> Result<Arc<dyn ReadAt>> {
            self.0.open_read(p)
        }
        fn create(&self, p: &Path) -> Result<Box<dyn WritableFile>> {
            self.0.create(p)?;
            Ok(Box::new(FailingFile))
        }
        fn rename(&self, a: &Path, b: &Path) -> Result<()> {
            self.0.rename(a, b)
        }
        fn remove_file(&self, p: &Path) -> Result<()> {
            self.0.remove_file(p)
        }
        fn sync_dir(&self, p: &Path) -> Result<()> {
            self.0.sync_dir(p)
        }
        fn create_dir_all(&self, p: &Path) -> Result<()> {
            self.0.create_dir_all(p)
        }
        fn list_dir(&self, p: &Path) -> Result<Vec<PathBuf>> {
            self.0.list_dir(p)
        }
        fn exists(&self, p: &Path) -> Result<bool> {
            self.0.exists(p)
        }
    }

    #[test]
    fn write_durably_failure_removes_temp_and_keeps_target_absent() {
        let fs = FailingSyncFs(MemFs::new());
        let dir = Path::new("/d");
        let err = write_durably(&fs, dir, "x", b"abc").unwrap_err();
        assert!(matches!(err, FormatError::Io { .. }));
        assert!(fs.list_dir(dir).unwrap().is_empty());
    }
}

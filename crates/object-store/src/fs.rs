//! [`ObjectStoreFs`]: the filesystem trait on an `object_store::ObjectStore`.

use std::future::Future;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::{Path as ObjectPath, PathPart};
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use strata_format::FormatError;
use strata_format::error::Result;
use strata_format::fs::{Capabilities, FileSystem, ReadAt, WritableFile};

use crate::runtime;

/// A [`FileSystem`] on an object store: every path is a key under a prefix, every file is
/// written whole by one PUT, and directories are implicit.
///
/// Engine paths are absolute (`/part-0/seg-3.strata`); the key is the path's components
/// joined onto the prefix (`tables/t/part-0/seg-3.strata` under prefix `tables/t`). A
/// component that is not valid UTF-8, is `..`, or holds a control character is refused with
/// an I/O error of kind `InvalidInput`.
///
/// The capabilities are [`Capabilities::OBJECT_STORE`]: `rename` is a copy and a delete (not
/// atomic), and a file cannot be appended to once synced. Requests run on the crate's own
/// runtime (see the crate documentation), so it may be used from any thread, including a
/// thread of a caller's tokio runtime. Cloning shares the store.
#[derive(Debug, Clone)]
pub struct ObjectStoreFs {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
}

impl ObjectStoreFs {
    /// A filesystem whose root `/` is `prefix` in `store` (`ObjectPath::ROOT` for the whole
    /// store).
    pub fn new(store: Arc<dyn ObjectStore>, prefix: ObjectPath) -> Self {
        Self { store, prefix }
    }

    /// The store underneath.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The key prefix the root `/` maps to.
    pub fn prefix(&self) -> &ObjectPath {
        &self.prefix
    }

    /// The object key of the engine path `path`.
    pub fn key(&self, path: &Path) -> Result<ObjectPath> {
        let mut key = self.prefix.clone();
        for c in path.components() {
            match c {
                Component::RootDir | Component::CurDir => {}
                Component::Normal(part) => {
                    let part = part
                        .to_str()
                        .ok_or_else(|| invalid(path, "a path component is not UTF-8"))?;
                    let part = PathPart::parse(part)
                        .map_err(|e| invalid(path, &format!("not an object key: {e}")))?;
                    key = key.join(part);
                }
                Component::ParentDir | Component::Prefix(_) => {
                    return Err(invalid(path, "not an object key: `..` or a drive prefix"));
                }
            }
        }
        Ok(key)
    }

    /// The engine path of `key` (which lies under the prefix), rooted at `/`.
    fn path_of(&self, key: &ObjectPath) -> Option<PathBuf> {
        let mut path = PathBuf::from("/");
        for part in key.prefix_match(&self.prefix)? {
            path.push(part.as_ref());
        }
        Some(path)
    }
}

fn invalid(path: &Path, what: &str) -> FormatError {
    FormatError::io(
        path,
        std::io::Error::new(std::io::ErrorKind::InvalidInput, what.to_owned()),
    )
}

/// An `object_store` error as the I/O error the engine understands: `NotFound`,
/// `AlreadyExists` (also for a failed precondition) or `Other`, carrying the message.
pub(crate) fn to_io_error(e: object_store::Error) -> std::io::Error {
    use object_store::Error as E;
    let kind = match &e {
        E::NotFound { .. } => std::io::ErrorKind::NotFound,
        E::AlreadyExists { .. } | E::Precondition { .. } => std::io::ErrorKind::AlreadyExists,
        _ => std::io::ErrorKind::Other,
    };
    std::io::Error::new(kind, e)
}

/// Runs an `object_store` future on the crate's runtime; errors name `path`.
fn block<T, F>(path: &Path, fut: F) -> Result<T>
where
    F: Future<Output = object_store::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    match runtime::run(fut) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(FormatError::io(path, to_io_error(e))),
        Err(e) => Err(FormatError::io(path, e)),
    }
}

fn past_end(path: &Path, offset: u64, len: u64, file_len: u64) -> FormatError {
    FormatError::io(
        path,
        std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("read of {len} bytes at {offset} past the end ({file_len})"),
        ),
    )
}

/// Bytes a read of at least [`READ_AHEAD_MIN`] bytes fetches from its offset on (bounded by the
/// object's end): the blocks of a stripe lie side by side, so reading the next ones costs no
/// request. Latency, not bytes, dominates an object store's reads.
pub(crate) const READ_AHEAD: u64 = 1 << 20;
/// Reads shorter than this (a segment's header and tail) fetch exactly what they ask.
const READ_AHEAD_MIN: usize = 64;
/// Read-ahead windows kept per open object (readers of different parts of one segment).
const WINDOWS: usize = 4;

/// An object opened for ranged reads; its length is from the HEAD at open.
#[derive(Debug)]
struct ObjectReadFile {
    store: Arc<dyn ObjectStore>,
    key: ObjectPath,
    path: PathBuf,
    len: u64,
    /// Recently fetched windows (offset, bytes), most recent last.
    windows: std::sync::Mutex<Vec<(u64, Bytes)>>,
}

impl ObjectReadFile {
    fn check(&self, r: &Range<u64>) -> Result<()> {
        if r.start > r.end || r.end > self.len {
            return Err(past_end(
                &self.path,
                r.start,
                r.end.saturating_sub(r.start),
                self.len,
            ));
        }
        Ok(())
    }

    /// The store returned `got` bytes for `r`; anything but its length is an error (the object
    /// changed since it was opened, or the store misbehaved).
    fn check_len(&self, r: &Range<u64>, got: &Bytes) -> Result<()> {
        if got.len() as u64 != r.end - r.start {
            return Err(FormatError::io(
                &self.path,
                std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!(
                        "the store returned {} bytes for the range {}..{}",
                        got.len(),
                        r.start,
                        r.end
                    ),
                ),
            ));
        }
        Ok(())
    }
}

impl ReadAt for ObjectReadFile {
    /// Served from a read-ahead window when one holds the range; otherwise one ranged GET of
    /// [`READ_AHEAD`] bytes from `offset` (exactly the range for short reads), kept as a window.
    fn read_at(&self, offset: u64, len: usize) -> Result<Bytes> {
        let end = offset
            .checked_add(len as u64)
            .ok_or_else(|| past_end(&self.path, offset, len as u64, self.len))?;
        let range = offset..end;
        self.check(&range)?;
        if len == 0 {
            return Ok(Bytes::new());
        }
        let windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((at, w)) = windows
            .iter()
            .find(|(at, w)| *at <= offset && end <= at + w.len() as u64)
        {
            let from = usize::try_from(offset - at).unwrap_or(usize::MAX);
            return Ok(w.slice(from..from + len));
        }
        drop(windows);
        let fetch = if len >= READ_AHEAD_MIN {
            offset..end.max(offset.saturating_add(READ_AHEAD)).min(self.len)
        } else {
            range.clone()
        };
        let (store, key) = (Arc::clone(&self.store), self.key.clone());
        let r = fetch.clone();
        let bytes = block(&self.path, async move { store.get_range(&key, r).await })?;
        self.check_len(&fetch, &bytes)?;
        let out = bytes.slice(0..len);
        if fetch != range {
            let mut windows = self
                .windows
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if windows.len() >= WINDOWS {
                windows.remove(0);
            }
            windows.push((offset, bytes));
        }
        Ok(out)
    }

    fn len(&self) -> u64 {
        self.len
    }

    fn prefers_few_requests(&self) -> bool {
        true
    }

    /// `get_ranges`: the store fetches the ranges concurrently, merging near ones into one GET.
    fn read_ranges(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        for r in ranges {
            self.check(r)?;
        }
        let wanted: Vec<Range<u64>> = ranges.iter().filter(|r| r.start < r.end).cloned().collect();
        let mut fetched = if wanted.is_empty() {
            Vec::new()
        } else {
            let (store, key) = (Arc::clone(&self.store), self.key.clone());
            let w = wanted.clone();
            block(&self.path, async move { store.get_ranges(&key, &w).await })?
        }
        .into_iter();
        let mut out = Vec::with_capacity(ranges.len());
        for r in ranges {
            if r.start == r.end {
                out.push(Bytes::new());
                continue;
            }
            let got = fetched.next().ok_or_else(|| {
                FormatError::io(
                    &self.path,
                    std::io::Error::other("the store returned fewer ranges than asked for"),
                )
            })?;
            self.check_len(r, &got)?;
            out.push(got);
        }
        Ok(out)
    }
}

/// A file being written: held in memory, uploaded whole by each `sync` that has something new.
#[derive(Debug)]
struct ObjectWriteFile {
    store: Arc<dyn ObjectStore>,
    key: ObjectPath,
    path: PathBuf,
    /// Frozen chunks of what was written, so an upload clones no bytes.
    chunks: Vec<Bytes>,
    /// Bytes written since the last chunk was frozen.
    tail: Vec<u8>,
    /// Whether something was written since the last successful upload (a new file counts).
    dirty: bool,
}

/// Past this size the tail is frozen into a chunk, so a large file's bytes are copied once.
const CHUNK: usize = 1 << 20;

impl WritableFile for ObjectWriteFile {
    fn write_all(&mut self, buf: &[u8]) -> Result<()> {
        self.tail.extend_from_slice(buf);
        if self.tail.len() >= CHUNK {
            self.chunks
                .push(Bytes::from(std::mem::take(&mut self.tail)));
        }
        self.dirty = true;
        Ok(())
    }

    /// Uploads everything written so far with one PUT (replacing the object), unless nothing
    /// changed since the last successful upload.
    fn sync(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        if !self.tail.is_empty() {
            self.chunks
                .push(Bytes::from(std::mem::take(&mut self.tail)));
        }
        let payload: PutPayload = self.chunks.iter().cloned().collect();
        let (store, key) = (Arc::clone(&self.store), self.key.clone());
        block(&self.path, async move { store.put(&key, payload).await })?;
        self.dirty = false;
        Ok(())
    }

    /// Nothing: an object store has no operating-system buffer to hand bytes to; they stay in
    /// memory until `sync`.
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

impl FileSystem for ObjectStoreFs {
    fn capabilities(&self) -> Capabilities {
        Capabilities::OBJECT_STORE
    }

    /// One PUT with `PutMode::Create`; the store refuses it if the key exists.
    fn put_if_absent(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let key = self.key(path)?;
        let store = Arc::clone(&self.store);
        let payload = PutPayload::from(Bytes::copy_from_slice(bytes));
        block(path, async move {
            store
                .put_opts(&key, payload, PutOptions::from(PutMode::Create))
                .await
        })?;
        Ok(())
    }

    /// HEAD: the object's last-modified time.
    fn modified(&self, path: &Path) -> Result<Option<SystemTime>> {
        let key = self.key(path)?;
        let store = Arc::clone(&self.store);
        let meta = block(path, async move { store.head(&key).await })?;
        Ok(Some(SystemTime::from(meta.last_modified)))
    }

    /// HEAD for the length; reads are ranged GETs.
    fn open_read(&self, path: &Path) -> Result<Arc<dyn ReadAt>> {
        let key = self.key(path)?;
        let (store, k) = (Arc::clone(&self.store), key.clone());
        let meta = block(path, async move { store.head(&k).await })?;
        Ok(Arc::new(ObjectReadFile {
            store: Arc::clone(&self.store),
            key,
            path: path.to_path_buf(),
            len: meta.size,
            windows: std::sync::Mutex::new(Vec::new()),
        }))
    }

    /// Buffers in memory; nothing is visible (and an existing object is unchanged) until
    /// `sync` uploads the whole file. Dropping the file unsynced uploads nothing.
    fn create(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        Ok(Box::new(ObjectWriteFile {
            store: Arc::clone(&self.store),
            key: self.key(path)?,
            path: path.to_path_buf(),
            chunks: Vec::new(),
            tail: Vec::new(),
            dirty: true,
        }))
    }

    /// A copy and a delete: not atomic (a crash between them leaves both).
    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        let (src, dst) = (self.key(from)?, self.key(to)?);
        let store = Arc::clone(&self.store);
        block(from, async move {
            store.copy(&src, &dst).await?;
            store.delete(&src).await
        })
    }

    /// A HEAD, so a missing object is `NotFound` on every store (S3 deletes a missing key
    /// without complaint), then a DELETE.
    fn remove_file(&self, path: &Path) -> Result<()> {
        let key = self.key(path)?;
        let store = Arc::clone(&self.store);
        block(path, async move {
            store.head(&key).await?;
            store.delete(&key).await
        })
    }

    /// Nothing: a completed PUT or DELETE is already durable and visible.
    fn sync_dir(&self, _path: &Path) -> Result<()> {
        Ok(())
    }

    /// Nothing: directories are implicit.
    fn create_dir_all(&self, _path: &Path) -> Result<()> {
        Ok(())
    }

    /// One delimited listing: the objects and the implicit directories directly under `path`,
    /// sorted. A directory with nothing under it is empty, not missing.
    fn list_dir(&self, path: &Path) -> Result<Vec<PathBuf>> {
        let key = self.key(path)?;
        let store = Arc::clone(&self.store);
        let listed = block(path, async move {
            match store.list_with_delimiter(Some(&key)).await {
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                r => r.map(Some),
            }
        })?;
        let Some(listed) = listed else {
            return Ok(Vec::new());
        };
        let mut out: Vec<PathBuf> = listed
            .objects
            .iter()
            .map(|o| &o.location)
            .chain(&listed.common_prefixes)
            .filter_map(|k| self.path_of(k))
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// A HEAD of the object; failing that, whether any object lies under `path/` (an implicit
    /// directory). The root exists when anything is stored under the prefix.
    fn exists(&self, path: &Path) -> Result<bool> {
        let key = self.key(path)?;
        let store = Arc::clone(&self.store);
        block(path, async move {
            if !key.is_root() {
                match store.head(&key).await {
                    Ok(_) => return Ok(true),
                    Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            let mut under = store.list(Some(&key));
            match under.try_next().await {
                Ok(first) => Ok(first.is_some()),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(e),
            }
        })
    }
}

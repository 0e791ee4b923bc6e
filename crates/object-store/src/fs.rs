//! [`ObjectStoreFs`]: the filesystem trait on an `object_store::ObjectStore`.

use std::collections::VecDeque;
use std::future::Future;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::{Path as ObjectPath, PathPart};
use object_store::{
    GetOptions, GetRange, MultipartUpload, ObjectStore, ObjectStoreExt, PutMode, PutOptions,
    PutPayload,
};
use strata_format::FormatError;
use strata_format::error::Result;
use strata_format::fs::{Capabilities, FileSystem, ReadAt, WritableFile, is_not_found};

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
    /// At most this many bytes of suffix fetched on [`FileSystem::open_read_suffix`].
    max_open_suffix: u64,
}

impl ObjectStoreFs {
    /// A filesystem whose root `/` is `prefix` in `store` (`ObjectPath::ROOT` for the whole
    /// store).
    pub fn new(store: Arc<dyn ObjectStore>, prefix: ObjectPath) -> Self {
        Self {
            store,
            prefix,
            max_open_suffix: u64::MAX,
        }
    }

    /// Fetches at most `bytes` of a file's suffix when it is opened for its tail
    /// ([`FileSystem::open_read_suffix`]; default: what the caller asks, 64 KiB for a
    /// segment). A smaller suffix reads fewer bytes to open a small segment whose blocks a
    /// selective query mostly skips, at the cost of a request for its footer when the footer
    /// does not fit.
    pub fn with_max_open_suffix(mut self, bytes: u64) -> Self {
        self.max_open_suffix = bytes;
        self
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
        // Every range inside a fetched window (a small segment's suffix holds all of it): no
        // request.
        {
            let windows = self
                .windows
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let cached: Option<Vec<Bytes>> = ranges
                .iter()
                .map(|r| {
                    if r.start == r.end {
                        return Some(Bytes::new());
                    }
                    let (at, w) = windows
                        .iter()
                        .find(|(at, w)| *at <= r.start && r.end <= at + w.len() as u64)?;
                    let from = usize::try_from(r.start - at).ok()?;
                    let to = usize::try_from(r.end - at).ok()?;
                    Some(w.slice(from..to))
                })
                .collect();
            if let Some(cached) = cached {
                return Ok(cached);
            }
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

/// A file being written. Up to [`PART`] bytes it is held in memory and each `sync` that has
/// something new uploads it whole with one PUT. A file that grows past [`PART`] before its
/// first `sync` becomes a multipart upload: full parts go up as they fill (at most
/// [`PARTS_IN_FLIGHT`] at once, so a large segment never sits whole in memory) and `sync`
/// sends the last part and completes the upload. Until then nothing is visible under the key;
/// dropping the file unsynced aborts the upload.
#[derive(Debug)]
struct ObjectWriteFile {
    store: Arc<dyn ObjectStore>,
    key: ObjectPath,
    path: PathBuf,
    /// Frozen chunks of what was written and not yet uploaded as a part, so an upload clones
    /// no bytes.
    chunks: VecDeque<Bytes>,
    /// Bytes written since the last chunk was frozen.
    tail: Vec<u8>,
    /// Whether something was written since the last successful upload (a new file counts).
    dirty: bool,
    /// What became of the file past [`PART`] bytes.
    parts: Parts,
}

/// The multipart state of an [`ObjectWriteFile`].
#[derive(Debug)]
enum Parts {
    /// Never past [`PART`] bytes before a sync: whole-file PUTs.
    Whole,
    /// A multipart upload under way: the parts sent and not yet confirmed.
    Uploading {
        upload: Box<dyn MultipartUpload>,
        in_flight: VecDeque<runtime::Pending<object_store::Result<()>>>,
    },
    /// Completed by a `sync`: the object exists and its bytes are gone from memory, so it
    /// cannot be written again.
    Completed,
    /// A part or the completion failed and the upload was aborted: the bytes are lost.
    Failed,
}

/// Past this size the tail is frozen into a chunk, so a large file's bytes are copied once.
const CHUNK: usize = 1 << 20;
/// Size of every part of a multipart upload but the last (S3 requires at least 5 MiB, and some
/// compatible stores equal sizes).
const PART: usize = 8 << 20;
/// Parts uploading at once; the writer waits for the oldest beyond this.
const PARTS_IN_FLIGHT: usize = 2;

impl ObjectWriteFile {
    fn new(store: Arc<dyn ObjectStore>, key: ObjectPath, path: PathBuf) -> Self {
        Self {
            store,
            key,
            path,
            chunks: VecDeque::new(),
            tail: Vec::new(),
            dirty: true,
            parts: Parts::Whole,
        }
    }

    fn buffered(&self) -> usize {
        self.chunks.iter().map(Bytes::len).sum::<usize>() + self.tail.len()
    }

    fn freeze_tail(&mut self) {
        if !self.tail.is_empty() {
            self.chunks
                .push_back(Bytes::from(std::mem::take(&mut self.tail)));
        }
    }

    /// The first `n` buffered bytes (all of them if fewer), as a payload of chunk slices.
    fn take_front(&mut self, n: usize) -> PutPayload {
        self.freeze_tail();
        let mut left = n;
        let mut out = Vec::new();
        while left > 0 {
            let Some(mut front) = self.chunks.pop_front() else {
                break;
            };
            if front.len() > left {
                out.push(front.split_to(left));
                self.chunks.push_front(front);
                left = 0;
            } else {
                left -= front.len();
                out.push(front);
            }
        }
        out.into_iter().collect()
    }

    fn refused(&self, why: &str) -> FormatError {
        FormatError::io(
            &self.path,
            std::io::Error::new(std::io::ErrorKind::Unsupported, why.to_string()),
        )
    }

    /// Aborts the upload (best effort) and marks the file failed; returns `e`.
    fn fail(&mut self, e: FormatError) -> FormatError {
        if let Parts::Uploading { upload, .. } = std::mem::replace(&mut self.parts, Parts::Failed) {
            abort_detached(upload);
        }
        e
    }

    /// Waits for the oldest part in flight; a failed part fails the file.
    fn wait_oldest(&mut self) -> Result<()> {
        let Parts::Uploading { in_flight, .. } = &mut self.parts else {
            return Ok(());
        };
        let Some(pending) = in_flight.pop_front() else {
            return Ok(());
        };
        match pending.wait() {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => {
                let e = FormatError::io(&self.path, to_io_error(e));
                Err(self.fail(e))
            }
            Err(e) => {
                let e = FormatError::io(&self.path, e);
                Err(self.fail(e))
            }
        }
    }

    /// Sends every full part buffered (and, if `last`, what remains as the final part),
    /// starting the multipart upload first if needed.
    fn send_parts(&mut self, last: bool) -> Result<()> {
        if matches!(self.parts, Parts::Whole) {
            let (store, key) = (Arc::clone(&self.store), self.key.clone());
            let upload = block(&self.path, async move { store.put_multipart(&key).await })?;
            self.parts = Parts::Uploading {
                upload,
                in_flight: VecDeque::new(),
            };
        }
        loop {
            let buffered = self.buffered();
            if buffered == 0 || (buffered < PART && !last) {
                return Ok(());
            }
            while matches!(&self.parts, Parts::Uploading { in_flight, .. } if in_flight.len() >= PARTS_IN_FLIGHT)
            {
                self.wait_oldest()?;
            }
            let payload = self.take_front(PART);
            let Parts::Uploading { upload, in_flight } = &mut self.parts else {
                return Err(self.refused("the multipart upload is gone"));
            };
            let part = upload.put_part(payload);
            match runtime::start(part) {
                Ok(pending) => in_flight.push_back(pending),
                Err(e) => {
                    let e = FormatError::io(&self.path, e);
                    return Err(self.fail(e));
                }
            }
        }
    }
}

/// Aborts a multipart upload on the crate's runtime without waiting (a drop must not block on
/// the network); a failure leaves an incomplete upload that no reader ever sees.
fn abort_detached(mut upload: Box<dyn MultipartUpload>) {
    let _ = runtime::start(async move {
        let _ = upload.abort().await;
    });
}

impl WritableFile for ObjectWriteFile {
    fn write_all(&mut self, buf: &[u8]) -> Result<()> {
        match self.parts {
            Parts::Completed => {
                return Err(self.refused(
                    "this object was uploaded in parts and completed; it cannot be written again",
                ));
            }
            Parts::Failed => return Err(self.refused("an earlier part of this upload failed")),
            Parts::Whole | Parts::Uploading { .. } => {}
        }
        self.tail.extend_from_slice(buf);
        if self.tail.len() >= CHUNK {
            self.freeze_tail();
        }
        self.dirty = true;
        // Past one part before any sync: the bytes go up as parts from now on.
        if self.buffered() >= PART {
            self.send_parts(false)?;
        }
        Ok(())
    }

    /// Uploads everything written so far with one PUT (replacing the object) unless nothing
    /// changed since the last successful upload; or, for a multipart upload, sends the last
    /// part, waits for every part and completes it.
    fn sync(&mut self) -> Result<()> {
        match self.parts {
            Parts::Failed => return Err(self.refused("an earlier part of this upload failed")),
            Parts::Completed | Parts::Whole if !self.dirty => return Ok(()),
            Parts::Completed => {
                return Err(self.refused(
                    "this object was uploaded in parts and completed; it cannot be written again",
                ));
            }
            Parts::Whole => {
                self.freeze_tail();
                let payload: PutPayload = self.chunks.iter().cloned().collect();
                let (store, key) = (Arc::clone(&self.store), self.key.clone());
                block(&self.path, async move { store.put(&key, payload).await })?;
                self.dirty = false;
                return Ok(());
            }
            Parts::Uploading { .. } => {}
        }
        self.send_parts(true)?;
        while matches!(&self.parts, Parts::Uploading { in_flight, .. } if !in_flight.is_empty()) {
            self.wait_oldest()?;
        }
        let Parts::Uploading { upload, .. } = std::mem::replace(&mut self.parts, Parts::Failed)
        else {
            return Err(self.refused("the multipart upload is gone"));
        };
        let mut upload = upload;
        block(&self.path, async move { upload.complete().await })?;
        self.parts = Parts::Completed;
        self.dirty = false;
        Ok(())
    }

    /// Nothing: an object store has no operating-system buffer to hand bytes to; they stay in
    /// memory until `sync` (or go up as parts).
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

impl Drop for ObjectWriteFile {
    /// An upload never completed is aborted, so its parts do not linger in the store.
    fn drop(&mut self) {
        if let Parts::Uploading { upload, .. } = std::mem::replace(&mut self.parts, Parts::Failed) {
            abort_detached(upload);
        }
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

    /// One GET of the object's last `suffix` bytes (a suffix range): its length comes with
    /// them, and the suffix is kept as a read-ahead window, so a segment's tail and footer cost
    /// no further request. If the store refuses the suffix range (some servers do for an empty
    /// object), a HEAD as in [`FileSystem::open_read`].
    fn open_read_suffix(&self, path: &Path, suffix: u64) -> Result<Arc<dyn ReadAt>> {
        let suffix = suffix.min(self.max_open_suffix);
        if suffix == 0 {
            return self.open_read(path);
        }
        let key = self.key(path)?;
        let (store, k) = (Arc::clone(&self.store), key.clone());
        let got = block(path, async move {
            let options = GetOptions {
                range: Some(GetRange::Suffix(suffix)),
                ..GetOptions::default()
            };
            let result = store.get_opts(&k, options).await?;
            let (size, range) = (result.meta.size, result.range.clone());
            Ok((size, range, result.bytes().await?))
        });
        let (len, range, bytes) = match got {
            Ok(got) => got,
            Err(e) if is_not_found(&e) => return Err(e),
            Err(_) => return self.open_read(path),
        };
        let file = ObjectReadFile {
            store: Arc::clone(&self.store),
            key,
            path: path.to_path_buf(),
            len,
            windows: std::sync::Mutex::new(Vec::new()),
        };
        file.check(&range)?;
        file.check_len(&range, &bytes)?;
        if !bytes.is_empty() {
            file.windows
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push((range.start, bytes));
        }
        Ok(Arc::new(file))
    }

    /// Buffers in memory, or past 8 MiB uploads in parts; nothing is visible (and an existing
    /// object is unchanged) until `sync` uploads the whole file or completes the multipart
    /// upload. Dropping the file unsynced leaves nothing (an upload in parts is aborted).
    fn create(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        Ok(Box::new(ObjectWriteFile::new(
            Arc::clone(&self.store),
            self.key(path)?,
            path.to_path_buf(),
        )))
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

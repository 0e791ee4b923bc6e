//! The write-ahead log: every acknowledged write, until a flush has put it in a segment.
//!
//! ```text
//! <table>/wal/wal-<seq>.log   (seq: 20 decimal digits, increasing, never reused)
//!   header   "STRWAL" | version u16 LE                                  8 bytes
//!   record*  len u32 LE | crc32c(payload) u32 LE | payload (len bytes)
//!            payload = one Arrow IPC stream holding one record batch
//! ```
//!
//! A flush rotates the log (new writes go to `seq + 1`) and, once the segments holding the
//! drained rows are committed in the manifest, records `seq + 1` as the first live log in
//! `WAL-POS` and removes the covered files (see [`crate::Table::flush`] for the ordering).
//! Replay reads every live file in order and stops at the first record whose length or
//! checksum does not hold: that is a torn tail, a write that was never acknowledged.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use strata_format::{FileSystem, WritableFile};

use crate::error::{Result, TableError, io_err};

/// Magic at the start of every log file.
pub const WAL_MAGIC: &[u8; 6] = b"STRWAL";
/// Version of the log file layout written by this build.
pub const WAL_VERSION: u16 = 1;
const HEADER_LEN: usize = 8;
const RECORD_HEADER_LEN: usize = 8;

/// How hard a write works to survive a crash before it is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// No log: writes live only in memory until a flush (a crash loses them).
    None,
    /// Each write is appended to the log (handed to the OS) but not fsynced: it survives a
    /// process crash, not a power loss.
    Flush,
    /// Each write is appended and fsynced before it is acknowledged.
    #[default]
    Fsync,
}

/// File name of log `seq`.
pub fn wal_name(seq: u64) -> String {
    format!("wal-{seq:020}.log")
}

fn parse_wal_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("wal-")?.strip_suffix(".log")?;
    if digits.len() != 20 {
        return None;
    }
    digits.parse().ok()
}

/// Log files in `dir`, sorted by sequence number.
pub(crate) fn list_logs(fs: &dyn FileSystem, dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    if !fs
        .exists(dir)
        .map_err(io_err("checking the log directory"))?
    {
        return Ok(Vec::new());
    }
    let mut out: Vec<(u64, PathBuf)> = fs
        .list_dir(dir)
        .map_err(io_err("listing the log directory"))?
        .into_iter()
        .filter_map(|p| {
            let seq = parse_wal_name(p.file_name()?.to_str()?)?;
            Some((seq, p))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Encodes one batch as an Arrow IPC stream.
pub(crate) fn encode_batch(batch: &RecordBatch, path: &Path) -> Result<Vec<u8>> {
    let wal = |e: arrow_schema::ArrowError| TableError::Wal {
        path: path.to_path_buf(),
        detail: format!("encoding a batch: {e}"),
    };
    let mut out = Vec::new();
    let mut w = StreamWriter::try_new(&mut out, batch.schema().as_ref()).map_err(wal)?;
    w.write(batch).map_err(wal)?;
    w.finish().map_err(wal)?;
    drop(w);
    Ok(out)
}

fn decode_batches(payload: &[u8], path: &Path) -> Result<Vec<RecordBatch>> {
    let wal = |e: arrow_schema::ArrowError| TableError::Wal {
        path: path.to_path_buf(),
        detail: format!("decoding a record that passed its checksum: {e}"),
    };
    let reader = StreamReader::try_new(Cursor::new(payload), None).map_err(wal)?;
    reader.map(|b| b.map_err(wal)).collect()
}

/// Frames `payload` as one log record.
pub(crate) fn frame(payload: &[u8]) -> Option<Vec<u8>> {
    let len = u32::try_from(payload.len()).ok()?;
    let mut out = Vec::with_capacity(RECORD_HEADER_LEN + payload.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(payload).to_le_bytes());
    out.extend_from_slice(payload);
    Some(out)
}

fn header() -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..6].copy_from_slice(WAL_MAGIC);
    h[6..].copy_from_slice(&WAL_VERSION.to_le_bytes());
    h
}

/// What one log file held.
#[derive(Debug, Default)]
pub(crate) struct LogContents {
    /// Batches of the whole records, in order.
    pub(crate) batches: Vec<RecordBatch>,
    /// Offset and length of a torn tail that was ignored.
    pub(crate) torn: Option<(u64, u64)>,
}

/// Reads the whole records of one log file; a short or corrupt tail is reported, not an error.
pub(crate) fn read_log(fs: &dyn FileSystem, path: &Path) -> Result<LogContents> {
    let file = fs
        .open_read(path)
        .map_err(io_err(format!("opening {}", path.display())))?;
    let len = usize::try_from(file.len()).map_err(|_| TableError::Wal {
        path: path.to_path_buf(),
        detail: "file too large".into(),
    })?;
    let bytes = file
        .read_at(0, len)
        .map_err(io_err(format!("reading {}", path.display())))?;
    let mut out = LogContents::default();
    let total = bytes.len() as u64;
    // A header that never became durable: the file was created but nothing was acknowledged.
    if bytes.len() < HEADER_LEN || bytes.get(..HEADER_LEN) != Some(&header()[..]) {
        if !bytes.is_empty() {
            if bytes.len() >= HEADER_LEN && bytes.get(..6) == Some(&WAL_MAGIC[..]) {
                return Err(TableError::Wal {
                    path: path.to_path_buf(),
                    detail: "unsupported log version".into(),
                });
            }
            out.torn = Some((0, total));
        }
        return Ok(out);
    }
    let mut pos = HEADER_LEN;
    while pos < bytes.len() {
        let rest = bytes.get(pos..).unwrap_or_default();
        let whole = rest.get(..RECORD_HEADER_LEN).and_then(|h| {
            let len = u32::from_le_bytes(h.get(..4)?.try_into().ok()?) as usize;
            let crc = u32::from_le_bytes(h.get(4..8)?.try_into().ok()?);
            let payload = rest.get(RECORD_HEADER_LEN..RECORD_HEADER_LEN.checked_add(len)?)?;
            (crc32c::crc32c(payload) == crc).then_some(payload)
        });
        let Some(payload) = whole else {
            out.torn = Some((pos as u64, total - pos as u64));
            break;
        };
        out.batches.extend(decode_batches(payload, path)?);
        pos += RECORD_HEADER_LEN + payload.len();
    }
    Ok(out)
}

/// The open log a table appends to, with group commit across threads.
///
/// [`Wal::append`] only queues a framed record in memory (callers hold the table's write lock,
/// so the log's order is the memtable's order) and returns its log sequence number.
/// [`Wal::sync_to`] makes a record durable: the first caller to get the I/O lock writes every
/// queued record and syncs once; callers whose record that covered return without I/O. While
/// one thread syncs, others keep queueing, and the next sync takes them all.
#[derive(Debug)]
pub(crate) struct Wal {
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
    durability: Durability,
    /// The file being appended to; held by the thread doing log I/O.
    io: Mutex<LogFile>,
    /// Queued records and how far the log is durable.
    queue: Mutex<Queue>,
}

#[derive(Debug)]
struct LogFile {
    seq: u64,
    file: Box<dyn WritableFile>,
}

#[derive(Debug, Default)]
struct Queue {
    pending: Vec<u8>,
    /// Records appended so far (the last one's sequence number).
    appended: u64,
    /// Records written and synced (per the durability) so far.
    durable: u64,
    /// Set by a failed write or sync: nothing may be appended after a possibly torn record.
    failed: Option<String>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Wal {
    fn open_file(fs: &dyn FileSystem, dir: &Path, seq: u64) -> Result<LogFile> {
        let path = dir.join(wal_name(seq));
        let mut file = fs
            .create(&path)
            .map_err(io_err(format!("creating {}", path.display())))?;
        file.write_all(&header())
            .map_err(io_err(format!("writing {}", path.display())))?;
        file.sync()
            .map_err(io_err(format!("syncing {}", path.display())))?;
        fs.sync_dir(dir)
            .map_err(io_err("syncing the log directory"))?;
        Ok(LogFile { seq, file })
    }

    /// Creates log `seq` in `dir` (durably named, header synced).
    pub(crate) fn create(
        fs: Arc<dyn FileSystem>,
        dir: &Path,
        seq: u64,
        durability: Durability,
    ) -> Result<Wal> {
        let file = Self::open_file(fs.as_ref(), dir, seq)?;
        Ok(Wal {
            fs,
            dir: dir.to_path_buf(),
            durability,
            io: Mutex::new(file),
            queue: Mutex::new(Queue::default()),
        })
    }

    /// Frames `batches` as records (one per batch). Pure: call it outside any lock.
    pub(crate) fn frame_batches(&self, batches: &[&RecordBatch]) -> Result<Vec<u8>> {
        let path = self.dir.join("wal");
        let mut buf = Vec::new();
        for b in batches {
            let payload = encode_batch(b, &path)?;
            let framed = frame(&payload).ok_or_else(|| TableError::Wal {
                path: self.dir.clone(),
                detail: "a record larger than 4 GiB".into(),
            })?;
            buf.extend_from_slice(&framed);
        }
        Ok(buf)
    }

    /// Fails when an earlier write or sync failed (the log may end in a torn record).
    pub(crate) fn check(&self) -> Result<()> {
        match &lock(&self.queue).failed {
            Some(detail) => Err(TableError::Wal {
                path: self.dir.clone(),
                detail: format!("an earlier log write failed: {detail}"),
            }),
            None => Ok(()),
        }
    }

    /// Queues framed records; returns the sequence number to pass to [`Wal::sync_to`].
    pub(crate) fn append(&self, framed: Vec<u8>) -> Result<u64> {
        self.check()?;
        let mut q = lock(&self.queue);
        if q.pending.is_empty() {
            q.pending = framed;
        } else {
            q.pending.extend_from_slice(&framed);
        }
        q.appended += 1;
        Ok(q.appended)
    }

    /// Records queued so far (the sequence number of the last one).
    pub(crate) fn appended(&self) -> u64 {
        lock(&self.queue).appended
    }

    /// Returns once record `lsn` is written (and, with [`Durability::Fsync`], synced).
    pub(crate) fn sync_to(&self, lsn: u64) -> Result<()> {
        let mut io = lock(&self.io);
        let (bytes, upto) = {
            let mut q = lock(&self.queue);
            if q.durable >= lsn {
                return Ok(());
            }
            if let Some(detail) = &q.failed {
                return Err(TableError::Wal {
                    path: self.dir.clone(),
                    detail: format!("an earlier log write failed: {detail}"),
                });
            }
            (std::mem::take(&mut q.pending), q.appended)
        };
        let fsync = self.durability == Durability::Fsync;
        let result = self.write_out(&mut io, &bytes, fsync);
        let mut q = lock(&self.queue);
        match result {
            Ok(()) => {
                q.durable = q.durable.max(upto);
                Ok(())
            }
            Err(e) => {
                q.failed = Some(e.to_string());
                Err(e)
            }
        }
    }

    fn write_out(&self, io: &mut LogFile, bytes: &[u8], fsync: bool) -> Result<()> {
        let path = self.dir.join(wal_name(io.seq));
        if !bytes.is_empty() {
            io.file
                .write_all(bytes)
                .map_err(io_err(format!("appending to {}", path.display())))?;
        }
        if fsync {
            io.file
                .sync()
                .map_err(io_err(format!("syncing {}", path.display())))
        } else {
            io.file
                .flush()
                .map_err(io_err(format!("writing {}", path.display())))
        }
    }

    /// Writes and syncs every queued record into the current file, then starts `seq + 1`;
    /// returns the sequence number now closed. Callers hold the table's write lock, so no
    /// record is queued meanwhile.
    pub(crate) fn rotate(&self) -> Result<u64> {
        let mut io = lock(&self.io);
        let (bytes, upto) = {
            let mut q = lock(&self.queue);
            if let Some(detail) = &q.failed {
                return Err(TableError::Wal {
                    path: self.dir.clone(),
                    detail: format!("an earlier log write failed: {detail}"),
                });
            }
            (std::mem::take(&mut q.pending), q.appended)
        };
        let result = self.write_out(&mut io, &bytes, true).and_then(|()| {
            let next = Self::open_file(self.fs.as_ref(), &self.dir, io.seq + 1)?;
            Ok(std::mem::replace(&mut *io, next).seq)
        });
        let mut q = lock(&self.queue);
        match result {
            Ok(old) => {
                q.durable = q.durable.max(upto);
                Ok(old)
            }
            Err(e) => {
                q.failed = Some(e.to_string());
                Err(e)
            }
        }
    }

    /// Writes and fsyncs everything queued (used by close).
    pub(crate) fn sync(&self) -> Result<()> {
        let mut io = lock(&self.io);
        let (bytes, upto) = {
            let mut q = lock(&self.queue);
            (std::mem::take(&mut q.pending), q.appended)
        };
        let result = self.write_out(&mut io, &bytes, true);
        let mut q = lock(&self.queue);
        match result {
            Ok(()) => {
                q.durable = q.durable.max(upto);
                Ok(())
            }
            Err(e) => {
                q.failed = Some(e.to_string());
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Array, Int64Array};
    use strata_format::FaultFs;

    fn batch(v: Vec<i64>) -> RecordBatch {
        RecordBatch::try_from_iter([("v", Arc::new(Int64Array::from(v)) as arrow_array::ArrayRef)])
            .unwrap()
    }

    #[test]
    fn records_round_trip_and_torn_tail_is_reported() {
        let fs = FaultFs::new();
        let dir = Path::new("/t/wal");
        fs.create_dir_all(dir).unwrap();
        let wal = Wal::create(Arc::new(fs.clone()), dir, 7, Durability::Fsync).unwrap();
        let framed = wal
            .frame_batches(&[&batch(vec![1, 2]), &batch(vec![3])])
            .unwrap();
        let lsn = wal.append(framed).unwrap();
        wal.sync_to(lsn).unwrap();
        let path = dir.join(wal_name(7));
        let read = read_log(&fs, &path).unwrap();
        assert_eq!(read.batches.len(), 2);
        assert_eq!(read.batches[1], batch(vec![3]));
        assert!(read.torn.is_none());

        let mut bytes = fs.contents(&path).unwrap();
        let full = bytes.len();
        bytes.truncate(full - 3);
        fs.set_contents(&path, bytes);
        let read = read_log(&fs, &path).unwrap();
        assert_eq!(read.batches, vec![batch(vec![1, 2])]);
        assert!(read.torn.is_some());
    }

    #[test]
    fn flipped_byte_stops_replay_at_that_record() {
        let fs = FaultFs::new();
        let dir = Path::new("/t/wal");
        fs.create_dir_all(dir).unwrap();
        let wal = Wal::create(Arc::new(fs.clone()), dir, 1, Durability::Fsync).unwrap();
        for v in [1, 2] {
            let lsn = wal
                .append(wal.frame_batches(&[&batch(vec![v])]).unwrap())
                .unwrap();
            wal.sync_to(lsn).unwrap();
        }
        let path = dir.join(wal_name(1));
        let mut bytes = fs.contents(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs.set_contents(&path, bytes);
        let read = read_log(&fs, &path).unwrap();
        assert_eq!(read.batches, vec![batch(vec![1])]);
    }

    #[test]
    fn one_sync_covers_every_queued_record_and_later_waiters_do_no_io() {
        let fs = FaultFs::new();
        let dir = Path::new("/t/wal");
        fs.create_dir_all(dir).unwrap();
        let wal = Wal::create(Arc::new(fs.clone()), dir, 1, Durability::Fsync).unwrap();
        let lsns: Vec<u64> = (0..3)
            .map(|v| {
                wal.append(wal.frame_batches(&[&batch(vec![v])]).unwrap())
                    .unwrap()
            })
            .collect();
        assert_eq!(lsns, vec![1, 2, 3]);
        let before = fs.op_count();
        wal.sync_to(3).unwrap();
        assert_eq!(
            fs.op_count() - before,
            2,
            "one write and one fsync for three records"
        );
        let before = fs.op_count();
        wal.sync_to(1).unwrap();
        wal.sync_to(2).unwrap();
        assert_eq!(fs.op_count(), before, "covered records need no I/O");
        // Everything survives a power loss.
        let fs = fs.restart();
        let read = read_log(&fs, &dir.join(wal_name(1))).unwrap();
        assert_eq!(read.batches.len(), 3);
    }

    #[test]
    fn concurrent_appenders_all_land_in_order_per_thread() {
        let fs = FaultFs::new();
        let dir = Path::new("/t/wal");
        fs.create_dir_all(dir).unwrap();
        let wal = Arc::new(Wal::create(Arc::new(fs.clone()), dir, 1, Durability::Fsync).unwrap());
        std::thread::scope(|s| {
            for t in 0..4i64 {
                let wal = Arc::clone(&wal);
                s.spawn(move || {
                    for i in 0..25 {
                        let lsn = wal
                            .append(wal.frame_batches(&[&batch(vec![t, i])]).unwrap())
                            .unwrap();
                        wal.sync_to(lsn).unwrap();
                    }
                });
            }
        });
        let read = read_log(&fs.restart(), &dir.join(wal_name(1))).unwrap();
        assert_eq!(read.batches.len(), 100);
        for t in 0..4i64 {
            let seen: Vec<i64> = read
                .batches
                .iter()
                .filter_map(|b| {
                    let c = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                    (c.value(0) == t).then(|| c.value(1))
                })
                .collect();
            assert_eq!(seen, (0..25).collect::<Vec<_>>());
        }
    }

    #[test]
    fn names_parse_back() {
        assert_eq!(parse_wal_name(&wal_name(42)), Some(42));
        assert_eq!(parse_wal_name("wal-1.log"), None);
        assert_eq!(parse_wal_name("seg-1.strata"), None);
    }
}

//! The write-ahead log: every acknowledged write, until a flush has put it in a segment.
//!
//! ```text
//! <table>/wal/wal-<seq>.log   (seq: 20 decimal digits, increasing, never reused)
//!   header   "STRWAL" | version u16 LE (2)                               8 bytes
//!   record*  len u32 LE | crc32c(len bytes ++ payload) u32 LE | payload (len bytes)
//!            payload = n u32 LE | n × (len u32 LE | one Arrow IPC stream of one batch)
//! ```
//!
//! Records use the framing of [`strata_format::record`], the manifest's, with the same rule: a
//! damaged record followed by any well-framed record is a [`TableError::Corrupt`] error naming
//! the file and offset, and only an incomplete last record (an append a crash cut short, never
//! acknowledged) is discarded, and reported. One record holds every batch of one write, so a
//! write replays whole or not at all. Version 1 files (one batch per record, checksum over the
//! payload only) are still read.
//!
//! A flush rotates the log (new writes go to `seq + 1`) and commits the segments holding the
//! drained rows together with the new log position (`Edit::SetLogPosition(seq + 1)`) in one
//! manifest record; then the covered files are removed. Replay reads every live file in order.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use strata_format::{FileSystem, TailKind, WritableFile, frame_record, split_records};
use strata_partition_registry::RecoveryMode;

use crate::error::{Result, TableError, io_err};

/// Magic at the start of every log file.
pub const WAL_MAGIC: &[u8; 6] = b"STRWAL";
/// Version of the log file layout written by this build (version 1 is read too).
pub const WAL_VERSION: u16 = 2;
const HEADER_LEN: usize = 8;
const RECORD_HEADER_LEN: usize = 8;
/// Largest record accepted on reading (a longer length field is damage).
const MAX_RECORD: u32 = u32::MAX - 1;

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

/// Marks a message length in an Arrow IPC stream (older writers omit it).
const IPC_CONTINUATION: [u8; 4] = [0xFF; 4];

/// How one column of an accepted type lies in a batch message: its number of buffers (the
/// first is validity), and the element width its second buffer's length must be a multiple of
/// (offsets and dictionary keys, which Arrow's validation views as typed slices, panicking on
/// a partial element).
#[derive(Debug, Clone, Copy)]
struct ColumnShape {
    buffers: usize,
    element: i64,
}

/// The columns of a stream's schema, and of its dictionaries by id.
#[derive(Debug, Default)]
struct StreamShape {
    columns: Vec<ColumnShape>,
    dictionaries: Vec<(i64, ColumnShape)>,
}

/// Checks the parts of an Arrow IPC stream that [`StreamReader`] trusts, so that damage the
/// checksum missed is an error rather than a panic or an allocation sized by a length field.
/// The reader allocates each message's metadata and body before reading them, slices buffers
/// at the offsets the metadata gives, views offsets and keys as typed slices, and panics
/// converting malformed type parameters. So: every length must fit in the bytes present,
/// every buffer in its message's body, every row count in what the body can hold, a validity
/// bitmap must cover its rows, offsets and keys must be whole elements, and every field must
/// be one of the flat types a table accepts (`strata_memtable::can_coerce`) with valid
/// parameters. Compression, which this crate never writes, is refused too: a compressed buffer
/// carries its own unchecked length.
fn check_stream(stream: &[u8]) -> std::result::Result<(), String> {
    let word =
        |at: usize| -> Option<[u8; 4]> { stream.get(at..at.checked_add(4)?)?.try_into().ok() };
    let mut shape: Option<StreamShape> = None;
    let mut pos = 0;
    loop {
        // Fewer than four bytes left ends the stream, as it does for the reader.
        let Some(mut len) = word(pos) else {
            return Ok(());
        };
        pos += 4;
        if len == IPC_CONTINUATION {
            len = word(pos).ok_or("a message length cut short")?;
            pos += 4;
        }
        let meta_len = i32::from_le_bytes(len);
        if meta_len == 0 {
            return Ok(());
        }
        let meta = usize::try_from(meta_len)
            .ok()
            .and_then(|n| stream.get(pos..pos.checked_add(n)?))
            .ok_or_else(|| format!("message metadata of {meta_len} bytes past the stream's end"))?;
        pos += meta.len();
        let message =
            arrow_ipc::root_as_message(meta).map_err(|e| format!("message metadata: {e}"))?;
        let body_len = usize::try_from(message.bodyLength())
            .ok()
            .filter(|n| *n <= stream.len().saturating_sub(pos))
            .ok_or_else(|| {
                let n = message.bodyLength();
                format!("message body of {n} bytes past the stream's end")
            })?;
        pos += body_len;
        let Some(shape) = &shape else {
            let schema = message
                .header_as_schema()
                .ok_or("a stream that does not start with its schema")?;
            shape = Some(check_schema(schema)?);
            continue;
        };
        if let Some(batch) = message.header_as_record_batch() {
            check_batch(batch, body_len, &shape.columns)?;
        } else if let Some(dictionary) = message.header_as_dictionary_batch() {
            let batch = dictionary.data().ok_or("a dictionary batch without data")?;
            let (_, values) = shape
                .dictionaries
                .iter()
                .find(|(id, _)| *id == dictionary.id())
                .ok_or("a dictionary batch no field uses")?;
            check_batch(batch, body_len, &[*values])?;
        } else {
            return Err(format!("unexpected message {:?}", message.header_type()));
        }
    }
}

fn check_schema(schema: arrow_ipc::Schema<'_>) -> std::result::Result<StreamShape, String> {
    use arrow_ipc::Type;
    let fields = schema.fields().ok_or("a schema without fields")?;
    let mut shape = StreamShape::default();
    for field in fields {
        let column = match field.dictionary() {
            // Integer keys over strings: the dictionary form of a string column.
            Some(dictionary) => {
                let keys = dictionary.indexType().and_then(|i| int_bytes(i.bitWidth()));
                let values = match field.type_type() {
                    Type::Utf8 => Some(4),
                    Type::LargeUtf8 => Some(8),
                    _ => None,
                };
                keys.zip(values).map(|(keys, values)| {
                    let values = ColumnShape {
                        buffers: 3,
                        element: values,
                    };
                    shape.dictionaries.push((dictionary.id(), values));
                    ColumnShape {
                        buffers: 2,
                        element: keys,
                    }
                })
            }
            None => flat_column(&field),
        };
        let Some(column) = column else {
            let name = field.name().unwrap_or_default();
            return Err(format!(
                "field {name:?} has a type no table accepts ({:?})",
                field.type_type()
            ));
        };
        shape.columns.push(column);
    }
    Ok(shape)
}

fn int_bytes(bits: i32) -> Option<i64> {
    matches!(bits, 8 | 16 | 32 | 64).then_some(i64::from(bits / 8))
}

/// The shape of a field without a dictionary, if its type is one a table accepts.
fn flat_column(field: &arrow_ipc::Field<'_>) -> Option<ColumnShape> {
    use arrow_ipc::{DateUnit, Precision, TimeUnit, Type};
    // Validity and values; the values of fixed-width types are never viewed whole.
    let fixed = ColumnShape {
        buffers: 2,
        element: 1,
    };
    // Validity, offsets and data.
    let strings = |element| ColumnShape {
        buffers: 3,
        element,
    };
    let accepted = match field.type_type() {
        Type::Utf8 | Type::Binary => return Some(strings(4)),
        Type::LargeUtf8 => return Some(strings(8)),
        Type::Bool => true,
        Type::Int => field
            .type_as_int()
            .is_some_and(|i| int_bytes(i.bitWidth()).is_some()),
        Type::FloatingPoint => field
            .type_as_floating_point()
            .is_some_and(|f| matches!(f.precision(), Precision::SINGLE | Precision::DOUBLE)),
        Type::Timestamp => field.type_as_timestamp().is_some_and(|t| {
            matches!(
                t.unit(),
                TimeUnit::SECOND
                    | TimeUnit::MILLISECOND
                    | TimeUnit::MICROSECOND
                    | TimeUnit::NANOSECOND
            )
        }),
        Type::Date => field
            .type_as_date()
            .is_some_and(|d| d.unit() == DateUnit::DAY),
        _ => false,
    };
    accepted.then_some(fixed)
}

fn check_batch(
    batch: arrow_ipc::RecordBatch<'_>,
    body_len: usize,
    columns: &[ColumnShape],
) -> std::result::Result<(), String> {
    // Each row of a column of an accepted type takes at least one bit of the body.
    let max_rows = body_len.saturating_mul(8);
    let rows_fit = |n: i64| usize::try_from(n).is_ok_and(|n| n <= max_rows);
    if !rows_fit(batch.length()) {
        let n = batch.length();
        return Err(format!("a batch of {n} rows in a body of {body_len} bytes"));
    }
    if batch.compression().is_some() {
        return Err("a compressed batch".into());
    }
    if batch.variadicBufferCounts().is_some_and(|c| !c.is_empty()) {
        return Err("variadic buffer counts, which no accepted type has".into());
    }
    let nodes: Vec<_> = batch.nodes().into_iter().flatten().collect();
    for node in &nodes {
        let (rows, nulls) = (node.length(), node.null_count());
        if !rows_fit(rows) || !(0..=rows).contains(&nulls) {
            return Err(format!(
                "a column of {rows} rows and {nulls} nulls in a body of {body_len} bytes"
            ));
        }
    }
    let buffers: Vec<_> = batch.buffers().into_iter().flatten().collect();
    for buffer in &buffers {
        let (start, len) = (buffer.offset(), buffer.length());
        let end = usize::try_from(start)
            .ok()
            .zip(usize::try_from(len).ok())
            .and_then(|(s, l)| s.checked_add(l));
        if end.is_none_or(|e| e > body_len) {
            return Err(format!(
                "a buffer of {len} bytes at {start} outside a body of {body_len} bytes"
            ));
        }
    }
    // Too few nodes or buffers is the reader's own error.
    let mut first = 0;
    for (i, column) in columns.iter().enumerate() {
        let validity = buffers.get(first);
        if let (Some(node), Some(validity)) = (nodes.get(i), validity)
            && node.null_count() > 0
            && validity.length().saturating_mul(8) < node.length()
        {
            let (len, rows) = (validity.length(), node.length());
            return Err(format!("a validity bitmap of {len} bytes for {rows} rows"));
        }
        if let Some(b) = buffers.get(first + 1)
            && b.length() % column.element != 0
        {
            let (len, width) = (b.length(), column.element);
            return Err(format!(
                "offsets or keys of {len} bytes, not {width}-byte elements"
            ));
        }
        first += column.buffers;
    }
    Ok(())
}

fn decode_stream(payload: &[u8], path: &Path, offset: u64) -> Result<Vec<RecordBatch>> {
    let corrupt = |detail: String| TableError::Corrupt {
        path: path.to_path_buf(),
        offset,
        detail: format!("a record that passed its checksum does not decode: {detail}"),
    };
    let wal = |e: arrow_schema::ArrowError| corrupt(e.to_string());
    check_stream(payload).map_err(corrupt)?;
    let reader = StreamReader::try_new(Cursor::new(payload), None).map_err(wal)?;
    reader.map(|b| b.map_err(wal)).collect()
}

/// The batches of one version-2 record payload.
pub fn decode_record(payload: &[u8], path: &Path, offset: u64) -> Result<Vec<RecordBatch>> {
    let bad = |detail: &str| TableError::Corrupt {
        path: path.to_path_buf(),
        offset,
        detail: detail.to_string(),
    };
    let u32_at = |pos: usize| -> Option<usize> {
        let b: [u8; 4] = payload.get(pos..pos.checked_add(4)?)?.try_into().ok()?;
        Some(u32::from_le_bytes(b) as usize)
    };
    let n = u32_at(0).ok_or_else(|| bad("record shorter than its batch count"))?;
    let mut pos = 4;
    let mut out = Vec::with_capacity(n.min(payload.len() / 4));
    for _ in 0..n {
        let len = u32_at(pos).ok_or_else(|| bad("record shorter than a batch length"))?;
        let stream = payload
            .get(pos + 4..(pos + 4).saturating_add(len))
            .ok_or_else(|| bad("batch longer than the record"))?;
        out.extend(decode_stream(stream, path, offset)?);
        pos += 4 + len;
    }
    if pos != payload.len() {
        return Err(bad("bytes after the last batch of a record"));
    }
    Ok(out)
}

fn header() -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..6].copy_from_slice(WAL_MAGIC);
    h[6..].copy_from_slice(&WAL_VERSION.to_le_bytes());
    h
}

/// Bytes at the end of a log file that were not replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LogTail {
    pub(crate) offset: u64,
    pub(crate) bytes: u64,
    pub(crate) damaged: bool,
    /// Well-framed records after the damage (discarded with it).
    pub(crate) records: u64,
    /// Rows those records held (as far as they decode).
    pub(crate) rows: u64,
}

/// What one log file held.
#[derive(Debug, Default)]
pub(crate) struct LogContents {
    /// The batches of each whole record, in order.
    pub(crate) records: Vec<Vec<RecordBatch>>,
    /// The bytes after the last replayed record, if any.
    pub(crate) tail: Option<LogTail>,
}

impl LogContents {
    pub(crate) fn rows(&self) -> u64 {
        self.records
            .iter()
            .flatten()
            .map(|b| b.num_rows() as u64)
            .sum()
    }
}

/// Reads the records of one log file. An incomplete last record is reported in
/// [`LogContents::tail`]; damage is a [`TableError::Corrupt`] error, unless `mode` is
/// [`RecoveryMode::PointInTime`], which keeps the records before it and reports the rest.
pub(crate) fn read_log(
    fs: &dyn FileSystem,
    path: &Path,
    mode: RecoveryMode,
) -> Result<LogContents> {
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
    parse_log(&bytes, path, mode)
}

/// Reads a log file's bytes as opening a table does (point in time or strict); returns the rows
/// of the records kept. For tools and fuzzing.
pub fn parse_log_bytes(bytes: &[u8], path: &Path, point_in_time: bool) -> Result<u64> {
    let mode = if point_in_time {
        RecoveryMode::PointInTime
    } else {
        RecoveryMode::Strict
    };
    parse_log(bytes, path, mode).map(|c| c.rows())
}

fn parse_log(bytes: &[u8], path: &Path, mode: RecoveryMode) -> Result<LogContents> {
    let mut out = LogContents::default();
    let total = bytes.len() as u64;
    let magic_ok = bytes.get(..6) == Some(&WAL_MAGIC[..]);
    let version = bytes
        .get(6..8)
        .and_then(|v| <[u8; 2]>::try_from(v).ok())
        .map(u16::from_le_bytes);
    match (magic_ok, version) {
        (true, Some(2)) => {}
        (true, Some(1)) => return parse_v1(bytes, path),
        (true, Some(v)) => {
            return Err(TableError::Wal {
                path: path.to_path_buf(),
                detail: format!("unsupported log version {v}"),
            });
        }
        _ => {
            // A header that never became durable (the file is created, then its header is
            // written and synced before any record): nothing was acknowledged in it.
            let incomplete = bytes.len() < HEADER_LEN && WAL_MAGIC.starts_with(bytes)
                || bytes.iter().all(|b| *b == 0);
            if incomplete {
                if !bytes.is_empty() {
                    out.tail = Some(LogTail {
                        offset: 0,
                        bytes: total,
                        damaged: false,
                        records: 0,
                        rows: 0,
                    });
                }
                return Ok(out);
            }
            if mode == RecoveryMode::Strict {
                return Err(TableError::Corrupt {
                    path: path.to_path_buf(),
                    offset: 0,
                    detail: "not a log file header".into(),
                });
            }
            out.tail = Some(LogTail {
                offset: 0,
                bytes: total,
                damaged: true,
                records: 0,
                rows: 0,
            });
            return Ok(out);
        }
    }
    let body = bytes.get(HEADER_LEN..).unwrap_or_default();
    let at = |o: u64| o + HEADER_LEN as u64;
    let (records, tail) = match split_records(body, MAX_RECORD) {
        Ok(split) => {
            let tail = split.tail.map(|t| LogTail {
                offset: at(t.offset),
                bytes: t.bytes,
                damaged: t.kind == TailKind::Damaged,
                records: 0,
                rows: 0,
            });
            if let Some(t) = tail
                && t.damaged
                && mode == RecoveryMode::Strict
            {
                return Err(TableError::Corrupt {
                    path: path.to_path_buf(),
                    offset: t.offset,
                    detail: "the last record is damaged (checksum mismatch)".into(),
                });
            }
            (split.records, tail)
        }
        Err(d) => {
            if mode == RecoveryMode::Strict {
                return Err(TableError::Corrupt {
                    path: path.to_path_buf(),
                    offset: at(d.offset),
                    detail: format!(
                        "damaged record followed by a valid record at offset {}",
                        at(d.next_record)
                    ),
                });
            }
            // Count what the discarded well-framed records held, for the report.
            let (mut records, mut rows) = (0u64, 0u64);
            let mut pos = d.next_record as usize;
            while let Some(r) = strata_format::record::record_at(body, pos, MAX_RECORD) {
                records += 1;
                let payload = body.get(r.payload.clone()).unwrap_or_default();
                rows += decode_record(payload, path, at(pos as u64))
                    .map(|bs| bs.iter().map(|b| b.num_rows() as u64).sum())
                    .unwrap_or(0);
                pos = r.payload.end;
            }
            let tail = LogTail {
                offset: at(d.offset),
                bytes: total - at(d.offset),
                damaged: true,
                records,
                rows,
            };
            (d.before, Some(tail))
        }
    };
    for r in records {
        let payload = body.get(r.payload.clone()).unwrap_or_default();
        out.records
            .push(decode_record(payload, path, at(r.offset as u64))?);
    }
    out.tail = tail;
    Ok(out)
}

/// Version 1: one batch per record, the checksum over the payload alone; replay stops at the
/// first record that does not hold (that version's rule).
fn parse_v1(bytes: &[u8], path: &Path) -> Result<LogContents> {
    let mut out = LogContents::default();
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
            out.tail = Some(LogTail {
                offset: pos as u64,
                bytes: (bytes.len() - pos) as u64,
                damaged: false,
                records: 0,
                rows: 0,
            });
            break;
        };
        out.records.push(decode_stream(payload, path, pos as u64)?);
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

    /// Frames `batches` as one record (they replay together or not at all). Pure: call it
    /// outside any lock.
    pub(crate) fn frame_batches(&self, batches: &[&RecordBatch]) -> Result<Vec<u8>> {
        let path = self.dir.join("wal");
        let too_large = || TableError::Wal {
            path: self.dir.clone(),
            detail: "a write larger than 4 GiB".into(),
        };
        let mut payload = Vec::new();
        let n = u32::try_from(batches.len()).map_err(|_| too_large())?;
        payload.extend_from_slice(&n.to_le_bytes());
        for b in batches {
            let stream = encode_batch(b, &path)?;
            let len = u32::try_from(stream.len()).map_err(|_| too_large())?;
            payload.extend_from_slice(&len.to_le_bytes());
            payload.extend_from_slice(&stream);
        }
        frame_record(&payload).ok_or_else(too_large)
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

    fn read(fs: &FaultFs, path: &Path) -> Result<LogContents> {
        read_log(fs, path, RecoveryMode::Strict)
    }

    fn all_batches(c: &LogContents) -> Vec<RecordBatch> {
        c.records.iter().flatten().cloned().collect()
    }

    fn log_of(fs: &FaultFs, values: &[i64]) -> PathBuf {
        let dir = Path::new("/t/wal");
        fs.create_dir_all(dir).unwrap();
        let wal = Wal::create(Arc::new(fs.clone()), dir, 1, Durability::Fsync).unwrap();
        for v in values {
            let lsn = wal
                .append(wal.frame_batches(&[&batch(vec![*v])]).unwrap())
                .unwrap();
            wal.sync_to(lsn).unwrap();
        }
        dir.join(wal_name(1))
    }

    #[test]
    fn one_write_is_one_record_and_an_incomplete_tail_is_reported() {
        let fs = FaultFs::new();
        let dir = Path::new("/t/wal");
        fs.create_dir_all(dir).unwrap();
        let wal = Wal::create(Arc::new(fs.clone()), dir, 7, Durability::Fsync).unwrap();
        let framed = wal
            .frame_batches(&[&batch(vec![1, 2]), &batch(vec![3])])
            .unwrap();
        let lsn = wal.append(framed).unwrap();
        wal.sync_to(lsn).unwrap();
        let lsn = wal
            .append(wal.frame_batches(&[&batch(vec![4])]).unwrap())
            .unwrap();
        wal.sync_to(lsn).unwrap();
        let path = dir.join(wal_name(7));
        let got = read(&fs, &path).unwrap();
        assert_eq!(got.records.len(), 2);
        assert_eq!(got.records[0], vec![batch(vec![1, 2]), batch(vec![3])]);
        assert!(got.tail.is_none());

        let mut bytes = fs.contents(&path).unwrap();
        let full = bytes.len();
        bytes.truncate(full - 3);
        fs.set_contents(&path, bytes);
        let got = read(&fs, &path).unwrap();
        // The whole first write, none of the cut one.
        assert_eq!(got.records.len(), 1);
        let tail = got.tail.unwrap();
        assert!(!tail.damaged);
    }

    #[test]
    fn flipped_byte_in_the_middle_is_a_typed_error_naming_file_and_offset() {
        let fs = FaultFs::new();
        let path = log_of(&fs, &[1, 2, 3]);
        let mut bytes = fs.contents(&path).unwrap();
        bytes[HEADER_LEN + 12] ^= 0x10;
        fs.set_contents(&path, bytes);
        match read(&fs, &path) {
            Err(TableError::Corrupt {
                path: p, offset, ..
            }) => {
                assert_eq!(p, path);
                assert_eq!(offset, HEADER_LEN as u64);
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
        // Recovering to a point in time keeps nothing after the damage, and says so.
        let got = read_log(&fs, &path, RecoveryMode::PointInTime).unwrap();
        assert!(got.records.is_empty());
        let tail = got.tail.unwrap();
        assert!(tail.damaged);
        assert_eq!((tail.records, tail.rows), (2, 2));
    }

    #[test]
    fn flipped_byte_in_the_last_record_is_refused_by_default() {
        let fs = FaultFs::new();
        let path = log_of(&fs, &[1, 2]);
        let mut bytes = fs.contents(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs.set_contents(&path, bytes);
        assert!(matches!(read(&fs, &path), Err(TableError::Corrupt { .. })));
        let got = read_log(&fs, &path, RecoveryMode::PointInTime).unwrap();
        assert_eq!(all_batches(&got), vec![batch(vec![1])]);
        assert!(got.tail.unwrap().damaged);
    }

    #[test]
    fn arbitrary_bytes_after_the_header_never_panic() {
        let mut bytes = header().to_vec();
        for i in 0..400u32 {
            bytes.push((i.wrapping_mul(2_654_435_761) >> 13) as u8);
            let _ = parse_log(&bytes, Path::new("x"), RecoveryMode::Strict);
            let _ = parse_log(&bytes, Path::new("x"), RecoveryMode::PointInTime);
        }
    }

    /// A version-2 log of one record holding `stream` as its only batch, with a valid checksum:
    /// damage the checksum cannot see.
    fn log_with_stream(stream: &[u8]) -> Vec<u8> {
        let len = u32::try_from(stream.len()).unwrap();
        let payload = [&1u32.to_le_bytes()[..], &len.to_le_bytes(), stream].concat();
        [&header()[..], &frame_record(&payload).unwrap()].concat()
    }

    fn assert_corrupt_in_both_modes(log: &[u8], detail_has: &str) {
        for point_in_time in [false, true] {
            match parse_log_bytes(log, Path::new("x"), point_in_time) {
                Err(TableError::Corrupt { offset, detail, .. }) => {
                    assert_eq!(offset, HEADER_LEN as u64);
                    assert!(detail.contains(detail_has), "{detail}");
                }
                other => panic!("expected Corrupt, got {other:?}"),
            }
        }
    }

    /// Sets the length of the buffer at `offset` of length `len` in a stream's metadata.
    fn set_buffer_len(stream: &mut [u8], offset: i64, len: i64, new_len: i64) {
        let spec = [offset.to_le_bytes(), len.to_le_bytes()].concat();
        let at = stream.windows(16).position(|w| w == spec).unwrap();
        stream[at + 8..at + 16].copy_from_slice(&new_len.to_le_bytes());
    }

    /// The stream check must pass every Arrow type a table accepts (the coercion table), with
    /// nulls, or replay would refuse acknowledged writes.
    #[test]
    fn every_accepted_type_passes_the_stream_check() {
        use arrow_array::types::{Int32Type, UInt8Type};
        use arrow_array::*;
        let columns: Vec<(&str, ArrayRef)> = vec![
            (
                "bool",
                Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
            ),
            (
                "i8",
                Arc::new(Int8Array::from(vec![Some(1), None, Some(-1)])),
            ),
            ("i16", Arc::new(Int16Array::from(vec![1, 2, 3]))),
            ("i32", Arc::new(Int32Array::from(vec![1, 2, 3]))),
            ("i64", Arc::new(Int64Array::from(vec![1, 2, 3]))),
            ("u8", Arc::new(UInt8Array::from(vec![1, 2, 3]))),
            ("u16", Arc::new(UInt16Array::from(vec![1, 2, 3]))),
            ("u32", Arc::new(UInt32Array::from(vec![1, 2, 3]))),
            (
                "u64",
                Arc::new(UInt64Array::from(vec![Some(1), None, Some(3)])),
            ),
            ("f32", Arc::new(Float32Array::from(vec![0.5, 1.5, 2.5]))),
            (
                "f64",
                Arc::new(Float64Array::from(vec![Some(0.5), None, Some(2.5)])),
            ),
            (
                "ts",
                Arc::new(TimestampNanosecondArray::from(vec![1, 2, 3]).with_timezone("UTC")),
            ),
            ("date", Arc::new(Date32Array::from(vec![1, 2, 3]))),
            (
                "utf8",
                Arc::new(StringArray::from(vec![Some("a"), None, Some("ccc")])),
            ),
            (
                "large",
                Arc::new(LargeStringArray::from(vec!["a", "bb", ""])),
            ),
            (
                "bin",
                Arc::new(BinaryArray::from(vec![&b"x"[..], b"", b"yz"])),
            ),
            (
                "sym",
                Arc::new(DictionaryArray::<Int32Type>::from_iter([
                    Some("a"),
                    None,
                    Some("a"),
                ])),
            ),
            (
                "sym8",
                Arc::new(
                    vec![Some("x"), Some("y"), None]
                        .into_iter()
                        .collect::<DictionaryArray<UInt8Type>>(),
                ),
            ),
        ];
        let all = RecordBatch::try_from_iter(columns).unwrap();
        let stream = encode_batch(&all, Path::new("x")).unwrap();
        assert_eq!(check_stream(&stream), Ok(()));
        let log = log_with_stream(&stream);
        assert_eq!(parse_log_bytes(&log, Path::new("x"), false).unwrap(), 3);
    }

    /// Found by the `decode_wal_log` fuzz target: arrow-ipc slices a buffer at the offset and
    /// length the message gives, and panicked on one past the body.
    #[test]
    fn buffer_past_its_message_body_is_corrupt_not_a_panic() {
        let mut stream = encode_batch(&batch(vec![1, 2, 3]), Path::new("x")).unwrap();
        assert_eq!(
            parse_log_bytes(&log_with_stream(&stream), Path::new("x"), false).unwrap(),
            3
        );
        // The values buffer: three i64 at the start of the body.
        set_buffer_len(&mut stream, 0, 24, 1 << 60);
        assert_corrupt_in_both_modes(&log_with_stream(&stream), "outside a body");
    }

    /// Found by the `decode_wal_log` fuzz target: Arrow's validation views a string column's
    /// offsets as `i32`s and panicked on a buffer that is not whole offsets.
    #[test]
    fn string_offsets_of_a_partial_element_are_corrupt_not_a_panic() {
        let strings = RecordBatch::try_from_iter([(
            "s",
            Arc::new(arrow_array::StringArray::from(vec!["ab", "c"])) as arrow_array::ArrayRef,
        )])
        .unwrap();
        let mut stream = encode_batch(&strings, Path::new("x")).unwrap();
        assert_eq!(
            parse_log_bytes(&log_with_stream(&stream), Path::new("x"), false).unwrap(),
            2
        );
        // The offsets buffer, three i32 at the start of the body (no nulls), gets a partial
        // fourth: long enough for the rows, so only the typed view could refuse it.
        set_buffer_len(&mut stream, 0, 12, 13);
        assert_corrupt_in_both_modes(&log_with_stream(&stream), "not 4-byte elements");
    }

    /// Found by the `decode_wal_log` fuzz target: Arrow builds a column's null bitmap from its
    /// validity buffer before validating it, and panicked on one shorter than the rows.
    #[test]
    fn validity_shorter_than_its_rows_is_corrupt_not_a_panic() {
        let nullable = RecordBatch::try_from_iter([(
            "v",
            Arc::new(Int64Array::from(vec![Some(1), None, Some(3)])) as arrow_array::ArrayRef,
        )])
        .unwrap();
        let mut stream = encode_batch(&nullable, Path::new("x")).unwrap();
        assert_eq!(
            parse_log_bytes(&log_with_stream(&stream), Path::new("x"), false).unwrap(),
            3
        );
        // The validity buffer: one byte at the start of the body.
        set_buffer_len(&mut stream, 0, 1, 0);
        assert_corrupt_in_both_modes(&log_with_stream(&stream), "validity bitmap of 0 bytes");
    }

    /// The reader allocates a message's metadata and body before reading them: a length past
    /// the stream's end is refused before it is allocated.
    #[test]
    fn message_lengths_past_the_stream_end_are_corrupt_before_allocating() {
        let stream = encode_batch(&batch(vec![1]), Path::new("x")).unwrap();
        // Continuation marker, then the schema message's metadata length.
        let mut long_meta = stream.clone();
        long_meta[4..8].copy_from_slice(&i32::MAX.to_le_bytes());
        assert_corrupt_in_both_modes(&log_with_stream(&long_meta), "past the stream's end");
        let mut cut = stream;
        cut.truncate(cut.len() - 40);
        assert_corrupt_in_both_modes(&log_with_stream(&cut), "does not decode");
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
        let got = read(&fs, &dir.join(wal_name(1))).unwrap();
        assert_eq!(got.records.len(), 3);
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
        let got = read(&fs.restart(), &dir.join(wal_name(1))).unwrap();
        assert_eq!(got.records.len(), 100);
        for t in 0..4i64 {
            let seen: Vec<i64> = all_batches(&got)
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

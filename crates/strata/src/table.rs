//! [`Table`]: the write path (log, memtable, flush), deletes, snapshots and scans.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use arrow_array::{Array, Int64Array, RecordBatch, UInt32Array};
use arrow_schema::{DataType as ArrowType, SchemaRef};
use roaring::RoaringBitmap;
use strata_format::{FileSystem, LocalFs, Segment, SymbolAs, write_durably};
use strata_memtable::{Memtable, MemtableError, MemtableOptions};
use strata_partition_registry::{
    Edit, RecoveryReport, Registry, SegmentEntry, SegmentId, TableConfig, TableState,
};
use strata_predicate::{BoundPredicate, Projection, ScanIter, ScanStats};
use strata_writer::{SegmentWriter, WriterOptions};

use crate::error::{Result, TableError, io_err};
use crate::lock::LockFile;
use crate::wal::{Durability, Wal, list_logs, read_log};

/// Folder of the manifest, partitions and segments inside a table directory.
pub const DATA_DIR: &str = "data";
/// Folder of the write-ahead log inside a table directory.
pub const WAL_DIR: &str = "wal";
/// File naming the first live log (logs below it are covered by committed segments).
pub const WAL_POS_FILE: &str = "WAL-POS";
/// File written before a flush commits: the log it covers and the segments it adds.
pub const FLUSH_INTENT_FILE: &str = "FLUSH-INTENT";

/// How a table is opened.
#[derive(Debug, Clone)]
pub struct TableOptions {
    /// The filesystem; `None` is the local one, guarded by a `LOCK` file. Another filesystem
    /// (an in-memory or fault-injecting one in tests) takes no lock file.
    pub fs: Option<Arc<dyn FileSystem>>,
    /// Write-ahead-log durability.
    pub durability: Durability,
    /// Write-buffer limits; reaching the soft limit flushes.
    pub memtable: MemtableOptions,
    /// Options of the segments a flush writes.
    pub writer: WriterOptions,
}

impl Default for TableOptions {
    fn default() -> Self {
        Self {
            fs: None,
            durability: Durability::Fsync,
            memtable: MemtableOptions::default(),
            writer: WriterOptions::default(),
        }
    }
}

impl TableOptions {
    /// Options on another filesystem (no lock file).
    pub fn with_fs(fs: Arc<dyn FileSystem>) -> Self {
        Self {
            fs: Some(fs),
            ..Self::default()
        }
    }

    /// Sets the durability.
    pub fn durability(mut self, d: Durability) -> Self {
        self.durability = d;
        self
    }
}

/// What opening a table recovered.
#[derive(Debug, Clone, Default)]
pub struct OpenReport {
    /// The manifest's recovery (torn manifest tail, orphan files removed).
    pub registry: RecoveryReport,
    /// Log files replayed into the write buffer.
    pub wal_files_replayed: u64,
    /// Rows replayed from the log.
    pub wal_rows_replayed: u64,
    /// Torn log tails ignored: file and bytes.
    pub wal_torn_tails: Vec<(PathBuf, u64)>,
    /// Whether an interrupted flush was found committed (its log then counts as covered).
    pub flush_intent_completed: Option<bool>,
}

/// What a flush wrote.
#[derive(Debug, Clone, Default)]
pub struct FlushReport {
    /// Rows written.
    pub rows: u64,
    /// Segments committed (one per partition touched).
    pub segments: Vec<SegmentEntry>,
}

#[derive(Debug)]
struct WriteState {
    memtable: Memtable,
    wal: Option<Wal>,
    poisoned: bool,
}

/// A table: Arrow batches in, Arrow batches out. `Send + Sync`; share it in an `Arc`.
///
/// Writers are serialised by one internal lock (log append, then memtable append). A
/// [`Snapshot`] never takes that lock: it reads the committed segments as of its creation.
/// [`Table::scan`] flushes the write buffer first (so a scan sees every acknowledged write), and
/// only that flush waits for writers.
#[derive(Debug)]
pub struct Table {
    dir: PathBuf,
    fs: Arc<dyn FileSystem>,
    registry: Registry,
    write: Mutex<WriteState>,
    options: TableOptions,
    closed: AtomicBool,
    lock: Mutex<Option<LockFile>>,
}

fn fs_of(options: &TableOptions) -> Arc<dyn FileSystem> {
    options
        .fs
        .clone()
        .unwrap_or_else(|| Arc::new(LocalFs) as Arc<dyn FileSystem>)
}

fn take_lock(dir: &Path, options: &TableOptions) -> Result<Option<LockFile>> {
    if options.fs.is_some() {
        return Ok(None);
    }
    std::fs::create_dir_all(dir).map_err(|source| TableError::LockIo {
        context: format!("creating {}", dir.display()),
        source,
    })?;
    LockFile::acquire(dir).map(Some)
}

impl Table {
    /// Creates a table in `dir` (which must not hold one).
    pub fn create(
        dir: impl AsRef<Path>,
        config: TableConfig,
        options: TableOptions,
    ) -> Result<Table> {
        let dir = dir.as_ref().to_path_buf();
        let lock = take_lock(&dir, &options)?;
        let fs = fs_of(&options);
        let registry = Registry::create(Arc::clone(&fs), &dir.join(DATA_DIR), config)?;
        let wal_dir = dir.join(WAL_DIR);
        fs.create_dir_all(&wal_dir)
            .map_err(io_err("creating the log directory"))?;
        fs.sync_dir(&dir)
            .map_err(io_err("syncing the table directory"))?;
        Self::assemble(dir, fs, registry, options, lock, 1)
    }

    /// Opens the table in `dir`: recovers the manifest (removing orphans), finishes or discards
    /// an interrupted flush, and replays the live write-ahead log into the write buffer.
    pub fn open(dir: impl AsRef<Path>, options: TableOptions) -> Result<(Table, OpenReport)> {
        let dir = dir.as_ref().to_path_buf();
        let lock = take_lock(&dir, &options)?;
        let fs = fs_of(&options);
        let (registry, recovery) = Registry::open(Arc::clone(&fs), &dir.join(DATA_DIR))?;
        let mut report = OpenReport {
            registry: recovery,
            ..OpenReport::default()
        };
        let mut pos = read_wal_pos(fs.as_ref(), &dir)?;
        let intent_path = dir.join(FLUSH_INTENT_FILE);
        if fs
            .exists(&intent_path)
            .map_err(io_err("checking the flush intent"))?
        {
            let state = registry.state();
            let committed = match read_intent(fs.as_ref(), &intent_path)? {
                Some((seq, ids)) => {
                    let done = ids.iter().any(|id| state.segment(*id).is_some());
                    if done && seq + 1 > pos {
                        pos = seq + 1;
                        write_durably(
                            fs.as_ref(),
                            &dir,
                            WAL_POS_FILE,
                            format!("{pos}\n").as_bytes(),
                        )
                        .map_err(io_err("recording the log position"))?;
                    }
                    done
                }
                None => false,
            };
            report.flush_intent_completed = Some(committed);
            fs.remove_file(&intent_path)
                .map_err(io_err("removing the flush intent"))?;
            fs.sync_dir(&dir)
                .map_err(io_err("syncing the table directory"))?;
        }
        let wal_dir = dir.join(WAL_DIR);
        fs.create_dir_all(&wal_dir)
            .map_err(io_err("creating the log directory"))?;
        let logs = list_logs(fs.as_ref(), &wal_dir)?;
        let next = logs.last().map_or(pos, |(s, _)| (*s).max(pos)) + 1;
        let table = Self::assemble(dir, fs, registry, options, lock, next)?;
        {
            let mut w = table.lock_write();
            for (seq, path) in &logs {
                if *seq < pos {
                    table
                        .fs
                        .remove_file(path)
                        .map_err(io_err(format!("removing covered log {}", path.display())))?;
                    continue;
                }
                let contents = read_log(table.fs.as_ref(), path)?;
                report.wal_files_replayed += 1;
                if let Some((_, bytes)) = contents.torn {
                    report.wal_torn_tails.push((path.clone(), bytes));
                }
                for b in &contents.batches {
                    report.wal_rows_replayed += b.num_rows() as u64;
                    table.append_to_memtable(&mut w, b)?;
                }
            }
        }
        Ok((table, report))
    }

    fn assemble(
        dir: PathBuf,
        fs: Arc<dyn FileSystem>,
        registry: Registry,
        options: TableOptions,
        lock: Option<LockFile>,
        wal_seq: u64,
    ) -> Result<Table> {
        let schema = Arc::new(registry.state().schema.schema());
        let memtable = Memtable::new(schema, options.memtable)?;
        let wal = if options.durability == Durability::None {
            None
        } else {
            Some(Wal::create(
                Arc::clone(&fs),
                &dir.join(WAL_DIR),
                wal_seq,
                options.durability,
            )?)
        };
        Ok(Table {
            dir,
            fs,
            registry,
            write: Mutex::new(WriteState {
                memtable,
                wal,
                poisoned: false,
            }),
            options,
            closed: AtomicBool::new(false),
            lock: Mutex::new(lock),
        })
    }

    fn lock_write(&self) -> MutexGuard<'_, WriteState> {
        self.write.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn check_open(&self, w: &WriteState) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(TableError::Closed);
        }
        if w.poisoned {
            return Err(TableError::Poisoned);
        }
        Ok(())
    }

    /// The table directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The options the table was opened with.
    pub fn options(&self) -> &TableOptions {
        &self.options
    }

    /// The registry (manifest, partitions, deletion vectors) under the table.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The current committed state.
    pub fn state(&self) -> Arc<TableState> {
        self.registry.state()
    }

    /// The table schema (Strata types).
    pub fn schema(&self) -> strata_format::Schema {
        self.registry.state().schema.schema()
    }

    /// Rows in the write buffer, not yet in a segment.
    pub fn buffered_rows(&self) -> usize {
        self.lock_write().memtable.rows()
    }

    fn append_to_memtable(&self, w: &mut WriteState, batch: &RecordBatch) -> Result<()> {
        match w.memtable.append(batch) {
            Ok(_) => Ok(()),
            Err(MemtableError::Backpressure { .. }) if !w.memtable.is_empty() => {
                self.flush_locked(w)?;
                w.memtable.append(batch)?;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Writes a batch. The batch is validated against the schema, logged (per the durability
    /// option) and buffered; when this returns `Ok` the write is acknowledged. Reaching the
    /// buffer's soft limit flushes.
    pub fn write(&self, batch: &RecordBatch) -> Result<()> {
        self.write_all(&[batch])
    }

    /// Writes several batches with one log sync (group commit): all are acknowledged together.
    /// Each batch is validated before anything is logged; a refused batch refuses them all.
    pub fn write_all(&self, batches: &[&RecordBatch]) -> Result<()> {
        let mut w = self.lock_write();
        self.check_open(&w)?;
        // Validate first so the log never holds a batch replay would refuse.
        for b in batches {
            validate(&w.memtable, b)?;
        }
        if let Some(wal) = w.wal.as_mut()
            && let Err(e) = wal.append(batches)
        {
            // The log may hold part of the record; appending again after it would make that
            // tail look torn in the middle of the file.
            w.poisoned = true;
            return Err(e);
        }
        for b in batches {
            if let Err(e) = self.append_to_memtable(&mut w, b) {
                w.poisoned = true;
                return Err(e);
            }
        }
        if w.memtable.should_flush() {
            self.flush_locked(&mut w)?;
        }
        Ok(())
    }

    /// Writes the buffered rows as segments (one per partition), committed in one manifest
    /// record, then retires the log that held them.
    ///
    /// Ordering: (1) drain and rotate the log (new writes go to the next file); (2) write and
    /// fsync the segments; (3) write `FLUSH-INTENT` durably (the covered log and the new
    /// segment ids); (4) commit the segments in the manifest; (5) write `WAL-POS` durably; (6)
    /// remove the intent and the covered logs. A crash before (4) leaves the intent's segments
    /// uncommitted (recovery removes them as orphans and replays the log); a crash after (4)
    /// leaves them committed, and recovery, seeing one of them in the manifest, counts the log
    /// as covered, so no row is lost or applied twice.
    pub fn flush(&self) -> Result<FlushReport> {
        let mut w = self.lock_write();
        self.check_open(&w)?;
        self.flush_locked(&mut w)
    }

    fn flush_locked(&self, w: &mut WriteState) -> Result<FlushReport> {
        if w.memtable.is_empty() {
            return Ok(FlushReport::default());
        }
        let result = self.flush_inner(w);
        if result.is_err() {
            // The drained rows are only in the log now: make the caller reopen (and replay).
            w.poisoned = true;
        }
        result
    }

    fn flush_inner(&self, w: &mut WriteState) -> Result<FlushReport> {
        let Some(drained) = w.memtable.drain()? else {
            return Ok(FlushReport::default());
        };
        let covered = match w.wal.as_mut() {
            Some(wal) => Some(wal.rotate()?),
            None => None,
        };
        let batch = drained.batch;
        let state = self.registry.state();
        let groups = partition_groups(&self.registry, &batch, &state.config.time_column)?;
        let mut edits = Vec::new();
        let mut entries = Vec::new();
        let mut created = Vec::new();
        for (start, rows) in groups {
            let part = if rows.len() == batch.num_rows() {
                batch.clone()
            } else {
                let idx = UInt32Array::from(rows.clone());
                let cols = batch
                    .columns()
                    .iter()
                    .map(|c| arrow_select::take::take(c.as_ref(), &idx, None))
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|e| arrow_error("selecting a partition's rows", e))?;
                RecordBatch::try_new(batch.schema(), cols)
                    .map_err(|e| arrow_error("selecting a partition's rows", e))?
            };
            let first = *rows.first().unwrap_or(&0) as usize;
            let t = time_value(&batch, &state.config.time_column, first)?;
            let target = self.registry.new_segment(t)?;
            let mut sw = SegmentWriter::create(
                Arc::clone(&self.fs),
                &target.dir,
                &target.name,
                target.schema.clone(),
                self.options.writer,
            )?;
            sw.write_batch(&part)?;
            let meta = sw.finish()?;
            let entry = self.registry.entry_for(&target, &meta);
            if !state.partitions.contains_key(&start) && !created.contains(&start) {
                created.push(start);
                edits.push(Edit::CreatePartition {
                    start: target.partition.0,
                    end: target.partition.1,
                });
            }
            edits.push(Edit::AddSegment(entry.clone()));
            entries.push(entry);
        }
        if let Some(seq) = covered {
            let ids: Vec<String> = entries.iter().map(|e| e.id.to_string()).collect();
            write_durably(
                self.fs.as_ref(),
                &self.dir,
                FLUSH_INTENT_FILE,
                format!("{seq} {}\n", ids.join(",")).as_bytes(),
            )
            .map_err(io_err("writing the flush intent"))?;
        }
        self.registry.commit_batch(edits)?;
        if let Some(seq) = covered {
            write_durably(
                self.fs.as_ref(),
                &self.dir,
                WAL_POS_FILE,
                format!("{}\n", seq + 1).as_bytes(),
            )
            .map_err(io_err("recording the log position"))?;
            self.fs
                .remove_file(&self.dir.join(FLUSH_INTENT_FILE))
                .map_err(io_err("removing the flush intent"))?;
            let wal_dir = self.dir.join(WAL_DIR);
            for (s, path) in list_logs(self.fs.as_ref(), &wal_dir)? {
                if s <= seq {
                    self.fs
                        .remove_file(&path)
                        .map_err(io_err(format!("removing covered log {}", path.display())))?;
                }
            }
            self.fs
                .sync_dir(&self.dir)
                .map_err(io_err("syncing the table directory"))?;
        }
        Ok(FlushReport {
            rows: drained.rows as u64,
            segments: entries,
        })
    }

    /// Deletes the rows where `predicate` (text, e.g. `host = 'a' AND ts < 1000`) is TRUE.
    /// Buffered rows are flushed first so they are deleted too. Returns the rows deleted.
    pub fn delete(&self, predicate: &str) -> Result<u64> {
        let bound = BoundPredicate::parse_and_bind(predicate, &self.schema())?;
        self.delete_bound(&bound)
    }

    /// Like [`Table::delete`] with a predicate bound to [`Table::schema`].
    pub fn delete_bound(&self, predicate: &BoundPredicate) -> Result<u64> {
        let mut w = self.lock_write();
        self.check_open(&w)?;
        self.flush_locked(&mut w)?;
        Ok(self.registry.delete(predicate)?.rows_deleted)
    }

    /// A consistent view of the committed segments (not the write buffer). Never waits for
    /// writers; the segments are opened now, so later changes cannot affect it.
    pub fn snapshot(&self) -> Result<Snapshot> {
        let inputs = self.registry.scan_inputs();
        let mut segments = Vec::with_capacity(inputs.segments.len());
        for s in &inputs.segments {
            let seg = Segment::open(self.fs.as_ref(), &s.path)
                .map_err(io_err(format!("opening segment {}", s.entry.id)))?;
            segments.push((Arc::new(seg), s.deleted.clone(), s.entry.clone()));
        }
        Ok(Snapshot {
            schema: Arc::clone(&inputs.target_schema),
            version: self.registry.state().version,
            segments,
        })
    }

    /// A scan builder. In this version a scan first flushes the write buffer (so it sees every
    /// acknowledged write), then reads a [`Snapshot`].
    pub fn scan(&self) -> ScanBuilder<'_> {
        ScanBuilder {
            source: Source::Table(self),
            projection: None,
            filter: None,
            batch_size: None,
        }
    }

    /// Flushes, syncs the log and releases the lock file; later calls fail with
    /// [`TableError::Closed`]. Dropping a table without closing it loses nothing acknowledged
    /// (the log is replayed on open) but leaves the buffered rows to that replay.
    pub fn close(&self) -> Result<()> {
        let mut w = self.lock_write();
        if self.closed.load(Ordering::Acquire) {
            return Ok(());
        }
        if !w.poisoned {
            self.flush_locked(&mut w)?;
            if let Some(wal) = w.wal.as_mut() {
                wal.sync()?;
            }
        }
        self.closed.store(true, Ordering::Release);
        self.lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        Ok(())
    }
}

fn validate(memtable: &Memtable, batch: &RecordBatch) -> Result<()> {
    // A scratch memtable with the same schema and no limits applies the same checks without
    // touching the real one.
    let mut scratch = Memtable::new(
        Arc::clone(memtable.schema()),
        MemtableOptions {
            soft_limit_bytes: usize::MAX,
            hard_limit_bytes: usize::MAX,
            ..*memtable.options()
        },
    )?;
    scratch.append(batch)?;
    Ok(())
}

fn arrow_error(context: &str, source: arrow_schema::ArrowError) -> TableError {
    TableError::Arrow {
        context: context.to_string(),
        source,
    }
}

fn time_column(batch: &RecordBatch, name: &str) -> Result<Int64Array> {
    let col = batch.column_by_name(name).ok_or_else(|| TableError::Wal {
        path: PathBuf::new(),
        detail: format!("the drained batch has no time column {name:?}"),
    })?;
    let cast = arrow_cast::cast(col.as_ref(), &ArrowType::Int64)
        .map_err(|e| arrow_error("reading the time column", e))?;
    cast.as_any()
        .downcast_ref::<Int64Array>()
        .cloned()
        .ok_or_else(|| TableError::Wal {
            path: PathBuf::new(),
            detail: "the time column did not cast to Int64".into(),
        })
}

fn time_value(batch: &RecordBatch, name: &str, row: usize) -> Result<i64> {
    let t = time_column(batch, name)?;
    if row >= t.len() || t.is_null(row) {
        return Err(TableError::Wal {
            path: PathBuf::new(),
            detail: format!("row {row} has no time value"),
        });
    }
    Ok(t.value(row))
}

/// Row indices of `batch` per partition start, in row order.
fn partition_groups(
    registry: &Registry,
    batch: &RecordBatch,
    time_col: &str,
) -> Result<BTreeMap<i64, Vec<u32>>> {
    let t = time_column(batch, time_col)?;
    let mut groups: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
    let mut intervals: Vec<(i64, i64)> = Vec::new();
    for i in 0..t.len() {
        if t.is_null(i) {
            return Err(TableError::Wal {
                path: PathBuf::new(),
                detail: format!("row {i} has a null time value"),
            });
        }
        let v = t.value(i);
        let start = match intervals.iter().find(|(s, e)| *s <= v && v < *e) {
            Some((s, _)) => *s,
            None => {
                let ((s, e), _) = registry.partition_for(v)?;
                intervals.push((s, e));
                s
            }
        };
        let row = u32::try_from(i).map_err(|_| TableError::Wal {
            path: PathBuf::new(),
            detail: "more than 2^32 rows in one flush".into(),
        })?;
        groups.entry(start).or_default().push(row);
    }
    Ok(groups)
}

fn read_small(fs: &dyn FileSystem, path: &Path) -> Result<String> {
    let f = fs
        .open_read(path)
        .map_err(io_err(format!("opening {}", path.display())))?;
    let len = usize::try_from(f.len()).unwrap_or(usize::MAX).min(1 << 20);
    let bytes = f
        .read_at(0, len)
        .map_err(io_err(format!("reading {}", path.display())))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn read_wal_pos(fs: &dyn FileSystem, dir: &Path) -> Result<u64> {
    let path = dir.join(WAL_POS_FILE);
    if !fs
        .exists(&path)
        .map_err(io_err("checking the log position"))?
    {
        return Ok(0);
    }
    read_small(fs, &path)?
        .trim()
        .parse()
        .map_err(|_| TableError::Wal {
            path,
            detail: "WAL-POS does not hold a number".into(),
        })
}

fn read_intent(fs: &dyn FileSystem, path: &Path) -> Result<Option<(u64, Vec<SegmentId>)>> {
    let text = read_small(fs, path)?;
    let mut parts = text.split_whitespace();
    let Some(seq) = parts.next().and_then(|s| s.parse().ok()) else {
        return Ok(None);
    };
    let ids = parts
        .next()
        .unwrap_or_default()
        .split(',')
        .filter_map(|s| s.parse::<SegmentId>().ok())
        .collect();
    Ok(Some((seq, ids)))
}

/// The committed segments of a table at one moment (see [`Table::snapshot`]).
#[derive(Debug, Clone)]
pub struct Snapshot {
    schema: Arc<strata_format::Schema>,
    version: u64,
    segments: Vec<(Arc<Segment>, Option<Arc<RoaringBitmap>>, SegmentEntry)>,
}

impl Snapshot {
    /// The manifest version this snapshot reads.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The table schema as of this snapshot.
    pub fn schema(&self) -> &strata_format::Schema {
        &self.schema
    }

    /// The segments it reads, with their manifest entries.
    pub fn segments(&self) -> impl Iterator<Item = &SegmentEntry> {
        self.segments.iter().map(|(_, _, e)| e)
    }

    /// Live rows (rows minus deleted rows).
    pub fn live_rows(&self) -> u64 {
        self.segments
            .iter()
            .map(|(_, _, e)| e.rows - e.deleted_rows())
            .sum()
    }

    /// A scan builder over this snapshot.
    pub fn scan(&self) -> ScanBuilder<'_> {
        ScanBuilder {
            source: Source::Snapshot(self),
            projection: None,
            filter: None,
            batch_size: None,
        }
    }

    fn execute(
        &self,
        projection: Option<Vec<String>>,
        filter: Option<Filter>,
        batch_size: Option<usize>,
    ) -> Result<TableScan> {
        let mut scan = strata_predicate::Scan::new(
            self.segments
                .iter()
                .map(|(s, _, _)| Arc::clone(s))
                .collect(),
        )
        .target_schema(Arc::clone(&self.schema))
        .symbol_as(SymbolAs::Utf8);
        for (i, (_, deleted, _)) in self.segments.iter().enumerate() {
            if let Some(d) = deleted {
                scan = scan.deleted(i, d.as_ref().clone());
            }
        }
        if let Some(p) = projection {
            scan = scan.projection(Projection::Names(p));
        }
        match filter {
            Some(Filter::Text(t)) => {
                scan = scan.predicate(BoundPredicate::parse_and_bind(&t, &self.schema)?);
            }
            Some(Filter::Bound(b)) => scan = scan.predicate(b),
            None => {}
        }
        if let Some(n) = batch_size {
            scan = scan.batch_size(n);
        }
        Ok(TableScan {
            inner: scan.execute()?,
        })
    }
}

#[derive(Debug, Clone)]
enum Filter {
    Text(String),
    Bound(BoundPredicate),
}

#[derive(Debug)]
enum Source<'a> {
    Table(&'a Table),
    Snapshot(&'a Snapshot),
}

/// Builds a scan: projection, predicate and batch size, then [`ScanBuilder::execute`].
#[derive(Debug)]
#[must_use = "a scan builder does nothing until executed"]
pub struct ScanBuilder<'a> {
    source: Source<'a>,
    projection: Option<Vec<String>>,
    filter: Option<Filter>,
    batch_size: Option<usize>,
}

impl ScanBuilder<'_> {
    /// Returns only these columns, in this order.
    pub fn columns<S: Into<String>>(mut self, columns: impl IntoIterator<Item = S>) -> Self {
        self.projection = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// Keeps the rows where `predicate` (text, bound at execution) is TRUE.
    pub fn filter(mut self, predicate: impl Into<String>) -> Self {
        self.filter = Some(Filter::Text(predicate.into()));
        self
    }

    /// Keeps the rows where a predicate bound to the table schema is TRUE.
    pub fn predicate(mut self, predicate: BoundPredicate) -> Self {
        self.filter = Some(Filter::Bound(predicate));
        self
    }

    /// Rows per output batch.
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = Some(n);
        self
    }

    /// Starts the scan (from a table: flushes the write buffer and takes a snapshot first).
    pub fn execute(self) -> Result<TableScan> {
        match self.source {
            Source::Table(t) => {
                t.flush()?;
                t.snapshot()?
                    .execute(self.projection, self.filter, self.batch_size)
            }
            Source::Snapshot(s) => s.execute(self.projection, self.filter, self.batch_size),
        }
    }
}

/// The record batches of a scan, with its pruning statistics.
#[derive(Debug)]
pub struct TableScan {
    inner: ScanIter,
}

impl TableScan {
    /// The schema of every batch.
    pub fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    /// Statistics so far (final once the iterator is exhausted).
    pub fn stats(&self) -> ScanStats {
        self.inner.stats()
    }
}

impl Iterator for TableScan {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|r| r.map_err(TableError::from))
    }
}

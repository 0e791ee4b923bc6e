//! [`Table`]: the write path (log, memtable, flush), deletes, compaction, snapshots and scans.
//!
//! # Concurrency
//!
//! * Writers are serialised by one short lock (`write`): validate and encode outside it, then
//!   append to the memtable and queue the log record under it, then wait for the log sync
//!   outside it (group commit: one fsync covers every writer waiting).
//! * A full memtable is *frozen* under that lock (the log rotates at the same instant) and
//!   flushed outside it, so writers keep going while a flush writes segments. Flushes are
//!   serialised by `flushing`.
//! * A reader's [`Snapshot`] is the memtable's and the frozen memtables' rows (shared arrays,
//!   taken under the write lock in O(columns)) plus the compactor's published segment index
//!   (one atomic load). The `publish` lock makes "a flush committed its segments" and "its
//!   frozen memtable left the read set" one step for readers: a reader sees the rows once,
//!   from the memtable or from the segments, never both and never neither. Readers never
//!   wait for compaction or for a flush's segment writes.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use arrow_array::{Array, Int64Array, RecordBatch, UInt32Array};
use arrow_schema::{DataType as ArrowType, SchemaRef};
use strata_compactor::{
    CompactionHandle, CompactionPolicy, Compactor, CompactorConfig, CycleReport, DuplicatePolicy,
    MergeOptions, SchedulerConfig, SchedulerStats, TableIndex, measure_write_bandwidth,
};
use strata_format::{FileSystem, LocalFs, Schema, SymbolAs, write_durably};
use strata_memtable::{Memtable, MemtableError, MemtableOptions, MemtableSnapshot};
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

/// Frozen memtables (full, waiting for their flush) a writer may build up before it waits for
/// a flush itself.
const MAX_FROZEN: usize = 2;

/// Rounds of plans [`Table::compact_now`] runs at most.
const COMPACT_NOW_ROUNDS: usize = 64;

/// Bytes written to measure the device bandwidth ([`DeviceBandwidth::Measure`]).
const BANDWIDTH_PROBE_BYTES: usize = 8 << 20;

/// Where the compaction I/O budget comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceBandwidth {
    /// Measured when the table opens: an 8 MiB write and fsync in the data directory.
    #[default]
    Measure,
    /// This many bytes per second.
    BytesPerSec(u64),
}

/// How a table compacts.
#[derive(Debug, Clone)]
pub struct CompactionOptions {
    /// Run the background compactor (a thread evaluating `policy` every `tick` and after each
    /// flush or delete). On by default; [`Table::compact_now`] works either way.
    pub background: bool,
    /// Triggers, size tiers, selection and I/O shares.
    pub policy: CompactionPolicy,
    /// How often the background compactor evaluates the policy without a trigger.
    pub tick: Duration,
    /// The device bandwidth a plan's I/O share is taken of.
    pub device_bandwidth: DeviceBandwidth,
    /// Rows with equal sort keys: kept all (the default), or only the last written survives
    /// a merge. Scans before the merge see every written row either way.
    pub duplicates: DuplicatePolicy,
}

impl Default for CompactionOptions {
    fn default() -> Self {
        Self {
            background: true,
            policy: CompactionPolicy::default(),
            tick: Duration::from_secs(1),
            device_bandwidth: DeviceBandwidth::Measure,
            duplicates: DuplicatePolicy::KeepAll,
        }
    }
}

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
    /// Compaction: background thread, policy, I/O budget.
    pub compaction: CompactionOptions,
}

impl Default for TableOptions {
    fn default() -> Self {
        Self {
            fs: None,
            durability: Durability::Fsync,
            memtable: MemtableOptions::default(),
            writer: WriterOptions::default(),
            compaction: CompactionOptions::default(),
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

    /// Sets where the compaction I/O budget comes from.
    pub fn device_bandwidth(mut self, b: DeviceBandwidth) -> Self {
        self.compaction.device_bandwidth = b;
        self
    }

    /// Turns the background compactor on or off.
    pub fn background_compaction(mut self, on: bool) -> Self {
        self.compaction.background = on;
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

/// A full memtable waiting for its flush; readers still see its rows.
#[derive(Debug)]
struct Frozen {
    /// Its rows, sorted (as drained).
    batch: RecordBatch,
    /// The log it covers (every log up to this sequence number), if the table logs.
    covered: Option<u64>,
}

#[derive(Debug)]
struct WriteState {
    memtable: Memtable,
    /// Oldest first.
    frozen: Vec<Arc<Frozen>>,
}

/// A table: Arrow batches in, Arrow batches out. `Send + Sync`; share it in an `Arc`.
///
/// See the module documentation for how writers, flushes, compaction and readers share it.
#[derive(Debug)]
pub struct Table {
    dir: PathBuf,
    fs: Arc<dyn FileSystem>,
    registry: Arc<Registry>,
    compactor: Arc<Compactor>,
    scheduler: Mutex<Option<CompactionHandle>>,
    wal: Option<Wal>,
    schema: Arc<Schema>,
    write: Mutex<WriteState>,
    flushing: Mutex<()>,
    publish: RwLock<()>,
    options: TableOptions,
    closed: AtomicBool,
    poisoned: AtomicBool,
    lock: Mutex<Option<LockFile>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
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

enum Appended {
    Done,
    /// The memtable is full and enough frozen ones wait: flush, then retry from this batch.
    NeedFlush(usize),
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
        let table = Self::assemble(dir, fs, registry, options, lock, 1)?;
        table.start_background()?;
        Ok(table)
    }

    /// Opens the table in `dir`: recovers the manifest (removing orphans), finishes or discards
    /// an interrupted flush, replays the live write-ahead log into the write buffer, and starts
    /// the background compactor.
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
                table.replay(b)?;
            }
        }
        table.start_background()?;
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
        let memtable = Memtable::new(Arc::clone(&schema), options.memtable)?;
        let device_bytes_per_sec = match options.compaction.device_bandwidth {
            DeviceBandwidth::BytesPerSec(b) => b.max(1),
            DeviceBandwidth::Measure => {
                measure_write_bandwidth(fs.as_ref(), &dir.join(DATA_DIR), BANDWIDTH_PROBE_BYTES)?
            }
        };
        let registry = Arc::new(registry);
        let compactor = Arc::new(Compactor::open(
            Arc::clone(&registry),
            CompactorConfig {
                device_bytes_per_sec,
                merge: MergeOptions {
                    writer: options.writer,
                    duplicates: options.compaction.duplicates,
                    ..MergeOptions::default()
                },
            },
        )?);
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
            compactor,
            scheduler: Mutex::new(None),
            wal,
            schema,
            write: Mutex::new(WriteState {
                memtable,
                frozen: Vec::new(),
            }),
            flushing: Mutex::new(()),
            publish: RwLock::new(()),
            options,
            closed: AtomicBool::new(false),
            poisoned: AtomicBool::new(false),
            lock: Mutex::new(lock),
        })
    }

    fn start_background(&self) -> Result<()> {
        if !self.options.compaction.background {
            return Ok(());
        }
        let handle = CompactionHandle::start(
            Arc::clone(&self.compactor),
            SchedulerConfig {
                policy: self.options.compaction.policy.clone(),
                tick: self.options.compaction.tick,
                writer: self.options.writer,
            },
        )?;
        *lock(&self.scheduler) = Some(handle);
        Ok(())
    }

    fn lock_write(&self) -> MutexGuard<'_, WriteState> {
        lock(&self.write)
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(TableError::Closed);
        }
        if self.poisoned.load(Ordering::Acquire) {
            return Err(TableError::Poisoned);
        }
        Ok(())
    }

    fn poison<T>(&self, r: Result<T>) -> Result<T> {
        if r.is_err() {
            self.poisoned.store(true, Ordering::Release);
        }
        r
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

    /// The compactor (published segment index, plans, cycles) of the table.
    pub fn compactor(&self) -> &Arc<Compactor> {
        &self.compactor
    }

    /// The current committed state.
    pub fn state(&self) -> Arc<TableState> {
        self.registry.state()
    }

    /// The table schema (Strata types).
    pub fn schema(&self) -> Schema {
        self.schema.as_ref().clone()
    }

    /// Rows in the write buffer (the memtable and memtables waiting for their flush), not
    /// yet in a segment.
    pub fn buffered_rows(&self) -> usize {
        let w = self.lock_write();
        w.memtable.rows() + w.frozen.iter().map(|f| f.batch.num_rows()).sum::<usize>()
    }

    /// What the background compactor has done so far (`None` when it is off).
    pub fn compaction_stats(&self) -> Option<SchedulerStats> {
        lock(&self.scheduler).as_ref().map(CompactionHandle::stats)
    }

    /// Appends a replayed log batch (open only: no log record is written for it).
    fn replay(&self, batch: &RecordBatch) -> Result<()> {
        loop {
            let outcome = {
                let mut w = self.lock_write();
                self.append_locked(&mut w, &[batch], 0, None)?
            };
            match outcome {
                Appended::Done => return Ok(()),
                Appended::NeedFlush(_) => {
                    self.flush_frozen(&lock(&self.flushing))?;
                }
            }
        }
    }

    /// Appends `batches[from..]` to the memtable, queueing each one's log record right after
    /// it (so a freeze between two batches splits the log at the same point). Freezes a full
    /// memtable; stops with [`Appended::NeedFlush`] when too many frozen ones wait.
    fn append_locked(
        &self,
        w: &mut WriteState,
        batches: &[&RecordBatch],
        from: usize,
        framed: Option<&[Vec<u8>]>,
    ) -> Result<Appended> {
        for (i, b) in batches.iter().enumerate().skip(from) {
            match w.memtable.append(b) {
                Ok(_) => {}
                Err(MemtableError::Backpressure { .. }) if !w.memtable.is_empty() => {
                    if w.frozen.len() >= MAX_FROZEN {
                        return Ok(Appended::NeedFlush(i));
                    }
                    self.freeze_locked(w)?;
                    w.memtable.append(b)?;
                }
                Err(e) => return Err(e.into()),
            }
            if let (Some(wal), Some(framed)) = (&self.wal, framed) {
                let record = framed.get(i).cloned().unwrap_or_default();
                wal.append(record)?;
            }
        }
        Ok(Appended::Done)
    }

    /// Moves the memtable's rows to a frozen memtable and rotates the log at the same point.
    fn freeze_locked(&self, w: &mut WriteState) -> Result<()> {
        if w.memtable.is_empty() {
            return Ok(());
        }
        let covered = match &self.wal {
            Some(wal) => Some(self.poison(wal.rotate())?),
            None => None,
        };
        // After the rotation: should the drain fail, its rows stay in the memtable, and a later
        // flush (covering a later log) still writes them.
        let Some(drained) = w.memtable.drain()? else {
            return Ok(());
        };
        w.frozen.push(Arc::new(Frozen {
            batch: drained.batch,
            covered,
        }));
        Ok(())
    }

    /// Writes a batch. The batch is validated against the schema, logged (per the durability
    /// option) and buffered; when this returns `Ok` the write is acknowledged. Reaching the
    /// buffer's soft limit flushes.
    pub fn write(&self, batch: &RecordBatch) -> Result<()> {
        self.write_all(&[batch])
    }

    /// Writes several batches, acknowledged together. Each batch is validated before anything
    /// is logged; a refused batch refuses them all. Concurrent writers share log syncs (group
    /// commit): one fsync acknowledges every write queued before it.
    pub fn write_all(&self, batches: &[&RecordBatch]) -> Result<()> {
        self.check_open()?;
        // Validate and encode outside the lock: the log never holds a batch replay would refuse.
        for b in batches {
            validate(&self.schema, &self.options.memtable, b)?;
        }
        let framed = match &self.wal {
            Some(wal) => Some(
                batches
                    .iter()
                    .map(|b| wal.frame_batches(&[b]))
                    .collect::<Result<Vec<_>>>()?,
            ),
            None => None,
        };
        let mut from = 0;
        let (lsn, must_flush) = loop {
            let (outcome, lsn, frozen) = {
                let mut w = self.lock_write();
                self.check_open()?;
                if let Some(wal) = &self.wal {
                    wal.check()?;
                }
                let outcome =
                    self.poison(self.append_locked(&mut w, batches, from, framed.as_deref()))?;
                if matches!(outcome, Appended::Done) && w.memtable.should_flush() {
                    // The rows are queued for the log already: a failure here poisons.
                    self.poison(self.freeze_locked(&mut w))?;
                }
                // Under the write lock the last record queued is this writer's.
                let lsn = self.wal.as_ref().map(Wal::appended);
                (outcome, lsn, !w.frozen.is_empty())
            };
            match outcome {
                Appended::Done => break (lsn, frozen),
                Appended::NeedFlush(i) => {
                    from = i;
                    self.flush_frozen(&lock(&self.flushing))?;
                }
            }
        };
        if let (Some(wal), Some(lsn)) = (&self.wal, lsn) {
            // One sync covers every writer queued before it; a covered record costs no I/O.
            self.poison(wal.sync_to(lsn))?;
        }
        if must_flush {
            self.flush_frozen(&lock(&self.flushing))?;
        }
        Ok(())
    }

    /// Writes the buffered rows as segments (one per partition and frozen memtable), each
    /// flush committed in one manifest record, then retires the log that held them.
    ///
    /// Ordering: (1) freeze the memtable and rotate the log (new writes go to the next file);
    /// (2) write and fsync the segments; (3) write `FLUSH-INTENT` durably (the covered log and
    /// the new segment ids); (4) commit the segments in the manifest and publish them to
    /// readers; (5) write `WAL-POS` durably; (6) remove the intent and the covered logs. A
    /// crash before (4) leaves the intent's segments uncommitted (recovery removes them as
    /// orphans and replays the log); a crash after (4) leaves them committed, and recovery,
    /// seeing one of them in the manifest, counts the log as covered, so no row is lost or
    /// applied twice.
    pub fn flush(&self) -> Result<FlushReport> {
        self.check_open()?;
        let guard = lock(&self.flushing);
        {
            let mut w = self.lock_write();
            self.freeze_locked(&mut w)?;
        }
        self.flush_frozen(&guard)
    }

    /// Flushes every frozen memtable, oldest first. The caller holds `flushing`.
    fn flush_frozen(&self, _flushing: &MutexGuard<'_, ()>) -> Result<FlushReport> {
        let mut report = FlushReport::default();
        loop {
            let next = self.lock_write().frozen.first().cloned();
            let Some(frozen) = next else {
                break;
            };
            if self.poisoned.load(Ordering::Acquire) {
                return Err(TableError::Poisoned);
            }
            // On failure the frozen rows are only in the log: make the caller reopen (replay).
            let entries = self.poison(self.flush_one(&frozen))?;
            report.rows += frozen.batch.num_rows() as u64;
            report.segments.extend(entries);
        }
        if !report.segments.is_empty()
            && let Some(h) = lock(&self.scheduler).as_ref()
        {
            h.trigger();
        }
        Ok(report)
    }

    fn flush_one(&self, frozen: &Arc<Frozen>) -> Result<Vec<SegmentEntry>> {
        let batch = &frozen.batch;
        let state = self.registry.state();
        let groups = partition_groups(&self.registry, batch, &state.config.time_column)?;
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
            let t = time_value(batch, &state.config.time_column, first)?;
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
        if let Some(seq) = frozen.covered {
            let ids: Vec<String> = entries.iter().map(|e| e.id.to_string()).collect();
            write_durably(
                self.fs.as_ref(),
                &self.dir,
                FLUSH_INTENT_FILE,
                format!("{seq} {}\n", ids.join(",")).as_bytes(),
            )
            .map_err(io_err("writing the flush intent"))?;
        }
        {
            // Commit, publish and drop the frozen rows as one step for readers.
            let _publish = self.publish.write().unwrap_or_else(PoisonError::into_inner);
            self.registry.commit_batch(edits)?;
            self.lock_write().frozen.retain(|f| !Arc::ptr_eq(f, frozen));
            self.compactor.refresh()?;
        }
        if let Some(seq) = frozen.covered {
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
        Ok(entries)
    }

    /// Deletes the rows where `predicate` (text, e.g. `host = 'a' AND ts < 1000`) is TRUE.
    /// Buffered rows are flushed first so they are deleted too. Returns the rows deleted.
    pub fn delete(&self, predicate: &str) -> Result<u64> {
        let bound = BoundPredicate::parse_and_bind(predicate, &self.schema)?;
        self.delete_bound(&bound)
    }

    /// Like [`Table::delete`] with a predicate bound to [`Table::schema`]. Rows acknowledged
    /// before the call are deleted when they match; rows written concurrently may or may not
    /// be (they count as later writes).
    pub fn delete_bound(&self, predicate: &BoundPredicate) -> Result<u64> {
        self.check_open()?;
        let guard = lock(&self.flushing);
        {
            let mut w = self.lock_write();
            self.freeze_locked(&mut w)?;
        }
        self.flush_frozen(&guard)?;
        let deleted = self.registry.delete(predicate)?.rows_deleted;
        self.compactor.refresh()?;
        if deleted > 0
            && let Some(h) = lock(&self.scheduler).as_ref()
        {
            h.trigger();
        }
        Ok(deleted)
    }

    /// Flushes the write buffer, then compacts every partition now, whatever the policy's
    /// triggers say: each ends as one segment without deleted rows (see
    /// [`CompactionPolicy::plan_requested`]). Runs on the calling thread; a background cycle
    /// running meanwhile is waited for. Returns the cycles run.
    pub fn compact_now(&self) -> Result<Vec<CycleReport>> {
        self.flush()?;
        Ok(self
            .compactor
            .compact_now(&self.options.compaction.policy, COMPACT_NOW_ROUNDS)?)
    }

    /// A consistent view of the table: every acknowledged write, the committed segments and
    /// the write buffer alike. Never waits for compaction or a flush's segment writes; the
    /// segment files it reads stay on disk while it is held.
    pub fn snapshot(&self) -> Result<Snapshot> {
        let _publish = self.publish.read().unwrap_or_else(PoisonError::into_inner);
        let (frozen, memtable) = {
            let w = self.lock_write();
            (w.frozen.clone(), w.memtable.snapshot())
        };
        let index = self.compactor.snapshot();
        Ok(Snapshot {
            index,
            frozen,
            memtable: Arc::new(memtable),
        })
    }

    /// A scan builder over a fresh [`Table::snapshot`].
    pub fn scan(&self) -> ScanBuilder<'_> {
        ScanBuilder {
            source: Source::Table(self),
            projection: None,
            filter: None,
            batch_size: None,
        }
    }

    /// Flushes, stops the background compactor (a running cycle completes), syncs the log and
    /// releases the lock file; later calls fail with [`TableError::Closed`]. Dropping a table
    /// without closing it loses nothing acknowledged (the log is replayed on open).
    pub fn close(&self) -> Result<()> {
        let guard = lock(&self.flushing);
        {
            let mut w = self.lock_write();
            if self.closed.swap(true, Ordering::AcqRel) {
                return Ok(());
            }
            if !self.poisoned.load(Ordering::Acquire) {
                self.freeze_locked(&mut w)?;
            }
        }
        let flushed = if self.poisoned.load(Ordering::Acquire) {
            Ok(FlushReport::default())
        } else {
            self.flush_frozen(&guard)
        };
        let scheduler = lock(&self.scheduler).take();
        if let Some(h) = scheduler {
            h.join();
        }
        self.compactor.collect_garbage()?;
        flushed?;
        if let Some(wal) = &self.wal
            && !self.poisoned.load(Ordering::Acquire)
        {
            wal.sync()?;
        }
        lock(&self.lock).take();
        Ok(())
    }
}

fn validate(schema: &Arc<Schema>, options: &MemtableOptions, batch: &RecordBatch) -> Result<()> {
    // A scratch memtable with the same schema and no limits applies the same checks without
    // touching the real one.
    let mut scratch = Memtable::new(
        Arc::clone(schema),
        MemtableOptions {
            soft_limit_bytes: usize::MAX,
            hard_limit_bytes: usize::MAX,
            ..*options
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

/// A table at one moment (see [`Table::snapshot`]): the published segment index and the rows
/// still in the write buffer.
#[derive(Debug, Clone)]
pub struct Snapshot {
    index: Arc<TableIndex>,
    frozen: Vec<Arc<Frozen>>,
    memtable: Arc<MemtableSnapshot>,
}

impl Snapshot {
    /// The manifest version of the segments it reads.
    pub fn version(&self) -> u64 {
        self.index.version
    }

    /// The table schema as of this snapshot.
    pub fn schema(&self) -> &Schema {
        &self.index.schema
    }

    /// The segment index it reads (partitions, segments, deletion vectors).
    pub fn index(&self) -> &Arc<TableIndex> {
        &self.index
    }

    /// The segments it reads, with their manifest entries.
    pub fn segments(&self) -> impl Iterator<Item = &SegmentEntry> {
        self.index.segments().map(|h| &h.entry)
    }

    /// Rows it holds that are still in the write buffer.
    pub fn buffered_rows(&self) -> u64 {
        let frozen: usize = self.frozen.iter().map(|f| f.batch.num_rows()).sum();
        (frozen + self.memtable.rows()) as u64
    }

    /// Live rows: segment rows minus deleted rows, plus buffered rows.
    pub fn live_rows(&self) -> u64 {
        self.index.live_rows() + self.buffered_rows()
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

    /// The buffered rows as batches of the table's Arrow form (`Symbol` as `Utf8`).
    fn buffered_batches(&self) -> Result<Vec<RecordBatch>> {
        let target = Arc::new(self.index.schema.to_arrow(SymbolAs::Utf8));
        let mut out = Vec::with_capacity(self.frozen.len() + 1);
        for f in &self.frozen {
            out.push(conform(&f.batch, &target)?);
        }
        if let Some(b) = self.memtable.to_batch()? {
            out.push(conform(&b, &target)?);
        }
        Ok(out)
    }

    fn execute(
        &self,
        projection: Option<Vec<String>>,
        filter: Option<Filter>,
        batch_size: Option<usize>,
    ) -> Result<TableScan> {
        let mut scan = self.index.scan();
        let predicate = match filter {
            Some(Filter::Text(t)) => Some(BoundPredicate::parse_and_bind(&t, &self.index.schema)?),
            Some(Filter::Bound(b)) => Some(b),
            None => None,
        };
        if let Some(p) = projection {
            scan = scan.projection(Projection::Names(p));
        }
        if let Some(p) = &predicate {
            scan = scan.predicate(p.clone());
        }
        let batch_size = batch_size.unwrap_or(strata_predicate::DEFAULT_BATCH_SIZE);
        scan = scan.batch_size(batch_size);
        let inner = scan.execute()?;
        let out_schema = inner.schema();
        let mut buffered = VecDeque::new();
        let mut buffered_rows = 0u64;
        for b in self.buffered_batches()? {
            let b = match &predicate {
                Some(p) => {
                    let mask = p.evaluate(&b)?;
                    arrow_select::filter::filter_record_batch(&b, &mask)
                        .map_err(|e| arrow_error("filtering buffered rows", e))?
                }
                None => b,
            };
            if b.num_rows() == 0 {
                continue;
            }
            let columns = out_schema
                .fields()
                .iter()
                .map(|f| {
                    b.column_by_name(f.name())
                        .cloned()
                        .ok_or_else(|| TableError::Arrow {
                            context: "projecting buffered rows".into(),
                            source: arrow_schema::ArrowError::SchemaError(format!(
                                "no column {:?}",
                                f.name()
                            )),
                        })
                })
                .collect::<Result<Vec<_>>>()?;
            let b = RecordBatch::try_new(Arc::clone(&out_schema), columns)
                .map_err(|e| arrow_error("projecting buffered rows", e))?;
            buffered_rows += b.num_rows() as u64;
            let mut offset = 0;
            while offset < b.num_rows() {
                let n = batch_size.max(1).min(b.num_rows() - offset);
                buffered.push_back(b.slice(offset, n));
                offset += n;
            }
        }
        Ok(TableScan {
            inner,
            buffered,
            buffered_rows,
            _index: Arc::clone(&self.index),
        })
    }
}

/// `batch` with the columns and types of `target` (dictionary symbols cast to strings).
fn conform(batch: &RecordBatch, target: &SchemaRef) -> Result<RecordBatch> {
    let columns = target
        .fields()
        .iter()
        .map(|f| {
            let col = batch
                .column_by_name(f.name())
                .ok_or_else(|| TableError::Arrow {
                    context: "reading buffered rows".into(),
                    source: arrow_schema::ArrowError::SchemaError(format!(
                        "no column {:?}",
                        f.name()
                    )),
                })?;
            if col.data_type() == f.data_type() {
                Ok(Arc::clone(col))
            } else {
                arrow_cast::cast(col.as_ref(), f.data_type())
                    .map_err(|e| arrow_error("reading buffered rows", e))
            }
        })
        .collect::<Result<Vec<_>>>()?;
    RecordBatch::try_new(Arc::clone(target), columns)
        .map_err(|e| arrow_error("reading buffered rows", e))
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

    /// Starts the scan (from a table: over a snapshot taken now).
    pub fn execute(self) -> Result<TableScan> {
        match self.source {
            Source::Table(t) => {
                t.check_open()?;
                t.snapshot()?
                    .execute(self.projection, self.filter, self.batch_size)
            }
            Source::Snapshot(s) => s.execute(self.projection, self.filter, self.batch_size),
        }
    }
}

/// The record batches of a scan (segments first, then buffered rows), with its statistics.
#[derive(Debug)]
pub struct TableScan {
    inner: ScanIter,
    buffered: VecDeque<RecordBatch>,
    buffered_rows: u64,
    /// Keeps the scanned segment files from deletion until the scan is dropped.
    _index: Arc<TableIndex>,
}

impl TableScan {
    /// The schema of every batch.
    pub fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    /// Statistics so far (final once the iterator is exhausted). Buffered rows count in
    /// `rows_matched` (all of them, from the start).
    pub fn stats(&self) -> ScanStats {
        let mut s = self.inner.stats();
        s.rows_matched += self.buffered_rows;
        s
    }
}

impl Iterator for TableScan {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(r) = self.inner.next() {
            return Some(r.map_err(TableError::from));
        }
        self.buffered.pop_front().map(Ok)
    }
}

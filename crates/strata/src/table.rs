//! [`Table`]: opening (recovery, the writer lock, read-only opens), and the parts of the
//! table that are neither the write path (`write`), transactions (`transaction`) nor reads
//! (`snapshot`).
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

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use arrow_array::RecordBatch;
use strata_compactor::{
    CompactionHandle, Compactor, CompactorConfig, CycleReport, MergeOptions, SchedulerConfig,
    SchedulerStats, measure_write_bandwidth,
};
use strata_format::{FileSystem, LocalFs, Schema};
use strata_memtable::{Memtable, MemtableOptions};
use strata_partition_registry::{
    Compression, CreateOptions, Edit, OpenOptions, Registry, TableConfig, TableState,
};
use strata_predicate::BoundPredicate;

use crate::error::{Result, TableError, io_err};
use crate::lock::DirLock;
use crate::options::{DeviceBandwidth, FlushReport, OpenReport, TableOptions};
use crate::recovery;
use crate::snapshot::{ScanBuilder, Snapshot};
use crate::wal::{Durability, Wal};

/// Folder of the manifest, partitions and segments inside a table directory.
pub const DATA_DIR: &str = "data";
/// Folder of the write-ahead log inside a table directory.
pub const WAL_DIR: &str = "wal";

/// Frozen memtables (full, waiting for their flush) a writer may build up before it waits for
/// a flush itself.
pub(crate) const MAX_FROZEN: usize = 2;

/// Rounds of plans [`Table::compact_now`] runs at most.
const COMPACT_NOW_ROUNDS: usize = 64;

/// Bytes written to measure the device bandwidth ([`DeviceBandwidth::Measure`]).
const BANDWIDTH_PROBE_BYTES: usize = 8 << 20;

/// Times a read-only open retries when a writer changed the table while it read.
const READ_ONLY_ATTEMPTS: usize = 8;

/// A full memtable waiting for its flush; readers still see its rows.
#[derive(Debug)]
pub(crate) struct Frozen {
    /// Its rows, sorted (as drained).
    pub(crate) batch: RecordBatch,
    /// The log it covers (every log up to this sequence number), if the table logs.
    pub(crate) covered: Option<u64>,
}

#[derive(Debug)]
pub(crate) struct WriteState {
    pub(crate) memtable: Memtable,
    /// Oldest first.
    pub(crate) frozen: Vec<Arc<Frozen>>,
}

/// A table: Arrow batches in, Arrow batches out. `Send + Sync`; share it in an `Arc`.
///
/// See the module documentation for how writers, flushes, compaction and readers share it.
#[derive(Debug)]
pub struct Table {
    pub(crate) dir: PathBuf,
    pub(crate) fs: Arc<dyn FileSystem>,
    pub(crate) registry: Arc<Registry>,
    pub(crate) compactor: Arc<Compactor>,
    pub(crate) scheduler: Mutex<Option<CompactionHandle>>,
    pub(crate) wal: Option<Wal>,
    pub(crate) schema: Arc<Schema>,
    pub(crate) write: Mutex<WriteState>,
    pub(crate) flushing: Mutex<()>,
    pub(crate) publish: RwLock<()>,
    pub(crate) options: TableOptions,
    pub(crate) closed: AtomicBool,
    pub(crate) poisoned: AtomicBool,
    pub(crate) read_only: bool,
    /// Logs that point-in-time recovery found damaged: retired to quarantine, not deleted.
    pub(crate) damaged_logs: Mutex<std::collections::BTreeSet<u64>>,
    lock: Mutex<Option<DirLock>>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn fs_of(options: &TableOptions) -> Arc<dyn FileSystem> {
    options
        .fs
        .clone()
        .unwrap_or_else(|| Arc::new(LocalFs) as Arc<dyn FileSystem>)
}

/// Device bandwidth assumed for the compactor's pacing on an object store (where measuring
/// would upload a probe at every open).
const OBJECT_STORE_BYTES_PER_SEC: u64 = 100 << 20;

/// Resolves where a table lives: a local directory, or a URL (`file:///…`, `s3://bucket/prefix`,
/// `memory://name`) when no filesystem was given. On a filesystem that cannot append (an object
/// store) the table keeps no write-ahead log: writes become durable when their flush commits
/// (`Table::flush`, `Table::close`, a transaction's commit), and the device is not measured.
fn resolve(dir: &Path, mut options: TableOptions) -> Result<(PathBuf, TableOptions)> {
    let mut dir = dir.to_path_buf();
    if options.fs.is_none()
        && let Some(s) = dir.to_str()
        && s.contains("://")
    {
        let (fs, path) = strata_object_store::open_url(s)?;
        if !fs.capabilities().append {
            options.fs = Some(fs);
        }
        dir = path;
    }
    if let Some(fs) = &options.fs
        && !fs.capabilities().append
    {
        options.durability = Durability::None;
        if options.compaction.device_bandwidth == DeviceBandwidth::Measure {
            options.compaction.device_bandwidth =
                DeviceBandwidth::BytesPerSec(OBJECT_STORE_BYTES_PER_SEC);
        }
    }
    Ok((dir, options))
}

fn take_lock(dir: &Path, options: &TableOptions) -> Result<Option<DirLock>> {
    if options.fs.is_some() {
        return Ok(None);
    }
    std::fs::create_dir_all(dir).map_err(|source| TableError::LockIo {
        context: format!("creating {}", dir.display()),
        source,
    })?;
    DirLock::acquire(dir).map(Some)
}

impl Table {
    /// Creates a table in `dir` (which must not hold one): a local directory, or a URL —
    /// `file:///path`, `s3://bucket/prefix` (configured from the `AWS_*` environment
    /// variables), `memory://name` (this process only). On an object store the manifest uses
    /// the object layout (one object per version, conditional puts) and there is no
    /// write-ahead log (see [`Table::flush`]).
    pub fn create(
        dir: impl AsRef<Path>,
        config: TableConfig,
        options: TableOptions,
    ) -> Result<Table> {
        let (dir, options) = resolve(dir.as_ref(), options)?;
        let lock = take_lock(&dir, &options)?;
        let fs = fs_of(&options);
        let mut layout = CreateOptions::for_fs(fs.as_ref());
        if let Some(r) = options.retention {
            layout.retention_ms = u64::try_from(r.as_millis()).unwrap_or(u64::MAX);
        }
        let registry = Registry::create_with(Arc::clone(&fs), &dir.join(DATA_DIR), config, layout)?;
        let wal_dir = dir.join(WAL_DIR);
        fs.create_dir_all(&wal_dir)
            .map_err(io_err("creating the log directory"))?;
        fs.sync_dir(&dir)
            .map_err(io_err("syncing the table directory"))?;
        let table = Self::assemble(dir, fs, registry, options, lock, Some(1))?;
        table.start_background()?;
        Ok(table)
    }

    /// Whether `dir` (a directory or a URL, as for [`Table::create`]) holds a table.
    pub fn exists(dir: impl AsRef<Path>) -> Result<bool> {
        let (dir, options) = resolve(dir.as_ref(), TableOptions::default())?;
        let fs = fs_of(&options);
        let data = dir.join(DATA_DIR);
        Ok(fs.exists(&data).map_err(io_err("checking for a table"))?
            && !fs
                .list_dir(&data)
                .map_err(io_err("listing the table"))?
                .is_empty())
    }

    /// Removes every file under `dir` (a directory or a URL): the table and anything else
    /// there. Nothing may have the table open.
    pub fn remove_all(dir: impl AsRef<Path>) -> Result<()> {
        let (dir, options) = resolve(dir.as_ref(), TableOptions::default())?;
        if options.fs.is_none() {
            return match std::fs::remove_dir_all(&dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(TableError::Io {
                    context: format!("removing {}", dir.display()),
                    source: strata_format::FormatError::io(&dir, e),
                }),
                _ => Ok(()),
            };
        }
        let fs = fs_of(&options);
        let mut pending = vec![dir];
        while let Some(d) = pending.pop() {
            for entry in fs.list_dir(&d).map_err(io_err("listing the table"))? {
                match fs.remove_file(&entry) {
                    Ok(()) => {}
                    // Not a file: a folder (object stores have implicit ones).
                    Err(_) => pending.push(entry),
                }
            }
        }
        Ok(())
    }

    /// Opens the table in `dir` for writing: takes the writer lock, recovers the manifest
    /// (removing orphans), replays the live write-ahead log into the write buffer, and starts
    /// the background compactor. Damage in the manifest or the log is an error unless
    /// `options.recovery` accepts the loss (see [`crate::RecoveryMode`]); whatever is
    /// discarded is in the [`OpenReport`].
    pub fn open(dir: impl AsRef<Path>, options: TableOptions) -> Result<(Table, OpenReport)> {
        let (dir, options) = resolve(dir.as_ref(), options)?;
        let lock = take_lock(&dir, &options)?;
        let fs = fs_of(&options);
        let (registry, recovered) = Registry::open_with(
            Arc::clone(&fs),
            &dir.join(DATA_DIR),
            OpenOptions {
                recovery: options.recovery,
                ..OpenOptions::default()
            },
        )?;
        let mut report = OpenReport {
            registry: recovered,
            ..OpenReport::default()
        };
        let logs =
            recovery::live_logs(fs.as_ref(), &dir, &registry, &mut report, options.recovery)?;
        let next = logs.next_seq;
        let table = Self::assemble(dir, fs, registry, options, lock, Some(next))?;
        table.replay(&logs, &mut report)?;
        table.retire_replayed_logs(&logs)?;
        table.start_background()?;
        Ok((table, report))
    }

    /// After replay: when every replayed row is in a segment already (or the logs held none),
    /// the replayed logs are covered; record that and remove them, so logs that held nothing
    /// (one per writer that opened and closed without buffering a row) do not pile up.
    fn retire_replayed_logs(&self, logs: &recovery::LiveLogs) -> Result<()> {
        if logs.logs.is_empty() || self.buffered_rows() > 0 {
            return Ok(());
        }
        let next = logs.next_seq;
        self.registry
            .commit(strata_partition_registry::Edit::SetLogPosition(next))?;
        for (seq, path) in &logs.logs {
            if *seq < next {
                self.retire_log(*seq, path)?;
            }
        }
        self.fs
            .sync_dir(&self.dir.join(WAL_DIR))
            .map_err(io_err("syncing the log directory"))
    }

    /// Removes a covered log, or moves it to quarantine when recovery found it damaged.
    pub(crate) fn retire_log(&self, seq: u64, path: &Path) -> Result<()> {
        if !self
            .fs
            .exists(path)
            .map_err(io_err(format!("checking log {}", path.display())))?
        {
            // Already quarantined by recovery.
            return Ok(());
        }
        if lock(&self.damaged_logs).remove(&seq) {
            recovery::quarantine(self.fs.as_ref(), &self.registry, path).map(drop)
        } else {
            self.fs
                .remove_file(path)
                .map_err(io_err(format!("removing covered log {}", path.display())))
        }
    }

    /// Opens the table in `dir` for reading only: takes no lock, writes, moves or removes
    /// nothing, and runs no compaction, so it is safe while another process writes. It sees
    /// one consistent state: the committed manifest and the acknowledged writes still in the
    /// log, read again if a writer changed them meanwhile. Every write fails with
    /// [`TableError::ReadOnly`].
    pub fn open_read_only(
        dir: impl AsRef<Path>,
        options: TableOptions,
    ) -> Result<(Table, OpenReport)> {
        Self::open_read_only_at(dir, options, None)
    }

    /// [`Table::open_read_only`] at manifest version `version` (`None`: the latest). An older
    /// version can be opened while its checkpoint is kept: on an object store, for the
    /// table's retention period after a newer checkpoint replaced it; on a local table, back
    /// to the current checkpoint only. It shows the committed segments of that version (the
    /// write-ahead log's rows are the latest state's, so they are not read).
    pub fn open_read_only_at(
        dir: impl AsRef<Path>,
        options: TableOptions,
        version: Option<u64>,
    ) -> Result<(Table, OpenReport)> {
        let (dir, options) = resolve(dir.as_ref(), options)?;
        let fs = fs_of(&options);
        let mut last_err = None;
        for _ in 0..READ_ONLY_ATTEMPTS {
            match Self::try_open_read_only(&dir, &fs, &options, version) {
                Ok(Some(opened)) => return Ok(opened),
                Ok(None) => {}
                Err(e) if recovery::is_not_found(&e) => last_err = Some(e),
                Err(e) => return Err(e),
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Err(last_err.unwrap_or_else(|| TableError::Wal {
            path: dir.join(WAL_DIR),
            detail: format!(
                "the table kept changing while it was read ({READ_ONLY_ATTEMPTS} attempts)"
            ),
        }))
    }

    /// One attempt: `None` when a writer committed while the log was read.
    fn try_open_read_only(
        dir: &Path,
        fs: &Arc<dyn FileSystem>,
        options: &TableOptions,
        version: Option<u64>,
    ) -> Result<Option<(Table, OpenReport)>> {
        let open = || {
            Registry::open_with(
                Arc::clone(fs),
                &dir.join(DATA_DIR),
                OpenOptions {
                    recovery: options.recovery,
                    read_only: true,
                    at_version: version,
                },
            )
        };
        let (registry, recovered) = open()?;
        let before = registry.state().version;
        let mut report = OpenReport {
            registry: recovered,
            ..OpenReport::default()
        };
        let logs = if version.is_some() || !fs.capabilities().append {
            // A pinned version has no log rows of its own; an object store has no log.
            Vec::new()
        } else {
            let logs = recovery::read_live_logs(fs.as_ref(), dir, &registry, &mut report)?;
            // A flush that committed meanwhile may have removed logs we did not read yet.
            let (again, _) = open()?;
            if again.state().version != before {
                return Ok(None);
            }
            logs
        };
        let mut options = options.clone();
        options.fs = Some(Arc::clone(fs));
        options.compaction.background = false;
        options.compaction.device_bandwidth = DeviceBandwidth::BytesPerSec(1);
        options.memtable = MemtableOptions {
            soft_limit_bytes: usize::MAX,
            hard_limit_bytes: usize::MAX,
            ..options.memtable
        };
        let table = Self::assemble(
            dir.to_path_buf(),
            Arc::clone(fs),
            registry,
            options,
            None,
            None,
        )?;
        {
            let mut w = table.lock_write();
            for record in &logs {
                for b in record {
                    w.memtable.append(b)?;
                }
            }
        }
        Ok(Some((table, report)))
    }

    /// Builds the table; `wal_seq` is the first log to write (`None`: read-only, no log).
    fn assemble(
        dir: PathBuf,
        fs: Arc<dyn FileSystem>,
        registry: Registry,
        options: TableOptions,
        lock: Option<DirLock>,
        wal_seq: Option<u64>,
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
        let wal = match wal_seq {
            Some(seq) if options.durability != Durability::None => Some(Wal::create(
                Arc::clone(&fs),
                &dir.join(WAL_DIR),
                seq,
                options.durability,
            )?),
            _ => None,
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
            read_only: wal_seq.is_none(),
            options,
            closed: AtomicBool::new(false),
            poisoned: AtomicBool::new(false),
            damaged_logs: Mutex::new(std::collections::BTreeSet::new()),
            lock: Mutex::new(lock),
        })
    }

    fn start_background(&self) -> Result<()> {
        if !self.options.compaction.background || self.read_only {
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

    pub(crate) fn lock_write(&self) -> MutexGuard<'_, WriteState> {
        lock(&self.write)
    }

    /// Fails when the table is closed, poisoned or read-only.
    pub(crate) fn check_writable(&self) -> Result<()> {
        if self.read_only {
            return Err(TableError::ReadOnly);
        }
        self.check_open()
    }

    pub(crate) fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(TableError::Closed);
        }
        if self.poisoned.load(Ordering::Acquire) {
            return Err(TableError::Poisoned);
        }
        Ok(())
    }

    pub(crate) fn poison<T>(&self, r: Result<T>) -> Result<T> {
        if r.is_err() {
            self.poisoned.store(true, Ordering::Release);
        }
        r
    }

    /// The table directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the table was opened with [`Table::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.read_only
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

    /// Asks the background compactor (if any) to evaluate its policy now.
    pub(crate) fn trigger_compaction(&self) {
        if let Some(h) = lock(&self.scheduler).as_ref() {
            h.trigger();
        }
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
        self.check_writable()?;
        let guard = lock(&self.flushing);
        {
            let mut w = self.lock_write();
            self.freeze_locked(&mut w)?;
        }
        self.flush_frozen(&guard)?;
        let deleted = self.registry.delete(predicate)?.rows_deleted;
        self.compactor.refresh()?;
        if deleted > 0 {
            self.trigger_compaction();
        }
        Ok(deleted)
    }

    /// Sets how the table's flushes and merges compress, for every writer of the table from
    /// the next segment on: a setting kept in the manifest (one log record). Segments already
    /// written keep their encoding until a merge rewrites them ([`Table::compact_now`]
    /// rewrites every partition). See [`Compression`].
    pub fn set_compression(&self, compression: Compression) -> Result<()> {
        self.check_writable()?;
        if self.registry.state().compression != compression {
            self.registry.commit(Edit::SetCompression(compression))?;
        }
        Ok(())
    }

    /// Flushes the write buffer, then compacts every partition now, whatever the policy's
    /// triggers say: each ends as one segment without deleted rows (see
    /// [`strata_compactor::CompactionPolicy::plan_requested`]). Runs on the calling thread; a
    /// background cycle running meanwhile is waited for. Returns the cycles run.
    pub fn compact_now(&self) -> Result<Vec<CycleReport>> {
        self.flush()?;
        Ok(self
            .compactor
            .compact_now(&self.options.compaction.policy, COMPACT_NOW_ROUNDS)?)
    }

    /// [`Table::compact_now`] that also rewrites partitions already at one segment: every
    /// segment is written again with the table's current settings (after
    /// [`Table::set_compression`], its segments all take the new compression). Returns the
    /// cycles run.
    pub fn rewrite_now(&self) -> Result<Vec<CycleReport>> {
        self.flush()?;
        Ok(self
            .compactor
            .rewrite_now(&self.options.compaction.policy, COMPACT_NOW_ROUNDS)?)
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
        Ok(Snapshot::new(index, frozen, Arc::new(memtable)))
    }

    /// Removes what the table no longer needs: files that commits retired more than the
    /// retention period ago, orphans older than it, and old manifest objects (see
    /// [`Registry::collect_garbage`]); with no retention period, the files no snapshot of this
    /// process holds any more. [`Table::close`] runs it too. Returns the files removed.
    pub fn collect_garbage(&self) -> Result<u64> {
        self.check_writable()?;
        let removed = self.compactor.collect_garbage()? as u64;
        let report = self
            .registry
            .collect_garbage(std::time::SystemTime::now())?;
        Ok(removed + report.removed.len() as u64)
    }

    /// A scan builder over a fresh [`Table::snapshot`].
    pub fn scan(&self) -> ScanBuilder<'_> {
        ScanBuilder::over_table(self)
    }

    /// Flushes, stops the background compactor (a running cycle completes), syncs the log and
    /// releases the lock; later calls fail with [`TableError::Closed`]. Dropping a table
    /// without closing it loses nothing acknowledged (the log is replayed on open).
    pub fn close(&self) -> Result<()> {
        if self.read_only {
            self.closed.store(true, Ordering::Release);
            return Ok(());
        }
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
        if self.registry.state().retention_ms > 0 {
            self.registry
                .collect_garbage(std::time::SystemTime::now())?;
        }
        if let Some(wal) = &self.wal
            && !self.poisoned.load(Ordering::Acquire)
        {
            wal.sync()?;
        }
        lock(&self.lock).take();
        Ok(())
    }
}

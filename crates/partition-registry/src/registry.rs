//! The registry: durable commits to the manifest log, checkpoints, recovery, deletes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use roaring::RoaringBitmap;
use strata_format::{
    FileSystem, FramedRecord, ScalarValue, Schema, Segment, SymbolAs, TailKind, WritableFile,
    frame_record, split_records, write_durably,
};

pub use crate::objects::{
    CreateOptions, DEFAULT_RETENTION_MS, GcReport, Layout, MANIFEST_DIR, checkpoint_object_name,
    record_object_name,
};
use strata_predicate::{BoundPredicate, Scan};
use strata_writer::SegmentMeta;

use crate::encoding::{
    CHECKPOINT_MAGIC, CHECKPOINT_VERSION, DV_MAGIC, DV_VERSION, FrameError, RecordError,
    checkpoint_file, decode_checkpoint_payload, decode_dv_payload, decode_record, encode_dv,
    encode_record, unframe_file,
};
use crate::error::{RegistryError, Result};
use crate::state::{
    Edit, PartitionState, SegmentEntry, SegmentId, TableConfig, TableState, partition_dir_name,
};

/// Segment ids reserved per `ReserveSegmentIds` record.
const ID_RESERVATION: u64 = 64;
/// Largest log record accepted (a longer length field is damage).
const MAX_RECORD: u32 = 1 << 30;

/// Name of the checkpoint of generation `g`.
pub fn checkpoint_name(g: u64) -> String {
    format!("CHECKPOINT-{g}")
}

/// Name of the manifest log of generation `g`.
pub fn log_name(g: u64) -> String {
    format!("MANIFEST-{g}.log")
}

pub(crate) fn parse_checkpoint_name(name: &str) -> Option<u64> {
    name.strip_prefix("CHECKPOINT-")?.parse().ok()
}

/// How recovery treats a damaged manifest log (the rule is [`strata_format::record`]'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecoveryMode {
    /// Refuse to open past damage: only an incomplete last record (an append a crash cut
    /// short, which was never acknowledged) is discarded, and reported; any damaged record is
    /// [`RegistryError::Corrupt`].
    #[default]
    Strict,
    /// Recover to the last record before the first damage: the rest of the log is discarded
    /// and reported, and every file no kept record references is quarantined, not removed.
    PointInTime,
}

/// How [`Registry::open_with`] opens a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpenOptions {
    /// What recovery may discard.
    pub recovery: RecoveryMode,
    /// Read the state only: no new generation, no file removed or moved, every write refused
    /// with [`RegistryError::ReadOnly`]. Safe beside a writer in another process.
    pub read_only: bool,
    /// Open this manifest version instead of the latest (read-only only): it must be at or
    /// after the oldest kept checkpoint ([`RegistryError::VersionUnavailable`] otherwise).
    pub at_version: Option<u64>,
}

/// Log bytes that recovery discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TornTail {
    /// Offset of the first discarded byte in the log.
    pub offset: u64,
    /// Bytes discarded.
    pub bytes: u64,
    /// Whether the discarded bytes held a damaged record (only in
    /// [`RecoveryMode::PointInTime`]) rather than an incomplete one.
    pub damaged: bool,
    /// Well-framed records after the damage that were discarded with it.
    pub records_discarded: u64,
}

/// Name of the folder (inside the table directory) that recovery moves files to instead of
/// removing them when it discarded log records that may have referenced them.
pub const QUARANTINE_DIR: &str = "quarantine";

/// What [`Registry::open`] found and did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecoveryReport {
    /// Generation of the checkpoint recovery started from.
    pub checkpoint_generation: u64,
    /// Log records replayed on top of it.
    pub records_replayed: u64,
    /// The log bytes discarded, if any.
    pub torn_tail_discarded: Option<TornTail>,
    /// Files no committed edit references, removed (crashed writes, merges, superseded
    /// deletion vectors, retired manifest files).
    pub orphans_removed: Vec<PathBuf>,
    /// Files no kept edit references that were moved to [`QUARANTINE_DIR`] (their new paths):
    /// recovery discarded log records that may have referenced them.
    pub quarantined: Vec<PathBuf>,
    /// Generation the registry writes to after recovery.
    pub new_generation: u64,
}

/// Where a new segment goes: allocated by a flush ([`Registry::stage_segments`]) or for a merge
/// output ([`Registry::new_merge_output`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NewSegment {
    /// Its id (never used before).
    pub id: SegmentId,
    /// Partition interval `[start, end)` (created on commit if it does not exist yet).
    pub partition: (i64, i64),
    /// Directory to write into (the partition folder).
    pub dir: PathBuf,
    /// File name inside `dir`.
    pub name: String,
    /// Schema to write with (the table schema when allocated).
    pub schema: Schema,
    /// Its schema version.
    pub schema_version: u32,
}

/// What a delete did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteReport {
    /// Manifest version of the commit (`None` when nothing matched).
    pub version: Option<u64>,
    /// Rows newly deleted per affected segment.
    pub segments: Vec<(SegmentId, u64)>,
    /// Rows newly deleted in total.
    pub rows_deleted: u64,
}

/// What a scan needs from the registry: live segments, their deletion vectors, the schema.
#[derive(Debug, Clone)]
pub struct ScanInputs {
    /// The table schema to read every segment as.
    pub target_schema: Arc<Schema>,
    /// Live segments of queryable partitions (Active, Sealed, Merging), by partition and id.
    pub segments: Vec<ScanSegment>,
}

/// One segment of [`ScanInputs`].
#[derive(Debug, Clone)]
pub struct ScanSegment {
    /// Its manifest entry.
    pub entry: SegmentEntry,
    /// Full path.
    pub path: PathBuf,
    /// Deleted rows, if any.
    pub deleted: Option<Arc<RoaringBitmap>>,
}

#[derive(Debug)]
pub(crate) struct LogWriter {
    pub(crate) log: Option<Box<dyn WritableFile>>,
    /// Log layout: generation of the checkpoint and log. Object layout: version of the newest
    /// checkpoint this writer wrote or opened.
    pub(crate) generation: u64,
    pub(crate) records: u64,
    pub(crate) poisoned: bool,
    /// The next segment id to hand out, and the end of this writer's reservation.
    pub(crate) next_id: u64,
    pub(crate) reserved_end: u64,
    /// Object layout: a commit's outcome was unknown, so the state must be read again before
    /// the next commit.
    pub(crate) stale: bool,
}

impl LogWriter {
    pub(crate) fn new(generation: u64, next_id: u64) -> Self {
        LogWriter {
            log: None,
            generation,
            records: 0,
            poisoned: false,
            next_id,
            reserved_end: next_id,
            stale: false,
        }
    }
}

/// A table's durable catalogue. See the crate documentation.
#[derive(Debug)]
pub struct Registry {
    pub(crate) fs: Arc<dyn FileSystem>,
    pub(crate) dir: PathBuf,
    pub(crate) state: RwLock<Arc<TableState>>,
    pub(crate) writer: Mutex<LogWriter>,
    pub(crate) read_only: bool,
    pub(crate) layout: Layout,
}

pub(crate) fn fmt_err(
    context: impl Into<String>,
) -> impl FnOnce(strata_format::FormatError) -> RegistryError {
    let c = context.into();
    move |e| RegistryError::format(c, e)
}

pub(crate) fn read_file(fs: &dyn FileSystem, path: &Path) -> Result<Vec<u8>> {
    let f = fs
        .open_read(path)
        .map_err(fmt_err(format!("opening {}", path.display())))?;
    let len = usize::try_from(f.len())
        .map_err(|_| RegistryError::corrupt(path, 0, "file too large for this platform"))?;
    let b = f
        .read_at(0, len)
        .map_err(fmt_err(format!("reading {}", path.display())))?;
    Ok(b.to_vec())
}

pub(crate) fn frame_error(path: &Path, e: FrameError) -> RegistryError {
    match e {
        FrameError::Version(v) => RegistryError::UnsupportedVersion {
            file: path.to_path_buf(),
            version: v,
        },
        FrameError::Decode(d) => RegistryError::corrupt(path, d.offset, d.detail),
    }
}

/// The log's well-framed records (offset and payload range), and what was discarded, by
/// the rule of [`strata_format::record`] under `mode`.
pub(crate) fn split_log(
    path: &Path,
    buf: &[u8],
    mode: RecoveryMode,
) -> Result<(Vec<FramedRecord>, Option<TornTail>)> {
    match split_records(buf, MAX_RECORD) {
        Ok(split) => {
            let tail = split.tail.map(|t| TornTail {
                offset: t.offset,
                bytes: t.bytes,
                damaged: t.kind == TailKind::Damaged,
                records_discarded: 0,
            });
            if let Some(t) = tail
                && t.damaged
                && mode == RecoveryMode::Strict
            {
                return Err(RegistryError::corrupt(
                    path,
                    t.offset,
                    "the last record is damaged (checksum mismatch); `strata recover` can \
                     recover to the record before it",
                ));
            }
            Ok((split.records, tail))
        }
        Err(d) => {
            if mode == RecoveryMode::Strict {
                return Err(RegistryError::corrupt(
                    path,
                    d.offset,
                    format!(
                        "damaged record followed by a valid record at offset {}",
                        d.next_record
                    ),
                ));
            }
            let mut after = 0u64;
            let mut pos = d.next_record as usize;
            while let Some(r) = strata_format::record::record_at(buf, pos, MAX_RECORD) {
                after += 1;
                pos = r.payload.end;
            }
            let tail = TornTail {
                offset: d.offset,
                bytes: buf.len() as u64 - d.offset,
                damaged: true,
                records_discarded: after,
            };
            Ok((d.before, Some(tail)))
        }
    }
}

impl Registry {
    /// Creates a table in `dir` (which must not hold one) and returns its registry, laid out
    /// for the filesystem ([`CreateOptions::for_fs`]: the log layout on a local disk, the
    /// object layout with a one-hour retention on an object store).
    pub fn create(fs: Arc<dyn FileSystem>, dir: &Path, config: TableConfig) -> Result<Registry> {
        let options = CreateOptions::for_fs(fs.as_ref());
        Self::create_with(fs, dir, config, options)
    }

    /// [`Registry::create`] with an explicit layout and retention period.
    pub fn create_with(
        fs: Arc<dyn FileSystem>,
        dir: &Path,
        config: TableConfig,
        options: CreateOptions,
    ) -> Result<Registry> {
        let mut state = TableState::new(config)?;
        state.retention_ms = options.retention_ms;
        if fs
            .exists(dir)
            .map_err(fmt_err("checking the table directory"))?
        {
            let entries = fs
                .list_dir(dir)
                .map_err(fmt_err("listing the table directory"))?;
            let has_table = entries.iter().any(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| parse_checkpoint_name(n).is_some() || n == MANIFEST_DIR)
            });
            if has_table {
                return Err(RegistryError::TableExists {
                    dir: dir.to_path_buf(),
                });
            }
        }
        fs.create_dir_all(dir)
            .map_err(fmt_err("creating the table directory"))?;
        let reg = Registry {
            fs,
            dir: dir.to_path_buf(),
            state: RwLock::new(Arc::new(state)),
            writer: Mutex::new(LogWriter::new(0, 0)),
            read_only: false,
            layout: options.layout,
        };
        match options.layout {
            Layout::Log => {
                let mut w = reg.lock_writer();
                reg.rotate(&mut w)?;
            }
            Layout::Objects => reg.create_objects()?,
        }
        Ok(reg)
    }

    /// Opens the table in `dir` for writing with [`RecoveryMode::Strict`]: see
    /// [`Registry::open_with`].
    pub fn open(fs: Arc<dyn FileSystem>, dir: &Path) -> Result<(Registry, RecoveryReport)> {
        Self::open_with(fs, dir, OpenOptions::default())
    }

    /// Opens the table in `dir`: loads the newest checkpoint, replays its log (what it may
    /// discard is `options.recovery`'s), loads the live deletion vectors and checks that every
    /// referenced file exists. Unless read-only, it then writes a fresh checkpoint and log and
    /// removes every unreferenced file, or moves it to [`QUARANTINE_DIR`] when log bytes were
    /// discarded (they may have referenced it).
    pub fn open_with(
        fs: Arc<dyn FileSystem>,
        dir: &Path,
        options: OpenOptions,
    ) -> Result<(Registry, RecoveryReport)> {
        let no_table = || RegistryError::NoTable {
            dir: dir.to_path_buf(),
        };
        if !fs
            .exists(dir)
            .map_err(fmt_err("checking the table directory"))?
        {
            return Err(no_table());
        }
        if options.at_version.is_some() && !options.read_only {
            return Err(RegistryError::InvalidConfig(
                "an older manifest version can only be opened read-only".into(),
            ));
        }
        let entries = fs
            .list_dir(dir)
            .map_err(fmt_err("listing the table directory"))?;
        if entries
            .iter()
            .any(|p| p.file_name().and_then(|n| n.to_str()) == Some(MANIFEST_DIR))
        {
            return Self::open_objects(fs, dir, options);
        }
        let generation = entries
            .iter()
            .filter_map(|p| p.file_name()?.to_str().and_then(parse_checkpoint_name))
            .max()
            .ok_or_else(no_table)?;
        let mut report = RecoveryReport {
            checkpoint_generation: generation,
            ..RecoveryReport::default()
        };

        // 1. The checkpoint.
        let (mut state, mut dv_counts) = load_checkpoint(
            fs.as_ref(),
            &dir.join(checkpoint_name(generation)),
            generation,
        )?;

        // 2. Replay the log (absent: the crash came between checkpoint and log creation).
        let log_path = dir.join(log_name(generation));
        if fs.exists(&log_path).map_err(fmt_err("checking the log"))? {
            let buf = read_file(fs.as_ref(), &log_path)?;
            let (records, torn) = split_log(&log_path, &buf, options.recovery)?;
            report.torn_tail_discarded = torn;
            if options.at_version.is_some_and(|v| v < state.version) {
                return Err(RegistryError::VersionUnavailable {
                    version: options.at_version.unwrap_or_default(),
                    detail: format!("the oldest kept checkpoint is version {}", state.version),
                });
            }
            for FramedRecord {
                offset,
                payload: range,
            } in records
            {
                if options.at_version.is_some_and(|v| state.version >= v) {
                    break;
                }
                let payload = buf.get(range).unwrap_or_default();
                replay_record(
                    &mut state,
                    &mut dv_counts,
                    payload,
                    &log_path,
                    offset as u64,
                )?;
                report.records_replayed += 1;
            }
        }
        if let Some(v) = options.at_version
            && state.version != v
        {
            return Err(RegistryError::VersionUnavailable {
                version: v,
                detail: format!("the table's latest version is {}", state.version),
            });
        }

        // 3. Every referenced file exists; load the live deletion vectors.
        load_deletion_vectors(fs.as_ref(), dir, &mut state, &dv_counts, None)?;

        // 4. A fresh generation, then remove (or quarantine) everything it does not reference.
        let next_id = state.segment_id_limit;
        let reg = Registry {
            fs,
            dir: dir.to_path_buf(),
            state: RwLock::new(Arc::new(state)),
            writer: Mutex::new(LogWriter::new(generation, next_id)),
            read_only: options.read_only,
            layout: Layout::Log,
        };
        if options.read_only {
            report.new_generation = generation;
            return Ok((reg, report));
        }
        {
            let mut w = reg.lock_writer();
            reg.rotate(&mut w)?;
            report.new_generation = w.generation;
        }
        let quarantine = report.torn_tail_discarded.is_some();
        let (removed, moved) = reg.remove_orphans(quarantine, None)?;
        report.orphans_removed = removed;
        report.quarantined = moved;
        Ok((reg, report))
    }

    pub(crate) fn lock_writer(&self) -> MutexGuard<'_, LogWriter> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current state (an immutable snapshot).
    pub fn state(&self) -> Arc<TableState> {
        Arc::clone(&self.state.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Whether it was opened read-only (every write refused).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// How the manifest is stored.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The table directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The filesystem.
    pub fn fs(&self) -> &Arc<dyn FileSystem> {
        &self.fs
    }

    /// Generation of the current checkpoint and log.
    pub fn generation(&self) -> u64 {
        self.lock_writer().generation
    }

    /// Full path of a file named relative to the table directory.
    pub fn path_of(&self, relative: &str) -> PathBuf {
        self.dir.join(relative)
    }

    /// Commits one edit as one durable log record; returns the new manifest version.
    pub fn commit(&self, edit: Edit) -> Result<u64> {
        self.commit_batch(vec![edit])
    }

    /// Commits several edits as one durable log record (all or nothing).
    pub fn commit_batch(&self, edits: Vec<Edit>) -> Result<u64> {
        let mut w = self.lock_writer();
        self.commit_locked(&mut w, &edits)
    }

    /// Commits the edits `make` builds from the current state, as one record; no other commit
    /// comes between reading the state and writing the record.
    pub(crate) fn commit_with(&self, make: impl FnOnce(&TableState) -> Vec<Edit>) -> Result<u64> {
        let mut w = self.lock_writer();
        let edits = make(&self.state());
        self.commit_locked(&mut w, &edits)
    }

    pub(crate) fn commit_locked(&self, w: &mut LogWriter, edits: &[Edit]) -> Result<u64> {
        if self.read_only {
            return Err(RegistryError::ReadOnly);
        }
        if w.poisoned {
            return Err(RegistryError::Poisoned);
        }
        if self.layout == Layout::Objects {
            return self.commit_object(w, edits);
        }
        let (edits, next) = prepare_record(&self.state(), edits)?;
        let record = encode_framed(&next, &edits)?;
        let log = w.log.as_mut().ok_or(RegistryError::Poisoned)?;
        let written = log.write_all(&record).and_then(|()| log.sync());
        if let Err(e) = written {
            // The record may be partly in the file: nothing may follow it until recovery.
            w.poisoned = true;
            return Err(RegistryError::format("appending to the manifest log", e));
        }
        let version = next.version;
        *self.state.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
        w.records += 1;
        let every = u64::from(self.state().config.checkpoint_every);
        if every > 0 && w.records >= every {
            // The commit is durable whatever happens here; a failed checkpoint poisons the
            // registry so the next write reports it.
            let _ = self.rotate(w);
        }
        Ok(version)
    }

    /// Writes a checkpoint of the full state and starts a new, empty log; the old checkpoint
    /// and log are retired.
    pub fn checkpoint(&self) -> Result<()> {
        let mut w = self.lock_writer();
        if self.read_only {
            return Err(RegistryError::ReadOnly);
        }
        if w.poisoned {
            return Err(RegistryError::Poisoned);
        }
        self.rotate(&mut w)
    }

    /// Checkpoint `g+1` durably (temp, fsync, rename, dir fsync), then an empty log `g+1`
    /// (create, fsync, dir fsync), then removal of generation `g`'s files.
    fn rotate(&self, w: &mut LogWriter) -> Result<()> {
        let old = w.generation;
        let g = old + 1;
        let state = self.state();
        if self.layout == Layout::Objects {
            return self.write_checkpoint_object(w, &state);
        }
        let bytes = checkpoint_file(&state, g);
        let result = (|| -> Result<Box<dyn WritableFile>> {
            write_durably(self.fs.as_ref(), &self.dir, &checkpoint_name(g), &bytes)
                .map_err(fmt_err("writing a checkpoint"))?;
            let log_path = self.dir.join(log_name(g));
            let mut log = self
                .fs
                .create(&log_path)
                .map_err(fmt_err("creating the manifest log"))?;
            log.sync().map_err(fmt_err("syncing the manifest log"))?;
            self.fs
                .sync_dir(&self.dir)
                .map_err(fmt_err("syncing the table directory"))?;
            Ok(log)
        })();
        match result {
            Ok(log) => {
                w.log = Some(log);
                w.generation = g;
                w.records = 0;
            }
            Err(e) => {
                w.poisoned = true;
                return Err(e);
            }
        }
        if old > 0 {
            let mut removed = false;
            for name in [checkpoint_name(old), log_name(old)] {
                let p = self.dir.join(name);
                if self
                    .fs
                    .exists(&p)
                    .map_err(fmt_err("retiring the old log"))?
                {
                    self.fs
                        .remove_file(&p)
                        .map_err(fmt_err("retiring the old log"))?;
                    removed = true;
                }
            }
            if removed {
                self.fs
                    .sync_dir(&self.dir)
                    .map_err(fmt_err("syncing the table directory"))?;
            }
        }
        Ok(())
    }

    /// Every file the current state and generation reference, relative to the table directory:
    /// live segments and deletion vectors, retired files not yet collected, and (log layout)
    /// the current checkpoint and log.
    pub fn referenced_files(&self) -> BTreeSet<String> {
        let g = self.lock_writer().generation;
        let state = self.state();
        let mut out = state.live_files();
        out.extend(state.retired.keys().cloned());
        if self.layout == Layout::Log {
            out.extend([checkpoint_name(g), log_name(g)]);
        }
        out
    }

    /// Removes every unreferenced file of the table directory and its partition folders, or,
    /// with `quarantine`, moves it into [`QUARANTINE_DIR`] (retired manifest files are removed
    /// either way). Returns the removed paths and the new paths of the moved files.
    /// With `older_than`, only files last written before it are touched (a live writer's
    /// staged files look like orphans; files of unknown age count as old).
    pub(crate) fn remove_orphans(
        &self,
        quarantine: bool,
        older_than: Option<std::time::SystemTime>,
    ) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
        let keep: BTreeSet<PathBuf> = self
            .referenced_files()
            .iter()
            .map(|f| self.dir.join(f))
            .collect();
        let mut removed = Vec::new();
        let mut moved = Vec::new();
        let list = |d: &Path| {
            self.fs
                .list_dir(d)
                .map_err(fmt_err(format!("listing {}", d.display())))
        };
        let name_of = |p: &Path| {
            p.file_name()
                .and_then(|n| n.to_str())
                .map(str::to_string)
                .unwrap_or_default()
        };
        let mut dirs = vec![self.dir.clone()];
        for entry in list(&self.dir)? {
            if name_of(&entry).starts_with("part-") {
                dirs.push(entry);
            }
        }
        let qdir = self.dir.join(QUARANTINE_DIR);
        for d in dirs {
            let mut any = false;
            for entry in list(&d)? {
                let name = name_of(&entry);
                let is_subdir = d == self.dir
                    && (name.starts_with("part-")
                        || name == QUARANTINE_DIR
                        || name == MANIFEST_DIR);
                if is_subdir || keep.contains(&entry) {
                    continue;
                }
                if let Some(cutoff) = older_than {
                    let modified = self
                        .fs
                        .modified(&entry)
                        .map_err(fmt_err(format!("checking the age of {}", entry.display())))?;
                    if modified.is_some_and(|m| m > cutoff) {
                        continue;
                    }
                }
                let manifest_file = d == self.dir
                    && (parse_checkpoint_name(&name).is_some() || name.starts_with("MANIFEST-"));
                if quarantine && !manifest_file && !name.ends_with(".tmp") {
                    self.fs
                        .create_dir_all(&qdir)
                        .map_err(fmt_err("creating the quarantine folder"))?;
                    let prefix = if d == self.dir {
                        String::new()
                    } else {
                        format!("{}.", name_of(&d))
                    };
                    let to = qdir.join(format!("{prefix}{name}"));
                    self.fs
                        .rename(&entry, &to)
                        .map_err(fmt_err(format!("quarantining {}", entry.display())))?;
                    self.fs
                        .sync_dir(&qdir)
                        .map_err(fmt_err("syncing the quarantine folder"))?;
                    moved.push(to);
                } else {
                    self.fs
                        .remove_file(&entry)
                        .map_err(fmt_err(format!("removing orphan {}", entry.display())))?;
                    removed.push(entry);
                }
                any = true;
            }
            if any {
                self.fs
                    .sync_dir(&d)
                    .map_err(fmt_err(format!("syncing {}", d.display())))?;
            }
        }
        Ok((removed, moved))
    }

    /// The interval `[start, end)` and whether it exists already, for a row at `t`.
    pub fn partition_for(&self, t: i64) -> Result<((i64, i64), bool)> {
        let state = self.state();
        if let Some(p) = state.partition_containing(t) {
            return Ok(((p.start, p.end), true));
        }
        Ok((state.new_partition_interval(t)?, false))
    }

    /// Allocates an output segment of a merge in the existing, queryable partition `start`
    /// (Active, Sealed or Merging). Commit it with an [`Edit::Merge`].
    pub fn new_merge_output(&self, start: i64) -> Result<NewSegment> {
        self.allocate(start, PartitionState::is_queryable)
    }

    /// Allocates an output segment for the partition `[start, end)` that a commit will create
    /// (a roll-up's [`Edit::CoarsenPartitions`], in the same record as the merge).
    pub fn new_output_in(&self, start: i64, end: i64) -> Result<NewSegment> {
        self.allocate_in(start, end)
    }

    fn allocate(&self, start: i64, ok: impl Fn(PartitionState) -> bool) -> Result<NewSegment> {
        let state = self.state();
        let p = state
            .partitions
            .get(&start)
            .ok_or(RegistryError::UnknownPartition(start))?;
        if !ok(p.state) {
            return Err(RegistryError::InvalidPartition {
                start,
                end: p.end,
                detail: format!("partition is {:?} and takes no new segments", p.state),
            });
        }
        self.allocate_in(start, p.end)
    }

    /// Allocates a segment in partition `[start, end)`: an existing Active one, or a new one
    /// that a commit will create.
    pub(crate) fn allocate_segment(&self, (start, end): (i64, i64)) -> Result<NewSegment> {
        if self.state().partitions.contains_key(&start) {
            self.allocate(start, |s| s == PartitionState::Active)
        } else {
            self.allocate_in(start, end)
        }
    }

    fn allocate_in(&self, start: i64, end: i64) -> Result<NewSegment> {
        let id = {
            let mut w = self.lock_writer();
            let mut attempts = 0;
            // One writer (the log layout) may use every reserved id, whoever committed the
            // reservation; with several (the object layout) only the ids it reserved itself.
            let reserved_end = |w: &LogWriter| match self.layout {
                Layout::Log => self.state().segment_id_limit,
                Layout::Objects => w.reserved_end,
            };
            while w.next_id >= reserved_end(&w) {
                // The ids from the current limit up are this writer's once the record commits;
                // a writer that lost the race for the version reads the new limit and retries.
                let base = self.state().segment_id_limit;
                let limit = base + ID_RESERVATION;
                match self.commit_locked(&mut w, &[Edit::ReserveSegmentIds { limit }]) {
                    Ok(_) => {
                        w.next_id = base;
                        w.reserved_end = limit;
                    }
                    Err(RegistryError::Conflict { .. }) if attempts < 16 => attempts += 1,
                    Err(e) => return Err(e),
                }
            }
            let id = w.next_id;
            w.next_id += 1;
            id
        };
        let state = self.state();
        let dir = self.dir.join(partition_dir_name(start));
        if !self
            .fs
            .exists(&dir)
            .map_err(fmt_err("checking a partition folder"))?
        {
            self.fs
                .create_dir_all(&dir)
                .map_err(fmt_err("creating a partition folder"))?;
            self.fs
                .sync_dir(&self.dir)
                .map_err(fmt_err("syncing the table directory"))?;
        }
        Ok(NewSegment {
            id,
            partition: (start, end),
            dir,
            name: format!("seg-{id}.strata"),
            schema: state.schema.schema(),
            schema_version: state.schema.version,
        })
    }

    /// The manifest entry of a segment written to `target` (for [`Edit::AddSegment`] or a
    /// [`crate::MergeCommit`] output).
    pub fn entry_for(&self, target: &NewSegment, meta: &SegmentMeta) -> SegmentEntry {
        let (start, _) = target.partition;
        let state = self.state();
        let (min_ts, max_ts) = state
            .config
            .time_column()
            .and_then(|c| time_range(meta, c))
            .unwrap_or((start, start));
        SegmentEntry {
            id: target.id,
            file: format!("{}/{}", partition_dir_name(start), target.name),
            partition: start,
            rows: meta.rows,
            bytes: meta.bytes,
            min_ts,
            max_ts,
            schema_version: target.schema_version,
            deletion: None,
        }
    }

    /// Marks rows deleted: `matching` returns, for one live segment, the row positions to
    /// delete (it is given the rows deleted already). Each affected segment gets a new
    /// deletion-vector file (written durably), then one manifest record commits them all.
    pub fn delete_where(
        &self,
        mut matching: impl FnMut(
            &SegmentEntry,
            &Arc<Segment>,
            Option<&RoaringBitmap>,
        ) -> Result<RoaringBitmap>,
    ) -> Result<DeleteReport> {
        let mut w = self.lock_writer();
        if self.read_only {
            return Err(RegistryError::ReadOnly);
        }
        if w.poisoned {
            return Err(RegistryError::Poisoned);
        }
        let state = self.state();
        let version = state.version + 1;
        let mut edits = Vec::new();
        let mut report = DeleteReport::default();
        let mut written: Vec<PathBuf> = Vec::new();
        let result = (|| -> Result<()> {
            for p in state.partitions.values().filter(|p| p.state.is_queryable()) {
                for s in p.segments.values() {
                    let path = self.dir.join(&s.file);
                    let seg = Arc::new(
                        Segment::open(self.fs.as_ref(), &path)
                            .map_err(fmt_err(format!("opening segment {}", s.id)))?,
                    );
                    let old = s.deletion.as_ref().map(|d| d.bitmap.as_ref());
                    let mut rows = matching(s, &seg, old)?;
                    if let Some(old) = old {
                        rows -= old;
                    }
                    if let Some(m) = rows.max()
                        && u64::from(m) >= s.rows
                    {
                        return Err(RegistryError::InvalidSegment {
                            id: s.id,
                            detail: format!("row {m} is beyond its {} rows", s.rows),
                        });
                    }
                    if rows.is_empty() {
                        continue;
                    }
                    let new_rows = rows.len();
                    if let Some(old) = old {
                        rows |= old;
                    }
                    // On an object store another writer may race for the same version: a
                    // random suffix keeps the loser from overwriting the winner's file.
                    let name = match self.layout {
                        Layout::Log => format!("dv-{}-{version}.roaring", s.id),
                        Layout::Objects => {
                            format!(
                                "dv-{}-{version}-{:016x}.roaring",
                                s.id,
                                crate::objects::nonce()
                            )
                        }
                    };
                    let dir = self.dir.join(partition_dir_name(s.partition));
                    let path =
                        write_durably(self.fs.as_ref(), &dir, &name, &encode_dv(s.id, &rows))
                            .map_err(fmt_err("writing a deletion vector"))?;
                    written.push(path);
                    edits.push(Edit::AddDeletionVector {
                        segment: s.id,
                        file: format!("{}/{name}", partition_dir_name(s.partition)),
                        bitmap: Arc::new(rows),
                    });
                    report.segments.push((s.id, new_rows));
                    report.rows_deleted += new_rows;
                }
            }
            Ok(())
        })();
        let committed = result.and_then(|()| {
            if edits.is_empty() {
                Ok(None)
            } else {
                self.commit_locked(&mut w, &edits).map(Some)
            }
        });
        match committed {
            Ok(v) => {
                report.version = v;
                Ok(report)
            }
            Err(e) => {
                for p in written {
                    // Best effort: recovery removes whatever is left.
                    let _ = self.fs.remove_file(&p);
                }
                Err(e)
            }
        }
    }

    /// Deletes the rows where `predicate` (bound to the table schema) is TRUE.
    pub fn delete(&self, predicate: &BoundPredicate) -> Result<DeleteReport> {
        self.delete_where(|s, seg, old| {
            strata_predicate::matching_rows(seg, predicate, old).map_err(|e| {
                RegistryError::Predicate {
                    segment: s.id,
                    detail: e.to_string(),
                }
            })
        })
    }

    /// Live segments of queryable partitions with their deletion vectors and the table schema.
    pub fn scan_inputs(&self) -> ScanInputs {
        let state = self.state();
        let segments = state
            .partitions
            .values()
            .filter(|p| p.state.is_queryable())
            .flat_map(|p| p.segments.values())
            .map(|s| ScanSegment {
                entry: s.clone(),
                path: self.dir.join(&s.file),
                deleted: s.deletion.as_ref().map(|d| Arc::clone(&d.bitmap)),
            })
            .collect();
        ScanInputs {
            target_schema: Arc::new(state.schema.schema()),
            segments,
        }
    }

    /// A [`Scan`] of the whole table: every live segment, deletion vectors applied, read as the
    /// current table schema (Symbol columns as `Utf8`).
    pub fn scan(&self) -> Result<Scan> {
        let inputs = self.scan_inputs();
        let mut segments = Vec::with_capacity(inputs.segments.len());
        for s in &inputs.segments {
            segments
                .push(Arc::new(Segment::open(self.fs.as_ref(), &s.path).map_err(
                    fmt_err(format!("opening segment {}", s.entry.id)),
                )?));
        }
        let mut scan = Scan::new(segments)
            .target_schema(Arc::clone(&inputs.target_schema))
            .symbol_as(SymbolAs::Utf8);
        for (i, s) in inputs.segments.iter().enumerate() {
            if let Some(d) = &s.deleted {
                scan = scan.deleted(i, d.as_ref().clone());
            }
        }
        Ok(scan)
    }
}

fn load_dv(fs: &dyn FileSystem, path: &Path, s: &SegmentEntry) -> Result<RoaringBitmap> {
    let bytes = read_file(fs, path)?;
    let (_, payload) =
        unframe_file(DV_MAGIC, DV_VERSION, &bytes).map_err(|e| frame_error(path, e))?;
    let (seg, bitmap) = decode_dv_payload(payload)
        .map_err(|d| RegistryError::corrupt(path, d.offset + 24, d.detail))?;
    if seg != s.id {
        return Err(RegistryError::corrupt(
            path,
            24,
            format!("belongs to segment {seg}, not {}", s.id),
        ));
    }
    if bitmap.max().is_some_and(|m| u64::from(m) >= s.rows) {
        return Err(RegistryError::corrupt(
            path,
            24,
            format!("deletes rows beyond the segment's {}", s.rows),
        ));
    }
    Ok(bitmap)
}

/// Smallest and largest timestamp of a written segment, from its footer statistics.
fn time_range(meta: &SegmentMeta, time_col: &str) -> Option<(i64, i64)> {
    let stats = meta.column_stats(time_col)?;
    match (&stats.min, &stats.max) {
        (Some(ScalarValue::Int(a)), Some(ScalarValue::Int(b))) => Some((*a, *b)),
        _ => None,
    }
}

/// The edits of one record as committed: `edits`, plus an [`Edit::Retire`] of the files they
/// stop referencing when the table keeps retired files (a retention period), and the state
/// after them.
pub(crate) fn prepare_record(
    state: &TableState,
    edits: &[Edit],
) -> Result<(Vec<Edit>, TableState)> {
    let mut next = state.clone();
    next.apply_record(edits)?;
    if state.retention_ms == 0 {
        return Ok((edits.to_vec(), next));
    }
    let live = next.live_files();
    let files: Vec<String> = state
        .live_files()
        .into_iter()
        .filter(|f| !live.contains(f))
        .collect();
    if files.is_empty() {
        return Ok((edits.to_vec(), next));
    }
    let mut all = edits.to_vec();
    all.push(Edit::Retire {
        files,
        at_ms: crate::objects::now_ms(),
    });
    let mut next = state.clone();
    next.apply_record(&all)?;
    Ok((all, next))
}

/// One framed manifest record of `edits`, taking `next` to its version.
pub(crate) fn encode_framed(next: &TableState, edits: &[Edit]) -> Result<Vec<u8>> {
    frame_record(&encode_record(next.version, edits))
        .ok_or_else(|| RegistryError::InvalidConfig("a manifest record larger than 4 GiB".into()))
}

/// Applies one record payload read from `file` (at `offset`) to `state`: its version must be
/// the next one, and a merge's view of deleted rows must match the log's. The deleted-row
/// counts of new deletion vectors go to `dv_counts`; their file names are returned (the
/// bitmaps are loaded afterwards).
pub(crate) fn replay_record(
    state: &mut TableState,
    dv_counts: &mut BTreeMap<String, u64>,
    payload: &[u8],
    file: &Path,
    offset: u64,
) -> Result<Vec<String>> {
    let corrupt = |detail: String| RegistryError::corrupt(file, offset, detail);
    let (rec, counts) = match decode_record(payload) {
        Ok(r) => r,
        Err(RecordError::Version(v)) => {
            return Err(RegistryError::UnsupportedVersion {
                file: file.to_path_buf(),
                version: u32::from(v),
            });
        }
        Err(RecordError::Decode(d)) => return Err(corrupt(d.detail)),
    };
    if rec.version != state.version + 1 {
        return Err(corrupt(format!(
            "record version {} after version {}",
            rec.version, state.version
        )));
    }
    let mut new_dvs = Vec::new();
    let mut counts = counts.into_iter();
    for e in &rec.edits {
        if let Edit::AddDeletionVector { file, .. } = e {
            dv_counts.insert(file.clone(), counts.next().unwrap_or_default());
            new_dvs.push(file.clone());
        }
    }
    // Deletion vectors are loaded only after replay, so a merge's conflict check is made here
    // against the deleted-row counts the log recorded.
    let mut edits = rec.edits;
    for e in &mut edits {
        if let Edit::Merge(m) = e {
            for (id, seen) in &mut m.inputs {
                let logged = state
                    .segment(*id)
                    .and_then(|s| s.deletion.as_ref())
                    .map_or(0, |d| dv_counts.get(&d.file).copied().unwrap_or_default());
                if logged != *seen {
                    return Err(corrupt(format!(
                        "merge of segment {id} saw {seen} deleted rows, the log has {logged}"
                    )));
                }
                *seen = state.segment(*id).map_or(0, |s| s.deleted_rows());
            }
        }
    }
    state
        .apply_record(&edits)
        .map_err(|e| corrupt(format!("record does not apply: {e}")))?;
    Ok(new_dvs)
}

/// Checks that every file of the live segments exists and loads their deletion vectors (all
/// of them, or with `only` just those files, without the existence checks).
pub(crate) fn load_deletion_vectors(
    fs: &dyn FileSystem,
    dir: &Path,
    state: &mut TableState,
    dv_counts: &BTreeMap<String, u64>,
    only: Option<&BTreeSet<String>>,
) -> Result<()> {
    let mut loaded: BTreeMap<SegmentId, Arc<RoaringBitmap>> = BTreeMap::new();
    // Existence is checked by listing each partition directory once, not by one probe per
    // file: on an object store a probe is a HEAD request, a listing one request per partition.
    let mut listed: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    let mut exists = |path: &Path, what: &str| -> Result<bool> {
        let parent = path.parent().unwrap_or(dir).to_path_buf();
        if !listed.contains_key(&parent) {
            let entries = match fs.list_dir(&parent) {
                Ok(entries) => entries.into_iter().collect(),
                Err(e) if strata_format::fs::is_not_found(&e) => BTreeSet::new(),
                Err(e) => return Err(fmt_err(format!("checking a {what}"))(e)),
            };
            listed.insert(parent.clone(), entries);
        }
        Ok(listed.get(&parent).is_some_and(|set| set.contains(path)))
    };
    for s in state.segments() {
        if only.is_none() {
            let seg_path = dir.join(&s.file);
            if !exists(&seg_path, "segment")? {
                return Err(RegistryError::MissingFile { path: seg_path });
            }
        }
        let Some(dv) = &s.deletion else { continue };
        if only.is_some_and(|o| !o.contains(&dv.file)) {
            continue;
        }
        let path = dir.join(&dv.file);
        if !exists(&path, "deletion vector")? {
            return Err(RegistryError::MissingFile { path });
        }
        let bitmap = load_dv(fs, &path, s)?;
        let want = dv_counts.get(&dv.file).copied().unwrap_or_default();
        if bitmap.len() != want {
            return Err(RegistryError::corrupt(
                &path,
                0,
                format!("{} deleted rows, the manifest says {want}", bitmap.len()),
            ));
        }
        loaded.insert(s.id, Arc::new(bitmap));
    }
    for p in state.partitions.values_mut() {
        for s in p.segments.values_mut() {
            if let (Some(dv), Some(b)) = (s.deletion.as_mut(), loaded.remove(&s.id)) {
                dv.bitmap = b;
            }
        }
    }
    Ok(())
}

/// Reads the checkpoint at `path`, which must hold `generation`: the state (deletion bitmaps
/// not loaded) and the deleted-row count of each live deletion vector.
pub(crate) fn load_checkpoint(
    fs: &dyn FileSystem,
    path: &Path,
    generation: u64,
) -> Result<(TableState, BTreeMap<String, u64>)> {
    let bytes = read_file(fs, path)?;
    let (cp_version, payload) = unframe_file(CHECKPOINT_MAGIC, CHECKPOINT_VERSION, &bytes)
        .map_err(|e| frame_error(path, e))?;
    let cp = decode_checkpoint_payload(payload, cp_version)
        .map_err(|d| RegistryError::corrupt(path, d.offset + 24, d.detail))?;
    if cp.generation != generation {
        return Err(RegistryError::corrupt(
            path,
            24,
            format!("holds generation {}", cp.generation),
        ));
    }
    Ok((cp.state, cp.dv_counts))
}

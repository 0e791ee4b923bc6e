//! The object layout of the manifest, and garbage collection after a retention period.
//!
//! An object store can neither append to a file nor rename one atomically, so a table there
//! keeps its manifest as one object per version: `manifest/<version>.rec` holds the same framed
//! record a local log holds, created with a conditional put ([`FileSystem::put_if_absent`]), and
//! `manifest/<version>.checkpoint` the full state at that version. Two writers racing for
//! version N cannot both win: the loser reads the records it missed and retries when its edits
//! still apply on top (new segments, new partitions), or gets [`RegistryError::Conflict`] (a
//! merge, a delete, a schema change planned on the state it read). A record is whole or absent,
//! so there is no torn tail; a damaged one is an error naming its key.
//!
//! Readers of an older version must still find its files: with a retention period (the object
//! layout's default is one hour) a commit does not let the files it stops referencing go, it
//! records them as retired ([`Edit::Retire`]); [`Registry::collect_garbage`] removes them once
//! the period has passed, with orphans (files no version references: a crashed writer's) older
//! than the period, and checkpoints and records no reader within the period can need.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use roaring::RoaringBitmap;
use strata_format::{FileSystem, is_already_exists, is_not_found};

use crate::encoding::checkpoint_file;
use crate::error::{RegistryError, Result};
use crate::registry::{
    LogWriter, OpenOptions, QUARANTINE_DIR, RecoveryMode, RecoveryReport, Registry, TornTail,
    encode_framed, fmt_err, load_checkpoint, load_deletion_vectors, prepare_record, read_file,
    replay_record, split_log,
};
use crate::state::{Edit, PartitionState, TableState};

/// Folder of the object layout's manifest objects, inside the table directory.
pub const MANIFEST_DIR: &str = "manifest";

/// Retention period of a table created on an object store: one hour.
pub const DEFAULT_RETENTION_MS: u64 = 60 * 60 * 1000;

/// Commits retried after lost races before giving up with [`RegistryError::Conflict`].
const MAX_ATTEMPTS: u32 = 64;

/// How a table's manifest is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `CHECKPOINT-<g>` and an append-only `MANIFEST-<g>.log` (a local disk; one writer).
    Log,
    /// `manifest/<version>.rec`, one object per version created with a conditional put, and
    /// `manifest/<version>.checkpoint` (an object store; writers race by conditional put).
    Objects,
}

/// How [`Registry::create_with`] lays out a new table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateOptions {
    /// The manifest's layout.
    pub layout: Layout,
    /// How long the files a commit stops referencing stay readable, in milliseconds (0: they
    /// are removed as soon as no snapshot of this process holds them).
    pub retention_ms: u64,
}

impl CreateOptions {
    /// The layout `fs` suits: [`Layout::Log`] with no retention where files can be appended
    /// to, else [`Layout::Objects`] with [`DEFAULT_RETENTION_MS`].
    pub fn for_fs(fs: &dyn FileSystem) -> Self {
        if fs.capabilities().append {
            CreateOptions {
                layout: Layout::Log,
                retention_ms: 0,
            }
        } else {
            CreateOptions {
                layout: Layout::Objects,
                retention_ms: DEFAULT_RETENTION_MS,
            }
        }
    }
}

/// What [`Registry::collect_garbage`] removed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GcReport {
    /// Files removed: retired files past the retention period, old orphans, and manifest
    /// objects no reader within the period needs.
    pub removed: Vec<PathBuf>,
    /// Retired files that left the manifest's retired list.
    pub forgotten: u64,
}

/// Name of the record object of manifest version `v` (zero-padded so names sort by version).
pub fn record_object_name(v: u64) -> String {
    format!("{v:020}.rec")
}

/// Name of the checkpoint object of manifest version `v`.
pub fn checkpoint_object_name(v: u64) -> String {
    format!("{v:020}.checkpoint")
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    millis(SystemTime::now())
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A random number that differs between calls and processes (file-name suffixes).
pub(crate) fn nonce() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u64(now_ms());
    h.write_u32(std::process::id());
    h.finish()
}

/// The versions of the record and checkpoint objects in `manifest/`.
#[derive(Debug, Default)]
struct Listing {
    records: BTreeSet<u64>,
    checkpoints: BTreeSet<u64>,
}

fn list_manifest(fs: &dyn FileSystem, mdir: &Path) -> Result<Listing> {
    let mut out = Listing::default();
    for p in fs
        .list_dir(mdir)
        .map_err(fmt_err("listing the manifest objects"))?
    {
        let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if let Some(v) = name.strip_suffix(".rec").and_then(|v| v.parse().ok()) {
            out.records.insert(v);
        } else if let Some(v) = name
            .strip_suffix(".checkpoint")
            .and_then(|v| v.parse().ok())
        {
            out.checkpoints.insert(v);
        }
    }
    Ok(out)
}

/// What replaying record objects did.
#[derive(Debug, Default)]
struct Replay {
    applied: u64,
    /// Deletion-vector files the applied records added.
    new_dvs: BTreeSet<String>,
    /// The first damaged record (only with [`RecoveryMode::PointInTime`]), its size and the
    /// records after it.
    damaged: Option<(u64, u64, u64)>,
}

/// Applies the record objects after `state.version`, up to `target`.
fn replay_objects(
    fs: &dyn FileSystem,
    mdir: &Path,
    state: &mut TableState,
    dv_counts: &mut BTreeMap<String, u64>,
    listing: &Listing,
    target: u64,
    mode: RecoveryMode,
) -> Result<Replay> {
    let mut out = Replay::default();
    let mut v = state.version + 1;
    while v <= target && listing.records.contains(&v) {
        let path = mdir.join(record_object_name(v));
        let buf = read_file(fs, &path)?;
        let whole = match split_log(&path, &buf, RecoveryMode::Strict) {
            Ok((records, None)) if records.len() == 1 => records.into_iter().next(),
            _ => None,
        };
        let Some(record) = whole else {
            if mode == RecoveryMode::Strict {
                return Err(RegistryError::corrupt(
                    &path,
                    0,
                    "damaged manifest record (not one whole record with a valid checksum); \
                     `strata recover` can recover to the version before it",
                ));
            }
            let later = listing.records.range(v + 1..).count() as u64;
            out.damaged = Some((v, buf.len() as u64, later));
            return Ok(out);
        };
        let payload = buf.get(record.payload).unwrap_or_default();
        out.new_dvs
            .extend(replay_record(state, dv_counts, payload, &path, 0)?);
        out.applied += 1;
        v += 1;
    }
    if target == u64::MAX
        && let Some(after) = listing.records.range(v..).next()
    {
        return Err(RegistryError::corrupt(
            mdir.join(record_object_name(v)),
            0,
            format!("manifest version {v} is missing but version {after} exists"),
        ));
    }
    Ok(out)
}

/// The caller's edits that still make sense after another writer's commit, or `None` when a
/// retry would act on a state it did not read: new segments and partitions (a partition the
/// other writer created meanwhile, with the same interval, is not created twice), retention
/// and compression settings and collected files rebase; merges, deletes, state and schema
/// changes do not.
fn rebase(edits: &[Edit], state: &TableState) -> Option<Vec<Edit>> {
    let mut out = Vec::with_capacity(edits.len());
    for e in edits {
        match e {
            Edit::CreatePartition { start, end } => {
                let exists = state
                    .partitions
                    .get(start)
                    .is_some_and(|p| p.end == *end && p.state == PartitionState::Active);
                if !exists {
                    out.push(e.clone());
                }
            }
            // Each attempt carries a token of its own.
            Edit::Token(_) => {}
            Edit::AddSegment(_)
            | Edit::SetRetention(_)
            | Edit::SetCompression(_)
            | Edit::Forget(_)
            | Edit::SetLogPosition(_) => out.push(e.clone()),
            _ => return None,
        }
    }
    Some(out)
}

/// The deleted-row count of every live deletion vector of `state` (its bitmaps are loaded).
fn live_dv_counts(state: &TableState) -> BTreeMap<String, u64> {
    state
        .segments()
        .filter_map(|s| s.deletion.as_ref())
        .map(|d| (d.file.clone(), d.bitmap.len()))
        .collect()
}

impl Registry {
    fn manifest_dir(&self) -> PathBuf {
        self.dir.join(MANIFEST_DIR)
    }

    /// Writes checkpoint 0 of a new table; losing the race for it means another process
    /// created the table first.
    pub(crate) fn create_objects(&self) -> Result<()> {
        let mdir = self.manifest_dir();
        self.fs
            .create_dir_all(&mdir)
            .map_err(fmt_err("creating the manifest folder"))?;
        let state = self.state();
        match self.fs.put_if_absent(
            &mdir.join(checkpoint_object_name(0)),
            &checkpoint_file(&state, 0),
        ) {
            Ok(()) => Ok(()),
            Err(e) if is_already_exists(&e) => Err(RegistryError::TableExists {
                dir: self.dir.clone(),
            }),
            Err(e) => Err(RegistryError::format("writing the first checkpoint", e)),
        }
    }

    /// [`Registry::open_with`] for the object layout: the newest checkpoint at or before the
    /// version asked for, then the records after it in version order.
    pub(crate) fn open_objects(
        fs: Arc<dyn FileSystem>,
        dir: &Path,
        options: OpenOptions,
    ) -> Result<(Registry, RecoveryReport)> {
        let mdir = dir.join(MANIFEST_DIR);
        let listing = list_manifest(fs.as_ref(), &mdir)?;
        let target = options.at_version.unwrap_or(u64::MAX);
        let Some(&cp) = listing.checkpoints.range(..=target).next_back() else {
            return Err(match (options.at_version, listing.checkpoints.first()) {
                (Some(v), Some(oldest)) => RegistryError::VersionUnavailable {
                    version: v,
                    detail: format!("the oldest kept checkpoint is version {oldest}"),
                },
                _ => RegistryError::NoTable {
                    dir: dir.to_path_buf(),
                },
            });
        };
        let cp_path = mdir.join(checkpoint_object_name(cp));
        let (mut state, mut dv_counts) = load_checkpoint(fs.as_ref(), &cp_path, cp)?;
        if state.version != cp {
            return Err(RegistryError::corrupt(
                &cp_path,
                24,
                format!("holds manifest version {}", state.version),
            ));
        }
        let replay = replay_objects(
            fs.as_ref(),
            &mdir,
            &mut state,
            &mut dv_counts,
            &listing,
            target,
            options.recovery,
        )?;
        if let Some(v) = options.at_version
            && state.version != v
        {
            return Err(RegistryError::VersionUnavailable {
                version: v,
                detail: format!("the table's latest version is {}", state.version),
            });
        }
        load_deletion_vectors(fs.as_ref(), dir, &mut state, &dv_counts, None)?;
        let mut report = RecoveryReport {
            checkpoint_generation: cp,
            records_replayed: replay.applied,
            torn_tail_discarded: replay.damaged.map(|(_, bytes, later)| TornTail {
                offset: 0,
                bytes,
                damaged: true,
                records_discarded: later,
            }),
            new_generation: cp,
            ..RecoveryReport::default()
        };
        let next_id = state.segment_id_limit;
        let reg = Registry {
            fs,
            dir: dir.to_path_buf(),
            state: std::sync::RwLock::new(Arc::new(state)),
            writer: std::sync::Mutex::new(LogWriter::new(cp, next_id)),
            read_only: options.read_only,
            layout: Layout::Objects,
        };
        if options.read_only {
            return Ok((reg, report));
        }
        if let Some((from, _, _)) = replay.damaged {
            // The damaged record and those after it move aside, so the versions are free to
            // commit again; nothing else is collected, since they may reference files.
            let qdir = dir.join(QUARANTINE_DIR);
            for v in listing.records.range(from..) {
                let name = record_object_name(*v);
                let to = qdir.join(format!("{MANIFEST_DIR}.{name}"));
                reg.fs
                    .rename(&mdir.join(&name), &to)
                    .map_err(fmt_err(format!("quarantining manifest record {name}")))?;
                report.quarantined.push(to);
            }
        } else {
            report.orphans_removed = reg.collect_garbage(SystemTime::now())?.removed;
        }
        Ok((reg, report))
    }

    /// Commits `edits` as the next manifest version by a conditional put; after losing the
    /// race to another writer, reads its records and retries if the edits rebase ([`rebase`]).
    pub(crate) fn commit_object(&self, w: &mut LogWriter, edits: &[Edit]) -> Result<u64> {
        if w.stale {
            self.refresh_locked(w)?;
        }
        let mut edits = edits.to_vec();
        let mut attempt = 0;
        loop {
            let state = self.state();
            let mut attempt_edits = edits.clone();
            attempt_edits.push(Edit::Token(nonce()));
            let (all, next) = match prepare_record(&state, &attempt_edits) {
                Ok(x) => x,
                Err(e) if attempt > 0 => {
                    return Err(RegistryError::Conflict {
                        version: state.version,
                        detail: format!(
                            "after another writer's commit the edits no longer apply: {e}"
                        ),
                    });
                }
                Err(e) => return Err(e),
            };
            let bytes = encode_framed(&next, &all)?;
            let path = self.manifest_dir().join(record_object_name(next.version));
            match self.fs.put_if_absent(&path, &bytes) {
                Ok(()) => return Ok(self.install(w, next)),
                // The put failed, its answer was lost, or it was retried after it succeeded
                // (a store client retries a conditional put after a server error, and the
                // retry finds the key taken): what is there now decides.
                Err(e) => match read_file(self.fs.as_ref(), &path) {
                    Ok(there) if there == bytes => return Ok(self.install(w, next)),
                    Ok(_) => {}
                    Err(RegistryError::Format { source, .. })
                        if is_not_found(&source) && !is_already_exists(&e) =>
                    {
                        return Err(RegistryError::format("writing a manifest record", e));
                    }
                    Err(_) => {
                        w.stale = true;
                        return Err(RegistryError::format(
                            format!(
                                "writing manifest record {} (whether it was committed is \
                                 known once the table is read again)",
                                path.display()
                            ),
                            e,
                        ));
                    }
                },
            }
            attempt += 1;
            let version = next.version;
            self.refresh_locked(w)?;
            if attempt >= MAX_ATTEMPTS {
                return Err(RegistryError::Conflict {
                    version,
                    detail: format!("lost the race for a version {attempt} times"),
                });
            }
            edits = rebase(&edits, &self.state()).ok_or_else(|| RegistryError::Conflict {
                version,
                detail: "another writer committed this version first, and these edits depend \
                         on the state they were planned on"
                    .into(),
            })?;
        }
    }

    /// Makes `next` the current state after its record committed; writes a checkpoint every
    /// `checkpoint_every` records (a failed checkpoint costs nothing but a longer replay).
    fn install(&self, w: &mut LogWriter, next: TableState) -> u64 {
        let version = next.version;
        *self.state.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
        w.records += 1;
        let every = u64::from(self.state().config.checkpoint_every);
        if every > 0 && w.records >= every {
            let state = self.state();
            let _ = self.write_checkpoint_object(w, &state);
        }
        version
    }

    /// Writes the checkpoint object of `state`'s version (another writer's checkpoint of the
    /// same version is the same state, so losing that race is fine).
    pub(crate) fn write_checkpoint_object(
        &self,
        w: &mut LogWriter,
        state: &TableState,
    ) -> Result<()> {
        let path = self
            .manifest_dir()
            .join(checkpoint_object_name(state.version));
        match self
            .fs
            .put_if_absent(&path, &checkpoint_file(state, state.version))
        {
            Ok(()) => {}
            Err(e) if is_already_exists(&e) => {}
            Err(e) => return Err(RegistryError::format("writing a checkpoint", e)),
        }
        w.generation = state.version;
        w.records = 0;
        Ok(())
    }

    /// Reads the manifest versions other writers committed since this registry's state (object
    /// layout; the log layout has one writer, so it has nothing to read) and returns the
    /// current version. A reader opened at the latest version calls it to move forward.
    pub fn refresh(&self) -> Result<u64> {
        if self.layout == Layout::Objects {
            let mut w = self.lock_writer();
            self.refresh_locked(&mut w)?;
        }
        Ok(self.state().version)
    }

    pub(crate) fn refresh_locked(&self, w: &mut LogWriter) -> Result<()> {
        let mdir = self.manifest_dir();
        let listing = list_manifest(self.fs.as_ref(), &mdir)?;
        let cur = self.state();
        let newest = listing
            .records
            .last()
            .max(listing.checkpoints.last())
            .copied()
            .unwrap_or(0);
        if newest <= cur.version {
            w.stale = false;
            return Ok(());
        }
        let state = if listing.records.contains(&(cur.version + 1)) {
            // Replay sees the deletion vectors as replay from a checkpoint does (placeholders
            // with their counts, so a new vector is checked as a superset by count); the
            // loaded bitmaps are put back afterwards and only new vectors are read.
            let mut state = (*cur).clone();
            let mut dv_counts = live_dv_counts(&state);
            let mut loaded = BTreeMap::new();
            for p in state.partitions.values_mut() {
                for s in p.segments.values_mut() {
                    if let Some(dv) = s.deletion.as_mut() {
                        let b = std::mem::replace(&mut dv.bitmap, Arc::new(RoaringBitmap::new()));
                        loaded.insert(dv.file.clone(), b);
                    }
                }
            }
            let r = replay_objects(
                self.fs.as_ref(),
                &mdir,
                &mut state,
                &mut dv_counts,
                &listing,
                u64::MAX,
                RecoveryMode::Strict,
            )?;
            for p in state.partitions.values_mut() {
                for s in p.segments.values_mut() {
                    if let Some(dv) = s.deletion.as_mut()
                        && let Some(b) = loaded.remove(&dv.file)
                    {
                        dv.bitmap = b;
                    }
                }
            }
            load_deletion_vectors(
                self.fs.as_ref(),
                &self.dir,
                &mut state,
                &dv_counts,
                Some(&r.new_dvs),
            )?;
            state
        } else {
            // The records after this state were collected: start from the newest checkpoint.
            let cp = listing.checkpoints.last().copied().unwrap_or(0);
            let (mut state, mut dv_counts) =
                load_checkpoint(self.fs.as_ref(), &mdir.join(checkpoint_object_name(cp)), cp)?;
            replay_objects(
                self.fs.as_ref(),
                &mdir,
                &mut state,
                &mut dv_counts,
                &listing,
                u64::MAX,
                RecoveryMode::Strict,
            )?;
            load_deletion_vectors(self.fs.as_ref(), &self.dir, &mut state, &dv_counts, None)?;
            state
        };
        *self.state.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(state);
        w.stale = false;
        Ok(())
    }

    /// Collects garbage as of `now`: removes retired files whose retention period has passed
    /// (and commits their removal from the retired list), then orphans older than the period
    /// (files no version references: a crashed writer's) and the manifest objects no reader
    /// within the period can need (checkpoints before the newest one older than the period,
    /// and the records it covers). Files of unknown age count as old. A log-layout table
    /// without a retention period only does the first step (it removes orphans when it
    /// opens); an object-layout table without one must not be flushing meanwhile.
    pub fn collect_garbage(&self, now: SystemTime) -> Result<GcReport> {
        if self.read_only {
            return Err(RegistryError::ReadOnly);
        }
        let mut report = GcReport::default();
        let state = {
            let mut w = self.lock_writer();
            if w.poisoned {
                return Err(RegistryError::Poisoned);
            }
            if self.layout == Layout::Objects {
                self.refresh_locked(&mut w)?;
            }
            let state = self.state();
            let now_ms = millis(now);
            let expired: Vec<String> = state
                .retired
                .iter()
                .filter(|(_, at)| at.saturating_add(state.retention_ms) <= now_ms)
                .map(|(f, _)| f.clone())
                .collect();
            let mut dirs = BTreeSet::new();
            for f in &expired {
                let p = self.dir.join(f);
                match self.fs.remove_file(&p) {
                    Ok(()) => {
                        dirs.insert(p.parent().map(Path::to_path_buf).unwrap_or_default());
                        report.removed.push(p);
                    }
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => {
                        return Err(RegistryError::format(
                            format!("removing retired file {}", p.display()),
                            e,
                        ));
                    }
                }
            }
            for d in dirs {
                self.fs
                    .sync_dir(&d)
                    .map_err(fmt_err(format!("syncing {}", d.display())))?;
            }
            if !expired.is_empty() {
                report.forgotten = expired.len() as u64;
                self.commit_locked(&mut w, &[Edit::Forget(expired)])?;
            }
            state
        };
        if state.retention_ms == 0 && self.layout == Layout::Log {
            // The log layout removes orphans when it opens; at run time, without a retention
            // period, a flush's staged files would look like orphans.
            return Ok(report);
        }
        let cutoff = now
            .checked_sub(Duration::from_millis(state.retention_ms))
            .unwrap_or(UNIX_EPOCH);
        let (removed, _) = self.remove_orphans(false, Some(cutoff))?;
        report.removed.extend(removed);
        if self.layout == Layout::Objects {
            report
                .removed
                .extend(self.collect_manifest_objects(cutoff)?);
        }
        Ok(report)
    }

    /// Removes the checkpoints before the newest checkpoint written before `cutoff`, and the
    /// records it covers: every version before it was replaced before `cutoff`.
    fn collect_manifest_objects(&self, cutoff: SystemTime) -> Result<Vec<PathBuf>> {
        let mdir = self.manifest_dir();
        let listing = list_manifest(self.fs.as_ref(), &mdir)?;
        let mut keep_from = None;
        for &c in listing.checkpoints.iter().rev() {
            let p = mdir.join(checkpoint_object_name(c));
            let modified = self
                .fs
                .modified(&p)
                .map_err(fmt_err("checking the age of a checkpoint"))?;
            if modified.is_none_or(|m| m <= cutoff) {
                keep_from = Some(c);
                break;
            }
        }
        let Some(keep_from) = keep_from else {
            return Ok(Vec::new());
        };
        let old = listing
            .checkpoints
            .range(..keep_from)
            .map(|c| checkpoint_object_name(*c))
            .chain(
                listing
                    .records
                    .range(..=keep_from)
                    .map(|r| record_object_name(*r)),
            );
        let mut removed = Vec::new();
        for name in old {
            let p = mdir.join(name);
            match self.fs.remove_file(&p) {
                Ok(()) => removed.push(p),
                Err(e) if is_not_found(&e) => {}
                Err(e) => {
                    return Err(RegistryError::format(
                        format!("removing old manifest object {}", p.display()),
                        e,
                    ));
                }
            }
        }
        Ok(removed)
    }
}

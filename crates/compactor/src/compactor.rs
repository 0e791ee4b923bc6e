//! The compaction protocol and the published table index.
//!
//! [`Compactor::run_plan`] performs one cycle:
//! 1. merge the plan's inputs into a new segment, written durably ([`merge_segments`]);
//! 2. commit one manifest record that swaps inputs for the output ([`Edit::Merge`]);
//! 3. publish the rebuilt [`TableIndex`] (an atomic pointer swap; readers never wait);
//! 4. retire the inputs: their files are deleted only once no reader snapshot lists them.
//!
//! A crash before step 2 is durable leaves the inputs live and the output an orphan that
//! recovery removes; a crash after it leaves the output live and the inputs orphans that
//! recovery removes. Steps 3 and 4 are in memory or only delete unreferenced files.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use crossbeam_channel::{Receiver, Sender};
use strata_format::FileSystem;
use strata_partition_registry::{
    Edit, MergeCommit, PartitionState, Registry, RegistryError, SegmentId,
};

use crate::error::{CompactorError, Result};
use crate::index::TableIndex;
use crate::merge::{MergeInput, MergeOptions, merge_segments};
use crate::policy::{CompactionPolicy, MergePlan, PlanReason};
use crate::throttle::Throttle;

/// How the compactor executes plans.
#[derive(Debug, Clone)]
pub struct CompactorConfig {
    /// Device bandwidth in bytes per second; a plan may use its `io_share` of it.
    pub device_bytes_per_sec: u64,
    /// Merge settings (the throttle is set per plan).
    pub merge: MergeOptions,
}

impl Default for CompactorConfig {
    fn default() -> Self {
        Self {
            device_bytes_per_sec: 200_000_000,
            merge: MergeOptions::default(),
        }
    }
}

/// What one compaction cycle did.
#[derive(Debug, Clone)]
pub struct CycleReport {
    /// The partition merged.
    pub partition: i64,
    /// Why the plan was chosen.
    pub reason: PlanReason,
    /// Input segments.
    pub segments_in: usize,
    /// Output segments (0 when every input row was deleted).
    pub segments_out: usize,
    /// Rows in the inputs.
    pub rows_in: u64,
    /// Deleted rows left out.
    pub rows_deleted: u64,
    /// Rows written.
    pub rows_out: u64,
    /// Bytes of the input files.
    pub bytes_in: u64,
    /// Block bytes read.
    pub bytes_read: u64,
    /// Bytes of the output file.
    pub bytes_written: u64,
    /// Wall time of the cycle.
    pub duration: Duration,
    /// Manifest version of the merge commit.
    pub version: u64,
    /// Retired files deleted at the end of the cycle (those no snapshot held any more).
    pub files_deleted: usize,
}

impl CycleReport {
    /// Bytes written per byte of input file: the cycle's write amplification.
    pub fn write_amplification(&self) -> f64 {
        if self.bytes_in == 0 {
            0.0
        } else {
            self.bytes_written as f64 / self.bytes_in as f64
        }
    }
}

/// Owns compaction for one table: plans, executes, publishes the [`TableIndex`] readers take
/// snapshots of, and is the only deleter of segment files at run time.
#[derive(Debug)]
pub struct Compactor {
    registry: Arc<Registry>,
    config: CompactorConfig,
    index: ArcSwap<TableIndex>,
    /// Serialises index rebuilds (readers never take it).
    publish: Mutex<()>,
    /// Serialises merges.
    merging: Mutex<()>,
    deletions_tx: Sender<Vec<PathBuf>>,
    deletions_rx: Receiver<Vec<PathBuf>>,
    last_compacted: Mutex<HashMap<i64, Instant>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Compactor {
    /// Takes charge of the table of `registry`: a partition left `Merging` by a crash goes
    /// back to `Sealed`, bandwidth probes left by killed processes are removed
    /// ([`remove_stale_probes`]), and the first index is built and published. Over a read-only
    /// registry it changes nothing on disk.
    pub fn open(registry: Arc<Registry>, config: CompactorConfig) -> Result<Compactor> {
        if !registry.is_read_only() {
            remove_stale_probes(registry.fs().as_ref(), registry.dir())?;
        }
        let interrupted: Vec<Edit> = registry
            .state()
            .partitions
            .values()
            .filter(|p| p.state == PartitionState::Merging)
            .map(|p| Edit::SetPartitionState {
                partition: p.start,
                state: PartitionState::Sealed,
            })
            .collect();
        if !interrupted.is_empty() && !registry.is_read_only() {
            registry.commit_batch(interrupted)?;
        }
        let index = TableIndex::build(&registry, &registry.state(), None)?;
        let (deletions_tx, deletions_rx) = crossbeam_channel::unbounded();
        Ok(Compactor {
            registry,
            config,
            index: ArcSwap::from_pointee(index),
            publish: Mutex::new(()),
            merging: Mutex::new(()),
            deletions_tx,
            deletions_rx,
            last_compacted: Mutex::new(HashMap::new()),
        })
    }

    /// The registry.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The current index: a consistent snapshot of the table. Lock-free; never waits for a
    /// merge. The files it lists stay on disk while it is held.
    pub fn snapshot(&self) -> Arc<TableIndex> {
        self.index.load_full()
    }

    /// Publishes the index of the registry's current state (call after committing writes or
    /// deletes through the registry) and returns it. Segments that left the state are retired.
    pub fn refresh(&self) -> Result<Arc<TableIndex>> {
        let _guard = lock(&self.publish);
        let current = self.index.load_full();
        let state = self.registry.state();
        if state.version == current.version {
            return Ok(current);
        }
        let next = Arc::new(TableIndex::build(&self.registry, &state, Some(&current))?);
        for h in current.segments() {
            if next.segment(h.entry.id).is_none() {
                let mut files = vec![h.file.path().clone()];
                if let Some(dv) = &h.entry.deletion {
                    files.push(self.registry.path_of(&dv.file));
                }
                if state.retention_ms > 0 {
                    // The manifest keeps them retired for the retention period, for readers
                    // in other processes; the registry's garbage collection removes them.
                    files.clear();
                }
                h.file.retire(self.deletions_tx.clone(), files);
            }
        }
        self.index.store(Arc::clone(&next));
        Ok(next)
    }

    /// The plans `policy` makes for the current state.
    pub fn plan(&self, policy: &CompactionPolicy) -> Vec<MergePlan> {
        let last = lock(&self.last_compacted).clone();
        policy.plan(&self.registry.state(), Instant::now(), &last)
    }

    /// Runs one plan: merge, commit, publish, retire (see the module documentation), then
    /// deletes whatever retired files no snapshot holds any more.
    pub fn run_plan(&self, plan: &MergePlan) -> Result<CycleReport> {
        self.run_plan_cancellable(plan, None)
    }

    /// [`Compactor::run_plan`] that gives up with [`CompactorError::Cancelled`] once `cancel`
    /// is raised (checked before every output batch; nothing is committed then, and the
    /// partial output is removed).
    pub fn run_plan_cancellable(
        &self,
        plan: &MergePlan,
        cancel: Option<Arc<AtomicBool>>,
    ) -> Result<CycleReport> {
        let _merging = lock(&self.merging);
        let started = Instant::now();
        let index = self.refresh()?;
        let stale = |detail: String| CompactorError::StalePlan {
            partition: plan.partition,
            detail,
        };
        // A roll-up takes its inputs from the partitions it rolls up.
        let from = match &plan.roll_up {
            Some(r) => r.from.clone(),
            None => vec![plan.partition],
        };
        let parts = from
            .iter()
            .map(|p| {
                index
                    .partitions
                    .get(p)
                    .ok_or_else(|| stale(format!("partition {p} is gone")))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut handles = Vec::with_capacity(plan.inputs.len());
        let mut seen_ids = BTreeSet::new();
        for id in &plan.inputs {
            let h = parts
                .iter()
                .find_map(|segs| segs.get(id))
                .ok_or_else(|| stale(format!("segment {id} is not live in it")))?;
            if !seen_ids.insert(*id) {
                return Err(stale(format!("segment {id} is listed twice")));
            }
            handles.push(h.clone());
        }
        if handles.is_empty() && plan.roll_up.is_none() {
            return Err(stale("no inputs".into()));
        }
        let sealed = plan.roll_up.is_none()
            && self
                .registry
                .state()
                .partitions
                .get(&plan.partition)
                .is_some_and(|p| p.state == PartitionState::Sealed);
        if sealed {
            self.registry.commit(Edit::SetPartitionState {
                partition: plan.partition,
                state: PartitionState::Merging,
            })?;
        }
        let result = self.merge_and_commit(plan, &handles, sealed, cancel);
        if result.is_err() && sealed {
            // Best effort; a crash here is repaired by `Compactor::open`.
            let _ = self.registry.commit(Edit::SetPartitionState {
                partition: plan.partition,
                state: PartitionState::Sealed,
            });
        }
        let mut report = result?;
        lock(&self.last_compacted).insert(plan.partition, Instant::now());
        drop(handles);
        drop(index);
        self.refresh()?;
        report.files_deleted = self.collect_garbage()?;
        report.duration = started.elapsed();
        Ok(report)
    }

    fn merge_and_commit(
        &self,
        plan: &MergePlan,
        handles: &[crate::index::SegmentHandle],
        sealed: bool,
        cancel: Option<Arc<AtomicBool>>,
    ) -> Result<CycleReport> {
        let inputs_seen: Vec<(SegmentId, u64)> = handles
            .iter()
            .map(|h| (h.entry.id, h.entry.deleted_rows()))
            .collect();
        let rows_in: u64 = handles.iter().map(|h| h.entry.rows).sum();
        let bytes_in: u64 = handles.iter().map(|h| h.entry.bytes).sum();
        let live: u64 = handles.iter().map(|h| h.live_rows()).sum();
        let mut report = CycleReport {
            partition: plan.partition,
            reason: plan.reason,
            segments_in: handles.len(),
            segments_out: 0,
            rows_in,
            rows_deleted: rows_in - live,
            rows_out: 0,
            bytes_in,
            bytes_read: 0,
            bytes_written: 0,
            duration: Duration::ZERO,
            version: 0,
            files_deleted: 0,
        };
        let mut outputs = Vec::new();
        let mut output_path = None;
        if live > 0 {
            let target = match &plan.roll_up {
                Some(r) => self.registry.new_output_in(r.start, r.end)?,
                None => self.registry.new_merge_output(plan.partition)?,
            };
            let mut opts = self.config.merge.clone();
            // The table's compression setting, whatever the configured options say.
            opts.writer = self.registry.state().compression.apply(opts.writer);
            opts.cancel = cancel;
            opts.throttle = Some(Arc::new(Throttle::for_budget(
                self.config.device_bytes_per_sec,
                plan.io_share,
            )));
            let inputs = handles
                .iter()
                .map(|h| MergeInput {
                    name: h.entry.file.clone(),
                    segment: Arc::clone(h.file.segment()),
                    deleted: h.deleted.as_ref().map(|d| d.as_ref().clone()),
                    write_order: h.entry.id,
                })
                .collect();
            let path = target.dir.join(&target.name);
            let outcome = match merge_segments(
                Arc::clone(self.registry.fs()),
                &target.dir,
                &target.name,
                inputs,
                &opts,
            ) {
                Ok(o) => o,
                Err(e) => {
                    // Never committed: ours to remove (recovery would, too).
                    let _ = self.registry.fs().remove_file(&path);
                    return Err(e);
                }
            };
            report.segments_out = 1;
            report.rows_out = outcome.rows_out;
            report.bytes_read = outcome.bytes_read;
            report.bytes_written = outcome.bytes_written;
            outputs.push(self.registry.entry_for(&target, &outcome.meta));
            output_path = Some(path);
        }
        let mut edits = Vec::with_capacity(3);
        if let Some(r) = &plan.roll_up {
            // First the partitions become one (their segments move with them), then the
            // merge replaces those segments by its output, in one record.
            edits.push(Edit::CoarsenPartitions {
                from: r.from.clone(),
                start: r.start,
                end: r.end,
            });
        }
        edits.push(Edit::Merge(MergeCommit {
            inputs: inputs_seen,
            outputs,
        }));
        if sealed {
            edits.push(Edit::SetPartitionState {
                partition: plan.partition,
                state: PartitionState::Sealed,
            });
        }
        match self.registry.commit_batch(edits) {
            Ok(v) => report.version = v,
            Err(e) => {
                // Only a refused edit is certainly not in the log; after an I/O error the
                // record may be durable, and the output must stay for recovery to decide.
                let refused = matches!(
                    e,
                    RegistryError::MergeConflict { .. }
                        | RegistryError::UnknownSegment(_)
                        | RegistryError::InvalidPartition { .. }
                );
                if let (true, Some(p)) = (refused, &output_path) {
                    let _ = self.registry.fs().remove_file(p);
                }
                return Err(e.into());
            }
        }
        Ok(report)
    }

    /// Compacts every partition now, whatever the triggers say: runs
    /// [`CompactionPolicy::plan_requested`] plans until none is left, so each queryable
    /// partition ends as one segment without deleted rows (unless writes or deletes keep
    /// arriving). A plan made stale or refused by a concurrent merge or delete is planned
    /// again; after `max_rounds` rounds it stops with what it did.
    pub fn compact_now(
        &self,
        policy: &CompactionPolicy,
        max_rounds: usize,
    ) -> Result<Vec<CycleReport>> {
        let mut reports = Vec::new();
        for _ in 0..max_rounds {
            self.refresh()?;
            let plans = policy.plan_requested(&self.registry.state());
            if plans.is_empty() {
                break;
            }
            self.run_requested(&plans, &mut reports)?;
        }
        Ok(reports)
    }

    /// Runs `plans` one after the other, adding their cycles to `reports`; a plan a concurrent
    /// merge or delete made stale is skipped (planning again covers its partition).
    fn run_requested(&self, plans: &[MergePlan], reports: &mut Vec<CycleReport>) -> Result<()> {
        for plan in plans {
            match self.run_plan(plan) {
                Ok(r) => reports.push(r),
                Err(CompactorError::StalePlan { .. })
                | Err(CompactorError::Registry(RegistryError::MergeConflict { .. })) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// [`Self::compact_now`] that also rewrites partitions already at one segment without
    /// deleted rows ([`CompactionPolicy::plan_rewrite`]): every live segment is rewritten with
    /// the table's current settings (its compression). Returns the cycles run.
    pub fn rewrite_now(
        &self,
        policy: &CompactionPolicy,
        max_rounds: usize,
    ) -> Result<Vec<CycleReport>> {
        self.refresh()?;
        let mut reports = Vec::new();
        // A segment a concurrent merge or delete rewrote meanwhile is skipped: the rounds
        // below bring its partition to one segment again.
        self.run_requested(&policy.plan_rewrite(&self.registry.state()), &mut reports)?;
        reports.extend(self.compact_now(policy, max_rounds)?);
        Ok(reports)
    }

    /// Deletes the files of retired segments that no snapshot holds any more; returns how
    /// many files were removed.
    pub fn collect_garbage(&self) -> Result<usize> {
        let fs = self.registry.fs();
        let mut removed = 0;
        let mut dirs = BTreeSet::new();
        while let Ok(files) = self.deletions_rx.try_recv() {
            for f in files {
                fs.remove_file(&f).map_err(|source| CompactorError::Io {
                    path: f.clone(),
                    source,
                })?;
                removed += 1;
                if let Some(d) = f.parent() {
                    dirs.insert(d.to_path_buf());
                }
            }
        }
        for d in dirs {
            fs.sync_dir(&d).map_err(|source| CompactorError::Io {
                path: d.clone(),
                source,
            })?;
        }
        Ok(removed)
    }

    /// Whether retired files are waiting for deletion.
    pub fn deletions_pending(&self) -> bool {
        !self.deletions_rx.is_empty()
    }
}

/// Name prefix of the probe files [`measure_write_bandwidth`] writes. A probe is named
/// `.bandwidth-probe-<pid>.tmp` after the process writing it, so one left behind by a process
/// killed mid-probe is recognisable as such and [`remove_stale_probes`] removes it.
pub const BANDWIDTH_PROBE_PREFIX: &str = ".bandwidth-probe";

/// The probe file this process writes in `dir`.
fn probe_path(dir: &Path) -> PathBuf {
    dir.join(format!(
        "{BANDWIDTH_PROBE_PREFIX}-{}.tmp",
        std::process::id()
    ))
}

/// Removes the probe file when dropped, so no way out of [`measure_write_bandwidth`] (a failed
/// write or fsync, a panic) leaves it behind.
struct ProbeFile<'a> {
    fs: &'a dyn FileSystem,
    path: PathBuf,
    removed: bool,
}

impl ProbeFile<'_> {
    /// Removes the file, reporting a failure (the error paths rely on `Drop` instead).
    fn remove(mut self) -> Result<()> {
        self.removed = true;
        self.fs
            .remove_file(&self.path)
            .map_err(|source| CompactorError::Io {
                path: self.path.clone(),
                source,
            })
    }
}

impl Drop for ProbeFile<'_> {
    fn drop(&mut self) {
        if !self.removed {
            // Best effort: an error is already on its way out, and a probe that survives this
            // too is removed by the next `remove_stale_probes`.
            let _ = self.fs.remove_file(&self.path);
        }
    }
}

/// Measures the write bandwidth of the device under `dir`: writes `bytes` bytes to a probe
/// file, fsyncs it, removes it, and returns bytes per second (at least 1 MB/s). Used to derive a
/// compaction I/O budget when none is configured. The probe is removed on every path, errors
/// included; one left by a killed process is removed by [`remove_stale_probes`].
pub fn measure_write_bandwidth(fs: &dyn FileSystem, dir: &Path, bytes: usize) -> Result<u64> {
    const CHUNK: usize = 1 << 20;
    let probe = ProbeFile {
        fs,
        path: probe_path(dir),
        removed: false,
    };
    let io = |source| CompactorError::Io {
        path: probe.path.clone(),
        source,
    };
    // Incompressible bytes (a xorshift stream), so no layer below can shortcut the write.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let chunk: Vec<u8> = (0..CHUNK)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect();
    let started = Instant::now();
    let mut file = fs.create(&probe.path).map_err(io)?;
    let mut left = bytes.max(1);
    while left > 0 {
        let n = left.min(CHUNK);
        file.write_all(chunk.get(..n).unwrap_or_default())
            .map_err(io)?;
        left -= n;
    }
    file.sync().map_err(io)?;
    drop(file);
    let secs = started.elapsed().as_secs_f64().max(1e-6);
    probe.remove()?;
    let rate = (bytes.max(1) as f64 / secs) as u64;
    Ok(rate.max(1_000_000))
}

/// Removes bandwidth probes ([`BANDWIDTH_PROBE_PREFIX`]) left in `dir` by processes killed while
/// measuring, and returns their paths. Only the table's one writer may call it (as
/// [`Compactor::open`] does over a writable registry): a probe is taken for stale when it is
/// not this process's, so a reader beside a live writer must not. Removing a probe needs no
/// directory sync: nothing references it, and one that reappears after a crash is removed
/// again next time.
pub fn remove_stale_probes(fs: &dyn FileSystem, dir: &Path) -> Result<Vec<PathBuf>> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CompactorError::Io { path, source }
    };
    let own = probe_path(dir);
    let mut removed = Vec::new();
    for entry in fs.list_dir(dir).map_err(io(dir))? {
        let is_probe = entry
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(BANDWIDTH_PROBE_PREFIX));
        if is_probe && entry != own {
            fs.remove_file(&entry).map_err(io(&entry))?;
            removed.push(entry);
        }
    }
    Ok(removed)
}

//! Flush: the one place rows become committed segments.
//!
//! A flush is two steps so that callers can put many of them under one commit:
//! [`Registry::stage_segments`] writes a sorted batch as durable segment files, one per
//! partition its rows fall in, and commits nothing; [`Registry::commit_staged`] then adds any
//! number of staged segments (creating their partitions) in one manifest record, with whatever
//! other edits belong to the same step (the facade's log position). A table's memtable flush
//! stages and commits at once; an ingest transaction stages at every flush and commits once at
//! the end, so it is all or nothing. Staged files that are never committed are removed by
//! [`Registry::discard_staged`], or by recovery as orphans after a crash.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::{Array, Int64Array, RecordBatch, UInt32Array};
use strata_writer::{SegmentWriter, WriterOptions};

use crate::error::{RegistryError, Result};
use crate::registry::Registry;
use crate::state::{Edit, Partition, PartitionState, SegmentEntry, TableState};

/// A segment written durably under its final name but not (yet) in the manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct StagedSegment {
    /// Its manifest entry, as [`Registry::commit_staged`] will add it.
    pub entry: SegmentEntry,
    /// Its partition interval `[start, end)` (created at commit if it does not exist).
    pub partition: (i64, i64),
    /// The file.
    pub path: PathBuf,
}

/// The time column `column` of `batch` as `i64` values in the table's unit.
fn time_values(batch: &RecordBatch, column: &str) -> Result<Int64Array> {
    let col = batch.column_by_name(column).ok_or_else(|| {
        RegistryError::InvalidConfig(format!("the batch has no time column {column:?}"))
    })?;
    let cast = arrow_cast::cast(col.as_ref(), &arrow_schema::DataType::Int64)?;
    cast.as_any()
        .downcast_ref::<Int64Array>()
        .cloned()
        .ok_or_else(|| RegistryError::InvalidConfig("the time column is not integral".into()))
}

/// Row indices of `batch` per partition interval, in row order; every row checked. A table
/// without a time column has one partition; [`crate::Partitioning::Auto`] decides from the
/// rows per second of the live segments and of this batch.
fn partition_groups(
    batch: &RecordBatch,
    state: &TableState,
) -> Result<BTreeMap<(i64, i64), Vec<u32>>> {
    let too_many = || RegistryError::InvalidConfig("more than 2^32 rows in one flush".into());
    let mut groups: BTreeMap<(i64, i64), Vec<u32>> = BTreeMap::new();
    let Some(column) = state.config.time_column() else {
        if batch.num_rows() > 0 {
            let interval = interval_for(state, i64::MIN, None)?;
            let n = u32::try_from(batch.num_rows()).map_err(|_| too_many())?;
            groups.insert(interval, (0..n).collect());
        }
        return Ok(groups);
    };
    let t = time_values(batch, column)?;
    let bad = |row: usize, detail: String| RegistryError::BadTime {
        column: column.to_string(),
        row,
        detail,
    };
    if let Some(row) = (0..t.len()).find(|i| t.is_null(*i)) {
        return Err(bad(row, "a null time value (every row needs one)".into()));
    }
    let rate = if state.config.partitioning == crate::Partitioning::Auto && !t.is_empty() {
        let (lo, hi) = t
            .values()
            .iter()
            .fold((i64::MAX, i64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        state.data_rate(Some((t.len() as u64, lo, hi)))
    } else {
        None
    };
    // The intervals met so far: consecutive rows mostly share one.
    let mut last: Option<(i64, i64)> = None;
    for (i, &v) in t.values().iter().enumerate() {
        let interval = match last {
            Some((s, e)) if s <= v && v < e => (s, e),
            _ => match groups.keys().find(|(s, e)| *s <= v && v < *e) {
                Some(k) => *k,
                None => interval_for(state, v, rate).map_err(|e| bad(i, e.to_string()))?,
            },
        };
        last = Some(interval);
        let row = u32::try_from(i).map_err(|_| too_many())?;
        groups.entry(interval).or_default().push(row);
    }
    Ok(groups)
}

/// The partition a row at `t` goes to: an existing Active one or a new one (Auto resolved at
/// `rate`).
fn interval_for(state: &TableState, t: i64, rate: Option<f64>) -> Result<(i64, i64)> {
    match state.partition_containing(t) {
        Some(p) if p.state == PartitionState::Active => Ok((p.start, p.end)),
        Some(p) => Err(RegistryError::InvalidPartition {
            start: p.start,
            end: p.end,
            detail: format!(
                "partition is {:?} and takes no new rows (time {t})",
                p.state
            ),
        }),
        None => state.new_partition_interval_with(t, rate.or_else(|| state.ingest_rate())),
    }
}

/// `state` with `pending` segments (staged, not yet committed) in it, each partition they
/// would create Active: so that the later flushes of one transaction put rows in the
/// partitions its earlier flushes chose.
fn with_pending(state: &TableState, pending: &[StagedSegment]) -> TableState {
    let mut view = state.clone();
    for s in pending {
        let (start, end) = s.partition;
        view.partitions
            .entry(start)
            .or_insert_with(|| Partition {
                start,
                end,
                state: PartitionState::Active,
                segments: BTreeMap::new(),
            })
            .segments
            .insert(s.entry.id, s.entry.clone());
    }
    view
}

impl Registry {
    /// Checks that a flush of `batch` would find a partition for every row: no null time
    /// value, none outside the partitionable range, none in a partition that takes no rows.
    /// The facade calls it before a batch reaches its log, so a logged batch always flushes.
    pub fn check_rows(&self, batch: &RecordBatch) -> Result<()> {
        partition_groups(batch, &self.state()).map(|_| ())
    }

    /// Writes `batch` (sorted by the sort key) as new segments, one per partition its rows
    /// fall in, durably under their final names, and commits nothing. The table's
    /// [`Compression`](crate::Compression) setting applies on top of `opts`. On error nothing is
    /// left: segments staged by this call are removed.
    pub fn stage_segments(
        &self,
        batch: &RecordBatch,
        opts: WriterOptions,
    ) -> Result<Vec<StagedSegment>> {
        self.stage_segments_after(batch, opts, &[])
    }

    /// [`Registry::stage_segments`] for a flush that follows `pending` staged segments of the
    /// same commit: rows go to the partitions those create, as if they were committed.
    pub fn stage_segments_after(
        &self,
        batch: &RecordBatch,
        opts: WriterOptions,
        pending: &[StagedSegment],
    ) -> Result<Vec<StagedSegment>> {
        if batch.num_rows() == 0 {
            return Ok(Vec::new());
        }
        let state = self.state();
        // The table's compression setting, whatever the caller's options say.
        let opts = state.compression.apply(opts);
        let groups = if pending.is_empty() {
            partition_groups(batch, &state)?
        } else {
            partition_groups(batch, &with_pending(&state, pending))?
        };
        let mut staged = Vec::with_capacity(groups.len());
        let result = (|| -> Result<()> {
            // Each partition's segment starts from what the one before learnt about encoding
            // its columns (one long series cut by time encodes as it would uncut).
            let mut memory = None;
            for (interval, rows) in groups {
                let part = if rows.len() == batch.num_rows() {
                    batch.clone()
                } else {
                    let idx = UInt32Array::from(rows);
                    let cols = batch
                        .columns()
                        .iter()
                        .map(|c| arrow_select::take::take(c.as_ref(), &idx, None))
                        .collect::<std::result::Result<Vec<_>, _>>()?;
                    RecordBatch::try_new(batch.schema(), cols)?
                };
                let target = self.allocate_segment(interval)?;
                // The partition's rows are known: up to 1.5 blocks' worth are one block, not a
                // block and a short one.
                let mut part_opts = opts;
                part_opts.block = opts.block.for_segment_rows(part.num_rows() as u64);
                let mut w = SegmentWriter::create(
                    Arc::clone(self.fs()),
                    &target.dir,
                    &target.name,
                    target.schema.clone(),
                    part_opts,
                )?;
                if let Some(m) = &memory {
                    w.remember(m);
                }
                w.write_batch(&part)?;
                let (meta, learnt) = w.finish_remembering()?;
                memory = Some(learnt);
                staged.push(StagedSegment {
                    entry: self.entry_for(&target, &meta),
                    partition: interval,
                    path: target.dir.join(&target.name),
                });
            }
            Ok(())
        })();
        match result {
            Ok(()) => Ok(staged),
            Err(e) => {
                // Not referenced by any record: removing them cannot lose a committed row.
                let _ = self.discard_staged(&staged);
                Err(e)
            }
        }
    }

    /// Commits `staged` segments and `extra` edits in one manifest record (all or nothing),
    /// creating the partitions that do not exist yet. When the record is refused (the edits do
    /// not apply) the staged files are removed; when writing it failed, it may or may not be
    /// durable, so they are left for recovery to keep or remove.
    pub fn commit_staged(&self, staged: &[StagedSegment], extra: Vec<Edit>) -> Result<u64> {
        let result = self.commit_with(|state| {
            let mut edits = Vec::with_capacity(staged.len() + extra.len() + 1);
            let mut created: Vec<(i64, i64)> = Vec::new();
            let mut added = Vec::with_capacity(staged.len());
            for s in staged {
                let (start, end) = s.partition;
                let mut entry = s.entry.clone();
                if !state.partitions.contains_key(&start) {
                    // Compaction may have rolled the partition the rows were staged for into
                    // a coarser one since: they belong there (the file keeps its path).
                    let rolled_into = state
                        .partition_containing(entry.min_ts)
                        .filter(|p| entry.max_ts < p.end);
                    match rolled_into {
                        Some(p) => entry.partition = p.start,
                        None if !created.contains(&s.partition) => {
                            created.push(s.partition);
                            edits.push(Edit::CreatePartition { start, end });
                        }
                        None => {}
                    }
                }
                added.push(Edit::AddSegment(entry));
            }
            edits.extend(added);
            edits.extend(extra.iter().cloned());
            edits
        });
        if let Err(e) = &result
            && !matches!(e, RegistryError::Format { .. })
        {
            let _ = self.discard_staged(staged);
        }
        result
    }

    /// Removes the files of staged segments that will not be committed.
    pub fn discard_staged(&self, staged: &[StagedSegment]) -> Result<()> {
        for s in staged {
            if self
                .fs()
                .exists(&s.path)
                .map_err(|e| RegistryError::format("checking a staged segment", e))?
            {
                self.fs().remove_file(&s.path).map_err(|e| {
                    RegistryError::format(format!("removing {}", s.path.display()), e)
                })?;
            }
        }
        Ok(())
    }

    /// Writes `batch` (sorted by the sort key) as segments and commits them in one record:
    /// [`Registry::stage_segments`] then [`Registry::commit_staged`].
    pub fn write_segments(
        &self,
        batch: &RecordBatch,
        opts: WriterOptions,
    ) -> Result<Vec<SegmentEntry>> {
        let staged = self.stage_segments(batch, opts)?;
        self.commit_staged(&staged, Vec::new())?;
        Ok(staged.into_iter().map(|s| s.entry).collect())
    }

    /// [`Registry::write_segments`] of a batch whose rows fall in one partition: its segment.
    pub fn write_segment(&self, batch: &RecordBatch, opts: WriterOptions) -> Result<SegmentEntry> {
        let n = partition_groups(batch, &self.state())?.len();
        if n != 1 {
            return Err(RegistryError::InvalidConfig(format!(
                "write_segment: the rows fall in {n} partitions, not one"
            )));
        }
        let mut entries = self.write_segments(batch, opts)?;
        match entries.len() {
            1 => Ok(entries.remove(0)),
            n => Err(RegistryError::InvalidConfig(format!(
                "write_segment: the rows fall in {n} partitions, not one"
            ))),
        }
    }
}

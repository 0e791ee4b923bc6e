//! The write path: validate, log, buffer, freeze, flush.

use std::sync::{Arc, MutexGuard, PoisonError};

use arrow_array::RecordBatch;
use strata_memtable::{Memtable, MemtableError, MemtableOptions};
use strata_partition_registry::{Edit, RegistryError, SegmentEntry};

use crate::error::{Result, TableError, io_err};
use crate::options::FlushReport;
use crate::table::{Frozen, MAX_FROZEN, Table, WriteState, lock};
use crate::wal::list_logs;

/// A write whose batches take more than this share of the memtable's soft limit goes through
/// a transaction (staged segments, one manifest commit) instead of the log.
const LARGE_WRITE_DIVISOR: usize = 2;

/// A memtable refusal as the table reports it (a null where none may be names its row).
pub(crate) fn rejected_by_memtable(e: MemtableError) -> TableError {
    match e {
        MemtableError::NullInNonNullable { column, row } => TableError::Rejected {
            column,
            row,
            detail: "null in a non-nullable column".into(),
        },
        e => e.into(),
    }
}

enum Appended {
    Done,
    /// The memtable is full and enough frozen ones wait: flush, then retry.
    NeedFlush,
}

impl Table {
    /// Checks `batch` against everything a flush would check (schema, types, nulls, time
    /// values and their partitions) without touching the table. Errors name the column and
    /// the row.
    pub(crate) fn validate(&self, batch: &RecordBatch) -> Result<()> {
        // A scratch memtable with the same schema and no limits applies the same checks
        // without touching the real one.
        let mut scratch = Memtable::new(
            Arc::clone(&self.schema),
            MemtableOptions {
                soft_limit_bytes: usize::MAX,
                hard_limit_bytes: usize::MAX,
                ..self.options.memtable
            },
        )?;
        scratch.append(batch).map_err(rejected_by_memtable)?;
        self.check_time(batch)
    }

    /// The time-value half of [`Table::validate`]: every row has a partition.
    pub(crate) fn check_time(&self, batch: &RecordBatch) -> Result<()> {
        self.registry.check_rows(batch).map_err(|e| match e {
            RegistryError::BadTime {
                column,
                row,
                detail,
            } => TableError::Rejected {
                column,
                row,
                detail,
            },
            e => e.into(),
        })
    }

    /// Writes a batch. The batch is validated against the schema, logged (per the durability
    /// option) and buffered; when this returns `Ok` the write is acknowledged. Reaching the
    /// buffer's soft limit flushes.
    pub fn write(&self, batch: &RecordBatch) -> Result<()> {
        self.write_all(&[batch])
    }

    /// Writes several batches, acknowledged together and all or nothing: every batch is
    /// validated before anything is logged (a refused batch refuses them all), and they are
    /// logged as one record. Batches larger than half the write buffer go through a
    /// [`crate::Transaction`] instead (segments committed in one manifest record). Concurrent
    /// writers share log syncs (group commit): one fsync acknowledges every write queued
    /// before it.
    pub fn write_all(&self, batches: &[&RecordBatch]) -> Result<()> {
        self.check_writable()?;
        // Validate and encode outside the lock: the log never holds a batch replay would refuse.
        for b in batches {
            self.validate(b)?;
        }
        let bytes: usize = batches.iter().map(|b| b.get_array_memory_size()).sum();
        if bytes > self.options.memtable.soft_limit_bytes / LARGE_WRITE_DIVISOR {
            let mut tx = self.transaction()?;
            for b in batches {
                tx.write_validated(b)?;
            }
            tx.commit()?;
            return Ok(());
        }
        let framed = match &self.wal {
            Some(wal) => Some(wal.frame_batches(batches)?),
            None => None,
        };
        let (lsn, must_flush) = loop {
            let (outcome, lsn, frozen) = {
                let mut w = self.lock_write();
                self.check_open()?;
                if let Some(wal) = &self.wal {
                    wal.check()?;
                }
                let outcome = self.poison(self.append_locked(&mut w, batches, framed.as_ref()))?;
                if matches!(outcome, Appended::Done) && w.memtable.should_flush() {
                    // The rows are queued for the log already: a failure here poisons.
                    self.poison(self.freeze_locked(&mut w))?;
                }
                // Under the write lock the last record queued is this writer's.
                let lsn = self.wal.as_ref().map(crate::wal::Wal::appended);
                (outcome, lsn, !w.frozen.is_empty())
            };
            match outcome {
                Appended::Done => break (lsn, frozen),
                Appended::NeedFlush => {
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

    /// Appends one write's batches to the memtable and queues its log record right after, so
    /// a freeze never splits a write: a memtable that cannot take the first batch is frozen
    /// first; [`Appended::NeedFlush`] when too many frozen ones wait.
    fn append_locked(
        &self,
        w: &mut WriteState,
        batches: &[&RecordBatch],
        framed: Option<&Vec<u8>>,
    ) -> Result<Appended> {
        for (i, b) in batches.iter().enumerate() {
            match w.memtable.append(b) {
                Ok(_) => {}
                Err(MemtableError::Backpressure { .. }) if i == 0 && !w.memtable.is_empty() => {
                    if w.frozen.len() >= MAX_FROZEN {
                        return Ok(Appended::NeedFlush);
                    }
                    self.freeze_locked(w)?;
                    w.memtable.append(b)?;
                }
                // Earlier batches of this write are in the memtable, its record is not in
                // the log: the caller poisons the table.
                Err(e) => return Err(e.into()),
            }
        }
        if let (Some(wal), Some(framed)) = (&self.wal, framed) {
            wal.append(framed.clone())?;
        }
        Ok(Appended::Done)
    }

    /// Moves the memtable's rows to a frozen memtable and rotates the log at the same point.
    pub(crate) fn freeze_locked(&self, w: &mut WriteState) -> Result<()> {
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

    /// Writes the buffered rows as segments (one per partition and frozen memtable), each
    /// flush committed in one manifest record, then retires the log that held them.
    ///
    /// Ordering: (1) freeze the memtable and rotate the log (new writes go to the next file);
    /// (2) write and fsync the segments ([`strata_partition_registry::Registry::stage_segments`]);
    /// (3) commit them in the manifest together with the new log position in one record, and
    /// publish them to readers; (4) remove the covered logs. A crash before (3) leaves the
    /// segments uncommitted (recovery removes them as orphans and replays the log); a crash
    /// after (3) leaves them committed and the log covered (recovery removes it), so no row is
    /// lost or applied twice.
    pub fn flush(&self) -> Result<FlushReport> {
        self.check_writable()?;
        let guard = lock(&self.flushing);
        {
            let mut w = self.lock_write();
            self.freeze_locked(&mut w)?;
        }
        self.flush_frozen(&guard)
    }

    /// Flushes every frozen memtable, oldest first. The caller holds `flushing`.
    pub(crate) fn flush_frozen(&self, _flushing: &MutexGuard<'_, ()>) -> Result<FlushReport> {
        let mut report = FlushReport::default();
        loop {
            let next = self.lock_write().frozen.first().cloned();
            let Some(frozen) = next else {
                break;
            };
            if self.poisoned.load(std::sync::atomic::Ordering::Acquire) {
                return Err(TableError::Poisoned);
            }
            // On failure the frozen rows are only in the log: make the caller reopen (replay).
            let entries = self.poison(self.flush_one(&frozen))?;
            report.rows += frozen.batch.num_rows() as u64;
            report.segments.extend(entries);
        }
        if !report.segments.is_empty() {
            self.trigger_compaction();
        }
        Ok(report)
    }

    fn flush_one(&self, frozen: &Arc<Frozen>) -> Result<Vec<SegmentEntry>> {
        let staged = self
            .registry
            .stage_segments(&frozen.batch, self.options.writer)?;
        let extra: Vec<Edit> = frozen
            .covered
            .map(|seq| Edit::SetLogPosition(seq + 1))
            .into_iter()
            .collect();
        {
            // Commit, publish and drop the frozen rows as one step for readers.
            let _publish = self.publish.write().unwrap_or_else(PoisonError::into_inner);
            self.registry.commit_staged(&staged, extra)?;
            self.lock_write().frozen.retain(|f| !Arc::ptr_eq(f, frozen));
            self.compactor.refresh()?;
        }
        if let Some(seq) = frozen.covered {
            let wal_dir = self.dir.join(crate::table::WAL_DIR);
            let mut removed = false;
            for (s, path) in list_logs(self.fs.as_ref(), &wal_dir)? {
                if s <= seq {
                    self.retire_log(s, &path)?;
                    removed = true;
                }
            }
            if removed {
                self.fs
                    .sync_dir(&wal_dir)
                    .map_err(io_err("syncing the log directory"))?;
            }
        }
        Ok(staged.into_iter().map(|s| s.entry).collect())
    }
}

//! [`Transaction`]: many batches, any size, committed all or nothing.
//!
//! A transaction buffers its rows in a memtable of its own, within the table's memtable
//! limits. When that fills, its rows are written as *staged* segments: durable files the
//! manifest does not reference yet. [`Transaction::commit`] stages the rest and adds every
//! staged segment in one manifest record, so readers (in this process and others) see none
//! of its rows before the commit and all of them after. Nothing goes through the write-ahead
//! log, so memory stays bounded by the memtable limits whatever the input size.
//!
//! A transaction that fails, is aborted, or is dropped uncommitted removes its staged files;
//! after a crash, recovery removes them as orphans. Either way the table is exactly as before.

use std::sync::{Arc, PoisonError};

use arrow_array::RecordBatch;
use strata_memtable::{Memtable, MemtableError};
use strata_partition_registry::{RegistryError, SegmentEntry, StagedSegment};

use crate::error::{Result, TableError};
use crate::table::Table;

/// What a committed transaction added.
#[derive(Debug, Clone, Default)]
pub struct TransactionReport {
    /// Rows committed.
    pub rows: u64,
    /// Segments committed.
    pub segments: Vec<SegmentEntry>,
    /// Manifest version of the commit (`None` when the transaction wrote no row).
    pub version: Option<u64>,
}

/// An all-or-nothing write of any number of batches ([`Table::transaction`]).
#[derive(Debug)]
#[must_use = "a transaction commits nothing until `commit` is called"]
pub struct Transaction<'a> {
    table: &'a Table,
    memtable: Memtable,
    staged: Vec<StagedSegment>,
    rows: u64,
    /// Set once committed or aborted: nothing left to clean up.
    finished: bool,
}

impl Table {
    /// Starts a transaction: batches written to it become visible together at
    /// [`Transaction::commit`], or never.
    pub fn transaction(&self) -> Result<Transaction<'_>> {
        self.check_writable()?;
        Ok(Transaction {
            table: self,
            memtable: Memtable::new(Arc::clone(&self.schema), self.options.memtable)?,
            staged: Vec::new(),
            rows: 0,
            finished: false,
        })
    }
}

impl Transaction<'_> {
    /// Adds a batch. It is validated first (schema, types, nulls, time values); a refused
    /// batch is a typed error naming the column and row, and leaves the transaction as it was
    /// (it can go on or be aborted).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.table.check_writable()?;
        // The memtable append checks schema, types and nulls itself, all or nothing, so only
        // the time values need checking first (no scratch copy of the batch).
        self.table.check_time(batch)?;
        self.write_validated(batch)
    }

    /// [`Transaction::write`] of a batch the caller validated.
    pub(crate) fn write_validated(&mut self, batch: &RecordBatch) -> Result<()> {
        match self.memtable.append(batch) {
            Ok(_) => {}
            Err(MemtableError::Backpressure { .. }) if !self.memtable.is_empty() => {
                self.stage()?;
                return self.write_validated(batch);
            }
            Err(MemtableError::Backpressure { .. }) if batch.num_rows() > 1 => {
                // Larger than the whole buffer: in halves.
                let half = batch.num_rows() / 2;
                self.write_validated(&batch.slice(0, half))?;
                return self.write_validated(&batch.slice(half, batch.num_rows() - half));
            }
            Err(e) => return Err(crate::write::rejected_by_memtable(e)),
        }
        self.rows += batch.num_rows() as u64;
        if self.memtable.should_flush() {
            self.stage()?;
        }
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Segments staged so far (written, not committed).
    pub fn staged_segments(&self) -> usize {
        self.staged.len()
    }

    /// Writes the buffered rows as staged segments.
    fn stage(&mut self) -> Result<()> {
        let Some(drained) = self.memtable.drain()? else {
            return Ok(());
        };
        // Later flushes put rows in the partitions earlier ones chose (Auto decides from the
        // rows it sees, which differ from flush to flush).
        let staged = self.table.registry.stage_segments_after(
            &drained.batch,
            self.table.options.writer,
            &self.staged,
        )?;
        self.staged.extend(staged);
        Ok(())
    }

    /// Commits every row written, in one manifest record. On error nothing is committed
    /// (and the staged files are removed, or left to recovery when the manifest write itself
    /// failed and may have reached the disk).
    pub fn commit(mut self) -> Result<TransactionReport> {
        self.table.check_writable()?;
        self.stage()?;
        let staged = std::mem::take(&mut self.staged);
        self.finished = true;
        if staged.is_empty() {
            return Ok(TransactionReport::default());
        }
        let table = self.table;
        let version = {
            let _publish = table
                .publish
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            let committed = table.registry.commit_staged(&staged, Vec::new());
            if let Err(RegistryError::Format { .. }) = &committed {
                // The record may be partly on disk: the registry refuses writes until reopened.
                table.poison::<()>(Err(TableError::Poisoned)).ok();
            }
            let version = committed?;
            table.compactor.refresh()?;
            version
        };
        table.trigger_compaction();
        Ok(TransactionReport {
            rows: self.rows,
            segments: staged.into_iter().map(|s| s.entry).collect(),
            version: Some(version),
        })
    }

    /// Drops every row written and removes the staged files.
    pub fn abort(mut self) -> Result<()> {
        self.finished = true;
        let staged = std::mem::take(&mut self.staged);
        Ok(self.table.registry.discard_staged(&staged)?)
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.finished {
            // Best effort: files left behind are unreferenced, and recovery removes them.
            let _ = self.table.registry.discard_staged(&self.staged);
        }
    }
}

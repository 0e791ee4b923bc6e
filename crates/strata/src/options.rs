//! How a table is opened and what opening and flushing report.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use strata_compactor::{CompactionPolicy, DuplicatePolicy};
use strata_format::FileSystem;
use strata_memtable::MemtableOptions;
use strata_partition_registry::{RecoveryMode, RecoveryReport, SegmentEntry};
use strata_writer::WriterOptions;

use crate::wal::Durability;

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
    /// flush or delete). On by default; [`crate::Table::compact_now`] works either way.
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
    /// The filesystem; `None` is the local one, where a writer holds an OS lock on the table
    /// directory. Another filesystem (an in-memory or fault-injecting one in tests) takes no
    /// lock.
    pub fs: Option<Arc<dyn FileSystem>>,
    /// Write-ahead-log durability.
    pub durability: Durability,
    /// Write-buffer limits; reaching the soft limit flushes. A transaction buffers within the
    /// same limits.
    pub memtable: MemtableOptions,
    /// Options of the segments a flush writes.
    pub writer: WriterOptions,
    /// Compaction: background thread, policy, I/O budget.
    pub compaction: CompactionOptions,
    /// What opening may discard of a damaged manifest or log: by default nothing but an
    /// incomplete last record ([`RecoveryMode::Strict`]).
    pub recovery: RecoveryMode,
    /// At creation: how long the files a commit stops referencing (merge inputs, replaced
    /// deletion vectors) stay readable for readers of older versions in other processes.
    /// `None`: one hour on an object store, none on a local disk (files go once no snapshot of
    /// this process holds them). Recorded in the manifest.
    pub retention: Option<std::time::Duration>,
}

impl Default for TableOptions {
    fn default() -> Self {
        Self {
            fs: None,
            durability: Durability::Fsync,
            memtable: MemtableOptions::default(),
            writer: WriterOptions::default(),
            compaction: CompactionOptions::default(),
            recovery: RecoveryMode::Strict,
            retention: None,
        }
    }
}

impl TableOptions {
    /// Options on another filesystem (no lock).
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

    /// Sets what opening may discard of a damaged manifest or log.
    pub fn recovery(mut self, mode: RecoveryMode) -> Self {
        self.recovery = mode;
        self
    }
}

/// Log bytes that opening discarded, and what they held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDiscard {
    /// The log file.
    pub path: PathBuf,
    /// Offset of the first discarded byte.
    pub offset: u64,
    /// Bytes discarded.
    pub bytes: u64,
    /// Whether they held damage (only discarded by [`RecoveryMode::PointInTime`]) rather than
    /// an append a crash cut short.
    pub damaged: bool,
    /// Well-framed records after the damage that were discarded with it.
    pub records: u64,
    /// Rows those records held.
    pub rows: u64,
}

/// What opening a table recovered.
#[derive(Debug, Clone, Default)]
pub struct OpenReport {
    /// The manifest's recovery (discarded tail, orphan files removed or quarantined).
    pub registry: RecoveryReport,
    /// Log files replayed into the write buffer.
    pub wal_files_replayed: u64,
    /// Rows replayed from the log.
    pub wal_rows_replayed: u64,
    /// Log bytes discarded: incomplete last records, and with
    /// [`RecoveryMode::PointInTime`] everything from the first damage on.
    pub wal_discarded: Vec<LogDiscard>,
    /// Log files moved to the quarantine folder (their new paths).
    pub wal_quarantined: Vec<PathBuf>,
}

impl OpenReport {
    /// Whether opening discarded anything (manifest or log bytes) or quarantined a file.
    pub fn discarded_anything(&self) -> bool {
        self.registry.torn_tail_discarded.is_some()
            || !self.registry.quarantined.is_empty()
            || !self.wal_discarded.is_empty()
            || !self.wal_quarantined.is_empty()
    }
}

/// What a flush wrote.
#[derive(Debug, Clone, Default)]
pub struct FlushReport {
    /// Rows written.
    pub rows: u64,
    /// Segments committed (one per partition touched).
    pub segments: Vec<SegmentEntry>,
}

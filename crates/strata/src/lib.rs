//! strata: an embeddable columnar storage engine — Arrow batches in, Arrow batches out.
//!
//! Place in the stack: the facade on top of `codec → format → memtable → writer → predicate →
//! partition-registry → compactor`. A [`Table`] ties them together: writes go to a
//! write-ahead log ([`Durability`]) and the memtable, flushes write segments committed in the
//! manifest, deletes write deletion vectors, and scans read a [`Snapshot`]: the committed
//! segments (with pruning) and the rows still in the write buffer.
//!
//! Compaction runs in a background thread by default ([`CompactionOptions`]); readers take
//! a [`Snapshot`] (the compactor's published segment index plus the write buffer's rows) and
//! never wait for it. [`Table::compact_now`] compacts on the calling thread.
//! [`Table::set_compression`] sets how the table's flushes and merges compress
//! ([`Compression`]: `Balanced` by default, `Small` with entropy coding), a setting kept in the
//! manifest; [`Table::rewrite_now`] rewrites every segment with it.
//!
//! Writes are all or nothing: [`Table::write`] / [`Table::write_all`] log one record per call;
//! a [`Transaction`] ([`Table::transaction`]) takes any number of batches of any size, stages
//! them as segments within the memtable limits and commits them in one manifest record.
//! Every batch is validated (schema, nulls, time values and partitions) before anything is
//! logged or buffered. One writer holds an OS lock on the table directory; any number of
//! readers open it with [`Table::open_read_only`], which takes no lock and writes nothing.
//!
//! A table may live at a URL instead of a directory: `file:///path`, `s3://bucket/prefix`
//! (configured from the `AWS_*` environment variables) or `memory://name`. On an object store
//! there is no lock and no write-ahead log: writers in several processes commit by conditional
//! put (the manifest's object layout), rows are durable once their flush or transaction
//! commits, files a commit retires stay readable for [`TableOptions::retention`] (one hour by
//! default), and [`Table::open_read_only_at`] opens an older manifest version.
//!
//! # Table directory
//!
//! ```text
//! <table>/
//!   wal/wal-<seq>.log   write-ahead log (layout in the `wal` module); logs below the manifest's
//!                       log position are covered by segments and removed
//!   data/               the registry: CHECKPOINT-<g>, MANIFEST-<g>.log, part-<start>/seg-<id>.strata,
//!                       quarantine/ (files recovery set aside instead of deleting them)
//! ```
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{Float64Array, RecordBatch, StringArray, TimestampMillisecondArray};
//! use strata::{Table, TableConfig, TableOptions, Partitioning, Schema, Field, DataType, TimeUnit, FaultFs};
//!
//! let schema = Schema::new(vec![
//!     Field::new("ts", DataType::Timestamp(TimeUnit::Millisecond, None), false),
//!     Field::new("host", DataType::Symbol, false),
//!     Field::new("cpu", DataType::Float64, true),
//! ])?
//! .with_sort_key(["host", "ts"])?;
//! let fs = FaultFs::new();
//! let config = TableConfig::new(schema.clone(), "ts", Partitioning::Day)?;
//! let table = Table::create("/metrics", config, TableOptions::with_fs(Arc::new(fs.clone())))?;
//! let batch = RecordBatch::try_new(
//!     Arc::new(schema.to_arrow(strata::SymbolAs::Utf8)),
//!     vec![
//!         Arc::new(TimestampMillisecondArray::from(vec![1_000, 2_000, 3_000])),
//!         Arc::new(StringArray::from(vec!["a", "b", "a"])),
//!         Arc::new(Float64Array::from(vec![0.5, 0.7, 0.9])),
//!     ],
//! )?;
//! table.write(&batch)?; // logged and fsynced: survives a crash from here on
//!
//! // A crash before any flush: the log brings the rows back.
//! drop(table);
//! let (table, report) = Table::open("/metrics", TableOptions::with_fs(Arc::new(fs.restart())))?;
//! assert_eq!(report.wal_rows_replayed, 3);
//! assert_eq!(table.delete("cpu > 0.8")?, 1);
//! let rows: usize = table
//!     .scan()
//!     .filter("host = 'a'")
//!     .columns(["ts", "cpu"])
//!     .execute()?
//!     .map(|b| b.map(|b| b.num_rows()))
//!     .sum::<Result<_, _>>()?;
//! assert_eq!(rows, 1);
//! table.close()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

pub mod error;
mod lock;
mod options;
pub mod recovery;
mod snapshot;
mod table;
mod transaction;
pub mod wal;
mod write;

pub use error::{Result, TableError};
pub use lock::LOCK_FILE;
pub use options::{
    CompactionOptions, DeviceBandwidth, FlushReport, LogDiscard, OpenReport, TableOptions,
};
pub use snapshot::{ScanBuilder, Snapshot, TableScan};
pub use table::{DATA_DIR, Table, WAL_DIR};
pub use transaction::{Transaction, TransactionReport};
pub use wal::Durability;

pub use strata_compactor::{
    CompactionPolicy, CycleReport, DuplicatePolicy, PlanReason, SchedulerStats, TableIndex,
};
pub use strata_format::{
    DataType, FaultFs, Field, FileSystem, LocalFs, MemFs, Schema, Segment, SymbolAs, TimeUnit,
};
pub use strata_memtable::MemtableOptions;
pub use strata_partition_registry::{
    Compression, CreateOptions, GcReport, Granularity, Layout, Partitioning, QUARANTINE_DIR,
    RecoveryMode, RecoveryReport, Registry, SegmentEntry, TableConfig, TableState,
};
pub use strata_predicate::{BoundPredicate, ScanStats, parse};
pub use strata_writer::WriterOptions;

/// The lower layers, for users who need more than the facade.
pub mod stack {
    pub use strata_codec as codec;
    pub use strata_compactor as compactor;
    pub use strata_format as format;
    pub use strata_memtable as memtable;
    pub use strata_partition_registry as registry;
    pub use strata_predicate as predicate;
    pub use strata_writer as writer;
}

//! strata-partition-registry: time partitions, the crash-safe manifest, deletion vectors.
//!
//! Place in the stack: `… → predicate → **partition-registry** → compactor`. The durable catalogue
//! of a table: which partitions exist and in which state, which segments are live, what has been
//! deleted, which schema the table has, and how the table recovers after a crash.
//!
//! What it is not: it does not decide *when* to seal, merge or drop (the compactor does), and it
//! never rewrites segment data. Unreferenced files are removed by recovery ([`Registry::open`]),
//! when no reader can still see them, or moved to `quarantine/` when recovery discarded log
//! bytes that may have referenced them; on a table with a retention period, files a commit
//! retires are kept for that period and then removed by [`Registry::collect_garbage`].
//!
//! Two layouts ([`Layout`]): on a local disk, a checkpoint and an append-only log; on an object
//! store (no append, no atomic rename), one manifest object per version created with a
//! conditional put, so writers in several processes race safely ([`RegistryError::Conflict`]
//! for the loser whose edits no longer apply), with the checkpoints beside them.
//!
//! # Table directory (byte layouts in `docs/format.md`)
//!
//! ```text
//! <table>/
//!   CHECKPOINT-<g>            full state at generation g (magic, version, len, crc32c, payload)
//!   MANIFEST-<g>.log          edits since CHECKPOINT-<g>: [len u32 | crc32c u32 | payload]*
//!   part-<start>/             one folder per partition a segment was written to, keyed by
//!                             its interval start (`part-all` for the partition of all time)
//!     seg-<id>.strata         segment files (ids never reused)
//!     dv-<id>-<version>.roaring  deletion vector of segment <id> as of manifest <version>
//!   quarantine/               files recovery set aside instead of deleting them
//! ```
//!
//! The object layout replaces the first two entries with `manifest/<version>.rec` (one framed
//! record per version) and `manifest/<version>.checkpoint`, and names deletion vectors
//! `dv-<id>-<version>-<random>.roaring`.
//!
//! The manifest log uses the record framing of `strata_format::record`, and its damage rule:
//! an incomplete last record is discarded and reported, any damaged record is
//! [`RegistryError::Corrupt`] unless [`RecoveryMode::PointInTime`] accepts the loss.
//!
//! # Key types
//!
//! [`Registry`] (create, open / open_with([`OpenOptions`]) → [`RecoveryReport`], commit /
//! commit_batch, checkpoint, refresh, collect_garbage → [`GcReport`], create_with
//! ([`CreateOptions`]), the one flush path — check_rows, stage_segments →
//! [`StagedSegment`], commit_staged / discard_staged, write_segments —, delete / delete_where,
//! scan_inputs / scan);
//! [`TableState`] (immutable snapshot: [`TableSchema`], [`Partition`] with [`PartitionState`],
//! [`SegmentEntry`] with [`DeletionVector`], [`DeadSpace`]); [`Edit`] (one manifest change,
//! including [`MergeCommit`] and [`SchemaChange`]); [`Partitioning`] (calendar units, `None`
//! for one partition, `Auto` decided from the data's rows per unit of time) and
//! [`Granularity`]; [`TableConfig`] (the time column is optional); [`RegistryError`].
//! [`decode`] exposes the decoders of the files above (the fuzz targets in `fuzz/` drive them).
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{Int64Array, RecordBatch};
//! use strata_format::{DataType, FaultFs, Field, FileSystem, Schema, TimeUnit};
//! use strata_partition_registry::{Partitioning, Registry, TableConfig};
//! use strata_predicate::BoundPredicate;
//!
//! let fs = FaultFs::new();
//! let schema = Schema::new(vec![
//!     Field::new("ts", DataType::Timestamp(TimeUnit::Millisecond, None), false),
//!     Field::new("v", DataType::Int64, true),
//! ])?
//! .with_sort_key(["ts"])?;
//! let config = TableConfig::new(schema.clone(), "ts", Partitioning::Day)?;
//! let reg = Registry::create(Arc::new(fs.clone()), "/t".as_ref(), config)?;
//!
//! let batch = RecordBatch::try_new(
//!     Arc::new(schema.to_arrow(Default::default())),
//!     vec![
//!         Arc::new(arrow_array::TimestampMillisecondArray::from(vec![1_000, 2_000, 3_000])),
//!         Arc::new(Int64Array::from(vec![10, 20, 30])),
//!     ],
//! )?;
//! reg.write_segment(&batch, Default::default())?;
//! let deleted = reg.delete(&BoundPredicate::parse_and_bind("v = 20", &schema)?)?;
//! assert_eq!(deleted.rows_deleted, 1);
//!
//! // A crash now loses nothing that was committed.
//! drop(reg);
//! let (reg, report) = Registry::open(Arc::new(fs.restart()), "/t".as_ref())?;
//! assert!(report.torn_tail_discarded.is_none());
//! let rows: usize = reg.scan()?.execute()?.map(|b| b.map(|b| b.num_rows())).sum::<Result<_, _>>()?;
//! assert_eq!(rows, 2);
//! assert_eq!(reg.state().dead_space().rows, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

pub mod decode;
mod encoding;
pub mod error;
mod flush;
mod objects;
pub mod partitioning;
mod registry;
pub mod state;

pub use encoding::{CHECKPOINT_MAGIC, CHECKPOINT_VERSION, DV_MAGIC, DV_VERSION, RECORD_VERSION};
pub use error::{RegistryError, Result};
pub use flush::StagedSegment;
pub use partitioning::{
    AUTO_TARGET_ROWS, Granularity, Partitioning, civil_from_days, days_from_civil, units_per_second,
};
pub use registry::{
    CreateOptions, DEFAULT_RETENTION_MS, DeleteReport, GcReport, Layout, MANIFEST_DIR, NewSegment,
    OpenOptions, QUARANTINE_DIR, RecoveryMode, RecoveryReport, Registry, ScanInputs, ScanSegment,
    TornTail, checkpoint_name, checkpoint_object_name, log_name, record_object_name,
};
pub use state::{
    ColumnInfo, Compression, DeadSpace, DeletionVector, Edit, MergeCommit, Partition,
    PartitionState, SchemaChange, SegmentEntry, SegmentId, TableConfig, TableSchema, TableState,
    is_widening, partition_dir_name,
};

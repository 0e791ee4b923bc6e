//! strata-compactor: background data movement that never loses a row or blocks a reader.
//!
//! Place in the stack: `… → partition-registry → **compactor**`, the top of the storage stack.
//! What it is not: it does not decide the durable catalogue (the registry does, and validates
//! every edit), and it owns no write-ahead log or memtable (the `strata` facade does).
//!
//! # Pieces
//!
//! * [`CompactionPolicy::plan`]: a pure function from a `TableState` to [`MergePlan`]s —
//!   triggers (dead space > 20 %, > 32 segments, ≥ 60 s since the partition's last compaction,
//!   emergency above 70 % dead space), size tiers and selection order; each plan records its
//!   inputs, its [`PlanReason`] and its I/O share (0.30, or 0.60 in an emergency).
//! * [`merge_segments`]: the streaming k-way merge of sorted segments minus deleted rows.
//! * [`Compactor`]: the swap protocol ([`Compactor::run_plan`]), the published [`TableIndex`]
//!   readers take as snapshots ([`Compactor::snapshot`], lock-free), and the deletion queue.
//! * [`CompactionHandle`]: the background thread (flushes, triggers, ticks, deletions, stop).
//! * [`Throttle`]: the token bucket that holds a plan to its share of the device bandwidth.
//!
//! # Protocol and invariants
//!
//! ```text
//! run_plan:  merge → new segment (written, fsynced, dir-synced)
//!            commit Edit::Merge {inputs + deleted rows seen, output}   ← the atomic point
//!            publish the rebuilt TableIndex (ArcSwap store)
//!            retire inputs: their files go to the deletion queue when the last
//!            TableIndex (reader snapshot) listing them is dropped; the compactor drains it
//! ```
//!
//! * A crash anywhere recovers to exactly before or exactly after the merge: before the
//!   commit is durable the output is an orphan, after it the inputs are; registry recovery
//!   removes orphans. A delete landing on an input meanwhile makes the commit a merge
//!   conflict, and the output is discarded.
//! * Only the compactor deletes segment files at run time, and only files no snapshot lists.
//! * A reader never waits for compaction: a snapshot is one atomic pointer load.
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{Int64Array, RecordBatch, TimestampMillisecondArray};
//! use strata_compactor::{CompactionPolicy, Compactor, CompactorConfig};
//! use strata_format::{DataType, FaultFs, Field, Schema, TimeUnit};
//! use strata_partition_registry::{Partitioning, Registry, TableConfig};
//!
//! let schema = Schema::new(vec![
//!     Field::new("ts", DataType::Timestamp(TimeUnit::Millisecond, None), false),
//!     Field::new("v", DataType::Int64, true),
//! ])?
//! .with_sort_key(["ts"])?;
//! let fs = Arc::new(FaultFs::new());
//! let reg = Registry::create(fs, "/t".as_ref(), TableConfig::new(schema.clone(), "ts", Partitioning::Day)?)?;
//! for i in 0..3 {
//!     let batch = RecordBatch::try_new(
//!         Arc::new(schema.to_arrow(Default::default())),
//!         vec![
//!             Arc::new(TimestampMillisecondArray::from(vec![i, i + 10])),
//!             Arc::new(Int64Array::from(vec![i, i])),
//!         ],
//!     )?;
//!     reg.write_segment(&batch, Default::default())?;
//! }
//! let compactor = Compactor::open(Arc::new(reg), CompactorConfig::default())?;
//! let reader = compactor.snapshot();
//!
//! // Merge every small segment of the partition (a policy with a low segment limit).
//! let policy = CompactionPolicy { max_segments: 2, ..CompactionPolicy::default() };
//! let plan = compactor.plan(&policy).remove(0);
//! let report = compactor.run_plan(&plan)?;
//! assert_eq!((report.segments_in, report.segments_out, report.rows_out), (3, 1, 6));
//!
//! // The old snapshot still reads its three segments; their files go once it is dropped.
//! assert_eq!(reader.segments().count(), 3);
//! assert_eq!(compactor.snapshot().segments().count(), 1);
//! drop(reader);
//! assert_eq!(compactor.collect_garbage()?, 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod compactor;
mod error;
mod index;
mod merge;
mod policy;
mod scheduler;
mod throttle;

pub use compactor::{
    BANDWIDTH_PROBE_PREFIX, Compactor, CompactorConfig, CycleReport, measure_write_bandwidth,
    remove_stale_probes,
};
pub use error::{CompactorError, Result};
pub use index::{SegmentFile, SegmentHandle, TableIndex};
pub use merge::{
    DuplicatePolicy, MergeInput, MergeOptions, MergeOutcome, merge_segments, merged_schema,
};
pub use policy::{CompactionPolicy, MergePlan, PlanReason, RollUp, dead_ratio};
pub use scheduler::{CompactionHandle, SchedulerConfig, SchedulerStats};
pub use throttle::Throttle;

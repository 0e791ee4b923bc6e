//! strata-compactor: background data movement that never loses a row or blocks a reader.
//!
//! Place in the stack: the top of the storage stack, above partition-registry. This crate
//! owns the streaming k-way merge ([`merge_segments`]) that rewrites sorted segments (minus
//! their deleted rows) into one, in memory bounded by inputs × block × columns, and the I/O
//! [`Throttle`] that enforces a compaction's bandwidth budget.
//!
//! What it is not (yet): the policies, the crash-safe swap protocol, the published table
//! index and the background scheduler land with the rest of the compactor issue.
#![forbid(unsafe_code)]

mod compactor;
mod error;
mod index;
mod merge;
mod policy;
mod scheduler;
mod throttle;

pub use compactor::{Compactor, CompactorConfig, CycleReport};
pub use error::{CompactorError, Result};
pub use index::{SegmentFile, SegmentHandle, TableIndex};
pub use merge::{
    DuplicatePolicy, MergeInput, MergeOptions, MergeOutcome, merge_segments, merged_schema,
};
pub use policy::{CompactionPolicy, MergePlan, PlanReason, dead_ratio};
pub use scheduler::{CompactionHandle, SchedulerConfig, SchedulerStats};
pub use throttle::Throttle;

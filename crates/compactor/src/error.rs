//! The compactor's error type.

use strata_format::FormatError;
use strata_partition_registry::RegistryError;
use strata_writer::WriterError;

/// What can go wrong in a merge or a compaction cycle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompactorError {
    /// Reading an input segment failed.
    #[error("reading input segment {segment}: {source}")]
    Read {
        /// Which input (its file name or index).
        segment: String,
        /// The underlying error.
        #[source]
        source: FormatError,
    },
    /// Writing the output segment failed.
    #[error(transparent)]
    Write(#[from] WriterError),
    /// Two inputs disagree on a column's type.
    #[error("column {column:?} is {left} in one input and {right} in another")]
    TypeConflict {
        /// Column name.
        column: String,
        /// One type.
        left: String,
        /// The other type.
        right: String,
    },
    /// Inputs cannot be merged as asked (no sort key, non-nullable column missing, …).
    #[error("invalid merge: {0}")]
    InvalidMerge(String),
    /// The output does not hold exactly the input rows minus the deleted ones.
    #[error("merge verification failed: wrote {written} rows, expected {expected}")]
    Verification {
        /// Rows the output holds.
        written: u64,
        /// Input rows minus deleted rows (minus duplicates dropped by policy).
        expected: u64,
    },
    /// The registry refused or failed a commit (a [`RegistryError::MergeConflict`] when a
    /// delete landed on an input during the merge).
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A plan no longer matches the table (an input is gone, the partition was dropped).
    #[error("stale plan for partition {partition}: {detail}")]
    StalePlan {
        /// The plan's partition.
        partition: i64,
        /// What does not match.
        detail: String,
    },
    /// A filesystem operation of the compactor's own (removing a retired file, syncing its
    /// directory, probing the device bandwidth) failed.
    #[error("file operation on {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: FormatError,
    },
    /// The background scheduler has stopped.
    #[error("the compaction scheduler has stopped")]
    Stopped,
    /// The merge was cancelled (the scheduler is stopping); nothing was committed.
    #[error("the merge was cancelled")]
    Cancelled,
    /// Starting the background thread failed.
    #[error("starting the compaction thread: {0}")]
    Spawn(#[source] std::io::Error),
    /// An Arrow kernel failed.
    #[error("arrow error during merge: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
}

/// Result alias of this crate.
pub type Result<T, E = CompactorError> = std::result::Result<T, E>;

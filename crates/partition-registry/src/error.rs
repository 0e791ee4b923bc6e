//! The crate's error type.

use std::path::PathBuf;

use crate::state::{PartitionState, SegmentId};

/// Everything that can go wrong in the registry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The filesystem or a segment read failed.
    #[error("{context}: {source}")]
    Format {
        /// What the registry was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: strata_format::FormatError,
    },
    /// Writing a segment failed.
    #[error(transparent)]
    Writer(#[from] strata_writer::WriterError),
    /// A manifest, checkpoint or deletion-vector file is damaged (not a torn tail).
    #[error("corrupt {}: {detail} (at offset {offset})", file.display())]
    Corrupt {
        /// The damaged file.
        file: PathBuf,
        /// Byte offset of the damage.
        offset: u64,
        /// What was wrong.
        detail: String,
    },
    /// A file written by an unknown version of this format.
    #[error("{}: unsupported version {version}", file.display())]
    UnsupportedVersion {
        /// The file.
        file: PathBuf,
        /// The version found.
        version: u32,
    },
    /// A file the manifest references is missing.
    #[error("referenced file {} is missing", path.display())]
    MissingFile {
        /// The missing file.
        path: PathBuf,
    },
    /// No table (no checkpoint) in the directory.
    #[error("no table in {}", dir.display())]
    NoTable {
        /// The directory.
        dir: PathBuf,
    },
    /// A table already exists in the directory.
    #[error("a table already exists in {}", dir.display())]
    TableExists {
        /// The directory.
        dir: PathBuf,
    },
    /// A partition state change the state machine does not allow.
    #[error("partition {partition}: illegal transition {from:?} -> {to:?}")]
    IllegalTransition {
        /// The partition (its interval start).
        partition: i64,
        /// Its state.
        from: PartitionState,
        /// The requested state.
        to: PartitionState,
    },
    /// A partition that does not exist.
    #[error("no partition starting at {0}")]
    UnknownPartition(i64),
    /// A partition overlapping an existing one, or with an empty interval.
    #[error("invalid partition [{start}, {end}): {detail}")]
    InvalidPartition {
        /// Interval start.
        start: i64,
        /// Interval end (exclusive).
        end: i64,
        /// What was wrong.
        detail: String,
    },
    /// A segment id that is not live.
    #[error("segment {0} is not live")]
    UnknownSegment(SegmentId),
    /// A segment id that was used before (ids are never reused).
    #[error("segment id {0} was already used")]
    SegmentIdReused(SegmentId),
    /// A segment that cannot be added where it was asked to go.
    #[error("segment {id}: {detail}")]
    InvalidSegment {
        /// The segment.
        id: SegmentId,
        /// What was wrong.
        detail: String,
    },
    /// A merge whose inputs changed (a delete landed) since it was planned.
    #[error("merge conflict on segment {segment}: {detail}")]
    MergeConflict {
        /// The input segment that changed.
        segment: SegmentId,
        /// What changed.
        detail: String,
    },
    /// A schema change that would change a column's type incompatibly.
    #[error("column {column:?}: incompatible type change {from} -> {to}")]
    IncompatibleTypeChange {
        /// The column.
        column: String,
        /// Its type.
        from: String,
        /// The requested type.
        to: String,
    },
    /// Any other schema change the registry refuses (non-nullable new column, unknown column…).
    #[error("invalid schema change: {0}")]
    InvalidSchemaChange(String),
    /// A timestamp whose partition interval does not fit in `i64`.
    #[error("timestamp {0} is out of the partitionable range")]
    TimestampOutOfRange(i64),
    /// A bad configuration.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// The registry was opened read-only ([`crate::OpenOptions::read_only`]).
    #[error("the table is open read-only")]
    ReadOnly,
    /// A row whose time value has no partition: null, or outside the partitionable range,
    /// or in a partition that takes no new rows.
    #[error("time column {column:?}, row {row}: {detail}")]
    BadTime {
        /// The time column.
        column: String,
        /// The row in the batch.
        row: usize,
        /// What is wrong.
        detail: String,
    },
    /// Another writer committed manifest version `version` first (object-store layout), and
    /// this commit no longer applies on top of it (a merge or delete whose inputs changed, a
    /// schema change): nothing of it was committed. Retry on the new state.
    #[error("commit conflict at manifest version {version}: {detail}")]
    Conflict {
        /// The version both writers tried to create.
        version: u64,
        /// Why this commit could not be rebased onto the winner's.
        detail: String,
    },
    /// A manifest version that cannot be opened: newer than the table, or older than its
    /// oldest kept checkpoint.
    #[error("manifest version {version} is not available: {detail}")]
    VersionUnavailable {
        /// The version asked for.
        version: u64,
        /// Why.
        detail: String,
    },
    /// An earlier manifest write failed; the registry refuses further writes until reopened.
    #[error("the manifest log failed earlier; reopen the table")]
    Poisoned,
    /// A predicate failed to evaluate on a segment.
    #[error("evaluating the delete predicate on segment {segment}: {detail}")]
    Predicate {
        /// The segment.
        segment: SegmentId,
        /// The predicate crate's error, as text.
        detail: String,
    },
    /// Arrow refused to build or cast an array.
    #[error("arrow error: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
}

/// Result alias of this crate.
pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

impl RegistryError {
    /// Wraps a format error with what the registry was doing.
    pub(crate) fn format(context: impl Into<String>, source: strata_format::FormatError) -> Self {
        Self::Format {
            context: context.into(),
            source,
        }
    }

    /// A [`RegistryError::Corrupt`].
    pub(crate) fn corrupt(
        file: impl Into<PathBuf>,
        offset: u64,
        detail: impl Into<String>,
    ) -> Self {
        Self::Corrupt {
            file: file.into(),
            offset,
            detail: detail.into(),
        }
    }

    /// True for errors that mean on-disk bytes are damaged.
    pub fn is_corruption(&self) -> bool {
        match self {
            Self::Corrupt { .. } | Self::UnsupportedVersion { .. } => true,
            Self::Format { source, .. } => source.is_corruption(),
            _ => false,
        }
    }
}

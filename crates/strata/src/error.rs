//! The facade's error type.

use std::path::PathBuf;

use strata_compactor::CompactorError;
use strata_format::FormatError;
use strata_memtable::MemtableError;
use strata_partition_registry::RegistryError;
use strata_predicate::PredicateError;
use strata_writer::WriterError;

/// What can go wrong with a [`crate::Table`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TableError {
    /// Another writer (this or another process) holds the table's lock.
    #[error("table {dir} is locked by another writer ({detail})")]
    Locked {
        /// The table directory.
        dir: PathBuf,
        /// What was found.
        detail: String,
    },
    /// The manifest, partitions or deletion vectors failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A batch was refused by the write buffer.
    #[error(transparent)]
    Memtable(#[from] MemtableError),
    /// Writing a segment failed.
    #[error(transparent)]
    Writer(#[from] WriterError),
    /// Compaction (or opening the table's segment index) failed.
    #[error(transparent)]
    Compactor(#[from] CompactorError),
    /// A predicate did not parse or bind, or a scan failed.
    #[error(transparent)]
    Predicate(#[from] PredicateError),
    /// A table location (a path or a `file://`, `s3://` or `memory://` URL) that cannot be
    /// used.
    #[error(transparent)]
    Location(#[from] strata_object_store::UrlError),
    /// A filesystem call failed.
    #[error("{context}: {source}")]
    Io {
        /// What the table was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: FormatError,
    },
    /// An Arrow kernel failed.
    #[error("{context}: {source}")]
    Arrow {
        /// What the table was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// A lock-file call on the local filesystem failed.
    #[error("{context}: {source}")]
    LockIo {
        /// What the table was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A write-ahead-log record could not be encoded or decoded.
    #[error("write-ahead log {path}: {detail}")]
    Wal {
        /// The log file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A log file is damaged: a record whose checksum fails with well-framed data after it,
    /// or a damaged last record. Nothing was discarded; `strata recover` (or
    /// [`crate::RecoveryMode::PointInTime`]) recovers to the last record before the damage.
    #[error("corrupt {}: {detail} (at offset {offset}); nothing was discarded", path.display())]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset of the damage.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// A batch was refused before anything was logged or buffered.
    #[error("column {column:?}, row {row}: {detail}")]
    Rejected {
        /// The column at fault.
        column: String,
        /// The row in the batch.
        row: usize,
        /// What is wrong.
        detail: String,
    },
    /// The table was opened read-only ([`crate::Table::open_read_only`]).
    #[error("the table is open read-only")]
    ReadOnly,
    /// An earlier failure left the write buffer and the log out of step; reopen the table.
    #[error("the table is poisoned by an earlier write failure; reopen it")]
    Poisoned,
    /// The table was closed.
    #[error("the table is closed")]
    Closed,
}

/// Result with [`TableError`].
pub type Result<T, E = TableError> = std::result::Result<T, E>;

pub(crate) fn io_err(context: impl Into<String>) -> impl FnOnce(FormatError) -> TableError {
    let context = context.into();
    move |source| TableError::Io { context, source }
}

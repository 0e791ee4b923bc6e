//! The crate's error type.

use datafusion::error::DataFusionError;

/// What can go wrong between DataFusion and a Strata table.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The table (snapshot, scan, transaction) failed.
    #[error("strata table: {0}")]
    Table(#[from] strata::TableError),
    /// A segment scan failed.
    #[error("strata scan: {0}")]
    Scan(#[from] strata::stack::predicate::PredicateError),
    /// Arrow failed to build or convert a batch.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// The table's schema is not the one the provider was registered with.
    #[error(
        "the table's schema changed since it was registered (column {column:?}); register it again"
    )]
    SchemaChanged {
        /// The first column that differs.
        column: String,
    },
    /// The provider reads a fixed snapshot and has no table to write to.
    #[error("this table is a read-only snapshot; INSERT needs a provider made from a Table")]
    ReadOnlySnapshot,
    /// A scan or insert worker stopped without finishing (it panicked or was cancelled).
    #[error("{0} worker stopped before finishing")]
    WorkerLost(&'static str),
    /// A scan was to be sent to another process, but its provider has no location (a URL
    /// that process can open the table at).
    #[error(
        "the scan's table has no location for another process to open it at; use StrataTable::with_location"
    )]
    NoLocation,
    /// A scan was to be sent to another process, but it reads rows that are still in this
    /// process's write buffer.
    #[error(
        "the scan reads {rows} rows still in the write buffer, which another process cannot read; flush the table first"
    )]
    BufferedRows {
        /// Rows in the write buffer.
        rows: u64,
    },
    /// A scan was rebuilt over a snapshot of another manifest version than the one it read.
    #[error("the scan reads manifest version {wanted}, the snapshot is at version {found}")]
    VersionMismatch {
        /// The scan's version.
        wanted: u64,
        /// The snapshot's version.
        found: u64,
    },
    /// The insert's input stream ended without a commit (the statement was cancelled).
    #[error("INSERT was cancelled before its input ended; nothing was written")]
    InsertCancelled,
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for DataFusionError {
    fn from(e: Error) -> Self {
        DataFusionError::External(Box::new(e))
    }
}

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

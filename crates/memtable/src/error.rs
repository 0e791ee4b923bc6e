//! The memtable's error type.

use arrow_schema::ArrowError;

/// Everything that can go wrong in the memtable. A failed [`crate::Memtable::append`] leaves the
/// memtable exactly as it was.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MemtableError {
    /// A column's Arrow type is neither the schema's type nor one of the documented coercions.
    #[error("column {column:?}: expected {expected}, found Arrow type {found}")]
    SchemaMismatch {
        /// Column name.
        column: String,
        /// The Strata type the schema declares (and its Arrow form).
        expected: String,
        /// The Arrow type the batch carries.
        found: String,
    },
    /// A column the schema declares non-nullable holds a null.
    #[error("column {column:?} is not nullable but row {row} is null")]
    NullInNonNullable {
        /// Column name.
        column: String,
        /// Index, within the batch, of the first null row.
        row: usize,
    },
    /// The batch carries a column the schema does not know.
    #[error("column {column:?} is not in the schema")]
    UnknownColumn {
        /// Column name.
        column: String,
    },
    /// The batch lacks a column the schema declares non-nullable.
    #[error("column {column:?} is not nullable and missing from the batch")]
    MissingColumn {
        /// Column name.
        column: String,
    },
    /// The batch carries the same column name twice.
    #[error("column {column:?} appears more than once in the batch")]
    DuplicateColumn {
        /// Column name.
        column: String,
    },
    /// Applying the batch would take the memtable over its hard limit; nothing was applied.
    #[error(
        "backpressure: memtable holds {current} bytes, the batch needs {incoming} more, hard limit is {limit}"
    )]
    Backpressure {
        /// Bytes held before the batch.
        current: usize,
        /// Bytes the batch would add.
        incoming: usize,
        /// The hard limit in bytes.
        limit: usize,
    },
    /// The options or the schema cannot make a memtable.
    #[error("invalid memtable configuration: {0}")]
    InvalidConfig(String),
    /// An Arrow kernel failed.
    #[error("{context}: {source}")]
    Arrow {
        /// What the memtable was doing (names the column where there is one).
        context: String,
        /// The Arrow error.
        #[source]
        source: ArrowError,
    },
}

impl MemtableError {
    pub(crate) fn arrow(context: impl Into<String>) -> impl FnOnce(ArrowError) -> Self {
        let context = context.into();
        move |source| Self::Arrow { context, source }
    }
}

/// Result with [`MemtableError`].
pub type Result<T, E = MemtableError> = std::result::Result<T, E>;

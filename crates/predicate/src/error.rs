//! The crate's error type.

use std::path::{Path, PathBuf};

use strata_format::FormatError;

use crate::parse::ParseError;

/// What can go wrong while binding, pruning, evaluating or scanning.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PredicateError {
    /// The predicate's text does not parse.
    #[error("syntax error: {0}")]
    Parse(#[from] ParseError),
    /// The predicate names a column the schema does not have.
    #[error("unknown column {name:?}")]
    UnknownColumn {
        /// The column name as written.
        name: String,
    },
    /// A literal cannot be converted to its column's type (wrong kind, or out of range).
    #[error("column {column:?} of type {expected} cannot be compared with {literal}")]
    TypeMismatch {
        /// The column name.
        column: String,
        /// The column's type (and, where it matters, the accepted range or form).
        expected: String,
        /// The literal as written.
        literal: String,
    },
    /// A segment could not be read (I/O, corruption). The message names the segment's file
    /// when it was opened from one, its position in the scan's list otherwise.
    #[error("segment {}: {source}", segment_name(*segment, path.as_deref()))]
    Format {
        /// Position of the segment in the scan's list.
        segment: usize,
        /// The file the segment was opened from ([`strata_format::Segment::path`]).
        path: Option<PathBuf>,
        /// The underlying error.
        #[source]
        source: FormatError,
    },
    /// An Arrow kernel failed.
    #[error("arrow error: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// A caller's argument is invalid (projection of an unknown column, zero batch size, …).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// The file of a segment, or its position when it has none.
fn segment_name(index: usize, path: Option<&Path>) -> String {
    match path {
        Some(p) => p.display().to_string(),
        None => index.to_string(),
    }
}

/// Result alias of this crate.
pub type Result<T, E = PredicateError> = std::result::Result<T, E>;

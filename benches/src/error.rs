//! The harness's error type.

use std::path::{Path, PathBuf};

/// Everything that can stop a suite or one of its inputs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An input file did not hold what its data set's README says.
    #[error("{path}: {message}")]
    Data {
        /// The file.
        path: PathBuf,
        /// What was wrong (with a line number where there is one).
        message: String,
    },
    /// Strata's codec returned an error.
    #[error("strata codec: {0}")]
    Codec(#[from] strata_codec::CodecError),
    /// The parquet crate returned an error.
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Arrow returned an error.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// Strata's segment format (reading a segment) returned an error.
    #[error("strata format: {0}")]
    Format(#[from] strata_format::FormatError),
    /// Strata's segment writer returned an error.
    #[error("strata writer: {0}")]
    Writer(#[from] strata_writer::WriterError),
    /// Strata's partition registry returned an error.
    #[error("strata registry: {0}")]
    Registry(#[from] strata_partition_registry::RegistryError),
    /// Strata's compactor returned an error.
    #[error("strata compactor: {0}")]
    Compactor(#[from] strata_compactor::CompactorError),
    /// Strata's predicate layer (parsing, binding, scanning) returned an error.
    #[error("strata predicate: {0}")]
    Predicate(#[from] strata_predicate::PredicateError),
    /// Vortex returned an error (the segment suite's Vortex peer, feature `vortex`).
    #[cfg(feature = "vortex")]
    #[error("vortex: {0}")]
    Vortex(#[from] vortex::error::VortexError),
    /// pco returned an error.
    #[error("pco: {0}")]
    Pco(String),
    /// A codec's round trip did not give back the input, bit for bit.
    #[error("{codec} round trip differs from the input: {detail}")]
    Mismatch {
        /// Which codec.
        codec: String,
        /// First difference.
        detail: String,
    },
    /// Writing JSON failed.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// Bad command-line or suite arguments.
    #[error("{0}")]
    Usage(String),
}

impl BenchError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A data error in `path`.
    pub fn data(path: &Path, message: impl Into<String>) -> Self {
        Self::Data {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// Result with [`BenchError`].
pub type Result<T> = std::result::Result<T, BenchError>;

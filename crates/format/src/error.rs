//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong reading or writing a segment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// An operating-system I/O error, with the path it happened on.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// File or directory the operation touched.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An Arrow type (or a Strata type name in a footer) that Strata does not store.
    #[error("field {field:?} has unsupported type {data_type}")]
    UnsupportedType {
        /// The field's name.
        field: String,
        /// The type, as Arrow prints it.
        data_type: String,
    },
    /// The file was written by a format major version this build does not read.
    #[error(
        "unsupported segment format version {major}.{minor} (this build reads 1.x, 2.x and 3.x)"
    )]
    UnsupportedVersion {
        /// Major version found in the file.
        major: u16,
        /// Minor version found in the file.
        minor: u16,
    },
    /// A magic number is missing: not a segment file, or a torn one.
    #[error("bad magic in {what}: not a Strata segment")]
    BadMagic {
        /// Which magic (`header` or `tail`).
        what: &'static str,
    },
    /// A stored CRC32C does not match the bytes it covers.
    #[error("checksum mismatch in {what} at offset {offset}")]
    ChecksumMismatch {
        /// What the checksum covers (`footer`, `column 2 block 7`, …).
        what: String,
        /// File offset of the covered bytes.
        offset: u64,
    },
    /// Bytes that pass their checksum but do not make sense (or fail a structural check).
    #[error("corrupt {what} at offset {offset}: {detail}")]
    Corrupt {
        /// The structure being read.
        what: String,
        /// File offset (or offset inside the structure) where the problem was found.
        offset: u64,
        /// What was wrong.
        detail: String,
    },
    /// The codec refused to encode or decode a block.
    #[error("codec error in column {column} block {block}: {source}")]
    Codec {
        /// Column index.
        column: usize,
        /// Block index inside the column.
        block: usize,
        /// The codec's error.
        source: strata_codec::CodecError,
    },
    /// Data does not match the schema it is written or read with.
    #[error("schema mismatch: {0}")]
    SchemaMismatch(String),
    /// A caller asked for something invalid (unknown column, block out of range, bad option).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Arrow refused to build an array or batch.
    #[error("arrow error: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
}

/// Result alias for this crate.
pub type Result<T, E = FormatError> = std::result::Result<T, E>;

impl FormatError {
    /// An [`FormatError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// A [`FormatError::Corrupt`].
    pub fn corrupt(what: impl Into<String>, offset: u64, detail: impl Into<String>) -> Self {
        Self::Corrupt {
            what: what.into(),
            offset,
            detail: detail.into(),
        }
    }

    /// True for errors that mean the bytes are damaged (checksum, magic, structure, codec).
    pub fn is_corruption(&self) -> bool {
        matches!(
            self,
            Self::BadMagic { .. }
                | Self::ChecksumMismatch { .. }
                | Self::Corrupt { .. }
                | Self::Codec { .. }
                | Self::UnsupportedVersion { .. }
        )
    }
}

//! The codec's error type.

/// What went wrong while encoding or decoding a buffer.
///
/// Decoding never panics: truncated, corrupt or foreign bytes all end up here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The buffer ended before a field could be read.
    #[error("truncated input: needed {needed} more bytes at offset {offset}")]
    Truncated {
        /// Byte offset where the read started.
        offset: usize,
        /// How many bytes the read needed.
        needed: usize,
    },
    /// The buffer was written by an unknown codec version.
    #[error("unsupported codec version {found} (this build reads version {supported})")]
    UnsupportedVersion {
        /// Version byte found in the buffer.
        found: u8,
        /// Version this build reads.
        supported: u8,
    },
    /// An encoding tag that this build does not know, or that is not valid in this position.
    #[error("unknown or misplaced encoding tag 0x{tag:02x} at offset {offset}")]
    UnknownTag {
        /// The tag byte.
        tag: u8,
        /// Byte offset of the tag.
        offset: usize,
    },
    /// The buffer holds a different kind of value than the caller asked for.
    #[error("value kind mismatch: buffer holds {found}, caller asked for {expected}")]
    KindMismatch {
        /// Kind the caller asked for.
        expected: &'static str,
        /// Kind the buffer holds.
        found: &'static str,
    },
    /// A count exceeds the decoder's limit (guards allocations against corrupt length fields).
    #[error("value count {count} exceeds the limit of {limit}")]
    TooManyValues {
        /// Count read from the buffer.
        count: u64,
        /// The limit in force.
        limit: usize,
    },
    /// The bytes are structurally invalid.
    #[error("corrupt {encoding} data: {reason}")]
    Corrupt {
        /// Encoding being decoded.
        encoding: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The caller asked for something the encoder cannot do with these values.
    #[error("invalid encode request: {0}")]
    InvalidRequest(String),
}

/// Result alias of this crate.
pub type Result<T, E = CodecError> = std::result::Result<T, E>;

pub(crate) fn corrupt(encoding: &'static str, reason: impl Into<String>) -> CodecError {
    CodecError::Corrupt {
        encoding,
        reason: reason.into(),
    }
}

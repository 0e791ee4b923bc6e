//! strata-format: the self-describing segment file.
//!
//! Place in the stack: `codec → **format** → memtable → writer → predicate → partition-registry →
//! compactor`. The lowest crate that does I/O: it owns the segment layout (header, column blocks
//! each with its own CRC32C, footer with schema, typed zone maps and bloom filters), the reader
//! with random access to any block, and the filesystem trait every durable write goes through.
//!
//! What it is not: it knows nothing about partitions, manifests or compaction.
#![forbid(unsafe_code)]

pub mod block;
pub mod bloom;
pub mod error;
pub mod footer;
pub mod fs;
pub mod schema;
pub mod segment;
pub mod stats;

pub use block::{
    BlockOptions, BloomPolicy, EncodedBlock, SymbolDictionary, decode_block, encode_block,
};
pub use bloom::BloomFilter;
pub use error::{FormatError, Result};
pub use footer::{BlockMeta, ColumnMeta, Footer, KeyRange};
pub use fs::{FileSystem, LocalFs, MemFs, ReadAt, WritableFile, write_durably};
pub use schema::{DataType, Field, PhysicalKind, Schema, SymbolAs, TimeUnit};
pub use segment::{Segment, SegmentFileWriter, write_segment_bytes};
pub use stats::{ColumnStats, ScalarValue};

/// A segment format version: readers refuse an unknown `major` and accept any `minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FormatVersion {
    /// Incompatible changes bump this.
    pub major: u16,
    /// Compatible additions (optional footer fields) bump this.
    pub minor: u16,
}

/// The version this build writes.
pub const CURRENT_VERSION: FormatVersion = FormatVersion { major: 1, minor: 0 };

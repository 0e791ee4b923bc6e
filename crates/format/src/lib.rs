//! strata-format: the self-describing segment file.
//!
//! Place in the stack: `codec → **format** → memtable → writer → predicate → partition-registry →
//! compactor`. The lowest crate that does I/O: it owns the segment layout (header, column blocks
//! each with its own CRC32C, footer with schema, typed zone maps and bloom filters), the reader
//! with random access to any block, and the filesystem trait every read and durable write goes
//! through ([`FileSystem`]).
//!
//! What it is not: it knows nothing about partitions, manifests, deletes or compaction, and it
//! does not sort or buffer rows — the writer crate above streams stripes into a
//! [`SegmentFileWriter`].
//!
//! # Layout (version 3, which reads versions 1 and 2; byte-level spec in `docs/format.md`)
//!
//! ```text
//! offset 0
//! +--------------------------------------------------------------+
//! | header (16 B): "STRATSEG" | major u16 | minor u16 | 0u32     |
//! +--------------------------------------------------------------+
//! | stripe 0: block c0.b0 | block c1.b0 | ... | block cN.b0       |  each block:
//! | stripe 1: block c0.b1 | block c1.b1 | ... | block cN.b1       |  flags | [validity] |
//! | ...                                                          |  values | crc32c u32
//! +--------------------------------------------------------------+
//! | footer: schema, row count, block rows, per column: block     |
//! |   index (offset, len, rows, cascade, stats, bloom), symbol   |
//! |   dictionary; key range; metadata; cascade table; extensions |
//! |   (versions 2 and 3's compact layout: varints, offsets as    |
//! |   gaps, cascades by number, segment stats merged by the      |
//! |   reader; 3 adds decimal float stats, 3.4 dictionaries as    |
//! |   zstd frames, 3.5-3.6 derivation tables, 3.7 cascade names  |
//! |   as scheme tokens; version 1's                              |
//! |   fixed-width layout is read forever)                        |
//! +--------------------------------------------------------------+
//! | tail (24 B): footer len u64 | major u16 | minor u16 |        |
//! |   crc32c(footer ++ previous 12 tail bytes) u32 | "STRATEND"  |
//! +--------------------------------------------------------------+
//! ```
//!
//! Reading any one block of any column needs the tail, the footer and that block, nothing
//! else. Writers encode a batch's columns, and readers decode a projection's columns, on all
//! cores unless told otherwise ([`SegmentFileWriter::set_threads`],
//! [`Segment::read_columns_threads`]); the bytes written never depend on it. Every byte is covered by a check: magics, versions, zero reserved bytes, the footer
//! CRC, and the block CRCs (the footer's block index must tile the data region exactly). A
//! file held in memory ([`ReadAt::held`]: a small local segment read whole at open) has its
//! block CRCs checked once, at open; others at every read of a block.
//!
//! # Key types
//!
//! [`Schema`] / [`Field`] / [`DataType`] (exact Arrow mapping), [`SegmentFileWriter`],
//! [`Segment`], [`DecodedBlock`] / [`ColumnSink`] (blocks decoded straight into the buffers of
//! an output array, see [`decode`]), [`Footer`] / [`ColumnMeta`] / [`BlockMeta`],
//! [`Derivation`] (a column stored against a table of one or two symbol columns' codes, see
//! [`derive`](mod@derive)),
//! [`ColumnStats`] / [`ScalarValue`],
//! [`BloomFilter`], [`FileSystem`] / [`LocalFs`] / [`MemFs`] / [`FaultFs`], [`FormatError`];
//! [`record`]: the checksummed record framing and damage rule that the manifest log and the
//! write-ahead log share.
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
//! use strata_format::{BlockOptions, DataType, Field, Schema, Segment, SegmentFileWriter, SymbolAs};
//!
//! let schema = Schema::new(vec![
//!     Field::new("ts", DataType::Int64, false),
//!     Field::new("host", DataType::Symbol, true),
//! ])?
//! .with_sort_key(["ts"])?;
//! let ts: ArrayRef = Arc::new(Int64Array::from_iter_values(0..3000));
//! let host: ArrayRef = Arc::new(StringArray::from_iter((0..3000).map(|i| (i % 7 != 0).then(|| ["a", "b"][i % 2]))));
//! let batch = RecordBatch::try_new(Arc::new(schema.to_arrow(SymbolAs::Utf8)), vec![ts, host])?;
//!
//! let opts = BlockOptions { block_rows: 1024, ..BlockOptions::default() }; // default 4096
//! let mut w = SegmentFileWriter::new(Vec::new(), schema, opts)?;
//! w.write_batch(&batch)?; // three stripes of at most 1024 rows
//! let (bytes, written) = w.finish()?;
//! assert_eq!(written.columns[0].blocks, 3);
//!
//! let seg = Segment::from_bytes(bytes.into())?.with_symbol_as(SymbolAs::Utf8);
//! assert_eq!(seg.read_all()?, batch);
//! let second = seg.read_block(0, 1)?; // one positional read
//! assert_eq!(second.len(), 1024);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The only `unsafe` code builds two kinds of Arrow array without Arrow's row-by-row checks,
//! each right after one branch-free pass that covers them: a dictionary column's (every key
//! checked against the dictionary's length) and a string column's whose bytes are ASCII (so
//! UTF-8, with every offset on a character boundary); and a prefetch hint
//! ([`Segment::prefetch`]), which reads nothing and cannot fault.
#![deny(unsafe_code)]

pub mod block;
pub mod bloom;
pub mod decode;
pub mod derive;
pub mod error;
pub mod fault;
pub mod footer;
pub mod fs;
pub mod record;
pub mod schema;
pub mod segment;
pub mod stats;

pub use block::{
    BlockOptions, BloomPolicy, DEFAULT_ZSTD_LEVEL, EncodedBlock, SymbolDictionary, decode_block,
    encode_block,
};
pub use bloom::BloomFilter;
pub use decode::{ColumnSink, DecodedBlock};
pub use derive::Derivation;
pub use error::{FormatError, Result};
pub use fault::FaultFs;
pub use footer::{BlockMeta, ColumnMeta, Footer, KeyRange};
pub use fs::{
    Capabilities, FileSystem, LOCAL_READ_WHOLE, LocalFs, MemFs, ReadAt, WritableFile,
    is_already_exists, is_not_found, write_durably,
};
pub use record::{
    DamagedRecord, FramedRecord, SplitRecords, Tail, TailKind, frame_record, split_records,
};
pub use schema::{DataType, Field, PhysicalKind, Schema, SymbolAs, TimeUnit};
pub use segment::{
    EncodingMemory, Prefetch, SEGMENT_OPEN_SUFFIX, Segment, SegmentFileWriter, WrittenColumn,
    WrittenSegment, write_segment_bytes,
};
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
///
/// 3.0 writes footer layout 3 (float statistics as exact decimals) and blocks that may use the
/// integer codec scheme `packedlz4`; 3.1 adds blocks that may use bit-packing with a frame of
/// reference and width per 1024-value miniblock (codec tag `0x0d`); 3.2 adds integer and float
/// blocks stored as `parts`, runs of 1024 values each with its own cascade (codec tag `0x0e`);
/// 3.3 adds blocks whose values buffer is a zstd frame of the codec's buffer (block flag
/// `0x04`); 3.4 adds symbol dictionaries stored as zstd frames in the footer (dictionary flag
/// 2); 3.5 adds columns derived from symbol columns (block flag `0x08`, footer extension tag
/// 1: a per-segment table from key codes to values); 3.6 lets a derivation's one key be an
/// integer, date or timestamp column (a value key: the table maps its values) and adds sums
/// (a column stored as one or two other integer columns added or subtracted, plus a
/// residual a value); 3.7 writes the footer's cascade names (what `inspect` shows for each
/// block) as one byte a scheme where they are trees of scheme names. This build reads 1.x,
/// 2.x and 3.x.
pub const CURRENT_VERSION: FormatVersion = FormatVersion { major: 3, minor: 7 };

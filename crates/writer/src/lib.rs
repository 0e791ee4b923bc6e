//! strata-writer: streams a drained memtable (or a merge) into a segment, durably.
//!
//! Place in the stack: `codec → format → memtable → **writer** → predicate → …`. A
//! [`SegmentWriter`] takes sorted record batches of any size, cuts them into stripes of
//! `block_rows`, encodes each column block with the codec's sampled choice, and appends it to
//! `<name>.tmp` through the [`FileSystem`] trait of strata-format. It holds at most one partial
//! stripe (about one block per column) plus [`WriterOptions::index_memory`] bytes of the
//! footer's block index in memory; past that budget the encoded index entries go to the side
//! file `<name>.idx.tmp` and are streamed back into the footer at [`SegmentWriter::finish`]
//! (same file bytes either way). So the compactor writes a merged segment of any size in
//! memory that does not grow with it.
//!
//! What it is not: it does not decide *which* rows go into a segment (the memtable and the
//! compactor do), and it never touches the manifest.
//!
//! Durability: [`SegmentWriter::finish`] writes the footer, fsyncs the file, renames
//! `<name>.tmp` to `<name>` and fsyncs the directory. On any error — and when a writer is
//! dropped unfinished — the temporary file is removed and `<name>` is never created. On a
//! filesystem without an atomic rename (an object store, [`strata_format::Capabilities`]) there
//! is no temporary file: the segment is uploaded whole to `<name>` at the final sync, which is
//! atomic there; the footer's block index then stays in memory too (no side file).
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{Int64Array, RecordBatch, StringArray};
//! use strata_format::{DataType, Field, MemFs, Schema, Segment};
//! use strata_writer::{SegmentWriter, WriterOptions};
//!
//! let fs = Arc::new(MemFs::new());
//! let schema = Schema::new(vec![
//!     Field::new("ts", DataType::Int64, false),
//!     Field::new("host", DataType::Utf8, true),
//! ])?
//! .with_sort_key(["ts"])?;
//! let batch = RecordBatch::try_new(
//!     Arc::new(schema.to_arrow(Default::default())),
//!     vec![
//!         Arc::new(Int64Array::from(vec![1, 2, 3])),
//!         Arc::new(StringArray::from(vec![Some("a"), None, Some("b")])),
//!     ],
//! )?;
//! let mut w = SegmentWriter::create(fs.clone(), "/t".as_ref(), "seg-1.strata", schema, WriterOptions::default())?;
//! w.write_batch(&batch)?;
//! let meta = w.finish()?;
//! assert_eq!(meta.rows, 3);
//! let seg = Segment::open(fs.as_ref(), &meta.path)?;
//! assert_eq!(seg.read_all()?.num_rows(), 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_row::{OwnedRow, RowConverter, SortField};
use arrow_schema::DataType as ArrowType;
use strata_format::{
    BlockOptions, DataType, FileSystem, FormatError, KeyRange, Schema, SegmentFileWriter, SymbolAs,
    WritableFile,
};

/// What can go wrong while writing a segment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriterError {
    /// The format layer failed (I/O, encoding, a bad array).
    #[error("writing segment {name}: {source}")]
    Format {
        /// Segment file name.
        name: String,
        /// The underlying error.
        #[source]
        source: FormatError,
    },
    /// A batch does not match the segment's schema.
    #[error("segment {name}: batch does not match the schema: {detail}")]
    SchemaMismatch {
        /// Segment file name.
        name: String,
        /// What differs.
        detail: String,
    },
    /// Rows arrived out of sort-key order.
    #[error(
        "segment {name}: row {row} sorts before the row written before it (input must be sorted by {key:?})"
    )]
    NotSorted {
        /// Segment file name.
        name: String,
        /// Zero-based row number within the whole stream.
        row: u64,
        /// The sort key.
        key: Vec<String>,
    },
    /// An Arrow kernel failed.
    #[error("segment {name}: arrow error: {source}")]
    Arrow {
        /// Segment file name.
        name: String,
        /// The underlying error.
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// The name is not a plain file name.
    #[error("invalid segment name {0:?}: must be a plain file name")]
    InvalidName(String),
}

pub use strata_format::{EncodingMemory, WrittenColumn};

/// Result alias of this crate.
pub type Result<T, E = WriterError> = std::result::Result<T, E>;

/// How segments are written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WriterOptions {
    /// Block size, codec profile, statistics and bloom filter policy.
    pub block: BlockOptions,
    /// Check that rows arrive in sort-key order (on by default; the compactor's merge output is
    /// sorted by construction and may turn it off).
    pub skip_sort_check: bool,
    /// Bytes of encoded block index (one entry per block and column, with stats and bloom
    /// filter) kept in memory; past it, entries move to the side file `<name>.idx.tmp` and are
    /// streamed back into the footer at [`SegmentWriter::finish`]. This keeps a writer's memory
    /// independent of the segment's size.
    pub index_memory: usize,
}

/// Default [`WriterOptions::index_memory`]: 32 KiB, a few hundred block entries (an entry is
/// about 60 bytes, plus its bloom filter when it has one).
pub const DEFAULT_INDEX_MEMORY: usize = 32 * 1024;

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            block: BlockOptions::default(),
            skip_sort_check: false,
            index_memory: DEFAULT_INDEX_MEMORY,
        }
    }
}

/// What a finished segment holds.
#[derive(Debug, Clone)]
pub struct SegmentMeta {
    /// Final path of the segment file.
    pub path: PathBuf,
    /// Its file name.
    pub name: String,
    /// Rows written.
    pub rows: u64,
    /// File size in bytes.
    pub bytes: u64,
    /// Encoded bytes per column (blocks only), in schema order.
    pub column_bytes: Vec<(String, u64)>,
    /// Sort-key range, when the schema has a sort key and rows were written.
    pub key_range: Option<KeyRange>,
    /// Per column, in schema order: blocks, bytes and segment-wide statistics. The block index
    /// itself is in the file ([`strata_format::Segment::open`] reads it).
    pub columns: Vec<WrittenColumn>,
}

impl SegmentMeta {
    /// Segment-wide statistics of the column named `name`.
    pub fn column_stats(&self, name: &str) -> Option<&strata_format::ColumnStats> {
        let i = self.column_bytes.iter().position(|(n, _)| n == name)?;
        self.columns.get(i).map(|c| &c.stats)
    }
}

/// Streams sorted batches into one segment file. See the crate documentation.
#[derive(Debug)]
pub struct SegmentWriter {
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
    name: String,
    tmp: PathBuf,
    inner: Option<SegmentFileWriter<Box<dyn WritableFile>>>,
    /// Rows of the partial stripe, copied out of the caller's batches (at most `block_rows`).
    pending: Vec<Vec<ArrayRef>>,
    pending_rows: usize,
    block_rows: usize,
    rows: u64,
    sort: Option<SortCheck>,
    arrow_schema: arrow_schema::SchemaRef,
    schema: Schema,
    /// Set once `<name>.tmp` became `<name>`.
    renamed: bool,
    /// What the segment's encoders learnt, taken when it is finished.
    learnt: EncodingMemory,
}

#[derive(Debug)]
struct SortCheck {
    columns: Vec<usize>,
    /// The Arrow type each key column is compared in (symbols as plain `Utf8`, since a symbol
    /// column may arrive as a dictionary or as plain strings).
    types: Vec<ArrowType>,
    key: Vec<String>,
    converter: RowConverter,
    last: Option<OwnedRow>,
}

impl SegmentWriter {
    /// Encodes the columns of whole stripes on up to `n` threads (default: the cores
    /// available; 1: on the caller's thread, as a background merge that must leave cores to
    /// readers wants). The file does not depend on it.
    pub fn set_threads(&mut self, n: usize) {
        if let Some(w) = self.inner.as_mut() {
            w.set_threads(n);
        }
    }

    /// Starts `dir/name`, writing into `dir/name.tmp` until [`Self::finish`].
    pub fn create(
        fs: Arc<dyn FileSystem>,
        dir: &Path,
        name: &str,
        schema: Schema,
        opts: WriterOptions,
    ) -> Result<Self> {
        if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
            return Err(WriterError::InvalidName(name.to_string()));
        }
        let fmt = |source| WriterError::Format {
            name: name.to_string(),
            source,
        };
        // Without an atomic rename (an object store) the segment is written once, whole, to
        // its final name: the upload at `sync` is atomic there.
        let tmp = if fs.capabilities().atomic_rename {
            dir.join(format!("{name}.tmp"))
        } else {
            dir.join(name)
        };
        let arrow_schema = Arc::new(schema.to_arrow(SymbolAs::Dictionary));
        let sort = if opts.skip_sort_check || schema.sort_key.is_empty() {
            None
        } else {
            let columns = schema.sort_key_indices();
            let types: Vec<ArrowType> = columns
                .iter()
                .filter_map(|&i| schema.fields.get(i))
                .map(|f| f.data_type.to_arrow(SymbolAs::Utf8))
                .collect();
            let fields = types.iter().map(|t| SortField::new(t.clone())).collect();
            let converter = RowConverter::new(fields).map_err(|source| WriterError::Arrow {
                name: name.to_string(),
                source,
            })?;
            Some(SortCheck {
                columns,
                types,
                key: schema.sort_key.clone(),
                converter,
                last: None,
            })
        };
        fs.create_dir_all(dir).map_err(fmt)?;
        let file = fs.create(&tmp).map_err(fmt)?;
        let n = schema.fields.len();
        let inner = match SegmentFileWriter::new(file, schema.clone(), opts.block) {
            Ok(mut w) => {
                // On an object store the segment itself is held in memory until its upload,
                // and a side file would be uploaded and fetched back: the index stays in
                // memory there.
                if fs.capabilities().append {
                    w.spill_index(
                        fs.clone(),
                        dir.join(format!("{name}.idx.tmp")),
                        opts.index_memory,
                    );
                }
                w
            }
            Err(e) => {
                let _ = fs.remove_file(&tmp);
                return Err(fmt(e));
            }
        };
        Ok(Self {
            fs,
            dir: dir.to_path_buf(),
            name: name.to_string(),
            tmp,
            inner: Some(inner),
            learnt: EncodingMemory::default(),
            pending: vec![Vec::new(); n],
            pending_rows: 0,
            block_rows: opts.block.block_rows,
            rows: 0,
            sort,
            arrow_schema,
            schema,
            renamed: false,
        })
    }

    /// Rows accepted so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Rows held in the partial stripe, waiting for more rows (or [`Self::finish`]) before they
    /// are encoded. Never more than `block_rows`: the writer's buffered data is bounded by one
    /// stripe whatever the size of the batches it is given.
    pub fn pending_rows(&self) -> usize {
        self.pending_rows
    }

    /// Bytes written to the temporary file so far.
    pub fn bytes_written(&self) -> u64 {
        self.inner
            .as_ref()
            .map_or(0, SegmentFileWriter::bytes_written)
    }

    fn format_err(&self, source: FormatError) -> WriterError {
        WriterError::Format {
            name: self.name.clone(),
            source,
        }
    }

    fn check_schema(&self, batch: &RecordBatch) -> Result<()> {
        let expected = self.arrow_schema.fields();
        let got = batch.schema();
        if got.fields().len() != expected.len() {
            return Err(WriterError::SchemaMismatch {
                name: self.name.clone(),
                detail: format!(
                    "{} columns, expected {}",
                    got.fields().len(),
                    expected.len()
                ),
            });
        }
        for (i, (e, g)) in expected.iter().zip(got.fields()).enumerate() {
            if e.name() != g.name() {
                return Err(WriterError::SchemaMismatch {
                    name: self.name.clone(),
                    detail: format!("column {:?} where {:?} was expected", g.name(), e.name()),
                });
            }
            // Checked here, before anything is buffered or written: a block refused half-way
            // through a stripe would leave columns of different lengths behind.
            let array = batch.column(i);
            let symbol = self
                .schema
                .fields
                .get(i)
                .is_some_and(|f| f.data_type == DataType::Symbol);
            let type_ok = array.data_type() == e.data_type()
                || (symbol && matches!(array.data_type(), ArrowType::Utf8 | ArrowType::LargeUtf8));
            if !type_ok {
                return Err(WriterError::SchemaMismatch {
                    name: self.name.clone(),
                    detail: format!(
                        "column {:?} has type {}, expected {}",
                        e.name(),
                        array.data_type(),
                        e.data_type()
                    ),
                });
            }
            if !e.is_nullable() && array.logical_null_count() > 0 {
                return Err(WriterError::SchemaMismatch {
                    name: self.name.clone(),
                    detail: format!(
                        "column {:?} is not nullable but holds {} nulls",
                        e.name(),
                        array.logical_null_count()
                    ),
                });
            }
        }
        Ok(())
    }

    fn check_sorted(&mut self, batch: &RecordBatch) -> Result<()> {
        let Some(sort) = self.sort.as_mut() else {
            return Ok(());
        };
        let cols = sort
            .columns
            .iter()
            .zip(&sort.types)
            .map(|(&i, t)| {
                let c = batch.column(i);
                if c.data_type() == t {
                    Ok(c.clone())
                } else {
                    arrow_cast::cast(c, t)
                }
            })
            .collect::<Result<Vec<ArrayRef>, _>>()
            .map_err(|source| WriterError::Arrow {
                name: self.name.clone(),
                source,
            })?;
        let rows = sort
            .converter
            .convert_columns(&cols)
            .map_err(|source| WriterError::Arrow {
                name: self.name.clone(),
                source,
            })?;
        let mut prev = sort.last.as_ref().map(OwnedRow::row);
        for (i, row) in rows.iter().enumerate() {
            if prev.is_some_and(|p| row < p) {
                return Err(WriterError::NotSorted {
                    name: self.name.clone(),
                    row: self.rows + i as u64,
                    key: sort.key.clone(),
                });
            }
            prev = Some(row);
        }
        if rows.num_rows() > 0 {
            sort.last = Some(rows.row(rows.num_rows() - 1).owned());
        }
        Ok(())
    }

    /// Appends a batch. Rows must continue the sort-key order of everything written before.
    /// A rejected batch leaves the writer as it was.
    pub fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        self.check_schema(batch)?;
        self.check_sorted(batch)?;
        let n = batch.num_rows();
        let mut start = 0;
        // Top up the partial stripe first.
        if self.pending_rows > 0 {
            let take = (self.block_rows - self.pending_rows).min(n);
            for (p, c) in self.pending.iter_mut().zip(batch.columns()) {
                p.push(c.slice(0, take));
            }
            self.pending_rows += take;
            start = take;
            if self.pending_rows == self.block_rows {
                self.flush_pending()?;
            }
        }
        // Whole stripes go straight from the caller's batch (their columns encoded in
        // parallel, see `SegmentFileWriter::write_batch`).
        let whole = (n - start) / self.block_rows * self.block_rows;
        if whole > 0 {
            let r = self
                .inner
                .as_mut()
                .map(|w| w.write_batch(&batch.slice(start, whole)));
            if let Some(Err(e)) = r {
                return Err(self.format_err(e));
            }
            start += whole;
        }
        // Keep the remainder as compact copies, so the caller's batch can be freed.
        if start < n {
            for (p, c) in self.pending.iter_mut().zip(batch.columns()) {
                let piece = c.slice(start, n - start);
                p.push(
                    concat(&[piece.as_ref()]).map_err(|source| WriterError::Arrow {
                        name: self.name.clone(),
                        source,
                    })?,
                );
            }
            self.pending_rows += n - start;
        }
        self.rows += n as u64;
        Ok(())
    }

    fn flush_pending(&mut self) -> Result<()> {
        if self.pending_rows == 0 {
            return Ok(());
        }
        let mut cols = Vec::with_capacity(self.pending.len());
        for p in &mut self.pending {
            let parts: Vec<&dyn Array> = p.iter().map(|a| a.as_ref()).collect();
            let c = concat(&parts).map_err(|source| WriterError::Arrow {
                name: self.name.clone(),
                source,
            })?;
            p.clear();
            cols.push(c);
        }
        self.pending_rows = 0;
        match self.inner.as_mut().map(|w| w.write_stripe(&cols)) {
            Some(Err(e)) => Err(self.format_err(e)),
            _ => Ok(()),
        }
    }

    /// Writes the footer, fsyncs, renames into place and fsyncs the directory.
    pub fn finish(self) -> Result<SegmentMeta> {
        self.finish_remembering().map(|(meta, _)| meta)
    }

    /// Starts each column's encoding from what the writer of an earlier segment of the same
    /// table learnt ([`Self::finish_remembering`]); call before the first batch. Many small
    /// segments (a partitioned table) then choose the encodings one long segment would, and
    /// each segment's first block does not search every scheme afresh.
    pub fn remember(&mut self, memory: &EncodingMemory) {
        if let Some(inner) = self.inner.as_mut() {
            inner.remember(memory);
        }
    }

    /// [`Self::finish`], also returning what the encoders learnt, for the next segment's
    /// writer ([`Self::remember`]).
    pub fn finish_remembering(mut self) -> Result<(SegmentMeta, EncodingMemory)> {
        let result = self.finish_inner();
        if result.is_err() {
            self.remove_tmp();
            // The rename happened but the directory fsync failed: the caller is told the
            // segment was not written, so it must not be left in place either.
            let path = self.dir.join(&self.name);
            if self.renamed && self.fs.exists(&path).unwrap_or(false) {
                let _ = self.fs.remove_file(&path);
            }
        }
        result.map(|meta| (meta, std::mem::take(&mut self.learnt)))
    }

    fn finish_inner(&mut self) -> Result<SegmentMeta> {
        self.flush_pending()?;
        let inner = self.inner.take().ok_or_else(|| {
            self.format_err(FormatError::InvalidArgument(
                "writer already finished".into(),
            ))
        })?;
        self.learnt = inner.encoding_memory();
        let (mut file, written) = inner.finish().map_err(|e| self.format_err(e))?;
        file.sync().map_err(|e| self.format_err(e))?;
        drop(file);
        // Everything that can fail short of the directory fsync happens before the rename.
        let bytes = self
            .fs
            .open_read(&self.tmp)
            .map(|f| f.len())
            .map_err(|e| self.format_err(e))?;
        let path = self.dir.join(&self.name);
        if self.tmp != path {
            self.fs
                .rename(&self.tmp, &path)
                .map_err(|e| self.format_err(e))?;
            self.renamed = true;
            self.fs
                .sync_dir(&self.dir)
                .map_err(|e| self.format_err(e))?;
        }
        let column_bytes = self
            .schema
            .fields
            .iter()
            .zip(&written.columns)
            .map(|(f, c)| (f.name.clone(), c.bytes))
            .collect();
        Ok(SegmentMeta {
            path,
            name: self.name.clone(),
            rows: written.row_count,
            bytes,
            column_bytes,
            key_range: written.key_range,
            columns: written.columns,
        })
    }

    /// Abandons the segment: removes the temporary file.
    pub fn abort(mut self) {
        self.inner = None;
        self.remove_tmp();
    }

    fn remove_tmp(&mut self) {
        self.inner = None;
        if self.fs.exists(&self.tmp).unwrap_or(false) {
            // Nothing better to do with a failed cleanup: recovery removes orphans.
            let _ = self.fs.remove_file(&self.tmp);
        }
    }
}

impl Drop for SegmentWriter {
    fn drop(&mut self) {
        if self.inner.is_some() {
            self.remove_tmp();
        }
    }
}

/// Concatenates arrays into new buffers. Dictionary arrays sharing one values array (a
/// memtable's or a merge's dictionary) copy their keys only and keep sharing it, so the
/// format's per-dictionary symbol coding stays valid across stripes.
fn concat(parts: &[&dyn Array]) -> std::result::Result<ArrayRef, arrow_schema::ArrowError> {
    if let Some(r) = strata_format::block::on_shared_dictionary_keys(parts, |keys| {
        arrow_select::concat::concat(keys)
    }) {
        return r;
    }
    arrow_select::concat::concat(parts)
}

/// Writes a drained memtable as one segment.
pub fn write_drained(
    fs: Arc<dyn FileSystem>,
    dir: &Path,
    name: &str,
    schema: Schema,
    drained: &strata_memtable::Drained,
    opts: WriterOptions,
) -> Result<SegmentMeta> {
    let mut w = SegmentWriter::create(fs, dir, name, schema, opts)?;
    w.write_batch(&drained.batch)?;
    w.finish()
}

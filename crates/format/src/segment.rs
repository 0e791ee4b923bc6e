//! Writing and reading whole segment files.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::SchemaRef;
use bytes::Bytes;

use crate::block::Extras;
use crate::block::{self, BlockOptions, BlockPos, EncodedBlock, SymbolDictionary};
use crate::decode::{self, ColumnSink, DecodedBlock};
use crate::derive::{self, Deriver, Lookup};
use crate::error::{FormatError, Result};
use crate::footer::{self, BlockMeta, Footer, KeyRange, Out};
use crate::fs::{FileSystem, ReadAt, WritableFile};
use crate::schema::{DataType, Schema, SymbolAs};
use crate::stats::ColumnStats;
use crate::{CURRENT_VERSION, FormatVersion};

/// First eight bytes of every segment.
pub const HEADER_MAGIC: [u8; 8] = *b"STRATSEG";
/// Last eight bytes of every segment.
pub const TAIL_MAGIC: [u8; 8] = *b"STRATEND";
/// Header size: magic, major u16, minor u16, reserved u32 (zero).
pub const HEADER_LEN: u64 = 16;
/// Tail size: footer length u64, major u16, minor u16, CRC32C u32, magic.
pub const TAIL_LEN: u64 = 24;
/// The footer layout this build writes.
pub(crate) const FOOTER_LAYOUT: footer::Layout = footer::Layout {
    compact: true,
    decimal_floats: true,
    zstd_dictionaries: true,
    token_cascades: true,
};

fn header_bytes(v: FormatVersion) -> [u8; HEADER_LEN as usize] {
    let mut h = [0u8; HEADER_LEN as usize];
    h[..8].copy_from_slice(&HEADER_MAGIC);
    h[8..10].copy_from_slice(&v.major.to_le_bytes());
    h[10..12].copy_from_slice(&v.minor.to_le_bytes());
    h
}

/// Low-level segment writer: writes the header at once, then appends blocks in any order (the
/// footer's index records where each went), then the footer and tail. It holds no data beyond
/// the stats, the symbol dictionaries and the block index, so a streaming writer can keep just
/// one block per column in memory.
///
/// The block index is kept in its encoded footer form (tens of bytes per block and column).
/// With [`Self::spill_index`] it stays within a byte budget whatever the segment size: past the
/// budget, the encoded entries move to a side file, and [`Self::finish`] streams them back into
/// the footer. The file written is the same either way.
#[derive(Debug)]
pub struct SegmentFileWriter<W: WritableFile> {
    out: W,
    offset: u64,
    schema: Schema,
    opts: BlockOptions,
    columns: Vec<ColumnIndex>,
    dictionaries: Vec<Option<SymbolDictionary>>,
    key_range: Option<KeyRange>,
    key_range_set: bool,
    metadata: BTreeMap<String, String>,
    spill: Option<IndexSpill>,
    threads: usize,
    /// The cascades the blocks' index entries refer to by number.
    cascades: footer::CascadeTable,
    /// The columns stored against derivation tables (format 3.5, see `derive.rs`).
    derivers: Vec<Deriver>,
    /// Detection ran (on the first stripe).
    derive_decided: bool,
}

/// What a finished segment's writer learnt about encoding each column (the cascade its blocks
/// followed, how long since the last full search, whether zstd paid), for the next segment of
/// the same table to start from ([`SegmentFileWriter::remember`]): a table written as many small
/// segments (a partitioned table) then encodes each column as one long segment would, instead
/// of searching every scheme afresh on each segment's first block. Opaque; the bytes are always
/// a valid encoding whatever it holds.
#[derive(Debug, Clone, Default)]
pub struct EncodingMemory {
    columns: Vec<(String, DataType, block::SchemeMemory)>,
}

/// The block index of one column while it is written.
#[derive(Debug, Default)]
struct ColumnIndex {
    blocks: u64,
    bytes: u64,
    rows: u64,
    stats: ColumnStats,
    /// Encoded entries not yet spilled.
    pending: Vec<u8>,
    /// `(offset, len)` of this column's earlier entries in the spill file, in block order.
    spilled: Vec<(u64, usize)>,
    /// The integer cascade its previous blocks chose.
    schemes: block::SchemeMemory,
    /// End of its last block (the header's end before the first): index entries store the
    /// gap after it.
    end: u64,
}

/// A column's encoded blocks of a batch's stripes, with a symbol column's row codes per stripe
/// where derivation asked for them.
type ColumnBlocks = (Vec<EncodedBlock>, Vec<Vec<u32>>);

/// A derivable column's non-null values as `u64` bits and its validity (detection's input).
type DerivableValues = (Vec<u64>, Option<Vec<bool>>);

/// Bytes of spilled block index read back at a time by `finish`.
const SPILL_READ: usize = 8 * 1024;

/// Where the block index goes when it outgrows its budget.
#[derive(Debug)]
struct IndexSpill {
    fs: Arc<dyn FileSystem>,
    path: PathBuf,
    budget: usize,
    file: Option<Box<dyn WritableFile>>,
    /// The side file exists (and must be removed).
    created: bool,
    /// Bytes appended to it.
    len: u64,
}

impl IndexSpill {
    /// Closes and removes the side file, if it was created.
    fn remove(&mut self) -> Result<()> {
        self.file = None;
        if self.created {
            self.fs.remove_file(&self.path)?;
            self.created = false;
        }
        Ok(())
    }
}

impl Drop for IndexSpill {
    fn drop(&mut self) {
        // Best effort on the error paths: the side file holds no data of the segment, and a
        // table's recovery removes it as an orphan.
        let _ = self.remove();
    }
}

/// What a finished segment holds, without its block index (open the file for that).
#[derive(Debug, Clone, PartialEq)]
pub struct WrittenSegment {
    /// Rows.
    pub row_count: u64,
    /// One entry per schema field.
    pub columns: Vec<WrittenColumn>,
    /// The sort-key range, when recorded.
    pub key_range: Option<KeyRange>,
    /// Bytes of the footer (the tail excluded).
    pub footer_len: u64,
}

/// Summary of one written column.
#[derive(Debug, Clone, PartialEq)]
pub struct WrittenColumn {
    /// Blocks.
    pub blocks: u64,
    /// Encoded bytes of its blocks, CRCs included.
    pub bytes: u64,
    /// Statistics over the whole segment.
    pub stats: ColumnStats,
}

/// Writes footer bytes to the sink while keeping their CRC32C and length.
struct FooterSink<'a, W: WritableFile> {
    out: &'a mut W,
    crc: u32,
    len: u64,
}

impl<W: WritableFile> FooterSink<'_, W> {
    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.crc = crc32c::crc32c_append(self.crc, bytes);
        self.len += bytes.len() as u64;
        self.out.write_all(bytes)
    }
}

impl<W: WritableFile> SegmentFileWriter<W> {
    /// Starts a segment: writes the header to `out`.
    pub fn new(mut out: W, schema: Schema, opts: BlockOptions) -> Result<Self> {
        if opts.block_rows == 0 || opts.block_rows > strata_codec::MAX_VALUES {
            return Err(FormatError::InvalidArgument(format!(
                "block_rows {}",
                opts.block_rows
            )));
        }
        out.write_all(&header_bytes(CURRENT_VERSION))?;
        let n = schema.fields.len();
        let dictionaries = schema
            .fields
            .iter()
            .map(|f| (f.data_type == DataType::Symbol).then(SymbolDictionary::new))
            .collect();
        Ok(Self {
            out,
            offset: HEADER_LEN,
            schema,
            opts,
            columns: (0..n).map(|_| ColumnIndex::default()).collect(),
            dictionaries,
            key_range: None,
            key_range_set: false,
            metadata: BTreeMap::new(),
            spill: None,
            threads: available_threads(),
            cascades: footer::CascadeTable::default(),
            derivers: Vec::new(),
            derive_decided: false,
        })
    }

    /// Starts each column's encoding from what an earlier segment's writer learnt
    /// ([`Self::encoding_memory`]), for the columns of the same name and type; call before the
    /// first batch (later, it is ignored for columns that already wrote a block).
    pub fn remember(&mut self, memory: &EncodingMemory) {
        for (field, col) in self.schema.fields.iter().zip(&mut self.columns) {
            if col.blocks > 0 {
                continue;
            }
            if let Some((_, _, m)) = memory
                .columns
                .iter()
                .find(|(name, t, _)| *name == field.name && *t == field.data_type)
            {
                col.schemes = m.clone();
                col.schemes.searches = 0;
            }
        }
    }

    /// What this writer learnt about encoding each column so far (see [`EncodingMemory`]).
    pub fn encoding_memory(&self) -> EncodingMemory {
        EncodingMemory {
            columns: self
                .schema
                .fields
                .iter()
                .zip(&self.columns)
                .map(|(f, c)| (f.name.clone(), f.data_type.clone(), c.schemes.clone()))
                .collect(),
        }
    }

    /// Encodes the columns of a [`Self::write_batch`] on up to `n` threads (default: the cores
    /// available; 1: on the caller's thread). The bytes written do not depend on it.
    pub fn set_threads(&mut self, n: usize) {
        self.threads = n.max(1);
    }

    /// Keeps at most `budget` bytes of encoded block index in memory: past it, the entries are
    /// appended to the side file `path` (created on first use through `fs`, read back by
    /// [`Self::finish`], and removed by `finish` or when the writer is dropped).
    pub fn spill_index(&mut self, fs: Arc<dyn FileSystem>, path: PathBuf, budget: usize) {
        self.spill = Some(IndexSpill {
            fs,
            path,
            budget,
            file: None,
            created: false,
            len: 0,
        });
    }

    /// Bytes of encoded block index held in memory now.
    pub fn index_bytes_in_memory(&self) -> usize {
        self.columns.iter().map(|c| c.pending.len()).sum()
    }

    /// The schema being written.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The block options.
    pub fn options(&self) -> &BlockOptions {
        &self.opts
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.offset
    }

    /// The symbol dictionary of column `column`, for callers that encode symbol blocks
    /// themselves with [`block::encode_symbol_block`] before [`Self::append_encoded`].
    pub fn dictionary_mut(&mut self, column: usize) -> Option<&mut SymbolDictionary> {
        self.dictionaries.get_mut(column)?.as_mut()
    }

    /// Encodes `array` as the next block of column `column` and appends it.
    pub fn write_block(&mut self, column: usize, array: &ArrayRef) -> Result<()> {
        let field = self
            .schema
            .fields
            .get(column)
            .ok_or_else(|| FormatError::InvalidArgument(format!("no column {column}")))?;
        let block_index = self
            .columns
            .get(column)
            .map_or(0, |c| usize::try_from(c.blocks).unwrap_or(usize::MAX));
        let memory = self.columns.get_mut(column).map(|c| &mut c.schemes);
        let dict = self.dictionaries.get_mut(column).and_then(Option::as_mut);
        let enc =
            block::encode_inner(field, array.as_ref(), &self.opts, dict, memory).map_err(|e| {
                match e {
                    FormatError::Codec { source, .. } => FormatError::Codec {
                        column,
                        block: block_index,
                        source,
                    },
                    other => other,
                }
            })?;
        self.append_encoded(column, enc)
    }

    /// Appends an already encoded block as the next block of column `column`.
    pub fn append_encoded(&mut self, column: usize, block: EncodedBlock) -> Result<()> {
        let col = self
            .columns
            .get_mut(column)
            .ok_or_else(|| FormatError::InvalidArgument(format!("no column {column}")))?;
        let len = u32::try_from(block.bytes.len())
            .map_err(|_| FormatError::InvalidArgument("block larger than 4 GiB".into()))?;
        let rows = u32::try_from(block.rows)
            .ok()
            .filter(|&r| {
                r > 0 && r as usize <= self.opts.block_rows && u64::from(r) == block.stats.row_count
            })
            .ok_or_else(|| {
                FormatError::InvalidArgument(format!(
                    "block of {} rows (block_rows is {})",
                    block.rows, self.opts.block_rows
                ))
            })?;
        self.out.write_all(&block.bytes)?;
        col.stats.merge(&block.stats);
        let mut entry = Out::new(std::mem::take(&mut col.pending), FOOTER_LAYOUT);
        let cx = footer::BlockContext {
            prev_end: col.end.max(HEADER_LEN),
            block_rows: u32::try_from(self.opts.block_rows).unwrap_or(u32::MAX),
            cascade: self.cascades.id(&block.cascade)?,
        };
        let meta = BlockMeta {
            offset: self.offset,
            len,
            rows,
            cascade: Arc::from(block.cascade),
            stats: block.stats,
            bloom: block.bloom,
        };
        let encoded = footer::encode_block(&mut entry, &meta, cx);
        col.pending = entry.buf;
        encoded?;
        col.end = self.offset + u64::from(len);
        col.blocks += 1;
        col.bytes += u64::from(len);
        col.rows += u64::from(rows);
        self.offset += u64::from(len);
        self.maybe_spill()
    }

    /// Moves every column's pending entries to the side file once they pass the budget.
    fn maybe_spill(&mut self) -> Result<()> {
        let Some(spill) = &mut self.spill else {
            return Ok(());
        };
        let held: usize = self.columns.iter().map(|c| c.pending.len()).sum();
        if held <= spill.budget {
            return Ok(());
        }
        let file = match &mut spill.file {
            Some(f) => f,
            None => {
                let f = spill.fs.create(&spill.path)?;
                spill.created = true;
                spill.file.insert(f)
            }
        };
        for c in &mut self.columns {
            if c.pending.is_empty() {
                continue;
            }
            file.write_all(&c.pending)?;
            c.spilled.push((spill.len, c.pending.len()));
            spill.len += c.pending.len() as u64;
            c.pending.clear();
        }
        Ok(())
    }

    /// Writes one stripe: one block per column, all the same length (at most `block_rows`).
    /// Stripes are taken to arrive in row order, so the first and last rows also give the
    /// sort-key range unless [`Self::set_key_range`] was called.
    pub fn write_stripe(&mut self, columns: &[ArrayRef]) -> Result<()> {
        if columns.len() != self.schema.fields.len() {
            return Err(FormatError::SchemaMismatch(format!(
                "{} arrays for {} columns",
                columns.len(),
                self.schema.fields.len()
            )));
        }
        let rows = columns.first().map_or(0, |a| a.len());
        if columns.iter().any(|a| a.len() != rows) || rows > self.opts.block_rows {
            return Err(FormatError::InvalidArgument(format!(
                "stripe columns must have equal lengths of at most {} rows",
                self.opts.block_rows
            )));
        }
        if rows == 0 {
            return Ok(());
        }
        if self.derives() {
            let encoded = self.encode_columns(columns, &[(0, rows)], 1)?;
            for (c, mut blocks) in encoded.into_iter().enumerate() {
                let block = blocks.pop().ok_or_else(|| {
                    FormatError::InvalidArgument(format!("column {c} encoded no block"))
                })?;
                self.append_encoded(c, block)?;
            }
        } else {
            for (i, a) in columns.iter().enumerate() {
                self.write_block(i, a)?;
            }
        }
        self.note_key_range(columns)
    }

    /// Whether stripes go through derivation (the option on, the columns cut alike so far, a
    /// derivable column and another symbol or derivable one to be its key, and detection
    /// still to run or having found a column).
    fn derives(&self) -> bool {
        let fields = &self.schema.fields;
        // A derived block reads the key blocks of the same index, which must hold the same
        // rows: only while every column has as many blocks and rows (no `write_block` of
        // one column has cut them apart) is the next stripe aligned.
        let aligned = self.columns.first().is_none_or(|f| {
            self.columns
                .iter()
                .all(|c| (c.blocks, c.rows) == (f.blocks, f.rows))
        });
        self.opts.derive
            && aligned
            && (!self.derive_decided || !self.derivers.is_empty())
            && fields.iter().any(|f| derive::derivable(&f.data_type))
            && fields
                .iter()
                .filter(|f| f.data_type == DataType::Symbol || derive::derivable(&f.data_type))
                .count()
                >= 2
    }

    /// Widens the sort-key range to a stripe's first and last rows (stripes arrive in order).
    fn note_key_range(&mut self, columns: &[ArrayRef]) -> Result<()> {
        let rows = columns.first().map_or(0, |a| a.len());
        if rows == 0 {
            return Ok(());
        }
        if !self.key_range_set && !self.schema.sort_key.is_empty() {
            let key_at = |row: usize| -> Result<Vec<_>> {
                self.schema
                    .sort_key_indices()
                    .into_iter()
                    .map(|i| {
                        let f = &self.schema.fields[i];
                        let a = columns
                            .get(i)
                            .ok_or_else(|| FormatError::InvalidArgument("sort key".into()))?;
                        block::scalar_at(f, a, row)
                    })
                    .collect()
            };
            let last = key_at(rows - 1)?;
            match &mut self.key_range {
                Some(k) => k.max = last,
                None => {
                    self.key_range = Some(KeyRange {
                        min: key_at(0)?,
                        max: last,
                    });
                }
            }
        }
        Ok(())
    }

    /// Writes a batch as stripes of `block_rows` (the last may be shorter). With more than one
    /// thread ([`Self::set_threads`]) and more than one stripe, each column's blocks are encoded
    /// on a thread of their own (a column's blocks in order, as its scheme memory and symbol
    /// dictionary need), then appended stripe by stripe: the file is the same byte for byte.
    pub fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        let n = batch.num_rows();
        let step = self.opts.block_rows;
        let stripes: Vec<(usize, usize)> = (0..n)
            .step_by(step.max(1))
            .map(|s| (s, step.min(n - s)))
            .collect();
        let threads = self.threads.min(batch.num_columns());
        if (threads <= 1 || stripes.len() < 2) && !self.derives() {
            for &(start, len) in &stripes {
                let cols: Vec<ArrayRef> = batch
                    .columns()
                    .iter()
                    .map(|c| c.slice(start, len))
                    .collect();
                self.write_stripe(&cols)?;
            }
            return Ok(());
        }
        if batch.num_columns() != self.schema.fields.len() {
            return Err(FormatError::SchemaMismatch(format!(
                "{} arrays for {} columns",
                batch.num_columns(),
                self.schema.fields.len()
            )));
        }
        if stripes.is_empty() {
            return Ok(());
        }
        let encoded = self.encode_columns(batch.columns(), &stripes, threads.max(1))?;
        let mut per_column: Vec<std::vec::IntoIter<EncodedBlock>> =
            encoded.into_iter().map(Vec::into_iter).collect();
        for &(start, len) in &stripes {
            for (c, blocks) in per_column.iter_mut().enumerate() {
                let block = blocks.next().ok_or_else(|| {
                    FormatError::InvalidArgument(format!("column {c} encoded too few blocks"))
                })?;
                self.append_encoded(c, block)?;
            }
            let cols: Vec<ArrayRef> = batch
                .columns()
                .iter()
                .map(|c| c.slice(start, len))
                .collect();
            self.note_key_range(&cols)?;
        }
        Ok(())
    }

    /// Every column's blocks of `stripes` of `columns`, encoded on `threads` threads (each
    /// column's blocks in order on one thread, as its scheme memory and symbol dictionary
    /// need). With derivation on ([`Self::derives`]) and detection still to run, the symbol
    /// columns' first stripe goes first (keeping its row codes) and detection runs on it.
    /// When it found nothing, every column's remaining stripes are encoded in one pass; when
    /// a table derives, the symbol columns (keeping their row codes) and the columns that
    /// cannot be derived go first, then the derivable columns, each derived one against its
    /// table with its keys' codes.
    fn encode_columns(
        &mut self,
        columns: &[ArrayRef],
        stripes: &[(usize, usize)],
        threads: usize,
    ) -> Result<Vec<Vec<EncodedBlock>>> {
        let n = self.schema.fields.len();
        let deriving = self.derives();
        let symbol: Vec<bool> = self
            .schema
            .fields
            .iter()
            .map(|f| f.data_type == DataType::Symbol)
            .collect();
        let derivable: Vec<bool> = self
            .schema
            .fields
            .iter()
            .map(|f| derive::derivable(&f.data_type))
            .collect();
        // Per column: the blocks encoded so far (or the first error), the row codes kept per
        // stripe (symbol columns while deriving) and the first stripe still to encode.
        let mut acc: Vec<Result<Vec<EncodedBlock>>> = (0..n).map(|_| Ok(Vec::new())).collect();
        let mut codes: Vec<Option<Vec<Vec<u32>>>> = (0..n).map(|_| None).collect();
        let mut next = vec![0usize; n];
        let merge = |done: Vec<(usize, Result<ColumnBlocks>)>,
                     which: &[(usize, Range<usize>)],
                     acc: &mut Vec<Result<Vec<EncodedBlock>>>,
                     codes: &mut Vec<Option<Vec<Vec<u32>>>>| {
            let mut seen = vec![false; n];
            for (c, r) in done {
                seen[c] = true;
                match (r, &mut acc[c]) {
                    (Ok((blocks, kept)), Ok(so_far)) => {
                        so_far.extend(blocks);
                        if !kept.is_empty() {
                            codes[c].get_or_insert_with(Vec::new).extend(kept);
                        }
                    }
                    (Err(e), slot @ Ok(_)) => *slot = Err(e),
                    (_, Err(_)) => {}
                }
            }
            // A thread that panicked leaves its columns out.
            for (c, _) in which {
                if !seen[*c] && acc[*c].is_ok() {
                    acc[*c] = Err(FormatError::InvalidArgument(
                        "an encoding thread panicked".into(),
                    ));
                }
            }
        };
        let ok = |acc: &[Result<Vec<EncodedBlock>>]| acc.iter().all(Result::is_ok);
        if deriving && !self.derive_decided {
            let which: Vec<(usize, Range<usize>)> =
                (0..n).filter(|&c| symbol[c]).map(|c| (c, 0..1)).collect();
            let done = self.encode_jobs(columns, stripes, threads, &which, (true, &[]), &mut [])?;
            merge(done, &which, &mut acc, &mut codes);
            for (c, _) in &which {
                next[*c] = 1;
            }
            if !ok(&acc) {
                return acc.into_iter().collect();
            }
            self.derive_decided = true;
            self.derivers = self.detect(columns, stripes, &codes);
        }
        let remaining = |c: usize, next: &[usize]| (c, next[c]..stripes.len());
        if deriving
            && self
                .derivers
                .iter()
                .any(|d| !d.value_key && d.sum.is_none())
        {
            // Symbol keys (and the columns no table can derive) first, keeping the keys'
            // codes (a value key's values come from the batch).
            let which: Vec<(usize, Range<usize>)> = (0..n)
                .filter(|&c| symbol[c] || !derivable[c])
                .map(|c| remaining(c, &next))
                .collect();
            let done = self.encode_jobs(columns, stripes, threads, &which, (true, &[]), &mut [])?;
            merge(done, &which, &mut acc, &mut codes);
            for (c, _) in &which {
                next[*c] = stripes.len();
            }
            if !ok(&acc) {
                return acc.into_iter().collect();
            }
        }
        let which: Vec<(usize, Range<usize>)> = (0..n)
            .filter(|&c| next[c] < stripes.len())
            .map(|c| remaining(c, &next))
            .collect();
        // Codes are read, not kept, in this pass: its symbol columns are complete already
        // when a table derives, and a deriver without its keys' codes leaves a block alone.
        let mut derivers = std::mem::take(&mut self.derivers);
        let done = self.encode_jobs(
            columns,
            stripes,
            threads,
            &which,
            (false, &codes),
            &mut derivers,
        );
        self.derivers = derivers;
        merge(done?, &which, &mut acc, &mut codes);
        acc.into_iter().collect()
    }

    /// The derivable columns of the first stripe that its symbol columns determine.
    fn detect(
        &self,
        columns: &[ArrayRef],
        stripes: &[(usize, usize)],
        codes: &[Option<Vec<Vec<u32>>>],
    ) -> Vec<Deriver> {
        let Some(&(start, len)) = stripes.first() else {
            return Vec::new();
        };
        let values: Vec<(usize, bool, DerivableValues)> = self
            .schema
            .fields
            .iter()
            .zip(columns)
            .enumerate()
            .filter(|(_, (f, _))| derive::derivable(&f.data_type))
            .filter_map(|(c, (f, a))| {
                let piece = a.slice(start, len);
                let v = block::derivable_values(f, piece.as_ref()).ok()?;
                Some((c, derive::signed(&f.data_type), v))
            })
            .collect();
        let candidates: Vec<derive::Candidate<'_>> = values
            .iter()
            .map(|(c, signed, (v, valid))| derive::Candidate {
                column: *c,
                values: v,
                valid: valid.as_deref(),
                signed: *signed,
            })
            .collect();
        let keys: Vec<(usize, &[u32])> = codes
            .iter()
            .enumerate()
            .filter_map(|(c, rc)| Some((c, rc.as_ref()?.first()?.as_slice())))
            .collect();
        let mut found = derive::detect(&candidates, &keys, len);
        for d in &mut found {
            d.segment_blocks = self.opts.segment_blocks();
            let names: Vec<&str> = d
                .keys
                .iter()
                .filter_map(|&k| self.schema.fields.get(k).map(|f| f.name.as_str()))
                .collect();
            d.label = match &d.sum {
                // `derived(sched_arr_time + arr_delay)`
                Some(signs) => names.iter().zip(signs).enumerate().fold(
                    String::new(),
                    |mut l, (i, (n, &minus))| {
                        if i > 0 || minus {
                            l.push_str(if minus { " - " } else { " + " });
                        }
                        l.push_str(n);
                        l
                    },
                ),
                None => names.join(", "),
            };
        }
        found
    }

    /// Encodes the blocks of the columns `which`, each over its range of `stripes`, on up to
    /// `threads` threads; a symbol column's row codes are kept per stripe where `keep` is set,
    /// a column of `derivers` is derived against its table with its keys' `codes` (indexed by
    /// stripe).
    fn encode_jobs(
        &mut self,
        columns: &[ArrayRef],
        stripes: &[(usize, usize)],
        threads: usize,
        which: &[(usize, Range<usize>)],
        (keep_codes, codes): (bool, &[Option<Vec<Vec<u32>>>]),
        derivers: &mut [Deriver],
    ) -> Result<Vec<(usize, Result<ColumnBlocks>)>> {
        if columns.len() != self.schema.fields.len() {
            return Err(FormatError::SchemaMismatch(format!(
                "{} arrays for {} columns",
                columns.len(),
                self.schema.fields.len()
            )));
        }
        let opts = self.opts;
        let fields = &self.schema.fields;
        let first_block: Vec<usize> = self
            .columns
            .iter()
            .map(|c| usize::try_from(c.blocks).unwrap_or(usize::MAX))
            .collect();
        let mut derivers: Vec<Option<&mut Deriver>> = {
            let mut by_column: Vec<Option<&mut Deriver>> =
                (0..self.schema.fields.len()).map(|_| None).collect();
            for d in derivers.iter_mut() {
                let c = d.column;
                if let Some(slot) = by_column.get_mut(c) {
                    *slot = Some(d);
                }
            }
            by_column
        };
        // One job per column: its field, array, scheme memory, dictionary and deriver.
        let mut jobs: Vec<_> = self
            .schema
            .fields
            .iter()
            .zip(columns)
            .zip(self.columns.iter_mut().map(|c| &mut c.schemes))
            .zip(self.dictionaries.iter_mut().map(Option::as_mut))
            .zip(derivers.iter_mut().map(Option::take))
            .enumerate()
            .filter_map(|(c, ((((field, array), memory), dict), deriver))| {
                let (_, range) = which.iter().find(|(w, _)| *w == c)?;
                Some((c, range.clone(), field, array, memory, dict, deriver))
            })
            .collect();
        let encode = |(c, range, field, array, memory, mut dict, mut deriver): (
            usize,
            Range<usize>,
            &crate::schema::Field,
            &ArrayRef,
            &mut block::SchemeMemory,
            Option<&mut SymbolDictionary>,
            Option<&mut Deriver>,
        )|
         -> (usize, Result<ColumnBlocks>) {
            let mut out = Vec::with_capacity(range.len());
            let mut kept = Vec::new();
            let want_codes = keep_codes && field.data_type == DataType::Symbol;
            for (k, &(start, len)) in stripes.iter().enumerate().take(range.end).skip(range.start) {
                let piece = array.slice(start, len);
                let mut rc = Vec::new();
                // Every row's key: symbol keys from their columns' codes, a value key from
                // its column's values in the caller's batch.
                let keys: Option<(Vec<u64>, Option<Vec<bool>>)> =
                    deriver.as_deref().filter(|d| d.live()).and_then(|d| {
                        if let Some(signs) = &d.sum {
                            // A sum: every row's sum of its keys' values, as a reader adds
                            // them (a null counts 0).
                            let mut key_values = Vec::with_capacity(d.keys.len());
                            for &key in &d.keys {
                                let f = fields.get(key)?;
                                let piece = columns.get(key)?.slice(start, len);
                                let (v, valid) = block::derivable_values(f, piece.as_ref()).ok()?;
                                key_values.push((v, valid.map(arrow_buffer::BooleanBuffer::from)));
                            }
                            let codes: Vec<derive::KeyCodes<'_>> = key_values
                                .iter()
                                .map(|(v, valid)| derive::KeyCodes {
                                    codes: v,
                                    valid: valid.as_ref(),
                                })
                                .collect();
                            let mut base = vec![0u64; len];
                            derive::add_keys(&mut base, &codes, signs).ok()?;
                            return Some((base, None));
                        }
                        if d.value_key {
                            let key = *d.keys.first()?;
                            let f = fields.get(key)?;
                            let (v, valid) = block::derivable_values(
                                f,
                                columns.get(key)?.slice(start, len).as_ref(),
                            )
                            .ok()?;
                            return Some(derive::values_per_row(&v, valid, len));
                        }
                        let per_key: Option<Vec<&[u32]>> = d
                            .keys
                            .iter()
                            .map(|&key| Some(codes.get(key)?.as_ref()?.get(k)?.as_slice()))
                            .collect();
                        Some((derive::row_keys(&per_key?, len), None))
                    });
                let row_keys = keys.as_ref().map(|(k, v)| derive::RowKeys {
                    keys: k,
                    valid: v.as_deref(),
                });
                let extras = Extras {
                    codes: want_codes.then_some(&mut rc),
                    derive: deriver.as_deref_mut().zip(row_keys),
                };
                let r = block::encode_with(
                    field,
                    piece.as_ref(),
                    &opts,
                    dict.as_deref_mut(),
                    Some(&mut *memory),
                    extras,
                );
                match r {
                    Ok(b) => out.push(b),
                    Err(FormatError::Codec { source, .. }) => {
                        let block = first_block.get(c).map_or(0, |b| b + k);
                        return (
                            c,
                            Err(FormatError::Codec {
                                column: c,
                                block,
                                source,
                            }),
                        );
                    }
                    Err(e) => return (c, Err(e)),
                }
                if want_codes {
                    kept.push(rc);
                }
            }
            (c, Ok((out, kept)))
        };
        if threads <= 1 || jobs.len() < 2 {
            return Ok(jobs.into_iter().map(encode).collect());
        }
        // Largest columns first; each thread takes the next column when it is done with one
        // (columns differ in cost per byte: a float column costs several integer columns).
        jobs.sort_by_key(|j| {
            std::cmp::Reverse(j.3.get_array_memory_size() / stripes.len().max(1) * j.1.len())
        });
        let queue = std::sync::Mutex::new(jobs.into_iter());
        let mut results = Vec::new();
        std::thread::scope(|scope| {
            let (encode, queue) = (&encode, &queue);
            let handles: Vec<_> = (0..threads.min(which.len()))
                .map(|_| {
                    scope.spawn(move || {
                        let mut done = Vec::new();
                        // A poisoned queue (a thread panicked) ends this thread too.
                        while let Some(job) = queue.lock().ok().and_then(|mut q| q.next()) {
                            done.push(encode(job));
                        }
                        done
                    })
                })
                .collect();
            for h in handles {
                // A thread that panicked leaves its columns out: reported by the caller.
                if let Ok(done) = h.join() {
                    results.extend(done);
                }
            }
        });
        Ok(results)
    }

    /// Records the sort-key range explicitly (overrides the one derived from stripes).
    pub fn set_key_range(&mut self, range: KeyRange) {
        self.key_range = Some(range);
        self.key_range_set = true;
    }

    /// Adds a user metadata entry.
    pub fn set_metadata(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.metadata.insert(key.into(), value.into());
    }

    /// Writes the footer and tail and returns the sink (not synced: the caller decides) and a
    /// summary. Fails if the columns hold different numbers of rows. The footer is streamed
    /// to the sink piece by piece (spilled index entries are read back one chunk at a time), so
    /// finishing allocates no more than writing did.
    pub fn finish(mut self) -> Result<(W, WrittenSegment)> {
        let row_count = self.columns.first().map_or(0, |c| c.rows);
        if self.columns.iter().any(|c| c.rows != row_count) {
            let rows: Vec<u64> = self.columns.iter().map(|c| c.rows).collect();
            return Err(FormatError::SchemaMismatch(format!(
                "columns hold different row counts: {rows:?}"
            )));
        }
        let spilled = match &mut self.spill {
            Some(IndexSpill {
                fs,
                path,
                file: Some(f),
                ..
            }) => {
                f.flush()?;
                Some(fs.open_read(path)?)
            }
            _ => None,
        };
        let block_rows = u32::try_from(self.opts.block_rows).unwrap_or(u32::MAX);
        let dictionaries = std::mem::take(&mut self.dictionaries);
        let key_range = self.key_range.take();
        let mut sink = FooterSink {
            out: &mut self.out,
            crc: 0,
            len: 0,
        };
        let mut o = Out::new(Vec::with_capacity(256), FOOTER_LAYOUT);
        footer::encode_prefix(&mut o, row_count, block_rows, &self.schema)?;
        let mut columns = Vec::with_capacity(self.columns.len());
        for (c, d) in self.columns.iter_mut().zip(dictionaries) {
            if c.blocks == 0 {
                c.stats = ColumnStats::default();
            }
            o.len(usize::try_from(c.blocks).unwrap_or(usize::MAX))?;
            sink.put(&o.buf)?;
            o.buf.clear();
            for &(at, len) in &c.spilled {
                let file = spilled.as_ref().ok_or_else(|| {
                    FormatError::InvalidArgument("block index spill file missing".into())
                })?;
                // Small reads, so finishing holds no more than a few KiB of the spilled index.
                let mut done = 0;
                while done < len {
                    let n = (len - done).min(SPILL_READ);
                    sink.put(&file.read_at(at + done as u64, n)?)?;
                    done += n;
                }
            }
            sink.put(&c.pending)?;
            c.pending = Vec::new();
            let values = d.map(SymbolDictionary::into_values);
            footer::encode_column_tail(&mut o, &c.stats, values.as_deref(), self.opts.zstd_level)?;
            columns.push(WrittenColumn {
                blocks: c.blocks,
                bytes: c.bytes,
                stats: std::mem::take(&mut c.stats),
            });
        }
        let derived: Vec<derive::Derivation> = std::mem::take(&mut self.derivers)
            .into_iter()
            .filter_map(Deriver::finish)
            .collect();
        footer::encode_suffix(
            &mut o,
            key_range.as_ref(),
            &self.metadata,
            &self.cascades.names,
            &derived,
        )?;
        sink.put(&o.buf)?;
        let (crc, footer_len) = (sink.crc, sink.len);
        let mut tail = Vec::with_capacity(TAIL_LEN as usize);
        tail.extend_from_slice(&footer_len.to_le_bytes());
        tail.extend_from_slice(&CURRENT_VERSION.major.to_le_bytes());
        tail.extend_from_slice(&CURRENT_VERSION.minor.to_le_bytes());
        let crc = crc32c::crc32c_append(crc, &tail);
        tail.extend_from_slice(&crc.to_le_bytes());
        tail.extend_from_slice(&TAIL_MAGIC);
        self.out.write_all(&tail)?;
        drop(spilled);
        if let Some(s) = &mut self.spill {
            s.remove()?;
        }
        let summary = WrittenSegment {
            row_count,
            columns,
            key_range,
            footer_len,
        };
        Ok((self.out, summary))
    }
}

/// Writes a whole segment to bytes (convenience for tests, tools and small segments).
pub fn write_segment_bytes(
    schema: Schema,
    batches: &[RecordBatch],
    opts: BlockOptions,
) -> Result<Vec<u8>> {
    let mut w = SegmentFileWriter::new(Vec::new(), schema, opts)?;
    for b in batches {
        w.write_batch(b)?;
    }
    Ok(w.finish()?.0)
}

/// Bytes at the end of a segment [`Segment::open`] asks for first: the tail and, for all but
/// very wide segments, the whole footer.
pub const SEGMENT_OPEN_SUFFIX: u64 = 64 * 1024;

/// An open segment: its footer in memory, its blocks read on demand with positional reads.
#[derive(Debug, Clone)]
pub struct Segment {
    file: Arc<dyn ReadAt>,
    /// The file it was opened from, for errors to name ([`Self::path`]).
    path: Option<Arc<Path>>,
    footer: Arc<Footer>,
    version: FormatVersion,
    footer_offset: u64,
    symbol_as: SymbolAs,
    dictionaries: Vec<Option<ArrayRef>>,
    /// Per column, the first row of each block and then the row count; columns cut at the
    /// same rows share one list ([`Self::block_starts`]).
    block_starts: Vec<Arc<[u64]>>,
    /// Per column, the lookup of its derivation table (format 3.5), if it has one.
    lookups: Vec<Option<Arc<Lookup>>>,
    /// Where each block lies, column after column: column `c`'s blocks are
    /// `spans[span_starts[c]..span_starts[c + 1]]`. The footer's block entries are large
    /// (statistics, blooms) and each column's lie apart; a scan of many small segments finds
    /// its blocks here, in a few cache lines a segment ([`Self::block_range`]).
    spans: Arc<[BlockSpan]>,
    span_starts: Arc<[u32]>,
    /// The columns' names and types in compact tables ([`Self::index_of_near`]), shared with
    /// the segment opened before when they are the same ([`Self::same_columns_as`]).
    columns: Arc<Columns>,
    /// The file's length.
    file_len: u64,
    /// For a file held in memory ([`ReadAt::held`]): bit `i` set when block `spans[i]`'s CRC
    /// was found right at open, while its bytes were fresh from the read; it is not computed
    /// again at every read of the block. A block whose CRC failed is checked (and fails) at
    /// its read, as in a file read in place.
    crc_held: Option<Arc<[u64]>>,
}

/// A step of [`Segment::prefetch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefetch {
    /// The handle's own fields (nothing of the segment is read).
    Handle,
    /// Its block tables, read from its fields (brought by [`Prefetch::Handle`]).
    Tables,
    /// The blocks of the columns asked for, of a file held in memory, found in the tables
    /// (brought by [`Prefetch::Tables`]); nothing for a file read in place.
    Blocks,
}

/// Where a block lies and how many rows it holds (from its footer entry).
#[derive(Debug, Clone, Copy)]
struct BlockSpan {
    offset: u64,
    len: u32,
    rows: u32,
}

/// The bits of [`Segment::crc_held`]: one a span, set when the span's bytes in `file` end
/// with their CRC32C.
fn crc_held(file: &dyn ReadAt, spans: &[BlockSpan]) -> Arc<[u64]> {
    let mut bits = vec![0u64; spans.len().div_ceil(64)];
    for (i, s) in spans.iter().enumerate() {
        let ok = file
            .read_at(s.offset, s.len as usize)
            .is_ok_and(|b| decode::crc_ok(&b));
        if let (true, Some(w)) = (ok, bits.get_mut(i / 64)) {
            *w |= 1 << (i % 64);
        }
    }
    bits.into()
}

/// Every column's block spans, column after column, and where each column's spans begin.
type Spans = (Arc<[BlockSpan]>, Arc<[u32]>);

/// The block spans of every column, column after column, and where each column's start
/// (the segment's `spans` and `span_starts`); `None` past 2^32 blocks.
fn spans_of(footer: &Footer) -> Option<Spans> {
    let mut spans = Vec::with_capacity(footer.columns.iter().map(|c| c.blocks.len()).sum());
    let mut starts = Vec::with_capacity(footer.columns.len() + 1);
    for c in &footer.columns {
        starts.push(u32::try_from(spans.len()).ok()?);
        spans.extend(c.blocks.iter().map(|b| BlockSpan {
            offset: b.offset,
            len: b.len,
            rows: b.rows,
        }));
    }
    starts.push(u32::try_from(spans.len()).ok()?);
    Some((spans.into(), starts.into()))
}

/// The schema's field names back to back, where each ends, and their types (the segment's
/// [`Columns`]); `None` past 2^32 bytes of names.
fn names_of(schema: &Schema) -> Option<Columns> {
    let mut names = String::with_capacity(schema.fields.iter().map(|f| f.name.len()).sum());
    let mut ends = Vec::with_capacity(schema.fields.len());
    for f in &schema.fields {
        names.push_str(&f.name);
        ends.push(u32::try_from(names.len()).ok()?);
    }
    let types = schema.fields.iter().map(|f| f.data_type.clone()).collect();
    Some(Columns { names, ends, types })
}

/// A segment's column names back to back (field `i`'s ending at `ends[i]`) and types: one
/// compact table instead of a string of its own a field.
#[derive(Debug, PartialEq)]
struct Columns {
    names: String,
    ends: Vec<u32>,
    types: Vec<DataType>,
}

/// `columns` as an `Arc`: the one of the segment opened last when that is still open and
/// equal. The segments of a table mostly have the same columns; a scan of many of them then
/// finds its columns once ([`Segment::same_columns_as`]), and they are held once.
fn shared_columns(columns: Columns) -> Arc<Columns> {
    static LAST: std::sync::Mutex<std::sync::Weak<Columns>> =
        std::sync::Mutex::new(std::sync::Weak::new());
    let mut last = LAST
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(l) = last.upgrade()
        && *l == columns
    {
        return l;
    }
    let c = Arc::new(columns);
    *last = Arc::downgrade(&c);
    c
}

/// The first row of each block of every column, then the row count; a column cut at the same
/// rows as the one before it (or as the first) shares that column's list.
fn block_starts_of(footer: &Footer) -> Vec<Arc<[u64]>> {
    let mut out: Vec<Arc<[u64]>> = Vec::with_capacity(footer.columns.len());
    for c in &footer.columns {
        let same = |s: &Arc<[u64]>| {
            s.len() == c.blocks.len() + 1
                && c.blocks
                    .iter()
                    .zip(s.windows(2))
                    .all(|(b, w)| w[1] - w[0] == u64::from(b.rows))
        };
        let shared = out
            .last()
            .filter(|s| same(s))
            .or_else(|| out.first().filter(|s| same(s)))
            .cloned();
        out.push(shared.unwrap_or_else(|| {
            let mut at = 0u64;
            let mut starts = Vec::with_capacity(c.blocks.len() + 1);
            for b in &c.blocks {
                starts.push(at);
                at = at.saturating_add(u64::from(b.rows));
            }
            starts.push(at);
            starts.into()
        }));
    }
    out
}

fn read_exact(file: &dyn ReadAt, offset: u64, len: u64, what: &str) -> Result<Bytes> {
    let end = offset.checked_add(len).filter(|&e| e <= file.len());
    let len = usize::try_from(len)
        .ok()
        .filter(|_| end.is_some())
        .ok_or_else(|| {
            FormatError::corrupt(
                what,
                offset,
                format!("{len} bytes past the end of a {}-byte file", file.len()),
            )
        })?;
    file.read_at(offset, len)
}

impl Segment {
    /// Opens the segment at `path` through `fs`; the segment remembers `path` ([`Self::path`]).
    /// The file is opened with [`FileSystem::open_read_suffix`] of [`SEGMENT_OPEN_SUFFIX`] bytes: on an
    /// object store, a segment up to that size opens in one request and a larger one in two
    /// (its suffix, then the header) when the footer fits in the suffix.
    pub fn open(fs: &dyn FileSystem, path: &Path) -> Result<Self> {
        let mut segment = Self::from_reader(fs.open_read_suffix(path, SEGMENT_OPEN_SUFFIX)?)?;
        segment.path = Some(Arc::from(path));
        Ok(segment)
    }

    /// Opens a segment held in memory.
    pub fn from_bytes(bytes: Bytes) -> Result<Self> {
        Self::from_reader(Arc::new(bytes))
    }

    /// Opens a segment from any positional reader: reads the tail, the footer and the header
    /// (three reads), checks magics, versions, reserved bytes and the footer's CRC32C.
    pub fn from_reader(file: Arc<dyn ReadAt>) -> Result<Self> {
        let len = file.len();
        if len < HEADER_LEN + TAIL_LEN {
            return Err(FormatError::corrupt(
                "file",
                0,
                format!("{len} bytes is too short for a segment"),
            ));
        }
        let tail_at = len - TAIL_LEN;
        let tail = read_exact(file.as_ref(), tail_at, TAIL_LEN, "tail")?;
        let (fixed, rest) = tail.split_at(12);
        let (crc, magic) = rest.split_at(4);
        if magic != TAIL_MAGIC {
            return Err(FormatError::BadMagic { what: "tail" });
        }
        let le16 = |b: &[u8]| {
            b.first()
                .zip(b.get(1))
                .map_or(0, |(x, y)| u16::from_le_bytes([*x, *y]))
        };
        let version = FormatVersion {
            major: le16(fixed.get(8..10).unwrap_or_default()),
            minor: le16(fixed.get(10..12).unwrap_or_default()),
        };
        // Versions 1, 2 and 3 (their footer layouts differ); any other is refused here.
        footer::layout_of(version)?;
        let mut fl = [0u8; 8];
        fl.copy_from_slice(fixed.get(..8).unwrap_or(&[0; 8]));
        let footer_len = u64::from_le_bytes(fl);
        if footer_len > tail_at - HEADER_LEN {
            return Err(FormatError::corrupt(
                "tail",
                tail_at,
                format!("footer length {footer_len} exceeds the file"),
            ));
        }
        let footer_offset = tail_at - footer_len;
        let footer_bytes = read_exact(file.as_ref(), footer_offset, footer_len, "footer")?;
        let mut stored = [0u8; 4];
        stored.copy_from_slice(crc);
        if crc32c::crc32c_append(crc32c::crc32c(&footer_bytes), fixed) != u32::from_le_bytes(stored)
        {
            return Err(FormatError::ChecksumMismatch {
                what: "footer".into(),
                offset: footer_offset,
            });
        }
        let header = read_exact(file.as_ref(), 0, HEADER_LEN, "header")?;
        if header.get(..8) != Some(&HEADER_MAGIC[..]) {
            return Err(FormatError::BadMagic { what: "header" });
        }
        if header[..] != header_bytes(version)[..] {
            return Err(FormatError::corrupt(
                "header",
                8,
                "version or reserved bytes disagree with the tail",
            ));
        }
        let footer = Footer::decode_version(&footer_bytes, footer_offset, version)?;
        let dictionaries = footer
            .columns
            .iter()
            .map(|c| {
                c.dictionary
                    .as_deref()
                    .map(block::dictionary_array)
                    .transpose()
            })
            .collect::<Result<Vec<_>>>()?;
        let block_starts = block_starts_of(&footer);
        let too_large = || {
            FormatError::corrupt(
                "footer",
                footer_offset,
                "more than 2^32 blocks or bytes of column names",
            )
        };
        let (spans, span_starts) = spans_of(&footer).ok_or_else(too_large)?;
        let crc_held = file.held().then(|| crc_held(file.as_ref(), &spans));
        let columns = shared_columns(names_of(&footer.schema).ok_or_else(too_large)?);
        let mut lookups: Vec<Option<Arc<Lookup>>> = vec![None; footer.columns.len()];
        if !footer.derived.is_empty() {
            let dict_len: Vec<Option<usize>> = footer
                .columns
                .iter()
                .map(|c| c.dictionary.as_ref().map(Vec::len))
                .collect();
            for d in &footer.derived {
                let l = Lookup::new(d, &dict_len).map_err(|e| {
                    FormatError::corrupt(
                        "footer",
                        footer_offset,
                        format!("derivation table of column {}: {e}", d.column),
                    )
                })?;
                if let Some(slot) = lookups.get_mut(d.column) {
                    *slot = Some(Arc::new(l));
                }
            }
        }
        Ok(Self {
            file,
            path: None,
            footer: Arc::new(footer),
            version,
            footer_offset,
            symbol_as: SymbolAs::Dictionary,
            dictionaries,
            block_starts,
            lookups,
            spans,
            span_starts,
            columns,
            file_len: len,
            crc_held,
        })
    }

    /// Presents symbol columns as `symbol_as` (default: Arrow dictionaries).
    pub fn with_symbol_as(mut self, symbol_as: SymbolAs) -> Self {
        self.symbol_as = symbol_as;
        self
    }

    /// The file the segment was opened from ([`Self::open`]); `None` for one opened from bytes
    /// or a reader. Block errors ([`FormatError::ChecksumMismatch`], …) say where in the file
    /// they are; callers reading several segments name the file with this.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The footer.
    pub fn footer(&self) -> &Footer {
        &self.footer
    }

    /// The symbol dictionary of column `column` as a `Utf8` array indexed by code: the values
    /// array of every dictionary block [`Self::read_block`] returns for it (`None` for other
    /// columns).
    pub fn dictionary(&self, column: usize) -> Option<&ArrayRef> {
        self.dictionaries.get(column)?.as_ref()
    }

    /// The symbol-column presentation in use.
    pub fn symbol_as(&self) -> SymbolAs {
        self.symbol_as
    }

    /// The schema.
    pub fn schema(&self) -> &Schema {
        &self.footer.schema
    }

    /// The Arrow schema of [`Self::read_all`].
    pub fn arrow_schema(&self) -> SchemaRef {
        Arc::new(self.footer.schema.to_arrow(self.symbol_as))
    }

    /// The format version the file was written with.
    pub fn version(&self) -> FormatVersion {
        self.version
    }

    /// File offset of the footer (= end of the data region).
    pub fn footer_offset(&self) -> u64 {
        self.footer_offset
    }

    /// Rows in the segment.
    pub fn num_rows(&self) -> u64 {
        self.footer.row_count
    }

    /// Columns in the segment.
    pub fn num_columns(&self) -> usize {
        self.footer.columns.len()
    }

    /// Blocks of column `column` (0 for an unknown column).
    pub fn num_blocks(&self, column: usize) -> usize {
        self.footer
            .columns
            .get(column)
            .map_or(0, |c| c.blocks.len())
    }

    /// The first row of each block of column `column`, then the segment's row count (so block
    /// `b` holds rows `starts[b]..starts[b + 1]`). Columns cut at the same rows share one list
    /// (`Arc::ptr_eq`). `None` for an unknown column.
    pub fn block_starts(&self, column: usize) -> Option<&Arc<[u64]>> {
        self.block_starts.get(column)
    }

    /// The block starts shared by every column (see [`Self::block_starts`]) when all are cut
    /// at the same rows, so that block `b` of every column makes stripe `b`; `None` otherwise
    /// or without columns.
    pub fn stripe_starts(&self) -> Option<&[u64]> {
        let first = self.block_starts.first()?;
        self.block_starts
            .iter()
            .all(|s| Arc::ptr_eq(s, first))
            .then_some(&first[..])
    }

    /// Whether the file prefers few large requests to many small ones (on an object store):
    /// a scan then reads the blocks of a stripe together ([`Segment::read_blocks`]).
    pub fn prefers_few_requests(&self) -> bool {
        self.file.prefers_few_requests()
    }

    /// Where block `block` of column `column` lies and its rows (its footer entry's).
    fn span(&self, column: usize, block: usize) -> Result<BlockSpan> {
        self.span_at(column, block).map(|(_, s)| s)
    }

    /// [`Self::span`] with its index in `spans`.
    fn span_at(&self, column: usize, block: usize) -> Result<(usize, BlockSpan)> {
        let first = self.span_starts.get(column).copied();
        let end = column
            .checked_add(1)
            .and_then(|c| self.span_starts.get(c))
            .copied();
        first
            .zip(end)
            .and_then(|(first, end)| {
                let i = usize::try_from(first).ok()?.checked_add(block)?;
                (i < usize::try_from(end).ok()?).then_some(i)
            })
            .and_then(|i| Some((i, self.spans.get(i).copied()?)))
            .ok_or_else(|| {
                FormatError::InvalidArgument(format!("column {column} has no block {block}"))
            })
    }

    /// Bytes of block `block` of column `column` (its CRC32C included) as the footer gives
    /// them; `None` for a block the column does not have.
    pub fn block_len(&self, column: usize, block: usize) -> Option<u64> {
        self.span(column, block).ok().map(|s| u64::from(s.len))
    }

    /// The byte range of block `block` of column `column`, checked against the file.
    fn block_range(&self, column: usize, block: usize) -> Result<std::ops::Range<u64>> {
        let b = self.span(column, block)?;
        let end = b
            .offset
            .checked_add(u64::from(b.len))
            .filter(|&e| e <= self.file_len)
            .ok_or_else(|| {
                FormatError::corrupt(
                    format!("column {column} block {block}"),
                    b.offset,
                    format!("past the end of a {}-byte file", self.file_len),
                )
            })?;
        Ok(b.offset..end)
    }

    /// Brings the blocks of `columns` of a file held in memory ([`ReadAt::held`]) into the
    /// processor's caches, reading them front to back, one load a cache line, before a scan
    /// decodes them: blocks read in decoding order touch each line first in an order the
    /// hardware does not foresee (several columns' blocks of a few hundred bytes each), and a
    /// scan of many small segments waited on memory at each one. Does nothing for a file read
    /// in place, whose reads copy the bytes anyway.
    pub fn warm(&self, columns: impl IntoIterator<Item = usize>) {
        if self.crc_held.is_none() {
            return;
        }
        let Some((lo, len)) = self.byte_range(columns) else {
            return;
        };
        if let Ok(bytes) = self.file.read_at(lo, len) {
            let sum = bytes.iter().step_by(64).fold(0u8, |a, &b| a ^ b);
            std::hint::black_box(sum);
        }
    }

    /// Asks the processor to start bringing what a scan will touch of this segment into its
    /// caches, without waiting for it, in three steps ([`Prefetch`]) a scan of many small
    /// segments takes for segments further and further ahead while it decodes one. Each step
    /// reads only what the one before brought. A segment's tables and blocks have otherwise
    /// left the caches since the scan before, and are waited for one miss after another at
    /// their first use.
    pub fn prefetch(&self, stage: Prefetch, columns: impl IntoIterator<Item = usize>) {
        match stage {
            Prefetch::Handle => prefetch_slice(std::slice::from_ref(self)),
            Prefetch::Tables => {
                prefetch_slice(&self.spans);
                prefetch_slice(&self.span_starts);
                prefetch_slice(&self.block_starts);
                prefetch_slice(&self.dictionaries);
                prefetch_slice(&self.lookups);
                if let Some(held) = &self.crc_held {
                    prefetch_slice(held);
                }
            }
            Prefetch::Blocks => {
                if self.crc_held.is_none() {
                    return;
                }
                if let Some((lo, len)) = self.byte_range(columns)
                    && let Ok(bytes) = self.file.read_at(lo, len)
                {
                    prefetch_slice(&bytes);
                }
            }
        }
    }

    /// The smallest range of the file holding every block of `columns`: offset and length.
    fn byte_range(&self, columns: impl IntoIterator<Item = usize>) -> Option<(u64, usize)> {
        let (mut lo, mut hi) = (u64::MAX, 0u64);
        for c in columns {
            let (Some(&first), Some(&end)) = (
                self.span_starts.get(c),
                c.checked_add(1).and_then(|e| self.span_starts.get(e)),
            ) else {
                continue;
            };
            for s in self
                .spans
                .get(first as usize..end as usize)
                .unwrap_or_default()
            {
                lo = lo.min(s.offset);
                hi = hi.max(s.offset.saturating_add(u64::from(s.len)));
            }
        }
        let len = hi.checked_sub(lo).and_then(|l| usize::try_from(l).ok())?;
        Some((lo, len))
    }

    /// Index of the column called `name` ([`Schema::index_of`]), trying column `hint` first: a
    /// column usually sits at the same position in every segment of a table, so a scan of many
    /// small segments finds each column with one comparison against a compact table of names,
    /// without following a string of its own per field.
    pub fn index_of_near(&self, name: &str, hint: usize) -> Option<usize> {
        let Columns { names, ends, .. } = &*self.columns;
        let name_at = |i: usize| {
            let end = usize::try_from(*ends.get(i)?).ok()?;
            let start = match i.checked_sub(1) {
                None => 0,
                Some(p) => usize::try_from(*ends.get(p)?).ok()?,
            };
            names.get(start..end)
        };
        if name_at(hint) == Some(name) {
            return Some(hint);
        }
        (0..ends.len()).find(|&i| name_at(i) == Some(name))
    }

    /// Whether `other` has the same column names and types in the same order: what was
    /// resolved against one segment's columns by name and type then holds for the other. A
    /// pointer comparison when the two were opened one after the other (they share their
    /// tables), else a comparison of the compact tables, not of the schemas' fields.
    pub fn same_columns_as(&self, other: &Segment) -> bool {
        Arc::ptr_eq(&self.columns, &other.columns) || self.columns == other.columns
    }

    /// Reads the bytes of several blocks (`(column, block)` pairs) with one
    /// [`ReadAt::read_ranges`] call: the blocks of one stripe lie side by side, so an object
    /// store fetches them in one request. On a local file, when the blocks cover at least half
    /// of the span between the first and the last, the span is read whole, in one request, and
    /// the blocks are slices of it.
    fn read_block_bytes(&self, wanted: &[(usize, usize)]) -> Result<Vec<Bytes>> {
        // Sized up front: collected through a `Result`, a vector grows from four (three
        // reallocations a stripe of a 19-column table, a cost in scans of many small segments).
        let mut ranges = Vec::with_capacity(wanted.len());
        for &(c, b) in wanted {
            ranges.push(self.block_range(c, b)?);
        }
        let (Some(lo), Some(hi)) = (
            ranges.iter().map(|r| r.start).min(),
            ranges.iter().map(|r| r.end).max(),
        ) else {
            return Ok(Vec::new());
        };
        let wanted_bytes: u64 = ranges.iter().map(|r| r.end - r.start).sum();
        // (An object store's `read_ranges` already merges near ranges into few requests.)
        if ranges.len() > 1
            && !self.file.prefers_few_requests()
            && wanted_bytes.saturating_mul(2) >= hi - lo
        {
            let span = read_exact(self.file.as_ref(), lo, hi - lo, "blocks")?;
            let mut out = Vec::with_capacity(ranges.len());
            for r in &ranges {
                let (a, b) = ((r.start - lo) as usize, (r.end - lo) as usize);
                if b > span.len() {
                    return Err(FormatError::corrupt("blocks", r.start, "short read"));
                }
                out.push(span.slice(a..b));
            }
            return Ok(out);
        }
        self.file.read_ranges(&ranges)
    }

    /// Reads and checks several blocks (`(column, block)` pairs) in one request
    /// ([`Self::read_blocks`]), without building arrays: append their rows to a
    /// [`Self::sink`]. A derived block keeps the same stripe's key blocks (read along when
    /// not asked for) and makes its values when first appended.
    pub fn decode_blocks(&self, wanted: &[(usize, usize)]) -> Result<Vec<Arc<DecodedBlock>>> {
        // A derived column's block needs the same stripe's blocks of its keys: read along.
        let mut all = wanted.to_vec();
        for &(column, block) in wanted {
            if let Some(l) = self.lookups.get(column).and_then(Option::as_ref) {
                for &k in &l.keys {
                    if !all.contains(&(k, block)) {
                        all.push((k, block));
                    }
                }
            }
        }
        let bytes = self.read_block_bytes(&all)?;
        let mut out = Vec::with_capacity(all.len());
        for (&(column, block), b) in all.iter().zip(bytes) {
            out.push(Arc::new(self.decode_raw(column, block, &b)?));
        }
        for (i, &(column, block)) in wanted.iter().enumerate() {
            if !out[i].is_derived() {
                continue;
            }
            let keys = self.key_blocks(column, block, |k| {
                Ok(all
                    .iter()
                    .position(|&x| x == (k, block))
                    .and_then(|j| out.get(j))
                    .map(Arc::clone))
            })?;
            self.defer_derived(column, &mut out[i], keys)?;
        }
        out.truncate(wanted.len());
        Ok(out)
    }

    /// The key blocks of derived block `block` of `column`, in its lookup's key order
    /// (`key_block(k)`: key column `k`'s block of the same stripe, `None` when not read).
    fn key_blocks(
        &self,
        column: usize,
        block: usize,
        mut key_block: impl FnMut(usize) -> Result<Option<Arc<DecodedBlock>>>,
    ) -> Result<Vec<Arc<DecodedBlock>>> {
        self.lookup_of(column, block)?
            .keys
            .iter()
            .map(|&k| {
                key_block(k)?
                    .filter(|kb| kb.pos().block == block)
                    .ok_or_else(|| {
                        FormatError::InvalidArgument(format!(
                            "block {block} of key column {k} of column {column} not read"
                        ))
                    })
            })
            .collect()
    }

    /// Hands derived block `d` of `column` its lookup and its key blocks (see
    /// [`Self::key_blocks`]), from which it makes its values when first used.
    fn defer_derived(
        &self,
        column: usize,
        d: &mut Arc<DecodedBlock>,
        keys: Vec<Arc<DecodedBlock>>,
    ) -> Result<()> {
        self.check_derived_cut(column, d)?;
        let lookup = self.lookup_of(column, d.pos().block)?;
        // A derived block is never a key, so a fresh one has no other handle.
        match Arc::get_mut(d) {
            Some(m) => m.defer_derivation(Arc::clone(lookup), keys),
            None => {
                let keys: Vec<&DecodedBlock> = keys.iter().map(Arc::as_ref).collect();
                d.derive_from(lookup, &keys)
            }
        }
    }

    /// The lookup of a column a derived block belongs to; `Corrupt` when it has none.
    fn lookup_of(&self, column: usize, block: usize) -> Result<&Arc<Lookup>> {
        self.lookups
            .get(column)
            .and_then(Option::as_ref)
            .ok_or_else(|| {
                let offset = self
                    .footer
                    .columns
                    .get(column)
                    .and_then(|c| c.blocks.get(block))
                    .map_or(0, |b| b.offset);
                FormatError::corrupt(
                    format!("column {column} block {block}"),
                    offset,
                    "derived block in a column without a derivation table",
                )
            })
    }

    /// `Corrupt` unless derived block `d` of `column` starts where the same-index blocks of
    /// its key columns do.
    fn check_derived_cut(&self, column: usize, d: &DecodedBlock) -> Result<()> {
        let pos = d.pos();
        let lookup = self.lookup_of(column, pos.block)?;
        let start = |c: usize| self.block_starts.get(c).and_then(|s| s.get(pos.block));
        if lookup.keys.iter().any(|&k| start(k) != start(column)) {
            return Err(FormatError::corrupt(
                format!("column {column} block {}", pos.block),
                pos.offset,
                "derived block not cut where its key columns' blocks are",
            ));
        }
        Ok(())
    }

    /// An empty array builder for column `column`, with room for `capacity` rows: append
    /// rows of its [`DecodedBlock`]s, then `finish`.
    pub fn sink(&self, column: usize, capacity: usize) -> Result<ColumnSink> {
        let field = self
            .footer
            .schema
            .fields
            .get(column)
            .ok_or_else(|| FormatError::InvalidArgument(format!("no column {column}")))?;
        let dict = self.dictionaries.get(column).and_then(Option::as_ref);
        Ok(ColumnSink::new(field, dict, self.symbol_as, capacity))
    }

    /// Reads and decodes several blocks (`(column, block)` pairs) with one
    /// [`ReadAt::read_ranges`] call: the blocks of one stripe lie side by side, so an object
    /// store fetches them in one request.
    pub fn read_blocks(&self, wanted: &[(usize, usize)]) -> Result<Vec<ArrayRef>> {
        let decoded = self.decode_blocks(wanted)?;
        wanted
            .iter()
            .zip(decoded)
            .map(|(&(column, _), d)| {
                let mut sink = self.sink(column, d.rows())?;
                sink.append(&d, 0..d.rows(), None)?;
                sink.finish()
            })
            .collect()
    }

    /// Reads and decodes one block: one positional read plus the CRC check.
    pub fn read_block(&self, column: usize, block: usize) -> Result<ArrayRef> {
        if self.lookups.get(column).is_some_and(Option::is_some) {
            return self.read_blocks(&[(column, block)])?.pop().ok_or_else(|| {
                FormatError::InvalidArgument(format!("column {column} has no block {block}"))
            });
        }
        let r = self.block_range(column, block)?;
        let what = format!("column {column} block {block}");
        let bytes = read_exact(self.file.as_ref(), r.start, r.end - r.start, &what)?;
        let d = self.decode_raw(column, block, &bytes)?;
        let mut sink = self.sink(column, d.rows())?;
        sink.append(&d, 0..d.rows(), None)?;
        sink.finish()
    }

    fn decode_raw(&self, column: usize, block: usize, bytes: &Bytes) -> Result<DecodedBlock> {
        let field = self
            .footer
            .schema
            .fields
            .get(column)
            .ok_or_else(|| FormatError::InvalidArgument(format!("no column {column}")))?;
        let (i, b) = self.span_at(column, block)?;
        let dict = self.dictionaries.get(column).and_then(Option::as_ref);
        let pos = BlockPos {
            column,
            block,
            offset: b.offset,
        };
        // The bytes are the held file's own (a slice of the span read at open) when their
        // length is the span's; the bit then stands for them.
        let held = bytes.len() == b.len as usize
            && self
                .crc_held
                .as_ref()
                .and_then(|bits| bits.get(i / 64))
                .is_some_and(|w| w >> (i % 64) & 1 == 1);
        DecodedBlock::decode_checked(field, bytes, b.rows as usize, dict, pos, held)
    }

    /// Reads a whole column.
    pub fn read_column(&self, column: usize) -> Result<ArrayRef> {
        let mut v = self.read_columns_with(&[column], 1)?;
        v.pop()
            .ok_or_else(|| FormatError::InvalidArgument(format!("no column {column}")))
    }

    /// Reads some columns, in the order given, as a batch: the projection's blocks in one
    /// request when they make up most of their span (see [`Self::decode_blocks`]), each column
    /// decoded straight into its output buffers, columns decoded on all available cores.
    pub fn read_columns(&self, columns: &[usize]) -> Result<RecordBatch> {
        self.read_columns_threads(columns, available_threads())
    }

    /// [`Self::read_columns`] on at most `threads` threads (1: on the caller's thread only).
    pub fn read_columns_threads(&self, columns: &[usize], threads: usize) -> Result<RecordBatch> {
        let schema = Arc::new(self.footer.schema.project_arrow(columns, self.symbol_as)?);
        let arrays = self.read_columns_with(columns, threads)?;
        let rows = usize::try_from(self.footer.row_count)
            .map_err(|_| FormatError::InvalidArgument("segment too large for memory".into()))?;
        let opts = RecordBatchOptions::new().with_row_count(Some(rows));
        Ok(RecordBatch::try_new_with_options(schema, arrays, &opts)?)
    }

    /// The arrays of `columns`, decoded on up to `threads` threads.
    fn read_columns_with(&self, columns: &[usize], threads: usize) -> Result<Vec<ArrayRef>> {
        let mut wanted = Vec::new();
        for &c in columns {
            if c >= self.num_columns() {
                return Err(FormatError::InvalidArgument(format!("no column {c}")));
            }
            wanted.extend((0..self.num_blocks(c)).map(|b| (c, b)));
        }
        // Key columns of derived columns that are not read themselves come along.
        let mut read: Vec<usize> = columns.to_vec();
        for &c in columns {
            if let Some(l) = self.lookups.get(c).and_then(Option::as_ref) {
                for &k in &l.keys {
                    if !read.contains(&k) {
                        read.push(k);
                        wanted.extend((0..self.num_blocks(k)).map(|b| (k, b)));
                    }
                }
            }
        }
        let bytes = self.read_block_bytes(&wanted)?;
        let mut per_column: Vec<Vec<(usize, Bytes)>> = vec![Vec::new(); read.len()];
        let mut it = wanted.iter().zip(bytes);
        for (slot, &c) in per_column.iter_mut().zip(&read) {
            for _ in 0..self.num_blocks(c) {
                if let Some((&(_, b), bytes)) = it.next() {
                    slot.push((b, bytes));
                }
            }
        }
        let rows = usize::try_from(self.footer.row_count)
            .map_err(|_| FormatError::InvalidArgument("segment too large for memory".into()))?;
        // A key column's blocks are decoded once, whichever column (its own, or one derived
        // from it, on any thread) needs them first, and kept with their values for the rest.
        let is_key: Vec<bool> = read
            .iter()
            .map(|k| {
                columns.iter().any(|&c| {
                    self.lookups
                        .get(c)
                        .and_then(Option::as_ref)
                        .is_some_and(|l| l.keys.contains(k))
                })
            })
            .collect();
        let kept: Vec<Vec<std::sync::OnceLock<Arc<DecodedBlock>>>> = per_column
            .iter()
            .zip(&is_key)
            .map(|(blocks, &key)| {
                let n = if key { blocks.len() } else { 0 };
                (0..n).map(|_| std::sync::OnceLock::new()).collect()
            })
            .collect();
        // Block `j` of the `i`th column read.
        let block = |i: usize, j: usize| -> Result<Arc<DecodedBlock>> {
            let (b, bytes) = per_column.get(i).and_then(|p| p.get(j)).ok_or_else(|| {
                FormatError::InvalidArgument(format!("block {j} of column {i} not read"))
            })?;
            let c = read.get(i).copied().unwrap_or(usize::MAX);
            let Some(slot) = kept.get(i).and_then(|k| k.get(j)) else {
                return Ok(Arc::new(self.decode_raw(c, *b, bytes)?));
            };
            if let Some(d) = slot.get() {
                return Ok(Arc::clone(d));
            }
            let d = self.decode_raw(c, *b, bytes)?;
            d.keep_values()?;
            Ok(Arc::clone(slot.get_or_init(|| Arc::new(d))))
        };
        let decode_column = |i: usize| -> Result<ArrayRef> {
            let c = read.get(i).copied().unwrap_or(usize::MAX);
            let mut sink = self.sink(c, rows)?;
            for j in 0..per_column.get(i).map_or(0, Vec::len) {
                let mut d = block(i, j)?;
                if d.is_derived() {
                    let keys = self.key_blocks(c, d.pos().block, |k| {
                        read.iter()
                            .position(|&x| x == k)
                            .map(|ki| block(ki, j))
                            .transpose()
                    })?;
                    self.defer_derived(c, &mut d, keys)?;
                }
                sink.append(&d, 0..d.rows(), None)?;
            }
            sink.finish()
        };
        let threads = threads.clamp(1, columns.len().max(1));
        if threads == 1 {
            return (0..columns.len()).map(decode_column).collect();
        }
        // Columns go to threads round-robin from the largest down, so each gets a fair share
        // of the bytes; results come back in the caller's order.
        let mut order: Vec<usize> = (0..columns.len()).collect();
        let size = |i: usize| -> usize { per_column[i].iter().map(|(_, b)| b.len()).sum() };
        order.sort_by_key(|&i| std::cmp::Reverse(size(i)));
        let mut out: Vec<Option<Result<ArrayRef>>> = (0..columns.len()).map(|_| None).collect();
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let mine: Vec<usize> = order.iter().copied().skip(t).step_by(threads).collect();
                    let decode_column = &decode_column;
                    scope.spawn(move || {
                        mine.into_iter()
                            .map(|i| (i, decode_column(i)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for h in handles {
                // A thread that panicked leaves its columns `None`: reported below.
                if let Ok(done) = h.join() {
                    for (i, r) in done {
                        if let Some(slot) = out.get_mut(i) {
                            *slot = Some(r);
                        }
                    }
                }
            }
        });
        out.into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(FormatError::InvalidArgument(
                        "a decoding thread panicked".into(),
                    ))
                })
            })
            .collect()
    }

    /// Reads every column.
    pub fn read_all(&self) -> Result<RecordBatch> {
        let all: Vec<usize> = (0..self.num_columns()).collect();
        self.read_columns(&all)
    }
}

/// The cores a read may use by default: `std::thread::available_parallelism`, else 1, asked
/// once per process (on Linux it reads the cgroup's CPU quota from `/proc` and `/sys`, which
/// cost a small scan more than its decoding).
pub fn available_threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS
        .get_or_init(|| std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get))
}

/// Prefetches every cache line of `v` (see [`Segment::prefetch`]); nothing where the target
/// has no prefetch instruction.
fn prefetch_slice<T>(v: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        let p = v.as_ptr().cast::<i8>();
        let len = std::mem::size_of_val(v);
        for off in (0..len).step_by(64) {
            #[expect(unsafe_code, reason = "a prefetch hint")]
            // SAFETY: `off < len`, so the address lies within `v`; a prefetch reads nothing
            // the program sees and never faults.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    p.wrapping_add(off),
                );
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = v;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::footer::ColumnMeta;

    fn column(rows: &[u32]) -> ColumnMeta {
        ColumnMeta {
            blocks: rows
                .iter()
                .map(|&r| BlockMeta {
                    offset: 0,
                    len: 5,
                    rows: r,
                    cascade: "".into(),
                    stats: ColumnStats {
                        row_count: u64::from(r),
                        ..ColumnStats::default()
                    },
                    bloom: None,
                })
                .collect(),
            ..ColumnMeta::default()
        }
    }

    fn footer(columns: Vec<ColumnMeta>) -> Footer {
        let fields = (0..columns.len())
            .map(|i| crate::schema::Field::new(format!("c{i}"), DataType::Int64, false))
            .collect();
        Footer {
            schema: Schema::new(fields).unwrap(),
            row_count: 30,
            block_rows: 10,
            columns,
            key_range: None,
            metadata: BTreeMap::new(),
            derived: Vec::new(),
        }
    }

    /// A writer that remembers an earlier segment's encoding memory follows its cascades from
    /// the first block (no full search) for the columns of the same name and type, searches
    /// afresh for the others, and the segment reads back as written.
    #[test]
    fn remembered_encodings_are_followed_from_the_first_block() {
        use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
        let schema = |v: DataType| {
            Schema::new(vec![
                crate::schema::Field::new("k", DataType::Int64, false),
                crate::schema::Field::new("v", v, true),
                crate::schema::Field::new("s", DataType::Utf8, true),
            ])
            .unwrap()
        };
        let batch = |from: i64, n: i64, float: bool| {
            let v: ArrayRef = if float {
                Arc::new(Float64Array::from_iter(
                    (from..from + n).map(|k| (k % 13 != 0).then_some((k % 97) as f64 * 0.25)),
                ))
            } else {
                Arc::new(Int64Array::from_iter(
                    (from..from + n).map(|k| (k % 13 != 0).then_some(k * 7 % 1000)),
                ))
            };
            let t = if float {
                DataType::Float64
            } else {
                DataType::Int64
            };
            RecordBatch::try_new(
                Arc::new(schema(t).to_arrow(SymbolAs::Utf8)),
                vec![
                    Arc::new(Int64Array::from_iter_values(from..from + n)),
                    v,
                    Arc::new(StringArray::from_iter_values(
                        (from..from + n).map(|k| format!("host-{}", k % 37)),
                    )),
                ],
            )
            .unwrap()
        };
        let opts = BlockOptions {
            block_rows: 1000,
            ..BlockOptions::default()
        };
        let mut first = SegmentFileWriter::new(Vec::new(), schema(DataType::Int64), opts).unwrap();
        first.write_batch(&batch(0, 3000, false)).unwrap();
        let memory = first.encoding_memory();
        assert!(first.columns.iter().all(|c| c.schemes.searches >= 1));
        let searches = |t: DataType, float: bool, remember: bool| {
            let mut w = SegmentFileWriter::new(Vec::new(), schema(t), opts).unwrap();
            if remember {
                w.remember(&memory);
            }
            let b = batch(3000, 1000, float);
            w.write_batch(&b).unwrap();
            let n: Vec<u64> = w.columns.iter().map(|c| c.schemes.searches).collect();
            let (bytes, _) = w.finish().unwrap();
            let seg = Segment::from_bytes(bytes.into())
                .unwrap()
                .with_symbol_as(SymbolAs::Utf8);
            assert_eq!(seg.read_all().unwrap(), b);
            n
        };
        assert_eq!(searches(DataType::Int64, false, true), [0, 0, 0]);
        assert_eq!(searches(DataType::Int64, false, false), [1, 1, 1]);
        // "v" is another type now: its memory does not apply.
        assert_eq!(searches(DataType::Float64, true, true), [0, 1, 0]);
    }

    /// Columns cut at the same rows share one list of block starts; a column cut elsewhere
    /// gets its own, and the next column cut like the first shares the first's again.
    #[test]
    fn columns_cut_alike_share_their_block_starts() {
        let f = footer(vec![
            column(&[10, 10, 10]),
            column(&[10, 10, 10]),
            column(&[10, 5, 5, 10]),
            column(&[10, 10, 10]),
        ]);
        let s = block_starts_of(&f);
        assert_eq!(&s[0][..], &[0, 10, 20, 30]);
        assert!(Arc::ptr_eq(&s[0], &s[1]));
        assert_eq!(&s[2][..], &[0, 10, 15, 20, 30]);
        assert!(!Arc::ptr_eq(&s[0], &s[2]));
        assert!(Arc::ptr_eq(&s[0], &s[3]));
        // Same bounds but a different cut (one block of 20 rows) is not shared.
        let g = footer(vec![column(&[10, 10, 10]), column(&[20, 10])]);
        let t = block_starts_of(&g);
        assert_eq!(&t[1][..], &[0, 20, 30]);
        assert!(!Arc::ptr_eq(&t[0], &t[1]));
    }

    /// The compact tables an open segment keeps agree with its footer: every block's span,
    /// "no block" past each column's last, and every column found by name from any hint
    /// (including hints past the end and names that are prefixes or joins of others).
    #[test]
    fn block_spans_and_column_names_agree_with_the_footer() {
        let mut f = footer(vec![
            column(&[10, 10, 10]),
            column(&[30]),
            column(&[]),
            column(&[10, 5, 5, 10]),
        ]);
        let names = ["a", "ab", "", "b"];
        for (field, n) in f.schema.fields.iter_mut().zip(names) {
            field.name = n.to_string();
        }
        for (c, col) in f.columns.iter_mut().enumerate() {
            for (b, m) in col.blocks.iter_mut().enumerate() {
                m.offset = 100 * c as u64 + 7 * b as u64;
                m.len = 3 + b as u32;
            }
        }
        let (spans, starts) = spans_of(&f).unwrap();
        assert_eq!(&starts[..], &[0, 3, 4, 4, 8]);
        let columns = names_of(&f.schema).unwrap();
        assert_eq!(
            (&columns.names[..], &columns.ends[..]),
            ("aabb", &[1, 3, 3, 4][..])
        );
        let seg = Segment {
            file: Arc::new(Bytes::from(vec![0u8; 1000])),
            path: None,
            footer: Arc::new(f.clone()),
            version: CURRENT_VERSION,
            footer_offset: 0,
            symbol_as: SymbolAs::Dictionary,
            dictionaries: vec![None; 4],
            block_starts: block_starts_of(&f),
            lookups: vec![None; 4],
            spans,
            span_starts: starts,
            columns: Arc::new(columns),
            file_len: 1000,
            crc_held: None,
        };
        for (c, col) in f.columns.iter().enumerate() {
            for (b, m) in col.blocks.iter().enumerate() {
                let s = seg.span(c, b).unwrap();
                assert_eq!((s.offset, s.len, s.rows), (m.offset, m.len, m.rows));
                assert_eq!(seg.block_len(c, b), Some(u64::from(m.len)));
                assert_eq!(
                    seg.block_range(c, b).unwrap(),
                    m.offset..m.offset + u64::from(m.len)
                );
            }
            assert!(seg.span(c, col.blocks.len()).is_err());
            assert_eq!(seg.block_len(c, col.blocks.len()), None);
        }
        assert!(seg.span(4, 0).is_err() && seg.span(usize::MAX, 0).is_err());
        assert!(seg.span(0, usize::MAX).is_err());
        for hint in 0..6 {
            for n in names.iter().chain(&["aab", "x", "abb", "ba"]) {
                assert_eq!(
                    seg.index_of_near(n, hint),
                    f.schema.index_of(n),
                    "{n:?} {hint}"
                );
            }
        }
        assert_eq!(seg.index_of_near("ab", 1), Some(1));
        // A block past the end of the file is corrupt, named with its place.
        let short = Segment {
            file_len: 312,
            ..seg
        };
        let err = short.block_range(3, 2).unwrap_err().to_string();
        assert!(
            err.contains("column 3 block 2") && err.contains("312-byte"),
            "{err}"
        );
        assert!(short.block_range(3, 1).is_ok());
    }
}

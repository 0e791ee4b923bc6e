//! Scans: segments → pruned, filtered, projected Arrow record batches.
//!
//! Per segment: prune with the segment's column statistics; cut the rows into *ranges* at every
//! block boundary of the columns involved (writers align blocks into stripes, so a range is
//! normally one stripe); prune each range with its blocks' statistics, bloom filters and the
//! symbol dictionary; decode the predicate columns of the ranges that may match and evaluate the
//! predicate (skipped when pruning proves every row matches); drop deleted rows; then decode
//! only those blocks of the projected columns whose range kept a row. One range is decoded at a
//! time, so memory stays at about one block per column plus one output batch.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch, RecordBatchOptions, new_null_array};
use arrow_schema::{Field as ArrowField, Schema as ArrowSchema, SchemaRef};
use arrow_select::filter::{filter, prep_null_mask_filter};
use roaring::RoaringBitmap;
use strata_format::{DataType, FormatError, Schema, Segment, SymbolAs};

use crate::bind::BoundPredicate;
use crate::error::{PredicateError, Result};
use crate::eval::{conform, eval};
use crate::prune::{ColumnFacts, Outcomes, outcomes};

/// Rows per output batch unless [`Scan::batch_size`] says otherwise.
pub const DEFAULT_BATCH_SIZE: usize = 8192;

/// Which columns a scan returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Projection {
    /// By name, in this order.
    Names(Vec<String>),
    /// By index into the scan's schema, in this order.
    Indices(Vec<usize>),
}

impl From<Vec<String>> for Projection {
    fn from(v: Vec<String>) -> Self {
        Projection::Names(v)
    }
}

impl From<Vec<&str>> for Projection {
    fn from(v: Vec<&str>) -> Self {
        Projection::Names(v.into_iter().map(String::from).collect())
    }
}

impl From<Vec<usize>> for Projection {
    fn from(v: Vec<usize>) -> Self {
        Projection::Indices(v)
    }
}

/// What a scan did. "Blocks" are row ranges of a segment (normally stripes: one block of every
/// column); pruning decisions are made per range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Segments considered.
    pub segments_total: u64,
    /// Segments skipped by their column statistics (or because every row is deleted).
    pub segments_pruned: u64,
    /// Row ranges considered, pruned segments included.
    pub blocks_total: u64,
    /// Row ranges never read (segment or block pruning, or every row deleted).
    pub blocks_pruned: u64,
    /// Row ranges pruning proved to match entirely (no row evaluation).
    pub blocks_all_true: u64,
    /// Column blocks read and decoded.
    pub blocks_decoded: u64,
    /// Bytes of column blocks read.
    pub bytes_read: u64,
    /// Rows returned.
    pub rows_matched: u64,
}

#[derive(Debug, Default)]
struct Counters([AtomicU64; 8]);

/// A live view of a scan's [`ScanStats`], readable during and after iteration.
#[derive(Debug, Clone, Default)]
pub struct ScanStatsHandle(Arc<Counters>);

impl ScanStatsHandle {
    /// The counts so far.
    pub fn get(&self) -> ScanStats {
        let c = |i: usize| self.0.0.get(i).map_or(0, |a| a.load(Ordering::Relaxed));
        ScanStats {
            segments_total: c(0),
            segments_pruned: c(1),
            blocks_total: c(2),
            blocks_pruned: c(3),
            blocks_all_true: c(4),
            blocks_decoded: c(5),
            bytes_read: c(6),
            rows_matched: c(7),
        }
    }

    fn add(&self, i: usize, n: u64) {
        if let Some(a) = self.0.0.get(i) {
            a.fetch_add(n, Ordering::Relaxed);
        }
    }
}

const SEGMENTS_TOTAL: usize = 0;
const SEGMENTS_PRUNED: usize = 1;
const BLOCKS_TOTAL: usize = 2;
const BLOCKS_PRUNED: usize = 3;
const BLOCKS_ALL_TRUE: usize = 4;
const BLOCKS_DECODED: usize = 5;
const BYTES_READ: usize = 6;
const ROWS_MATCHED: usize = 7;

/// A scan over one or more segments: builder, then iterate.
///
/// ```text
/// Scan::new(segments).projection(vec!["ts", "v"]).predicate(p).batch_size(4096)
/// ```
#[derive(Debug, Clone)]
pub struct Scan {
    segments: Vec<Arc<Segment>>,
    projection: Option<Projection>,
    predicate: Option<BoundPredicate>,
    batch_size: usize,
    deleted: BTreeMap<usize, RoaringBitmap>,
    rows: BTreeMap<usize, std::ops::Range<u64>>,
    target: Option<Arc<Schema>>,
    symbol_as: Option<SymbolAs>,
    stats: ScanStatsHandle,
}

impl Scan {
    /// A scan of every row and column of `segments`, in order.
    pub fn new(segments: Vec<Arc<Segment>>) -> Self {
        Self {
            segments,
            projection: None,
            predicate: None,
            batch_size: DEFAULT_BATCH_SIZE,
            deleted: BTreeMap::new(),
            rows: BTreeMap::new(),
            target: None,
            symbol_as: None,
            stats: ScanStatsHandle::default(),
        }
    }

    /// Returns only these columns (names or indices of the scan's schema), in this order.
    pub fn projection(mut self, p: impl Into<Projection>) -> Self {
        self.projection = Some(p.into());
        self
    }

    /// Returns only rows for which `p` is TRUE.
    pub fn predicate(mut self, p: BoundPredicate) -> Self {
        self.predicate = Some(p);
        self
    }

    /// At most `n` rows per batch (every batch but the last has exactly `n`).
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n;
        self
    }

    /// Excludes the rows at these positions of segment `segment` (index into the list).
    pub fn deleted(mut self, segment: usize, rows: RoaringBitmap) -> Self {
        self.deleted.insert(segment, rows);
        self
    }

    /// Reads only rows `rows` (positions in the segment, clipped to its row count) of segment
    /// `segment` (index into the list), so several scans can share one large segment: scans of
    /// disjoint ranges that cover it read each of its rows exactly once. Blocks outside the
    /// range are neither read nor counted in the statistics.
    pub fn rows(mut self, segment: usize, rows: std::ops::Range<u64>) -> Self {
        self.rows.insert(segment, rows);
        self
    }

    /// Reads every segment as `schema` (the table's schema after evolution): columns are matched
    /// by name, a column a segment lacks comes back as nulls, a column of another type is cast,
    /// and segment columns the schema lacks are ignored. Default: the first segment's schema.
    pub fn target_schema(mut self, schema: Arc<Schema>) -> Self {
        self.target = Some(schema);
        self
    }

    /// How `Symbol` columns are returned (default: as the first segment presents them, see
    /// [`Segment::with_symbol_as`]; Arrow dictionaries when there is no segment).
    pub fn symbol_as(mut self, symbol_as: SymbolAs) -> Self {
        self.symbol_as = Some(symbol_as);
        self
    }

    /// A handle on the scan's statistics; it stays valid while and after the scan runs.
    pub fn stats(&self) -> ScanStatsHandle {
        self.stats.clone()
    }

    /// Checks the scan and starts it.
    pub fn execute(self) -> Result<ScanIter> {
        let table: Schema = match &self.target {
            Some(s) => s.as_ref().clone(),
            None => match self.segments.first() {
                Some(s) => s.schema().clone(),
                None => Schema::new(Vec::new()).map_err(|source| PredicateError::Format {
                    segment: 0,
                    path: None,
                    source,
                })?,
            },
        };
        let out_cols: Vec<usize> = match &self.projection {
            None => (0..table.len()).collect(),
            Some(Projection::Indices(v)) => {
                for &i in v {
                    if i >= table.len() {
                        return Err(PredicateError::InvalidArgument(format!(
                            "projection index {i} out of range for {} columns",
                            table.len()
                        )));
                    }
                }
                v.clone()
            }
            Some(Projection::Names(v)) => v
                .iter()
                .map(|n| {
                    table
                        .index_of(n)
                        .ok_or_else(|| PredicateError::UnknownColumn { name: n.clone() })
                })
                .collect::<Result<_>>()?,
        };
        if self.batch_size == 0 {
            return Err(PredicateError::InvalidArgument(
                "batch size must be at least 1".into(),
            ));
        }
        let symbol_as = self.symbol_as.unwrap_or_else(|| {
            let first = self.segments.first();
            let utf8 = first.is_some_and(|seg| {
                let arrow = seg.arrow_schema();
                seg.schema()
                    .fields
                    .iter()
                    .zip(arrow.fields())
                    .any(|(f, a)| {
                        f.data_type == DataType::Symbol
                            && a.data_type() == &arrow_schema::DataType::Utf8
                    })
            });
            if utf8 {
                SymbolAs::Utf8
            } else {
                SymbolAs::Dictionary
            }
        });
        let mut out_fields = Vec::with_capacity(out_cols.len());
        let mut out_types = Vec::with_capacity(out_cols.len());
        for &i in &out_cols {
            let f = table
                .field(i)
                .ok_or_else(|| PredicateError::InvalidArgument(format!("no column {i}")))?;
            let missing_somewhere = self
                .segments
                .iter()
                .any(|s| s.schema().index_of(&f.name).is_none());
            out_fields.push(ArrowField::new(
                &f.name,
                f.data_type.to_arrow(symbol_as),
                f.nullable || missing_somewhere,
            ));
            out_types.push((f.name.clone(), f.data_type.clone()));
        }
        Ok(ScanIter {
            schema: Arc::new(ArrowSchema::new(out_fields)),
            out_types,
            segments: self.segments,
            predicate: self.predicate,
            deleted: self.deleted,
            rows: self.rows,
            batch_size: self.batch_size,
            next_segment: 0,
            cursor: None,
            pending: Vec::new(),
            pending_rows: 0,
            stats: self.stats,
            done: false,
        })
    }
}

/// The batches of a [`Scan`]; errors end the iteration.
#[derive(Debug)]
pub struct ScanIter {
    schema: SchemaRef,
    out_types: Vec<(String, DataType)>,
    segments: Vec<Arc<Segment>>,
    predicate: Option<BoundPredicate>,
    deleted: BTreeMap<usize, RoaringBitmap>,
    rows: BTreeMap<usize, std::ops::Range<u64>>,
    batch_size: usize,
    next_segment: usize,
    cursor: Option<Cursor>,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    stats: ScanStatsHandle,
    done: bool,
}

impl IntoIterator for Scan {
    type Item = Result<RecordBatch>;
    type IntoIter = std::iter::Chain<
        std::option::IntoIter<Result<RecordBatch>>,
        std::iter::Flatten<std::option::IntoIter<ScanIter>>,
    >;

    /// Starts the scan; a planning error (unknown projected column, zero batch size) is the
    /// first and only item.
    fn into_iter(self) -> Self::IntoIter {
        match self.execute() {
            Ok(it) => None.into_iter().chain(Some(it).into_iter().flatten()),
            Err(e) => Some(Err(e)).into_iter().chain(None.into_iter().flatten()),
        }
    }
}

impl ScanIter {
    /// The schema of every batch.
    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    /// The statistics so far (final once the iterator returned `None`).
    pub fn stats(&self) -> ScanStats {
        self.stats.get()
    }

    fn take_pending(&mut self, n: usize) -> Result<RecordBatch> {
        let all = arrow_select::concat::concat_batches(&self.schema, &self.pending)?;
        let n = n.min(all.num_rows());
        let head = all.slice(0, n);
        let rest = all.num_rows() - n;
        self.pending.clear();
        self.pending_rows = rest;
        if rest > 0 {
            self.pending.push(all.slice(n, rest));
        }
        Ok(head)
    }

    fn step(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            if self.pending_rows >= self.batch_size {
                return self.take_pending(self.batch_size).map(Some);
            }
            if self.cursor.is_none() {
                if self.next_segment >= self.segments.len() {
                    if self.pending_rows > 0 {
                        return self.take_pending(self.pending_rows).map(Some);
                    }
                    return Ok(None);
                }
                let i = self.next_segment;
                self.next_segment += 1;
                let seg = Arc::clone(&self.segments[i]);
                let needed: Vec<(String, DataType)> = self.out_types.clone();
                self.cursor = Cursor::open(
                    seg,
                    i,
                    self.predicate.as_ref(),
                    &needed,
                    self.deleted.get(&i),
                    self.rows.get(&i),
                    &self.stats,
                )?;
                continue;
            }
            let Some(cursor) = self.cursor.as_mut() else {
                continue;
            };
            match cursor.next_range(
                self.predicate.as_ref(),
                self.deleted.get(&cursor.seg_index),
                &self.stats,
            )? {
                None => self.cursor = None,
                Some(sel) => {
                    let batch = cursor.materialize(&sel, &self.schema, &self.stats)?;
                    if batch.num_rows() > 0 {
                        self.pending_rows += batch.num_rows();
                        self.stats.add(ROWS_MATCHED, batch.num_rows() as u64);
                        self.pending.push(batch);
                    }
                }
            }
        }
    }
}

impl Iterator for ScanIter {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.step() {
            Ok(Some(b)) => Some(Ok(b)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Row positions of `segment` where `predicate` is TRUE, minus `deleted` (with the same pruning
/// as a scan; the predicate's columns are matched by name, absent ones are null).
pub fn matching_rows(
    segment: &Arc<Segment>,
    predicate: &BoundPredicate,
    deleted: Option<&RoaringBitmap>,
) -> Result<RoaringBitmap> {
    let stats = ScanStatsHandle::default();
    let mut out = RoaringBitmap::new();
    let Some(mut cursor) = Cursor::open(
        Arc::clone(segment),
        0,
        Some(predicate),
        &[],
        deleted,
        None,
        &stats,
    )?
    else {
        return Ok(out);
    };
    while let Some(sel) = cursor.next_range(Some(predicate), deleted, &stats)? {
        let start = sel.start;
        match &sel.keep {
            Keep::All => {
                let (a, b) = (to_u32(start)?, to_u32(start + sel.len as u64 - 1)?);
                out.insert_range(a..=b);
            }
            Keep::Mask(m) => {
                for (i, v) in m.values().iter().enumerate() {
                    if v {
                        out.insert(to_u32(start + i as u64)?);
                    }
                }
            }
        }
    }
    Ok(out)
}

fn to_u32(v: u64) -> Result<u32> {
    u32::try_from(v).map_err(|_| {
        PredicateError::InvalidArgument(format!("row position {v} does not fit a row bitmap"))
    })
}

/// A [`PredicateError::Format`] for segment `index` of the scan, naming its file.
fn fmt_err(segment: &Segment, index: usize, source: FormatError) -> PredicateError {
    PredicateError::Format {
        segment: index,
        path: segment.path().map(Path::to_path_buf),
        source,
    }
}

/// Where a needed column comes from in one segment.
#[derive(Debug, Clone)]
enum Source {
    /// Absent: nulls of the wanted type.
    Missing,
    /// Segment column `index`; `same_type` when its stored type is the wanted type.
    Column { index: usize, same_type: bool },
}

/// The rows of one range that survive, after predicate and deletes.
#[derive(Debug)]
struct Selection {
    start: u64,
    len: usize,
    keep: Keep,
}

#[derive(Debug)]
enum Keep {
    All,
    /// No nulls; at least one `true`.
    Mask(BooleanArray),
}

/// Walks the ranges of one segment.
#[derive(Debug)]
struct Cursor {
    seg: Arc<Segment>,
    seg_index: usize,
    /// Per predicate slot.
    pred_src: Vec<(Source, DataType)>,
    /// Per output column.
    out_src: Vec<(Source, DataType)>,
    /// Block start rows per segment column (with a final entry = row count), for involved ones.
    block_starts: BTreeMap<usize, Vec<u64>>,
    ranges: Vec<(u64, u64)>,
    next: usize,
    cache: BTreeMap<usize, (usize, ArrayRef)>,
}

fn resolve(seg: &Segment, name: &str, want: &DataType) -> Source {
    match seg.schema().index_of(name) {
        None => Source::Missing,
        Some(index) => Source::Column {
            index,
            same_type: seg.schema().field(index).map(|f| &f.data_type) == Some(want),
        },
    }
}

impl Cursor {
    /// Opens a segment; `None` when segment-level pruning (or deletes) rule it out.
    fn open(
        seg: Arc<Segment>,
        seg_index: usize,
        predicate: Option<&BoundPredicate>,
        out: &[(String, DataType)],
        deleted: Option<&RoaringBitmap>,
        only: Option<&std::ops::Range<u64>>,
        stats: &ScanStatsHandle,
    ) -> Result<Option<Cursor>> {
        let pred_src: Vec<(Source, DataType)> = predicate
            .map(|p| {
                p.columns
                    .iter()
                    .map(|c| (resolve(&seg, &c.name, &c.data_type), c.data_type.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let out_src: Vec<(Source, DataType)> = out
            .iter()
            .map(|(n, t)| (resolve(&seg, n, t), t.clone()))
            .collect();
        let footer = seg.footer();
        let rows = footer.row_count;
        let mut block_starts = BTreeMap::new();
        for (src, _) in pred_src.iter().chain(&out_src) {
            if let Source::Column { index, .. } = src {
                let meta = footer.columns.get(*index).ok_or_else(|| {
                    fmt_err(
                        &seg,
                        seg_index,
                        FormatError::InvalidArgument(format!("no column {index}")),
                    )
                })?;
                let mut starts = Vec::with_capacity(meta.blocks.len() + 1);
                let mut at = 0u64;
                for b in &meta.blocks {
                    starts.push(at);
                    at += u64::from(b.rows);
                }
                if at != rows {
                    return Err(fmt_err(
                        &seg,
                        seg_index,
                        FormatError::corrupt(
                            "footer",
                            seg.footer_offset(),
                            format!("column {index} blocks hold {at} rows, segment {rows}"),
                        ),
                    ));
                }
                starts.push(rows);
                block_starts.insert(*index, starts);
            }
        }
        let mut bounds: Vec<u64> = block_starts.values().flatten().copied().collect();
        if block_starts.is_empty() {
            let step = u64::from(footer.block_rows.max(1));
            bounds.extend((0..rows).step_by(usize::try_from(step).unwrap_or(1024)));
        }
        bounds.push(0);
        bounds.push(rows);
        bounds.sort_unstable();
        bounds.dedup();
        let mut ranges: Vec<(u64, u64)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
        if let Some(only) = only {
            ranges = ranges
                .into_iter()
                .filter_map(|(s, e)| {
                    let (s, e) = (s.max(only.start), e.min(only.end));
                    (s < e).then_some((s, e))
                })
                .collect();
        }

        stats.add(SEGMENTS_TOTAL, 1);
        stats.add(BLOCKS_TOTAL, ranges.len() as u64);
        let all_deleted = deleted.is_some_and(|d| {
            rows > 0
                && u32::try_from(rows - 1).is_ok_and(|last| d.range_cardinality(0..=last) == rows)
        });
        let pruned = all_deleted
            || predicate.is_some_and(|p| {
                let facts = |slot: usize| match pred_src.get(slot) {
                    None => ColumnFacts::Unknown,
                    Some((Source::Missing, _)) => ColumnFacts::Missing { rows },
                    Some((
                        Source::Column {
                            same_type: false, ..
                        },
                        _,
                    )) => ColumnFacts::Unknown,
                    Some((Source::Column { index, .. }, _)) => match footer.columns.get(*index) {
                        None => ColumnFacts::Unknown,
                        Some(m) => ColumnFacts::Known {
                            stats: &m.stats,
                            bloom: None,
                            dictionary: m.dictionary.as_deref(),
                        },
                    },
                };
                outcomes(&p.expr, &facts).never_true()
            });
        if pruned || rows == 0 || ranges.is_empty() {
            stats.add(SEGMENTS_PRUNED, 1);
            stats.add(BLOCKS_PRUNED, ranges.len() as u64);
            return Ok(None);
        }
        Ok(Some(Cursor {
            seg,
            seg_index,
            pred_src,
            out_src,
            block_starts,
            ranges,
            next: 0,
            cache: BTreeMap::new(),
        }))
    }

    /// Block index of segment column `col` holding row `row`, and that block's first row.
    fn block_of(&self, col: usize, row: u64) -> Option<(usize, u64)> {
        let starts = self.block_starts.get(&col)?;
        let i = starts.partition_point(|&s| s <= row).checked_sub(1)?;
        Some((i, *starts.get(i)?))
    }

    /// Rows `[start, start+len)` of segment column `col`, decoded (one block read at most).
    fn column_range(
        &mut self,
        col: usize,
        start: u64,
        len: usize,
        stats: &ScanStatsHandle,
    ) -> Result<ArrayRef> {
        let (b, first) = self.block_of(col, start).ok_or_else(|| {
            PredicateError::InvalidArgument(format!("no block of column {col} at row {start}"))
        })?;
        let array = match self.cache.get(&col) {
            Some((cb, a)) if *cb == b => Arc::clone(a),
            _ => {
                // Where requests cost more than bytes (an object store), the same stripe's
                // blocks of every other column this scan reads come in the same request.
                let mut batch = vec![(col, b)];
                if self.seg.prefers_few_requests() {
                    for (&c, starts) in &self.block_starts {
                        if c == col {
                            continue;
                        }
                        if let Ok(i) = starts.binary_search(&first)
                            && i + 1 < starts.len()
                            && self.cache.get(&c).map(|(cb, _)| *cb) != Some(i)
                        {
                            batch.push((c, i));
                        }
                    }
                }
                let arrays = self
                    .seg
                    .read_blocks(&batch)
                    .map_err(|e| fmt_err(&self.seg, self.seg_index, e))?;
                let mut wanted = None;
                for (&(c, blk), a) in batch.iter().zip(arrays) {
                    stats.add(BLOCKS_DECODED, 1);
                    let len = self
                        .seg
                        .footer()
                        .columns
                        .get(c)
                        .and_then(|m| m.blocks.get(blk))
                        .map_or(0, |m| u64::from(m.len));
                    stats.add(BYTES_READ, len);
                    if c == col {
                        wanted = Some(Arc::clone(&a));
                    }
                    self.cache.insert(c, (blk, a));
                }
                wanted.ok_or_else(|| {
                    PredicateError::InvalidArgument(format!("block {b} of column {col} not read"))
                })?
            }
        };
        let off = usize::try_from(start - first).unwrap_or(usize::MAX);
        if off.checked_add(len).is_none_or(|end| end > array.len()) {
            return Err(fmt_err(
                &self.seg,
                self.seg_index,
                FormatError::corrupt(
                    "block",
                    0,
                    format!(
                        "column {col} block {b} decoded {} rows, range needs {}..{}",
                        array.len(),
                        off,
                        off.saturating_add(len)
                    ),
                ),
            ));
        }
        Ok(array.slice(off, len))
    }

    /// The next range with at least one surviving row; `None` at the end of the segment.
    fn next_range(
        &mut self,
        predicate: Option<&BoundPredicate>,
        deleted: Option<&RoaringBitmap>,
        stats: &ScanStatsHandle,
    ) -> Result<Option<Selection>> {
        while let Some(&(r0, r1)) = self.ranges.get(self.next) {
            self.next += 1;
            let len = usize::try_from(r1 - r0).unwrap_or(usize::MAX);
            // Deletes first: a fully deleted range is never read.
            let live = match deleted {
                Some(d) if r0 <= u64::from(u32::MAX) => {
                    let hi = r1.min(u64::from(u32::MAX) + 1);
                    let span = to_u32(r0)?..=to_u32(hi - 1)?;
                    let gone = d.range_cardinality(span.clone());
                    if gone == 0 {
                        None
                    } else if gone == r1 - r0 {
                        stats.add(BLOCKS_PRUNED, 1);
                        continue;
                    } else {
                        let mut keep = vec![true; len];
                        for p in d.range(span) {
                            if let Some(k) = keep.get_mut((u64::from(p) - r0) as usize) {
                                *k = false;
                            }
                        }
                        Some(BooleanArray::from(keep))
                    }
                }
                _ => None,
            };
            let mask = match predicate {
                None => None,
                Some(p) => {
                    let o = self.range_outcomes(p, r0);
                    if o.never_true() {
                        stats.add(BLOCKS_PRUNED, 1);
                        continue;
                    }
                    if o.always_true() {
                        stats.add(BLOCKS_ALL_TRUE, 1);
                        None
                    } else {
                        let mut cols = Vec::with_capacity(self.pred_src.len());
                        for (src, t) in self.pred_src.clone() {
                            cols.push(match src {
                                Source::Missing => new_null_array(&t.to_arrow(SymbolAs::Utf8), len),
                                Source::Column { index, .. } => {
                                    conform(&self.column_range(index, r0, len, stats)?, &t)?
                                }
                            });
                        }
                        let m = eval(&p.expr, &cols, len)?;
                        Some(if m.null_count() > 0 {
                            prep_null_mask_filter(&m)
                        } else {
                            m
                        })
                    }
                }
            };
            let keep = match (mask, live) {
                (None, None) => Keep::All,
                (Some(m), None) | (None, Some(m)) => Keep::Mask(m),
                (Some(m), Some(l)) => Keep::Mask(arrow_arith::boolean::and(&m, &l)?),
            };
            if let Keep::Mask(m) = &keep {
                let n = m.true_count();
                if n == 0 {
                    continue;
                }
                if n == len {
                    return Ok(Some(Selection {
                        start: r0,
                        len,
                        keep: Keep::All,
                    }));
                }
            }
            return Ok(Some(Selection {
                start: r0,
                len,
                keep,
            }));
        }
        Ok(None)
    }

    fn range_outcomes(&self, p: &BoundPredicate, r0: u64) -> Outcomes {
        let footer = self.seg.footer();
        let facts = |slot: usize| match self.pred_src.get(slot) {
            None => ColumnFacts::Unknown,
            Some((Source::Missing, _)) => ColumnFacts::Missing { rows: 1 },
            Some((
                Source::Column {
                    same_type: false, ..
                },
                _,
            )) => ColumnFacts::Unknown,
            Some((Source::Column { index, .. }, _)) => {
                let meta = footer.columns.get(*index);
                let block = self
                    .block_of(*index, r0)
                    .and_then(|(b, _)| meta.and_then(|m| m.blocks.get(b)));
                match (meta, block) {
                    (Some(m), Some(b)) => ColumnFacts::Known {
                        stats: &b.stats,
                        bloom: b.bloom.as_ref(),
                        dictionary: m.dictionary.as_deref(),
                    },
                    _ => ColumnFacts::Unknown,
                }
            }
        };
        outcomes(&p.expr, &facts)
    }

    /// The projected columns of a selection.
    fn materialize(
        &mut self,
        sel: &Selection,
        schema: &SchemaRef,
        stats: &ScanStatsHandle,
    ) -> Result<RecordBatch> {
        let n = match &sel.keep {
            Keep::All => sel.len,
            Keep::Mask(m) => m.true_count(),
        };
        let mut cols: Vec<ArrayRef> = Vec::with_capacity(self.out_src.len());
        for (i, (src, _)) in self.out_src.clone().into_iter().enumerate() {
            let want = schema
                .fields()
                .get(i)
                .map(|f| f.data_type().clone())
                .ok_or_else(|| PredicateError::InvalidArgument(format!("no output column {i}")))?;
            let a = match src {
                Source::Missing => new_null_array(&want, n),
                Source::Column { index, .. } => {
                    let a = self.column_range(index, sel.start, sel.len, stats)?;
                    let a = match &sel.keep {
                        Keep::All => a,
                        Keep::Mask(m) => filter(a.as_ref(), m)?,
                    };
                    if a.data_type() == &want {
                        a
                    } else {
                        arrow_cast::cast(&a, &want)?
                    }
                }
            };
            cols.push(a);
        }
        let opts = RecordBatchOptions::new().with_row_count(Some(n));
        Ok(RecordBatch::try_new_with_options(
            Arc::clone(schema),
            cols,
            &opts,
        )?)
    }
}

impl BoundPredicate {
    /// The outcomes the predicate can take over segment `seg`, from its column statistics and
    /// symbol dictionaries (columns matched by name; an absent column is null, a column stored
    /// with another type tells nothing).
    pub fn prune_segment(&self, seg: &Segment) -> Outcomes {
        let rows = seg.num_rows();
        let facts = |slot: usize| {
            self.columns.get(slot).map_or(ColumnFacts::Unknown, |c| {
                match resolve(seg, &c.name, &c.data_type) {
                    Source::Missing => ColumnFacts::Missing { rows },
                    Source::Column {
                        same_type: false, ..
                    } => ColumnFacts::Unknown,
                    Source::Column { index, .. } => match seg.footer().columns.get(index) {
                        None => ColumnFacts::Unknown,
                        Some(m) => ColumnFacts::Known {
                            stats: &m.stats,
                            bloom: None,
                            dictionary: m.dictionary.as_deref(),
                        },
                    },
                }
            })
        };
        outcomes(&self.expr, &facts)
    }

    /// The outcomes the predicate can take over the rows of block `block` of `seg` (block
    /// `block` of every column, as writers align them in stripes), from block statistics, bloom
    /// filters and symbol dictionaries.
    pub fn prune_block(&self, seg: &Segment, block: usize) -> Outcomes {
        let footer = seg.footer();
        let rows = footer
            .columns
            .first()
            .and_then(|c| c.blocks.get(block))
            .map_or(0, |b| u64::from(b.rows));
        let facts = |slot: usize| {
            self.columns.get(slot).map_or(ColumnFacts::Unknown, |c| {
                match resolve(seg, &c.name, &c.data_type) {
                    Source::Missing => ColumnFacts::Missing { rows },
                    Source::Column {
                        same_type: false, ..
                    } => ColumnFacts::Unknown,
                    Source::Column { index, .. } => {
                        let meta = footer.columns.get(index);
                        match (meta, meta.and_then(|m| m.blocks.get(block))) {
                            (Some(m), Some(b)) => ColumnFacts::Known {
                                stats: &b.stats,
                                bloom: b.bloom.as_ref(),
                                dictionary: m.dictionary.as_deref(),
                            },
                            _ => ColumnFacts::Unknown,
                        }
                    }
                }
            })
        };
        outcomes(&self.expr, &facts)
    }
}

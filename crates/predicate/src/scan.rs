//! Scans: segments → pruned, filtered, projected Arrow record batches.
//!
//! Per segment: prune with the segment's column statistics; cut the rows into *ranges* at every
//! block boundary of the columns involved (writers align blocks into stripes, so a range is
//! normally one stripe); drop the ranges outside the rows the predicate allows on a column
//! whose blocks are in order (two binary searches, see [`crate::sorted`]); prune each remaining
//! range with its blocks' statistics, bloom filters and the symbol dictionary; decode the
//! predicate columns of the ranges that may match and evaluate the predicate (skipped when
//! pruning proves every row matches); drop deleted rows; then decode
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
use strata_format::{
    ColumnSink, DataType, DecodedBlock, FormatError, Prefetch, Schema, Segment, SymbolAs,
};

use crate::bind::BoundPredicate;
use crate::error::{PredicateError, Result};
use crate::eval::{conform, eval};
use crate::prune::{ColumnFacts, Outcomes, outcomes};
use crate::sorted;

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
    threads: usize,
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
            threads: strata_format::segment::available_threads(),
        }
    }

    /// Decodes on up to `n` threads (default: the cores available; 1: on the caller's thread
    /// only, for embedding and for fair single-core comparisons). Segments, and runs of
    /// [`PARALLEL_UNIT_ROWS`] rows of larger ones (runs of small segments read together), are
    /// read on worker threads in turn; batches
    /// come back in the same order and sizes as with one thread.
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n.max(1);
        self
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
                .any(|s| s.index_of_near(&f.name, i).is_none());
            out_fields.push(ArrowField::new(
                &f.name,
                f.data_type.to_arrow(symbol_as),
                f.nullable || missing_somewhere,
            ));
            out_types.push((f.name.clone(), f.data_type.clone()));
        }
        let threads = self.threads;
        let later_rows = later_rows(&self.segments, &self.rows);
        let iter = ScanIter {
            schema: Arc::new(ArrowSchema::new(out_fields)),
            out_types: out_types.into(),
            segments: self.segments,
            predicate: self.predicate,
            deleted: self.deleted,
            rows: self.rows,
            batch_size: self.batch_size,
            symbol_as,
            next_segment: 0,
            cursor: None,
            resolved: None,
            carry: None,
            accs: (0..out_cols.len()).map(|_| Acc::default()).collect(),
            pending_rows: 0,
            stats: self.stats,
            done: false,
            counted: Vec::new(),
            index_base: 0,
            spans: BTreeMap::new(),
            parallel: None,
            later_rows,
        };
        Ok(if threads > 1 {
            iter.into_parallel(threads)
        } else {
            iter
        })
    }
}

/// Rows of one segment a worker reads: `(segment, rows, first run of that segment, the
/// predicate's candidate rows in it)`.
type UnitPart = (
    usize,
    std::ops::Range<u64>,
    bool,
    Option<std::ops::Range<u64>>,
);

/// The batches of a [`Scan`]; errors end the iteration.
#[derive(Debug)]
pub struct ScanIter {
    schema: SchemaRef,
    /// Shared with every unit of a parallel scan and every segment's cursor, not copied.
    out_types: Arc<[(String, DataType)]>,
    segments: Vec<Arc<Segment>>,
    predicate: Option<BoundPredicate>,
    deleted: BTreeMap<usize, RoaringBitmap>,
    rows: BTreeMap<usize, std::ops::Range<u64>>,
    batch_size: usize,
    symbol_as: SymbolAs,
    next_segment: usize,
    cursor: Option<Cursor>,
    /// The columns the last segment opened resolved to, for the next one to take as they are
    /// when its columns are the same ([`Segment::same_columns_as`]).
    resolved: Option<Resolved>,
    /// What is left of the current cursor's last selection (a selection larger than the room
    /// left in the batch being built is cut in two).
    carry: Option<Selection>,
    /// The batch being built: one accumulator per output column.
    accs: Vec<Acc>,
    pending_rows: usize,
    stats: ScanStatsHandle,
    done: bool,
    /// Whether opening segment `i` counts it in the statistics (not for the second and later
    /// runs of a segment split between worker threads); `true` past the end.
    counted: Vec<bool>,
    /// Position in the whole scan's list of `segments[0]` (a unit of a parallel scan reads
    /// one segment of it), for errors to name the segment as the caller knows it.
    index_base: usize,
    /// The predicate's candidate rows ([`candidate_rows`]) by segment, where they were found
    /// while the scan was cut into units (a cursor finds them itself otherwise).
    spans: BTreeMap<usize, std::ops::Range<u64>>,
    /// Set when worker threads do the reading ([`Scan::threads`]).
    parallel: Option<Parallel>,
    /// `later_rows[i]`: rows the scan may still read in `segments[i..]` (an upper bound: the
    /// rows asked for, before pruning), to size a new batch's buffers once, so that a batch
    /// gathered from many small segments is never copied as it grows.
    later_rows: Vec<u64>,
}

/// Suffix sums of the rows of each segment the scan reads (`rows` where it narrows one).
fn later_rows(segments: &[Arc<Segment>], rows: &BTreeMap<usize, std::ops::Range<u64>>) -> Vec<u64> {
    let mut out = vec![0u64; segments.len() + 1];
    for (i, seg) in segments.iter().enumerate().rev() {
        let n = rows
            .get(&i)
            .map_or(seg.num_rows(), |r| r.end.saturating_sub(r.start));
        out[i] = out[i + 1].saturating_add(n);
    }
    out
}

/// The rows of `seg` outside which `p` is never true: the intersection of the spans of the
/// columns it bounds whose blocks are in order ([`crate::sorted`]); all rows otherwise.
fn candidate_rows<'a>(
    p: &BoundPredicate,
    seg: &Segment,
    sources: impl IntoIterator<Item = &'a Source>,
) -> std::ops::Range<u64> {
    let mut span = 0..seg.num_rows();
    for (slot, src) in sources.into_iter().enumerate() {
        let Source::Column {
            index,
            same_type: true,
        } = src
        else {
            continue;
        };
        let Some(meta) = seg.footer().columns.get(*index) else {
            continue;
        };
        if let Some(s) = sorted::column_span(&meta.blocks, &sorted::interval(&p.expr, slot)) {
            let start = span.start.max(s.start);
            span = start..span.end.min(s.end).max(start);
        }
    }
    span
}

/// The number of stripes overlapping `rows` when the predicate rules out every one of them
/// (outside `span`, the predicate's [`candidate_rows`], or by block statistics, blooms and
/// dictionaries); `None` when any may hold a match.
fn unit_ruled_out(
    p: &BoundPredicate,
    seg: &Segment,
    starts: &[u64],
    sources: &[Source],
    span: &std::ops::Range<u64>,
    rows: std::ops::Range<u64>,
) -> Option<u64> {
    let first = starts
        .partition_point(|&s| s <= rows.start)
        .checked_sub(1)?;
    let mut n = 0;
    for b in first..starts.len().saturating_sub(1) {
        let (Some(&s), Some(&e)) = (starts.get(b), starts.get(b + 1)) else {
            break;
        };
        if s >= rows.end {
            break;
        }
        if e > span.start && s < span.end && p.prune_stripe(seg, sources, b).may_be_true() {
            return None;
        }
        n += 1;
    }
    Some(n)
}

/// Rows of one unit of work of a parallel scan: this many rows of a larger segment, or about as
/// many rows of consecutive smaller ones.
pub const PARALLEL_UNIT_ROWS: u64 = 1 << 16;

/// What a worker sends for its current unit.
enum Msg {
    Batch(Result<RecordBatch>),
    /// The unit is done.
    End,
}

/// The consumer side of a parallel scan: units go to workers round-robin, so unit `u`'s
/// batches come from worker `u % workers`, in order.
struct Parallel {
    receivers: Vec<std::sync::mpsc::Receiver<Msg>>,
    units: usize,
    next_unit: usize,
    /// Batches received but not yet returned (re-cut to the batch size at unit boundaries).
    pending: Vec<RecordBatch>,
    pending_rows: usize,
}

impl std::fmt::Debug for Parallel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parallel")
            .field("workers", &self.receivers.len())
            .field("units", &self.units)
            .field("next_unit", &self.next_unit)
            .finish()
    }
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

    /// A sequential scan of the same query over `parts`: rows of consecutive segments, each
    /// `(segment, rows, first run of it, predicate's candidate rows)`.
    fn unit(&self, parts: &[UnitPart]) -> ScanIter {
        let base = parts.first().map_or(0, |p| p.0);
        let mut segments = Vec::with_capacity(parts.len());
        let (mut deleted, mut only, mut spans) =
            (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        for (local, (i, rows, _, span)) in parts.iter().enumerate() {
            segments.push(Arc::clone(&self.segments[*i]));
            if let Some(d) = self.deleted.get(i) {
                deleted.insert(local, d.clone());
            }
            only.insert(local, rows.clone());
            if let Some(s) = span {
                spans.insert(local, s.clone());
            }
        }
        let later_rows = later_rows(&segments, &only);
        ScanIter {
            schema: Arc::clone(&self.schema),
            out_types: Arc::clone(&self.out_types),
            segments,
            predicate: self.predicate.clone(),
            deleted,
            rows: only,
            batch_size: self.batch_size,
            symbol_as: self.symbol_as,
            next_segment: 0,
            cursor: None,
            resolved: None,
            carry: None,
            accs: (0..self.accs.len()).map(|_| Acc::default()).collect(),
            pending_rows: 0,
            stats: self.stats.clone(),
            done: false,
            counted: parts.iter().map(|p| p.2).collect(),
            index_base: base,
            spans,
            parallel: None,
            later_rows,
        }
    }

    /// Hands the scan to `threads` worker threads (see [`Scan::threads`]); stays sequential
    /// when there is at most one unit of work.
    fn into_parallel(mut self, threads: usize) -> ScanIter {
        let mut units = Vec::new();
        // What the units left out would have counted; counted only when the scan goes parallel
        // (a sequential scan counts everything itself).
        let mut skipped: Vec<(usize, u64)> = Vec::new();
        let mut spans = BTreeMap::new();
        for (i, seg) in self.segments.iter().enumerate() {
            let n = seg.num_rows();
            let range = self.rows.get(&i).cloned().unwrap_or(0..n);
            let (start, end) = (range.start.min(n), range.end.min(n));
            // Units of a large segment end on block boundaries, so no block is decoded by two
            // threads (the consumer re-cuts batches where a unit ends mid-batch).
            let block = u64::from(seg.footer().block_rows.max(1));
            let step = PARALLEL_UNIT_ROWS.div_ceil(block).saturating_mul(block);
            // Units whose every block the predicate rules out are not handed to a worker (each
            // unit opens its own cursor): a selective scan runs only the units it reads.
            let starts = self.predicate.as_ref().and_then(|p| {
                let sources = p.sources(seg);
                let span = candidate_rows(p, seg, &sources);
                spans.insert(i, span.clone());
                Some((seg.stripe_starts()?, sources, span))
            });
            let mut at = start;
            let mut first = true;
            loop {
                let to = (at / step + 1).saturating_mul(step).min(end);
                let ruled_out = match (&self.predicate, &starts) {
                    (Some(p), Some((starts, sources, span))) => {
                        unit_ruled_out(p, seg, starts, sources, span, at..to)
                    }
                    _ => None,
                };
                match ruled_out {
                    Some(blocks) => {
                        skipped.push((BLOCKS_TOTAL, blocks));
                        skipped.push((BLOCKS_PRUNED, blocks));
                    }
                    None => {
                        units.push((i, at..to, first, spans.get(&i).cloned()));
                        first = false;
                    }
                }
                at = to;
                if at >= end {
                    break;
                }
            }
            if first && self.counted.get(i).copied().unwrap_or(true) {
                skipped.push((SEGMENTS_TOTAL, 1));
                skipped.push((SEGMENTS_PRUNED, 1));
            }
        }
        if units.len() <= 1 {
            self.spans = spans;
            return self;
        }
        // Whole segments smaller than a unit, one after another, are read in units of their
        // rows cut where the batches of a sequential scan end (multiples of the batch size
        // from the scan's first row, about `PARALLEL_UNIT_ROWS` rows a unit): a worker builds
        // whole batches from several segments and the caller passes them on as they come,
        // rather than joining one short batch per segment (a block at a cut is decoded by the
        // two units that share it).
        let per = (self.batch_size as u64)
            .saturating_mul((PARALLEL_UNIT_ROWS / self.batch_size.max(1) as u64).max(1));
        let small = |p: &UnitPart| p.2 && self.segments[p.0].num_rows() == p.1.end - p.1.start;
        let mut grouped: Vec<Vec<UnitPart>> = Vec::with_capacity(units.len());
        let mut pos = 0u64;
        let mut open = false;
        for u in units {
            let n = u.1.end - u.1.start;
            let follows = open
                && grouped
                    .last()
                    .and_then(|g| g.last())
                    .is_some_and(|p| p.0 + 1 == u.0);
            if !(small(&u) && n < per) {
                grouped.push(vec![u]);
                open = false;
                pos += n;
                continue;
            }
            if !follows {
                grouped.push(Vec::new());
            }
            open = true;
            let (i, rows, _, span) = u;
            let mut at = rows.start;
            while at < rows.end {
                let cut = (pos / per + 1).saturating_mul(per);
                let take = (rows.end - at).min(cut - pos);
                if let Some(g) = grouped.last_mut() {
                    g.push((i, at..at + take, at == rows.start, span.clone()));
                }
                at += take;
                pos += take;
                if pos == cut {
                    grouped.push(Vec::new());
                }
            }
        }
        grouped.retain(|g| !g.is_empty());
        let units = grouped;
        if units.len() <= 1 {
            self.spans = spans;
            return self;
        }
        for (counter, n) in skipped {
            self.stats.add(counter, n);
        }
        let workers = threads.min(units.len());
        let mut receivers = Vec::with_capacity(workers);
        let mut plans: Vec<Vec<ScanIter>> = (0..workers).map(|_| Vec::new()).collect();
        for (u, parts) in units.iter().enumerate() {
            plans[u % workers].push(self.unit(parts));
        }
        for plan in plans {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Msg>(2);
            receivers.push(rx);
            std::thread::spawn(move || {
                for unit in plan {
                    for b in unit {
                        let stop = b.is_err();
                        if tx.send(Msg::Batch(b)).is_err() || stop {
                            return;
                        }
                    }
                    if tx.send(Msg::End).is_err() {
                        return;
                    }
                }
            });
        }
        self.parallel = Some(Parallel {
            receivers,
            units: units.len(),
            next_unit: 0,
            pending: Vec::new(),
            pending_rows: 0,
        });
        self
    }

    /// The next batch of a parallel scan.
    fn parallel_step(&mut self) -> Result<Option<RecordBatch>> {
        let batch_size = self.batch_size;
        let schema = Arc::clone(&self.schema);
        let Some(p) = self.parallel.as_mut() else {
            return Ok(None);
        };
        loop {
            if p.pending_rows >= batch_size || (p.next_unit >= p.units && p.pending_rows > 0) {
                let all = if p.pending.len() == 1 {
                    p.pending
                        .pop()
                        .unwrap_or_else(|| RecordBatch::new_empty(Arc::clone(&schema)))
                } else {
                    let a = arrow_select::concat::concat_batches(&schema, &p.pending)?;
                    p.pending.clear();
                    a
                };
                let n = batch_size.min(all.num_rows());
                let rest = all.num_rows() - n;
                p.pending_rows = rest;
                if rest > 0 {
                    p.pending.push(all.slice(n, rest));
                }
                return Ok(Some(all.slice(0, n)));
            }
            if p.next_unit >= p.units {
                return Ok(None);
            }
            let rx = p
                .receivers
                .get(p.next_unit % p.receivers.len())
                .ok_or_else(|| PredicateError::InvalidArgument("no scan worker".into()))?;
            match rx.recv() {
                Ok(Msg::Batch(b)) => {
                    let b = b?;
                    if p.pending.is_empty() && b.num_rows() == batch_size {
                        return Ok(Some(b));
                    }
                    if b.num_rows() > 0 {
                        p.pending_rows += b.num_rows();
                        p.pending.push(b);
                    }
                }
                Ok(Msg::End) => p.next_unit += 1,
                Err(_) => {
                    return Err(PredicateError::InvalidArgument(
                        "a scan worker thread stopped".into(),
                    ));
                }
            }
        }
    }

    /// The batch built so far (`pending_rows` rows); the accumulators start again empty.
    fn emit(&mut self) -> Result<RecordBatch> {
        let mut cols = Vec::with_capacity(self.accs.len());
        for (acc, f) in self.accs.iter_mut().zip(self.schema.fields()) {
            cols.push(acc.finish(f.data_type())?);
        }
        let opts = RecordBatchOptions::new().with_row_count(Some(self.pending_rows));
        self.pending_rows = 0;
        Ok(RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            cols,
            &opts,
        )?)
    }

    fn step(&mut self) -> Result<Option<RecordBatch>> {
        if self.parallel.is_some() {
            return self.parallel_step();
        }
        loop {
            if self.pending_rows >= self.batch_size {
                return self.emit().map(Some);
            }
            if let Some(sel) = self.carry.take() {
                let Some(cursor) = self.cursor.as_mut() else {
                    continue;
                };
                let room = self.batch_size - self.pending_rows;
                let (head, tail) = sel.split(room);
                let n = head.count();
                // Room for the rest of the batch, as far as the scan can fill it: a sink made
                // now takes every segment's rows up to the batch's end without growing.
                let later = self.later_rows.get(self.next_segment).copied().unwrap_or(0);
                let capacity = room.min(
                    usize::try_from(cursor.range_rows.saturating_add(later)).unwrap_or(usize::MAX),
                );
                cursor.materialize(&head, &self.schema, &mut self.accs, capacity, &self.stats)?;
                self.pending_rows += n;
                self.stats.add(ROWS_MATCHED, n as u64);
                self.carry = tail;
                continue;
            }
            if self.cursor.is_none() {
                if self.next_segment >= self.segments.len() {
                    if self.pending_rows > 0 {
                        return self.emit().map(Some);
                    }
                    return Ok(None);
                }
                let i = self.next_segment;
                self.next_segment += 1;
                let seg = Arc::clone(&self.segments[i]);
                let needed = Arc::clone(&self.out_types);
                self.cursor = Cursor::open(
                    seg,
                    i + self.index_base,
                    self.predicate.as_ref(),
                    &needed,
                    self.deleted.get(&i),
                    self.rows.get(&i),
                    self.spans.get(&i).cloned(),
                    self.symbol_as,
                    self.counted.get(i).copied().unwrap_or(true),
                    &self.stats,
                    &mut self.resolved,
                )?;
                // While this segment is decoded, the next ones' tables and blocks are on
                // their way into the caches (see `Segment::prefetch`).
                if let Some(c) = &self.cursor {
                    for (stage, ahead) in [
                        (Prefetch::Handle, 3),
                        (Prefetch::Tables, 2),
                        (Prefetch::Blocks, 1),
                    ] {
                        if let Some(next) = self.segments.get(i + ahead) {
                            next.prefetch(stage, c.block_starts.iter().map(|(c, _)| c));
                        }
                    }
                }
                continue;
            }
            let Some(cursor) = self.cursor.as_mut() else {
                continue;
            };
            match cursor.next_range(
                self.predicate.as_ref(),
                self.deleted.get(&(cursor.seg_index - self.index_base)),
                &self.stats,
            )? {
                None => self.cursor = None,
                Some(sel) => self.carry = Some(sel),
            }
        }
    }
}

/// One output column of the batch being built: rows decoded straight into a [`ColumnSink`]
/// and, where that is not possible (a column missing from a segment, a cast, a predicate
/// column already decoded), finished arrays; joined in order when the batch is emitted.
#[derive(Debug, Default)]
struct Acc {
    sink: Option<ColumnSink>,
    /// The scan position of the segment the sink's rows come from, and the segment (named in
    /// errors; a handle, so a batch of many small segments allocates no path for each).
    origin: Option<(usize, Arc<Segment>)>,
    parts: Vec<ArrayRef>,
}

impl Acc {
    fn flush(&mut self) -> Result<()> {
        if let Some(s) = self.sink.as_mut()
            && !s.is_empty()
        {
            let a = s.finish().map_err(|source| PredicateError::Format {
                segment: self.origin.as_ref().map_or(0, |(i, _)| *i),
                path: self
                    .origin
                    .as_ref()
                    .and_then(|(_, s)| s.path().map(Path::to_path_buf)),
                source,
            })?;
            self.parts.push(a);
        }
        Ok(())
    }

    fn push(&mut self, a: ArrayRef) -> Result<()> {
        self.flush()?;
        self.parts.push(a);
        Ok(())
    }

    /// The sink to append rows of `block` of segment column `column` to (a new one when the
    /// current one cannot take them: another segment's symbol dictionary).
    fn sink_for(
        &mut self,
        seg: &Arc<Segment>,
        seg_index: usize,
        column: usize,
        block: &DecodedBlock,
        capacity: usize,
    ) -> Result<&mut ColumnSink> {
        if self.sink.as_ref().is_some_and(|s| !s.accepts(block)) {
            self.flush()?;
            self.sink = None;
        }
        if self.sink.is_none() {
            self.sink = Some(
                seg.sink(column, capacity)
                    .map_err(|e| fmt_err(seg, seg_index, e))?,
            );
        }
        if self.origin.as_ref().is_none_or(|(i, _)| *i != seg_index) {
            self.origin = Some((seg_index, Arc::clone(seg)));
        }
        self.sink
            .as_mut()
            .ok_or_else(|| PredicateError::InvalidArgument("no column sink".into()))
    }

    fn finish(&mut self, want: &arrow_schema::DataType) -> Result<ArrayRef> {
        self.flush()?;
        let a = match self.parts.len() {
            0 => arrow_array::new_empty_array(want),
            1 => self
                .parts
                .pop()
                .unwrap_or_else(|| arrow_array::new_empty_array(want)),
            _ => {
                let refs: Vec<&dyn Array> = self.parts.iter().map(AsRef::as_ref).collect();
                let a = arrow_select::concat::concat(&refs)?;
                self.parts.clear();
                a
            }
        };
        if a.data_type() == want {
            Ok(a)
        } else {
            Ok(arrow_cast::cast(&a, want)?)
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
        None,
        segment.symbol_as(),
        true,
        &stats,
        &mut None,
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
#[derive(Debug, Clone, Copy)]
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

impl Selection {
    /// Rows it keeps.
    fn count(&self) -> usize {
        match &self.keep {
            Keep::All => self.len,
            Keep::Mask(m) => m.true_count(),
        }
    }

    /// The first `room` (at least 1) kept rows, and the rest if any.
    fn split(self, room: usize) -> (Selection, Option<Selection>) {
        let room = room.max(1);
        let head_len = match &self.keep {
            Keep::All => room,
            Keep::Mask(m) => m
                .values()
                .set_indices()
                .nth(room - 1)
                .map_or(self.len, |i| i + 1),
        };
        if head_len >= self.len {
            return (self, None);
        }
        let (head, tail) = match &self.keep {
            Keep::All => (Keep::All, Keep::All),
            Keep::Mask(m) => (
                Keep::Mask(m.slice(0, head_len)),
                Keep::Mask(m.slice(head_len, self.len - head_len)),
            ),
        };
        let tail = Selection {
            start: self.start + head_len as u64,
            len: self.len - head_len,
            keep: tail,
        };
        let head = Selection {
            start: self.start,
            len: head_len,
            keep: head,
        };
        (head, (tail.count() > 0).then_some(tail))
    }
}

/// Walks the ranges of one segment.
#[derive(Debug)]
struct Cursor {
    seg: Arc<Segment>,
    seg_index: usize,
    /// Per predicate slot.
    pred_src: Arc<[(Source, DataType)]>,
    /// Per output column.
    out_src: Arc<[(Source, DataType)]>,
    /// Block start rows per segment column (with a final entry = row count), for involved ones.
    block_starts: ColMap<Arc<[u64]>>,
    ranges: Vec<(u64, u64)>,
    next: usize,
    /// Per segment column: the block last decoded for the predicate, as an array.
    cache: ColMap<(usize, ArrayRef)>,
    /// Per segment column: the block last read and checked.
    raw: ColMap<(usize, Arc<DecodedBlock>)>,
    /// Segment columns the predicate reads.
    pred_cols: Arc<[usize]>,
    /// Segment columns decoded straight into the output (see [`Cursor::materialize`]).
    sink_cols: Arc<[usize]>,
    /// Whether every involved column is cut into blocks at the same rows.
    shared_cuts: bool,
    /// Rows of `ranges` (those not ruled out at open): output buffers are sized to at most
    /// this, so a selective scan does not allocate (and fault in) a whole batch per column.
    range_rows: u64,
}

/// A value per segment column, for the few columns a scan involves: a vector indexed by column
/// (a map's search and node allocations were a per-segment cost in scans of many small
/// segments), iterated in column order.
#[derive(Debug)]
struct ColMap<T> {
    slots: Vec<Option<T>>,
    /// The smallest column holding a value.
    first: Option<usize>,
}

impl<T> ColMap<T> {
    fn new() -> Self {
        Self {
            slots: Vec::new(),
            first: None,
        }
    }
    /// Empty, with a slot for each of `n` columns (no growth as they are inserted).
    fn with_columns(n: usize) -> Self {
        let mut slots = Vec::with_capacity(n);
        slots.resize_with(n, || None);
        Self { slots, first: None }
    }
    fn get(&self, col: usize) -> Option<&T> {
        self.slots.get(col).and_then(Option::as_ref)
    }
    fn insert(&mut self, col: usize, v: T) {
        if self.slots.len() <= col {
            self.slots.resize_with(col + 1, || None);
        }
        if let Some(slot) = self.slots.get_mut(col) {
            *slot = Some(v);
            self.first = Some(self.first.map_or(col, |f| f.min(col)));
        }
    }
    fn iter(&self) -> impl Iterator<Item = (usize, &T)> {
        let from = self.first.unwrap_or(self.slots.len());
        self.slots
            .iter()
            .enumerate()
            .skip(from)
            .filter_map(|(c, v)| v.as_ref().map(|v| (c, v)))
    }
    fn first(&self) -> Option<usize> {
        self.first
    }
    fn is_empty(&self) -> bool {
        self.first.is_none()
    }
}

/// What a segment's columns resolved to: per predicate slot and per output column, and the
/// segment columns the predicate reads and those decoded straight into the output.
#[derive(Debug)]
struct Resolved {
    seg: Arc<Segment>,
    pred_src: Arc<[(Source, DataType)]>,
    out_src: Arc<[(Source, DataType)]>,
    pred_cols: Arc<[usize]>,
    sink_cols: Arc<[usize]>,
}

impl Resolved {
    /// Resolves the predicate's and the output's columns in `seg`.
    fn of(
        seg: &Arc<Segment>,
        predicate: Option<&BoundPredicate>,
        out: &[(String, DataType)],
        symbol_as: SymbolAs,
    ) -> Self {
        let pred_src: Arc<[(Source, DataType)]> = predicate
            .map(|p| {
                p.columns
                    .iter()
                    .map(|c| (resolve(seg, &c.name, &c.data_type), c.data_type.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let out_src: Arc<[(Source, DataType)]> = out
            .iter()
            .enumerate()
            .map(|(i, (n, t))| (resolve_near(seg, n, t, Some(i)), t.clone()))
            .collect();
        let mut pred_cols = Vec::with_capacity(pred_src.len());
        for (s, _) in pred_src.iter() {
            if let Source::Column { index, .. } = s {
                pred_cols.push(*index);
            }
        }
        let mut sink_cols = Vec::with_capacity(out_src.len());
        for (s, t) in out_src.iter() {
            if let Source::Column {
                index,
                same_type: true,
            } = s
                && !pred_cols.contains(index)
                && (*t != DataType::Symbol || seg.symbol_as() == symbol_as)
            {
                sink_cols.push(*index);
            }
        }
        Self {
            seg: Arc::clone(seg),
            pred_src,
            out_src,
            pred_cols: pred_cols.into(),
            sink_cols: sink_cols.into(),
        }
    }
}

fn resolve(seg: &Segment, name: &str, want: &DataType) -> Source {
    resolve_near(seg, name, want, None)
}

/// [`resolve`], trying field `hint` first ([`Segment::index_of_near`]).
fn resolve_near(seg: &Segment, name: &str, want: &DataType, hint: Option<usize>) -> Source {
    let at = match hint {
        Some(i) => seg.index_of_near(name, i),
        None => seg.schema().index_of(name),
    };
    match at {
        None => Source::Missing,
        Some(index) => Source::Column {
            index,
            same_type: seg.schema().field(index).map(|f| &f.data_type) == Some(want),
        },
    }
}

impl Cursor {
    /// Opens a segment; `None` when segment-level pruning (or deletes) rule it out.
    #[expect(
        clippy::too_many_arguments,
        reason = "the scan's settings for one segment, passed once at open"
    )]
    fn open(
        seg: Arc<Segment>,
        seg_index: usize,
        predicate: Option<&BoundPredicate>,
        out: &[(String, DataType)],
        deleted: Option<&RoaringBitmap>,
        only: Option<&std::ops::Range<u64>>,
        span: Option<std::ops::Range<u64>>,
        symbol_as: SymbolAs,
        count_segment: bool,
        stats: &ScanStatsHandle,
        resolved: &mut Option<Resolved>,
    ) -> Result<Option<Cursor>> {
        // The segment before, with the same columns, resolved them already (the same
        // predicate and output throughout a scan): a scan of many small segments found the
        // same columns again in each, following a cold name and type per field.
        // (Which columns go straight into the output also depends on how the segment gives
        // its symbol columns, compared too.)
        let r = match resolved.take() {
            Some(r) if r.seg.same_columns_as(&seg) && r.seg.symbol_as() == seg.symbol_as() => {
                Resolved {
                    seg: Arc::clone(&seg),
                    ..r
                }
            }
            _ => Resolved::of(&seg, predicate, out, symbol_as),
        };
        let (pred_src, out_src) = (Arc::clone(&r.pred_src), Arc::clone(&r.out_src));
        let (pred_cols, sink_cols) = (Arc::clone(&r.pred_cols), Arc::clone(&r.sink_cols));
        *resolved = Some(r);
        let footer = seg.footer();
        let rows = footer.row_count;
        let mut block_starts = ColMap::with_columns(seg.num_columns());
        for (src, _) in pred_src.iter().chain(out_src.iter()) {
            if let Source::Column { index, .. } = src {
                let starts = seg.block_starts(*index).ok_or_else(|| {
                    fmt_err(
                        &seg,
                        seg_index,
                        FormatError::InvalidArgument(format!("no column {index}")),
                    )
                })?;
                let starts = Arc::clone(starts);
                block_starts.insert(*index, starts);
            }
        }
        // Columns are usually cut at the same rows: then their starts are the bounds as they
        // are, and only columns cut differently are merged in (a sort of every block start of
        // every column cost a wide table more than the blocks a selective scan reads).
        let mut cuts: Vec<&Arc<[u64]>> = Vec::new();
        for (_, starts) in block_starts.iter() {
            if !cuts.iter().any(|c| Arc::ptr_eq(c, starts) || c == &starts) {
                cuts.push(starts);
            }
        }
        let shared_cuts = cuts.len() == 1;
        let mut bounds: Vec<u64> =
            Vec::with_capacity(cuts.iter().map(|c| c.len()).sum::<usize>() + 2);
        bounds.push(0);
        bounds.extend(cuts.iter().flat_map(|c| c.iter()).copied());
        if block_starts.is_empty() {
            let step = u64::from(footer.block_rows.max(1));
            bounds.extend((0..rows).step_by(usize::try_from(step).unwrap_or(1024)));
        }
        bounds.push(rows);
        if !bounds.is_sorted() {
            bounds.sort_unstable();
        }
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

        if count_segment {
            stats.add(SEGMENTS_TOTAL, 1);
        }
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
            if count_segment {
                stats.add(SEGMENTS_PRUNED, 1);
            }
            stats.add(BLOCKS_PRUNED, ranges.len() as u64);
            return Ok(None);
        }
        // Ranges outside the rows the predicate's sorted columns allow are never looked at.
        if let Some(p) = predicate {
            let span =
                span.unwrap_or_else(|| candidate_rows(p, &seg, pred_src.iter().map(|(s, _)| s)));
            let before = ranges.len();
            ranges.retain(|&(s, e)| e > span.start && s < span.end);
            stats.add(BLOCKS_PRUNED, (before - ranges.len()) as u64);
            if ranges.is_empty() {
                if count_segment {
                    stats.add(SEGMENTS_PRUNED, 1);
                }
                return Ok(None);
            }
        }
        let range_rows = ranges.iter().map(|&(s, e)| e - s).sum();
        seg.warm(block_starts.iter().map(|(c, _)| c));
        let columns = seg.num_columns();
        Ok(Some(Cursor {
            seg,
            seg_index,
            pred_src,
            out_src,
            block_starts,
            ranges,
            next: 0,
            cache: ColMap::new(),
            raw: ColMap::with_columns(columns),
            pred_cols,
            sink_cols,
            shared_cuts,
            range_rows,
        }))
    }

    /// Block index of segment column `col` holding row `row`, and that block's first row.
    fn block_of(&self, col: usize, row: u64) -> Option<(usize, u64)> {
        let starts = self.block_starts.get(col)?;
        let i = starts.partition_point(|&s| s <= row).checked_sub(1)?;
        Some((i, *starts.get(i)?))
    }

    /// Block `b` of segment column `col`, read and checked (cached per column). A miss reads
    /// the same stripe's blocks of the other columns of `group` in the same request (of every
    /// column the scan reads where requests cost more than bytes: an object store).
    fn raw_block(
        &mut self,
        col: usize,
        b: usize,
        group: Group,
        stats: &ScanStatsHandle,
    ) -> Result<Arc<DecodedBlock>> {
        if let Some((cb, d)) = self.raw.get(col)
            && *cb == b
        {
            return Ok(Arc::clone(d));
        }
        let first = self
            .block_starts
            .get(col)
            .and_then(|s| s.get(b))
            .copied()
            .unwrap_or(0);
        // Sized for the whole group at once (grown a push at a time, it was reallocated four
        // times a segment in a scan of many small ones).
        let mut batch = Vec::with_capacity(1 + self.seg.num_columns());
        batch.push((col, b));
        let shared = self.shared_cuts;
        // The same stripe's block of column `c`, unless it is the one asked for or cached
        // (columns cut alike: block `b` too, with no search).
        let mut bring = |c: usize| {
            if c == col || batch.iter().any(|&(x, _)| x == c) {
                return;
            }
            if let Some(starts) = self.block_starts.get(c)
                && let Some(i) = if shared {
                    Some(b)
                } else {
                    starts.binary_search(&first).ok()
                }
                && i + 1 < starts.len()
                && self.raw.get(c).map(|(cb, _)| *cb) != Some(i)
            {
                batch.push((c, i));
            }
        };
        if self.seg.prefers_few_requests() {
            self.block_starts.iter().for_each(|(c, _)| bring(c));
        } else {
            let group = match group {
                Group::Predicate => &self.pred_cols,
                Group::Output => &self.sink_cols,
            };
            group.iter().for_each(|&c| bring(c));
        }
        let decoded = self
            .seg
            .decode_blocks(&batch)
            .map_err(|e| fmt_err(&self.seg, self.seg_index, e))?;
        let mut wanted = None;
        // Counted once for the batch: the counters are shared with the caller's handle.
        stats.add(BLOCKS_DECODED, batch.len() as u64);
        let bytes: u64 = batch
            .iter()
            .map(|&(c, blk)| self.seg.block_len(c, blk).unwrap_or(0))
            .sum();
        stats.add(BYTES_READ, bytes);
        for (&(c, blk), d) in batch.iter().zip(decoded) {
            if c == col {
                wanted = Some(Arc::clone(&d));
            }
            self.raw.insert(c, (blk, d));
        }
        wanted.ok_or_else(|| {
            PredicateError::InvalidArgument(format!("block {b} of column {col} not read"))
        })
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
        let array = match self.cache.get(col) {
            Some((cb, a)) if *cb == b => Arc::clone(a),
            _ => {
                let d = self.raw_block(col, b, Group::Predicate, stats)?;
                let fe = |e| fmt_err(&self.seg, self.seg_index, e);
                let mut sink = self.seg.sink(col, d.rows()).map_err(fe)?;
                sink.append(&d, 0..d.rows(), None).map_err(fe)?;
                let a = sink.finish().map_err(fe)?;
                self.cache.insert(col, (b, Arc::clone(&a)));
                a
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
                        let pred_src = Arc::clone(&self.pred_src);
                        for (src, t) in pred_src.iter() {
                            cols.push(match *src {
                                Source::Missing => new_null_array(&t.to_arrow(SymbolAs::Utf8), len),
                                Source::Column { index, .. } => {
                                    conform(&self.column_range(index, r0, len, stats)?, t)?
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
        // Columns cut at the same rows share the block index: one search per range, not one
        // per column and comparison.
        let shared = if self.shared_cuts {
            self.block_starts
                .first()
                .and_then(|c| self.block_of(c, r0))
                .map(|(b, _)| b)
        } else {
            None
        };
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
                let block = shared
                    .or_else(|| self.block_of(*index, r0).map(|(b, _)| b))
                    .and_then(|b| meta.and_then(|m| m.blocks.get(b)));
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

    /// Appends the projected columns of a selection to the batch being built: blocks of the
    /// columns in `sink_cols` go straight into their output buffers; the others (missing, cast,
    /// already decoded for the predicate) as arrays.
    fn materialize(
        &mut self,
        sel: &Selection,
        schema: &SchemaRef,
        accs: &mut [Acc],
        capacity: usize,
        stats: &ScanStatsHandle,
    ) -> Result<()> {
        let n = sel.count();
        let mask = match &sel.keep {
            Keep::All => None,
            Keep::Mask(m) => Some(m.values().clone()),
        };
        for i in 0..self.out_src.len() {
            let src = self.out_src.get(i).map(|(s, _)| *s);
            let want = schema.fields().get(i).map(|f| f.data_type());
            let (Some(src), Some(want), Some(acc)) = (src, want, accs.get_mut(i)) else {
                return Err(PredicateError::InvalidArgument(format!(
                    "no output column {i}"
                )));
            };
            match src {
                Source::Missing => acc.push(new_null_array(want, n))?,
                Source::Column { index, .. } if self.sink_cols.contains(&index) => {
                    let (b, first) = self.block_of(index, sel.start).ok_or_else(|| {
                        PredicateError::InvalidArgument(format!(
                            "no block of column {index} at row {}",
                            sel.start
                        ))
                    })?;
                    let d = self.raw_block(index, b, Group::Output, stats)?;
                    let off = usize::try_from(sel.start - first).unwrap_or(usize::MAX);
                    let range = off..off.saturating_add(sel.len);
                    acc.sink_for(&self.seg, self.seg_index, index, &d, capacity)?
                        .append(&d, range, mask.as_ref())
                        .map_err(|e| fmt_err(&self.seg, self.seg_index, e))?;
                }
                Source::Column { index, .. } => {
                    let a = self.column_range(index, sel.start, sel.len, stats)?;
                    let a = match &sel.keep {
                        Keep::All => a,
                        Keep::Mask(m) => filter(a.as_ref(), m)?,
                    };
                    let a = if a.data_type() == want {
                        a
                    } else {
                        arrow_cast::cast(&a, want)?
                    };
                    acc.push(a)?;
                }
            }
        }
        Ok(())
    }
}

/// Which columns a block read brings along (see [`Cursor::raw_block`]).
#[derive(Debug, Clone, Copy)]
enum Group {
    Predicate,
    Output,
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
        self.prune_stripe(seg, &self.sources(seg), block)
    }

    /// Where each of the predicate's columns is in `seg`.
    fn sources(&self, seg: &Segment) -> Vec<Source> {
        self.columns
            .iter()
            .map(|c| resolve(seg, &c.name, &c.data_type))
            .collect()
    }

    /// [`Self::prune_block`] with the predicate's columns already resolved (`sources`).
    fn prune_stripe(&self, seg: &Segment, sources: &[Source], block: usize) -> Outcomes {
        let footer = seg.footer();
        let rows = footer
            .columns
            .first()
            .and_then(|c| c.blocks.get(block))
            .map_or(0, |b| u64::from(b.rows));
        let facts = |slot: usize| match sources.get(slot) {
            None => ColumnFacts::Unknown,
            Some(Source::Missing) => ColumnFacts::Missing { rows },
            Some(Source::Column {
                same_type: false, ..
            }) => ColumnFacts::Unknown,
            Some(Source::Column { index, .. }) => {
                let meta = footer.columns.get(*index);
                match (meta, meta.and_then(|m| m.blocks.get(block))) {
                    (Some(m), Some(b)) => ColumnFacts::Known {
                        stats: &b.stats,
                        bloom: b.bloom.as_ref(),
                        dictionary: m.dictionary.as_deref(),
                    },
                    _ => ColumnFacts::Unknown,
                }
            }
        };
        outcomes(&self.expr, &facts)
    }
}

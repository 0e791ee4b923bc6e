//! Reads: [`Snapshot`] (a table at one moment), [`ScanBuilder`] and [`TableScan`].

use std::collections::VecDeque;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use strata_compactor::TableIndex;
use strata_format::{Schema, SymbolAs};
use strata_memtable::MemtableSnapshot;
use strata_partition_registry::SegmentEntry;
use strata_predicate::{BoundPredicate, Projection, ScanIter, ScanStats};

use crate::error::{Result, TableError};
use crate::table::{Frozen, Table};

fn arrow_error(context: &str, source: arrow_schema::ArrowError) -> TableError {
    TableError::Arrow {
        context: context.to_string(),
        source,
    }
}

/// A table at one moment (see [`Table::snapshot`]): the published segment index and the rows
/// still in the write buffer.
#[derive(Debug, Clone)]
pub struct Snapshot {
    index: Arc<TableIndex>,
    frozen: Vec<Arc<Frozen>>,
    memtable: Arc<MemtableSnapshot>,
}

impl Snapshot {
    pub(crate) fn new(
        index: Arc<TableIndex>,
        frozen: Vec<Arc<Frozen>>,
        memtable: Arc<MemtableSnapshot>,
    ) -> Self {
        Self {
            index,
            frozen,
            memtable,
        }
    }

    /// The manifest version of the segments it reads.
    pub fn version(&self) -> u64 {
        self.index.version
    }

    /// The table schema as of this snapshot.
    pub fn schema(&self) -> &Schema {
        &self.index.schema
    }

    /// The segment index it reads (partitions, segments, deletion vectors).
    pub fn index(&self) -> &Arc<TableIndex> {
        &self.index
    }

    /// The segments it reads, with their manifest entries.
    pub fn segments(&self) -> impl Iterator<Item = &SegmentEntry> {
        self.index.segments().map(|h| &h.entry)
    }

    /// Rows it holds that are still in the write buffer.
    pub fn buffered_rows(&self) -> u64 {
        let frozen: usize = self.frozen.iter().map(|f| f.batch.num_rows()).sum();
        (frozen + self.memtable.rows()) as u64
    }

    /// Live rows: segment rows minus deleted rows, plus buffered rows.
    pub fn live_rows(&self) -> u64 {
        self.index.live_rows() + self.buffered_rows()
    }

    /// A scan builder over this snapshot.
    pub fn scan(&self) -> ScanBuilder<'_> {
        ScanBuilder {
            source: Source::Snapshot(self),
            projection: None,
            filter: None,
            batch_size: None,
            threads: None,
            parts: Parts::All,
        }
    }

    /// The buffered rows as batches of the table's Arrow form (`Symbol` as `Utf8`).
    fn buffered_batches(&self) -> Result<Vec<RecordBatch>> {
        let target = Arc::new(self.index.schema.to_arrow(SymbolAs::Utf8));
        let mut out = Vec::with_capacity(self.frozen.len() + 1);
        for f in &self.frozen {
            out.push(conform(&f.batch, &target)?);
        }
        if let Some(b) = self.memtable.to_batch()? {
            out.push(conform(&b, &target)?);
        }
        Ok(out)
    }

    fn execute(
        &self,
        projection: Option<Vec<String>>,
        filter: Option<Filter>,
        batch_size: Option<usize>,
        threads: Option<usize>,
        parts: &Parts,
    ) -> Result<TableScan> {
        let mut scan = match parts {
            Parts::All => self.index.scan(),
            Parts::Segments(ids) => self.index.scan_segments(ids),
            Parts::Rows(parts) => self.index.scan_rows(parts),
            Parts::Buffer => self.index.scan_segments(&[]),
        };
        let predicate = match filter {
            Some(Filter::Text(t)) => Some(BoundPredicate::parse_and_bind(&t, &self.index.schema)?),
            Some(Filter::Bound(b)) => Some(b),
            None => None,
        };
        if let Some(p) = projection {
            scan = scan.projection(Projection::Names(p));
        }
        if let Some(p) = &predicate {
            scan = scan.predicate(p.clone());
        }
        let batch_size = batch_size.unwrap_or(strata_predicate::DEFAULT_BATCH_SIZE);
        scan = scan.batch_size(batch_size);
        if let Some(n) = threads {
            scan = scan.threads(n);
        }
        let inner = scan.execute()?;
        let out_schema = inner.schema();
        let mut buffered = VecDeque::new();
        let mut buffered_rows = 0u64;
        let buffer = if matches!(parts, Parts::Segments(_) | Parts::Rows(_)) {
            Vec::new()
        } else {
            self.buffered_batches()?
        };
        for b in buffer {
            let b = match &predicate {
                Some(p) => {
                    let mask = p.evaluate(&b)?;
                    arrow_select::filter::filter_record_batch(&b, &mask)
                        .map_err(|e| arrow_error("filtering buffered rows", e))?
                }
                None => b,
            };
            if b.num_rows() == 0 {
                continue;
            }
            let columns = out_schema
                .fields()
                .iter()
                .map(|f| {
                    b.column_by_name(f.name())
                        .cloned()
                        .ok_or_else(|| TableError::Arrow {
                            context: "projecting buffered rows".into(),
                            source: arrow_schema::ArrowError::SchemaError(format!(
                                "no column {:?}",
                                f.name()
                            )),
                        })
                })
                .collect::<Result<Vec<_>>>()?;
            let b = RecordBatch::try_new(Arc::clone(&out_schema), columns)
                .map_err(|e| arrow_error("projecting buffered rows", e))?;
            buffered_rows += b.num_rows() as u64;
            let mut offset = 0;
            while offset < b.num_rows() {
                let n = batch_size.max(1).min(b.num_rows() - offset);
                buffered.push_back(b.slice(offset, n));
                offset += n;
            }
        }
        Ok(TableScan {
            inner,
            buffered,
            buffered_rows,
            _index: Arc::clone(&self.index),
        })
    }
}

/// `batch` with the columns and types of `target` (dictionary symbols cast to strings).
fn conform(batch: &RecordBatch, target: &SchemaRef) -> Result<RecordBatch> {
    let columns = target
        .fields()
        .iter()
        .map(|f| {
            let col = batch
                .column_by_name(f.name())
                .ok_or_else(|| TableError::Arrow {
                    context: "reading buffered rows".into(),
                    source: arrow_schema::ArrowError::SchemaError(format!(
                        "no column {:?}",
                        f.name()
                    )),
                })?;
            if col.data_type() == f.data_type() {
                Ok(Arc::clone(col))
            } else {
                arrow_cast::cast(col.as_ref(), f.data_type())
                    .map_err(|e| arrow_error("reading buffered rows", e))
            }
        })
        .collect::<Result<Vec<_>>>()?;
    RecordBatch::try_new(Arc::clone(target), columns)
        .map_err(|e| arrow_error("reading buffered rows", e))
}

#[derive(Debug, Clone)]
enum Filter {
    Text(String),
    Bound(BoundPredicate),
}

#[derive(Debug)]
enum Source<'a> {
    Table(&'a Table),
    Snapshot(&'a Snapshot),
}

/// Builds a scan: projection, predicate and batch size, then [`ScanBuilder::execute`].
#[derive(Debug)]
#[must_use = "a scan builder does nothing until executed"]
pub struct ScanBuilder<'a> {
    source: Source<'a>,
    projection: Option<Vec<String>>,
    filter: Option<Filter>,
    batch_size: Option<usize>,
    threads: Option<usize>,
    parts: Parts,
}

/// Which of a snapshot's rows a scan reads.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Parts {
    /// Every live segment, then the write buffer.
    All,
    /// Only these segments (ids), no buffered rows.
    Segments(Vec<u64>),
    /// Only these row ranges of these segments (ids), no buffered rows.
    Rows(Vec<(u64, std::ops::Range<u64>)>),
    /// Only the write buffer's rows.
    Buffer,
}

impl<'a> ScanBuilder<'a> {
    pub(crate) fn over_table(table: &'a Table) -> Self {
        ScanBuilder {
            source: Source::Table(table),
            projection: None,
            filter: None,
            batch_size: None,
            threads: None,
            parts: Parts::All,
        }
    }

    /// Returns only these columns, in this order.
    pub fn columns<S: Into<String>>(mut self, columns: impl IntoIterator<Item = S>) -> Self {
        self.projection = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// Keeps the rows where `predicate` (text, bound at execution) is TRUE.
    pub fn filter(mut self, predicate: impl Into<String>) -> Self {
        self.filter = Some(Filter::Text(predicate.into()));
        self
    }

    /// Keeps the rows where a predicate bound to the table schema is TRUE.
    pub fn predicate(mut self, predicate: BoundPredicate) -> Self {
        self.filter = Some(Filter::Bound(predicate));
        self
    }

    /// Rows per output batch.
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = Some(n);
        self
    }

    /// Decodes on up to `n` threads (default: the cores available; 1: only on the caller's
    /// thread, as an engine that runs its own partitions in parallel wants). Batches come back
    /// in the same order and sizes whatever the count.
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = Some(n);
        self
    }

    /// Reads only the live segments with these ids (see [`Snapshot::segments`]) and none of
    /// the write buffer's rows, so that parallel readers can split one snapshot between them:
    /// the scans of disjoint id sets plus [`Self::only_buffer`] read each row exactly once.
    pub fn only_segments(mut self, ids: impl IntoIterator<Item = u64>) -> Self {
        self.parts = Parts::Segments(ids.into_iter().collect());
        self
    }

    /// Reads only these row ranges (positions in the segment file, deleted rows still left out)
    /// of the live segments with these ids, and none of the write buffer's rows: like
    /// [`Self::only_segments`], but one large segment can be split between parallel readers.
    /// Scans of disjoint ranges read each row exactly once.
    pub fn only_rows(
        mut self,
        parts: impl IntoIterator<Item = (u64, std::ops::Range<u64>)>,
    ) -> Self {
        self.parts = Parts::Rows(parts.into_iter().collect());
        self
    }

    /// Reads only the rows in the write buffer (not yet in a segment).
    pub fn only_buffer(mut self) -> Self {
        self.parts = Parts::Buffer;
        self
    }

    /// Starts the scan (from a table: over a snapshot taken now).
    pub fn execute(self) -> Result<TableScan> {
        match self.source {
            Source::Table(t) => {
                t.check_open()?;
                t.snapshot()?.execute(
                    self.projection,
                    self.filter,
                    self.batch_size,
                    self.threads,
                    &self.parts,
                )
            }
            Source::Snapshot(s) => s.execute(
                self.projection,
                self.filter,
                self.batch_size,
                self.threads,
                &self.parts,
            ),
        }
    }
}

/// The record batches of a scan (segments first, then buffered rows), with its statistics.
#[derive(Debug)]
pub struct TableScan {
    inner: ScanIter,
    buffered: VecDeque<RecordBatch>,
    buffered_rows: u64,
    /// Keeps the scanned segment files from deletion until the scan is dropped.
    _index: Arc<TableIndex>,
}

impl TableScan {
    /// The schema of every batch.
    pub fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    /// Statistics so far (final once the iterator is exhausted). Buffered rows count in
    /// `rows_matched` (all of them, from the start).
    pub fn stats(&self) -> ScanStats {
        let mut s = self.inner.stats();
        s.rows_matched += self.buffered_rows;
        s
    }
}

impl Iterator for TableScan {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(r) = self.inner.next() {
            return Some(r.map_err(TableError::from));
        }
        self.buffered.pop_front().map(Ok)
    }
}

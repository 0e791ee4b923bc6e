//! `StrataTable`: a Strata table (or one snapshot of it) as a DataFusion `TableProvider`.

use std::sync::Arc;

use arrow_schema::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::{Result as DfResult, SchemaExt, Statistics, not_impl_err};
use datafusion::datasource::TableType;
use datafusion::datasource::sink::DataSinkExec;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use strata::{Schema, Snapshot, SymbolAs, Table, TableOptions};

use crate::error::{Error, Result};
use crate::exec::{Share, StrataScanExec};
use crate::insert::StrataSink;
use crate::pushdown::{classify, conjunction};
use crate::stats::statistics;

#[derive(Debug, Clone)]
enum Source {
    /// Every scan pins a new snapshot; INSERT writes through the table.
    Table(Arc<Table>),
    /// Every scan reads this snapshot; no INSERT.
    Snapshot(Snapshot),
}

/// A Strata table as a DataFusion table. Symbol columns appear as `Utf8`.
///
/// Made from a [`Table`] ([`StrataTable::new`]), each query reads a snapshot pinned when it is
/// planned, and `INSERT INTO` appends in one transaction per statement. Made from a
/// [`Snapshot`] ([`StrataTable::from_snapshot`]), every query reads that snapshot.
///
/// Given a location ([`StrataTable::with_location`], or opened with [`StrataTable::open_at`]),
/// its scans can be sent to other processes ([`StrataScanExec::to_parts`]).
#[derive(Debug, Clone)]
pub struct StrataTable {
    source: Source,
    location: Option<Arc<str>>,
    schema: Schema,
    arrow_schema: SchemaRef,
}

impl StrataTable {
    /// A provider over `table`, with the table's current schema.
    pub fn new(table: Arc<Table>) -> Self {
        let schema = table.schema();
        Self::with(Source::Table(table), schema)
    }

    /// A provider over one fixed snapshot (read-only).
    pub fn from_snapshot(snapshot: Snapshot) -> Self {
        let schema = snapshot.schema().clone();
        Self::with(Source::Snapshot(snapshot), schema)
    }

    /// A provider over the table at `location` (a URL such as `s3://bucket/prefix` or
    /// `memory://name`, or a local directory) opened read-only, with default options, as of
    /// manifest version `version` (`None`: the latest), with that location set. `INSERT`
    /// fails: the table is read-only.
    pub fn open_at(location: &str, version: Option<u64>) -> Result<Self> {
        let (table, _) = Table::open_read_only_at(location, TableOptions::default(), version)?;
        Ok(Self::new(Arc::new(table)).with_location(location))
    }

    /// The same provider, telling its scans where another process can open the table
    /// (the URL it was created or opened at). Needed to send its scans to distributed workers.
    pub fn with_location(mut self, location: impl Into<Arc<str>>) -> Self {
        self.location = Some(location.into());
        self
    }

    /// Where another process can open the table, if set.
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }

    fn with(source: Source, schema: Schema) -> Self {
        let arrow_schema = Arc::new(schema.to_arrow(SymbolAs::Utf8));
        Self {
            source,
            location: None,
            schema,
            arrow_schema,
        }
    }

    /// The table it writes to, when made from one.
    pub fn table(&self) -> Option<&Arc<Table>> {
        match &self.source {
            Source::Table(t) => Some(t),
            Source::Snapshot(_) => None,
        }
    }

    /// The snapshot a query planned now reads (checked against the registered schema).
    pub fn snapshot(&self) -> Result<Snapshot> {
        let snapshot = match &self.source {
            Source::Table(t) => t.snapshot()?,
            Source::Snapshot(s) => s.clone(),
        };
        if snapshot.schema().fields != self.schema.fields {
            let column = snapshot
                .schema()
                .fields
                .iter()
                .zip(&self.schema.fields)
                .find(|(a, b)| a != b)
                .map_or_else(String::new, |(a, _)| a.name.clone());
            return Err(Error::SchemaChanged { column });
        }
        Ok(snapshot)
    }

    /// How each of `filters` would be pushed down (see [`crate::classify`]).
    pub fn filter_pushdown(&self, filters: &[&Expr]) -> Vec<TableProviderFilterPushDown> {
        filters.iter().map(|f| classify(f, &self.schema)).collect()
    }

    /// The physical scan (also what [`TableProvider::scan`](datafusion::catalog::TableProvider::scan) returns).
    pub fn scan_plan(
        &self,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
        target_partitions: usize,
        batch_size: usize,
    ) -> Result<StrataScanExec> {
        let snapshot = self.snapshot()?;
        let projection: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.schema.fields.len()).collect(),
        };
        let schema = Arc::new(self.arrow_schema.project(&projection)?);
        let (predicate, all_exact) = conjunction(filters, &self.schema);
        // DataFusion pushes a limit only past exact filters; check anyway, since a partition
        // that stops early must have seen every filter applied.
        let limit = limit.filter(|_| all_exact);
        let shares = shares(&snapshot, target_partitions.max(1), limit);
        Ok(StrataScanExec::new(
            snapshot,
            self.location.clone(),
            shares,
            projection,
            predicate,
            limit,
            batch_size.max(1),
            schema,
        ))
    }
}

/// The output partitions: the snapshot's segments spread over at most `target` of them, and
/// the write buffer's rows, if any, in one more. Always at least one partition.
fn shares(snapshot: &Snapshot, target: usize, limit: Option<usize>) -> Vec<Share> {
    let mut out = segment_shares(snapshot, target, limit);
    if snapshot.buffered_rows() > 0 {
        out.retain(|s| !matches!(s, Share::Segments(parts) if parts.is_empty()));
        out.push(Share::Buffer);
    }
    out
}

/// Slices of a split segment start at multiples of this many rows (a multiple of the usual
/// block size, so neighbouring slices seldom decode the same block).
const SLICE_ALIGN: u64 = 65_536;

/// A segment id and the rows of it a share reads.
type Slice = (u64, std::ops::Range<u64>);

/// The snapshot's segments spread over at most `target` shares. A segment holding more than a
/// fair share of the rows is cut into row slices of about a fair share (never below
/// [`SLICE_ALIGN`] rows), so a table of one large segment is still read by `target` threads;
/// then the pieces go largest first onto the least loaded share.
pub(crate) fn segment_shares(
    snapshot: &Snapshot,
    target: usize,
    limit: Option<usize>,
) -> Vec<Share> {
    let segments: Vec<(u64, u64, u64)> = snapshot
        .index()
        .segments()
        .map(|h| (h.entry.id, h.entry.rows, h.live_rows()))
        .filter(|(_, _, live)| *live > 0)
        .collect();
    // A small limit is met by one partition reading in order.
    let target = if limit.is_some_and(|l| l < 100_000) {
        1
    } else {
        target
    };
    let whole = |segments: &[(u64, u64, u64)]| {
        vec![Share::Segments(
            segments
                .iter()
                .map(|(id, rows, _)| (*id, 0..*rows))
                .collect(),
        )]
    };
    if target <= 1 {
        return whole(&segments);
    }
    let total: u64 = segments.iter().map(|s| s.2).sum();
    let quota = total.div_ceil(target as u64).max(SLICE_ALIGN);
    let mut pieces: Vec<(u64, std::ops::Range<u64>, u64)> = Vec::new();
    for &(id, rows, live) in &segments {
        if rows <= quota {
            pieces.push((id, 0..rows, live));
            continue;
        }
        let step = rows
            .div_ceil(rows.div_ceil(quota))
            .next_multiple_of(SLICE_ALIGN);
        let mut start = 0;
        while start < rows {
            let end = start.saturating_add(step).min(rows);
            // Deleted rows are spread evenly for this estimate.
            let weight = live.saturating_mul(end - start) / rows.max(1);
            pieces.push((id, start..end, weight));
            start = end;
        }
    }
    let n = target.min(pieces.len());
    if n <= 1 {
        return whole(&segments);
    }
    pieces.sort_by_key(|(id, rows, weight)| (std::cmp::Reverse(*weight), *id, rows.start));
    let mut parts: Vec<(u64, Vec<Slice>)> = vec![(0, Vec::new()); n];
    for (id, rows, weight) in pieces {
        if let Some(p) = parts.iter_mut().min_by_key(|(load, _)| *load) {
            p.0 += weight;
            p.1.push((id, rows));
        }
    }
    parts
        .into_iter()
        .map(|(_, mut share)| {
            share.sort_by_key(|(id, rows)| (*id, rows.start));
            Share::Segments(share)
        })
        .collect()
}

#[async_trait]
impl datafusion::catalog::TableProvider for StrataTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.arrow_schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let config = state.config();
        let plan = self.scan_plan(
            projection,
            filters,
            limit,
            config.target_partitions(),
            config.batch_size(),
        )?;
        Ok(Arc::new(plan))
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        Ok(self.filter_pushdown(filters))
    }

    fn statistics(&self) -> Option<Statistics> {
        let snapshot = self.snapshot().ok()?;
        let segments: Vec<_> = snapshot.index().segments().collect();
        let all: Vec<usize> = (0..self.schema.fields.len()).collect();
        Some(statistics(
            &self.schema,
            &all,
            &segments,
            snapshot.buffered_rows(),
        ))
    }

    async fn insert_into(
        &self,
        _state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        insert_op: InsertOp,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let Source::Table(table) = &self.source else {
            return Err(Error::ReadOnlySnapshot.into());
        };
        if insert_op != InsertOp::Append {
            return not_impl_err!("{insert_op} into a Strata table (only INSERT INTO appends)");
        }
        self.arrow_schema
            .logically_equivalent_names_and_types(&input.schema())?;
        let sink = StrataSink::new(Arc::clone(table), Arc::clone(&self.arrow_schema));
        Ok(Arc::new(DataSinkExec::new(input, Arc::new(sink), None)))
    }
}

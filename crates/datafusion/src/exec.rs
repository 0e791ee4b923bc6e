//! `StrataScanExec`: the physical scan of a snapshot, one output partition per share of its
//! segments (and one for the write buffer's rows, if any), each read on a blocking thread and
//! streamed through a small channel.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use arrow_array::{RecordBatch, RecordBatchOptions};
use arrow_schema::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{Result as DfResult, Statistics};
use datafusion::error::DataFusionError;
use datafusion::execution::TaskContext;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{
    Count, ExecutionPlanMetricsSet, MetricBuilder, MetricsSet,
};
use datafusion::physical_plan::statistics::StatisticsArgs;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    ReplaceChildrenOptions, SendableRecordBatchStream,
};
use strata::stack::compactor::SegmentHandle;
use strata::stack::predicate::ScanStats;
use strata::{BoundPredicate, Snapshot, SymbolAs};
use tokio::sync::mpsc;

use crate::error::{Error, Result};
use crate::stats::statistics;

/// Batches a partition may have in flight before its reader waits.
const CHANNEL_DEPTH: usize = 2;

/// What one output partition reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Share {
    /// These row ranges of these segments (ids); a whole segment is `0..rows`.
    Segments(Vec<(u64, std::ops::Range<u64>)>),
    /// The write buffer's rows (not yet in a segment).
    Buffer,
}

/// The scan of one pinned snapshot.
#[derive(Debug)]
pub struct StrataScanExec {
    snapshot: Snapshot,
    /// Where another process can open the table (a URL), if the provider was told.
    location: Option<Arc<str>>,
    shares: Vec<Share>,
    /// Table column indices read, in output order.
    projection: Vec<usize>,
    predicate: Option<BoundPredicate>,
    /// Rows a partition may stop after (only when every filter was answered exactly).
    limit: Option<usize>,
    batch_size: usize,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

/// A scan that reads only segments, as plain data: what another process (a worker of a
/// distributed engine) needs to rebuild the same scan with [`StrataScanExec::from_parts`] over
/// its own copy of the table, opened read-only at `location` and manifest `version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanParts {
    /// Where the table lives: a URL such as `s3://bucket/prefix` or `memory://name`.
    pub location: String,
    /// The manifest version the scan reads.
    pub version: u64,
    /// Per output partition: the segments (ids) and the row ranges of each it reads.
    pub shares: Vec<Vec<(u64, Range<u64>)>>,
    /// Table column indices read, in output order.
    pub projection: Vec<usize>,
    /// The pushed-down predicate in Strata's textual form (it parses back to the same one).
    pub predicate: Option<String>,
    /// Rows a partition may stop after.
    pub limit: Option<usize>,
    /// Rows per batch.
    pub batch_size: usize,
}

impl StrataScanExec {
    #[expect(
        clippy::too_many_arguments,
        reason = "one private constructor of plain parts"
    )]
    pub(crate) fn new(
        snapshot: Snapshot,
        location: Option<Arc<str>>,
        shares: Vec<Share>,
        projection: Vec<usize>,
        predicate: Option<BoundPredicate>,
        limit: Option<usize>,
        batch_size: usize,
        schema: SchemaRef,
    ) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(shares.len().max(1)),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Self {
            snapshot,
            location,
            shares,
            projection,
            predicate,
            limit,
            batch_size,
            schema,
            properties: Arc::new(properties),
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }

    /// The predicate pushed into the scan, if any.
    pub fn predicate(&self) -> Option<&BoundPredicate> {
        self.predicate.as_ref()
    }

    /// Output partitions.
    pub fn partitions(&self) -> usize {
        self.shares.len()
    }

    /// The row limit each partition honours, if any.
    pub fn limit(&self) -> Option<usize> {
        self.limit
    }

    /// Where another process can open the table, if the provider was given a location
    /// ([`StrataTable::with_location`](crate::StrataTable::with_location)).
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }

    /// The manifest version of the snapshot it reads.
    pub fn version(&self) -> u64 {
        self.snapshot.version()
    }

    /// The scan as plain data, for another process to rebuild with [`Self::from_parts`].
    /// Fails when the provider was given no location, or when the scan reads rows still in
    /// the write buffer, which live only in this process (flush the table first).
    pub fn to_parts(&self) -> Result<ScanParts> {
        let location = self.location.as_deref().ok_or(Error::NoLocation)?;
        let shares = self
            .shares
            .iter()
            .map(|s| match s {
                Share::Segments(parts) => Ok(parts.clone()),
                Share::Buffer => Err(Error::BufferedRows {
                    rows: self.snapshot.buffered_rows(),
                }),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ScanParts {
            location: location.to_owned(),
            version: self.snapshot.version(),
            shares,
            projection: self.projection.clone(),
            predicate: self.predicate.as_ref().map(ToString::to_string),
            limit: self.limit,
            batch_size: self.batch_size,
        })
    }

    /// Rebuilds a scan from [`Self::to_parts`] over `snapshot`, which must be the table at
    /// `parts.location` at manifest version `parts.version` (its buffered rows, if any, are
    /// not read: every share names segments).
    pub fn from_parts(snapshot: Snapshot, parts: ScanParts) -> Result<Self> {
        if snapshot.version() != parts.version {
            return Err(Error::VersionMismatch {
                wanted: parts.version,
                found: snapshot.version(),
            });
        }
        let arrow = snapshot.schema().to_arrow(SymbolAs::Utf8);
        let schema = Arc::new(arrow.project(&parts.projection)?);
        let predicate = parts
            .predicate
            .as_deref()
            .map(|text| BoundPredicate::parse_and_bind(text, snapshot.schema()))
            .transpose()?;
        let shares = parts.shares.into_iter().map(Share::Segments).collect();
        Ok(Self::new(
            snapshot,
            Some(parts.location.into()),
            shares,
            parts.projection,
            predicate,
            parts.limit,
            parts.batch_size.max(1),
            schema,
        ))
    }

    /// The same scan cut into `tasks` scans (for the tasks of a distributed stage), which
    /// together read every row once and each have the same number of partitions: the
    /// segments are shared out again over `partitions() * tasks` partitions, dealt round-robin
    /// to the tasks (a task may get empty partitions). Fails, as [`Self::to_parts`] does, when
    /// the scan reads buffered rows.
    pub fn split(&self, tasks: usize) -> Result<Vec<StrataScanExec>> {
        let tasks = tasks.max(1);
        if self.shares.iter().any(|s| matches!(s, Share::Buffer)) {
            return Err(Error::BufferedRows {
                rows: self.snapshot.buffered_rows(),
            });
        }
        let target = self.shares.len().max(1).saturating_mul(tasks);
        let all = crate::provider::segment_shares(&self.snapshot, target, self.limit);
        let per_task = all.len().div_ceil(tasks).max(1);
        let mut split: Vec<Vec<Share>> = vec![Vec::with_capacity(per_task); tasks];
        for (i, share) in all.into_iter().enumerate() {
            if let Some(t) = split.get_mut(i % tasks) {
                t.push(share);
            }
        }
        Ok(split
            .into_iter()
            .map(|mut shares| {
                shares.resize(per_task, Share::Segments(Vec::new()));
                Self::new(
                    self.snapshot.clone(),
                    self.location.clone(),
                    shares,
                    self.projection.clone(),
                    self.predicate.clone(),
                    self.limit,
                    self.batch_size,
                    Arc::clone(&self.schema),
                )
            })
            .collect())
    }

    /// How many scans [`Self::split`] can give rows to: the segments with live rows (large
    /// ones counted once per row slice), or 1 for a scan with a small limit. 1 at least.
    pub fn max_split(&self) -> usize {
        crate::provider::segment_shares(&self.snapshot, usize::MAX, self.limit)
            .iter()
            .filter(|s| matches!(s, Share::Segments(parts) if !parts.is_empty()))
            .count()
            .max(1)
    }

    /// Whether it reads rows still in the write buffer (then it cannot be sent to another
    /// process).
    pub fn reads_buffer(&self) -> bool {
        self.shares.iter().any(|s| matches!(s, Share::Buffer))
    }

    /// The segments a share reads, its buffered rows, and whether it reads only part of a
    /// segment (its statistics are then those of the whole segments, so not exact).
    fn segments_of(&self, share: Option<&Share>) -> (Vec<&SegmentHandle>, u64, bool) {
        let index = self.snapshot.index();
        match share {
            None => (
                index.segments().collect(),
                self.snapshot.buffered_rows(),
                false,
            ),
            Some(Share::Buffer) => (Vec::new(), self.snapshot.buffered_rows(), false),
            Some(Share::Segments(parts)) => {
                let mut handles: Vec<&SegmentHandle> = Vec::new();
                let mut partial = false;
                for (id, rows) in parts {
                    let Some(h) = index.segment(*id) else {
                        continue;
                    };
                    partial |= rows.start > 0 || rows.end < h.entry.rows;
                    if !handles.iter().any(|x| x.entry.id == *id) {
                        handles.push(h);
                    }
                }
                (handles, 0, partial)
            }
        }
    }
}

impl DisplayAs for StrataScanExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self
            .projection
            .iter()
            .filter_map(|i| self.snapshot.schema().fields.get(*i))
            .map(|f| f.name.as_str())
            .collect();
        match t {
            DisplayFormatType::Default | DisplayFormatType::Verbose => {
                write!(
                    f,
                    "StrataScanExec: partitions={}, projection=[{}]",
                    self.shares.len(),
                    names.join(", ")
                )?;
                if let Some(p) = &self.predicate {
                    write!(f, ", predicate={}", p.source())?;
                }
                if let Some(l) = self.limit {
                    write!(f, ", limit={l}")?;
                }
                Ok(())
            }
            DisplayFormatType::TreeRender => write!(f, "partitions={}", self.shares.len()),
        }
    }
}

impl ExecutionPlan for StrataScanExec {
    fn name(&self) -> &str {
        "StrataScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> DfResult<SendableRecordBatchStream> {
        let share = self.shares.get(partition).cloned().ok_or_else(|| {
            DataFusionError::Internal(format!(
                "StrataScanExec has {} partitions, asked for {partition}",
                self.shares.len()
            ))
        })?;
        let counters = ScanCounters::new(&self.metrics, partition);
        let job = ScanJob {
            snapshot: self.snapshot.clone(),
            share,
            projection: self.projection.clone(),
            predicate: self.predicate.clone(),
            limit: self.limit,
            batch_size: self.batch_size,
            schema: Arc::clone(&self.schema),
        };
        let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
        let work = move || job.run(&tx, &counters);
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => drop(handle.spawn_blocking(work)),
            Err(_) => drop(std::thread::spawn(work)),
        }
        let stream = futures::stream::unfold((rx, false), |(mut rx, done)| async move {
            if done {
                return None;
            }
            match rx.recv().await {
                Some(Message::Batch(b)) => Some((Ok(b), (rx, false))),
                Some(Message::Failed(e)) => Some((Err(e.into()), (rx, true))),
                Some(Message::Finished) => None,
                // The reader dropped its sender without saying it finished: it panicked.
                None => Some((Err(Error::WorkerLost("scan").into()), (rx, true))),
            }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            stream,
        )))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    fn statistics_from_inputs(
        &self,
        _input_stats: &[Arc<Statistics>],
        args: &StatisticsArgs,
    ) -> DfResult<Arc<Statistics>> {
        let share = match args.partition() {
            Some(p) => Some(self.shares.get(p).ok_or_else(|| {
                DataFusionError::Internal(format!("no partition {p} in StrataScanExec"))
            })?),
            None => None,
        };
        let (segments, buffered, partial) = self.segments_of(share);
        let mut stats = statistics(
            self.snapshot.schema(),
            &self.projection,
            &segments,
            buffered,
        );
        // Filters, per-partition limits and slices of segments leave an unknown share of the
        // rows.
        if self.predicate.is_some() || self.limit.is_some() || partial {
            stats = stats.to_inexact();
        }
        Ok(Arc::new(stats))
    }
}

enum Message {
    Batch(RecordBatch),
    Failed(Error),
    Finished,
}

/// One partition's scan counters, shown by `EXPLAIN ANALYZE`.
struct ScanCounters {
    segments_total: Count,
    segments_pruned: Count,
    blocks_total: Count,
    blocks_pruned: Count,
    blocks_decoded: Count,
    bytes_read: Count,
}

impl ScanCounters {
    fn new(metrics: &ExecutionPlanMetricsSet, partition: usize) -> Self {
        let count = |name: &'static str| MetricBuilder::new(metrics).counter(name, partition);
        Self {
            segments_total: count("segments_total"),
            segments_pruned: count("segments_pruned"),
            blocks_total: count("blocks_total"),
            blocks_pruned: count("blocks_pruned"),
            blocks_decoded: count("blocks_decoded"),
            bytes_read: count("bytes_read"),
        }
    }

    fn add(&self, s: &ScanStats) {
        let n = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        self.segments_total.add(n(s.segments_total));
        self.segments_pruned.add(n(s.segments_pruned));
        self.blocks_total.add(n(s.blocks_total));
        self.blocks_pruned.add(n(s.blocks_pruned));
        self.blocks_decoded.add(n(s.blocks_decoded));
        self.bytes_read.add(n(s.bytes_read));
    }
}

/// Everything one partition's reader thread needs (it keeps the snapshot, and so the segment
/// files, alive until it is done).
struct ScanJob {
    snapshot: Snapshot,
    share: Share,
    projection: Vec<usize>,
    predicate: Option<BoundPredicate>,
    limit: Option<usize>,
    batch_size: usize,
    schema: SchemaRef,
}

impl ScanJob {
    fn run(self, tx: &mpsc::Sender<Message>, counters: &ScanCounters) {
        let last = match self.scan(tx, counters) {
            Ok(()) => Message::Finished,
            Err(e) => Message::Failed(e),
        };
        // A closed channel means nobody wants the rest (a limit above, a cancelled query).
        let _ = tx.blocking_send(last);
    }

    fn scan(&self, tx: &mpsc::Sender<Message>, counters: &ScanCounters) -> Result<()> {
        let table = self.snapshot.schema();
        let mut names: Vec<String> = self
            .projection
            .iter()
            .filter_map(|i| table.fields.get(*i))
            .map(|f| f.name.clone())
            .collect();
        // No column wanted (`count(*)`): read the cheapest one the predicate needs anyway,
        // or the first, and hand DataFusion row counts only.
        let rows_only = names.is_empty();
        if rows_only {
            let first = self
                .predicate
                .as_ref()
                .and_then(|p| p.columns().first().map(|c| c.name.clone()))
                .or_else(|| table.fields.first().map(|f| f.name.clone()));
            names.extend(first);
        }
        let mut sent = 0usize;
        let mut send = |batch: RecordBatch| -> Result<bool> {
            let batch = if rows_only {
                RecordBatch::try_new_with_options(
                    Arc::clone(&self.schema),
                    Vec::new(),
                    &RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
                )?
            } else {
                RecordBatch::try_new(Arc::clone(&self.schema), batch.columns().to_vec())?
            };
            let batch = match self.limit {
                Some(l) if sent + batch.num_rows() >= l => batch.slice(0, l - sent),
                _ => batch,
            };
            sent += batch.num_rows();
            let more = self.limit.is_none_or(|l| sent < l);
            if batch.num_rows() > 0 && tx.blocking_send(Message::Batch(batch)).is_err() {
                return Ok(false);
            }
            Ok(more)
        };
        if self.limit == Some(0) {
            return Ok(());
        }
        let mut scan = self
            .snapshot
            .scan()
            .columns(names)
            .batch_size(self.batch_size)
            // DataFusion runs partitions in parallel itself.
            .threads(1);
        scan = match &self.share {
            Share::Segments(parts) => scan.only_rows(parts.iter().cloned()),
            Share::Buffer => scan.only_buffer(),
        };
        if let Some(p) = &self.predicate {
            scan = scan.predicate(p.clone());
        }
        let mut scan = scan.execute()?;
        for batch in scan.by_ref() {
            if !send(batch?)? {
                break;
            }
        }
        counters.add(&scan.stats());
        Ok(())
    }
}

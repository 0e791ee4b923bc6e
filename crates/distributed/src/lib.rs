//! strata-distributed: Strata scans in distributed DataFusion queries, run by
//! [datafusion-distributed](https://crates.io/crates/datafusion-distributed) workers.
//!
//! Place in the stack: above `strata-datafusion`, whose scan node ([`StrataScanExec`]) it
//! serialises. What it is not: a cluster manager or a query engine. datafusion-distributed
//! plans the stages, ships them over gRPC and streams batches between them; this crate only
//! teaches it the Strata scan, and nothing below it knows about distribution.
//!
//! ```text
//! coordinator (SessionState with the distributed planner + StrataCodec + the two handlers)
//!   SQL ─> physical plan ─> StrataScanExec (a snapshot at manifest version V of the table
//!          at location URL)
//!        ─> desired_task_count: one task per live segment (the planner caps it at the workers)
//!        ─> scale_up_leaf_node: DistributedLeafExec of StrataScanExec::split(tasks)
//!        ─> StrataCodec::try_encode: task i's scan as JSON {location, version, shares
//!           (segment ids + row ranges per partition), projection, predicate text, limit}
//!                  │ gRPC (datafusion-distributed)
//!                  ▼
//! worker i (SessionState + the same StrataCodec)
//!   StrataCodec::try_decode: Table::open_read_only_at(location, Some(V)) (cached per
//!   (location, V)) ─> StrataScanExec::from_parts ─> reads its segments from the object store
//! ```
//!
//! Every process reads the same object store (`s3://…`; `memory://…` when the workers are in
//! the coordinator's process); nothing else is shared. Only rows in segments can be read by a
//! worker: a scan of a table with rows still in its write buffer fails to encode with
//! [`strata_datafusion::Error::BufferedRows`], so flush (or commit through transactions)
//! before running a distributed query. A table must be registered with its location
//! ([`StrataTable::with_location`](strata_datafusion::StrataTable::with_location) or
//! [`StrataTable::open_at`](strata_datafusion::StrataTable::open_at)), and a worker must be
//! able to open the scan's manifest version: on an object store, for the retention period
//! after a newer checkpoint replaced it.
//!
//! Key types: [`StrataCodec`] (the `PhysicalExtensionCodec`), [`StrataDistributedExt`]
//! (registers the codec and the two planner handlers on a session), [`desired_task_count`] and
//! [`scale_up_leaf_node`] (the handlers), [`WIRE_VERSION`].
//!
//! ```no_run
//! use datafusion::execution::SessionStateBuilder;
//! use datafusion::prelude::SessionContext;
//! use datafusion_distributed::{SessionStateBuilderExt, Worker, WorkerQueryContext};
//! use strata_distributed::{StrataCodec, StrataDistributedExt};
//!
//! let codec = StrataCodec::default();
//! // A worker: every query's session knows the Strata scan.
//! let worker_codec = codec.clone();
//! let _worker = Worker::from_session_builder(move |ctx: WorkerQueryContext| {
//!     let codec = worker_codec.clone();
//!     async move { Ok(ctx.builder.with_strata_scans(codec).build()) }
//! });
//! // The coordinator (add `.with_distributed_worker_resolver(…)` naming the workers).
//! let state = SessionStateBuilder::new()
//!     .with_default_features()
//!     .with_distributed_planner()
//!     .with_strata_scans(codec)
//!     .build();
//! let _ctx = SessionContext::from(state);
//! ```
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use datafusion::common::{DataFusionError, Result as DfResult};
use datafusion::execution::{SessionStateBuilder, TaskContext};
use datafusion::physical_plan::ExecutionPlan;
use datafusion_distributed::{
    DesiredTaskCountEvent, DesiredTaskCountEventResponse, DistributedExt, DistributedLeafExec,
    ScaleUpLeafNodeEvent, ScaleUpLeafNodeEventResponse,
};
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use serde::{Deserialize, Serialize};
use strata::{Table, TableOptions};
use strata_datafusion::{ScanParts, StrataScanExec};

/// The version of the encoding [`StrataCodec`] writes; it refuses any other.
pub const WIRE_VERSION: u32 = 1;

/// Tables a codec keeps open, at most (then it forgets them all and opens again on demand).
const CACHED_TABLES: usize = 64;

/// The `PhysicalExtensionCodec` of [`StrataScanExec`]: encodes a scan as its table's location,
/// manifest version, shares, projection, predicate (Strata's textual form) and limit; decodes
/// it by opening the table read-only at that version.
///
/// Clones share one cache of opened tables, keyed by (location, version), so a worker opens
/// a table version once, not once per query or per task.
#[derive(Debug, Clone, Default)]
pub struct StrataCodec {
    tables: Arc<Mutex<OpenTables>>,
}

/// Tables opened read-only, by (location, manifest version).
type OpenTables = HashMap<(String, u64), Arc<Table>>;

/// What [`StrataCodec`] writes, as JSON.
#[derive(Debug, Serialize, Deserialize)]
struct WireScan {
    strata_scan: u32,
    location: String,
    version: u64,
    /// Per partition: (segment id, first row, end row).
    shares: Vec<Vec<(u64, u64, u64)>>,
    projection: Vec<usize>,
    predicate: Option<String>,
    limit: Option<usize>,
    batch_size: usize,
}

impl WireScan {
    fn from_parts(p: ScanParts) -> Self {
        Self {
            strata_scan: WIRE_VERSION,
            location: p.location,
            version: p.version,
            shares: p
                .shares
                .into_iter()
                .map(|s| s.into_iter().map(|(id, r)| (id, r.start, r.end)).collect())
                .collect(),
            projection: p.projection,
            predicate: p.predicate,
            limit: p.limit,
            batch_size: p.batch_size,
        }
    }

    fn into_parts(self) -> ScanParts {
        ScanParts {
            location: self.location,
            version: self.version,
            shares: self
                .shares
                .into_iter()
                .map(|s| s.into_iter().map(|(id, a, b)| (id, a..b)).collect())
                .collect(),
            projection: self.projection,
            predicate: self.predicate,
            limit: self.limit,
            batch_size: self.batch_size,
        }
    }
}

fn external(e: impl std::error::Error + Send + Sync + 'static) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

impl StrataCodec {
    /// The table at `location` as of manifest `version`, opened read-only (once per codec and
    /// its clones).
    pub fn table(&self, location: &str, version: u64) -> DfResult<Arc<Table>> {
        let key = (location.to_owned(), version);
        if let Some(t) = self.cache().get(&key) {
            return Ok(Arc::clone(t));
        }
        // Opened outside the lock: two tasks may both open it; the second keeps the first's.
        let (table, _) = Table::open_read_only_at(location, TableOptions::default(), Some(version))
            .map_err(external)?;
        let mut cache = self.cache();
        if cache.len() >= CACHED_TABLES {
            cache.clear();
        }
        Ok(Arc::clone(
            cache.entry(key).or_insert_with(|| Arc::new(table)),
        ))
    }

    /// Table versions it (and its clones) hold open.
    pub fn open_tables(&self) -> usize {
        self.cache().len()
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, OpenTables> {
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The bytes of `scan` (JSON, see [`WIRE_VERSION`]). Fails when the scan has no location
    /// or reads rows in the write buffer.
    pub fn encode_scan(scan: &StrataScanExec) -> DfResult<Vec<u8>> {
        let wire = WireScan::from_parts(scan.to_parts()?);
        serde_json::to_vec(&wire).map_err(external)
    }

    /// The scan `bytes` (from [`Self::encode_scan`]) describe, over the table they name.
    pub fn decode_scan(&self, bytes: &[u8]) -> DfResult<StrataScanExec> {
        let wire: WireScan = serde_json::from_slice(bytes).map_err(external)?;
        if wire.strata_scan != WIRE_VERSION {
            return Err(DataFusionError::Plan(format!(
                "a Strata scan encoded in version {} (this worker reads version {WIRE_VERSION})",
                wire.strata_scan
            )));
        }
        let table = self.table(&wire.location, wire.version)?;
        let snapshot = table.snapshot().map_err(external)?;
        Ok(StrataScanExec::from_parts(snapshot, wire.into_parts())?)
    }
}

impl PhysicalExtensionCodec for StrataCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        _ctx: &TaskContext,
        _proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        if !inputs.is_empty() {
            return Err(DataFusionError::Internal(format!(
                "a Strata scan has no inputs, got {}",
                inputs.len()
            )));
        }
        Ok(Arc::new(self.decode_scan(buf)?))
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        _proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> DfResult<()> {
        let Some(scan) = node.downcast_ref::<StrataScanExec>() else {
            return Err(DataFusionError::Internal(format!(
                "StrataCodec encodes StrataScanExec only, not {}",
                node.name()
            )));
        };
        buf.extend(Self::encode_scan(scan)?);
        Ok(())
    }
}

/// The desired-task-count handler for Strata scans: one task per live segment (at least
/// one), which the planner caps at the number of workers; a scan with a small limit (read
/// by one partition) wants one task.
pub fn desired_task_count(
    ev: DesiredTaskCountEvent<'_>,
) -> Option<DfResult<DesiredTaskCountEventResponse>> {
    let scan = ev.plan.downcast_ref::<StrataScanExec>()?;
    if scan.reads_buffer() {
        // It cannot leave this process; encoding it will say why.
        return Some(Ok(DesiredTaskCountEventResponse::maximum(1)));
    }
    let pieces = scan.max_split();
    Some(Ok(DesiredTaskCountEventResponse::desired(pieces.max(1))))
}

/// The scale-up handler for Strata scans: a `DistributedLeafExec` whose task `i` runs part `i`
/// of [`StrataScanExec::split`].
pub fn scale_up_leaf_node(
    ev: ScaleUpLeafNodeEvent<'_>,
) -> Option<DfResult<ScaleUpLeafNodeEventResponse>> {
    let scan = ev.plan.downcast_ref::<StrataScanExec>()?;
    let variants = match scan.split(ev.task_count) {
        Ok(v) => v,
        Err(e) => return Some(Err(e.into())),
    };
    let leaf = DistributedLeafExec::try_new(
        Arc::clone(ev.plan),
        variants
            .into_iter()
            .map(|v| Arc::new(v) as Arc<dyn ExecutionPlan>),
    );
    Some(leaf.map(|l| ScaleUpLeafNodeEventResponse::new(Arc::new(l))))
}

/// Registers Strata scans with a session of datafusion-distributed: the codec (on the
/// coordinator and on every worker) and the planner's two handlers (used by the coordinator).
pub trait StrataDistributedExt {
    /// `self` with `codec` as its distributed user codec and [`desired_task_count`] and
    /// [`scale_up_leaf_node`] as planner handlers.
    fn with_strata_scans(self, codec: StrataCodec) -> Self;
}

impl StrataDistributedExt for SessionStateBuilder {
    fn with_strata_scans(self, codec: StrataCodec) -> Self {
        self.with_distributed_user_codec(codec)
            .with_distributed_desired_task_count_handler(desired_task_count)
            .with_distributed_scale_up_leaf_node_handler(scale_up_leaf_node)
    }
}

//! The `compaction` suite: the compactor's benchmark of issue 6, on `bts-flights-3m`.
//!
//! Setup (repeated for every measured merge, so every merge starts from the same state):
//!
//! * the table is loaded, sorted by `date` (as in the segment suite; under `--quick` its first
//!   [`QUICK_MAX_ROWS`] rows), and its rows are dealt to [`RUNS`] sorted runs by a fixed
//!   pseudo-random draw per row, so every run spans the whole time range and all runs overlap;
//! * each run is written as one segment (time-series profile) into a table managed by
//!   `strata-partition-registry` with yearly partitions — one partition, since the data covers
//!   half of 2001;
//! * about one row in [`DELETE_ONE_IN`] of every segment is deleted (a fixed pseudo-random draw
//!   per row) through the registry's deletion vectors.
//!
//! Measurements:
//!
//! * **merge**: [`Compactor::run_plan`] with one plan listing all runs (the path users run:
//!   merge, commit, publish, retire). The plan's I/O throttle is given a device bandwidth of
//!   [`DEVICE_BYTES_PER_SEC`] so it never sleeps. Rows/s are input rows over wall time; the merge
//!   runs on one thread, so rows/s per core equals rows/s. MB/s are block bytes read and file
//!   bytes written per second. Peak memory is the highest heap level above the level at the
//!   start of the merge, from the counting allocator of the `strata-benches` binary
//!   ([`crate::heap`]). The output must hold exactly the input rows minus the deleted ones.
//! * **reader latency**: two scans on [`Compactor::snapshot`] — a 1 % time range with a
//!   predicate on `delay`, and a full scan of the `delay` column summed — run alternately, first
//!   on an idle machine, then while a merge of freshly rebuilt inputs runs on another thread
//!   (only scans of the pre-merge snapshot, started before the merge finished, count). p50 and
//!   p99 of each, and the ratio during / idle.
//!
//! Targets (issue 6): ≥ 5 M rows/s per core; peak memory ≤ 64 MiB; reader p99 during
//! compaction ≤ 1.5× idle.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMicrosecondType};
use arrow_array::{RecordBatch, UInt32Array};
use roaring::RoaringBitmap;
use serde_json::json;
use strata_compactor::{
    Compactor, CompactorConfig, CycleReport, MergeOptions, MergePlan, PlanReason, TableIndex,
};
use strata_format::{LocalFs, Schema};
use strata_partition_registry::{Partitioning, Registry, SegmentId, TableConfig};
use strata_predicate::BoundPredicate;
use strata_writer::WriterOptions;

use crate::data::FLIGHTS_FILE;
use crate::heap;
use crate::measure::{mb_per_s, median, thread_cpu_secs};
use crate::report::{Machine, Table, num, today_utc};
use crate::segment::tables::{self, Table as DataTable};
use crate::segment::{load_average, strata_schema, writer_options};
use crate::{BenchContext, BenchError, Result, Suite, SuiteOutput};

/// Sorted runs (input segments) the table is split into.
pub const RUNS: usize = 32;

/// About one row in this many is deleted before the merge.
pub const DELETE_ONE_IN: u64 = 10;

/// Rows taken under `--quick`.
pub const QUICK_MAX_ROWS: usize = 300_000;

/// Device bandwidth given to the compactor: high enough that the plan's throttle never sleeps.
pub const DEVICE_BYTES_PER_SEC: u64 = 1_000_000_000_000_000;

/// Target: input rows per second per core.
pub const TARGET_ROWS_PER_S_PER_CORE: f64 = 5e6;

/// Target: peak heap of a merge, bytes.
pub const TARGET_PEAK_BYTES: f64 = 64.0 * 1024.0 * 1024.0;

/// Target: reader p99 during compaction over p99 idle.
pub const TARGET_P99_RATIO: f64 = 1.5;

const MIB: f64 = 1024.0 * 1024.0;

/// The compaction suite.
#[derive(Debug, Clone, Copy, Default)]
pub struct CompactionSuite;

impl Suite for CompactionSuite {
    fn name(&self) -> &'static str {
        "compaction"
    }

    fn run(&self, ctx: &BenchContext) -> Result<SuiteOutput> {
        let path = ctx.data_dir.join(FLIGHTS_FILE);
        let max_rows = ctx.quick.then_some(QUICK_MAX_ROWS);
        let table = match tables::load_table(&ctx.data_dir, "bts-flights-3m", max_rows)? {
            Some(t) => t,
            None => {
                let notice = format!("{} not found, compaction suite skipped", path.display());
                eprintln!("notice: {notice}");
                return Ok(SuiteOutput {
                    markdown: format!("## Compaction\n\n* notice: {notice}\n"),
                    json: json!({ "notices": [notice] }),
                });
            }
        };
        let bench = Bench::new(ctx, &table)?;
        let load_before = load_average();

        let merge_reps = if ctx.quick { 1 } else { 3 };
        let mut merges = Vec::with_capacity(merge_reps);
        for rep in 0..merge_reps {
            eprintln!("compaction: merge {}/{merge_reps}", rep + 1);
            let inputs = bench.build_inputs()?;
            merges.push(bench.merge(&inputs)?);
        }

        eprintln!("compaction: reader latency, idle");
        let idle_inputs = bench.build_inputs()?;
        let idle = bench.idle_latencies(&idle_inputs)?;
        drop(idle_inputs);
        let rounds = if ctx.quick { 3 } else { 5 };
        let mut during = Latencies::default();
        let mut loaded_merge_secs = Vec::new();
        for round in 0..rounds {
            eprintln!(
                "compaction: reader latency during merge {}/{rounds}",
                round + 1
            );
            let inputs = bench.build_inputs()?;
            let (lat, secs) = bench.latencies_during_merge(&inputs)?;
            during.extend(lat);
            loaded_merge_secs.push(secs);
        }
        let results = Results {
            merges,
            idle,
            during,
            loaded_merge_secs: median(&mut loaded_merge_secs),
        };
        let load_after = load_average();
        Ok(bench.report(ctx, &results, load_before, load_after))
    }
}

/// Everything one run of the suite shares: the runs' batches, schema, options and queries.
struct Bench {
    rows: usize,
    runs: Vec<RecordBatch>,
    schema: Schema,
    writer: WriterOptions,
    range_query: String,
    min_secs: f64,
    min_samples: usize,
    scratch: tempfile::TempDir,
}

/// Fresh merge inputs: a registry-managed table of [`RUNS`] segments with deletions.
struct Inputs {
    compactor: Arc<Compactor>,
    partition: i64,
    ids: Vec<SegmentId>,
    rows: u64,
    deleted: u64,
    _dir: tempfile::TempDir,
}

/// One measured merge.
struct Merge {
    secs: f64,
    /// CPU time of the merging thread, where the OS tells it.
    cpu_secs: Option<f64>,
    report: CycleReport,
    /// Heap above the level at the merge's start; `None` without the counting allocator.
    peak_bytes: Option<usize>,
}

/// Latencies in seconds, per query.
#[derive(Default)]
struct Latencies {
    range: Vec<f64>,
    column: Vec<f64>,
}

impl Latencies {
    fn extend(&mut self, other: Latencies) {
        self.range.extend(other.range);
        self.column.extend(other.column);
    }
}

struct Results {
    merges: Vec<Merge>,
    idle: Latencies,
    during: Latencies,
    loaded_merge_secs: f64,
}

/// SplitMix64: a fixed, well-mixed pseudo-random draw per key.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Percentile `p` (0..=100) of `xs`, nearest rank; 0 when empty.
fn percentile(xs: &[f64], p: f64) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v.get(rank.clamp(1, v.len()) - 1).copied().unwrap_or(0.0)
}

impl Bench {
    fn new(ctx: &BenchContext, table: &DataTable) -> Result<Bench> {
        let schema = strata_schema(table)?;
        let writer = writer_options(table);
        let all = arrow_select::concat::concat_batches(&table.schema, &table.batches)?;
        let rows = all.num_rows();
        let mut picks: Vec<Vec<u32>> = (0..RUNS)
            .map(|_| Vec::with_capacity(rows / RUNS + 1))
            .collect();
        for i in 0..rows {
            let run = (mix(i as u64) % RUNS as u64) as usize;
            if let (Some(p), Ok(i)) = (picks.get_mut(run), u32::try_from(i)) {
                p.push(i);
            }
        }
        // Rows keep their sorted order within a run, so every run is sorted by `date`.
        let runs = picks
            .into_iter()
            .map(|p| arrow_select::take::take_record_batch(&all, &UInt32Array::from(p)))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let times = all
            .column_by_name("date")
            .and_then(|c| c.as_primitive_opt::<TimestampMicrosecondType>())
            .ok_or_else(|| BenchError::data(Path::new(FLIGHTS_FILE), "no date column"))?
            .values();
        let start = rows / 3;
        let lo = times.get(start).copied().unwrap_or(0);
        let hi = times
            .get(start + rows / 100)
            .copied()
            .unwrap_or(lo)
            .max(lo + 1);
        let scratch = tempfile::tempdir().map_err(|e| BenchError::io(&ctx.out_dir, e))?;
        Ok(Bench {
            rows,
            runs,
            schema,
            writer,
            range_query: format!("date >= {lo} AND date < {hi} AND delay > 15"),
            min_secs: if ctx.quick { 1.0 } else { 4.0 },
            min_samples: if ctx.quick { 20 } else { 200 },
            scratch,
        })
    }

    fn build_inputs(&self) -> Result<Inputs> {
        let dir = tempfile::tempdir_in(self.scratch.path())
            .map_err(|e| BenchError::io(self.scratch.path(), e))?;
        let config = TableConfig::new(self.schema.clone(), "date", Partitioning::Year)?;
        let registry = Registry::create(Arc::new(LocalFs), dir.path(), config)?;
        let mut ids = Vec::with_capacity(RUNS);
        let mut partition = 0;
        for run in &self.runs {
            let entry = registry.write_segment(run, self.writer)?;
            partition = entry.partition;
            ids.push(entry.id);
        }
        let deleted = registry.delete_where(|s, _, _| {
            let mut rows = RoaringBitmap::new();
            for r in 0..u32::try_from(s.rows).unwrap_or(u32::MAX) {
                if mix((s.id << 32) | u64::from(r)).is_multiple_of(DELETE_ONE_IN) {
                    rows.insert(r);
                }
            }
            Ok(rows)
        })?;
        let rows = registry.state().segments().map(|s| s.rows).sum();
        let config = CompactorConfig {
            device_bytes_per_sec: DEVICE_BYTES_PER_SEC,
            merge: MergeOptions {
                writer: self.writer,
                ..MergeOptions::default()
            },
        };
        let compactor = Arc::new(Compactor::open(Arc::new(registry), config)?);
        Ok(Inputs {
            compactor,
            partition,
            ids,
            rows,
            deleted: deleted.rows_deleted,
            _dir: dir,
        })
    }

    fn plan(inputs: &Inputs) -> MergePlan {
        MergePlan {
            partition: inputs.partition,
            inputs: inputs.ids.clone(),
            reason: PlanReason::TooManySegments { segments: RUNS },
            io_share: 1.0,
            emergency: false,
            roll_up: None,
        }
    }

    /// Runs the merge of all inputs and checks its output.
    fn merge(&self, inputs: &Inputs) -> Result<Merge> {
        let plan = Self::plan(inputs);
        let base = heap::reset_peak();
        let cpu = thread_cpu_secs();
        let start = Instant::now();
        let report = inputs.compactor.run_plan(&plan)?;
        let secs = start.elapsed().as_secs_f64();
        let cpu_secs = thread_cpu_secs().zip(cpu).map(|(b, a)| b - a);
        let peak_bytes = heap::is_counting().then(|| heap::peak().saturating_sub(base));
        check_output(inputs, &report)?;
        Ok(Merge {
            secs,
            cpu_secs,
            report,
            peak_bytes,
        })
    }

    fn query(&self, snapshot: &TableIndex, range: &BoundPredicate, which: usize) -> Result<f64> {
        let start = Instant::now();
        if which == 0 {
            let mut rows = 0usize;
            for b in snapshot.scan().predicate(range.clone()).batch_size(8192) {
                rows += b?.num_rows();
            }
            std::hint::black_box(rows);
        } else {
            let mut sum = 0i64;
            for b in snapshot.scan().projection(vec!["delay"]).batch_size(8192) {
                let b = b?;
                if let Some(c) = b.column(0).as_primitive_opt::<Int64Type>() {
                    sum = c.values().iter().fold(sum, |s, v| s.wrapping_add(*v));
                }
            }
            std::hint::black_box(sum);
        }
        Ok(start.elapsed().as_secs_f64())
    }

    fn bind(&self, snapshot: &TableIndex) -> Result<BoundPredicate> {
        Ok(BoundPredicate::parse_and_bind(
            &self.range_query,
            &snapshot.schema,
        )?)
    }

    /// Both queries, alternately, on an idle snapshot of `inputs`.
    fn idle_latencies(&self, inputs: &Inputs) -> Result<Latencies> {
        let snapshot = inputs.compactor.snapshot();
        let range = self.bind(&snapshot)?;
        let mut lat = Latencies::default();
        let start = Instant::now();
        // A warm-up pair, not recorded.
        self.query(&snapshot, &range, 0)?;
        self.query(&snapshot, &range, 1)?;
        while start.elapsed().as_secs_f64() < self.min_secs || lat.range.len() < self.min_samples {
            lat.range.push(self.query(&snapshot, &range, 0)?);
            lat.column.push(self.query(&snapshot, &range, 1)?);
        }
        Ok(lat)
    }

    /// Both queries, alternately, while the merge of `inputs` runs on another thread. Returns
    /// the latencies of scans that started and ended before the merge finished, and the
    /// merge's wall time.
    fn latencies_during_merge(&self, inputs: &Inputs) -> Result<(Latencies, f64)> {
        let before = inputs.compactor.snapshot();
        let range = self.bind(&before)?;
        self.query(&before, &range, 0)?;
        self.query(&before, &range, 1)?;
        drop(before);
        let done = AtomicBool::new(false);
        let plan = Self::plan(inputs);
        let mut lat = Latencies::default();
        let (merged, secs) = std::thread::scope(|s| {
            let merger = s.spawn(|| {
                let start = Instant::now();
                let r = inputs.compactor.run_plan(&plan);
                let secs = start.elapsed().as_secs_f64();
                done.store(true, Ordering::Release);
                (r, secs)
            });
            let mut which = 0;
            let mut err = None;
            while !done.load(Ordering::Acquire) {
                let snapshot = inputs.compactor.snapshot();
                if snapshot.segments().count() != RUNS {
                    break;
                }
                match self.query(&snapshot, &range, which) {
                    Ok(t) if !done.load(Ordering::Acquire) => {
                        if which == 0 {
                            lat.range.push(t);
                        } else {
                            lat.column.push(t);
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        err = Some(e);
                        break;
                    }
                }
                which = 1 - which;
            }
            let (r, secs) = merger.join().unwrap_or_else(|_| {
                let e =
                    strata_compactor::CompactorError::InvalidMerge("merge thread panicked".into());
                (Err(e), 0.0)
            });
            match err {
                Some(e) => (Err(e), secs),
                None => (r.map_err(BenchError::from), secs),
            }
        });
        check_output(inputs, &merged?)?;
        Ok((lat, secs))
    }

    fn report(
        &self,
        ctx: &BenchContext,
        r: &Results,
        load_before: Option<String>,
        load_after: Option<String>,
    ) -> SuiteOutput {
        let machine = Machine::detect();
        let mut secs: Vec<f64> = r.merges.iter().map(|m| m.secs).collect();
        let secs = median(&mut secs);
        let first = r.merges.first().map(|m| &m.report);
        let rows_in = first.map_or(0, |m| m.rows_in);
        let rows_deleted = first.map_or(0, |m| m.rows_deleted);
        let rows_out = first.map_or(0, |m| m.rows_out);
        let bytes_read = first.map_or(0, |m| m.bytes_read);
        let bytes_in = first.map_or(0, |m| m.bytes_in);
        let bytes_written = first.map_or(0, |m| m.bytes_written);
        let rows_per_s = if secs > 0.0 {
            rows_in as f64 / secs
        } else {
            0.0
        };
        let mut cpu: Vec<f64> = r.merges.iter().filter_map(|m| m.cpu_secs).collect();
        let cpu_secs = (!cpu.is_empty() && cpu.len() == r.merges.len()).then(|| median(&mut cpu));
        // The merge runs on one thread: its rows per CPU-second are its rows/s per core, and
        // unlike wall time they do not count time the thread waited for a core.
        let per_core = match cpu_secs {
            Some(c) if c > 0.0 => rows_in as f64 / c,
            _ => rows_per_s,
        };
        let read_mb_s = mb_per_s(bytes_read as usize, secs);
        let written_mb_s = mb_per_s(bytes_written as usize, secs);
        let peaks: Vec<usize> = r.merges.iter().filter_map(|m| m.peak_bytes).collect();
        let peak = peaks.iter().max().copied();

        let ms = |x: f64| num(x * 1e3, 2);
        let stats = |xs: &[f64]| (percentile(xs, 50.0), percentile(xs, 99.0));
        let (ri50, ri99) = stats(&r.idle.range);
        let (rd50, rd99) = stats(&r.during.range);
        let (ci50, ci99) = stats(&r.idle.column);
        let (cd50, cd99) = stats(&r.during.column);
        let ratio = |d: f64, i: f64| if i > 0.0 { d / i } else { f64::NAN };
        let met = |ok: bool| if ok { "met" } else { "missed" };

        let mut t = Table::new(["measure", "measured", "target", "measured / target", ""]);
        t.row(vec![
            if cpu_secs.is_some() {
                "merge rows/s per core (input rows per CPU-second, 1 thread)".into()
            } else {
                "merge rows/s per core (wall, 1 thread)".into()
            },
            format!("{} M", num(per_core / 1e6, 2)),
            "≥ 5 M".into(),
            num(per_core / TARGET_ROWS_PER_S_PER_CORE, 2),
            met(per_core >= TARGET_ROWS_PER_S_PER_CORE).into(),
        ]);
        match peak {
            Some(p) => t.row(vec![
                "peak heap during the merge".into(),
                format!("{} MiB", num(p as f64 / MIB, 1)),
                "≤ 64 MiB".into(),
                num(p as f64 / TARGET_PEAK_BYTES, 2),
                met(p as f64 <= TARGET_PEAK_BYTES).into(),
            ]),
            None => t.row(vec![
                "peak heap during the merge".into(),
                "not measured (no counting allocator)".into(),
                "≤ 64 MiB".into(),
            ]),
        }
        for (name, i99, d99) in [
            ("reader p99 during / idle, 1 % range", ri99, rd99),
            ("reader p99 during / idle, full column", ci99, cd99),
        ] {
            let x = ratio(d99, i99);
            t.row(vec![
                name.into(),
                format!("{}×", num(x, 2)),
                "≤ 1.5×".into(),
                num(x / TARGET_P99_RATIO, 2),
                met(x <= TARGET_P99_RATIO).into(),
            ]);
        }

        let mut m = Table::new(["merge", "value"]);
        m.row(vec![
            "input rows / deleted / output".into(),
            format!("{rows_in} / {rows_deleted} / {rows_out}"),
        ]);
        m.row(vec![
            "wall time (median)".into(),
            format!(
                "{} s over {} merge(s): {}",
                num(secs, 3),
                r.merges.len(),
                r.merges
                    .iter()
                    .map(|m| num(m.secs, 3))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ]);
        m.row(vec![
            "CPU time of the merging thread (median)".into(),
            cpu_secs.map_or("not measured".into(), |c| format!("{} s", num(c, 3))),
        ]);
        m.row(vec![
            "input rows/s (wall)".into(),
            format!("{} M", num(rows_per_s / 1e6, 2)),
        ]);
        m.row(vec![
            "input rows per CPU-second".into(),
            format!("{} M", num(per_core / 1e6, 2)),
        ]);
        m.row(vec![
            "output rows/s".into(),
            format!("{} M", num(rows_out as f64 / secs / 1e6, 2)),
        ]);
        m.row(vec![
            "read: block bytes (input files)".into(),
            format!("{bytes_read} ({bytes_in}) = {} MB/s", num(read_mb_s, 1)),
        ]);
        m.row(vec![
            "written".into(),
            format!("{bytes_written} = {} MB/s", num(written_mb_s, 1)),
        ]);
        m.row(vec![
            "peak heap per merge".into(),
            if peaks.is_empty() {
                "not measured".into()
            } else {
                peaks
                    .iter()
                    .map(|p| format!("{} MiB", num(*p as f64 / MIB, 1)))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        ]);
        m.row(vec![
            "merge wall time with readers running (median)".into(),
            format!("{} s", num(r.loaded_merge_secs, 3)),
        ]);

        let mut l = Table::new([
            "scan",
            "idle p50 ms",
            "idle p99 ms",
            "during p50 ms",
            "during p99 ms",
            "p50 ratio",
            "p99 ratio",
            "samples idle / during",
        ]);
        for (name, (i50, i99, d50, d99), (ni, nd)) in [
            (
                "1 % time range ∧ delay > 15",
                (ri50, ri99, rd50, rd99),
                (r.idle.range.len(), r.during.range.len()),
            ),
            (
                "full column `delay`, summed",
                (ci50, ci99, cd50, cd99),
                (r.idle.column.len(), r.during.column.len()),
            ),
        ] {
            l.row(vec![
                name.into(),
                ms(i50),
                ms(i99),
                ms(d50),
                ms(d99),
                format!("{}×", num(ratio(d50, i50), 2)),
                format!("{}×", num(ratio(d99, i99), 2)),
                format!("{ni} / {nd}"),
            ]);
        }

        let mut md = String::from("## Compaction\n\n");
        md.push_str(&format!(
            "`bts-flights-3m`, {} rows dealt pseudo-randomly to {RUNS} sorted runs (segments, \
             overlapping key ranges), about 1 in {DELETE_ONE_IN} rows deleted, merged into one by \
             `Compactor::run_plan`. {}; {}{}. Load average before {}, after {}. The merge is \
             single-threaded; the I/O throttle was given {} B/s so it never slept.\n\n",
            self.rows,
            today_utc(),
            machine.describe(),
            if ctx.quick { "; --quick" } else { "" },
            load_before.as_deref().unwrap_or("n/a"),
            load_after.as_deref().unwrap_or("n/a"),
            DEVICE_BYTES_PER_SEC,
        ));
        md.push_str(&t.to_markdown());
        md.push('\n');
        md.push_str(&m.to_markdown());
        md.push('\n');
        md.push_str(&l.to_markdown());
        md.push_str(&format!(
            "\n* range scan: `{}`; both scans on `Compactor::snapshot()` of the {RUNS} inputs.\n\
             * Peak heap is requested bytes above the level when the merge started \
             (counting global allocator of the `strata-benches` binary).\n",
            self.range_query
        ));

        let json = json!({
            "date": today_utc(),
            "machine": machine,
            "quick": ctx.quick,
            "load_average_before": load_before,
            "load_average_after": load_after,
            "rows": self.rows,
            "runs": RUNS,
            "range_query": self.range_query,
            "device_bytes_per_sec": DEVICE_BYTES_PER_SEC,
            "merge": {
                "secs": r.merges.iter().map(|m| m.secs).collect::<Vec<_>>(),
                "median_secs": secs,
                "cpu_secs": r.merges.iter().map(|m| m.cpu_secs).collect::<Vec<_>>(),
                "median_cpu_secs": cpu_secs,
                "rows_per_cpu_s": per_core,
                "rows_in": rows_in, "rows_deleted": rows_deleted, "rows_out": rows_out,
                "bytes_in": bytes_in, "bytes_read": bytes_read, "bytes_written": bytes_written,
                "rows_per_s": rows_per_s,
                "read_mb_per_s": read_mb_s,
                "written_mb_per_s": written_mb_s,
                "peak_heap_bytes": peaks,
                "with_readers_median_secs": r.loaded_merge_secs,
            },
            "latency_ms": {
                "range": { "idle": [ri50 * 1e3, ri99 * 1e3], "during": [rd50 * 1e3, rd99 * 1e3],
                           "samples": [r.idle.range.len(), r.during.range.len()] },
                "column": { "idle": [ci50 * 1e3, ci99 * 1e3], "during": [cd50 * 1e3, cd99 * 1e3],
                            "samples": [r.idle.column.len(), r.during.column.len()] },
            },
            "targets": {
                "rows_per_s_per_core": TARGET_ROWS_PER_S_PER_CORE,
                "peak_heap_bytes": TARGET_PEAK_BYTES,
                "p99_ratio": TARGET_P99_RATIO,
            },
        });
        SuiteOutput { markdown: md, json }
    }
}

/// The merge's output must hold exactly the live input rows, in one segment.
fn check_output(inputs: &Inputs, report: &CycleReport) -> Result<()> {
    let expected = inputs.rows - inputs.deleted;
    let snapshot = inputs.compactor.snapshot();
    let segments = snapshot.segments().count();
    if report.rows_in != inputs.rows
        || report.rows_deleted != inputs.deleted
        || report.rows_out != expected
        || snapshot.live_rows() != expected
        || segments != 1
    {
        return Err(BenchError::data(
            Path::new(FLIGHTS_FILE),
            format!(
                "merge output: {} rows in {segments} segment(s) (report: {} in, {} deleted, {} \
                 out); expected {expected} = {} - {} in one segment",
                snapshot.live_rows(),
                report.rows_in,
                report.rows_deleted,
                report.rows_out,
                inputs.rows,
                inputs.deleted
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_uses_nearest_rank() {
        let xs: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&xs, 50.0), 50.0);
        assert_eq!(percentile(&xs, 99.0), 99.0);
        assert_eq!(percentile(&[3.0], 99.0), 3.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }

    #[test]
    fn mix_spreads_rows_over_runs_evenly() {
        let mut counts = [0u32; RUNS];
        for i in 0..RUNS as u64 * 1000 {
            counts[(mix(i) % RUNS as u64) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (800..1200).contains(&c)),
            "{counts:?}"
        );
    }
}

//! `strata demo`: a deterministic multi-host metrics workload, ingested, queried and reported.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use arrow_array::{Float64Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray};
use strata::{
    CompactionOptions, CompactionPolicy, DataType, Field, MemtableOptions, Partitioning, Schema,
    Table, TableConfig, TableOptions, TimeUnit,
};

/// Arguments of `strata demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Seed of the generated workload (same seed, same data and report counts).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Hosts reporting metrics.
    #[arg(long, default_value_t = 16)]
    hosts: usize,
    /// Hours of data, one point per host every 10 seconds.
    #[arg(long, default_value_t = 36)]
    hours: u64,
    /// Table directory to keep (default: a temporary one, removed afterwards).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// SplitMix64: small, fast and deterministic.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const REGIONS: [&str; 4] = ["eu-west", "us-east", "us-west", "ap-south"];
const START_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const STEP_MS: i64 = 10_000;

/// One point: time, host index, cpu, memory bytes, requests.
type Row = (i64, usize, f64, i64, i64);

fn schema() -> Result<Schema> {
    Ok(Schema::new(vec![
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            false,
        ),
        Field::new("host", DataType::Symbol, false),
        Field::new("region", DataType::Symbol, false),
        Field::new("cpu", DataType::Float64, true),
        Field::new("mem_bytes", DataType::Int64, true),
        Field::new("requests", DataType::Int64, true),
    ])?
    .with_sort_key(["host", "ts"])?)
}

/// One hour of points for every host, and the rows (about 1 %) held back for a later batch;
/// with the raw bytes of the hour's points (8 bytes a number, 12 for the host name).
fn hour_batch(
    rng: &mut Rng,
    hour: u64,
    state: &mut [(f64, i64, i64)],
    late: &mut Vec<Row>,
) -> (Vec<Row>, u64) {
    let mut rows = Vec::new();
    let mut raw = 0u64;
    let points = 3_600_000 / STEP_MS;
    for p in 0..points {
        let ts = START_MS + (hour as i64 * 3_600_000) + p * STEP_MS;
        for (h, s) in state.iter_mut().enumerate() {
            s.0 = (s.0 + (rng.unit() - 0.5) * 4.0).clamp(1.0, 99.0);
            s.1 = (s.1 + ((rng.unit() - 0.5) * 8.0e6) as i64).max(1 << 28);
            s.2 += (rng.next() % 50) as i64;
            let row = (ts, h, (s.0 * 100.0).round() / 100.0, s.1, s.2);
            raw += 8 + 8 + 8 + 8 + 8 + 12;
            if rng.next().is_multiple_of(100) {
                late.push(row);
            } else {
                rows.push(row);
            }
        }
    }
    (rows, raw)
}

/// The demo's table: its schema, the time column `ts` and a partition a day.
pub fn table_config() -> Result<TableConfig> {
    Ok(TableConfig::new(schema()?, "ts", Partitioning::Day)?)
}

/// The demo's workload as the batches it arrives in: an hour of every host's points (one every
/// 10 seconds) a batch, and after every sixth hour the late rows (about 1 %) of the hours
/// before; the same seed gives the same batches. Also what the segment benchmark measures as
/// its metrics table.
#[derive(Debug)]
pub struct Workload {
    schema: Schema,
    rng: Rng,
    /// Each host's cpu, memory and request counter.
    state: Vec<(f64, i64, i64)>,
    late: Vec<Row>,
    /// The next hour to generate.
    hour: u64,
    hours: u64,
    /// The late rows are due before the next hour.
    late_due: bool,
    raw_bytes: u64,
}

impl Workload {
    /// `hours` of points of `hosts` hosts, from `seed`.
    pub fn new(seed: u64, hosts: usize, hours: u64) -> Result<Self> {
        let mut rng = Rng(seed);
        let state = (0..hosts)
            .map(|_| {
                (
                    20.0 + rng.unit() * 40.0,
                    (2i64 << 30) + (rng.next() % (1 << 30)) as i64,
                    0,
                )
            })
            .collect();
        Ok(Self {
            schema: schema()?,
            rng,
            state,
            late: Vec::new(),
            hour: 0,
            hours,
            late_due: false,
            raw_bytes: 0,
        })
    }

    /// The table's schema (`ts`, symbols `host` and `region`, `cpu`, `mem_bytes`,
    /// `requests`; sort key `host, ts`).
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Raw bytes of the points generated so far (8 bytes a number, 12 for the host name).
    pub fn raw_bytes(&self) -> u64 {
        self.raw_bytes
    }
}

impl Iterator for Workload {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.late_due || (self.hour >= self.hours && !self.late.is_empty()) {
            self.late_due = false;
            let late = std::mem::take(&mut self.late);
            return Some(to_batch(&self.schema, &late));
        }
        if self.hour >= self.hours {
            return None;
        }
        let hour = self.hour;
        let (rows, raw) = hour_batch(&mut self.rng, hour, &mut self.state, &mut self.late);
        self.raw_bytes += raw;
        self.hour += 1;
        // Every 6 hours the late rows of earlier hours arrive.
        self.late_due = hour % 6 == 5 && !self.late.is_empty();
        Some(to_batch(&self.schema, &rows))
    }
}

fn to_batch(schema: &Schema, rows: &[Row]) -> Result<RecordBatch> {
    let host = |h: usize| format!("host-{h:02}");
    Ok(RecordBatch::try_new(
        Arc::new(schema.to_arrow(strata::SymbolAs::Utf8)),
        vec![
            Arc::new(TimestampMillisecondArray::from_iter_values(
                rows.iter().map(|r| r.0),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| host(r.1)),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| REGIONS[r.1 % REGIONS.len()]),
            )),
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.2))),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.3))),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.4))),
        ],
    )?)
}

/// `strata demo`: generates the workload, ingests and queries it, and writes the report to `out`.
pub fn run(args: &DemoArgs, out: &mut dyn Write) -> Result<()> {
    let (dir, temporary) = match &args.dir {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!("strata-demo-{}-{}", args.seed, std::process::id())),
            true,
        ),
    };
    let result = run_in(args, &dir, out);
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

fn run_in(args: &DemoArgs, dir: &std::path::Path, out: &mut dyn Write) -> Result<()> {
    let config = table_config()?;
    // A small write buffer and an eager policy, so flushes and background compactions happen
    // while the workload is ingested (the defaults suit tables far larger than the demo's).
    let options = TableOptions {
        memtable: MemtableOptions {
            soft_limit_bytes: 1 << 20,
            hard_limit_bytes: 8 << 20,
            ..MemtableOptions::default()
        },
        compaction: CompactionOptions {
            policy: CompactionPolicy {
                max_segments: 4,
                min_interval: Duration::from_millis(200),
                ..CompactionPolicy::default()
            },
            tick: Duration::from_millis(50),
            ..CompactionOptions::default()
        },
        ..TableOptions::default()
    };
    let table = Table::create(dir, config, options)
        .with_context(|| format!("creating the demo table in {}", dir.display()))?;
    let mut workload = Workload::new(args.seed, args.hosts, args.hours)?;
    let mut rows_written = 0u64;
    let t0 = Instant::now();
    for batch in workload.by_ref() {
        let batch = batch?;
        rows_written += batch.num_rows() as u64;
        table.write(&batch)?;
    }
    let raw_bytes = workload.raw_bytes();
    table.flush()?;
    let ingest_s = t0.elapsed().as_secs_f64();
    let after_ingest = table.state();

    // Deletes: one host decommissioned for the first day, and a glitch window of bad readings.
    let first_day_end = START_MS + 86_400_000;
    let t = Instant::now();
    let deleted_host = table.delete(&format!("host = 'host-03' AND ts < {first_day_end}"))?;
    let deleted_glitch = table.delete(&format!(
        "region = 'us-east' AND ts >= {} AND ts < {}",
        START_MS + 7_200_000,
        START_MS + 7_800_000
    ))?;
    let delete_s = t.elapsed().as_secs_f64();

    let before_compaction = table.state();
    let t = Instant::now();
    let requested = table.compact_now()?;
    let compact_s = t.elapsed().as_secs_f64();
    let background = table.compaction_stats().unwrap_or_default();
    let st = table.state();
    let size = st.dead_space();
    let ingest_bytes = after_ingest.dead_space().total_bytes;
    writeln!(
        out,
        "Strata demo (seed {}, {} hosts, {} hours)",
        args.seed, args.hosts, args.hours
    )?;
    writeln!(out)?;
    writeln!(out, "ingest (background compaction running)")?;
    writeln!(out, "  rows written        {rows_written}")?;
    writeln!(out, "  raw size            {raw_bytes} bytes")?;
    writeln!(
        out,
        "  on disk             {ingest_bytes} bytes in {} segments, {} partitions",
        after_ingest.segments().count(),
        after_ingest.partitions.len()
    )?;
    writeln!(out, "  time                {ingest_s:.3}s")?;
    writeln!(out, "background compaction")?;
    let (seg_in, seg_out, rows_in, bytes_in, bytes_out) =
        background
            .cycles
            .iter()
            .fold((0, 0, 0, 0, 0), |(a, b, c, d, e), x| {
                (
                    a + x.segments_in,
                    b + x.segments_out,
                    c + x.rows_in,
                    d + x.bytes_in,
                    e + x.bytes_written,
                )
            });
    writeln!(
        out,
        "  cycles              {} ({} segments -> {}, {} rows, {} -> {} bytes)",
        background.cycles.len(),
        seg_in,
        seg_out,
        rows_in,
        bytes_in,
        bytes_out
    )?;
    if background.retried > 0 {
        writeln!(
            out,
            "  replanned           {} (a concurrent delete or merge changed the inputs)",
            background.retried
        )?;
    }
    if !background.errors.is_empty() {
        writeln!(
            out,
            "  errors              {}",
            background.errors.join("; ")
        )?;
    }
    writeln!(out, "deletes")?;
    writeln!(out, "  host-03, first day  {deleted_host} rows")?;
    writeln!(out, "  us-east glitch      {deleted_glitch} rows")?;
    writeln!(out, "  time                {delete_s:.3}s")?;
    writeln!(out, "compact now ({compact_s:.3}s)")?;
    write!(out, "  ")?;
    crate::output::print_compaction(out, &before_compaction, &st, &requested)?;
    writeln!(out, "result")?;
    writeln!(
        out,
        "  live rows           {} in {} segments, {} partitions",
        size.total_rows - size.rows,
        st.segments().count(),
        st.partitions.len()
    )?;
    writeln!(
        out,
        "  on disk             {} bytes ({:.2}x smaller than raw)",
        size.total_bytes,
        raw_bytes as f64 / size.total_bytes.max(1) as f64
    )?;
    writeln!(out, "queries")?;
    let queries = [
        (
            "one host, one hour",
            format!(
                "host = 'host-07' AND ts >= {} AND ts < {}",
                START_MS + 3_600_000,
                START_MS + 7_200_000
            ),
        ),
        ("cpu above 90", "cpu > 90".to_string()),
        ("one region", "region = 'eu-west'".to_string()),
        ("all rows", String::new()),
    ];
    for (name, q) in queries {
        let t = Instant::now();
        let mut scan = table.scan();
        if !q.is_empty() {
            scan = scan.filter(q);
        }
        let mut it = scan.columns(["ts", "cpu"]).execute()?;
        let mut rows = 0usize;
        for b in it.by_ref() {
            rows += b?.num_rows();
        }
        let s = it.stats();
        writeln!(
            out,
            "  {name:<20} {rows:>8} rows  {:>4}/{} blocks pruned  {:.3}s",
            s.blocks_pruned,
            s.blocks_total,
            t.elapsed().as_secs_f64()
        )?;
    }
    sql_queries(&table, out)?;
    table.close()?;
    Ok(())
}

/// The same table through SQL (DataFusion over a snapshot): a group by time bucket and host,
/// and a top-k.
fn sql_queries(table: &Table, out: &mut dyn Write) -> Result<()> {
    let ctx = datafusion::prelude::SessionContext::new();
    let provider = strata_datafusion::StrataTable::from_snapshot(table.snapshot()?);
    ctx.register_table("metrics", Arc::new(provider))?;
    let queries = [
        (
            "15-min cpu by host",
            "SELECT date_bin(INTERVAL '15 minutes', ts) AS bucket, host, avg(cpu) AS cpu \
             FROM metrics WHERE ts >= TIMESTAMP '2026-01-01T06:00:00' \
             AND ts < TIMESTAMP '2026-01-01T12:00:00' GROUP BY bucket, host",
        ),
        (
            "top 5 cpu readings",
            "SELECT host, ts, cpu FROM metrics WHERE cpu IS NOT NULL \
             ORDER BY cpu DESC, host, ts LIMIT 5",
        ),
    ];
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    writeln!(out, "sql (DataFusion)")?;
    for (name, q) in queries {
        let t = Instant::now();
        let batches = runtime.block_on(async { ctx.sql(q).await?.collect().await })?;
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        writeln!(
            out,
            "  {name:<20} {rows:>8} rows  {:.3}s",
            t.elapsed().as_secs_f64()
        )?;
    }
    Ok(())
}

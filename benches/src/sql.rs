//! The `sql` suite: the 22 TPC-H queries through DataFusion, over Parquet files and over Strata
//! tables holding the same rows, in the same run.
//!
//! ```text
//! tpchgen-arrow (SF 1; 0.1 under --quick) ─> batches (decimals as Float64: Strata has no
//!   decimal type, so both formats store the same doubles)
//!   ─> DataFusion: ORDER BY the table's date (lineitem: l_shipdate, orders: o_orderdate),
//!      write_parquet (DataFusion's writer defaults: zstd(3), 1 M-row row groups, page index)
//!      = the Parquet table, timed as Parquet's load
//!   ─> strata ingest TABLE FILE.parquet, no flags (strata_cli::ingest: symbols, no time column,
//!      file order kept, default writer options, merged) = the Strata table, timed as Strata's
//!      load (reading the Parquet file included)
//! ```
//!
//! Both tables hold the same rows in the same order, so any pruning by date is open to both
//! (Parquet by row-group statistics and the page index, Strata by zone maps). One
//! [`SessionConfig`] for both: the Parquet files are registered with `register_parquet` and
//! DataFusion's read defaults, the Strata tables as [`StrataTable`]s. Each query's runs alternate
//! between the two (run 1 of Parquet, run 1 of Strata, …); the reported time is the median. The
//! results of the two are compared (floats to 9 significant digits, sums added in different
//! orders) and a difference is reported as an error.
//!
//! With `--store URL` (an object store: `s3://bucket/prefix` configured from the `AWS_*`
//! environment variables, such as a local S3-protocol server, or `memory://name`), each table is
//! also ingested to `URL/<table>` from the same Parquet file, opened there read-only, and
//! queried in a third session in the same alternation; its results must match too.
//!
//! Besides the 22 queries, `range1pct` sums lineitem over 1 % of its ship dates (the selective
//! time-range query of a time-series table).
//!
//! Reported: load seconds and bytes of each format, each query's median and ratio, the
//! geometric mean of the ratios, against the targets: bytes ≤ 0.8× Parquet, geometric mean
//! ≤ 1.0×, and ≤ 0.5× on q6, q12, q14, q15, q19 and `range1pct`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{DataType as ArrowType, Field as ArrowField, Schema as ArrowSchema};
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::datasource::MemTable;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use serde_json::json;
use strata_datafusion::StrataTable;
use tpchgen::generators::{
    CustomerGenerator, LineItemGenerator, NationGenerator, OrderGenerator, PartGenerator,
    PartSuppGenerator, RegionGenerator, SupplierGenerator,
};
use tpchgen_arrow::{
    CustomerArrow, LineItemArrow, NationArrow, OrderArrow, PartArrow, PartSuppArrow, RegionArrow,
    SupplierArrow,
};

use crate::measure::median;
use crate::report::{Machine, Table, civil_from_days, num, today_utc};
use crate::{BenchContext, BenchError, Result, Suite, SuiteOutput};

/// TPC-H scale factor of a full run (6 M lineitem rows).
pub const SCALE: f64 = 1.0;
/// TPC-H scale factor under `--quick`.
pub const QUICK_SCALE: f64 = 0.1;
/// Rows per generated batch.
const BATCH_ROWS: usize = 65_536;
/// The queries with a ≤ 0.5× target: zone maps can prune them.
pub const SELECTIVE: &[&str] = &["q6", "q12", "q14", "q15", "q19", "range1pct"];

/// The `sql` suite.
#[derive(Debug, Clone, Copy, Default)]
pub struct SqlSuite;

impl Suite for SqlSuite {
    fn name(&self) -> &'static str {
        "sql"
    }

    fn run(&self, ctx: &BenchContext) -> Result<SuiteOutput> {
        let queries_dir = ctx.data_dir.join("tpch-queries");
        if !queries_dir.join("q1.sql").exists() {
            let notice = format!(
                "skipped: no TPC-H queries at {} (see shared/data/README.md)",
                queries_dir.display()
            );
            return Ok(SuiteOutput {
                markdown: format!("## sql\n\n{notice}\n"),
                json: json!({ "notices": [notice] }),
            });
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| BenchError::io(Path::new("tokio runtime"), e))?;
        runtime.block_on(run(ctx, &queries_dir))
    }
}

fn df(e: datafusion::error::DataFusionError) -> BenchError {
    BenchError::Usage(format!("datafusion: {e}"))
}

/// One TPC-H table in both formats.
#[derive(Debug, Clone)]
struct Loaded {
    name: &'static str,
    rows: usize,
    parquet: PathBuf,
    parquet_bytes: u64,
    parquet_secs: f64,
    strata: PathBuf,
    strata_bytes: u64,
    strata_secs: f64,
    /// The copy on the object store (`--store`): its URL and load seconds.
    stored: Option<(String, f64)>,
}

/// One query's figures.
#[derive(Debug, Clone)]
struct Timed {
    name: String,
    parquet_secs: f64,
    strata_secs: f64,
    /// Median seconds over the object-store tables (`--store`).
    store_secs: Option<f64>,
    rows: usize,
    same: bool,
}

async fn run(ctx: &BenchContext, queries_dir: &Path) -> Result<SuiteOutput> {
    let scale = if ctx.quick { QUICK_SCALE } else { SCALE };
    let reps = ctx.repetitions();
    let scratch = tempfile::tempdir().map_err(|e| BenchError::io(&std::env::temp_dir(), e))?;
    let config = SessionConfig::new();
    let target_partitions = config.target_partitions();
    let store = ctx.store.as_deref().map(|u| u.trim_end_matches('/'));
    let (pq, st, ob) = (
        SessionContext::new_with_config(config.clone()),
        SessionContext::new_with_config(config.clone()),
        SessionContext::new_with_config(config),
    );
    let mut loaded = Vec::new();
    let mut opened = Vec::new();
    for (name, order_by, batches) in generate(scale)? {
        let l = load(scratch.path(), store, name, order_by, batches).await?;
        pq.register_parquet(
            name,
            l.parquet.to_string_lossy().as_ref(),
            ParquetReadOptions::default(),
        )
        .await
        .map_err(df)?;
        let (table, _) = strata::Table::open_read_only(&l.strata, strata::TableOptions::default())
            .map_err(|e| BenchError::data(&l.strata, e.to_string()))?;
        let table = Arc::new(table);
        st.register_table(name, Arc::new(StrataTable::new(Arc::clone(&table))))
            .map_err(df)?;
        opened.push(table);
        if let Some((url, _)) = &l.stored {
            let (table, _) = tokio::task::block_in_place(|| {
                strata::Table::open_read_only(url, strata::TableOptions::default())
            })
            .map_err(|e| BenchError::Usage(format!("opening {url}: {e}")))?;
            let table = Arc::new(table);
            ob.register_table(name, Arc::new(StrataTable::new(Arc::clone(&table))))
                .map_err(df)?;
            opened.push(table);
        }
        loaded.push(l);
    }
    let mut queries = Vec::new();
    for q in 1..=22 {
        let path = queries_dir.join(format!("q{q}.sql"));
        let text = std::fs::read_to_string(&path).map_err(|e| BenchError::io(&path, e))?;
        queries.push((format!("q{q}"), statements(&text)));
    }
    queries.push(("range1pct".to_string(), vec![range_query(&pq).await?]));
    let mut sessions = vec![("Parquet", &pq), ("Strata", &st)];
    if store.is_some() {
        sessions.push(("Strata on the object store", &ob));
    }
    let mut timed = Vec::new();
    let mut errors = Vec::new();
    for (name, stmts) in &queries {
        let contexts: Vec<&SessionContext> = sessions.iter().map(|(_, c)| *c).collect();
        match time_query(&contexts, stmts, reps).await {
            Ok(runs) => {
                let want = rows(&runs[0].1);
                let mut same = true;
                for ((label, _), (_, got)) in sessions.iter().zip(&runs).skip(1) {
                    let got = rows(got);
                    if got != want {
                        same = false;
                        errors.push(format!(
                            "{name}: results differ ({} Parquet rows, {} {label} rows)",
                            want.len(),
                            got.len()
                        ));
                    }
                }
                timed.push(Timed {
                    name: name.clone(),
                    parquet_secs: runs[0].0,
                    strata_secs: runs[1].0,
                    store_secs: runs.get(2).map(|r| r.0),
                    rows: want.len(),
                    same,
                });
            }
            Err(e) => errors.push(format!("{name}: {e}")),
        }
    }
    for t in opened {
        t.close()
            .map_err(|e| BenchError::Usage(format!("closing a table: {e}")))?;
    }
    Ok(report(
        scale,
        target_partitions,
        reps,
        &loaded,
        &timed,
        &errors,
    ))
}

/// Statements of a query file (q15 has three: create view, select, drop view).
fn statements(text: &str) -> Vec<String> {
    text.split(';')
        .map(str::trim)
        .filter(|s| {
            s.lines()
                .any(|l| !l.trim().is_empty() && !l.trim().starts_with("--"))
        })
        .map(str::to_string)
        .collect()
}

/// A sum over 1 % of lineitem's ship-date range, starting at its middle.
async fn range_query(ctx: &SessionContext) -> Result<String> {
    let b = ctx
        .sql("SELECT CAST(min(l_shipdate) AS INT), CAST(max(l_shipdate) AS INT) FROM lineitem")
        .await
        .map_err(df)?
        .collect()
        .await
        .map_err(df)?;
    let text = rows(&b);
    let bounds: Vec<i64> = text
        .first()
        .map(|r| r.split(" | ").filter_map(|c| c.parse().ok()).collect())
        .unwrap_or_default();
    let [lo, hi] = bounds[..] else {
        return Err(BenchError::Usage(format!(
            "lineitem ship-date range: unexpected {text:?}"
        )));
    };
    let start = lo + (hi - lo) / 2;
    Ok(format!(
        "SELECT count(*) AS n, sum(l_extendedprice * (1 - l_discount)) AS revenue \
         FROM lineitem WHERE l_shipdate >= DATE '{}' AND l_shipdate < DATE '{}'",
        date(start),
        date(start + ((hi - lo) / 100).max(1))
    ))
}

/// `YYYY-MM-DD` of a day count since 1970-01-01.
fn date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Median seconds of `stmts` on each session (runs alternated) and each session's result.
async fn time_query(
    sessions: &[&SessionContext],
    stmts: &[String],
    reps: usize,
) -> Result<Vec<(f64, Vec<RecordBatch>)>> {
    let mut times = vec![Vec::new(); sessions.len()];
    let mut results = vec![Vec::new(); sessions.len()];
    // One untimed run each first: registration work and caches are not in the figures.
    for rep in 0..=reps.max(1) {
        for ((ctx, times), out) in sessions.iter().zip(&mut times).zip(&mut results) {
            let started = Instant::now();
            let mut last = Vec::new();
            for s in stmts {
                let b = ctx.sql(s).await.map_err(df)?.collect().await.map_err(df)?;
                let lower = s.to_lowercase();
                let code = lower.trim_start();
                if !code.starts_with("create") && !code.starts_with("drop") {
                    last = b;
                }
            }
            if rep > 0 {
                times.push(started.elapsed().as_secs_f64());
            }
            *out = last;
        }
    }
    Ok(times.iter_mut().map(|t| median(t)).zip(results).collect())
}

/// Rows as text, floats to 9 significant digits, sorted.
fn rows(batches: &[RecordBatch]) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        let cols: Vec<ArrayRef> = b.columns().iter().map(rounded).collect();
        let options = arrow_cast::display::FormatOptions::default().with_null("NULL");
        let formatters: std::result::Result<Vec<_>, _> = cols
            .iter()
            .map(|c| arrow_cast::display::ArrayFormatter::try_new(c.as_ref(), &options))
            .collect();
        let Ok(formatters) = formatters else {
            out.push(format!("<{} unprintable rows>", b.num_rows()));
            continue;
        };
        for r in 0..b.num_rows() {
            let cells: Vec<String> = formatters.iter().map(|f| f.value(r).to_string()).collect();
            out.push(cells.join(" | "));
        }
    }
    out.sort();
    out
}

fn rounded(c: &ArrayRef) -> ArrayRef {
    let Some(a) = c.as_any().downcast_ref::<Float64Array>() else {
        return Arc::clone(c);
    };
    Arc::new(a.unary::<_, arrow_array::types::Float64Type>(|v| {
        if v == 0.0 || !v.is_finite() {
            v
        } else {
            let digits = 8 - v.abs().log10().floor() as i32;
            let scale = 10f64.powi(digits);
            (v * scale).round() / scale
        }
    }))
}

/// Decimals as Float64 and string views as Utf8: the types both formats are given.
fn conform(batches: Vec<RecordBatch>) -> Result<Vec<RecordBatch>> {
    let Some(first) = batches.first() else {
        return Ok(batches);
    };
    let fields: Vec<ArrowField> = first
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let t = match f.data_type() {
                ArrowType::Decimal128(..) => ArrowType::Float64,
                ArrowType::Utf8View => ArrowType::Utf8,
                t => t.clone(),
            };
            ArrowField::new(f.name(), t, f.is_nullable())
        })
        .collect();
    let schema = Arc::new(ArrowSchema::new(fields));
    batches
        .iter()
        .map(|b| {
            let cols = b
                .columns()
                .iter()
                .zip(schema.fields())
                .map(|(c, f)| arrow_cast::cast(c, f.data_type()))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(RecordBatch::try_new(Arc::clone(&schema), cols)?)
        })
        .collect()
}

type Generated = (&'static str, Option<&'static str>, Vec<RecordBatch>);

/// The eight TPC-H tables at `scale`, with the date column each is ordered by.
fn generate(scale: f64) -> Result<Vec<Generated>> {
    fn all<I: Iterator<Item = std::result::Result<RecordBatch, arrow_schema::ArrowError>>>(
        it: I,
    ) -> Result<Vec<RecordBatch>> {
        conform(it.collect::<std::result::Result<Vec<_>, _>>()?)
    }
    Ok(vec![
        (
            "nation",
            None,
            all(NationArrow::new(NationGenerator::new(scale, 1, 1)).with_batch_size(BATCH_ROWS))?,
        ),
        (
            "region",
            None,
            all(RegionArrow::new(RegionGenerator::new(scale, 1, 1)).with_batch_size(BATCH_ROWS))?,
        ),
        (
            "part",
            None,
            all(PartArrow::new(PartGenerator::new(scale, 1, 1)).with_batch_size(BATCH_ROWS))?,
        ),
        (
            "supplier",
            None,
            all(
                SupplierArrow::new(SupplierGenerator::new(scale, 1, 1)).with_batch_size(BATCH_ROWS)
            )?,
        ),
        (
            "partsupp",
            None,
            all(
                PartSuppArrow::new(PartSuppGenerator::new(scale, 1, 1)).with_batch_size(BATCH_ROWS)
            )?,
        ),
        (
            "customer",
            None,
            all(
                CustomerArrow::new(CustomerGenerator::new(scale, 1, 1)).with_batch_size(BATCH_ROWS)
            )?,
        ),
        (
            "orders",
            Some("o_orderdate"),
            all(OrderArrow::new(OrderGenerator::new(scale, 1, 1)).with_batch_size(BATCH_ROWS))?,
        ),
        (
            "lineitem",
            Some("l_shipdate"),
            all(
                LineItemArrow::new(LineItemGenerator::new(scale, 1, 1)).with_batch_size(BATCH_ROWS)
            )?,
        ),
    ])
}

/// Writes `batches` as Parquet (ordered by `order_by`) and ingests that file into Strata, in
/// `dir` and, if given, on the object store at `store`.
async fn load(
    dir: &Path,
    store: Option<&str>,
    name: &'static str,
    order_by: Option<&str>,
    batches: Vec<RecordBatch>,
) -> Result<Loaded> {
    let rows = batches.iter().map(RecordBatch::num_rows).sum();
    let schema = batches
        .first()
        .map(RecordBatch::schema)
        .ok_or_else(|| BenchError::Usage(format!("tpchgen made no {name} rows")))?;
    let ctx = SessionContext::new();
    ctx.register_table(
        name,
        Arc::new(MemTable::try_new(schema, vec![batches]).map_err(df)?),
    )
    .map_err(df)?;
    let sql = match order_by {
        Some(c) => format!("SELECT * FROM {name} ORDER BY {c}"),
        None => format!("SELECT * FROM {name}"),
    };
    let parquet = dir.join(format!("{name}.parquet"));
    let started = Instant::now();
    ctx.sql(&sql)
        .await
        .map_err(df)?
        .write_parquet(
            parquet.to_string_lossy().as_ref(),
            DataFrameWriteOptions::new().with_single_file_output(true),
            None,
        )
        .await
        .map_err(df)?;
    let parquet_secs = started.elapsed().as_secs_f64();
    let parquet_bytes = bytes_under(&parquet)?;
    let strata = dir.join(name);
    let failed = |e: anyhow::Error| BenchError::data(&strata, format!("ingest: {e:#}"));
    let args = strata_cli::ingest::IngestArgs::defaults(&strata, std::slice::from_ref(&parquet))
        .map_err(failed)?;
    let started = Instant::now();
    let report =
        tokio::task::block_in_place(|| strata_cli::ingest::ingest(&args)).map_err(failed)?;
    let strata_secs = started.elapsed().as_secs_f64();
    if report.rows != rows {
        return Err(BenchError::data(
            &strata,
            format!("ingested {} rows of {rows}", report.rows),
        ));
    }
    let strata_bytes = bytes_under(&strata)?;
    let stored = match store {
        Some(store) => {
            let url = format!("{store}/{name}");
            let target = PathBuf::from(&url);
            let failed = |e: anyhow::Error| BenchError::data(&target, format!("ingest: {e:#}"));
            let args =
                strata_cli::ingest::IngestArgs::defaults(&target, std::slice::from_ref(&parquet))
                    .map_err(failed)?;
            let started = Instant::now();
            let report = tokio::task::block_in_place(|| strata_cli::ingest::ingest(&args))
                .map_err(failed)?;
            if report.rows != rows {
                return Err(BenchError::data(
                    &target,
                    format!("ingested {} rows of {rows}", report.rows),
                ));
            }
            Some((url, started.elapsed().as_secs_f64()))
        }
        None => None,
    };
    Ok(Loaded {
        name,
        rows,
        parquet,
        parquet_bytes,
        parquet_secs,
        strata,
        strata_bytes,
        strata_secs,
        stored,
    })
}

/// Bytes of a file, or of every file under a directory.
fn bytes_under(path: &Path) -> Result<u64> {
    let meta = std::fs::metadata(path).map_err(|e| BenchError::io(path, e))?;
    if meta.is_file() {
        return Ok(meta.len());
    }
    let mut total = 0;
    for entry in std::fs::read_dir(path).map_err(|e| BenchError::io(path, e))? {
        let entry = entry.map_err(|e| BenchError::io(path, e))?;
        total += bytes_under(&entry.path())?;
    }
    Ok(total)
}

fn geomean(xs: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x.ln(), n + 1));
    if n == 0 { 0.0 } else { (sum / n as f64).exp() }
}

fn report(
    scale: f64,
    target_partitions: usize,
    reps: usize,
    loaded: &[Loaded],
    timed: &[Timed],
    errors: &[String],
) -> SuiteOutput {
    let mut md = format!(
        "## sql: TPC-H SF {scale} through DataFusion, Parquet against Strata\n\n{} · {} · \
         target_partitions {target_partitions} · median of {reps} alternated runs\n\n",
        today_utc(),
        Machine::detect().describe()
    );
    let store = loaded
        .first()
        .and_then(|l| l.stored.as_ref())
        .map(|(url, _)| url.rsplit_once('/').map_or(url.as_str(), |(s, _)| s));
    if let Some(store) = store {
        md.push_str(&format!(
            "Also loaded to and queried on the object store at `{store}` (\"store\" columns; \
             \"store / local\" is its time over the local Strata table's).\n\n"
        ));
    }
    let mut header = vec![
        "table",
        "rows",
        "Parquet bytes",
        "Strata bytes",
        "bytes ratio",
        "Parquet load s",
        "Strata load s",
    ];
    if store.is_some() {
        header.push("store load s");
    }
    let mut load_table = Table::new(header);
    let (mut pb, mut sb, mut pl, mut sl, mut ol) = (0u64, 0u64, 0.0, 0.0, 0.0);
    for l in loaded {
        let mut row = vec![
            l.name.to_string(),
            l.rows.to_string(),
            l.parquet_bytes.to_string(),
            l.strata_bytes.to_string(),
            num(l.strata_bytes as f64 / l.parquet_bytes.max(1) as f64, 2),
            num(l.parquet_secs, 2),
            num(l.strata_secs, 2),
        ];
        if let Some((_, secs)) = &l.stored {
            row.push(num(*secs, 2));
            ol += secs;
        }
        load_table.row(row);
        (pb, sb, pl, sl) = (
            pb + l.parquet_bytes,
            sb + l.strata_bytes,
            pl + l.parquet_secs,
            sl + l.strata_secs,
        );
    }
    let bytes_ratio = sb as f64 / pb.max(1) as f64;
    let mut all = vec![
        "all".to_string(),
        loaded.iter().map(|l| l.rows).sum::<usize>().to_string(),
        pb.to_string(),
        sb.to_string(),
        num(bytes_ratio, 2),
        num(pl, 2),
        num(sl, 2),
    ];
    if store.is_some() {
        all.push(num(ol, 2));
    }
    load_table.row(all);
    md.push_str(&load_table.to_markdown());
    let mut header = vec![
        "query",
        "rows",
        "Parquet ms",
        "Strata ms",
        "Strata / Parquet",
    ];
    if store.is_some() {
        header.extend(["store ms", "store / local"]);
    }
    header.extend(["target", "same result"]);
    let mut q_table = Table::new(header);
    for t in timed {
        let selective = SELECTIVE.contains(&t.name.as_str());
        let mut row = vec![
            t.name.clone(),
            t.rows.to_string(),
            num(t.parquet_secs * 1e3, 1),
            num(t.strata_secs * 1e3, 1),
            num(t.strata_secs / t.parquet_secs.max(1e-9), 2),
        ];
        if store.is_some() {
            let o = t.store_secs.unwrap_or(f64::NAN);
            row.extend([num(o * 1e3, 1), num(o / t.strata_secs.max(1e-9), 2)]);
        }
        row.extend([
            if selective { "≤ 0.5" } else { "" }.to_string(),
            if t.same { "yes" } else { "NO" }.to_string(),
        ]);
        q_table.row(row);
    }
    let ratio = |t: &Timed| t.strata_secs / t.parquet_secs.max(1e-9);
    let store_ratio = |t: &Timed| t.store_secs.map(|o| o / t.strata_secs.max(1e-9));
    let tpch = || timed.iter().filter(|t| t.name.starts_with('q'));
    let gm = geomean(tpch().map(ratio));
    md.push('\n');
    md.push_str(&q_table.to_markdown());
    md.push_str(&format!(
        "\nGeometric mean of the 22 TPC-H ratios: {} (target ≤ 1.0). Bytes: {} (target ≤ 0.8).\n",
        num(gm, 2),
        num(bytes_ratio, 2)
    ));
    let store_gm = store.map(|_| geomean(tpch().filter_map(store_ratio)));
    if let Some(g) = store_gm {
        md.push_str(&format!(
            "Geometric mean of the 22 store / local ratios: {}.\n",
            num(g, 2)
        ));
    }
    for e in errors {
        md.push_str(&format!("\nerror: {e}\n"));
    }
    let json = json!({
        "scale": scale,
        "target_partitions": target_partitions,
        "repetitions": reps,
        "tables": loaded.iter().map(|l| json!({
            "table": l.name, "rows": l.rows,
            "parquet_bytes": l.parquet_bytes, "strata_bytes": l.strata_bytes,
            "parquet_load_secs": l.parquet_secs, "strata_load_secs": l.strata_secs,
            "store_load_secs": l.stored.as_ref().map(|(_, s)| *s),
        })).collect::<Vec<_>>(),
        "queries": timed.iter().map(|t| json!({
            "query": t.name, "rows": t.rows, "parquet_secs": t.parquet_secs,
            "strata_secs": t.strata_secs, "ratio": ratio(t), "same_result": t.same,
            "store_secs": t.store_secs, "store_ratio": store_ratio(t),
        })).collect::<Vec<_>>(),
        "bytes_ratio": bytes_ratio,
        "geomean_ratio": gm,
        "store": store,
        "store_geomean_ratio": store_gm,
        "errors": errors,
    });
    SuiteOutput { markdown: md, json }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_q15_style_files_and_drop_comments() {
        let text =
            "-- header\ncreate view v as select 1;\n\nselect * from v;\ndrop view v;\n-- end\n";
        assert_eq!(
            statements(text),
            [
                "-- header\ncreate view v as select 1",
                "select * from v",
                "drop view v"
            ]
        );
    }

    #[test]
    fn dates_of_day_counts() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(8036), "1992-01-02");
        assert_eq!(date(10562), "1998-12-02");
    }

    #[test]
    fn geomean_of_ratios() {
        assert!((geomean([0.5, 2.0].into_iter()) - 1.0).abs() < 1e-12);
        assert!((geomean([4.0].into_iter()) - 4.0).abs() < 1e-12);
        assert_eq!(geomean(std::iter::empty()), 0.0);
    }
}

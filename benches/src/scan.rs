//! The `scan` suite: predicate scans over real data, Strata against the parquet crate.
//!
//! Tables: `bts-flights-3m` written as one segment sorted by `date` (the file is already in
//! `date` order), and Beijing air quality (all 12 stations) as one segment sorted by `time`,
//! `station`. For each query, in the same run:
//!
//! * **Strata pruned**: [`strata_predicate::Scan`] with the predicate (segment and block pruning,
//!   late materialisation), every column projected;
//! * **Strata full**: the same scan without a predicate, then [`BoundPredicate::evaluate`] and a
//!   filter on every batch (what a reader without zone maps would do);
//! * **parquet-rs**: the same rows written by the parquet crate (Snappy, page statistics, at most
//!   8192 rows per page), read with the page index (`with_page_index_policy(Required)`, the
//!   non-deprecated form of `with_page_index(true)`), row groups
//!   pruned by their statistics, pages of the time column pruned by the page index (a
//!   `RowSelection`), and a `RowFilter` (`ArrowPredicateFn`) evaluating the predicate.
//!
//! Time ranges are cut at row quantiles, so a "1 %" query returns 1 % of the rows. Every strategy
//! must return the same row count, or the suite reports an error. Bytes read are the Strata
//! blocks read, against the segment file's size.
//!
//! The files scanned are kept in `scan-files/` of the output directory (replaced on every run),
//! so that a query can be profiled on its own, with the `scan_segment` example of
//! strata-predicate say.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{TimestampMicrosecondType, TimestampSecondType};
use arrow_array::{
    Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampSecondArray,
};
use arrow_ord::sort::{SortColumn, lexsort_to_indices};
use arrow_schema::{DataType as ArrowType, Field as ArrowField, Schema as ArrowSchema};
use arrow_select::filter::{filter_record_batch, prep_null_mask_filter};
use parquet::arrow::ArrowWriter;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowPredicateFn, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowFilter, RowSelection,
    RowSelector,
};
use parquet::basic::Compression;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData};
use parquet::file::page_index::column_index::ColumnIndexMetaData;
use parquet::file::properties::WriterProperties;
use parquet::file::statistics::Statistics;
use serde_json::json;
use strata_codec::{EncodeOptions, Profile};
use strata_format::{BlockOptions, LocalFs, Schema, Segment, SymbolAs};
use strata_predicate::{BoundPredicate, Scan};
use strata_writer::{SegmentWriter, WriterOptions};

use crate::data::{BEIJING_DIR, FLIGHTS_FILE, days_from_civil, read_text, split_csv_line};
use crate::measure::median_secs;
use crate::report::{Table, num};
use crate::{BenchContext, BenchError, Result, Suite, SuiteOutput};

/// Rows per page of the Parquet peer (comparable granularity to Strata's 1024-row blocks).
pub const PARQUET_PAGE_ROWS: usize = 8192;

/// Rows per output batch, for every strategy.
pub const SCAN_BATCH_ROWS: usize = 8192;

/// The scan suite.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScanSuite;

/// One query of a table.
#[derive(Debug, Clone)]
struct Query {
    name: String,
    /// Predicate text for Strata.
    text: String,
    /// Time column range `[lo, hi)` in the column's unit, for Parquet pruning.
    time: Option<(i64, i64)>,
    /// Tag equality, for Parquet row-group pruning.
    tag: Option<(String, String)>,
    /// Whether this is the 1 % time range the targets are stated for.
    target: bool,
}

/// A table written both ways.
struct Prepared {
    name: String,
    rows: usize,
    time_col: String,
    segment: Arc<Segment>,
    segment_bytes: u64,
    parquet: PathBuf,
    parquet_bytes: u64,
    queries: Vec<Query>,
}

fn fmt_err(path: &Path, e: impl std::fmt::Display) -> BenchError {
    BenchError::data(path, e.to_string())
}

impl Suite for ScanSuite {
    fn name(&self) -> &'static str {
        "scan"
    }

    fn run(&self, ctx: &BenchContext) -> Result<SuiteOutput> {
        let files = ctx.out_dir.join("scan-files");
        if files.exists() {
            std::fs::remove_dir_all(&files).map_err(|e| BenchError::io(&files, e))?;
        }
        std::fs::create_dir_all(&files).map_err(|e| BenchError::io(&files, e))?;
        let mut notices = Vec::new();
        let mut prepared = Vec::new();
        let flights = ctx.data_dir.join(FLIGHTS_FILE);
        if flights.is_file() {
            eprintln!("scan: preparing bts-flights-3m");
            prepared.push(prepare_flights(&flights, &files)?);
        } else {
            notices.push(format!("{} not found, flights skipped", flights.display()));
        }
        let beijing = ctx.data_dir.join(BEIJING_DIR);
        if beijing.is_dir() {
            eprintln!("scan: preparing beijing");
            prepared.push(prepare_beijing(&beijing, &files)?);
        } else {
            notices.push(format!("{} not found, Beijing skipped", beijing.display()));
        }

        let mut table = Table::new([
            "table",
            "query",
            "rows out",
            "Strata pruned ms",
            "Strata full ms",
            "parquet-rs ms",
            "full / pruned",
            "parquet / pruned",
            "bytes read % of file",
            "blocks pruned / total",
        ]);
        let mut results = Vec::new();
        let mut targets = Vec::new();
        for t in &prepared {
            for q in &t.queries {
                eprintln!("scan: {} / {}", t.name, q.name);
                let r = run_query(ctx, t, q)?;
                table.row(vec![
                    t.name.clone(),
                    q.name.clone(),
                    r.rows.to_string(),
                    num(r.pruned_s * 1e3, 2),
                    num(r.full_s * 1e3, 2),
                    num(r.parquet_s * 1e3, 2),
                    format!("{}×", num(r.full_s / r.pruned_s, 1)),
                    format!("{}×", num(r.parquet_s / r.pruned_s, 1)),
                    num(100.0 * r.bytes_read as f64 / t.segment_bytes as f64, 2),
                    format!("{} / {}", r.blocks_pruned, r.blocks_total),
                ]);
                if q.target {
                    let vs_full = r.full_s / r.pruned_s;
                    let vs_parquet = r.parquet_s / r.pruned_s;
                    let bytes_pct = 100.0 * r.bytes_read as f64 / t.segment_bytes as f64;
                    targets.push(format!(
                        "{} 1 % time range: {}× the full scan (target ≥ 20×: {}), {}× parquet-rs \
                         (target ≥ 3×: {}), bytes read {} % of the file (target ≤ 3 %: {})",
                        t.name,
                        num(vs_full, 1),
                        pass(vs_full >= 20.0),
                        num(vs_parquet, 1),
                        pass(vs_parquet >= 3.0),
                        num(bytes_pct, 2),
                        pass(bytes_pct <= 3.0),
                    ));
                }
                results.push(json!({
                    "table": t.name, "query": q.name, "predicate": q.text, "rows": r.rows,
                    "strata_pruned_s": r.pruned_s, "strata_full_s": r.full_s,
                    "parquet_s": r.parquet_s, "bytes_read": r.bytes_read,
                    "segment_bytes": t.segment_bytes, "parquet_bytes": t.parquet_bytes,
                    "blocks_pruned": r.blocks_pruned, "blocks_total": r.blocks_total,
                    "blocks_all_true": r.blocks_all_true,
                }));
            }
        }
        let mut md = String::from("## Scans\n\n");
        for t in &prepared {
            md.push_str(&format!(
                "* `{}`: {} rows; Strata segment {} bytes, Parquet {} bytes\n",
                t.name, t.rows, t.segment_bytes, t.parquet_bytes
            ));
        }
        md.push('\n');
        md.push_str(&table.to_markdown());
        md.push('\n');
        for t in &targets {
            md.push_str(&format!("* {t}\n"));
        }
        for n in &notices {
            md.push_str(&format!("* notice: {n}\n"));
        }
        for t in &prepared {
            for q in &t.queries {
                md.push_str(&format!("* `{}` {}: `{}`\n", t.name, q.name, q.text));
            }
        }
        Ok(SuiteOutput {
            markdown: md,
            json: json!({ "results": results, "targets": targets, "notices": notices }),
        })
    }
}

fn pass(ok: bool) -> &'static str {
    if ok { "met" } else { "missed" }
}

struct QueryResult {
    rows: usize,
    pruned_s: f64,
    full_s: f64,
    parquet_s: f64,
    bytes_read: u64,
    blocks_pruned: u64,
    blocks_total: u64,
    blocks_all_true: u64,
}

fn run_query(ctx: &BenchContext, t: &Prepared, q: &Query) -> Result<QueryResult> {
    let seg_path = PathBuf::from(&t.name);
    let p = BoundPredicate::parse_and_bind(&q.text, t.segment.schema())
        .map_err(|e| fmt_err(&seg_path, e))?;
    let reps = ctx.repetitions();

    let pruned = || -> Result<(usize, strata_predicate::ScanStats)> {
        let scan = Scan::new(vec![t.segment.clone()])
            .predicate(p.clone())
            .batch_size(SCAN_BATCH_ROWS);
        let stats = scan.stats();
        let mut rows = 0;
        for b in scan {
            rows += b.map_err(|e| fmt_err(&seg_path, e))?.num_rows();
        }
        Ok((rows, stats.get()))
    };
    let full = || -> Result<usize> {
        let mut rows = 0;
        for b in Scan::new(vec![t.segment.clone()]).batch_size(SCAN_BATCH_ROWS) {
            let b = b.map_err(|e| fmt_err(&seg_path, e))?;
            let m = p.evaluate(&b).map_err(|e| fmt_err(&seg_path, e))?;
            let m = if m.null_count() > 0 {
                prep_null_mask_filter(&m)
            } else {
                m
            };
            rows += filter_record_batch(&b, &m)?.num_rows();
        }
        Ok(rows)
    };
    let parquet = || parquet_query(&t.parquet, &t.time_col, q, &p);

    let (rows, stats) = pruned()?;
    let full_rows = full()?;
    let parquet_rows = parquet()?;
    if full_rows != rows || parquet_rows != rows {
        return Err(BenchError::data(
            &seg_path,
            format!(
                "{}: row counts differ: pruned {rows}, full {full_rows}, parquet {parquet_rows}",
                q.name
            ),
        ));
    }
    let pruned_s = median_secs(reps, || pruned().map(|_| ()))?;
    let full_s = median_secs(reps, || full().map(|_| ()))?;
    let parquet_s = median_secs(reps, || parquet().map(|_| ()))?;
    Ok(QueryResult {
        rows,
        pruned_s,
        full_s,
        parquet_s,
        bytes_read: stats.bytes_read,
        blocks_pruned: stats.blocks_pruned,
        blocks_total: stats.blocks_total,
        blocks_all_true: stats.blocks_all_true,
    })
}

/// Reads the rows of `q` from the Parquet file: row groups pruned by statistics, pages of the
/// time column pruned by the page index, the predicate as a `RowFilter`.
fn parquet_query(path: &Path, time_col: &str, q: &Query, p: &BoundPredicate) -> Result<usize> {
    let file = File::open(path).map_err(|e| BenchError::io(path, e))?;
    let opts = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required);
    let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(file, opts)?;
    let meta = builder.metadata().clone();
    let descr = builder.parquet_schema();
    let col_idx = |name: &str| descr.columns().iter().position(|c| c.name() == name);
    let time_idx = col_idx(time_col);
    let groups: Vec<usize> = (0..meta.num_row_groups())
        .filter(|&g| row_group_may_match(&meta, g, time_idx, q, &col_idx))
        .collect();
    let mut selectors = Vec::new();
    for &g in &groups {
        let rows = meta.row_group(g).num_rows() as usize;
        match (q.time, time_idx) {
            (Some(range), Some(ti)) => selectors.extend(page_selection(&meta, g, ti, rows, range)),
            _ => selectors.push(RowSelector::select(rows)),
        }
    }
    // By leaf index: `ProjectionMask::columns` reads dots as paths (`PM2.5`).
    let leaves: Vec<usize> = p
        .columns()
        .iter()
        .filter_map(|c| col_idx(&c.name))
        .collect();
    let mask = ProjectionMask::leaves(descr, leaves);
    let p = p.clone();
    let filter = ArrowPredicateFn::new(mask, move |batch: RecordBatch| {
        let m = p
            .evaluate(&batch)
            .map_err(|e| arrow_schema::ArrowError::ComputeError(e.to_string()))?;
        Ok(if m.null_count() > 0 {
            prep_null_mask_filter(&m)
        } else {
            m
        })
    });
    let reader = builder
        .with_row_groups(groups)
        .with_row_selection(RowSelection::from(selectors))
        .with_row_filter(RowFilter::new(vec![Box::new(filter)]))
        .with_batch_size(SCAN_BATCH_ROWS)
        .build()?;
    let mut rows = 0;
    for b in reader {
        rows += b?.num_rows();
    }
    Ok(rows)
}

fn row_group_may_match(
    meta: &ParquetMetaData,
    g: usize,
    time_idx: Option<usize>,
    q: &Query,
    col_idx: &dyn Fn(&str) -> Option<usize>,
) -> bool {
    let rg = meta.row_group(g);
    if let (Some((lo, hi)), Some(ti)) = (q.time, time_idx)
        && let Some(Statistics::Int64(s)) = rg.column(ti).statistics()
        && let (Some(min), Some(max)) = (s.min_opt(), s.max_opt())
        && (*max < lo || *min >= hi)
    {
        return false;
    }
    if let Some((col, v)) = &q.tag
        && let Some(ci) = col_idx(col)
        && let Some(Statistics::ByteArray(s)) = rg.column(ci).statistics()
        && let (Some(min), Some(max)) = (s.min_bytes_opt(), s.max_bytes_opt())
        && (v.as_bytes() < min || v.as_bytes() > max)
    {
        return false;
    }
    true
}

/// Selectors over one row group: pages of the time column whose `[min, max]` misses `[lo, hi)`
/// are skipped.
fn page_selection(
    meta: &ParquetMetaData,
    g: usize,
    ti: usize,
    rows: usize,
    (lo, hi): (i64, i64),
) -> Vec<RowSelector> {
    let index = meta
        .column_index()
        .and_then(|c| c.get(g))
        .and_then(|c| c.get(ti));
    let offsets = meta
        .offset_index()
        .and_then(|o| o.get(g))
        .and_then(|o| o.get(ti));
    let (Some(ColumnIndexMetaData::INT64(index)), Some(offsets)) = (index, offsets) else {
        return vec![RowSelector::select(rows)];
    };
    let pages = offsets.page_locations();
    let mut out: Vec<RowSelector> = Vec::with_capacity(pages.len());
    for (i, page) in pages.iter().enumerate() {
        let start = page.first_row_index as usize;
        let end = pages
            .get(i + 1)
            .map_or(rows, |n| n.first_row_index as usize);
        let keep = match (index.min_value(i), index.max_value(i)) {
            (Some(min), Some(max)) => !(*max < lo || *min >= hi),
            _ => true,
        };
        let n = end.saturating_sub(start);
        match out.last_mut() {
            Some(last) if last.skip != keep => last.row_count += n,
            _ => out.push(if keep {
                RowSelector::select(n)
            } else {
                RowSelector::skip(n)
            }),
        }
    }
    out
}

/// Writes `batches` as a Strata segment and a Parquet file in `dir`.
fn write_both(
    dir: &Path,
    name: &str,
    schema: Schema,
    batches: &[RecordBatch],
) -> Result<(Arc<Segment>, u64, PathBuf, u64)> {
    let seg_name = format!("{name}.strata");
    let opts = WriterOptions {
        block: BlockOptions {
            encode: EncodeOptions {
                profile: Profile::TimeSeries,
                ..EncodeOptions::default()
            },
            ..BlockOptions::default()
        },
        ..WriterOptions::default()
    };
    let mut w = SegmentWriter::create(Arc::new(LocalFs), dir, &seg_name, schema, opts)
        .map_err(|e| fmt_err(dir, e))?;
    for b in batches {
        w.write_batch(b).map_err(|e| fmt_err(dir, e))?;
    }
    let meta = w.finish().map_err(|e| fmt_err(dir, e))?;
    let segment = Segment::open(&LocalFs, &meta.path)
        .map_err(|e| fmt_err(&meta.path, e))?
        .with_symbol_as(SymbolAs::Dictionary);

    let pq = dir.join(format!("{name}.parquet"));
    let file = File::create(&pq).map_err(|e| BenchError::io(&pq, e))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_data_page_row_count_limit(PARQUET_PAGE_ROWS)
        .set_write_batch_size(PARQUET_PAGE_ROWS)
        .build();
    let arrow_schema = batches
        .first()
        .map(RecordBatch::schema)
        .ok_or_else(|| BenchError::data(dir, "no rows"))?;
    let mut pw = ArrowWriter::try_new(file, arrow_schema, Some(props))?;
    for b in batches {
        pw.write(b)?;
    }
    pw.close()?;
    let pq_bytes = std::fs::metadata(&pq)
        .map_err(|e| BenchError::io(&pq, e))?
        .len();
    Ok((Arc::new(segment), meta.bytes, pq, pq_bytes))
}

/// Time ranges at row quantiles of a sorted time column: `[t(mid), t(mid + sel·n))`.
fn time_range(times: &[i64], fraction: f64) -> (i64, i64) {
    let n = times.len();
    let start = n / 3;
    let end = (start + ((n as f64) * fraction).round() as usize).min(n.saturating_sub(1));
    let lo = times.get(start).copied().unwrap_or(0);
    let hi = times.get(end).copied().unwrap_or(lo);
    (lo, hi.max(lo + 1))
}

fn time_queries(col: &str, times: &[i64]) -> Vec<Query> {
    [(0.001, "0.1 %"), (0.01, "1 %"), (0.1, "10 %")]
        .into_iter()
        .map(|(f, label)| {
            let (lo, hi) = time_range(times, f);
            Query {
                name: format!("time range {label}"),
                text: format!("{col} >= {lo} AND {col} < {hi}"),
                time: Some((lo, hi)),
                tag: None,
                target: f == 0.01,
            }
        })
        .collect()
}

fn prepare_flights(path: &Path, dir: &Path) -> Result<Prepared> {
    let file = File::open(path).map_err(|e| BenchError::io(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)?
        .with_batch_size(65_536)
        .build()?;
    let fields = vec![
        ArrowField::new(
            "date",
            ArrowType::Timestamp(arrow_schema::TimeUnit::Microsecond, None),
            false,
        ),
        ArrowField::new("delay", ArrowType::Int64, false),
        ArrowField::new("distance", ArrowType::Int64, false),
        ArrowField::new("origin", ArrowType::Utf8, false),
        ArrowField::new("destination", ArrowType::Utf8, false),
    ];
    let arrow_schema = Arc::new(ArrowSchema::new(fields));
    let mut batches = Vec::new();
    let mut times = Vec::new();
    for b in reader {
        let b = b?;
        let mut cols: Vec<ArrayRef> = Vec::new();
        for f in arrow_schema.fields() {
            let c = b
                .column_by_name(f.name())
                .ok_or_else(|| BenchError::data(path, format!("no column {}", f.name())))?;
            cols.push(arrow_cast::cast(c, f.data_type())?);
        }
        if let Some(t) = cols
            .first()
            .and_then(|c| c.as_primitive_opt::<TimestampMicrosecondType>())
        {
            times.extend_from_slice(t.values());
        }
        batches.push(RecordBatch::try_new(arrow_schema.clone(), cols)?);
    }
    let rows = times.len();
    let schema = Schema::from_arrow(&arrow_schema)
        .and_then(|s| s.with_symbol("origin"))
        .and_then(|s| s.with_symbol("destination"))
        .and_then(|s| s.with_sort_key(["date"]))
        .map_err(|e| fmt_err(path, e))?;
    let (segment, segment_bytes, parquet, parquet_bytes) =
        write_both(dir, "flights", schema, &batches)?;
    let mut queries = time_queries("date", &times);
    queries.push(Query {
        name: "origin = 'SFO'".into(),
        text: "origin = 'SFO'".into(),
        time: None,
        tag: Some(("origin".into(), "SFO".into())),
        target: false,
    });
    let (lo, hi) = time_range(&times, 0.1);
    queries.push(Query {
        name: "10 % range ∧ origin ∧ delay".into(),
        text: format!("date >= {lo} AND date < {hi} AND origin = 'SFO' AND delay > 30"),
        time: Some((lo, hi)),
        tag: Some(("origin".into(), "SFO".into())),
        target: false,
    });
    Ok(Prepared {
        name: "bts-flights-3m".into(),
        rows,
        time_col: "date".into(),
        segment,
        segment_bytes,
        parquet,
        parquet_bytes,
        queries,
    })
}

const BEIJING_FLOATS: [&str; 11] = [
    "PM2.5", "PM10", "SO2", "NO2", "CO", "O3", "TEMP", "PRES", "DEWP", "RAIN", "WSPM",
];

fn prepare_beijing(dir_in: &Path, dir: &Path) -> Result<Prepared> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir_in)
        .map_err(|e| BenchError::io(dir_in, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("PRSA_Data_"))
        })
        .collect();
    files.sort();
    let mut time = Vec::new();
    let mut no = Vec::new();
    let mut floats: Vec<Vec<Option<f64>>> = vec![Vec::new(); BEIJING_FLOATS.len()];
    let mut wd: Vec<Option<String>> = Vec::new();
    let mut station = Vec::new();
    for f in &files {
        let text = read_text(f)?;
        let mut lines = text.lines();
        let header = split_csv_line(lines.next().unwrap_or_default());
        let at = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| BenchError::data(f, format!("no column {name}")))
        };
        let (iy, im, id, ih, ino, iwd, ist) = (
            at("year")?,
            at("month")?,
            at("day")?,
            at("hour")?,
            at("No")?,
            at("wd")?,
            at("station")?,
        );
        let fi: Vec<usize> = BEIJING_FLOATS
            .iter()
            .map(|n| at(n))
            .collect::<Result<_>>()?;
        for line in lines.filter(|l| !l.trim().is_empty()) {
            let v = split_csv_line(line);
            let get = |i: usize| v.get(i).map(String::as_str).unwrap_or("NA");
            let int = |i: usize| {
                get(i)
                    .parse::<i64>()
                    .map_err(|_| BenchError::data(f, format!("bad integer {:?}", get(i))))
            };
            time.push(days_from_civil(int(iy)?, int(im)?, int(id)?) * 86_400 + int(ih)? * 3600);
            no.push(int(ino)?);
            for (k, &i) in fi.iter().enumerate() {
                floats[k].push(get(i).parse::<f64>().ok());
            }
            wd.push((get(iwd) != "NA").then(|| get(iwd).to_string()));
            station.push(get(ist).to_string());
        }
    }
    let mut fields = vec![
        ArrowField::new(
            "time",
            ArrowType::Timestamp(arrow_schema::TimeUnit::Second, None),
            false,
        ),
        ArrowField::new("station", ArrowType::Utf8, false),
        ArrowField::new("No", ArrowType::Int64, false),
    ];
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(TimestampSecondArray::from(time)),
        Arc::new(StringArray::from(station)),
        Arc::new(Int64Array::from(no)),
    ];
    for (k, name) in BEIJING_FLOATS.iter().enumerate() {
        fields.push(ArrowField::new(*name, ArrowType::Float64, true));
        cols.push(Arc::new(Float64Array::from(std::mem::take(&mut floats[k]))));
    }
    fields.push(ArrowField::new("wd", ArrowType::Utf8, true));
    cols.push(Arc::new(StringArray::from(wd)));
    let arrow_schema = Arc::new(ArrowSchema::new(fields));
    let all = RecordBatch::try_new(arrow_schema.clone(), cols)?;
    let idx = lexsort_to_indices(
        &[
            SortColumn {
                values: all.column(0).clone(),
                options: None,
            },
            SortColumn {
                values: all.column(1).clone(),
                options: None,
            },
        ],
        None,
    )?;
    let sorted = arrow_select::take::take_record_batch(&all, &idx)?;
    let rows = sorted.num_rows();
    let times: Vec<i64> = sorted
        .column(0)
        .as_primitive::<TimestampSecondType>()
        .values()
        .to_vec();
    let batches: Vec<RecordBatch> = (0..rows)
        .step_by(65_536)
        .map(|s| sorted.slice(s, 65_536.min(rows - s)))
        .collect();
    let schema = Schema::from_arrow(&arrow_schema)
        .and_then(|s| s.with_symbol("station"))
        .and_then(|s| s.with_symbol("wd"))
        .and_then(|s| s.with_sort_key(["time", "station"]))
        .map_err(|e| fmt_err(dir_in, e))?;
    let (segment, segment_bytes, parquet, parquet_bytes) =
        write_both(dir, "beijing", schema, &batches)?;
    let mut queries = time_queries("time", &times);
    queries.push(Query {
        name: "station = 'Dongsi'".into(),
        text: "station = 'Dongsi'".into(),
        time: None,
        tag: Some(("station".into(), "Dongsi".into())),
        target: false,
    });
    let (lo, hi) = time_range(&times, 0.1);
    queries.push(Query {
        name: "10 % range ∧ station ∧ PM2.5".into(),
        text: format!("time >= {lo} AND time < {hi} AND station = 'Dongsi' AND \"PM2.5\" > 100"),
        time: Some((lo, hi)),
        tag: Some(("station".into(), "Dongsi".into())),
        target: false,
    });
    Ok(Prepared {
        name: "beijing".into(),
        rows,
        time_col: "time".into(),
        segment,
        segment_bytes,
        parquet,
        parquet_bytes,
        queries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_ranges_cut_at_quantiles() {
        let t: Vec<i64> = (0..1000).collect();
        assert_eq!(time_range(&t, 0.01), (333, 343));
        assert_eq!(time_range(&[], 0.01), (0, 1));
    }
}

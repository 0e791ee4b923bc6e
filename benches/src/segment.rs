//! The segment suite (issue 3): whole tables written by Strata and by the parquet crate (zstd
//! level 3 and snappy, default row-group size) in the same run.
//!
//! Every table of [`tables`] is first loaded as a user loads it, `strata ingest` with no flags;
//! **the size compared with Parquet is that table's** (its segments' bytes, whatever partitions
//! and segments the ingest made), reported with its segment and partition counts and the
//! ingest's wall-clock time. Under a `--quick` row cap the peers get only the first rows, and
//! the size compared is then that of the timed single segment below.
//!
//! Then, for the table's rows in stored order: file size, write throughput and full-read
//! throughput (rows/s) of one Strata segment, Parquet+zstd(3) and Parquet+snappy, medians of
//! [`SEGMENT_REPETITIONS`] runs (1 under `--quick`), interleaved so load from other processes
//! hits all of them alike. In the same runs, the Strata segment written with the entropy-coded
//! leaf on (`EncodeOptions::entropy`, off by default): its bytes, write and one-thread read.
//! The size target compares with the smaller of two Parquet+zstd files: default properties, and
//! tuned (`DELTA_BINARY_PACKED`, no dictionary, for integer, date and timestamp columns; written
//! once, not timed).
//!
//! * **Strata write:** [`SegmentWriter`] onto [`LocalFs`] in a temporary directory, the table's
//!   schema (its sort key and symbols) and the writer options a table uses
//!   (`TableOptions::default().writer`), up to and including `finish()` (footer, fsync, rename,
//!   directory fsync).
//! * **Parquet write:** `ArrowWriter` to a file in the same directory, default writer properties
//!   apart from the compression, then `close` and an fsync of the file.
//! * **Strata read:** a streaming `Scan` of the segment (`Segment::open`, then
//!   `Scan::new(..).batch_size(BATCH_ROWS).threads(1)`), batches collected as Parquet's are,
//!   Symbol columns as Arrow dictionaries (the reader's default), decoded on one thread; and the
//!   same with every core (`threads(available cores)`), reported beside it.
//! * **Parquet read:** `ParquetRecordBatchReaderBuilder` over the file, all row groups, batches of
//!   [`tables::BATCH_ROWS`] rows (the default of 1024 is slower on these tables); and
//!   Parquet+zstd on every core (the multi-threaded peer): the file's columns dealt out to one
//!   such reader a core, their batches joined (`read_parquet_threads`).
//!
//! The Strata segment and the Parquet+zstd file of each table are kept in `segment-files/` of the
//! output directory, for profiling one read or write on its own.
//!
//! Both writers get the same sorted batches; each file is read back and compared with the input
//! (row count, then column by column after casting dictionaries to `Utf8`) before anything is
//! timed. Each write starts by removing the previous file. Files are read from the page cache.
//! The `strata-benches` binary fixes glibc's malloc thresholds for the run, so that a reader's
//! page faults do not depend on what ran before it (see its `fix_malloc_thresholds`).
//! The JSON also holds per-column bytes of Strata (`SegmentMeta::column_bytes`) and of
//! Parquet+zstd (compressed column-chunk sizes), and each Strata column's most common cascade.
//!
//! Tables of at least [`SMALL_SEGMENTS`] × [`SMALL_SEGMENT_MIN_ROWS`] rows are also cut into
//! [`SMALL_SEGMENTS`] segments of consecutive rows (a partitioned table), written as a table's
//! flushes write them; a one-thread full read of all of them, opened beforehand, is timed in
//! the same runs against one of the one segment opened likewise ([`PartitionedRead`]), with the
//! target that a byte of the small segments costs no more to read than a byte of the one.
//!
//! With the cargo feature `vortex` (off by default), Vortex is timed in the same runs as one
//! more peer: its default write strategy, read on one thread into Arrow (module `vortex_peer`),
//! in a table of its own in the report.

pub mod tables;
#[cfg(feature = "vortex")]
pub mod vortex_peer;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use serde::Serialize;
use strata_format::{Footer, LocalFs, Segment};
use strata_predicate::Scan;
use strata_writer::{SegmentMeta, SegmentWriter, WriterOptions};

use crate::measure::{Op, interleaved_medians};
use crate::peers::PARQUET_ZSTD_LEVEL;
use crate::report::{Machine, Table as MdTable, num, today_utc};
use crate::{BenchContext, BenchError, Result, Suite, SuiteOutput};

use tables::{StringColumn, Table};

/// Runs per measurement in a full run (the median is reported).
pub const SEGMENT_REPETITIONS: usize = 5;

/// Strata file size at most this fraction of Parquet+zstd's (issue 3).
pub const SIZE_VS_PARQUET_ZSTD_MAX: f64 = 0.8;
/// Strata full read on every core at least this multiple of single-threaded Parquet+zstd's
/// rows/s (issue 16).
pub const READ_ALL_CORES_VS_PARQUET_MIN: f64 = 2.0;
/// Strata full read at least this multiple of Parquet+zstd's rows/s (issue 3).
pub const READ_VS_PARQUET_MIN: f64 = 1.5;
/// Strata write at least this multiple of Parquet+zstd's rows/s ("no slower", issue 3).
pub const WRITE_VS_PARQUET_ZSTD_MIN: f64 = 1.0;

/// Segments of a table cut as a partitioned table holds it ([`PartitionedRead`]).
pub const SMALL_SEGMENTS: usize = 720;
/// Tables with fewer rows than this many a segment are not cut into [`SMALL_SEGMENTS`].
pub const SMALL_SEGMENT_MIN_ROWS: usize = 100;
/// Many small segments read in at most this multiple of one segment's time for each byte
/// more they hold (issue 16: "must not cost more than their bytes").
pub const SMALL_SEGMENTS_TIME_PER_BYTE_MAX: f64 = 1.0;

const SEGMENT_NAME: &str = "table.strata";

/// The segment suite.
#[derive(Debug, Clone, Copy, Default)]
pub struct SegmentSuite;

impl Suite for SegmentSuite {
    fn name(&self) -> &'static str {
        "segment"
    }

    fn run(&self, ctx: &BenchContext) -> Result<SuiteOutput> {
        let loaded = tables::load_tables(&ctx.data_dir, ctx.max_values());
        for n in &loaded.notices {
            eprintln!("notice: {n}");
        }
        for e in &loaded.errors {
            eprintln!("error: {e}");
        }
        let mut report = SegmentReport {
            date: today_utc(),
            machine: Machine::detect(),
            load_average: load_average(),
            load_average_after: None,
            quick: ctx.quick,
            repetitions: repetitions(ctx),
            max_rows_per_table: ctx.max_values(),
            data_dir: ctx.data_dir.display().to_string(),
            tables: Vec::new(),
            targets: Vec::new(),
            notices: loaded.notices,
            errors: loaded.errors,
        };
        for table in &loaded.tables {
            eprintln!("segment: {} ({} rows)", table.name, table.rows);
            match run_table(ctx, table) {
                Ok(r) => report.tables.push(r),
                Err(e) => {
                    let line = format!("{}: {e}", table.name);
                    eprintln!("error: {line}");
                    report.errors.push(line);
                }
            }
        }
        report.load_average_after = load_average();
        report.targets = check_targets(&report.tables);
        Ok(SuiteOutput {
            markdown: report.to_markdown(),
            json: serde_json::to_value(&report)?,
        })
    }
}

fn repetitions(ctx: &BenchContext) -> usize {
    if ctx.quick { 1 } else { SEGMENT_REPETITIONS }
}

/// The 1-, 5- and 15-minute load averages, on Linux.
pub fn load_average() -> Option<String> {
    let s = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

/// One format's figures on one table.
#[derive(Debug, Clone, Serialize)]
pub struct FormatFigures {
    /// File size in bytes.
    pub bytes: u64,
    /// Median write throughput, rows/s.
    pub write_rows_s: f64,
    /// Median full-read throughput, rows/s.
    pub read_rows_s: f64,
}

/// One column of the Strata segment.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnBreakdown {
    /// Column name.
    pub name: String,
    /// Strata type (e.g. `Symbol`, `Float64`).
    pub strata_type: String,
    /// Strata block bytes of the column.
    pub strata_bytes: u64,
    /// Compressed bytes of the column's chunks in the Parquet+zstd file.
    pub parquet_zstd_bytes: u64,
    /// `strata_bytes / parquet_zstd_bytes`.
    pub ratio: f64,
    /// Share of the segment's block bytes.
    pub share: f64,
    /// The most common cascade of its blocks.
    pub top_cascade: String,
    /// Blocks that use it, of all the column's blocks.
    pub top_cascade_blocks: usize,
    /// The column's blocks.
    pub blocks: usize,
}

/// Results for one table.
#[derive(Debug, Clone, Serialize)]
pub struct TableResult {
    /// Table name.
    pub name: String,
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub columns: usize,
    /// Sort key (empty: file order).
    pub sort_key: Vec<String>,
    /// Strata codec profile.
    pub profile: String,
    /// String columns, their distinct counts and Symbol decisions.
    pub strings: Vec<StringColumn>,
    /// What the no-flag ingest made: the table a user gets.
    pub ingested: tables::Ingested,
    /// Bytes compared with Parquet: the ingested table's, or (under a row cap) the timed
    /// segment's.
    pub strata_size_bytes: u64,
    /// One Strata segment of the same rows (timed writes and reads).
    pub strata: FormatFigures,
    /// Parquet, zstd level 3.
    pub parquet_zstd: FormatFigures,
    /// Parquet, snappy.
    pub parquet_snappy: FormatFigures,
    /// Bytes of Parquet+zstd with per-column encodings set: `DELTA_BINARY_PACKED` and no
    /// dictionary for integer, date and timestamp columns (Parquet at its best on them).
    pub parquet_zstd_tuned_bytes: u64,
    /// The smaller of Parquet+zstd's bytes with its defaults and tuned: what the size target
    /// compares against.
    pub parquet_best_bytes: u64,
    /// The same segment written with the entropy-coded leaf on
    /// (`EncodeOptions::entropy`; off by default), timed like `strata`.
    pub strata_entropy: FormatFigures,
    /// `strata_size_bytes` ÷ the best Parquet+zstd bytes.
    pub size_vs_parquet_zstd: f64,
    /// Strata read rows/s ÷ Parquet+zstd read rows/s.
    pub read_vs_parquet_zstd: f64,
    /// Strata read rows/s ÷ Parquet+snappy read rows/s.
    pub read_vs_parquet_snappy: f64,
    /// Strata full-read rows/s with every core decoding (`strata.read_rows_s` is one thread).
    pub strata_all_cores_read_rows_s: f64,
    /// Parquet+zstd read by parquet-rs on every core, its columns dealt out to one reader a
    /// core (the multi-threaded peer; `parquet_zstd.read_rows_s` is one thread).
    pub parquet_zstd_all_cores_read_rows_s: f64,
    /// The cores of those reads.
    pub cores: usize,
    /// Strata all-cores read rows/s ÷ Parquet+zstd read rows/s (one thread).
    pub read_all_cores_vs_parquet_zstd: f64,
    /// Strata write rows/s ÷ Parquet+zstd write rows/s.
    pub write_vs_parquet_zstd: f64,
    /// Strata's bytes per column, largest first.
    pub column_bytes: Vec<ColumnBreakdown>,
    /// Vortex, timed in the same runs (only with the cargo feature `vortex`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vortex: Option<VortexComparison>,
    /// The table as [`SMALL_SEGMENTS`] segments, timed in the same runs (tables of at least
    /// [`SMALL_SEGMENT_MIN_ROWS`] rows a segment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partitioned: Option<PartitionedRead>,
}

/// The table as many small segments of consecutive rows (a partitioned table), against the
/// one segment: bytes and a one-thread full read of all of them, both opened beforehand as a
/// table's snapshot holds them.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionedRead {
    /// Segments.
    pub segments: usize,
    /// Rows in each (the last may hold fewer).
    pub rows_per_segment: usize,
    /// Their bytes together.
    pub bytes: u64,
    /// `bytes` ÷ the one segment's bytes.
    pub bytes_vs_one: f64,
    /// Median seconds of a full read of the one segment, opened beforehand.
    pub one_read_secs: f64,
    /// Median seconds of a full read of all the small segments, opened beforehand.
    pub read_secs: f64,
    /// `read_secs` ÷ `one_read_secs`.
    pub time_vs_one: f64,
    /// `time_vs_one` ÷ `bytes_vs_one`: what a byte of the small segments costs to read
    /// against a byte of the one segment (target: at most 1).
    pub time_per_byte_vs_one: f64,
}

/// Vortex on one table, against the Strata segment and Parquet+zstd of the same runs.
#[derive(Debug, Clone, Serialize)]
pub struct VortexComparison {
    /// Version of the `vortex` crate.
    pub version: String,
    /// The runtime that drove the write and the read, and its threads.
    pub runtime: String,
    /// Its file's bytes, write rows/s and full-read rows/s.
    pub vortex: FormatFigures,
    /// Strata segment bytes ÷ Vortex bytes.
    pub size_strata_vs_vortex: f64,
    /// Vortex bytes ÷ Parquet+zstd bytes (default properties).
    pub size_vs_parquet_zstd: f64,
    /// Strata write rows/s ÷ Vortex write rows/s.
    pub write_strata_vs_vortex: f64,
    /// Vortex write rows/s ÷ Parquet+zstd write rows/s.
    pub write_vs_parquet_zstd: f64,
    /// Strata one-thread read rows/s ÷ Vortex read rows/s.
    pub read_strata_vs_vortex: f64,
    /// Vortex read rows/s ÷ Parquet+zstd read rows/s.
    pub read_vs_parquet_zstd: f64,
    /// Columns that Vortex reads back as another Arrow type than they were written in
    /// (`name: written → read`); the check compares them after a cast to the written type.
    pub changed_read_types: Vec<String>,
}

/// One target of the issue, checked.
#[derive(Debug, Clone, Serialize)]
pub struct TargetCheck {
    /// What is required.
    pub target: String,
    /// Table it applies to.
    pub subject: String,
    /// The measured figure.
    pub value: f64,
    /// The limit it is compared against.
    pub limit: f64,
    /// Whether it is met.
    pub met: bool,
}

/// The whole suite's results (serialised to `segment.json`).
#[derive(Debug, Clone, Serialize)]
pub struct SegmentReport {
    /// Run date (UTC).
    pub date: String,
    /// Machine the run was on.
    pub machine: Machine,
    /// Load averages when the run started.
    pub load_average: Option<String>,
    /// Whether `--quick` was given.
    pub quick: bool,
    /// Runs per measurement (median reported).
    pub repetitions: usize,
    /// Cap on rows per table, if any.
    pub max_rows_per_table: Option<usize>,
    /// Data directory read.
    pub data_dir: String,
    /// Per-table results.
    pub tables: Vec<TableResult>,
    /// Issue targets, met or missed.
    pub targets: Vec<TargetCheck>,
    /// Skipped files.
    pub notices: Vec<String>,
    /// Tables dropped because of an error (unreadable file, round-trip mismatch).
    pub errors: Vec<String>,
    /// Load averages when the run ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_average_after: Option<String>,
}

/// The Strata schema of a table: the one its ingest chose (sort key, symbols).
pub fn strata_schema(table: &Table) -> Result<strata_format::Schema> {
    Ok(table.strata_schema.clone())
}

/// Writer options: those a table writes its segments with.
pub fn writer_options(_table: &Table) -> WriterOptions {
    strata::TableOptions::default().writer
}

fn write_strata(
    dir: &Path,
    schema: &strata_format::Schema,
    opts: WriterOptions,
    batches: &[RecordBatch],
) -> Result<SegmentMeta> {
    let path = dir.join(SEGMENT_NAME);
    if path.exists() {
        std::fs::remove_file(&path).map_err(|e| BenchError::io(&path, e))?;
    }
    let mut w = SegmentWriter::create(Arc::new(LocalFs), dir, SEGMENT_NAME, schema.clone(), opts)?;
    for b in batches {
        w.write_batch(b)?;
    }
    Ok(w.finish()?)
}

/// Strata full read on one thread (the fair comparison with parquet-rs's reader).
fn read_strata(path: &Path) -> Result<Vec<RecordBatch>> {
    read_strata_threads(path, 1)
}

/// A streaming [`Scan`] of every row and column in batches of [`tables::BATCH_ROWS`] rows,
/// collected, exactly as parquet-rs is read ([`read_parquet`]).
fn read_strata_threads(path: &Path, threads: usize) -> Result<Vec<RecordBatch>> {
    scan_open(&[Arc::new(Segment::open(&LocalFs, path)?)], threads)
}

/// A streaming [`Scan`] of segments already open, on `threads` threads, batches collected.
fn scan_open(segments: &[Arc<Segment>], threads: usize) -> Result<Vec<RecordBatch>> {
    Scan::new(segments.to_vec())
        .batch_size(tables::BATCH_ROWS)
        .threads(threads)
        .into_iter()
        .map(|b| b.map_err(BenchError::from))
        .collect()
}

/// The table's rows, in stored order, as `parts` segments of consecutive rows in `dir`,
/// written as a table's flushes write them: each writer starts from what the one before
/// learnt, blocks cut for the segment's rows. Their bytes and the segments, opened.
fn write_small_segments(
    dir: &Path,
    schema: &strata_format::Schema,
    opts: WriterOptions,
    table: &Table,
    parts: usize,
) -> Result<(u64, usize, Vec<Arc<Segment>>)> {
    let all = arrow_select::concat::concat_batches(&table.schema, &table.batches)?;
    let per = all.num_rows().div_ceil(parts.max(1)).max(1);
    let (mut bytes, mut segments, mut memory) = (0, Vec::new(), None);
    for (i, at) in (0..all.num_rows()).step_by(per).enumerate() {
        let rows = per.min(all.num_rows() - at);
        let mut o = opts;
        o.block = o.block.for_segment_rows(rows as u64);
        let mut w = SegmentWriter::create(
            Arc::new(LocalFs),
            dir,
            &format!("part-{i}.strata"),
            schema.clone(),
            o,
        )?;
        if let Some(m) = &memory {
            w.remember(m);
        }
        w.write_batch(&all.slice(at, rows))?;
        let (meta, learnt) = w.finish_remembering()?;
        memory = Some(learnt);
        bytes += meta.bytes;
        segments.push(Arc::new(Segment::open(&LocalFs, &meta.path)?));
    }
    Ok((bytes, per, segments))
}

/// Which Parquet compression.
#[derive(Debug, Clone, Copy)]
enum ParquetCompression {
    Zstd,
    Snappy,
    /// zstd with `DELTA_BINARY_PACKED` and no dictionary for integer, date and timestamp
    /// columns.
    ZstdTuned,
}

fn write_parquet(path: &Path, table: &Table, compression: ParquetCompression) -> Result<u64> {
    let mut props = WriterProperties::builder().set_compression(match compression {
        ParquetCompression::Zstd | ParquetCompression::ZstdTuned => {
            Compression::ZSTD(ZstdLevel::try_new(PARQUET_ZSTD_LEVEL)?)
        }
        ParquetCompression::Snappy => Compression::SNAPPY,
    });
    if matches!(compression, ParquetCompression::ZstdTuned) {
        for f in table.schema.fields() {
            if f.data_type().is_integer() || f.data_type().is_temporal() {
                let col = ColumnPath::from(f.name().as_str());
                props = props
                    .set_column_dictionary_enabled(col.clone(), false)
                    .set_column_encoding(col, Encoding::DELTA_BINARY_PACKED);
            }
        }
    }
    let props = props.build();
    if path.exists() {
        std::fs::remove_file(path).map_err(|e| BenchError::io(path, e))?;
    }
    let file = File::create(path).map_err(|e| BenchError::io(path, e))?;
    let mut w = ArrowWriter::try_new(file, table.schema.clone(), Some(props))?;
    for b in &table.batches {
        w.write(b)?;
    }
    let file = w.into_inner()?;
    file.sync_all().map_err(|e| BenchError::io(path, e))?;
    let len = file.metadata().map_err(|e| BenchError::io(path, e))?.len();
    Ok(len)
}

fn read_parquet(path: &Path) -> Result<Vec<RecordBatch>> {
    let file = File::open(path).map_err(|e| BenchError::io(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)?
        .with_batch_size(tables::BATCH_ROWS)
        .build()?;
    Ok(reader.collect::<std::result::Result<Vec<_>, _>>()?)
}

/// parquet-rs on every core: parquet-rs decodes one column chunk at a time on the caller's
/// thread, so the file's top-level columns are dealt out to `threads` readers (balanced by
/// compressed bytes, largest first), each a [`ParquetRecordBatchReaderBuilder`] with its
/// projection on a thread of its own, and their batches joined column by column in file order.
/// The tables' Parquet files hold one row group (bts three), so splitting by row group would
/// leave a core idle.
fn read_parquet_threads(path: &Path, threads: usize) -> Result<Vec<RecordBatch>> {
    let failed = |detail: &str| BenchError::Mismatch {
        codec: "parquet-rs on every core".into(),
        detail: detail.into(),
    };
    let open = || -> Result<ParquetRecordBatchReaderBuilder<File>> {
        let file = File::open(path).map_err(|e| BenchError::io(path, e))?;
        Ok(ParquetRecordBatchReaderBuilder::try_new(file)?)
    };
    let builder = open()?;
    let schema = Arc::clone(builder.schema());
    let meta = builder.metadata();
    let descr = builder.parquet_schema();
    // Compressed bytes of each top-level column (its leaves, over every row group).
    let mut bytes = vec![0i64; schema.fields().len()];
    for rg in meta.row_groups() {
        for (leaf, c) in rg.columns().iter().enumerate() {
            if let Some(b) = bytes.get_mut(descr.get_column_root_idx(leaf)) {
                *b += c.compressed_size();
            }
        }
    }
    let mut order: Vec<usize> = (0..bytes.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(bytes[i]));
    let threads = threads.clamp(1, order.len().max(1));
    let mut groups = vec![(0i64, Vec::new()); threads];
    for i in order {
        if let Some(g) = groups.iter_mut().min_by_key(|g| g.0) {
            g.0 += bytes[i];
            g.1.push(i);
        }
    }
    let parts: Vec<(Vec<usize>, Vec<RecordBatch>)> = std::thread::scope(|s| {
        let handles: Vec<_> = groups
            .into_iter()
            .map(|(_, mut cols)| {
                cols.sort_unstable();
                s.spawn(move || -> Result<(Vec<usize>, Vec<RecordBatch>)> {
                    let b = open()?;
                    let mask = ProjectionMask::roots(b.parquet_schema(), cols.iter().copied());
                    let reader = b
                        .with_projection(mask)
                        .with_batch_size(tables::BATCH_ROWS)
                        .build()?;
                    let batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
                    Ok((cols, batches))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(failed("a reader thread panicked")))
            })
            .collect::<Result<Vec<_>>>()
    })?;
    let batches = parts.first().map_or(0, |(_, b)| b.len());
    let mut out = Vec::with_capacity(batches);
    for k in 0..batches {
        let mut columns: Vec<Option<ArrayRef>> = vec![None; schema.fields().len()];
        for (cols, b) in &parts {
            let batch = b
                .get(k)
                .ok_or_else(|| failed("the readers returned uneven batches"))?;
            for (&c, a) in cols.iter().zip(batch.columns()) {
                if let Some(slot) = columns.get_mut(c) {
                    *slot = Some(Arc::clone(a));
                }
            }
        }
        let columns = columns
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| failed("a column was not read"))?;
        out.push(RecordBatch::try_new(Arc::clone(&schema), columns)?);
    }
    Ok(out)
}

/// Compressed bytes per column of a Parquet file, summed over row groups.
fn parquet_column_bytes(path: &Path) -> Result<BTreeMap<String, u64>> {
    let file = File::open(path).map_err(|e| BenchError::io(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
    let mut out = BTreeMap::new();
    for rg in builder.metadata().row_groups() {
        for c in rg.columns() {
            *out.entry(c.column_path().string()).or_insert(0) +=
                u64::try_from(c.compressed_size()).unwrap_or(0);
        }
    }
    Ok(out)
}

/// Checks that `got` holds exactly the rows of `expected` (dictionaries compared as `Utf8`).
fn verify(format: &str, expected: &Table, got: &[RecordBatch]) -> Result<()> {
    let mismatch = |detail: String| BenchError::Mismatch {
        codec: format.to_string(),
        detail,
    };
    let rows: usize = got.iter().map(RecordBatch::num_rows).sum();
    if rows != expected.rows {
        return Err(mismatch(format!("{rows} rows, expected {}", expected.rows)));
    }
    let Some(first) = got.first() else {
        return Ok(());
    };
    let got = arrow_select::concat::concat_batches(&first.schema(), got)?;
    let want = arrow_select::concat::concat_batches(&expected.schema, &expected.batches)?;
    if got.num_columns() != want.num_columns() {
        return Err(mismatch(format!(
            "{} columns, expected {}",
            got.num_columns(),
            want.num_columns()
        )));
    }
    for (i, field) in want.schema().fields().iter().enumerate() {
        let g: ArrayRef = arrow_cast::cast(got.column(i), field.data_type())?;
        let w = want.column(i);
        if g.as_ref() != w.as_ref() {
            let first_diff = (0..w.len())
                .find(|&r| g.slice(r, 1).as_ref() != w.slice(r, 1).as_ref())
                .unwrap_or(0);
            return Err(mismatch(format!(
                "column {:?} differs (first at row {first_diff})",
                field.name()
            )));
        }
    }
    Ok(())
}

fn rows_per_s(rows: usize, secs: Option<&f64>) -> f64 {
    match secs {
        Some(&s) if s > 0.0 => rows as f64 / s,
        _ => f64::NAN,
    }
}

/// Copies the files a table was timed on into `segment-files/` of the output directory, named
/// after the table, so that a read or write can be profiled on its own afterwards.
fn keep_files(ctx: &BenchContext, table: &Table, files: &[(&Path, &str)]) -> Result<()> {
    let dir = ctx.out_dir.join("segment-files");
    std::fs::create_dir_all(&dir).map_err(|e| BenchError::io(&dir, e))?;
    let stem = table.name.replace('/', "-");
    for (from, ext) in files {
        let to = dir.join(format!("{stem}.{ext}"));
        std::fs::copy(from, &to).map_err(|e| BenchError::io(&to, e))?;
    }
    Ok(())
}

/// Measures one table as the suite does (public so that one table can be re-measured on its
/// own, as `entropy_probe table` does).
pub fn run_table(ctx: &BenchContext, table: &Table) -> Result<TableResult> {
    let dir = tempfile::tempdir().map_err(|e| BenchError::io(&std::env::temp_dir(), e))?;
    let dir_path: PathBuf = dir.path().to_path_buf();
    let schema = strata_schema(table)?;
    let opts = writer_options(table);
    let zstd_path = dir_path.join("table.zstd.parquet");
    let snappy_path = dir_path.join("table.snappy.parquet");

    // Write each once and check every read before anything is timed.
    let meta = write_strata(&dir_path, &schema, opts, &table.batches)?;
    verify("strata", table, &read_strata(&meta.path)?)?;
    let zstd_bytes = write_parquet(&zstd_path, table, ParquetCompression::Zstd)?;
    verify("parquet-zstd", table, &read_parquet(&zstd_path)?)?;
    verify(
        "parquet-zstd-all-cores",
        table,
        &read_parquet_threads(&zstd_path, strata_format::segment::available_threads())?,
    )?;
    let snappy_bytes = write_parquet(&snappy_path, table, ParquetCompression::Snappy)?;
    verify("parquet-snappy", table, &read_parquet(&snappy_path)?)?;
    let tuned_path = dir_path.join("table.tuned.parquet");
    let tuned_bytes = write_parquet(&tuned_path, table, ParquetCompression::ZstdTuned)?;
    verify("parquet-zstd-tuned", table, &read_parquet(&tuned_path)?)?;
    let pq_columns = parquet_column_bytes(&zstd_path)?;
    let entropy_dir = dir_path.join("entropy");
    std::fs::create_dir_all(&entropy_dir).map_err(|e| BenchError::io(&entropy_dir, e))?;
    let mut entropy_opts = opts;
    entropy_opts.block.encode.entropy = true;
    let entropy_meta = write_strata(&entropy_dir, &schema, entropy_opts, &table.batches)?;
    verify("strata-entropy", table, &read_strata(&entropy_meta.path)?)?;
    #[cfg(feature = "vortex")]
    let vortex = vortex_peer::VortexRun::prepare(&dir_path, table)?;
    let one_open = vec![Arc::new(Segment::open(&LocalFs, &meta.path)?)];
    let small = if table.rows >= SMALL_SEGMENTS * SMALL_SEGMENT_MIN_ROWS {
        let small_dir = dir_path.join("small");
        std::fs::create_dir_all(&small_dir).map_err(|e| BenchError::io(&small_dir, e))?;
        let (bytes, per, segments) =
            write_small_segments(&small_dir, &schema, opts, table, SMALL_SEGMENTS)?;
        verify("strata-small-segments", table, &scan_open(&segments, 1)?)?;
        Some((bytes, per, segments))
    } else {
        None
    };

    let seg_path = meta.path.clone();
    let entropy_path = entropy_meta.path.clone();
    let cores = strata_format::segment::available_threads();
    let mut ops: Vec<Op<'_>> = vec![
        Box::new(|| write_strata(&dir_path, &schema, opts, &table.batches).map(drop)),
        Box::new(|| write_parquet(&zstd_path, table, ParquetCompression::Zstd).map(drop)),
        Box::new(|| write_parquet(&snappy_path, table, ParquetCompression::Snappy).map(drop)),
        Box::new(|| read_strata(&seg_path).map(drop)),
        Box::new(|| read_parquet(&zstd_path).map(drop)),
        Box::new(|| read_parquet(&snappy_path).map(drop)),
        Box::new(|| read_strata_threads(&seg_path, cores).map(drop)),
        Box::new(|| write_strata(&entropy_dir, &schema, entropy_opts, &table.batches).map(drop)),
        Box::new(|| read_strata(&entropy_path).map(drop)),
        Box::new(|| read_parquet_threads(&zstd_path, cores).map(drop)),
    ];
    let first_small_op = ops.len();
    if let Some((_, _, segments)) = &small {
        ops.push(Box::new(|| scan_open(&one_open, 1).map(drop)));
        ops.push(Box::new(|| scan_open(segments, 1).map(drop)));
    }
    #[cfg(feature = "vortex")]
    let first_vortex_op = {
        let first = ops.len();
        ops.extend(vortex.ops(table));
        first
    };
    let secs = interleaved_medians(&mut ops, repetitions(ctx), ctx.min_run_secs())?;
    drop(ops);
    let rows = table.rows;
    let figures = |bytes: u64, w: usize| FormatFigures {
        bytes,
        write_rows_s: rows_per_s(rows, secs.get(w)),
        read_rows_s: rows_per_s(rows, secs.get(w + 3)),
    };
    let strata = figures(meta.bytes, 0);
    let strata_all_cores_read_rows_s = rows_per_s(rows, secs.get(6));
    let parquet_zstd = figures(zstd_bytes, 1);
    let parquet_snappy = figures(snappy_bytes, 2);
    let strata_entropy = FormatFigures {
        bytes: entropy_meta.bytes,
        write_rows_s: rows_per_s(rows, secs.get(7)),
        read_rows_s: rows_per_s(rows, secs.get(8)),
    };
    let parquet_zstd_all_cores_read_rows_s = rows_per_s(rows, secs.get(9));
    let parquet_best_bytes = zstd_bytes.min(tuned_bytes);
    #[cfg(feature = "vortex")]
    let vortex = Some(vortex.comparison(
        rows,
        secs.get(first_vortex_op),
        secs.get(first_vortex_op + 1),
        &strata,
        &parquet_zstd,
    ));
    #[cfg(not(feature = "vortex"))]
    let vortex = None;
    let partitioned = match (
        &small,
        secs.get(first_small_op),
        secs.get(first_small_op + 1),
    ) {
        (Some((bytes, per, segments)), Some(&one), Some(&many)) => {
            let bytes_vs_one = *bytes as f64 / meta.bytes as f64;
            let time_vs_one = many / one;
            Some(PartitionedRead {
                segments: segments.len(),
                rows_per_segment: *per,
                bytes: *bytes,
                bytes_vs_one,
                one_read_secs: one,
                read_secs: many,
                time_vs_one,
                time_per_byte_vs_one: time_vs_one / bytes_vs_one,
            })
        }
        _ => None,
    };
    keep_files(
        ctx,
        table,
        &[(&meta.path, "strata"), (&zstd_path, "zstd.parquet")],
    )?;
    let strata_size_bytes = if table.is_whole() {
        table.ingested.table_bytes
    } else {
        meta.bytes
    };
    Ok(TableResult {
        ingested: table.ingested.clone(),
        strata_size_bytes,
        name: table.name.clone(),
        rows,
        columns: table.schema.fields().len(),
        sort_key: table.sort_key.clone(),
        profile: format!("{:?}", opts.block.encode.profile),
        strings: table.strings.clone(),
        size_vs_parquet_zstd: strata_size_bytes as f64 / parquet_best_bytes as f64,
        parquet_zstd_tuned_bytes: tuned_bytes,
        parquet_best_bytes,
        strata_entropy,
        read_vs_parquet_zstd: strata.read_rows_s / parquet_zstd.read_rows_s,
        read_vs_parquet_snappy: strata.read_rows_s / parquet_snappy.read_rows_s,
        write_vs_parquet_zstd: strata.write_rows_s / parquet_zstd.write_rows_s,
        column_bytes: column_breakdown(
            &meta,
            Segment::open(&LocalFs, &meta.path)?.footer(),
            &pq_columns,
        ),
        read_all_cores_vs_parquet_zstd: strata_all_cores_read_rows_s / parquet_zstd.read_rows_s,
        strata_all_cores_read_rows_s,
        parquet_zstd_all_cores_read_rows_s,
        cores,
        strata,
        parquet_zstd,
        parquet_snappy,
        vortex,
        partitioned,
    })
}

fn column_breakdown(
    meta: &SegmentMeta,
    footer: &Footer,
    parquet: &BTreeMap<String, u64>,
) -> Vec<ColumnBreakdown> {
    let total: u64 = meta.column_bytes.iter().map(|(_, b)| b).sum();
    let mut out: Vec<ColumnBreakdown> = meta
        .column_bytes
        .iter()
        .zip(&footer.columns)
        .zip(&footer.schema.fields)
        .map(|(((name, bytes), col), field)| {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for b in &col.blocks {
                *counts.entry(&*b.cascade).or_insert(0) += 1;
            }
            let (top, n) = counts
                .iter()
                .max_by_key(|(_, n)| **n)
                .map_or(("", 0), |(c, n)| (*c, *n));
            let pq = parquet.get(name).copied().unwrap_or(0);
            ColumnBreakdown {
                name: name.clone(),
                strata_type: field.data_type.to_string(),
                strata_bytes: *bytes,
                parquet_zstd_bytes: pq,
                ratio: *bytes as f64 / pq as f64,
                share: *bytes as f64 / total.max(1) as f64,
                top_cascade: top.to_string(),
                top_cascade_blocks: n,
                blocks: col.blocks.len(),
            }
        })
        .collect();
    out.sort_by_key(|c| std::cmp::Reverse(c.strata_bytes));
    out
}

fn check_targets(tables: &[TableResult]) -> Vec<TargetCheck> {
    let mut out = Vec::new();
    for t in tables {
        out.push(TargetCheck {
            target: format!(
                "size ≤ {SIZE_VS_PARQUET_ZSTD_MAX}× Parquet+zstd (the smaller of default and tuned)"
            ),
            subject: t.name.clone(),
            value: t.size_vs_parquet_zstd,
            limit: SIZE_VS_PARQUET_ZSTD_MAX,
            met: t.size_vs_parquet_zstd <= SIZE_VS_PARQUET_ZSTD_MAX,
        });
        out.push(TargetCheck {
            target: format!("full read ≥ {READ_VS_PARQUET_MIN}× Parquet+zstd"),
            subject: t.name.clone(),
            value: t.read_vs_parquet_zstd,
            limit: READ_VS_PARQUET_MIN,
            met: t.read_vs_parquet_zstd >= READ_VS_PARQUET_MIN,
        });
        out.push(TargetCheck {
            target: format!(
                "full read, all cores ≥ {READ_ALL_CORES_VS_PARQUET_MIN}× Parquet+zstd (one thread)"
            ),
            subject: t.name.clone(),
            value: t.read_all_cores_vs_parquet_zstd,
            limit: READ_ALL_CORES_VS_PARQUET_MIN,
            met: t.read_all_cores_vs_parquet_zstd >= READ_ALL_CORES_VS_PARQUET_MIN,
        });
        out.push(TargetCheck {
            target: format!("full read ≥ {READ_VS_PARQUET_MIN}× Parquet+snappy"),
            subject: t.name.clone(),
            value: t.read_vs_parquet_snappy,
            limit: READ_VS_PARQUET_MIN,
            met: t.read_vs_parquet_snappy >= READ_VS_PARQUET_MIN,
        });
        out.push(TargetCheck {
            target: "write no slower than Parquet+zstd".to_string(),
            subject: t.name.clone(),
            value: t.write_vs_parquet_zstd,
            limit: WRITE_VS_PARQUET_ZSTD_MIN,
            met: t.write_vs_parquet_zstd >= WRITE_VS_PARQUET_ZSTD_MIN,
        });
        if let Some(p) = &t.partitioned {
            out.push(TargetCheck {
                target: format!(
                    "many small segments: read time ÷ one segment's ≤ {SMALL_SEGMENTS_TIME_PER_BYTE_MAX}× their bytes ÷ its bytes"
                ),
                subject: t.name.clone(),
                value: p.time_per_byte_vs_one,
                limit: SMALL_SEGMENTS_TIME_PER_BYTE_MAX,
                met: p.time_per_byte_vs_one <= SMALL_SEGMENTS_TIME_PER_BYTE_MAX,
            });
        }
    }
    out
}

/// Thousands of rows per second, no decimals.
fn krows(x: f64) -> String {
    num(x / 1e3, 0)
}

impl SegmentReport {
    /// The many-small-segments table, for the tables that were cut ([`PartitionedRead`]).
    fn partitioned_markdown(&self) -> String {
        let cut: Vec<(&TableResult, &PartitionedRead)> = self
            .tables
            .iter()
            .filter_map(|r| Some((r, r.partitioned.as_ref()?)))
            .collect();
        if cut.is_empty() {
            return String::new();
        }
        let mut s = format!(
            "\n### Many small segments (a partitioned table)\n\nEach table of at least {} rows \
             cut into {SMALL_SEGMENTS} segments of consecutive rows in stored order, written as a \
             table's flushes write them (each writer starting from what the one before learnt), \
             against the one segment above; both opened beforehand (as a table's snapshot holds \
             them) and read in full on one thread in the same runs. Target: a byte of the small \
             segments costs no more to read than a byte of the one segment (time ÷ one \
             segment's ≤ bytes ÷ its bytes).\n\n",
            SMALL_SEGMENTS * SMALL_SEGMENT_MIN_ROWS
        );
        let mut t = MdTable::new([
            "table",
            "segments × rows",
            "bytes",
            "bytes ÷ one",
            "read ms, one segment",
            "read ms, segments",
            "time ÷ one",
            "time per byte ÷ one",
        ]);
        for (r, p) in cut {
            t.row(vec![
                r.name.clone(),
                format!("{} × {}", p.segments, p.rows_per_segment),
                p.bytes.to_string(),
                num(p.bytes_vs_one, 3),
                num(p.one_read_secs * 1e3, 2),
                num(p.read_secs * 1e3, 2),
                num(p.time_vs_one, 3),
                num(p.time_per_byte_vs_one, 3),
            ]);
        }
        s.push_str(&t.to_markdown());
        s
    }

    /// The Vortex table, when the run had Vortex (feature `vortex`); empty otherwise.
    fn vortex_markdown(&self) -> String {
        let Some(first) = self.tables.iter().find_map(|r| r.vortex.as_ref()) else {
            return String::new();
        };
        let mut s = format!(
            "\n### Vortex (feature `vortex`)\n\nvortex {}: its default write strategy (BtrBlocks \
             compressor), the same batches pushed, file fsynced; full read into Arrow by \
             `into_record_batch_reader`, in the types Vortex chooses; {}. Timed in the same runs \
             as the single Strata segment above (its write encodes on every core, its read here \
             is on one thread).\n\n",
            first.version, first.runtime
        );
        let mut t = MdTable::new([
            "table",
            "Strata segment bytes",
            "vortex bytes",
            "size Strata/vortex",
            "size vortex/zstd",
            "write kr/s Strata",
            "write kr/s vortex",
            "write Strata/vortex",
            "write vortex/zstd",
            "read kr/s Strata",
            "read kr/s vortex",
            "read kr/s zstd",
            "read Strata/vortex",
            "read vortex/zstd",
        ]);
        let mut changed = Vec::new();
        for r in &self.tables {
            let Some(v) = &r.vortex else { continue };
            t.row(vec![
                r.name.clone(),
                r.strata.bytes.to_string(),
                v.vortex.bytes.to_string(),
                num(v.size_strata_vs_vortex, 2),
                num(v.size_vs_parquet_zstd, 2),
                krows(r.strata.write_rows_s),
                krows(v.vortex.write_rows_s),
                num(v.write_strata_vs_vortex, 2),
                num(v.write_vs_parquet_zstd, 2),
                krows(r.strata.read_rows_s),
                krows(v.vortex.read_rows_s),
                krows(r.parquet_zstd.read_rows_s),
                num(v.read_strata_vs_vortex, 2),
                num(v.read_vs_parquet_zstd, 2),
            ]);
            if !v.changed_read_types.is_empty() {
                changed.push(format!("{}: {}", r.name, v.changed_read_types.join(", ")));
            }
        }
        s.push_str(&t.to_markdown());
        if !changed.is_empty() {
            s.push_str(
                "\nRead back in other Arrow types (compared after a cast to the written ones):\n\n",
            );
            for c in changed {
                s.push_str(&format!("- {c}\n"));
            }
        }
        s
    }

    /// The report as markdown: the main table, targets, the largest Strata columns per table.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        s.push_str("## Segments: Strata vs Parquet (zstd 3, snappy), whole tables\n\n");
        s.push_str(&format!(
            "{} · {} · load average {} at start, {} at end · median of {} run(s){}\n\n",
            self.date,
            self.machine.describe(),
            self.load_average.as_deref().unwrap_or("?"),
            self.load_average_after.as_deref().unwrap_or("?"),
            self.repetitions,
            match self.max_rows_per_table {
                Some(n) => format!(" · at most {n} rows per table (--quick)"),
                None => String::new(),
            }
        ));
        let mut t = MdTable::new([
            "table",
            "rows",
            "Strata table bytes",
            "segments / partitions",
            "ingest s",
            "Strata segment bytes",
            "pq-zstd bytes",
            "pq-zstd tuned bytes",
            "pq-snappy bytes",
            "size Strata/best zstd",
            "write kr/s Strata",
            "write kr/s zstd",
            "write kr/s snappy",
            "read kr/s Strata (1 thread)",
            "read kr/s Strata (all cores)",
            "read kr/s zstd",
            "read kr/s zstd (all cores)",
            "read kr/s snappy",
            "read Strata/zstd",
            "write Strata/zstd",
        ]);
        for r in &self.tables {
            t.row(vec![
                r.name.clone(),
                r.rows.to_string(),
                if r.strata_size_bytes == r.ingested.table_bytes {
                    r.ingested.table_bytes.to_string()
                } else {
                    format!("{} (capped: segment)", r.strata_size_bytes)
                },
                format!("{} / {}", r.ingested.segments, r.ingested.partitions),
                num(r.ingested.seconds, 1),
                r.strata.bytes.to_string(),
                r.parquet_zstd.bytes.to_string(),
                r.parquet_zstd_tuned_bytes.to_string(),
                r.parquet_snappy.bytes.to_string(),
                num(r.size_vs_parquet_zstd, 2),
                krows(r.strata.write_rows_s),
                krows(r.parquet_zstd.write_rows_s),
                krows(r.parquet_snappy.write_rows_s),
                krows(r.strata.read_rows_s),
                format!("{} ({})", krows(r.strata_all_cores_read_rows_s), r.cores),
                krows(r.parquet_zstd.read_rows_s),
                format!(
                    "{} ({})",
                    krows(r.parquet_zstd_all_cores_read_rows_s),
                    r.cores
                ),
                krows(r.parquet_snappy.read_rows_s),
                num(r.read_vs_parquet_zstd, 2),
                num(r.write_vs_parquet_zstd, 2),
            ]);
        }
        s.push_str(&t.to_markdown());
        s.push_str(
            "\nkr/s = thousands of rows per second. zstd (all cores): parquet-rs with the file's \
             columns dealt out to one reader a core. pq-zstd tuned: `DELTA_BINARY_PACKED` and no \
             dictionary for integer, date and timestamp columns.\n\n### The entropy-coded leaf \
             (`EncodeOptions::entropy`: a table's `small` compression, off by default)\n\nThe \
             same segment written with it on, timed in the same runs (reads on one thread).\n\n",
        );
        let mut e = MdTable::new([
            "table",
            "segment bytes",
            "with entropy",
            "change",
            "with entropy / best zstd",
            "write kr/s",
            "write kr/s with entropy",
            "read kr/s",
            "read kr/s with entropy",
            "read with / without",
        ]);
        for r in &self.tables {
            e.row(vec![
                r.name.clone(),
                r.strata.bytes.to_string(),
                r.strata_entropy.bytes.to_string(),
                format!(
                    "{}%",
                    num(
                        (r.strata_entropy.bytes as f64 / r.strata.bytes as f64 - 1.0) * 100.0,
                        1
                    )
                ),
                num(
                    r.strata_entropy.bytes as f64 / r.parquet_best_bytes as f64,
                    2,
                ),
                krows(r.strata.write_rows_s),
                krows(r.strata_entropy.write_rows_s),
                krows(r.strata.read_rows_s),
                krows(r.strata_entropy.read_rows_s),
                num(r.strata_entropy.read_rows_s / r.strata.read_rows_s, 2),
            ]);
        }
        s.push_str(&e.to_markdown());
        s.push_str(&self.vortex_markdown());
        s.push_str(&self.partitioned_markdown());
        s.push_str("\n### Targets\n\n");
        let met = self.targets.iter().filter(|c| c.met).count();
        s.push_str(&format!("{met} of {} met.\n\n", self.targets.len()));
        for c in &self.targets {
            s.push_str(&format!(
                "- {} {}: {} → {} (limit {})\n",
                if c.met { "met" } else { "MISSED" },
                c.subject,
                c.target,
                num(c.value, 2),
                num(c.limit, 2)
            ));
        }
        s.push_str("\n### Largest Strata columns per table\n\n");
        let mut c = MdTable::new([
            "table/column",
            "type",
            "Strata bytes",
            "pq-zstd bytes",
            "Strata/zstd",
            "share",
            "top cascade (blocks)",
        ]);
        for r in &self.tables {
            for col in r.column_bytes.iter().take(4) {
                c.row(vec![
                    format!("{}/{}", r.name, col.name),
                    col.strata_type.clone(),
                    col.strata_bytes.to_string(),
                    col.parquet_zstd_bytes.to_string(),
                    num(col.ratio, 2),
                    format!("{}%", num(col.share * 100.0, 0)),
                    format!(
                        "{} ({}/{})",
                        col.top_cascade, col.top_cascade_blocks, col.blocks
                    ),
                ]);
            }
        }
        s.push_str(&c.to_markdown());
        for r in &self.tables {
            let symbols: Vec<String> = r
                .strings
                .iter()
                .map(|c| {
                    format!(
                        "{} ({} distinct, {})",
                        c.name,
                        c.distinct,
                        if c.symbol { "Symbol" } else { "Utf8" }
                    )
                })
                .collect();
            s.push_str(&format!(
                "\n{}: time column {}, sort key [{}], {} profile; strings: {}",
                r.name,
                r.ingested.time_column.as_deref().unwrap_or("none"),
                r.sort_key.join(", "),
                r.profile,
                if symbols.is_empty() {
                    "none".to_string()
                } else {
                    symbols.join(", ")
                }
            ));
        }
        s.push('\n');
        for n in &self.notices {
            s.push_str(&format!("\nnotice: {n}"));
        }
        for e in &self.errors {
            s.push_str(&format!("\nerror: {e}"));
        }
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Float64Array, Int64Array, RecordBatch, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;

    use super::{read_parquet, read_parquet_threads, tables};

    /// The column-parallel Parquet read returns exactly what one reader does, whatever the
    /// number of threads (more threads than columns too), over several batches and row groups.
    #[test]
    fn parquet_read_on_every_core_matches_one_reader() {
        let rows = tables::BATCH_ROWS * 2 + 777;
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, false),
            Field::new("b", DataType::Utf8, true),
            Field::new("c", DataType::Float64, true),
        ]));
        let a = Int64Array::from_iter_values((0..rows as i64).map(|i| i * 7 % 1000));
        let b: StringArray = (0..rows)
            .map(|i| (i % 5 != 0).then(|| format!("s{}", i % 37)))
            .collect();
        let c: Float64Array = (0..rows)
            .map(|i| (i % 3 != 0).then_some(i as f64 / 8.0))
            .collect();
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![Arc::new(a), Arc::new(b), Arc::new(c)],
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(50_000))
            .build();
        let mut w =
            ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, Some(props))
                .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let one = read_parquet(&path).unwrap();
        assert_eq!(one.iter().map(RecordBatch::num_rows).sum::<usize>(), rows);
        for threads in [1, 2, 3, 8] {
            let many = read_parquet_threads(&path, threads).unwrap();
            assert_eq!(many, one, "{threads} threads");
        }
    }
}

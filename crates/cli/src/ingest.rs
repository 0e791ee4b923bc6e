//! `strata ingest`: CSV (plain or gzip), Parquet and Arrow IPC files into a table.
//!
//! One ingest is one [`strata::Transaction`]: files are streamed batch by batch into it (memory
//! stays within the table's write-buffer limits whatever the input size) and it commits once at
//! the end, so a failed, interrupted or killed ingest commits nothing. CSV is split into
//! records as it is read (a quoted field may hold newlines), so that a malformed or refused
//! record is reported with its file and the physical line it starts on.
//!
//! CSV comes in the dialects people write (see [`csv`]): the delimiter (`,` `;` tab `|`) is
//! detected per file, text that is not UTF-8 is read as Latin-1, and `NA`, `N/A`, `null` and
//! `NULL` are nulls. A new table takes its column types from every record of the first file
//! (one streaming pass before the one that ingests it), and its string columns with few
//! distinct values become symbols.

mod csv;

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use arrow_array::RecordBatch;
use arrow_csv::reader::ReaderBuilder;
use arrow_schema::{
    DataType as ArrowType, Field as ArrowField, Schema as ArrowSchema, SchemaRef,
    TimeUnit as ArrowUnit,
};
use indicatif::{ProgressBar, ProgressStyle};
use strata::{Partitioning, Schema, Table, TableConfig, TableOptions};

use csv::{ColumnInference, CsvRecords, FileInference, count_fields, header_names};

/// Arguments of `strata ingest`.
#[derive(Debug, clap::Args)]
pub(crate) struct IngestArgs {
    /// The table directory (created when it holds no table).
    table: PathBuf,
    /// Input files: .csv, .csv.gz, .parquet, .arrow / .ipc.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Column type overrides for CSV, e.g. "ts:timestamp_ms,host:symbol,cpu:f64".
    #[arg(long)]
    schema: Option<String>,
    /// The time column of a new table (default: the first timestamp column, else an Int64 or
    /// timestamp column named ts, time or timestamp; a table without one is not partitioned).
    #[arg(long, conflicts_with = "no_time_column")]
    time_column: Option<String>,
    /// Make a new table without a time column (one partition, no time pruning by partition).
    #[arg(long)]
    no_time_column: bool,
    /// The sort key of a new table, e.g. "host,ts" (default: the time column; a table without
    /// one keeps rows in the order they come).
    #[arg(long, value_delimiter = ',')]
    sort_key: Vec<String>,
    /// How time is cut into partitions for a new table: `auto` decides from the data's rows
    /// per unit of time (hour, day, month, year, or one partition for sparse series).
    #[arg(long, value_enum, default_value_t = PartitionArg::Auto)]
    partition: PartitionArg,
    /// Skip CSV rows that do not parse (and report how many) instead of failing.
    #[arg(long)]
    skip_bad_rows: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, clap::ValueEnum)]
enum PartitionArg {
    Auto,
    None,
    Hour,
    Day,
    Month,
    Year,
}

/// What one input contributed.
#[derive(Default)]
struct Input {
    rows: usize,
    bytes: u64,
    skipped: usize,
}

/// Rows in a CSV batch start on these physical lines (`None` for formats without lines).
type Lines = Option<Vec<usize>>;

/// An ingest commits once and closes: compaction runs after the commit, at a nominal I/O
/// budget (no bandwidth probe at every ingest).
fn ingest_options() -> TableOptions {
    TableOptions::default().device_bandwidth(strata::DeviceBandwidth::BytesPerSec(
        crate::inspect::DEFAULT_DEVICE_BYTES_PER_SEC,
    ))
}

pub(crate) fn run(args: &IngestArgs) -> Result<()> {
    let started = Instant::now();
    let existing = args.table.join(strata::DATA_DIR).is_dir();
    let dir_existed = args.table.exists();
    let table = if existing {
        let (t, _) = Table::open(&args.table, ingest_options())
            .with_context(|| format!("opening table {}", args.table.display()))?;
        t
    } else {
        let first = args.files.first().context("no input files")?;
        let (schema, symbols) = peek_schema(first, args)?;
        let config = table_config(&schema, &symbols, args)?;
        Table::create(&args.table, config, ingest_options())
            .with_context(|| format!("creating table {}", args.table.display()))?
    };
    let columns_from = if existing {
        "the table has".to_string()
    } else {
        format!(
            "{} has",
            args.files
                .first()
                .map_or_else(String::new, |f| f.display().to_string())
        )
    };
    let result = ingest_into(&table, args, &columns_from);
    // Closing flushes nothing of the ingest (it committed or left nothing) and joins the
    // compactor; a failed ingest still closes the table cleanly.
    let closed = table.close();
    drop(table);
    if result.is_err() && !existing {
        // The table was made for this ingest: a failed ingest leaves no table behind.
        let cleanup = if dir_existed {
            std::fs::remove_dir_all(args.table.join(strata::DATA_DIR))
                .and_then(|()| std::fs::remove_dir_all(args.table.join(strata::WAL_DIR)))
        } else {
            std::fs::remove_dir_all(&args.table)
        };
        if let Err(e) = cleanup {
            eprintln!(
                "warning: could not remove the empty table {}: {e}",
                args.table.display()
            );
        }
    }
    let (inputs, before, after) = result?;
    closed?;
    let rows: usize = inputs.iter().map(|i| i.rows).sum();
    let bytes_in: u64 = inputs.iter().map(|i| i.bytes).sum();
    let skipped: usize = inputs.iter().map(|i| i.skipped).sum();
    let bytes_out = after.saturating_sub(before);
    let ratio = if bytes_out > 0 {
        bytes_in as f64 / bytes_out as f64
    } else {
        0.0
    };
    // The rows are committed: a closed stdout (`strata ingest … | head -0`) ends quietly.
    let mut out = std::io::stdout().lock();
    crate::output::until_closed(
        writeln!(
            out,
            "ingested {rows} rows from {} files: {bytes_in} bytes in, {bytes_out} bytes out (ratio {ratio:.2}), {:.2}s",
            args.files.len(),
            started.elapsed().as_secs_f64()
        )
        .and_then(|()| {
            if skipped > 0 {
                writeln!(out, "skipped {skipped} bad rows")
            } else {
                Ok(())
            }
        })
        .map_err(anyhow::Error::from),
    )?;
    Ok(())
}

/// Streams every file into one transaction and commits it; returns the inputs and the
/// table's bytes before and after.
fn ingest_into(
    table: &Table,
    args: &IngestArgs,
    columns_from: &str,
) -> Result<(Vec<Input>, u64, u64)> {
    let before = table.state().dead_space().total_bytes;
    let schema = Arc::new(table.schema().to_arrow(strata::SymbolAs::Utf8));
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new(args.files.len() as u64);
        if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} files {msg}") {
            bar.set_style(style);
        }
        bar
    };
    let mut tx = table.transaction().context("starting the ingest")?;
    let mut inputs = Vec::new();
    for f in &args.files {
        bar.set_message(f.display().to_string());
        let input = read_input(f, &schema, columns_from, args, &bar, &mut |batch, lines| {
            tx.write(&batch)
                .map_err(|e| refused(f, &e, lines.as_deref()))
        })?;
        inputs.push(input);
        bar.inc(1);
    }
    bar.finish_and_clear();
    if inputs.iter().all(|i| i.rows == 0) {
        bail!("no rows in the input files");
    }
    tx.commit().context("committing the ingest")?;
    let after = table.state().dead_space().total_bytes;
    Ok((inputs, before, after))
}

/// A batch the table refused, named by file and (for CSV) line.
fn refused(path: &Path, e: &strata::TableError, lines: Option<&[usize]>) -> anyhow::Error {
    match e {
        strata::TableError::Rejected {
            column,
            row,
            detail,
        } => match lines.and_then(|l| l.get(*row)) {
            Some(line) => anyhow::anyhow!("{}:{line}: column {column}: {detail}", path.display()),
            None => anyhow::anyhow!(
                "{}: row {row} of a batch: column {column}: {detail}",
                path.display()
            ),
        },
        e => anyhow::anyhow!("{}: {e}", path.display()),
    }
}

/// The schema the first file gives a new table, and the string columns that are symbols.
fn peek_schema(path: &Path, args: &IngestArgs) -> Result<(SchemaRef, Vec<String>)> {
    let name = path.to_string_lossy().to_lowercase();
    if name.ends_with(".parquet") {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let b = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .with_context(|| format!("{}: not a readable Parquet file", path.display()))?;
        return Ok((Arc::clone(b.schema()), Vec::new()));
    }
    if is_ipc(&name) {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let schema = match arrow_ipc::reader::FileReader::try_new(file, None) {
            Ok(r) => r.schema(),
            Err(_) => {
                let file =
                    File::open(path).with_context(|| format!("opening {}", path.display()))?;
                arrow_ipc::reader::StreamReader::try_new(BufReader::new(file), None)
                    .map(|r| r.schema())
                    .with_context(|| format!("{}: not a readable Arrow IPC file", path.display()))?
            }
        };
        return Ok((schema, Vec::new()));
    }
    // Types come from every record of the file, in a pass of its own that keeps per-column
    // state only: a column of whole numbers whose first decimal is on row 7,579 is Float64.
    let delimiter = csv_delimiter(path, &name)?;
    let mut records = CsvRecords::new(path, text_reader(path, &name)?, delimiter);
    let (_, header) = records
        .next_record()?
        .with_context(|| format!("{}: empty file", path.display()))?;
    let names = header_names(&header, delimiter);
    let mut inference = FileInference::new(names.len(), delimiter);
    while let Some((_, r)) = records.next_record()? {
        if !r.trim().is_empty() {
            inference.update(&r);
        }
    }
    infer_csv_schema(path, &names, &inference.columns, args)
}

/// The field delimiter of a CSV file: tab for `.tsv`, else detected from its first records.
fn csv_delimiter(path: &Path, name: &str) -> Result<u8> {
    if name.ends_with(".tsv") || name.ends_with(".tsv.gz") {
        return Ok(b'\t');
    }
    csv::detect_delimiter(text_reader(path, name)?)
        .with_context(|| format!("{}: detecting the delimiter", path.display()))
}

fn is_ipc(name: &str) -> bool {
    name.ends_with(".arrow") || name.ends_with(".ipc") || name.ends_with(".feather")
}

fn text_reader(path: &Path, name: &str) -> Result<Box<dyn BufRead>> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    Ok(if name.ends_with(".gz") {
        Box::new(BufReader::new(flate2::read::GzDecoder::new(file)))
    } else {
        Box::new(BufReader::new(file))
    })
}

/// The time column of a new table: `--time-column`, else the first timestamp column, else an
/// Int64 or timestamp column named ts, time or timestamp; `None` with `--no-time-column` or
/// when no column qualifies.
fn time_column(schema: &ArrowSchema, args: &IngestArgs) -> Result<Option<String>> {
    if args.no_time_column {
        return Ok(None);
    }
    if let Some(t) = &args.time_column {
        let field = schema.field_with_name(t).map_err(|_| {
            anyhow::anyhow!(
                "--time-column: there is no column {t:?} (columns: {})",
                column_names(schema)
            )
        })?;
        if !matches!(
            field.data_type(),
            ArrowType::Int64 | ArrowType::Timestamp(_, _)
        ) {
            bail!(
                "--time-column: column {t:?} is {}; a time column is a timestamp (any unit) \
                 or Int64 (pass --schema {t}:timestamp_s, or leave --time-column out for a \
                 table without one)",
                field.data_type()
            );
        }
        return Ok(Some(t.clone()));
    }
    let fields = schema.fields();
    Ok(fields
        .iter()
        .find(|f| matches!(f.data_type(), ArrowType::Timestamp(_, _)))
        .or_else(|| {
            fields.iter().find(|f| {
                matches!(
                    f.name().to_ascii_lowercase().as_str(),
                    "ts" | "time" | "timestamp"
                ) && matches!(f.data_type(), ArrowType::Int64)
            })
        })
        .map(|f| f.name().clone()))
}

fn table_config(
    schema: &ArrowSchema,
    symbols: &[String],
    args: &IngestArgs,
) -> Result<TableConfig> {
    let time = time_column(schema, args)?;
    // The sort key is what the user asked for, else the time column; never a key nobody
    // asked for (a table without either keeps its rows in the order they come).
    for k in &args.sort_key {
        if schema.field_with_name(k).is_err() {
            bail!(
                "--sort-key: there is no column {k:?} (columns: {})",
                column_names(schema)
            );
        }
    }
    let sort_key: Vec<&str> = if args.sort_key.is_empty() {
        time.iter().map(String::as_str).collect()
    } else {
        args.sort_key.iter().map(String::as_str).collect()
    };
    let mut s = Schema::from_arrow(schema)
        .context("converting the schema")?
        .with_sort_key(sort_key)
        .context("--sort-key")?;
    // Columns given as `name:symbol` are dictionary-encoded tags.
    for part in args.schema.as_deref().unwrap_or_default().split(',') {
        if let Some((name, ty)) = part.split_once(':')
            && ty.trim().eq_ignore_ascii_case("symbol")
        {
            s = s
                .with_symbol(name.trim())
                .with_context(|| format!("--schema: {} cannot be a symbol", name.trim()))?;
        }
    }
    // String columns with few distinct values in the first file.
    for name in symbols.iter().filter(|n| Some(*n) != time.as_ref()) {
        s = s
            .with_symbol(name)
            .with_context(|| format!("{name} cannot be a symbol"))?;
    }
    let Some(time) = time else {
        if !matches!(args.partition, PartitionArg::Auto | PartitionArg::None) {
            bail!(
                "--partition {}: the table has no time column to partition on (columns: {}); \
                 pass --time-column",
                format!("{:?}", args.partition).to_lowercase(),
                column_names(schema)
            );
        }
        return Ok(TableConfig::without_time(s)?);
    };
    let unit = match schema.field_with_name(&time).map(|f| f.data_type()) {
        Ok(ArrowType::Timestamp(u, _)) => match u {
            ArrowUnit::Second => strata::TimeUnit::Second,
            ArrowUnit::Millisecond => strata::TimeUnit::Millisecond,
            ArrowUnit::Microsecond => strata::TimeUnit::Microsecond,
            ArrowUnit::Nanosecond => strata::TimeUnit::Nanosecond,
        },
        _ => strata::TimeUnit::Millisecond,
    };
    let partitioning = match args.partition {
        PartitionArg::Auto => Partitioning::Auto,
        PartitionArg::None => Partitioning::None,
        PartitionArg::Hour => strata::Granularity::Hour.partitioning(unit),
        PartitionArg::Day => Partitioning::Day,
        PartitionArg::Month => Partitioning::Month,
        PartitionArg::Year => Partitioning::Year,
    };
    Ok(TableConfig::new(s, time, partitioning)?)
}

/// Streams the rows of one file to `sink`, as batches of the file's own schema (Parquet,
/// IPC) or of `schema` (CSV, read by position).
fn read_input(
    path: &Path,
    schema: &SchemaRef,
    columns_from: &str,
    args: &IngestArgs,
    bar: &ProgressBar,
    sink: &mut dyn FnMut(RecordBatch, Lines) -> Result<()>,
) -> Result<Input> {
    let name = path.to_string_lossy().to_lowercase();
    let bytes = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    let mut input = Input {
        bytes,
        ..Input::default()
    };
    let mut each = |r: Result<RecordBatch, arrow_schema::ArrowError>, what: &str| -> Result<()> {
        let b = r.with_context(|| format!("{}: reading {what}", path.display()))?;
        input.rows += b.num_rows();
        sink(b, None)
    };
    if name.ends_with(".parquet") {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.build())
            .with_context(|| format!("{}: not a readable Parquet file", path.display()))?;
        for b in reader {
            each(b, "Parquet")?;
        }
        return Ok(input);
    }
    if is_ipc(&name) {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        match arrow_ipc::reader::FileReader::try_new(file, None) {
            Ok(r) => {
                for b in r {
                    each(b, "Arrow IPC")?;
                }
            }
            Err(_) => {
                let file =
                    File::open(path).with_context(|| format!("opening {}", path.display()))?;
                let r = arrow_ipc::reader::StreamReader::try_new(BufReader::new(file), None)
                    .with_context(|| {
                        format!("{}: not a readable Arrow IPC file", path.display())
                    })?;
                for b in r {
                    each(b, "Arrow IPC")?;
                }
            }
        }
        return Ok(input);
    }
    read_csv(path, &name, schema, columns_from, args, bar, input, sink)
}

/// Rows per decoded CSV batch.
const CSV_CHUNK_ROWS: usize = 8192;

#[expect(clippy::too_many_arguments, reason = "one call site, in read_input")]
fn read_csv(
    path: &Path,
    name: &str,
    schema: &SchemaRef,
    columns_from: &str,
    args: &IngestArgs,
    bar: &ProgressBar,
    mut input: Input,
    sink: &mut dyn FnMut(RecordBatch, Lines) -> Result<()>,
) -> Result<Input> {
    let delimiter = csv_delimiter(path, name)?;
    let mut records = CsvRecords::new(path, text_reader(path, name)?, delimiter);
    let (_, header) = records
        .next_record()?
        .with_context(|| format!("{}: empty file", path.display()))?;
    // Columns are read by position, so a header that names other columns (or the same ones in
    // another order) than the table would put values in the wrong columns.
    let names = header_names(&header, delimiter);
    let expected: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    if names != expected {
        bail!(
            "{}:1: the header names columns {} but {columns_from} {}",
            path.display(),
            names.join(", "),
            expected.join(", ")
        );
    }
    let width = count_fields(&header, delimiter);
    let decode =
        |chunk: &[(usize, String)]| -> Result<Option<RecordBatch>, arrow_schema::ArrowError> {
            let mut data = String::with_capacity(
                header.len() + chunk.iter().map(|(_, l)| l.len() + 1).sum::<usize>(),
            );
            data.push_str(&header);
            data.push('\n');
            for (_, l) in chunk {
                csv::push_without_null_tokens(&mut data, l, delimiter);
                data.push('\n');
            }
            let mut reader = ReaderBuilder::new(Arc::clone(schema))
                .with_header(true)
                .with_delimiter(delimiter)
                .with_batch_size(chunk.len().max(1))
                .build(data.as_bytes())?;
            reader.next().transpose()
        };
    let mut chunk: Vec<(usize, String)> = Vec::with_capacity(CSV_CHUNK_ROWS);
    let mut flush_chunk = |chunk: &mut Vec<(usize, String)>, input: &mut Input| -> Result<()> {
        if chunk.is_empty() {
            return Ok(());
        }
        let mut out: Vec<(RecordBatch, Vec<usize>)> = Vec::new();
        match decode(chunk) {
            Ok(b) => out.extend(b.map(|b| (b, chunk.iter().map(|(l, _)| *l).collect()))),
            Err(_) => {
                // Find the bad records one by one.
                for l in chunk.iter() {
                    match decode(std::slice::from_ref(l)) {
                        Ok(b) => out.extend(b.map(|b| (b, vec![l.0]))),
                        Err(_) if args.skip_bad_rows => input.skipped += 1,
                        Err(e) => {
                            let msg = row_error(&e.to_string(), schema);
                            bail!("{}:{}: {msg}", path.display(), l.0);
                        }
                    }
                }
            }
        }
        chunk.clear();
        for (b, lines) in out {
            input.rows += b.num_rows();
            sink(b, Some(lines))?;
        }
        Ok(())
    };
    while let Some((line, record)) = records.next_record()? {
        if records.switched_to_latin1() {
            bar.suspend(|| {
                eprintln!(
                    "note: file {} is not UTF-8; read as Latin-1",
                    path.display()
                );
            });
        }
        if record.trim().is_empty() {
            continue;
        }
        // A record with the wrong number of fields is reported (or skipped) by its line.
        let n = count_fields(&record, delimiter);
        if n != width {
            if args.skip_bad_rows {
                input.skipped += 1;
                continue;
            }
            bail!(
                "{}:{line}: expected {width} fields (as in the header), found {n}",
                path.display()
            );
        }
        chunk.push((line, record));
        if chunk.len() >= CSV_CHUNK_ROWS {
            flush_chunk(&mut chunk, &mut input)?;
        }
    }
    flush_chunk(&mut chunk, &mut input)?;
    Ok(input)
}

/// The Arrow schema of a new table from the column names of a CSV header and what each
/// column's values allow, with the `--schema` overrides; and the string columns (not
/// overridden, not the time column) with few distinct values, which become symbols.
fn infer_csv_schema(
    path: &Path,
    names: &[String],
    columns: &[ColumnInference],
    args: &IngestArgs,
) -> Result<(SchemaRef, Vec<String>)> {
    let inferred = ArrowSchema::new(
        names
            .iter()
            .zip(columns)
            .map(|(n, c)| ArrowField::new(n, c.data_type(), true))
            .collect::<Vec<_>>(),
    );
    let overrides: Vec<(String, ArrowType)> = match &args.schema {
        Some(s) => s
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                let (n, t) = p
                    .split_once(':')
                    .with_context(|| format!("--schema: {p:?} is not name:type"))?;
                let ty = parse_type(t.trim())
                    .with_context(|| format!("--schema: unknown type {t:?}"))?;
                Ok((n.trim().to_string(), ty))
            })
            .collect::<Result<_>>()?,
        None => Vec::new(),
    };
    for (name, _) in &overrides {
        if inferred.field_with_name(name).is_err() {
            bail!(
                "--schema: {} has no column {name:?} (columns: {})",
                path.display(),
                column_names(&inferred)
            );
        }
    }
    let time = args.time_column.clone().or_else(|| {
        inferred
            .fields()
            .iter()
            .find(|f| matches!(f.data_type(), ArrowType::Timestamp(_, _)))
            .or_else(|| {
                inferred
                    .fields()
                    .iter()
                    .find(|f| f.name() == "ts" || f.name() == "time")
            })
            .map(|f| f.name().clone())
    });
    let fields: Vec<ArrowField> = inferred
        .fields()
        .iter()
        .map(|f| {
            let ty = overrides
                .iter()
                .find(|(n, _)| n == f.name())
                .map(|(_, t)| t.clone())
                .unwrap_or_else(|| match f.data_type() {
                    // Strata keeps timestamps at millisecond precision by default.
                    ArrowType::Timestamp(_, tz) => {
                        ArrowType::Timestamp(ArrowUnit::Millisecond, tz.clone())
                    }
                    t => t.clone(),
                });
            let nullable = time.as_deref() != Some(f.name().as_str());
            ArrowField::new(f.name(), ty, nullable)
        })
        .collect();
    let symbols = inferred
        .fields()
        .iter()
        .zip(columns)
        .filter(|(f, c)| {
            *f.data_type() == ArrowType::Utf8
                && c.few_distinct()
                && time.as_deref() != Some(f.name().as_str())
                && !overrides.iter().any(|(n, _)| n == f.name())
        })
        .map(|(f, _)| f.name().clone())
        .collect();
    Ok((Arc::new(ArrowSchema::new(fields)), symbols))
}

fn parse_type(t: &str) -> Option<ArrowType> {
    Some(match t.to_ascii_lowercase().as_str() {
        "i64" | "int64" | "int" => ArrowType::Int64,
        "i32" | "int32" => ArrowType::Int32,
        "f64" | "float64" | "double" | "float" => ArrowType::Float64,
        "f32" | "float32" => ArrowType::Float32,
        "bool" | "boolean" => ArrowType::Boolean,
        "str" | "string" | "utf8" | "symbol" => ArrowType::Utf8,
        "timestamp_s" => ArrowType::Timestamp(ArrowUnit::Second, None),
        "timestamp_ms" | "timestamp" => ArrowType::Timestamp(ArrowUnit::Millisecond, None),
        "timestamp_us" => ArrowType::Timestamp(ArrowUnit::Microsecond, None),
        "timestamp_ns" => ArrowType::Timestamp(ArrowUnit::Nanosecond, None),
        _ => return None,
    })
}

/// `a, b, c`: the column names of a schema, for messages.
fn column_names(schema: &ArrowSchema) -> String {
    schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// arrow-csv's message for one bad record, without the parts that would mislead once the
/// record is reported by its place in the file: its own line count (always 1, since records
/// are decoded one at a time) and column numbers (replaced by the column's name).
fn row_error(msg: &str, schema: &ArrowSchema) -> String {
    let msg = msg.strip_prefix("Parser error: ").unwrap_or(msg);
    let msg = msg.strip_prefix("Csv error: ").unwrap_or(msg);
    // "incorrect number of fields for line 1, expected 4 got 3"
    if let Some(rest) = msg.strip_prefix("incorrect number of fields for line ")
        && let Some((_, counts)) = rest.split_once(", ")
        && let Some((expected, got)) = counts
            .strip_prefix("expected ")
            .and_then(|c| c.split_once(" got "))
    {
        return format!("expected {expected} fields, found {got}");
    }
    // "Error parsing column 0 at line 1: Parser error: …"
    if let Some(rest) = msg.strip_prefix("Error parsing column ")
        && let Some((col, rest)) = rest.split_once(" at line ")
        && let Ok(i) = col.trim().parse::<usize>()
        && let Some(f) = schema.fields().get(i)
    {
        let detail = rest.split_once(": ").map_or(rest, |(_, d)| d);
        let detail = detail.strip_prefix("Parser error: ").unwrap_or(detail);
        return format!("column {}: {detail}", f.name());
    }
    // "Error while parsing value 'x' as type 'Float64' for column 2 at line 1. Row data: …"
    let msg = msg.split(" at line").next().unwrap_or(msg);
    if let Some((head, col)) = msg.rsplit_once(" for column ")
        && let Ok(i) = col.trim().parse::<usize>()
        && let Some(f) = schema.fields().get(i)
    {
        let head = head
            .strip_prefix("Error while parsing value ")
            .map_or_else(|| head.to_string(), |v| format!("cannot parse {v}"));
        return format!("column {}: {head}", f.name());
    }
    msg.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_errors_name_the_column_and_drop_arrows_line() {
        let schema = ArrowSchema::new(vec![
            ArrowField::new("ts", ArrowType::Int64, false),
            ArrowField::new("cpu", ArrowType::Float64, true),
        ]);
        assert_eq!(
            row_error(
                "Parser error: Error while parsing value 'x' as type 'Float64' for column 1 at line 1. Row data: '[1,x]'",
                &schema
            ),
            "column cpu: cannot parse 'x' as type 'Float64'"
        );
        assert_eq!(
            row_error(
                "Csv error: incorrect number of fields for line 1, expected 2 got 3",
                &schema
            ),
            "expected 2 fields, found 3"
        );
        assert_eq!(
            row_error(
                "Parser error: Error parsing column 0 at line 1: Parser error: Error parsing timestamp from 'x': error parsing date",
                &schema
            ),
            "column ts: Error parsing timestamp from 'x': error parsing date"
        );
        assert_eq!(row_error("something else", &schema), "something else");
    }
}

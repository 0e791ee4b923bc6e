//! `strata ingest`: CSV and newline-delimited JSON (plain or gzip), Parquet and Arrow IPC
//! files into a table.
//!
//! One ingest is one [`strata::Transaction`]: files are streamed batch by batch into it (memory
//! stays within the table's write-buffer limits whatever the input size) and it commits once at
//! the end, so a failed, interrupted or killed ingest commits nothing. A malformed or refused
//! CSV or JSON record is reported with its file and the physical line it starts on, or with
//! `--skip-bad-rows` left out and counted.
//!
//! CSV comes in the dialects people write (see `ingest/csv.rs`): the delimiter (`,` `;` tab `|`), a
//! header or none and a preamble of `#` lines are detected per file, and `--delimiter`,
//! `--quote`, `--escape`, `--comment`, `--header` / `--no-header` and `--encoding` say
//! otherwise; empty fields, `NA`, `N/A`, `null`, `NULL` and each `--null` token are nulls, and so
//! is `NaN` in a float column. A new table takes its column types from every record of the
//! first file (one streaming pass before the one that ingests it), widening on conflict
//! (Int64 → Float64 → Utf8, dates → timestamps → Utf8), and its string columns with few
//! distinct values become symbols; ingest prints the schema it chose. JSON (see `ingest/json.rs`) takes
//! its schema from arrow-json's inference over the whole first file, with the same timestamp and
//! symbol rules for its string fields.

mod csv;
mod json;

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use arrow_array::RecordBatch;
use arrow_schema::{
    DataType as ArrowType, Field as ArrowField, Schema as ArrowSchema, SchemaRef,
    TimeUnit as ArrowUnit,
};
use indicatif::{ProgressBar, ProgressStyle};
use strata::{Partitioning, Schema, Table, TableConfig, TableOptions};

use csv::{
    BadRecord, ChunkBuilder, ColumnInference, CsvOptions, CsvRecords, Dialect, FileInference, Next,
    TextEncoding,
};

/// Arguments of `strata ingest`.
#[derive(Debug, Clone, clap::Args)]
pub struct IngestArgs {
    /// The table directory (created when it holds no table).
    table: PathBuf,
    /// Input files: .csv / .tsv / .txt, .json / .jsonl / .ndjson (each plain or .gz), .parquet,
    /// .arrow / .ipc. A directory stands for the files in it with these extensions, in name
    /// order (not its subdirectories).
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
    /// Skip CSV and JSON rows that do not parse (and report how many) instead of failing.
    #[arg(long)]
    skip_bad_rows: bool,
    /// CSV field delimiter: one character, or `tab` [default: detected per file among
    /// `,` `;` tab `|`].
    #[arg(long, value_name = "CHAR")]
    delimiter: Option<String>,
    /// CSV files start with a header line [default: detected per file].
    #[arg(long, conflicts_with = "no_header")]
    header: bool,
    /// CSV files have no header line; a new table's columns are column_1, column_2, ...
    #[arg(long)]
    no_header: bool,
    /// CSV quote character, or `none` [default: `"`, doubled inside a quoted field].
    #[arg(long, value_name = "CHAR")]
    quote: Option<String>,
    /// CSV escape character inside quoted fields, e.g. `\` [default: none].
    #[arg(long, value_name = "CHAR")]
    escape: Option<String>,
    /// CSV lines starting with this character are comments [default: only `#` lines before
    /// the header].
    #[arg(long, value_name = "CHAR")]
    comment: Option<String>,
    /// A CSV field value that means null, besides the empty field, NA, N/A, null, NULL (and NaN
    /// in float columns); repeatable.
    #[arg(long = "null", value_name = "TOKEN")]
    nulls: Vec<String>,
    /// Text encoding of CSV files: utf-8, latin1, windows-1252, iso-8859-15, utf-16le, ...
    /// [default: UTF-8, and windows-1252 with a note for a file whose first byte beyond ASCII
    /// is not UTF-8].
    #[arg(long, value_name = "LABEL")]
    encoding: Option<String>,
    /// How the table compresses, kept as its setting for every later write and merge:
    /// `balanced` (the default of a new table) or `small` (also entropy coding: smaller
    /// segments, slower writes and reads) [default: a new table's is balanced, an existing
    /// table keeps its own].
    #[arg(long, value_enum, value_name = "LEVEL")]
    compression: Option<CompressionArg>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Print nothing on stdout (the chosen schema, the summary): set by [`IngestArgs::defaults`].
    #[arg(skip)]
    silent: bool,
}

/// `IngestArgs` alone, for [`IngestArgs::defaults`].
#[derive(clap::Parser)]
#[command(no_binary_name = true)]
struct ArgsOnly {
    #[command(flatten)]
    args: IngestArgs,
}

impl IngestArgs {
    /// The arguments of `strata ingest TABLE FILES…` without a flag (every option at the
    /// default a user gets), except that nothing is printed: no progress bar, no schema, no
    /// summary.
    pub fn defaults(table: &Path, files: &[PathBuf]) -> Result<Self> {
        let mut argv: Vec<std::ffi::OsString> = vec!["--quiet".into(), "--".into(), table.into()];
        argv.extend(files.iter().map(|f| f.as_os_str().to_owned()));
        let mut args = <ArgsOnly as clap::Parser>::try_parse_from(argv)
            .context("ingest arguments")?
            .args;
        args.silent = true;
        Ok(args)
    }
}

/// What one ingest did.
#[derive(Debug, Clone, Default)]
pub struct IngestReport {
    /// Rows committed.
    pub rows: usize,
    /// Input files read.
    pub files: usize,
    /// Bytes of the input files.
    pub bytes_in: u64,
    /// Bytes the table grew by (after the merge of a new table).
    pub bytes_out: u64,
    /// Rows skipped as bad (`--skip-bad-rows`).
    pub skipped: usize,
    /// Wall-clock seconds, from the start to the table's close.
    pub seconds: f64,
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

/// `--compression` of `strata ingest` and `strata compact`: a table's
/// [`strata::Compression`].
#[derive(Debug, Clone, Copy, PartialEq, clap::ValueEnum)]
pub enum CompressionArg {
    /// Light-weight cascades only (the default of a new table).
    Balanced,
    /// Also entropy coding: smaller segments, slower writes and reads.
    Small,
}

impl From<CompressionArg> for strata::Compression {
    fn from(c: CompressionArg) -> Self {
        match c {
            CompressionArg::Balanced => strata::Compression::Balanced,
            CompressionArg::Small => strata::Compression::Small,
        }
    }
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

/// `strata ingest`: [`ingest`], then its one-line summary on stdout.
pub fn run(args: &IngestArgs) -> Result<()> {
    let r = ingest(args)?;
    let ratio = if r.bytes_out > 0 {
        r.bytes_in as f64 / r.bytes_out as f64
    } else {
        0.0
    };
    if args.silent {
        return Ok(());
    }
    // The rows are committed: a closed stdout (`strata ingest … | head -0`) ends quietly.
    let mut out = std::io::stdout().lock();
    crate::output::until_closed(
        writeln!(
            out,
            "ingested {} rows from {} files: {} bytes in, {} bytes out (ratio {ratio:.2}), {:.2}s",
            r.rows, r.files, r.bytes_in, r.bytes_out, r.seconds
        )
        .and_then(|()| {
            if r.skipped > 0 {
                writeln!(out, "skipped {} bad rows", r.skipped)
            } else {
                Ok(())
            }
        })
        .map_err(anyhow::Error::from),
    )?;
    Ok(())
}

/// Loads `args.files` into the table `args.table` (created, with a schema and layout chosen
/// from the first file, when it holds none) in one transaction: all of the rows or none.
pub fn ingest(args: &IngestArgs) -> Result<IngestReport> {
    let started = Instant::now();
    let expanded = IngestArgs {
        files: expand_inputs(&args.files)?,
        ..args.clone()
    };
    let args = &expanded;
    let existing = Table::exists(&args.table)
        .with_context(|| format!("checking table {}", args.table.display()))?;
    let is_url = args.table.to_str().is_some_and(|s| s.contains("://"));
    let dir_existed = is_url || args.table.exists();
    let table = if existing {
        let (t, _) = Table::open(&args.table, ingest_options())
            .with_context(|| format!("opening table {}", args.table.display()))?;
        t
    } else {
        let first = args.files.first().context("no input files")?;
        let (schema, symbols) = peek_schema(first, args)?;
        let config = table_config(&schema, &symbols, args)?;
        let table = Table::create(&args.table, config, ingest_options())
            .with_context(|| format!("creating table {}", args.table.display()))?;
        print_schema(&table, args)?;
        table
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
    let mut result = match args.compression {
        Some(c) => table
            .set_compression(c.into())
            .context("setting the table's compression"),
        None => Ok(()),
    }
    .and_then(|()| ingest_into(&table, args, &columns_from));
    if !existing && let Ok((_, _, after)) = &mut result {
        // A new table holds only this ingest: its partitions are merged down to one segment
        // each now (the ingest staged one per buffer flush), so the table a user gets is not
        // many small files; a merge that fails leaves the committed rows as they are.
        let segments = table.state().segments().count();
        if segments > table.state().partitions.len() {
            if !args.quiet {
                eprintln!("compacting {segments} segments");
            }
            match table.compact_now() {
                Ok(_) => *after = table.state().dead_space().total_bytes,
                Err(e) => eprintln!("warning: compaction after the ingest failed: {e}"),
            }
        }
    }
    // Closing flushes nothing of the ingest (it committed or left nothing) and joins the
    // compactor; a failed ingest still closes the table cleanly.
    let closed = table.close();
    drop(table);
    if result.is_err() && !existing {
        // The table was made for this ingest: a failed ingest leaves no table behind.
        let cleanup = if is_url {
            Table::remove_all(&args.table).map_err(std::io::Error::other)
        } else if dir_existed {
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
    Ok(IngestReport {
        rows: inputs.iter().map(|i| i.rows).sum(),
        files: args.files.len(),
        bytes_in: inputs.iter().map(|i| i.bytes).sum(),
        bytes_out: after.saturating_sub(before),
        skipped: inputs.iter().map(|i| i.skipped).sum(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Prints the schema a new table was given, one `column: type` line per column (`Symbol` for
/// dictionary-encoded strings), so that a user sees what was inferred before the rows go in.
fn print_schema(table: &Table, args: &IngestArgs) -> Result<()> {
    if args.silent {
        return Ok(());
    }
    let schema = table.schema();
    let mut text = format!(
        "new table {} with {} columns:\n",
        args.table.display(),
        schema.fields.len()
    );
    for f in &schema.fields {
        let key = schema.sort_key.iter().position(|k| *k == f.name);
        text.push_str(&format!(
            "  {}: {}{}{}\n",
            f.name,
            f.data_type,
            if f.nullable { "" } else { " not null" },
            match key {
                Some(0) if schema.sort_key.len() == 1 => " (sort key)".to_string(),
                Some(i) => format!(" (sort key {})", i + 1),
                None => String::new(),
            }
        ));
    }
    let mut out = std::io::stdout().lock();
    crate::output::until_closed(out.write_all(text.as_bytes()).map_err(anyhow::Error::from))?;
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
    // No rows (a header without records, every row skipped) is not an error: a new table
    // keeps the schema the files gave it, an existing one is unchanged.
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
        let schema = parquet_null_free(&b);
        let symbols = parquet_symbols(path, &schema)?;
        return Ok((schema, symbols));
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
    if json::is_json(&name) {
        return json::peek_schema(path, open_raw(path, &name)?, args);
    }
    // Types come from every record of the file, in a pass of its own that keeps per-column
    // state only: a column of whole numbers whose first decimal is on row 7,579 is Float64.
    let options = csv_options(args)?;
    let dialect = csv_dialect(path, &name, &options)?;
    let mut records = CsvRecords::new(open_raw(path, &name)?, &dialect, options.encoding)
        .with_context(|| format!("reading {}", path.display()))?;
    let mut inference: Option<FileInference> = None;
    loop {
        match records
            .next()
            .with_context(|| format!("reading {}", path.display()))?
        {
            Next::Record(_) => {
                let r = records.record();
                match &mut inference {
                    None => inference = Some(FileInference::new(r)),
                    Some(f) if !is_blank(r) => f.update(r, &options),
                    Some(_) => {}
                }
            }
            Next::Bad(line, why) if !args.skip_bad_rows => {
                return Err(bad_record(path, line, &why));
            }
            // Reading the file skips (and counts) it.
            Next::Bad(..) => {}
            Next::End => break,
        }
    }
    let mut inference = inference.with_context(|| format!("{}: empty file", path.display()))?;
    let names = inference.finish(options.header, &options);
    infer_csv_schema(path, &names, &inference.columns, args)
}

/// The schema of a Parquet file with the top-level columns that its statistics prove free of
/// nulls (a null count of 0 in every row group) marked not nullable (see `peek_schema`).
fn parquet_null_free<T>(b: &parquet::arrow::arrow_reader::ArrowReaderBuilder<T>) -> SchemaRef {
    let meta = b.metadata();
    let descr = meta.file_metadata().schema_descr();
    let fields = b
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let leaf = (0..descr.num_columns()).find(|&i| {
                let c = descr.column(i);
                c.path().parts().len() == 1 && c.name() == f.name()
            });
            let null_free = leaf.is_some_and(|i| {
                meta.row_groups().iter().all(|rg| {
                    rg.column(i)
                        .statistics()
                        .and_then(|s| s.null_count_opt())
                        .is_some_and(|n| n == 0)
                })
            });
            Arc::new(
                f.as_ref()
                    .clone()
                    .with_nullable(f.is_nullable() && !null_free),
            )
        })
        .collect::<Vec<_>>();
    Arc::new(ArrowSchema::new(fields))
}

/// The string columns of a Parquet file that the symbol rule makes symbols (at most
/// [`csv::SYMBOL_MAX_DISTINCT`] distinct values and [`csv::SYMBOL_ROWS_PER_DISTINCT`] rows
/// each), from one pass over those columns only.
fn parquet_symbols(path: &Path, schema: &ArrowSchema) -> Result<Vec<String>> {
    use std::collections::HashSet;
    use std::hash::{Hash, Hasher};

    use arrow_array::cast::AsArray;

    let strings: Vec<usize> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| matches!(f.data_type(), ArrowType::Utf8 | ArrowType::LargeUtf8))
        .map(|(i, _)| i)
        .collect();
    if strings.is_empty() {
        return Ok(Vec::new());
    }
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let b = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .with_context(|| format!("{}: not a readable Parquet file", path.display()))?;
    let mask = parquet::arrow::ProjectionMask::roots(b.parquet_schema(), strings.iter().copied());
    let reader = b
        .with_projection(mask)
        .build()
        .with_context(|| format!("{}: not a readable Parquet file", path.display()))?;
    // Per projected column: hashes of its distinct values (until too many) and its values.
    let mut seen: Vec<(Option<HashSet<u64>>, u64)> = vec![(Some(HashSet::new()), 0); strings.len()];
    for batch in reader {
        let batch = batch.with_context(|| format!("{}: reading Parquet", path.display()))?;
        for (col, (distinct, rows)) in batch.columns().iter().zip(seen.iter_mut()) {
            let Some(set) = distinct else { continue };
            let mut add = |v: &str| {
                let mut h = std::hash::DefaultHasher::new();
                v.hash(&mut h);
                set.insert(h.finish());
            };
            match col.data_type() {
                ArrowType::Utf8 => col.as_string::<i32>().iter().flatten().for_each(&mut add),
                ArrowType::LargeUtf8 => {
                    col.as_string::<i64>().iter().flatten().for_each(&mut add);
                }
                _ => {}
            }
            *rows += (col.len() - col.null_count()) as u64;
            if set.len() > csv::SYMBOL_MAX_DISTINCT {
                *distinct = None;
            }
        }
    }
    Ok(strings
        .iter()
        .zip(&seen)
        .filter(|(_, (d, rows))| {
            d.as_ref().is_some_and(|d| {
                !d.is_empty() && d.len() as u64 * csv::SYMBOL_ROWS_PER_DISTINCT <= *rows
            })
        })
        .filter_map(|(i, _)| schema.fields().get(*i).map(|f| f.name().clone()))
        .collect())
}

/// The CSV options the flags give.
fn csv_options(args: &IngestArgs) -> Result<CsvOptions> {
    let byte = |flag: &str, v: &str| -> Result<u8> {
        match v {
            "tab" | "\\t" | "\t" => Ok(b'\t'),
            _ if v.len() == 1 && v.is_ascii() => Ok(v.as_bytes().first().copied().unwrap_or(b',')),
            _ => bail!("--{flag}: expected one ASCII character (or `tab`), got {v:?}"),
        }
    };
    Ok(CsvOptions {
        delimiter: args
            .delimiter
            .as_deref()
            .map(|d| byte("delimiter", d))
            .transpose()?,
        quote: match args.quote.as_deref() {
            None => None,
            Some(q) if q.eq_ignore_ascii_case("none") => Some(None),
            Some(q) => Some(Some(byte("quote", q)?)),
        },
        escape: args
            .escape
            .as_deref()
            .map(|e| byte("escape", e))
            .transpose()?,
        comment: args
            .comment
            .as_deref()
            .map(|c| byte("comment", c))
            .transpose()?,
        header: if args.no_header {
            Some(false)
        } else if args.header {
            Some(true)
        } else {
            None
        },
        nulls: args.nulls.clone(),
        encoding: match &args.encoding {
            Some(label) => TextEncoding::from_label(label)?,
            None => TextEncoding::Auto,
        },
    })
}

/// Extensions of the files `ingest` reads from a directory given as input.
const INPUT_EXTENSIONS: [&str; 11] = [
    ".csv", ".tsv", ".tab", ".txt", ".json", ".jsonl", ".ndjson", ".parquet", ".arrow", ".ipc",
    ".feather",
];

/// The input files: each directory replaced by the files in it whose names end in one of
/// [`INPUT_EXTENSIONS`] (optionally followed by `.gz`), in name order; hidden files and
/// subdirectories are left out. A directory without such files is an error naming it.
fn expand_inputs(files: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        if !f.is_dir() {
            out.push(f.clone());
            continue;
        }
        let listing = std::fs::read_dir(f).with_context(|| format!("listing {}", f.display()))?;
        let mut inside = Vec::new();
        for entry in listing {
            let entry = entry.with_context(|| format!("listing {}", f.display()))?;
            let name = entry.file_name().to_string_lossy().to_lowercase();
            let stem = name.strip_suffix(".gz").unwrap_or(&name);
            if !name.starts_with('.')
                && INPUT_EXTENSIONS.iter().any(|e| stem.ends_with(e))
                && entry.path().is_file()
            {
                inside.push(entry.path());
            }
        }
        if inside.is_empty() {
            bail!(
                "{}: a directory with no input files in it (names ending in {}, each optionally \
                 followed by .gz)",
                f.display(),
                INPUT_EXTENSIONS.join(" ")
            );
        }
        inside.sort();
        out.extend(inside);
    }
    Ok(out)
}

/// The dialect of one CSV file: the flags, the rest detected from its start.
fn csv_dialect(path: &Path, name: &str, options: &CsvOptions) -> Result<Dialect> {
    let tsv = name.ends_with(".tsv") || name.ends_with(".tsv.gz") || name.ends_with(".tab");
    csv::detect_dialect(open_raw(path, name)?, options, tsv)
        .with_context(|| format!("{}: detecting the CSV dialect", path.display()))
}

/// A record of one blank field (a line of spaces): not a row.
fn is_blank(record: &::csv::ByteRecord) -> bool {
    record.len() == 1 && csv::field(record, 0).trim().is_empty()
}

fn is_ipc(name: &str) -> bool {
    name.ends_with(".arrow") || name.ends_with(".ipc") || name.ends_with(".feather")
}

/// The bytes of a file, decompressed when its name ends in `.gz`.
fn open_raw(path: &Path, name: &str) -> Result<Box<dyn Read>> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    Ok(if name.ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file)))
    } else {
        Box::new(file)
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
    // Only a column with a value in every row of the first file qualifies (see `peek_schema`).
    let fields: Vec<_> = schema
        .fields()
        .iter()
        .filter(|f| !f.is_nullable())
        .collect();
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
    let schema = ArrowSchema::new(
        schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect::<Vec<_>>(),
    );
    let schema = &schema;
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
    if json::is_json(&name) {
        let raw = open_raw(path, &name)?;
        return json::read(path, raw, schema, args, input, sink);
    }
    read_csv(path, &name, schema, columns_from, args, bar, input, sink)
}

/// Rows per decoded CSV batch.
const CSV_CHUNK_ROWS: usize = 8192;

/// A record that cannot be read, as an error naming file and line.
fn bad_record(path: &Path, line: usize, why: &BadRecord) -> anyhow::Error {
    match why {
        BadRecord::NotText { line: at, byte } => anyhow::anyhow!(
            "{}:{at}: byte {byte} is not UTF-8 text (in the record starting on line {line}); \
             pass --encoding (e.g. latin1) to read the file in another encoding, or \
             --skip-bad-rows to skip such records",
            path.display()
        ),
        BadRecord::Unterminated => anyhow::anyhow!(
            "{}:{line}: unterminated quoted field (it runs to the end of the file)",
            path.display()
        ),
    }
}

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
    let options = csv_options(args)?;
    let dialect = csv_dialect(path, name, &options)?;
    let mut records = CsvRecords::new(open_raw(path, name)?, &dialect, options.encoding)
        .with_context(|| format!("reading {}", path.display()))?;
    let width = schema.fields().len();
    let mut chunk = ChunkBuilder::new(Arc::clone(schema));
    let mut flush = |chunk: &mut ChunkBuilder, input: &mut Input| -> Result<()> {
        match chunk.finish(args.skip_bad_rows) {
            Ok(None) => Ok(()),
            Ok(Some((batch, lines, skipped))) => {
                input.skipped += skipped;
                if batch.num_rows() == 0 {
                    return Ok(());
                }
                input.rows += batch.num_rows();
                sink(batch, Some(lines))
            }
            Err(bad) => bail!(
                "{}:{}: column {}: {}",
                path.display(),
                bad.line,
                bad.column,
                bad.detail
            ),
        }
    };
    // `None` until the first record is read: then whether it was the header.
    let mut header: Option<bool> = None;
    loop {
        let next = records
            .next()
            .with_context(|| format!("reading {}", path.display()))?;
        if let Some(note) = records.take_note() {
            bar.suspend(|| eprintln!("note: {}: {note}", path.display()));
        }
        let line = match next {
            Next::End => break,
            Next::Bad(line, why) => {
                if args.skip_bad_rows {
                    input.skipped += 1;
                    continue;
                }
                return Err(bad_record(path, line, &why));
            }
            Next::Record(line) => line,
        };
        let record = records.record();
        if header.is_none() {
            let is_header = csv::is_header(record, schema, &options, options.header);
            header = Some(is_header);
            if is_header {
                // Columns are read by position, so a header that names other columns (or the
                // same ones in another order) than the table would put values in the wrong
                // columns.
                let names = csv::header_names(record);
                let expected: Vec<&str> =
                    schema.fields().iter().map(|f| f.name().as_str()).collect();
                if names != expected {
                    bail!(
                        "{}:{line}: the header names columns {} but {columns_from} {}",
                        path.display(),
                        names.join(", "),
                        expected.join(", ")
                    );
                }
                continue;
            }
        }
        // A record with the wrong number of fields is reported (or skipped) by its line.
        if record.len() != width {
            if is_blank(record) {
                continue;
            }
            if args.skip_bad_rows {
                input.skipped += 1;
                continue;
            }
            let multiline = record.iter().any(|f| f.contains(&b'\n'));
            bail!(
                "{}:{line}: expected {width} fields (as {}), found {}{}",
                path.display(),
                if header == Some(true) {
                    "in the header"
                } else {
                    "the table has columns"
                },
                record.len(),
                if multiline {
                    "; a quoted field of it spans lines: is a closing quote missing?"
                } else {
                    ""
                }
            );
        }
        chunk.push(record, line, &options);
        if chunk.len() >= CSV_CHUNK_ROWS {
            flush(&mut chunk, &mut input)?;
        }
    }
    flush(&mut chunk, &mut input)?;
    Ok(input)
}

/// The Arrow schema of a new table from the column names of a CSV file and what each
/// column's values allow, finished by [`finish_schema`].
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
            // Not nullable: no value of the first file is missing (see `peek_schema`).
            .map(|(n, c)| ArrowField::new(n, c.data_type(), !c.null_free()))
            .collect::<Vec<_>>(),
    );
    let few: Vec<bool> = columns.iter().map(ColumnInference::few_distinct).collect();
    finish_schema(path, inferred, &few, args)
}

/// A new table's schema from the types inferred from its first file, with the `--schema`
/// overrides and timestamps at millisecond precision (nullability as inferred, see
/// `peek_schema`); and the string columns (not overridden) with few distinct values (`few`),
/// which become symbols.
fn finish_schema(
    path: &Path,
    inferred: ArrowSchema,
    few: &[bool],
    args: &IngestArgs,
) -> Result<(SchemaRef, Vec<String>)> {
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
            ArrowField::new(f.name(), ty, f.is_nullable())
        })
        .collect();
    let symbols = inferred
        .fields()
        .iter()
        .zip(few)
        .filter(|(f, few)| {
            *f.data_type() == ArrowType::Utf8
                && **few
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
        "date" | "date32" => ArrowType::Date32,
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

//! `strata ingest`: CSV (plain or gzip), Parquet and Arrow IPC files into a table.
//!
//! All files are read and validated before anything is written, so a failed ingest commits
//! nothing. CSV is split into lines (a quoted field holding a newline is not supported).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use arrow_array::RecordBatch;
use arrow_csv::reader::{Format as CsvFormat, ReaderBuilder};
use arrow_schema::{
    DataType as ArrowType, Field as ArrowField, Schema as ArrowSchema, SchemaRef,
    TimeUnit as ArrowUnit,
};
use indicatif::{ProgressBar, ProgressStyle};
use strata::{Partitioning, Schema, Table, TableConfig, TableOptions};

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
    /// The time column (default: the first timestamp column, else a column named ts or time).
    #[arg(long)]
    time_column: Option<String>,
    /// How time is cut into partitions for a new table.
    #[arg(long, value_enum, default_value_t = PartitionArg::Day)]
    partition: PartitionArg,
    /// Skip CSV rows that do not parse (and report how many) instead of failing.
    #[arg(long)]
    skip_bad_rows: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum PartitionArg {
    Day,
    Month,
    Auto,
}

/// One input, read fully.
struct Input {
    batches: Vec<RecordBatch>,
    bytes: u64,
    skipped: usize,
}

pub(crate) fn run(args: &IngestArgs) -> Result<()> {
    let started = Instant::now();
    let existing = args.table.join(strata::DATA_DIR).is_dir();
    let (table, fixed) = if existing {
        let (t, _) = Table::open(&args.table, TableOptions::default())
            .with_context(|| format!("opening table {}", args.table.display()))?;
        let arrow = Arc::new(t.schema().to_arrow(strata::SymbolAs::Utf8));
        (Some(t), Some(arrow))
    } else {
        (None, None)
    };
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new(args.files.len() as u64);
        if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} files {msg}") {
            bar.set_style(style);
        }
        bar
    };
    let mut inputs = Vec::new();
    let mut schema: Option<SchemaRef> = fixed.clone();
    for f in &args.files {
        bar.set_message(f.display().to_string());
        let input = read_input(f, schema.clone(), args)?;
        if schema.is_none() {
            schema = input.batches.first().map(|b| b.schema());
        }
        inputs.push(input);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let Some(arrow_schema) = schema else {
        bail!("no rows in the input files");
    };
    let table = match table {
        Some(t) => t,
        None => {
            let config = table_config(&arrow_schema, args)?;
            Table::create(&args.table, config, TableOptions::default())
                .with_context(|| format!("creating table {}", args.table.display()))?
        }
    };
    let before = table.state().dead_space().total_bytes;
    // Validate every batch before the first write, so a refused batch commits nothing.
    let all: Vec<&RecordBatch> = inputs.iter().flat_map(|i| i.batches.iter()).collect();
    table.write_all(&all).context("writing the rows")?;
    table.close()?;
    let rows: usize = all.iter().map(|b| b.num_rows()).sum();
    let bytes_in: u64 = inputs.iter().map(|i| i.bytes).sum();
    let skipped: usize = inputs.iter().map(|i| i.skipped).sum();
    let after = table.state().dead_space().total_bytes;
    let bytes_out = after.saturating_sub(before);
    let ratio = if bytes_out > 0 {
        bytes_in as f64 / bytes_out as f64
    } else {
        0.0
    };
    println!(
        "ingested {rows} rows from {} files: {bytes_in} bytes in, {bytes_out} bytes out (ratio {ratio:.2}), {:.2}s",
        args.files.len(),
        started.elapsed().as_secs_f64()
    );
    if skipped > 0 {
        println!("skipped {skipped} bad rows");
    }
    Ok(())
}

fn table_config(schema: &ArrowSchema, args: &IngestArgs) -> Result<TableConfig> {
    let time = match &args.time_column {
        Some(t) => t.clone(),
        None => schema
            .fields()
            .iter()
            .find(|f| matches!(f.data_type(), ArrowType::Timestamp(_, _)))
            .or_else(|| {
                schema
                    .fields()
                    .iter()
                    .find(|f| f.name() == "ts" || f.name() == "time")
            })
            .map(|f| f.name().clone())
            .context("no time column: pass --time-column")?,
    };
    let mut s = Schema::from_arrow(schema)
        .context("converting the schema")?
        .with_sort_key([time.as_str()])
        .context("setting the sort key")?;
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
    let partitioning = match args.partition {
        PartitionArg::Day => Partitioning::Day,
        PartitionArg::Month => Partitioning::Month,
        PartitionArg::Auto => Partitioning::Auto,
    };
    Ok(TableConfig::new(s, time, partitioning)?)
}

fn read_input(path: &Path, schema: Option<SchemaRef>, args: &IngestArgs) -> Result<Input> {
    let name = path.to_string_lossy().to_lowercase();
    let bytes = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if name.ends_with(".parquet") {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.build())
            .with_context(|| format!("{}: not a readable Parquet file", path.display()))?;
        let batches = reader
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("{}: reading Parquet", path.display()))?;
        return Ok(Input {
            batches,
            bytes,
            skipped: 0,
        });
    }
    if name.ends_with(".arrow") || name.ends_with(".ipc") || name.ends_with(".feather") {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let batches = match arrow_ipc::reader::FileReader::try_new(file, None) {
            Ok(r) => r.collect::<Result<Vec<_>, _>>(),
            Err(_) => {
                let file =
                    File::open(path).with_context(|| format!("opening {}", path.display()))?;
                arrow_ipc::reader::StreamReader::try_new(BufReader::new(file), None)
                    .and_then(|r| r.collect::<Result<Vec<_>, _>>())
            }
        }
        .with_context(|| format!("{}: not a readable Arrow IPC file", path.display()))?;
        return Ok(Input {
            batches,
            bytes,
            skipped: 0,
        });
    }
    let mut text = String::new();
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    if name.ends_with(".gz") {
        flate2::read::GzDecoder::new(file).read_to_string(&mut text)
    } else {
        BufReader::new(file).read_to_string(&mut text)
    }
    .with_context(|| format!("{}: reading text", path.display()))?;
    read_csv(path, &text, schema, args, bytes)
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

fn read_csv(
    path: &Path,
    text: &str,
    schema: Option<SchemaRef>,
    args: &IngestArgs,
    bytes: u64,
) -> Result<Input> {
    let mut lines = text.lines().enumerate();
    let (_, header) = lines
        .next()
        .with_context(|| format!("{}: empty file", path.display()))?;
    // (1-based line number, text) of every non-blank data line.
    let body: Vec<(usize, &str)> = lines
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l))
        .collect();
    let schema = match schema {
        Some(s) => s,
        None => {
            let (inferred, _) = CsvFormat::default()
                .with_header(true)
                .infer_schema(text.as_bytes(), Some(1000))
                .with_context(|| format!("{}: inferring the schema", path.display()))?;
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
            Arc::new(ArrowSchema::new(fields))
        }
    };
    let decode =
        |chunk: &[(usize, &str)]| -> Result<Option<RecordBatch>, arrow_schema::ArrowError> {
            let mut data = String::with_capacity(
                header.len() + chunk.iter().map(|(_, l)| l.len() + 1).sum::<usize>(),
            );
            data.push_str(header);
            data.push('\n');
            for (_, l) in chunk {
                data.push_str(l);
                data.push('\n');
            }
            let mut reader = ReaderBuilder::new(Arc::clone(&schema))
                .with_header(true)
                .with_batch_size(chunk.len().max(1))
                .build(data.as_bytes())?;
            reader.next().transpose()
        };
    let mut batches = Vec::new();
    let mut skipped = 0usize;
    for chunk in body.chunks(8192) {
        match decode(chunk) {
            Ok(b) => batches.extend(b),
            Err(_) => {
                // Find the bad lines one by one (line numbers count the header as line 1).
                for l in chunk {
                    match decode(std::slice::from_ref(l)) {
                        Ok(b) => batches.extend(b),
                        Err(_) if args.skip_bad_rows => skipped += 1,
                        Err(e) => {
                            let line = l.0;
                            let msg = e.to_string();
                            let msg = msg.split(" at line").next().unwrap_or(&msg).to_string();
                            bail!("{}:{line}: {msg}", path.display());
                        }
                    }
                }
            }
        }
    }
    Ok(Input {
        batches,
        bytes,
        skipped,
    })
}

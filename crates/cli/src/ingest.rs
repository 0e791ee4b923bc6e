//! `strata ingest`: CSV (plain or gzip), Parquet and Arrow IPC files into a table.
//!
//! All files are read and validated before anything is written, so a failed ingest commits
//! nothing. CSV is split into records first (a quoted field may hold newlines), so that a
//! malformed record is reported with its file and the physical line it starts on.

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
    // Where the columns every input must have come from, for messages.
    let mut columns_from = "the table has".to_string();
    for f in &args.files {
        bar.set_message(f.display().to_string());
        let input = read_input(f, schema.clone(), &columns_from, args)?;
        if schema.is_none() {
            schema = input.batches.first().map(|b| b.schema());
            columns_from = format!("{} has", f.display());
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
        Some(t) if schema.field_with_name(t).is_err() => bail!(
            "--time-column: there is no column {t:?} (columns: {})",
            column_names(schema)
        ),
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
            .with_context(|| {
                format!(
                    "no timestamp column and none named ts or time: pass --time-column \
                     (columns: {})",
                    column_names(schema)
                )
            })?,
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

fn read_input(
    path: &Path,
    schema: Option<SchemaRef>,
    columns_from: &str,
    args: &IngestArgs,
) -> Result<Input> {
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
    read_csv(path, &text, schema, columns_from, args, bytes)
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
    columns_from: &str,
    args: &IngestArgs,
    bytes: u64,
) -> Result<Input> {
    let mut records = csv_records(text)
        .map_err(|line| anyhow::anyhow!("{}:{line}: unterminated quoted field", path.display()))?
        .into_iter();
    let (_, header) = records
        .next()
        .with_context(|| format!("{}: empty file", path.display()))?;
    // Columns are read by position, so a header that names other columns (or the same ones in
    // another order) than the table or the first file would put values in the wrong columns.
    if let Some(fixed) = &schema {
        let names = header_names(header);
        let expected: Vec<&str> = fixed.fields().iter().map(|f| f.name().as_str()).collect();
        if names != expected {
            bail!(
                "{}:1: the header names columns {} but {columns_from} {}",
                path.display(),
                names.join(", "),
                expected.join(", ")
            );
        }
    }
    // (1-based line the record starts on, text) of every non-blank data record.
    let body: Vec<(usize, &str)> = records.filter(|(_, r)| !r.trim().is_empty()).collect();
    // A record with the wrong number of fields is reported (or skipped) before schema inference
    // sees it, so the message names its line rather than failing the inference.
    let width = count_fields(header);
    let mut skipped = 0usize;
    let mut good = Vec::with_capacity(body.len());
    for (line, record) in body {
        let n = count_fields(record);
        if n == width {
            good.push((line, record));
        } else if args.skip_bad_rows {
            skipped += 1;
        } else {
            bail!(
                "{}:{line}: expected {width} fields (as in the header), found {n}",
                path.display()
            );
        }
    }
    let body = good;
    let schema = match schema {
        Some(s) => s,
        None => {
            let (inferred, _) = CsvFormat::default()
                .with_header(true)
                .infer_schema(inference_sample(header, &body).as_bytes(), None)
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
    for chunk in body.chunks(8192) {
        match decode(chunk) {
            Ok(b) => batches.extend(b),
            Err(_) => {
                // Find the bad records one by one (line numbers count the header as line 1).
                for l in chunk {
                    match decode(std::slice::from_ref(l)) {
                        Ok(b) => batches.extend(b),
                        Err(_) if args.skip_bad_rows => skipped += 1,
                        Err(e) => {
                            let msg = row_error(&e.to_string(), &schema);
                            bail!("{}:{}: {msg}", path.display(), l.0);
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

/// Where the CSV parser is within a field. A quote opens a quoted field only as the field's
/// first byte (elsewhere it is data, as in arrow-csv's parser); inside a quoted field a doubled
/// quote is one quote character and a newline is data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldState {
    Start,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: it closes the field unless another quote follows.
    QuoteInQuoted,
}

/// What one byte is to the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Byte {
    Data,
    /// A quote that is syntax, not data.
    Quote,
    Delimiter,
    RecordEnd,
}

impl FieldState {
    fn step(&mut self, b: u8) -> Byte {
        use FieldState::{QuoteInQuoted, Quoted, Start, Unquoted};
        let (next, byte) = match (*self, b) {
            (Quoted, b'"') => (QuoteInQuoted, Byte::Quote),
            (Quoted, _) => (Quoted, Byte::Data),
            (QuoteInQuoted, b'"') => (Quoted, Byte::Data),
            (Start, b'"') => (Quoted, Byte::Quote),
            (_, b',') => (Start, Byte::Delimiter),
            (_, b'\n') => (Start, Byte::RecordEnd),
            (_, _) => (Unquoted, Byte::Data),
        };
        *self = next;
        byte
    }
}

/// Splits CSV text into records, each with the 1-based physical line it starts on. A newline
/// inside a quoted field belongs to the field. Line ends (`\n` or `\r\n`) are not part of a
/// record. An unterminated quoted field is an error carrying the line its record starts on.
fn csv_records(text: &str) -> std::result::Result<Vec<(usize, &str)>, usize> {
    let mut out = Vec::new();
    let mut line = 1usize;
    let mut start = 0usize;
    let mut start_line = 1usize;
    let mut state = FieldState::Start;
    for (i, b) in text.bytes().enumerate() {
        if state.step(b) == Byte::RecordEnd {
            let record = text.get(start..i).unwrap_or_default();
            out.push((start_line, record.strip_suffix('\r').unwrap_or(record)));
            start = i + 1;
            start_line = line + 1;
        }
        if b == b'\n' {
            line += 1;
        }
    }
    if state == FieldState::Quoted {
        return Err(start_line);
    }
    let rest = text.get(start..).unwrap_or_default();
    if !rest.is_empty() {
        out.push((start_line, rest.strip_suffix('\r').unwrap_or(rest)));
    }
    Ok(out)
}

/// The fields of one CSV record, unquoted (used for the header).
fn header_names(header: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut field = Vec::new();
    let mut state = FieldState::Start;
    for b in header.bytes() {
        match state.step(b) {
            Byte::Data => field.push(b),
            Byte::Quote => {}
            Byte::Delimiter | Byte::RecordEnd => {
                names.push(String::from_utf8_lossy(&field).into_owned());
                field.clear();
            }
        }
    }
    names.push(String::from_utf8_lossy(&field).into_owned());
    names
}

/// The number of fields of one CSV record (commas inside quoted fields do not count).
fn count_fields(record: &str) -> usize {
    let mut state = FieldState::Start;
    1 + record
        .bytes()
        .filter(|b| state.step(*b) == Byte::Delimiter)
        .count()
}

/// Rows used to infer a CSV schema: the header and the first 1000 well-formed records.
fn inference_sample(header: &str, body: &[(usize, &str)]) -> String {
    let mut sample = String::from(header);
    sample.push('\n');
    for (_, record) in body.iter().take(1000) {
        sample.push_str(record);
        sample.push('\n');
    }
    sample
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
    fn csv_records_keep_quoted_newlines_and_count_physical_lines() {
        let text = "a,b\r\n1,\"x\ny\"\n\n2,\"he said \"\"hi\"\"\n\"\n3,z";
        let got = csv_records(text).unwrap();
        assert_eq!(
            got,
            vec![
                (1, "a,b"),
                (2, "1,\"x\ny\""),
                (4, ""),
                (5, "2,\"he said \"\"hi\"\"\n\""),
                (7, "3,z"),
            ]
        );
        assert_eq!(csv_records("a\n1\n").unwrap(), vec![(1, "a"), (2, "1")]);
        // A quote inside an unquoted field is data, as arrow-csv reads it.
        assert_eq!(
            csv_records("a,b\n5\" disk,x\n6,y\n").unwrap(),
            vec![(1, "a,b"), (2, "5\" disk,x"), (3, "6,y")]
        );
        assert_eq!(csv_records("a\n1,\"open\n2\n"), Err(2));
    }

    #[test]
    fn header_names_unquote() {
        assert_eq!(header_names("ts,host"), ["ts", "host"]);
        assert_eq!(
            header_names("\"a,b\",\"say \"\"hi\"\"\",c"),
            ["a,b", "say \"hi\"", "c"]
        );
    }

    #[test]
    fn count_fields_ignores_quoted_commas() {
        assert_eq!(count_fields("a,b,c"), 3);
        assert_eq!(count_fields(""), 1);
        assert_eq!(count_fields("5\" disk,\"a,b\"x,c"), 3);
        assert_eq!(count_fields("1,\"x, y\",\"\"\"q,\"\"\""), 3);
    }

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

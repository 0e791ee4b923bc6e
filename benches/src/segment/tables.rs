//! Whole tables of the shared data sets, loaded as a user loads them: `strata ingest TABLE
//! FILES…` with no flags, through the CLI's own ingest code ([`strata_cli::ingest`]).
//!
//! | table | files |
//! |---|---|
//! | `bts-flights-3m` | one Parquet file |
//! | `nycflights13/flights` | one gzipped CSV |
//! | `nycflights13/weather` | one gzipped CSV |
//! | `beijing` | 12 CSVs in one ingest, in file-name order |
//! | `geonames-us-zipcodes` | one gzipped CSV |
//! | `nyc-green-taxi-2022-01` | one Parquet file |
//!
//! Every other data set in the data directory is measured too ([`discover`]): each CSV, JSON
//! lines, Parquet or Arrow IPC file (plain or gzipped) at the top or one folder down, the files
//! of one folder that begin with the same header ingested together as one table; folders the
//! other suites use (`parquet-testing`, `float-series`, `tpch-queries`) are not tables, and a
//! table of fewer than [`MIN_DISCOVERED_ROWS`] rows is not timed. So `--data DIR` measures a
//! user's own files with no list to edit.
//!
//! The ingest decides everything a user would not be asked for: the CSV dialect, the column
//! types, which string columns are symbols, the time column, the sort key (the time column,
//! else none: file order) and the partitioning (`auto`), and merges a new table to one segment
//! per partition. What it made is measured as it is ([`Ingested`]): its segment bytes are the
//! size a user gets.
//!
//! For the peers the table is then read back whole, in stored order (partition by partition),
//! symbols as `Utf8`, and cut into batches of [`BATCH_ROWS`]: Parquet is given exactly the rows
//! Strata holds, in the same order, so neither format is helped by an order the other lacks.
//! [`Table::strata_schema`] is the table's own schema (its sort key and symbols), for the suites
//! that time a single segment write of the same rows.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use serde::Serialize;

use crate::data::{BEIJING_DIR, FLIGHTS_FILE};
use crate::{BenchError, Result};

/// Rows per batch handed to both writers (a multiple of Strata's 1024-row blocks).
pub const BATCH_ROWS: usize = 65_536;

/// nycflights13 flights, relative to the data directory.
pub const NYCFLIGHTS_FLIGHTS_FILE: &str = "nycflights13/flights.csv.gz";
/// nycflights13 weather, relative to the data directory.
pub const NYCFLIGHTS_WEATHER_FILE: &str = "nycflights13/weather.csv.gz";
/// Geonames US zip codes, relative to the data directory.
pub const GEONAMES_FILE: &str = "geonames-us-zipcodes/zipcodes.csv.gz";
/// NYC green taxi trips, relative to the data directory.
pub const TAXI_FILE: &str = "nyc-green-taxi-2022-01/green_tripdata_2022-01.parquet";

/// How one string column is stored by Strata.
#[derive(Debug, Clone, Serialize)]
pub struct StringColumn {
    /// Column name.
    pub name: String,
    /// Distinct non-null values.
    pub distinct: usize,
    /// Whether the ingest made it a Strata Symbol.
    pub symbol: bool,
}

/// What the no-flag ingest made of a table's files.
#[derive(Debug, Clone, Serialize)]
pub struct Ingested {
    /// Rows committed.
    pub rows: usize,
    /// Bytes of the input files.
    pub input_bytes: u64,
    /// Bytes of the table's segments: what the user's table occupies.
    pub table_bytes: u64,
    /// Segments in the table.
    pub segments: usize,
    /// Partitions in the table.
    pub partitions: usize,
    /// The time column the ingest chose, if any.
    pub time_column: Option<String>,
    /// Seconds from the start of the ingest to the table's close (parsing, inference, writing,
    /// the merge).
    pub seconds: f64,
}

/// A whole table, as the ingest stored it, ready for the peers.
#[derive(Debug, Clone)]
pub struct Table {
    /// Table name, e.g. `nycflights13/weather`.
    pub name: String,
    /// Its Arrow schema (symbols as `Utf8`, no metadata).
    pub schema: SchemaRef,
    /// The table's own schema: sort key and symbols as the ingest chose them.
    pub strata_schema: strata_format::Schema,
    /// The rows in stored order, in batches of [`BATCH_ROWS`] (the first `max_rows` only, when
    /// capped).
    pub batches: Vec<RecordBatch>,
    /// Rows in [`Self::batches`].
    pub rows: usize,
    /// Sort-key columns (empty: file order kept).
    pub sort_key: Vec<String>,
    /// Every string column with its distinct count and Symbol decision.
    pub strings: Vec<StringColumn>,
    /// The table the ingest made.
    pub ingested: Ingested,
}

impl Table {
    /// Whether [`Self::batches`] hold every row of the ingested table (no `max_rows` cap cut
    /// them).
    pub fn is_whole(&self) -> bool {
        self.rows == self.ingested.rows
    }
}

/// What [`load_tables`] found.
#[derive(Debug, Default)]
pub struct LoadedTables {
    /// Tables read.
    pub tables: Vec<Table>,
    /// Files that were absent and so skipped.
    pub notices: Vec<String>,
    /// Files that were present but could not be read.
    pub errors: Vec<String>,
}

/// Folders of the data directory that other suites and tests use and that are not tables:
/// Apache's Parquet cross-implementation files (some encrypted, most a few rows), the codec
/// suite's one-number-a-line series and the SQL suite's query texts.
const NOT_TABLES: &[&str] = &["parquet-testing", "float-series", "tpch-queries"];

/// A table found under the data directory that the suite does not name: fewer rows than this
/// (a dimension table: airlines, zones) is not timed, its figures would be noise.
pub const MIN_DISCOVERED_ROWS: usize = 10_000;

/// What the ingest takes as input (each optionally followed by `.gz`), as in `strata ingest`.
const DATA_EXTENSIONS: &[&str] = &[
    ".csv", ".tsv", ".tab", ".txt", ".json", ".jsonl", ".ndjson", ".parquet", ".arrow", ".ipc",
    ".feather",
];

struct Spec {
    name: &'static str,
    /// File or folder that must exist, relative to the data directory.
    path: &'static str,
    /// The files given to the ingest.
    files: fn(&Path) -> Result<Vec<PathBuf>>,
}

fn one_file(p: &Path) -> Result<Vec<PathBuf>> {
    Ok(vec![p.to_path_buf()])
}

/// Every station's file, in file-name order.
fn beijing_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| BenchError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("PRSA_Data_") && n.contains(".csv"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(BenchError::data(dir, "no PRSA_Data_*.csv(.gz) files"));
    }
    Ok(files)
}

const SPECS: &[Spec] = &[
    Spec {
        name: "bts-flights-3m",
        path: FLIGHTS_FILE,
        files: one_file,
    },
    Spec {
        name: "nycflights13/flights",
        path: NYCFLIGHTS_FLIGHTS_FILE,
        files: one_file,
    },
    Spec {
        name: "nycflights13/weather",
        path: NYCFLIGHTS_WEATHER_FILE,
        files: one_file,
    },
    Spec {
        name: "beijing",
        path: BEIJING_DIR,
        files: beijing_files,
    },
    Spec {
        name: "geonames-us-zipcodes",
        path: GEONAMES_FILE,
        files: one_file,
    },
    Spec {
        name: "nyc-green-taxi-2022-01",
        path: TAXI_FILE,
        files: one_file,
    },
];

/// Ingests and reads back every table found under `data_dir`; at most `max_rows` rows of each
/// (the first ones in stored order) go to the peers when given.
///
/// The named tables (above) come first; then every other data set in the directory
/// ([`discover`]), so the suite measures a user's own files given with `--data DIR` too. A
/// discovered table of fewer than [`MIN_DISCOVERED_ROWS`] rows is left out with a notice.
/// Last, the generated [`DEMO_TABLE`], with or without a data directory.
pub fn load_tables(data_dir: &Path, max_rows: Option<usize>) -> LoadedTables {
    load_tables_with(data_dir, max_rows, (DEMO_HOSTS, DEMO_HOURS))
}

/// [`load_tables`] with the demo table's hosts and hours.
fn load_tables_with(
    data_dir: &Path,
    max_rows: Option<usize>,
    (demo_hosts, demo_hours): (usize, u64),
) -> LoadedTables {
    let mut out = LoadedTables::default();
    for spec in SPECS {
        let path = data_dir.join(spec.path);
        if !path.exists() {
            out.notices.push(format!(
                "{} not found, table {} skipped",
                path.display(),
                spec.name
            ));
            continue;
        }
        eprintln!("segment: ingesting {}", spec.name);
        match (spec.files)(&path).and_then(|files| load(spec.name, &files, &path, max_rows)) {
            Ok(t) => out.tables.push(t),
            Err(e) => out.errors.push(format!("{}: {e}", spec.name)),
        }
    }
    let found = match discover(data_dir) {
        Ok(found) => found,
        Err(e) => {
            out.errors.push(format!("looking for other tables: {e}"));
            Vec::new()
        }
    };
    for d in found {
        eprintln!(
            "segment: ingesting {} (found in the data directory)",
            d.name
        );
        let first = d
            .files
            .first()
            .cloned()
            .unwrap_or_else(|| data_dir.to_path_buf());
        match load(&d.name, &d.files, &first, max_rows) {
            Ok(t) if t.ingested.rows < MIN_DISCOVERED_ROWS => out.notices.push(format!(
                "{}: {} rows, fewer than {MIN_DISCOVERED_ROWS}: not timed",
                d.name, t.ingested.rows
            )),
            Ok(t) => out.tables.push(t),
            Err(e) => out.errors.push(format!("{}: {e}", d.name)),
        }
    }
    eprintln!("segment: generating {DEMO_TABLE}");
    match load_demo(demo_hosts, demo_hours, max_rows) {
        Ok(t) => out.tables.push(t),
        Err(e) => out.errors.push(format!("{DEMO_TABLE}: {e}")),
    }
    out
}

/// Hosts and hours of [`DEMO_TABLE`]: `strata demo`'s defaults (207,360 rows).
const DEMO_HOSTS: usize = 16;
const DEMO_HOURS: u64 = 36;

/// A data set found under the data directory: its name (its path relative to the directory,
/// without the data extension) and the files one ingest takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    /// Table name, e.g. `quandl-wiki-stocks/stocks`.
    pub name: String,
    /// Input files, in name order.
    pub files: Vec<PathBuf>,
}

/// Every data set under `data_dir` that the suite does not name: each data file at the top or
/// one folder down (names ending in an extension `strata ingest` reads, optionally `.gz`),
/// except the named tables' files and folders and the folders other suites use
/// (`parquet-testing`, `float-series`, `tpch-queries`). The files of one folder
/// that begin the same way (the same header line for text files, the same column names for
/// Parquet) are one table, ingested together, as the Beijing stations are; any other file is
/// a table of its own. Hidden files and deeper folders are left out.
pub fn discover(data_dir: &Path) -> Result<Vec<Discovered>> {
    let claimed: Vec<PathBuf> = SPECS.iter().map(|s| data_dir.join(s.path)).collect();
    let mut out = Vec::new();
    let mut top_files = Vec::new();
    for entry in sorted_entries(data_dir)? {
        let name = file_name(&entry);
        if name.starts_with('.') || claimed.contains(&entry) {
            continue;
        }
        if entry.is_dir() {
            if NOT_TABLES.contains(&name.as_str()) {
                continue;
            }
            let files: Vec<PathBuf> = sorted_entries(&entry)?
                .into_iter()
                .filter(|p| p.is_file() && is_data_file(p) && !claimed.contains(p))
                .collect();
            out.extend(group(data_dir, files)?);
        } else if entry.is_file() && is_data_file(&entry) {
            top_files.push(entry);
        }
    }
    out.extend(group(data_dir, top_files)?);
    Ok(out)
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v = std::fs::read_dir(dir)
        .map_err(|e| BenchError::io(dir, e))?
        .map(|e| e.map(|e| e.path()).map_err(|e| BenchError::io(dir, e)))
        .collect::<Result<Vec<_>>>()?;
    v.sort();
    Ok(v)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn is_data_file(p: &Path) -> bool {
    let name = file_name(p).to_lowercase();
    let stem = name.strip_suffix(".gz").unwrap_or(&name);
    !name.starts_with('.') && DATA_EXTENSIONS.iter().any(|e| stem.ends_with(e))
}

/// Groups `files` (of one folder, in name order) by how they begin; each group is a table named
/// after its first file's path relative to `data_dir`, without the data extension (a group of
/// several: the folder's name, plus the first file's when the folder holds other tables too).
fn group(data_dir: &Path, files: Vec<PathBuf>) -> Result<Vec<Discovered>> {
    let mut groups: Vec<(Option<String>, Vec<PathBuf>)> = Vec::new();
    for f in files {
        let head = first_line(&f)?;
        match groups
            .iter_mut()
            .find(|(h, _)| head.is_some() && h == &head)
        {
            Some((_, members)) => members.push(f),
            None => groups.push((head, vec![f])),
        }
    }
    let several_tables = groups.len() > 1;
    Ok(groups
        .into_iter()
        .map(|(_, files)| {
            let first = files.first().cloned().unwrap_or_default();
            let rel = first.strip_prefix(data_dir).unwrap_or(&first);
            let folder = rel.parent().filter(|p| !p.as_os_str().is_empty());
            let name = match folder {
                Some(folder) if files.len() > 1 && !several_tables => {
                    folder.to_string_lossy().into_owned()
                }
                _ => without_data_extension(&rel.to_string_lossy()),
            };
            Discovered { name, files }
        })
        .collect())
}

fn without_data_extension(name: &str) -> String {
    let stem = name.strip_suffix(".gz").unwrap_or(name);
    let lower = stem.to_lowercase();
    DATA_EXTENSIONS
        .iter()
        .find(|e| lower.ends_with(*e))
        .map_or(stem, |e| &stem[..stem.len() - e.len()])
        .to_string()
}

/// How a data file begins: its first line (text), its column names (Parquet); `None` when
/// that cannot be told (Arrow IPC, an unreadable file), so the file is a table of its own.
fn first_line(path: &Path) -> Result<Option<String>> {
    use std::io::BufRead;
    let name = file_name(path).to_lowercase();
    if name.ends_with(".parquet") {
        let file = std::fs::File::open(path).map_err(|e| BenchError::io(path, e))?;
        return Ok(
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                .ok()
                .map(|b| {
                    let names: Vec<&str> = b
                        .schema()
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect();
                    format!("parquet:{}", names.join(","))
                }),
        );
    }
    let stem = name.strip_suffix(".gz").unwrap_or(&name);
    if [".arrow", ".ipc", ".feather"]
        .iter()
        .any(|e| stem.ends_with(e))
    {
        return Ok(None);
    }
    let file = std::fs::File::open(path).map_err(|e| BenchError::io(path, e))?;
    let reader: Box<dyn std::io::Read> = if name.ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut line = Vec::new();
    let read =
        std::io::BufReader::new(std::io::Read::take(reader, 1 << 20)).read_until(b'\n', &mut line);
    Ok(match read {
        Ok(n) if n > 0 => {
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_start_matches('\u{feff}').trim_end();
            // JSON lines begin with a record, not a header: each file is a table of its own.
            (!stem.ends_with(".json") && !stem.ends_with(".jsonl") && !stem.ends_with(".ndjson"))
                .then(|| format!("text:{text}"))
        }
        _ => None,
    })
}

/// Ingests and reads back the one table called `name` (as in the table above, or as
/// [`discover`] names it); `Ok(None)` when its file is absent or no table has that name.
pub fn load_table(data_dir: &Path, name: &str, max_rows: Option<usize>) -> Result<Option<Table>> {
    if name == DEMO_TABLE {
        return load_demo(DEMO_HOSTS, DEMO_HOURS, max_rows).map(Some);
    }
    let Some(spec) = SPECS.iter().find(|s| s.name == name) else {
        let Some(d) = discover(data_dir)?.into_iter().find(|d| d.name == name) else {
            return Ok(None);
        };
        let first = d
            .files
            .first()
            .cloned()
            .unwrap_or_else(|| data_dir.to_path_buf());
        return load(&d.name, &d.files, &first, max_rows).map(Some);
    };
    let path = data_dir.join(spec.path);
    if !path.exists() {
        return Ok(None);
    }
    let files = (spec.files)(&path)?;
    load(spec.name, &files, &path, max_rows).map(Some)
}

/// Ingests `files` as the table `name` (`path`: what errors name) and reads it back.
fn load(name: &str, files: &[PathBuf], path: &Path, max_rows: Option<usize>) -> Result<Table> {
    let dir = tempfile::tempdir().map_err(|e| BenchError::io(&std::env::temp_dir(), e))?;
    let table_dir = dir.path().join("table");
    let failed = |e: anyhow::Error| BenchError::data(path, format!("ingest: {e:#}"));
    let started = Instant::now();
    let args = strata_cli::ingest::IngestArgs::defaults(&table_dir, files).map_err(failed)?;
    let report = strata_cli::ingest::ingest(&args).map_err(failed)?;
    let seconds = started.elapsed().as_secs_f64();
    read_back(
        name,
        &table_dir,
        path,
        (report.rows, report.bytes_in, seconds),
        max_rows,
    )
}

/// The demo's metrics table (`strata demo`'s default workload: 16 hosts, 36 hours, seed 42),
/// written as the demo writes it (a table partitioned by day, sort key `host, ts`, batches as
/// they arrive, late rows included) with default options and compacted; always present (it is
/// generated, not read from the data directory).
pub const DEMO_TABLE: &str = "strata-demo-metrics";

/// Builds [`DEMO_TABLE`] from `hosts` hosts and `hours` hours of the demo's workload and reads
/// it back.
pub fn load_demo(hosts: usize, hours: u64, max_rows: Option<usize>) -> Result<Table> {
    let dir = tempfile::tempdir().map_err(|e| BenchError::io(&std::env::temp_dir(), e))?;
    let table_dir = dir.path().join("table");
    let failed = |e: String| BenchError::data(&table_dir, format!("demo workload: {e}"));
    let started = Instant::now();
    let config = strata_cli::demo::table_config().map_err(|e| failed(format!("{e:#}")))?;
    let table = strata::Table::create(&table_dir, config, strata::TableOptions::default())
        .map_err(|e| failed(e.to_string()))?;
    let mut workload =
        strata_cli::demo::Workload::new(42, hosts, hours).map_err(|e| failed(format!("{e:#}")))?;
    let mut rows = 0;
    for batch in workload.by_ref() {
        let batch = batch.map_err(|e| failed(format!("{e:#}")))?;
        rows += batch.num_rows();
        table.write(&batch).map_err(|e| failed(e.to_string()))?;
    }
    table.flush().map_err(|e| failed(e.to_string()))?;
    table.compact_now().map_err(|e| failed(e.to_string()))?;
    table.close().map_err(|e| failed(e.to_string()))?;
    let seconds = started.elapsed().as_secs_f64();
    read_back(
        DEMO_TABLE,
        &table_dir,
        &table_dir,
        (rows, workload.raw_bytes(), seconds),
        max_rows,
    )
}

/// Opens the table at `table_dir` that an ingest of `path` made (`rows`, input bytes and
/// seconds as the ingest reported them) and reads its rows back in stored order.
fn read_back(
    name: &str,
    table_dir: &Path,
    path: &Path,
    (rows, input_bytes, seconds): (usize, u64, f64),
    max_rows: Option<usize>,
) -> Result<Table> {
    let opened = strata::Table::open_read_only(table_dir, strata::TableOptions::default());
    let (table, _) = opened.map_err(|e| BenchError::data(table_dir, e.to_string()))?;
    let state = table.state();
    let strata_schema = table.schema();
    let ingested = Ingested {
        rows,
        input_bytes,
        table_bytes: state.segments().map(|s| s.bytes).sum(),
        segments: state.segments().count(),
        partitions: state.partitions.len(),
        time_column: state.config.time_column().map(str::to_string),
        seconds,
    };
    let scan = table
        .scan()
        .batch_size(BATCH_ROWS)
        .execute()
        .map_err(|e| BenchError::data(table_dir, e.to_string()))?;
    let schema = Arc::new(normal_schema(
        &strata_schema.to_arrow(strata::SymbolAs::Utf8),
    ));
    let mut read = Vec::new();
    for b in scan {
        let b = b.map_err(|e| BenchError::data(table_dir, e.to_string()))?;
        read.push(normalise(&schema, &b)?);
    }
    table
        .close()
        .map_err(|e| BenchError::data(table_dir, e.to_string()))?;
    let mut all = arrow_select::concat::concat_batches(&schema, &read)?;
    drop(read);
    if state.partitions.len() > 1 {
        // Each partition is in sort-key order; one segment of every row must be in it as a
        // whole (the demo's `host, ts` starts again with each day).
        all = sorted_by(table_dir, &all, &strata_schema.sort_key)?;
    }
    if all.num_rows() != ingested.rows {
        return Err(BenchError::data(
            path,
            format!(
                "the ingest committed {} rows, the table holds {}",
                ingested.rows,
                all.num_rows()
            ),
        ));
    }
    if let Some(max) = max_rows
        && all.num_rows() > max
    {
        all = all.slice(0, max);
    }
    let rows = all.num_rows();
    let strings = schema
        .fields()
        .iter()
        .zip(all.columns())
        .filter(|(f, _)| f.data_type() == &DataType::Utf8)
        .map(|(f, c)| StringColumn {
            name: f.name().clone(),
            distinct: distinct_strings(c),
            symbol: strata_schema
                .index_of(f.name())
                .and_then(|i| strata_schema.field(i))
                .is_some_and(|s| s.data_type == strata_format::DataType::Symbol),
        })
        .collect();
    let batches = (0..rows)
        .step_by(BATCH_ROWS)
        .map(|start| all.slice(start, BATCH_ROWS.min(rows - start)))
        .collect();
    Ok(Table {
        name: name.to_string(),
        schema,
        sort_key: strata_schema.sort_key.clone(),
        strata_schema,
        batches,
        rows,
        strings,
        ingested,
    })
}

/// `batch`'s rows ordered by the columns `key` (`table`: what an error names).
fn sorted_by(table: &Path, batch: &RecordBatch, key: &[String]) -> Result<RecordBatch> {
    let columns = key
        .iter()
        .map(|k| {
            let values = batch.column_by_name(k).cloned().ok_or_else(|| {
                BenchError::data(table, format!("sort-key column {k:?} not read back"))
            })?;
            Ok(arrow_ord::sort::SortColumn {
                values,
                options: None,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if columns.is_empty() {
        return Ok(batch.clone());
    }
    let order = arrow_ord::sort::lexsort_to_indices(&columns, None)?;
    Ok(arrow_select::take::take_record_batch(batch, &order)?)
}

fn distinct_strings(a: &ArrayRef) -> usize {
    a.as_string_opt::<i32>()
        .map_or(0, |s| s.iter().flatten().collect::<HashSet<&str>>().len())
}

/// `schema` without metadata, string-like types as `Utf8`.
fn normal_schema(schema: &Schema) -> Schema {
    Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| {
                let t = if is_stringy(f.data_type()) {
                    DataType::Utf8
                } else {
                    f.data_type().clone()
                };
                Field::new(f.name(), t, f.is_nullable())
            })
            .collect::<Vec<_>>(),
    )
}

fn is_stringy(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => is_stringy(v),
        _ => false,
    }
}

/// `batch` in `schema`: string-like columns (symbols come back as dictionaries) cast to `Utf8`.
fn normalise(schema: &SchemaRef, batch: &RecordBatch) -> Result<RecordBatch> {
    let columns = schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(f, c)| {
            if c.data_type() == f.data_type() {
                Ok(c.clone())
            } else {
                arrow_cast::cast(c, f.data_type())
            }
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn normalise_casts_dictionaries_and_drops_metadata() {
        use arrow_array::{DictionaryArray, Int64Array, types::Int32Type};
        let dict: DictionaryArray<Int32Type> = vec!["a", "b", "a"].into_iter().collect();
        let raw = Schema::new(vec![
            Field::new("s", dict.data_type().clone(), true),
            Field::new("v", DataType::Int64, false),
        ])
        .with_metadata([("k".to_string(), "v".to_string())].into());
        let schema = Arc::new(normal_schema(&raw));
        assert!(schema.metadata().is_empty());
        assert_eq!(schema.field(0).data_type(), &DataType::Utf8);
        let b = RecordBatch::try_new(
            Arc::new(raw),
            vec![Arc::new(dict), Arc::new(Int64Array::from(vec![1, 2, 3]))],
        )
        .unwrap();
        let n = normalise(&schema, &b).unwrap();
        assert_eq!(n.column(0).as_string::<i32>().value(2), "a");
        assert_eq!(distinct_strings(n.column(0)), 2);
    }

    #[test]
    fn ingest_of_a_small_csv_reads_back_in_stored_order() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("t.csv");
        std::fs::write(&csv, "host,v\nb,1\na,2\nb,3\n").unwrap();
        let t = load("t", std::slice::from_ref(&csv), &csv, None).unwrap();
        assert_eq!(t.rows, 3);
        assert!(t.is_whole());
        assert!(t.sort_key.is_empty());
        assert_eq!(t.ingested.time_column, None);
        let host = t.batches[0].column(0).as_string::<i32>();
        assert_eq!(
            (host.value(0), host.value(1), host.value(2)),
            ("b", "a", "b")
        );
        let capped = load("t", std::slice::from_ref(&csv), &csv, Some(2)).unwrap();
        assert_eq!(capped.rows, 2);
        assert!(!capped.is_whole());
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        if file_name(path).ends_with(".gz") {
            let f = std::fs::File::create(path).unwrap();
            let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
            gz.write_all(text.as_bytes()).unwrap();
            gz.finish().unwrap();
        } else {
            std::fs::write(path, text).unwrap();
        }
    }

    /// Files of one folder with one header are one table; other files are tables of their own;
    /// the suite's own tables, the other suites' folders, hidden files, deeper folders and
    /// files the ingest does not read are left out.
    #[test]
    fn discover_groups_a_folder_by_header_and_skips_what_is_not_a_table() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        write(&root.join("stations/a.csv.gz"), "\u{feff}ts,v\r\n1,2\r\n");
        write(&root.join("stations/b.csv"), "ts,v\n3,4\n");
        write(&root.join("mixed/one.csv"), "x,y\n1,2\n");
        write(&root.join("mixed/two.tsv"), "p\tq\n1\t2\n");
        write(&root.join("mixed/README.md"), "not data");
        write(&root.join("mixed/.hidden.csv"), "x,y\n");
        write(&root.join("mixed/deeper/three.csv"), "x,y\n1,2\n");
        write(&root.join("top.jsonl"), "{\"a\": 1}\n");
        write(&root.join("parquet-testing/t.csv"), "a\n1\n");
        write(&root.join("float-series/s.csv"), "a\n1\n");
        write(&root.join(NYCFLIGHTS_WEATHER_FILE), "a\n1\n");
        write(
            &root.join("nycflights13/airlines.csv"),
            "carrier,name\n9E,x\n",
        );
        write(&root.join(BEIJING_DIR).join("PRSA_Data_A.csv"), "No\n1\n");
        let found = discover(root).unwrap();
        let got: Vec<(String, Vec<String>)> = found
            .iter()
            .map(|t| {
                let files = t.files.iter().map(|f| file_name(f)).collect();
                (t.name.clone(), files)
            })
            .collect();
        let want: Vec<(String, Vec<String>)> = [
            ("mixed/one", vec!["one.csv"]),
            ("mixed/two", vec!["two.tsv"]),
            ("nycflights13/airlines", vec!["airlines.csv"]),
            ("stations", vec!["a.csv.gz", "b.csv"]),
            ("top", vec!["top.jsonl"]),
        ]
        .into_iter()
        .map(|(n, f)| (n.to_string(), f.into_iter().map(String::from).collect()))
        .collect();
        assert_eq!(got, want);
    }

    /// A discovered table is ingested with no flags, measured like the others, and a small one
    /// is reported, not timed.
    #[test]
    fn load_tables_takes_a_discovered_table_and_notes_a_small_one() {
        let d = tempfile::tempdir().unwrap();
        let mut big = String::from("ts,host,value\n");
        for i in 0..MIN_DISCOVERED_ROWS + 5 {
            big.push_str(&format!(
                "{},h{},{}.5\n",
                1_700_000_000 + i * 60,
                i % 3,
                i % 97
            ));
        }
        write(&d.path().join("metrics/m.csv"), &big);
        write(&d.path().join("tiny.csv"), "a,b\n1,2\n3,4\n");
        let loaded = load_tables_with(d.path(), None, (2, 7));
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let names: Vec<&str> = loaded.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["metrics/m", DEMO_TABLE]);
        assert_eq!(loaded.tables[0].rows, MIN_DISCOVERED_ROWS + 5);
        // The demo's 2 hosts × 7 hours of points every 10 s, late rows included, in one
        // partition a day, read back in the table's order (host, then time).
        let demo = &loaded.tables[1];
        assert_eq!((demo.rows, demo.ingested.rows), (2 * 7 * 360, 2 * 7 * 360));
        assert_eq!(demo.sort_key, ["host", "ts"]);
        assert_eq!(demo.ingested.time_column.as_deref(), Some("ts"));
        let host = demo.batches[0].column(1).as_string::<i32>();
        assert_eq!((host.value(0), host.value(2519)), ("host-00", "host-00"));
        assert_eq!(host.value(2520), "host-01");
        assert!(
            loaded.notices.iter().any(|n| n.starts_with("tiny: 2 rows")),
            "{:?}",
            loaded.notices
        );
    }
}

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
pub fn load_tables(data_dir: &Path, max_rows: Option<usize>) -> LoadedTables {
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
        match load(spec, &path, max_rows) {
            Ok(t) => out.tables.push(t),
            Err(e) => out.errors.push(format!("{}: {e}", spec.name)),
        }
    }
    out
}

/// Ingests and reads back the one table called `name` (as in the table above); `Ok(None)`
/// when its file is absent or no table has that name.
pub fn load_table(data_dir: &Path, name: &str, max_rows: Option<usize>) -> Result<Option<Table>> {
    let Some(spec) = SPECS.iter().find(|s| s.name == name) else {
        return Ok(None);
    };
    let path = data_dir.join(spec.path);
    if !path.exists() {
        return Ok(None);
    }
    load(spec, &path, max_rows).map(Some)
}

fn load(spec: &Spec, path: &Path, max_rows: Option<usize>) -> Result<Table> {
    let files = (spec.files)(path)?;
    let dir = tempfile::tempdir().map_err(|e| BenchError::io(&std::env::temp_dir(), e))?;
    let table_dir = dir.path().join("table");
    let failed = |e: anyhow::Error| BenchError::data(path, format!("ingest: {e:#}"));
    let started = Instant::now();
    let args = strata_cli::ingest::IngestArgs::defaults(&table_dir, &files).map_err(failed)?;
    let report = strata_cli::ingest::ingest(&args).map_err(failed)?;
    let seconds = started.elapsed().as_secs_f64();
    let opened = strata::Table::open_read_only(&table_dir, strata::TableOptions::default());
    let (table, _) = opened.map_err(|e| BenchError::data(&table_dir, e.to_string()))?;
    let state = table.state();
    let strata_schema = table.schema();
    let ingested = Ingested {
        rows: report.rows,
        input_bytes: report.bytes_in,
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
        .map_err(|e| BenchError::data(&table_dir, e.to_string()))?;
    let schema = Arc::new(normal_schema(
        &strata_schema.to_arrow(strata::SymbolAs::Utf8),
    ));
    let mut read = Vec::new();
    for b in scan {
        let b = b.map_err(|e| BenchError::data(&table_dir, e.to_string()))?;
        read.push(normalise(&schema, &b)?);
    }
    table
        .close()
        .map_err(|e| BenchError::data(&table_dir, e.to_string()))?;
    let mut all = arrow_select::concat::concat_batches(&schema, &read)?;
    drop(read);
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
        name: spec.name.to_string(),
        schema,
        sort_key: strata_schema.sort_key.clone(),
        strata_schema,
        batches,
        rows,
        strings,
        ingested,
    })
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
        let spec = Spec {
            name: "t",
            path: "t.csv",
            files: one_file,
        };
        let t = load(&spec, &csv, None).unwrap();
        assert_eq!(t.rows, 3);
        assert!(t.is_whole());
        assert!(t.sort_key.is_empty());
        assert_eq!(t.ingested.time_column, None);
        let host = t.batches[0].column(0).as_string::<i32>();
        assert_eq!(
            (host.value(0), host.value(1), host.value(2)),
            ("b", "a", "b")
        );
        let capped = load(&spec, &csv, Some(2)).unwrap();
        assert_eq!(capped.rows, 2);
        assert!(!capped.is_whole());
    }
}

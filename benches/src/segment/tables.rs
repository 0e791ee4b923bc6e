//! Whole tables of the shared data sets as Arrow record batches, loaded once and sorted once.
//!
//! What each table holds and how it is read:
//!
//! | table | source | sort key | Strata profile |
//! |---|---|---|---|
//! | `bts-flights-3m` | Parquet, read with the parquet crate | `date` | time series |
//! | `nycflights13/flights` | CSV | none | general |
//! | `nycflights13/weather` | CSV | `origin`, `time_hour` | time series |
//! | `beijing` | 12 CSVs, concatenated in file-name order | `time`, `station` | time series |
//! | `geonames-us-zipcodes` | CSV | none | general |
//! | `nyc-green-taxi-2022-01` | Parquet | `lpep_pickup_datetime` | time series |
//!
//! CSVs go through arrow-csv with schema inference over every record, `NA` (and the empty field)
//! as null; arrow-csv handles the quotes and CRLF line endings. Deliberate changes to what
//! inference gives:
//!
//! * nycflights13 `time_hour` (`2013-01-01T10:00:00Z`) is inferred as `Timestamp(s)`; the `Z` is
//!   honoured, so the values are UTC seconds. It stays in that form.
//! * Beijing `year`, `month`, `day`, `hour` are replaced by one `time` column,
//!   `Timestamp(s)`, of the local (UTC+8) wall-clock time; `No` stays. When the files disagree on a
//!   column's inferred type (an all-integer float column in one station's file), it is read as
//!   `Float64` everywhere.
//! * Geonames `zip_code` is read as `Utf8` (inference would make it an integer and lose the
//!   leading zeros).
//!
//! Parquet tables are read whole; `LargeUtf8`, `Utf8View` and dictionary-of-string columns are cast
//! to `Utf8` and schema metadata (pandas, Arrow) is dropped, so both writers get plain Arrow.
//!
//! **Symbol rule.** A string column becomes a Strata [`DataType::Symbol`] when its distinct
//! non-null values number at most 1/8 of the rows **and** at most [`SYMBOL_MAX_DISTINCT`]
//! (the memtable's symbol cardinality limit). With "or" instead of "and", every string column of a
//! table under 524,288 rows would qualify, including unique ones such as geonames `zip_code`.
//!
//! **Sorting.** Each table is sorted once by its key (Arrow lexsort, nulls first, stable for equal
//! keys) and cut into batches of [`BATCH_ROWS`]; Strata and Parquet are given the same batches,
//! so sorting is not part of either write.
//!
//! [`DataType::Symbol`]: strata_format::DataType::Symbol

use std::collections::HashSet;
use std::fs::File;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef, RecordBatch, TimestampSecondArray};
use arrow_csv::reader::Format;
use arrow_ord::sort::{SortColumn, lexsort_to_indices};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::Serialize;

use crate::data::{BEIJING_DIR, FLIGHTS_FILE, days_from_civil, read_text};
use crate::{BenchError, Result};

/// Rows per batch handed to both writers (a multiple of Strata's 1024-row blocks).
pub const BATCH_ROWS: usize = 65_536;

/// Most distinct values of a Symbol column (the memtable's symbol cardinality limit).
pub const SYMBOL_MAX_DISTINCT: usize = 65_536;

/// A string column is a Symbol when `distinct * SYMBOL_ROWS_PER_DISTINCT <= rows` (and
/// `distinct <= SYMBOL_MAX_DISTINCT`).
pub const SYMBOL_ROWS_PER_DISTINCT: usize = 8;

/// nycflights13 flights, relative to the data directory.
pub const NYCFLIGHTS_FLIGHTS_FILE: &str = "nycflights13/flights.csv.gz";
/// nycflights13 weather, relative to the data directory.
pub const NYCFLIGHTS_WEATHER_FILE: &str = "nycflights13/weather.csv.gz";
/// Geonames US zip codes, relative to the data directory.
pub const GEONAMES_FILE: &str = "geonames-us-zipcodes/zipcodes.csv.gz";
/// NYC green taxi trips, relative to the data directory.
pub const TAXI_FILE: &str = "nyc-green-taxi-2022-01/green_tripdata_2022-01.parquet";

/// How one string column is stored by Strata, and why.
#[derive(Debug, Clone, Serialize)]
pub struct StringColumn {
    /// Column name.
    pub name: String,
    /// Distinct non-null values.
    pub distinct: usize,
    /// Whether it is written as a Strata Symbol.
    pub symbol: bool,
}

/// A whole table, sorted, ready for both writers.
#[derive(Debug, Clone)]
pub struct Table {
    /// Table name, e.g. `nycflights13/weather`.
    pub name: String,
    /// Its Arrow schema (no metadata).
    pub schema: SchemaRef,
    /// The rows, sorted by [`Self::sort_key`], in batches of [`BATCH_ROWS`].
    pub batches: Vec<RecordBatch>,
    /// Total rows.
    pub rows: usize,
    /// Sort-key columns (empty: file order kept).
    pub sort_key: Vec<String>,
    /// Whether Strata uses its time-series codec profile.
    pub time_series: bool,
    /// Every string column with its distinct count and Symbol decision.
    pub strings: Vec<StringColumn>,
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
    sort_key: &'static [&'static str],
    time_series: bool,
    load: fn(&Path) -> Result<Vec<RecordBatch>>,
}

const SPECS: &[Spec] = &[
    Spec {
        name: "bts-flights-3m",
        path: FLIGHTS_FILE,
        sort_key: &["date"],
        time_series: true,
        load: read_parquet_file,
    },
    Spec {
        name: "nycflights13/flights",
        path: NYCFLIGHTS_FLIGHTS_FILE,
        sort_key: &[],
        time_series: false,
        load: |p| read_csv_file(p, &[]),
    },
    Spec {
        name: "nycflights13/weather",
        path: NYCFLIGHTS_WEATHER_FILE,
        sort_key: &["origin", "time_hour"],
        time_series: true,
        load: |p| read_csv_file(p, &[]),
    },
    Spec {
        name: "beijing",
        path: BEIJING_DIR,
        sort_key: &["time", "station"],
        time_series: true,
        load: read_beijing,
    },
    Spec {
        name: "geonames-us-zipcodes",
        path: GEONAMES_FILE,
        sort_key: &[],
        time_series: false,
        load: |p| read_csv_file(p, &["zip_code"]),
    },
    Spec {
        name: "nyc-green-taxi-2022-01",
        path: TAXI_FILE,
        sort_key: &["lpep_pickup_datetime"],
        time_series: true,
        load: read_parquet_file,
    },
];

/// Loads, normalises and sorts every table found under `data_dir`; at most `max_rows` rows of
/// each (the first ones in file order) when given.
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
        eprintln!("segment: loading {}", spec.name);
        match (spec.load)(&path).and_then(|b| prepare(spec, &path, b, max_rows)) {
            Ok(t) => out.tables.push(t),
            Err(e) => out.errors.push(format!("{}: {e}", spec.name)),
        }
    }
    out
}

/// Loads, normalises and sorts the one table called `name` (as in the table above); `Ok(None)`
/// when its file is absent or no table has that name.
pub fn load_table(data_dir: &Path, name: &str, max_rows: Option<usize>) -> Result<Option<Table>> {
    let Some(spec) = SPECS.iter().find(|s| s.name == name) else {
        return Ok(None);
    };
    let path = data_dir.join(spec.path);
    if !path.exists() {
        return Ok(None);
    }
    let batches = (spec.load)(&path)?;
    prepare(spec, &path, batches, max_rows).map(Some)
}

fn prepare(
    spec: &Spec,
    path: &Path,
    batches: Vec<RecordBatch>,
    max_rows: Option<usize>,
) -> Result<Table> {
    let schema = batches
        .first()
        .map(RecordBatch::schema)
        .ok_or_else(|| BenchError::data(path, "no rows"))?;
    let mut all = arrow_select::concat::concat_batches(&schema, &batches)?;
    drop(batches);
    if let Some(max) = max_rows
        && all.num_rows() > max
    {
        all = all.slice(0, max);
    }
    let all = normalise(&all)?;
    let sorted = sort_by(&all, spec.sort_key, path)?;
    let rows = sorted.num_rows();
    let strings = sorted
        .schema()
        .fields()
        .iter()
        .zip(sorted.columns())
        .filter(|(f, _)| f.data_type() == &DataType::Utf8)
        .map(|(f, c)| {
            let distinct = distinct_strings(c);
            StringColumn {
                name: f.name().clone(),
                distinct,
                symbol: is_symbol(distinct, rows),
            }
        })
        .collect();
    let batches = (0..rows)
        .step_by(BATCH_ROWS)
        .map(|start| sorted.slice(start, BATCH_ROWS.min(rows - start)))
        .collect();
    Ok(Table {
        name: spec.name.to_string(),
        schema: sorted.schema(),
        batches,
        rows,
        sort_key: spec.sort_key.iter().map(|s| s.to_string()).collect(),
        time_series: spec.time_series,
        strings,
    })
}

/// The Symbol rule (see the module doc).
pub fn is_symbol(distinct: usize, rows: usize) -> bool {
    distinct <= SYMBOL_MAX_DISTINCT && distinct.saturating_mul(SYMBOL_ROWS_PER_DISTINCT) <= rows
}

fn distinct_strings(a: &ArrayRef) -> usize {
    a.as_string_opt::<i32>()
        .map_or(0, |s| s.iter().flatten().collect::<HashSet<&str>>().len())
}

/// Casts string-like columns to `Utf8` and drops all schema and field metadata.
fn normalise(batch: &RecordBatch) -> Result<RecordBatch> {
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        let stringy = match f.data_type() {
            DataType::LargeUtf8 | DataType::Utf8View => true,
            DataType::Dictionary(_, v) => {
                matches!(
                    **v,
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                )
            }
            _ => false,
        };
        let c = if stringy {
            arrow_cast::cast(c, &DataType::Utf8)?
        } else {
            c.clone()
        };
        fields.push(Field::new(f.name(), c.data_type().clone(), f.is_nullable()));
        columns.push(c);
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// Sorts `batch` by the named columns (ascending, nulls first); unchanged for an empty key.
fn sort_by(batch: &RecordBatch, key: &[&str], path: &Path) -> Result<RecordBatch> {
    if key.is_empty() {
        return Ok(batch.clone());
    }
    let sort_columns = key
        .iter()
        .map(|k| {
            batch
                .column_by_name(k)
                .map(|values| SortColumn {
                    values: values.clone(),
                    options: None,
                })
                .ok_or_else(|| BenchError::data(path, format!("no sort-key column {k:?}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let indices = lexsort_to_indices(&sort_columns, None)?;
    let columns = batch
        .columns()
        .iter()
        .map(|c| arrow_select::take::take(c.as_ref(), &indices, None))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

fn read_parquet_file(path: &Path) -> Result<Vec<RecordBatch>> {
    let file = File::open(path).map_err(|e| BenchError::io(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)?
        .with_batch_size(BATCH_ROWS)
        .build()?;
    Ok(reader.collect::<std::result::Result<Vec<_>, _>>()?)
}

fn csv_format() -> Result<Format> {
    let na =
        regex::Regex::new("^(NA)?$").map_err(|e| BenchError::Usage(format!("null regex: {e}")))?;
    Ok(Format::default().with_header(true).with_null_regex(na))
}

/// The schema arrow-csv infers from every record of `text`, with `as_string` columns forced to
/// `Utf8`.
fn infer_csv_schema(path: &Path, text: &str, as_string: &[&str]) -> Result<Schema> {
    let (schema, _) = csv_format()?.infer_schema(Cursor::new(text.as_bytes()), None)?;
    for name in as_string {
        if schema.field_with_name(name).is_err() {
            return Err(BenchError::data(path, format!("no column {name:?}")));
        }
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let t = if as_string.contains(&f.name().as_str()) {
                DataType::Utf8
            } else {
                f.data_type().clone()
            };
            Field::new(f.name(), t, true)
        })
        .collect();
    Ok(Schema::new(fields))
}

fn parse_csv(path: &Path, text: &str, schema: SchemaRef) -> Result<Vec<RecordBatch>> {
    let reader = arrow_csv::ReaderBuilder::new(schema)
        .with_format(csv_format()?)
        .with_batch_size(BATCH_ROWS)
        .build(Cursor::new(text.as_bytes()))?;
    reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| BenchError::data(path, e.to_string()))
}

fn read_csv_file(path: &Path, as_string: &[&str]) -> Result<Vec<RecordBatch>> {
    let text = read_text(path)?;
    let schema = infer_csv_schema(path, &text, as_string)?;
    parse_csv(path, &text, Arc::new(schema))
}

/// Every station's file, with the four date-part columns replaced by one `time` column.
fn read_beijing(dir: &Path) -> Result<Vec<RecordBatch>> {
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
    let mut texts = Vec::with_capacity(files.len());
    let mut merged: Option<Schema> = None;
    for f in &files {
        let text = read_text(f)?;
        let schema = infer_csv_schema(f, &text, &[])?;
        merged = Some(match merged {
            None => schema,
            Some(m) => merge_inferred(f, &m, &schema)?,
        });
        texts.push((f, text));
    }
    let schema = Arc::new(merged.ok_or_else(|| BenchError::data(dir, "no files"))?);
    let mut out = Vec::new();
    for (f, text) in texts {
        for b in parse_csv(f, &text, schema.clone())? {
            out.push(beijing_time_column(f, &b)?);
        }
    }
    Ok(out)
}

/// Per-column merge of two inferred schemas: equal types stay, `Int64` with `Float64` becomes
/// `Float64`, anything else is an error.
fn merge_inferred(path: &Path, a: &Schema, b: &Schema) -> Result<Schema> {
    if a.fields().len() != b.fields().len() {
        return Err(BenchError::data(
            path,
            "column count differs from the other files",
        ));
    }
    let fields = a
        .fields()
        .iter()
        .zip(b.fields())
        .map(|(x, y)| {
            if x.name() != y.name() {
                return Err(BenchError::data(
                    path,
                    format!("column {:?} where {:?} was expected", y.name(), x.name()),
                ));
            }
            let t = match (x.data_type(), y.data_type()) {
                (s, t) if s == t => s.clone(),
                (DataType::Int64, DataType::Float64) | (DataType::Float64, DataType::Int64) => {
                    DataType::Float64
                }
                (s, t) => {
                    return Err(BenchError::data(
                        path,
                        format!("column {:?} is {t} here and {s} elsewhere", x.name()),
                    ));
                }
            };
            Ok(Field::new(x.name(), t, true))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Schema::new(fields))
}

/// Replaces `year`, `month`, `day`, `hour` with `time` (first column): seconds since 1970 of
/// the local wall-clock time.
fn beijing_time_column(path: &Path, b: &RecordBatch) -> Result<RecordBatch> {
    let parts = ["year", "month", "day", "hour"];
    let cols = parts
        .iter()
        .map(|p| {
            b.column_by_name(p)
                .and_then(|c| c.as_primitive_opt::<Int64Type>())
                .filter(|c| c.null_count() == 0)
                .ok_or_else(|| BenchError::data(path, format!("{p} is not a non-null integer")))
        })
        .collect::<Result<Vec<_>>>()?;
    let [y, m, d, h] = cols.as_slice() else {
        return Err(BenchError::data(path, "date parts"));
    };
    let time: TimestampSecondArray = (0..b.num_rows())
        .map(|i| {
            Some(days_from_civil(y.value(i), m.value(i), d.value(i)) * 86_400 + h.value(i) * 3_600)
        })
        .collect();
    let mut fields = vec![Field::new(
        "time",
        DataType::Timestamp(TimeUnit::Second, None),
        false,
    )];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(time)];
    for (f, c) in b.schema().fields().iter().zip(b.columns()) {
        if !parts.contains(&f.name().as_str()) {
            fields.push(f.as_ref().clone());
            columns.push(c.clone());
        }
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbol_rule_needs_both_bounds() {
        assert!(is_symbol(3, 26_115));
        assert!(is_symbol(4_043, 336_776));
        // geonames city: 18,931 distinct of 42,049 rows is more than 1/8.
        assert!(!is_symbol(18_931, 42_049));
        // Under 1/8 of rows but above the cardinality limit.
        assert!(!is_symbol(70_000, 3_000_000));
        assert!(is_symbol(0, 0));
    }

    #[test]
    fn merge_inferred_widens_int_to_float_only() {
        let a = Schema::new(vec![Field::new("x", DataType::Int64, true)]);
        let b = Schema::new(vec![Field::new("x", DataType::Float64, true)]);
        let c = Schema::new(vec![Field::new("x", DataType::Utf8, true)]);
        let m = merge_inferred(Path::new("f"), &a, &b).unwrap();
        assert_eq!(m.field(0).data_type(), &DataType::Float64);
        assert!(merge_inferred(Path::new("f"), &a, &c).is_err());
    }

    #[test]
    fn csv_reads_na_as_null_and_keeps_forced_strings() {
        let text = "\"zip\",\"v\",\"s\"\r\n\"00501\",NA,\"a\"\r\n\"01002\",2.5,NA\r\n";
        let schema = infer_csv_schema(Path::new("t"), text, &["zip"]).unwrap();
        let b = parse_csv(Path::new("t"), text, Arc::new(schema)).unwrap();
        let b = &b[0];
        let zip = b.column(0).as_string::<i32>();
        assert_eq!(zip.value(0), "00501");
        assert_eq!(b.column(1).data_type(), &DataType::Float64);
        assert!(b.column(1).is_null(0));
        assert!(b.column(2).is_null(1));
    }
}

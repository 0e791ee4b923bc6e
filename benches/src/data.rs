//! Loaders for the shared data sets (layout as in `shared/data/README.md`).
//!
//! Each loader takes the data directory and returns the columns it found as [`Input`]s. A file
//! or folder that is absent becomes a notice; a file that is present but unreadable becomes an
//! error line; neither stops the other inputs from loading.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::{BenchError, Result};

/// Folder of one-f64-per-line series (gzipped).
pub const FLOAT_SERIES_DIR: &str = "float-series";
/// The 3-million-row flights Parquet file, relative to the data directory.
pub const FLIGHTS_FILE: &str = "bts-flights-3m/flights-3m.parquet";
/// Folder of the Beijing air-quality CSVs (one per station, gzipped, CRLF).
pub const BEIJING_DIR: &str = "beijing-multisite-air-quality";

/// Float columns of the Beijing files, read as f64 with NaN for `NA`.
pub const BEIJING_FLOAT_COLUMNS: &[&str] = &[
    "PM2.5", "PM10", "SO2", "NO2", "CO", "O3", "TEMP", "PRES", "DEWP", "RAIN", "WSPM",
];
/// Integer columns of the Beijing files.
pub const BEIJING_INT_COLUMNS: &[&str] = &["No", "year", "month", "day", "hour"];

/// The values of one input column.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Doubles (NaN where the source had a null).
    F64(Vec<f64>),
    /// Signed integers (also timestamps).
    I64(Vec<i64>),
}

impl Values {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Values::F64(v) => v.len(),
            Values::I64(v) => v.len(),
        }
    }

    /// True when there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps at most the first `n` values.
    pub fn truncate(&mut self, n: usize) {
        match self {
            Values::F64(v) => v.truncate(n),
            Values::I64(v) => v.truncate(n),
        }
    }
}

/// What a column is, which decides the Strata profile and the targets that apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputKind {
    /// A file of `float-series/`.
    FloatSeries,
    /// Any other float column.
    Float,
    /// An integer column.
    Integer,
    /// A timestamp column (sorted or piecewise sorted).
    Timestamp,
}

/// One benchmark input: a named column.
#[derive(Debug, Clone)]
pub struct Input {
    /// `dataset/column`, e.g. `float-series/Air-pressure` or `bts-flights-3m/date`.
    pub name: String,
    /// What the column is.
    pub kind: InputKind,
    /// Its values.
    pub values: Values,
}

/// What a loader found.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Columns read.
    pub inputs: Vec<Input>,
    /// Files or folders that were absent and so skipped.
    pub notices: Vec<String>,
    /// Files that were present but could not be read.
    pub errors: Vec<String>,
}

impl Loaded {
    fn extend(&mut self, other: Loaded) {
        self.inputs.extend(other.inputs);
        self.notices.extend(other.notices);
        self.errors.extend(other.errors);
    }
}

/// Loads every input the codec suite uses: float series, flights, Beijing.
pub fn codec_inputs(data_dir: &Path) -> Loaded {
    let mut all = Loaded::default();
    all.extend(float_series(data_dir));
    all.extend(flights(data_dir));
    all.extend(beijing(data_dir));
    all
}

/// Reads a whole file, gunzipping it when its name ends in `.gz`.
pub fn read_text(path: &Path) -> Result<String> {
    let file = File::open(path).map_err(|e| BenchError::io(path, e))?;
    let mut text = String::new();
    let is_gz = path.extension().is_some_and(|e| e == "gz");
    let read = if is_gz {
        flate2::read::MultiGzDecoder::new(file).read_to_string(&mut text)
    } else {
        std::io::BufReader::new(file).read_to_string(&mut text)
    };
    read.map_err(|e| BenchError::io(path, e))?;
    Ok(text)
}

/// Files in `dir` whose names satisfy `keep`, sorted by name.
fn list_files(dir: &Path, keep: impl Fn(&str) -> bool) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| BenchError::io(dir, e))? {
        let entry = entry.map_err(|e| BenchError::io(dir, e))?;
        let path = entry.path();
        let name_ok = path.file_name().and_then(|n| n.to_str()).is_some_and(&keep);
        if name_ok && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The file name without `.csv.gz`, `.gz` or `.csv`.
fn stem(path: &Path) -> String {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
    let name = name.strip_suffix(".gz").unwrap_or(name);
    name.strip_suffix(".csv").unwrap_or(name).to_string()
}

/// Every file of `float-series/`: one f64 per line.
pub fn float_series(data_dir: &Path) -> Loaded {
    let mut out = Loaded::default();
    let dir = data_dir.join(FLOAT_SERIES_DIR);
    if !dir.is_dir() {
        out.notices
            .push(format!("{} not found, float series skipped", dir.display()));
        return out;
    }
    let files = match list_files(&dir, |n| n.ends_with(".csv.gz") || n.ends_with(".csv")) {
        Ok(f) => f,
        Err(e) => {
            out.errors.push(e.to_string());
            return out;
        }
    };
    if files.is_empty() {
        out.notices
            .push(format!("{} holds no .csv(.gz) files", dir.display()));
    }
    for path in files {
        match read_text(&path).and_then(|t| parse_f64_lines(&path, &t)) {
            Ok(series) => {
                let name = format!("{FLOAT_SERIES_DIR}/{}", stem(&path));
                if series.skipped_empty > 0 {
                    out.notices.push(format!(
                        "{name}: {} empty (\"\") lines skipped, {} values kept",
                        series.skipped_empty,
                        series.values.len()
                    ));
                }
                out.inputs.push(Input {
                    name,
                    kind: InputKind::FloatSeries,
                    values: Values::F64(series.values),
                });
            }
            Err(e) => out.errors.push(e.to_string()),
        }
    }
    out
}

/// A parsed one-value-per-line series.
#[derive(Debug, Clone, PartialEq)]
pub struct FloatSeries {
    /// The numbers, in file order.
    pub values: Vec<f64>,
    /// Lines holding an empty value (`""`), which some of the upstream files have for missing
    /// readings; they are left out rather than invented.
    pub skipped_empty: usize,
}

/// Parses one f64 per line. Blank lines are ignored; empty values (`""`) are skipped and
/// counted; a first line that is not a number (a header) is ignored; any other text is an error.
pub fn parse_f64_lines(path: &Path, text: &str) -> Result<FloatSeries> {
    let mut values = Vec::new();
    let mut skipped_empty = 0;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line == "\"\"" {
            skipped_empty += 1;
            continue;
        }
        match line.parse::<f64>() {
            Ok(v) => values.push(v),
            Err(_) if i == 0 => {}
            Err(_) => {
                return Err(BenchError::data(
                    path,
                    format!("line {}: {line:?} is not a number", i + 1),
                ));
            }
        }
    }
    Ok(FloatSeries {
        values,
        skipped_empty,
    })
}

/// The `date`, `delay` and `distance` columns of the flights Parquet file.
pub fn flights(data_dir: &Path) -> Loaded {
    let mut out = Loaded::default();
    let path = data_dir.join(FLIGHTS_FILE);
    if !path.is_file() {
        out.notices
            .push(format!("{} not found, flights skipped", path.display()));
        return out;
    }
    match read_flights(&path) {
        Ok(inputs) => out.inputs = inputs,
        Err(e) => out.errors.push(format!("{}: {e}", path.display())),
    }
    out
}

fn read_flights(path: &Path) -> Result<Vec<Input>> {
    let file = File::open(path).map_err(|e| BenchError::io(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
    let wanted = ["date", "delay", "distance"];
    let mask = ProjectionMask::columns(builder.parquet_schema(), wanted);
    let reader = builder.with_projection(mask).build()?;
    let mut cols: [Vec<i64>; 3] = Default::default();
    for batch in reader {
        let batch = batch?;
        for (col, name) in cols.iter_mut().zip(wanted) {
            let array = batch
                .column_by_name(name)
                .ok_or_else(|| BenchError::data(path, format!("no column {name}")))?;
            append_i64(path, name, array, col)?;
        }
    }
    let [date, delay, distance] = cols;
    Ok(vec![
        Input {
            name: "bts-flights-3m/date".into(),
            kind: InputKind::Timestamp,
            values: Values::I64(date),
        },
        Input {
            name: "bts-flights-3m/delay".into(),
            kind: InputKind::Integer,
            values: Values::I64(delay),
        },
        Input {
            name: "bts-flights-3m/distance".into(),
            kind: InputKind::Integer,
            values: Values::I64(distance),
        },
    ])
}

/// Appends an Int64 or Timestamp(µs) column without nulls to `out`.
fn append_i64(path: &Path, name: &str, array: &ArrayRef, out: &mut Vec<i64>) -> Result<()> {
    if array.null_count() > 0 {
        return Err(BenchError::data(path, format!("column {name} has nulls")));
    }
    if let Some(a) = array.as_primitive_opt::<Int64Type>() {
        out.extend_from_slice(a.values());
    } else if let Some(a) = array.as_primitive_opt::<TimestampMicrosecondType>() {
        out.extend_from_slice(a.values());
    } else {
        return Err(BenchError::data(
            path,
            format!(
                "column {name} is {}, expected Int64 or Timestamp(µs)",
                array.data_type()
            ),
        ));
    }
    Ok(())
}

/// Float, integer and timestamp columns of the Beijing files, each the concatenation of all
/// stations in file-name order.
pub fn beijing(data_dir: &Path) -> Loaded {
    let mut out = Loaded::default();
    let dir = data_dir.join(BEIJING_DIR);
    if !dir.is_dir() {
        out.notices
            .push(format!("{} not found, Beijing skipped", dir.display()));
        return out;
    }
    let files = match list_files(&dir, |n| {
        n.starts_with("PRSA_Data_") && (n.ends_with(".csv.gz") || n.ends_with(".csv"))
    }) {
        Ok(f) => f,
        Err(e) => {
            out.errors.push(e.to_string());
            return out;
        }
    };
    if files.is_empty() {
        out.notices.push(format!(
            "{} holds no PRSA_Data_*.csv(.gz) files",
            dir.display()
        ));
        return out;
    }
    let mut table = BeijingColumns::default();
    for path in &files {
        if let Err(e) = read_text(path).and_then(|t| table.append(path, &t)) {
            out.errors.push(e.to_string());
        }
    }
    if table.timestamp.is_empty() {
        return out;
    }
    let short = "beijing";
    out.inputs.push(Input {
        name: format!("{short}/timestamp"),
        kind: InputKind::Timestamp,
        values: Values::I64(table.timestamp),
    });
    for (name, values) in BEIJING_INT_COLUMNS.iter().zip(table.ints) {
        out.inputs.push(Input {
            name: format!("{short}/{name}"),
            kind: InputKind::Integer,
            values: Values::I64(values),
        });
    }
    for (name, values) in BEIJING_FLOAT_COLUMNS.iter().zip(table.floats) {
        out.inputs.push(Input {
            name: format!("{short}/{name}"),
            kind: InputKind::Float,
            values: Values::F64(values),
        });
    }
    out
}

/// The Beijing columns being accumulated across files.
#[derive(Debug)]
struct BeijingColumns {
    ints: Vec<Vec<i64>>,
    floats: Vec<Vec<f64>>,
    /// Seconds since 1970-01-01 00:00 of the local (UTC+8) wall-clock time.
    timestamp: Vec<i64>,
}

impl Default for BeijingColumns {
    fn default() -> Self {
        Self {
            ints: vec![Vec::new(); BEIJING_INT_COLUMNS.len()],
            floats: vec![Vec::new(); BEIJING_FLOAT_COLUMNS.len()],
            timestamp: Vec::new(),
        }
    }
}

impl BeijingColumns {
    /// Parses one whole file; on error nothing of it is kept.
    fn append(&mut self, path: &Path, text: &str) -> Result<()> {
        let mut lines = text.lines();
        let header = split_csv_line(lines.next().unwrap_or(""));
        let find = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| BenchError::data(path, format!("no column {name:?} in header")))
        };
        let int_idx = BEIJING_INT_COLUMNS
            .iter()
            .map(|c| find(c))
            .collect::<Result<Vec<_>>>()?;
        let float_idx = BEIJING_FLOAT_COLUMNS
            .iter()
            .map(|c| find(c))
            .collect::<Result<Vec<_>>>()?;
        let mut ints = vec![Vec::new(); int_idx.len()];
        let mut floats = vec![Vec::new(); float_idx.len()];
        for (i, line) in lines.enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let line_no = i + 2;
            let fields = split_csv_line(line);
            let field = |idx: usize| -> Result<&str> {
                fields.get(idx).map(String::as_str).ok_or_else(|| {
                    BenchError::data(
                        path,
                        format!("line {line_no}: only {} fields", fields.len()),
                    )
                })
            };
            for (col, &idx) in ints.iter_mut().zip(&int_idx) {
                let f = field(idx)?;
                let v = f.parse::<i64>().map_err(|_| {
                    BenchError::data(path, format!("line {line_no}: {f:?} is not an integer"))
                })?;
                col.push(v);
            }
            for (col, &idx) in floats.iter_mut().zip(&float_idx) {
                let f = field(idx)?;
                let v = if f == "NA" || f.is_empty() {
                    f64::NAN
                } else {
                    f.parse::<f64>().map_err(|_| {
                        BenchError::data(path, format!("line {line_no}: {f:?} is not a number"))
                    })?
                };
                col.push(v);
            }
        }
        // year, month, day, hour are ints 1..=4 in BEIJING_INT_COLUMNS.
        let (year, month, day, hour) = (&ints[1], &ints[2], &ints[3], &ints[4]);
        for (((&y, &m), &d), &h) in year.iter().zip(month).zip(day).zip(hour) {
            self.timestamp
                .push(days_from_civil(y, m, d) * 86_400 + h * 3_600);
        }
        for (acc, col) in self.ints.iter_mut().zip(ints) {
            acc.extend(col);
        }
        for (acc, col) in self.floats.iter_mut().zip(floats) {
            acc.extend(col);
        }
        Ok(())
    }
}

/// Splits one CSV line into fields: commas separate, double quotes enclose (and may contain
/// commas), `""` inside quotes is one quote, a trailing `\r` is dropped.
pub fn split_csv_line(line: &str) -> Vec<String> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, in_quotes) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => in_quotes = !in_quotes,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_csv_line_handles_quotes_crlf_and_na() {
        let fields = split_csv_line("1,2013,\"NNW\",NA,-0.7,\"a,b\",\"say \"\"hi\"\"\"\r");
        assert_eq!(
            fields,
            ["1", "2013", "NNW", "NA", "-0.7", "a,b", "say \"hi\""]
        );
    }

    #[test]
    fn split_csv_line_keeps_empty_fields() {
        assert_eq!(split_csv_line("a,,b,"), ["a", "", "b", ""]);
    }

    #[test]
    fn days_from_civil_matches_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2013, 3, 1), 15_765);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
    }

    #[test]
    fn parse_f64_lines_skips_header_and_blank_lines() {
        let s = parse_f64_lines(Path::new("x"), "value\n1.5\n\n\"\"\n-2\n").unwrap();
        assert_eq!(s.values, [1.5, -2.0]);
        assert_eq!(s.skipped_empty, 1);
    }

    #[test]
    fn parse_f64_lines_rejects_text_after_first_line() {
        let err = parse_f64_lines(Path::new("x"), "1\nabc\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn missing_data_dir_gives_notices_not_errors() {
        let loaded = codec_inputs(Path::new("/nonexistent/strata-bench-data"));
        assert!(loaded.inputs.is_empty());
        assert!(loaded.errors.is_empty());
        assert_eq!(loaded.notices.len(), 3);
    }
}

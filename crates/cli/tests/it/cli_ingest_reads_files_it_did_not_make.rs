//! `strata ingest` on files nobody wrote for it, through the real binary:
//!
//! * every CSV, JSON and Parquet file of the shared data (`$STRATA_DATA_DIR`, else
//!   `../shared/data` beside the workspace), ingested with no flags, must load as many rows
//!   as an independent read finds (arrow-csv, arrow-json, the parquet crate), or, for a file
//!   that read cannot decode or whose types Strata does not store, fail with a clean error;
//!   skipped with a notice when the data is absent, and files above a size cap are skipped
//!   with a notice (`STRATA_INGEST_TEST_MAX_MB`, default 16);
//! * the corpus of awkward CSV and JSON files in `tests/csv_corpus`, each checked against
//!   `MANIFEST.tsv` (rows, skipped rows, the printed schema, nulls, values, or the error).
//!
//! No input may make the binary panic (exit code 101) or hang (a deadline per ingest).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_schema::{DataType, Field, Schema};

/// Longest one ingest may take before it counts as a hang.
const DEADLINE: Duration = Duration::from_secs(300);

/// Runs `strata` with a deadline; `None` if it had to be killed.
fn strata(args: &[&std::ffi::OsStr]) -> Option<Output> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drain the pipes on threads so a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        out.read_to_end(&mut v).map(|_| v)
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        err.read_to_end(&mut v).map(|_| v)
    });
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > DEADLINE {
            child.kill().unwrap();
            child.wait().unwrap();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Some(Output {
        status,
        stdout: out.join().unwrap().unwrap(),
        stderr: err.join().unwrap().unwrap(),
    })
}

/// What one successful ingest printed.
#[derive(Debug, Default)]
struct Ingested {
    rows: usize,
    skipped: usize,
    /// `name:Type` per column, from the printed schema of the new table.
    types: Vec<String>,
}

fn parse_ingest_stdout(stdout: &str) -> Ingested {
    let mut r = Ingested::default();
    let mut in_schema = false;
    for line in stdout.lines() {
        if line.starts_with("new table ") {
            in_schema = true;
        } else if in_schema && let Some(col) = line.strip_prefix("  ") {
            let (name, ty) = col.rsplit_once(": ").unwrap();
            let ty = ty.split(" (").next().unwrap().trim_end_matches(" not null");
            r.types.push(format!("{name}:{ty}"));
        } else {
            in_schema = false;
        }
        if let Some(rest) = line.strip_prefix("ingested ") {
            r.rows = rest.split(' ').next().unwrap().parse().unwrap();
        }
        if let Some(rest) = line.strip_prefix("skipped ") {
            r.skipped = rest.split(' ').next().unwrap().parse().unwrap();
        }
    }
    r
}

/// The rows of a table as CSV (header first).
fn scan_csv(table: &Path) -> Vec<csv::StringRecord> {
    let o = strata(&[
        "scan".as_ref(),
        table.as_os_str(),
        "--format".as_ref(),
        "csv".as_ref(),
    ])
    .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(o.stdout.as_slice())
        .records()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn ingest_awkward_corpus_files_match_their_manifest() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/csv_corpus");
    let manifest = std::fs::read_to_string(corpus.join("MANIFEST.tsv")).unwrap();
    let mut failures = Vec::new();
    let mut cases = 0;
    for line in manifest
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        cases += 1;
        let mut cols = line.split('\t');
        let (file, flags, expect) = (
            cols.next().unwrap(),
            cols.next().unwrap(),
            cols.next().unwrap(),
        );
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("t");
        let path = corpus.join(file);
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "ingest".as_ref(),
            table.as_os_str(),
            path.as_os_str(),
            "--quiet".as_ref(),
        ];
        if flags != "-" {
            args.extend(flags.split(' ').map(std::ffi::OsStr::new));
        }
        let case = format!("{file} [{flags}]");
        let Some(o) = strata(&args) else {
            failures.push(format!("{case}: no answer within {DEADLINE:?}"));
            continue;
        };
        let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        let mut fail = |what: String| failures.push(format!("{case}: {what}\n{stdout}{stderr}"));
        if let Some(text) = expect.strip_prefix("error=") {
            if o.status.code() != Some(1) || !stderr.contains(text) {
                fail(format!(
                    "expected exit code 1 and {text:?}, got {:?}",
                    o.status
                ));
            } else if table.exists() {
                fail("a failed ingest left a table behind".into());
            }
            continue;
        }
        if !o.status.success() {
            fail(format!("expected success, got {:?}", o.status));
            continue;
        }
        let got = parse_ingest_stdout(&stdout);
        let mut rows: Option<Vec<csv::StringRecord>> = None;
        for check in expect.split('|') {
            let (key, value) = check.split_once('=').unwrap();
            match key {
                "rows" if got.rows != value.parse::<usize>().unwrap() => {
                    fail(format!("rows: expected {value}, got {}", got.rows));
                }
                "skipped" if got.skipped != value.parse::<usize>().unwrap() => {
                    fail(format!("skipped: expected {value}, got {}", got.skipped));
                }
                "types" if got.types.join(",") != value => {
                    fail(format!(
                        "types: expected {value}, got {}",
                        got.types.join(",")
                    ));
                }
                "stderr" if !stderr.contains(value) => fail(format!("stderr lacks {value:?}")),
                "contains" | "nulls" => {
                    let rows = rows.get_or_insert_with(|| scan_csv(&table));
                    if key == "contains" {
                        if !rows
                            .iter()
                            .any(|r| r.iter().collect::<Vec<_>>().join(",").contains(value))
                        {
                            fail(format!("no scanned row holds {value:?}: {rows:?}"));
                        }
                        continue;
                    }
                    let header = rows.first().unwrap().clone();
                    for want in value.split(',') {
                        let (col, n) = want.split_once(':').unwrap();
                        let i = header.iter().position(|h| h == col).unwrap();
                        let nulls = rows.iter().skip(1).filter(|r| r.get(i) == Some("")).count();
                        if nulls != n.parse::<usize>().unwrap() {
                            fail(format!("nulls in {col}: expected {n}, got {nulls}"));
                        }
                    }
                }
                "rows" | "skipped" | "types" | "stderr" => {}
                other => panic!("unknown check {other:?} in MANIFEST.tsv"),
            }
        }
    }
    assert!(cases >= 30, "MANIFEST.tsv lists {cases} cases");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The shared data directory.
fn data_dir() -> PathBuf {
    match std::env::var_os("STRATA_DATA_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Csv,
    Json,
    Parquet,
}

fn kind(path: &Path) -> Option<Kind> {
    let name = path.file_name()?.to_str()?.to_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    if name.ends_with(".csv") || name.ends_with(".tsv") {
        Some(Kind::Csv)
    } else if name.ends_with(".json") || name.ends_with(".jsonl") || name.ends_with(".ndjson") {
        Some(Kind::Json)
    } else if name.ends_with(".parquet") {
        Some(Kind::Parquet)
    } else {
        None
    }
}

fn open(path: &Path) -> Box<dyn std::io::BufRead> {
    let f = File::open(path).unwrap();
    if path.extension().is_some_and(|e| e == "gz") {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(f)))
    } else {
        Box::new(BufReader::new(f))
    }
}

/// What an ingest of the file must do, by a read that does not go through Strata.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    Rows(usize),
    /// A clean error: the file cannot be read, or holds types Strata does not store.
    Refused(String),
}

/// Data rows by arrow-csv, every column read as text. The float series have no header (the
/// data README says so: one value per line); the rest have one.
fn csv_rows(path: &Path) -> Expect {
    let header = !path.to_string_lossy().contains("float-series");
    let delimiter = if path.to_string_lossy().contains(".tsv") {
        b'\t'
    } else {
        b','
    };
    let format = arrow_csv::reader::Format::default()
        .with_header(header)
        .with_delimiter(delimiter);
    let (schema, _) = format.infer_schema(open(path), Some(1)).unwrap();
    let text = Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), DataType::Utf8, true))
            .collect::<Vec<_>>(),
    );
    let reader = arrow_csv::ReaderBuilder::new(Arc::new(text))
        .with_format(format)
        .build(open(path))
        .unwrap();
    Expect::Rows(reader.map(|b| b.unwrap().num_rows()).sum())
}

fn json_rows(path: &Path) -> Expect {
    let (schema, _) = arrow_json::reader::infer_json_schema(open(path), None).unwrap();
    let reader = arrow_json::ReaderBuilder::new(Arc::new(schema))
        .build(open(path))
        .unwrap();
    Expect::Rows(reader.map(|b| b.unwrap().num_rows()).sum())
}

/// Rows by the parquet crate, when it decodes the whole file and Strata stores its types.
fn parquet_rows(path: &Path) -> Expect {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let read = std::panic::catch_unwind(|| {
        let b = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
            .map_err(|e| format!("parquet: {e}"))?;
        if let Err(e) = strata::Schema::from_arrow(b.schema()) {
            return Err(format!("type: {e}"));
        }
        let mut rows = 0;
        for batch in b.build().map_err(|e| format!("parquet: {e}"))? {
            rows += batch.map_err(|e| format!("parquet: {e}"))?.num_rows();
        }
        Ok(rows)
    });
    match read {
        Ok(Ok(rows)) => Expect::Rows(rows),
        Ok(Err(why)) => Expect::Refused(why),
        Err(_) => Expect::Refused("parquet: the reader panicked".into()),
    }
}

#[test]
fn ingest_shared_data_without_flags_loads_every_row() {
    let root = data_dir();
    if !root.join("README.md").is_file() {
        println!(
            "skipping: no shared data at {} (set STRATA_DATA_DIR)",
            root.display()
        );
        return;
    }
    let max_bytes = std::env::var("STRATA_INGEST_TEST_MAX_MB")
        .ok()
        .and_then(|m| m.parse::<u64>().ok())
        .unwrap_or(16)
        << 20;
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let started = Instant::now();
    let mut failures = Vec::new();
    let (mut loaded, mut refused, mut rows_total) = (0, 0, 0);
    for path in files {
        let Some(kind) = kind(&path) else { continue };
        let rel = path.strip_prefix(&root).unwrap().display().to_string();
        let bytes = std::fs::metadata(&path).unwrap().len();
        if bytes > max_bytes {
            println!("skipped  {rel}: {bytes} bytes is above STRATA_INGEST_TEST_MAX_MB");
            continue;
        }
        let expect = match kind {
            Kind::Csv => csv_rows(&path),
            Kind::Json => json_rows(&path),
            Kind::Parquet => parquet_rows(&path),
        };
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("t");
        let t = Instant::now();
        let o = strata(&[
            "ingest".as_ref(),
            table.as_os_str(),
            path.as_os_str(),
            "--quiet".as_ref(),
        ]);
        let secs = t.elapsed().as_secs_f64();
        let Some(o) = o else {
            failures.push(format!("{rel}: no answer within {DEADLINE:?}"));
            continue;
        };
        let stdout = String::from_utf8_lossy(&o.stdout);
        let stderr = String::from_utf8_lossy(&o.stderr);
        let error = stderr
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or("");
        match (&expect, o.status.code()) {
            (Expect::Rows(n), Some(0)) => {
                let got = parse_ingest_stdout(&stdout).rows;
                println!("{:>9} rows  {secs:6.2}s  {rel}", got);
                if got == *n {
                    loaded += 1;
                    rows_total += got;
                } else {
                    failures.push(format!("{rel}: {got} rows ingested, {n} in the file"));
                }
            }
            (Expect::Rows(n), code) => failures.push(format!(
                "{rel}: {n} rows expected, exit code {code:?}: {}",
                stderr.trim()
            )),
            (Expect::Refused(why), Some(1)) => {
                refused += 1;
                println!("  refused        {rel}: {why}\n                 {error}");
            }
            (Expect::Refused(why), code) => failures.push(format!(
                "{rel}: refused by the independent read ({why}), but the ingest gave exit code \
                 {code:?}: {}",
                stderr.trim()
            )),
        }
    }
    println!(
        "{loaded} files loaded ({rows_total} rows), {refused} refused cleanly, {} failed, in {:.1}s",
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

//! Runs the `strata` binary: help text, ingest of CSV (plain and gzip) with a malformed row,
//! scans in each format, delete, inspect, verify, compact, a locked table, output to a pipe
//! its reader closes early, the demo, and CSV as people write it ingested with no flags
//! (semicolons and `NA`, tabs, Latin-1, a column whose first decimal comes late, a string
//! column with two values), and a directory given as input.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn strata(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn write_csv(path: &Path, rows: &[String]) {
    let mut f = std::fs::File::create(path).unwrap();
    writeln!(f, "ts,host,cpu,requests").unwrap();
    for r in rows {
        writeln!(f, "{r}").unwrap();
    }
}

fn rows(first: usize, n: usize) -> Vec<String> {
    (first..first + n)
        .map(|i| {
            format!(
                "2026-01-0{}T{:02}:{:02}:00Z,host-{},{}.5,{}",
                1 + i / 1440 % 3,
                i / 60 % 24,
                i % 60,
                i % 4,
                i % 100,
                i
            )
        })
        .collect()
}

#[test]
fn help_text() {
    let o = strata(&["--help"]);
    assert!(o.status.success());
    insta::assert_snapshot!("help", stdout(&o));
    let o = strata(&["scan", "--help"]);
    assert!(o.status.success());
    insta::assert_snapshot!("scan_help", stdout(&o));
}

#[test]
fn ingest_scan_delete_inspect_verify() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("metrics");
    let table_s = table.to_str().unwrap();
    let csv = dir.path().join("a.csv");
    write_csv(&csv, &rows(0, 3000));
    let gz = dir.path().join("b.csv.gz");
    {
        let f = std::fs::File::create(&gz).unwrap();
        let mut enc = flate2::write::GzEncoder::new(f, flate2::Compression::default());
        writeln!(enc, "ts,host,cpu,requests").unwrap();
        for r in rows(3000, 1000) {
            writeln!(enc, "{r}").unwrap();
        }
        enc.finish().unwrap();
    }

    // A malformed row: the error names file and line, and nothing is committed.
    let bad = dir.path().join("bad.csv");
    let mut lines = rows(0, 10);
    lines[4] = "2026-01-01T00:04:00Z,host-0,not-a-number,4".into();
    write_csv(&bad, &lines);
    let o = strata(&[
        "ingest",
        table_s,
        "--quiet",
        "--time-column",
        "ts",
        csv.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("bad.csv:6"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        !table.join("data").exists(),
        "a failed ingest created the table"
    );

    // --skip-bad-rows keeps the good ones.
    let o = strata(&[
        "ingest",
        table_s,
        "--quiet",
        "--time-column",
        "ts",
        "--partition",
        "day",
        "--schema",
        "host:symbol",
        "--skip-bad-rows",
        csv.to_str().unwrap(),
        gz.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("ingested 4009 rows from 3 files"), "{out}");
    assert!(out.contains("skipped 1 bad rows"), "{out}");

    let o = strata(&[
        "scan",
        table_s,
        "--where",
        "cpu = 7.5",
        "--columns",
        "requests,host",
        "--format",
        "csv",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "requests,host");
    // cpu = i % 100 + 0.5 is 7.5 for 40 of the 4000 generated rows, plus one from bad.csv.
    assert_eq!(lines.len() - 1, 41, "{out}");
    assert!(lines[1..].iter().all(|l| {
        let (req, host) = l.split_once(',').unwrap();
        req.parse::<u64>().unwrap() % 100 == 7 && host.starts_with("host-")
    }));

    let o = strata(&[
        "scan", table_s, "--limit", "3", "--format", "json", "--stats",
    ]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 3);
    assert!(out.lines().all(|l| l.starts_with("{\"ts\":")), "{out}");
    assert!(stderr(&o).contains("blocks"), "{}", stderr(&o));

    let o = strata(&[
        "scan",
        table_s,
        "--limit",
        "2",
        "--columns",
        "host,requests",
    ]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(out.contains("host") && out.contains("(2 rows)"), "{out}");

    let o = strata(&["delete", table_s, "--where", "host = 'host-1'"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // host-1 is i % 4 == 1: 1000 generated rows plus 3 of bad.csv's good ones.
    assert!(
        stdout(&o).starts_with("deleted 1003 rows"),
        "{}",
        stdout(&o)
    );

    let o = strata(&["inspect", table_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("partitions       3"), "{out}");
    assert!(out.contains("deleted)"), "{out}");

    let o = strata(&["verify", table_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("ok: "));

    // Compaction drops the deleted rows and leaves one segment per partition, same content.
    let count = |o: &Output| stdout(o).lines().count();
    let before = strata(&["scan", table_s, "--format", "csv"]);
    let o = strata(&["compact", table_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("deleted rows 1003 -> 0"), "{out}");
    assert!(out.contains("segments") && out.contains("-> 3,"), "{out}");
    let after = strata(&["scan", table_s, "--format", "csv"]);
    assert_eq!(count(&before), count(&after));
    let mut b: Vec<String> = stdout(&before).lines().map(str::to_string).collect();
    let mut a: Vec<String> = stdout(&after).lines().map(str::to_string).collect();
    b.sort();
    a.sort();
    assert_eq!(a, b, "compaction changed the rows");
    let o = strata(&["verify", table_s]);
    assert!(o.status.success(), "{}", stderr(&o));

    // A segment file.
    let seg = walk(&table.join("data"))
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "strata"))
        .unwrap();
    let o = strata(&["inspect", seg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).lines().any(|l| l.starts_with("  requests ")),
        "{}",
        stdout(&o)
    );

    // A bad predicate is one line.
    let o = strata(&["scan", table_s, "--where", "requests >"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o).trim_end().lines().count(), 1, "{}", stderr(&o));
}

#[test]
fn locked_table_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("a.csv");
    write_csv(&csv, &rows(0, 10));
    let table = dir.path().join("t");
    let o = strata(&[
        "ingest",
        table.to_str().unwrap(),
        "--quiet",
        "--time-column",
        "ts",
        csv.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // A lock file naming a live process (this test) is not the lock: it locks nothing.
    std::fs::write(table.join("LOCK"), format!("{}\n", std::process::id())).unwrap();
    let o = strata(&["delete", table.to_str().unwrap(), "--where", "cpu < 0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // A live writer (this test, holding the OS lock on the directory) locks writers out...
    let held = std::fs::File::open(&table).unwrap();
    held.try_lock().unwrap();
    let o = strata(&["delete", table.to_str().unwrap(), "--where", "cpu < 0"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("locked"), "{}", stderr(&o));
    // ...but not readers, which take no lock.
    let o = strata(&["scan", table.to_str().unwrap(), "--format", "csv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 11);
    let o = strata(&["verify", table.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The kernel releases the lock with its holder.
    drop(held);
    let o = strata(&["delete", table.to_str().unwrap(), "--where", "cpu < 0"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Runs the binary with stdout a pipe that is closed after reading `take` bytes (at once when
/// 0), as `strata … | head` does.
fn strata_into_closed_pipe(args: &[&str], take: usize) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut first = vec![0u8; take];
    out.read_exact(&mut first).unwrap();
    drop(out);
    child.wait_with_output().unwrap()
}

#[test]
fn closed_stdout_pipe_ends_quietly_with_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("a.csv");
    write_csv(&csv, &rows(0, 10_000));
    let table = dir.path().join("t");
    let t = table.to_str().unwrap();
    let o = strata(&[
        "ingest",
        t,
        "--quiet",
        "--time-column",
        "ts",
        csv.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let quiet = |o: &Output, what: &str| {
        let err = stderr(o);
        assert_eq!(o.status.code(), Some(0), "{what}: {err}");
        assert!(!err.to_lowercase().contains("broken pipe"), "{what}: {err}");
        assert!(!err.contains("error"), "{what}: {err}");
    };

    // Every format prints far more than a pipe holds (about 40 bytes a row, a pipe buffers
    // 64 KiB), so the binary is still writing when the reader goes.
    for format in ["table", "csv", "json"] {
        let o = strata_into_closed_pipe(&["scan", t, "--format", format], 200);
        quiet(&o, format);
        assert!(stderr(&o).is_empty(), "{format}: {}", stderr(&o));
    }
    // --stats still reports on stderr, for the rows scanned before the reader went.
    let o = strata_into_closed_pipe(&["scan", t, "--format", "csv", "--stats"], 200);
    quiet(&o, "--stats");
    assert!(stderr(&o).contains("rows matched"), "{}", stderr(&o));

    // Readers gone before the first line.
    let o = strata_into_closed_pipe(&["scan", t], 0);
    quiet(&o, "scan");
    let o = strata_into_closed_pipe(&["inspect", t], 0);
    quiet(&o, "inspect");
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    let seg = walk(&table.join("data"))
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "strata"))
        .unwrap();
    let o = strata_into_closed_pipe(&["inspect", seg.to_str().unwrap()], 0);
    quiet(&o, "inspect segment");
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    let o = strata_into_closed_pipe(&["verify", t], 0);
    quiet(&o, "verify");
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));

    // The table is intact and unlocked afterwards.
    let o = strata(&["scan", t, "--format", "csv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 1 + 10_000);
}

#[test]
fn demo_is_deterministic() {
    let run = || {
        let o = strata(&["demo", "--seed", "7", "--hosts", "4", "--hours", "30"]);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    let counts = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.contains("rows") && !l.contains("bytes"))
            .map(|l| l.split("rows").next().unwrap().to_string())
            .collect()
    };
    let a = run();
    let b = run();
    // 4 hosts × 30 hours × 360 points, late rows included.
    assert!(a.contains("rows written        43200"), "{a}");
    assert_eq!(counts(&a), counts(&b));
    assert!(a.contains("blocks pruned"), "{a}");
}

/// Ingests `file` into a new table `dir/name` with no flags; returns the table's path and
/// the ingest's stderr.
#[test]
fn ingest_of_a_directory_reads_its_data_files_in_name_order() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("inputs");
    std::fs::create_dir_all(inputs.join("older")).unwrap();
    write_csv(&inputs.join("b.csv"), &rows(1000, 500));
    write_csv(&inputs.join("a.CSV"), &rows(0, 1000));
    {
        let f = std::fs::File::create(inputs.join("c.csv.gz")).unwrap();
        let mut enc = flate2::write::GzEncoder::new(f, flate2::Compression::default());
        writeln!(enc, "ts,host,cpu,requests").unwrap();
        for r in rows(1500, 250) {
            writeln!(enc, "{r}").unwrap();
        }
        enc.finish().unwrap();
    }
    // Not data: a note, a hidden file, a subdirectory's file.
    std::fs::write(inputs.join("README.md"), "# not a table\n").unwrap();
    write_csv(&inputs.join(".partial.csv"), &rows(0, 7));
    write_csv(&inputs.join("older").join("d.csv"), &rows(0, 9));
    let (table, _) = ingest_no_flags(dir.path(), "t", &inputs);
    let lines = scan_csv(&table, &[]);
    assert_eq!(lines.len(), 1 + 1750, "header and every row of a, b and c");
    let o = strata(&["verify", &table]);
    assert!(o.status.success(), "{}", stderr(&o));

    // A directory with nothing to read is an error naming it; nothing is created.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("notes.txt.bak"), "x").unwrap();
    let t2 = dir.path().join("t2");
    let o = strata(&["ingest", t2.to_str().unwrap(), empty.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains(empty.to_str().unwrap())
            && err.contains("no input files")
            && err.contains(".feather"),
        "{err}"
    );
    assert!(!t2.exists(), "no table is created for no input");
}

/// `--compression small` is the table's setting: `inspect` shows it, a later ingest without
/// the flag keeps it, another value replaces it; a value that is not a setting is a usage
/// error (exit 2) and creates nothing.
#[test]
fn ingest_compression_is_kept_by_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("a.csv");
    write_csv(&csv, &rows(0, 3000));
    let table = dir.path().join("t").to_str().unwrap().to_string();
    let csv_s = csv.to_str().unwrap();
    let compression = |table: &str| {
        let o = strata(&["inspect", table]);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("compression")
                    .map(|v| v.trim().to_string())
            })
            .unwrap()
    };
    let o = strata(&["ingest", &table, "--quiet", "--compression", "small", csv_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(compression(&table), "small");
    let o = strata(&["ingest", &table, "--quiet", csv_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(compression(&table), "small");
    let o = strata(&[
        "ingest",
        &table,
        "--quiet",
        "--compression",
        "balanced",
        csv_s,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(compression(&table), "balanced");
    let sorted = |mut rows: Vec<String>| {
        rows.sort();
        rows
    };
    let rows_before = sorted(scan_csv(&table, &[]));
    assert_eq!(rows_before.len(), 1 + 3 * 3000);
    let o = strata(&["verify", &table]);
    assert!(o.status.success(), "{}", stderr(&o));
    // `compact --compression` sets it and rewrites every segment: the same rows (the three
    // ingests' segments of a partition merged, so in another order).
    let o = strata(&["compact", &table, "--compression", "small"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Each rewritten partition is named as `inspect` and the directory name it.
    assert!(stdout(&o).contains("  partition part-"), "{}", stdout(&o));
    assert_eq!(compression(&table), "small");
    assert!(sorted(scan_csv(&table, &[])) == rows_before, "rows changed");
    let o = strata(&["verify", &table]);
    assert!(o.status.success(), "{}", stderr(&o));

    let other = dir.path().join("u");
    let o = strata(&[
        "ingest",
        other.to_str().unwrap(),
        "--compression",
        "tiny",
        csv_s,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("tiny"), "{}", stderr(&o));
    assert!(!other.exists());
}

fn ingest_no_flags(dir: &Path, name: &str, file: &Path) -> (String, String) {
    let table = dir.join(name).to_str().unwrap().to_string();
    let o = strata(&["ingest", &table, "--quiet", file.to_str().unwrap()]);
    assert!(o.status.success(), "{name}: {}", stderr(&o));
    (table, stderr(&o))
}

/// `column type` lines of `strata inspect`'s schema, e.g. "station Symbol".
fn column_types(table: &str) -> Vec<String> {
    let o = strata(&["inspect", table]);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
        .lines()
        .skip_while(|l| !l.starts_with("  schema "))
        .skip(1)
        .take_while(|l| l.starts_with("    "))
        .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
        .collect()
}

fn scan_csv(table: &str, args: &[&str]) -> Vec<String> {
    let mut all = vec!["scan", table, "--format", "csv"];
    all.extend_from_slice(args);
    let o = strata(&all);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o).lines().map(str::to_string).collect()
}

/// Minute `i` from 2026-01-01.
fn ts(i: usize) -> String {
    format!(
        "2026-01-{:02}T{:02}:{:02}:00Z",
        1 + i / 1440,
        i / 60 % 24,
        i % 60
    )
}

#[test]
fn ingest_semicolons_with_null_tokens_and_a_two_value_column_as_symbols() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("stations.csv");
    let mut text = String::from("ts;station;temp;rain\n");
    for i in 0..40 {
        let temp = match i % 10 {
            0 => "NA".to_string(),
            1 => "N/A".to_string(),
            2 => "null".to_string(),
            3 => String::new(),
            _ => format!("{i}.5"),
        };
        let station = if i % 2 == 0 { "north" } else { "south" };
        let rain = if i == 7 { "NULL" } else { "0" };
        text.push_str(&format!("{};{station};{temp};{rain}\n", ts(i)));
    }
    std::fs::write(&csv, text).unwrap();
    let (table, _) = ingest_no_flags(dir.path(), "t", &csv);
    assert_eq!(
        column_types(&table),
        [
            "ts Timestamp(ms)",
            "station Symbol",
            "temp Float64",
            "rain Int64"
        ]
    );
    let rows = scan_csv(&table, &[]);
    assert_eq!(rows[0], "ts,station,temp,rain");
    assert_eq!(rows.len(), 41);
    // 16 of the 40 temperatures are null tokens or empty, one rain is NULL.
    assert_eq!(rows.iter().filter(|r| r.contains(",,")).count(), 16);
    assert_eq!(rows.iter().filter(|r| r.ends_with(',')).count(), 1);
    assert_eq!(
        scan_csv(&table, &["--where", "station = 'south'"]).len(),
        21
    );
    assert!(rows.iter().any(|r| r.ends_with(",north,4.5,0")), "{rows:?}");
}

#[test]
fn ingest_tabs_latin1_and_late_decimals() {
    let dir = tempfile::tempdir().unwrap();

    // Tab-separated under a .csv name, with a comma inside a field.
    let tabs = dir.path().join("cities.csv");
    let mut text = String::from("ts\tcity\tcount\n");
    for i in 0..5 {
        text.push_str(&format!("{}\tBern, CH\t{i}\n", ts(i)));
    }
    std::fs::write(&tabs, text).unwrap();
    let (table, _) = ingest_no_flags(dir.path(), "tabs", &tabs);
    let rows = scan_csv(&table, &[]);
    assert_eq!(rows.len(), 6, "{rows:?}");
    assert!(rows[1].ends_with(",\"Bern, CH\",0"), "{rows:?}");

    // Latin-1: "Zürich" with ü as the byte 0xFC.
    let latin1 = dir.path().join("latin1.csv");
    let mut bytes = b"ts,city,temp\n".to_vec();
    for i in 0..5 {
        bytes.extend_from_slice(ts(i).as_bytes());
        bytes.extend_from_slice(b",Z\xFCrich,1.5\n");
    }
    std::fs::write(&latin1, bytes).unwrap();
    let (table, err) = ingest_no_flags(dir.path(), "latin1", &latin1);
    assert!(err.contains("read as windows-1252 (Latin-1)"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "said once: {err}");
    let rows = scan_csv(&table, &["--where", "city = 'Zürich'"]);
    assert_eq!(rows.len(), 6, "{rows:?}");

    // Whole numbers for 5000 rows, then a decimal.
    let late = dir.path().join("weather.csv.gz");
    {
        let f = std::fs::File::create(&late).unwrap();
        let mut enc = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        writeln!(enc, "ts,pressure").unwrap();
        for i in 0..6000 {
            let p = if i == 5000 {
                "1019.5".to_string()
            } else {
                (1000 + i % 30).to_string()
            };
            writeln!(enc, "{},{p}", ts(i)).unwrap();
        }
        enc.finish().unwrap();
    }
    let (table, _) = ingest_no_flags(dir.path(), "late", &late);
    assert_eq!(
        column_types(&table),
        ["ts Timestamp(ms)", "pressure Float64"]
    );
    assert_eq!(scan_csv(&table, &["--where", "pressure = 1019.5"]).len(), 2);
    assert_eq!(
        scan_csv(&table, &["--where", "pressure = 1012"]).len(),
        1 + 200
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

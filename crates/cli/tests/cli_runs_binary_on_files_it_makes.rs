//! Runs the `strata` binary: help text, ingest of CSV (plain and gzip) with a malformed row,
//! scans in each format, delete, inspect, verify, compact, a locked table, output to a pipe
//! its reader closes early, and the demo.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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

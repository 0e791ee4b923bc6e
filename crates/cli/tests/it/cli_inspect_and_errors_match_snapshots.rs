//! Snapshots of what a person sees: `strata inspect` on a table and on one segment file built
//! from fixed data, and the one-line errors (with their exit codes) for bad inputs the tests
//! make: a missing table, malformed CSV records (after quoted fields holding newlines, so line
//! numbers must count physical lines), bad `--schema` overrides, bad `--where` expressions,
//! unknown columns, usage errors, corrupt segments under `verify`, and a corrupt block under
//! `scan` (the error names the segment file).
//!
//! Temporary paths are replaced by `[TMP]` before snapshotting; nothing else printed here
//! depends on the clock or the machine.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Exit code, stdout and stderr of one run, temp paths replaced by `[TMP]`.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// What a person sees for a failed command: the exit code, then stderr.
    fn failure(&self) -> String {
        format!("exit code: {:?}\n{}", self.code, self.stderr)
    }
}

fn strata(tmp: &Path, args: &[&str]) -> Run {
    let o = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .output()
        .unwrap();
    let tmp = tmp.to_str().unwrap();
    let clean = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap().replace(tmp, "[TMP]");
    Run {
        code: o.status.code(),
        stdout: clean(&o.stdout),
        stderr: clean(&o.stderr),
    }
}

fn write_file(path: &Path, text: &str) {
    std::fs::File::create(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

/// 3000 rows over two days (every 57.6 s from 2026-03-01), four hosts, a float, an int and a
/// free-text note column that is sometimes empty and once quoted with a comma.
fn metrics_csv() -> String {
    let mut s = String::from("ts,host,cpu,requests,note\n");
    for i in 0..3000u32 {
        let secs = u64::from(i) * 2 * 86_400 / 3000;
        let (d, rem) = (secs / 86_400, secs % 86_400);
        let note = match i % 50 {
            0 => "restart",
            25 => "\"slow, then fast\"",
            _ => "",
        };
        s.push_str(&format!(
            "2026-03-{:02}T{:02}:{:02}:{:02}Z,host-{},{}.{},{},{}\n",
            1 + d,
            rem / 3600,
            rem / 60 % 60,
            rem % 60,
            i % 4,
            i % 97,
            i % 10,
            (i * 7) % 1000,
            note
        ));
    }
    s
}

/// A table made from `metrics_csv` with one delete, in `<tmp>/metrics`.
fn make_table(tmp: &Path) -> PathBuf {
    let csv = tmp.join("metrics.csv");
    write_file(&csv, &metrics_csv());
    let table = tmp.join("metrics");
    let r = strata(
        tmp,
        &[
            "ingest",
            table.to_str().unwrap(),
            "--quiet",
            "--schema",
            "host:symbol",
            // Two days of rows: one partition (and one segment) per day.
            "--partition",
            "day",
            csv.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = strata(
        tmp,
        &[
            "delete",
            table.to_str().unwrap(),
            "--where",
            "host = 'host-3' AND requests < 100",
        ],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    table
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(segments(&p));
        } else if p.extension().is_some_and(|e| e == "strata") {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn inspect_table_and_segment() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path();
    let table = make_table(tmp);
    let r = strata(tmp, &["inspect", table.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    insta::assert_snapshot!("inspect_table", r.stdout);

    let segs = segments(&table.join("data"));
    assert_eq!(segs.len(), 2, "one segment per day: {segs:?}");
    let r = strata(tmp, &["inspect", segs[0].to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let out = r
        .stdout
        .replace(segs[0].to_str().unwrap(), "[SEGMENT]")
        .replace(
            &segs[0]
                .to_str()
                .unwrap()
                .replace(tmp.to_str().unwrap(), "[TMP]"),
            "[SEGMENT]",
        );
    insta::assert_snapshot!("inspect_segment", out);
}

#[test]
fn missing_table_and_bad_queries() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path();
    let nope = tmp.join("nope");
    let nope = nope.to_str().unwrap();
    insta::assert_snapshot!("scan_missing_table", strata(tmp, &["scan", nope]).failure());
    insta::assert_snapshot!(
        "inspect_missing_path",
        strata(tmp, &["inspect", nope]).failure()
    );
    insta::assert_snapshot!(
        "verify_missing_table",
        strata(tmp, &["verify", nope]).failure()
    );

    let table = make_table(tmp);
    let t = table.to_str().unwrap();
    for (name, args) in [
        ("where_incomplete", vec!["scan", t, "--where", "requests >"]),
        (
            "where_unknown_column",
            vec!["scan", t, "--where", "nope = 1"],
        ),
        (
            "where_bad_token",
            vec!["scan", t, "--where", "cpu = 1 AND host == 'a'"],
        ),
        (
            "where_type_mismatch",
            vec!["scan", t, "--where", "host > 3"],
        ),
        ("columns_unknown", vec!["scan", t, "--columns", "ts,nope"]),
        (
            "delete_where_unknown_column",
            vec!["delete", t, "--where", "nope = 1"],
        ),
        ("usage_scan_without_table", vec!["scan"]),
        ("usage_bad_format", vec!["scan", t, "--format", "xml"]),
    ] {
        let r = strata(tmp, &args);
        insta::assert_snapshot!(name, r.failure());
        // Exit codes as documented: 2 for usage (clap), 1 for every other error.
        let expected = if name.starts_with("usage") { 2 } else { 1 };
        assert_eq!(r.code, Some(expected), "{name}: {}", r.stderr);
    }
    // Nothing above changed the table.
    let r = strata(tmp, &["scan", t, "--format", "csv"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let deleted = 3000 / 4
        - (0..3000u32)
            .filter(|i| i % 4 == 3 && (i * 7) % 1000 >= 100)
            .count();
    assert_eq!(r.stdout.lines().count() - 1, 3000 - deleted);
}

#[test]
fn malformed_csv_records_name_file_and_physical_line() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path();
    let table = tmp.join("t");
    let t = table.to_str().unwrap();
    let ingest = |file: &str, text: &str, extra: &[&str]| {
        let path = tmp.join(file);
        write_file(&path, text);
        let mut args = vec!["ingest", t, "--quiet", "--time-column", "ts"];
        args.extend_from_slice(extra);
        let p = path.to_str().unwrap().to_string();
        args.push(&p);
        strata(tmp, &args)
    };
    // Lines 2–3 and 4–6 are two records with quoted newlines; the bad value is on line 7.
    let header = "ts,host,cpu,note\n";
    let quoted = "1000,a,1.5,\"two\nlines\"\n2000,b,2.5,\"three\n\"\"quoted\"\"\nlines\"\n";
    let cases = [
        (
            "bad_value",
            format!("{header}{quoted}3000,c,oops,x\n4000,d,4.5,y\n"),
        ),
        ("too_few_fields", format!("{header}{quoted}3000,c\n")),
        (
            "too_many_fields",
            format!("{header}{quoted}3000,c,3.5,x,extra\n"),
        ),
        (
            "unterminated_quote",
            format!("{header}{quoted}3000,c,3.5,\"open\n4000,d,4.5,y\n"),
        ),
        (
            "bad_time",
            "ts,host\n2026-01-01T00:00:00Z,a\nyesterday,b\n".to_string(),
        ),
    ];
    for (name, text) in &cases {
        // Without the override a bad number would only make cpu a string column.
        let extra: &[&str] = if *name == "bad_time" {
            &["--schema", "ts:timestamp_ms"]
        } else {
            &["--schema", "cpu:f64"]
        };
        let r = ingest(&format!("{name}.csv"), text, extra);
        assert_eq!(r.code, Some(1), "{name}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{name}: {}", r.stderr);
        insta::assert_snapshot!(format!("csv_{name}"), r.failure());
        assert!(
            !table.join("data").exists(),
            "{name}: a failed ingest made the table"
        );
    }

    // The same file with --skip-bad-rows: the quoted newlines survive, the bad record is
    // skipped and counted.
    let (_, text) = &cases[0];
    let r = ingest(
        "skip.csv",
        text,
        &["--schema", "cpu:f64", "--skip-bad-rows"],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stdout.contains("ingested 3 rows from 1 files"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("skipped 1 bad rows"), "{}", r.stdout);
    let expected = "{\"ts\":1000,\"note\":\"two\\nlines\"}\n\
                    {\"ts\":2000,\"note\":\"three\\n\\\"quoted\\\"\\nlines\"}\n\
                    {\"ts\":4000,\"note\":\"y\"}\n";
    let scan = |table: &Path| {
        let r = strata(
            tmp,
            &[
                "scan",
                table.to_str().unwrap(),
                "--format",
                "json",
                "--columns",
                "ts,note",
            ],
        );
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        r.stdout
    };
    assert_eq!(scan(&table), expected);

    // A well-formed file with quoted newlines and CRLF line ends decodes in one piece.
    let good = tmp.join("good.csv");
    write_file(
        &good,
        &format!("{header}{quoted}4000,d,4.5,y\n").replace('\n', "\r\n"),
    );
    let g = tmp.join("g");
    let r = strata(
        tmp,
        &[
            "ingest",
            g.to_str().unwrap(),
            "--quiet",
            "--time-column",
            "ts",
            good.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stdout.contains("ingested 3 rows from 1 files"),
        "{}",
        r.stdout
    );
    // Inside quotes a CRLF is data and stays; outside it ends the record.
    assert_eq!(scan(&g), expected.replace("\\n", "\\r\\n"));
}

#[test]
fn schema_override_errors() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path();
    let csv = tmp.join("m.csv");
    write_file(&csv, "ts,host,cpu\n1000,a,1.5\n2000,b,2.5\n");
    let c = csv.to_str().unwrap();
    let table = tmp.join("t");
    let t = table.to_str().unwrap();
    for (name, extra) in [
        ("schema_not_name_type", vec!["--schema", "cpu"]),
        ("schema_unknown_type", vec!["--schema", "cpu:decimal"]),
        ("schema_unknown_column", vec!["--schema", "nope:i64"]),
        (
            "schema_time_column_as_symbol",
            vec!["--schema", "ts:symbol", "--time-column", "ts"],
        ),
        ("schema_value_does_not_parse", vec!["--schema", "host:i64"]),
        ("time_column_unknown", vec!["--time-column", "nope"]),
        ("time_column_float", vec!["--time-column", "cpu"]),
    ] {
        let mut args = vec!["ingest", t, "--quiet"];
        args.extend(extra);
        args.push(c);
        let r = strata(tmp, &args);
        assert_eq!(r.code, Some(1), "{name}: {}", r.stderr);
        insta::assert_snapshot!(name, r.failure());
        assert!(
            !table.join("data").exists(),
            "{name}: a failed ingest made the table"
        );
    }
    // A file without a time column makes a table without one; asking to partition it by
    // time is an error that says why.
    let untimed = tmp.join("untimed.csv");
    write_file(&untimed, "host,cpu\na,1.5\n");
    let u = untimed.to_str().unwrap();
    let r = strata(tmp, &["ingest", t, "--quiet", "--partition", "day", u]);
    insta::assert_snapshot!("no_time_column", r.failure());
    assert!(!table.join("data").exists());
    let r = strata(tmp, &["ingest", t, "--quiet", u]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = strata(tmp, &["scan", t]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("1.5"), "{}", r.stdout);
    std::fs::remove_dir_all(&table).unwrap();
    let missing = tmp.join("missing.csv");
    let r = strata(tmp, &["ingest", t, "--quiet", missing.to_str().unwrap()]);
    insta::assert_snapshot!("ingest_missing_file", r.failure());
}

#[test]
fn corrupt_segments_fail_verify() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path();
    let table = make_table(tmp);
    let t = table.to_str().unwrap();
    let r = strata(tmp, &["verify", t]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    insta::assert_snapshot!("verify_ok", r.stdout);

    let segs = segments(&table.join("data"));
    // Flip one byte in the middle of the first segment's data, and cut the second one short.
    let mut bytes = std::fs::read(&segs[0]).unwrap();
    let mid = bytes.len() / 3;
    bytes[mid] ^= 0x5a;
    std::fs::write(&segs[0], &bytes).unwrap();
    let len = std::fs::metadata(&segs[1]).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&segs[1])
        .unwrap()
        .set_len(len - 10)
        .unwrap();
    let r = strata(tmp, &["verify", t]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    insta::assert_snapshot!(
        "verify_corrupt",
        format!("{}stdout:\n{}", r.failure(), r.stdout)
    );

    // inspect on the cut segment file says what is wrong with it, on one line.
    let r = strata(tmp, &["inspect", segs[1].to_str().unwrap()]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    let seg = segs[1]
        .to_str()
        .unwrap()
        .replace(tmp.to_str().unwrap(), "[TMP]");
    insta::assert_snapshot!(
        "inspect_cut_segment",
        r.failure().replace(&seg, "[SEGMENT]")
    );
}

#[test]
fn corrupt_block_fails_scan_naming_the_segment_file() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path();
    let table = make_table(tmp);
    let t = table.to_str().unwrap();
    let segs = segments(&table.join("data"));
    let seg = &segs[0];
    // One byte inside the first block of column 2 (cpu), flipped on disk.
    let offset = strata::Segment::open(&strata::LocalFs, seg)
        .unwrap()
        .footer()
        .columns[2]
        .blocks[0]
        .offset;
    let mut bytes = std::fs::read(seg).unwrap();
    bytes[offset as usize + 1] ^= 0x5a;
    std::fs::write(seg, &bytes).unwrap();

    let seg_name = seg
        .to_str()
        .unwrap()
        .replace(tmp.to_str().unwrap(), "[TMP]");
    let r = strata(tmp, &["scan", t, "--format", "csv"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains(&seg_name), "{}", r.stderr);
    insta::assert_snapshot!("scan_corrupt_block", r.failure());
    let r = strata(tmp, &["verify", t]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    insta::assert_snapshot!(
        "verify_corrupt_block",
        format!("{}stdout:\n{}", r.failure(), r.stdout)
    );
}

#[test]
fn csv_header_must_match_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path();
    let file = |name: &str, text: &str| {
        let p = tmp.join(name);
        write_file(&p, text);
        p.to_str().unwrap().to_string()
    };
    let first = file("first.csv", "ts,host,cpu,mem\n1000,a,1.5,2.5\n");
    // Same columns, cpu and mem swapped: both floats, so only the header can tell.
    let swapped = file("swapped.csv", "ts,host,mem,cpu\n2000,b,9.5,0.5\n");
    let fewer = file("fewer.csv", "ts,host\n3000,c\n");
    let table = tmp.join("t");
    let t = table.to_str().unwrap();
    let ingest = |files: &[&str]| {
        let mut args = vec!["ingest", t, "--quiet", "--time-column", "ts"];
        args.extend_from_slice(files);
        strata(tmp, &args)
    };

    // Within one ingest the first file fixes the columns; nothing is committed.
    let r = ingest(&[&first, &swapped]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    insta::assert_snapshot!("header_differs_from_first_file", r.failure());
    assert!(!table.join("data").exists());

    let r = ingest(&[&first]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    for (name, f) in [("header_swapped", &swapped), ("header_fewer", &fewer)] {
        let r = ingest(&[f]);
        assert_eq!(r.code, Some(1), "{name}: {}", r.stderr);
        insta::assert_snapshot!(name, r.failure());
    }
    let r = strata(tmp, &["scan", t, "--format", "csv"]);
    assert_eq!(r.stdout, "ts,host,cpu,mem\n1000,a,1.5,2.5\n");
}

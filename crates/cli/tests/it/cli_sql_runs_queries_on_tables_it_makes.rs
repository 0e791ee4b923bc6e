//! `strata sql` on tables the test makes: a query on a `--table`, the csv and json formats,
//! `INSERT INTO … SELECT` from a CSV file declared with `CREATE EXTERNAL TABLE`, statements
//! from stdin, tables found in the current directory, and one-line errors.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn strata(cwd: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    let o = child.wait_with_output().unwrap();
    let tmp = cwd.to_str().unwrap();
    let clean = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap().replace(tmp, "[TMP]");
    Run {
        code: o.status.code(),
        stdout: clean(&o.stdout),
        stderr: clean(&o.stderr),
    }
}

/// 48 rows: every 30 minutes of 2026-03-01, hosts a and b alternating.
fn metrics_csv() -> String {
    let mut s = String::from("ts,host,cpu\n");
    for i in 0..48u32 {
        s.push_str(&format!(
            "2026-03-01T{:02}:{:02}:00Z,{},{}.5\n",
            i / 2,
            (i % 2) * 30,
            ["a", "b"][i as usize % 2],
            i % 7
        ));
    }
    s
}

fn make_table(tmp: &Path) {
    std::fs::write(tmp.join("metrics.csv"), metrics_csv()).unwrap();
    let r = strata(
        tmp,
        &[
            "ingest",
            "metrics",
            "--quiet",
            "--schema",
            "host:symbol",
            "metrics.csv",
        ],
        None,
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}

#[test]
fn sql_queries_inserts_and_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    make_table(tmp);

    let q = "SELECT host, count(*) AS n, max(cpu) AS top FROM m \
             WHERE ts >= '2026-03-01T06:00:00Z' GROUP BY host ORDER BY host";
    let r = strata(tmp, &["sql", "--table", "m=metrics", q], None);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    insta::assert_snapshot!("sql_table", r.stdout);

    let r = strata(
        tmp,
        &["sql", "--table", "m=metrics", "--format", "csv", q],
        None,
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    insta::assert_snapshot!("sql_csv", r.stdout);

    let r = strata(
        tmp,
        &["sql", "--table", "m=metrics", "--format", "json", q],
        None,
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    insta::assert_snapshot!("sql_json", r.stdout);

    // Tables in the current directory are found by name; a time bucket per 6 hours.
    let r = strata(
        tmp,
        &[
            "sql",
            "SELECT date_bin(INTERVAL '6 hours', ts) AS bucket, count(*) AS n, avg(cpu) AS cpu \
             FROM metrics GROUP BY bucket ORDER BY bucket",
        ],
        None,
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    insta::assert_snapshot!("sql_date_bin", r.stdout);

    // A folder of the current directory that looks like a table and is not one (a `data/`
    // folder of something else) is a notice on stderr; the queries still run.
    std::fs::create_dir_all(tmp.join("photos/data")).unwrap();
    std::fs::write(tmp.join("photos/data/holiday.jpg"), b"not a manifest").unwrap();
    for args in [
        &["sql", "SELECT count(*) AS n FROM metrics"][..],
        &["sql", "--table", "m=metrics", "SELECT count(*) AS n FROM m"][..],
    ] {
        let r = strata(tmp, args, None);
        assert_eq!(r.code, Some(0), "{args:?}: {}", r.stderr);
        assert!(r.stdout.contains("| 48 |"), "{args:?}: {}", r.stdout);
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr
                .starts_with("note: ./photos is not registered as table \"photos\""),
            "{args:?}: {}",
            r.stderr
        );
    }
    std::fs::remove_dir_all(tmp.join("photos")).unwrap();

    // Statements from stdin: load a CSV that needs reshaping, then read it back.
    std::fs::write(
        tmp.join("raw.csv"),
        "day,hour,who,load\n2026-03-02,1,c,9\n2026-03-02,2,c,8\n",
    )
    .unwrap();
    let script = "CREATE EXTERNAL TABLE raw STORED AS CSV LOCATION 'raw.csv' OPTIONS ('has_header' 'true');\n\
                  INSERT INTO m SELECT to_timestamp(concat(CAST(day AS VARCHAR), 'T0', CAST(hour AS VARCHAR), ':00:00Z')) AS ts,\n\
                  who AS host, CAST(load AS DOUBLE) AS cpu FROM raw;\n\
                  SELECT host, count(*) AS n, sum(cpu) AS total FROM m GROUP BY host ORDER BY host;\n";
    let r = strata(tmp, &["sql", "--table", "m=metrics"], Some(script));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    insta::assert_snapshot!("sql_stdin_insert", r.stdout);

    // Errors: one line, exit code 1.
    let r = strata(
        tmp,
        &["sql", "--table", "m=metrics", "SELECT nope FROM m"],
        None,
    );
    assert_eq!(r.code, Some(1));
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
    let r = strata(tmp, &["sql", "--table", "m", "SELECT 1"], None);
    assert_eq!(r.code, Some(1));
    insta::assert_snapshot!("sql_bad_table_arg", r.stderr);
}

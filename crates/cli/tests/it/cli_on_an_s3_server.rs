//! The `strata` binary on tables at `s3://` URLs, against a local S3-protocol server the test
//! starts (moto; skipped with a notice when it is not installed): ingest creates the table,
//! a second ingest appends, scan, inspect, compact, delete and sql read and change it, and a
//! missing bucket is a one-line error.

use std::process::Command;

use strata_object_store::testing::S3TestServer;

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn strata(server: &S3TestServer, args: &[&str]) -> Run {
    let o = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .envs(server.env())
        .output()
        .unwrap();
    Run {
        ok: o.status.success(),
        stdout: String::from_utf8(o.stdout).unwrap(),
        stderr: String::from_utf8(o.stderr).unwrap(),
    }
}

fn csv(first: u32, n: u32) -> String {
    let mut s = String::from("ts,host,cpu\n");
    for i in first..first + n {
        s += &format!(
            "2026-03-01T{:02}:{:02}:00Z,{},{}.5\n",
            i / 60,
            i % 60,
            ["a", "b"][(i % 2) as usize],
            i % 10
        );
    }
    s
}

fn count(server: &S3TestServer, url: &str) -> String {
    let r = strata(
        server,
        &[
            "sql",
            "--format",
            "csv",
            "--table",
            &format!("t={url}"),
            "SELECT count(*) AS n FROM t",
        ],
    );
    assert!(r.ok, "sql failed: {}", r.stderr);
    r.stdout
}

#[test]
fn ingest_scan_sql_compact_and_delete_on_s3_urls() {
    let Some(server) = S3TestServer::start("ingest_scan_sql_compact_and_delete_on_s3_urls") else {
        return;
    };
    server.create_bucket("cli").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.csv");
    let second = dir.path().join("second.csv");
    std::fs::write(&first, csv(0, 120)).unwrap();
    std::fs::write(&second, csv(120, 60)).unwrap();
    let url = "s3://cli/metrics";

    let r = strata(&server, &["ingest", url, first.to_str().unwrap()]);
    assert!(r.ok, "first ingest failed: {}", r.stderr);
    assert_eq!(count(&server, url), "n\n120\n");
    let r = strata(&server, &["ingest", url, second.to_str().unwrap()]);
    assert!(r.ok, "second ingest failed: {}", r.stderr);
    assert_eq!(count(&server, url), "n\n180\n");

    let r = strata(
        &server,
        &["scan", url, "--where", "host = 'a'", "--format", "csv"],
    );
    assert!(r.ok, "scan failed: {}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 1 + 90);
    let r = strata(&server, &["inspect", url]);
    assert!(r.ok, "inspect failed: {}", r.stderr);
    assert!(r.stdout.contains("manifest version"), "{}", r.stdout);
    let r = strata(&server, &["compact", url]);
    assert!(r.ok, "compact failed: {}", r.stderr);
    let r = strata(&server, &["delete", url, "--where", "host = 'b'"]);
    assert!(r.ok, "delete failed: {}", r.stderr);
    assert_eq!(count(&server, url), "n\n90\n");
    let r = strata(&server, &["verify", url]);
    assert!(r.ok, "verify failed: {}{}", r.stdout, r.stderr);

    let r = strata(&server, &["scan", "s3://no-such-bucket/t"]);
    assert!(!r.ok);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
}

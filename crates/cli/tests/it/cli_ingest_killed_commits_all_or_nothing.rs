//! Process-level crash test: `strata ingest` of a real file is killed with SIGKILL at varied
//! moments; afterwards the table holds exactly the rows before or exactly the rows after the
//! ingest, `verify` passes, a reader can scan it, and once a writer has opened it no file is
//! left that the manifest does not reference. Bounded: a dozen trials.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn strata(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .output()
        .unwrap()
}

fn write_csv(path: &Path, first: usize, n: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "ts,host,cpu,requests").unwrap();
    for i in first..first + n {
        writeln!(
            f,
            "2026-01-{:02}T{:02}:{:02}:{:02}Z,host-{},{}.5,{}",
            1 + i / 86_400 % 28,
            i / 3600 % 24,
            i / 60 % 60,
            i % 60,
            i % 7,
            i % 100,
            i
        )
        .unwrap();
    }
}

/// Rows the table holds, as a reader sees them.
fn count(table: &str) -> usize {
    let o = strata(&["scan", table, "--columns", "requests", "--format", "csv"]);
    assert!(
        o.status.success(),
        "scan failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap().lines().count() - 1
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path().strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn killed_ingest_commits_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let base_csv = dir.path().join("base.csv");
    write_csv(&base_csv, 0, 1000);
    let big_csv = dir.path().join("big.csv");
    const BIG: usize = 150_000;
    write_csv(&big_csv, 1000, BIG);

    // One uninterrupted run: how long an ingest takes here.
    let probe = dir.path().join("probe");
    let probe_s = probe.to_str().unwrap();
    let started = Instant::now();
    let o = strata(&["ingest", "--quiet", probe_s, big_csv.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let full = started.elapsed();
    assert_eq!(count(probe_s), BIG);

    let trials = 12u32;
    let (mut before, mut after) = (0, 0);
    for t in 0..trials {
        let table = dir.path().join(format!("t{t}"));
        let table_s = table.to_str().unwrap();
        let o = strata(&["ingest", "--quiet", table_s, base_csv.to_str().unwrap()]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        // Kill points spread over the whole ingest, a little past it too.
        let at = full.mul_f64(f64::from(t) / f64::from(trials - 2));
        let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["ingest", "--quiet", table_s, big_csv.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(at.min(Duration::from_secs(20)));
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();

        let rows = count(table_s);
        assert!(
            rows == 1000 || rows == 1000 + BIG,
            "trial {t} (kill at {at:?}, {status}): {rows} rows, neither before nor after"
        );
        if rows == 1000 {
            before += 1;
        } else {
            after += 1;
        }
        let v = strata(&["verify", table_s]);
        assert!(
            v.status.success(),
            "trial {t}: verify: {}{}",
            String::from_utf8_lossy(&v.stdout),
            String::from_utf8_lossy(&v.stderr)
        );
        // A writer's open (recover) removes whatever the killed process left.
        let r = strata(&["recover", table_s]);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let files = files_under(&table);
        assert!(
            files
                .iter()
                .all(|f| !f.ends_with(".tmp") && !f.contains("quarantine")),
            "trial {t}: leftovers {files:?}"
        );
        let segments = files.iter().filter(|f| f.ends_with(".strata")).count();
        let inspect = strata(&["inspect", table_s]);
        let listed = String::from_utf8_lossy(&inspect.stdout)
            .lines()
            .filter(|l| l.contains(".strata:"))
            .count();
        assert_eq!(
            segments, listed,
            "trial {t}: unreferenced segment files {files:?}"
        );
        assert_eq!(count(table_s), rows, "trial {t}: recovery changed the rows");
    }
    eprintln!("kill -9 trials: {trials}, ended before: {before}, after: {after}");
}

//! `cargo xtask fuzz`: every cargo-fuzz target in `fuzz/` for a fixed time each.
//!
//! cargo-fuzz needs nightly (sanitizers, `-Z` flags), so this is the one place that uses
//! `cargo +nightly`; the fuzz crate is its own workspace and never part of stable builds.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::cmd;

/// Parsed `fuzz` arguments.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Args {
    /// `--seconds N`: libFuzzer's `-max_total_time` per target.
    pub(crate) seconds: u64,
}

impl Args {
    pub(crate) fn parse(args: &[OsString]) -> Result<Self> {
        let mut out = Self { seconds: 60 };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            match arg.to_str() {
                Some("--seconds") => {
                    let v = crate::flag_value("--seconds", &mut it)?;
                    out.seconds = v
                        .to_str()
                        .and_then(|s| s.parse().ok())
                        .filter(|&n| n > 0)
                        .with_context(|| {
                            format!("--seconds wants a positive integer, got {v:?}")
                        })?;
                }
                _ => bail!("`fuzz` does not understand {arg:?} (expected --seconds N)"),
            }
        }
        Ok(out)
    }
}

/// `cargo +nightly …` in `fuzz/`. Goes through the rustup proxy on PATH (not `$CARGO`, which is
/// the pinned stable binary) and drops `CARGO_TARGET_DIR` so nightly sanitizer builds stay in
/// `fuzz/target` instead of mixing with stable artifacts.
fn nightly(fuzz_dir: &Path) -> Command {
    let mut c = cmd::in_dir(Command::new("cargo"), fuzz_dir);
    c.arg("+nightly")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO");
    c
}

fn ensure_cargo_fuzz(fuzz_dir: &Path) -> Result<()> {
    let mut probe = nightly(fuzz_dir);
    probe
        .args(["fuzz", "--help"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if probe.status().is_ok_and(|s| s.success()) {
        return Ok(());
    }
    eprintln!("==> fuzz: cargo-fuzz is missing, installing it");
    let mut install = cmd::in_dir(Command::new("cargo"), fuzz_dir);
    install.args(["install", "cargo-fuzz", "--locked"]);
    cmd::run(&mut install)
}

fn list_targets(fuzz_dir: &Path) -> Result<Vec<String>> {
    let mut c = nightly(fuzz_dir);
    c.args(["fuzz", "list"]).stderr(Stdio::inherit());
    let shown = cmd::display(&c);
    let out = c
        .output()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !out.status.success() {
        bail!("`{shown}` failed ({})", out.status);
    }
    let targets: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if targets.is_empty() {
        bail!("`{shown}` listed no targets");
    }
    Ok(targets)
}

/// What one target's run came to.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// Executions libFuzzer reported (its final `Done` line, else the last status line).
    pub(crate) runs: Option<u64>,
    /// Crashing inputs libFuzzer wrote.
    pub(crate) artifacts: Vec<String>,
    /// The first line of a Rust panic message, if the target panicked.
    pub(crate) panic: Option<String>,
}

impl Outcome {
    /// Folds one line of libFuzzer/cargo-fuzz stderr into the outcome.
    pub(crate) fn observe(&mut self, line: &str) {
        if let Some(rest) = line.strip_prefix("Done ") {
            // "Done 123456 runs in 61 second(s)"
            if let Some(n) = rest.split_whitespace().next().and_then(|n| n.parse().ok()) {
                self.runs = Some(n);
            }
        } else if let Some(rest) = line.strip_prefix('#') {
            // "#4096\tpulse  cov: …" — keeps a count when the run dies before "Done".
            let n = rest.split(|c: char| !c.is_ascii_digit()).next();
            if let Some(n) = n.and_then(|n| n.parse().ok()) {
                self.runs = Some(n);
            }
        } else if let Some(rest) = line.split("Test unit written to ").nth(1) {
            self.artifacts.push(rest.trim().to_owned());
        } else if line.starts_with("thread '")
            && line.contains("panicked at")
            && self.panic.is_none()
        {
            self.panic = Some(line.trim().to_owned());
        }
    }
}

/// Runs one target, echoing its output except libFuzzer's progress lines.
fn run_target(fuzz_dir: &Path, target: &str, seconds: u64) -> Result<(bool, Outcome)> {
    let mut c = nightly(fuzz_dir);
    c.args(["fuzz", "run", target, "--"])
        .arg(format!("-max_total_time={seconds}"))
        .stderr(Stdio::piped());
    let shown = cmd::display(&c);
    eprintln!("\n==> fuzz {target}: {shown}");
    let mut child = c
        .spawn()
        .with_context(|| format!("could not start `{shown}`"))?;
    let mut outcome = Outcome::default();
    if let Some(stderr) = child.stderr.take() {
        let mut err = std::io::stderr().lock();
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap_or_default();
            outcome.observe(&line);
            // Per-input status and coverage lines are libFuzzer's progress noise.
            if !line.starts_with('#') && !line.trim_start().starts_with("NEW_FUNC") {
                let _ = writeln!(err, "{line}");
            }
        }
    }
    let status = child
        .wait()
        .with_context(|| format!("waiting for `{shown}`"))?;
    Ok((status.success(), outcome))
}

pub(crate) fn run(root: &Path, args: Args) -> Result<()> {
    let fuzz_dir = root.join("fuzz");
    ensure_cargo_fuzz(&fuzz_dir)?;
    let targets = list_targets(&fuzz_dir)?;
    eprintln!(
        "==> fuzz: {} targets, {}s each: {}",
        targets.len(),
        args.seconds,
        targets.join(", ")
    );
    // Build everything once up front so a compile error is reported as such, not as a crash.
    cmd::run(nightly(&fuzz_dir).args(["fuzz", "build"]))?;

    let mut rows = Vec::new();
    for target in &targets {
        let t = Instant::now();
        let (ok, outcome) = run_target(&fuzz_dir, target, args.seconds)?;
        rows.push((target.as_str(), ok, outcome, t.elapsed()));
    }

    eprintln!("\n==> fuzz summary ({}s per target)", args.seconds);
    let w = targets.iter().map(String::len).max().unwrap_or(0).max(6);
    eprintln!(
        "    {:<w$} {:<6} {:>12} {:>8}",
        "target", "result", "runs", "seconds"
    );
    let mut failed = Vec::new();
    for (target, ok, outcome, took) in &rows {
        let runs = outcome
            .runs
            .map_or_else(|| "?".to_owned(), |n| n.to_string());
        let result = if *ok { "pass" } else { "FAIL" };
        eprintln!("    {target:<w$} {result:<6} {runs:>12} {:>8}", secs(*took));
        if !ok {
            failed.push(*target);
            if let Some(p) = &outcome.panic {
                eprintln!("        {p}");
            }
            for a in &outcome.artifacts {
                eprintln!(
                    "        crashing input: {a} (replay: cargo +nightly fuzz run {target} {a})"
                );
            }
        }
    }
    if !failed.is_empty() {
        bail!("fuzz targets failed: {}", failed.join(", "));
    }
    Ok(())
}

fn secs(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_defaults_to_a_minute_and_rejects_zero() {
        assert_eq!(Args::parse(&[]).unwrap(), Args { seconds: 60 });
        let five: Vec<OsString> = vec!["--seconds".into(), "5".into()];
        assert_eq!(Args::parse(&five).unwrap(), Args { seconds: 5 });
        let zero: Vec<OsString> = vec!["--seconds".into(), "0".into()];
        assert!(Args::parse(&zero).is_err());
    }

    #[test]
    fn outcome_reads_libfuzzer_lines() {
        let mut o = Outcome::default();
        for line in [
            "#2\tINITED cov: 10 ft: 10 corp: 1/1b exec/s: 0 rss: 30Mb",
            "#65536\tpulse  cov: 99 ft: 120 corp: 7/40b lim: 4 exec/s: 32768 rss: 40Mb",
            "thread '<unnamed>' panicked at crates/codec/src/int.rs:10:5:",
            "==1== ERROR: libFuzzer: deadly signal",
            "artifact_prefix='/f/artifacts/t/'; Test unit written to /f/artifacts/t/crash-ab",
        ] {
            o.observe(line);
        }
        assert_eq!(o.runs, Some(65536));
        assert_eq!(o.artifacts, vec!["/f/artifacts/t/crash-ab".to_owned()]);
        assert_eq!(
            o.panic.as_deref(),
            Some("thread '<unnamed>' panicked at crates/codec/src/int.rs:10:5:")
        );
        o.observe("Done 123456 runs in 61 second(s)");
        assert_eq!(o.runs, Some(123_456));
    }
}

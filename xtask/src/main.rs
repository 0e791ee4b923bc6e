//! Strata's developer tasks, run as `cargo xtask <task>` (the alias lives in `.cargo/config.toml`).
//!
//! - `ci`: format check, clippy, tests (with doctests), rustdoc, failing fast.
//! - `bench [--data DIR] [--quick] [--suite NAME] [--out DIR] [--doc PATH] [--store URL]
//!   [--report-only]`: the end-to-end benchmark harness in `benches/`, then one combined report
//!   (`docs/benchmarks.md`, summary table first).
//! - `fuzz [--seconds N]`: every cargo-fuzz target in `fuzz/`, N seconds each.
//!
//! Tests in this crate also check the workspace layering, the architecture doc's code map and
//! the integration-test layout (see `tidy.rs`).
#![forbid(unsafe_code)]

mod bench;
mod ci;
mod cmd;
mod fuzz;
#[cfg(test)]
mod tidy;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

const USAGE: &str = "\
usage: cargo xtask <task> [options]

tasks:
  ci                          fmt --check, clippy -D warnings (all targets), test (libraries,
                              binaries, integration tests, examples built, doctests), doc with
                              -D warnings; stops at the first failing step
  bench [--data DIR] [--quick] [--suite NAME] [--out DIR] [--doc PATH] [--store URL]
        [--report-only]
                              run the benchmark harness (release), then assemble every
                              suite's results in OUT (default target/bench) into one report,
                              PATH (default docs/benchmarks.md): a summary table first, then
                              each suite; only the text between <!-- bench:begin/end NAME -->
                              markers is rewritten. DIR defaults to $STRATA_DATA_DIR, else
                              ../shared/data next to the workspace. --report-only runs nothing
                              and only assembles. --store URL (s3://bucket/prefix from the
                              AWS_* variables, or memory://name): the sql suite also loads its
                              tables there and queries them beside the local ones.
  fuzz [--seconds N]          run every fuzz target in fuzz/ for N seconds (default 60)
  help                        this message
";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let mut args = std::env::args_os().skip(1);
    let Some(task) = args.next() else {
        eprint!("{USAGE}");
        bail!("no task given");
    };
    let rest: Vec<OsString> = args.collect();
    match task.to_str() {
        Some("ci") => {
            no_more_args("ci", &rest)?;
            ci::run(&workspace_root())
        }
        Some("bench") => bench::run(&workspace_root(), bench::Args::parse(&rest)?),
        Some("fuzz") => fuzz::run(&workspace_root(), fuzz::Args::parse(&rest)?),
        Some("help" | "-h" | "--help") => {
            print!("{USAGE}");
            Ok(())
        }
        _ => {
            eprint!("{USAGE}");
            bail!("unknown task {task:?}")
        }
    }
}

fn no_more_args(task: &str, rest: &[OsString]) -> Result<()> {
    match rest.first() {
        None => Ok(()),
        Some(arg) => bail!("`{task}` takes no arguments, got {arg:?}"),
    }
}

/// The workspace root: xtask always lives one level below it.
fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map_or_else(|| manifest_dir.to_path_buf(), Path::to_path_buf)
}

/// Reads the value following a `--flag`.
fn flag_value(flag: &str, it: &mut std::slice::Iter<'_, OsString>) -> Result<OsString> {
    it.next()
        .cloned()
        .with_context(|| format!("{flag} needs a value"))
}

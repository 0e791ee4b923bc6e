//! `strata-benches`: runs the benchmark suites and writes their reports.
//!
//! ```text
//! cargo run --release -p strata-benches -- [--data DIR] [--quick] [--suite NAME] [--out DIR]
//! ```
//!
//! `--data` defaults to `$STRATA_DATA_DIR`, else `../shared/data` from the workspace root.
//! `--out` defaults to `<workspace>/target/bench`. Each suite prints its markdown to stdout
//! and writes `<out>/<suite>.md` and `<out>/<suite>.json`.

use std::path::PathBuf;
use std::process::ExitCode;

use strata_benches::{BenchContext, BenchError, Result, default_data_dir, default_out_dir, suites};

const USAGE: &str = "usage: strata-benches [--data DIR] [--quick] [--suite NAME] [--out DIR]";

struct Args {
    ctx: BenchContext,
    suite: Option<String>,
}

fn parse_args() -> Result<Option<Args>> {
    let mut data_dir = std::env::var_os("STRATA_DATA_DIR").map(PathBuf::from);
    let mut out_dir = None;
    let mut quick = false;
    let mut suite = None;
    let mut args = std::env::args().skip(1);
    let value = |flag: &str, v: Option<String>| {
        v.ok_or_else(|| BenchError::Usage(format!("{flag} needs a value\n{USAGE}")))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--data" => data_dir = Some(PathBuf::from(value("--data", args.next())?)),
            "--out" => out_dir = Some(PathBuf::from(value("--out", args.next())?)),
            "--suite" => suite = Some(value("--suite", args.next())?),
            "--quick" => quick = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => {
                return Err(BenchError::Usage(format!(
                    "unknown argument {other:?}\n{USAGE}"
                )));
            }
        }
    }
    Ok(Some(Args {
        ctx: BenchContext {
            data_dir: data_dir.unwrap_or_else(default_data_dir),
            out_dir: out_dir.unwrap_or_else(default_out_dir),
            quick,
        },
        suite,
    }))
}

fn run() -> Result<()> {
    let Some(args) = parse_args()? else {
        return Ok(());
    };
    let all = suites();
    if let Some(name) = &args.suite
        && !all.iter().any(|s| s.name() == name)
    {
        let names: Vec<&str> = all.iter().map(|s| s.name()).collect();
        return Err(BenchError::Usage(format!(
            "unknown suite {name:?}; suites: {}",
            names.join(", ")
        )));
    }
    eprintln!("data: {}", args.ctx.data_dir.display());
    for suite in all
        .iter()
        .filter(|s| args.suite.as_deref().is_none_or(|n| n == s.name()))
    {
        let out = strata_benches::run_and_write(suite.as_ref(), &args.ctx)?;
        println!("{}", out.markdown);
        eprintln!(
            "wrote {}/{name}.md and {name}.json",
            args.ctx.out_dir.display(),
            name = suite.name()
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

//! `cargo xtask bench`: runs the harness in `benches/` (package strata-benches), which writes
//! `<out>/<suite>.json` and `<out>/<suite>.md` for every suite, then assembles them into one
//! report, `docs/benchmarks.md` (see `report.rs` for how generated and hand-written text mix).

mod report;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::cmd;

/// Parsed `bench` arguments.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Args {
    /// `--data DIR`; `None` means the default data directory.
    pub(crate) data: Option<PathBuf>,
    /// `--quick`: a smaller run for a first look.
    pub(crate) quick: bool,
    /// `--suite NAME`: run only this suite (the report still takes every suite's latest
    /// results from the output directory).
    pub(crate) suite: Option<String>,
    /// `--out DIR`: where the suites write; default `<workspace>/target/bench`.
    pub(crate) out: Option<PathBuf>,
    /// `--doc PATH`: the report; default `<workspace>/docs/benchmarks.md`.
    pub(crate) doc: Option<PathBuf>,
    /// `--store URL`: passed to the harness (the `sql` suite also queries tables there).
    pub(crate) store: Option<String>,
    /// `--report-only`: run nothing, assemble the report from the results already there.
    pub(crate) report_only: bool,
}

impl Args {
    pub(crate) fn parse(args: &[OsString]) -> Result<Self> {
        let mut out = Self::default();
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            match arg.to_str() {
                Some("--quick") => out.quick = true,
                Some("--report-only") => out.report_only = true,
                Some("--data") => out.data = Some(crate::flag_value("--data", &mut it)?.into()),
                Some("--out") => out.out = Some(crate::flag_value("--out", &mut it)?.into()),
                Some("--doc") => out.doc = Some(crate::flag_value("--doc", &mut it)?.into()),
                Some(flag @ ("--store" | "--suite")) => {
                    let v = crate::flag_value(flag, &mut it)?
                        .into_string()
                        .map_err(|v| anyhow::anyhow!("{flag} {v:?} is not UTF-8"))?;
                    if flag == "--store" {
                        out.store = Some(v);
                    } else {
                        out.suite = Some(v);
                    }
                }
                _ => bail!(
                    "`bench` does not understand {arg:?} (expected --data DIR, --quick, \
                     --suite NAME, --out DIR, --doc PATH, --store URL, --report-only)"
                ),
            }
        }
        Ok(out)
    }
}

/// `$STRATA_DATA_DIR` if set, else `../shared/data` next to the workspace root.
pub(crate) fn default_data_dir(root: &Path) -> PathBuf {
    match std::env::var_os("STRATA_DATA_DIR") {
        Some(dir) if !dir.is_empty() => dir.into(),
        _ => root.join("../shared/data"),
    }
}

pub(crate) fn run(root: &Path, args: Args) -> Result<()> {
    let out_dir = match &args.out {
        Some(d) if d.is_relative() => std::env::current_dir()?.join(d),
        Some(d) => d.clone(),
        None => root.join("target").join("bench"),
    };
    if !args.report_only {
        run_suites(root, &args, &out_dir)?;
    }
    let suites = load_results(&out_dir)?;
    if suites.is_empty() {
        bail!(
            "no results in {} (expected <suite>.json with <suite>.md)",
            out_dir.display()
        );
    }
    let doc = args
        .doc
        .clone()
        .unwrap_or_else(|| root.join("docs").join("benchmarks.md"));
    let current = match std::fs::read_to_string(&doc) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", doc.display())),
    };
    let report = report::assemble(&current, &suites)
        .with_context(|| format!("updating {}", doc.display()))?;
    std::fs::write(&doc, report).with_context(|| format!("writing {}", doc.display()))?;
    let names: Vec<&str> = suites.iter().map(|s| s.name.as_str()).collect();
    eprintln!("==> bench: wrote {} ({})", doc.display(), names.join(", "));
    Ok(())
}

fn run_suites(root: &Path, args: &Args, out_dir: &Path) -> Result<()> {
    let data = args.data.clone().unwrap_or_else(|| default_data_dir(root));
    // The harness runs with the workspace root as its directory, so hand it an absolute path.
    let data = std::fs::canonicalize(&data)
        .with_context(|| format!("data directory {} is not there", data.display()))?;
    if !data.is_dir() {
        bail!("data directory {} is not a directory", data.display());
    }
    let mut c = cmd::in_dir(cmd::cargo(), root);
    c.args([
        "run",
        "--release",
        "--package",
        "strata-benches",
        "--",
        "--data",
    ])
    .arg(&data)
    .arg("--out")
    .arg(out_dir);
    if args.quick {
        c.arg("--quick");
    }
    if let Some(s) = &args.suite {
        c.args(["--suite", s]);
    }
    if let Some(s) = &args.store {
        c.args(["--store", s]);
    }
    eprintln!("==> bench: {}", cmd::display(&c));
    cmd::run(&mut c)
}

/// Every `<name>.json` in `dir` that has a `<name>.md` beside it, in report order.
fn load_results(dir: &Path) -> Result<Vec<report::SuiteResult>> {
    let mut suites = Vec::new();
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let md_path = path.with_extension("md");
        if !md_path.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let json = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        let markdown = std::fs::read_to_string(&md_path)
            .with_context(|| format!("reading {}", md_path.display()))?;
        suites.push(report::SuiteResult {
            name: name.to_string(),
            json,
            markdown,
        });
    }
    report::sort_suites(&mut suites);
    Ok(suites)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn parse_reads_data_and_quick_in_any_order() {
        let a = Args::parse(&os(&["--quick", "--data", "/tmp/d"])).unwrap();
        assert_eq!(
            a,
            Args {
                data: Some("/tmp/d".into()),
                quick: true,
                ..Args::default()
            }
        );
        let b = Args::parse(&os(&["--data", "/tmp/d"])).unwrap();
        assert_eq!(
            b,
            Args {
                data: Some("/tmp/d".into()),
                ..Args::default()
            }
        );
        let c = Args::parse(&os(&[
            "--suite",
            "scan",
            "--out",
            "/tmp/o",
            "--doc",
            "/tmp/b.md",
            "--store",
            "s3://b/tpch",
            "--report-only",
        ]))
        .unwrap();
        assert_eq!(
            c,
            Args {
                suite: Some("scan".into()),
                out: Some("/tmp/o".into()),
                doc: Some("/tmp/b.md".into()),
                store: Some("s3://b/tpch".into()),
                report_only: true,
                ..Args::default()
            }
        );
        assert_eq!(Args::parse(&[]).unwrap(), Args::default());
    }

    #[test]
    fn parse_rejects_unknown_flags_and_missing_values() {
        assert!(Args::parse(&os(&["--fast"])).is_err());
        assert!(Args::parse(&os(&["--data"])).is_err());
        assert!(Args::parse(&os(&["--suite"])).is_err());
    }
}

#[cfg(test)]
mod load_tests {
    use super::*;

    #[test]
    fn load_results_takes_json_with_markdown_in_report_order() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        std::fs::write(dir.join("scan.json"), r#"{"results": []}"#).unwrap();
        std::fs::write(dir.join("scan.md"), "## Scans\n").unwrap();
        std::fs::write(dir.join("codec.json"), "{}").unwrap();
        std::fs::write(dir.join("codec.md"), "### Codec\n").unwrap();
        // No markdown beside it: not a suite's output.
        std::fs::write(dir.join("stray.json"), "{}").unwrap();
        let got = load_results(&dir).unwrap();
        let names: Vec<&str> = got.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["codec", "scan"]);
        std::fs::write(dir.join("bad.json"), "{").unwrap();
        std::fs::write(dir.join("bad.md"), "").unwrap();
        let err = load_results(&dir).unwrap_err();
        assert!(
            format!("{err:#}").contains("bad.json is not JSON"),
            "{err:#}"
        );
    }
}

//! `cargo xtask bench`: forwards to the harness in `benches/` (package strata-benches), which
//! prints the markdown tables and writes JSON under `target/bench/`.

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
}

impl Args {
    pub(crate) fn parse(args: &[OsString]) -> Result<Self> {
        let mut out = Self::default();
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            match arg.to_str() {
                Some("--quick") => out.quick = true,
                Some("--data") => out.data = Some(crate::flag_value("--data", &mut it)?.into()),
                _ => bail!("`bench` does not understand {arg:?} (expected --data DIR, --quick)"),
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
    let data = args.data.unwrap_or_else(|| default_data_dir(root));
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
    .arg(&data);
    if args.quick {
        c.arg("--quick");
    }
    eprintln!("==> bench: {}", cmd::display(&c));
    cmd::run(&mut c)
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
                quick: true
            }
        );
        let b = Args::parse(&os(&["--data", "/tmp/d"])).unwrap();
        assert_eq!(
            b,
            Args {
                data: Some("/tmp/d".into()),
                quick: false
            }
        );
        assert_eq!(Args::parse(&[]).unwrap(), Args::default());
    }

    #[test]
    fn parse_rejects_unknown_flags_and_missing_values() {
        assert!(Args::parse(&os(&["--fast"])).is_err());
        assert!(Args::parse(&os(&["--data"])).is_err());
    }
}

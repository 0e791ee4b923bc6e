//! strata-benches: end-to-end and peer benchmarks for Strata, run on real data.
//!
//! Not a test suite and not criterion: kernels have criterion benches in their own crates. This
//! crate measures Strata against its peers (pco, Parquet via the `parquet` crate, and Vortex files
//! in the segment suite with the cargo feature `vortex`, off by default) **on the same values in
//! the same run** and reports sizes, throughputs and ratios. It sits outside the
//! stack and may depend on any crate in it.
//!
//! The harness is a library of [`Suite`]s plus a small binary:
//!
//! ```text
//! cargo run --release -p strata-benches -- [--data DIR] [--quick] [--suite NAME] [--out DIR]
//!
//!   data dir (shared/data layout) ──> data::* loaders ──> Suite::run ──> SuiteOutput
//!                                                                          │
//!                     stdout (markdown) + <out>/<suite>.md + <out>/<suite>.json
//! ```
//!
//! A suite reads what it needs from [`BenchContext::data_dir`]; files that are missing are
//! skipped with a notice, never a crash. `--quick` asks suites for fewer repetitions and at most
//! [`QUICK_MAX_VALUES`] values per input.
//!
//! Suites today: [`codec::CodecSuite`] (bits per value and encode/decode throughput of Strata's
//! codec against pco and Parquet, plus decode-kernel microbenchmarks),
//! [`segment::SegmentSuite`] (whole tables as Strata segments against Parquet: size, write and
//! full-read throughput), [`scan::ScanSuite`] (predicate scans against parquet-rs) and
//! [`compaction::CompactionSuite`] (the compactor's merge throughput, peak memory and reader
//! latency during a merge) and [`sql::SqlSuite`] (the TPC-H queries through DataFusion over
//! Parquet and over Strata tables). To add one, implement
//! [`Suite`] in its own module and list it in [`suites`].
#![forbid(unsafe_code)]

pub mod codec;
pub mod compaction;
pub mod data;
pub mod error;
pub mod heap;
pub mod measure;
pub mod peers;
pub mod report;
pub mod scan;
pub mod segment;
pub mod sql;

pub use error::{BenchError, Result};

use std::path::{Path, PathBuf};

/// Most values per input under `--quick`.
pub const QUICK_MAX_VALUES: usize = 200_000;

/// Repetitions per measurement in a full run (the median is reported).
pub const FULL_REPETITIONS: usize = 5;

/// Repetitions per measurement under `--quick`.
pub const QUICK_REPETITIONS: usize = 3;

/// What every suite is given: where the data is, where results go, and how thorough to be.
#[derive(Debug, Clone)]
pub struct BenchContext {
    /// A directory laid out like `shared/data` (see its README.md).
    pub data_dir: PathBuf,
    /// Where `<suite>.json` and `<suite>.md` are written.
    pub out_dir: PathBuf,
    /// Fewer repetitions and smaller inputs, for a run of a minute or two.
    pub quick: bool,
    /// An object-store URL (`s3://bucket/prefix`, configured from the `AWS_*` environment
    /// variables, or `memory://name`) where the `sql` suite also loads its tables, to query
    /// them there beside the local ones; `None`: local tables only.
    pub store: Option<String>,
}

impl BenchContext {
    /// Repetitions per measurement; the reported figure is their median.
    pub fn repetitions(&self) -> usize {
        if self.quick {
            QUICK_REPETITIONS
        } else {
            FULL_REPETITIONS
        }
    }

    /// Shortest duration of one timed run: quick operations are repeated within a run until it
    /// lasts about this long.
    pub fn min_run_secs(&self) -> f64 {
        if self.quick { 0.03 } else { 0.1 }
    }

    /// The most values a suite should take from one input, if limited.
    pub fn max_values(&self) -> Option<usize> {
        self.quick.then_some(QUICK_MAX_VALUES)
    }
}

/// What a suite produced: a human-readable report and the same results as JSON.
#[derive(Debug, Clone)]
pub struct SuiteOutput {
    /// Markdown, printed to stdout and written to `<out>/<suite>.md`.
    pub markdown: String,
    /// Machine-readable results, written to `<out>/<suite>.json`.
    pub json: serde_json::Value,
}

/// One benchmark suite.
pub trait Suite {
    /// Short stable name, used for `--suite` and the output file names.
    fn name(&self) -> &'static str;
    /// Runs the suite. Errors that concern one input should be reported inside the output and
    /// the suite should go on; an `Err` means the suite as a whole could not run.
    fn run(&self, ctx: &BenchContext) -> Result<SuiteOutput>;
}

/// Every suite, in the order `cargo xtask bench` runs them.
pub fn suites() -> Vec<Box<dyn Suite>> {
    vec![
        Box::new(codec::CodecSuite),
        Box::new(segment::SegmentSuite),
        Box::new(scan::ScanSuite),
        Box::new(compaction::CompactionSuite),
        Box::new(sql::SqlSuite),
    ]
}

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The data directory used when neither `--data` nor `STRATA_DATA_DIR` is given:
/// `../shared/data` relative to the workspace root.
pub fn default_data_dir() -> PathBuf {
    workspace_root().join("..").join("shared").join("data")
}

/// The default output directory, `<workspace>/target/bench`.
pub fn default_out_dir() -> PathBuf {
    workspace_root().join("target").join("bench")
}

/// Runs one suite and writes `<out>/<name>.md` and `<out>/<name>.json`.
pub fn run_and_write(suite: &dyn Suite, ctx: &BenchContext) -> Result<SuiteOutput> {
    let out = suite.run(ctx)?;
    std::fs::create_dir_all(&ctx.out_dir).map_err(|e| BenchError::io(&ctx.out_dir, e))?;
    let md_path = ctx.out_dir.join(format!("{}.md", suite.name()));
    std::fs::write(&md_path, &out.markdown).map_err(|e| BenchError::io(&md_path, e))?;
    let json_path = ctx.out_dir.join(format!("{}.json", suite.name()));
    let json = serde_json::to_string_pretty(&out.json)?;
    std::fs::write(&json_path, json).map_err(|e| BenchError::io(&json_path, e))?;
    Ok(out)
}

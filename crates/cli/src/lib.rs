//! The `strata` command-line tool as a library: what each command does, callable from Rust.
//!
//! The `strata` binary parses its arguments and calls these modules; other tools (the benchmark
//! suites) call them directly so that they load tables exactly as a user's `strata ingest` does.
//!
//! * [`ingest`]: CSV, JSON, Parquet and Arrow IPC files into a table, in one transaction.
//! * [`inspect`]: describing, verifying and recovering tables and segment files.
//! * [`output`]: printing rows and compaction reports, and ending quietly on a closed pipe.
//! * [`sql`]: SQL over Strata tables and plain files, with DataFusion.
//! * [`demo`]: the generated multi-host metrics workload.

pub mod demo;
pub mod ingest;
pub mod inspect;
pub mod output;
pub mod sql;

/// Output format of `scan`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns.
    Table,
    /// CSV with a header.
    Csv,
    /// One JSON object per line.
    Json,
}

/// The error and its causes on one line (each cause once), as the commands print it.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string().replace('\n', " ");
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}

//! `strata`: the command-line tool of the Strata storage engine.
//!
//! Exit codes: 0 success; 1 an error (one line on stderr, `error: …`); 2 bad usage (clap); 3 the
//! table is locked by another writer. A reader that closes stdout early (`strata scan … | head`)
//! is not an error: the command stops writing and exits 0 (`verify` still exits 1 on a bad
//! segment).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use strata_cli::{Format, demo, ingest, inspect, one_line, output, sql};

/// Strata: an embeddable columnar storage engine for time-series and analytics tables.
///
/// Exit codes: 0 success, 1 error, 2 bad usage, 3 table locked by another writer.
#[derive(Debug, Parser)]
#[command(
    name = "strata",
    version,
    about,
    long_about = None,
    after_help = "Exit codes: 0 success, 1 error, 2 bad usage, 3 table locked by another writer."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load CSV or JSON (plain or .gz), Parquet or Arrow IPC files into a table (created if
    /// missing).
    Ingest(ingest::IngestArgs),
    /// Print rows of a table.
    Scan(ScanArgs),
    /// Describe a table (partitions, segments, dead space) or one segment file.
    Inspect {
        /// A table (a directory or a URL) or a segment file.
        path: PathBuf,
    },
    /// Read every segment of a table and check it against the manifest; report damage,
    /// discarded records and quarantined files (exit code 1 if any). Read-only.
    Verify {
        /// The table: a directory, or a URL (file:///path, s3://bucket/prefix).
        table: PathBuf,
    },
    /// Open a table whose manifest or log is damaged, and report exactly what was discarded
    /// and set aside. Without --point-in-time only an incomplete last record is discarded.
    Recover {
        /// The table: a directory, or a URL (file:///path, s3://bucket/prefix).
        table: PathBuf,
        /// Accept losing everything from the first damaged record on (of the manifest and of
        /// the log): recover to the last intact point in time.
        #[arg(long)]
        point_in_time: bool,
    },
    /// Compact every partition now: one segment each, deleted rows dropped.
    Compact {
        /// The table: a directory, or a URL (file:///path, s3://bucket/prefix).
        table: PathBuf,
        /// Set the table's compression (`balanced` or `small`, see `strata ingest --help`) and
        /// rewrite every segment with it, partitions already at one segment included.
        #[arg(long, value_enum, value_name = "LEVEL")]
        compression: Option<ingest::CompressionArg>,
    },
    /// Delete the rows matching a predicate.
    Delete {
        /// The table: a directory, or a URL (file:///path, s3://bucket/prefix).
        table: PathBuf,
        /// The predicate, e.g. "host = 'a' AND ts < 1000".
        #[arg(long = "where", value_name = "EXPR")]
        predicate: String,
    },
    /// Generate a multi-host metrics workload, ingest it, query it and print a report.
    Demo(demo::DemoArgs),
    /// Run SQL (DataFusion) over tables and files.
    ///
    /// `--table NAME=LOCATION` (a directory or an `s3://` URL) registers a table (writable); tables in subdirectories of the current
    /// directory are registered read-only under their directory names. Without a query, opens a
    /// prompt with history (~/.strata_history), or reads `;`-terminated statements from stdin.
    Sql(sql::SqlArgs),
}

#[derive(Debug, clap::Args)]
struct ScanArgs {
    /// The table: a directory, or a URL (file:///path, s3://bucket/prefix).
    table: PathBuf,
    /// Keep rows where this predicate is true.
    #[arg(long = "where", value_name = "EXPR")]
    predicate: Option<String>,
    /// Comma-separated columns to print.
    #[arg(long, value_delimiter = ',')]
    columns: Option<Vec<String>>,
    /// Print at most this many rows.
    #[arg(long)]
    limit: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Print scan statistics (segments and blocks pruned, bytes read) on stderr.
    #[arg(long)]
    stats: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of stdout has gone (`… | head`): it has every line it wanted.
        Err(e) if output::is_closed_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let locked = e
                .downcast_ref::<strata::TableError>()
                .is_some_and(|t| matches!(t, strata::TableError::Locked { .. }));
            eprintln!("error: {}", one_line(&e));
            if locked {
                ExitCode::from(3)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Names `--where` in a predicate error, so the message says which input is wrong.
fn where_context(e: strata::TableError, predicate: &Option<String>) -> anyhow::Error {
    match (&e, predicate) {
        (strata::TableError::Predicate(_), Some(p)) => {
            anyhow::Error::new(e).context(format!("--where {p:?}"))
        }
        _ => e.into(),
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Ingest(args) => ingest::run(&args),
        Command::Scan(args) => {
            let (table, _) = inspect::open_read_only(&args.table)?;
            let mut scan = table.scan();
            if let Some(p) = &args.predicate {
                scan = scan.filter(p.clone());
            }
            if let Some(c) = &args.columns {
                scan = scan.columns(c.clone());
            }
            let mut it = scan
                .execute()
                .map_err(|e| where_context(e, &args.predicate))?;
            let mut out = std::io::stdout().lock();
            // A closed pipe ends the scan here, as a limit would: no more rows are decoded, and
            // the table is closed as usual.
            output::until_closed(output::print(&mut it, args.limit, args.format, &mut out))?;
            if args.stats {
                let s = it.stats();
                eprintln!(
                    "segments {} (pruned {}), blocks {} (pruned {}, decoded {}), bytes read {}, rows matched {}",
                    s.segments_total,
                    s.segments_pruned,
                    s.blocks_total,
                    s.blocks_pruned,
                    s.blocks_decoded,
                    s.bytes_read,
                    s.rows_matched
                );
            }
            table.close()?;
            Ok(())
        }
        Command::Inspect { path } => inspect::inspect(&path, &mut std::io::stdout().lock()),
        Command::Verify { table } => {
            // Its exit code is the verdict, so a closed pipe must not cut the checks short.
            let mut out = output::UntilClosed::new(std::io::stdout().lock());
            inspect::verify(&table, &mut out)
        }
        Command::Recover {
            table,
            point_in_time,
        } => inspect::recover(&table, point_in_time, &mut std::io::stdout().lock()),
        Command::Delete { table, predicate } => {
            let t = inspect::open(&table)?;
            let n = t
                .delete(&predicate)
                .map_err(|e| where_context(e, &Some(predicate.clone())))?;
            t.close()?;
            writeln!(std::io::stdout().lock(), "deleted {n} rows")?;
            Ok(())
        }
        Command::Compact { table, compression } => {
            let t = inspect::open_for_compaction(&table)?;
            let before = t.state();
            let cycles = match compression {
                Some(c) => {
                    t.set_compression(c.into())?;
                    t.rewrite_now()?
                }
                None => t.compact_now()?,
            };
            let after = t.state();
            t.close()?;
            let out = &mut std::io::stdout().lock();
            output::print_compaction(out, &before, &after, &cycles)?;
            Ok(())
        }
        Command::Demo(args) => demo::run(&args, &mut std::io::stdout().lock()),
        Command::Sql(args) => sql::run(&args),
    }
}

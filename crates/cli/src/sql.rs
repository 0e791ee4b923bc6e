//! `strata sql`: SQL over Strata tables (and plain files) with DataFusion.
//!
//! Tables: each `--table NAME=DIR` is opened for writing (so `INSERT INTO NAME …` works) and
//! registered as NAME; then every subdirectory of the current directory that holds a Strata
//! table (a `data/` folder) and whose name is not taken is registered read-only under its
//! directory name. Files can be queried by path (`SELECT * FROM 'raw.parquet'`) or declared
//! with `CREATE EXTERNAL TABLE`, as in DataFusion.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow_array::RecordBatch;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::DFParser;
use strata::Table;
use strata_datafusion::StrataTable;

use crate::{Format, inspect, output};

#[derive(Debug, clap::Args)]
pub(crate) struct SqlArgs {
    /// Register the table in DIR as NAME, writable (repeatable). Tables in subdirectories of
    /// the current directory are registered read-only under their directory names.
    #[arg(long = "table", value_name = "NAME=DIR")]
    tables: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Statements to run (`;`-separated); without it, statements are read from stdin.
    query: Option<String>,
}

pub(crate) fn run(args: &SqlArgs) -> Result<()> {
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_information_schema(true))
        .enable_url_table();
    let mut tables: Vec<Arc<Table>> = Vec::new();
    let mut given: Vec<PathBuf> = Vec::new();
    for spec in &args.tables {
        let Some((name, dir)) = spec.split_once('=') else {
            bail!("--table {spec:?}: expected NAME=DIR");
        };
        let table = Arc::new(inspect::open(&PathBuf::from(dir))?);
        given.extend(std::fs::canonicalize(dir).ok());
        ctx.register_table(name, Arc::new(StrataTable::new(Arc::clone(&table))))
            .with_context(|| format!("--table {spec:?}"))?;
        tables.push(table);
    }
    register_current_dir(&ctx, &given, &mut tables)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut out = std::io::stdout().lock();
    let result = match &args.query {
        Some(q) => runtime.block_on(execute(&ctx, q, args.format, &mut out)),
        None => repl(&runtime, &ctx, args.format, &mut out),
    };
    for t in &tables {
        t.close()?;
    }
    result
}

/// Subdirectories of the current directory holding a table (other than the `given` ones),
/// read-only, by directory name.
fn register_current_dir(
    ctx: &SessionContext,
    given: &[PathBuf],
    tables: &mut Vec<Arc<Table>>,
) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(".") else {
        return Ok(());
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(strata::DATA_DIR).is_dir())
        .filter(|p| std::fs::canonicalize(p).is_ok_and(|c| !given.contains(&c)))
        .collect();
    dirs.sort();
    for dir in dirs {
        let Some(name) = dir.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        if ctx.table_exist(name.as_str()).unwrap_or(true) {
            continue;
        }
        let (table, _) = inspect::open_read_only(&dir)?;
        let table = Arc::new(table);
        ctx.register_table(
            name.as_str(),
            Arc::new(StrataTable::new(Arc::clone(&table))),
        )?;
        tables.push(table);
    }
    Ok(())
}

/// Runs every statement of `sql` in order, printing each result.
async fn execute(
    ctx: &SessionContext,
    sql: &str,
    format: Format,
    out: &mut dyn Write,
) -> Result<()> {
    let statements = DFParser::parse_sql(sql)?;
    for statement in statements {
        let plan = ctx.state().statement_to_plan(statement).await?;
        let batches = ctx.execute_logical_plan(plan).await?.collect().await?;
        print(&batches, format, out)?;
    }
    Ok(())
}

fn print(batches: &[RecordBatch], format: Format, out: &mut dyn Write) -> Result<()> {
    match format {
        Format::Table => {
            if batches.iter().any(|b| b.num_columns() > 0) {
                writeln!(
                    out,
                    "{}",
                    arrow_cast::pretty::pretty_format_batches(batches)?
                )?;
            }
        }
        Format::Csv | Format::Json => {
            let mut it = batches.iter().cloned().map(Ok);
            output::print(&mut it, None, format, out)?;
        }
    }
    Ok(())
}

/// Reads statements from stdin (each ends with `;`), running each as it completes. An error
/// is printed and the next statement runs; the command fails if any statement did.
fn repl(
    runtime: &tokio::runtime::Runtime,
    ctx: &SessionContext,
    format: Format,
    out: &mut dyn Write,
) -> Result<()> {
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    let prompt = |pending: &str| {
        if interactive {
            eprint!(
                "{}",
                if pending.is_empty() {
                    "strata> "
                } else {
                    "   ...> "
                }
            );
        }
    };
    let mut pending = String::new();
    let mut failed = 0usize;
    prompt(&pending);
    for line in stdin.lock().lines() {
        let line = line?;
        pending.push_str(&line);
        pending.push('\n');
        if line.trim_end().ends_with(';') {
            let sql = std::mem::take(&mut pending);
            if let Err(e) = runtime.block_on(execute(ctx, &sql, format, out)) {
                if output::is_closed_pipe(&e) {
                    return Ok(());
                }
                eprintln!("error: {}", crate::one_line(&e));
                failed += 1;
            }
        }
        prompt(&pending);
    }
    if !pending.trim().is_empty()
        && let Err(e) = runtime.block_on(execute(ctx, &pending, format, out))
    {
        eprintln!("error: {}", crate::one_line(&e));
        failed += 1;
    }
    if failed > 0 {
        bail!("{failed} statement(s) failed");
    }
    Ok(())
}

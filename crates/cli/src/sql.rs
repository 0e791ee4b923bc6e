//! `strata sql`: SQL over Strata tables (and plain files) with DataFusion.
//!
//! Tables: each `--table NAME=LOCATION` (a directory or an `s3://` URL) is opened for writing (so `INSERT INTO NAME …` works) and
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

/// Arguments of `strata sql`.
#[derive(Debug, clap::Args)]
pub struct SqlArgs {
    /// Register the table at LOCATION (a directory, or a URL: file:///path,
    /// s3://bucket/prefix) as NAME, writable (repeatable). Tables in subdirectories of
    /// the current directory are registered read-only under their directory names.
    #[arg(long = "table", value_name = "NAME=LOCATION")]
    tables: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Statements to run (`;`-separated); without it, a prompt on a terminal, else statements from stdin.
    query: Option<String>,
}

/// `strata sql`: runs the query (or the statements read from stdin) and prints the results.
pub fn run(args: &SqlArgs) -> Result<()> {
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_information_schema(true))
        .enable_url_table();
    let mut tables: Vec<Arc<Table>> = Vec::new();
    let mut given: Vec<PathBuf> = Vec::new();
    for spec in &args.tables {
        let Some((name, dir)) = spec.split_once('=') else {
            bail!("--table {spec:?}: expected NAME=LOCATION (a directory or a URL)");
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
/// read-only, by directory name. A subdirectory that looks like a table but does not open (a
/// folder of someone else's with a `data/` folder in it, a table being created) is left out
/// with a one-line notice on stderr: it must not stop a query on the tables that do open.
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
        let table = match inspect::open_read_only(&dir) {
            Ok((table, _)) => Arc::new(table),
            Err(e) => {
                eprintln!(
                    "note: {} is not registered as table {name:?}: {e:#}",
                    dir.display()
                );
                continue;
            }
        };
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
/// is printed and the next statement runs; the command fails if any statement did. On a
/// terminal the prompt is a line editor with history (kept in `~/.strata_history`).
fn repl(
    runtime: &tokio::runtime::Runtime,
    ctx: &SessionContext,
    format: Format,
    out: &mut dyn Write,
) -> Result<()> {
    let mut session = Session {
        runtime,
        ctx,
        format,
        pending: String::new(),
        failed: 0,
    };
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        interactive(&mut session, out)?;
    } else {
        for line in stdin.lock().lines() {
            if !session.line(&line?, out) {
                return Ok(());
            }
        }
    }
    session.finish(out)
}

/// The prompt on a terminal: rustyline, with the history of earlier sessions.
fn interactive(session: &mut Session<'_>, out: &mut dyn Write) -> Result<()> {
    use rustyline::error::ReadlineError;
    let mut editor = rustyline::DefaultEditor::new().context("starting the prompt")?;
    let history = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".strata_history"));
    if let Some(h) = &history {
        // No history yet is not an error.
        let _ = editor.load_history(h);
    }
    loop {
        let prompt = if session.pending.is_empty() {
            "strata> "
        } else {
            "   ...> "
        };
        match editor.readline(prompt) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                if !session.line(&line, out) {
                    break;
                }
            }
            // Ctrl-C drops the statement being typed; Ctrl-D ends the session.
            Err(ReadlineError::Interrupted) => session.pending.clear(),
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e).context("reading the prompt"),
        }
    }
    if let Some(h) = &history
        && let Err(e) = editor.save_history(h)
    {
        eprintln!(
            "warning: could not save the history to {}: {e}",
            h.display()
        );
    }
    Ok(())
}

/// Statements being read, and how many failed.
struct Session<'a> {
    runtime: &'a tokio::runtime::Runtime,
    ctx: &'a SessionContext,
    format: Format,
    pending: String,
    failed: usize,
}

impl Session<'_> {
    /// Adds a line; runs the statement it completes. `false` when stdout has closed.
    fn line(&mut self, line: &str, out: &mut dyn Write) -> bool {
        self.pending.push_str(line);
        self.pending.push('\n');
        if !line.trim_end().ends_with(';') {
            return true;
        }
        let sql = std::mem::take(&mut self.pending);
        self.run(&sql, out)
    }

    fn run(&mut self, sql: &str, out: &mut dyn Write) -> bool {
        match self
            .runtime
            .block_on(execute(self.ctx, sql, self.format, out))
        {
            Ok(()) => true,
            Err(e) if output::is_closed_pipe(&e) => false,
            Err(e) => {
                eprintln!("error: {}", crate::one_line(&e));
                self.failed += 1;
                true
            }
        }
    }

    /// Runs a last statement without its `;`; fails if any statement did.
    fn finish(mut self, out: &mut dyn Write) -> Result<()> {
        let rest = std::mem::take(&mut self.pending);
        if !rest.trim().is_empty() {
            self.run(&rest, out);
        }
        if self.failed > 0 {
            bail!("{} statement(s) failed", self.failed);
        }
        Ok(())
    }
}

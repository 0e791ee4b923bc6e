//! Printing record batches as a table, CSV or JSON lines.

use std::io::Write;

use anyhow::Result;
use arrow_array::{Array, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::DataType;

use crate::Format;

/// Whether `e` is a write to stdout after its reader went away (`strata scan … | head` closes the
/// pipe once it has its lines). The writer gets `EPIPE` (Rust ignores `SIGPIPE`), which is the
/// normal end of such a command, not an error.
pub fn is_closed_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// `r`, or `None` when it failed on a closed pipe ([`is_closed_pipe`]).
pub fn until_closed<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if is_closed_pipe(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A writer whose reader may go away before the command is done with its work (`verify`, whose
/// exit code is its verdict): after a closed pipe, it discards what is written instead of failing.
pub struct UntilClosed<W: Write> {
    inner: W,
    closed: bool,
}

impl<W: Write> UntilClosed<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            closed: false,
        }
    }
}

impl<W: Write> Write for UntilClosed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        match self.inner.write(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(buf.len())
            }
            r => r,
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.closed {
            return Ok(());
        }
        match self.inner.flush() {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            r => r,
        }
    }
}

/// Prints up to `limit` rows of `batches`.
pub fn print(
    batches: &mut dyn Iterator<Item = strata::Result<RecordBatch>>,
    limit: Option<usize>,
    format: Format,
    out: &mut dyn Write,
) -> Result<usize> {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut header: Option<Vec<String>> = None;
    let mut numeric: Vec<bool> = Vec::new();
    let mut printed = 0usize;
    let opts = FormatOptions::default().with_null("");
    for b in &mut *batches {
        let b = b?;
        if header.is_none() {
            let h: Vec<String> = b
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            numeric = b
                .schema()
                .fields()
                .iter()
                .map(|f| f.data_type().is_numeric())
                .collect();
            if matches!(format, Format::Csv) {
                writeln!(
                    out,
                    "{}",
                    h.iter().map(|s| csv_field(s)).collect::<Vec<_>>().join(",")
                )?;
            }
            header = Some(h);
        }
        let fmts = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
            .collect::<Result<Vec<_>, _>>()?;
        for r in 0..b.num_rows() {
            if limit.is_some_and(|l| printed >= l) {
                break;
            }
            let cells: Vec<String> = fmts.iter().map(|f| f.value(r).to_string()).collect();
            match format {
                Format::Table => rows.push(cells),
                Format::Csv => {
                    writeln!(
                        out,
                        "{}",
                        cells
                            .iter()
                            .map(|s| csv_field(s))
                            .collect::<Vec<_>>()
                            .join(",")
                    )?;
                }
                Format::Json => {
                    let h = header.as_deref().unwrap_or_default();
                    let fields: Vec<String> = cells
                        .iter()
                        .enumerate()
                        .map(|(i, v)| {
                            let col = b.column(i);
                            let name = json_string(h.get(i).map_or("", String::as_str));
                            let value = if col.is_null(r) {
                                "null".to_string()
                            } else if (numeric.get(i).copied().unwrap_or(false)
                                && v.parse::<f64>().is_ok_and(f64::is_finite))
                                || matches!(col.data_type(), DataType::Boolean)
                            {
                                v.clone()
                            } else {
                                json_string(v)
                            };
                            format!("{name}:{value}")
                        })
                        .collect();
                    writeln!(out, "{{{}}}", fields.join(","))?;
                }
            }
            printed += 1;
        }
        if limit.is_some_and(|l| printed >= l) {
            break;
        }
    }
    if matches!(format, Format::Table) {
        let header = header.unwrap_or_default();
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for r in &rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cells: &[String], out: &mut dyn Write| -> std::io::Result<()> {
            let parts: Vec<String> = cells
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (c, w))| {
                    if numeric.get(i).copied().unwrap_or(false) {
                        format!("{c:>w$}")
                    } else {
                        format!("{c:<w$}")
                    }
                })
                .collect();
            writeln!(out, "{}", parts.join("  ").trim_end())
        };
        line(&header, out)?;
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        writeln!(out, "{}", rule.join("  "))?;
        for r in &rows {
            line(r, out)?;
        }
        writeln!(out, "({printed} rows)")?;
    }
    out.flush()?;
    Ok(printed)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What a compaction did, for `strata compact` and the demo: segments and rows before and after,
/// and one line per cycle.
pub fn print_compaction(
    out: &mut dyn Write,
    before: &strata::TableState,
    after: &strata::TableState,
    cycles: &[strata::CycleReport],
) -> Result<()> {
    let (b, a) = (before.dead_space(), after.dead_space());
    writeln!(
        out,
        "segments {} -> {}, bytes {} -> {}, deleted rows {} -> {}",
        before.segments().count(),
        after.segments().count(),
        b.total_bytes,
        a.total_bytes,
        b.rows,
        a.rows
    )?;
    for c in cycles {
        print_cycle(out, c)?;
    }
    Ok(())
}

/// One compaction cycle on one line.
pub fn print_cycle(out: &mut dyn Write, c: &strata::CycleReport) -> Result<()> {
    writeln!(
        out,
        "  partition {}: {} segments -> {}, rows {} - {} deleted = {}, bytes {} -> {} \
         (write amplification {:.2}), {:.3}s ({})",
        // As `inspect` and the table directory name it (`part-all` for a table of one
        // partition, not its start at the beginning of time).
        strata::stack::registry::partition_dir_name(c.partition),
        c.segments_in,
        c.segments_out,
        c.rows_in,
        c.rows_deleted,
        c.rows_out,
        c.bytes_in,
        c.bytes_written,
        c.write_amplification(),
        c.duration.as_secs_f64(),
        c.reason
    )?;
    Ok(())
}

//! `strata inspect` and `strata verify`, and opening a table for a command.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use strata::{LocalFs, Segment, Table, TableOptions};

/// Opens an existing table for a command (taking its lock).
pub(crate) fn open(dir: &Path) -> Result<Table> {
    if !dir.join(strata::DATA_DIR).is_dir() {
        bail!(
            "{} is not a strata table (no {}/ folder)",
            dir.display(),
            strata::DATA_DIR
        );
    }
    let (t, _) = Table::open(dir, TableOptions::default())
        .with_context(|| format!("opening table {}", dir.display()))?;
    Ok(t)
}

/// Describes a table or a segment file.
pub(crate) fn inspect(path: &Path, out: &mut dyn Write) -> Result<()> {
    if path.is_file() {
        let seg = Segment::open(&LocalFs, path)
            .with_context(|| format!("reading segment {}", path.display()))?;
        let footer = seg.footer();
        writeln!(out, "segment {}", path.display())?;
        writeln!(out, "  format version  {:?}", seg.version())?;
        writeln!(out, "  rows            {}", seg.num_rows())?;
        writeln!(out, "  columns         {}", seg.num_columns())?;
        writeln!(out, "  footer offset   {}", seg.footer_offset())?;
        for (i, f) in seg.schema().fields.iter().enumerate() {
            let bytes: u64 = footer
                .columns
                .get(i)
                .map_or(0, |c| c.blocks.iter().map(|b| u64::from(b.len)).sum());
            writeln!(
                out,
                "  column {:<16} {:<24} {:>10} bytes",
                f.name,
                format!("{:?}", f.data_type),
                bytes
            )?;
        }
        return Ok(());
    }
    let table = open(path)?;
    let state = table.state();
    let dead = state.dead_space();
    writeln!(out, "table {}", path.display())?;
    writeln!(out, "  manifest version {}", state.version)?;
    writeln!(
        out,
        "  time column      {} ({:?})",
        state.config.time_column, state.config.partitioning
    )?;
    writeln!(out, "  schema v{}", state.schema.version)?;
    for c in &state.schema.columns {
        writeln!(
            out,
            "    {:<20} {:?}{}",
            c.field.name,
            c.field.data_type,
            if c.field.nullable { "" } else { " not null" }
        )?;
    }
    writeln!(
        out,
        "  sort key         {}",
        state.schema.sort_key.join(", ")
    )?;
    writeln!(
        out,
        "  rows             {} ({} deleted)",
        dead.total_rows, dead.rows
    )?;
    writeln!(out, "  bytes            {}", dead.total_bytes)?;
    writeln!(out, "  partitions       {}", state.partitions.len())?;
    for p in state.partitions.values() {
        let rows: u64 = p.segments.values().map(|s| s.rows).sum();
        let bytes: u64 = p.segments.values().map(|s| s.bytes).sum();
        writeln!(
            out,
            "    {} [{}, {}) {:?}: {} segments, {} rows, {} bytes",
            p.dir_name(),
            p.start,
            p.end,
            p.state,
            p.segments.len(),
            rows,
            bytes
        )?;
    }
    table.close()?;
    Ok(())
}

/// Reads every segment fully and compares it with the manifest.
pub(crate) fn verify(dir: &Path, out: &mut dyn Write) -> Result<()> {
    let table = open(dir)?;
    let state = table.state();
    let mut problems = 0usize;
    let mut segments = 0usize;
    for s in state.segments() {
        segments += 1;
        let path = dir.join(strata::DATA_DIR).join(&s.file);
        let result = Segment::open(&LocalFs, &path).and_then(|seg| seg.read_all());
        match result {
            Ok(b) if b.num_rows() as u64 == s.rows => {}
            Ok(b) => {
                problems += 1;
                writeln!(
                    out,
                    "segment {}: {} rows, the manifest says {}",
                    s.file,
                    b.num_rows(),
                    s.rows
                )?;
            }
            Err(e) => {
                problems += 1;
                writeln!(out, "segment {}: {e}", s.file)?;
            }
        }
    }
    table.close()?;
    if problems > 0 {
        bail!("{problems} of {segments} segments failed verification");
    }
    writeln!(
        out,
        "ok: {segments} segments, {} rows",
        state.dead_space().total_rows
    )?;
    Ok(())
}

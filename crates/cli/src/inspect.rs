//! `strata inspect`, `strata verify` and `strata recover`, and opening a table for a command.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use strata::stack::format::{ColumnMeta, ColumnStats, ScalarValue};
use strata::{DeviceBandwidth, LocalFs, OpenReport, RecoveryMode, Segment, Table, TableOptions};

/// Opens an existing table to read it: no lock, nothing written, safe beside a writer.
pub fn open_read_only(dir: &Path) -> Result<(Table, OpenReport)> {
    check_table_dir(dir)?;
    Table::open_read_only(dir, TableOptions::default())
        .with_context(|| format!("opening table {}", dir.display()))
}

/// Opens an existing table for a command that writes (taking its lock).
pub fn open(dir: &Path) -> Result<Table> {
    check_table_dir(dir)?;
    // A short-lived command: no background compactor, and no bandwidth probe (nothing of
    // this process compacts).
    let options = TableOptions::default()
        .background_compaction(false)
        .device_bandwidth(DeviceBandwidth::BytesPerSec(DEFAULT_DEVICE_BYTES_PER_SEC));
    let (t, _) =
        Table::open(dir, options).with_context(|| format!("opening table {}", dir.display()))?;
    Ok(t)
}

/// Nominal device bandwidth for commands that do not compact.
pub const DEFAULT_DEVICE_BYTES_PER_SEC: u64 = 200_000_000;

/// Opens a table to compact it on this thread (the I/O budget comes from a measured device
/// bandwidth).
pub fn open_for_compaction(dir: &Path) -> Result<Table> {
    check_table_dir(dir)?;
    let options = TableOptions::default().background_compaction(false);
    let (t, _) =
        Table::open(dir, options).with_context(|| format!("opening table {}", dir.display()))?;
    Ok(t)
}

fn check_table_dir(dir: &Path) -> Result<()> {
    if !Table::exists(dir).with_context(|| format!("checking table {}", dir.display()))? {
        bail!(
            "{} is not a strata table (no {}/ folder)",
            dir.display(),
            strata::DATA_DIR
        );
    }
    Ok(())
}

/// Describes a table or a segment file.
pub fn inspect(path: &Path, out: &mut dyn Write) -> Result<()> {
    if path.is_file() {
        return inspect_segment(path, out);
    }
    let (table, report) = open_read_only(path)?;
    let state = table.state();
    let dead = state.dead_space();
    writeln!(out, "table {}", path.display())?;
    writeln!(out, "  manifest version {}", state.version)?;
    if table.buffered_rows() > 0 {
        writeln!(
            out,
            "  in the log       {} rows (not yet in segments)",
            table.buffered_rows()
        )?;
    }
    for line in damage_lines(path, &report)? {
        writeln!(out, "  warning          {line}")?;
    }
    writeln!(
        out,
        "  time column      {} ({:?})",
        state.config.time_column().unwrap_or("none"),
        state.config.partitioning
    )?;
    writeln!(out, "  compression      {}", state.compression)?;
    writeln!(out, "  schema v{}", state.schema.version)?;
    for c in &state.schema.columns {
        writeln!(
            out,
            "    {:<20} {}{}",
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
            bound(p.start),
            bound(p.end),
            p.state,
            p.segments.len(),
            rows,
            bytes
        )?;
        for seg in p.segments.values() {
            writeln!(
                out,
                "      {}: {} rows ({} deleted), {} bytes, time [{}, {}]",
                seg.file,
                seg.rows,
                seg.deleted_rows(),
                seg.bytes,
                seg.min_ts,
                seg.max_ts
            )?;
        }
    }
    // Per column over every segment: bytes on disk and the encodings the blocks chose.
    let mut columns: Vec<ColumnSummary> = Vec::new();
    for entry in state.segments() {
        let file = table.registry().path_of(&entry.file);
        let seg = Segment::open(table.registry().fs().as_ref(), &file).with_context(|| {
            format!(
                "reading segment {}",
                path.join(strata::DATA_DIR).join(&entry.file).display()
            )
        })?;
        for (f, c) in seg.schema().fields.iter().zip(&seg.footer().columns) {
            let i = match columns.iter().position(|s| s.name == f.name) {
                Some(i) => i,
                None => {
                    columns.push(ColumnSummary {
                        name: f.name.clone(),
                        ..ColumnSummary::default()
                    });
                    columns.len() - 1
                }
            };
            if let Some(s) = columns.get_mut(i) {
                s.add(c);
            }
        }
    }
    if !columns.is_empty() {
        writeln!(out, "  columns (all segments)")?;
        let mut rows = vec![[
            "column".to_string(),
            "blocks".into(),
            "bytes".into(),
            "nulls".into(),
            "encodings (share of blocks)".into(),
        ]];
        for c in &columns {
            rows.push([
                c.name.clone(),
                c.blocks.to_string(),
                c.bytes.to_string(),
                c.nulls.to_string(),
                c.encodings(),
            ]);
        }
        write_aligned(out, "    ", &rows, |j| (1..=3).contains(&j))?;
    }
    table.close()?;
    Ok(())
}

/// One column's blocks, bytes, nulls and encodings, summed over segments.
#[derive(Debug, Default)]
struct ColumnSummary {
    name: String,
    blocks: usize,
    bytes: u64,
    nulls: u64,
    /// Cascade and number of blocks, in order of first use.
    cascades: Vec<(String, usize)>,
}

impl ColumnSummary {
    fn add(&mut self, c: &ColumnMeta) {
        self.blocks += c.blocks.len();
        self.bytes += c.blocks.iter().map(|b| u64::from(b.len)).sum::<u64>();
        self.nulls += c.stats.null_count;
        for b in &c.blocks {
            match self
                .cascades
                .iter_mut()
                .find(|(name, _)| name.as_str() == &*b.cascade)
            {
                Some((_, n)) => *n += 1,
                None => self.cascades.push((b.cascade.to_string(), 1)),
            }
        }
    }

    /// The [`TOP_CASCADES`] most used cascades with their share of the column's blocks, most
    /// used first (ties in order of first use), then `+N more` for the rest: a column can use
    /// hundreds of distinct cascades, and a line that lists them all is unreadable.
    fn encodings(&self) -> String {
        let mut c: Vec<&(String, usize)> = self.cascades.iter().collect();
        c.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
        let total = self.blocks.max(1) as f64;
        let mut parts: Vec<String> = c
            .iter()
            .take(TOP_CASCADES)
            .map(|(name, n)| format!("{name} {:.0}%", 100.0 * *n as f64 / total))
            .collect();
        if c.len() > TOP_CASCADES {
            parts.push(format!("+{} more", c.len() - TOP_CASCADES));
        }
        parts.join(", ")
    }
}

/// Cascades `inspect` names per column; the rest are counted.
const TOP_CASCADES: usize = 3;

/// Writes rows as aligned columns after `indent`; columns where `right(j)` is true are
/// right-aligned.
fn write_aligned<const N: usize>(
    out: &mut dyn Write,
    indent: &str,
    rows: &[[String; N]],
    right: impl Fn(usize) -> bool,
) -> Result<()> {
    let mut widths = [0usize; N];
    for r in rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for r in rows {
        let mut line = String::from(indent);
        for (j, (cell, w)) in r.iter().zip(widths).enumerate() {
            if right(j) {
                line.push_str(&format!("{cell:>w$}  "));
            } else {
                line.push_str(&format!("{cell:<w$}  "));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// What opening found discarded or set aside, one line each: the manifest and log bytes
/// that a reader would skip (an incomplete last record), and files in the quarantine folder.
fn damage_lines(dir: &Path, report: &OpenReport) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    if let Some(t) = &report.registry.torn_tail_discarded {
        lines.push(format!(
            "the manifest log ends in {} bytes of an incomplete record at offset {} (a commit \
             that never completed; the next writer discards it)",
            t.bytes, t.offset
        ));
    }
    for d in &report.wal_discarded {
        lines.push(format!(
            "{} ends in {} bytes of an incomplete record at offset {}",
            d.path.display(),
            d.bytes,
            d.offset
        ));
    }
    let qdir = dir.join(strata::DATA_DIR).join(strata::QUARANTINE_DIR);
    if qdir.is_dir() {
        let mut names: Vec<String> = std::fs::read_dir(&qdir)
            .with_context(|| format!("listing {}", qdir.display()))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        if !names.is_empty() {
            lines.push(format!(
                "{} files set aside by an earlier recovery in {} ({}): data that a damaged \
                 manifest or log may have referenced",
                names.len(),
                qdir.display(),
                names.join(", ")
            ));
        }
    }
    Ok(lines)
}

/// Reads every segment fully and compares it with the manifest; reports anything damaged,
/// discarded or quarantined. Read-only: safe while another process writes.
pub fn verify(dir: &Path, out: &mut dyn Write) -> Result<()> {
    let (table, report) = open_read_only(dir)?;
    let state = table.state();
    let mut problems = 0usize;
    let mut segments = 0usize;
    for s in state.segments() {
        segments += 1;
        let result = Segment::open(
            table.registry().fs().as_ref(),
            &table.registry().path_of(&s.file),
        )
        .and_then(|seg| seg.read_all());
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
    let damage = damage_lines(dir, &report)?;
    for line in &damage {
        writeln!(out, "warning: {line}")?;
    }
    table.close()?;
    if problems > 0 {
        bail!("{problems} of {segments} segments failed verification");
    }
    let quarantined = damage.iter().any(|l| l.contains("set aside"));
    if quarantined {
        bail!("the table holds quarantined files (see above)");
    }
    let dead = state.dead_space();
    writeln!(
        out,
        "ok: {segments} segments, {} rows ({} deleted), {} rows in the log",
        dead.total_rows,
        dead.rows,
        table.buffered_rows()
    )?;
    Ok(())
}

/// `strata recover`: opens the table as its writer and reports exactly what recovery kept,
/// discarded and set aside. Without `point_in_time` only an incomplete last record may be
/// discarded (the default open does the same); with it, everything from the first damaged
/// record of the manifest or the log on is discarded, knowingly.
pub fn recover(dir: &Path, point_in_time: bool, out: &mut dyn Write) -> Result<()> {
    check_table_dir(dir)?;
    let mode = if point_in_time {
        RecoveryMode::PointInTime
    } else {
        RecoveryMode::Strict
    };
    let options = TableOptions::default()
        .background_compaction(false)
        .device_bandwidth(DeviceBandwidth::BytesPerSec(DEFAULT_DEVICE_BYTES_PER_SEC))
        .recovery(mode);
    let (table, report) = Table::open(dir, options).with_context(|| {
        if point_in_time {
            format!("recovering table {}", dir.display())
        } else {
            format!(
                "recovering table {} (damage found: `strata recover --point-in-time` discards \
                 everything from it on)",
                dir.display()
            )
        }
    })?;
    let r = &report.registry;
    writeln!(out, "recovered table {}", dir.display())?;
    writeln!(
        out,
        "  manifest: checkpoint {} + {} records, version {}",
        r.checkpoint_generation,
        r.records_replayed,
        table.state().version
    )?;
    match &r.torn_tail_discarded {
        Some(t) if t.damaged => writeln!(
            out,
            "  manifest: DISCARDED a damaged record at offset {} and {} records after it ({} bytes)",
            t.offset, t.records_discarded, t.bytes
        )?,
        Some(t) => writeln!(
            out,
            "  manifest: discarded an incomplete last record at offset {} ({} bytes, never acknowledged)",
            t.offset, t.bytes
        )?,
        None => writeln!(out, "  manifest: intact")?,
    }
    writeln!(
        out,
        "  log: {} files, {} rows replayed",
        report.wal_files_replayed, report.wal_rows_replayed
    )?;
    for d in &report.wal_discarded {
        if d.damaged {
            writeln!(
                out,
                "  log: DISCARDED {} from offset {}: {} bytes, {} more records, {} rows",
                d.path.display(),
                d.offset,
                d.bytes,
                d.records,
                d.rows
            )?;
        } else {
            writeln!(
                out,
                "  log: discarded an incomplete last record of {} at offset {} ({} bytes, never acknowledged)",
                d.path.display(),
                d.offset,
                d.bytes
            )?;
        }
    }
    for p in r.quarantined.iter().chain(&report.wal_quarantined) {
        writeln!(out, "  quarantined {}", p.display())?;
    }
    writeln!(out, "  orphan files removed: {}", r.orphans_removed.len())?;
    table.close()?;
    Ok(())
}

/// Describes one segment file: its header facts, then per column the type, blocks, bytes,
/// nulls, value range and the encodings its blocks chose (most used first).
fn inspect_segment(path: &Path, out: &mut dyn Write) -> Result<()> {
    let seg = Segment::open(&LocalFs, path)
        .with_context(|| format!("reading segment {}", path.display()))?;
    let footer = seg.footer();
    writeln!(out, "segment {}", path.display())?;
    let v = seg.version();
    writeln!(out, "  format version  {}.{}", v.major, v.minor)?;
    writeln!(out, "  rows            {}", seg.num_rows())?;
    writeln!(out, "  block rows      {}", footer.block_rows)?;
    writeln!(out, "  columns         {}", seg.num_columns())?;
    writeln!(out, "  footer offset   {}", seg.footer_offset())?;
    if !footer.schema.sort_key.is_empty() {
        writeln!(
            out,
            "  sort key        {}",
            footer.schema.sort_key.join(", ")
        )?;
    }
    let mut rows = vec![[
        "column".to_string(),
        "type".into(),
        "blocks".into(),
        "bytes".into(),
        "nulls".into(),
        "min".into(),
        "max".into(),
        "encodings (share of blocks)".into(),
    ]];
    for (i, f) in seg.schema().fields.iter().enumerate() {
        let Some(c) = footer.columns.get(i) else {
            continue;
        };
        let mut summary = ColumnSummary::default();
        summary.add(c);
        let ty = if f.nullable {
            f.data_type.to_string()
        } else {
            format!("{} not null", f.data_type)
        };
        let (min, max) = bounds(&c.stats);
        rows.push([
            f.name.clone(),
            ty,
            summary.blocks.to_string(),
            summary.bytes.to_string(),
            summary.nulls.to_string(),
            min,
            max,
            summary.encodings(),
        ]);
    }
    write_aligned(out, "  ", &rows, |j| (2..=4).contains(&j))
}

/// A column's smallest and largest value as stored in the footer; `~` marks a bound that is
/// not itself a value (a truncated string prefix), `-` a column with no non-null value.
fn bounds(stats: &ColumnStats) -> (String, String) {
    let show = |v: &Option<ScalarValue>, exact: bool| match v {
        None => "-".to_string(),
        Some(v) if exact => v.to_string(),
        Some(v) => format!("~{v}"),
    };
    (
        show(&stats.min, stats.min_exact),
        show(&stats.max, stats.max_exact),
    )
}

/// A partition bound for people: the ends of time as `-inf` and `+inf`.
fn bound(t: i64) -> String {
    match t {
        i64::MIN => "-inf".into(),
        i64::MAX => "+inf".into(),
        t => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_name_the_top_cascades_with_shares_and_count_the_rest() {
        let mut c = ColumnSummary {
            blocks: 10,
            ..ColumnSummary::default()
        };
        for (name, n) in [("a", 1), ("b", 4), ("c", 2), ("d", 2), ("e", 1)] {
            c.cascades.push((name.to_string(), n));
        }
        assert_eq!(c.encodings(), "b 40%, c 20%, d 20%, +2 more");
        c.cascades.truncate(2);
        c.blocks = 5;
        assert_eq!(c.encodings(), "b 80%, a 20%");
    }
}

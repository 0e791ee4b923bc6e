//! Markdown tables, number formatting and the run's metadata (date, machine).

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// A markdown table built row by row.
#[derive(Debug, Clone, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headings.
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Self {
        Self {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells are left empty, extra cells are dropped.
    pub fn row(&mut self, cells: Vec<String>) {
        let mut cells = cells;
        cells.resize(self.header.len(), String::new());
        self.rows.push(cells);
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Renders GitHub-flavoured markdown; the first column is left-aligned, the rest right.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let line = |s: &mut String, cells: &[String]| {
            s.push('|');
            for c in cells {
                let _ = write!(s, " {} |", c.replace('|', "\\|"));
            }
            s.push('\n');
        };
        line(&mut s, &self.header);
        s.push('|');
        for i in 0..self.header.len() {
            s.push_str(if i == 0 { "---|" } else { "---:|" });
        }
        s.push('\n');
        for r in &self.rows {
            line(&mut s, r);
        }
        s
    }
}

/// A number with `decimals` places, or `—` when it is not finite.
pub fn num(x: f64, decimals: usize) -> String {
    if x.is_finite() {
        format!("{x:.decimals$}")
    } else {
        "—".to_string()
    }
}

/// A throughput: no decimals from 100 up, one below.
pub fn rate(x: f64) -> String {
    if x >= 100.0 { num(x, 0) } else { num(x, 1) }
}

/// Today's date (UTC), `YYYY-MM-DD`.
pub fn today_utc() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (y, m, d) = civil_from_days(i64::try_from(secs / 86_400).unwrap_or(0));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The machine: logical cores and, on Linux, the CPU model.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Machine {
    /// Logical cores available to this process.
    pub cores: usize,
    /// CPU model name, when /proc/cpuinfo tells it.
    pub cpu: Option<String>,
}

impl Machine {
    /// Looks at the current machine.
    pub fn detect() -> Self {
        let cores = std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1);
        let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        });
        Self { cores, cpu }
    }

    /// One-line description, e.g. `2 cores, AMD EPYC …`.
    pub fn describe(&self) -> String {
        match &self.cpu {
            Some(cpu) => format!("{} cores, {cpu}", self.cores),
            None => format!("{} cores", self.cores),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::days_from_civil;

    #[test]
    fn table_renders_header_alignment_and_padded_rows() {
        let mut t = Table::new(["a", "b", "c"]);
        t.row(vec!["x".into(), "1|2".into()]);
        assert_eq!(
            t.to_markdown(),
            "| a | b | c |\n|---|---:|---:|\n| x | 1\\|2 |  |\n"
        );
    }

    #[test]
    fn civil_from_days_inverts_days_from_civil() {
        for (y, m, d) in [(1970, 1, 1), (2000, 2, 29), (2024, 12, 31), (1969, 7, 20)] {
            assert_eq!(civil_from_days(days_from_civil(y, m, d)), (y, m, d));
        }
    }

    #[test]
    fn num_formats_non_finite_as_dash() {
        assert_eq!(num(f64::NAN, 2), "—");
        assert_eq!(num(1.234, 2), "1.23");
        assert_eq!(rate(1234.5), "1234");
        assert_eq!(rate(12.34), "12.3");
    }
}

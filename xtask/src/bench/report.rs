//! Assembling `docs/benchmarks.md` from the suites' `<out>/<suite>.json` and `<out>/<suite>.md`.
//!
//! The document is part generated, part hand-written. Generated text lives between marker lines
//!
//! ```text
//! <!-- bench:begin NAME -->
//! …
//! <!-- bench:end NAME -->
//! ```
//!
//! where NAME is `summary` (the "ratios first" table at the top) or a suite's name. Everything
//! outside the markers (set-up notes, the reading of the figures) is kept as it is. A region the
//! document lacks is added: the summary before the first `## ` section, a suite as a new section
//! at the end. A region whose suite has no results this time is left untouched.
//!
//! Everything here is a pure function over strings and JSON values, so it is unit-tested on
//! small fixtures.

use std::fmt::Write as _;

use anyhow::{Result, bail};
use serde_json::Value;

/// Suites in report order; others follow alphabetically.
const ORDER: &[&str] = &["codec", "segment", "scan", "compaction"];

/// The name of the summary region.
pub(crate) const SUMMARY: &str = "summary";

/// One suite's results, as read from `<out>/<name>.json` and `<out>/<name>.md`.
#[derive(Debug, Clone)]
pub(crate) struct SuiteResult {
    pub(crate) name: String,
    pub(crate) json: Value,
    pub(crate) markdown: String,
}

/// Sorts suites into report order.
pub(crate) fn sort_suites(suites: &mut [SuiteResult]) {
    let rank = |n: &str| ORDER.iter().position(|o| *o == n).unwrap_or(ORDER.len());
    suites.sort_by(|a, b| {
        rank(&a.name)
            .cmp(&rank(&b.name))
            .then_with(|| a.name.cmp(&b.name))
    });
}

/// One row of the summary table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SummaryRow {
    pub(crate) metric: String,
    pub(crate) strata: String,
    pub(crate) peer: String,
    pub(crate) ratio: String,
    pub(crate) target: String,
    pub(crate) met: String,
}

impl SummaryRow {
    fn new(metric: impl Into<String>) -> Self {
        Self {
            metric: metric.into(),
            strata: DASH.into(),
            peer: DASH.into(),
            ratio: DASH.into(),
            target: DASH.into(),
            met: DASH.into(),
        }
    }
}

const DASH: &str = "—";

/// A target a suite reports, reduced to what the summary needs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    /// What is targeted: the `target` field of a structured target, or the label and the
    /// threshold of a clause like `1.6× parquet-rs (target ≥ 3×: missed)`.
    text: String,
    /// The threshold alone (`≥ 3×`), for clauses; structured targets say it in `text`.
    threshold: Option<String>,
    met: bool,
}

/// The targets in `json["targets"]`: objects `{target, met, …}`, or sentences holding
/// `(target …: met|missed)` clauses (the scan suite).
fn targets(json: &Value) -> Vec<Target> {
    let Some(list) = json.get("targets").and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for t in list {
        match t {
            Value::Object(o) => {
                if let (Some(text), Some(met)) = (
                    o.get("target").and_then(Value::as_str),
                    o.get("met").and_then(Value::as_bool),
                ) {
                    out.push(Target {
                        text: text.to_string(),
                        threshold: None,
                        met,
                    });
                }
            }
            Value::String(s) => out.extend(target_clauses(s)),
            _ => {}
        }
    }
    out
}

/// The `(target …: met)` / `(target …: missed)` clauses of a sentence, each with the text
/// since the previous clause as its label.
fn target_clauses(s: &str) -> Vec<Target> {
    const OPEN: &str = "(target ";
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = s.get(from..).and_then(|rest| rest.find(OPEN)) {
        let open = from + i;
        let Some(close) = s
            .get(open..)
            .and_then(|rest| rest.find(')'))
            .map(|j| open + j)
        else {
            break;
        };
        let label = s
            .get(from..open)
            .unwrap_or("")
            .trim_start_matches([',', ' ']);
        let inner = s.get(open + OPEN.len()..close).unwrap_or("");
        if let Some((threshold, status)) = inner.rsplit_once(": ") {
            let met = match status.trim() {
                "met" => Some(true),
                "missed" => Some(false),
                _ => None,
            };
            if let Some(met) = met {
                out.push(Target {
                    text: format!("{} (target {threshold})", label.trim()),
                    threshold: Some(threshold.trim().to_string()),
                    met,
                });
            }
        }
        from = close + 1;
    }
    out
}

/// `k of n` for the targets `pick` selects, or `—` when it selects none.
fn met_count(targets: &[Target], pick: &dyn Fn(&Target) -> bool) -> String {
    let chosen: Vec<&Target> = targets.iter().filter(|t| pick(t)).collect();
    if chosen.is_empty() {
        return DASH.into();
    }
    let met = chosen.iter().filter(|t| t.met).count();
    format!("{met} of {}", chosen.len())
}

/// The distinct `text`s of the targets `pick` selects, in first-seen order.
fn target_kinds(targets: &[Target], pick: &dyn Fn(&Target) -> bool) -> String {
    let mut kinds: Vec<&str> = Vec::new();
    for t in targets.iter().filter(|t| pick(t)) {
        if !kinds.contains(&t.text.as_str()) {
            kinds.push(&t.text);
        }
    }
    if kinds.is_empty() {
        DASH.into()
    } else {
        kinds.join("; ")
    }
}

/// A figure with about three significant digits, `—` when not finite.
pub(crate) fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        DASH.into()
    } else if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn f(v: &Value, path: &[&str]) -> Option<f64> {
    let mut v = v;
    for p in path {
        v = v.get(*p)?;
    }
    v.as_f64()
}

/// Whether a smaller or a larger figure is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Better {
    Lower,
    Higher,
}

impl Better {
    fn arrow(self) -> &'static str {
        match self {
            Better::Lower => "↓",
            Better::Higher => "↑",
        }
    }
}

/// A row comparing Strata with its best peer: `figures` holds (name, value) with Strata first.
fn comparison(
    metric: &str,
    better: Better,
    unit: &str,
    figures: &[(&str, f64)],
    targets: &[Target],
    pick: &dyn Fn(&Target) -> bool,
) -> Option<SummaryRow> {
    let (_, strata) = figures.first().copied()?;
    if !strata.is_finite() {
        return None;
    }
    let best = figures
        .iter()
        .skip(1)
        .filter(|(_, v)| v.is_finite())
        .copied()
        .reduce(|a, b| match better {
            Better::Lower if b.1 < a.1 => b,
            Better::Higher if b.1 > a.1 => b,
            _ => a,
        });
    let mut row = SummaryRow::new(format!("{metric} {}", better.arrow()));
    row.strata = format!("{}{unit}", fmt_num(strata));
    if let Some((name, v)) = best {
        row.peer = format!("{name} {}{unit}", fmt_num(v));
        row.ratio = fmt_num(strata / v);
    }
    row.target = target_kinds(targets, pick);
    row.met = met_count(targets, pick);
    Some(row)
}

/// Σ weight ÷ Σ (weight ÷ rate): the rate of doing all the work one after the other.
fn total_rate(items: &[(f64, f64)]) -> f64 {
    let work: f64 = items.iter().map(|(w, _)| w).sum();
    let time: f64 = items.iter().map(|(w, r)| w / r).sum();
    work / time
}

fn array<'a>(json: &'a Value, key: &str) -> &'a [Value] {
    json.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Codec: bits/value and encode/decode throughput over every input, Strata vs pco and Parquet.
fn codec_rows(json: &Value, targets: &[Target]) -> Vec<SummaryRow> {
    const CODECS: &[(&str, &str)] = &[
        ("Strata", "strata"),
        ("pco", "pco"),
        ("Parquet zstd", "parquet_zstd"),
        ("Parquet snappy", "parquet_snappy"),
    ];
    let inputs = array(json, "inputs");
    // Only inputs every codec measured, so each total covers the same values.
    let full: Vec<&Value> = inputs
        .iter()
        .filter(|i| {
            f(i, &["n"]).is_some_and(|n| n > 0.0)
                && CODECS.iter().all(|(_, k)| {
                    ["bytes", "encode_mb_s", "decode_mb_s"]
                        .iter()
                        .all(|m| f(i, &[k, m]).is_some_and(|x| x > 0.0))
                })
        })
        .collect();
    if full.is_empty() {
        return Vec::new();
    }
    let n = full.len();
    let values: f64 = full.iter().filter_map(|i| f(i, &["n"])).sum();
    let bits: Vec<(&str, f64)> = CODECS
        .iter()
        .map(|(name, k)| {
            let bytes: f64 = full.iter().filter_map(|i| f(i, &[k, "bytes"])).sum();
            (*name, bytes * 8.0 / values)
        })
        .collect();
    let rate = |metric: &str| -> Vec<(&str, f64)> {
        CODECS
            .iter()
            .map(|(name, k)| {
                let items: Vec<(f64, f64)> = full
                    .iter()
                    .filter_map(|i| Some((f(i, &["n"])? * 8.0, f(i, &[k, metric])?)))
                    .collect();
                (*name, total_rate(&items))
            })
            .collect()
    };
    let mut rows = Vec::new();
    rows.extend(comparison(
        &format!("codec: bits/value, all {n} inputs (Σ bytes × 8 ÷ Σ values)"),
        Better::Lower,
        "",
        &bits,
        targets,
        &|t| t.text.starts_with("bits/value") && t.text.contains('×'),
    ));
    rows.extend(comparison(
        &format!("codec: decode MB/s, all {n} inputs (Σ raw bytes ÷ Σ time)"),
        Better::Higher,
        "",
        &rate("decode_mb_s"),
        targets,
        &|t| t.text.starts_with("decode") && t.text.contains('×'),
    ));
    rows.extend(comparison(
        &format!("codec: encode MB/s, all {n} inputs (Σ raw bytes ÷ Σ time)"),
        Better::Higher,
        "",
        &rate("encode_mb_s"),
        targets,
        &|t| t.text.starts_with("encode"),
    ));
    rows
}

/// Segment: file bytes and write/read rows per second over every table, Strata vs Parquet.
fn segment_rows(json: &Value, targets: &[Target]) -> Vec<SummaryRow> {
    const FORMATS: &[(&str, &str)] = &[
        ("Strata", "strata"),
        ("Parquet zstd", "parquet_zstd"),
        ("Parquet snappy", "parquet_snappy"),
    ];
    let tables = array(json, "tables");
    let full: Vec<&Value> = tables
        .iter()
        .filter(|t| {
            f(t, &["rows"]).is_some_and(|n| n > 0.0)
                && FORMATS.iter().all(|(_, k)| {
                    ["bytes", "write_rows_s", "read_rows_s"]
                        .iter()
                        .all(|m| f(t, &[k, m]).is_some_and(|x| x > 0.0))
                })
        })
        .collect();
    if full.is_empty() {
        return Vec::new();
    }
    let n = full.len();
    let bytes: Vec<(&str, f64)> = FORMATS
        .iter()
        .map(|(name, k)| {
            let b: f64 = full.iter().filter_map(|t| f(t, &[k, "bytes"])).sum();
            (*name, b / 1e6)
        })
        .collect();
    let rate = |metric: &str| -> Vec<(&str, f64)> {
        FORMATS
            .iter()
            .map(|(name, k)| {
                let items: Vec<(f64, f64)> = full
                    .iter()
                    .filter_map(|t| Some((f(t, &["rows"])?, f(t, &[k, metric])?)))
                    .collect();
                (*name, total_rate(&items) / 1e3)
            })
            .collect()
    };
    let mut rows = Vec::new();
    rows.extend(comparison(
        &format!("segment: file size, all {n} tables"),
        Better::Lower,
        " MB",
        &bytes,
        targets,
        &|t| t.text.starts_with("size"),
    ));
    rows.extend(comparison(
        &format!("segment: write, all {n} tables"),
        Better::Higher,
        " kr/s",
        &rate("write_rows_s"),
        targets,
        &|t| t.text.starts_with("write"),
    ));
    rows.extend(comparison(
        &format!("segment: full read, all {n} tables"),
        Better::Higher,
        " kr/s",
        &rate("read_rows_s"),
        targets,
        &|t| t.text.starts_with("full read"),
    ));
    // Many small segments against one segment of the same rows, over the tables that were cut.
    let cut: Vec<(f64, f64)> = tables
        .iter()
        .filter_map(|t| {
            let p = t.get("partitioned")?;
            Some((f(p, &["read_secs"])?, f(p, &["one_read_secs"])?))
        })
        .collect();
    if !cut.is_empty() {
        let many: f64 = cut.iter().map(|(m, _)| m).sum();
        let one: f64 = cut.iter().map(|(_, o)| o).sum();
        rows.extend(comparison(
            &format!(
                "segment: full read as many small segments, Σ ms over {} tables",
                cut.len()
            ),
            Better::Lower,
            " ms",
            &[
                ("Strata, small segments", many * 1e3),
                ("one segment", one * 1e3),
            ],
            targets,
            &|t| t.text.starts_with("many small segments"),
        ));
    }
    rows
}

/// The query the scan targets are stated for.
const SCAN_TARGET_QUERY: &str = "time range 1 %";

/// Scan: the 1 % time range over every table, Strata (pruned) vs parquet-rs and vs its own full
/// scan, and the share of the file read.
fn scan_rows(json: &Value, targets: &[Target]) -> Vec<SummaryRow> {
    let results: Vec<&Value> = array(json, "results")
        .iter()
        .filter(|r| r.get("query").and_then(Value::as_str) == Some(SCAN_TARGET_QUERY))
        .collect();
    let sum = |key: &str| -> Option<f64> {
        results
            .iter()
            .map(|r| f(r, &[key]))
            .sum::<Option<f64>>()
            .filter(|_| !results.is_empty())
    };
    let (Some(pruned), Some(full), Some(parquet)) = (
        sum("strata_pruned_s"),
        sum("strata_full_s"),
        sum("parquet_s"),
    ) else {
        return Vec::new();
    };
    let n = results.len();
    let what = format!("scan: {SCAN_TARGET_QUERY}, Σ ms over {n} tables");
    // The clauses carry measured values; the target column states the threshold per table.
    let threshold = |key: &str, what: &str| -> String {
        let mut found: Vec<&str> = Vec::new();
        for t in targets.iter().filter(|t| t.text.contains(key)) {
            if let Some(th) = t.threshold.as_deref()
                && !found.contains(&th)
            {
                found.push(th);
            }
        }
        if found.is_empty() {
            DASH.into()
        } else {
            format!("{} {what}, per table", found.join(" / "))
        }
    };
    let mut rows = Vec::new();
    for (metric, peer, secs, key, goal) in [
        (
            what.clone(),
            "parquet-rs",
            parquet,
            "parquet-rs",
            "faster than parquet-rs",
        ),
        (
            format!("{what}, vs Strata without pruning"),
            "full scan",
            full,
            "full scan",
            "faster than the full scan",
        ),
    ] {
        let pick = |t: &Target| t.text.contains(key);
        if let Some(mut row) = comparison(
            &metric,
            Better::Lower,
            " ms",
            &[("Strata", pruned * 1e3), (peer, secs * 1e3)],
            targets,
            &pick,
        ) {
            row.target = threshold(key, goal);
            rows.push(row);
        }
    }
    if let (Some(read), Some(file)) = (sum("bytes_read"), sum("segment_bytes")) {
        let mut row = SummaryRow::new(format!(
            "scan: {SCAN_TARGET_QUERY}, bytes read % of the file {}",
            Better::Lower.arrow()
        ));
        row.strata = format!("{} %", fmt_num(100.0 * read / file));
        row.target = threshold("bytes read", "of the file");
        row.met = met_count(targets, &|t| t.text.contains("bytes read"));
        rows.push(row);
    }
    rows
}

/// Compaction: merge throughput, peak heap and reader latency under merging, against fixed
/// targets (no peer).
fn compaction_rows(json: &Value) -> Vec<SummaryRow> {
    let mut rows = Vec::new();
    let yes_no = |ok: bool| if ok { "met" } else { "missed" }.to_string();
    if let Some(rate) = f(json, &["merge", "rows_per_s"]) {
        let mut row = SummaryRow::new("compaction: merge rows/s, one thread ↑");
        row.strata = format!("{} M", fmt_num(rate / 1e6));
        if let Some(t) = f(json, &["targets", "rows_per_s_per_core"]) {
            row.target = format!("≥ {} M per core", fmt_num(t / 1e6));
            row.met = yes_no(rate >= t);
        }
        rows.push(row);
    }
    let peak = json
        .get("merge")
        .map_or(&[][..], |m| array(m, "peak_heap_bytes"))
        .iter()
        .filter_map(Value::as_f64)
        .reduce(f64::max);
    if let Some(peak) = peak {
        let mib = 1024.0 * 1024.0;
        let mut row = SummaryRow::new("compaction: peak heap during a merge ↓");
        row.strata = format!("{} MiB", fmt_num(peak / mib));
        if let Some(t) = f(json, &["targets", "peak_heap_bytes"]) {
            row.target = format!("≤ {} MiB", fmt_num(t / mib));
            row.met = yes_no(peak <= t);
        }
        rows.push(row);
    }
    for (kind, label) in [("range", "1 % range"), ("column", "full column")] {
        let p99 = |when: &str| {
            json.get("latency_ms")
                .and_then(|l| l.get(kind))
                .and_then(|k| k.get(when))
                .and_then(|w| w.get(1))
                .and_then(Value::as_f64)
        };
        if let (Some(idle), Some(during)) = (p99("idle"), p99("during"))
            && idle > 0.0
        {
            let x = during / idle;
            let mut row =
                SummaryRow::new(format!("compaction: reader p99 during ÷ idle, {label} ↓"));
            row.strata = format!("{}×", fmt_num(x));
            if let Some(t) = f(json, &["targets", "p99_ratio"]) {
                row.target = format!("≤ {}×", fmt_num(t));
                row.met = yes_no(x <= t);
            }
            rows.push(row);
        }
    }
    rows
}

/// The summary rows of one suite: its headline comparisons, then one row per kind of target
/// that no headline row covers.
pub(crate) fn summary_rows(suite: &SuiteResult) -> Vec<SummaryRow> {
    let targets = targets(&suite.json);
    let mut rows = match suite.name.as_str() {
        "codec" => codec_rows(&suite.json, &targets),
        "segment" => segment_rows(&suite.json, &targets),
        "scan" => scan_rows(&suite.json, &targets),
        "compaction" => compaction_rows(&suite.json),
        _ => Vec::new(),
    };
    let covered = |t: &Target| {
        rows.iter()
            .any(|r| r.target.split("; ").any(|k| k == t.text))
    };
    let mut rest: Vec<SummaryRow> = Vec::new();
    for t in &targets {
        // Clauses of sentences (scan) belong to their suite's headline rows.
        if t.threshold.is_some() || covered(t) || rest.iter().any(|r| r.target == t.text) {
            continue;
        }
        let mut row = SummaryRow::new(format!("{}: {}", suite.name, t.text));
        row.target = t.text.clone();
        row.met = met_count(&targets, &|u| u.text == t.text);
        rest.push(row);
    }
    rows.extend(rest);
    rows
}

/// One line saying when and how each suite ran.
fn run_line(suites: &[SuiteResult]) -> String {
    let mut parts = Vec::new();
    let mut machine = None;
    for s in suites {
        let date = s.json.get("date").and_then(Value::as_str);
        let kind = match s.json.get("quick").and_then(Value::as_bool) {
            Some(true) => Some("quick"),
            Some(false) => Some("full"),
            None => None,
        };
        let reps = s.json.get("repetitions").and_then(Value::as_u64);
        let mut p = s.name.clone();
        for x in [date.map(str::to_string), kind.map(str::to_string)]
            .into_iter()
            .flatten()
        {
            let _ = write!(p, " {x}");
        }
        if let Some(r) = reps {
            let _ = write!(p, " (median of {r})");
        }
        parts.push(p);
        if machine.is_none() {
            machine = s.json.get("machine").and_then(|m| {
                let cores = m.get("cores").and_then(Value::as_u64)?;
                Some(match m.get("cpu").and_then(Value::as_str) {
                    Some(cpu) => format!("{cores} cores, {cpu}"),
                    None => format!("{cores} cores"),
                })
            });
        }
    }
    let mut line = format!("Runs: {}.", parts.join(" · "));
    if let Some(m) = machine {
        let _ = write!(line, " Machine: {m}.");
    }
    line
}

/// The summary region: when the suites ran, then one row per headline metric.
pub(crate) fn summary_markdown(suites: &[SuiteResult]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", run_line(suites));
    s.push('\n');
    s.push_str(
        "Ratio = Strata ÷ best peer of the same run (↓: lower is better, ↑: higher is better). \
         Totals cover every input of a suite: sizes are summed, throughputs are Σ work ÷ Σ time. \
         *met* counts the suite's own targets (per input or per table); the sections below have \
         the figures behind each row.\n\n",
    );
    s.push_str("| metric | Strata | best peer | ratio | target | met? |\n");
    s.push_str("|---|---:|---:|---:|---|---:|\n");
    let mut met = 0usize;
    let mut total = 0usize;
    for suite in suites {
        for t in targets(&suite.json) {
            total += 1;
            met += usize::from(t.met);
        }
        for r in summary_rows(suite) {
            let cells = [&r.metric, &r.strata, &r.peer, &r.ratio, &r.target, &r.met];
            s.push('|');
            for c in cells {
                let _ = write!(s, " {} |", c.replace('|', "\\|"));
            }
            s.push('\n');
        }
    }
    if total > 0 {
        let _ = write!(s, "\nTargets met overall: {met} of {total}.\n");
    }
    s
}

/// A heading line's level and text (`## Scans` → `(2, "Scans")`).
fn heading(line: &str) -> Option<(usize, &str)> {
    let level = line.chars().take_while(|c| *c == '#').count();
    if (1..=6).contains(&level) && line.get(level..).is_some_and(|r| r.starts_with(' ')) {
        Some((level, line.get(level + 1..).unwrap_or("").trim()))
    } else {
        None
    }
}

/// A suite's markdown made to fit under a `## ` section of the report: its leading heading
/// (the section's own title replaces it) is dropped and the other headings shifted so that the
/// shallowest is `###`. Returns the dropped title too. Fenced code is left alone.
pub(crate) fn fit_suite_markdown(md: &str) -> (Option<String>, String) {
    let mut lines: Vec<&str> = md.lines().collect();
    while lines.first().is_some_and(|l| l.trim().is_empty()) {
        lines.remove(0);
    }
    let title = lines
        .first()
        .and_then(|l| heading(l))
        .map(|(_, t)| t.to_string());
    if title.is_some() {
        lines.remove(0);
    }
    let mut in_fence = false;
    let mut min_level = None;
    for l in &lines {
        if l.trim_start().starts_with("```") {
            in_fence = !in_fence;
        } else if !in_fence && let Some((level, _)) = heading(l) {
            min_level = Some(min_level.map_or(level, |m: usize| m.min(level)));
        }
    }
    let mut out = String::new();
    in_fence = false;
    for l in &lines {
        if l.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        match (in_fence, heading(l), min_level) {
            (false, Some((level, text)), Some(min)) => {
                let level = (level + 3 - min).min(6);
                let _ = writeln!(out, "{} {text}", "#".repeat(level));
            }
            _ => {
                out.push_str(l);
                out.push('\n');
            }
        }
    }
    (title, out.trim().to_string() + "\n")
}

fn begin_marker(name: &str) -> String {
    format!("<!-- bench:begin {name} -->")
}

fn end_marker(name: &str) -> String {
    format!("<!-- bench:end {name} -->")
}

/// A generated region: its name, the section title to use when the document lacks it, and its
/// content.
#[derive(Debug, Clone)]
pub(crate) struct Region {
    pub(crate) name: String,
    pub(crate) title: String,
    pub(crate) content: String,
}

/// The document's text up to and after region `name`'s content, when both markers are there.
fn find_region<'a>(doc: &'a str, name: &str) -> Result<Option<(&'a str, &'a str)>> {
    let begin = begin_marker(name);
    let end = end_marker(name);
    let b = doc
        .match_indices(&begin)
        .map(|(i, _)| i)
        .collect::<Vec<_>>();
    let e = doc.match_indices(&end).map(|(i, _)| i).collect::<Vec<_>>();
    match (b.as_slice(), e.as_slice()) {
        ([], []) => Ok(None),
        ([b], [e]) if b < e => {
            let head = doc.get(..b + begin.len()).unwrap_or(doc);
            let tail = doc.get(*e..).unwrap_or("");
            Ok(Some((head, tail)))
        }
        ([_], [_]) => bail!("`{end}` comes before `{begin}`"),
        _ => bail!(
            "region {name} needs exactly one `{begin}` and one `{end}` (found {} and {})",
            b.len(),
            e.len()
        ),
    }
}

/// Puts every region into the document: replaced between its markers, or added.
pub(crate) fn splice(doc: &str, regions: &[Region]) -> Result<String> {
    let mut doc = if doc.trim().is_empty() {
        "# Benchmarks\n\nProduced by `cargo xtask bench`.\n".to_string()
    } else {
        doc.to_string()
    };
    for r in regions {
        let block = format!(
            "{}\n\n{}\n\n{}",
            begin_marker(&r.name),
            r.content.trim(),
            end_marker(&r.name)
        );
        doc = match find_region(&doc, &r.name)? {
            Some((head, tail)) => {
                let head = head
                    .strip_suffix(&begin_marker(&r.name))
                    .unwrap_or(head)
                    .to_string();
                let tail = tail.strip_prefix(&end_marker(&r.name)).unwrap_or(tail);
                format!("{head}{block}{tail}")
            }
            None if r.name == SUMMARY => {
                // Ratios first: before the first section, after the title and introduction.
                let at = doc
                    .match_indices("\n## ")
                    .map(|(i, _)| i + 1)
                    .next()
                    .unwrap_or(doc.len());
                let (head, tail) = doc.split_at(at);
                let head = head.trim_end();
                let sep = if tail.is_empty() { "\n" } else { "\n\n" };
                format!("{head}\n\n## {}\n\n{block}{sep}{tail}", r.title)
            }
            None => format!("{}\n\n## {}\n\n{block}\n", doc.trim_end(), r.title),
        };
    }
    if !doc.ends_with('\n') {
        doc.push('\n');
    }
    Ok(doc)
}

/// The regions for these suites: the summary first, then one per suite.
pub(crate) fn regions(suites: &[SuiteResult]) -> Vec<Region> {
    let mut out = vec![Region {
        name: SUMMARY.into(),
        title: "Summary (ratios first)".into(),
        content: summary_markdown(suites),
    }];
    for s in suites {
        let (title, body) = fit_suite_markdown(&s.markdown);
        out.push(Region {
            name: s.name.clone(),
            title: title.unwrap_or_else(|| s.name.clone()),
            content: body,
        });
    }
    out
}

/// The whole report: `doc` (the current `docs/benchmarks.md`, or empty) with every region of
/// these suites regenerated.
pub(crate) fn assemble(doc: &str, suites: &[SuiteResult]) -> Result<String> {
    splice(doc, &regions(suites))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn suite(name: &str, json: Value, md: &str) -> SuiteResult {
        SuiteResult {
            name: name.into(),
            json,
            markdown: md.into(),
        }
    }

    fn codec_fixture() -> Value {
        let c = |bytes: f64, enc: f64, dec: f64| json!({"bytes": bytes, "bits_per_value": 0.0, "encode_mb_s": enc, "decode_mb_s": dec});
        json!({
            "date": "2026-01-02", "quick": false, "repetitions": 5,
            "machine": {"cores": 2, "cpu": "Test CPU"},
            "inputs": [
                // 1000 values: Strata 1000 B, pco 800 B, Parquet zstd 1200 B, snappy 1600 B.
                {"name": "a", "n": 1000, "strata": c(1000.0, 100.0, 1000.0),
                 "pco": c(800.0, 200.0, 500.0), "parquet_zstd": c(1200.0, 300.0, 800.0),
                 "parquet_snappy": c(1600.0, 400.0, 900.0)},
                // 3000 values: Strata 2000 B, pco 2200 B, zstd 3000 B, snappy 3000 B.
                {"name": "b", "n": 3000, "strata": c(2000.0, 100.0, 2000.0),
                 "pco": c(2200.0, 200.0, 500.0), "parquet_zstd": c(3000.0, 300.0, 800.0),
                 "parquet_snappy": c(3000.0, 400.0, 900.0)},
                // A codec failed here: left out of every total.
                {"name": "c", "n": 10, "strata": c(1.0, 1.0, 1.0), "pco": null,
                 "parquet_zstd": c(1.0, 1.0, 1.0), "parquet_snappy": c(1.0, 1.0, 1.0)}
            ],
            "targets": [
                {"subject": "a", "target": "bits/value ≤ 1.10 × pco", "value": 1.25, "limit": 1.1, "met": false},
                {"subject": "b", "target": "bits/value ≤ 1.10 × pco", "value": 0.91, "limit": 1.1, "met": true},
                {"subject": "a", "target": "decode ≥ 2 × pco", "value": 2.0, "limit": 2.0, "met": true},
                {"subject": "k", "target": "decode ≥ 4 GB/s", "value": 5.0, "limit": 4.0, "met": true}
            ]
        })
    }

    #[test]
    fn codec_rows_total_bytes_and_time_over_inputs_every_codec_measured() {
        let rows = summary_rows(&suite("codec", codec_fixture(), ""));
        let bits = &rows[0];
        // Σ bytes × 8 ÷ Σ values over a and b: Strata 3000 × 8 / 4000 = 6, pco 3000 × 8 / 4000
        // = 6, zstd 8.4, snappy 9.2; the first of equal peers wins.
        assert_eq!(
            bits.metric,
            "codec: bits/value, all 2 inputs (Σ bytes × 8 ÷ Σ values) ↓"
        );
        assert_eq!(bits.strata, "6.00");
        assert_eq!(bits.peer, "pco 6.00");
        assert_eq!(bits.ratio, "1.00");
        assert_eq!(bits.target, "bits/value ≤ 1.10 × pco");
        assert_eq!(bits.met, "1 of 2");
        let dec = &rows[1];
        // Strata: 32000 raw bytes in 8000/1000 + 24000/2000 = 20 µs → 1600 MB/s; Parquet
        // snappy is the fastest peer at 900.
        assert_eq!(dec.strata, "1600");
        assert_eq!(dec.peer, "Parquet snappy 900");
        assert_eq!(dec.ratio, "1.78");
        assert_eq!(dec.met, "1 of 1");
        let enc = &rows[2];
        assert_eq!(enc.peer, "Parquet snappy 400");
        assert_eq!(enc.ratio, "0.25");
        assert_eq!(enc.target, "—");
        // The kernel target has no headline row, so it gets its own.
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[3].metric, "codec: decode ≥ 4 GB/s");
        assert_eq!(rows[3].met, "1 of 1");
    }

    #[test]
    fn segment_rows_pick_the_smallest_and_fastest_peer() {
        let t = |bytes: f64, w: f64, r: f64| json!({"bytes": bytes, "write_rows_s": w, "read_rows_s": r});
        let json = json!({
            "tables": [
                {"name": "x", "rows": 1000, "strata": t(1e6, 1e5, 4e6),
                 "parquet_zstd": t(2e6, 2e5, 1e6), "parquet_snappy": t(3e6, 4e5, 2e6)},
            ],
            "targets": [
                {"subject": "x", "target": "size ≤ 0.8× Parquet+zstd", "value": 0.5, "limit": 0.8, "met": true},
                {"subject": "x", "target": "write no slower than Parquet+zstd", "value": 0.5, "limit": 1.0, "met": false}
            ]
        });
        let rows = summary_rows(&suite("segment", json, ""));
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].strata, "1.00 MB");
        assert_eq!(rows[0].peer, "Parquet zstd 2.00 MB");
        assert_eq!(rows[0].ratio, "0.50");
        assert_eq!(rows[0].met, "1 of 1");
        assert_eq!(rows[1].peer, "Parquet snappy 400 kr/s");
        assert_eq!(rows[1].ratio, "0.25");
        assert_eq!(rows[1].met, "0 of 1");
        assert_eq!(rows[2].strata, "4000 kr/s");
        assert_eq!(rows[2].ratio, "2.00");
        assert_eq!(rows[2].met, "—");
    }

    #[test]
    fn segment_rows_sum_the_small_segment_reads_of_the_tables_cut() {
        let t = |bytes: f64, w: f64, r: f64| json!({"bytes": bytes, "write_rows_s": w, "read_rows_s": r});
        let table = |name: &str, cut: Value| {
            json!({"name": name, "rows": 1000, "strata": t(1e6, 1e5, 4e6),
                   "parquet_zstd": t(2e6, 2e5, 1e6), "parquet_snappy": t(3e6, 4e5, 2e6),
                   "partitioned": cut})
        };
        let json = json!({
            "tables": [
                table("x", json!({"read_secs": 0.003, "one_read_secs": 0.002})),
                table("y", json!({"read_secs": 0.005, "one_read_secs": 0.002})),
                table("z", Value::Null),
            ],
            "targets": [
                {"subject": "x", "target": "many small segments: read time ÷ one segment's ≤ 1× their bytes ÷ its bytes", "value": 0.9, "limit": 1.0, "met": true},
                {"subject": "y", "target": "many small segments: read time ÷ one segment's ≤ 1× their bytes ÷ its bytes", "value": 1.5, "limit": 1.0, "met": false}
            ]
        });
        let rows = summary_rows(&suite("segment", json, ""));
        assert_eq!(rows.len(), 4, "{rows:#?}");
        let r = &rows[3];
        assert_eq!(
            r.metric,
            "segment: full read as many small segments, Σ ms over 2 tables ↓"
        );
        assert_eq!(r.strata, "8.00 ms");
        assert_eq!(r.peer, "one segment 4.00 ms");
        assert_eq!(r.ratio, "2.00");
        assert_eq!(r.met, "1 of 2");
    }

    #[test]
    fn scan_rows_read_the_target_clauses_of_the_sentences() {
        let json = json!({
            "results": [
                {"table": "t1", "query": "time range 1 %", "strata_pruned_s": 0.001,
                 "strata_full_s": 0.1, "parquet_s": 0.002, "bytes_read": 10, "segment_bytes": 1000},
                {"table": "t1", "query": "time range 10 %", "strata_pruned_s": 9.0,
                 "strata_full_s": 9.0, "parquet_s": 9.0, "bytes_read": 999, "segment_bytes": 1000},
                {"table": "t2", "query": "time range 1 %", "strata_pruned_s": 0.001,
                 "strata_full_s": 0.1, "parquet_s": 0.004, "bytes_read": 30, "segment_bytes": 1000}
            ],
            "targets": [
                "t1 1 % time range: 100.0× the full scan (target ≥ 20×: met), 2.0× parquet-rs (target ≥ 3×: missed), bytes read 1.00 % of the file (target ≤ 3 %: met)",
                "t2 1 % time range: 100.0× the full scan (target ≥ 20×: met), 4.0× parquet-rs (target ≥ 3×: met), bytes read 3.00 % of the file (target ≤ 3 %: met)"
            ]
        });
        let rows = summary_rows(&suite("scan", json, ""));
        assert_eq!(rows.len(), 3, "{rows:#?}");
        assert_eq!(rows[0].strata, "2.00 ms");
        assert_eq!(rows[0].peer, "parquet-rs 6.00 ms");
        assert_eq!(rows[0].ratio, "0.33");
        assert_eq!(rows[0].target, "≥ 3× faster than parquet-rs, per table");
        assert_eq!(rows[0].met, "1 of 2");
        assert_eq!(rows[1].peer, "full scan 200 ms");
        assert_eq!(rows[1].target, "≥ 20× faster than the full scan, per table");
        assert_eq!(rows[1].met, "2 of 2");
        assert_eq!(rows[2].strata, "2.00 %");
        assert_eq!(rows[2].target, "≤ 3 % of the file, per table");
        assert_eq!(rows[2].met, "2 of 2");
    }

    #[test]
    fn target_clauses_take_label_threshold_and_status() {
        let t = target_clauses("x: 3× a (target ≥ 2×: met), 1× b (target ≥ 3×: missed), tail");
        assert_eq!(
            t,
            vec![
                Target {
                    text: "x: 3× a (target ≥ 2×)".into(),
                    threshold: Some("≥ 2×".into()),
                    met: true
                },
                Target {
                    text: "1× b (target ≥ 3×)".into(),
                    threshold: Some("≥ 3×".into()),
                    met: false
                },
            ]
        );
        assert!(target_clauses("no clause (target ≥ 2×: maybe)").is_empty());
        assert!(target_clauses("unclosed (target ≥ 2×: met").is_empty());
    }

    #[test]
    fn compaction_rows_compare_with_fixed_targets() {
        let json = json!({
            "merge": {"rows_per_s": 6e6, "peak_heap_bytes": [1048576, 3145728]},
            "latency_ms": {"range": {"idle": [1.0, 2.0], "during": [1.0, 4.0]}},
            "targets": {"rows_per_s_per_core": 5e6, "peak_heap_bytes": 67108864.0, "p99_ratio": 1.5}
        });
        let rows = summary_rows(&suite("compaction", json, ""));
        assert_eq!(rows.len(), 3, "{rows:#?}");
        assert_eq!(
            (rows[0].strata.as_str(), rows[0].met.as_str()),
            ("6.00 M", "met")
        );
        assert_eq!(
            (rows[1].strata.as_str(), rows[1].target.as_str()),
            ("3.00 MiB", "≤ 64.0 MiB")
        );
        assert_eq!(
            (rows[2].strata.as_str(), rows[2].met.as_str()),
            ("2.00×", "missed")
        );
    }

    #[test]
    fn unknown_suites_get_a_row_per_target_kind() {
        let json = json!({"targets": [
            {"target": "t ≥ 1", "met": true}, {"target": "t ≥ 1", "met": false},
            {"target": "u ≤ 2", "met": true}
        ]});
        let rows = summary_rows(&suite("other", json, ""));
        let got: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (r.metric.as_str(), r.met.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![("other: t ≥ 1", "1 of 2"), ("other: u ≤ 2", "1 of 1")]
        );
        assert!(summary_rows(&suite("empty", json!({}), "")).is_empty());
    }

    #[test]
    fn summary_lists_runs_rows_and_the_overall_count() {
        let s = summary_markdown(&[suite("codec", codec_fixture(), "")]);
        assert!(
            s.starts_with(
                "Runs: codec 2026-01-02 full (median of 5). Machine: 2 cores, Test CPU.\n"
            ),
            "{s}"
        );
        assert!(
            s.contains("| metric | Strata | best peer | ratio | target | met? |\n"),
            "{s}"
        );
        assert!(
            s.contains("| codec: decode ≥ 4 GB/s | — | — | — | decode ≥ 4 GB/s | 1 of 1 |\n"),
            "{s}"
        );
        assert!(s.ends_with("Targets met overall: 3 of 4.\n"), "{s}");
    }

    #[test]
    fn suite_markdown_loses_its_title_and_shifts_headings() {
        let md = "\n## Scans\n\ntext\n\n#### Deeper\n\n```\n# not a heading\n```\n### Targets\n";
        let (title, body) = fit_suite_markdown(md);
        assert_eq!(title.as_deref(), Some("Scans"));
        assert_eq!(
            body,
            "text\n\n#### Deeper\n\n```\n# not a heading\n```\n### Targets\n"
        );
        let (title, body) = fit_suite_markdown("no heading\n#hashtag\n");
        assert_eq!(title, None);
        assert_eq!(body, "no heading\n#hashtag\n");
    }

    fn region(name: &str, content: &str) -> Region {
        Region {
            name: name.into(),
            title: format!("Title {name}"),
            content: content.into(),
        }
    }

    #[test]
    fn splice_replaces_marked_regions_and_keeps_the_prose() {
        let doc = "# B\n\nintro\n\n## Codec\n\nset-up notes\n\n<!-- bench:begin codec -->\nold\n<!-- bench:end codec -->\n\nreading of the figures\n";
        let out = splice(doc, &[region("codec", "new\n")]).unwrap();
        assert_eq!(
            out,
            "# B\n\nintro\n\n## Codec\n\nset-up notes\n\n<!-- bench:begin codec -->\n\nnew\n\n<!-- bench:end codec -->\n\nreading of the figures\n"
        );
        // Splicing again with the same content changes nothing.
        assert_eq!(splice(&out, &[region("codec", "new\n")]).unwrap(), out);
    }

    #[test]
    fn splice_adds_the_summary_before_the_first_section_and_new_suites_at_the_end() {
        let doc = "# B\n\nintro\n\n## Codec\n\nnotes\n";
        let out = splice(doc, &[region("summary", "S"), region("scan", "N")]).unwrap();
        assert_eq!(
            out,
            "# B\n\nintro\n\n## Title summary\n\n<!-- bench:begin summary -->\n\nS\n\n<!-- bench:end summary -->\n\n## Codec\n\nnotes\n\n## Title scan\n\n<!-- bench:begin scan -->\n\nN\n\n<!-- bench:end scan -->\n"
        );
        let fresh = splice("", &[region("summary", "S")]).unwrap();
        assert!(fresh.starts_with("# Benchmarks\n"), "{fresh}");
        assert!(
            fresh.ends_with("S\n\n<!-- bench:end summary -->\n"),
            "{fresh}"
        );
    }

    #[test]
    fn splice_refuses_broken_markers() {
        let twice = "<!-- bench:begin a -->\n<!-- bench:end a -->\n<!-- bench:begin a -->\n<!-- bench:end a -->\n";
        assert!(splice(twice, &[region("a", "x")]).is_err());
        let reversed = "<!-- bench:end a -->\n<!-- bench:begin a -->\n";
        assert!(splice(reversed, &[region("a", "x")]).is_err());
        let unclosed = "# B\n<!-- bench:begin a -->\n";
        assert!(splice(unclosed, &[region("a", "x")]).is_err());
    }

    #[test]
    fn assemble_orders_suites_and_fills_every_region() {
        let mut suites = vec![
            suite("zeta", json!({}), "## Zeta\n\nz\n"),
            suite("scan", json!({}), "## Scans\n\ns\n"),
            suite("codec", codec_fixture(), "### Codec\n\nc\n#### Kernels\n"),
        ];
        sort_suites(&mut suites);
        let names: Vec<&str> = suites.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["codec", "scan", "zeta"]);
        let out = assemble("# Benchmarks\n\nintro\n", &suites).unwrap();
        let at = |s: &str| out.find(s).unwrap_or_else(|| panic!("{s} missing:\n{out}"));
        assert!(at("## Summary (ratios first)") < at("## Codec"));
        assert!(at("## Codec") < at("### Kernels"));
        assert!(at("### Kernels") < at("## Scans"));
        assert!(at("## Scans") < at("## Zeta"));
        assert!(out.contains("| codec: bits/value"), "{out}");
    }
}

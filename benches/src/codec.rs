//! The codec suite (issue 2): Strata's codec against pco and Parquet (zstd level 3, snappy) on
//! the same values in the same run.
//!
//! For every input column: bits per value (every encoded byte counted, Parquet's whole file),
//! encode and decode throughput in MB/s of raw values (8 bytes each), medians of
//! [`BenchContext::repetitions`] runs, interleaved across codecs so that load from other
//! processes hits all of them alike; Strata's most common cascade; ratios to the peers; the
//! ALP paper's published figure where one exists. Each codec's round trip is checked bit for bit
//! before it is timed; a mismatch drops that input with an error line. Then decode-kernel
//! microbenchmarks ([`kernels`]) and a list of the targets, met or missed.

pub mod kernels;
pub mod reference;

use std::collections::BTreeMap;
use std::hint::black_box;

use serde::Serialize;
use strata_codec::{EncodeOptions, Profile};

use crate::data::{self, Input, InputKind, Values};
use crate::measure::{Op, interleaved_medians, mb_per_s};
use crate::peers::{self, BenchValue, ParquetCodec};
use crate::report::{Machine, Table, num, rate, today_utc};
use crate::{BenchContext, Result, Suite, SuiteOutput};

use kernels::KernelResult;

/// Float series: Strata bits/value at most this fraction of Parquet+zstd's (issue 2).
pub const FLOAT_VS_PARQUET_ZSTD_MAX: f64 = 0.8;
/// Float series: Strata decode at least this multiple of pco's (issue 2).
pub const FLOAT_DECODE_VS_PCO_MIN: f64 = 2.0;
/// Integer and timestamp columns: Strata bits/value at most this multiple of pco's (issue 2).
pub const INT_BITS_VS_PCO_MAX: f64 = 1.10;

/// The codec suite.
#[derive(Debug, Clone, Copy, Default)]
pub struct CodecSuite;

impl Suite for CodecSuite {
    fn name(&self) -> &'static str {
        "codec"
    }

    fn run(&self, ctx: &BenchContext) -> Result<SuiteOutput> {
        let loaded = data::codec_inputs(&ctx.data_dir);
        for n in &loaded.notices {
            eprintln!("notice: {n}");
        }
        for e in &loaded.errors {
            eprintln!("error: {e}");
        }
        let mut report = CodecReport {
            date: today_utc(),
            machine: Machine::detect(),
            quick: ctx.quick,
            repetitions: ctx.repetitions(),
            max_values_per_input: ctx.max_values(),
            data_dir: ctx.data_dir.display().to_string(),
            inputs: Vec::new(),
            kernels: Vec::new(),
            targets: Vec::new(),
            notices: loaded.notices,
            errors: loaded.errors,
        };
        let mut real_timestamps = None;
        for mut input in loaded.inputs {
            if let Some(max) = ctx.max_values() {
                input.values.truncate(max);
            }
            if input.values.is_empty() {
                report
                    .notices
                    .push(format!("{}: no values, skipped", input.name));
                continue;
            }
            eprintln!("codec: {} ({} values)", input.name, input.values.len());
            match run_input(ctx, &input) {
                Ok(r) => report.inputs.push(r),
                Err(e) => {
                    let line = format!("{}: {e}", input.name);
                    eprintln!("error: {line}");
                    report.errors.push(line);
                }
            }
            if input.name == "bts-flights-3m/date"
                && let Values::I64(v) = input.values
            {
                real_timestamps = Some(v);
            }
        }
        eprintln!("codec: decode kernels");
        match kernels::run(ctx, real_timestamps.as_deref()) {
            Ok(k) => report.kernels = k,
            Err(e) => report.errors.push(format!("kernels: {e}")),
        }
        report.targets = check_targets(&report);
        Ok(SuiteOutput {
            markdown: report.to_markdown(),
            json: serde_json::to_value(&report)?,
        })
    }
}

/// One codec's figures on one input.
#[derive(Debug, Clone, Serialize)]
pub struct CodecFigures {
    /// Encoded bytes (all Strata blocks; the whole Parquet file; the whole pco buffer).
    pub bytes: usize,
    /// `bytes * 8 / n`.
    pub bits_per_value: f64,
    /// Median encode throughput, MB/s of raw 8-byte values.
    pub encode_mb_s: f64,
    /// Median decode throughput, MB/s of raw 8-byte values.
    pub decode_mb_s: f64,
}

/// How often a cascade was chosen.
#[derive(Debug, Clone, Serialize)]
pub struct CascadeCount {
    /// The cascade as displayed, or the top-level scheme name.
    pub cascade: String,
    /// Blocks that chose it.
    pub blocks: usize,
}

/// Results for one input.
#[derive(Debug, Clone, Serialize)]
pub struct InputResult {
    /// Input name, `dataset/column`.
    pub name: String,
    /// Kind of column.
    pub kind: InputKind,
    /// Values measured.
    pub n: usize,
    /// Strata profile used.
    pub profile: String,
    /// Strata in blocks of `peers::strata_block()` values.
    pub strata: CodecFigures,
    /// pco, whole column, default level.
    pub pco: CodecFigures,
    /// Parquet, zstd level 3.
    pub parquet_zstd: CodecFigures,
    /// Parquet, snappy.
    pub parquet_snappy: CodecFigures,
    /// Strata blocks, most common full cascades first (at most five).
    pub cascades: Vec<CascadeCount>,
    /// Strata blocks per top-level scheme, most common first.
    pub top_level_schemes: Vec<CascadeCount>,
    /// Total Strata blocks.
    pub blocks: usize,
    /// Strata bits ÷ pco bits.
    pub strata_vs_pco_bits: f64,
    /// Strata bits ÷ Parquet+zstd bits.
    pub strata_vs_parquet_zstd_bits: f64,
    /// Strata decode MB/s ÷ pco decode MB/s.
    pub strata_vs_pco_decode: f64,
    /// Published ALP bits/value (reference, not measured), float series only.
    pub alp_paper_bits: Option<f64>,
}

/// One target of the issue, checked.
#[derive(Debug, Clone, Serialize)]
pub struct TargetCheck {
    /// What is required.
    pub target: String,
    /// Input or kernel it applies to.
    pub subject: String,
    /// The measured figure.
    pub value: f64,
    /// The limit it is compared against.
    pub limit: f64,
    /// Whether it is met.
    pub met: bool,
}

/// The whole suite's results (serialised to `codec.json`).
#[derive(Debug, Clone, Serialize)]
pub struct CodecReport {
    /// Run date (UTC).
    pub date: String,
    /// Machine the run was on.
    pub machine: Machine,
    /// Whether `--quick` was given.
    pub quick: bool,
    /// Runs per measurement (median reported).
    pub repetitions: usize,
    /// Cap on values per input, if any.
    pub max_values_per_input: Option<usize>,
    /// Data directory read.
    pub data_dir: String,
    /// Per-input results.
    pub inputs: Vec<InputResult>,
    /// Decode-kernel microbenchmarks.
    pub kernels: Vec<KernelResult>,
    /// Issue targets, met or missed.
    pub targets: Vec<TargetCheck>,
    /// Skipped files and inputs.
    pub notices: Vec<String>,
    /// Inputs dropped because of an error (unreadable file, round-trip mismatch).
    pub errors: Vec<String>,
}

fn run_input(ctx: &BenchContext, input: &Input) -> Result<InputResult> {
    let profile = match input.kind {
        InputKind::FloatSeries | InputKind::Timestamp => Profile::TimeSeries,
        InputKind::Float | InputKind::Integer => Profile::General,
    };
    match &input.values {
        Values::F64(v) => run_typed(ctx, input, v, profile),
        Values::I64(v) => run_typed(ctx, input, v, profile),
    }
}

fn run_typed<T: BenchValue>(
    ctx: &BenchContext,
    input: &Input,
    values: &[T],
    profile: Profile,
) -> Result<InputResult> {
    let n = values.len();
    let (reps, min_run_secs) = (ctx.repetitions(), ctx.min_run_secs());
    let opts = EncodeOptions {
        profile,
        ..EncodeOptions::default()
    };
    // Encode once per codec and check each round trip before anything is timed.
    let col = peers::strata_encode(values, &opts)?;
    peers::verify("strata", values, &peers::strata_decode(&col, n)?)?;
    let pco_buf = peers::pco_encode(values)?;
    peers::verify("pco", values, &peers::pco_decode(&pco_buf)?)?;
    let zstd_file = peers::parquet_encode(values, ParquetCodec::Zstd)?;
    peers::verify(
        "parquet-zstd",
        values,
        &peers::parquet_decode(&zstd_file, n)?,
    )?;
    let snappy_file = peers::parquet_encode(values, ParquetCodec::Snappy)?;
    peers::verify(
        "parquet-snappy",
        values,
        &peers::parquet_decode(&snappy_file, n)?,
    )?;

    // Encode and decode of every codec, timed in interleaved runs.
    let mut ops: Vec<Op<'_>> = vec![
        Box::new(|| done(peers::strata_encode(black_box(values), &opts))),
        Box::new(|| done(peers::strata_decode::<T>(black_box(&col), n))),
        Box::new(|| done(peers::pco_encode(black_box(values)))),
        Box::new(|| done(peers::pco_decode::<T>(black_box(&pco_buf)))),
        Box::new(|| done(peers::parquet_encode(black_box(values), ParquetCodec::Zstd))),
        Box::new(|| done(peers::parquet_decode::<T>(black_box(&zstd_file), n))),
        Box::new(|| {
            done(peers::parquet_encode(
                black_box(values),
                ParquetCodec::Snappy,
            ))
        }),
        Box::new(|| done(peers::parquet_decode::<T>(black_box(&snappy_file), n))),
    ];
    let secs = interleaved_medians(&mut ops, reps, min_run_secs)?;
    drop(ops);
    let figures = |bytes: usize, enc: usize| CodecFigures {
        bytes,
        bits_per_value: bytes as f64 * 8.0 / n.max(1) as f64,
        encode_mb_s: mb_per_s(n * 8, secs.get(enc).copied().unwrap_or(f64::NAN)),
        decode_mb_s: mb_per_s(n * 8, secs.get(enc + 1).copied().unwrap_or(f64::NAN)),
    };
    let strata = figures(col.size(), 0);
    let pco = figures(pco_buf.len(), 2);
    let parquet_zstd = figures(zstd_file.len(), 4);
    let parquet_snappy = figures(snappy_file.len(), 6);
    let alp_paper_bits = match input.kind {
        InputKind::FloatSeries => input
            .name
            .rsplit('/')
            .next()
            .and_then(reference::alp_paper_bits)
            .flatten(),
        _ => None,
    };
    Ok(InputResult {
        name: input.name.clone(),
        kind: input.kind,
        n,
        profile: format!("{profile:?}"),
        strata_vs_pco_bits: strata.bits_per_value / pco.bits_per_value,
        strata_vs_parquet_zstd_bits: strata.bits_per_value / parquet_zstd.bits_per_value,
        strata_vs_pco_decode: strata.decode_mb_s / pco.decode_mb_s,
        cascades: count(col.cascades.iter().map(ToString::to_string), 5),
        top_level_schemes: count(
            col.cascades.iter().map(|c| c.scheme.to_string()),
            usize::MAX,
        ),
        blocks: col.blocks.len(),
        strata,
        pco,
        parquet_zstd,
        parquet_snappy,
        alp_paper_bits,
    })
}

/// Keeps an operation's output alive (so it is not optimised away) and drops it.
fn done<A>(r: Result<A>) -> Result<()> {
    black_box(r?);
    Ok(())
}

/// Counts equal strings, most common first (ties by name), keeping at most `keep`.
fn count(items: impl Iterator<Item = String>, keep: usize) -> Vec<CascadeCount> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for s in items {
        *counts.entry(s).or_default() += 1;
    }
    let mut v: Vec<CascadeCount> = counts
        .into_iter()
        .map(|(cascade, blocks)| CascadeCount { cascade, blocks })
        .collect();
    v.sort_by(|a, b| {
        b.blocks
            .cmp(&a.blocks)
            .then_with(|| a.cascade.cmp(&b.cascade))
    });
    v.truncate(keep);
    v
}

fn check_targets(report: &CodecReport) -> Vec<TargetCheck> {
    let mut checks = Vec::new();
    let mut check = |target: &str, subject: &str, value: f64, limit: f64, at_most: bool| {
        checks.push(TargetCheck {
            target: target.to_string(),
            subject: subject.to_string(),
            value,
            limit,
            met: if at_most {
                value <= limit
            } else {
                value >= limit
            },
        });
    };
    for r in &report.inputs {
        match r.kind {
            InputKind::FloatSeries => {
                if let Some(alp) = r.alp_paper_bits {
                    check(
                        "bits/value ≤ ALP paper",
                        &r.name,
                        r.strata.bits_per_value,
                        alp,
                        true,
                    );
                }
                check(
                    "bits/value ≤ 0.8 × Parquet+zstd",
                    &r.name,
                    r.strata_vs_parquet_zstd_bits,
                    FLOAT_VS_PARQUET_ZSTD_MAX,
                    true,
                );
                check(
                    "decode ≥ 2 × pco",
                    &r.name,
                    r.strata_vs_pco_decode,
                    FLOAT_DECODE_VS_PCO_MIN,
                    false,
                );
            }
            InputKind::Integer | InputKind::Timestamp => check(
                "bits/value ≤ 1.10 × pco",
                &r.name,
                r.strata_vs_pco_bits,
                INT_BITS_VS_PCO_MAX,
                true,
            ),
            InputKind::Float => {}
        }
    }
    for k in &report.kernels {
        check(
            &format!("decode ≥ {} GB/s", k.target_gb_s),
            &k.kernel,
            k.gb_s,
            k.target_gb_s,
            false,
        );
    }
    checks
}

impl CodecReport {
    /// Renders the report as markdown.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        md.push_str("### Codec: Strata vs pco vs Parquet\n\n");
        md.push_str(&format!(
            "{} · {} · {} · median of {} runs{}\n\n",
            self.date,
            self.machine.describe(),
            if self.quick { "--quick" } else { "full run" },
            self.repetitions,
            self.max_values_per_input
                .map(|m| format!(" · at most {m} values per input"))
                .unwrap_or_default(),
        ));
        md.push_str(&format!(
            "bits = bits/value (all encoded bytes; Parquet: whole file); enc, dec = MB/s of raw \
             8-byte values on one core, median of runs interleaved across codecs. Strata encodes \
             {}-value blocks (the format's default block); pco and Parquet the whole column. \
             pq-zstd = Parquet zstd level 3, pq-snappy = Parquet snappy. ALP paper = published \
             bits/value on the full data set (reference, not measured).\n\n",
            crate::peers::strata_block()
        ));
        let mut header = vec!["input".to_string(), "n".to_string()];
        for c in ["strata", "pco", "pq-zstd", "pq-snappy"] {
            header.extend([format!("{c} bits"), format!("{c} enc"), format!("{c} dec")]);
        }
        header.extend(
            [
                "strata÷pco bits",
                "strata÷pq-zstd bits",
                "strata÷pco dec",
                "ALP paper bits",
                "strata cascade (share of blocks)",
            ]
            .map(String::from),
        );
        let mut table = Table::new(header);
        for r in &self.inputs {
            let mut row = vec![r.name.clone(), r.n.to_string()];
            for f in [&r.strata, &r.pco, &r.parquet_zstd, &r.parquet_snappy] {
                row.extend([
                    num(f.bits_per_value, 2),
                    rate(f.encode_mb_s),
                    rate(f.decode_mb_s),
                ]);
            }
            row.extend([
                num(r.strata_vs_pco_bits, 2),
                num(r.strata_vs_parquet_zstd_bits, 2),
                num(r.strata_vs_pco_decode, 2),
                r.alp_paper_bits.map(|b| num(b, 2)).unwrap_or_default(),
                cascade_cell(r),
            ]);
            table.row(row);
        }
        md.push_str(&table.to_markdown());

        if !self.kernels.is_empty() {
            md.push_str("\n#### Decode kernels (1024-value blocks, forced scheme, one core)\n\n");
            let mut t = Table::new([
                "kernel",
                "cascade (first block)",
                "blocks",
                "GB/s",
                "target GB/s",
            ]);
            for k in &self.kernels {
                t.row(vec![
                    k.kernel.clone(),
                    format!("`{}`", k.cascade),
                    k.blocks.to_string(),
                    num(k.gb_s, 2),
                    num(k.target_gb_s, 1),
                ]);
            }
            md.push_str(&t.to_markdown());
        }

        if !self.targets.is_empty() {
            let missed: Vec<&TargetCheck> = self.targets.iter().filter(|t| !t.met).collect();
            md.push_str(&format!(
                "\n#### Targets: {} of {} met\n\n",
                self.targets.len() - missed.len(),
                self.targets.len()
            ));
            if !missed.is_empty() {
                let mut t = Table::new(["missed target", "subject", "measured", "limit"]);
                for m in missed {
                    t.row(vec![
                        m.target.clone(),
                        m.subject.clone(),
                        num(m.value, 2),
                        num(m.limit, 2),
                    ]);
                }
                md.push_str(&t.to_markdown());
            }
        }
        if !self.notices.is_empty() {
            md.push_str("\nSkipped:\n\n");
            for n in &self.notices {
                md.push_str(&format!("- {n}\n"));
            }
        }
        if !self.errors.is_empty() {
            md.push_str("\nErrors (inputs dropped):\n\n");
            for e in &self.errors {
                md.push_str(&format!("- {e}\n"));
            }
        }
        md
    }
}

/// `` `cascade` 40% `` for the most common full cascade, plus the top-level scheme's share when
/// the full cascades vary.
fn cascade_cell(r: &InputResult) -> String {
    let share = |blocks: usize| 100.0 * blocks as f64 / r.blocks.max(1) as f64;
    let mut cell = String::new();
    if let Some(c) = r.cascades.first() {
        cell = format!("`{}` {:.0}%", c.cascade, share(c.blocks));
    }
    if let Some(top) = r.top_level_schemes.first()
        && r.cascades.first().is_some_and(|c| c.blocks < top.blocks)
    {
        cell.push_str(&format!(
            " (top level {} {:.0}%)",
            top.cascade,
            share(top.blocks)
        ));
    }
    cell
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_orders_by_frequency_then_name() {
        let items = ["b", "a", "b", "c", "a", "b"].map(String::from);
        let c = count(items.into_iter(), 2);
        let got: Vec<(&str, usize)> = c.iter().map(|c| (c.cascade.as_str(), c.blocks)).collect();
        assert_eq!(got, [("b", 3), ("a", 2)]);
    }
}

//! Decode-kernel microbenchmarks: Strata's decoder on 1024-value blocks of one forced scheme,
//! decoded many times, reported in GB/s of decoded output (8 bytes per value) on one core.

use std::hint::black_box;

use strata_codec::{EncodeOptions, Profile, Scheme};

use crate::measure::median_secs_per_call;
use crate::{BenchContext, Result};

/// Target for bit-unpacking, GB/s of decoded output on one core (issue 2).
pub const BITPACK_TARGET_GB_S: f64 = 4.0;
/// Target for delta / frame-of-reference decode, GB/s (issue 2).
pub const DELTA_TARGET_GB_S: f64 = 2.0;
/// Bit widths measured for the bit-packed kernel.
pub const BITPACK_WIDTHS: [u32; 3] = [3, 8, 17];
/// Blocks in each kernel's working set (64 × 1024 values, 512 KiB decoded).
pub const KERNEL_BLOCKS: usize = 64;
/// Values per kernel block: one transposed bit-packing chunk, whatever the format's default.
const STRATA_BLOCK: usize = 1024;

/// One kernel's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KernelResult {
    /// What was decoded, e.g. `bitpacked w=3`.
    pub kernel: String,
    /// Cascade of the first block, as Strata reports it.
    pub cascade: String,
    /// Blocks decoded per pass.
    pub blocks: usize,
    /// Median decoded-output throughput, GB/s (10^9 bytes).
    pub gb_s: f64,
    /// The target for this kernel, GB/s.
    pub target_gb_s: f64,
}

/// Deterministic xorshift64* generator, so every run decodes the same bytes.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator from a non-zero seed (0 is replaced).
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    /// Next pseudo-random value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Values of exactly `width` bits (each block holds 0 and the maximum, so the frame of
/// reference is 0 and the packed width is `width`).
pub fn values_of_width(width: u32, n: usize, seed: u64) -> Vec<u64> {
    let mask = if width >= 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    };
    let mut rng = XorShift::new(seed);
    let mut v: Vec<u64> = (0..n).map(|_| rng.next_u64() & mask).collect();
    for block in v.chunks_mut(STRATA_BLOCK) {
        if let [first, second, ..] = block {
            *first = 0;
            *second = mask;
        }
    }
    v
}

/// Sorted microsecond timestamps with gaps of 0..1000 µs.
pub fn sorted_timestamps(n: usize, seed: u64) -> Vec<i64> {
    let mut rng = XorShift::new(seed);
    let mut t = 1_700_000_000_000_000_i64;
    (0..n)
        .map(|_| {
            t += i64::try_from(rng.next_u64() % 1000).unwrap_or(0);
            t
        })
        .collect()
}

/// Runs every kernel. `real_timestamps`, when given (e.g. the flights `date` column), adds a
/// delta kernel on real data.
pub fn run(ctx: &BenchContext, real_timestamps: Option<&[i64]>) -> Result<Vec<KernelResult>> {
    let n = KERNEL_BLOCKS * STRATA_BLOCK;
    let mut results = Vec::new();
    for w in BITPACK_WIDTHS {
        let values = values_of_width(w, n, 0x5EED ^ u64::from(w));
        let opts = EncodeOptions {
            scheme: Some(Scheme::BitPacked),
            ..EncodeOptions::default()
        };
        let blocks = encode_blocks(&values, |b| strata_codec::encode_u64(b, &opts))?;
        let gb_s = time_decode(ctx, &blocks.0, |b| {
            black_box(strata_codec::decode_u64(b)?);
            Ok(())
        })?;
        results.push(KernelResult {
            kernel: format!("bitpacked w={w} (u64)"),
            cascade: blocks.1,
            blocks: blocks.0.len(),
            gb_s,
            target_gb_s: BITPACK_TARGET_GB_S,
        });
    }
    let synthetic = sorted_timestamps(n, 0x7153);
    let mut delta_inputs = vec![(
        "delta, synthetic sorted µs timestamps".to_string(),
        synthetic,
    )];
    if let Some(real) = real_timestamps {
        let take = real.len().min(n);
        delta_inputs.push((
            "delta, bts-flights-3m/date".to_string(),
            real[..take].to_vec(),
        ));
    }
    for (kernel, values) in delta_inputs {
        let opts = EncodeOptions {
            profile: Profile::TimeSeries,
            scheme: Some(Scheme::Delta),
            ..EncodeOptions::default()
        };
        let blocks = encode_blocks(&values, |b| strata_codec::encode_i64(b, &opts))?;
        let gb_s = time_decode(ctx, &blocks.0, |b| {
            black_box(strata_codec::decode_i64(b)?);
            Ok(())
        })?;
        results.push(KernelResult {
            kernel,
            cascade: blocks.1,
            blocks: blocks.0.len(),
            gb_s,
            target_gb_s: DELTA_TARGET_GB_S,
        });
    }
    Ok(results)
}

/// Encodes `values` in blocks; returns the blocks and the first block's cascade.
fn encode_blocks<T>(
    values: &[T],
    encode: impl Fn(&[T]) -> strata_codec::Result<strata_codec::Encoded>,
) -> Result<(Vec<Vec<u8>>, String)> {
    let mut blocks = Vec::new();
    let mut cascade = String::new();
    for (i, block) in values.chunks(STRATA_BLOCK).enumerate() {
        let enc = encode(block)?;
        if i == 0 {
            cascade = enc.cascade.to_string();
        }
        blocks.push(enc.bytes);
    }
    Ok((blocks, cascade))
}

/// Median GB/s of decoding every block, as many passes per timed run as fill twice
/// [`BenchContext::min_run_secs`].
fn time_decode(
    ctx: &BenchContext,
    blocks: &[Vec<u8>],
    mut decode: impl FnMut(&[u8]) -> Result<()>,
) -> Result<f64> {
    let bytes_per_pass = blocks.len() * STRATA_BLOCK * 8;
    let secs_per_pass = median_secs_per_call(ctx.repetitions(), 2.0 * ctx.min_run_secs(), || {
        for b in blocks {
            decode(b)?;
        }
        Ok(())
    })?;
    Ok(if secs_per_pass > 0.0 {
        bytes_per_pass as f64 / 1e9 / secs_per_pass
    } else {
        f64::INFINITY
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_of_width_span_exactly_that_width() {
        let v = values_of_width(17, 3000, 9);
        assert!(v.iter().all(|&x| x < 1 << 17));
        assert_eq!(v[0], 0);
        assert_eq!(v[1], (1 << 17) - 1);
        assert_eq!(v[1024 + 1], (1 << 17) - 1);
    }

    #[test]
    fn forced_bitpacking_uses_the_requested_width() {
        let v = values_of_width(8, 1024, 3);
        let opts = EncodeOptions {
            scheme: Some(Scheme::BitPacked),
            ..EncodeOptions::default()
        };
        let enc = strata_codec::encode_u64(&v, &opts).unwrap();
        let shown = enc.cascade.to_string();
        assert!(
            shown.starts_with("bitpacked") && shown.contains('8'),
            "{shown}"
        );
        assert_eq!(strata_codec::decode_u64(&enc.bytes).unwrap(), v);
    }

    #[test]
    fn sorted_timestamps_are_non_decreasing() {
        let t = sorted_timestamps(5000, 1);
        assert!(t.windows(2).all(|w| w[0] <= w[1]));
    }
}

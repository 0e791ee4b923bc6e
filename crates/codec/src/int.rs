//! Integer encodings over the unsigned 64-bit domain, and their sampled selection.
//!
//! Signed values reach this module with their sign bit flipped ([`flip_i64`]), which keeps their
//! order, so every scheme here (frame of reference above all) works on `u64` alone. Deltas are
//! taken as wrapping `i64` differences and flipped the same way, so a run of small negative and
//! positive deltas stays a narrow range for the frame of reference.

use crate::ans;
use crate::bitpack::{self, packed_words, width_of};
use crate::cascade::{Cascade, Scheme};
use crate::error::{CodecError, Result, corrupt};
use crate::io::{PutLe, Reader};
use crate::sample::{sample, spread};
use crate::{Limits, Profile};

/// Node tags of the integer schemes. Float and byte schemes use other ranges.
pub(crate) mod tag {
    pub(crate) const CONSTANT: u8 = 0x01;
    pub(crate) const PLAIN: u8 = 0x02;
    pub(crate) const BITPACKED: u8 = 0x03;
    pub(crate) const PATCHED: u8 = 0x04;
    pub(crate) const DELTA: u8 = 0x05;
    pub(crate) const DELTA_OF_DELTA: u8 = 0x06;
    pub(crate) const RLE: u8 = 0x07;
    pub(crate) const DICTIONARY: u8 = 0x08;
    pub(crate) const LZ4: u8 = 0x09;
    pub(crate) const BITPACKED_SCALED: u8 = 0x0a;
    pub(crate) const ANS: u8 = 0x0b;
    pub(crate) const PACKED_LZ4: u8 = 0x0c;
    pub(crate) const BITPACKED_MINI: u8 = 0x0d;
    pub(crate) const PARTS: u8 = 0x0e;
    /// `ans` with a lane count of its own (see `ans.rs`).
    pub(crate) const ANS_LANES: u8 = 0x0f;
}

/// Values in one miniblock of a [`tag::BITPACKED_MINI`] node: one transposed chunk.
const MINI: usize = bitpack::CHUNK;

/// Greatest common divisor of `v - min` over all values (0 when all are equal); stops early at 1.
///
/// Values the running divisor already divides leave it unchanged, and are recognised by a
/// multiplication ([`Divisor`]) instead of Euclid's divisions.
fn common_factor(values: &[u64], min: u64) -> u64 {
    let mut g = 0u64;
    let mut divisor: Option<Divisor> = None;
    for &v in values {
        let d = v.wrapping_sub(min);
        if divisor.as_ref().is_some_and(|t| t.divides(d)) {
            continue;
        }
        g = gcd(g, d);
        if g == 1 {
            break;
        }
        divisor = (g != 0).then(|| Divisor::new(g));
    }
    g
}

/// A divisibility test by a fixed `g > 0` without division (Granlund and Montgomery): with
/// `g = odd · 2^shift`, `g` divides `d` iff `d` has at least `shift` trailing zeros and
/// `(d >> shift) · odd⁻¹ mod 2^64 ≤ ⌊(2^64 − 1) / odd⌋`.
#[derive(Debug, Clone, Copy)]
struct Divisor {
    shift: u32,
    inverse: u64,
    limit: u64,
}

impl Divisor {
    fn new(g: u64) -> Self {
        let shift = g.trailing_zeros();
        let odd = (g >> shift).max(1);
        // Newton's iteration for the inverse modulo 2^64: `odd` is its own inverse modulo 8
        // (3 bits), and each step doubles the correct bits: 6, 12, 24, 48, 96.
        let mut inverse = odd;
        for _ in 0..5 {
            inverse = inverse.wrapping_mul(2u64.wrapping_sub(odd.wrapping_mul(inverse)));
        }
        Self {
            shift,
            inverse,
            limit: u64::MAX / odd,
        }
    }

    #[inline]
    fn divides(&self, d: u64) -> bool {
        d.trailing_zeros() >= self.shift
            && (d >> self.shift).wrapping_mul(self.inverse) <= self.limit
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Order-preserving map from `i64` to `u64`.
#[inline]
pub(crate) fn flip_i64(v: i64) -> u64 {
    (v as u64) ^ (1 << 63)
}

/// Inverse of [`flip_i64`].
#[inline]
pub(crate) fn unflip_i64(v: u64) -> i64 {
    (v ^ (1 << 63)) as i64
}

/// Encoding context handed down a cascade.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx {
    /// Levels still allowed below and including this node (1 = leaf schemes only).
    pub(crate) depth: u8,
    pub(crate) profile: Profile,
    /// Whether the sampler may choose the entropy-coded leaf.
    pub(crate) entropy: bool,
}

impl Ctx {
    pub(crate) fn child(self) -> Self {
        Self {
            depth: self.depth.saturating_sub(1).max(1),
            ..self
        }
    }
    fn leaf(self) -> Self {
        Self { depth: 1, ..self }
    }
}

const NODE_HEADER: usize = 5; // tag + count

/// Nodes the other schemes already store in fewer bytes are not worth planning bins for.
const ENTROPY_MIN_BYTES: usize = 48;

/// The entropy-coded leaf must save a byte for every this many values (half a bit a value)
/// over the best other scheme to be chosen.
const ANS_MARGIN_VALUES: usize = 16;

/// Summary of a (sampled) vector used by the selection heuristics.
#[derive(Debug, Clone, Copy)]
struct Stats {
    min: u64,
    max: u64,
    runs: usize,
}

impl Stats {
    fn of(values: &[u64]) -> Self {
        let (min, max) = min_max(values);
        let changes = values.windows(2).filter(|w| w[0] != w[1]).count();
        let runs = usize::from(!values.is_empty()) + changes;
        Self { min, max, runs }
    }
}

/// Minimum and maximum of `values` (`(u64::MAX, 0)` when empty). The sampler takes them of
/// every node it considers and of each miniblock: 7 % of a weather write's time was these
/// comparisons, which only AVX-512 has as vector instructions for unsigned 64-bit lanes; a
/// copy compiled for it runs where the CPU has it (detected at run time).
pub(crate) fn min_max(values: &[u64]) -> (u64, u64) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        #[expect(unsafe_code, reason = "calls a function compiled for AVX-512")]
        // SAFETY: the CPU has AVX-512F, checked just above; the function is otherwise safe.
        unsafe {
            return min_max_avx512(values);
        }
    }
    min_max_baseline(values)
}

/// [`min_max_baseline`] compiled for AVX-512.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn min_max_avx512(values: &[u64]) -> (u64, u64) {
    min_max_baseline(values)
}

/// [`min_max`] in eight independent lanes, so they are not one long chain of dependent
/// comparisons (and one vector of them where the target has unsigned 64-bit minima).
#[inline(always)]
fn min_max_baseline(values: &[u64]) -> (u64, u64) {
    let mut min = [u64::MAX; 8];
    let mut max = [0u64; 8];
    let (chunks, rest) = values.as_chunks::<8>();
    for c in chunks {
        for ((lo, hi), &v) in min.iter_mut().zip(max.iter_mut()).zip(c) {
            *lo = (*lo).min(v);
            *hi = (*hi).max(v);
        }
    }
    let mut min = min.into_iter().fold(u64::MAX, u64::min);
    let mut max = max.into_iter().fold(0, u64::max);
    for &v in rest {
        min = min.min(v);
        max = max.max(v);
    }
    (min, max)
}

/// A node of more than one miniblock laid out as [`tag::BITPACKED_MINI`]: a frame of reference
/// and a bit width per 1024 values, so a trending or drifting input (prices, ALP digits of a
/// slowly moving series, counters) pays each stretch's own range rather than the node's. The
/// node's common factor (of every value minus the node's minimum) divides every offset too.
struct Mini {
    /// The common factor (1 for none).
    factor: u64,
    /// Each miniblock's minimum.
    mins: Vec<u64>,
    /// Each miniblock's bit width.
    widths: Vec<u8>,
    /// Width of the miniblock minimums above the node's minimum, over the factor.
    offset_width: u8,
    /// Bytes of the node in this layout.
    size: usize,
}

/// The miniblock layout of `values`, whose minimum is `min` and whose offsets from it `factor`
/// divides; `None` for one miniblock or less.
fn mini_plan(values: &[u64], min: u64, factor: u64) -> Option<Mini> {
    if values.len() <= MINI {
        return None;
    }
    let m = values.len().div_ceil(MINI);
    let mut mins = Vec::with_capacity(m);
    let mut widths = Vec::with_capacity(m);
    let mut words = 0;
    let mut top = 0;
    for c in values.chunks(MINI) {
        let (lo, hi) = min_max(c);
        let w = width_of((hi - lo) / factor);
        words += packed_words(c.len(), w);
        top = top.max((lo - min) / factor);
        mins.push(lo);
        widths.push(w);
    }
    let offset_width = width_of(top);
    let size = NODE_HEADER + 17 + m + bitpack::sequential_bytes(m, offset_width) + words * 8;
    Some(Mini {
        factor,
        mins,
        widths,
        offset_width,
        size,
    })
}

/// Values at least this wide may take a dictionary of up to n/2 entries (narrower ones n/3).
const DICTIONARY_WIDE_BITS: u8 = 16;

/// Whether a dictionary could pay (at most n/3 distinct values), judged loosely on a 256-value probe
/// so that most inputs are ruled out before anyone sorts them. For `wide` values (up to n/2
/// distinct), on a 512-value probe, which must hold at most 95 % distinct values: a block of
/// 4,096 values with 2,048 distinct ones shows about 440 distinct in 512, one with no
/// repeats 512.
fn dictionary_plausible(values: &[u64], wide: bool) -> bool {
    let step = (values.len() / if wide { 512 } else { 256 }).max(1);
    let probe = values.iter().step_by(step).copied();
    let len = values.len().div_ceil(step);
    let distinct = if len <= PROBE_SLOTS / 2 {
        distinct_in_table(probe)
    } else {
        let mut probe: Vec<u64> = probe.collect();
        probe.sort_unstable();
        probe.dedup();
        probe.len()
    };
    if wide {
        distinct * 20 <= len * 19
    } else {
        distinct * 3 <= len * 2
    }
}

/// Slots of the open-addressing table [`distinct_in_table`] counts in.
const PROBE_SLOTS: usize = 1024;

/// Exact number of distinct values among at most `PROBE_SLOTS / 2` values, by linear probing
/// in a table on the stack (no sort, no allocation).
fn distinct_in_table(values: impl Iterator<Item = u64>) -> usize {
    let mut keys = [0u64; PROBE_SLOTS];
    let mut used = [false; PROBE_SLOTS];
    let mut distinct = 0;
    for v in values {
        // Fibonacci hashing: the top 10 bits of v · 2^64/φ.
        let mut i = (v.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54) as usize;
        loop {
            let slot = i % PROBE_SLOTS;
            match (used.get(slot), keys.get(slot)) {
                (Some(true), Some(&k)) if k == v => break,
                (Some(true), _) => i += 1,
                _ => {
                    if let (Some(u), Some(k)) = (used.get_mut(slot), keys.get_mut(slot)) {
                        *u = true;
                        *k = v;
                    }
                    distinct += 1;
                    break;
                }
            }
        }
    }
    distinct
}

fn bitpacked_size(n: usize, w: u8) -> usize {
    NODE_HEADER + 9 + packed_words(n, w) * 8
}

/// Values of the probe that decides whether [`Scheme::PackedLz4`] is worth estimating.
const PROBE_VALUES: usize = 256;

/// Exact size of a [`Scheme::PackedLz4`] node of `values` (compresses them once).
fn packed_lz4_size(values: &[u64], min: u64, w: u8) -> usize {
    let packed = bitpack::pack_sequential_bytes(values, min, w);
    let compressed = lz4_flex::block::compress(&packed).len();
    NODE_HEADER + 9 + len_size(compressed) + compressed
}

/// Bytes of `n` as a varint length.
fn len_size(n: usize) -> usize {
    let bits = usize::from(width_of(n as u64)).max(1);
    bits.div_ceil(7)
}

/// Best bit width for the patched scheme and its estimated size, if patching beats plain FOR.
fn patched_choice(values: &[u64], min: u64, full_width: u8) -> Option<(u8, usize)> {
    let n = values.len();
    if n < 64 || full_width < 2 {
        return None;
    }
    // A strided histogram is enough to pick the width; exceptions are found exactly later.
    let step = (n / 256).max(1);
    let mut hist = [0usize; 65];
    for i in spread(n, step) {
        hist[usize::from(width_of(values[i].wrapping_sub(min)))] += step;
    }
    let per_exception = (usize::from(width_of(n as u64)) + usize::from(full_width)).div_ceil(8) + 1;
    let mut best: Option<(u8, usize)> = None;
    let mut above = 0usize;
    for w in (0..full_width).rev() {
        above += hist[usize::from(w) + 1];
        if above > n / 8 {
            break;
        }
        let size = NODE_HEADER
            + 9
            + 4
            + 2 * (NODE_HEADER + 9)
            + packed_words(n, w) * 8
            + above * per_exception;
        if best.is_none_or(|(_, s)| size < s) {
            best = Some((w, size));
        }
    }
    best.filter(|&(_, s)| s < bitpacked_size(n, full_width))
}

fn deltas(values: &[u64]) -> Vec<u64> {
    values
        .windows(2)
        .map(|w| flip_i64(w[1].wrapping_sub(w[0]) as i64))
        .collect()
}

fn runs_of(values: &[u64]) -> (Vec<u64>, Vec<u64>) {
    let mut vals = Vec::new();
    let mut lens: Vec<u64> = Vec::new();
    for &v in values {
        match (vals.last(), lens.last_mut()) {
            (Some(&last), Some(len)) if last == v => *len += 1,
            _ => {
                vals.push(v);
                lens.push(1);
            }
        }
    }
    (vals, lens)
}

/// Sorted distinct values. Narrow ranges (codes, small counters) use a bitset instead of a
/// sort.
fn distinct_of(values: &[u64]) -> Vec<u64> {
    distinct_at_most(values, values.len()).unwrap_or_default()
}

/// Sorted distinct values, or `None` as soon as there are more than `limit` of them. Narrow
/// ranges (codes, small counters) use a bitset; wide ones are collected by linear probing
/// (stopping early past `limit`) and only the distinct values are sorted.
fn distinct_at_most(values: &[u64], limit: usize) -> Option<Vec<u64>> {
    if let Some(set) = NarrowSet::of(values) {
        return (set.count() <= limit).then(|| set.sorted());
    }
    let mut set = crate::DistinctSet::with_capacity(values.len());
    let mut out = Vec::new();
    for &v in values {
        if set.insert(v) {
            out.push(v);
            if out.len() > limit {
                return None;
            }
        }
    }
    out.sort_unstable();
    Some(out)
}

/// The values of a slice whose range is below 2^16, as a bitset over `min..=max`.
struct NarrowSet {
    min: u64,
    bits: Vec<u64>,
}

impl NarrowSet {
    fn of(values: &[u64]) -> Option<Self> {
        let (min, max) = min_max(values);
        if values.is_empty() || max - min >= 1 << 16 {
            return None;
        }
        let mut bits = vec![0u64; ((max - min) as usize >> 6) + 1];
        for &v in values {
            let o = (v - min) as usize;
            if let Some(w) = bits.get_mut(o >> 6) {
                *w |= 1 << (o & 63);
            }
        }
        Some(Self { min, bits })
    }

    fn count(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    fn sorted(&self) -> Vec<u64> {
        let mut out = Vec::with_capacity(self.count());
        for (i, &w) in self.bits.iter().enumerate() {
            let mut w = w;
            while w != 0 {
                let t = w.trailing_zeros() as u64;
                out.push(self.min + ((i as u64) << 6) + t);
                w &= w - 1;
            }
        }
        out
    }

    /// The rank of every value among the set's (its dictionary code): set bits before it, by
    /// a running count per word and a popcount within the word, without a search.
    fn ranks(&self, values: &[u64]) -> Vec<u64> {
        let mut before = Vec::with_capacity(self.bits.len());
        let mut running = 0u64;
        for w in &self.bits {
            before.push(running);
            running += u64::from(w.count_ones());
        }
        values
            .iter()
            .map(|&v| {
                let o = v.wrapping_sub(self.min) as usize;
                let (w, b) = (o >> 6, o & 63);
                let below = self.bits.get(w).map_or(0, |x| x & ((1u64 << b) - 1));
                before.get(w).copied().unwrap_or(0) + u64::from(below.count_ones())
            })
            .collect()
    }
}

/// Sorted distinct values and the code of every value.
fn dictionary_of(values: &[u64]) -> (Vec<u64>, Vec<u64>) {
    if let Some(set) = NarrowSet::of(values) {
        return (set.sorted(), set.ranks(values));
    }
    let dict = distinct_of(values);
    let codes = values
        .iter()
        .map(|v| dict.binary_search(v).unwrap_or(0) as u64)
        .collect();
    (dict, codes)
}

/// Picks the scheme with the smallest estimated size for `values` (already a sample).
pub(crate) fn choose(values: &[u64], ctx: Ctx, top: bool) -> (Scheme, usize) {
    let (scheme, size, _) = choose_planned(values, ctx, top);
    (scheme, size)
}

/// [`choose`], with the entropy-coded leaf's plan when it is the choice of a `top` node (a
/// plan of `values`, which [`ans::encode_planned`] can use when they are the whole input).
fn choose_planned(values: &[u64], ctx: Ctx, top: bool) -> (Scheme, usize, Option<ans::Plan>) {
    let n = values.len();
    let plain = NODE_HEADER + 8 * n;
    if n == 0 {
        return (Scheme::Plain, plain, None);
    }
    let st = Stats::of(values);
    if st.min == st.max {
        return (Scheme::Constant, NODE_HEADER + 8, None);
    }
    let full_width = width_of(st.max - st.min);
    let mut best = (Scheme::Plain, plain);
    let consider = |best: &mut (Scheme, usize), s: Scheme, size: usize| {
        if size < best.1 {
            *best = (s, size);
        }
    };
    let factor = common_factor(values, st.min);
    let packed_width = if factor > 1 {
        width_of((st.max - st.min) / factor)
    } else {
        full_width
    };
    consider(
        &mut best,
        Scheme::BitPacked,
        bitpacked_size(n, packed_width) + 8 * usize::from(factor > 1),
    );
    if let Some(mini) = mini_plan(values, st.min, factor.max(1)) {
        consider(&mut best, Scheme::BitPacked, mini.size);
    }
    if let Some((_, size)) = patched_choice(values, st.min, full_width) {
        consider(&mut best, Scheme::Patched, size);
    }
    // Two adjacent values (booleans, validity bitmaps): a dictionary's codes would be as wide
    // as the values, and deltas take three values where the input has two; runs, patching and
    // bit-packing are what can win.
    let two_valued = full_width <= 1;
    if ctx.depth >= 2 {
        let child = ctx.child();
        if n >= 3 && !two_valued {
            let d = deltas(values);
            consider(
                &mut best,
                Scheme::Delta,
                NODE_HEADER + 8 + choose(&d, child, false).1,
            );
            if ctx.profile == Profile::TimeSeries && n >= 4 {
                let dd = deltas(&d);
                consider(
                    &mut best,
                    Scheme::DeltaOfDelta,
                    NODE_HEADER + 16 + choose(&dd, child, false).1,
                );
            }
        }
        if st.runs * 3 <= n {
            let (vals, lens) = runs_of(values);
            let size =
                NODE_HEADER + 4 + choose(&vals, child, false).1 + choose(&lens, child, false).1;
            consider(&mut best, Scheme::Rle, size);
        }
        // Wide values (16 bits or more) can pay for a dictionary of up to half as many
        // entries as values: codes a bit or two narrower than a sorted dictionary's gaps
        // still save most of each value's width.
        let wide = full_width >= DICTIONARY_WIDE_BITS;
        if n >= 16
            && !two_valued
            && dictionary_plausible(values, wide)
            && let Some(dict) = distinct_at_most(values, if wide { n / 2 } else { n / 3 })
        {
            let code_width = width_of(dict.len() as u64 - 1);
            let size = NODE_HEADER + choose(&dict, child, false).1 + bitpacked_size(n, code_width);
            consider(&mut best, Scheme::Dictionary, size);
        }
    }
    // The entropy-coded leaf is estimated from the sample's histogram: its bins, quantised
    // weights, table and offset bits are planned as the encoder would plan them, but nothing
    // is rANS-coded. Below 64 values its fixed cost (states, table) cannot pay. It decodes
    // several times slower than bit-packing: it must save half a bit a value to be worth
    // that (a tenth, as before, kept 0.1-0.9 points more of the bytes on the suite's tables
    // but read them 2-13 % slower; docs/benchmarks.md, "The entropy leaf's margin"). It is
    // estimated after the other schemes, so that a node the best of them already codes near
    // its entropy is not planned at all (see `ans::plan_below`).
    let margin = n.div_ceil(ANS_MARGIN_VALUES);
    let mut planned = None;
    if ctx.entropy
        && n >= 64
        && best.1 > ENTROPY_MIN_BYTES
        && let Some(p) = if top {
            ans::plan_below(values, (st.min, st.max), best.1.saturating_sub(margin))
        } else {
            ans::estimate(values, (st.min, st.max), best.1.saturating_sub(margin))
        }
        && p.bytes + margin < best.1
    {
        best = (Scheme::Ans, p.bytes + margin);
        planned = top.then_some(p);
    }
    if top && n >= 64 && best.1 > 64 && full_width > 0 {
        // Sequential bit-packing behind LZ4 finds what no per-value scheme models: a sequence
        // that repeats (hours of the day, a station cycling through its sensors, codes in a
        // periodic order). It decodes slower than bit-packing, so it must save a fifth of the
        // best other choice. A probe of the first values rules out most inputs (which do not
        // repeat) at a fraction of the cost: it must save 30 % before the whole is compressed.
        let probe = &values[..values.len().min(PROBE_VALUES)];
        let packed = bitpack::pack_sequential_bytes(probe, st.min, full_width);
        if lz4_flex::block::compress(&packed).len() * 10 <= packed.len() * 7 {
            let size = packed_lz4_size(values, st.min, full_width);
            if size * 5 < best.1 * 4 {
                consider(&mut best, Scheme::PackedLz4, size);
            }
        }
    }
    if top && best.1 * 10 > plain * 6 {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let size = NODE_HEADER + 4 + lz4_flex::block::compress(&bytes).len();
        if size < best.1 {
            best = (Scheme::Lz4, size);
        }
    }
    let planned = planned.filter(|_| best.0 == Scheme::Ans);
    (best.0, best.1, planned)
}

/// Encodes `values` as one node, choosing the scheme by sampling unless `forced` names one.
pub(crate) fn encode(
    values: &[u64],
    ctx: Ctx,
    forced: Option<Scheme>,
    out: &mut Vec<u8>,
) -> Cascade {
    let scheme = match forced {
        Some(s) => s,
        None => {
            let s = sample(values);
            let whole = s.len() == values.len();
            let (scheme, _, plan) = choose_planned(&s, ctx, true);
            // The sampler's plan is the node's when it saw every value; otherwise its bins
            // are kept and only the weights are fitted to the whole input.
            if let Some(p) = plan {
                let p = if whole {
                    Some(p)
                } else {
                    ans::plan_following(values, &p.lowers())
                };
                if let Some(p) = p {
                    return encode_ans(values, &p, ctx, out);
                }
            }
            scheme
        }
    };
    encode_with(values, ctx, scheme, out)
}

fn header(out: &mut Vec<u8>, tag: u8, n: usize) {
    out.put_u8(tag);
    out.put_len(n);
}

/// Encodes with a given scheme; children are chosen by sampling.
/// Encodes `values` along `hint`, the cascade of an earlier, similar input: the same scheme at
/// every node (parameters such as bit widths and dictionaries are derived from `values`), and
/// the sampled choice wherever the hint has no usable node. No scheme search runs on the
/// hinted path, which makes this several times cheaper than [`encode`]; the result is always a
/// valid encoding of `values`, though not necessarily the smallest.
pub(crate) fn encode_following(
    values: &[u64],
    ctx: Ctx,
    hint: &Cascade,
    out: &mut Vec<u8>,
) -> Cascade {
    if hint.scheme == Scheme::Parts {
        return encode_parts(values, ctx, Some(&hint.children), out);
    }
    let compound = matches!(
        hint.scheme,
        Scheme::Delta | Scheme::DeltaOfDelta | Scheme::Rle | Scheme::Dictionary
    );
    let integer = compound
        || matches!(
            hint.scheme,
            Scheme::Constant
                | Scheme::Plain
                | Scheme::BitPacked
                | Scheme::Patched
                | Scheme::Lz4
                | Scheme::PackedLz4
                | Scheme::Ans
        );
    if !integer || (compound && ctx.depth < 2) {
        return encode(values, ctx, None, out);
    }
    if hint.scheme == Scheme::Ans
        && !values.is_empty()
        && let Some(p) = hint
            .ans_lowers
            .as_deref()
            .and_then(|lowers| ans::plan_following(values, lowers))
    {
        return encode_ans(values, &p, ctx, out);
    }
    encode_node(values, ctx, hint.scheme, Some(&hint.children), out)
}

/// Encodes `values` as an entropy-coded node under `p`, a plan of exactly them; the cascade
/// keeps the plan's bins for blocks that follow it.
fn encode_ans(values: &[u64], p: &ans::Plan, ctx: Ctx, out: &mut Vec<u8>) -> Cascade {
    match ans::encode_planned(values, p, out) {
        Some(detail) => {
            let mut c = Cascade::leaf(Scheme::Ans).with_detail(detail);
            c.ans_lowers = Some(p.lowers().into());
            c
        }
        None => encode_node(values, ctx, Scheme::Plain, None, out),
    }
}

/// Encodes a child: along its hint when there is one, else by sampling.
fn encode_child(values: &[u64], ctx: Ctx, hint: Option<&Cascade>, out: &mut Vec<u8>) -> Cascade {
    match hint {
        Some(h) => encode_following(values, ctx, h, out),
        None => encode(values, ctx, None, out),
    }
}

pub(crate) fn encode_with(values: &[u64], ctx: Ctx, scheme: Scheme, out: &mut Vec<u8>) -> Cascade {
    encode_node(values, ctx, scheme, None, out)
}

fn encode_node(
    values: &[u64],
    ctx: Ctx,
    scheme: Scheme,
    hints: Option<&[Cascade]>,
    out: &mut Vec<u8>,
) -> Cascade {
    let n = values.len();
    let child = ctx.child();
    let hint = |i: usize| hints.and_then(|h| h.get(i));
    match scheme {
        Scheme::Constant if n > 0 && values.iter().all(|&v| v == values[0]) => {
            header(out, tag::CONSTANT, n);
            out.put_u64(values[0]);
            Cascade::leaf(Scheme::Constant)
        }
        Scheme::BitPacked | Scheme::Patched | Scheme::Constant if n > 0 => {
            let (min, max) = values
                .iter()
                .fold((u64::MAX, 0), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            let full_width = width_of(max - min);
            let patched = if scheme == Scheme::Patched {
                patched_choice(values, min, full_width)
            } else {
                None
            };
            match patched {
                Some((w, _)) => encode_patched(values, min, w, ctx, out),
                None => {
                    let factor = common_factor(values, min);
                    let single = if factor > 1 {
                        bitpacked_size(n, width_of((max - min) / factor)) + 8
                    } else {
                        bitpacked_size(n, full_width)
                    };
                    match mini_plan(values, min, factor.max(1)) {
                        Some(mini) if mini.size < single => encode_mini(values, min, &mini, out),
                        _ if factor > 1 => {
                            let scaled: Vec<u64> =
                                values.iter().map(|&v| (v - min) / factor).collect();
                            let w = width_of((max - min) / factor);
                            header(out, tag::BITPACKED_SCALED, n);
                            out.put_u64(min);
                            out.put_u64(factor);
                            out.put_u8(w);
                            put_words(out, &bitpack::pack(&scaled, 0, w));
                            Cascade::leaf(Scheme::BitPacked).with_detail(format!("w={w},x{factor}"))
                        }
                        _ => {
                            header(out, tag::BITPACKED, n);
                            out.put_u64(min);
                            out.put_u8(full_width);
                            put_words(out, &bitpack::pack(values, min, full_width));
                            Cascade::leaf(Scheme::BitPacked).with_detail(format!("w={full_width}"))
                        }
                    }
                }
            }
        }
        Scheme::Delta if n >= 2 => {
            header(out, tag::DELTA, n);
            out.put_u64(values[0]);
            let c = encode_child(&deltas(values), child, hint(0), out);
            Cascade::node(Scheme::Delta, vec![c])
        }
        Scheme::DeltaOfDelta if n >= 3 => {
            header(out, tag::DELTA_OF_DELTA, n);
            out.put_u64(values[0]);
            let d = deltas(values);
            out.put_u64(d[0]);
            let c = encode_child(&deltas(&d), child, hint(0), out);
            Cascade::node(Scheme::DeltaOfDelta, vec![c])
        }
        Scheme::Rle if n > 0 => {
            let (vals, lens) = runs_of(values);
            header(out, tag::RLE, n);
            out.put_len(vals.len());
            let a = encode_child(&vals, child, hint(0), out);
            let b = encode_child(&lens, child, hint(1), out);
            Cascade::node(Scheme::Rle, vec![a, b])
        }
        Scheme::Dictionary if n > 0 => {
            let (dict, codes) = dictionary_of(values);
            header(out, tag::DICTIONARY, n);
            let a = encode_child(&dict, child, hint(0), out);
            let b = encode_child(&codes, child, hint(1), out);
            Cascade::node(Scheme::Dictionary, vec![a, b])
        }
        Scheme::Parts => encode_parts(values, ctx, hints, out),
        Scheme::Ans if n > 0 => match ans::plan(values) {
            Some(p) => encode_ans(values, &p, ctx, out),
            None => encode_node(values, ctx, Scheme::Plain, None, out),
        },
        Scheme::PackedLz4 if n > 0 => {
            let (min, max) = values
                .iter()
                .fold((u64::MAX, 0), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            let w = width_of(max - min);
            let packed = bitpack::pack_sequential_bytes(values, min, w);
            let compressed = lz4_flex::block::compress(&packed);
            header(out, tag::PACKED_LZ4, n);
            out.put_u64(min);
            out.put_u8(w);
            out.put_len(compressed.len());
            out.extend_from_slice(&compressed);
            Cascade::leaf(Scheme::PackedLz4).with_detail(format!("w={w}"))
        }
        Scheme::Lz4 => {
            let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            let compressed = lz4_flex::block::compress(&bytes);
            header(out, tag::LZ4, n);
            out.put_len(compressed.len());
            out.extend_from_slice(&compressed);
            Cascade::leaf(Scheme::Lz4)
        }
        // Plain, and any scheme that does not apply to this input (too short, empty).
        _ => {
            header(out, tag::PLAIN, n);
            put_words(out, values);
            Cascade::leaf(Scheme::Plain)
        }
    }
}

/// Values in each run of a `parts` node (the last run may be shorter): the decode kernels'
/// and the miniblocks' 1024.
pub(crate) const PART: usize = 1024;

/// Which hint a part follows: the one at its index, else the last (a block longer than the
/// one it follows), never a `parts` node (a part is never one).
pub(crate) fn part_hint(hints: Option<&[Cascade]>, i: usize) -> Option<&Cascade> {
    hints
        .and_then(|h| h.get(i).or(h.last()))
        .filter(|h| h.scheme != Scheme::Parts)
}

/// Writes `values` as a `parts` node: runs of [`PART`] values, each a node of its own, chosen
/// by sampling or along the hint [`part_hint`] gives it.
pub(crate) fn encode_parts(
    values: &[u64],
    ctx: Ctx,
    hints: Option<&[Cascade]>,
    out: &mut Vec<u8>,
) -> Cascade {
    parts_node(
        values,
        out,
        |part, hint, out| match hint {
            Some(h) => encode_following(part, ctx, h, out),
            None => encode(part, ctx, None, out),
        },
        hints,
    )
}

/// Writes the header of a `parts` node of `values` (integers or floats) and each run through
/// `run`, with the hint [`part_hint`] gives it.
pub(crate) fn parts_node<T>(
    values: &[T],
    out: &mut Vec<u8>,
    mut run: impl FnMut(&[T], Option<&Cascade>, &mut Vec<u8>) -> Cascade,
    hints: Option<&[Cascade]>,
) -> Cascade {
    header(out, tag::PARTS, values.len());
    out.put_len(PART);
    let children = values
        .chunks(PART)
        .enumerate()
        .map(|(i, part)| run(part, part_hint(hints, i), out))
        .collect();
    Cascade::node(Scheme::Parts, children).with_detail(format!("{PART}"))
}

/// Reads the run length of a `parts` node of `n` values (after its count) and calls `part`
/// with the length of each run, checking first that the part's node claims that many values
/// and is not itself a `parts` node (which bounds the recursion a corrupt buffer could ask
/// for).
pub(crate) fn decode_parts(
    r: &mut Reader<'_>,
    n: usize,
    limits: Limits,
    mut part: impl FnMut(&mut Reader<'_>, usize) -> Result<()>,
) -> Result<()> {
    // A run may be longer than the node (a short last block following a parts cascade), so
    // it is bounded by the format's field, not by the count limit; each part's count is.
    let run = r.count(u32::MAX as usize)?;
    if run == 0 && n > 0 {
        return Err(corrupt("parts", "runs of 0 values"));
    }
    let mut left = n;
    while left > 0 {
        let len = run.min(left);
        let at = r.pos();
        let mut look = r.clone();
        if look.u8()? == tag::PARTS {
            return Err(corrupt(
                "parts",
                format!("the part at byte {at} is itself a parts node"),
            ));
        }
        let claimed = look.count(limits.max_values)?;
        if claimed != len {
            return Err(corrupt(
                "parts",
                format!("the part at byte {at} holds {claimed} values, its run {len}"),
            ));
        }
        part(r, len)?;
        left -= len;
    }
    Ok(())
}

/// Writes `values` (minimum `min`) in the miniblock layout `mini` planned for them.
fn encode_mini(values: &[u64], min: u64, mini: &Mini, out: &mut Vec<u8>) -> Cascade {
    let f = mini.factor;
    header(out, tag::BITPACKED_MINI, values.len());
    out.put_u64(min);
    out.put_u64(f);
    out.put_u8(mini.offset_width);
    out.extend_from_slice(&mini.widths);
    let offsets: Vec<u64> = mini.mins.iter().map(|&lo| (lo - min) / f).collect();
    out.extend_from_slice(&bitpack::pack_sequential_bytes(
        &offsets,
        0,
        mini.offset_width,
    ));
    let mut scaled = Vec::new();
    for ((c, &lo), &w) in values.chunks(MINI).zip(&mini.mins).zip(&mini.widths) {
        if f == 1 {
            put_words(out, &bitpack::pack(c, lo, w));
        } else {
            scaled.clear();
            scaled.extend(c.iter().map(|&v| (v - lo) / f));
            put_words(out, &bitpack::pack(&scaled, 0, w));
        }
    }
    let lo = mini.widths.iter().copied().min().unwrap_or(0);
    let hi = mini.widths.iter().copied().max().unwrap_or(0);
    let x = if f > 1 {
        format!(",x{f}")
    } else {
        String::new()
    };
    Cascade::leaf(Scheme::BitPacked).with_detail(format!("w={lo}..{hi}/1024{x}"))
}

fn encode_patched(values: &[u64], min: u64, w: u8, ctx: Ctx, out: &mut Vec<u8>) -> Cascade {
    let limit = if w >= 64 { u64::MAX } else { (1u64 << w) - 1 };
    let mut base = Vec::with_capacity(values.len());
    let mut positions = Vec::new();
    let mut exceptions = Vec::new();
    for (i, &v) in values.iter().enumerate() {
        let off = v.wrapping_sub(min);
        if off > limit {
            positions.push(i as u64);
            exceptions.push(off);
            base.push(min);
        } else {
            base.push(v);
        }
    }
    header(out, tag::PATCHED, values.len());
    out.put_u64(min);
    out.put_u8(w);
    put_words(out, &bitpack::pack(&base, min, w));
    out.put_len(positions.len());
    let a = encode_exception_list(&positions, ctx, out);
    let b = encode_exception_list(&exceptions, ctx, out);
    Cascade::node(Scheme::Patched, vec![a, b]).with_detail(format!("w={w}"))
}

/// Encodes a patched node's exception list as a leaf. Leaf sampling may still pick patching, whose
/// own exception lists would be patched again, nesting without bound (past the decoder's
/// [`MAX_NESTING`] on long skewed inputs); plain bit-packing stands in for it here.
fn encode_exception_list(values: &[u64], ctx: Ctx, out: &mut Vec<u8>) -> Cascade {
    let leaf = ctx.leaf();
    let scheme = match choose(&sample(values), leaf, true).0 {
        Scheme::Patched => Scheme::BitPacked,
        s => s,
    };
    encode_with(values, leaf, scheme, out)
}

fn put_words(out: &mut Vec<u8>, words: &[u64]) {
    out.reserve(words.len() * 8);
    for w in words {
        out.extend_from_slice(&w.to_le_bytes());
    }
}

/// Maximum nesting of nodes a decoder follows; deeper input is corrupt by construction.
pub(crate) const MAX_NESTING: u8 = 8;

/// A miniblock node's fields after its count, checked: the reference, the factor (not 0), and
/// each 1024-value miniblock's width (at most 64) and minimum (in steps of the factor).
struct MiniHeader<'a> {
    reference: u64,
    factor: u64,
    widths: &'a [u8],
    mins: Vec<u64>,
}

impl<'a> MiniHeader<'a> {
    fn read(r: &mut Reader<'a>, n: usize) -> Result<Self> {
        let reference = r.u64()?;
        let factor = r.u64()?;
        if factor == 0 {
            return Err(corrupt("bitpacked", "miniblock factor 0"));
        }
        let offset_width = read_width(r)?;
        let m = n.div_ceil(MINI);
        let widths = r.take(m)?;
        if let Some(w) = widths.iter().find(|&&w| w > 64) {
            return Err(corrupt("bitpacked", format!("bit width {w} above 64")));
        }
        let offsets = r.take(bitpack::sequential_bytes(m, offset_width))?;
        let mut mins = Vec::with_capacity(m);
        bitpack::unpack_sequential_bytes(offsets, m, 0, offset_width, &mut mins);
        Ok(Self {
            reference,
            factor,
            widths,
            mins,
        })
    }
}

/// The sequentially packed bytes of a `packedlz4` node of `n` values at width `w`: its
/// compressed length and LZ4 block read from `r`, decompressed to exactly
/// [`bitpack::sequential_bytes`]`(n, w)` bytes.
fn packed_lz4_bytes(r: &mut Reader<'_>, n: usize, w: u8) -> Result<Vec<u8>> {
    let len = r.count(usize::MAX)?;
    let compressed = r.take(len)?;
    let raw = bitpack::sequential_bytes(n, w);
    // LZ4 cannot expand more than 255x; a larger claim is corrupt, not an allocation.
    if raw > len.saturating_mul(255).saturating_add(16) {
        return Err(corrupt(
            "packed lz4",
            format!("{len} compressed bytes cannot hold {raw}"),
        ));
    }
    let mut bytes = vec![0u8; raw];
    let got = lz4_flex::block::decompress_into(compressed, &mut bytes)
        .map_err(|e| corrupt("packed lz4", e.to_string()))?;
    if got != raw {
        return Err(corrupt(
            "packed lz4",
            format!("decompressed {got} bytes, the count and width need {raw}"),
        ));
    }
    Ok(bytes)
}

/// Decodes one integer node. `expected` is the count the parent requires, if it knows one.
pub(crate) fn decode(
    r: &mut Reader<'_>,
    limits: Limits,
    nesting: u8,
    expected: Option<usize>,
) -> Result<Vec<u64>> {
    let mut out = Vec::new();
    decode_into(r, limits, nesting, expected, &mut out)?;
    Ok(out)
}

pub(crate) fn decode_into(
    r: &mut Reader<'_>,
    limits: Limits,
    nesting: u8,
    expected: Option<usize>,
    out: &mut Vec<u64>,
) -> Result<()> {
    decode_biased(r, limits, nesting, expected, out, 0)
}

/// [`decode_into`], adding `bias` (wrapping) to every value appended. The nodes that add a
/// reference anyway take it into that reference (constant, bit-packed, miniblocks, scaled,
/// patched, `packedlz4`, a delta's or delta-of-delta's first value, a dictionary's or a run's
/// values, each part); plain, LZ4 and `ans` nodes pay one pass over their values at the end.
/// A signed node decodes with a bias of 2^63, which is its sign bit flipped back
/// ([`unflip_i64`]: adding 2^63 and flipping the top bit are one operation modulo 2^64)
/// without a pass of its own over the output.
pub(crate) fn decode_biased(
    r: &mut Reader<'_>,
    limits: Limits,
    nesting: u8,
    expected: Option<usize>,
    out: &mut Vec<u64>,
    bias: u64,
) -> Result<()> {
    let base = out.len();
    // Whether the node's decoding took the bias in; else it is added at the end.
    let mut biased = true;
    if nesting > MAX_NESTING {
        return Err(corrupt("cascade", "nesting deeper than any encoder writes"));
    }
    let tag_pos = r.pos();
    let t = r.u8()?;
    let n = r.count(limits.max_values)?;
    if let Some(e) = expected
        && e != n
    {
        return Err(corrupt(
            "cascade",
            format!("child holds {n} values, parent expects {e}"),
        ));
    }
    let inner = nesting + 1;
    match t {
        tag::CONSTANT => {
            let v = r.u64()?;
            out.resize(out.len() + n, v.wrapping_add(bias));
        }
        tag::PLAIN => {
            biased = false;
            let bytes = r.take(n.checked_mul(8).ok_or(CodecError::TooManyValues {
                count: n as u64,
                limit: limits.max_values,
            })?)?;
            out.extend(bytes.chunks_exact(8).map(|c| {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                u64::from_le_bytes(a)
            }));
        }
        tag::BITPACKED => {
            let reference = r.u64()?;
            let w = read_width(r)?;
            r.with_u64_words(packed_words(n, w), |words| {
                bitpack::unpack_into(words, n, reference.wrapping_add(bias), w, out);
            })?;
        }
        tag::BITPACKED_MINI => {
            let MiniHeader {
                reference,
                factor,
                widths,
                mins,
            } = MiniHeader::read(r, n)?;
            out.reserve(n);
            for (i, (&off, &w)) in mins.iter().zip(widths).enumerate() {
                let len = MINI.min(n - i * MINI);
                let lo = reference
                    .wrapping_add(off.wrapping_mul(factor))
                    .wrapping_add(bias);
                r.with_u64_words(packed_words(len, w), |words| {
                    if factor == 1 {
                        bitpack::unpack_into(words, len, lo, w, out);
                    } else {
                        let start = out.len();
                        bitpack::unpack_into(words, len, 0, w, out);
                        for v in &mut out[start..] {
                            *v = lo.wrapping_add(v.wrapping_mul(factor));
                        }
                    }
                })?;
            }
        }
        tag::BITPACKED_SCALED => {
            let reference = r.u64()?.wrapping_add(bias);
            let factor = r.u64()?;
            let w = read_width(r)?;
            let start = out.len();
            r.with_u64_words(packed_words(n, w), |words| {
                bitpack::unpack_into(words, n, 0, w, out);
            })?;
            for v in &mut out[start..] {
                *v = reference.wrapping_add(v.wrapping_mul(factor));
            }
        }
        tag::PATCHED => {
            let reference = r.u64()?.wrapping_add(bias);
            let w = read_width(r)?;
            let start = out.len();
            r.with_u64_words(packed_words(n, w), |words| {
                bitpack::unpack_into(words, n, reference, w, out);
            })?;
            let e = r.count(n)?;
            let positions = decode(r, limits, inner, Some(e))?;
            let values = decode(r, limits, inner, Some(e))?;
            let dst = &mut out[start..];
            for (&p, &v) in positions.iter().zip(&values) {
                let slot = usize::try_from(p)
                    .ok()
                    .and_then(|p| dst.get_mut(p))
                    .ok_or_else(|| {
                        corrupt("patched", format!("exception position {p} out of range"))
                    })?;
                *slot = reference.wrapping_add(v);
            }
        }
        tag::DELTA => {
            if n == 0 {
                return Err(corrupt("delta", "empty delta node"));
            }
            let first = r.u64()?.wrapping_add(bias);
            // The deltas are decoded in place, after the first value, and summed there.
            let start = out.len();
            out.push(first);
            decode_into(r, limits, inner, Some(n - 1), out)?;
            let mut acc = first;
            for v in out.get_mut(start + 1..).unwrap_or_default() {
                acc = acc.wrapping_add(unflip_i64(*v) as u64);
                *v = acc;
            }
        }
        tag::DELTA_OF_DELTA => {
            if n < 2 {
                return Err(corrupt("delta-of-delta", "node shorter than two values"));
            }
            let first = r.u64()?.wrapping_add(bias);
            let first_delta = unflip_i64(r.u64()?) as u64;
            let start = out.len();
            let mut acc = first;
            let mut delta = first_delta;
            out.push(acc);
            acc = acc.wrapping_add(delta);
            out.push(acc);
            decode_into(r, limits, inner, Some(n - 2), out)?;
            for v in out.get_mut(start + 2..).unwrap_or_default() {
                delta = delta.wrapping_add(unflip_i64(*v) as u64);
                acc = acc.wrapping_add(delta);
                *v = acc;
            }
        }
        tag::RLE => {
            let runs = r.count(n)?;
            let mut vals = Vec::new();
            decode_biased(r, limits, inner, Some(runs), &mut vals, bias)?;
            let lens = decode(r, limits, inner, Some(runs))?;
            let mut total: u64 = 0;
            for &l in &lens {
                total = total.saturating_add(l);
            }
            if total != n as u64 {
                return Err(corrupt(
                    "rle",
                    format!("run lengths sum to {total}, node holds {n}"),
                ));
            }
            out.reserve(n);
            for (&v, &l) in vals.iter().zip(&lens) {
                out.extend(std::iter::repeat_n(v, l as usize));
            }
        }
        tag::DICTIONARY => {
            let mut dict = Vec::new();
            decode_biased(r, limits, inner, None, &mut dict, bias)?;
            // The codes are decoded in place and looked up there.
            let start = out.len();
            decode_into(r, limits, inner, Some(n), out)?;
            for v in out.get_mut(start..).unwrap_or_default() {
                let c = *v;
                *v = *usize::try_from(c)
                    .ok()
                    .and_then(|c| dict.get(c))
                    .ok_or_else(|| {
                        corrupt(
                            "dictionary",
                            format!("code {c} outside a dictionary of {}", dict.len()),
                        )
                    })?;
            }
        }
        tag::ANS | tag::ANS_LANES => {
            biased = false;
            ans::decode_into(r, n, t == tag::ANS_LANES, out)?;
        }
        tag::PARTS => decode_parts(r, n, limits, |r, len| {
            decode_biased(r, limits, nesting, Some(len), out, bias)
        })?,
        tag::PACKED_LZ4 => {
            let reference = r.u64()?.wrapping_add(bias);
            let w = read_width(r)?;
            let bytes = packed_lz4_bytes(r, n, w)?;
            bitpack::unpack_sequential_bytes(&bytes, n, reference, w, out);
        }
        tag::LZ4 => {
            biased = false;
            let len = r.count(usize::MAX)?;
            let compressed = r.take(len)?;
            let bytes = lz4_flex::block::decompress(compressed, n * 8)
                .map_err(|e| corrupt("lz4", e.to_string()))?;
            if bytes.len() != n * 8 {
                return Err(corrupt(
                    "lz4",
                    "decompressed length does not match the count",
                ));
            }
            out.extend(bytes.chunks_exact(8).map(|c| {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                u64::from_le_bytes(a)
            }));
        }
        other => {
            return Err(CodecError::UnknownTag {
                tag: other,
                offset: tag_pos,
            });
        }
    }
    if !biased && bias != 0 {
        for v in out.get_mut(base..).unwrap_or_default() {
            *v = v.wrapping_add(bias);
        }
    }
    Ok(())
}

/// Decodes a top-level integer node whose values are all 0 or 1 straight into a bitmap (value
/// `i` at bit `i % 64` of word `i / 64`), for the shapes a validity or boolean column usually
/// takes: constant, run-length (runs set a word at a time), bit-packed at width 1 (the packed
/// words are the bitmap, transposed within whole chunks), miniblocks each constant or at width 1
/// from 0 (a long block's validity with nulls in some stretches), and sequential bit-packing at
/// width 1 from 0 behind LZ4 (the decompressed bytes are the bitmap). `Ok(None)`, the reader as
/// it was, for any other shape: the caller then decodes a value per row. Values other than 0
/// and 1 are corrupt, as there; a corrupt node header is the same error the value path gives
/// (both read miniblock and `packedlz4` fields through [`MiniHeader::read`] and
/// [`packed_lz4_bytes`]).
pub(crate) fn decode_bits(r: &mut Reader<'_>, limits: Limits) -> Result<Option<(Vec<u64>, usize)>> {
    let mut look = r.clone();
    let t = look.u8()?;
    if !matches!(
        t,
        tag::CONSTANT | tag::RLE | tag::BITPACKED | tag::BITPACKED_MINI | tag::PACKED_LZ4
    ) {
        return Ok(None);
    }
    let n = look.count(limits.max_values)?;
    let mut words = vec![0u64; n.div_ceil(64)];
    let bit = |x: u64| {
        if x > 1 {
            Err(corrupt("bool", format!("value {x} is not 0 or 1")))
        } else {
            Ok(x)
        }
    };
    match t {
        tag::CONSTANT => {
            let v = bit(look.u64()?)?;
            if v == 1 {
                set_bits(&mut words, 0, n);
            }
        }
        tag::RLE => {
            let runs = look.count(n)?;
            let vals = decode(&mut look, limits, 1, Some(runs))?;
            let lens = decode(&mut look, limits, 1, Some(runs))?;
            let mut at = 0usize;
            for (&v, &l) in vals.iter().zip(&lens) {
                let end = usize::try_from(l)
                    .ok()
                    .and_then(|l| at.checked_add(l))
                    .filter(|&e| e <= n)
                    .ok_or_else(|| corrupt("rle", format!("run lengths exceed the node's {n}")))?;
                if bit(v)? == 1 {
                    set_bits(&mut words, at, end);
                }
                at = end;
            }
            if at != n {
                return Err(corrupt(
                    "rle",
                    format!("run lengths sum to {at}, node holds {n}"),
                ));
            }
        }
        tag::BITPACKED => {
            // Bit-packed at width 1 from 0: the packed words are the bits, transposed in whole
            // chunks. Other references and widths (corrupt for booleans) take the value path.
            let reference = look.u64()?;
            let w = read_width(&mut look)?;
            match (reference, w) {
                (0 | 1, 0) => {
                    if reference == 1 {
                        set_bits(&mut words, 0, n);
                    }
                }
                (0, 1) => {
                    look.with_u64_words(packed_words(n, 1), |packed| {
                        bitpack::bits_of_width_one(packed, n, &mut words);
                    })?;
                }
                _ => return Ok(None),
            }
        }
        tag::BITPACKED_MINI => {
            // Each 1024-value miniblock starts on a word of the bitmap (1024 = 16 · 64).
            let MiniHeader {
                reference,
                factor,
                widths,
                mins,
            } = MiniHeader::read(&mut look, n)?;
            for (i, (&off, &w)) in mins.iter().zip(widths).enumerate() {
                let len = MINI.min(n - i * MINI);
                let lo = reference.wrapping_add(off.wrapping_mul(factor));
                let at = i * (MINI / 64);
                let Some(dst) = words.get_mut(at..) else {
                    return Ok(None);
                };
                match (lo, w) {
                    (0, 0) => {}
                    (1, 0) => set_bits(dst, 0, len),
                    (0, 1) if factor == 1 => {
                        look.with_u64_words(packed_words(len, 1), |packed| {
                            bitpack::bits_of_width_one(packed, len, dst);
                        })?;
                    }
                    // Other minimums and widths: the value path says what is wrong (or decodes
                    // what is not).
                    _ => return Ok(None),
                }
            }
        }
        tag::PACKED_LZ4 => {
            let reference = look.u64()?;
            let w = read_width(&mut look)?;
            if (reference, w) != (0, 1) {
                return Ok(None);
            }
            // The bytes, LSB first, are the bitmap's words in little-endian order.
            let bytes = packed_lz4_bytes(&mut look, n, 1)?;
            for (w, b) in words.iter_mut().zip(bytes.chunks(8)) {
                let mut a = [0u8; 8];
                a.get_mut(..b.len()).unwrap_or_default().copy_from_slice(b);
                *w = u64::from_le_bytes(a);
            }
            if !n.is_multiple_of(64)
                && let Some(last) = words.get_mut(n / 64)
            {
                *last &= (1u64 << (n % 64)) - 1;
            }
        }
        _ => return Ok(None),
    }
    *r = look;
    Ok(Some((words, n)))
}

/// Sets bits `start..end` of a bitmap (bit `i` is bit `i % 64` of word `i / 64`).
fn set_bits(words: &mut [u64], start: usize, end: usize) {
    if start >= end {
        return;
    }
    let (first, last) = (start / 64, (end - 1) / 64);
    let lo = u64::MAX << (start % 64);
    let hi = u64::MAX >> (63 - (end - 1) % 64);
    if first == last {
        if let Some(w) = words.get_mut(first) {
            *w |= lo & hi;
        }
        return;
    }
    if let Some(w) = words.get_mut(first) {
        *w |= lo;
    }
    for w in words.get_mut(first + 1..last).unwrap_or_default() {
        *w = u64::MAX;
    }
    if let Some(w) = words.get_mut(last) {
        *w |= hi;
    }
}

fn read_width(r: &mut Reader<'_>) -> Result<u8> {
    let w = r.u8()?;
    if w > 64 {
        return Err(corrupt("bitpacked", format!("bit width {w} above 64")));
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_max_matches_a_fold_at_every_length_and_position() {
        let mut next = crate::xorshift(0x2545_F491_4F6C_DD1Du64);
        for len in (0usize..40).chain([63, 64, 65, 1000, 1024, 4099]) {
            for _ in 0..4 {
                let mut v: Vec<u64> = (0..len).map(|_| next() >> (next() % 64)).collect();
                // The extremes at every lane and in the tail, in turn.
                if let Some(x) = v.get_mut(len.saturating_sub(1)) {
                    *x = u64::MAX;
                }
                let want = v
                    .iter()
                    .fold((u64::MAX, 0), |(lo, hi), &x| (lo.min(x), hi.max(x)));
                assert_eq!(min_max(&v), want, "{len} values");
                assert_eq!(min_max_baseline(&v), want, "{len} values");
                if let Some(x) = v.first_mut() {
                    *x = 0;
                }
                let want = v
                    .iter()
                    .fold((u64::MAX, 0), |(lo, hi), &x| (lo.min(x), hi.max(x)));
                assert_eq!(min_max(&v), want, "{len} values");
            }
        }
    }

    /// A block of wide values (24 bits) drawn from about 1,800 distinct ones, more than a third
    /// of its 4,096 values: codes of 11 bits and a dictionary beat packing every value at 24.
    #[test]
    fn wide_values_take_a_dictionary_of_up_to_half_the_block() {
        let mut next = crate::xorshift(0x51_7CC1_B727_220Au64);
        let pool: Vec<i64> = (0..1800).map(|_| (next() % (1 << 24)) as i64).collect();
        let values: Vec<i64> = (0..4096)
            .map(|_| pool[(next() % pool.len() as u64) as usize])
            .collect();
        let distinct = values
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len();
        assert!(distinct > 4096 / 3 && distinct <= 4096 / 2, "{distinct}");
        let enc = crate::encode_i64(&values, &crate::EncodeOptions::default()).unwrap();
        assert!(
            enc.cascade.to_string().starts_with("dict"),
            "{}",
            enc.cascade
        );
        assert!(enc.bytes.len() * 8 < 4096 * 20, "{} bytes", enc.bytes.len());
        assert_eq!(crate::decode_i64(&enc.bytes).unwrap(), values);
    }

    #[test]
    fn distinct_at_most_matches_a_sorted_dedup() {
        let mut next = crate::xorshift(0x9E37_79B9_7F4A_7C15u64);
        let mut cases: Vec<Vec<u64>> = vec![
            vec![],
            vec![u64::MAX],
            vec![0, u64::MAX, u64::MAX - 1, 0],
            (0..3000).map(|i| i << 30).collect(),
        ];
        for len in [1usize, 16, 100, 1024, 3000] {
            for range in [2u64, 300, 70_000, u64::MAX] {
                cases.push((0..len).map(|_| next() % range).collect());
            }
        }
        for values in cases {
            let mut want = values.clone();
            want.sort_unstable();
            want.dedup();
            assert_eq!(distinct_of(&values), want);
            // Codes by rank (narrow ranges) or by search (wide ones): each value's index in
            // the sorted distinct values.
            let (dict, codes) = dictionary_of(&values);
            assert_eq!(dict, want);
            let oracle: Vec<u64> = values
                .iter()
                .map(|v| want.binary_search(v).unwrap() as u64)
                .collect();
            assert_eq!(codes, oracle);
            for limit in [0, 1, want.len().saturating_sub(1), want.len(), values.len()] {
                let got = distinct_at_most(&values, limit);
                if want.len() <= limit {
                    assert_eq!(got.as_ref(), Some(&want), "limit {limit}");
                } else {
                    assert_eq!(got, None, "limit {limit}, {} distinct", want.len());
                }
            }
        }
    }

    fn naive_common_factor(values: &[u64], min: u64) -> u64 {
        values.iter().fold(0, |g, &v| gcd(g, v.wrapping_sub(min)))
    }

    #[test]
    fn common_factor_matches_euclid_over_every_value() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for factor in [
            1u64,
            2,
            3,
            6,
            60,
            1024,
            60_000_000,
            3 << 40,
            7 * 11 * 13 * 64,
        ] {
            for len in [0usize, 1, 2, 5, 100] {
                let mut values: Vec<u64> = (0..len).map(|_| (next() % 1000) * factor).collect();
                assert_eq!(common_factor(&values, 0), naive_common_factor(&values, 0));
                // One value off the factor lowers the divisor part-way through.
                if let Some(v) = values.get_mut(len / 2) {
                    *v += factor / 2 + 1;
                }
                let min = values.iter().copied().min().unwrap_or(0);
                let want = naive_common_factor(&values, min);
                let got = common_factor(&values, min);
                // Euclid over every value, or stopped early at 1.
                assert_eq!(got, want, "factor {factor}, len {len}");
            }
        }
    }

    #[test]
    fn distinct_in_table_counts_like_sort_and_dedup() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for (len, modulus) in [
            (0usize, 1u64),
            (1, 1),
            (100, 3),
            (300, 50),
            (512, 1 << 40),
            (512, 1024),
        ] {
            let values: Vec<u64> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % modulus) << 10 // equal low bits: only the hash spreads them
                })
                .collect();
            let mut sorted = values.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(distinct_in_table(values.iter().copied()), sorted.len());
        }
    }

    #[test]
    fn divisor_tests_divisibility_exactly() {
        for g in [
            1u64,
            2,
            3,
            5,
            12,
            60,
            1 << 20,
            60_000_000,
            u64::MAX,
            u64::MAX / 3,
        ] {
            let t = Divisor::new(g);
            for d in [
                0u64,
                1,
                2,
                3,
                59,
                60,
                120,
                1 << 20,
                60_000_000,
                180_000_000,
                u64::MAX,
            ] {
                assert_eq!(t.divides(d), d % g == 0, "{d} % {g}");
            }
        }
    }

    #[test]
    fn stats_count_min_max_and_runs() {
        for values in [
            vec![],
            vec![7u64],
            vec![3, 3, 3],
            vec![5, 1, 1, 9, 9, 9, 2],
            (0..1027).map(|i| (i / 3) ^ 0x55).collect::<Vec<u64>>(),
        ] {
            let st = Stats::of(&values);
            let min = values.iter().copied().min().unwrap_or(u64::MAX);
            let max = values.iter().copied().max().unwrap_or(0);
            let mut runs = 0;
            for (i, v) in values.iter().enumerate() {
                if i == 0 || values[i - 1] != *v {
                    runs += 1;
                }
            }
            assert_eq!((st.min, st.max, st.runs), (min, max, runs), "{values:?}");
        }
    }
}

//! Entropy-coded integer leaf: binning + static, interleaved rANS (4 lanes, or 16 or 32 in
//! nodes large enough to pay for their states).
//!
//! A value is stored as the index of its *bin* (entropy-coded with rANS under the node's
//! quantised bin frequencies) and its offset within the bin (bit-packed at the bin's width).
//! Small alphabets get one bin per distinct value and no offset bits at all; large ones with
//! skewed magnitudes get a few wide bins where the data is sparse and narrow ones where it is
//! dense. The idea is pco's; the bins are chosen by a dynamic programme over a histogram of at
//! most [`INITIAL_BINS`] equal-count bins (exact, but for merging at most [`MAX_GROUP`] of
//! them), with a per-bin cost that approximates our compact table.
//!
//! # Node layout (after `tag 0x0b | count varint`)
//!
//! ```text
//! reference      u64 LE      added to every value (the node minimum)
//! bins           varint      B, 1..=4096
//! table_log      u8          L, 0..=12; weights sum to 2^L, B <= 2^L
//! lower_bits     u8          0..=64   bits per lower gap
//! width_bits     u8          0..=7    bits per bin width
//! weight_bits    u8          0..=12   bits per (weight - 1)
//! table          ceil(B * (lower_bits + width_bits + weight_bits) / 8) bytes, LSB-first:
//!                per bin: gap, width (0..=64), weight - 1. lower_0 = gap_0,
//!                lower_i = lower_(i-1) + 1 + gap_i
//! words          varint      number of 16-bit rANS renormalisation words
//! states         4 x u32 LE  final encoder states = decoder start states, each >= 2^16
//! ans            words x u16 LE, in the order the decoder reads them
//! offset_bytes   varint
//! offsets        LSB-first bit stream: value i's offset at its bin's width
//! ```
//!
//! Tag `0x0f` is the same node with a lane byte after the count: its low 7 bits the lane count
//! (1..=64, that many states), its top bit (`0x80`) set when the lanes' start states carry
//! offset bytes. Then lane `j`'s encoder start state is `2^16` plus the 16-bit little-endian
//! word at bytes `2j, 2j + 1` of the offsets' last `2 × lanes` bytes, which are not stored
//! (`offset_bytes` counts those that are): the decoder's final states give them back, and it
//! appends them to the stored offsets in lane order. The encoder carries whenever the offsets
//! have `2 × lanes` bytes (a four-lane node then takes tag `0x0f` too), and chooses 16 or 32
//! lanes where they cost at most 2.5 % more than four ([`lanes_for`]), four below. Where the
//! CPU has AVX-512 a node of 16, 32 or 64 lanes
//! and at most 256 bins is decoded 16 values a step (module `vector`): about 0.67 ns a value
//! against 1.5 in the 4-lane scalar loop, on the Beijing table's nodes.
//!
//! Value `i` is decoded by lane `i % lanes` (4 for tag `0x0b`): `slot = x & (2^L - 1)`, the bin `s` whose cumulative
//! weight range holds `slot`, `x = w_s * (x >> L) + slot - cum_s`, and if `x < 2^16` one word is
//! shifted in. The decoder checks that every lane ends at the encoder's start state (`2^16`,
//! or within `[2^16, 2^17)` where the states carry offsets) and that every word and offset
//! bit is used.
//!
//! It runs two passes: the bin of every value (rANS), then every value from its bin's base
//! and offset. Where the CPU has AVX-512 (F, BW, DQ, VL and VBMI, detected at run time, once)
//! and no bin is wider than 56 bits, the second takes eight values to a vector: the prefix
//! sum of their widths gives each offset's first bit, one 64-byte load of the offsets holds
//! all eight, and a byte permutation and a shift take each out (`binned_values_avx512`); bins
//! without offset bits take their bases by a permutation. It reads the same bits, writes the
//! same values and ends at the same bit as the scalar loop every other CPU runs, so the checks
//! after it are the same. Measured on this kernel alone (1,024 values, random bins): 1.3 ns a
//! value for the scalar loop, 0.42 for the vector one with at most 16 bins (bases and masks
//! in registers), 0.7 with up to 128 (bases by a gather; more bins take the scalar loop).

use std::sync::OnceLock;

use crate::bitpack::width_of;
use crate::error::{CodecError, Result, corrupt};
use crate::int::{min_max, tag};
use crate::io::{PutLe, Reader};

/// Largest `table_log`: weights are quantised to at most 4096.
pub(crate) const MAX_TABLE_LOG: u8 = 12;
/// Largest bin count a node may claim.
pub(crate) const MAX_BINS: usize = 1 << MAX_TABLE_LOG;
/// Histogram resolution before bins are merged: more finds more structure, costs O(B²) time.
const INITIAL_BINS: usize = 128;
/// Interleaved rANS lanes of a node of tag `0x0b`; a node of tag `0x0f` says how many it has.
const LANES: usize = 4;
/// Most lanes a node of tag `0x0f` may have.
const MAX_LANES: usize = 64;
/// Lower bound of a normalised state, and the state every lane starts (and ends) in.
const STATE_LOW: u32 = 1 << 16;
/// Most histogram bins one bin may merge: bounds the dynamic programme at O(B · MAX_GROUP),
/// which the sampler runs on every integer node it estimates. Measured on the shared data
/// sets, 32 costs 0.1–0.3 % in size against an unbounded merge and halves encoding time.
const MAX_GROUP: usize = 32;
/// Histogram bins of [`estimate`].
const ESTIMATE_BINS: usize = 64;
/// Group limit of [`estimate`].
const ESTIMATE_GROUP: usize = 16;
/// Estimated table bits per bin while merging bins (gap, width and weight fields).
const BIN_META_BITS: f32 = 14.0;
/// Fixed bytes of a node besides the table and payloads: tag, count, reference, bin count,
/// table log, three field widths, word count, states, offset length.
const FIXED_BYTES: usize = fixed_bytes(LANES);

/// [`FIXED_BYTES`] of a node of `lanes` lanes (a lane count other than [`LANES`] is a byte of
/// its own).
const fn fixed_bytes(lanes: usize) -> usize {
    1 + 3 + 8 + 2 + 1 + 3 + 2 + 4 * lanes + 2 + if lanes == LANES { 0 } else { 1 }
}

/// Bit of a `0x0f` node's lane byte that says the lanes' start states carry the last
/// `2 × lanes` bytes of the offsets (which are stored without them).
const CARRY_FLAG: u8 = 0x80;

/// Offset bytes a node of `lanes` lanes and `offset_bytes` bytes of offsets carries in its
/// lanes' start states: two a lane (a start state is `2^16` plus a 16-bit payload, which the
/// decoder's final state gives back), when the offsets have that many; none otherwise.
const fn carried(lanes: usize, offset_bytes: usize) -> usize {
    if offset_bytes >= 2 * lanes {
        2 * lanes
    } else {
        0
    }
}

/// Bytes of a node's fixed fields (see [`fixed_bytes`]) less what its start states carry: a
/// node of [`LANES`] lanes that carries takes tag `0x0f` and its lane byte.
const fn fixed_bytes_carrying(lanes: usize, offset_bytes: usize) -> usize {
    let carry = carried(lanes, offset_bytes);
    let lane_byte = if lanes == LANES && carry > 0 { 1 } else { 0 };
    fixed_bytes(lanes) + lane_byte - carry
}

/// Lanes a node codes its values in, from `size`, its bytes for a lane count: the most of 32
/// and 16 that cost at most 2.5 % more than four lanes. More lanes let the vector decoder
/// take 16 values a step with one gather (16 lanes) or two independent ones (32), where 4
/// lanes run a scalar loop bound by its chain of loads and multiplies. Each lane costs a
/// final state, about 3 bytes beyond what it carries, or 1 where its start state carries
/// two offset bytes: 16 lanes from nodes of about 1.4 KB, 32 from 3.4 KB, or from 480 bytes
/// and 1.1 KB where the offsets are long enough to be carried.
fn lanes_for(size: impl Fn(usize) -> usize) -> usize {
    let four = size(LANES);
    [32, 16]
        .into_iter()
        .find(|&l| size(l).saturating_sub(four) * 40 <= four)
        .unwrap_or(LANES)
}

#[derive(Debug, Clone, Copy)]
struct Bin {
    /// Smallest offset (value − reference) in the bin.
    lower: u64,
    /// Largest offset in the bin.
    upper: u64,
    count: u32,
}

impl Bin {
    fn width(&self) -> u8 {
        width_of(self.upper - self.lower)
    }
}

impl Plan {
    /// The bins' smallest values (not offsets), ascending: what [`plan_following`] takes.
    pub(crate) fn lowers(&self) -> Vec<u64> {
        self.bins
            .iter()
            .map(|b| b.lower.wrapping_add(self.reference))
            .collect()
    }
}

/// The model of one node: bins, quantised weights and its estimated size.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    reference: u64,
    bins: Vec<Bin>,
    weights: Vec<u32>,
    table_log: u8,
    /// Interleaved rANS lanes (see [`lanes_for`]).
    lanes: usize,
    /// Estimated encoded size of the node in bytes, header included.
    pub(crate) bytes: usize,
}

/// `log2(c)` of the counts 0..=4096 (0 as 1), which the planner mostly sees.
fn log2_table() -> &'static [f32] {
    static TABLE: OnceLock<Vec<f32>> = OnceLock::new();
    TABLE.get_or_init(|| (0..=4096u32).map(|c| (c.max(1) as f32).log2()).collect())
}

/// `log2(c)` for counts, from [`log2_table`] when it holds `c`.
#[cfg(test)]
fn log2_count(c: u32) -> f32 {
    log2_in(log2_table(), c)
}

#[inline(always)]
fn log2_in(table: &[f32], c: u32) -> f32 {
    match table.get(c as usize) {
        Some(&l) => l,
        None => (c as f32).log2(),
    }
}

/// Offsets spanning at most this many values are counted in an array instead of sorted.
const COUNTED_SPAN: u64 = 4096;

/// Offsets spanning fewer than this many values per value are counted too: scanning a
/// sparse count array for its non-zero entries costs less than sorting the offsets (which
/// were a third of planning wide values, a span of five values per value).
const COUNTED_SPAN_PER_VALUE: u64 = 16;

/// Whether [`histogram`] counts `n` values spanning `span` in an array.
fn counted(span: u64, n: usize) -> bool {
    span < COUNTED_SPAN.max(COUNTED_SPAN_PER_VALUE.saturating_mul(n as u64))
}

/// Spans of at most this many values are counted in four arrays on the stack.
const SPLIT_SPAN: usize = 128;

thread_local! {
    /// [`histogram`]'s count array, all zeros between calls (a call zeroes what it counted).
    static COUNTS: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Sorted distinct offsets from `reference` (the minimum of `values`, whose largest offset is
/// `span`) with their counts.
fn histogram(values: &[u64], reference: u64, span: u64) -> Vec<(u64, u32)> {
    if counted(span, values.len()) {
        return COUNTS.with_borrow_mut(|counts| {
            let len = span as usize + 1;
            if counts.len() < len {
                counts.resize(len, 0);
            }
            let counts = counts.get_mut(..len).unwrap_or_default();
            if len <= SPLIT_SPAN {
                // Four count arrays, value `i` in array `i % 4`: a small alphabet increments
                // the same few counters, each waiting on the last store to it, in one.
                let mut split = [[0u32; SPLIT_SPAN]; 4];
                let (quads, rest) = values.as_chunks::<4>();
                let at = |v: &u64| v.wrapping_sub(reference) as usize & (SPLIT_SPAN - 1);
                for q in quads {
                    for (a, v) in split.iter_mut().zip(q) {
                        a[at(v)] += 1;
                    }
                }
                for (a, v) in split.iter_mut().zip(rest) {
                    a[at(v)] += 1;
                }
                for (o, c) in counts.iter_mut().enumerate() {
                    *c = split.iter().map(|a| a[o & (SPLIT_SPAN - 1)]).sum();
                }
            } else {
                for v in values {
                    if let Some(c) = counts.get_mut(v.wrapping_sub(reference) as usize) {
                        *c += 1;
                    }
                }
            }
            // Runs of 16 zeros are skipped with one test (which vectorises).
            let mut out = Vec::new();
            for (k, chunk) in counts.chunks_mut(16).enumerate() {
                if chunk.iter().fold(0, |a, &c| a | c) == 0 {
                    continue;
                }
                for (o, c) in chunk.iter_mut().enumerate() {
                    if *c > 0 {
                        out.push(((16 * k + o) as u64, *c));
                        *c = 0;
                    }
                }
            }
            out
        });
    }
    if let Ok(span) = u32::try_from(span) {
        return runs_of_sorted(
            radix_sorted(values, reference, span)
                .into_iter()
                .map(u64::from),
        );
    }
    let mut offs: Vec<u64> = values.iter().map(|v| v.wrapping_sub(reference)).collect();
    offs.sort_unstable();
    runs_of_sorted(offs)
}

/// Each distinct value of an ascending sequence with the number of times it occurs.
fn runs_of_sorted(sorted: impl IntoIterator<Item = u64>) -> Vec<(u64, u32)> {
    let mut out: Vec<(u64, u32)> = Vec::new();
    for o in sorted {
        match out.last_mut() {
            Some((v, c)) if *v == o => *c += 1,
            _ => out.push((o, 1)),
        }
    }
    out
}

/// Bits of the offsets [`radix_sorted`] sorts by in each pass.
const RADIX_BITS: u32 = 11;

/// The offsets of `values` from `reference` (all at most `span`), ascending: a least
/// significant digit radix sort of 32-bit offsets, one pass for each 11 bits of the span
/// (three at most), in place of a comparison sort of 64-bit offsets, which was a third of
/// planning a node of wide values (quandl's write with entropy on: 10 % less CPU).
fn radix_sorted(values: &[u64], reference: u64, span: u32) -> Vec<u32> {
    let mut a: Vec<u32> = values
        .iter()
        .map(|v| v.wrapping_sub(reference) as u32)
        .collect();
    let mut b = vec![0u32; a.len()];
    let bits = 32 - span.leading_zeros();
    let mut shift = 0;
    while shift < bits {
        let mut counts = [0u32; 1 << RADIX_BITS];
        let digit = |x: u32| ((x >> shift) & ((1 << RADIX_BITS) - 1)) as usize;
        for &x in &a {
            if let Some(c) = counts.get_mut(digit(x)) {
                *c += 1;
            }
        }
        let mut at = 0u32;
        for c in counts.iter_mut() {
            let k = *c;
            *c = at;
            at += k;
        }
        for &x in &a {
            if let Some(c) = counts.get_mut(digit(x))
                && let Some(slot) = b.get_mut(*c as usize)
            {
                *slot = x;
                *c += 1;
            }
        }
        std::mem::swap(&mut a, &mut b);
        shift += RADIX_BITS;
    }
    a
}

/// At most [`INITIAL_BINS`] bins of roughly equal count; equal values never straddle two.
fn initial_bins(distinct: &[(u64, u32)], n: usize, at_most: usize) -> Vec<Bin> {
    if distinct.len() <= at_most {
        return distinct
            .iter()
            .map(|&(v, c)| Bin {
                lower: v,
                upper: v,
                count: c,
            })
            .collect();
    }
    let mut bins: Vec<Bin> = Vec::with_capacity(at_most);
    let mut open: Option<Bin> = None;
    let mut seen = 0usize;
    for &(v, c) in distinct {
        let b = open.get_or_insert(Bin {
            lower: v,
            upper: v,
            count: 0,
        });
        b.upper = v;
        b.count += c;
        seen += c as usize;
        if seen * at_most >= (bins.len() + 1) * n
            && let Some(b) = open.take()
        {
            bins.push(b);
        }
    }
    bins.extend(open);
    bins
}

/// Merges adjacent bins optimally under the cost model `count · (log2 n − log2 count + width)
/// + BIN_META_BITS` per bin (an exact dynamic programme over partitions of `bins` into groups
/// of at most [`MAX_GROUP`]).
fn optimize(bins: &[Bin], n: usize, max_group: usize) -> Vec<Bin> {
    let b = bins.len();
    if b <= 1 {
        return bins.to_vec();
    }
    let logs = log2_table();
    let log_n = log2_in(logs, n as u32);
    let mut cum = Vec::with_capacity(b + 1);
    cum.push(0u32);
    for bin in bins {
        cum.push(cum.last().copied().unwrap_or(0) + bin.count);
    }
    let lowers: Vec<u64> = bins.iter().map(|x| x.lower).collect();
    let max_group = max_group.clamp(1, MAX_GROUP);
    // best[i]: cheapest cost of the first i bins; from[i]: where the last group starts.
    let mut best = vec![0f32; b + 1];
    let mut from = vec![0usize; b + 1];
    let mut costs = [f32::MAX; MAX_GROUP];
    for (i, bin) in bins.iter().enumerate() {
        let upper = bin.upper;
        let ci = cum.get(i + 1).copied().unwrap_or(0);
        let first = i.saturating_sub(max_group - 1);
        let (Some(ls), Some(cs), Some(ps)) = (
            lowers.get(first..=i),
            cum.get(first..=i),
            best.get(first..=i),
        ) else {
            continue;
        };
        // Every candidate group's cost first (independent of each other), then the cheapest:
        // one long chain of compare-and-select per candidate was most of the planner's time.
        for (((c, &l), &cj), &prev) in costs.iter_mut().zip(ls).zip(cs).zip(ps) {
            let count = ci - cj;
            let width = f32::from(width_of(upper - l));
            *c = prev + BIN_META_BITS + count as f32 * (log_n - log2_in(logs, count) + width);
        }
        // The latest start wins ties, as a scan from `i` down would choose. Costs are
        // non-negative, so their bit patterns order as the values do: an integer minimum
        // and search, which vectorise, where a float compare-and-select chain does not.
        let window = costs.get(..ls.len()).unwrap_or(&[]);
        let low = window.iter().map(|c| c.to_bits()).fold(u32::MAX, u32::min);
        let top = f32::from_bits(low);
        let arg = first + window.iter().rposition(|c| c.to_bits() == low).unwrap_or(0);
        if let (Some(s), Some(f)) = (best.get_mut(i + 1), from.get_mut(i + 1)) {
            *s = top;
            *f = arg;
        }
    }
    let mut groups = Vec::new();
    let mut i = b;
    while i > 0 {
        let j = from.get(i).copied().unwrap_or(0).min(i - 1);
        groups.push((j, i - 1));
        i = j;
    }
    groups.reverse();
    groups
        .into_iter()
        .filter_map(|(j, i)| {
            let lo = bins.get(j)?;
            let hi = bins.get(i)?;
            let count = bins.get(j..=i)?.iter().map(|x| x.count).sum();
            Some(Bin {
                lower: lo.lower,
                upper: hi.upper,
                count,
            })
        })
        .collect()
}

/// Quantises `counts` (summing to `total`) to weights ≥ 1 summing to `2^log` (≥ counts.len()).
///
/// Each weight starts at its rounded share of `2^log`, at least 1. A deficit goes to the
/// heaviest weight. A surplus (from the weights raised to 1) is taken from the weights above 1
/// in proportion to their excess over 1, which keeps their ratios and so the code lengths; the
/// few units rounding leaves are taken one each from the heaviest. Linear apart from one sort.
#[cfg(test)]
fn quantize(counts: &[u32], total: u64, log: u8) -> Vec<u32> {
    let mut w = Vec::new();
    let sum = rounded_weights(counts, total, log, &mut w);
    settle_weights(&mut w, sum, 1 << log, &mut Vec::new());
    w
}

/// The first step of [`quantize`]: each weight its rounded share of `2^log`, at least 1, into
/// `w`. Returns their sum. No weight of the finished quantisation is above its rounded share
/// but for the heaviest, which takes a deficit.
fn rounded_weights(counts: &[u32], total: u64, log: u8, w: &mut Vec<u32>) -> u64 {
    let target = 1u64 << log;
    let divisor = total.max(1);
    w.clear();
    w.extend(counts.iter().map(|&c| {
        let ideal = (u64::from(c) * target + total / 2) / divisor;
        ideal.clamp(1, target) as u32
    }));
    w.iter().map(|&x| u64::from(x)).sum()
}

/// The rest of [`quantize`]: gives a deficit of the rounded weights `w` (summing to `sum`) to
/// the heaviest, or takes a surplus back, to make them sum to `target`. `order` is scratch.
fn settle_weights(w: &mut [u32], sum: u64, target: u64, order: &mut Vec<usize>) {
    if sum < target {
        if let Some(heaviest) = w.iter_mut().max_by_key(|x| **x) {
            *heaviest += (target - sum) as u32;
        }
        return;
    }
    let mut surplus = sum - target;
    let spare: u64 = w.iter().map(|&x| u64::from(x - 1)).sum();
    if surplus == 0 || spare < surplus {
        // `spare < surplus` cannot happen when 2^log >= counts.len().
        return;
    }
    for x in w.iter_mut() {
        let take = (u64::from(*x - 1) * surplus / spare) as u32;
        *x -= take;
    }
    surplus = w.iter().map(|&x| u64::from(x)).sum::<u64>() - target;
    if surplus == 0 {
        return;
    }
    // Rounding down left fewer than one unit per weight: take them from the heaviest.
    order.clear();
    order.extend(0..w.len());
    order.sort_unstable_by_key(|&i| std::cmp::Reverse(w.get(i).copied().unwrap_or(0)));
    while surplus > 0 {
        let mut took = false;
        for &i in order.iter() {
            if surplus == 0 {
                break;
            }
            if let Some(x) = w.get_mut(i)
                && *x > 1
            {
                *x -= 1;
                surplus -= 1;
                took = true;
            }
        }
        if !took {
            break;
        }
    }
}

fn ceil_log2(x: usize) -> u8 {
    if x <= 1 { 0 } else { width_of(x as u64 - 1) }
}

/// The bits [`choose_weights`] charges weights `w` of `counts` at `2^log`, whose largest
/// is `max_w`: ANS payload, weight fields and the decode table's build. Every step is a
/// rounding that is monotone in its operands, so weights no larger (and a `max_w` no
/// smaller) give no more bits: what lets [`choose_weights`] bound a table log's bits from
/// its rounded weights without finishing them.
fn weight_bits(counts: &[u32], w: &[u32], log: u8, max_w: u32) -> f32 {
    let logs = log2_table();
    let mut bits = (counts.len() * usize::from(width_of(u64::from(max_w - 1)))) as f32;
    for (&c, &wi) in counts.iter().zip(w) {
        bits += c as f32 * (f32::from(log) - log2_in(logs, wi));
    }
    // A bigger decode table costs time to build on every node; pay for it in bits.
    bits + (1u32 << log) as f32 / 16.0
}

/// Table log and weights for `bins`, and the bits of ANS payload plus weight fields: the
/// table log of the fewest bits (the smallest of equals), its weights by [`quantize`].
///
/// Not every table log is quantised: a log is skipped when a lower bound of its bits already
/// reaches the best so far, so it cannot win. Two bounds, both computed with the same
/// floating-point steps as the bits themselves (see [`weight_bits`]), so that no rounding
/// can make a skipped log the winner: the width field of the weight `2^log / B` (the least
/// the heaviest can have) plus the table term, which grows with the log and ends the search;
/// and, where the rounded weights sum above `2^log`, their bits as they stand (the surplus
/// only lowers weights), which spares the surplus pass and its sort.
fn choose_weights(bins: &[Bin], n: usize) -> (u8, Vec<u32>, f32) {
    let counts: Vec<u32> = bins.iter().map(|b| b.count).collect();
    let b = counts.len();
    if b <= 1 {
        return (0, vec![1], 0.0);
    }
    let min_log = ceil_log2(b);
    let max_log = MAX_TABLE_LOG.min(ceil_log2(n) + 1).max(min_log);
    let mut w = Vec::with_capacity(b);
    let mut order = Vec::new();
    let mut best: Option<(u8, Vec<u32>, f32)> = None;
    for log in min_log..=max_log {
        let target = 1u64 << log;
        let least_max = target.div_ceil(b as u64);
        let best_bits = best.as_ref().map_or(f32::INFINITY, |x| x.2);
        let floor = (b * usize::from(width_of(least_max - 1))) as f32 + (1u32 << log) as f32 / 16.0;
        if floor >= best_bits {
            break;
        }
        let sum = rounded_weights(&counts, n as u64, log, &mut w);
        if sum > target && best.is_some() {
            // The heaviest loses at most its proportional take and one unit more.
            let surplus = sum - target;
            let spare: u64 = w.iter().map(|&x| u64::from(x - 1)).sum();
            let m = u64::from(w.iter().copied().max().unwrap_or(1));
            let take = if spare >= surplus {
                (m - 1) * surplus / spare.max(1) + 1
            } else {
                0
            };
            let max_w = m.saturating_sub(take).max(least_max).max(1) as u32;
            if weight_bits(&counts, &w, log, max_w) >= best_bits {
                continue;
            }
        }
        settle_weights(&mut w, sum, target, &mut order);
        let max_w = w.iter().copied().max().unwrap_or(1);
        let bits = weight_bits(&counts, &w, log, max_w);
        if bits < best_bits {
            match &mut best {
                Some(x) => {
                    x.0 = log;
                    x.1.clone_from(&w);
                    x.2 = bits;
                }
                None => best = Some((log, w.clone(), bits)),
            }
        }
    }
    best.unwrap_or((0, vec![1], 0.0))
}

/// Bit widths of the three table fields.
fn field_widths(bins: &[Bin], weights: &[u32]) -> (u8, u8, u8) {
    let mut max_gap = 0u64;
    let mut prev: Option<u64> = None;
    for b in bins {
        let gap = match prev {
            None => b.lower,
            Some(p) => b.lower - p - 1,
        };
        max_gap = max_gap.max(gap);
        prev = Some(b.lower);
    }
    let max_width = bins.iter().map(Bin::width).max().unwrap_or(0);
    let max_weight = weights.iter().copied().max().unwrap_or(1);
    (
        width_of(max_gap),
        width_of(u64::from(max_width)),
        width_of(u64::from(max_weight.saturating_sub(1))),
    )
}

/// Plans a node for `values`: bins, weights, and the estimated size. `None` when empty or
/// when there are more bins than the format allows.
pub(crate) fn plan(values: &[u64]) -> Option<Plan> {
    plan_at(values, min_max(values), INITIAL_BINS, MAX_GROUP, usize::MAX)
}

/// [`plan`] for the sampler: `None` as well when the node could not come in under `beat`
/// bytes. That is decided before any bins are planned, from the histogram's entropy: no
/// binning codes the values in fewer bits than their empirical entropy (a bin's index costs
/// at least its share of the bin entropy and its offset at least the values' entropy within
/// the bin), so a node whose entropy alone reaches `beat` is not planned at all.
/// `range`: the smallest and largest of `values`, which the sampler already knows.
pub(crate) fn plan_below(values: &[u64], range: (u64, u64), beat: usize) -> Option<Plan> {
    plan_at(values, range, INITIAL_BINS, MAX_GROUP, beat)
}

/// [`plan`] at a coarser resolution ([`ESTIMATE_BINS`] histogram bins, groups of at most
/// [`ESTIMATE_GROUP`]): about 16 times less work in the dynamic programme, for the sampler's
/// estimates of nodes it may never encode. Its size is an upper bound of what [`plan`] finds
/// but for the coarser bins.
pub(crate) fn estimate(values: &[u64], range: (u64, u64), beat: usize) -> Option<Plan> {
    plan_at(values, range, ESTIMATE_BINS, ESTIMATE_GROUP, beat)
}

/// Bytes below which no node can code `distinct` (a histogram of `n` values): the fixed
/// bytes plus the empirical entropy, less what the final states carry.
fn entropy_floor(distinct: &[(u64, u32)], n: usize) -> usize {
    let logs = log2_table();
    let log_n = log2_in(logs, n as u32);
    let bits: f32 = distinct
        .iter()
        .map(|&(_, c)| c as f32 * (log_n - log2_in(logs, c)))
        .sum();
    // A margin for the f32 sum's rounding keeps the floor below every plan's estimate.
    let bits = (bits * 0.999 - (8 * LANES) as f32).max(0.0);
    FIXED_BYTES + (bits / 8.0) as usize
}

fn plan_at(
    values: &[u64],
    (reference, max): (u64, u64),
    at_most: usize,
    max_group: usize,
    beat: usize,
) -> Option<Plan> {
    let n = values.len();
    if n == 0 || n > u32::MAX as usize || beat <= FIXED_BYTES || max < reference {
        return None;
    }
    let distinct = histogram(values, reference, max - reference);
    if beat != usize::MAX && entropy_floor(&distinct, n) >= beat {
        return None;
    }
    let bins = optimize(&initial_bins(&distinct, n, at_most), n, max_group);
    finish_plan(reference, bins, n)
}

/// A plan for `values` along the bins of an earlier node (`lowers`: their smallest values,
/// ascending, as [`Plan::lowers`] gives them): each value goes to the last bin whose lower
/// bound it reaches (the first bin when below all), every bin is narrowed to the values it
/// holds, and empty bins are dropped. Only the weights are fitted anew, so a block that
/// follows a column's earlier cascade pays neither the histogram nor the dynamic programme.
pub(crate) fn plan_following(values: &[u64], lowers: &[u64]) -> Option<Plan> {
    let n = values.len();
    if n == 0 || n > u32::MAX as usize || lowers.is_empty() || lowers.len() > MAX_BINS {
        return None;
    }
    let reference = min_max(values).0;
    let mut bins: Vec<Bin> = vec![
        Bin {
            lower: u64::MAX,
            upper: 0,
            count: 0,
        };
        lowers.len()
    ];
    // Lower bounds relative to the reference (those below it clamp to 0 and, being at most
    // every value, still lose to a later bin whose bound a value reaches).
    let relative: Vec<u64> = lowers.iter().map(|l| l.saturating_sub(reference)).collect();
    for (&v, k) in values.iter().zip(bin_of_each(values, reference, &relative)) {
        if let Some(b) = bins.get_mut(usize::from(k)) {
            b.lower = b.lower.min(v);
            b.upper = b.upper.max(v);
            b.count += 1;
        }
    }
    let bins = bins
        .into_iter()
        .filter(|b| b.count > 0)
        .map(|b| Bin {
            lower: b.lower - reference,
            upper: b.upper - reference,
            count: b.count,
        })
        .collect();
    finish_plan(reference, bins, n)
}

/// The weights, field widths and estimated size of a node coding `n` values in `bins`.
fn finish_plan(reference: u64, bins: Vec<Bin>, n: usize) -> Option<Plan> {
    if bins.is_empty() || bins.len() > MAX_BINS {
        return None;
    }
    let (table_log, weights, ans_and_weight_bits) = choose_weights(&bins, n);
    let (lw, ww, fw) = field_widths(&bins, &weights);
    let table_bits = bins.len() * usize::from(lw + ww);
    let offset_bits: u64 = bins
        .iter()
        .map(|b| u64::from(b.count) * u64::from(b.width()))
        .sum();
    // The states carry about 8 bits of payload each beyond their 16-bit floor.
    let ans_bits = (ans_and_weight_bits as usize).saturating_sub(bins.len() * usize::from(fw));
    let offset_bytes = (offset_bits as usize).div_ceil(8);
    let size = |lanes: usize| {
        fixed_bytes_carrying(lanes, offset_bytes)
            + (table_bits + bins.len() * usize::from(fw)).div_ceil(8)
            + ans_bits.saturating_sub(8 * lanes).div_ceil(16) * 2
            + offset_bytes
    };
    let lanes = lanes_for(size);
    let bytes = size(lanes);
    Some(Plan {
        reference,
        bins,
        weights,
        table_log,
        lanes,
        bytes,
    })
}

/// Appends bits LSB-first.
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    acc: u64,
    len: u32,
}

impl BitWriter {
    fn put(&mut self, v: u64, w: u8) {
        if w > 32 {
            self.put_small(v & 0xffff_ffff, 32);
            self.put_small(v >> 32, w - 32);
        } else {
            self.put_small(v, w);
        }
    }

    /// Appends the low `w` bits of `v`, `w` at most 32. Fewer than 32 bits are pending
    /// between calls; whole 32-bit words are flushed.
    fn put_small(&mut self, v: u64, w: u8) {
        if w == 0 {
            return;
        }
        let v = v & (u64::MAX >> (64 - u32::from(w.min(32))));
        self.acc |= v << self.len;
        self.len += u32::from(w.min(32));
        if self.len >= 32 {
            self.bytes
                .extend_from_slice(&(self.acc as u32).to_le_bytes());
            self.acc >>= 32;
            self.len -= 32;
        }
    }

    fn finish(mut self) -> Vec<u8> {
        let tail = self.len.div_ceil(8) as usize;
        self.bytes
            .extend_from_slice(self.acc.to_le_bytes().get(..tail).unwrap_or(&[]));
        self.bytes
    }
}

/// Reads bits LSB-first from a zero-padded copy, so that every read is one unaligned load;
/// reads past the end yield zeros (callers check the bit count first).
struct BitReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    /// A reader of `bytes`, copied into `scratch` (a buffer reused across nodes) with
    /// [`GROUP_SPAN`] zero bytes after them.
    fn padded(bytes: &[u8], scratch: &'a mut Vec<u8>) -> Self {
        Self::padded_carrying(bytes, &[], scratch)
    }

    /// [`Self::padded`] over `bytes` followed by the low two bytes of each of `states`
    /// (little-endian, in lane order): the offsets a node's start states carried.
    fn padded_carrying(bytes: &[u8], states: &[u32], scratch: &'a mut Vec<u8>) -> Self {
        let len = bytes.len() + 2 * states.len();
        scratch.clear();
        scratch.reserve(len + GROUP_SPAN);
        scratch.extend_from_slice(bytes);
        for &s in states {
            scratch.extend_from_slice(&(s as u16).to_le_bytes());
        }
        scratch.resize(len + GROUP_SPAN, 0);
        Self {
            bytes: scratch.as_slice(),
            pos: 0,
        }
    }

    #[inline(always)]
    fn window(&self) -> u64 {
        let byte = self.pos >> 3;
        let word = self
            .bytes
            .get(byte..)
            .and_then(<[u8]>::first_chunk::<8>)
            .map_or(0, |a| u64::from_le_bytes(*a));
        word >> (self.pos & 7)
    }

    #[inline(always)]
    fn get(&mut self, w: u8) -> u64 {
        if w <= 56 {
            let v = self.window() & ((1u64 << w) - 1);
            self.pos += usize::from(w);
            v
        } else {
            let lo = self.window() & 0xffff_ffff;
            self.pos += 32;
            let hi = self.window() & (u64::MAX >> (96 - u32::from(w)));
            self.pos += usize::from(w - 32);
            lo | (hi << 32)
        }
    }
}

/// Encodes `values` as one entropy-coded node (tag and count included). Returns the detail for
/// the cascade, or `None` (writing nothing) when there is nothing to code.
#[cfg(test)]
pub(crate) fn encode(values: &[u64], out: &mut Vec<u8>) -> Option<String> {
    encode_planned(values, &plan(values)?, out)
}

/// The bin of each value: the last of `lowers` (ascending bounds relative to `reference`, the
/// values' minimum) that `value - reference` reaches, the first when it reaches none. Values
/// spanning fewer than [`COUNTED_SPAN`] find it in a table of the span, filled in one sweep
/// along the bounds; others by a binary search each.
fn bin_of_each(values: &[u64], reference: u64, lowers: &[u64]) -> Vec<u16> {
    let offset = |v: u64| v.wrapping_sub(reference);
    let search = |o: u64| lowers.partition_point(|&l| l <= o).saturating_sub(1) as u16;
    let (min, max) = min_max(values);
    let span = if min >= reference {
        max - reference
    } else {
        values.iter().map(|&v| offset(v)).max().unwrap_or(0)
    };
    if span >= COUNTED_SPAN {
        return values.iter().map(|&v| search(offset(v))).collect();
    }
    let mut table = vec![0u16; span as usize + 1];
    let mut k = usize::from(search(0));
    for (o, slot) in table.iter_mut().enumerate() {
        while lowers.get(k + 1).is_some_and(|&l| l <= o as u64) {
            k += 1;
        }
        *slot = k as u16;
    }
    values
        .iter()
        .map(|&v| table.get(offset(v) as usize).copied().unwrap_or(0))
        .collect()
}

/// One bin's encoder step: a state at or above `bound` (`freq << (32 − L)`) sheds a word
/// first; then `x / freq` by the reciprocal (see [`RECIPROCAL_SHIFT`]), `complement`
/// (`2^L − freq`) and `start`, the bin's cumulative weight.
#[derive(Clone, Copy, Default)]
struct Coder {
    bound: u64,
    reciprocal: u64,
    complement: u64,
    start: u64,
}

impl Coder {
    /// The step of a bin of weight `freq` starting at `start` under a table of `2^log`.
    fn new(freq: u32, start: u32, log: u32) -> Self {
        Self {
            bound: u64::from(freq) << (32 - log),
            reciprocal: (1u64 << RECIPROCAL_SHIFT).div_ceil(u64::from(freq.max(1))),
            complement: (1u64 << log) - u64::from(freq),
            start: u64::from(start),
        }
    }
}

/// The rANS renormalisation words of `syms` (each a bin of `coders`) as little-endian bytes
/// in the order the decoder reads them, and their count; `states` (one per lane, value `i`
/// in lane `i % lanes`, each starting at [`STATE_LOW`]) end as the decoder's start states.
///
/// The encoder runs backwards, a chunk of `lanes` values at a time (lanes descending), so
/// that the lane of a value is its place in the chunk rather than a division, and the lanes'
/// states, which do not depend on each other, step side by side. A value sheds at most one
/// word; each is written from the end of a buffer of one word per value, unconditionally
/// and kept by advancing the position, so that the order of the words is the order they
/// were shed in, reversed, with no branch on the renormalisation.
fn rans_words(syms: &[u16], coders: &[Coder], states: &mut [u64]) -> (Vec<u8>, usize) {
    let mut buf = vec![0u8; 2 * syms.len()];
    let mut p = buf.len();
    // Four lanes (a small node's) keep their states in registers.
    if let Ok(four) = <&mut [u64; LANES]>::try_from(&mut *states) {
        let [mut x0, mut x1, mut x2, mut x3] = *four;
        let (full, rest) = syms.as_chunks::<LANES>();
        for (x, &s) in four.iter_mut().zip(rest).rev() {
            *x = rans_step(*x, coders, s, &mut buf, &mut p);
        }
        if !rest.is_empty() {
            [x0, x1, x2, x3] = *four;
        }
        for &[s0, s1, s2, s3] in full.iter().rev() {
            x3 = rans_step(x3, coders, s3, &mut buf, &mut p);
            x2 = rans_step(x2, coders, s2, &mut buf, &mut p);
            x1 = rans_step(x1, coders, s1, &mut buf, &mut p);
            x0 = rans_step(x0, coders, s0, &mut buf, &mut p);
        }
        *four = [x0, x1, x2, x3];
    } else {
        for chunk in syms.chunks(states.len().max(1)).rev() {
            for (x, &s) in states.iter_mut().zip(chunk).rev() {
                *x = rans_step(*x, coders, s, &mut buf, &mut p);
            }
        }
    }
    let words = buf.split_off(p);
    let n = words.len() / 2;
    (words, n)
}

/// One value's rANS step from state `x` for bin `s`: the word it sheds written at `p − 2`
/// of `buf` (unconditionally, kept by moving `p` down), and the next state.
#[inline(always)]
fn rans_step(x: u64, coders: &[Coder], s: u16, buf: &mut [u8], p: &mut usize) -> u64 {
    let c = coders.get(usize::from(s)).copied().unwrap_or_default();
    let shed = x >= c.bound;
    // At most one word per value: `p` is at least 2 for every value left.
    if let Some(slot) = p
        .checked_sub(2)
        .and_then(|at| buf.get_mut(at..))
        .and_then(<[u8]>::first_chunk_mut::<2>)
    {
        *slot = (x as u16).to_le_bytes();
    }
    *p -= 2 * usize::from(shed);
    let y = if shed { x >> 16 } else { x };
    // A state is below 2^32 here, so `y << (64 − 45)` fits and the high half of its product
    // with the reciprocal is `y * reciprocal >> 45`, with no shift after the multiply.
    // `(q << L) + y − q f` is `y + q (2^L − f)`, one step fewer.
    let q = ((u128::from(y << (64 - RECIPROCAL_SHIFT)) * u128::from(c.reciprocal)) >> 64) as u64;
    y + q * c.complement + c.start
}

/// The offset of every value in its bin (`bins`: lower bound relative to `reference`, and
/// width; `syms`: each value's bin) as an LSB-first bit stream, each at its bin's width.
/// Bits gather in a 64-bit accumulator held in a register, 8 bytes written at a time.
fn pack_offsets(values: &[u64], syms: &[u16], reference: u64, bins: &[(u64, u8)]) -> Vec<u8> {
    let total: u64 = syms
        .iter()
        .map(|&s| u64::from(bins.get(usize::from(s)).map_or(0, |b| b.1)))
        .sum();
    let mut out = Vec::with_capacity(total.div_ceil(8) as usize + 8);
    let mut acc = 0u64;
    let mut len = 0u32;
    for (&v, &s) in values.iter().zip(syms) {
        let (lower, width) = bins.get(usize::from(s)).copied().unwrap_or((0, 0));
        let width = u32::from(width.min(64));
        let o = v.wrapping_sub(reference).wrapping_sub(lower)
            & u64::MAX.checked_shr(64 - width).unwrap_or(0);
        acc |= o << len;
        len += width;
        if len >= 64 {
            out.extend_from_slice(&acc.to_le_bytes());
            len -= 64;
            // The bits of `o` that did not fit (none when it started the word).
            acc = o.checked_shr(width - len).unwrap_or(0);
        }
    }
    let tail = len.div_ceil(8) as usize;
    out.extend_from_slice(acc.to_le_bytes().get(..tail).unwrap_or(&[]));
    out
}

/// Encodes `values` as one entropy-coded node (tag and count included) under `p`, a plan of
/// exactly them: the sampler's, or one following an earlier node's bins. Returns the detail
/// for the cascade.
pub(crate) fn encode_planned(values: &[u64], p: &Plan, out: &mut Vec<u8>) -> Option<String> {
    let log = u32::from(p.table_log);
    let lowers: Vec<u64> = p.bins.iter().map(|b| b.lower).collect();
    let widths: Vec<u8> = p.bins.iter().map(Bin::width).collect();
    // Per bin: its weight, its cumulative weight, and the weight's reciprocal: for a state
    // below 2^32 and a weight below 2^13, `x * ceil(2^45 / w) >> 45` is `x / w` exactly
    // (a multiplication in place of a division on every value).
    let mut coders = Vec::with_capacity(p.weights.len());
    let mut c = 0u32;
    for &w in &p.weights {
        coders.push(Coder::new(w, c, log));
        c += w;
    }
    // Bin of every value, then its offset bits.
    let syms = bin_of_each(values, p.reference, &lowers);
    let offsets = if widths.iter().any(|&w| w > 0) {
        let bins: Vec<(u64, u8)> = lowers.iter().copied().zip(widths.iter().copied()).collect();
        pack_offsets(values, &syms, p.reference, &bins)
    } else {
        Vec::new()
    };
    let lanes = p.lanes.clamp(1, MAX_LANES);
    // The lanes start from states that carry the offsets' last two bytes each (see
    // `carried`); the decoder's final states give them back.
    let carry = carried(lanes, offsets.len());
    let (offsets, tail) = offsets.split_at(offsets.len() - carry);
    let mut states = [u64::from(STATE_LOW); MAX_LANES];
    for (s, pair) in states.iter_mut().zip(tail.chunks_exact(2)) {
        *s += u64::from(u16::from_le_bytes([pair[0], pair[1]]));
    }
    let states = states.get_mut(..lanes).unwrap_or_default();
    let (words, nwords) = rans_words(&syms, &coders, states);

    if lanes == LANES && carry == 0 {
        out.put_u8(tag::ANS);
        out.put_len(values.len());
    } else {
        out.put_u8(tag::ANS_LANES);
        out.put_len(values.len());
        out.put_u8(lanes as u8 | if carry > 0 { CARRY_FLAG } else { 0 });
    }
    out.put_u64(p.reference);
    out.put_len(p.bins.len());
    out.put_u8(p.table_log);
    let (lw, ww, fw) = field_widths(&p.bins, &p.weights);
    out.extend_from_slice(&[lw, ww, fw]);
    let mut table = BitWriter::default();
    let mut prev: Option<u64> = None;
    for ((b, &w), &width) in p.bins.iter().zip(&p.weights).zip(&widths) {
        let gap = match prev {
            None => b.lower,
            Some(q) => b.lower - q - 1,
        };
        prev = Some(b.lower);
        table.put(gap, lw);
        table.put(u64::from(width), ww);
        table.put(u64::from(w - 1), fw);
    }
    out.extend_from_slice(&table.finish());
    out.put_len(nwords);
    for s in states.iter() {
        out.extend_from_slice(&(*s as u32).to_le_bytes());
    }
    out.extend_from_slice(&words);
    out.put_len(offsets.len());
    out.extend_from_slice(offsets);
    Some(if lanes == LANES {
        format!("bins={},log={}", p.bins.len(), p.table_log)
    } else {
        format!("bins={},log={},lanes={lanes}", p.bins.len(), p.table_log)
    })
}

/// Shift of the encoder's reciprocals: 32 bits of state plus 13 of weight, which makes the
/// multiply-and-shift an exact division (Granlund and Montgomery's round-up method).
const RECIPROCAL_SHIFT: u32 = 45;

/// One decode-table slot, packed for a single load: `freq | bias << 32 | bin << 48`, where
/// `bias` is `slot − cum` of the slot's bin (both below 2^13 and 2^12, so neither field
/// overlaps the next). The rANS step reads `freq` and `bias`; the bin index rides along for
/// the second pass, so the bins' bases and widths need a table of `B` entries, not `2^L`.
fn slot(freq: usize, bias: usize, bin: usize) -> u64 {
    freq as u64 | (bias as u64) << 32 | (bin as u64) << 48
}

/// Decodes the bin of every value into `bins_of`, lane `i % 4` for value `i`, from the start
/// `states` and the renormalisation words (`words`: little-endian u16s followed by at least 8
/// zero bytes, so reads past the last word yield zeros). Returns the final states and the
/// number of words read; the caller checks both.
///
/// The four words a chunk of four values may need are one load, and each lane picks its word
/// by how many lanes before it took one, with a shift: the loads do not wait on the lanes
/// before. The renormalisation is a forced conditional move (it is taken on one step in
/// several, at random). What bounds the loop is the chain from one chunk's states through the
/// table load, the multiply and the words they take to the next chunk's states.
///
/// The table log is a constant (one copy of the loop per log, see [`decode_symbols_at`]): the
/// shift and mask then take no registers, and the loop's state fits in the rest.
fn decode_symbols<const LOG: u32>(
    states: [u32; LANES],
    slots: &[u64; TABLE_SLOTS],
    words: &[u8],
    bins_of: &mut [u16],
) -> ([u32; LANES], usize) {
    let log = LOG;
    let mask = ((1u32 << LOG) - 1) & (TABLE_SLOTS as u32 - 1);
    let entry = |x: u32| slots[(x & mask) as usize];
    // `bias` is taken out by a shift and a zero extension beside the multiply, which is what
    // the chain waits on.
    let next = |e: u64, x: u32| {
        (e as u32)
            .wrapping_mul(x >> log)
            .wrapping_add(u32::from((e >> 32) as u16))
    };
    let bin = |e: u64| (e >> 48) as u16;
    let load = |p: usize| {
        words
            .get(2 * p..)
            .and_then(<[u8]>::first_chunk::<8>)
            .map_or(0, |a| u64::from_le_bytes(*a))
    };
    // The word at index `k` (0..=3) of a chunk's four, by a shift: an array index made the
    // compiler store the words to the stack and load one back, on the chain from one chunk's
    // states to the next.
    let word = |w: u64, k: u32| (w >> (16 * (k & 3))) as u16 as u32;
    let renormalise =
        |y: u32, w: u32| std::hint::select_unpredictable(y < STATE_LOW, (y << 16) | w, y);
    let [mut x0, mut x1, mut x2, mut x3] = states;
    let mut p = 0usize;
    let mut chunks = bins_of.chunks_exact_mut(LANES);
    for c in &mut chunks {
        let [s0, s1, s2, s3] = c else { continue };
        let (e0, e1, e2, e3) = (entry(x0), entry(x1), entry(x2), entry(x3));
        *s0 = bin(e0);
        *s1 = bin(e1);
        *s2 = bin(e2);
        *s3 = bin(e3);
        let (y0, y1, y2, y3) = (next(e0, x0), next(e1, x1), next(e2, x2), next(e3, x3));
        let w = load(p);
        let k1 = u32::from(y0 < STATE_LOW);
        let k2 = k1 + u32::from(y1 < STATE_LOW);
        let k3 = k2 + u32::from(y2 < STATE_LOW);
        let k4 = k3 + u32::from(y3 < STATE_LOW);
        x0 = renormalise(y0, word(w, 0));
        x1 = renormalise(y1, word(w, k1));
        x2 = renormalise(y2, word(w, k2));
        x3 = renormalise(y3, word(w, k3));
        p += k4 as usize;
    }
    let mut states = [x0, x1, x2, x3];
    for (s, x) in chunks.into_remainder().iter_mut().zip(&mut states) {
        let e = entry(*x);
        *s = bin(e);
        let y = next(e, *x);
        *x = renormalise(y, word(load(p), 0));
        p += usize::from(y < STATE_LOW);
    }
    (states, p)
}

/// Decodes the bin of every value of `bins_of`, lane `i % states.len()` for value `i`, one
/// value at a time: the decoder of any lane count (the vector decoder's tail, a CPU without
/// it, a node of more than [`SLOT32_BINS`] bins). `entry` gives a slot's weight, bias and bin;
/// words are read from word `p` on (zeros past the end). Returns the words read up to the end.
fn decode_symbols_lanes(
    log: u32,
    entry: impl Fn(u32) -> (u32, u32, u16),
    states: &mut [u32],
    words: &[u8],
    mut p: usize,
    bins_of: &mut [u16],
) -> usize {
    for chunk in bins_of.chunks_mut(states.len().max(1)) {
        for (s, x) in chunk.iter_mut().zip(states.iter_mut()) {
            let (freq, bias, bin) = entry(*x);
            *s = bin;
            let y = freq.wrapping_mul(*x >> log).wrapping_add(bias);
            if y < STATE_LOW {
                let w = words
                    .get(2 * p..)
                    .and_then(<[u8]>::first_chunk::<2>)
                    .map_or(0, |a| u16::from_le_bytes(*a));
                *x = (y << 16) | u32::from(w);
                p += 1;
            } else {
                *x = y;
            }
        }
    }
    p
}

/// Bins a node may have for the vector decoder, whose slot holds a bin in 8 bits.
const SLOT32_BINS: usize = 256;

/// Zero bytes after a node's rANS words: the vector decoder loads 16 words (32 bytes) from
/// any word it may be at, up to 16 a step past the last.
const WORDS_PADDING: usize = 64;

/// One slot of the vector decoder's table: `bias | (freq − 1) << 12 | bin << 24` (bias and
/// `freq − 1` below 2^12, bin below [`SLOT32_BINS`]), one 32-bit gather for all three.
fn slot32(freq: usize, bias: usize, bin: usize) -> u32 {
    (bias as u32 & 0xfff) | ((freq as u32).wrapping_sub(1) & 0xfff) << 12 | (bin as u32) << 24
}

/// The AVX-512 rANS decoder: 16 lanes in one vector register (two or four registers for 32 or
/// 64 lanes), a step decoding 16 values with one 32-bit gather of their slots, a multiply,
/// and the renormalisation words taken from one unaligned 16-word load, spread to the lanes
/// that need one (`vpexpandd`), in lane order, as the scalar decoder reads them. Two
/// registers' gathers do not wait on each other, which is why 32 lanes decode about twice
/// as fast as 16.
mod vector {
    use super::{TABLE_SLOTS, decode_symbols_lanes};

    /// Whether this CPU has AVX-512 F and BW (checked once).
    pub(super) fn available() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
            *AVAILABLE.get_or_init(|| {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
            })
        }
        #[cfg(not(target_arch = "x86_64"))]
        false
    }

    /// Decodes every value's bin into `bins_of` from the lanes' start `states` (16, 32 or 64)
    /// and `words` (the node's words followed by [`super::WORDS_PADDING`] zero bytes), leaves
    /// the final states in `states` and returns the words read. Only called where
    /// [`available`] says so.
    pub(super) fn decode_symbols(
        log: u8,
        states: &mut [u32],
        slots: &[u32; TABLE_SLOTS],
        words: &[u8],
        bins_of: &mut [u16],
    ) -> usize {
        let log = u32::from(log);
        #[allow(unsafe_code, reason = "calls the AVX-512 decoder")]
        let (p, done) = match states.len() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the caller checked that the CPU has AVX-512 F and BW (`available`).
            16 => unsafe { steps::<1>(log, states, slots, words, bins_of) },
            #[cfg(target_arch = "x86_64")]
            32 => unsafe { steps::<2>(log, states, slots, words, bins_of) },
            #[cfg(target_arch = "x86_64")]
            64 => unsafe { steps::<4>(log, states, slots, words, bins_of) },
            _ => (0, 0),
        };
        let entry = |x: u32| {
            let e = slots[(x & ((1 << log) - 1)) as usize & (TABLE_SLOTS - 1)];
            ((e >> 12 & 0xfff) + 1, e & 0xfff, (e >> 24) as u16)
        };
        let rest = bins_of.get_mut(done..).unwrap_or_default();
        decode_symbols_lanes(log, entry, states, words, p, rest)
    }

    /// The whole steps of `V` registers (`16 V` values each) that `bins_of` holds, while the
    /// words the step may load are within `words`. Returns the words read and the values
    /// decoded (a multiple of `16 V`, so the caller's scalar loop continues at lane 0).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw")]
    #[expect(
        unsafe_code,
        reason = "gathers, loads and stores of AVX-512 registers, each in bounds as its comment says"
    )]
    fn steps<const V: usize>(
        log: u32,
        states: &mut [u32],
        slots: &[u32; TABLE_SLOTS],
        words: &[u8],
        bins_of: &mut [u16],
    ) -> (usize, usize) {
        use std::arch::x86_64::*;
        if states.len() != 16 * V {
            return (0, 0);
        }
        let mut x = [_mm512_setzero_si512(); V];
        for (v, chunk) in x.iter_mut().zip(states.chunks_exact(16)) {
            // SAFETY: `chunk` holds 16 u32s, the 64 bytes loaded.
            *v = unsafe { _mm512_loadu_si512(chunk.as_ptr().cast()) };
        }
        let mask = _mm512_set1_epi32(((1u32 << log) - 1) as i32 & (TABLE_SLOTS as i32 - 1));
        let shift = _mm_cvtsi32_si128(log as i32);
        let low = _mm512_set1_epi32(super::STATE_LOW as i32);
        let field = _mm512_set1_epi32(0xfff);
        let one = _mm512_set1_epi32(1);
        let table = slots.as_ptr().cast::<i32>();
        let mut p = 0usize;
        let mut done = 0usize;
        for out in bins_of.chunks_exact_mut(16 * V) {
            // Each of the V loads reads 32 bytes from a word at most 16 past the last one's.
            if 2 * p + 32 * V > words.len() {
                break;
            }
            for (xv, dst) in x.iter_mut().zip(out.chunks_exact_mut(16)) {
                let slot = _mm512_and_si512(*xv, mask);
                // SAFETY: every index is masked below TABLE_SLOTS, the table's length.
                let e = unsafe { _mm512_i32gather_epi32::<4>(slot, table) };
                let bias = _mm512_and_si512(e, field);
                let freq =
                    _mm512_add_epi32(_mm512_and_si512(_mm512_srli_epi32::<12>(e), field), one);
                let y =
                    _mm512_add_epi32(_mm512_mullo_epi32(freq, _mm512_srl_epi32(*xv, shift)), bias);
                let bins = _mm512_cvtepi32_epi16(_mm512_srli_epi32::<24>(e));
                // SAFETY: `dst` holds 16 u16s, the 32 bytes stored.
                unsafe { _mm256_storeu_si256(dst.as_mut_ptr().cast(), bins) };
                let renorm = _mm512_cmplt_epu32_mask(y, low);
                // SAFETY: `2 p + 32 <= words.len()` by the check above and at most 16 words
                // taken by each register before this one in the step.
                let raw = unsafe { _mm256_loadu_si256(words.as_ptr().add(2 * p).cast()) };
                let w = _mm512_maskz_expand_epi32(renorm, _mm512_cvtepu16_epi32(raw));
                *xv = _mm512_mask_or_epi32(y, renorm, _mm512_slli_epi32::<16>(y), w);
                p += renorm.count_ones() as usize;
            }
            done += 16 * V;
        }
        for (v, chunk) in x.iter().zip(states.chunks_exact_mut(16)) {
            // SAFETY: `chunk` holds 16 u32s, the 64 bytes stored.
            unsafe { _mm512_storeu_si512(chunk.as_mut_ptr().cast(), *v) };
        }
        (p, done)
    }
}
fn decode_symbols_at(
    log: u8,
    states: [u32; LANES],
    slots: &[u64; TABLE_SLOTS],
    words: &[u8],
    bins_of: &mut [u16],
) -> ([u32; LANES], usize) {
    seq_macro::seq!(L in 0..=12 {
        match log {
            #(L => decode_symbols::<L>(states, slots, words, bins_of),)*
            _ => (states, usize::MAX),
        }
    })
}

/// Low-bit masks by width, for widths up to 56.
const LOW_MASKS: [u64; 64] = {
    let mut m = [0u64; 64];
    let mut w = 1;
    while w < 64 {
        m[w] = u64::MAX >> (64 - w);
        w += 1;
    }
    m
};

/// Bytes a group of [`GROUP`] offsets of at most 56 bits may span from its first byte, with
/// the 8 bytes of the last unaligned load: every load in the group is then provably in bounds.
const GROUP_SPAN: usize = 72;
/// Values whose offsets are read from one bounds-checked window.
const GROUP: usize = 8;

/// A node's bins as the second pass reads them: bases and widths in arrays of their own, so
/// that a vector gather of either reads only what it asks for. Full size, so that a masked bin
/// index needs no bounds check; the first `len` entries are the node's.
struct BinTable<'a> {
    /// Base (reference plus lower bound) of every bin.
    bases: &'a [u64; MAX_BINS],
    /// Offset width of every bin in bits, 0..=64.
    widths: &'a [u8; MAX_BINS],
    /// Bins of the node (1..=[`MAX_BINS`]); every bin index of the node is below it.
    len: usize,
}

/// Writes each value's bin base plus its offset (read at the bin's width from `reader`, whose
/// bytes end in at least [`GROUP_SPAN`] zero bytes) into `dst`, the bin given by `bins_of`,
/// and leaves the reader after the last offset. Without `WIDE` no bin is wider than 56 bits.
///
/// Where the CPU has AVX-512 (see [`has_avx512`]) and no bin is wide, whole groups of eight go
/// through [`binned_values_avx512`] and the rest through [`binned_values_from`]; elsewhere all
/// of them go through the latter. Both read the same bits and write the same values.
fn binned_values<const WIDE: bool>(
    dst: &mut [u64],
    bins_of: &[u16],
    bins: &BinTable<'_>,
    reader: &mut BitReader<'_>,
) {
    #[cfg(target_arch = "x86_64")]
    if !WIDE && has_avx512() {
        #[expect(unsafe_code, reason = "calls the AVX-512 second pass")]
        // SAFETY: the CPU has AVX-512 (the features the function enables), checked just
        // above; its memory accesses are checked inside it.
        let (done, pos) =
            unsafe { binned_values_avx512(dst, bins_of, bins, reader.bytes, reader.pos) };
        reader.pos = pos;
        let dst = dst.get_mut(done..).unwrap_or_default();
        let bins_of = bins_of.get(done..).unwrap_or_default();
        binned_values_from::<false>(dst, bins_of, bins, reader);
        return;
    }
    binned_values_from::<WIDE>(dst, bins_of, bins, reader);
}

/// [`binned_values`] on any CPU. A function of its own so that the bit position stays in a
/// register.
#[inline(never)]
fn binned_values_from<const WIDE: bool>(
    dst: &mut [u64],
    bins_of: &[u16],
    bins: &BinTable<'_>,
    reader: &mut BitReader<'_>,
) {
    let (bases, widths) = (bins.bases, bins.widths);
    let bin = |s: u16| {
        let i = usize::from(s) & (MAX_BINS - 1);
        (bases[i], widths[i])
    };
    let bits = reader.bytes;
    let mut pos = reader.pos;
    let mut done = 0usize;
    if !WIDE {
        // Groups of 8: one bounds check for the window of bytes the group can touch, then
        // loads at masked offsets into it, which need none.
        let groups = dst.chunks_exact_mut(GROUP).zip(bins_of.chunks_exact(GROUP));
        for (o8, s8) in groups {
            let Some(win) = bits
                .get(pos >> 3..)
                .and_then(<[u8]>::first_chunk::<GROUP_SPAN>)
            else {
                break;
            };
            let mut lp = pos & 7;
            for (o, &s) in o8.iter_mut().zip(s8) {
                let (base, width) = bin(s);
                let at = (lp >> 3) & 63;
                let word = win
                    .get(at..at + 8)
                    .and_then(<[u8]>::first_chunk::<8>)
                    .map_or(0, |a| u64::from_le_bytes(*a));
                *o = base.wrapping_add((word >> (lp & 7)) & LOW_MASKS[usize::from(width) & 63]);
                lp += usize::from(width);
            }
            pos = (pos & !7) + lp;
            done += GROUP;
        }
    }
    // The rest (a tail shorter than a group, wide bins, or a stream that ends early) through
    // the general reader.
    reader.pos = pos;
    for (o, &s) in dst.iter_mut().zip(bins_of).skip(done) {
        let (base, width) = bin(s);
        *o = base.wrapping_add(reader.get(width));
    }
}

/// Whether the CPU has the AVX-512 subsets the second pass uses (F, BW, DQ, VL, VBMI), asked
/// once.
#[cfg(target_arch = "x86_64")]
fn has_avx512() -> bool {
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512vbmi")
    })
}

/// Bins whose bases (and offset masks) fit in two vector registers each, looked up by a
/// permutation instead of a gather.
const FEW_BINS: usize = 16;
/// Bins whose widths fit in two vector registers as bytes: the vector second pass takes nodes
/// of at most this many bins (the planner makes at most [`INITIAL_BINS`]); more go through
/// the scalar one.
const VECTOR_BINS: usize = 128;

/// [`binned_values`] for bins of at most 56 bits, eight values to a vector of 64-bit lanes,
/// while the 64 bytes from the next offset's first byte are in `bits`. Returns the values
/// written (a multiple of eight) and the bit position after their offsets; the caller
/// finishes the rest. Nodes of more than [`VECTOR_BINS`] bins are left to it whole.
///
/// Per group: the bins' widths as eight 16-bit lanes of a 128-bit register (a byte
/// permutation from registers) and their inclusive prefix sum there (a multiplication and a
/// shuffle), which with the position's bit within its byte gives each offset's first bit
/// relative to the group's first byte. One 64-byte load from that byte holds every offset of
/// the group (the last starts at most 7 + 7 · 56 = 399 bits in and ends by bit 455 < 512); a
/// byte permutation (VBMI) gives each lane the eight bytes from its offset's first, a shift
/// by the bit within that byte aligns it, and the bin's mask and base finish it. Bases and
/// masks come by permutation from registers for at most [`FEW_BINS`] bins, else the bases by
/// a gather and the masks by shifts. The only chain from group to group is the scalar bit
/// position, and the widths and their sums, which depend on the bins alone, are found a group
/// ahead (the loop ran 7 % slower with them on the chain's side). Widths above 56 would not
/// fit a lane's eight bytes: the caller never passes them (the results would be wrong, but
/// no access depends on a width).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512vbmi")]
fn binned_values_avx512(
    dst: &mut [u64],
    bins_of: &[u16],
    bins: &BinTable<'_>,
    bits: &[u8],
    pos: usize,
) -> (usize, usize) {
    if bins.len <= FEW_BINS {
        binned_groups_avx512::<true>(dst, bins_of, bins, bits, pos)
    } else if bins.len <= VECTOR_BINS {
        binned_groups_avx512::<false>(dst, bins_of, bins, bits, pos)
    } else {
        (0, pos)
    }
}

/// [`binned_values_avx512`] for at most [`VECTOR_BINS`] bins, with the bins' bases and masks in
/// registers when `FEW` (at most [`FEW_BINS`] bins).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512vbmi")]
#[expect(
    unsafe_code,
    reason = "AVX-512 loads, stores and gathers through pointers of checked slices"
)]
fn binned_groups_avx512<const FEW: bool>(
    dst: &mut [u64],
    bins_of: &[u16],
    bins: &BinTable<'_>,
    bits: &[u8],
    mut pos: usize,
) -> (usize, usize) {
    use std::arch::x86_64::*;
    let bin_mask = _mm512_set1_epi64((MAX_BINS - 1) as i64);
    let sixty_four = _mm512_set1_epi64(64);
    let ones = _mm512_set1_epi64(-1);
    let seven = _mm_set1_epi16(7);
    // Multiplying four 16-bit lanes by 1 + 2^16 + 2^32 + 2^48 sums each lane with those below
    // it (no sum of four widths reaches 2^16) ...
    let prefix = _mm_set1_epi64x(0x0001_0001_0001_0001);
    // ... and the low half's last lane to each lane of the high half (-1: zero).
    let carry = _mm_set_epi8(7, 6, 7, 6, 7, 6, 7, 6, -1, -1, -1, -1, -1, -1, -1, -1);
    // Byte `2i` (lane `i`'s first byte offset, from 16-bit lanes) to all eight bytes of
    // 64-bit lane `i` ...
    let spread = _mm512_set_epi64(
        0x0e0e_0e0e_0e0e_0e0e,
        0x0c0c_0c0c_0c0c_0c0c,
        0x0a0a_0a0a_0a0a_0a0a,
        0x0808_0808_0808_0808,
        0x0606_0606_0606_0606,
        0x0404_0404_0404_0404,
        0x0202_0202_0202_0202,
        0,
    );
    // ... plus 0..=7: the bytes of each lane's unaligned word.
    let steps = _mm512_set1_epi64(0x0706_0504_0302_0100);
    let bases = bins.bases.as_ptr();
    // SAFETY: the tables hold MAX_BINS >= VECTOR_BINS entries: the widths' first 128 bytes,
    // and 16 bases (128 bytes), are read.
    let (widths_lo, widths_hi, bases_lo, bases_hi) = unsafe {
        (
            _mm512_loadu_si512(bins.widths.as_ptr().cast()),
            _mm512_loadu_si512(bins.widths.as_ptr().add(64).cast()),
            _mm512_loadu_si512(bases.cast()),
            _mm512_loadu_si512(bases.add(8).cast()),
        )
    };
    // The offset mask of each of the first 16 bins (a shift by 64 gives zero: no bits for a
    // width of zero).
    let mask_of = |w: __m512i| _mm512_srlv_epi64(ones, _mm512_sub_epi64(sixty_four, w));
    let masks_lo = mask_of(_mm512_cvtepu8_epi64(_mm512_castsi512_si128(widths_lo)));
    let masks_hi = mask_of(_mm512_cvtepu8_epi64(_mm_srli_si128::<8>(
        _mm512_castsi512_si128(widths_lo),
    )));
    // A group's bins, widths and the inclusive prefix sum of its widths: these depend on the
    // bins alone, so they are found one group ahead, off the chain through the bit position.
    let widths_of = |s: &[u16; GROUP]| {
        // SAFETY: `s` is eight u16s, the 16 bytes read.
        let s = unsafe { _mm_loadu_si128(s.as_ptr().cast()) };
        // Each bin's width to the low byte of its 16-bit lane (bin indices are below the bin
        // count, at most 128: the 7 index bits the permutation reads), zero to the high.
        let w = if FEW {
            _mm_maskz_shuffle_epi8(0x5555, _mm512_castsi512_si128(widths_lo), s)
        } else {
            _mm512_castsi512_si128(_mm512_maskz_permutex2var_epi8(
                0x5555,
                widths_lo,
                _mm512_castsi128_si512(s),
                widths_hi,
            ))
        };
        // Inclusive prefix sum of the widths: within each half by a multiplication, then the
        // low half's sum added to the high half's lanes.
        let halves = _mm_mullo_epi64(w, prefix);
        let ends = _mm_add_epi16(halves, _mm_shuffle_epi8(halves, carry));
        (s, w, ends)
    };
    let (out, _) = dst.as_chunks_mut::<GROUP>();
    let (ins, _) = bins_of.as_chunks::<GROUP>();
    let groups = out.len().min(ins.len());
    let Some(first) = ins.first() else {
        return (0, pos);
    };
    let mut next = widths_of(first);
    let mut done = 0usize;
    for (k, o) in out.iter_mut().take(groups).enumerate() {
        // Every offset of the group lies in the 64 bytes from its first (see above).
        let Some(window) = bits.get(pos >> 3..).and_then(<[u8]>::first_chunk::<64>) else {
            break;
        };
        let (s, w, ends) = next;
        if let Some(after) = ins.get(k + 1) {
            next = widths_of(after);
        }
        let at = _mm_add_epi16(_mm_sub_epi16(ends, w), _mm_set1_epi16((pos & 7) as i16));
        let bytes = _mm512_add_epi8(
            _mm512_permutexvar_epi8(spread, _mm512_zextsi128_si512(_mm_srli_epi16::<3>(at))),
            steps,
        );
        // SAFETY: `window` is 64 bytes, the bytes read.
        let window = unsafe { _mm512_loadu_si512(window.as_ptr().cast()) };
        let words = _mm512_srlv_epi64(
            _mm512_permutexvar_epi8(bytes, window),
            _mm512_cvtepu16_epi64(_mm_and_si128(at, seven)),
        );
        let s = _mm512_cvtepu16_epi64(s);
        let (base, mask) = if FEW {
            // Bin indices are below the bin count, at most 16: the 4 index bits read.
            (
                _mm512_permutex2var_epi64(bases_lo, s, bases_hi),
                _mm512_permutex2var_epi64(masks_lo, s, masks_hi),
            )
        } else {
            // SAFETY: every index is masked to below MAX_BINS, the table's length, and scaled
            // by the size of a base.
            let base =
                unsafe { _mm512_i64gather_epi64::<8>(_mm512_and_si512(s, bin_mask), bases.cast()) };
            (base, mask_of(_mm512_cvtepu16_epi64(w)))
        };
        let values = _mm512_add_epi64(base, _mm512_and_si512(words, mask));
        // SAFETY: `o` is eight u64s, the 64 bytes written.
        unsafe { _mm512_storeu_si512(o.as_mut_ptr().cast(), values) };
        pos += _mm_extract_epi16::<7>(ends) as usize;
        done += GROUP;
    }
    (done, pos)
}

/// Writes each value's bin base into `dst` (every bin zero bits wide), the bin given by
/// `bins_of`: for at most [`FEW_BINS`] bins, eight at a time by a permutation where the CPU
/// has AVX-512 (a gather for more bins was no faster than a load a value).
fn bin_bases(dst: &mut [u64], bins_of: &[u16], bins: &BinTable<'_>) {
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if bins.len <= FEW_BINS && has_avx512() {
        #[expect(unsafe_code, reason = "calls the AVX-512 copy")]
        // SAFETY: the CPU has AVX-512 (the features the function enables), checked just
        // above; its memory accesses are checked inside it.
        {
            done = unsafe { bin_bases_avx512(dst, bins_of, bins) };
        }
    }
    let dst = dst.get_mut(done..).unwrap_or_default();
    for (o, &s) in dst.iter_mut().zip(bins_of.get(done..).unwrap_or_default()) {
        *o = bins.bases[usize::from(s) & (MAX_BINS - 1)];
    }
}

/// [`bin_bases`] for at most [`FEW_BINS`] bins, eight values to a vector; returns the values
/// written (a multiple of eight).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512vbmi")]
#[expect(
    unsafe_code,
    reason = "AVX-512 loads and stores through pointers of checked slices"
)]
fn bin_bases_avx512(dst: &mut [u64], bins_of: &[u16], bins: &BinTable<'_>) -> usize {
    use std::arch::x86_64::*;
    let bases = bins.bases.as_ptr();
    // SAFETY: the table holds MAX_BINS >= 16 bases: 0..8 and 8..16 are 64 bytes each.
    let (lo, hi) = unsafe {
        (
            _mm512_loadu_si512(bases.cast()),
            _mm512_loadu_si512(bases.add(8).cast()),
        )
    };
    let (out, _) = dst.as_chunks_mut::<GROUP>();
    let (ins, _) = bins_of.as_chunks::<GROUP>();
    for (o, s) in out.iter_mut().zip(ins) {
        // SAFETY: `s` is eight u16s, the 16 bytes read.
        let s = _mm512_cvtepu16_epi64(unsafe { _mm_loadu_si128(s.as_ptr().cast()) });
        // Bin indices are below the bin count, at most 16: the 4 index bits read.
        let base = _mm512_permutex2var_epi64(lo, s, hi);
        // SAFETY: `o` is eight u64s, the 64 bytes written.
        unsafe { _mm512_storeu_si512(o.as_mut_ptr().cast(), base) };
    }
    out.len().min(ins.len()) * GROUP
}

/// Slots of the largest decode table.
const TABLE_SLOTS: usize = 1 << MAX_TABLE_LOG;

/// A node's decode tables and scratch buffers, kept per thread and reused, so that a node
/// fills only its `2^L` slots and `B` bins and allocates nothing once the buffers have grown.
/// The tables are full size, so that a masked slot or bin indexes them without a bounds
/// check.
struct Tables {
    /// The rANS step and bin of every slot (see [`slot`]).
    slots: Box<[u64; TABLE_SLOTS]>,
    /// The vector decoder's slots (see [`slot32`]).
    slots32: Box<[u32; TABLE_SLOTS]>,
    /// Base (reference plus lower bound) of every bin.
    bases: Box<[u64; MAX_BINS]>,
    /// Offset width of every bin (see [`BinTable`]).
    widths: Box<[u8; MAX_BINS]>,
    /// The bin of every value of the node.
    bins_of: Vec<u16>,
    /// The bin table, the rANS words and the offsets, each copied with zero padding.
    table: Vec<u8>,
    words: Vec<u8>,
    offsets: Vec<u8>,
}

impl Tables {
    fn new() -> Self {
        Self {
            slots: Box::new([0; TABLE_SLOTS]),
            slots32: Box::new([0; TABLE_SLOTS]),
            bases: Box::new([0; MAX_BINS]),
            widths: Box::new([0; MAX_BINS]),
            bins_of: Vec::new(),
            table: Vec::new(),
            words: Vec::new(),
            offsets: Vec::new(),
        }
    }
}

thread_local! {
    static TABLES: std::cell::RefCell<Tables> = std::cell::RefCell::new(Tables::new());
}

/// Decodes the fields of a node after its tag and count `n`.
/// `with_lanes`: the node's tag is `0x0f`, whose lane count follows the count.
pub(crate) fn decode_into(
    r: &mut Reader<'_>,
    n: usize,
    with_lanes: bool,
    out: &mut Vec<u64>,
) -> Result<()> {
    let lanes = if with_lanes {
        lane_byte(r.u8()?)?
    } else {
        (LANES, false)
    };
    TABLES.with(|t| match t.try_borrow_mut() {
        Ok(mut tables) => decode_with(r, n, lanes, out, &mut tables, true),
        Err(_) => decode_with(r, n, lanes, out, &mut Tables::new(), true),
    })
}

/// A `0x0f` node's lane count and whether its start states carry offset bytes.
fn lane_byte(b: u8) -> Result<(usize, bool)> {
    let l = usize::from(b & !CARRY_FLAG);
    if !(1..=MAX_LANES).contains(&l) {
        return Err(corrupt(
            "ans",
            format!("{l} lanes (1 to {MAX_LANES} allowed)"),
        ));
    }
    Ok((l, b & CARRY_FLAG != 0))
}

fn decode_with(
    r: &mut Reader<'_>,
    n: usize,
    (lanes, carry): (usize, bool),
    out: &mut Vec<u64>,
    t: &mut Tables,
    allow_vector: bool,
) -> Result<()> {
    let reference = r.u64()?;
    let b = r.count(MAX_BINS)?;
    let log = r.u8()?;
    if b == 0 || log > MAX_TABLE_LOG || b > 1usize << log {
        return Err(corrupt(
            "ans",
            format!("{b} bins do not fit a table of 2^{log} (at most 2^{MAX_TABLE_LOG})"),
        ));
    }
    let (lw, ww, fw) = (r.u8()?, r.u8()?, r.u8()?);
    if lw > 64 || ww > 7 || fw > MAX_TABLE_LOG {
        return Err(corrupt(
            "ans",
            format!("table field widths {lw}/{ww}/{fw} out of range"),
        ));
    }
    // The vector decoder takes nodes of 16 or 32 lanes (64 as two steps of 32) whose bins
    // fit its one-word slots.
    let vector = allow_vector
        && (lanes == 16 || lanes == 32 || lanes == 64)
        && b <= SLOT32_BINS
        && n >= lanes
        && vector::available();
    let table_bytes = (b * usize::from(lw + ww + fw)).div_ceil(8);
    let mut table = BitReader::padded(r.take(table_bytes)?, &mut t.table);
    let mut wide = false;
    let mut zero_width = true;
    let mut lower: Option<u64> = None;
    let mut cum = 0usize;
    let bins = t.bases.iter_mut().zip(t.widths.iter_mut()).take(b);
    for (i, (base, bin_width)) in bins.enumerate() {
        let gap = table.get(lw);
        let width = table.get(ww) as u8;
        let weight = table.get(fw) as usize + 1;
        let l = match lower {
            None => Some(gap),
            Some(q) => q.checked_add(gap).and_then(|x| x.checked_add(1)),
        }
        .ok_or_else(|| corrupt("ans", "bin lower bound overflows"))?;
        lower = Some(l);
        if width > 64 {
            return Err(corrupt("ans", format!("bin width {width} above 64")));
        }
        if vector {
            let Some(range) = t.slots32.get_mut(cum..cum + weight) else {
                return Err(corrupt("ans", format!("weights exceed 2^{log}")));
            };
            for (k, s) in range.iter_mut().enumerate() {
                *s = slot32(weight, k, i);
            }
        } else {
            let Some(range) = t.slots.get_mut(cum..cum + weight) else {
                return Err(corrupt("ans", format!("weights exceed 2^{log}")));
            };
            for (k, s) in range.iter_mut().enumerate() {
                *s = slot(weight, k, i);
            }
        }
        *base = reference.wrapping_add(l);
        *bin_width = width;
        wide |= width > 56;
        zero_width &= width == 0;
        cum += weight;
    }
    if cum != 1 << log {
        return Err(corrupt(
            "ans",
            format!("weights sum to {cum}, table holds 2^{log}"),
        ));
    }
    let nwords = r.count(u32::MAX as usize)?;
    let mut states = [0u32; MAX_LANES];
    let states = states.get_mut(..lanes).unwrap_or_default();
    for s in states.iter_mut() {
        let b = r.take(4)?;
        let mut a = [0u8; 4];
        a.copy_from_slice(b);
        *s = u32::from_le_bytes(a);
        if *s < STATE_LOW {
            return Err(corrupt("ans", format!("state {s} below 2^16")));
        }
    }
    let word_bytes = r.take(nwords.checked_mul(2).ok_or(CodecError::Truncated {
        offset: r.pos(),
        needed: usize::MAX,
    })?)?;
    t.words.clear();
    t.words.extend_from_slice(word_bytes);
    t.words.extend_from_slice(&[0; WORDS_PADDING]);
    let off_len = r.count(u32::MAX as usize)?;
    let offsets = r.take(off_len)?;

    // Two passes: the bin of every value from rANS, then its base plus the offset within the
    // bin. Apart, each loop keeps its state in registers (together, the states and the bit
    // position were spilled to the stack on every value). Offsets are read without a
    // per-value bounds check (reads past the end yield zeros); the bits consumed are checked
    // against the bytes present afterwards.
    t.bins_of.clear();
    t.bins_of.resize(n, 0);
    let p = if vector {
        vector::decode_symbols(log, states, &t.slots32, &t.words, &mut t.bins_of)
    } else if let Ok(four) = <&mut [u32; LANES]>::try_from(&mut *states) {
        let (end, p) = decode_symbols_at(log, *four, &t.slots, &t.words, &mut t.bins_of);
        *four = end;
        p
    } else {
        let log = u32::from(log);
        let entry = |x: u32| {
            let e = t.slots[(x & ((1 << log) - 1)) as usize & (TABLE_SLOTS - 1)];
            (e as u32, u32::from((e >> 32) as u16), (e >> 48) as u16)
        };
        decode_symbols_lanes(log, entry, states, &t.words, 0, &mut t.bins_of)
    };
    // A node whose start states carry offset bytes ends in states of 2^16 plus those bytes;
    // one that does not, in 2^16 itself.
    let ended = |s: &u32| if carry { s >> 16 == 1 } else { *s == STATE_LOW };
    if p != nwords || !states.iter().all(ended) {
        return Err(corrupt(
            "ans",
            "the rANS stream does not end in the start state",
        ));
    }
    let carrying: &[u32] = if carry { states } else { &[] };
    let start = out.len();
    out.resize(start + n, 0);
    let dst = out.get_mut(start..).unwrap_or_default();
    let mut bits = BitReader::padded_carrying(offsets, carrying, &mut t.offsets);
    let bins = BinTable {
        bases: &t.bases,
        widths: &t.widths,
        len: b,
    };
    if zero_width {
        bin_bases(dst, &t.bins_of, &bins);
    } else if wide {
        binned_values::<true>(dst, &t.bins_of, &bins, &mut bits);
    } else {
        binned_values::<false>(dst, &t.bins_of, &bins, &mut bits);
    }
    let off_len = off_len + 2 * carrying.len();
    if bits.pos.div_ceil(8) != off_len {
        return Err(corrupt(
            "ans",
            format!("{off_len} offset bytes, bins need {} bits", bits.pos),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(values: &[u64]) -> usize {
        let mut buf = Vec::new();
        encode(values, &mut buf).unwrap();
        decodes_to(&buf, values);
        buf.len()
    }

    #[test]
    fn histogram_of_any_span_matches_a_sort() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for span in [
            1u64,
            7,
            127,
            128,
            129,
            300,
            COUNTED_SPAN - 1,
            COUNTED_SPAN,
            15_999,
            16_001,
            1 << 20,
            (1 << 22) + 1,
            u64::from(u32::MAX),
            u64::from(u32::MAX) + 2,
            1 << 40,
        ] {
            let values: Vec<u64> = (0..1000)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    50 + x % span
                })
                .collect();
            let reference = values.iter().copied().min().unwrap();
            let mut sorted: Vec<u64> = values.iter().map(|v| v - reference).collect();
            sorted.sort_unstable();
            let mut want: Vec<(u64, u32)> = Vec::new();
            for o in sorted {
                match want.last_mut() {
                    Some((v, c)) if *v == o => *c += 1,
                    _ => want.push((o, 1)),
                }
            }
            let span = values.iter().max().unwrap() - reference;
            assert_eq!(histogram(&values, reference, span), want, "span {span}");
        }
    }

    #[test]
    fn quantize_sums_to_table_size_with_every_weight_positive() {
        for (counts, log) in [
            (vec![1000u32, 1, 1, 1], 2u8),
            (vec![1, 1, 1, 1, 1], 3),
            (vec![7; 100], 7),
            (vec![3000, 20, 5, 1, 1, 1, 1], 12),
            ((1..=256).collect(), 8),
            (
                (0..300).map(|i| if i % 7 == 0 { 900 } else { 1 }).collect(),
                9,
            ),
        ] {
            let total: u64 = counts.iter().map(|&c| u64::from(c)).sum();
            let w = quantize(&counts, total, log);
            assert_eq!(w.iter().map(|&x| u64::from(x)).sum::<u64>(), 1 << log);
            assert!(w.iter().all(|&x| x >= 1), "{w:?}");
        }
    }

    #[test]
    fn skewed_codes_round_trip_and_beat_their_bit_width() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let values: Vec<u64> = (0..1024)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Geometric-ish over 0..229: mostly small codes.
                (x % 229).min(u64::from(x.trailing_zeros()) * 9 + (x >> 60))
            })
            .collect();
        let size = round_trip(&values);
        assert!(size < 1024, "{size} bytes, 8-bit packing takes 1024");
        let estimate = plan(&values).unwrap().bytes;
        assert!(
            estimate.abs_diff(size) * 10 < size,
            "estimate {estimate}, actual {size}"
        );
    }

    fn decodes_to(buf: &[u8], values: &[u64]) {
        let mut r = Reader::new(buf);
        let t = r.u8().unwrap();
        assert!(t == tag::ANS || t == tag::ANS_LANES, "tag {t}");
        let n = r.count(usize::MAX).unwrap();
        let mut out = Vec::new();
        decode_into(&mut r, n, t == tag::ANS_LANES, &mut out).unwrap();
        assert_eq!(r.remaining(), 0);
        assert_eq!(out, values);
    }

    #[test]
    fn following_another_nodes_bins_round_trips_and_its_own_gives_the_same_plan() {
        let skewed = |seed: u64, base: u64, len: usize| -> Vec<u64> {
            let mut x = seed;
            (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    base + (x % 5000).min(u64::from(x.trailing_zeros()) * 40 + (x >> 59))
                })
                .collect()
        };
        let first = skewed(0x2545_f491_4f6c_dd1d, 1000, 1024);
        let p = plan(&first).unwrap();
        let lowers = p.lowers();
        // Its own bins: the same bins, weights and size.
        let again = plan_following(&first, &lowers).unwrap();
        assert_eq!(again.weights, p.weights);
        assert_eq!(again.table_log, p.table_log);
        assert_eq!(again.bytes, p.bytes);
        // Values below, between and above the first node's bins, and a constant block.
        for next in [
            skewed(7, 0, 1000),
            skewed(11, 900, 700),
            skewed(13, 1_000_000, 64),
            vec![3; 100],
            vec![u64::MAX, 0, 5],
        ] {
            let q = plan_following(&next, &lowers).unwrap();
            let mut buf = Vec::new();
            encode_planned(&next, &q, &mut buf).unwrap();
            decodes_to(&buf, &next);
        }
        assert!(plan_following(&[], &lowers).is_none());
        assert!(plan_following(&first, &[]).is_none());
    }

    #[test]
    fn following_bins_by_table_match_a_binary_search() {
        let mut next = crate::xorshift(0x9e37_79b9_7f4a_7c15);
        let lowers: Vec<u64> = vec![100, 103, 150, 151, 400, 2000];
        for (base, span) in [
            (0u64, 300u64),
            (90, 500),
            (140, 4000),
            (390, 20),
            (2500, 100),
        ] {
            let values: Vec<u64> = (0..1000).map(|_| base + next() % span).collect();
            let p = plan_following(&values, &lowers).unwrap();
            // The oracle: each value's bin by binary search, empty bins dropped.
            let mut want = vec![(u64::MAX, 0u64, 0u32); lowers.len()];
            for &v in &values {
                let k = lowers.partition_point(|&l| l <= v).saturating_sub(1);
                let b = &mut want[k];
                *b = (b.0.min(v), b.1.max(v), b.2 + 1);
            }
            let want: Vec<(u64, u64, u32)> = want.into_iter().filter(|b| b.2 > 0).collect();
            let got: Vec<(u64, u64, u32)> = p
                .bins
                .iter()
                .map(|b| (b.lower + p.reference, b.upper + p.reference, b.count))
                .collect();
            assert_eq!(got, want, "base {base} span {span}");
        }
    }

    #[test]
    fn reciprocal_division_is_exact_for_every_weight_and_state() {
        let mut next = crate::xorshift(0x2545_f491_4f6c_dd1d);
        for f in 1..=(1u64 << MAX_TABLE_LOG) {
            let reciprocal = (1u64 << RECIPROCAL_SHIFT).div_ceil(f);
            let top = (1u64 << 32) - 1;
            let edges = [0, 1, f - 1, f, f + 1, top, top - top % f, top - top % f - 1];
            for x in edges.into_iter().chain((0..64).map(|_| next() >> 32)) {
                let q = ((u128::from(x) * u128::from(reciprocal)) >> RECIPROCAL_SHIFT) as u64;
                assert_eq!(q, x / f, "x {x} f {f}");
            }
        }
    }

    /// Decodes a node (tag included) with the vector decoder allowed or not.
    fn decode_node(buf: &[u8], allow_vector: bool) -> Result<Vec<u64>> {
        let mut r = Reader::new(buf);
        let t = r.u8()?;
        let n = r.count(usize::MAX)?;
        let lanes = if t == tag::ANS_LANES {
            lane_byte(r.u8()?)?
        } else {
            (LANES, false)
        };
        let mut out = Vec::new();
        decode_with(&mut r, n, lanes, &mut out, &mut Tables::new(), allow_vector)?;
        Ok(out)
    }

    /// Skewed values over `alphabet`, with wide outliers when `wide`.
    fn skewed_values(seed: u64, len: usize, alphabet: u64, wide: bool) -> Vec<u64> {
        let mut next = crate::xorshift(seed);
        (0..len)
            .map(|_| {
                let x = next();
                let v = (x % alphabet).min(u64::from(x.trailing_zeros()) * 3 + (x >> 62));
                if wide && x.is_multiple_of(97) {
                    v + (x >> 20)
                } else {
                    v
                }
            })
            .collect()
    }

    proptest::proptest! {
        /// Any lane count, with the start states carrying offset bytes or not (a node whose
        /// offsets are shorter than two bytes a lane carries none), round-trips on both
        /// decoders; the node carries exactly when its offsets have the bytes.
        #[test]
        fn any_lane_count_round_trips_carrying_or_not(
            len in 1usize..3000,
            alphabet in 2u64..400,
            wide in any::<bool>(),
            seed in any::<u64>(),
            lanes in 1usize..=MAX_LANES,
        ) {
            let values = skewed_values(seed, len, alphabet, wide);
            let mut p = plan(&values).unwrap();
            p.lanes = lanes;
            let mut buf = Vec::new();
            encode_planned(&values, &p, &mut buf).unwrap();
            let offset_bits: u64 = p.bins.iter().map(|b| u64::from(b.count) * u64::from(b.width())).sum();
            let carries = offset_bits.div_ceil(8) >= 2 * lanes as u64;
            let mut r = Reader::new(&buf);
            let t = r.u8().unwrap();
            r.count(usize::MAX).unwrap();
            let (got_lanes, got_carry) = if t == tag::ANS_LANES {
                lane_byte(r.u8().unwrap()).unwrap()
            } else {
                (LANES, false)
            };
            proptest::prop_assert_eq!((got_lanes, got_carry), (lanes, carries));
            for allow_vector in [true, false] {
                proptest::prop_assert_eq!(&decode_node(&buf, allow_vector).unwrap(), &values);
            }
        }
    }

    #[test]
    fn every_lane_count_round_trips_with_and_without_the_vector_decoder() {
        for (len, alphabet, wide) in [
            (4096usize, 200u64, true),
            (4096, 12, false),
            (1000, 60, true),
            (33, 5, false),
            (16, 3, false),
            (100_000, 250, true),
            (5000, 300, false),
        ] {
            let values = skewed_values(len as u64 * 31 + alphabet, len, alphabet, wide);
            let mut p = plan(&values).unwrap();
            for lanes in [1usize, 4, 5, 16, 32, 64] {
                p.lanes = lanes;
                let mut buf = Vec::new();
                encode_planned(&values, &p, &mut buf).unwrap();
                // Four lanes keep tag 0x0b unless their start states carry offset bytes.
                assert!(buf[0] == tag::ANS_LANES || (lanes == LANES && buf[0] == tag::ANS));
                for allow_vector in [true, false] {
                    let got = decode_node(&buf, allow_vector).unwrap();
                    assert!(
                        got == values,
                        "len {len} alphabet {alphabet} lanes {lanes} vector {allow_vector}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_vector_decoder_fails_or_decodes_a_corrupt_node_as_the_scalar_one_does() {
        let values = skewed_values(77, 4096, 200, true);
        let mut p = plan(&values).unwrap();
        let mut next = crate::xorshift(0x1234_5678_9abc_def1);
        for lanes in [16usize, 32, 64] {
            p.lanes = lanes;
            let mut buf = Vec::new();
            encode_planned(&values, &p, &mut buf).unwrap();
            let mut errors = 0;
            for _ in 0..300 {
                let mut bad = buf.clone();
                for _ in 0..1 + next() % 3 {
                    let at = (next() as usize) % bad.len();
                    bad[at] ^= 1 << (next() % 8);
                }
                let (v, s) = (decode_node(&bad, true), decode_node(&bad, false));
                match (&v, &s) {
                    (Ok(a), Ok(b)) => assert_eq!(a, b, "lanes {lanes}"),
                    (Err(_), Err(_)) => errors += 1,
                    _ => panic!("lanes {lanes}: vector {v:?} scalar {s:?}"),
                }
            }
            assert!(
                errors > 100,
                "lanes {lanes}: {errors} of 300 corruptions detected"
            );
            // Every truncation fails on both.
            for cut in 0..buf.len() {
                assert!(decode_node(&buf[..cut], true).is_err());
            }
        }
    }

    #[test]
    fn large_nodes_take_more_lanes_and_small_ones_four() {
        let mut next = crate::xorshift(5);
        // Values spread over 240 with wide bins: offsets long enough for the lanes to carry
        // their bytes, so 16 lanes pay from about 480 bytes and 32 from 1.1 KB.
        let triangular: Vec<u64> = (0..4096)
            .map(|_| {
                let x = next();
                x % 120 + (x >> 32) % 120
            })
            .collect();
        // Ten skewed symbols, each its own zero-width bin: no offsets, nothing carried, so 16
        // lanes pay from about 1.4 KB and 32 from 3.4 KB.
        let symbols: Vec<u64> = (0..16_000)
            .map(|_| u64::from((next() | 1 << 40).trailing_zeros().min(9)))
            .collect();
        let lanes = |v: &[u64]| plan(v).unwrap().lanes;
        assert_eq!(lanes(&triangular), 32);
        assert_eq!(lanes(&triangular[..700]), 16);
        assert_eq!(lanes(&triangular[..300]), LANES);
        assert_eq!(lanes(&symbols), 32);
        assert_eq!(lanes(&symbols[..8000]), 16);
        assert_eq!(lanes(&symbols[..4000]), LANES);
        assert_eq!(lanes(&skewed_values(2, 200, 12, false)), LANES);
    }

    /// A node's bins for the second pass: `count` bins with random bases and widths of at
    /// most `max_width` bits, drawn from `seed`.
    fn bin_tables(count: usize, max_width: u32, seed: u64) -> (Vec<u64>, Vec<u8>) {
        let mut next = crate::xorshift(seed | 1);
        let mut bases = vec![0u64; MAX_BINS];
        let mut widths = vec![0u8; MAX_BINS];
        for (b, w) in bases.iter_mut().zip(&mut widths).take(count) {
            *b = next();
            *w = (next() % u64::from(max_width + 1)) as u8;
        }
        (bases, widths)
    }

    /// The second pass one bit at a time: each value's base plus its offset's bits, LSB-first
    /// from bit `pos` of `stream`, zeros past its end. Returns the values and the end position.
    fn binned_by_bits(
        bins_of: &[u16],
        bases: &[u64],
        widths: &[u8],
        stream: &[u8],
        mut pos: usize,
    ) -> (Vec<u64>, usize) {
        let bit = |i: usize| {
            stream
                .get(i / 8)
                .map_or(0, |&b| u64::from(b >> (i % 8) & 1))
        };
        let values = bins_of
            .iter()
            .map(|&s| {
                let s = usize::from(s);
                let offset = (0..widths[s] as usize).fold(0, |o, j| o | bit(pos + j) << j);
                pos += widths[s] as usize;
                bases[s].wrapping_add(offset)
            })
            .collect();
        (values, pos)
    }

    proptest::proptest! {
        /// The second pass as dispatched (AVX-512 where the CPU has it) and the scalar pass both
        /// match a bit-by-bit oracle, for streams long enough and too short: the same values
        /// and the same end position, so the caller's bit count check fails alike.
        #[test]
        fn binned_values_match_the_scalar_pass_and_a_bit_by_bit_oracle(
            count in proptest::prop_oneof![1..=FEW_BINS, FEW_BINS + 1..=VECTOR_BINS, 1..=MAX_BINS],
            max_width in proptest::prop_oneof![Just(0u32), Just(56u32), 0u32..=56],
            seed in any::<u64>(),
            picks in proptest::collection::vec(any::<u16>(), 0..300),
            // Percent of the bytes the offsets need.
            present in 0usize..=110,
            start in 0usize..12,
        ) {
            let (bases, widths) = bin_tables(count, max_width, seed);
            let bins_of: Vec<u16> = picks.iter().map(|&p| p % count as u16).collect();
            let needed: usize = bins_of.iter().map(|&s| widths[usize::from(s)] as usize).sum();
            let mut next = crate::xorshift(seed ^ 0x9e37_79b9_7f4a_7c15 | 1);
            let len = (start + needed).div_ceil(8) * present / 100;
            let stream: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let (want, want_pos) = binned_by_bits(&bins_of, &bases, &widths, &stream, start);

            let table = BinTable {
                bases: bases.as_slice().try_into().unwrap(),
                widths: widths.as_slice().try_into().unwrap(),
                len: count,
            };
            let mut scratch = Vec::new();
            for vector in [true, false] {
                let mut reader = BitReader::padded(&stream, &mut scratch);
                reader.pos = start;
                let mut got = vec![0u64; bins_of.len()];
                if vector {
                    binned_values::<false>(&mut got, &bins_of, &table, &mut reader);
                } else {
                    binned_values_from::<false>(&mut got, &bins_of, &table, &mut reader);
                }
                proptest::prop_assert_eq!(&got, &want, "vector {}", vector);
                proptest::prop_assert_eq!(reader.pos, want_pos, "vector {}", vector);
            }
            let mut got = vec![0u64; bins_of.len()];
            bin_bases(&mut got, &bins_of, &table);
            let bases_only: Vec<u64> = bins_of.iter().map(|&s| bases[usize::from(s)]).collect();
            proptest::prop_assert_eq!(got, bases_only);
        }
    }

    #[test]
    fn vector_second_pass_is_tested_where_the_cpu_has_it() {
        #[cfg(target_arch = "x86_64")]
        let vector = has_avx512();
        #[cfg(not(target_arch = "x86_64"))]
        let vector = false;
        if !vector {
            println!(
                "no AVX-512 here: the second pass's property test compares scalar with scalar"
            );
        }
    }

    /// A node with bins of several widths whose offset stream is cut short or runs long (its
    /// length field rewritten to match) is rejected, however many bytes are missing or extra.
    #[test]
    fn offset_streams_of_the_wrong_length_are_rejected() {
        let mut next = crate::xorshift(0x2545_f491_4f6c_dd1d);
        let values: Vec<u64> = (0..1000)
            .map(|_| {
                let r = next();
                1000 + match r % 100 {
                    0..=4 => r >> 40,
                    5..=30 => (r >> 20) % 5000,
                    _ => (r >> 20) % 40,
                }
            })
            .collect();
        let mut buf = Vec::new();
        // Four lanes, the layout walked below.
        let mut p = plan(&values).unwrap();
        p.lanes = LANES;
        let detail = encode_planned(&values, &p, &mut buf).unwrap();
        decodes_to(&buf, &values);
        // Walk the node's fields (see the layout at the top) to its offsets, which end it.
        let mut r = Reader::new(&buf);
        let t = r.u8().unwrap();
        r.count(usize::MAX).unwrap();
        if t == tag::ANS_LANES {
            // The lane byte: four lanes whose start states carry offset bytes.
            assert_eq!(lane_byte(r.u8().unwrap()).unwrap(), (LANES, true));
        }
        r.u64().unwrap();
        let b = r.count(MAX_BINS).unwrap();
        r.u8().unwrap();
        let fields: usize = (0..3).map(|_| usize::from(r.u8().unwrap())).sum();
        r.take((b * fields).div_ceil(8)).unwrap();
        let words = r.count(usize::MAX).unwrap();
        r.take(4 * LANES + 2 * words).unwrap();
        let head = &buf[..r.pos()];
        let len = r.count(usize::MAX).unwrap();
        let offsets = r.take(len).unwrap();
        assert_eq!(r.remaining(), 0);
        assert!(len > 200, "{detail}: {len} offset bytes");
        for cut in [1usize, 2, 7, 8, 9, 63, 64, 65, 200, len] {
            for longer in [false, true] {
                let mut bad = head.to_vec();
                let body: Vec<u8> = if longer {
                    offsets.iter().chain(&vec![0xa5u8; cut]).copied().collect()
                } else {
                    offsets[..len - cut].to_vec()
                };
                bad.put_len(body.len());
                bad.extend_from_slice(&body);
                let mut r = Reader::new(&bad);
                r.u8().unwrap();
                let n = r.count(usize::MAX).unwrap();
                let mut out = Vec::new();
                assert!(
                    decode_into(&mut r, n, false, &mut out).is_err(),
                    "{cut} bytes {}",
                    if longer { "extra" } else { "missing" }
                );
            }
        }
    }

    #[test]
    fn edge_inputs_round_trip() {
        round_trip(&[5]);
        round_trip(&[u64::MAX, 0, u64::MAX, 1]);
        round_trip(
            &(0..1000u64)
                .map(|i| i.wrapping_mul(0x0123_4567_89ab_cdef))
                .collect::<Vec<u64>>(),
        );
        round_trip(&(0..3000u64).map(|i| i % 7).collect::<Vec<_>>());
        round_trip(&[9; 33]);
    }

    /// FNV-1a, 64 bits: a hash that stays the same across toolchains.
    fn fnv(h: &mut u64, bytes: &[u8]) {
        for &b in bytes {
            *h ^= u64::from(b);
            *h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// Many inputs of the shapes the leaf sees: skewed small alphabets, wide log-uniform
    /// values, runs, deltas of a noisy series, constants, lengths 1..=10,000.
    fn varied_inputs() -> Vec<Vec<u64>> {
        let mut next = crate::xorshift(0x5851_f42d_4c95_7f2d);
        let mut inputs = Vec::new();
        let lengths = [
            1usize, 2, 3, 5, 17, 64, 100, 255, 1000, 1024, 2048, 3000, 4096, 10_000,
        ];
        for (k, &len) in lengths.iter().enumerate() {
            for shape in 0..9 {
                let base = if k % 3 == 0 {
                    0
                } else {
                    next() >> (next() % 64)
                };
                let mut x = 0u64;
                let values: Vec<u64> = (0..len)
                    .map(|i| {
                        let r = next();
                        let v = match shape {
                            // Skewed small alphabets of 2..=40 symbols.
                            0 => (r % (2 + k as u64 * 3)).min(u64::from(r.trailing_zeros())),
                            1 => u64::from((r | 1 << 40).trailing_zeros().min(7)) * 3,
                            // Log-uniform over 64 bits.
                            2 => r >> (r % 64),
                            // Log-uniform over 20 bits, with an outlier now and then.
                            3 => {
                                (r >> 44 >> (r % 20))
                                    + if r.is_multiple_of(101) { r >> 3 } else { 0 }
                            }
                            // Runs.
                            4 => {
                                if r.is_multiple_of(16) {
                                    x = r % 50;
                                }
                                x
                            }
                            // Zigzag deltas of a noisy series.
                            5 => {
                                let d = (r % 41) as i64 - 20 + ((r >> 40) % 3) as i64 * 7;
                                ((d << 1) ^ (d >> 63)) as u64
                            }
                            // Uniform over a few thousand (counting histogram and beyond).
                            6 => r % (1000 + 800 * k as u64),
                            // Squares: dense low, sparse high.
                            7 => {
                                let q = r % 1000;
                                q * q / 50
                            }
                            // Periodic.
                            _ => (i as u64 % 24) * 10 + r % 2,
                        };
                        base.wrapping_add(v)
                    })
                    .collect();
                inputs.push(values);
            }
        }
        inputs.push(vec![7; 5000]);
        inputs.push(vec![u64::MAX, 0, u64::MAX, 1]);
        inputs
    }

    /// The hash of every plan (bins, weights, log, lanes, size) and encoded node the planner
    /// and encoder make of [`varied_inputs`]: pinned, so that work on the encoder's speed
    /// cannot change a byte it writes.
    #[test]
    fn plans_and_encodings_of_varied_inputs_hash_to_the_pinned_value() {
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        let mut prev_lowers: Vec<u64> = vec![0, 3, 10, 1000, 1 << 20];
        for values in varied_inputs() {
            let plans = [
                plan(&values),
                estimate(&values, min_max(&values), usize::MAX),
                plan_below(&values, min_max(&values), values.len() / 2 + 40),
                plan_following(&values, &prev_lowers),
            ];
            for p in plans {
                fnv(&mut h, format!("{p:?}").as_bytes());
                if let Some(p) = p {
                    let mut buf = Vec::new();
                    let detail = encode_planned(&values, &p, &mut buf).unwrap();
                    fnv(&mut h, detail.as_bytes());
                    fnv(&mut h, &buf);
                }
            }
            if let Some(p) = plan(&values) {
                prev_lowers = p.lowers();
            }
        }
        assert_eq!(h, 0xe7c1_142a_3184_75d7, "hash {h:#018x}");
    }

    /// The table log choice as it was first written: every log from the least to the most
    /// quantised in full. The oracle of [`choose_weights`]'s bounds.
    fn choose_weights_reference(bins: &[Bin], n: usize) -> (u8, Vec<u32>, f32) {
        let counts: Vec<u32> = bins.iter().map(|b| b.count).collect();
        if counts.len() <= 1 {
            return (0, vec![1], 0.0);
        }
        let min_log = ceil_log2(counts.len());
        let max_log = MAX_TABLE_LOG.min(ceil_log2(n) + 1).max(min_log);
        let mut best: Option<(u8, Vec<u32>, f32)> = None;
        for log in min_log..=max_log {
            let w = quantize(&counts, n as u64, log);
            let max_w = w.iter().copied().max().unwrap_or(1);
            let mut bits = (counts.len() * usize::from(width_of(u64::from(max_w - 1)))) as f32;
            for (&c, &wi) in counts.iter().zip(&w) {
                bits += c as f32 * (f32::from(log) - log2_count(wi));
            }
            bits += (1u32 << log) as f32 / 16.0;
            if best.as_ref().is_none_or(|b| bits < b.2) {
                best = Some((log, w, bits));
            }
        }
        best.unwrap_or((0, vec![1], 0.0))
    }

    /// Counts of bins shaped like the planner's: skewed, flat, a few heavy among many light.
    fn bin_counts() -> impl Strategy<Value = Vec<u32>> {
        prop_oneof![
            proptest::collection::vec(1u32..5000, 1..300),
            proptest::collection::vec(1u32..4, 1..4097),
            (1usize..200, 0u32..12, 1u32..100_000).prop_map(|(b, k, top)| {
                (0..b as u32)
                    .map(|i| (top >> (i % (k + 1)).min(31)).max(1))
                    .collect()
            }),
            proptest::collection::vec((0u32..20).prop_map(|e| 1 + (1u32 << e) / 7), 1..600),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        #[test]
        fn choose_weights_equals_quantising_every_table_log(counts in bin_counts()) {
            let bins: Vec<Bin> = counts
                .iter()
                .map(|&count| Bin { lower: 0, upper: 0, count })
                .collect();
            let n = counts.iter().map(|&c| c as usize).sum();
            let (log, w, bits) = choose_weights(&bins, n);
            let (want_log, want_w, want_bits) = choose_weights_reference(&bins, n);
            proptest::prop_assert_eq!(log, want_log);
            proptest::prop_assert_eq!(w, want_w);
            proptest::prop_assert_eq!(bits.to_bits(), want_bits.to_bits());
        }
    }

    #[test]
    fn log2_table_increases_with_the_count() {
        let t = log2_table();
        assert!(t[1..].windows(2).all(|p| p[0] < p[1]));
    }

    /// The offsets as first written: one [`BitWriter::put`] a value.
    fn pack_offsets_reference(
        values: &[u64],
        syms: &[u16],
        reference: u64,
        bins: &[(u64, u8)],
    ) -> Vec<u8> {
        let mut offsets = BitWriter::default();
        for (&v, &s) in values.iter().zip(syms) {
            let (lower, width) = bins[usize::from(s)];
            offsets.put(v.wrapping_sub(reference).wrapping_sub(lower), width);
        }
        offsets.finish()
    }

    /// The rANS encoder as first written: values backwards, lane `i % lanes`, each word pushed
    /// as it is shed, then reversed.
    fn rans_words_reference(
        syms: &[u16],
        coders: &[Coder],
        log: u32,
        lanes: usize,
    ) -> (Vec<u8>, Vec<u64>) {
        let mut states = vec![u64::from(STATE_LOW); lanes];
        let mut words: Vec<u16> = Vec::new();
        for (i, &s) in syms.iter().enumerate().rev() {
            let x = &mut states[i % lanes];
            let c = coders[usize::from(s)];
            let f = (1u64 << log) - c.complement;
            if *x >= f << (32 - log) {
                words.push(*x as u16);
                *x >>= 16;
            }
            let q = ((u128::from(*x) * u128::from(c.reciprocal)) >> RECIPROCAL_SHIFT) as u64;
            let r = *x - q * f;
            *x = (q << log) + r + c.start;
        }
        words.reverse();
        (words.iter().flat_map(|w| w.to_le_bytes()).collect(), states)
    }

    /// Bins of random widths (0..=64) over random lower bounds, values inside them.
    /// A reference, bins (lower bound, width), each value's bin and the values.
    type Binned = (u64, Vec<(u64, u8)>, Vec<u16>, Vec<u64>);

    fn binned_inputs() -> impl Strategy<Value = Binned> {
        (
            any::<u64>(),
            proptest::collection::vec((any::<u64>(), prop_oneof![0u8..=8, 0u8..=64]), 1..40),
            proptest::collection::vec(any::<u64>(), 0..600),
        )
            .prop_map(|(reference, bins, picks)| {
                let syms: Vec<u16> = picks
                    .iter()
                    .map(|&r| (r % bins.len() as u64) as u16)
                    .collect();
                let values = syms
                    .iter()
                    .zip(&picks)
                    .map(|(&s, &r)| {
                        let (lower, width) = bins[usize::from(s)];
                        let o = (r >> 7) & u64::MAX.checked_shr(64 - u32::from(width)).unwrap_or(0);
                        reference.wrapping_add(lower).wrapping_add(o)
                    })
                    .collect();
                (reference, bins, syms, values)
            })
    }

    /// Quantised weights of a random histogram, symbols drawn from it, and a lane count.
    fn coded_symbols() -> impl Strategy<Value = (u8, Vec<u32>, Vec<u16>, usize)> {
        (
            proptest::collection::vec(1u32..1000, 1..64),
            proptest::collection::vec(any::<u32>(), 0..3000),
            prop_oneof![Just(1usize), Just(4), Just(5), Just(16), Just(32), Just(64)],
        )
            .prop_map(|(counts, picks, lanes)| {
                let n: u32 = counts.iter().sum();
                let log = ceil_log2(counts.len()).max(MAX_TABLE_LOG.min(ceil_log2(n as usize) + 1));
                let weights = quantize(&counts, u64::from(n), log);
                let syms = picks
                    .iter()
                    .map(|&r| (r as usize % counts.len()) as u16)
                    .collect();
                (log, weights, syms, lanes)
            })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1000))]

        #[test]
        fn offsets_pack_as_one_bit_writer_put_a_value((reference, bins, syms, values) in binned_inputs()) {
            proptest::prop_assert_eq!(
                pack_offsets(&values, &syms, reference, &bins),
                pack_offsets_reference(&values, &syms, reference, &bins)
            );
        }

        #[test]
        fn rans_words_by_lane_chunks_equal_the_scalar_loop((log, weights, syms, lanes) in coded_symbols()) {
            let log = u32::from(log);
            let mut start = 0;
            let coders: Vec<Coder> = weights
                .iter()
                .map(|&w| {
                    let c = Coder::new(w, start, log);
                    start += w;
                    c
                })
                .collect();
            let mut states = vec![u64::from(STATE_LOW); lanes];
            let (words, n) = rans_words(&syms, &coders, &mut states);
            let (want_words, want_states) = rans_words_reference(&syms, &coders, log, lanes);
            proptest::prop_assert_eq!(n * 2, words.len());
            proptest::prop_assert_eq!(words, want_words);
            proptest::prop_assert_eq!(states, want_states);
        }
    }
}

//! Float encodings: ALP, ALP-RD and Gorilla, plus every integer scheme applied to the bit
//! patterns (constant, dictionary, run-length …). Every scheme is bit-exact: NaN payloads, -0.0
//! and infinities come back as they went in, because ALP checks each value's round trip and
//! stores the ones that fail as exceptions.

use crate::bitpack::width_of;
use crate::cascade::{Cascade, Scheme};
use crate::error::{Result, corrupt};
use crate::int::{self, Ctx, flip_i64, unflip_i64};
use crate::io::{PutLe, Reader};
use crate::sample::{sample, spread};
use crate::{Limits, Profile};

pub(crate) mod tag {
    pub(crate) const ALP: u8 = 0x21;
    pub(crate) const ALP_RD: u8 = 0x22;
    pub(crate) const GORILLA: u8 = 0x23;
}

const MAX_EXPONENT: usize = 18;

/// 10^i, exact in f64 for every i used here (powers of ten are exact up to 10^22).
const F10: [f64; MAX_EXPONENT + 1] = [
    1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18,
];

/// Magnitudes at or above this do not round exactly with the magic-number trick.
const ROUND_LIMIT: f64 = 4_503_599_627_370_496.0; // 2^52
const MAGIC: f64 = 6_755_399_441_055_744.0; // 2^52 + 2^51

/// ALP's exponent `e` and factor `f`: a value is `digits × 10^f ÷ 10^e`.
///
/// Unlike the ALP paper, which multiplies by an inexact 10^-e to avoid a division, this scales
/// by one exact power of ten: `digits ÷ 10^(e-f)` is a single correctly rounded IEEE division,
/// so every decimal with at most `e - f` fraction digits (and fewer than 16 significant digits)
/// round-trips, and exceptions are left to values that are not short decimals at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AlpExp {
    e: usize,
    f: usize,
}

impl AlpExp {
    #[inline(always)]
    fn digits(self, v: f64) -> Option<i64> {
        let x = if self.e >= self.f {
            v * F10[self.e - self.f]
        } else {
            v / F10[self.f - self.e]
        };
        if x.abs() < ROUND_LIMIT {
            Some(((x + MAGIC) - MAGIC) as i64)
        } else {
            None
        }
    }

    #[inline(always)]
    fn value(self, d: i64) -> f64 {
        if self.e >= self.f {
            d as f64 / F10[self.e - self.f]
        } else {
            d as f64 * F10[self.f - self.e]
        }
    }

    #[inline(always)]
    fn exact(self, v: f64) -> Option<i64> {
        self.digits(v)
            .filter(|&d| self.value(d).to_bits() == v.to_bits())
    }

    /// Every (e, f) pair with a distinct scale, from 10^18 down to 10^-18.
    fn candidates() -> impl Iterator<Item = AlpExp> {
        (0..=MAX_EXPONENT)
            .rev()
            .map(|e| AlpExp { e, f: 0 })
            .chain((1..=MAX_EXPONENT).map(|f| AlpExp { e: 0, f }))
    }
}

/// Chooses the scale on a small sample: fewest bits plus exception cost.
fn alp_params(values: &[f64]) -> AlpExp {
    const SAMPLES: usize = 32;
    let step = (values.len() / SAMPLES).max(1);
    let probe: Vec<f64> = spread(values.len(), step)
        .take(SAMPLES)
        .map(|i| values[i])
        .collect();
    let mut best = (AlpExp { e: 0, f: 0 }, usize::MAX);
    let mut digits = Vec::with_capacity(probe.len());
    let mut lanes = Vec::with_capacity(probe.len());
    for exp in AlpExp::candidates() {
        digits.clear();
        lanes.clear();
        exact_lanes(&probe, exp, &mut digits, &mut lanes);
        let mut exceptions = 0usize;
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for ((&v, &lane), &d) in probe.iter().zip(&lanes).zip(&digits) {
            match lane_digits(lane, d, v, exp) {
                Some(d) => {
                    lo = lo.min(d);
                    hi = hi.max(d);
                }
                None => exceptions += 1,
            }
        }
        let width = if lo > hi {
            0
        } else {
            usize::from(width_of(hi.wrapping_sub(lo) as u64))
        };
        let cost = probe.len() * width + exceptions * 80;
        if cost < best.1 {
            best = (exp, cost);
        }
    }
    best.0
}

struct AlpParts {
    exp: AlpExp,
    digits: Vec<u64>,
    positions: Vec<u64>,
    exceptions: Vec<u64>,
}

fn alp_split(values: &[f64]) -> AlpParts {
    alp_split_with(values, alp_params(values))
}

/// A value's digits round-trip (see [`exact_lanes`]).
const LANE_EXACT: u8 = 1;
/// A value's digits are too large for the vector check; [`AlpExp::exact`] decides.
const LANE_UNSURE: u8 = 2;

/// For every value, its flipped digits under `exp` (meaningful only where they round-trip)
/// and whether they do: [`AlpExp::exact`] without branches, so that the loop vectorises (its
/// division is most of a float block's encoding time). Where `|x| < 2^51` (`x` the scaled
/// value), `(x + MAGIC) - MAGIC` is the integer `exact` rounds to and the bits of `x + MAGIC`
/// minus those of `MAGIC` are that integer, so the check is `exact`'s, bit for bit. Larger
/// `|x|` below `2^52` is marked [`LANE_UNSURE`] for the scalar check; above, no lane is exact,
/// as in `exact`.
fn exact_lanes(values: &[f64], exp: AlpExp, digits: &mut Vec<u64>, lanes: &mut Vec<u8>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        #[expect(unsafe_code, reason = "calls a function compiled for AVX2")]
        // SAFETY: the CPU has AVX2, checked just above; the function is otherwise safe.
        unsafe {
            exact_lanes_avx2(values, exp, digits, lanes);
        }
        return;
    }
    exact_lanes_baseline(values, exp, digits, lanes);
}

/// [`exact_lanes_baseline`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn exact_lanes_avx2(values: &[f64], exp: AlpExp, digits: &mut Vec<u64>, lanes: &mut Vec<u8>) {
    exact_lanes_baseline(values, exp, digits, lanes);
}

#[inline(always)]
fn exact_lanes_baseline(values: &[f64], exp: AlpExp, digits: &mut Vec<u64>, lanes: &mut Vec<u8>) {
    const FAST_LIMIT: f64 = ROUND_LIMIT / 2.0;
    let magic_bits = MAGIC.to_bits();
    let lane = |v: f64, x: f64, back: f64| {
        let a = x.abs();
        u8::from(a < FAST_LIMIT && back.to_bits() == v.to_bits())
            | (u8::from((FAST_LIMIT..ROUND_LIMIT).contains(&a)) << 1)
    };
    let digit = |x: f64| ((x + MAGIC).to_bits().wrapping_sub(magic_bits)) ^ (1 << 63);
    let (d0, l0) = (digits.len(), lanes.len());
    digits.resize(d0 + values.len(), 0);
    lanes.resize(l0 + values.len(), 0);
    let slots = digits[d0..].iter_mut().zip(&mut lanes[l0..]);
    // One pass, so that the scaling (a division when `f > e`) is done once a value.
    if exp.e >= exp.f {
        let s = F10[exp.e - exp.f];
        for (&v, (d, l)) in values.iter().zip(slots) {
            let x = v * s;
            *d = digit(x);
            *l = lane(v, x, ((x + MAGIC) - MAGIC) / s);
        }
    } else {
        let s = F10[exp.f - exp.e];
        for (&v, (d, l)) in values.iter().zip(slots) {
            let x = v / s;
            *d = digit(x);
            *l = lane(v, x, ((x + MAGIC) - MAGIC) * s);
        }
    }
}

/// The digits of `v` (flipped `d` from [`exact_lanes`]) where they round-trip, by its lane.
fn lane_digits(lane: u8, d: u64, v: f64, exp: AlpExp) -> Option<i64> {
    match lane {
        LANE_EXACT => Some(unflip_i64(d)),
        LANE_UNSURE => exp.exact(v),
        _ => None,
    }
}

fn alp_split_with(values: &[f64], exp: AlpExp) -> AlpParts {
    let mut digits = Vec::with_capacity(values.len());
    let mut lanes = Vec::with_capacity(values.len());
    exact_lanes(values, exp, &mut digits, &mut lanes);
    let mut positions = Vec::new();
    let mut exceptions = Vec::new();
    // Most blocks have no exception: one branch-free pass says so.
    if lanes.iter().fold(0, |a, &l| a | (l ^ LANE_EXACT)) == 0 {
        return AlpParts {
            exp,
            digits,
            positions,
            exceptions,
        };
    }
    let mut fill = None;
    for (i, ((&v, &lane), d)) in values.iter().zip(&lanes).zip(&mut digits).enumerate() {
        match lane_digits(lane, *d, v, exp) {
            Some(x) => {
                fill.get_or_insert(x);
                *d = flip_i64(x);
            }
            None => {
                positions.push(i as u64);
                exceptions.push(v.to_bits());
            }
        }
    }
    // Exceptions take a value from inside the range so they do not widen the frame of reference.
    let fill = flip_i64(fill.unwrap_or(0));
    for &p in &positions {
        if let Some(d) = digits.get_mut(p as usize) {
            *d = fill;
        }
    }
    AlpParts {
        exp,
        digits,
        positions,
        exceptions,
    }
}

struct RdParts {
    right_bits: u8,
    dict: Vec<u16>,
}

/// Chooses ALP-RD's split: the left bits are dictionary-coded (8 entries at most), the right
/// bits stored as they are.
fn alp_rd_params(bits: &[u64]) -> (RdParts, usize) {
    // The split is judged on a probe of at most 256 values; the cost is scaled to the input.
    let step = (bits.len() / 256).max(1);
    let probe: Vec<u64> = spread(bits.len(), step).map(|i| bits[i]).collect();
    let scale = bits.len().max(1) as f64 / probe.len().max(1) as f64;
    let n = probe.len().max(1);
    let mut best: Option<(RdParts, usize)> = None;
    let mut lefts: Vec<u16> = Vec::with_capacity(probe.len());
    for left_bits in 1..=16u8 {
        let right_bits = 64 - left_bits;
        lefts.clear();
        lefts.extend(probe.iter().map(|&b| (b >> right_bits) as u16));
        lefts.sort_unstable();
        let mut by_freq: Vec<(u16, usize)> = Vec::new();
        for &l in &lefts {
            match by_freq.last_mut() {
                Some((v, c)) if *v == l => *c += 1,
                _ => by_freq.push((l, 1)),
            }
        }
        by_freq.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        by_freq.truncate(8);
        let covered: usize = by_freq.iter().map(|&(_, c)| c).sum();
        let exceptions = n.saturating_sub(covered);
        let code_bits = usize::from(width_of(by_freq.len().saturating_sub(1) as u64));
        let cost =
            ((n * (usize::from(right_bits) + code_bits) + exceptions * 48) as f64 * scale) as usize;
        if best.as_ref().is_none_or(|(_, c)| cost < *c) {
            best = Some((
                RdParts {
                    right_bits,
                    dict: by_freq.into_iter().map(|(v, _)| v).collect(),
                },
                cost,
            ));
        }
    }
    best.unwrap_or((
        RdParts {
            right_bits: 63,
            dict: Vec::new(),
        },
        usize::MAX,
    ))
}

/// Estimated sizes of each float candidate on a sample; returns the winner.
/// The sampler's verdict; when the sample was the whole input, the ALP split and the scheme
/// chosen for its digits are kept so encoding does not repeat them.
struct Choice {
    scheme: Scheme,
    alp: Option<(AlpParts, Scheme)>,
}

fn choose(values: &[f64], ctx: Ctx) -> Choice {
    let bits: Vec<u64> = values.iter().map(|v| v.to_bits()).collect();
    // Bit patterns are estimated without the entropy-coded leaf: the ALP digits below get it,
    // and planning bins for raw doubles costs more than it ever wins.
    let raw_ctx = Ctx {
        entropy: false,
        ..ctx
    };
    let (int_scheme, int_size) = int::choose(&bits, raw_ctx, false);
    if int_scheme == Scheme::Constant {
        return Choice {
            scheme: Scheme::Constant,
            alp: None,
        };
    }
    let mut best = (int_scheme, int_size);
    let child = ctx.child();
    let alp = alp_split(values);
    let (digit_scheme, digit_size) = int::choose(&alp.digits, child, false);
    let alp_size = 8 + digit_size + alp.positions.len() * 10 + 20;
    if alp_size < best.1 {
        best = (Scheme::Alp, alp_size);
    }
    let mostly_exceptions = alp.positions.len() * 8 > values.len();
    if mostly_exceptions {
        let (_, rd_bits) = alp_rd_params(&bits);
        let rd_size = 24 + rd_bits / 8;
        if rd_size < best.1 {
            best = (Scheme::AlpRd, rd_size);
        }
    }
    // Gorilla only wins where values are not short decimals; skip its cost otherwise.
    if ctx.profile == Profile::TimeSeries && mostly_exceptions {
        let g = gorilla_encode(values);
        if g.len() + 9 < best.1 {
            best = (Scheme::Gorilla, g.len() + 9);
        }
    }
    Choice {
        scheme: best.0,
        alp: (best.0 == Scheme::Alp).then_some((alp, digit_scheme)),
    }
}

/// Encodes a float node.
pub(crate) fn encode(
    values: &[f64],
    ctx: Ctx,
    forced: Option<Scheme>,
    out: &mut Vec<u8>,
) -> Cascade {
    let (scheme, reuse) = match forced {
        Some(Scheme::Parts) => return encode_parts(values, ctx, None, false, out),
        Some(s) => (s, None),
        None => {
            let sampled = sample(values);
            let whole = sampled.len() == values.len();
            let c = choose(&sampled, ctx);
            (c.scheme, if whole { c.alp } else { None })
        }
    };
    let child = ctx.child();
    let n = values.len();
    match scheme {
        Scheme::Alp if n > 0 => {
            let (p, digit_scheme) = match reuse {
                Some((p, d)) => (p, Some(d)),
                None => (alp_split(values), None),
            };
            encode_alp(&p, ctx, out, |digits, out| {
                int::encode(digits, child, digit_scheme, out)
            })
        }
        Scheme::AlpRd if n > 0 => {
            let bits: Vec<u64> = values.iter().map(|v| v.to_bits()).collect();
            let (parts, _) = alp_rd_params(&sample(&bits));
            encode_alp_rd(&bits, &parts, ctx, out)
        }
        Scheme::Gorilla => {
            let g = gorilla_encode(values);
            out.put_u8(tag::GORILLA);
            out.put_len(n);
            out.put_len(g.len());
            out.extend_from_slice(&g);
            Cascade::leaf(Scheme::Gorilla)
        }
        other => {
            let bits: Vec<u64> = values.iter().map(|v| v.to_bits()).collect();
            int::encode(&bits, ctx, Some(other), out)
        }
    }
}

/// Writes an ALP node of `p`, its digits encoded by `digits`.
fn encode_alp(
    p: &AlpParts,
    ctx: Ctx,
    out: &mut Vec<u8>,
    digits: impl FnOnce(&[u64], &mut Vec<u8>) -> Cascade,
) -> Cascade {
    out.put_u8(tag::ALP);
    out.put_len(p.digits.len());
    out.put_u8(p.exp.e as u8);
    out.put_u8(p.exp.f as u8);
    let mut children = vec![digits(&p.digits, out)];
    children.extend(encode_exceptions(&p.positions, &p.exceptions, ctx, out));
    Cascade::node(Scheme::Alp, children).with_detail(format!("e={},f={}", p.exp.e, p.exp.f))
}

/// Encodes a float node along `hint`, the cascade of an earlier, similar input: an ALP hint
/// keeps ALP without the sampled comparison against the other float schemes (the search over
/// the raw bit patterns is most of a float block's encoding time). The exponents are searched
/// from the hint's (the smallest scale at or below it that is exact on a probe; all 37 only
/// when the hint's leaves an exception). The digits get their own sampled cascade: following
/// the hint's too made Beijing's segment 2.7 % larger. Any other hint, or values that are
/// mostly ALP exceptions here, get the full choice of [`encode`].
pub(crate) fn encode_following(
    values: &[f64],
    ctx: Ctx,
    hint: &Cascade,
    out: &mut Vec<u8>,
) -> Cascade {
    let n = values.len();
    if hint.scheme == Scheme::Parts {
        return encode_parts(values, ctx, Some(&hint.children), false, out);
    }
    if hint.scheme == Scheme::Alp && n > 0 {
        let exp = exp_of(&hint.detail)
            .and_then(|h| alp_params_near(values, h))
            .unwrap_or_else(|| alp_params(values));
        let p = alp_split_with(values, exp);
        if p.positions.len() * 8 <= n {
            // The entropy-coded leaf is searched for where the hint's digits took it; the
            // full search of every 16th block (the writer's scheme memory) finds it anew.
            let child = Ctx {
                entropy: ctx.entropy && hint.children.first().is_some_and(uses_ans),
                ..ctx.child()
            };
            return encode_alp(&p, ctx, out, |digits, out| {
                int::encode(digits, child, None, out)
            });
        }
    }
    encode(values, ctx, None, out)
}

/// Writes `values` as a `parts` node (see [`int::encode_parts`]) whose parts are float nodes:
/// each run searched (no hints), along its hint with its digits sampled (`deep` false), or
/// along its hint all the way down ([`follow_run`], `deep`).
pub(crate) fn encode_parts(
    values: &[f64],
    ctx: Ctx,
    hints: Option<&[Cascade]>,
    deep: bool,
    out: &mut Vec<u8>,
) -> Cascade {
    int::parts_node(
        values,
        out,
        |part, hint, out| match hint {
            Some(h) if deep => follow_run(part, ctx, h, out),
            Some(h) => encode_following(part, ctx, h, out),
            None => encode(part, ctx, None, out),
        },
        hints,
    )
}

/// Encodes a run of a `parts` node along `hint`, the cascade of the whole block: an ALP hint
/// all the way down (the run's own exponents, its digits along the hint's digit cascade with
/// their own widths and dictionaries, no search), anything else as [`encode_following`] does.
/// What a block following an earlier one tries: sampling each run's digits there cost
/// Beijing's table a fifth of its write speed (for 1.3 % of its bytes).
fn follow_run(values: &[f64], ctx: Ctx, hint: &Cascade, out: &mut Vec<u8>) -> Cascade {
    let n = values.len();
    if hint.scheme == Scheme::Alp
        && n > 0
        && let Some(digits) = hint.children.first()
        && let Some(exp) = exp_of(&hint.detail).and_then(|h| alp_params_near(values, h))
    {
        let p = alp_split_with(values, exp);
        if p.positions.len() * 8 <= n {
            let child = ctx.child();
            return encode_alp(&p, ctx, out, |d, out| {
                int::encode_following(d, child, digits, out)
            });
        }
    }
    encode_following(values, ctx, hint, out)
}

/// Whether `c` or any node below it is the entropy-coded leaf.
fn uses_ans(c: &Cascade) -> bool {
    c.scheme == Scheme::Ans || c.children.iter().any(uses_ans)
}

/// The exponents an ALP cascade's detail names (`e=2,f=0`).
fn exp_of(detail: &str) -> Option<AlpExp> {
    let (e, f) = detail.split_once(',')?;
    let e: usize = e.strip_prefix("e=")?.parse().ok()?;
    let f: usize = f.strip_prefix("f=")?.parse().ok()?;
    (e <= MAX_EXPONENT && f <= MAX_EXPONENT && (e == 0 || f == 0)).then_some(AlpExp { e, f })
}

/// The scale after `exp` in [`AlpExp::candidates`] (one power of ten smaller), if any.
fn smaller_scale(exp: AlpExp) -> Option<AlpExp> {
    match exp {
        AlpExp { e: 0, f } if f < MAX_EXPONENT => Some(AlpExp { e: 0, f: f + 1 }),
        AlpExp { e: 0, .. } => None,
        AlpExp { e, .. } => Some(AlpExp { e: e - 1, f: 0 }),
    }
}

/// The scale for `values` found from `hint`, the previous block's, instead of trying all 37:
/// `None` when the hint leaves an exception in the probe (then the full search runs);
/// otherwise the smallest scale at or below the hint that still leaves none (fewest digit
/// bits among exact scales).
fn alp_params_near(values: &[f64], hint: AlpExp) -> Option<AlpExp> {
    const SAMPLES: usize = 32;
    let step = (values.len() / SAMPLES).max(1);
    let exact_on_probe = |exp: AlpExp| {
        spread(values.len(), step)
            .take(SAMPLES)
            .all(|i| exp.exact(values[i]).is_some())
    };
    if !exact_on_probe(hint) {
        return None;
    }
    let mut best = hint;
    while let Some(next) = smaller_scale(best).filter(|&e| exact_on_probe(e)) {
        best = next;
    }
    Some(best)
}

/// Writes an exception list: its count, then (only when non-empty) positions and values as
/// leaf integer nodes.
fn encode_exceptions(
    positions: &[u64],
    values: &[u64],
    ctx: Ctx,
    out: &mut Vec<u8>,
) -> Vec<Cascade> {
    out.put_len(positions.len());
    if positions.is_empty() {
        return Vec::new();
    }
    let leaf = Ctx { depth: 1, ..ctx };
    vec![
        int::encode(positions, leaf, None, out),
        int::encode(values, leaf, None, out),
    ]
}

/// Reads an exception list written by [`encode_exceptions`].
fn decode_exceptions(r: &mut Reader<'_>, limits: Limits, n: usize) -> Result<(Vec<u64>, Vec<u64>)> {
    let count = r.count(n)?;
    if count == 0 {
        return Ok((Vec::new(), Vec::new()));
    }
    let positions = int::decode(r, limits, 1, Some(count))?;
    let values = int::decode(r, limits, 1, Some(count))?;
    Ok((positions, values))
}

fn encode_alp_rd(bits: &[u64], parts: &RdParts, ctx: Ctx, out: &mut Vec<u8>) -> Cascade {
    let r = parts.right_bits;
    let right_mask = if r >= 64 { u64::MAX } else { (1u64 << r) - 1 };
    let mut codes = Vec::with_capacity(bits.len());
    let mut right = Vec::with_capacity(bits.len());
    let mut positions = Vec::new();
    let mut lefts = Vec::new();
    for (i, &b) in bits.iter().enumerate() {
        let left = (b >> r) as u16;
        right.push(b & right_mask);
        match parts.dict.iter().position(|&d| d == left) {
            Some(c) => codes.push(c as u64),
            None => {
                codes.push(0);
                positions.push(i as u64);
                lefts.push(u64::from(left));
            }
        }
    }
    out.put_u8(tag::ALP_RD);
    out.put_len(bits.len());
    out.put_u8(r);
    out.put_u8(parts.dict.len() as u8);
    for &d in &parts.dict {
        out.put_u16(d);
    }
    let child = ctx.child();
    let c = int::encode(&codes, child, None, out);
    let rt = int::encode(&right, child, None, out);
    let mut children = vec![c, rt];
    children.extend(encode_exceptions(&positions, &lefts, ctx, out));
    Cascade::node(Scheme::AlpRd, children).with_detail(format!("right={r}"))
}

/// `unflip_i64(u) as f64`, bit for bit, in operations that vectorise on any x86-64 or
/// AArch64 (a vector `i64 → f64` conversion needs AVX-512). `u` is a flipped digit
/// (`d ^ 2^63`), so `u >> 32` is `d`'s high half (signed) plus 2^31 and `u`'s low half is
/// `d`'s. Each half becomes a double exactly by the 2^52 trick (OR the integer into the
/// mantissa of 2^52, subtract 2^52), `hi · 2^32` is exact, and the one rounding left, of
/// `hi · 2^32 + lo`, is the rounding of `d` itself (to nearest, ties to even, as `as` rounds).
#[inline(always)]
fn flipped_to_f64(u: u64) -> f64 {
    const TWO_52: u64 = 0x4330_0000_0000_0000;
    const TWO_52_F: f64 = 4_503_599_627_370_496.0;
    let hi = f64::from_bits(TWO_52 | (u >> 32)) - (TWO_52_F + 2_147_483_648.0);
    let lo = f64::from_bits(TWO_52 | (u & 0xffff_ffff)) - TWO_52_F;
    hi * 4_294_967_296.0 + lo
}

/// Appends the value of every flipped ALP digit (see [`AlpExp::value`]) to `out`.
///
/// The loop is bound by the division (the values are the same with any vector width: one
/// IEEE division per value); where the CPU has AVX2 it runs four to a vector instead of
/// the two of the x86-64 baseline.
fn alp_values(digits: &[u64], exp: AlpExp, out: &mut Vec<f64>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        #[expect(unsafe_code, reason = "calls a function compiled for AVX2 and FMA")]
        // SAFETY: the CPU has AVX2 and FMA, checked just above; the function is otherwise safe.
        unsafe {
            alp_values_avx2(digits, exp, out);
        }
        return;
    }
    alp_values_baseline(digits, exp, out);
}

/// The largest `e - f` whose division [`divide_by_power_of_ten`] makes without dividing.
const FMA_DIVIDE_MAX: usize = 15;

/// `a / 10^k` for an integer-valued `a` with `|a| < 2^53` and `k <= FMA_DIVIDE_MAX`, bit for bit
/// the correctly rounded IEEE quotient, from a multiplication and two fused multiply-adds
/// (`y` is `1 / 10^k` rounded, `b` is `10^k`). A vector division takes several cycles a value;
/// this takes well under one.
///
/// Why it is exact: `q0 = RN(a·y)` is within two ulps of `a/b` (`b·y = 1 + ε`, `|ε| <= 2^-53`),
/// so `r = a - b·q0` is a multiple of `min(1, 2^k·ulp(q0))` of at most `2·10^k < 2^53` such
/// steps: exact in the fused multiply-add. `q0 + r·y` is then exactly `a/b + (a/b - q0)·ε`,
/// within `2^(x-51)·2^-53` of `a/b` (`2^x <= a/b < 2^(x+1)`), and the fused multiply-add rounds
/// it once. `a/b` lies at least `2^(x-53)/10^k` from any midpoint between two doubles (the
/// difference times `10^k·2^(53-x)` is a non-zero integer: `a/b` would otherwise be an odd
/// multiple of `2^(x-53)`, which needs `a >= 2^53·5^k`), more than that error for `k <= 15`,
/// so the rounding is the same as the division's.
#[inline(always)]
fn divide_by_power_of_ten(a: f64, b: f64, y: f64) -> f64 {
    let q0 = a * y;
    (-q0).mul_add(b, a).mul_add(y, q0)
}

/// [`alp_values_baseline`] compiled for AVX2 and FMA: a division by a power of ten up to
/// `10^FMA_DIVIDE_MAX` made as [`divide_by_power_of_ten`] makes it, with the same result.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn alp_values_avx2(digits: &[u64], exp: AlpExp, out: &mut Vec<f64>) {
    match exp.e.checked_sub(exp.f) {
        Some(k) if k <= FMA_DIVIDE_MAX => {
            let b = F10[k];
            let y = 1.0 / b;
            out.reserve(digits.len());
            out.extend(
                digits
                    .iter()
                    .map(|&d| divide_by_power_of_ten(flipped_to_f64(d), b, y)),
            );
        }
        _ => alp_values_baseline(digits, exp, out),
    }
}

#[inline(always)]
fn alp_values_baseline(digits: &[u64], exp: AlpExp, out: &mut Vec<f64>) {
    out.reserve(digits.len());
    if exp.e >= exp.f {
        let scale = F10[exp.e - exp.f];
        out.extend(digits.iter().map(|&d| flipped_to_f64(d) / scale));
    } else {
        let scale = F10[exp.f - exp.e];
        out.extend(digits.iter().map(|&d| flipped_to_f64(d) * scale));
    }
}

/// Runs `f` with this thread's scratch buffer for a float node's integer child, emptied; a
/// fresh one when the thread's is already in use.
fn with_scratch<T>(f: impl FnOnce(&mut Vec<u64>) -> Result<T>) -> Result<T> {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with(|s| match s.try_borrow_mut() {
        Ok(mut v) => {
            v.clear();
            f(&mut v)
        }
        Err(_) => f(&mut Vec::new()),
    })
}

/// Decodes a float node into `out`.
pub(crate) fn decode(r: &mut Reader<'_>, limits: Limits, out: &mut Vec<f64>) -> Result<()> {
    let t = r.clone().u8()?;
    if t == int::tag::PARTS {
        r.u8()?;
        let n = r.count(limits.max_values)?;
        return int::decode_parts(r, n, limits, |r, _| decode(r, limits, out));
    }
    if !matches!(t, tag::ALP | tag::ALP_RD | tag::GORILLA) {
        // Any integer node over the bit patterns.
        let bits = int::decode(r, limits, 0, None)?;
        out.extend(bits.into_iter().map(f64::from_bits));
        return Ok(());
    }
    r.u8()?;
    match t {
        tag::ALP => {
            let n = r.count(limits.max_values)?;
            let e = usize::from(r.u8()?);
            let f = usize::from(r.u8()?);
            if e > MAX_EXPONENT || f > MAX_EXPONENT || (e > 0 && f > 0) {
                return Err(corrupt(
                    "alp",
                    format!("exponent {e} / factor {f} out of range"),
                ));
            }
            let base = out.len();
            with_scratch(|digits| {
                int::decode_into(r, limits, 1, Some(n), digits)?;
                alp_values(digits, AlpExp { e, f }, out);
                Ok(())
            })?;
            let (positions, values) = decode_exceptions(r, limits, n)?;
            patch(&mut out[base..], &positions, &values, "alp")?;
        }
        tag::ALP_RD => decode_alp_rd(r, limits, out)?,
        tag::GORILLA => {
            let n = r.count(limits.max_values)?;
            let len = r.count(usize::MAX)?;
            let bytes = r.take(len)?;
            gorilla_decode(bytes, n, out)?;
        }
        _ => {}
    }
    Ok(())
}

/// The buffers an ALP-RD node's children decode into, kept per thread so that a warm decoder
/// allocates nothing for a block.
#[derive(Default)]
struct RdScratch {
    codes: Vec<u64>,
    right: Vec<u64>,
    positions: Vec<u64>,
    lefts: Vec<u64>,
}

/// Runs `f` with this thread's [`RdScratch`], emptied; fresh buffers when the thread's are
/// already in use.
fn with_rd_scratch<T>(f: impl FnOnce(&mut RdScratch) -> Result<T>) -> Result<T> {
    thread_local! {
        static SCRATCH: std::cell::RefCell<RdScratch> = std::cell::RefCell::default();
    }
    SCRATCH.with(|s| match s.try_borrow_mut() {
        Ok(mut s) => {
            s.codes.clear();
            s.right.clear();
            s.positions.clear();
            s.lefts.clear();
            f(&mut s)
        }
        Err(_) => f(&mut RdScratch::default()),
    })
}

/// Decodes an ALP-RD node (its tag read) into `out`: its children (codes, right parts,
/// exception positions and left parts) into this thread's buffers, then one pass that appends
/// `dict[code] << right_bits | right` for every value ([`rd_combine`]) and one that checks
/// every code and right part, then the exceptions' left parts over their values. Nothing is
/// allocated for a block once the thread's buffers have grown to it.
fn decode_alp_rd(r: &mut Reader<'_>, limits: Limits, out: &mut Vec<f64>) -> Result<()> {
    let n = r.count(limits.max_values)?;
    let right_bits = r.u8()?;
    if right_bits == 0 || right_bits >= 64 {
        return Err(corrupt(
            "alp-rd",
            format!("right width {right_bits} out of range"),
        ));
    }
    let dict_len = usize::from(r.u8()?);
    let mut dict = [0u64; 256];
    for d in dict.iter_mut().take(dict_len) {
        *d = u64::from(r.u16()?);
    }
    let dict = dict.get(..dict_len).unwrap_or_default();
    with_rd_scratch(|s| {
        int::decode_into(r, limits, 1, Some(n), &mut s.codes)?;
        int::decode_into(r, limits, 1, Some(n), &mut s.right)?;
        let count = r.count(n)?;
        if count > 0 {
            int::decode_into(r, limits, 1, Some(count), &mut s.positions)?;
            int::decode_into(r, limits, 1, Some(count), &mut s.lefts)?;
        }
        let base = out.len();
        if !rd_combine(&s.codes, &s.right, dict, right_bits, out) {
            return Err(corrupt("alp-rd", "code or right part out of range"));
        }
        rd_patch(
            out.get_mut(base..).unwrap_or_default(),
            &s.positions,
            &s.lefts,
            right_bits,
        )
    })
}

/// Appends `dict[code] << right_bits | right` for every code and right part to `out`; false
/// when a code is outside the dictionary (code 0 is allowed in an empty one, as a placeholder
/// whose value an exception replaces) or a right part is wider than `right_bits` (then what
/// was appended is meaningless). `codes` and `right` are equally long.
fn rd_combine(
    codes: &[u64],
    right: &[u64],
    dict: &[u64],
    right_bits: u8,
    out: &mut Vec<f64>,
) -> bool {
    if dict.len() > RD_WORD_ENTRIES * 2 {
        return rd_combine_table(codes, right, dict, right_bits, out);
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        #[expect(unsafe_code, reason = "calls a function compiled for AVX2")]
        // SAFETY: the CPU has AVX2, checked just above; the function is otherwise safe.
        return unsafe { rd_combine_small_avx2(codes, right, dict, right_bits, out) };
    }
    rd_combine_small(codes, right, dict, right_bits, out)
}

/// Dictionary entries (16 bits each) held in one word by [`rd_combine_small`].
const RD_WORD_ENTRIES: usize = 4;

/// [`rd_combine_small`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn rd_combine_small_avx2(
    codes: &[u64],
    right: &[u64],
    dict: &[u64],
    right_bits: u8,
    out: &mut Vec<f64>,
) -> bool {
    rd_combine_small(codes, right, dict, right_bits, out)
}

/// [`rd_combine`] for a dictionary of at most eight entries, the most the encoder writes.
/// The entries sit in two words, four 16-bit entries to a word, so that a code's entry is a
/// choice of word and a shift, not a load: the loop has no gather and vectorises (a variable
/// shift per lane, where the CPU has AVX2).
#[inline(always)]
fn rd_combine_small(
    codes: &[u64],
    right: &[u64],
    dict: &[u64],
    right_bits: u8,
    out: &mut Vec<f64>,
) -> bool {
    let mut words = [0u64; 2];
    for (i, &d) in dict.iter().enumerate() {
        if let Some(w) = words.get_mut(i / RD_WORD_ENTRIES) {
            *w |= (d & 0xffff) << (16 * (i % RD_WORD_ENTRIES));
        }
    }
    let [low, high] = words;
    let shift = u32::from(right_bits);
    out.extend(codes.iter().zip(right).map(|(&c, &rt)| {
        // `high` for codes 4 to 7, by a mask rather than a branch or an indexed load.
        let word = low ^ ((low ^ high) & 0u64.wrapping_sub((c >> 2) & 1));
        let left = (word >> ((c & 3) * 16)) & 0xffff;
        f64::from_bits((left << shift) | rt)
    }));
    rd_in_range(codes, right, dict.len(), shift)
}

/// Whether every code is inside a dictionary of `dict_len` entries (code 0 in an empty one)
/// and every right part inside `right_bits`: a pass of its own, a reduction with nothing
/// else in its loop, so that it vectorises.
#[inline(always)]
fn rd_in_range(codes: &[u64], right: &[u64], dict_len: usize, right_bits: u32) -> bool {
    let limit = dict_len.max(1) as u64;
    let bad = codes.iter().zip(right).fold(0u64, |bad, (&c, &rt)| {
        bad | u64::from(c >= limit) | (rt >> right_bits)
    });
    bad == 0
}

/// [`rd_combine`] for any dictionary a node can hold (at most 255 entries), through a table
/// padded to 256 entries; no encoder writes more than eight.
fn rd_combine_table(
    codes: &[u64],
    right: &[u64],
    dict: &[u64],
    right_bits: u8,
    out: &mut Vec<f64>,
) -> bool {
    let mut table = [0u64; 256];
    for (t, &d) in table.iter_mut().zip(dict) {
        *t = d << right_bits;
    }
    out.extend(
        codes
            .iter()
            .zip(right)
            .map(|(&c, &rt)| f64::from_bits(table[(c & 0xff) as usize] | rt)),
    );
    rd_in_range(codes, right, dict.len(), u32::from(right_bits))
}

/// Gives the values at `positions` in `dst` the left parts `lefts` (an ALP-RD node's
/// exceptions, whose left parts the dictionary does not hold), keeping their right parts.
fn rd_patch(dst: &mut [f64], positions: &[u64], lefts: &[u64], right_bits: u8) -> Result<()> {
    let right_mask = (1u64 << right_bits) - 1;
    for (&p, &l) in positions.iter().zip(lefts) {
        let slot = usize::try_from(p)
            .ok()
            .and_then(|p| dst.get_mut(p))
            .ok_or_else(|| corrupt("alp-rd", "exception position out of range"))?;
        if l >> (64 - right_bits) != 0 {
            return Err(corrupt("alp-rd", "exception left part too wide"));
        }
        *slot = f64::from_bits((l << right_bits) | (slot.to_bits() & right_mask));
    }
    Ok(())
}

fn patch(dst: &mut [f64], positions: &[u64], values: &[u64], encoding: &'static str) -> Result<()> {
    for (&p, &v) in positions.iter().zip(values) {
        let slot = usize::try_from(p)
            .ok()
            .and_then(|p| dst.get_mut(p))
            .ok_or_else(|| corrupt(encoding, format!("exception position {p} out of range")))?;
        *slot = f64::from_bits(v);
    }
    Ok(())
}

/// A bit writer, most significant bit first.
struct BitWriter {
    bytes: Vec<u8>,
    acc: u64,
    used: u32,
}

impl BitWriter {
    fn new() -> Self {
        Self {
            bytes: Vec::new(),
            acc: 0,
            used: 0,
        }
    }
    fn write(&mut self, value: u64, bits: u32) {
        for i in (0..bits).rev() {
            self.acc = (self.acc << 1) | ((value >> i) & 1);
            self.used += 1;
            if self.used == 8 {
                self.bytes.push(self.acc as u8);
                self.acc = 0;
                self.used = 0;
            }
        }
    }
    fn finish(mut self) -> Vec<u8> {
        if self.used > 0 {
            self.bytes.push((self.acc << (8 - self.used)) as u8);
        }
        self.bytes
    }
}

struct BitReader<'a> {
    bytes: &'a [u8],
    bit: usize,
}

impl BitReader<'_> {
    fn read(&mut self, bits: u32) -> Result<u64> {
        let mut v = 0u64;
        for _ in 0..bits {
            let byte = self
                .bytes
                .get(self.bit / 8)
                .ok_or_else(|| corrupt("gorilla", "bit stream ended early"))?;
            v = (v << 1) | u64::from((byte >> (7 - self.bit % 8)) & 1);
            self.bit += 1;
        }
        Ok(v)
    }
}

fn gorilla_encode(values: &[f64]) -> Vec<u8> {
    let mut w = BitWriter::new();
    let Some(first) = values.first() else {
        return Vec::new();
    };
    let mut prev = first.to_bits();
    w.write(prev, 64);
    let (mut lead, mut trail) = (u32::MAX, 0u32);
    for v in values.iter().skip(1) {
        let bits = v.to_bits();
        let x = bits ^ prev;
        prev = bits;
        if x == 0 {
            w.write(0, 1);
            continue;
        }
        let l = x.leading_zeros().min(31);
        let t = x.trailing_zeros();
        if lead != u32::MAX && l >= lead && t >= trail {
            w.write(0b10, 2);
            w.write(x >> trail, 64 - lead - trail);
        } else {
            lead = l;
            trail = t;
            let meaningful = 64 - l - t;
            w.write(0b11, 2);
            w.write(u64::from(l), 5);
            w.write(u64::from(meaningful & 63), 6); // 64 is stored as 0
            w.write(x >> t, meaningful);
        }
    }
    w.finish()
}

fn gorilla_decode(bytes: &[u8], n: usize, out: &mut Vec<f64>) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    // Each value takes at least one bit, so a count the stream cannot hold is corrupt.
    if n.saturating_sub(64) > bytes.len().saturating_mul(8) {
        return Err(corrupt(
            "gorilla",
            "count larger than the bit stream can hold",
        ));
    }
    let mut r = BitReader { bytes, bit: 0 };
    let mut prev = r.read(64)?;
    out.reserve(n);
    out.push(f64::from_bits(prev));
    let (mut lead, mut trail) = (0u32, 0u32);
    let mut have_window = false;
    for _ in 1..n {
        if r.read(1)? == 0 {
            out.push(f64::from_bits(prev));
            continue;
        }
        if r.read(1)? == 1 {
            lead = r.read(5)? as u32;
            let mut meaningful = r.read(6)? as u32;
            if meaningful == 0 {
                meaningful = 64;
            }
            if lead + meaningful > 64 {
                return Err(corrupt("gorilla", "window wider than 64 bits"));
            }
            trail = 64 - lead - meaningful;
            have_window = true;
        } else if !have_window {
            return Err(corrupt("gorilla", "window reused before one was set"));
        }
        let x = r.read(64 - lead - trail)? << trail;
        prev ^= x;
        out.push(f64::from_bits(prev));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn same_as_cast(u: u64) {
        let want = unflip_i64(u) as f64;
        let got = flipped_to_f64(u);
        assert_eq!(got.to_bits(), want.to_bits(), "flipped digit {u:#x}");
    }

    #[test]
    fn flipped_digits_convert_as_the_cast_does_at_the_edges() {
        let d: [i64; 14] = [
            0,
            1,
            -1,
            i64::MIN,
            i64::MAX,
            i64::MIN + 1,
            (1 << 53) + 1,
            -(1 << 53) - 1,
            (1 << 53) + 3,
            (1 << 62) + (1 << 9) + 1,
            (1 << 62) + (1 << 10),
            u32::MAX as i64,
            -(u32::MAX as i64) - 1,
            1 << 32,
        ];
        for x in d {
            same_as_cast(flip_i64(x));
        }
    }

    /// Whether [`divide_by_power_of_ten`] and [`alp_values`] give the division's bits for
    /// digits `a` at every scale.
    fn divides_as_division(a: i64) {
        for (k, &b) in F10.iter().enumerate().take(FMA_DIVIDE_MAX + 1) {
            let want = (a as f64 / b).to_bits();
            let got = divide_by_power_of_ten(a as f64, b, 1.0 / b).to_bits();
            assert_eq!(got, want, "{a} / 10^{k}");
        }
    }

    #[test]
    fn division_by_a_power_of_ten_without_dividing_is_exact() {
        // Every digit up to 2^14 either side, both ends of the range, and the multiples of 5^k
        // (exact quotients) and their neighbours near the top.
        for a in -(1 << 14)..=(1 << 14) {
            divides_as_division(a);
        }
        let top = (1i64 << 52) - 1;
        for a in (top - 4096..=top).chain(-top..-top + 4096) {
            divides_as_division(a);
        }
        for k in 1..=FMA_DIVIDE_MAX as u32 {
            let p = 5i64.pow(k);
            for m in [1, 2, 3, 7, top / p - 1, top / p] {
                for d in -2..=2 {
                    divides_as_division(m * p + d);
                    divides_as_division(-(m * p + d));
                }
            }
        }
        // Through the decoder's own path (vectorised where the CPU has AVX2 and FMA), every
        // scale, the scales above the bound included (divided).
        let digits: Vec<i64> = (-3000..3000)
            .map(|i: i64| i.wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as i64) >> 12)
            .collect();
        let flipped: Vec<u64> = digits.iter().map(|&d| flip_i64(d)).collect();
        for e in 0..=MAX_EXPONENT {
            for f in [0, 1, 3] {
                let exp = AlpExp { e, f };
                let mut got = Vec::new();
                alp_values(&flipped, exp, &mut got);
                for (&d, g) in digits.iter().zip(&got) {
                    assert_eq!(g.to_bits(), exp.value(d).to_bits(), "{d} at e {e} f {f}");
                }
            }
        }
    }

    /// `alp_split_with` as it was written before its vector check: one `exact` a value.
    fn split_oracle(values: &[f64], exp: AlpExp) -> (Vec<u64>, Vec<u64>, Vec<u64>) {
        let mut digits = Vec::new();
        let mut positions = Vec::new();
        let mut exceptions = Vec::new();
        let mut fill = None;
        for (i, &v) in values.iter().enumerate() {
            match exp.exact(v) {
                Some(d) => {
                    fill.get_or_insert(d);
                    digits.push(flip_i64(d));
                }
                None => {
                    positions.push(i as u64);
                    exceptions.push(v.to_bits());
                    digits.push(0);
                }
            }
        }
        for &p in &positions {
            digits[p as usize] = flip_i64(fill.unwrap_or(0));
        }
        (digits, positions, exceptions)
    }

    fn split_matches_oracle(values: &[f64]) {
        for exp in AlpExp::candidates() {
            let p = alp_split_with(values, exp);
            let (digits, positions, exceptions) = split_oracle(values, exp);
            assert_eq!(p.digits, digits, "{exp:?}");
            assert_eq!(p.positions, positions, "{exp:?}");
            assert_eq!(p.exceptions, exceptions, "{exp:?}");
        }
    }

    #[test]
    fn split_checks_every_value_as_exact_does_at_the_edges() {
        let mut v = vec![
            0.0,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            f64::MAX,
            1.0e-300,
            0.1,
            -2.675,
            123.456,
        ];
        // Scaled values on either side of 2^51 and 2^52, where the vector check hands over.
        for k in [50, 51, 52, 53] {
            let b = (1u64 << k) as f64;
            v.extend([
                b - 1.0,
                b,
                b + 1.0,
                b + 2.0,
                -b - 1.0,
                -b,
                -b + 1.0,
                b / 100.0,
            ]);
            v.extend([(b - 1.0) / 1000.0, -(b + 3.0) / 10.0, b * 10.0]);
        }
        split_matches_oracle(&v);
    }

    /// [`rd_combine`] value by value: the entry of each code (0 outside the dictionary) above
    /// its right part, and whether every code and right part is in range.
    fn rd_combine_oracle(
        codes: &[u64],
        right: &[u64],
        dict: &[u64],
        right_bits: u8,
    ) -> (Vec<u64>, bool) {
        let values = codes
            .iter()
            .zip(right)
            .map(|(&c, &rt)| {
                let d = usize::try_from(c).ok().and_then(|c| dict.get(c)).copied();
                (d.unwrap_or(0) << right_bits) | rt
            })
            .collect();
        let ok = codes
            .iter()
            .zip(right)
            .all(|(&c, &rt)| c < dict.len().max(1) as u64 && rt >> right_bits == 0);
        (values, ok)
    }

    proptest! {
        #[test]
        fn any_digits_divide_as_the_division_does(a in -(1i64 << 53) + 1..(1i64 << 53)) {
            divides_as_division(a);
        }

        #[test]
        fn rd_combine_matches_a_lookup_per_value(
            dict in proptest::collection::vec(any::<u16>(), 0..12),
            pairs in proptest::collection::vec((0u64..10, any::<u64>()), 0..300),
            right_bits in 1u8..64,
            wide in proptest::option::of((0usize..300, any::<u64>(), any::<u64>())),
        ) {
            let dict: Vec<u64> = dict.into_iter().map(u64::from).collect();
            let mask = (1u64 << right_bits) - 1;
            let mut codes: Vec<u64> = pairs.iter().map(|&(c, _)| c % dict.len().max(1) as u64).collect();
            let mut right: Vec<u64> = pairs.iter().map(|&(_, r)| r & mask).collect();
            // Now and then a code or right part out of range.
            if let Some((i, c, r)) = wide && i < codes.len() {
                codes[i] = c >> (c % 64);
                right[i] = r;
            }
            let (want, want_ok) = rd_combine_oracle(&codes, &right, &dict, right_bits);
            let mut out = vec![0.5];
            let ok = rd_combine(&codes, &right, &dict, right_bits, &mut out);
            prop_assert_eq!(ok, want_ok);
            prop_assert_eq!(out.len(), codes.len() + 1);
            if ok {
                let got: Vec<u64> = out[1..].iter().map(|v| v.to_bits()).collect();
                prop_assert_eq!(got, want);
            }
            let mut out = Vec::new();
            prop_assert_eq!(rd_combine_table(&codes, &right, &dict, right_bits, &mut out), want_ok);
            if want_ok && dict.len() <= 8 {
                let mut small = Vec::new();
                prop_assert!(rd_combine_small(&codes, &right, &dict, right_bits, &mut small));
                prop_assert_eq!(
                    small.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    out.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
                );
            }
        }

        #[test]
        fn split_checks_every_value_as_exact_does(
            bits in proptest::collection::vec(any::<u64>(), 0..64),
            decimals in proptest::collection::vec(-10_000_000i64..10_000_000, 0..64),
            scale in 0usize..6,
        ) {
            let mut v: Vec<f64> = bits.into_iter().map(f64::from_bits).collect();
            v.extend(decimals.iter().map(|&d| d as f64 / F10[scale]));
            split_matches_oracle(&v);
        }

        #[test]
        fn flipped_digits_convert_as_the_cast_does(u in any::<u64>(), shift in 0u32..64) {
            // Every magnitude, so that values around 2^53 and above (where the cast rounds)
            // are as likely as small ones.
            same_as_cast(flip_i64((u as i64) >> shift));
        }
    }
}

//! Shared generators and checks for the codec's integration tests.
//!
//! Inputs are built from a shape, a length and a seed with a small deterministic generator, so
//! the same adversarial families (runs, extremes, wrapping deltas, NaN payloads, long strings …)
//! serve the property tests, the fixed corpora and the snapshots alike.

use proptest::prelude::*;
use strata_codec::{ByteValues, Cascade, EncodeOptions, Limits, Profile, Scheme};

/// Small limits for decoding untrusted bytes: corrupt counts fail fast instead of allocating.
pub(crate) const SMALL_LIMITS: Limits = Limits {
    max_values: 1 << 16,
};

/// Top-level choices for integer kinds (i64, u64, bool): sampled, then every integer scheme.
pub(crate) const INT_SCHEMES: [Option<Scheme>; 13] = [
    None,
    Some(Scheme::Constant),
    Some(Scheme::Plain),
    Some(Scheme::BitPacked),
    Some(Scheme::Patched),
    Some(Scheme::Delta),
    Some(Scheme::DeltaOfDelta),
    Some(Scheme::Rle),
    Some(Scheme::Dictionary),
    Some(Scheme::Lz4),
    Some(Scheme::Ans),
    Some(Scheme::PackedLz4),
    Some(Scheme::Parts),
];

/// Top-level choices for f64: the integer schemes on the bit patterns plus the float schemes.
pub(crate) const FLOAT_SCHEMES: [Option<Scheme>; 16] = [
    None,
    Some(Scheme::Constant),
    Some(Scheme::Plain),
    Some(Scheme::BitPacked),
    Some(Scheme::Patched),
    Some(Scheme::Delta),
    Some(Scheme::DeltaOfDelta),
    Some(Scheme::Rle),
    Some(Scheme::Dictionary),
    Some(Scheme::Lz4),
    Some(Scheme::Alp),
    Some(Scheme::AlpRd),
    Some(Scheme::Gorilla),
    Some(Scheme::Ans),
    Some(Scheme::PackedLz4),
    Some(Scheme::Parts),
];

/// Top-level choices for byte strings.
pub(crate) const BYTES_SCHEMES: [Option<Scheme>; 5] = [
    None,
    Some(Scheme::Plain),
    Some(Scheme::Dictionary),
    Some(Scheme::Fsst),
    Some(Scheme::Lz4),
];

/// Lengths around the 1024-value chunk and the 2048-value sampling threshold.
pub(crate) const EDGE_LENGTHS: [usize; 7] = [0, 1, 1023, 1024, 1025, 2049, 5000];

/// Every combination of the given top-level choices, both profiles and max_depth 1..=3, with
/// the entropy-coded leaf off and on.
pub(crate) fn all_options(schemes: &[Option<Scheme>]) -> Vec<EncodeOptions> {
    let mut out = Vec::new();
    for &scheme in schemes {
        for profile in [Profile::General, Profile::TimeSeries] {
            for max_depth in 1..=3 {
                for entropy in [false, true] {
                    out.push(EncodeOptions {
                        profile,
                        scheme,
                        max_depth,
                        entropy,
                    });
                }
            }
        }
    }
    out
}

/// One random combination of the given top-level choices, profile, max_depth 1..=3 and the
/// entropy switch.
pub(crate) fn options_strategy(
    schemes: &'static [Option<Scheme>],
) -> impl Strategy<Value = EncodeOptions> {
    (
        prop::sample::select(schemes),
        prop_oneof![Just(Profile::General), Just(Profile::TimeSeries)],
        1u8..=3,
        any::<bool>(),
    )
        .prop_map(|(scheme, profile, max_depth, entropy)| EncodeOptions {
            profile,
            scheme,
            max_depth,
            entropy,
        })
}

/// Levels of a cascade, where a Patched node's exception lists (always leaves) do not count.
fn levels_without_exception_lists(c: &Cascade) -> usize {
    if c.scheme == Scheme::Patched {
        return 1;
    }
    1 + c
        .children
        .iter()
        .map(levels_without_exception_lists)
        .max()
        .unwrap_or(0)
}

/// Asserts the cascade's shape is within what `opts` allows: at most `max_depth + 1` levels, plus
/// one leaf level under a Patched node; Patched's exception lists are leaves. A `parts` node
/// (the top of a buffer, never below) is held to nothing itself: each part is held to this.
pub(crate) fn check_cascade(c: &Cascade, opts: &EncodeOptions, what: &str) {
    if c.scheme == Scheme::Parts {
        for part in &c.children {
            assert_ne!(part.scheme, Scheme::Parts, "{what}: a part of {c} is parts");
            check_cascade(part, opts, what);
        }
        return;
    }
    check_levels(c, opts.max_depth.clamp(1, 3), what);
    check_patched_leaves(c, what);
}

fn check_levels(c: &Cascade, max_depth: u8, what: &str) {
    let levels = levels_without_exception_lists(c);
    let allowed = usize::from(max_depth) + 1;
    assert!(
        levels <= allowed && c.depth() <= allowed + 1,
        "{what}: cascade {c} has {levels} levels (depth {}), max_depth {max_depth} allows {allowed}",
        c.depth(),
    );
}

/// [`check_cascade`] for byte strings. Every string node carries a length list, so a string
/// dictionary is three levels even when forced at max_depth 1 (dictionary, entries, entry
/// lengths): its entries are held to a string node over one leaf level, its codes to the
/// integer rule one level down.
pub(crate) fn check_bytes_cascade(c: &Cascade, opts: &EncodeOptions, what: &str) {
    let max_depth = opts.max_depth.clamp(1, 3);
    match (c.scheme, c.children.as_slice()) {
        (Scheme::Dictionary, [entries, codes]) => {
            assert!(
                entries.depth() <= 2 || levels_without_exception_lists(entries) <= 2,
                "{what}: dictionary entries {entries} in {c} are deeper than a string node over a leaf"
            );
            check_levels(codes, (max_depth - 1).max(1), what);
        }
        _ => check_levels(c, max_depth, what),
    }
    check_patched_leaves(c, what);
}

fn check_patched_leaves(c: &Cascade, what: &str) {
    if c.scheme == Scheme::Patched {
        for child in &c.children {
            assert_eq!(
                child.depth(),
                1,
                "{what}: patched exception list {child} in {c} is not a leaf"
            );
        }
    }
    for child in &c.children {
        check_patched_leaves(child, what);
    }
}

/// A splitmix64 generator: deterministic, so corpora and snapshots are stable.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    /// Seeded generator.
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }
    /// Next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Families of adversarial integer inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntShape {
    /// Any 64-bit values.
    Random,
    /// One value repeated.
    AllEqual,
    /// Two values taking turns.
    Alternating,
    /// Drawn from i64::MIN, i64::MAX, -1 (u64::MAX), 0, 1 and their neighbours.
    Extremes,
    /// A counter with a random step and a little noise.
    MonotonicNoise,
    /// Successive values far apart, so deltas wrap around.
    HugeDeltas,
    /// A handful of distinct values in random order.
    FewDistinct,
    /// Runs of up to 500 equal values.
    LongRuns,
    /// Small values with rare huge outliers.
    SmallWithOutliers,
    /// Sorted timestamps with repeats.
    SortedRepeats,
    /// Regular timestamps with rare jitter.
    RegularTimestamps,
}

/// Every integer shape.
pub(crate) const INT_SHAPES: [IntShape; 11] = [
    IntShape::Random,
    IntShape::AllEqual,
    IntShape::Alternating,
    IntShape::Extremes,
    IntShape::MonotonicNoise,
    IntShape::HugeDeltas,
    IntShape::FewDistinct,
    IntShape::LongRuns,
    IntShape::SmallWithOutliers,
    IntShape::SortedRepeats,
    IntShape::RegularTimestamps,
];

const EXTREMES: [i64; 9] = [
    i64::MIN,
    i64::MIN + 1,
    i64::MAX,
    i64::MAX - 1,
    -1,
    0,
    1,
    -2,
    2,
];

/// Builds `len` values of the given shape from `seed`.
pub(crate) fn ints(shape: IntShape, len: usize, seed: u64) -> Vec<i64> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(len);
    match shape {
        IntShape::Random => out.extend((0..len).map(|_| rng.next_u64() as i64)),
        IntShape::AllEqual => {
            let v = EXTREMES[rng.below(EXTREMES.len() as u64) as usize] ^ (rng.below(3) as i64);
            out.resize(len, v);
        }
        IntShape::Alternating => {
            let a = rng.next_u64() as i64;
            let b = if rng.below(2) == 0 {
                a.wrapping_add(1)
            } else {
                !a
            };
            out.extend((0..len).map(|i| if i % 2 == 0 { a } else { b }));
        }
        IntShape::Extremes => {
            out.extend((0..len).map(|_| EXTREMES[rng.below(EXTREMES.len() as u64) as usize]));
        }
        IntShape::MonotonicNoise => {
            let start = rng.next_u64() as i64;
            let step = rng.below(1000) as i64;
            let noise = rng.below(5) + 1;
            out.extend((0..len).map(|i| {
                start
                    .wrapping_add(step.wrapping_mul(i as i64))
                    .wrapping_add(rng.below(noise) as i64)
            }));
        }
        IntShape::HugeDeltas => {
            let mut v = rng.next_u64() as i64;
            for _ in 0..len {
                out.push(v);
                v = v.wrapping_add((rng.next_u64() | (1 << 62)) as i64);
            }
        }
        IntShape::FewDistinct => {
            let wide = rng.below(2) == 0;
            let k = 2 + rng.below(7);
            let pool: Vec<i64> = (0..k)
                .map(|_| {
                    if wide {
                        rng.next_u64() as i64
                    } else {
                        rng.below(100) as i64 - 50
                    }
                })
                .collect();
            out.extend((0..len).map(|_| pool[rng.below(k) as usize]));
        }
        IntShape::LongRuns => {
            let pool: Vec<i64> = (0..4)
                .map(|_| rng.next_u64() as i64 >> rng.below(64))
                .collect();
            while out.len() < len {
                let v = pool[rng.below(4) as usize];
                let run = (1 + rng.below(500) as usize).min(len - out.len());
                out.extend(std::iter::repeat_n(v, run));
            }
        }
        IntShape::SmallWithOutliers => out.extend((0..len).map(|_| {
            if rng.below(100) == 0 {
                rng.next_u64() as i64
            } else {
                rng.below(16) as i64
            }
        })),
        IntShape::SortedRepeats => {
            let mut v = 1_700_000_000_000i64 + rng.below(1 << 20) as i64;
            for _ in 0..len {
                out.push(v);
                if rng.below(3) != 0 {
                    v += rng.below(5000) as i64;
                }
            }
        }
        IntShape::RegularTimestamps => {
            let start = 1_700_000_000_000i64;
            out.extend((0..len as i64).map(|i| {
                let jitter = if rng.below(200) == 0 {
                    rng.below(7) as i64 - 3
                } else {
                    0
                };
                start + i * 1000 + jitter
            }));
        }
    }
    out
}

/// A length: mostly small, often at the chunk and sampling edges.
pub(crate) fn len_strategy() -> impl Strategy<Value = usize> {
    prop_oneof![
        3 => 0usize..70,
        3 => prop::sample::select(&EDGE_LENGTHS[..]),
        1 => 70usize..3000,
    ]
}

/// Adversarial i64 vectors: a shape at an interesting length, or arbitrary short values.
pub(crate) fn i64_strategy() -> impl Strategy<Value = Vec<i64>> {
    prop_oneof![
        4 => (prop::sample::select(&INT_SHAPES[..]), len_strategy(), any::<u64>())
            .prop_map(|(shape, len, seed)| ints(shape, len, seed)),
        1 => prop::collection::vec(any::<i64>(), 0..40),
    ]
}

/// Families of adversarial float inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FloatShape {
    /// Any bit pattern.
    RandomBits,
    /// NaNs with distinct payloads and signs, ±0.0, ±inf, subnormals, extremes.
    Specials,
    /// Decimals with two fraction digits.
    Decimal2,
    /// Decimals with one fraction digit.
    Decimal1,
    /// Decimals with a few special values mixed in (ALP exceptions).
    DecimalWithSpecials,
    /// Full-precision reals.
    HighPrecision,
    /// One value repeated (sometimes a NaN or -0.0).
    Constant,
    /// A slowly varying series.
    SlowSeries,
    /// A handful of distinct values.
    FewDistinct,
    /// Magnitudes ALP cannot scale (above 2^52, below 1e-18).
    HugeAndTiny,
    /// Whole numbers as floats.
    Integral,
}

/// Every float shape.
pub(crate) const FLOAT_SHAPES: [FloatShape; 11] = [
    FloatShape::RandomBits,
    FloatShape::Specials,
    FloatShape::Decimal2,
    FloatShape::Decimal1,
    FloatShape::DecimalWithSpecials,
    FloatShape::HighPrecision,
    FloatShape::Constant,
    FloatShape::SlowSeries,
    FloatShape::FewDistinct,
    FloatShape::HugeAndTiny,
    FloatShape::Integral,
];

fn special(rng: &mut Rng) -> f64 {
    match rng.below(10) {
        // NaN with a random non-zero payload and either sign (quiet or signalling).
        0 | 1 => {
            let payload = (rng.next_u64() & ((1 << 52) - 1)) | 1;
            f64::from_bits(0x7FF0_0000_0000_0000 | payload | (rng.below(2) << 63))
        }
        2 => -0.0,
        3 => 0.0,
        4 => f64::INFINITY,
        5 => f64::NEG_INFINITY,
        // Subnormal, either sign.
        6 => f64::from_bits(((rng.next_u64() & ((1 << 52) - 1)) | 1) | (rng.below(2) << 63)),
        7 => [f64::MIN_POSITIVE, f64::MAX, f64::MIN, f64::EPSILON][rng.below(4) as usize],
        8 => f64::NAN,
        _ => -f64::NAN,
    }
}

/// Builds `len` floats of the given shape from `seed`.
pub(crate) fn floats(shape: FloatShape, len: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    let decimal = |rng: &mut Rng, scale: f64| ((rng.unit() * 2e4 - 1e4) * scale).round() / scale;
    match shape {
        FloatShape::RandomBits => (0..len).map(|_| f64::from_bits(rng.next_u64())).collect(),
        FloatShape::Specials => (0..len).map(|_| special(&mut rng)).collect(),
        FloatShape::Decimal2 => (0..len).map(|_| decimal(&mut rng, 100.0)).collect(),
        FloatShape::Decimal1 => (0..len).map(|_| decimal(&mut rng, 10.0)).collect(),
        FloatShape::DecimalWithSpecials => (0..len)
            .map(|_| {
                if rng.below(20) == 0 {
                    special(&mut rng)
                } else {
                    decimal(&mut rng, 100.0)
                }
            })
            .collect(),
        FloatShape::HighPrecision => (0..len)
            .map(|i| (i as f64 * 0.37).sin() * 1000.0 + rng.unit() * std::f64::consts::PI)
            .collect(),
        FloatShape::Constant => {
            let v = match rng.below(4) {
                0 => special(&mut rng),
                1 => -0.0,
                _ => decimal(&mut rng, 100.0),
            };
            vec![v; len]
        }
        FloatShape::SlowSeries => {
            let mut v = rng.unit() * 100.0;
            (0..len)
                .map(|_| {
                    v += (rng.unit() - 0.5) * 0.01;
                    v
                })
                .collect()
        }
        FloatShape::FewDistinct => {
            let pool: Vec<f64> = (0..1 + rng.below(6))
                .map(|_| special_or_decimal(&mut rng))
                .collect();
            (0..len)
                .map(|_| pool[rng.below(pool.len() as u64) as usize])
                .collect()
        }
        FloatShape::HugeAndTiny => (0..len)
            .map(|_| {
                let m = rng.unit() + 1.0;
                let sign = if rng.below(2) == 0 { 1.0 } else { -1.0 };
                match rng.below(3) {
                    0 => sign * m * 1e20,
                    1 => sign * m * 1e-300,
                    _ => sign * m * 9.1e15,
                }
            })
            .collect(),
        FloatShape::Integral => (0..len)
            .map(|_| rng.below(1 << 20) as f64 - 1000.0)
            .collect(),
    }
}

fn special_or_decimal(rng: &mut Rng) -> f64 {
    if rng.below(3) == 0 {
        special(rng)
    } else {
        ((rng.unit() * 2e4 - 1e4) * 100.0).round() / 100.0
    }
}

/// Adversarial f64 vectors.
pub(crate) fn f64_strategy() -> impl Strategy<Value = Vec<f64>> {
    prop_oneof![
        4 => (prop::sample::select(&FLOAT_SHAPES[..]), len_strategy(), any::<u64>())
            .prop_map(|(shape, len, seed)| floats(shape, len, seed)),
        1 => prop::collection::vec(any::<u64>().prop_map(f64::from_bits), 0..40),
    ]
}

/// Bit patterns, for bit-exact comparison of floats (NaN payloads, -0.0).
pub(crate) fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// Families of adversarial byte-string inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BytesShape {
    /// Every string empty.
    AllEmpty,
    /// Short random binary, not UTF-8 (0xFF, FSST's escape byte, included).
    Binary,
    /// A few distinct strings, many duplicates.
    LowCardinality,
    /// URLs sharing long prefixes.
    Urls,
    /// Words of free text.
    FreeText,
    /// One string repeated in long runs, with empty strings between.
    RunsAndEmpties,
    /// Strings of one byte repeated (0x00 or 0xFF).
    RepeatedByte,
}

/// Every byte-string shape.
pub(crate) const BYTES_SHAPES: [BytesShape; 7] = [
    BytesShape::AllEmpty,
    BytesShape::Binary,
    BytesShape::LowCardinality,
    BytesShape::Urls,
    BytesShape::FreeText,
    BytesShape::RunsAndEmpties,
    BytesShape::RepeatedByte,
];

const WORDS: [&str; 16] = [
    "the",
    "storage",
    "engine",
    "column",
    "segment",
    "écrit",
    "données",
    "compaction",
    "snapshot",
    "predicate",
    "block",
    "zone",
    "ключ",
    "値",
    "partition",
    "memtable",
];

/// Builds `len` strings of the given shape from `seed`.
pub(crate) fn strings(shape: BytesShape, len: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(seed);
    let word = |rng: &mut Rng| WORDS[rng.below(WORDS.len() as u64) as usize];
    match shape {
        BytesShape::AllEmpty => vec![Vec::new(); len],
        BytesShape::Binary => (0..len)
            .map(|_| {
                let n = rng.below(24) as usize;
                (0..n).map(|_| (rng.next_u64() as u8) | 0x80).collect()
            })
            .collect(),
        BytesShape::LowCardinality => {
            let pool: Vec<Vec<u8>> = (0..1 + rng.below(6))
                .map(|i| format!("{}-{i}", word(&mut rng)).into_bytes())
                .collect();
            (0..len)
                .map(|_| pool[rng.below(pool.len() as u64) as usize].clone())
                .collect()
        }
        BytesShape::Urls => (0..len)
            .map(|_| {
                format!(
                    "https://www.example.com/strata/segments/2026/{}/{}?id={}",
                    word(&mut rng),
                    word(&mut rng),
                    rng.below(100_000)
                )
                .into_bytes()
            })
            .collect(),
        BytesShape::FreeText => (0..len)
            .map(|_| {
                let n = rng.below(12) as usize;
                (0..n)
                    .map(|_| word(&mut rng))
                    .collect::<Vec<_>>()
                    .join(" ")
                    .into_bytes()
            })
            .collect(),
        BytesShape::RunsAndEmpties => {
            let mut out = Vec::with_capacity(len);
            while out.len() < len {
                let v = if rng.below(3) == 0 {
                    Vec::new()
                } else {
                    word(&mut rng).as_bytes().to_vec()
                };
                let run = (1 + rng.below(300) as usize).min(len - out.len());
                out.extend(std::iter::repeat_n(v, run));
            }
            out
        }
        BytesShape::RepeatedByte => (0..len)
            .map(|_| {
                let b = if rng.below(2) == 0 { 0x00 } else { 0xFF };
                vec![b; rng.below(40) as usize]
            })
            .collect(),
    }
}

/// Adversarial byte-string vectors: a shape at an interesting length, arbitrary short binary
/// values, or a few strings with one of up to 100 KB.
pub(crate) fn bytes_strategy() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop_oneof![
        4 => (prop::sample::select(&BYTES_SHAPES[..]), len_strategy(), any::<u64>())
            .prop_map(|(shape, len, seed)| strings(shape, len, seed)),
        1 => prop::collection::vec(prop::collection::vec(any::<u8>(), 0..30), 0..40),
        1 => (0usize..8, 1usize..=100 * 1024, any::<u64>()).prop_map(|(short, long, seed)| {
            let mut v = strings(BytesShape::FreeText, short, seed);
            v.push(long_string(long, seed));
            v
        }),
    ]
}

/// A long string of text-like bytes with some binary mixed in.
pub(crate) fn long_string(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        if rng.below(10) == 0 {
            out.push(rng.next_u64() as u8);
        } else {
            out.extend_from_slice(WORDS[rng.below(WORDS.len() as u64) as usize].as_bytes());
            out.push(b' ');
        }
    }
    out.truncate(len);
    out
}

/// The expected decoding of `values`.
pub(crate) fn byte_values<T: AsRef<[u8]>>(values: &[T]) -> ByteValues {
    ByteValues::from_slices(values)
}

/// Asserts a forced scheme is the cascade's top, or the documented fallback when it cannot apply
/// to these values (plain; bit-packing for constant or patched when they do not pay).
pub(crate) fn check_forced_top(
    c: &Cascade,
    opts: &EncodeOptions,
    n: usize,
    all_equal: bool,
    what: &str,
) {
    let Some(s) = opts.scheme else { return };
    let exact = match s {
        Scheme::Plain | Scheme::Lz4 | Scheme::Gorilla | Scheme::Parts => true,
        Scheme::BitPacked
        | Scheme::Rle
        | Scheme::Dictionary
        | Scheme::Alp
        | Scheme::AlpRd
        | Scheme::Fsst
        | Scheme::Ans
        | Scheme::PackedLz4 => n > 0,
        Scheme::Delta => n >= 2,
        Scheme::DeltaOfDelta => n >= 3,
        Scheme::Constant => n > 0 && all_equal,
        _ => false,
    };
    if exact {
        assert_eq!(c.scheme, s, "{what}: forced {s} but the cascade is {c}");
    } else {
        let fallback = c.scheme == s
            || c.scheme == Scheme::Plain
            || (matches!(s, Scheme::Constant | Scheme::Patched) && c.scheme == Scheme::BitPacked);
        assert!(fallback, "{what}: forced {s} fell back to {c}");
    }
}

/// Encodes and decodes i64, u64 (the same bits) and bool (the low bits) with `opts`, checking
/// values, counts and cascade shapes.
pub(crate) fn round_trip_ints(values: &[i64], opts: &EncodeOptions) {
    use strata_codec::{
        decode_bool, decode_i64, decode_u64, encode_bool, encode_i64, encode_u64, value_count,
    };
    let what = format!("{} ints, {opts:?}", values.len());
    let n = values.len();

    let enc = encode_i64(values, opts).unwrap_or_else(|e| panic!("{what}: encode_i64 failed: {e}"));
    check_cascade(&enc.cascade, opts, &what);
    check_forced_top(
        &enc.cascade,
        opts,
        n,
        values.windows(2).all(|w| w[0] == w[1]),
        &what,
    );
    assert_eq!(
        value_count(&enc.bytes).unwrap(),
        n,
        "{what}: i64 value_count"
    );
    let back = decode_i64(&enc.bytes)
        .unwrap_or_else(|e| panic!("{what}: decode_i64 of {} failed: {e}", enc.cascade));
    assert!(
        back == values,
        "{what}: i64 round trip through {} differs",
        enc.cascade
    );
    // The same bits appended after earlier values (the sign flipped back as each node writes
    // them, not in a pass of its own): the earlier values untouched.
    let mut bits = vec![7u64, u64::MAX];
    let got =
        strata_codec::decode_i64_bits_into(&enc.bytes, strata_codec::Limits::default(), &mut bits)
            .unwrap_or_else(|e| {
                panic!(
                    "{what}: decode_i64_bits_into of {} failed: {e}",
                    enc.cascade
                )
            });
    assert_eq!(got, n, "{what}: decode_i64_bits_into count");
    assert!(
        bits[..2] == [7, u64::MAX] && bits[2..].iter().zip(values).all(|(&b, &v)| b == v as u64),
        "{what}: i64 bits through {} differ",
        enc.cascade
    );

    let unsigned: Vec<u64> = values.iter().map(|&v| v as u64).collect();
    let enc =
        encode_u64(&unsigned, opts).unwrap_or_else(|e| panic!("{what}: encode_u64 failed: {e}"));
    check_cascade(&enc.cascade, opts, &what);
    assert_eq!(
        value_count(&enc.bytes).unwrap(),
        n,
        "{what}: u64 value_count"
    );
    let back = decode_u64(&enc.bytes)
        .unwrap_or_else(|e| panic!("{what}: decode_u64 of {} failed: {e}", enc.cascade));
    assert!(
        back == unsigned,
        "{what}: u64 round trip through {} differs",
        enc.cascade
    );

    let bools: Vec<bool> = values.iter().map(|&v| v & 1 == 1).collect();
    let enc =
        encode_bool(&bools, opts).unwrap_or_else(|e| panic!("{what}: encode_bool failed: {e}"));
    check_cascade(&enc.cascade, opts, &what);
    check_forced_top(
        &enc.cascade,
        opts,
        n,
        bools.windows(2).all(|w| w[0] == w[1]),
        &what,
    );
    assert_eq!(
        value_count(&enc.bytes).unwrap(),
        n,
        "{what}: bool value_count"
    );
    let back = decode_bool(&enc.bytes)
        .unwrap_or_else(|e| panic!("{what}: decode_bool of {} failed: {e}", enc.cascade));
    assert!(
        back == bools,
        "{what}: bool round trip through {} differs",
        enc.cascade
    );
}

/// Encodes and decodes floats with `opts`, comparing bit patterns.
pub(crate) fn round_trip_f64(values: &[f64], opts: &EncodeOptions) {
    use strata_codec::{decode_f64, encode_f64, value_count};
    let what = format!("{} floats, {opts:?}", values.len());
    let enc = encode_f64(values, opts).unwrap_or_else(|e| panic!("{what}: encode_f64 failed: {e}"));
    check_cascade(&enc.cascade, opts, &what);
    let expected = bits(values);
    check_forced_top(
        &enc.cascade,
        opts,
        values.len(),
        expected.windows(2).all(|w| w[0] == w[1]),
        &what,
    );
    assert_eq!(
        value_count(&enc.bytes).unwrap(),
        values.len(),
        "{what}: value_count"
    );
    let back = decode_f64(&enc.bytes)
        .unwrap_or_else(|e| panic!("{what}: decode_f64 of {} failed: {e}", enc.cascade));
    let got = bits(&back);
    if got != expected {
        let i = got
            .iter()
            .zip(&expected)
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(expected.len()));
        panic!(
            "{what}: f64 round trip through {} differs at {i} of {}/{}: got {:?} expected {:?}",
            enc.cascade,
            got.len(),
            expected.len(),
            got.get(i).map(|b| format!("{b:#018x}")),
            expected.get(i).map(|b| format!("{b:#018x}")),
        );
    }
}

/// Encodes and decodes byte strings with `opts`.
pub(crate) fn round_trip_bytes<T: AsRef<[u8]>>(values: &[T], opts: &EncodeOptions) {
    use strata_codec::{decode_bytes, encode_bytes, value_count};
    let what = format!("{} strings, {opts:?}", values.len());
    let enc =
        encode_bytes(values, opts).unwrap_or_else(|e| panic!("{what}: encode_bytes failed: {e}"));
    check_bytes_cascade(&enc.cascade, opts, &what);
    check_forced_top(
        &enc.cascade,
        opts,
        values.len(),
        values.windows(2).all(|w| w[0].as_ref() == w[1].as_ref()),
        &what,
    );
    assert_eq!(
        value_count(&enc.bytes).unwrap(),
        values.len(),
        "{what}: value_count"
    );
    let back = decode_bytes(&enc.bytes)
        .unwrap_or_else(|e| panic!("{what}: decode_bytes of {} failed: {e}", enc.cascade));
    let expected = byte_values(values);
    if back != expected {
        let i = (0..values.len()).find(|&i| back.get(i) != expected.get(i));
        panic!(
            "{what}: bytes round trip through {} differs (len {} vs {}, first difference at {i:?})",
            enc.cascade,
            back.len(),
            expected.len()
        );
    }
    assert_eq!(back.offsets.first(), Some(&0), "{what}: offsets start at 0");
}

/// The value kind a buffer holds, for decoding it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    I64,
    U64,
    F64,
    Bool,
    Bytes,
}

/// Every kind.
pub(crate) const KINDS: [Kind; 5] = [Kind::I64, Kind::U64, Kind::F64, Kind::Bool, Kind::Bytes];

/// Decodes `buf` as `kind` with `limits`; the value count on success.
pub(crate) fn decode_as(kind: Kind, buf: &[u8], limits: Limits) -> strata_codec::Result<usize> {
    use strata_codec::{
        decode_bool_with, decode_bytes_with, decode_f64_with, decode_i64_with, decode_u64_with,
    };
    match kind {
        Kind::I64 => {
            let values = decode_i64_with(buf, limits);
            let mut bits = vec![1u64];
            let appended = strata_codec::decode_i64_bits_into(buf, limits, &mut bits);
            match (&values, &appended) {
                (Ok(v), Ok(n)) => {
                    assert_eq!(*n, v.len(), "bits and values count differ");
                    assert!(
                        bits[0] == 1 && bits[1..].iter().zip(v).all(|(&b, &x)| b == x as u64),
                        "bits and values differ"
                    );
                }
                // On an error nothing is left appended.
                (Err(_), Err(_)) => assert_eq!(bits, [1], "a failed decode left values behind"),
                _ => panic!("bits decode {appended:?} and value decode {values:?} disagree"),
            }
            values.map(|v| v.len())
        }
        Kind::U64 => decode_u64_with(buf, limits).map(|v| v.len()),
        Kind::F64 => decode_f64_with(buf, limits).map(|v| v.len()),
        Kind::Bool => {
            let values = decode_bool_with(buf, limits);
            let bitmap = strata_codec::decode_bool_words_with(buf, limits);
            match (&values, &bitmap) {
                (Ok(v), Ok(b)) => assert_eq!(bitmap_of(v), *b, "bitmap and values differ"),
                (Err(_), Err(_)) => {}
                _ => panic!("bitmap decode {bitmap:?} and value decode {values:?} disagree"),
            }
            values.map(|v| v.len())
        }
        Kind::Bytes => decode_bytes_with(buf, limits).map(|v| v.len()),
    }
}

/// `values` as a bitmap: value `i` at bit `i % 64` of word `i / 64`, and the count.
pub(crate) fn bitmap_of(values: &[bool]) -> (Vec<u64>, usize) {
    let mut words = vec![0u64; values.len().div_ceil(64)];
    for (i, &v) in values.iter().enumerate() {
        words[i / 64] |= u64::from(v) << (i % 64);
    }
    (words, values.len())
}

/// Runs every decoder and `value_count` over `buf` with small limits; none may panic. Returns
/// how many decoders accepted the bytes.
pub(crate) fn decode_every_way(buf: &[u8]) -> usize {
    let _ = strata_codec::value_count(buf);
    KINDS
        .iter()
        .filter(|&&k| decode_as(k, buf, SMALL_LIMITS).is_ok())
        .count()
}

/// A valid encoded buffer, what it holds and how it was made.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) bytes: Vec<u8>,
}

/// Decodes `buf` as `u64`s and expects a typed corruption or truncation error (`what` names the
/// damage in the failure message).
pub(crate) fn expect_err(buf: &[u8], what: &str) {
    match strata_codec::decode_u64(buf) {
        Err(
            strata_codec::CodecError::Corrupt { .. } | strata_codec::CodecError::Truncated { .. },
        ) => {}
        Err(e) => panic!("{what}: untyped for this node: {e:?}"),
        Ok(v) => panic!("{what}: decoded {} values instead of an error", v.len()),
    }
}

/// Valid buffers covering every node type: each scheme forced at the top of a kind it applies
/// to, plus sampled cascades (delta2, patched, rle, dict, alp, alprd, fsst …).
pub(crate) fn valid_buffers() -> Vec<Sample> {
    use strata_codec::{encode_bool, encode_bytes, encode_f64, encode_i64, encode_u64};
    let mut out = Vec::new();
    let mut push = |name: String, kind: Kind, enc: strata_codec::Result<strata_codec::Encoded>| {
        let enc = enc.unwrap_or_else(|e| panic!("{name}: {e}"));
        out.push(Sample {
            name: format!("{name} -> {}", enc.cascade),
            kind,
            bytes: enc.bytes,
        });
    };
    let ts = EncodeOptions {
        profile: Profile::TimeSeries,
        ..EncodeOptions::default()
    };
    let n = 1100; // one transposed chunk plus a sequential tail
    for shape in [
        IntShape::SortedRepeats,
        IntShape::RegularTimestamps,
        IntShape::SmallWithOutliers,
        IntShape::LongRuns,
        IntShape::FewDistinct,
        IntShape::Random,
    ] {
        push(
            format!("i64 {shape:?}"),
            Kind::I64,
            encode_i64(&ints(shape, n, 1), &ts),
        );
    }
    let timestamps = ints(IntShape::SortedRepeats, n, 2);
    for s in INT_SCHEMES.iter().flatten() {
        let opts = EncodeOptions {
            scheme: Some(*s),
            ..ts
        };
        push(
            format!("i64 forced {s}"),
            Kind::I64,
            encode_i64(&timestamps, &opts),
        );
    }
    let outliers: Vec<u64> = ints(IntShape::SmallWithOutliers, n, 3)
        .iter()
        .map(|&v| v as u64)
        .collect();
    let patched = EncodeOptions {
        scheme: Some(Scheme::Patched),
        ..ts
    };
    push(
        "u64 forced patched".into(),
        Kind::U64,
        encode_u64(&outliers, &patched),
    );
    push("u64 few".into(), Kind::U64, encode_u64(&[7, 7, 7, 9], &ts));
    // Stretches of 1024 values at their own levels: a frame and width per miniblock.
    let mut rng = Rng::new(4);
    let drifting: Vec<u64> = (0..3000u64)
        .map(|i| ((i / 1024) << 33) + rng.below(1 << 9))
        .collect();
    let bitpacked = EncodeOptions {
        scheme: Some(Scheme::BitPacked),
        ..ts
    };
    push(
        "u64 drifting forced bitpacked".into(),
        Kind::U64,
        encode_u64(&drifting, &bitpacked),
    );
    // The entropy-coded leaf with wide bins (outliers), and chosen by sampling under delta,
    // dictionary and ALP nodes.
    let ans = EncodeOptions {
        scheme: Some(Scheme::Ans),
        ..ts
    };
    push(
        "u64 forced ans".into(),
        Kind::U64,
        encode_u64(&outliers, &ans),
    );
    let entropy = EncodeOptions {
        entropy: true,
        ..ts
    };
    for shape in [
        IntShape::SortedRepeats,
        IntShape::SmallWithOutliers,
        IntShape::FewDistinct,
        IntShape::MonotonicNoise,
    ] {
        push(
            format!("i64 {shape:?} entropy"),
            Kind::I64,
            encode_i64(&ints(shape, n, 7), &entropy),
        );
    }
    let flags: Vec<bool> = (0..n).map(|i| i % 37 != 0).collect();
    push(
        "bool mostly true".into(),
        Kind::Bool,
        encode_bool(&flags, &ts),
    );
    for shape in [
        FloatShape::Decimal2,
        FloatShape::HighPrecision,
        FloatShape::SlowSeries,
        FloatShape::DecimalWithSpecials,
        FloatShape::FewDistinct,
    ] {
        push(
            format!("f64 {shape:?}"),
            Kind::F64,
            encode_f64(&floats(shape, n, 4), &ts),
        );
    }
    push(
        "f64 Decimal2 entropy".into(),
        Kind::F64,
        encode_f64(&floats(FloatShape::Decimal2, n, 8), &entropy),
    );
    let decimals = floats(FloatShape::DecimalWithSpecials, n, 5);
    for s in [
        Scheme::Parts,
        Scheme::Alp,
        Scheme::AlpRd,
        Scheme::Gorilla,
        Scheme::Dictionary,
        Scheme::Rle,
    ] {
        let opts = EncodeOptions {
            scheme: Some(s),
            ..ts
        };
        push(
            format!("f64 forced {s}"),
            Kind::F64,
            encode_f64(&decimals, &opts),
        );
    }
    for shape in [
        BytesShape::Urls,
        BytesShape::LowCardinality,
        BytesShape::FreeText,
    ] {
        let values = strings(shape, 300, 6);
        push(
            format!("bytes {shape:?}"),
            Kind::Bytes,
            encode_bytes(&values, &ts),
        );
        for s in BYTES_SCHEMES.iter().flatten() {
            let opts = EncodeOptions {
                scheme: Some(*s),
                ..ts
            };
            push(
                format!("bytes {shape:?} forced {s}"),
                Kind::Bytes,
                encode_bytes(&values, &opts),
            );
        }
    }
    out
}

//! strata-codec: lightweight, cascading column encodings chosen per block by sampling.
//!
//! Place in the stack: the ground floor, `**codec** → format → memtable → writer → …`. It turns
//! a block of typed values into a self-describing byte buffer and back, bit-exact. It does no
//! I/O, knows nothing about files, columns, nulls or schemas: the format crate owns those.
//!
//! # Buffer layout
//!
//! ```text
//! +---------+------+--------------------------------------------+
//! | version | kind | node                                       |
//! |   u8    |  u8  | tag u8 | count varint | scheme fields | children |
//! +---------+------+--------------------------------------------+
//! ```
//!
//! `kind` says what the buffer holds (i64, u64, f64, bool, bytes), so decoding as the wrong kind
//! is a typed error. A node's children (deltas, run lengths, dictionary codes, ALP digits,
//! string lengths …) are nodes of their own, chosen again by sampling: a *cascade*, at most
//! three levels deep by default (see [`EncodeOptions::max_depth`]).
//!
//! # Schemes
//!
//! Integers (and float bit patterns, and booleans as 0/1): constant, plain, frame of reference +
//! FastLanes-style bit-packing, patched bit-packing, delta, delta-of-delta, run-length,
//! dictionary, LZ4, `packedlz4` (below), and the entropy-coded leaf `ans` (below). Floats add
//! ALP, ALP-RD and Gorilla. Byte strings: plain, dictionary, FSST, LZ4. Signed integers are
//! mapped to `u64` with their sign bit flipped, which keeps order.
//!
//! Bit-packing keeps one frame of reference and width for the node, or, for a node of more than
//! 1024 values where it is smaller, one per 1024-value *miniblock* (tag `0x0d`; a width byte and
//! a bit-packed minimum each, as Parquet's `DELTA_BINARY_PACKED` miniblocks): values that drift
//! (prices, a slowly moving series' ALP digits, counters) then pay each stretch's range, not
//! the node's, which lets a block be long without widening every value.
//!
//! A buffer of integers (not booleans) or floats of at least 2048 values whose scheme is not
//! forced is also encoded as a `parts` node (tag `0x0e`): runs of 1024 values, each a node with
//! its own cascade, the smaller of the two kept. A long block then keeps what short blocks adapt
//! per 1024 values (ALP exponents, scheme, dictionary) while paying a block's fixed costs once.
//! Runs follow the block's single cascade with their own parameters (widths, references,
//! dictionaries; for floats, of a block whose cascade is ALP, their own exponents and digits):
//! searching each integer run instead was 0.04-0.2 % smaller on the shared tables and cost up to
//! 30 % of a table's write time (docs/benchmarks.md). A block following a `parts`
//! cascade ([`encode_f64_following`] and the integer equivalents) follows the cascade the parts
//! were chosen over ([`Cascade::followed`]) and tries its own runs along it (floats: along an ALP
//! cascade only), so runs are refitted block by block rather than followed run by run.
//!
//! `packedlz4` (tag `0x0c`) bit-packs the values minus their minimum *sequentially* (LSB first,
//! not in the transposed layout, whose 16 interleaved lanes break any period) and compresses
//! those bytes with LZ4: a sequence that repeats with a period (hours of the day, a station
//! cycling through its sensors, symbol codes in a periodic order) repeats in the packed bytes,
//! which no per-value scheme can exploit. For each node it encodes, the sampler first packs and
//! compresses the first 256 values (a probe that must save 30 %: most inputs stop there, at a
//! fraction of a whole-node pass); past it, the node is compressed for an exact size, taken only
//! when it saves a fifth of the best other choice, the price of its slower decoding.
//!
//! `ans` (tag `0x0b`; `0x0f` with a lane byte of its own) stores each value, minus the node
//! minimum, as a *bin* index coded with static, interleaved rANS (4 lanes; 16 or 32 where they
//! cost at most 2.5 % more, which an AVX-512 CPU decodes 16 values a step; the lanes' start
//! states carry the offsets' last bytes, two a lane; 32-bit states, 16-bit renormalisation, weights quantised to
//! at most 2^12) plus the value's offset within its bin, bit-packed at the bin's width: one
//! zero-width bin per value for small alphabets, a few wide bins for skewed magnitudes (pco's
//! binning). Bins are chosen by a dynamic programme over a histogram of at most 128 bins
//! (merging at most 32 neighbours; the sampler's estimates of nodes it may not encode use 64
//! bins and groups of 16); the per-node table (bin gaps, widths, weights) is
//! bit-packed at the smallest widths that fit.
//! The sampler considers it only with [`EncodeOptions::entropy`] (off by default, so today's
//! output is unchanged); every decoder reads it. Its node layout is in `ans.rs`.
//!
//! # Choice
//!
//! For each node the encoder estimates every applicable scheme on a sample (up to eight runs of
//! 128 values, or the whole input when it has at most 4096, so a block of the format's default
//! 4096 rows is seen whole) and keeps the smallest; leaf sizes are computed, not trial-encoded. The `ans` size comes from the sample's histogram (bins,
//! quantised weights, table and offset bits; no rANS pass), and `ans` must beat the best other
//! candidate by half a bit a value, the price of its slower decoding. It is estimated
//! after the other schemes, and a node whose histogram entropy alone (plus the fixed bytes)
//! cannot come in under the best of them by that margin is not planned at all. Float bit
//! patterns are estimated without `ans` (ALP digits get it; a block following an ALP cascade
//! searches its digits for `ans` only where the earlier block's digits took it). A block
//! following a cascade with an `ans` node keeps that node's bins and fits only their weights
//! (no histogram, no dynamic programme). The sampler's plan of a node it saw whole is the one
//! encoded; of a sampled node, its bins are kept and their weights fitted to every value.
//! Measured on the seven tables of the segment suite (docs/benchmarks.md, section "Start
//! states that carry offsets"), entropy on makes segments 4.7–22.3 % smaller, writes
//! 0.49–0.76× and full single-threaded reads 0.63–0.88× as fast (0.39–0.69× and 0.43–0.75×
//! before the lanes and vector passes below); bit-unpacking decodes a value in 0.5–0.9 ns. Its decoder runs
//! two passes (each value's bin, from a per-thread table of 2^L slot entries; then its value,
//! from a table of the node's bins); the lanes share one word stream. In the scalar loop of
//! four lanes the first pass retires about 20 instructions a value and is bound by them, not by
//! the lanes' shared stream (a layout with one stream per lane read no faster); the vector
//! loop over 16 or 32 lanes takes about 0.67 ns a value. The second costs about 1.3 ns a
//! value where bins have widths, 0.4–0.7 where the CPU has AVX-512 (eight values to a
//! vector, see `ans.rs`). That is why it is not the default: reads cost what the leaf holds in
//! values, not what it saves in bytes. The encoder divides by a reciprocal multiplication and
//! steps a chunk's lanes side by side; the planner skips a table log whose bits a bound shows
//! cannot beat the best (computed in the same rounding steps, so the choice is the same as
//! trying all).
//! [`Profile::TimeSeries`] adds delta-of-delta and Gorilla to the candidates.
//! [`EncodeOptions::scheme`] forces the top-level scheme. The chosen tree is returned as a
//! [`Cascade`] for `inspect`.
//!
//! # Bad bytes
//!
//! Every decoder checks bounds, counts (against [`Limits`]), widths, codes and positions and
//! returns [`CodecError`]; none panics, reads out of bounds, or allocates from a length field
//! before checking it against the bytes present or the limit.
//!
//! The only `unsafe` code calls two of ALP's loops (the digits' conversion to doubles on
//! decode, the round-trip check on encode) in copies compiled for AVX2 where the CPU has it
//! (detected at run time), with the same results bit for bit as the baseline copies: the
//! round-trip check one IEEE division a value, four to a vector; the decode (with FMA too) a
//! multiplication by `1/10^k` and two fused multiply-adds that correct it to the correctly
//! rounded quotient for `k <= 15` (the argument is at `divide_by_power_of_ten`; tests compare
//! it with the division), a division above that; and ALP-RD's decoding loop (a
//! dictionary entry by a shift per lane, above each right part), in a copy compiled for AVX2
//! the same way; and [`spread`], which moves a nullable block's packed values onto their
//! valid rows with AVX-512's expanding loads where the CPU has them (the counts checked first); and the sampler's minimum and maximum of a
//! node's values, in a copy compiled for AVX-512 (unsigned 64-bit vector minima) where the
//! CPU has it; and sequentially packed values (a block's tail past its last 1,024-value
//! chunk, every value of a shorter block), unpacked eight at a time by a byte permutation
//! where the CPU has AVX-512 VBMI (masked loads, so no byte past the packed words is read);
//! and the `ans` leaf's second pass (each value's offset and base, eight to a vector) where the
//! CPU has AVX-512, each group's 64-byte load taken from a bounds-checked window.
//!
//! ```
//! use strata_codec::{EncodeOptions, Profile, decode_i64, encode_i64};
//!
//! let ts: Vec<i64> = (0..1024).map(|i| 1_700_000_000_000 + i * 1000).collect();
//! let opts = EncodeOptions { profile: Profile::TimeSeries, ..EncodeOptions::default() };
//! let enc = encode_i64(&ts, &opts)?;
//! assert!(enc.bytes.len() < 64);
//! assert_eq!(decode_i64(&enc.bytes)?, ts);
//! println!("{}", enc.cascade); // e.g. delta2(constant)
//! # Ok::<(), strata_codec::CodecError>(())
//! ```
#![deny(unsafe_code)]

mod ans;
mod bitpack;
mod bytes;
mod cascade;
mod distinct;
mod error;
mod float;
mod int;
mod io;
mod sample;
mod spread;

pub use cascade::{Cascade, Scheme};
pub use distinct::{DistinctSet, count_distinct};
pub use error::{CodecError, Result};
pub use spread::{Lane, spread};

use int::{Ctx, flip_i64, unflip_i64};

/// A xorshift64 generator for the unit tests' random inputs.
#[cfg(test)]
pub(crate) fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}
use io::Reader;

/// Version byte written at the start of every buffer.
pub const CODEC_VERSION: u8 = 1;

/// Default cap on the values one buffer may claim to hold (16 Mi).
pub const MAX_VALUES: usize = 1 << 24;

/// Encoder profile: which candidates the sampler considers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// Analytics columns: frame of reference, patching, delta, RLE, dictionary, ALP, FSST, LZ4.
    #[default]
    General,
    /// Time-series columns: also delta-of-delta for timestamps and Gorilla for floats.
    TimeSeries,
}

/// How to encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Candidate set for the sampler.
    pub profile: Profile,
    /// Force the top-level scheme (children are still sampled). A scheme that cannot apply to the
    /// value kind is an [`CodecError::InvalidRequest`]; one that cannot apply to these particular
    /// values (delta of a single value, say) falls back to plain.
    pub scheme: Option<Scheme>,
    /// Cascade levels allowed (1 = no cascading). Clamped to 1..=3.
    pub max_depth: u8,
    /// Let the sampler consider the entropy-coded leaf ([`Scheme::Ans`]) for integer nodes.
    /// Off by default, so that buffers written today stay byte-identical; every decoder reads
    /// the scheme either way, and [`EncodeOptions::scheme`] can force it regardless.
    pub entropy: bool,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        Self {
            profile: Profile::General,
            scheme: None,
            max_depth: 3,
            entropy: false,
        }
    }
}

impl EncodeOptions {
    fn ctx(&self) -> Ctx {
        Ctx {
            depth: self.max_depth.clamp(1, 3),
            profile: self.profile,
            entropy: self.entropy,
        }
    }
}

/// Decoder limits, guarding allocations against corrupt counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest count any node may claim.
    pub max_values: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_values: MAX_VALUES,
        }
    }
}

/// An encoded buffer and the cascade chosen for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The self-describing bytes.
    pub bytes: Vec<u8>,
    /// The cascade the encoder chose.
    pub cascade: Cascade,
}

/// Decoded byte strings: `offsets` has one more entry than there are values, starting at 0.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ByteValues {
    /// `offsets[i]..offsets[i + 1]` is value `i` in `data`.
    pub offsets: Vec<u64>,
    /// The concatenated values.
    pub data: Vec<u8>,
}

impl ByteValues {
    /// Empty, with room for `n` values and `bytes` bytes.
    pub fn with_capacity(n: usize, bytes: usize) -> Self {
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0);
        Self {
            offsets,
            data: Vec::with_capacity(bytes),
        }
    }

    /// Builds from slices.
    pub fn from_slices<T: AsRef<[u8]>>(values: &[T]) -> Self {
        let mut out =
            Self::with_capacity(values.len(), values.iter().map(|v| v.as_ref().len()).sum());
        for v in values {
            out.push(v.as_ref());
        }
        out
    }

    /// Appends a value.
    pub fn push(&mut self, v: &[u8]) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        self.data.extend_from_slice(v);
        self.offsets.push(self.data.len() as u64);
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// True when there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Value `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let a = usize::try_from(*self.offsets.get(i)?).ok()?;
        let b = usize::try_from(*self.offsets.get(i + 1)?).ok()?;
        self.data.get(a..b)
    }

    /// Iterates over the values.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len()).map(|i| self.get(i).unwrap_or_default())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Kind {
    I64 = 1,
    U64 = 2,
    F64 = 3,
    Bool = 4,
    Bytes = 5,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::I64 => "i64",
            Kind::U64 => "u64",
            Kind::F64 => "f64",
            Kind::Bool => "bool",
            Kind::Bytes => "bytes",
        }
    }
    fn from_u8(v: u8) -> Option<Kind> {
        [Kind::I64, Kind::U64, Kind::F64, Kind::Bool, Kind::Bytes]
            .into_iter()
            .find(|k| *k as u8 == v)
    }
}

fn check_len(n: usize) -> Result<()> {
    if n > MAX_VALUES {
        return Err(CodecError::InvalidRequest(format!(
            "{n} values in one block; the limit is {MAX_VALUES}"
        )));
    }
    Ok(())
}

fn check_int_scheme(s: Option<Scheme>, kind: Kind) -> Result<()> {
    match s {
        Some(s @ (Scheme::Alp | Scheme::AlpRd | Scheme::Gorilla | Scheme::Fsst)) => Err(
            CodecError::InvalidRequest(format!("scheme {s} does not apply to {}", kind.name())),
        ),
        _ => Ok(()),
    }
}

fn start(kind: Kind) -> Vec<u8> {
    vec![CODEC_VERSION, kind as u8]
}

fn encode_ints(values: &[u64], kind: Kind, opts: &EncodeOptions) -> Result<Encoded> {
    check_len(values.len())?;
    check_int_scheme(opts.scheme, kind)?;
    let mut bytes = start(kind);
    let cascade = int::encode(values, opts.ctx(), opts.scheme, &mut bytes);
    let whole = Encoded { bytes, cascade };
    if kind == Kind::Bool || !tries_parts(values.len(), opts) {
        return Ok(whole);
    }
    Ok(smaller_in_parts(whole, kind, |hint, out| {
        int::encode_parts(values, opts.ctx(), Some(hint), out)
    }))
}

/// Whether a buffer of `n` values is also encoded as a `parts` node (runs of 1024 values, each
/// along the buffer's cascade with its own parameters) and the smaller kept: every integer (not
/// boolean) and float buffer of at least two runs whose scheme is not forced.
fn tries_parts(n: usize, opts: &EncodeOptions) -> bool {
    opts.scheme.is_none() && n >= 2 * int::PART
}

/// [`tries_parts`] for a block following `cascade`: only where the block it follows was in
/// parts. Where parts did not pay on the searched block, they rarely pay on the blocks that
/// follow it, and trying them on every block cost a fifth of a float table's write speed
/// (Beijing); the next search tries them again.
fn tries_parts_following(n: usize, opts: &EncodeOptions, cascade: &Cascade) -> bool {
    tries_parts(n, opts) && cascade.scheme == Scheme::Parts
}

/// `whole`, or the buffer in parts that `parted` writes when that is smaller. Runs follow
/// `whole`'s cascade (the hint `parted` gets), a fraction of the cost of searching each run.
/// The parts' cascade keeps `whole`'s, which a block following it follows
/// ([`Cascade::followed`]): runs are refitted block by block, never followed run by run (a run's
/// cascade fits that run's phase of the data; following it drifted sizes up by 0.5-2 % on the
/// shared tables).
fn smaller_in_parts(
    whole: Encoded,
    kind: Kind,
    parted: impl FnOnce(&[Cascade], &mut Vec<u8>) -> Cascade,
) -> Encoded {
    let mut bytes = start(kind);
    let mut cascade = parted(std::slice::from_ref(&whole.cascade), &mut bytes);
    if bytes.len() < whole.bytes.len() {
        cascade.whole = Some(std::sync::Arc::new(whole.cascade));
        Encoded { bytes, cascade }
    } else {
        whole
    }
}

/// Encodes signed integers (also timestamps and dates).
pub fn encode_i64(values: &[i64], opts: &EncodeOptions) -> Result<Encoded> {
    let flipped: Vec<u64> = values.iter().map(|&v| flip_i64(v)).collect();
    encode_ints(&flipped, Kind::I64, opts)
}

/// Encodes unsigned integers.
pub fn encode_u64(values: &[u64], opts: &EncodeOptions) -> Result<Encoded> {
    encode_ints(values, Kind::U64, opts)
}

/// Encodes signed integers along `cascade`, the cascade of an earlier, similar block (usually
/// the previous block of the same column): the same scheme at every node, with its parameters
/// (widths, references, dictionaries) derived from `values`, and no scheme search. Much
/// cheaper than [`encode_i64`]; always a valid encoding, though not necessarily the smallest.
/// Nodes that do not apply to integers are chosen by sampling.
pub fn encode_i64_following(
    values: &[i64],
    opts: &EncodeOptions,
    cascade: &Cascade,
) -> Result<Encoded> {
    let flipped: Vec<u64> = values.iter().map(|&v| flip_i64(v)).collect();
    encode_ints_following(&flipped, Kind::I64, opts, cascade)
}

/// [`encode_i64_following`] for unsigned integers.
pub fn encode_u64_following(
    values: &[u64],
    opts: &EncodeOptions,
    cascade: &Cascade,
) -> Result<Encoded> {
    encode_ints_following(values, Kind::U64, opts, cascade)
}

fn encode_ints_following(
    values: &[u64],
    kind: Kind,
    opts: &EncodeOptions,
    cascade: &Cascade,
) -> Result<Encoded> {
    check_len(values.len())?;
    let mut bytes = start(kind);
    let hint = cascade;
    let cascade = int::encode_following(values, opts.ctx(), hint.followed(), &mut bytes);
    let whole = Encoded { bytes, cascade };
    if kind == Kind::Bool || !tries_parts_following(values.len(), opts, hint) {
        return Ok(whole);
    }
    Ok(smaller_in_parts(whole, kind, |hint, out| {
        int::encode_parts(values, opts.ctx(), Some(hint), out)
    }))
}

/// Encodes booleans (validity bitmaps included) as 0/1 through the integer schemes: bit-packing
/// at width 1 is a bitmap, runs become RLE, all-valid becomes constant.
pub fn encode_bool(values: &[bool], opts: &EncodeOptions) -> Result<Encoded> {
    let ints: Vec<u64> = values.iter().map(|&b| u64::from(b)).collect();
    encode_ints(&ints, Kind::Bool, opts)
}

/// Encodes doubles, bit-exact.
pub fn encode_f64(values: &[f64], opts: &EncodeOptions) -> Result<Encoded> {
    check_len(values.len())?;
    if let Some(s @ Scheme::Fsst) = opts.scheme {
        return Err(CodecError::InvalidRequest(format!(
            "scheme {s} does not apply to f64"
        )));
    }
    let mut bytes = start(Kind::F64);
    let cascade = float::encode(values, opts.ctx(), opts.scheme, &mut bytes);
    let whole = Encoded { bytes, cascade };
    // Float runs follow the block's ALP cascade even after a search (their own exponents,
    // digits sampled): on the float series of the codec suite that is as small as searching
    // each run (18.720 against 18.718 bits a value) at two thirds of the time.
    if !tries_parts(values.len(), opts) || whole.cascade.scheme != Scheme::Alp {
        return Ok(whole);
    }
    Ok(smaller_in_parts(whole, Kind::F64, |hint, out| {
        float::encode_parts(values, opts.ctx(), Some(hint), false, out)
    }))
}

/// Encodes doubles along `cascade`, the cascade of an earlier, similar block (usually the
/// previous block of the same column): an ALP cascade keeps ALP without comparing it with the
/// other float schemes on the raw bit patterns (most of the cost of [`encode_f64`]); the ALP
/// exponents are searched from the cascade's, and the digits' cascade is chosen for these
/// values. Always a valid, bit-exact
/// encoding, though not necessarily the smallest. Other cascades, and values that ALP no longer
/// fits, are encoded as [`encode_f64`] would.
pub fn encode_f64_following(
    values: &[f64],
    opts: &EncodeOptions,
    cascade: &Cascade,
) -> Result<Encoded> {
    check_len(values.len())?;
    let mut bytes = start(Kind::F64);
    let hint = cascade;
    let cascade = float::encode_following(values, opts.ctx(), hint.followed(), &mut bytes);
    let whole = Encoded { bytes, cascade };
    // Runs follow an ALP cascade all the way down here (their own exponents, digits along its
    // digit cascade); following any other float cascade is a full search per run, for
    // little: not tried.
    if !tries_parts_following(values.len(), opts, hint) || whole.cascade.scheme != Scheme::Alp {
        return Ok(whole);
    }
    Ok(smaller_in_parts(whole, Kind::F64, |hint, out| {
        float::encode_parts(values, opts.ctx(), Some(hint), true, out)
    }))
}

/// Encodes byte strings (UTF-8 or binary).
pub fn encode_bytes<T: AsRef<[u8]>>(values: &[T], opts: &EncodeOptions) -> Result<Encoded> {
    check_len(values.len())?;
    match opts.scheme {
        None | Some(Scheme::Plain | Scheme::Dictionary | Scheme::Fsst | Scheme::Lz4) => {}
        Some(s) => {
            return Err(CodecError::InvalidRequest(format!(
                "scheme {s} does not apply to bytes"
            )));
        }
    }
    let slices: Vec<&[u8]> = values.iter().map(AsRef::as_ref).collect();
    let mut bytes = start(Kind::Bytes);
    let cascade = bytes::encode(&slices, opts.ctx(), opts.scheme, &mut bytes)?;
    Ok(Encoded { bytes, cascade })
}

/// Encodes byte strings along `cascade`, what an earlier, similar block chose
/// ([`Encoded::cascade`]): an FSST block reuses that block's symbol table instead of training
/// one (training is most of the cost of writing a string block), other schemes skip the search
/// at the top. The result is always a valid encoding of `values`, though not necessarily the
/// smallest; a caller compares its size with the earlier block's (the format's scheme memory
/// does). A scheme forced by `opts` wins over the cascade.
pub fn encode_bytes_following<T: AsRef<[u8]>>(
    values: &[T],
    opts: &EncodeOptions,
    cascade: &Cascade,
) -> Result<Encoded> {
    if opts.scheme.is_some() {
        return encode_bytes(values, opts);
    }
    check_len(values.len())?;
    let slices: Vec<&[u8]> = values.iter().map(AsRef::as_ref).collect();
    let mut bytes = start(Kind::Bytes);
    let cascade = bytes::encode_following(&slices, opts.ctx(), cascade, &mut bytes)?;
    Ok(Encoded { bytes, cascade })
}

fn open(buf: &[u8], kind: Kind) -> Result<Reader<'_>> {
    let mut r = Reader::new(buf);
    let version = r.u8()?;
    if version != CODEC_VERSION {
        return Err(CodecError::UnsupportedVersion {
            found: version,
            supported: CODEC_VERSION,
        });
    }
    let found = r.u8()?;
    if found != kind as u8 {
        return Err(CodecError::KindMismatch {
            expected: kind.name(),
            found: Kind::from_u8(found).map_or("unknown", Kind::name),
        });
    }
    Ok(r)
}

fn finish<T>(r: &Reader<'_>, v: T) -> Result<T> {
    if r.remaining() != 0 {
        return Err(error::corrupt(
            "buffer",
            format!("{} trailing bytes", r.remaining()),
        ));
    }
    Ok(v)
}

/// Number of values a buffer holds, read from its header without decoding.
pub fn value_count(buf: &[u8]) -> Result<usize> {
    let mut r = Reader::new(buf);
    r.take(3)?;
    r.count(u32::MAX as usize)
}

/// Decodes an [`encode_u64`] buffer with explicit limits.
pub fn decode_u64_with(buf: &[u8], limits: Limits) -> Result<Vec<u64>> {
    let mut r = open(buf, Kind::U64)?;
    let v = int::decode(&mut r, limits, 0, None)?;
    finish(&r, v)
}

/// Decodes an [`encode_u64`] buffer, appending its values to `out`; returns how many. On an
/// error `out` is left as it was.
pub fn decode_u64_into(buf: &[u8], limits: Limits, out: &mut Vec<u64>) -> Result<usize> {
    let base = out.len();
    let r = open(buf, Kind::U64).and_then(|mut r| {
        int::decode_into(&mut r, limits, 0, None, out)?;
        finish(&r, ())
    });
    undo_on_error(r, out, base)
}

/// Decodes an [`encode_i64`] buffer, appending each value's two's-complement bit pattern
/// (`v as u64`) to `out`, so a caller can keep signed and unsigned 64-bit columns in one kind
/// of buffer; returns how many. On an error `out` is left as it was.
pub fn decode_i64_bits_into(buf: &[u8], limits: Limits, out: &mut Vec<u64>) -> Result<usize> {
    let base = out.len();
    // Decoded with a bias of 2^63, which flips each value's sign bit back as it is written.
    let r = open(buf, Kind::I64).and_then(|mut r| {
        int::decode_biased(&mut r, limits, 0, None, out, SIGN_BIAS)?;
        finish(&r, ())
    });
    undo_on_error(r, out, base)
}

/// What [`unflip_i64`] adds to a value's bits (modulo 2^64, flipping the top bit is adding it).
const SIGN_BIAS: u64 = 1 << 63;

/// Decodes an [`encode_f64`] buffer, appending its values to `out`; returns how many. On an
/// error `out` is left as it was.
pub fn decode_f64_into(buf: &[u8], limits: Limits, out: &mut Vec<f64>) -> Result<usize> {
    let base = out.len();
    let r = open(buf, Kind::F64).and_then(|mut r| {
        float::decode(&mut r, limits, out)?;
        finish(&r, ())
    });
    undo_on_error(r, out, base)
}

/// The number of values appended since `base`, or the error with `out` cut back to `base`.
fn undo_on_error<T>(r: Result<()>, out: &mut Vec<T>, base: usize) -> Result<usize> {
    match r {
        Ok(()) => Ok(out.len().saturating_sub(base)),
        Err(e) => {
            out.truncate(base);
            Err(e)
        }
    }
}

/// Decodes an [`encode_u64`] buffer.
pub fn decode_u64(buf: &[u8]) -> Result<Vec<u64>> {
    decode_u64_with(buf, Limits::default())
}

/// Decodes an [`encode_i64`] buffer with explicit limits.
pub fn decode_i64_with(buf: &[u8], limits: Limits) -> Result<Vec<i64>> {
    let mut r = open(buf, Kind::I64)?;
    let v = int::decode(&mut r, limits, 0, None)?;
    finish(&r, v.into_iter().map(unflip_i64).collect())
}

/// Decodes an [`encode_i64`] buffer.
pub fn decode_i64(buf: &[u8]) -> Result<Vec<i64>> {
    decode_i64_with(buf, Limits::default())
}

/// Decodes an [`encode_bool`] buffer with explicit limits.
pub fn decode_bool_with(buf: &[u8], limits: Limits) -> Result<Vec<bool>> {
    let mut r = open(buf, Kind::Bool)?;
    let v = int::decode(&mut r, limits, 0, None)?;
    // One branch-free pass checks every value, so the conversion below can be a plain map.
    if v.iter().fold(0, |acc, &x| acc | x) > 1
        && let Some(other) = v.iter().find(|&&x| x > 1)
    {
        return Err(error::corrupt(
            "bool",
            format!("value {other} is not 0 or 1"),
        ));
    }
    let out: Vec<bool> = v.into_iter().map(|x| x == 1).collect();
    finish(&r, out)
}

/// Decodes an [`encode_bool`] buffer into a bitmap: value `i` is bit `i % 64` of word
/// `i / 64` (the layout of an Arrow boolean buffer on a little-endian machine); also returns
/// the number of values. Constant, run-length, width-1 bit-packed, miniblock (each 1024 values
/// constant or at width 1) and width-1 `packedlz4` nodes (what validities are) are decoded
/// straight into the words; other nodes a value a row, then packed.
pub fn decode_bool_words_with(buf: &[u8], limits: Limits) -> Result<(Vec<u64>, usize)> {
    let mut r = open(buf, Kind::Bool)?;
    if let Some(bits) = int::decode_bits(&mut r, limits)? {
        return finish(&r, bits);
    }
    let v = int::decode(&mut r, limits, 0, None)?;
    let mut words = Vec::with_capacity(v.len().div_ceil(64));
    let mut any_above_one = 0;
    for chunk in v.chunks(64) {
        let mut w = 0u64;
        for (i, &x) in chunk.iter().enumerate() {
            any_above_one |= x >> 1;
            w |= (x & 1) << i;
        }
        words.push(w);
    }
    if any_above_one != 0
        && let Some(other) = v.iter().find(|&&x| x > 1)
    {
        return Err(error::corrupt(
            "bool",
            format!("value {other} is not 0 or 1"),
        ));
    }
    finish(&r, (words, v.len()))
}

/// Decodes an [`encode_bool`] buffer.
pub fn decode_bool(buf: &[u8]) -> Result<Vec<bool>> {
    decode_bool_with(buf, Limits::default())
}

/// Decodes an [`encode_f64`] buffer with explicit limits.
pub fn decode_f64_with(buf: &[u8], limits: Limits) -> Result<Vec<f64>> {
    let mut r = open(buf, Kind::F64)?;
    let mut out = Vec::new();
    float::decode(&mut r, limits, &mut out)?;
    finish(&r, out)
}

/// Decodes an [`encode_f64`] buffer.
pub fn decode_f64(buf: &[u8]) -> Result<Vec<f64>> {
    decode_f64_with(buf, Limits::default())
}

/// Decodes an [`encode_bytes`] buffer with explicit limits.
pub fn decode_bytes_with(buf: &[u8], limits: Limits) -> Result<ByteValues> {
    let mut r = open(buf, Kind::Bytes)?;
    let v = bytes::decode(&mut r, limits, 0)?;
    finish(&r, v)
}

/// Decodes an [`encode_bytes`] buffer.
pub fn decode_bytes(buf: &[u8]) -> Result<ByteValues> {
    decode_bytes_with(buf, Limits::default())
}

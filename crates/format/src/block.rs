//! One block of one column: encoding, statistics, bloom filter, decoding.
//!
//! ```text
//! +-------+-------------------------------------+---------------+---------+
//! | flags | [validity len u32 | validity bytes] | values bytes  | crc32c  |
//! |  u8   |  only when flags & HAS_VALIDITY     | (to the CRC)  | u32 LE  |
//! +-------+-------------------------------------+---------------+---------+
//! ```
//!
//! The validity bitmap (`true` = valid) is a codec `bool` buffer, written only when the block
//! has nulls. The values buffer holds the non-null values only: integers, timestamps and dates
//! as `i64`, unsigned as `u64`, `f64` as is, `f32` through `f64` when that is bit-exact for the
//! whole block and otherwise as `u32` bit patterns (flag `F32_BITS`), strings and binaries as
//! byte strings, booleans as bools, and symbols as `u32` codes into the segment's dictionary.
//! With flag `ZSTD_VALUES` (format 3.3) the values bytes are `raw length u32 LE | zstd frame`
//! of that codec buffer, written where the frame saves an eighth ([`BlockOptions::zstd_level`]).
//! The CRC32C covers every byte before it.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowPrimitiveType, Date32Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, DictionaryArray, StringArray};
use strata_codec::EncodeOptions;

use crate::bloom::{BloomFilter, hash_bytes, hash_f64, hash_i64, hash_u64};
use crate::decode::{ColumnSink, DecodedBlock, Rows};
use crate::derive::{self, Deriver};
use crate::error::{FormatError, Result};
use crate::schema::{DataType, Field, SymbolAs, TimeUnit};
use crate::stats::{self, ColumnStats};

/// Default rows per block: the smallest unit a read decodes, and the span of one block's
/// statistics, bloom filter and codec choice.
///
/// 4096 since format 3.2 (2048 from 3.1, 1024 before). A block's fixed costs (header,
/// checksum, cascade header, codec dispatch, sink setup) are paid less often, so full reads are
/// faster and segments smaller; what longer blocks cost numeric columns (one cascade and ALP
/// exponent for values that change every thousand rows: bursty float series were up to 7 %
/// larger at 4096 than at 2048) the codec's `parts` node takes back, keeping a cascade per
/// 1024 values where that is smaller (docs/benchmarks.md, "Parts" section). A narrow
/// time-range scan decodes up to a block more at each end.
pub const DEFAULT_BLOCK_ROWS: usize = 4096;

/// Default byte limit of string min/max statistics.
pub const DEFAULT_STATS_PREFIX: usize = 32;

pub(crate) const HAS_VALIDITY: u8 = 0x01;
pub(crate) const F32_BITS: u8 = 0x02;
/// The values buffer is `raw length u32 LE | a zstd frame` of the codec buffer (format 3.3).
pub(crate) const ZSTD_VALUES: u8 = 0x04;
/// The values bytes are the exceptions to the column's derivation table (format 3.5; see
/// `derive.rs`).
pub(crate) const DERIVED: u8 = 0x08;
pub(crate) const KNOWN_FLAGS: u8 = HAS_VALIDITY | F32_BITS | ZSTD_VALUES | DERIVED;

/// Default zstd level of the general-purpose stage over a block's values
/// ([`BlockOptions::zstd_level`]).
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;

/// Values buffers shorter than this are never compressed: a frame's header and the decoder's
/// set-up cost more than such a buffer can save.
pub(crate) const ZSTD_MIN_BYTES: usize = 256;

/// A compressed values buffer is kept only when it is at most this fraction (in sixteenths) of
/// the codec's buffer: decompressing costs 1-2 ns a byte on a read, which a few per cent fewer
/// bytes do not repay. Measured on the segment suite (docs/benchmarks.md): keeping frames that
/// save a sixteenth made bts 8.6 % smaller and its full read 0.74x as fast; an eighth, 8.2 %
/// and 0.84x; a quarter, nothing (its airport codes save 18 %).
const ZSTD_KEEP_SIXTEENTHS: usize = 14;

/// Largest ratio of a values buffer to its compressed frame that a reader accepts (and the
/// writer keeps): what a reader allocates before decompressing is bounded by the bytes it read.
pub(crate) const ZSTD_MAX_RATIO: usize = 64;

/// When blocks get a bloom filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BloomPolicy {
    /// When it pays off: not booleans, floats or symbols; at least
    /// [`BlockOptions::bloom_min_distinct`] distinct values; integers only when sparse in their
    /// range; and the filter at most a quarter of the block's encoded bytes.
    #[default]
    Auto,
    /// Every non-boolean block with a value.
    Always,
    /// Never.
    Never,
}

/// How blocks are encoded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockOptions {
    /// Rows per block (the last block of a segment may hold fewer).
    pub block_rows: usize,
    /// Codec options for every buffer.
    pub encode: EncodeOptions,
    /// Byte limit of string min/max.
    pub stats_prefix: usize,
    /// Bloom filter policy.
    pub bloom: BloomPolicy,
    /// Target false-positive rate of bloom filters.
    pub bloom_fpp: f64,
    /// Fewest distinct values for which [`BloomPolicy::Auto`] builds a filter.
    pub bloom_min_distinct: u64,
    /// zstd level of the general-purpose stage over each block's values buffer (format 3.3),
    /// or `None` for none. The codec's buffer is compressed when it has at least 256 bytes and
    /// kept compressed when that saves at least an eighth; a column whose blocks stop
    /// paying is tried again after a back-off of up to 16 blocks. The stage finds what the
    /// light-weight schemes of one block cannot model: skewed byte distributions of codes and
    /// repeated sequences (a daily schedule of airports).
    pub zstd_level: Option<i32>,
    /// Store an integer, date or timestamp column that one or two symbol columns, or one
    /// integer, date or timestamp column, determine as its exceptions to a per-segment table,
    /// or one that is the sum of one or two other such columns as its residuals (formats 3.5
    /// and 3.6; found on a segment's first stripe, see `derive.rs`). Only
    /// [`SegmentFileWriter::write_stripe`] and [`SegmentFileWriter::write_batch`] derive; [`SegmentFileWriter::write_block`] never does.
    ///
    /// [`SegmentFileWriter::write_stripe`]: crate::SegmentFileWriter::write_stripe
    /// [`SegmentFileWriter::write_batch`]: crate::SegmentFileWriter::write_batch
    /// [`SegmentFileWriter::write_block`]: crate::SegmentFileWriter::write_block
    pub derive: bool,
    /// Rows the segment will hold, where the writer knows them (a flush, a merge; see
    /// [`Self::for_segment_rows`]); `None` for a writer that streams. A derivation table's
    /// cost in the footer is shared among the segment's blocks: in a segment of one block,
    /// the block alone must pay for it.
    pub segment_rows: Option<u64>,
}

impl Default for BlockOptions {
    fn default() -> Self {
        Self {
            block_rows: DEFAULT_BLOCK_ROWS,
            encode: EncodeOptions::default(),
            stats_prefix: DEFAULT_STATS_PREFIX,
            bloom: BloomPolicy::Auto,
            bloom_fpp: 0.01,
            bloom_min_distinct: 3,
            zstd_level: Some(DEFAULT_ZSTD_LEVEL),
            derive: true,
            segment_rows: None,
        }
    }
}

impl BlockOptions {
    /// Rows per block for a segment of `rows` rows: [`Self::block_rows`], or all of them in one
    /// block where they are at most half as many again (5,844 rows: one block instead of
    /// 4,096 and 1,748). A short last block pays a block's fixed costs (header, cascade,
    /// frame, footer entry, decoder set-up) for few rows: Beijing as 72 segments of 5,844 rows
    /// read in 15.1 ms with a short block each, 14.8 ms without. Longer segments keep
    /// `block_rows`: equal blocks that are not multiples of 1,024 rows (the codec's runs,
    /// chunks and miniblocks) read slower and were larger (one Beijing segment in blocks of
    /// 4,126 rows: +1.2 % bytes, about 6 % slower). Blocks are never made smaller, so a writer
    /// that knows its row count (a flush, a merge) can take this without changing what else
    /// it writes.
    pub fn block_rows_for(&self, rows: u64) -> usize {
        let b = self.block_rows.max(1);
        match usize::try_from(rows) {
            Ok(rows) if rows > b && rows <= b + b / 2 && rows <= strata_codec::MAX_VALUES => rows,
            _ => b,
        }
    }

    /// These options for a segment of `rows` rows: blocks of [`Self::block_rows_for`] rows,
    /// and [`Self::segment_rows`] set.
    #[must_use]
    pub fn for_segment_rows(mut self, rows: u64) -> Self {
        self.block_rows = self.block_rows_for(rows);
        self.segment_rows = Some(rows);
        self
    }

    /// Blocks a segment of [`Self::segment_rows`] rows holds, where they are known.
    pub(crate) fn segment_blocks(&self) -> Option<usize> {
        let rows = usize::try_from(self.segment_rows?).ok()?;
        Some(rows.div_ceil(self.block_rows.max(1)).max(1))
    }
}

/// A block ready to be appended to a segment.
#[derive(Debug, Clone)]
pub struct EncodedBlock {
    /// The block's bytes, CRC32C included.
    pub bytes: Vec<u8>,
    /// Its statistics.
    pub stats: ColumnStats,
    /// Its bloom filter, if one paid off.
    pub bloom: Option<BloomFilter>,
    /// The shape of the codec cascade of the values buffer (schemes, no parameters: see
    /// `Cascade::shape`), for `inspect`.
    pub cascade: String,
    /// Rows in the block.
    pub rows: usize,
}

/// The dictionary of a symbol column, shared by all blocks of a segment.
#[derive(Debug, Clone, Default)]
pub struct SymbolDictionary {
    values: Vec<Vec<u8>>,
    codes: HashMap<Vec<u8>, u32, xxhash_rust::xxh64::Xxh64Builder>,
    /// Codes of the keys of the Arrow dictionary last written (see [`KeyCodes`]).
    keys: Option<KeyCodes>,
}

/// Maps the keys of one Arrow dictionary's values array to codes of a [`SymbolDictionary`],
/// filled as keys are first seen. Blocks whose arrays share that values array (every block
/// read from one segment, every batch of a merge) then cost one array lookup per row and one
/// interning per distinct value in total, instead of a hash of every row's bytes.
#[derive(Debug, Clone)]
struct KeyCodes {
    /// The values array (held, so its address identifies it).
    values: ArrayRef,
    /// Code per key, [`NO_CODE`] until seen.
    codes: Vec<u32>,
    /// Block number in which each key was last seen (distinct counting without clearing).
    seen_in: Vec<u32>,
    block: u32,
}

const NO_CODE: u32 = u32::MAX;

/// Largest Arrow dictionary mapped through [`KeyCodes`] (8 bytes of map per value).
const MAX_KEY_CODES: usize = 1 << 16;

impl SymbolDictionary {
    /// An empty dictionary.
    pub fn new() -> Self {
        Self::default()
    }

    /// The code of `v`, adding it if new.
    pub fn intern(&mut self, v: &[u8]) -> Result<u32> {
        if let Some(&c) = self.codes.get(v) {
            return Ok(c);
        }
        let c = u32::try_from(self.values.len())
            .ok()
            .filter(|&c| c < i32::MAX as u32)
            .ok_or_else(|| FormatError::InvalidArgument("symbol dictionary is full".into()))?;
        self.values.push(v.to_vec());
        self.codes.insert(v.to_vec(), c);
        Ok(c)
    }

    /// The values, in code order.
    pub fn values(&self) -> &[Vec<u8>] {
        &self.values
    }

    /// Number of distinct symbols.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The values, consuming the dictionary.
    pub fn into_values(self) -> Vec<Vec<u8>> {
        self.values
    }
}

fn mismatch(field: &Field, array: &dyn Array) -> FormatError {
    FormatError::SchemaMismatch(format!(
        "column {:?} of type {} got an Arrow array of type {}",
        field.name,
        field.data_type,
        array.data_type()
    ))
}

fn codec(e: strata_codec::CodecError) -> FormatError {
    FormatError::Codec {
        column: 0,
        block: 0,
        source: e,
    }
}

fn prim<T: ArrowPrimitiveType>(field: &Field, a: &dyn Array) -> Result<Vec<T::Native>> {
    let p = a
        .as_primitive_opt::<T>()
        .ok_or_else(|| mismatch(field, a))?;
    Ok(p.iter().flatten().collect())
}

fn signed_values(field: &Field, a: &dyn Array) -> Result<Vec<i64>> {
    let widen = |v: Vec<_>| v.into_iter().map(i64::from).collect::<Vec<i64>>();
    Ok(match &field.data_type {
        DataType::Int8 => widen(
            prim::<Int8Type>(field, a)?
                .into_iter()
                .map(i32::from)
                .collect(),
        ),
        DataType::Int16 => widen(
            prim::<Int16Type>(field, a)?
                .into_iter()
                .map(i32::from)
                .collect(),
        ),
        DataType::Int32 => widen(prim::<Int32Type>(field, a)?),
        DataType::Date32 => widen(prim::<Date32Type>(field, a)?),
        DataType::Int64 => prim::<Int64Type>(field, a)?,
        DataType::Timestamp(unit, _) => {
            if a.data_type() != &field.data_type.to_arrow(SymbolAs::Dictionary) {
                return Err(mismatch(field, a));
            }
            match unit {
                TimeUnit::Second => prim::<TimestampSecondType>(field, a)?,
                TimeUnit::Millisecond => prim::<TimestampMillisecondType>(field, a)?,
                TimeUnit::Microsecond => prim::<TimestampMicrosecondType>(field, a)?,
                TimeUnit::Nanosecond => prim::<TimestampNanosecondType>(field, a)?,
            }
        }
        _ => return Err(mismatch(field, a)),
    })
}

fn unsigned_values(field: &Field, a: &dyn Array) -> Result<Vec<u64>> {
    Ok(match &field.data_type {
        DataType::UInt8 => prim::<UInt8Type>(field, a)?
            .into_iter()
            .map(u64::from)
            .collect(),
        DataType::UInt16 => prim::<UInt16Type>(field, a)?
            .into_iter()
            .map(u64::from)
            .collect(),
        DataType::UInt32 => prim::<UInt32Type>(field, a)?
            .into_iter()
            .map(u64::from)
            .collect(),
        DataType::UInt64 => prim::<UInt64Type>(field, a)?,
        _ => return Err(mismatch(field, a)),
    })
}

/// Non-null byte values of a string, binary or symbol array.
fn byte_values<'a>(field: &Field, a: &'a dyn Array) -> Result<Vec<&'a [u8]>> {
    if let Some(s) = a.as_string_opt::<i32>()
        && matches!(field.data_type, DataType::Utf8 | DataType::Symbol)
    {
        return Ok(s.iter().flatten().map(str::as_bytes).collect());
    }
    if let Some(s) = a.as_string_opt::<i64>()
        && matches!(field.data_type, DataType::LargeUtf8 | DataType::Symbol)
    {
        return Ok(s.iter().flatten().map(str::as_bytes).collect());
    }
    if let Some(s) = a.as_binary_opt::<i32>()
        && field.data_type == DataType::Binary
    {
        return Ok(s.iter().flatten().collect());
    }
    if field.data_type == DataType::Symbol
        && let Some(d) = a.as_dictionary_opt::<Int32Type>()
    {
        {
            let values = d
                .values()
                .as_string_opt::<i32>()
                .ok_or_else(|| mismatch(field, a))?;
            let mut out = Vec::with_capacity(d.len());
            for k in d.keys().iter().flatten() {
                let v = usize::try_from(k)
                    .ok()
                    .filter(|&k| k < values.len())
                    .ok_or_else(|| {
                        FormatError::InvalidArgument(format!("dictionary key {k} out of range"))
                    })?;
                if values.is_null(v) {
                    return Err(FormatError::InvalidArgument(format!(
                        "column {:?}: dictionary value {v} is null",
                        field.name
                    )));
                }
                out.push(values.value(v).as_bytes());
            }
            return Ok(out);
        }
    }
    Err(mismatch(field, a))
}

/// A derivable (integer, date, timestamp) column's non-null values as `u64` bits, and its
/// validity when it has nulls: what derivation detection looks at.
pub(crate) fn derivable_values(
    field: &Field,
    a: &dyn Array,
) -> Result<(Vec<u64>, Option<Vec<bool>>)> {
    let bits = if derive::signed(&field.data_type) {
        signed_values(field, a)?
            .into_iter()
            .map(|x| x as u64)
            .collect()
    } else {
        unsigned_values(field, a)?
    };
    Ok((bits, validity(field, a)?))
}

/// Null count of the array as seen by a reader (a dictionary's null keys are its nulls).
fn validity(field: &Field, a: &dyn Array) -> Result<Option<Vec<bool>>> {
    let nulls = a.logical_nulls();
    match nulls {
        Some(n) if n.null_count() > 0 => {
            if !field.nullable {
                return Err(FormatError::SchemaMismatch(format!(
                    "column {:?} is not nullable but the array has {} nulls",
                    field.name,
                    n.null_count()
                )));
            }
            Ok(Some(n.iter().collect()))
        }
        _ => Ok(None),
    }
}

/// A hasher for keys that are already well-mixed 64-bit hashes.
#[derive(Default)]
struct PassThrough(u64);

impl std::hash::Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// The codes of `values` in `dict`, new values interned in order of first appearance (exactly
/// as interning row by row would). A repeat within the block is recognised by its hash (already
/// computed for the statistics) and one comparison, so the segment dictionary, which hashes
/// its keys again, is consulted once per distinct value of the block. Also returns the number of
/// distinct hashes, which is what [`distinct_count`] would give.
fn intern_all(
    dict: &mut SymbolDictionary,
    values: &[&[u8]],
    hashes: &[u64],
) -> Result<(Vec<u64>, u64)> {
    let mut seen: HashMap<u64, (usize, u32), std::hash::BuildHasherDefault<PassThrough>> =
        HashMap::with_capacity_and_hasher(64, Default::default());
    let mut codes = Vec::with_capacity(values.len());
    for (i, (v, h)) in values.iter().zip(hashes).enumerate() {
        let code = match seen.get(h) {
            Some(&(j, c)) if values.get(j) == Some(v) => c,
            // Another value with the same hash (rare): the dictionary decides.
            Some(_) => dict.intern(v)?,
            None => {
                let c = dict.intern(v)?;
                seen.insert(*h, (i, c));
                c
            }
        };
        codes.push(u64::from(code));
    }
    Ok((codes, seen.len() as u64))
}

/// Symbol codes of the non-null rows of a dictionary-encoded block, and the distinct codes
/// (sorted), through the dictionary's [`KeyCodes`] for `d`'s values array.
fn codes_of_keys(
    field: &Field,
    dict: &mut SymbolDictionary,
    d: &DictionaryArray<Int32Type>,
) -> Result<(Vec<u64>, Vec<u32>)> {
    let values = d
        .values()
        .as_string_opt::<i32>()
        .ok_or_else(|| mismatch(field, d))?;
    let same = dict
        .keys
        .as_ref()
        .is_some_and(|k| std::ptr::addr_eq(Arc::as_ptr(&k.values), Arc::as_ptr(d.values())));
    let mut map = match dict.keys.take() {
        Some(mut k) if same => {
            k.block = k.block.wrapping_add(1);
            if k.block == 0 {
                k.seen_in.fill(u32::MAX);
            }
            k
        }
        _ => KeyCodes {
            values: Arc::clone(d.values()),
            codes: vec![NO_CODE; values.len()],
            seen_in: vec![u32::MAX; values.len()],
            block: 0,
        },
    };
    let mut codes = Vec::with_capacity(d.len());
    let mut distinct = Vec::new();
    let keys = d.keys();
    let mut result = Ok(());
    for (i, &k) in keys.values().iter().enumerate() {
        if keys.is_null(i) {
            continue;
        }
        let Some(ki) = usize::try_from(k).ok().filter(|&k| k < values.len()) else {
            result = Err(FormatError::InvalidArgument(format!(
                "dictionary key {k} out of range"
            )));
            break;
        };
        let mut code = map.codes[ki];
        if code == NO_CODE {
            if values.is_null(ki) {
                result = Err(FormatError::InvalidArgument(format!(
                    "column {:?}: dictionary value {ki} is null",
                    field.name
                )));
                break;
            }
            match dict.intern(values.value(ki).as_bytes()) {
                Ok(c) => code = c,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
            map.codes[ki] = code;
        }
        if map.seen_in[ki] != map.block {
            map.seen_in[ki] = map.block;
            distinct.push(code);
        }
        codes.push(u64::from(code));
    }
    dict.keys = Some(map);
    result?;
    // Two keys may hold the same value.
    distinct.sort_unstable();
    distinct.dedup();
    Ok((codes, distinct))
}

/// Number of distinct keys among `keys` (exactly `n` of them): exact, by linear probing with
/// Fibonacci hashing (a multiply and a shift per key; no hash function over bytes). Keys are
/// the values themselves for integers and floats and the xxh64 hashes for strings.
fn distinct_count(keys: impl IntoIterator<Item = u64>, n: usize) -> u64 {
    strata_codec::count_distinct(keys, n)
}

/// The key a float is counted distinct by: its bits, `-0.0` folded into `+0.0` (as the bloom
/// filter hashes it); every NaN bit pattern counts as a value of its own.
fn float_key(x: f64) -> u64 {
    if x == 0.0 { 0 } else { x.to_bits() }
}

/// Bytes a bloom filter for `distinct` values takes at the configured false-positive rate.
fn bloom_bytes(opts: &BlockOptions, distinct: u64) -> usize {
    let fpp = if opts.bloom_fpp.is_finite() {
        opts.bloom_fpp.clamp(1e-6, 0.5)
    } else {
        0.01
    };
    let bits = -8.0 * (distinct.max(1) as f64) / (1.0 - fpp.powf(1.0 / 8.0)).ln();
    ((bits / 256.0).ceil() as usize).max(1) * 32
}

/// Whether a block gets a bloom filter.
///
/// Under [`BloomPolicy::Auto`] a filter must pay for itself: never for booleans, floats or
/// symbols (a symbol column's segment dictionary already answers "absent"); for integers only
/// when the values are sparse in their range (at least 16× more room than distinct values, so
/// min/max alone would let most probes through); and in every case only when the filter costs
/// at most a quarter of the block's encoded bytes.
fn wants_bloom(
    opts: &BlockOptions,
    data_type: &DataType,
    distinct: u64,
    range: Option<u128>,
    encoded_len: usize,
) -> bool {
    if distinct == 0 || matches!(data_type, DataType::Boolean) {
        return false;
    }
    match opts.bloom {
        BloomPolicy::Never => false,
        BloomPolicy::Always => true,
        BloomPolicy::Auto => {
            if matches!(
                data_type,
                DataType::Float32 | DataType::Float64 | DataType::Symbol
            ) || distinct < opts.bloom_min_distinct
            {
                return false;
            }
            let sparse = range.is_none_or(|r| r >= 16 * u128::from(distinct));
            sparse && bloom_bytes(opts, distinct) * 4 <= encoded_len
        }
    }
}

fn bloom_of(opts: &BlockOptions, distinct: u64, hashes: &[u64]) -> BloomFilter {
    let mut f = BloomFilter::with_ndv_fpp(distinct, opts.bloom_fpp);
    for &h in hashes {
        f.insert_hash(h);
    }
    f
}

/// Encodes one block of a non-symbol column. For [`DataType::Symbol`] use [`encode_symbol_block`].
pub fn encode_block(field: &Field, array: &ArrayRef, opts: &BlockOptions) -> Result<EncodedBlock> {
    encode_inner(field, array.as_ref(), opts, None, None)
}

/// Encodes one block of a symbol column, interning its values in the segment's `dictionary`.
/// Accepts `Dictionary<Int32, Utf8>`, `Utf8` and `LargeUtf8` arrays.
pub fn encode_symbol_block(
    field: &Field,
    array: &ArrayRef,
    dictionary: &mut SymbolDictionary,
    opts: &BlockOptions,
) -> Result<EncodedBlock> {
    encode_inner(field, array.as_ref(), opts, Some(dictionary), None)
}

/// [`encode_block`] or [`encode_symbol_block`] (with `dict`), following the integer cascade
/// the column's previous block chose when `memory` allows (see [`SchemeMemory`]).
pub(crate) fn encode_inner(
    field: &Field,
    a: &dyn Array,
    opts: &BlockOptions,
    dict: Option<&mut SymbolDictionary>,
    memory: Option<&mut SchemeMemory>,
) -> Result<EncodedBlock> {
    encode_with(field, a, opts, dict, memory, Extras::default())
}

/// What a segment writer asks of a block's encoding besides the block (format 3.5's derived
/// columns): a symbol column's row codes, or a derivation to try.
#[derive(Default)]
pub(crate) struct Extras<'a> {
    /// Receives each row's symbol code plus one (0 for a null) of a symbol column.
    pub(crate) codes: Option<&'a mut Vec<u32>>,
    /// The column's derivation table and every row's key.
    pub(crate) derive: Option<(&'a mut Deriver, derive::RowKeys<'a>)>,
}

/// Each row's code plus one, 0 for a null row (`codes`: the non-null rows' codes).
fn row_codes_into(out: &mut Vec<u32>, codes: &[u64], valid: Option<&[bool]>) {
    out.clear();
    match valid {
        None => out.extend(codes.iter().map(|&c| c as u32 + 1)),
        Some(valid) => {
            let mut it = codes.iter();
            out.extend(valid.iter().map(|&v| {
                if v {
                    it.next().map_or(0, |&c| c as u32 + 1)
                } else {
                    0
                }
            }));
        }
    }
}

/// The block with [`Extras`].
pub(crate) fn encode_with(
    field: &Field,
    a: &dyn Array,
    opts: &BlockOptions,
    dict: Option<&mut SymbolDictionary>,
    memory: Option<&mut SchemeMemory>,
    extras: Extras<'_>,
) -> Result<EncodedBlock> {
    let Extras {
        codes: codes_out,
        derive,
    } = extras;
    let rows = a.len();
    if rows == 0 {
        return Err(FormatError::InvalidArgument(
            "a block needs at least one row".into(),
        ));
    }
    let u32_rows = u32::try_from(rows)
        .ok()
        .filter(|&r| r as usize <= strata_codec::MAX_VALUES);
    if u32_rows.is_none() {
        return Err(FormatError::InvalidArgument(format!(
            "{rows} rows in one block is too many"
        )));
    }
    let valid = validity(field, a)?;
    if let Some((deriver, keys)) = derive {
        // Stored against the table only where that is smaller than the block's own encoding
        // (a column in runs, such as a weekday beside a station, may be cheaper as it is). A
        // block the table covers whole, with no new entry, is a zero count: no encoding is
        // smaller, and the block's own is not tried.
        let derived = match encode_derived(field, a, opts, valid.as_deref(), deriver, keys)? {
            Some((mut block, d, values)) if d.covered => {
                (block.stats, block.bloom) = values.stats(opts, field, d.bytes.len());
                deriver.accept();
                return Ok(block);
            }
            other => other,
        };
        let own = encode_own(field, a, opts, dict, memory, codes_out, valid.as_deref())?;
        let Some((mut block, d, _)) = derived else {
            return Ok(own);
        };
        if block.bytes.len() + d.table_bytes < own.bytes.len() {
            // The same values' statistics, as the block's own encoding found them; its
            // bloom filter where it pays for the derived values' bytes too (as
            // `wants_bloom` decides: the shorter bytes the only condition that changes).
            let distinct = own.stats.distinct_count.unwrap_or(0);
            let keep_bloom = matches!(opts.bloom, BloomPolicy::Always)
                || bloom_bytes(opts, distinct) * 4 <= d.bytes.len();
            block.bloom = own.bloom.filter(|_| keep_bloom);
            block.stats = own.stats;
            deriver.accept();
            return Ok(block);
        }
        deriver.decline();
        return Ok(own);
    }
    encode_own(field, a, opts, dict, memory, codes_out, valid.as_deref())
}

/// The block encoded by its codec cascades (`valid`: its validity, `None` when every row is
/// valid).
fn encode_own(
    field: &Field,
    a: &dyn Array,
    opts: &BlockOptions,
    dict: Option<&mut SymbolDictionary>,
    mut memory: Option<&mut SchemeMemory>,
    mut codes_out: Option<&mut Vec<u32>>,
    valid: Option<&[bool]>,
) -> Result<EncodedBlock> {
    let rows = a.len();
    let eo = &opts.encode;
    let mut flags = 0u8;
    let mut bloom = None;
    // The zstd stage's outcome where the encoding was chosen with it (strings): `Some(frame)`.
    let mut decided: Option<Option<Vec<u8>>> = None;
    let (values, stats) = match &field.data_type {
        DataType::Boolean => {
            let b = a.as_boolean_opt().ok_or_else(|| mismatch(field, a))?;
            let v: Vec<bool> = b.iter().flatten().collect();
            (
                strata_codec::encode_bool(&v, eo).map_err(codec)?,
                stats::bool_stats(&v, rows),
            )
        }
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::Date32
        | DataType::Timestamp(..) => {
            let v = signed_values(field, a)?;
            let d = distinct_count(v.iter().map(|&x| x as u64), v.len());
            let enc = memory.as_deref_mut().map_or_else(
                || strata_codec::encode_i64(&v, eo),
                |m| {
                    m.encode(
                        v.len(),
                        FOLLOW_SLACK_INT,
                        || strata_codec::encode_i64(&v, eo),
                        |c| strata_codec::encode_i64_following(&v, eo, c),
                        None,
                    )
                },
            );
            let enc = enc.map_err(codec)?;
            let (st, b) = signed_stats(opts, field, &v, rows, d, enc.bytes.len());
            bloom = b;
            (enc, st)
        }
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
            let v = unsigned_values(field, a)?;
            let d = distinct_count(v.iter().copied(), v.len());
            let enc = encode_u64_remembering(&v, eo, memory.as_deref_mut()).map_err(codec)?;
            let (st, b) = unsigned_stats(opts, field, &v, rows, d, enc.bytes.len());
            bloom = b;
            (enc, st)
        }
        DataType::Float32 | DataType::Float64 => {
            let (wide, enc) = if field.data_type == DataType::Float32 {
                let v = prim::<Float32Type>(field, a)?;
                let wide: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
                // Signalling NaNs are quietened by the widening: then keep the raw bits.
                let exact = v
                    .iter()
                    .zip(&wide)
                    .all(|(x, w)| (*w as f32).to_bits() == x.to_bits());
                let enc = if exact {
                    encode_f64_remembering(&wide, eo, memory.as_deref_mut())
                } else {
                    flags |= F32_BITS;
                    let bits: Vec<u64> = v.iter().map(|x| u64::from(x.to_bits())).collect();
                    strata_codec::encode_u64(&bits, eo)
                };
                (wide, enc.map_err(codec)?)
            } else {
                let v = prim::<Float64Type>(field, a)?;
                let enc = encode_f64_remembering(&v, eo, memory.as_deref_mut()).map_err(codec)?;
                (v, enc)
            };
            let d = distinct_count(wide.iter().map(|&x| float_key(x)), wide.len());
            if wants_bloom(opts, &field.data_type, d, None, enc.bytes.len()) {
                let hashes: Vec<u64> = wide.iter().filter_map(|&x| hash_f64(x)).collect();
                bloom = Some(bloom_of(opts, d, &hashes));
            }
            (enc, stats::float_stats(&wide, rows, d))
        }
        DataType::Symbol
            if dict.is_some()
                && a.as_dictionary_opt::<Int32Type>()
                    .is_some_and(|d| d.values().len() <= MAX_KEY_CODES) =>
        {
            let (Some(dict), Some(d)) = (dict, a.as_dictionary_opt::<Int32Type>()) else {
                return Err(mismatch(field, a));
            };
            let (codes, distinct) = codes_of_keys(field, dict, d)?;
            if let Some(out) = codes_out.as_deref_mut() {
                row_codes_into(out, &codes, valid);
            }
            let enc = encode_u64_remembering(&codes, eo, memory.as_deref_mut()).map_err(codec)?;
            let values: Vec<&[u8]> = distinct
                .iter()
                .filter_map(|&c| dict.values().get(c as usize).map(Vec::as_slice))
                .collect();
            let n = values.len() as u64;
            let st = stats::bytes_stats(
                values.iter().copied(),
                codes.len(),
                rows,
                n,
                opts.stats_prefix,
            );
            if wants_bloom(opts, &field.data_type, n, None, enc.bytes.len()) {
                let hashes: Vec<u64> = values.iter().map(|v| hash_bytes(v)).collect();
                bloom = Some(bloom_of(opts, n, &hashes));
            }
            (enc, st)
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Binary | DataType::Symbol => {
            let v = byte_values(field, a)?;
            let hashes: Vec<u64> = v.iter().map(|x| hash_bytes(x)).collect();
            let (enc, d) = match (&field.data_type, dict) {
                (DataType::Symbol, Some(dict)) => {
                    // Interning counts the distinct hashes on the way.
                    let (codes, d) = intern_all(dict, &v, &hashes)?;
                    if let Some(out) = codes_out {
                        row_codes_into(out, &codes, valid);
                    }
                    (encode_u64_remembering(&codes, eo, memory.as_deref_mut()), d)
                }
                (DataType::Symbol, None) => {
                    return Err(FormatError::InvalidArgument(format!(
                        "column {:?} is a symbol column: use encode_symbol_block",
                        field.name
                    )));
                }
                _ => {
                    let enc =
                        encode_bytes_remembering(&v, eo, memory.as_deref_mut()).map_err(codec)?;
                    let (enc, frame) = match opts.zstd_level {
                        Some(level) => {
                            plain_strings_if_smaller(&v, eo, enc, level, memory.as_deref_mut())?
                        }
                        None => (enc, None),
                    };
                    decided = frame;
                    (
                        Ok(enc),
                        distinct_count(hashes.iter().copied(), hashes.len()),
                    )
                }
            };
            let st = stats::bytes_stats(v.iter().copied(), v.len(), rows, d, opts.stats_prefix);
            let enc = enc.map_err(codec)?;
            // The bytes the block will store: a filter is weighed against the frame, not the
            // plain strings it holds.
            let stored = match &decided {
                Some(Some(frame)) => frame.len(),
                _ => enc.bytes.len(),
            };
            if wants_bloom(opts, &field.data_type, d, None, stored) {
                bloom = Some(bloom_of(opts, d, &hashes));
            }
            (enc, st)
        }
    };
    let try_zstd = memory.as_deref_mut().is_none_or(SchemeMemory::zstd_due);
    let zstd = match opts.zstd_level {
        _ if decided.is_some() => decided.and_then(|frame| frame),
        Some(level) if try_zstd && values.bytes.len() >= ZSTD_MIN_BYTES => {
            let frame = compress_values(&values.bytes, level)?;
            if let Some(m) = memory {
                m.zstd_result(frame.is_some());
            }
            frame
        }
        _ => None,
    };
    if zstd.is_some() {
        flags |= ZSTD_VALUES;
    }
    let (payload, cascade) = match zstd {
        Some(frame) => (frame, format!("zstd({})", values.cascade.shape())),
        None => (values.bytes, values.cascade.shape()),
    };
    Ok(EncodedBlock {
        bytes: assemble(flags, valid, &payload, eo)?,
        stats,
        bloom,
        cascade,
        rows,
    })
}

/// Statistics of a signed block's values (`d` distinct) and its bloom filter, where one pays
/// against the `stored` bytes.
fn signed_stats(
    opts: &BlockOptions,
    field: &Field,
    v: &[i64],
    rows: usize,
    d: u64,
    stored: usize,
) -> (ColumnStats, Option<BloomFilter>) {
    let range = v
        .iter()
        .min()
        .zip(v.iter().max())
        .map(|(lo, hi)| (i128::from(*hi) - i128::from(*lo)) as u128);
    let bloom = wants_bloom(opts, &field.data_type, d, range, stored).then(|| {
        let hashes: Vec<u64> = v.iter().map(|&x| hash_i64(x)).collect();
        bloom_of(opts, d, &hashes)
    });
    (stats::int_stats(v, rows, d), bloom)
}

/// [`signed_stats`] of an unsigned block.
fn unsigned_stats(
    opts: &BlockOptions,
    field: &Field,
    v: &[u64],
    rows: usize,
    d: u64,
    stored: usize,
) -> (ColumnStats, Option<BloomFilter>) {
    let range = v
        .iter()
        .min()
        .zip(v.iter().max())
        .map(|(lo, hi)| u128::from(hi - lo));
    let bloom = wants_bloom(opts, &field.data_type, d, range, stored).then(|| {
        let hashes: Vec<u64> = v.iter().map(|&x| hash_u64(x)).collect();
        bloom_of(opts, d, &hashes)
    });
    (stats::uint_stats(v, rows, d), bloom)
}

/// A block's bytes: `flags | [validity len u32 | validity] | payload | crc32c`.
fn assemble(
    mut flags: u8,
    valid: Option<&[bool]>,
    payload: &[u8],
    eo: &EncodeOptions,
) -> Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(payload.len() + 16);
    if let Some(valid) = valid {
        flags |= HAS_VALIDITY;
        let vb = strata_codec::encode_bool(valid, eo).map_err(codec)?;
        bytes.push(flags);
        let len = u32::try_from(vb.bytes.len())
            .map_err(|_| FormatError::InvalidArgument("validity buffer too large".into()))?;
        bytes.extend_from_slice(&len.to_le_bytes());
        bytes.extend_from_slice(&vb.bytes);
    } else {
        bytes.push(flags);
    }
    bytes.extend_from_slice(payload);
    let crc = crc32c::crc32c(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    Ok(bytes)
}

/// An integer, date or timestamp block stored against its column's derivation table (flag
/// [`DERIVED`]), with the statistics and bloom filter of its values as any block has; `None`
/// when the table does not pay for this block (see [`Deriver::try_block`]).
fn encode_derived(
    field: &Field,
    a: &dyn Array,
    opts: &BlockOptions,
    valid: Option<&[bool]>,
    deriver: &mut Deriver,
    keys: derive::RowKeys<'_>,
) -> Result<Option<(EncodedBlock, derive::DerivedValues, BlockValues)>> {
    let rows = a.len();
    if keys.keys.len() != rows || keys.valid.is_some_and(|v| v.len() != rows) {
        return Err(FormatError::InvalidArgument(format!(
            "{} keys for a block of {rows} rows",
            keys.keys.len()
        )));
    }
    let (bits, signed_v) = if derive::signed(&field.data_type) {
        let v = signed_values(field, a)?;
        (v.iter().map(|&x| x as u64).collect::<Vec<u64>>(), Some(v))
    } else {
        (unsigned_values(field, a)?, None)
    };
    // A sum's residuals go through the zstd stage as a codec buffer does (their skew, a
    // run of zeros and a few carries, is what it finds).
    let mut flags = DERIVED;
    let derived = if deriver.sum.is_some() {
        let mut d = deriver.sum_block(&bits, keys.keys, valid, &opts.encode)?;
        if let Some(level) = opts.zstd_level
            && d.bytes.len() >= ZSTD_MIN_BYTES
            && let Some(frame) = compress_values(&d.bytes, level)?
        {
            d.bytes = frame;
            flags |= ZSTD_VALUES;
        }
        d
    } else {
        let Some(d) = deriver.try_block(&bits, keys, valid, &opts.encode)? else {
            return Ok(None);
        };
        d
    };
    // `inspect` shows what the column is derived from, and whether the block has exceptions.
    let cascade = match (derived.exceptions, flags & ZSTD_VALUES != 0) {
        (_, true) => format!("zstd(derived({}))", deriver.label),
        (0, false) => format!("derived({})", deriver.label),
        _ => format!("derived({}; exceptions)", deriver.label),
    };
    let block = EncodedBlock {
        bytes: assemble(flags, valid, &derived.bytes, &opts.encode)?,
        stats: ColumnStats::default(),
        bloom: None,
        cascade,
        rows,
    };
    let values = BlockValues {
        bits,
        signed: signed_v,
        rows,
    };
    Ok(Some((block, derived, values)))
}

/// A derived block's values, for its statistics where its own encoding did not find them.
struct BlockValues {
    /// As `u64` bits.
    bits: Vec<u64>,
    /// An `i64` column's values.
    signed: Option<Vec<i64>>,
    rows: usize,
}

impl BlockValues {
    /// The statistics and bloom filter of a block of these values stored in `stored` bytes.
    fn stats(
        &self,
        opts: &BlockOptions,
        field: &Field,
        stored: usize,
    ) -> (ColumnStats, Option<BloomFilter>) {
        let d = distinct_count(self.bits.iter().copied(), self.bits.len());
        match &self.signed {
            Some(v) => signed_stats(opts, field, v, self.rows, d, stored),
            None => unsigned_stats(opts, field, &self.bits, self.rows, d, stored),
        }
    }
}

/// A string block as the codec chose it, or as plain strings where their zstd frame is smaller
/// than the chosen encoding after the stage: FSST output and dictionary codes compress less
/// than the strings they came from (geonames' sorted zip codes: FSST and a frame 94,531 B,
/// plain strings and a frame 71,304), and plain strings decode with a copy. Returns the
/// encoding and the stage's outcome for it (`Some(None)` where a frame does not pay), so that
/// the block's bloom filter is weighed against what it stores. A plain choice is remembered,
/// so the column's next blocks follow it without training FSST tables.
fn plain_strings_if_smaller(
    v: &[&[u8]],
    eo: &EncodeOptions,
    chosen: strata_codec::Encoded,
    level: i32,
    memory: Option<&mut SchemeMemory>,
) -> Result<(strata_codec::Encoded, Option<Option<Vec<u8>>>)> {
    let compress = |bytes: &[u8]| -> Result<Option<Vec<u8>>> {
        if bytes.len() < ZSTD_MIN_BYTES {
            return Ok(None);
        }
        compress_values(bytes, level)
    };
    if chosen.cascade.scheme == strata_codec::Scheme::Plain {
        // Already plain (chosen, or followed from an earlier block): only its frame to make.
        let frame = compress(&chosen.bytes)?;
        return Ok((chosen, Some(frame)));
    }
    let codec = |e| FormatError::InvalidArgument(format!("plain strings: {e}"));
    let forced = EncodeOptions {
        scheme: Some(strata_codec::Scheme::Plain),
        ..*eo
    };
    let plain = strata_codec::encode_bytes(v, &forced).map_err(codec)?;
    let Some(plain_frame) = compress(&plain.bytes)? else {
        return Ok((chosen, None));
    };
    let chosen_frame = compress(&chosen.bytes)?;
    let chosen_len = chosen_frame.as_ref().map_or(chosen.bytes.len(), Vec::len);
    if plain_frame.len() < chosen_len {
        if let Some(m) = memory {
            m.remember(&plain, v.len());
        }
        Ok((plain, Some(Some(plain_frame))))
    } else {
        Ok((chosen, Some(chosen_frame)))
    }
}

thread_local! {
    /// A zstd compression context per thread, at the level it was last used at.
    static ZSTD_COMPRESSOR: std::cell::RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> =
        const { std::cell::RefCell::new(None) };
}

/// `raw length u32 LE | zstd frame` of a codec buffer at `level`, when that is at most
/// [`ZSTD_KEEP_SIXTEENTHS`] of it (and within [`ZSTD_MAX_RATIO`]); `None` otherwise.
pub(crate) fn compress_values(raw: &[u8], level: i32) -> Result<Option<Vec<u8>>> {
    let zstd_err = |e: std::io::Error| FormatError::InvalidArgument(format!("zstd: {e}"));
    let Ok(raw_len) = u32::try_from(raw.len()) else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(raw.len() + 4);
    out.extend_from_slice(&raw_len.to_le_bytes());
    ZSTD_COMPRESSOR.with(|cell| -> Result<()> {
        let mut slot = cell.borrow_mut();
        let ctx = match &mut *slot {
            Some((l, c)) if *l == level => c,
            _ => {
                let c = zstd::bulk::Compressor::new(level).map_err(zstd_err)?;
                &mut slot.insert((level, c)).1
            }
        };
        let frame = ctx.compress(raw).map_err(zstd_err)?;
        out.extend_from_slice(&frame);
        Ok(())
    })?;
    let frame_len = out.len() - 4;
    let keep = out.len() * 16 <= raw.len() * ZSTD_KEEP_SIXTEENTHS
        && raw.len() <= frame_len.saturating_mul(ZSTD_MAX_RATIO);
    Ok(keep.then_some(out))
}

/// What the previous blocks of one column chose for their values (integers, symbol codes,
/// doubles, strings), so that the next block can follow the same cascade instead of searching
/// again (for strings FSST-coded, with the same symbol table instead of training one).
///
/// A block of at least 256 values follows the remembered cascade when the result costs at most
/// 3 % (integers, strings; doubles 1 %) more bytes per value than the block where it was
/// chosen and keeps its top scheme;
/// otherwise, and on every 16th block,
/// the full sampled search runs and the smaller encoding wins. Searching dominates the cost of
/// writing integer blocks, and consecutive blocks of a column are usually alike.
///
/// An FSST block whose followed table keeps the scheme but costs too much (sorted strings whose
/// common substrings drift, such as postal codes) is *refitted* before it is searched: a table
/// trained on this block, the scheme kept, without estimating the other schemes. The refitted
/// block is kept when it is within the same 3 % of the remembered cost; otherwise the full search
/// runs and the smallest encoding wins. The 16th block still runs the full search. The refitted
/// table is the one the search trains (same sample), so when the search would choose FSST again
/// the bytes are the same.
#[derive(Debug, Clone, Default)]
pub(crate) struct SchemeMemory {
    cascade: Option<strata_codec::Cascade>,
    bytes_per_value: f64,
    followed: u32,
    /// Full searches run (for tests).
    pub(crate) searches: u64,
    /// Blocks to skip before the zstd stage is tried again on this column.
    zstd_skip: u32,
    /// Consecutive blocks whose zstd frame did not pay.
    zstd_misses: u32,
}

/// Encodes a block with a remembered cascade's top scheme fitted anew to it (an FSST table
/// trained on the block); `None` when the scheme has nothing to refit.
type Refit<'a> =
    dyn Fn(&strata_codec::Cascade) -> Option<strata_codec::Result<strata_codec::Encoded>> + 'a;

/// Blocks that may follow a remembered cascade before a full search runs again.
const FOLLOW_AT_MOST: u32 = 15;

/// An integer block keeps a followed cascade costing at most this much more per value.
const FOLLOW_SLACK_INT: f64 = 1.03;
/// A float block keeps a followed cascade costing at most this much more per value.
const FOLLOW_SLACK_FLOAT: f64 = 1.01;
/// A string block keeps a followed cascade (an FSST block: the earlier block's symbol table)
/// costing at most this much more per value.
const FOLLOW_SLACK_BYTES: f64 = 1.03;

/// Smaller blocks are always searched (cheap, and a few bytes matter more there).
const FOLLOW_MIN_VALUES: usize = 256;

/// Longest back-off, in blocks, of the zstd stage on a column whose blocks do not pay.
const ZSTD_MAX_SKIP: u32 = 16;

impl SchemeMemory {
    /// Makes `enc` (of `n` values) the cascade the column's next blocks follow.
    fn remember(&mut self, enc: &strata_codec::Encoded, n: usize) {
        self.bytes_per_value = enc.bytes.len() as f64 / n.max(1) as f64;
        self.cascade = Some(enc.cascade.clone());
    }

    /// Whether this block tries the zstd stage (counts a skipped block down).
    fn zstd_due(&mut self) -> bool {
        if self.zstd_skip > 0 {
            self.zstd_skip -= 1;
            return false;
        }
        true
    }

    /// Records whether the zstd stage paid on a block: after `k` misses in a row the next
    /// `min(2^k - 1, 16)` blocks skip it (compressing costs a write more than a miss saves).
    fn zstd_result(&mut self, paid: bool) {
        if paid {
            self.zstd_misses = 0;
        } else {
            self.zstd_misses = self.zstd_misses.saturating_add(1);
            self.zstd_skip = (1u32 << self.zstd_misses.min(5))
                .saturating_sub(1)
                .min(ZSTD_MAX_SKIP);
        }
    }

    /// `refit`, when given, encodes the block with the remembered cascade's top scheme fitted
    /// anew (see the type's doc); `None` where there is nothing to refit.
    fn encode(
        &mut self,
        n: usize,
        slack: f64,
        search: impl FnOnce() -> strata_codec::Result<strata_codec::Encoded>,
        follow: impl FnOnce(&strata_codec::Cascade) -> strata_codec::Result<strata_codec::Encoded>,
        refit: Option<&Refit<'_>>,
    ) -> strata_codec::Result<strata_codec::Encoded> {
        let n_f = n.max(1) as f64;
        let mut followed = None;
        if let Some(c) = &self.cascade
            && self.followed < FOLLOW_AT_MOST
            && n >= FOLLOW_MIN_VALUES
        {
            let mut enc = follow(c)?;
            let fits = |e: &strata_codec::Encoded| {
                e.bytes.len() as f64 <= self.bytes_per_value * n_f * slack
            };
            // A hint that did not apply (patching that no longer pays, say) is a miss too.
            if enc.cascade.followed().scheme == c.followed().scheme {
                if fits(&enc) {
                    self.followed += 1;
                    return Ok(enc);
                }
                if let Some(refitted) = refit.and_then(|r| r(c)) {
                    let refitted = refitted?;
                    if fits(&refitted) {
                        self.bytes_per_value = refitted.bytes.len() as f64 / n_f;
                        self.cascade = Some(refitted.cascade.clone());
                        self.followed += 1;
                        return Ok(refitted);
                    }
                    if refitted.bytes.len() < enc.bytes.len() {
                        enc = refitted;
                    }
                }
            }
            followed = Some(enc);
        }
        let searched = search()?;
        self.searches += 1;
        let best = match followed {
            Some(f) if f.bytes.len() < searched.bytes.len() => f,
            _ => searched,
        };
        self.bytes_per_value = best.bytes.len() as f64 / n_f;
        self.cascade = Some(best.cascade.clone());
        self.followed = 0;
        Ok(best)
    }
}

fn encode_u64_remembering(
    v: &[u64],
    eo: &EncodeOptions,
    memory: Option<&mut SchemeMemory>,
) -> strata_codec::Result<strata_codec::Encoded> {
    match memory {
        None => strata_codec::encode_u64(v, eo),
        Some(m) => m.encode(
            v.len(),
            FOLLOW_SLACK_INT,
            || strata_codec::encode_u64(v, eo),
            |c| strata_codec::encode_u64_following(v, eo, c),
            None,
        ),
    }
}

fn encode_bytes_remembering(
    v: &[&[u8]],
    eo: &EncodeOptions,
    memory: Option<&mut SchemeMemory>,
) -> strata_codec::Result<strata_codec::Encoded> {
    match memory {
        None => strata_codec::encode_bytes(v, eo),
        Some(m) => m.encode(
            v.len(),
            FOLLOW_SLACK_BYTES,
            || strata_codec::encode_bytes(v, eo),
            |c| strata_codec::encode_bytes_following(v, eo, c),
            Some(&|c: &strata_codec::Cascade| {
                (c.scheme == strata_codec::Scheme::Fsst).then(|| {
                    let forced = EncodeOptions {
                        scheme: Some(strata_codec::Scheme::Fsst),
                        ..*eo
                    };
                    strata_codec::encode_bytes(v, &forced)
                })
            }),
        ),
    }
}

fn encode_f64_remembering(
    v: &[f64],
    eo: &EncodeOptions,
    memory: Option<&mut SchemeMemory>,
) -> strata_codec::Result<strata_codec::Encoded> {
    match memory {
        None => strata_codec::encode_f64(v, eo),
        Some(m) => m.encode(
            v.len(),
            FOLLOW_SLACK_FLOAT,
            || strata_codec::encode_f64(v, eo),
            |c| strata_codec::encode_f64_following(v, eo, c),
            None,
        ),
    }
}

/// When every array is an `Int32`-keyed dictionary over one shared values array (a memtable's,
/// a segment's or a merge's dictionary), applies `op` (a concat, an interleave) to their keys
/// and keeps sharing the values, so that symbol coding by dictionary stays cheap downstream;
/// Arrow's own kernels would copy or merge the dictionaries. `None` for any other input.
pub fn on_shared_dictionary_keys(
    arrays: &[&dyn Array],
    op: impl FnOnce(&[&dyn Array]) -> std::result::Result<ArrayRef, arrow_schema::ArrowError>,
) -> Option<std::result::Result<ArrayRef, arrow_schema::ArrowError>> {
    let dicts: Option<Vec<&DictionaryArray<Int32Type>>> = arrays
        .iter()
        .map(|a| a.as_dictionary_opt::<Int32Type>())
        .collect();
    let dicts = dicts?;
    let first = dicts.first()?;
    if !dicts
        .iter()
        .all(|d| Arc::ptr_eq(d.values(), first.values()))
    {
        return None;
    }
    let keys: Vec<&dyn Array> = dicts.iter().map(|d| d.keys() as &dyn Array).collect();
    Some(op(&keys).and_then(|k| {
        let k = k
            .as_primitive_opt::<Int32Type>()
            .cloned()
            .ok_or_else(|| arrow_schema::ArrowError::InvalidArgumentError("keys".into()))?;
        Ok(Arc::new(DictionaryArray::try_new(k, Arc::clone(first.values()))?) as ArrayRef)
    }))
}

/// Where a block sits, for error messages.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BlockPos {
    pub(crate) column: usize,
    pub(crate) block: usize,
    pub(crate) offset: u64,
}

/// Decodes a block (its bytes with the trailing CRC32C) of a non-symbol column into an array of
/// `rows` rows. Symbol blocks need their dictionary: see [`decode_symbol_block`].
pub fn decode_block(field: &Field, bytes: &[u8], rows: usize) -> Result<ArrayRef> {
    decode_at(
        field,
        bytes,
        rows,
        None,
        SymbolAs::Dictionary,
        BlockPos::default(),
    )
}

/// Decodes a block of a symbol column; `dictionary` is the segment's symbol values as a `Utf8`
/// array.
pub fn decode_symbol_block(
    field: &Field,
    bytes: &[u8],
    rows: usize,
    dictionary: &ArrayRef,
    symbol_as: SymbolAs,
) -> Result<ArrayRef> {
    decode_at(
        field,
        bytes,
        rows,
        Some(dictionary),
        symbol_as,
        BlockPos::default(),
    )
}

pub(crate) fn decode_at(
    field: &Field,
    bytes: &[u8],
    rows: usize,
    dict: Option<&ArrayRef>,
    symbol_as: SymbolAs,
    pos: BlockPos,
) -> Result<ArrayRef> {
    let block = DecodedBlock::decode(
        field,
        &bytes::Bytes::copy_from_slice(bytes),
        rows,
        dict,
        pos,
    )?;
    let mut sink = ColumnSink::new(field, dict, symbol_as, rows);
    sink.append_rows(&block, &Rows::all(rows))?;
    sink.finish()
}

/// The `Utf8` array of a symbol dictionary; fails on values that are not UTF-8.
pub fn dictionary_array(values: &[Vec<u8>]) -> Result<ArrayRef> {
    let strs = values
        .iter()
        .map(|v| std::str::from_utf8(v))
        .collect::<std::result::Result<Vec<&str>, _>>()
        .map_err(|e| FormatError::corrupt("symbol dictionary", 0, e.to_string()))?;
    Ok(Arc::new(StringArray::from(strs)))
}

/// Value of row `row` of an array of `field`'s type, as a statistic scalar (`None` for null).
/// Strings are exact (never truncated); symbols give their string.
pub fn scalar_at(
    field: &Field,
    array: &ArrayRef,
    row: usize,
) -> Result<Option<crate::stats::ScalarValue>> {
    use crate::stats::ScalarValue;
    if row >= array.len() {
        return Err(FormatError::InvalidArgument(format!(
            "row {row} of {}",
            array.len()
        )));
    }
    let one = array.slice(row, 1);
    let a = one.as_ref();
    Ok(match &field.data_type {
        DataType::Boolean => {
            let b = a.as_boolean_opt().ok_or_else(|| mismatch(field, a))?;
            b.iter().flatten().next().map(ScalarValue::Bool)
        }
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
            unsigned_values(field, a)?
                .first()
                .map(|&v| ScalarValue::UInt(v))
        }
        DataType::Float32 => prim::<Float32Type>(field, a)?
            .first()
            .map(|&v| ScalarValue::Float(f64::from(v))),
        DataType::Float64 => prim::<Float64Type>(field, a)?
            .first()
            .map(|&v| ScalarValue::Float(v)),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Binary | DataType::Symbol => {
            byte_values(field, a)?
                .first()
                .map(|v| ScalarValue::Bytes(v.to_vec()))
        }
        _ => signed_values(field, a)?
            .first()
            .map(|&v| ScalarValue::Int(v)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A segment of at most half a block more than `block_rows` rows is one block; every other
    /// keeps `block_rows`.
    #[test]
    fn block_rows_for_spares_a_short_last_block() {
        let o = BlockOptions::default();
        let b = o.block_rows;
        assert_eq!(b, 4096);
        for (rows, want) in [
            (0, b),
            (1, b),
            (4096, b),
            (4097, 4097),
            (5844, 5844),
            (6144, 6144),
            (6145, b),
            (8760, b),
            (3_000_000, b),
        ] {
            assert_eq!(o.block_rows_for(rows), want, "{rows} rows");
        }
    }

    /// A column whose frames do not pay skips the zstd stage for 1, 3, 7, 15, then 16 blocks
    /// after each miss in a row; a frame that pays ends the back-off.
    #[test]
    fn zstd_back_off_grows_to_sixteen_blocks_and_resets_when_a_frame_pays() {
        let mut m = SchemeMemory::default();
        // How many blocks skip the stage before the next try, after one more miss.
        let mut skipped_after_miss = || {
            m.zstd_result(false);
            let mut n = 0;
            while !m.zstd_due() {
                n += 1;
            }
            n
        };
        let skips: Vec<u32> = (0..7).map(|_| skipped_after_miss()).collect();
        assert_eq!(skips, [1, 3, 7, 15, 16, 16, 16]);
        let mut m = SchemeMemory::default();
        m.zstd_result(false);
        m.zstd_result(false);
        m.zstd_result(true);
        assert!(m.zstd_misses == 0);
        // The skip already set runs out; the next miss starts the back-off from one block.
        while !m.zstd_due() {}
        m.zstd_result(false);
        assert!(!m.zstd_due());
        assert!(m.zstd_due());
    }

    /// Sorted postal-code-like strings: each block's common digit pairs drift from the last
    /// block's, so a followed FSST table costs too much and the block is refitted.
    #[test]
    fn drifting_fsst_blocks_are_refitted_without_a_search_and_cost_what_a_search_costs() {
        let eo = EncodeOptions::default();
        let mut memory = SchemeMemory::default();
        let blocks = 12;
        for b in 0..blocks {
            let vals: Vec<Vec<u8>> = (0..1024u64)
                .map(|i| format!("{:05}-{}", 10_000 + b * 3_000 + i * 3 + i % 2, b).into_bytes())
                .collect();
            let v: Vec<&[u8]> = vals.iter().map(Vec::as_slice).collect();
            let searched = strata_codec::encode_bytes(&v, &eo).unwrap();
            let got = encode_bytes_remembering(&v, &eo, Some(&mut memory)).unwrap();
            let back = strata_codec::decode_bytes(&got.bytes).unwrap();
            let back: Vec<&[u8]> = back
                .offsets
                .windows(2)
                .map(|w| &back.data[w[0] as usize..w[1] as usize])
                .collect();
            assert_eq!(back, v, "block {b}");
            assert_eq!(got.cascade.scheme, strata_codec::Scheme::Fsst, "block {b}");
            assert!(
                got.bytes.len() as f64 <= searched.bytes.len() as f64 * FOLLOW_SLACK_BYTES,
                "block {b}: {} bytes, a search gives {}",
                got.bytes.len(),
                searched.bytes.len()
            );
        }
        // The first block is searched; refits (and follows) stand in for most later searches.
        assert!(memory.searches < blocks / 2, "{} searches", memory.searches);
    }

    #[test]
    fn float_keys_fold_zeros_and_keep_nan_patterns() {
        assert_eq!(float_key(-0.0), float_key(0.0));
        assert_ne!(float_key(f64::NAN), float_key(-f64::NAN));
        let keys = [0.0, -0.0, 1.5, f64::NAN, -f64::NAN, 1.5].map(float_key);
        assert_eq!(distinct_count(keys, keys.len()), 4);
    }

    #[test]
    fn intern_all_gives_the_codes_of_row_by_row_interning() {
        let values: Vec<&[u8]> = vec![b"SFO", b"LAX", b"SFO", b"JFK", b"LAX", b"ORD", b"SFO"];
        let mut want_dict = SymbolDictionary::new();
        want_dict.intern(b"ORD").unwrap();
        let mut got_dict = want_dict.clone();
        let want: Vec<u64> = values
            .iter()
            .map(|v| u64::from(want_dict.intern(v).unwrap()))
            .collect();
        let hashes: Vec<u64> = values.iter().map(|v| hash_bytes(v)).collect();
        assert_eq!(
            intern_all(&mut got_dict, &values, &hashes).unwrap(),
            (want, distinct_count(hashes.iter().copied(), hashes.len()))
        );
        assert_eq!(got_dict.values(), want_dict.values());

        // Every value given the same hash: repeats are still told apart by their bytes.
        let mut colliding = SymbolDictionary::new();
        let same = vec![7u64; values.len()];
        let mut fresh = SymbolDictionary::new();
        let want: Vec<u64> = values
            .iter()
            .map(|v| u64::from(fresh.intern(v).unwrap()))
            .collect();
        assert_eq!(
            intern_all(&mut colliding, &values, &same).unwrap(),
            (want, distinct_count(same.iter().copied(), same.len()))
        );
        assert_eq!(colliding.values(), fresh.values());
    }
}

//! Decoding blocks straight into the buffers of one output array.
//!
//! A block is decoded in two steps. Reading a [`DecodedBlock`] (`Segment::decode_blocks`)
//! checks the CRC, the flags and the validity bitmap (decoded straight into bitmap words).
//! [`ColumnSink::append`] then puts any run of the block's rows (optionally filtered by a mask)
//! into the buffers of the array being built: a `Vec` of the Arrow native type (`u64` bit
//! patterns for `Int64` and timestamps, which Arrow takes as `i64` without a copy), one
//! validity bitmap, string offsets and bytes, dictionary keys.
//!
//! - A block appended whole to a primitive or symbol-key column runs the codec straight into
//!   the output `Vec` (64-bit types and `Float64`), or into one scratch buffer the sink keeps
//!   (narrower types, checked and converted in two tight passes); the non-null values are then
//!   spread over the valid rows in place.
//! - Any other use (part of a block, a mask, strings, booleans) decodes the block's values
//!   once, in the codec's types, and keeps them in the block for the next append.
//! - A derived block (formats 3.5 and 3.6, see [`derive`](mod@crate::derive)) gets its values
//!   from its column's table and the same stripe's key blocks, which `Segment` hands it with
//!   the block. Appended whole to a 64-bit output, it makes them straight into the output
//!   buffer (a sum's residuals decoded there, its terms added in place; a table's entries
//!   gathered there, exceptions written over them); any other use makes them once into the
//!   block. Values decoded already (those, or a key block's codes, decoded once for every
//!   block derived from them) are copied, not decoded again, into 64-bit and symbol-key
//!   outputs.
//!
//! Many blocks, or parts of blocks, end up in one array without an intermediate array per block
//! and without concatenating afterwards; [`ColumnSink::finish`] hands the buffers to Arrow
//! without copying them. A failed append leaves the sink as it was.
//!
//! Every narrowing conversion is checked (a value that does not fit the column's type, a symbol
//! code outside the dictionary, string bytes that are not UTF-8 are corruption errors naming the
//! column and block), as the per-block path always did.

use std::ops::Range;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowPrimitiveType, Date32Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, DictionaryArray, GenericStringArray,
    OffsetSizeTrait, PrimitiveArray, StringArray,
};
use arrow_buffer::{
    BooleanBuffer, BooleanBufferBuilder, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer,
};
use strata_codec::{ByteValues, Limits};

use crate::block::{
    BlockPos, DERIVED, F32_BITS, HAS_VALIDITY, KNOWN_FLAGS, ZSTD_MAX_RATIO, ZSTD_VALUES,
};
use crate::derive::{self, Lookup};
use crate::error::{FormatError, Result};
use crate::schema::{DataType, Field, SymbolAs, TimeUnit};

/// The non-null values of one block, in the codec's types.
#[derive(Debug)]
enum Values {
    I64(Vec<i64>),
    U64(Vec<u64>),
    F64(Vec<f64>),
    Bool(Vec<bool>),
    Bytes(ByteValues),
}

/// One block after its CRC, flags and validity are checked ([`ColumnSink::append`] turns rows
/// of it into output buffers). The values are decoded on first use: a block appended whole
/// to an integer, date, timestamp, `Float64` or symbol-key column is decoded into the output
/// buffer (through the sink's scratch buffer for narrower types), with no per-block vector;
/// any other use decodes the values once into the block.
#[derive(Debug)]
pub struct DecodedBlock {
    rows: usize,
    /// `None` when every row is valid.
    valid: Option<BooleanBuffer>,
    /// The codec buffer of the non-null values.
    encoded: Bytes,
    /// Non-null rows: the number of values `encoded` must hold.
    non_null: usize,
    data_type: DataType,
    values: OnceLock<Values>,
    /// `f32` values stored as `u32` bit patterns.
    f32_bits: bool,
    pos: BlockPos,
    /// The segment's dictionary, for a symbol column.
    dict: Option<ArrayRef>,
    /// Stored against its column's derivation table (flag `DERIVED`): `encoded` holds the
    /// exceptions (a sum's, the residuals), and the values are set by [`Self::derive_from`]
    /// or made from [`Self::inputs`].
    derived: bool,
    /// A derived block's inputs, kept to make its values when first used.
    inputs: Option<Box<DeriveInputs>>,
}

/// What a derived block's values are made from: its column's lookup and the same stripe's
/// blocks of the lookup's key columns, in its key order.
#[derive(Debug)]
struct DeriveInputs {
    lookup: Arc<Lookup>,
    keys: Vec<Arc<DecodedBlock>>,
}

/// Whether a block's bytes end with the CRC32C of what comes before it (false when too short
/// to hold one).
pub(crate) fn crc_ok(bytes: &[u8]) -> bool {
    match bytes.split_last_chunk::<4>() {
        Some((body, crc)) => crc32c::crc32c(body) == u32::from_le_bytes(*crc),
        None => false,
    }
}

impl DecodedBlock {
    /// Checks a block (its bytes with the trailing CRC32C) of `rows` rows of `field`: the CRC,
    /// the flags and the validity bitmap. The values are decoded when rows are appended.
    pub(crate) fn decode(
        field: &Field,
        bytes: &Bytes,
        rows: usize,
        dict: Option<&ArrayRef>,
        pos: BlockPos,
    ) -> Result<Self> {
        Self::decode_checked(field, bytes, rows, dict, pos, false)
    }

    /// [`Self::decode`]; `crc_held` says the CRC of these very bytes, held in memory, was
    /// found right before (at open: see [`crate::ReadAt::held`]) and is not computed again.
    pub(crate) fn decode_checked(
        field: &Field,
        bytes: &Bytes,
        rows: usize,
        dict: Option<&ArrayRef>,
        pos: BlockPos,
        crc_held: bool,
    ) -> Result<Self> {
        let corrupt = |detail: String| corrupt_at(pos, detail);
        let codec = |e| FormatError::Codec {
            column: pos.column,
            block: pos.block,
            source: e,
        };
        let body_len = bytes
            .len()
            .checked_sub(4)
            .filter(|&n| n >= 1)
            .ok_or_else(|| corrupt(format!("block of {} bytes is too short", bytes.len())))?;
        let body = bytes.get(..body_len).unwrap_or_default();
        if !crc_held && !crc_ok(bytes) {
            return Err(FormatError::ChecksumMismatch {
                what: what(pos),
                offset: pos.offset,
            });
        }
        let flags = body[0];
        if flags & !KNOWN_FLAGS != 0
            || (flags & F32_BITS != 0 && field.data_type != DataType::Float32)
            || (flags & DERIVED != 0 && !derive::derivable(&field.data_type))
        {
            return Err(corrupt(format!("unknown block flags 0x{flags:02x}")));
        }
        let limits = Limits { max_values: rows };
        let mut start = 1;
        let valid = if flags & HAS_VALIDITY != 0 {
            if !field.nullable {
                return Err(corrupt("validity bitmap in a non-nullable column".into()));
            }
            let len_bytes = body
                .get(1..5)
                .ok_or_else(|| corrupt("validity length truncated".into()))?;
            let len = u32::from_le_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]])
                as usize;
            let vb = body
                .get(5..5usize.saturating_add(len))
                .ok_or_else(|| corrupt(format!("validity of {len} bytes overruns the block")))?;
            let (words, n) = strata_codec::decode_bool_words_with(vb, limits).map_err(codec)?;
            if n != rows {
                return Err(corrupt(format!("validity has {n} rows, expected {rows}")));
            }
            start = 5 + len;
            Some(BooleanBuffer::new(Buffer::from_vec(words), 0, rows))
        } else {
            None
        };
        let non_null = valid.as_ref().map_or(rows, BooleanBuffer::count_set_bits);
        let encoded = if flags & ZSTD_VALUES != 0 {
            let frame = body.get(start..).unwrap_or_default();
            bytes::Bytes::from(decompress_values(frame, "values").map_err(corrupt)?)
        } else {
            bytes.slice(start..body_len)
        };
        Ok(Self {
            rows,
            valid,
            encoded,
            non_null,
            data_type: field.data_type.clone(),
            values: OnceLock::new(),
            f32_bits: flags & F32_BITS != 0,
            pos,
            dict: dict.cloned(),
            derived: flags & DERIVED != 0,
            inputs: None,
        })
    }

    /// Where the block is.
    pub(crate) fn pos(&self) -> BlockPos {
        self.pos
    }

    /// Whether the block is stored against its column's derivation table (its values need
    /// [`Self::derive_from`] before they can be appended).
    pub(crate) fn is_derived(&self) -> bool {
        self.derived
    }

    /// Sets a derived block's values from its column's `lookup` and the same stripe's blocks
    /// of its key columns (`keys`, in the lookup's key order), as [`Self::derive_into`] makes
    /// them.
    pub(crate) fn derive_from(&self, lookup: &Lookup, keys: &[&DecodedBlock]) -> Result<()> {
        if !self.derived || self.values.get().is_some() {
            return Ok(());
        }
        let mut out = Vec::with_capacity(self.non_null);
        self.derive_into(lookup, keys, &mut out)?;
        let values = if derive::signed(&self.data_type) {
            Values::I64(out.into_iter().map(|x| x as i64).collect())
        } else {
            Values::U64(out)
        };
        // Set once: a concurrent caller would have set the same values.
        let _ = self.values.set(values);
        Ok(())
    }

    /// Keeps a derived block's inputs (its column's lookup, the same stripe's key blocks),
    /// so that its values are made when first used: straight into an output buffer when the
    /// block is appended whole ([`ColumnSink::append`]). The key blocks' values are decoded
    /// now, so that their own columns copy them rather than decode them twice.
    pub(crate) fn defer_derivation(
        &mut self,
        lookup: Arc<Lookup>,
        keys: Vec<Arc<DecodedBlock>>,
    ) -> Result<()> {
        for k in &keys {
            k.keep_values()?;
        }
        self.inputs = Some(Box::new(DeriveInputs { lookup, keys }));
        Ok(())
    }

    /// Appends a derived block's non-null values (`u64` bits, an `i64` column's as two's
    /// complement) to `out`: each non-null row's exception or the table's entry for its keys,
    /// or for a sum its residual plus its terms. A row with neither, key blocks of another
    /// length, or exceptions that do not parse are `Corrupt`, and `out` is left as it was.
    fn derive_into(
        &self,
        lookup: &Lookup,
        keys: &[&DecodedBlock],
        out: &mut Vec<u64>,
    ) -> Result<()> {
        let start = out.len();
        let r = self.derive_values(lookup, keys, out);
        let r = r.and_then(|()| self.check_count(out.len() - start));
        if r.is_err() {
            out.truncate(start);
        }
        r
    }

    /// [`Self::derive_into`] without its count check and undo.
    fn derive_values(
        &self,
        lookup: &Lookup,
        keys: &[&DecodedBlock],
        out: &mut Vec<u64>,
    ) -> Result<()> {
        let corrupt = |d: String| corrupt_at(self.pos, d);
        // Each key's values as `u64` bits, as its table holds them (an `i64` block's seen
        // through, not copied).
        let mut codes = Vec::with_capacity(keys.len());
        for k in keys {
            let c: &[u64] = match k.values()? {
                Values::U64(c) => c,
                Values::I64(v) => bytemuck::cast_slice(v),
                _ => {
                    return Err(corrupt(
                        "a key column is not an integer or symbol column".into(),
                    ));
                }
            };
            if k.rows != self.rows {
                return Err(corrupt(format!(
                    "key block of {} rows for a block of {}",
                    k.rows, self.rows
                )));
            }
            codes.push(derive::KeyCodes {
                codes: c,
                valid: k.valid.as_ref(),
            });
        }
        if lookup.is_sum() {
            // A sum's block holds a residual a value: decoded where the sums go, then the
            // terms added in place.
            let limits = Limits {
                max_values: self.non_null,
            };
            let start = out.len();
            strata_codec::decode_i64_bits_into(&self.encoded, limits, out)
                .map_err(|e| self.codec_error(e))?;
            let sums = out.get_mut(start..).unwrap_or_default();
            return lookup
                .sum_values(&codes, self.rows, self.valid.as_ref(), sums)
                .map_err(corrupt);
        }
        // A table's block holds the exceptions.
        let signed = derive::signed(&self.data_type);
        let (positions, exceptions) =
            derive::decode_exceptions(&self.encoded, self.non_null, signed).map_err(corrupt)?;
        lookup
            .values_of(
                &codes,
                self.rows,
                self.valid.as_ref(),
                &positions,
                &exceptions,
                out,
            )
            .map_err(corrupt)
    }

    /// A derived block whose inputs were kept ([`Self::defer_derivation`]): its values
    /// appended to `out` (see [`Self::derive_into`]); `None` for any other block.
    fn derive_deferred(&self, out: &mut Vec<u64>) -> Option<Result<()>> {
        let inputs = self.inputs.as_deref()?;
        let keys: Vec<&DecodedBlock> = inputs.keys.iter().map(Arc::as_ref).collect();
        Some(self.derive_into(&inputs.lookup, &keys, out))
    }

    /// Rows in the block.
    pub fn rows(&self) -> usize {
        self.rows
    }

    fn codec_error(&self, e: strata_codec::CodecError) -> FormatError {
        FormatError::Codec {
            column: self.pos.column,
            block: self.pos.block,
            source: e,
        }
    }

    /// Decodes the values now and keeps them in the block (a key block, which its own column
    /// and the blocks derived from it read).
    pub(crate) fn keep_values(&self) -> Result<()> {
        self.values().map(|_| ())
    }

    /// The non-null values, decoded on the first call.
    fn values(&self) -> Result<&Values> {
        if let Some(v) = self.values.get() {
            return Ok(v);
        }
        if self.derived {
            if let Some(inputs) = self.inputs.as_deref() {
                let keys: Vec<&DecodedBlock> = inputs.keys.iter().map(Arc::as_ref).collect();
                self.derive_from(&inputs.lookup, &keys)?;
                if let Some(v) = self.values.get() {
                    return Ok(v);
                }
            }
            return Err(FormatError::InvalidArgument(format!(
                "{} is derived from other columns: read it through its segment",
                what(self.pos)
            )));
        }
        let vlimits = Limits {
            max_values: self.non_null,
        };
        let rest = &self.encoded[..];
        let codec = |e| self.codec_error(e);
        let values = match &self.data_type {
            DataType::Boolean => {
                Values::Bool(strata_codec::decode_bool_with(rest, vlimits).map_err(codec)?)
            }
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::Date32
            | DataType::Timestamp(..) => {
                Values::I64(strata_codec::decode_i64_with(rest, vlimits).map_err(codec)?)
            }
            DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Symbol => {
                Values::U64(strata_codec::decode_u64_with(rest, vlimits).map_err(codec)?)
            }
            DataType::Float32 if self.f32_bits => {
                Values::U64(strata_codec::decode_u64_with(rest, vlimits).map_err(codec)?)
            }
            DataType::Float32 | DataType::Float64 => {
                Values::F64(strata_codec::decode_f64_with(rest, vlimits).map_err(codec)?)
            }
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Binary => {
                Values::Bytes(strata_codec::decode_bytes_with(rest, vlimits).map_err(codec)?)
            }
        };
        let n = match &values {
            Values::I64(v) => v.len(),
            Values::U64(v) => v.len(),
            Values::F64(v) => v.len(),
            Values::Bool(v) => v.len(),
            Values::Bytes(v) => v.len(),
        };
        self.check_count(n)?;
        Ok(self.values.get_or_init(|| values))
    }

    fn check_count(&self, n: usize) -> Result<()> {
        if n == self.non_null {
            Ok(())
        } else {
            Err(corrupt_at(
                self.pos,
                format!("{n} values for {} non-null rows", self.non_null),
            ))
        }
    }

    /// Appends every row of the block to `out` by decoding the values straight into it
    /// (`decode` appends the non-null values, then they are spread over the valid rows in
    /// place, nulls getting the default). On an error `out` is left as it was.
    fn decode_rows_into<T: strata_codec::Lane>(
        &self,
        out: &mut Vec<T>,
        decode: impl FnOnce(&[u8], Limits, &mut Vec<T>) -> Result<usize>,
    ) -> Result<()> {
        let base = out.len();
        let limits = Limits {
            max_values: self.non_null,
        };
        let n = decode(&self.encoded, limits, out)?;
        if let Err(e) = self.check_count(n) {
            out.truncate(base);
            return Err(e);
        }
        if let Some(valid) = &self.valid {
            spread(out, base, valid);
        }
        Ok(())
    }
}

/// The dictionary array of `keys` into `dict`. Every key, null rows' included (the decoder
/// gives those zero), is checked against the dictionary's length in one branch-free pass; only
/// when one is out (or the dictionary is empty) does Arrow's own row-by-row check run, to
/// name it.
fn dictionary(keys: PrimitiveArray<Int32Type>, dict: ArrayRef) -> Result<ArrayRef> {
    // A negative key is at least 2^31 as a `u32`, past any dictionary's length.
    let top = keys.values().iter().fold(0u32, |m, &k| m.max(k as u32));
    if (top as usize) < dict.len() {
        #[expect(
            unsafe_code,
            reason = "skips Arrow's row-by-row key check, done just above"
        )]
        // SAFETY: every key (null rows' too) is in `0..dict.len()`, checked just above.
        let d = unsafe { DictionaryArray::<Int32Type>::new_unchecked(keys, dict) };
        return Ok(Arc::new(d));
    }
    Ok(Arc::new(DictionaryArray::<Int32Type>::try_new(keys, dict)?))
}

/// Moves the values `out[base..]` (one per set bit of `valid`) to the positions of their set
/// bits in `out[base..base + valid.len()]` (see [`strata_codec::spread`]); null rows get zero.
fn spread<T: strata_codec::Lane>(out: &mut Vec<T>, base: usize, valid: &BooleanBuffer) {
    let n = valid.len();
    let values = out.len() - base;
    out.resize(base + n, T::default());
    let chunks = valid.bit_chunks();
    // The bitmap's words, on the stack for a block of up to 8,192 rows (a default block is
    // 4,096): an allocation per block was a tenth of a small segment's validity cost.
    let mut stack = [0u64; 128];
    let mut heap = Vec::new();
    let need = n.div_ceil(64);
    let words: &mut [u64] = match stack.get_mut(..need) {
        Some(w) => w,
        None => {
            heap.resize(need, 0);
            &mut heap
        }
    };
    for (w, c) in words.iter_mut().zip(chunks.iter()) {
        *w = c;
    }
    if chunks.remainder_len() > 0
        && let Some(last) = words.last_mut()
    {
        *last = chunks.remainder_bits();
    }
    strata_codec::spread(out.get_mut(base..).unwrap_or_default(), values, words);
}

fn what(pos: BlockPos) -> String {
    format!("column {} block {}", pos.column, pos.block)
}

fn corrupt_at(pos: BlockPos, detail: String) -> FormatError {
    FormatError::corrupt(what(pos), pos.offset, detail)
}

/// Which rows of a block to append: `range`, and of those only the ones `mask` (indexed from
/// `range.start`, at least `range.len()` long) sets.
#[derive(Debug, Clone)]
pub(crate) struct Rows<'a> {
    pub(crate) range: Range<usize>,
    pub(crate) mask: Option<&'a BooleanBuffer>,
}

impl Rows<'_> {
    /// Every row of a block of `rows` rows.
    pub(crate) fn all(rows: usize) -> Self {
        Rows {
            range: 0..rows,
            mask: None,
        }
    }
}

/// Calls `f(Some(value index))` for each selected valid row and `f(None)` for each selected
/// null row, in order.
fn for_each_selected(
    valid: Option<&BooleanBuffer>,
    sel: &Rows<'_>,
    mut f: impl FnMut(Option<usize>) -> Result<()>,
) -> Result<()> {
    let Range { start, end } = sel.range.clone();
    // Without nulls a row's value is its own: only the selected rows are visited.
    if let (None, Some(m)) = (valid, sel.mask) {
        for i in m.slice(0, end - start).set_indices() {
            f(Some(start + i))?;
        }
        return Ok(());
    }
    let mut k = match valid {
        Some(v) => v.slice(0, start).count_set_bits(),
        None => start,
    };
    for (i, row) in (start..end).enumerate() {
        let ok = valid.is_none_or(|v| v.value(row));
        if sel.mask.is_none_or(|m| m.value(i)) {
            f(ok.then_some(k))?;
        }
        if ok {
            k += 1;
        }
    }
    Ok(())
}

/// The output buffers of one array.
#[derive(Debug)]
enum Out {
    I8(Vec<i8>),
    I16(Vec<i16>),
    /// `Int32` and `Date32`.
    I32(Vec<i32>),
    /// `Int64` and timestamps, as their bit patterns (the codec decodes into this buffer,
    /// which Arrow then takes as `i64`s without a copy).
    I64(Vec<u64>),
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    Bool(BooleanBufferBuilder),
    /// Strings and binaries, and symbols presented as `Utf8`.
    Bytes {
        offsets: Vec<i64>,
        data: Vec<u8>,
    },
    /// Symbols presented as dictionaries: keys into the segment's dictionary.
    Keys(Vec<i32>),
}

impl Out {
    fn reserve(&mut self, rows: usize) {
        match self {
            Out::I8(v) => v.reserve(rows),
            Out::I16(v) => v.reserve(rows),
            Out::I32(v) | Out::Keys(v) => v.reserve(rows),
            Out::I64(v) => v.reserve(rows),
            Out::U8(v) => v.reserve(rows),
            Out::U16(v) => v.reserve(rows),
            Out::U32(v) => v.reserve(rows),
            Out::U64(v) => v.reserve(rows),
            Out::F32(v) => v.reserve(rows),
            Out::F64(v) => v.reserve(rows),
            Out::Bool(b) => b.reserve(rows),
            Out::Bytes { offsets, .. } => offsets.reserve(rows + 1),
        }
    }
}

/// Builds one Arrow array of a column from rows of any number of its blocks
/// ([`DecodedBlock`]s); see the module doc.
#[derive(Debug)]
pub struct ColumnSink {
    field: Field,
    symbol_as: SymbolAs,
    /// The segment's symbol dictionary (`Utf8`), for symbol columns.
    dict: Option<ArrayRef>,
    out: Out,
    /// Validity of the rows so far; `None` while every row is valid.
    nulls: Option<BooleanBufferBuilder>,
    len: usize,
    /// Rows to make room for when the first rows of an array arrive.
    capacity: usize,
    /// Values of one block on their way into a narrower output type.
    scratch: Vec<u64>,
    /// Symbol keys from more than one dictionary (rows of several segments): the dictionary
    /// the keys now point into; `None` while every key points into `dict`.
    merge: Option<DictMerge>,
}

/// One dictionary for the keys of several segments' dictionaries: the values of the first
/// dictionary in order (its keys stay as they are), then every other value the first time a
/// key of another dictionary points at it.
///
/// A scan of a partitioned table meets a new dictionary with every segment (a day's segment of
/// a flights table: some 900 tail numbers), so interning is per value of every segment's
/// dictionary, about one lookup a row. The index holds only merged keys and hashes the values
/// where they already are, in `data`: no allocation per value and no pointer to follow when
/// comparing (a map of boxed values hashed with xxh64 cost 47 ns a lookup, 42 % of such a
/// scan).
#[derive(Default)]
struct DictMerge {
    offsets: Vec<i32>,
    data: Vec<u8>,
    /// Merged keys, found by the hash of their value.
    index: hashbrown::HashTable<i32>,
    /// Key in the current dictionary (`ColumnSink::dict`) -> key in the merged one; -1 for a
    /// value not interned yet.
    remap: Vec<i32>,
    /// Every entry of `remap` is resolved.
    resolved: bool,
    /// `remap[i] == i` for every key: keys are appended as they are.
    identity: bool,
}

impl std::fmt::Debug for DictMerge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DictMerge")
            .field("values", &(self.offsets.len().saturating_sub(1)))
            .field("bytes", &self.data.len())
            .finish_non_exhaustive()
    }
}

/// The hash of a dictionary value (a fixed seed: the index never leaves the process, and a
/// scan's values are the table's, not an adversary's choice of collisions).
fn value_hash(v: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x5354_5241_5441).hash_one(v)
}

/// Whether `a` and `b` hold the same values in the same order (their offsets may start
/// anywhere: either may be a slice).
fn same_values(a: &StringArray, b: &StringArray) -> bool {
    let (ao, bo) = (a.value_offsets(), b.value_offsets());
    let (Some(&a0), Some(&b0), Some(&an), Some(&bn)) =
        (ao.first(), bo.first(), ao.last(), bo.last())
    else {
        return false;
    };
    let (Some(ad), Some(bd)) = (
        a.value_data().get(a0 as usize..an as usize),
        b.value_data().get(b0 as usize..bn as usize),
    ) else {
        return false;
    };
    ao.len() == bo.len()
        && ad == bd
        && ao
            .iter()
            .zip(bo)
            .all(|(&x, &y)| x.wrapping_sub(a0) == y.wrapping_sub(b0))
}

/// Dictionaries up to this many values are merged whole when their first key arrives (the
/// keys are then mapped in one tight pass); larger ones value by value, as keys point at them.
const EAGER_MERGE_VALUES: usize = 4096;

impl DictMerge {
    /// The merge of `first`'s values, in order (keys into `first` stay valid).
    fn new(first: &StringArray) -> Result<Self> {
        let mut m = Self {
            offsets: vec![0],
            ..Self::default()
        };
        for v in first.iter() {
            m.push(v.unwrap_or_default().as_bytes())?;
        }
        Ok(m)
    }

    /// The bytes of merged key `k`.
    fn value<'a>(offsets: &[i32], data: &'a [u8], k: i32) -> &'a [u8] {
        let k = usize::try_from(k).unwrap_or(usize::MAX);
        match (offsets.get(k), offsets.get(k.wrapping_add(1))) {
            (Some(&a), Some(&b)) => data.get(a as usize..b as usize).unwrap_or_default(),
            _ => &[],
        }
    }

    /// The merged key holding `v`, if any.
    fn find(&self, hash: u64, v: &[u8]) -> Option<i32> {
        let (offsets, data) = (&self.offsets, &self.data);
        self.index
            .find(hash, |&k| Self::value(offsets, data, k) == v)
            .copied()
    }

    /// Appends `v` to the merged values (not to the index); its key.
    fn append(&mut self, v: &[u8]) -> Result<i32> {
        let key = i32::try_from(self.offsets.len() - 1).ok();
        let end = i32::try_from(self.data.len() + v.len()).ok();
        let (Some(key), Some(end)) = (key, end) else {
            return Err(FormatError::InvalidArgument(
                "symbol dictionaries merged for one batch pass 2 GiB".into(),
            ));
        };
        self.data.extend_from_slice(v);
        self.offsets.push(end);
        Ok(key)
    }

    /// Indexes merged key `key`, whose value hashes to `hash`.
    fn index_key(&mut self, hash: u64, key: i32) {
        let (offsets, data) = (&self.offsets, &self.data);
        self.index
            .insert_unique(hash, key, |&k| value_hash(Self::value(offsets, data, k)));
    }

    /// Appends `v` as a new value; its key. A value already present keeps its first key in
    /// the index (a dictionary with duplicates).
    fn push(&mut self, v: &[u8]) -> Result<i32> {
        let hash = value_hash(v);
        let known = self.find(hash, v).is_some();
        let key = self.append(v)?;
        if !known {
            self.index_key(hash, key);
        }
        Ok(key)
    }

    /// The merged key of `v`, appended when it is new.
    fn intern(&mut self, v: &[u8]) -> Result<i32> {
        let hash = value_hash(v);
        if let Some(k) = self.find(hash, v) {
            return Ok(k);
        }
        let key = self.append(v)?;
        self.index_key(hash, key);
        Ok(key)
    }

    /// Makes `dict` the dictionary keys are mapped from; a small one is merged whole now.
    fn start(&mut self, dict: &StringArray) -> Result<()> {
        self.remap.clear();
        self.remap.resize(dict.len(), -1);
        self.resolved = false;
        self.identity = false;
        if dict.len() <= EAGER_MERGE_VALUES {
            let mut identity = true;
            for i in 0..dict.len() {
                let m = self.intern(dict.value(i).as_bytes())?;
                identity &= usize::try_from(m) == Ok(i);
                if let Some(r) = self.remap.get_mut(i) {
                    *r = m;
                }
            }
            self.resolved = true;
            self.identity = identity;
        }
        Ok(())
    }

    /// Points `keys` (into `dict`, the current dictionary) into the merged dictionary. Keys
    /// past `dict` (null rows of an empty dictionary) become 0.
    fn remap(&mut self, dict: &StringArray, keys: &mut [i32]) -> Result<()> {
        if self.identity {
            return Ok(());
        }
        if self.resolved {
            let remap = &self.remap[..];
            for k in keys {
                *k = remap.get(*k as u32 as usize).copied().unwrap_or(0);
            }
            return Ok(());
        }
        for k in keys {
            let i = usize::try_from(*k).unwrap_or(usize::MAX);
            *k = match self.remap.get(i).copied() {
                None => 0,
                Some(m) if m >= 0 => m,
                Some(_) => {
                    let m = self.intern(dict.value(i).as_bytes())?;
                    if let Some(r) = self.remap.get_mut(i) {
                        *r = m;
                    }
                    m
                }
            };
        }
        Ok(())
    }

    fn finish(self) -> Result<ArrayRef> {
        Ok(Arc::new(StringArray::try_new(
            OffsetBuffer::new(self.offsets.into()),
            self.data.into(),
            None,
        )?))
    }
}

impl ColumnSink {
    /// An empty array of `field` (`dict`: the segment's dictionary for a symbol column), with
    /// room for `capacity` rows.
    pub(crate) fn new(
        field: &Field,
        dict: Option<&ArrayRef>,
        symbol_as: SymbolAs,
        capacity: usize,
    ) -> Self {
        let out = match &field.data_type {
            DataType::Boolean => Out::Bool(BooleanBufferBuilder::new(capacity)),
            DataType::Int8 => Out::I8(Vec::with_capacity(capacity)),
            DataType::Int16 => Out::I16(Vec::with_capacity(capacity)),
            DataType::Int32 | DataType::Date32 => Out::I32(Vec::with_capacity(capacity)),
            DataType::Int64 | DataType::Timestamp(..) => Out::I64(Vec::with_capacity(capacity)),
            DataType::UInt8 => Out::U8(Vec::with_capacity(capacity)),
            DataType::UInt16 => Out::U16(Vec::with_capacity(capacity)),
            DataType::UInt32 => Out::U32(Vec::with_capacity(capacity)),
            DataType::UInt64 => Out::U64(Vec::with_capacity(capacity)),
            DataType::Float32 => Out::F32(Vec::with_capacity(capacity)),
            DataType::Float64 => Out::F64(Vec::with_capacity(capacity)),
            DataType::Symbol if symbol_as == SymbolAs::Dictionary => {
                Out::Keys(Vec::with_capacity(capacity))
            }
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Binary | DataType::Symbol => {
                let mut offsets = Vec::with_capacity(capacity + 1);
                offsets.push(0);
                Out::Bytes {
                    offsets,
                    data: Vec::new(),
                }
            }
        };
        Self {
            field: field.clone(),
            symbol_as,
            dict: dict.cloned(),
            out,
            nulls: None,
            len: 0,
            capacity,
            scratch: Vec::new(),
            merge: None,
        }
    }

    /// Rows appended since the last [`Self::finish`].
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether rows of `block` can join this array: a block of the same column type (blocks of
    /// a symbol column come with their segment's dictionary; keys of another segment's
    /// dictionary are mapped into one dictionary for the array).
    pub fn accepts(&self, block: &DecodedBlock) -> bool {
        self.dict.is_some() == block.dict.is_some()
    }

    /// Makes `block`'s dictionary the one its keys are read against; from the first block of
    /// another dictionary on, symbol keys are mapped into a merged dictionary.
    fn use_dict_of(&mut self, block: &DecodedBlock) -> Result<()> {
        let (Some(cur), Some(new)) = (&self.dict, &block.dict) else {
            return Ok(());
        };
        if Arc::ptr_eq(cur, new) {
            return Ok(());
        }
        // Segments of one table often hold the same dictionary (a partitioned table's every
        // segment the same sixteen wind directions): its keys mean what the current one's do,
        // and the merge so far (or none) stands.
        if let (Some(a), Some(b)) = (cur.as_string_opt::<i32>(), new.as_string_opt::<i32>())
            && same_values(a, b)
        {
            return Ok(());
        }
        if matches!(self.out, Out::Keys(_)) {
            let as_str = |d: &ArrayRef| {
                d.as_string_opt::<i32>()
                    .cloned()
                    .ok_or_else(|| corrupt_at(block.pos, "symbol dictionary is not Utf8".into()))
            };
            let new_values = as_str(new)?;
            if self.merge.is_none() {
                self.merge = Some(DictMerge::new(&as_str(cur)?)?);
            }
            if let Some(m) = self.merge.as_mut() {
                m.start(&new_values)?;
            }
        }
        self.dict = Some(Arc::clone(new));
        Ok(())
    }

    /// Appends rows `range` of `block`, only those `mask` (indexed from `range.start`) sets when
    /// there is a mask.
    pub fn append(
        &mut self,
        block: &DecodedBlock,
        range: Range<usize>,
        mask: Option<&BooleanBuffer>,
    ) -> Result<()> {
        self.append_rows(block, &Rows { range, mask })
    }

    pub(crate) fn append_rows(&mut self, block: &DecodedBlock, sel: &Rows<'_>) -> Result<()> {
        let pos = block.pos;
        if sel.range.end > block.rows || sel.mask.is_some_and(|m| m.len() < sel.range.len()) {
            return Err(FormatError::InvalidArgument(format!(
                "rows {:?} of a {}-row block of column {}",
                sel.range, block.rows, pos.column
            )));
        }
        if self.len == 0 {
            self.out.reserve(self.capacity);
        }
        let appended = match sel.mask {
            None => sel.range.len(),
            Some(m) => m.slice(0, sel.range.len()).count_set_bits(),
        };
        if matches!(self.out, Out::Keys(_)) && self.dict.is_none() {
            return Err(corrupt_at(pos, "symbol column without dictionary".into()));
        }
        self.use_dict_of(block)?;
        let keys_before = match &self.out {
            Out::Keys(k) => k.len(),
            _ => 0,
        };
        // Values first, then validity, so a corrupt block leaves the sink as it was.
        let whole = sel.mask.is_none() && sel.range == (0..block.rows);
        if !(whole && self.append_decoding(block)?) {
            self.append_values(block, sel)?;
        }
        if let (Out::Keys(k), Some(m), Some(d)) = (&mut self.out, &mut self.merge, &self.dict) {
            let d = d
                .as_string_opt::<i32>()
                .ok_or_else(|| corrupt_at(pos, "symbol dictionary is not Utf8".into()))?;
            let new = k.get_mut(keys_before..).unwrap_or_default();
            if let Err(e) = m.remap(d, new) {
                k.truncate(keys_before);
                return Err(e);
            }
        }
        self.append_validity(block, sel, appended);
        self.len += appended;
        Ok(())
    }

    /// Appends every row of `block` by decoding its values straight into the output buffer
    /// (64-bit integers and timestamps, `Float64`) or through the sink's scratch buffer
    /// (narrower integers, dates, symbol keys); false (nothing appended) for other types.
    fn append_decoding(&mut self, block: &DecodedBlock) -> Result<bool> {
        if let Some(values) = block.values.get() {
            return self.append_decoded(block, values);
        }
        if block.derived {
            // Made straight into a 64-bit output; any other type goes through the values.
            let o = match (&mut self.out, &block.data_type, &block.inputs) {
                (Out::I64(o), DataType::Int64 | DataType::Timestamp(..), Some(_))
                | (Out::U64(o), DataType::UInt64, Some(_)) => o,
                _ => return Ok(false),
            };
            block.decode_rows_into(o, |_, _, out| {
                let base = out.len();
                block.derive_deferred(out).unwrap_or(Ok(()))?;
                Ok(out.len() - base)
            })?;
            return Ok(true);
        }
        let pos = block.pos;
        let codec = |e| block.codec_error(e);
        let scratch = &mut self.scratch;
        // Narrower types are decoded into a buffer the sink keeps, checked in one pass and
        // converted in another.
        fn narrow<'a>(
            scratch: &'a mut Vec<u64>,
            buf: &[u8],
            limits: Limits,
            signed: bool,
        ) -> strata_codec::Result<&'a [u64]> {
            scratch.clear();
            if signed {
                strata_codec::decode_i64_bits_into(buf, limits, scratch)?;
            } else {
                strata_codec::decode_u64_into(buf, limits, scratch)?;
            }
            Ok(&scratch[..])
        }
        let bad = |x: &dyn std::fmt::Display| corrupt_at(pos, format!("value {x} out of range"));
        macro_rules! signed {
            ($o:expr, $t:ty) => {
                block.decode_rows_into($o, |buf, limits, out| {
                    let v = narrow(scratch, buf, limits, true).map_err(codec)?;
                    let lo = i64::from(<$t>::MIN);
                    let hi = i64::from(<$t>::MAX);
                    if let Some(x) = outside_i64(v, lo, hi, |x| x as i64) {
                        return Err(bad(&x));
                    }
                    out.extend(v.iter().map(|&x| x as i64 as $t));
                    Ok(v.len())
                })?
            };
        }
        macro_rules! unsigned {
            ($o:expr, $hi:expr, $cast:expr) => {
                block.decode_rows_into($o, |buf, limits, out| {
                    let v = narrow(scratch, buf, limits, false).map_err(codec)?;
                    if let Some(x) = above_u64(v, $hi) {
                        return Err(bad(&x));
                    }
                    out.extend(v.iter().map(|&x| $cast(x)));
                    Ok(v.len())
                })?
            };
        }
        let dict_len = self.dict.as_ref().map_or(0, |d| d.len());
        match (&mut self.out, &block.data_type) {
            (Out::I64(o), DataType::Int64 | DataType::Timestamp(..)) => {
                block.decode_rows_into(o, |buf, limits, out| {
                    strata_codec::decode_i64_bits_into(buf, limits, out).map_err(codec)
                })?;
            }
            (Out::U64(o), DataType::UInt64) => {
                block.decode_rows_into(o, |buf, limits, out| {
                    strata_codec::decode_u64_into(buf, limits, out).map_err(codec)
                })?;
            }
            (Out::F64(o), DataType::Float64) => {
                block.decode_rows_into(o, |buf, limits, out| {
                    strata_codec::decode_f64_into(buf, limits, out).map_err(codec)
                })?;
            }
            (Out::I32(o), DataType::Int32 | DataType::Date32) => signed!(o, i32),
            (Out::I16(o), DataType::Int16) => signed!(o, i16),
            (Out::I8(o), DataType::Int8) => signed!(o, i8),
            (Out::U32(o), DataType::UInt32) => unsigned!(o, u32::MAX.into(), |x| x as u32),
            (Out::U16(o), DataType::UInt16) => unsigned!(o, u16::MAX.into(), |x| x as u16),
            (Out::U8(o), DataType::UInt8) => unsigned!(o, u8::MAX.into(), |x| x as u8),
            // Codes index the dictionary, which has fewer than 2^31 values; with an empty one
            // no code is valid.
            (Out::Keys(o), DataType::Symbol) if dict_len > 0 => {
                let hi = (dict_len as u64 - 1).min(i32::MAX as u64);
                block.decode_rows_into(o, |buf, limits, out| {
                    let v = narrow(scratch, buf, limits, false).map_err(codec)?;
                    keys_into(v, hi, out).map_err(|x| bad(&x))?;
                    Ok(v.len())
                })?
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// [`Self::append_decoding`] of a block whose values are decoded already (a derived
    /// block, or a key block of one): 64-bit integers, timestamps and symbol keys are copied
    /// into the output buffer; false (nothing appended) for other types.
    fn append_decoded(&mut self, block: &DecodedBlock, values: &Values) -> Result<bool> {
        let pos = block.pos;
        let dict_len = self.dict.as_ref().map_or(0, |d| d.len());
        match (&mut self.out, &block.data_type, values) {
            (Out::I64(o), DataType::Int64 | DataType::Timestamp(..), Values::I64(v)) => {
                block.decode_rows_into(o, |_, _, out| {
                    out.extend_from_slice(bytemuck::cast_slice(v));
                    Ok(v.len())
                })?;
            }
            (Out::U64(o), DataType::UInt64, Values::U64(v)) => {
                block.decode_rows_into(o, |_, _, out| {
                    out.extend_from_slice(v);
                    Ok(v.len())
                })?;
            }
            (Out::Keys(o), DataType::Symbol, Values::U64(v)) if dict_len > 0 => {
                let hi = (dict_len as u64 - 1).min(i32::MAX as u64);
                block.decode_rows_into(o, |_, _, out| {
                    keys_into(v, hi, out)
                        .map_err(|x| corrupt_at(pos, format!("value {x} out of range")))?;
                    Ok(v.len())
                })?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn append_validity(&mut self, block: &DecodedBlock, sel: &Rows<'_>, appended: usize) {
        match (&block.valid, &mut self.nulls) {
            (None, None) => {}
            (None, Some(n)) => n.append_n(appended, true),
            (Some(v), nulls) => {
                let n = nulls.get_or_insert_with(|| {
                    let mut b = BooleanBufferBuilder::new(self.len + appended);
                    b.append_n(self.len, true);
                    b
                });
                match sel.mask {
                    None => n.append_buffer(&v.slice(sel.range.start, sel.range.len())),
                    Some(m) => {
                        let start = sel.range.start;
                        for i in m.slice(0, sel.range.len()).set_indices() {
                            n.append(v.value(start + i));
                        }
                    }
                }
            }
        }
    }

    /// Appends the values of the selected rows from the block's decoded values.
    fn append_values(&mut self, block: &DecodedBlock, sel: &Rows<'_>) -> Result<()> {
        let pos = block.pos;
        let values = block.values()?;
        let valid = block.valid.as_ref();
        let dict_len = self.dict.as_ref().map_or(0, |d| d.len());
        match (&mut self.out, values) {
            (Out::I8(o), Values::I64(v)) => prim(
                o,
                v,
                valid,
                sel,
                pos,
                |r| outside_i64(r, i8::MIN.into(), i8::MAX.into(), |x| x),
                |x| x as i8,
            )?,
            (Out::I16(o), Values::I64(v)) => prim(
                o,
                v,
                valid,
                sel,
                pos,
                |r| outside_i64(r, i16::MIN.into(), i16::MAX.into(), |x| x),
                |x| x as i16,
            )?,
            (Out::I32(o), Values::I64(v)) => prim(
                o,
                v,
                valid,
                sel,
                pos,
                |r| outside_i64(r, i32::MIN.into(), i32::MAX.into(), |x| x),
                |x| x as i32,
            )?,
            (Out::I64(o), Values::I64(v)) => prim(o, v, valid, sel, pos, fits, |x| x as u64)?,
            (Out::U8(o), Values::U64(v)) => prim(
                o,
                v,
                valid,
                sel,
                pos,
                |r| above_u64(r, u8::MAX.into()),
                |x| x as u8,
            )?,
            (Out::U16(o), Values::U64(v)) => prim(
                o,
                v,
                valid,
                sel,
                pos,
                |r| above_u64(r, u16::MAX.into()),
                |x| x as u16,
            )?,
            (Out::U32(o), Values::U64(v)) => prim(
                o,
                v,
                valid,
                sel,
                pos,
                |r| above_u64(r, u32::MAX.into()),
                |x| x as u32,
            )?,
            (Out::U64(o), Values::U64(v)) => prim(o, v, valid, sel, pos, fits, |x| x)?,
            (Out::F64(o), Values::F64(v)) => prim(o, v, valid, sel, pos, fits, |x| x)?,
            (Out::F32(o), Values::F64(v)) => prim(
                o,
                v,
                valid,
                sel,
                pos,
                |r| {
                    r.iter()
                        .copied()
                        .find(|&x| f64::from(x as f32).to_bits() != x.to_bits())
                },
                |x| x as f32,
            )?,
            (Out::F32(o), Values::U64(v)) if block.f32_bits => prim(
                o,
                v,
                valid,
                sel,
                pos,
                |r| above_u64(r, u32::MAX.into()),
                |x| f32::from_bits(x as u32),
            )?,
            (Out::Keys(o), Values::U64(v)) => {
                // Codes index the dictionary, which has fewer than 2^31 values.
                let last = (dict_len as u64)
                    .checked_sub(1)
                    .map(|l| l.min(i32::MAX as u64));
                match last {
                    Some(last) => {
                        prim(o, v, valid, sel, pos, |r| above_u64(r, last), |x| x as i32)?
                    }
                    None => prim(o, v, valid, sel, pos, |r| r.first().copied(), |x| x as i32)?,
                }
            }
            (Out::Bool(o), Values::Bool(v)) => for_each_selected(valid, sel, |k| {
                o.append(k.and_then(|k| v.get(k).copied()).unwrap_or(false));
                Ok(())
            })?,
            (Out::Bytes { offsets, data }, Values::Bytes(v)) => {
                bytes(offsets, data, v, valid, sel, pos)?;
            }
            (Out::Bytes { offsets, data }, Values::U64(codes)) => {
                let dict = self
                    .dict
                    .as_ref()
                    .and_then(|d| d.as_string_opt::<i32>())
                    .ok_or_else(|| corrupt_at(pos, "symbol column without dictionary".into()))?;
                let mut at = *offsets.last().unwrap_or(&0);
                for_each_selected(valid, sel, |k| {
                    if let Some(k) = k {
                        let c = codes.get(k).copied().unwrap_or(u64::MAX);
                        let c = usize::try_from(c)
                            .ok()
                            .filter(|&c| c < dict_len)
                            .ok_or_else(|| {
                                corrupt_at(
                                    pos,
                                    format!("symbol code {c} outside a dictionary of {dict_len}"),
                                )
                            })?;
                        let s = dict.value(c).as_bytes();
                        data.extend_from_slice(s);
                        at += s.len() as i64;
                    }
                    offsets.push(at);
                    Ok(())
                })?;
            }
            _ => {
                return Err(corrupt_at(
                    pos,
                    format!(
                        "values do not match the column type {:?}",
                        self.field.data_type
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Whether no row was appended since the last [`Self::finish`].
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The array of every row appended so far; the sink starts again empty.
    pub fn finish(&mut self) -> Result<ArrayRef> {
        let len = std::mem::take(&mut self.len);
        let nulls = self
            .nulls
            .take()
            .map(|mut n| NullBuffer::new(n.finish()))
            .filter(|n| n.null_count() > 0);
        let fresh = Self::new(&self.field, self.dict.as_ref(), self.symbol_as, 0).out;
        let out = std::mem::replace(&mut self.out, fresh);
        let arr: ArrayRef = match (out, &self.field.data_type) {
            (Out::I8(v), _) => Arc::new(primitive::<Int8Type>(v, nulls)?),
            (Out::I16(v), _) => Arc::new(primitive::<Int16Type>(v, nulls)?),
            (Out::I32(v), DataType::Date32) => Arc::new(primitive::<Date32Type>(v, nulls)?),
            (Out::I32(v), _) => Arc::new(primitive::<Int32Type>(v, nulls)?),
            (Out::I64(v), DataType::Timestamp(unit, tz)) => match unit {
                TimeUnit::Second => Arc::new(
                    from_bits::<TimestampSecondType>(v, nulls)?.with_timezone_opt(tz.clone()),
                ),
                TimeUnit::Millisecond => Arc::new(
                    from_bits::<TimestampMillisecondType>(v, nulls)?.with_timezone_opt(tz.clone()),
                ),
                TimeUnit::Microsecond => Arc::new(
                    from_bits::<TimestampMicrosecondType>(v, nulls)?.with_timezone_opt(tz.clone()),
                ),
                TimeUnit::Nanosecond => Arc::new(
                    from_bits::<TimestampNanosecondType>(v, nulls)?.with_timezone_opt(tz.clone()),
                ),
            },
            (Out::I64(v), _) => Arc::new(from_bits::<Int64Type>(v, nulls)?),
            (Out::U8(v), _) => Arc::new(primitive::<UInt8Type>(v, nulls)?),
            (Out::U16(v), _) => Arc::new(primitive::<UInt16Type>(v, nulls)?),
            (Out::U32(v), _) => Arc::new(primitive::<UInt32Type>(v, nulls)?),
            (Out::U64(v), _) => Arc::new(primitive::<UInt64Type>(v, nulls)?),
            (Out::F32(v), _) => Arc::new(primitive::<Float32Type>(v, nulls)?),
            (Out::F64(v), _) => Arc::new(primitive::<Float64Type>(v, nulls)?),
            (Out::Bool(mut b), _) => Arc::new(BooleanArray::new(b.finish(), nulls)),
            (Out::Keys(k), _) => {
                let dict = match self.merge.take() {
                    Some(m) => m.finish()?,
                    None => self.dict.clone().ok_or_else(|| {
                        FormatError::InvalidArgument("symbol column without dictionary".into())
                    })?,
                };
                let keys = primitive::<Int32Type>(k, nulls)?;
                dictionary(keys, dict)?
            }
            (Out::Bytes { offsets, data }, t) => byte_array(t, offsets, data, nulls)?,
        };
        if arr.len() != len {
            return Err(FormatError::InvalidArgument(format!(
                "column {} built {} rows, expected {len}",
                self.field.name,
                arr.len()
            )));
        }
        Ok(arr)
    }
}

/// Appends the selected rows of a primitive block. `bad_in` returns a value of a run that does
/// not fit the column's type (corruption), `cast` converts values that fit; null rows get the
/// default. The selection is taken a run of consecutive selected rows at a time (the whole
/// range without a mask; a range scan's mask is one or two such runs): each run's values are
/// checked in one pass and converted in another, both tight loops the compiler vectorises;
/// nulls are filled in by scattering the run's values over its valid rows.
fn prim<S: strata_codec::Lane + std::fmt::Display, T: Copy + Default>(
    out: &mut Vec<T>,
    src: &[S],
    valid: Option<&BooleanBuffer>,
    sel: &Rows<'_>,
    pos: BlockPos,
    bad_in: impl Fn(&[S]) -> Option<S>,
    cast: impl Fn(S) -> T,
) -> Result<()> {
    let short = || corrupt_at(pos, "fewer values than rows".into());
    let Range { start, end } = sel.range.clone();
    // Rows `a..b` (block rows), whose first value is value `k`; returns the values it used.
    let mut run = |a: usize, b: usize, k: usize| -> Result<usize> {
        let n = b - a;
        let valid_here = valid.map(|v| v.slice(a, n));
        let used = valid_here.as_ref().map_or(n, BooleanBuffer::count_set_bits);
        let vals = src.get(k..k + used).ok_or_else(short)?;
        if let Some(x) = bad_in(vals) {
            return Err(corrupt_at(pos, format!("value {x} out of range")));
        }
        match valid_here {
            Some(v) if used < n => {
                let base = out.len();
                out.resize(base + n, T::default());
                let dst = out.get_mut(base..).unwrap_or_default();
                for (i, &x) in v.set_indices().zip(vals) {
                    if let Some(d) = dst.get_mut(i) {
                        *d = cast(x);
                    }
                }
            }
            _ => out.extend(vals.iter().map(|&x| cast(x))),
        }
        Ok(used)
    };
    let values_before = |row: usize| valid.map_or(row, |v| v.slice(0, row).count_set_bits());
    match sel.mask {
        None => {
            run(start, end, values_before(start))?;
        }
        Some(m) => {
            // The mask is indexed from `start`.
            if m.len() < end - start {
                return Err(corrupt_at(pos, "a mask shorter than its rows".into()));
            }
            let m = m.slice(0, end - start);
            if m.count_set_bits() * SPARSE <= m.len() {
                return gather(out, src, valid, start, &m, pos, bad_in, cast);
            }
            let mut row = start;
            let mut k = values_before(start);
            for (a, b) in m.set_slices() {
                let (a, b) = (start + a, start + b);
                k += valid.map_or(a - row, |v| v.slice(row, a - row).count_set_bits());
                k += run(a, b, k)?;
                row = b;
            }
        }
    }
    Ok(())
}

/// A mask selecting at most one row in this many is taken by [`gather`]: a tag equal to one
/// of many interleaved values selects rows one by one, and a run of one row cost more than
/// decoding it.
const SPARSE: usize = 4;

/// [`prim`] for a sparse mask `m` over rows `start..start + m.len()`: the range's values are
/// checked in one pass (all of them, selected or not), put on their rows when there are nulls,
/// and the selected rows gathered.
#[expect(
    clippy::too_many_arguments,
    reason = "prim's arguments, with the mask already cut to its rows"
)]
fn gather<S: strata_codec::Lane + std::fmt::Display, T: Copy + Default>(
    out: &mut Vec<T>,
    src: &[S],
    valid: Option<&BooleanBuffer>,
    start: usize,
    m: &BooleanBuffer,
    pos: BlockPos,
    bad_in: impl Fn(&[S]) -> Option<S>,
    cast: impl Fn(S) -> T,
) -> Result<()> {
    let short = || corrupt_at(pos, "fewer values than rows".into());
    let n = m.len();
    // Value `k` is the range's first; `here` its rows' validity when there are nulls.
    let (k, here) = match valid {
        None => (start, None),
        Some(v) => (v.slice(0, start).count_set_bits(), Some(v.slice(start, n))),
    };
    let used = here.as_ref().map_or(n, BooleanBuffer::count_set_bits);
    let vals = src.get(k..k + used).ok_or_else(short)?;
    if let Some(x) = bad_in(vals) {
        return Err(corrupt_at(pos, format!("value {x} out of range")));
    }
    let spread_rows;
    let rows: &[S] = match &here {
        None => vals,
        Some(h) => {
            let mut r = vals.to_vec();
            spread(&mut r, 0, h);
            spread_rows = r;
            &spread_rows
        }
    };
    out.reserve(m.count_set_bits());
    for i in m.set_indices() {
        out.push(cast(*rows.get(i).ok_or_else(short)?));
    }
    Ok(())
}

/// No value is out of range.
fn fits<S>(_: &[S]) -> Option<S> {
    None
}

/// The first value outside `lo..=hi`, found only when a branch-free pass says there is one;
/// `key` reads a value as an `i64` (the values themselves, or `i64` bit patterns in `u64`s).
fn outside_i64<T: Copy>(run: &[T], lo: i64, hi: i64, key: impl Fn(T) -> i64) -> Option<i64> {
    let (mn, mx) = run.iter().fold((i64::MAX, i64::MIN), |(a, b), &x| {
        (a.min(key(x)), b.max(key(x)))
    });
    if run.is_empty() || (mn >= lo && mx <= hi) {
        return None;
    }
    run.iter().map(|&x| key(x)).find(|&x| x < lo || x > hi)
}

/// The first value above `hi`, found only when a branch-free pass says there is one.
fn above_u64(run: &[u64], hi: u64) -> Option<u64> {
    if run.iter().fold(0, |a, &x| a.max(x)) <= hi {
        return None;
    }
    run.iter().copied().find(|&x| x > hi)
}

/// Appends `run` to `out` as `i32` dictionary keys, every one at most `hi` (below 2^31); else
/// returns the first key above `hi`, `out` as it was. Three passes the compiler vectorises (an
/// OR bounding the run below 2^31, a narrowing copy, a maximum of the copy) stand in for one
/// over 64-bit values, whose unsigned maximum SSE2 has no instruction for.
fn keys_into(run: &[u64], hi: u64, out: &mut Vec<i32>) -> std::result::Result<(), u64> {
    let first_above = || run.iter().copied().find(|&x| x > hi).unwrap_or(hi);
    if run.iter().fold(0, |a, &x| a | x) > i32::MAX as u64 {
        return Err(first_above());
    }
    let base = out.len();
    out.resize(base + run.len(), 0);
    let dst = out.get_mut(base..).unwrap_or_default();
    for (o, &x) in dst.iter_mut().zip(run) {
        *o = x as i32;
    }
    if dst.iter().fold(0, |a: i32, &x| a.max(x)) as u64 > hi {
        out.truncate(base);
        return Err(first_above());
    }
    Ok(())
}

/// Appends the selected rows of a byte-string block.
fn bytes(
    offsets: &mut Vec<i64>,
    data: &mut Vec<u8>,
    v: &ByteValues,
    valid: Option<&BooleanBuffer>,
    sel: &Rows<'_>,
    pos: BlockPos,
) -> Result<()> {
    let short = || corrupt_at(pos, "fewer values than rows".into());
    let mut at = *offsets.last().unwrap_or(&0);
    if valid.is_none() && sel.mask.is_none() {
        let Range { start, end } = sel.range.clone();
        let o = v.offsets.get(start..=end).ok_or_else(short)?;
        let (first, last) = (o[0], o[o.len() - 1]);
        let run = usize::try_from(first)
            .ok()
            .zip(usize::try_from(last).ok())
            .and_then(|(a, b)| v.data.get(a..b))
            .ok_or_else(short)?;
        // Offsets that never go back (checked in one branch-free pass) lie within
        // `first..=last`, whose bytes exist: each is `first` plus at most the run's length.
        if !o.windows(2).fold(true, |ok, w| ok & (w[0] <= w[1])) {
            return Err(corrupt_at(pos, "string offsets go back".into()));
        }
        data.extend_from_slice(run);
        offsets.extend(o[1..].iter().map(|&x| at + (x - first) as i64));
        return Ok(());
    }
    for_each_selected(valid, sel, |k| {
        if let Some(k) = k {
            let s = v.get(k).ok_or_else(short)?;
            data.extend_from_slice(s);
            at += s.len() as i64;
        }
        offsets.push(at);
        Ok(())
    })
}

fn primitive<T: ArrowPrimitiveType>(
    v: Vec<T::Native>,
    nulls: Option<NullBuffer>,
) -> Result<PrimitiveArray<T>> {
    Ok(PrimitiveArray::<T>::try_new(ScalarBuffer::from(v), nulls)?)
}

/// A 64-bit signed array over a buffer of bit patterns, without copying it.
fn from_bits<T: ArrowPrimitiveType<Native = i64>>(
    v: Vec<u64>,
    nulls: Option<NullBuffer>,
) -> Result<PrimitiveArray<T>> {
    let len = v.len();
    // A `Vec<u64>`'s buffer is aligned for `i64`.
    let values = ScalarBuffer::<i64>::new(Buffer::from_vec(v), 0, len);
    Ok(PrimitiveArray::<T>::try_new(values, nulls)?)
}

fn byte_array(
    t: &DataType,
    offsets: Vec<i64>,
    data: Vec<u8>,
    nulls: Option<NullBuffer>,
) -> Result<ArrayRef> {
    let values = Buffer::from_vec(data);
    if *t == DataType::LargeUtf8 {
        let o = OffsetBuffer::new(ScalarBuffer::from(offsets));
        return Ok(Arc::new(string_array(o, values, nulls)?));
    }
    // The offsets run from zero upwards (the decoder sums lengths): below 2^31 at the end, below
    // it everywhere.
    if offsets.last().is_some_and(|&o| o > i64::from(i32::MAX)) {
        return Err(FormatError::InvalidArgument(
            "more than 2 GiB of string values in one array; read fewer rows at a time".into(),
        ));
    }
    let o: Vec<i32> = offsets.iter().map(|&o| o as i32).collect();
    let o = OffsetBuffer::new(ScalarBuffer::from(o));
    if *t == DataType::Binary {
        Ok(Arc::new(
            BinaryArray::try_new(o, values, nulls).map_err(bad_strings)?,
        ))
    } else {
        Ok(Arc::new(string_array(o, values, nulls)?))
    }
}

fn bad_strings(e: arrow_schema::ArrowError) -> FormatError {
    FormatError::corrupt("string values", 0, e.to_string())
}

/// The string array of `offsets` into `values`. Where the values are ASCII (one branch-free
/// pass), every offset is a character boundary and the bytes are UTF-8, so only what else
/// Arrow's row-by-row check covers is checked (the last offset within the values, one null bit
/// a row); otherwise Arrow checks it all, naming what is wrong.
fn string_array<O: OffsetSizeTrait>(
    offsets: OffsetBuffer<O>,
    values: Buffer,
    nulls: Option<NullBuffer>,
) -> Result<GenericStringArray<O>> {
    let rows = offsets.len() - 1;
    if values.is_ascii()
        && offsets.last().is_some_and(|o| o.as_usize() <= values.len())
        && nulls.as_ref().is_none_or(|n| n.len() == rows)
    {
        #[expect(unsafe_code, reason = "skips Arrow's UTF-8 check for ASCII values")]
        // SAFETY: ASCII bytes are UTF-8 and every byte offset into them is a character
        // boundary; the offsets do not decrease (`OffsetBuffer`) and end within the values;
        // the null buffer has one bit per string: all that `try_new` checks.
        let a = unsafe { GenericStringArray::new_unchecked(offsets, values, nulls) };
        return Ok(a);
    }
    GenericStringArray::try_new(offsets, values, nulls).map_err(bad_strings)
}

thread_local! {
    /// A zstd decompression context per thread, reused from block to block.
    static ZSTD_DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// The codec buffer of a values buffer stored as `raw length u32 LE | zstd frame` (block flag
/// `ZSTD_VALUES`; from format 3.4 also a footer's compressed symbol dictionary, `what` names
/// which): the frame must decompress to exactly the raw length, which may be at most
/// `ZSTD_MAX_RATIO` times the frame (what is allocated is bounded by the bytes read).
pub(crate) fn decompress_values(stored: &[u8], what: &str) -> std::result::Result<Vec<u8>, String> {
    let Some((len, frame)) = stored.split_first_chunk::<4>() else {
        return Err(format!(
            "compressed {what} of {} bytes have no length",
            stored.len()
        ));
    };
    let raw_len = u32::from_le_bytes(*len) as usize;
    if raw_len > frame.len().saturating_mul(ZSTD_MAX_RATIO) {
        return Err(format!(
            "compressed {what} claim {raw_len} bytes from a frame of {}",
            frame.len()
        ));
    }
    let out = ZSTD_DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let ctx = match &mut *slot {
            Some(d) => d,
            None => slot.insert(zstd::bulk::Decompressor::new()?),
        };
        ctx.decompress(frame, raw_len)
    });
    match out {
        Ok(v) if v.len() == raw_len => Ok(v),
        Ok(v) => Err(format!(
            "compressed {what} are {} bytes, their length field says {raw_len}",
            v.len()
        )),
        Err(e) => Err(format!("compressed {what} do not decompress: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::{BlockOptions, encode_block};
    use arrow_array::Int64Array;

    #[test]
    fn string_arrays_are_checked_ascii_or_not() {
        let build = |offsets: Vec<i64>, data: &[u8], nulls: Option<NullBuffer>| {
            byte_array(&DataType::Utf8, offsets, data.to_vec(), nulls)
        };
        // ASCII, with and without nulls; multi-byte UTF-8.
        let a = build(vec![0, 2, 2, 5], b"abcde", None).unwrap();
        assert_eq!(
            a.as_string::<i32>().iter().collect::<Vec<_>>(),
            [Some("ab"), Some(""), Some("cde")]
        );
        let nulls = NullBuffer::from(vec![true, false, true]);
        let a = build(vec![0, 2, 2, 5], b"abcde", Some(nulls)).unwrap();
        assert_eq!(a.null_count(), 1);
        let a = build(vec![0, 2, 4], "\u{e9}\u{e8}".as_bytes(), None).unwrap();
        assert_eq!(a.as_string::<i32>().value(1), "\u{e8}");
        // Not UTF-8, an offset inside a character, past the data, a short null buffer: typed
        // errors, no panic.
        assert!(build(vec![0, 1, 2], &[b'a', 0xff], None).is_err());
        assert!(build(vec![0, 1, 4], "\u{e9}ab".as_bytes(), None).is_err());
        assert!(build(vec![0, 2, 9], b"abcde", None).is_err());
        let short = NullBuffer::from(vec![true]);
        assert!(build(vec![0, 2, 5], b"abcde", Some(short)).is_err());
        let large = byte_array(&DataType::LargeUtf8, vec![0, 3], b"xyz".to_vec(), None).unwrap();
        assert_eq!(large.as_string::<i64>().value(0), "xyz");
    }

    /// Merged dictionaries against a set of strings: a first dictionary with a duplicate keeps
    /// its keys; the keys of later dictionaries (merged eagerly and lazily, large enough to
    /// grow the index several times, duplicates and empty values included) each point at a
    /// merged value equal to theirs, one key per value throughout, and every value is merged
    /// once.
    #[test]
    fn merged_dictionaries_map_every_key_to_its_value_once() {
        let first = StringArray::from(vec!["b", "a", "", "b"]);
        let mut m = DictMerge::new(&first).unwrap();
        let mut seen: Vec<(Vec<i32>, Vec<String>)> = Vec::new();
        let mut distinct: std::collections::BTreeSet<String> =
            first.iter().map(|v| v.unwrap().to_string()).collect();
        for round in 0..6 {
            let values: Vec<String> = (0..(700 + round * 900))
                .map(|i| match i % 11 {
                    0 => String::new(),
                    1 => "a".to_string(),
                    // Values of more than eight bytes, sharing their first eight.
                    2 | 3 => format!("longvalue{}", (i * 7 + round) % 900),
                    // Values differing from "a" only in length or by a trailing zero byte.
                    4 => format!("v{:07}", i % 500),
                    5 => "a\0".to_string(),
                    _ => format!("v{}", (i * 31 + round * 17) % 3000),
                })
                .collect();
            distinct.extend(values.iter().cloned());
            let dict = StringArray::from_iter_values(values.iter());
            m.start(&dict).unwrap();
            let mut keys: Vec<i32> = (0..dict.len() as i32).rev().collect();
            m.remap(&dict, &mut keys).unwrap();
            let order: Vec<String> = (0..dict.len()).rev().map(|i| values[i].clone()).collect();
            seen.push((keys, order));
        }
        let merged = m.finish().unwrap();
        let merged = merged.as_string::<i32>();
        // One entry per distinct value, plus the first dictionary's duplicate.
        assert_eq!(merged.len(), distinct.len() + 1);
        assert_eq!(merged.value(3), "b");
        let mut key_of: std::collections::HashMap<&str, i32> = std::collections::HashMap::new();
        for (round, (keys, values)) in seen.iter().enumerate() {
            for (&k, v) in keys.iter().zip(values) {
                assert_eq!(merged.value(k as usize), v, "round {round}");
                assert_eq!(*key_of.entry(v.as_str()).or_insert(k), k, "{v:?}");
            }
        }
        // Values of the first dictionary keep its keys.
        assert_eq!(key_of.get("a"), Some(&1));
        assert_eq!(key_of.get(""), Some(&2));
    }

    /// Dictionaries are the same when their values are, in order, wherever their offsets
    /// start: a slice of a longer array equals a fresh copy; the same bytes cut elsewhere, a
    /// value more or less, or a different value are not the same.
    #[test]
    fn same_values_compares_values_not_offsets() {
        let a = StringArray::from(vec!["N", "NE", "", "E"]);
        let long = StringArray::from(vec!["x", "N", "NE", "", "E", "y"]);
        let sliced = long.slice(1, 4);
        assert!(same_values(&a, &a) && same_values(&a, &sliced) && same_values(&sliced, &a));
        for other in [
            StringArray::from(vec!["NN", "E", "", "E"]),
            StringArray::from(vec!["N", "NE", "", "E", ""]),
            StringArray::from(vec!["N", "NE", ""]),
            StringArray::from(vec!["N", "NE", "", "W"]),
        ] {
            assert!(
                !same_values(&a, &other) && !same_values(&other, &a),
                "{other:?}"
            );
        }
        let empty = StringArray::from(Vec::<&str>::new());
        assert!(same_values(&empty, &long.slice(2, 0)) && !same_values(&empty, &a));
    }

    /// Dictionary keys above the dictionary or above `i32` are the first such key, the output
    /// untouched; keys in range are appended as they are.
    #[test]
    fn keys_are_checked_against_the_dictionary_and_i32() {
        let mut out = vec![7];
        assert_eq!(keys_into(&[0, 3, 228, 5], 228, &mut out), Ok(()));
        assert_eq!(out, [7, 0, 3, 228, 5]);
        for (run, first) in [
            (vec![0, 229, 300, 1], 229),
            (vec![1, 2, 1 << 31, 229], 1 << 31),
            (vec![u64::MAX, 0], u64::MAX),
            (vec![(1 << 32) + 1], (1 << 32) + 1),
        ] {
            let mut out = vec![7];
            assert_eq!(keys_into(&run, 228, &mut out), Err(first), "{run:?}");
            assert_eq!(out, [7]);
        }
    }

    /// A block of Int64 values decoded as a narrower column: values that fit come through
    /// every append path (whole block straight into the output, part of a block, a mask),
    /// one that does not is a corruption error, and the sink is left as it was.
    #[test]
    fn narrowing_is_checked_on_every_append_path() {
        let wide = Field::new("x", DataType::Int64, true);
        let values: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), None, Some(-3), Some(120)]));
        let enc = encode_block(&wide, &values, &BlockOptions::default()).unwrap();
        let bytes = Bytes::from(enc.bytes);
        let narrow = Field::new("x", DataType::Int8, true);
        let block = DecodedBlock::decode(&narrow, &bytes, 4, None, BlockPos::default()).unwrap();
        let mut sink = ColumnSink::new(&narrow, None, SymbolAs::Dictionary, 4);
        sink.append(&block, 0..4, None).unwrap();
        sink.append(&block, 2..4, None).unwrap();
        let mask = BooleanBuffer::from(vec![true, false, true]);
        sink.append(&block, 1..4, Some(&mask)).unwrap();
        let got = sink.finish().unwrap();
        let want: ArrayRef = Arc::new(arrow_array::Int8Array::from(vec![
            Some(1),
            None,
            Some(-3),
            Some(120),
            Some(-3),
            Some(120),
            None,
            Some(120),
        ]));
        assert_eq!(&got, &want);

        let big: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), None, Some(300)]));
        let enc = encode_block(&wide, &big, &BlockOptions::default()).unwrap();
        let bytes = Bytes::from(enc.bytes);
        for range in [0..3, 2..3] {
            let block =
                DecodedBlock::decode(&narrow, &bytes, 3, None, BlockPos::default()).unwrap();
            let mut sink = ColumnSink::new(&narrow, None, SymbolAs::Dictionary, 3);
            let err = sink.append(&block, range.clone(), None).unwrap_err();
            assert!(
                err.to_string().contains("300 out of range"),
                "{range:?}: {err}"
            );
            assert!(sink.is_empty());
            assert_eq!(sink.finish().unwrap().len(), 0);
        }
    }

    /// Masked appends, sparse (gathered) and dense (taken a run at a time), with and without
    /// nulls, into a column of the block's type and a narrower one, and of strings, equal
    /// Arrow's filter of the whole block; a value that does not fit fails a sparse append too.
    #[test]
    fn masked_appends_equal_a_filter_of_the_block() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let wide = Field::new("x", DataType::Int64, true);
        let narrow = Field::new("x", DataType::Int8, true);
        for n in [1usize, 7, 64, 100, 1024] {
            for nulls in [0u64, 2, 8] {
                let vals: Vec<Option<i64>> = (0..n)
                    .map(|_| (next() % 8 >= nulls).then(|| (next() % 200) as i64 - 100))
                    .collect();
                let array: ArrayRef = Arc::new(Int64Array::from(vals.clone()));
                let narrowed: ArrayRef = Arc::new(arrow_array::Int8Array::from(
                    vals.iter().map(|v| v.map(|v| v as i8)).collect::<Vec<_>>(),
                ));
                let enc = encode_block(&wide, &array, &BlockOptions::default()).unwrap();
                let bytes = Bytes::from(enc.bytes);
                for (field, whole) in [(&wide, &array), (&narrow, &narrowed)] {
                    for density in [1u64, 4, 8, 16] {
                        let a = (next() as usize) % n;
                        let b = a + 1 + (next() as usize) % (n - a);
                        let mask = BooleanBuffer::from(
                            (a..b).map(|_| next() % 16 < density).collect::<Vec<_>>(),
                        );
                        let block =
                            DecodedBlock::decode(field, &bytes, n, None, BlockPos::default())
                                .unwrap();
                        let mut sink = ColumnSink::new(field, None, SymbolAs::Dictionary, n);
                        sink.append(&block, a..b, Some(&mask)).unwrap();
                        let got = sink.finish().unwrap();
                        let want = arrow_select::filter::filter(
                            &whole.slice(a, b - a),
                            &arrow_array::BooleanArray::new(mask.clone(), None),
                        )
                        .unwrap();
                        assert_eq!(&got, &want, "{n} rows, nulls {nulls}/8, {a}..{b}");
                    }
                }
            }
        }
        // Strings, with and without nulls.
        let text = Field::new("s", DataType::Utf8, true);
        for nulls in [0u64, 3] {
            let n = 300;
            let vals: Vec<Option<String>> = (0..n)
                .map(|_| (next() % 8 >= nulls).then(|| format!("v{}", next() % 1000)))
                .collect();
            let array: ArrayRef = Arc::new(arrow_array::StringArray::from(vals));
            let enc = encode_block(&text, &array, &BlockOptions::default()).unwrap();
            let bytes = Bytes::from(enc.bytes);
            for density in [1u64, 4, 16] {
                let (a, b) = (17, 290);
                let mask =
                    BooleanBuffer::from((a..b).map(|_| next() % 16 < density).collect::<Vec<_>>());
                let block =
                    DecodedBlock::decode(&text, &bytes, n, None, BlockPos::default()).unwrap();
                let mut sink = ColumnSink::new(&text, None, SymbolAs::Dictionary, n);
                sink.append(&block, a..b, Some(&mask)).unwrap();
                let want = arrow_select::filter::filter(
                    &array.slice(a, b - a),
                    &arrow_array::BooleanArray::new(mask.clone(), None),
                )
                .unwrap();
                assert_eq!(&sink.finish().unwrap(), &want, "strings, nulls {nulls}/8");
            }
        }

        let big: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), None, Some(300), Some(2)]));
        let enc = encode_block(&wide, &big, &BlockOptions::default()).unwrap();
        let bytes = Bytes::from(enc.bytes);
        let block = DecodedBlock::decode(&narrow, &bytes, 4, None, BlockPos::default()).unwrap();
        let mut sink = ColumnSink::new(&narrow, None, SymbolAs::Dictionary, 4);
        let sparse = BooleanBuffer::from(vec![false, false, true, false]);
        let err = sink.append(&block, 0..4, Some(&sparse)).unwrap_err();
        assert!(err.to_string().contains("300 out of range"), "{err}");
        assert!(sink.is_empty());
    }

    #[test]
    fn spread_puts_each_value_on_its_valid_row() {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        // Valid rows per 512: none, an eighth, ... all; 509 and 511 leave runs of whole words
        // without a null between the nulls, and 4,096 rows (a default block) many of them.
        // Past 8,192 rows the bitmap's words no longer fit the stack buffer.
        for n in [
            0usize, 1, 5, 63, 64, 65, 130, 1000, 1024, 4096, 8191, 8192, 8193, 12_345,
        ] {
            for density in [0u64, 64, 192, 448, 509, 511, 512] {
                let valid: Vec<bool> = (0..n).map(|_| next() % 512 < density).collect();
                let bits = BooleanBuffer::from(valid.clone());
                let values: Vec<u64> = (1..=valid.iter().filter(|&&v| v).count() as u64).collect();
                let mut want = vec![7u64; 3];
                let mut it = values.iter();
                want.extend(
                    valid
                        .iter()
                        .map(|&v| if v { *it.next().unwrap() } else { 0 }),
                );
                let mut got = vec![7u64; 3];
                got.extend(&values);
                spread(&mut got, 3, &bits);
                assert_eq!(got, want, "{n} rows, density {density}/512");
            }
        }
    }
}

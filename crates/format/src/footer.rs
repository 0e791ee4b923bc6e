//! The footer: schema, row count, per-column block index with stats and bloom filters, symbol
//! dictionaries, key range and user metadata, in a hand-written little-endian encoding.
//!
//! Every variable-length item carries its length, every count is checked against the bytes that
//! remain before anything is allocated, and a trailing extension list (`tag u16 | len u32 |
//! bytes`) lets minor versions add optional fields that older readers skip. See `docs/format.md`.

use std::collections::BTreeMap;

use crate::FormatVersion;
use std::fmt::Write as _;
use std::sync::Arc;

use crate::bloom::BloomFilter;
use crate::error::{FormatError, Result};
use crate::schema::{DataType, Field, Schema, TimeUnit};
use crate::stats::{ColumnStats, ScalarValue};

/// Location and summary of one block.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockMeta {
    /// File offset of the block's first byte.
    pub offset: u64,
    /// Bytes, CRC32C included.
    pub len: u32,
    /// Rows.
    pub rows: u32,
    /// The codec cascade of its values, for `inspect`: its shape (schemes without parameters)
    /// from this build on, the full cascade in older files. Blocks of the same cascade share
    /// one string.
    pub cascade: Arc<str>,
    /// Statistics.
    pub stats: ColumnStats,
    /// Bloom filter over its distinct values, if one was built.
    pub bloom: Option<BloomFilter>,
}

/// Everything the footer knows about one column.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ColumnMeta {
    /// Its blocks in row order.
    pub blocks: Vec<BlockMeta>,
    /// Statistics over the whole segment (merge of the blocks').
    pub stats: ColumnStats,
    /// The symbol dictionary (symbol columns only), indexed by code.
    pub dictionary: Option<Vec<Vec<u8>>>,
}

/// Smallest and largest sort-key tuples of the segment, one value per sort-key column
/// (`None` for a null key value).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRange {
    /// The first key.
    pub min: Vec<Option<ScalarValue>>,
    /// The last key.
    pub max: Vec<Option<ScalarValue>>,
}

/// The decoded footer.
#[derive(Debug, Clone, PartialEq)]
pub struct Footer {
    /// The columns.
    pub schema: Schema,
    /// Rows in the segment.
    pub row_count: u64,
    /// Configured rows per block (every block but a column's last is usually this size).
    pub block_rows: u32,
    /// One entry per schema field.
    pub columns: Vec<ColumnMeta>,
    /// The sort-key range, when the writer recorded it.
    pub key_range: Option<KeyRange>,
    /// Free-form metadata of the layers above.
    pub metadata: BTreeMap<String, String>,
    /// The derivation tables of derived columns (format 3.5; empty before it).
    pub derived: Vec<crate::derive::Derivation>,
}

// ---------------------------------------------------------------- encoding

/// A growing little-endian byte buffer for footer pieces, in the encoding of one footer
/// layout: fixed-width integers in layout 1, LEB128 varints for lengths, counts and integers
/// in layout 2 (format version 2).
pub(crate) struct Out {
    pub(crate) buf: Vec<u8>,
    /// Layout 2 or later (compact).
    pub(crate) compact: bool,
    /// Layout 3: decimal floats in statistics.
    decimal_floats: bool,
    /// Format 3.4: symbol dictionaries may be stored as zstd frames.
    zstd_dictionaries: bool,
    /// Format 3.7: cascade names as scheme tokens where they parse.
    token_cascades: bool,
}

impl Out {
    pub(crate) fn new(buf: Vec<u8>, layout: Layout) -> Self {
        Self {
            buf,
            compact: layout.compact,
            decimal_floats: layout.decimal_floats,
            zstd_dictionaries: layout.zstd_dictionaries,
            token_cascades: layout.token_cascades,
        }
    }
    fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }
    /// A count or number: `u64` in layout 1, a varint in layout 2.
    #[inline]
    fn num(&mut self, v: u64) {
        if self.compact {
            self.varint(v);
        } else {
            self.u64(v);
        }
    }
    /// A 32-bit number: `u32` in layout 1, a varint in layout 2.
    #[inline]
    fn num32(&mut self, v: u32) {
        if self.compact {
            self.varint(u64::from(v));
        } else {
            self.u32(v);
        }
    }
    pub(crate) fn len(&mut self, n: usize) -> Result<()> {
        let n = u32::try_from(n).map_err(|_| {
            FormatError::InvalidArgument(format!("{n} items do not fit a footer field"))
        })?;
        self.num32(n);
        Ok(())
    }
    fn bytes(&mut self, b: &[u8]) -> Result<()> {
        self.len(b.len())?;
        self.buf.extend_from_slice(b);
        Ok(())
    }
    fn str(&mut self, s: &str) -> Result<()> {
        self.bytes(s.as_bytes())
    }
    /// A cascade name of the cascade table: from format 3.7 a varint `len << 1 | tokens` and
    /// `len` bytes, scheme tokens ([`cascade_tokens`]) where the name is a tree of scheme
    /// names, else the name's UTF-8 bytes; before 3.7 a string.
    fn cascade_name(&mut self, name: &str) -> Result<()> {
        if !self.token_cascades {
            return self.str(name);
        }
        let (body, tokens) = match cascade_tokens(name) {
            Some(t) => (t, 1),
            None => (name.as_bytes().to_vec(), 0),
        };
        let n = u32::try_from(body.len()).map_err(|_| {
            FormatError::InvalidArgument(format!("a cascade name of {} bytes", body.len()))
        })?;
        self.varint(u64::from(n) << 1 | tokens);
        self.buf.extend_from_slice(&body);
        Ok(())
    }
}

/// The words a cascade name is made of in format 3.7's token form, by token number (fixed:
/// new words are only ever appended): the codec's scheme names and the format's `zstd` stage.
/// Spelled out here rather than taken from `strata_codec::Scheme::ALL`, whose order is the
/// codec's to change; a test checks that every scheme has a word.
const CASCADE_WORDS: [&str; 17] = [
    "constant",
    "plain",
    "bitpacked",
    "patched",
    "delta",
    "delta2",
    "rle",
    "dict",
    "lz4",
    "alp",
    "alprd",
    "gorilla",
    "fsst",
    "ans",
    "packedlz4",
    "parts",
    "zstd",
];

/// Most children one token can say it has (three bits).
const MAX_TOKEN_CHILDREN: usize = 7;

/// `name` (a cascade shape such as `alp(delta(patched(bitpacked, bitpacked)))`) as tokens,
/// one byte a node in prefix order: the word's number times 8 plus the node's child count;
/// `None` when it is not such a tree of [`CASCADE_WORDS`] (a derived block's
/// `derived(day)`, a node of more than seven children) or would not render back to itself.
/// A footer of a small segment spent about a third of its bytes on these names spelled out.
fn cascade_tokens(name: &str) -> Option<Vec<u8>> {
    fn node(s: &str, out: &mut Vec<u8>, depth: usize) -> Option<usize> {
        if depth > 64 {
            return None;
        }
        let end = s.find(['(', ',', ')']).unwrap_or(s.len());
        let word = CASCADE_WORDS.iter().position(|w| *w == &s[..end])?;
        let at = out.len();
        out.push(u8::try_from(word).ok()? << 3);
        if !s[end..].starts_with('(') {
            return Some(end);
        }
        let mut pos = end + 1;
        let mut children = 0usize;
        loop {
            pos += node(&s[pos..], out, depth + 1)?;
            children += 1;
            if let Some(rest) = s[pos..].strip_prefix(", ") {
                pos = s.len() - rest.len();
            } else if s[pos..].starts_with(')') {
                pos += 1;
                break;
            } else {
                return None;
            }
        }
        if children > MAX_TOKEN_CHILDREN {
            return None;
        }
        out[at] |= children as u8;
        Some(pos)
    }
    let mut out = Vec::with_capacity(8);
    let used = node(name, &mut out, 0)?;
    (used == name.len() && render_cascade(&out).ok()? == name).then_some(out)
}

/// The name that `tokens` ([`cascade_tokens`]) stand for; the error says what is wrong.
fn render_cascade(tokens: &[u8]) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(tokens.len() * 8);
    // Children still to come of each open node.
    let mut open: Vec<u8> = Vec::new();
    let mut it = tokens.iter();
    loop {
        let &t = it
            .next()
            .ok_or_else(|| "cascade tokens end inside a node".to_string())?;
        let word = CASCADE_WORDS
            .get(usize::from(t >> 3))
            .ok_or_else(|| format!("unknown cascade token {t}"))?;
        out.push_str(word);
        let children = t & 7;
        if children > 0 {
            out.push('(');
            open.push(children);
            continue;
        }
        // A leaf: close every node it completes.
        loop {
            match open.last_mut() {
                None => {
                    return if it.next().is_none() {
                        Ok(out)
                    } else {
                        Err("cascade tokens past the end of the tree".into())
                    };
                }
                Some(left) => {
                    *left -= 1;
                    if *left == 0 {
                        open.pop();
                        out.push(')');
                    } else {
                        out.push_str(", ");
                        break;
                    }
                }
            }
        }
    }
}

fn unit_code(u: TimeUnit) -> u8 {
    match u {
        TimeUnit::Second => 0,
        TimeUnit::Millisecond => 1,
        TimeUnit::Microsecond => 2,
        TimeUnit::Nanosecond => 3,
    }
}

fn put_field(o: &mut Out, f: &Field) -> Result<()> {
    o.str(&f.name)?;
    o.u8(f.data_type.code());
    if let DataType::Timestamp(u, tz) = &f.data_type {
        o.u8(unit_code(*u));
        match tz {
            None => o.u8(0),
            Some(tz) => {
                o.u8(1);
                o.str(tz)?;
            }
        }
    }
    o.u8(u8::from(f.nullable));
    Ok(())
}

fn put_scalar(o: &mut Out, v: &Option<ScalarValue>) -> Result<()> {
    match v {
        None => o.u8(0),
        Some(ScalarValue::Bool(b)) => {
            o.u8(1);
            o.u8(u8::from(*b));
        }
        Some(ScalarValue::Int(i)) => {
            o.u8(2);
            // Zigzag in layout 2, so small negative values stay short.
            o.num(if o.compact {
                ((*i << 1) ^ (*i >> 63)) as u64
            } else {
                *i as u64
            });
        }
        Some(ScalarValue::UInt(u)) => {
            o.u8(3);
            o.num(*u);
        }
        Some(ScalarValue::Float(f)) => match o.decimal_floats.then(|| decimal_of(*f)).flatten() {
            Some(packed) => {
                o.u8(6);
                o.varint(packed);
            }
            None => {
                o.u8(4);
                o.u64(f.to_bits());
            }
        },
        Some(ScalarValue::Bytes(b)) => {
            o.u8(5);
            o.bytes(b)?;
        }
    }
    Ok(())
}

/// Stats flags: bits 0-2 in both layouts; bits 3 and 4 (layout 2) say that a null count and
/// a NaN count follow (absent means zero).
const HAS_NULLS: u8 = 8;
const HAS_NANS: u8 = 16;

/// A block's or column's statistics. Layout 2 leaves out the row count (the block's rows) and
/// zero null and NaN counts.
fn put_stats(o: &mut Out, s: &ColumnStats) -> Result<()> {
    let mut flags = u8::from(s.min_exact)
        | (u8::from(s.max_exact) << 1)
        | (u8::from(s.distinct_count.is_some()) << 2);
    if o.compact {
        flags |= if s.null_count > 0 { HAS_NULLS } else { 0 };
        flags |= if s.nan_count > 0 { HAS_NANS } else { 0 };
    }
    o.u8(flags);
    put_scalar(o, &s.min)?;
    put_scalar(o, &s.max)?;
    if o.compact {
        if s.null_count > 0 {
            o.varint(s.null_count);
        }
        if s.nan_count > 0 {
            o.varint(s.nan_count);
        }
    } else {
        o.u64(s.null_count);
        o.u64(s.row_count);
        o.u64(s.nan_count);
    }
    if let Some(d) = s.distinct_count {
        o.num(d);
    }
    Ok(())
}

/// Footer fields before the column entries: row count, block size, schema and sort key.
pub(crate) fn encode_prefix(
    o: &mut Out,
    row_count: u64,
    block_rows: u32,
    schema: &Schema,
) -> Result<()> {
    o.num(row_count);
    o.num32(block_rows);
    o.len(schema.fields.len())?;
    for f in &schema.fields {
        put_field(o, f)?;
    }
    o.len(schema.sort_key.len())?;
    for k in &schema.sort_key {
        o.str(k)?;
    }
    Ok(())
}

/// Where a column's block entries stand while they are encoded or decoded in layout 2: each
/// entry's offset is the gap after the column's previous block (its first: after the header),
/// and its cascade an index into the segment's cascade table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BlockContext {
    /// End of the column's previous block (the header's end before its first).
    pub(crate) prev_end: u64,
    /// Configured rows per block: layout 2 stores `block_rows - rows`.
    pub(crate) block_rows: u32,
    /// The block's cascade's index in the cascade table (layout 2).
    pub(crate) cascade: u32,
}

/// One block-index entry (a column's entries follow its block count). Layout 1: offset u64,
/// len u32, rows u32, cascade str, stats, bloom. Layout 2: offset as the varint gap after the
/// column's previous block, len varint, `block_rows - rows` varint, cascade index varint,
/// stats without the row count, bloom.
pub(crate) fn encode_block(o: &mut Out, b: &BlockMeta, cx: BlockContext) -> Result<()> {
    if o.compact {
        let gap = b.offset.checked_sub(cx.prev_end).ok_or_else(|| {
            FormatError::InvalidArgument(format!(
                "block at offset {} before its column's previous block (ends at {})",
                b.offset, cx.prev_end
            ))
        })?;
        let short = cx.block_rows.checked_sub(b.rows).ok_or_else(|| {
            FormatError::InvalidArgument(format!(
                "block of {} rows (block_rows is {})",
                b.rows, cx.block_rows
            ))
        })?;
        o.varint(gap);
        o.varint(u64::from(b.len));
        o.varint(u64::from(short));
        o.varint(u64::from(cx.cascade));
    } else {
        o.u64(b.offset);
        o.u32(b.len);
        o.u32(b.rows);
        o.str(&b.cascade)?;
    }
    put_stats(o, &b.stats)?;
    match &b.bloom {
        None => o.num32(0),
        Some(f) => {
            o.len(f.num_blocks())?;
            for w in f.words() {
                o.u32(w);
            }
        }
    }
    Ok(())
}

/// What follows a column's block entries: its segment stats (layout 1 only: layout 2's reader
/// merges the blocks' stats, which is how the writer makes them) and its dictionary.
pub(crate) fn encode_column_tail(
    o: &mut Out,
    stats: &ColumnStats,
    dictionary: Option<&[Vec<u8>]>,
    zstd_level: Option<i32>,
) -> Result<()> {
    if !o.compact {
        put_stats(o, stats)?;
    }
    let Some(d) = dictionary else {
        o.u8(0);
        return Ok(());
    };
    // The dictionary's values as flag 1 stores them: `n`, then each value with its length.
    let mut plain = Out {
        buf: Vec::with_capacity(d.iter().map(|v| v.len() + 1).sum::<usize>() + 10),
        compact: o.compact,
        decimal_floats: o.decimal_floats,
        zstd_dictionaries: o.zstd_dictionaries,
        token_cascades: o.token_cascades,
    };
    plain.len(d.len())?;
    for v in d {
        plain.bytes(v)?;
    }
    // Format 3.4: a zstd frame of those bytes where it saves an eighth (a small segment of a
    // table with many distinct strings, one day of flights' tail numbers, spent most of its
    // footer on them).
    let frame = match zstd_level {
        Some(level) if o.zstd_dictionaries && plain.buf.len() >= crate::block::ZSTD_MIN_BYTES => {
            crate::block::compress_values(&plain.buf, level)?
                .filter(|f| plain.buf.len() <= (f.len() - 4).saturating_mul(DICTIONARY_MAX_RATIO))
        }
        _ => None,
    };
    match frame {
        Some(f) => {
            o.u8(2);
            o.bytes(&f)?;
        }
        None => {
            o.u8(1);
            o.buf.extend_from_slice(&plain.buf);
        }
    }
    Ok(())
}

/// Footer fields after the columns: key range, metadata, (layout 2) the cascade table, and the
/// extension list (the derivation tables, when there are any).
pub(crate) fn encode_suffix(
    o: &mut Out,
    key_range: Option<&KeyRange>,
    metadata: &BTreeMap<String, String>,
    cascades: &[String],
    derived: &[crate::derive::Derivation],
) -> Result<()> {
    match key_range {
        None => o.u8(0),
        Some(k) => {
            o.u8(1);
            for side in [&k.min, &k.max] {
                o.len(side.len())?;
                for v in side {
                    put_scalar(o, v)?;
                }
            }
        }
    }
    o.len(metadata.len())?;
    for (k, v) in metadata {
        o.str(k)?;
        o.str(v)?;
    }
    if o.compact {
        o.len(cascades.len())?;
        for c in cascades {
            o.cascade_name(c)?;
        }
    }
    // Extensions: the derivation tables (3.5), when a column has one.
    if derived.is_empty() {
        o.num32(0);
    } else {
        o.num32(1);
        o.buf
            .extend_from_slice(&crate::derive::EXTENSION_TAG.to_le_bytes());
        o.bytes(&crate::derive::encode_extension(derived)?)?;
    }
    Ok(())
}

/// The cascade table of layout 2: each distinct cascade string once, in order of first use.
#[derive(Debug, Default)]
pub(crate) struct CascadeTable {
    pub(crate) names: Vec<String>,
    ids: std::collections::HashMap<String, u32>,
}

impl CascadeTable {
    /// The index of `cascade`, added if new.
    pub(crate) fn id(&mut self, cascade: &str) -> Result<u32> {
        if let Some(&id) = self.ids.get(cascade) {
            return Ok(id);
        }
        let id = u32::try_from(self.names.len())
            .map_err(|_| FormatError::InvalidArgument("too many distinct cascades".into()))?;
        self.names.push(cascade.to_string());
        self.ids.insert(cascade.to_string(), id);
        Ok(id)
    }
}

/// Largest raw length a compressed symbol dictionary (format 3.4) may claim, in multiples of its
/// frame: a reader allocates at most this much per byte read (and about 44 bytes more per
/// value it builds); the writer keeps values that compress further plain. Real dictionaries
/// compress 2-6 times (a day's tail numbers 2.5, sorted postal codes about 6).
pub(crate) const DICTIONARY_MAX_RATIO: usize = 16;

/// A footer layout: 1 (fixed-width numbers), 2 (varints, gaps, a cascade table) or 3 (layout
/// 2 with float statistics as decimals where that is exact).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Layout 2 or 3.
    pub(crate) compact: bool,
    /// Layout 3.
    pub(crate) decimal_floats: bool,
    /// Format 3.4 and later: a symbol dictionary may be a zstd frame (dictionary flag 2).
    pub(crate) zstd_dictionaries: bool,
    /// Format 3.7 and later: cascade names may be scheme tokens.
    pub(crate) token_cascades: bool,
}

/// The footer layout of format `version`: its major (1, 2 or 3; any other is refused), and
/// from 3.4 symbol dictionaries that may be compressed.
pub(crate) fn layout_of(version: FormatVersion) -> Result<Layout> {
    let (compact, decimal_floats) = match version.major {
        1 => (false, false),
        2 => (true, false),
        3 => (true, true),
        _ => {
            return Err(FormatError::UnsupportedVersion {
                major: version.major,
                minor: version.minor,
            });
        }
    };
    Ok(Layout {
        compact,
        decimal_floats,
        zstd_dictionaries: (version.major, version.minor) >= (3, 4),
        token_cascades: (version.major, version.minor) >= (3, 7),
    })
}

/// Powers of ten a decimal float scalar may divide by; every one is exact as an `f64`.
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// `f` as a layout-3 decimal scalar, `zigzag(m) << 4 | e` with `f == m / 10^e` exactly (the
/// division a reader does, correctly rounded, gives back `f`'s very bits), the smallest such
/// `e`, and `|m| < 2^53` so `m` converts exactly. `None` when no `e` up to 15 works (values
/// that are not short decimals, infinities, NaNs, negative zero): those stay 8-byte doubles.
/// A statistic read from text such as `-3.2` or `1023.4` takes 2 or 3 bytes instead of 8.
fn decimal_of(f: f64) -> Option<u64> {
    const LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53
    if !f.is_finite() {
        return None;
    }
    for (e, p) in POW10.iter().enumerate() {
        let scaled = (f * p).round();
        if scaled.abs() >= LIMIT {
            return None;
        }
        // Checked on the integer the reader will see, so negative zero never passes as zero.
        let m = scaled as i64;
        if (m as f64 / p).to_bits() == f.to_bits() {
            let zigzag = ((m << 1) ^ (m >> 63)) as u64;
            return Some(zigzag << 4 | e as u64);
        }
    }
    None
}

/// Inverse of [`decimal_of`]; `None` for a mantissa of 2^53 or more, which no writer produces.
fn decimal_value(packed: u64) -> Option<f64> {
    let e = (packed & 15) as usize;
    let zigzag = packed >> 4;
    let m = ((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64);
    if m.unsigned_abs() >= 1 << 53 {
        return None;
    }
    POW10.get(e).map(|p| m as f64 / p)
}

impl Footer {
    /// Serialises the footer (without the tail) in the layout of [`crate::CURRENT_VERSION`].
    pub fn encode(&self) -> Result<Vec<u8>> {
        self.encode_version(crate::CURRENT_VERSION)
    }

    /// Serialises the footer in the layout of format `version` (major 1, 2 or 3). Layouts 2 and
    /// 3 do not store the columns' segment stats: [`Self::decode_version`] merges the blocks'.
    pub fn encode_version(&self, version: FormatVersion) -> Result<Vec<u8>> {
        let mut o = Out::new(Vec::with_capacity(1024), layout_of(version)?);
        encode_prefix(&mut o, self.row_count, self.block_rows, &self.schema)?;
        if self.columns.len() != self.schema.fields.len() {
            return Err(FormatError::SchemaMismatch(format!(
                "{} column entries for {} fields",
                self.columns.len(),
                self.schema.fields.len()
            )));
        }
        let mut cascades = CascadeTable::default();
        for c in &self.columns {
            o.len(c.blocks.len())?;
            let mut prev_end = crate::segment::HEADER_LEN;
            for b in &c.blocks {
                let cx = BlockContext {
                    prev_end,
                    block_rows: self.block_rows,
                    cascade: cascades.id(&b.cascade)?,
                };
                encode_block(&mut o, b, cx)?;
                prev_end = b.offset.saturating_add(u64::from(b.len));
            }
            encode_column_tail(
                &mut o,
                &c.stats,
                c.dictionary.as_deref(),
                Some(crate::block::DEFAULT_ZSTD_LEVEL),
            )?;
        }
        let compact = o.compact;
        encode_suffix(
            &mut o,
            self.key_range.as_ref(),
            &self.metadata,
            &cascades.names,
            if compact { &self.derived } else { &[] },
        )?;
        Ok(o.buf)
    }

    /// Parses a footer of [`crate::CURRENT_VERSION`]'s layout; see [`Self::decode_version`].
    pub fn decode(buf: &[u8], base: u64) -> Result<Self> {
        Self::decode_version(buf, base, crate::CURRENT_VERSION)
    }

    /// Parses a footer written by format `version` (major 1, 2 or 3; any other is
    /// [`FormatError::UnsupportedVersion`]); `base` is its file offset (for error messages).
    /// Every count is checked against the remaining bytes and the result is validated
    /// structurally (row counts, dictionaries, blocks tiling the data region).
    pub fn decode_version(buf: &[u8], base: u64, version: FormatVersion) -> Result<Self> {
        let layout = layout_of(version)?;
        let compact = layout.compact;
        let mut r = In {
            buf,
            pos: 0,
            base,
            compact,
            decimal_floats: layout.decimal_floats,
            zstd_dictionaries: layout.zstd_dictionaries,
            token_cascades: layout.token_cascades,
        };
        let row_count = r.num()?;
        let block_rows = r.num32()?;
        let nf = r.count(3)?;
        let mut fields = Vec::with_capacity(nf);
        for _ in 0..nf {
            fields.push(r.field()?);
        }
        let nk = r.count(1)?;
        let mut sort_key = Vec::with_capacity(nk);
        for _ in 0..nk {
            sort_key.push(r.string()?);
        }
        let schema = Schema::new(fields)
            .and_then(|s| s.with_sort_key(sort_key))
            .map_err(|e| r.err(e.to_string()))?;
        let mut columns = Vec::with_capacity(nf);
        // Layout 2: each block's index in the cascade table, resolved once the table is read.
        let mut cascade_ids: Vec<Vec<u64>> = Vec::with_capacity(nf);
        // Layout 2's blocks are named from the cascade table at the end.
        let unnamed: Arc<str> = Arc::from("");
        for _ in 0..nf {
            let nb = r.count(if compact { 6 } else { 20 })?;
            let mut blocks = Vec::with_capacity(nb);
            let mut ids = Vec::new();
            let mut prev_end = crate::segment::HEADER_LEN;
            for _ in 0..nb {
                let (offset, len, rows, cascade) = if compact {
                    let at = r.pos;
                    let offset = prev_end.checked_add(r.varint()?);
                    let len = u32::try_from(r.varint()?).ok();
                    let rows = u32::try_from(r.varint()?)
                        .ok()
                        .and_then(|short| block_rows.checked_sub(short));
                    let (Some(offset), Some(len), Some(rows)) = (offset, len, rows) else {
                        return Err(FormatError::corrupt(
                            "footer",
                            base + at as u64,
                            "block offset, length or rows out of range",
                        ));
                    };
                    ids.push(r.varint()?);
                    (offset, len, rows, Arc::clone(&unnamed))
                } else {
                    (r.u64()?, r.u32()?, r.u32()?, Arc::from(r.string()?))
                };
                prev_end = offset.saturating_add(u64::from(len));
                let stats = r.stats(u64::from(rows))?;
                let words = r.count(32)?;
                let bloom = if words == 0 {
                    None
                } else {
                    let mut w = Vec::with_capacity(words * 8);
                    for _ in 0..words * 8 {
                        w.push(r.u32()?);
                    }
                    Some(
                        BloomFilter::from_words(&w)
                            .ok_or_else(|| r.err("bad bloom filter size".into()))?,
                    )
                };
                blocks.push(BlockMeta {
                    offset,
                    len,
                    rows,
                    cascade,
                    stats,
                    bloom,
                });
            }
            let stats = if compact {
                ColumnStats::merge_all(blocks.iter().map(|b| &b.stats))
            } else {
                r.stats(0)?
            };
            let dictionary = match r.u8()? {
                0 => None,
                1 => Some(r.dictionary_values()?),
                2 if r.zstd_dictionaries => {
                    let at = r.pos;
                    let rows: u64 = blocks.iter().map(|b| u64::from(b.rows)).sum();
                    let d = r.compressed_dictionary(rows).map_err(|e| {
                        let detail = match e {
                            FormatError::Corrupt { detail, .. } => detail,
                            e => e.to_string(),
                        };
                        r.err_at(at, format!("symbol dictionary: {detail}"))
                    })?;
                    Some(d)
                }
                t => return Err(r.err(format!("bad dictionary flag {t}"))),
            };
            columns.push(ColumnMeta {
                blocks,
                stats,
                dictionary,
            });
            cascade_ids.push(ids);
        }
        let key_range = match r.u8()? {
            0 => None,
            1 => {
                let mut sides = [Vec::new(), Vec::new()];
                for side in &mut sides {
                    let n = r.count(1)?;
                    for _ in 0..n {
                        side.push(r.scalar()?);
                    }
                }
                let [min, max] = sides;
                Some(KeyRange { min, max })
            }
            t => return Err(r.err(format!("bad key range flag {t}"))),
        };
        let nm = r.count(2)?;
        let mut metadata = BTreeMap::new();
        for _ in 0..nm {
            let k = r.string()?;
            let v = r.string()?;
            metadata.insert(k, v);
        }
        if compact {
            let nc = r.count(1)?;
            let mut names: Vec<Arc<str>> = Vec::with_capacity(nc);
            for _ in 0..nc {
                names.push(Arc::from(r.cascade_name()?));
            }
            for (c, ids) in columns.iter_mut().zip(&cascade_ids) {
                for (b, &id) in c.blocks.iter_mut().zip(ids) {
                    b.cascade = usize::try_from(id)
                        .ok()
                        .and_then(|i| names.get(i))
                        .cloned()
                        .ok_or_else(|| r.err(format!("cascade index {id} past a table of {nc}")))?;
                }
            }
        }
        // Extensions: the derivation tables (3.5); tags added by later minor versions are
        // skipped.
        let ne = r.count(3)?;
        let mut derived = Vec::new();
        for _ in 0..ne {
            let tag = r.u16()?;
            let at = r.pos;
            let payload = r.bytes()?;
            if tag == crate::derive::EXTENSION_TAG && compact {
                if !derived.is_empty() {
                    return Err(r.err_at(at, "derivation tables listed twice".into()));
                }
                let dict_len: Vec<Option<usize>> = columns
                    .iter()
                    .map(|c| c.dictionary.as_ref().map(Vec::len))
                    .collect();
                derived = crate::derive::decode_extension(payload, &schema, &dict_len, row_count)
                    .map_err(|d| r.err_at(at, format!("derivation tables: {d}")))?;
            }
        }
        if r.pos != buf.len() {
            return Err(r.err(format!("{} trailing bytes", buf.len() - r.pos)));
        }
        let footer = Footer {
            schema,
            row_count,
            block_rows,
            columns,
            key_range,
            metadata,
            derived,
        };
        footer
            .validate(base)
            .map_err(|d| FormatError::corrupt("footer", base, d))?;
        Ok(footer)
    }

    /// Structural checks: row counts add up, dictionaries exactly on symbol columns, and the
    /// blocks of all columns tile `[data_start, data_end)` with no gap or overlap (`data_end` is
    /// the footer's offset), so every data byte is covered by one block's CRC.
    fn validate(&self, data_end: u64) -> std::result::Result<(), String> {
        if self.block_rows == 0 || self.block_rows as usize > strata_codec::MAX_VALUES {
            return Err(format!("block_rows {} out of range", self.block_rows));
        }
        for (i, (c, f)) in self.columns.iter().zip(&self.schema.fields).enumerate() {
            let rows: u64 = c.blocks.iter().map(|b| u64::from(b.rows)).sum();
            if rows != self.row_count {
                return Err(format!(
                    "column {i} has {rows} rows, the segment {}",
                    self.row_count
                ));
            }
            if c.dictionary.is_some() != (f.data_type == DataType::Symbol) {
                return Err(format!(
                    "column {i}: dictionary presence does not match its type"
                ));
            }
            for (j, b) in c.blocks.iter().enumerate() {
                if b.rows == 0
                    || b.rows > self.block_rows
                    || b.len < 5
                    || b.stats.row_count != u64::from(b.rows)
                {
                    return Err(format!("column {i} block {j}: bad size or row count"));
                }
            }
        }
        if self.tiles_in_stripe_order(data_end) {
            return Ok(());
        }
        let mut ranges: Vec<(u64, u64)> = self
            .columns
            .iter()
            .flat_map(|c| &c.blocks)
            .map(|b| (b.offset, b.offset.saturating_add(u64::from(b.len))))
            .collect();
        ranges.sort_unstable();
        let mut at = crate::segment::HEADER_LEN;
        for (s, e) in ranges {
            if s != at {
                return Err(format!("blocks do not tile the data region at offset {at}"));
            }
            at = e;
        }
        if at != data_end {
            return Err(format!(
                "blocks end at {at}, the footer starts at {data_end}"
            ));
        }
        Ok(())
    }

    /// Whether the blocks tile `[data_start, data_end)` in the order a writer lays them out:
    /// stripe by stripe, each stripe's blocks in column order. One pass, no sort; a footer
    /// laid out any other way is checked by sorting (the answer is the same, only slower).
    fn tiles_in_stripe_order(&self, data_end: u64) -> bool {
        let stripes = self
            .columns
            .iter()
            .map(|c| c.blocks.len())
            .max()
            .unwrap_or(0);
        let mut at = crate::segment::HEADER_LEN;
        for s in 0..stripes {
            for b in self.columns.iter().filter_map(|c| c.blocks.get(s)) {
                if b.offset != at {
                    return false;
                }
                at = at.saturating_add(u64::from(b.len));
            }
        }
        at == data_end
    }

    /// A readable, stable dump of the footer (for `inspect` and snapshot tests).
    pub fn dump(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "rows: {}  block_rows: {}",
            self.row_count, self.block_rows
        );
        if !self.schema.sort_key.is_empty() {
            let _ = writeln!(s, "sort key: {}", self.schema.sort_key.join(", "));
        }
        if let Some(k) = &self.key_range {
            let show = |v: &[Option<ScalarValue>]| {
                v.iter()
                    .map(|x| x.as_ref().map_or("null".to_string(), ToString::to_string))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(s, "key range: ({}) ..= ({})", show(&k.min), show(&k.max));
        }
        for (k, v) in &self.metadata {
            let _ = writeln!(s, "meta {k} = {v}");
        }
        for (f, c) in self.schema.fields.iter().zip(&self.columns) {
            let _ = writeln!(
                s,
                "column {:?}: {}{}",
                f.name,
                f.data_type,
                if f.nullable { " nullable" } else { "" }
            );
            let _ = writeln!(s, "  segment stats: {}", show_stats(&c.stats));
            if let Some(d) = &c.dictionary {
                let vals: Vec<String> = d
                    .iter()
                    .map(|v| format!("\"{}\"", v.escape_ascii()))
                    .collect();
                let _ = writeln!(s, "  dictionary ({}): [{}]", d.len(), vals.join(", "));
            }
            for (j, b) in c.blocks.iter().enumerate() {
                let _ = writeln!(
                    s,
                    "  block {j}: offset {} len {} rows {} cascade {} bloom {}",
                    b.offset,
                    b.len,
                    b.rows,
                    b.cascade,
                    b.bloom
                        .as_ref()
                        .map_or("-".to_string(), |f| format!("{}B", f.size_bytes())),
                );
                let _ = writeln!(s, "    stats: {}", show_stats(&b.stats));
            }
        }
        s
    }
}

fn show_stats(st: &ColumnStats) -> String {
    let bound = |v: &Option<ScalarValue>, exact: bool| match v {
        None => "-".to_string(),
        Some(v) if exact => v.to_string(),
        Some(v) => format!("{v}~"),
    };
    let mut s = format!(
        "min {} max {} nulls {} rows {}",
        bound(&st.min, st.min_exact),
        bound(&st.max, st.max_exact),
        st.null_count,
        st.row_count
    );
    if st.nan_count > 0 {
        let _ = write!(s, " nans {}", st.nan_count);
    }
    if let Some(d) = st.distinct_count {
        let _ = write!(s, " distinct {d}");
    }
    s
}

// ---------------------------------------------------------------- decoding

struct In<'a> {
    buf: &'a [u8],
    pos: usize,
    base: u64,
    /// Layout 2 or later (compact).
    compact: bool,
    /// Layout 3: decimal floats in statistics.
    decimal_floats: bool,
    /// Format 3.4: a symbol dictionary may be a zstd frame.
    zstd_dictionaries: bool,
    /// Format 3.7: cascade names may be scheme tokens.
    token_cascades: bool,
}

impl<'a> In<'a> {
    /// A symbol dictionary's values (`n`, then each value with its length).
    fn dictionary_values(&mut self) -> Result<Vec<Vec<u8>>> {
        self.dictionary_values_at_most(u64::MAX)
    }

    /// [`Self::dictionary_values`], refusing more than `most` values before reading any.
    fn dictionary_values_at_most(&mut self, most: u64) -> Result<Vec<Vec<u8>>> {
        let n = self.count(1)?;
        if n as u64 > most {
            return Err(self.err(format!("{n} values for a column of {most} rows")));
        }
        let mut d = Vec::with_capacity(n);
        for _ in 0..n {
            d.push(self.bytes()?.to_vec());
        }
        Ok(d)
    }

    /// A symbol dictionary stored as a zstd frame (format 3.4, flag 2) of a column of `rows`
    /// rows: `bytes` holding `raw length u32 LE | frame`, the frame decompressing to exactly
    /// what flag 1 stores. What it may allocate is bounded by the bytes read: the raw length
    /// at most [`DICTIONARY_MAX_RATIO`] times the frame, at most `rows` values (a writer adds
    /// only values its rows hold), nothing after them.
    fn compressed_dictionary(&mut self, rows: u64) -> Result<Vec<Vec<u8>>> {
        let stored = self.bytes()?;
        let frame_len = stored.len().saturating_sub(4);
        if let Some(len) = stored.first_chunk::<4>()
            && u32::from_le_bytes(*len) as usize > frame_len.saturating_mul(DICTIONARY_MAX_RATIO)
        {
            return Err(self.err(format!(
                "frame of {frame_len} bytes claims {} (at most {DICTIONARY_MAX_RATIO} times)",
                u32::from_le_bytes(*len)
            )));
        }
        let raw = crate::decode::decompress_values(stored, "symbol dictionary")
            .map_err(|e| self.err(e))?;
        let mut inner = In {
            buf: &raw,
            pos: 0,
            base: self.base,
            compact: self.compact,
            decimal_floats: self.decimal_floats,
            zstd_dictionaries: self.zstd_dictionaries,
            token_cascades: self.token_cascades,
        };
        let d = inner.dictionary_values_at_most(rows)?;
        if inner.pos != raw.len() {
            return Err(self.err(format!(
                "{} bytes past its {} values",
                raw.len() - inner.pos,
                d.len()
            )));
        }
        Ok(d)
    }

    #[cold]
    #[inline(never)]
    fn err(&self, detail: String) -> FormatError {
        self.err_at(self.pos, detail)
    }
    fn err_at(&self, pos: usize, detail: String) -> FormatError {
        FormatError::corrupt("footer", self.base + pos as u64, detail)
    }
    #[cold]
    #[inline(never)]
    fn short(&self, n: usize) -> FormatError {
        self.err(format!("needs {n} more bytes"))
    }
    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        match self.buf.get(self.pos..).and_then(|rest| rest.get(..n)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(self.short(n)),
        }
    }
    #[inline]
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    #[inline]
    fn u8(&mut self) -> Result<u8> {
        match self.buf.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(self.short(1)),
        }
    }
    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    /// A LEB128 varint; one-byte values (most counts and lengths) take the inlined path.
    #[inline]
    fn varint(&mut self) -> Result<u64> {
        match self.buf.get(self.pos) {
            Some(&b) if b < 0x80 => {
                self.pos += 1;
                Ok(u64::from(b))
            }
            _ => self.varint_long(),
        }
    }
    fn varint_long(&mut self) -> Result<u64> {
        let at = self.pos;
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.u8()?;
            let bits = u64::from(b & 0x7f);
            if i == 9 && b > 1 {
                break;
            }
            v |= bits << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(FormatError::corrupt(
            "footer",
            self.base + at as u64,
            "varint longer than 64 bits",
        ))
    }
    /// A count or number: `u64` in layout 1, a varint in layout 2.
    #[inline]
    fn num(&mut self) -> Result<u64> {
        if self.compact {
            self.varint()
        } else {
            self.u64()
        }
    }
    /// A 32-bit number: `u32` in layout 1, a varint in layout 2.
    #[inline]
    fn num32(&mut self) -> Result<u32> {
        if self.compact {
            let at = self.pos;
            let v = self.varint()?;
            u32::try_from(v).map_err(|_| {
                FormatError::corrupt("footer", self.base + at as u64, "number exceeds 32 bits")
            })
        } else {
            self.u32()
        }
    }
    /// A count of items each at least `min_size` bytes (in the layout read), checked against
    /// the bytes left.
    fn count(&mut self, min_size: usize) -> Result<usize> {
        let n = self.num32()? as usize;
        if n.saturating_mul(min_size) > self.buf.len() - self.pos {
            return Err(self.err(format!("count {n} exceeds the bytes left")));
        }
        Ok(n)
    }
    fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.num32()? as usize;
        self.take(n)
    }
    fn string(&mut self) -> Result<String> {
        let b = self.bytes()?;
        String::from_utf8(b.to_vec()).map_err(|_| self.err("string is not UTF-8".into()))
    }
    /// A cascade name ([`Out::cascade_name`]).
    fn cascade_name(&mut self) -> Result<String> {
        if !self.token_cascades {
            return self.string();
        }
        let at = self.pos;
        let h = self.varint()?;
        let n =
            usize::try_from(h >> 1).map_err(|_| self.err_at(at, "cascade name too long".into()))?;
        let body = self.take(n)?;
        if h & 1 == 0 {
            return String::from_utf8(body.to_vec())
                .map_err(|_| self.err_at(at, "cascade name is not UTF-8".into()));
        }
        render_cascade(body).map_err(|d| self.err_at(at, d))
    }
    fn bool(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(self.err(format!("bad boolean {b}"))),
        }
    }
    fn field(&mut self) -> Result<Field> {
        let name = self.string()?;
        let code = self.u8()?;
        let data_type = if code == 12 {
            let unit = match self.u8()? {
                0 => TimeUnit::Second,
                1 => TimeUnit::Millisecond,
                2 => TimeUnit::Microsecond,
                3 => TimeUnit::Nanosecond,
                u => return Err(self.err(format!("bad time unit {u}"))),
            };
            let tz = if self.bool()? {
                Some(Arc::from(self.string()?))
            } else {
                None
            };
            DataType::Timestamp(unit, tz)
        } else {
            DataType::from_simple_code(code).ok_or_else(|| FormatError::UnsupportedType {
                field: name.clone(),
                data_type: format!("type code {code}"),
            })?
        };
        let nullable = self.bool()?;
        Ok(Field::new(name, data_type, nullable))
    }
    fn scalar(&mut self) -> Result<Option<ScalarValue>> {
        Ok(match self.u8()? {
            0 => None,
            1 => Some(ScalarValue::Bool(self.bool()?)),
            2 => {
                let v = self.num()?;
                Some(ScalarValue::Int(if self.compact {
                    ((v >> 1) as i64) ^ -((v & 1) as i64)
                } else {
                    v as i64
                }))
            }
            3 => Some(ScalarValue::UInt(self.num()?)),
            4 => Some(ScalarValue::Float(f64::from_bits(self.u64()?))),
            5 => Some(ScalarValue::Bytes(self.bytes()?.to_vec())),
            6 if self.decimal_floats => {
                let at = self.pos;
                let packed = self.varint()?;
                let f = decimal_value(packed).ok_or_else(|| {
                    FormatError::corrupt(
                        "footer",
                        self.base + at as u64,
                        "decimal mantissa of 2^53 or more",
                    )
                })?;
                Some(ScalarValue::Float(f))
            }
            t => return Err(self.err(format!("bad scalar tag {t}"))),
        })
    }
    /// Statistics; layout 2 does not store the row count, which is `rows`.
    fn stats(&mut self, rows: u64) -> Result<ColumnStats> {
        let flags = self.u8()?;
        let known = if self.compact { 0b1_1111 } else { 0b111 };
        if flags & !known != 0 {
            return Err(self.err(format!("bad stats flags 0x{flags:02x}")));
        }
        let min = self.scalar()?;
        let max = self.scalar()?;
        let (null_count, row_count, nan_count) = if self.compact {
            let nulls = if flags & HAS_NULLS != 0 {
                self.varint()?
            } else {
                0
            };
            let nans = if flags & HAS_NANS != 0 {
                self.varint()?
            } else {
                0
            };
            (nulls, rows, nans)
        } else {
            (self.u64()?, self.u64()?, self.u64()?)
        };
        let distinct_count = if flags & 4 != 0 {
            Some(self.num()?)
        } else {
            None
        };
        Ok(ColumnStats {
            min,
            max,
            min_exact: flags & 1 != 0,
            max_exact: flags & 2 != 0,
            null_count,
            row_count,
            nan_count,
            distinct_count,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A random cascade shape: a tree of [`CASCADE_WORDS`] of up to seven children a node.
    fn shape() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let leaf = (0..CASCADE_WORDS.len()).prop_map(|w| CASCADE_WORDS[w].to_string());
        leaf.prop_recursive(4, 40, 7, |inner| {
            (
                0..CASCADE_WORDS.len(),
                proptest::collection::vec(inner, 1..=MAX_TOKEN_CHILDREN),
            )
                .prop_map(|(w, children)| format!("{}({})", CASCADE_WORDS[w], children.join(", ")))
        })
    }

    proptest::proptest! {
        /// Every tree of scheme names takes one byte a node and renders back to itself.
        #[test]
        fn cascade_shapes_round_trip_as_tokens(name in shape()) {
            let tokens = cascade_tokens(&name).unwrap();
            proptest::prop_assert_eq!(tokens.len(), name.matches(['(', ',']).count() + 1);
            proptest::prop_assert_eq!(render_cascade(&tokens).unwrap(), name);
        }

        /// Any bytes render to a name or a described error, never a panic.
        #[test]
        fn any_tokens_render_or_fail(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            if let Ok(name) = render_cascade(&bytes) {
                proptest::prop_assert_eq!(cascade_tokens(&name), Some(bytes));
            }
        }
    }

    #[test]
    fn every_codec_scheme_has_a_cascade_word() {
        for scheme in strata_codec::Scheme::ALL {
            assert!(CASCADE_WORDS.contains(&scheme.name()), "{scheme}");
        }
    }

    #[test]
    fn cascade_names_that_are_not_scheme_trees_stay_spelled_out() {
        for name in [
            "derived(day)",
            "zstd(derived(origin, dest))",
            "derived(sched_dep_time; exceptions)",
            "",
            "alp(",
            "alp()",
            "alp(bitpacked,bitpacked)",
            "alp(bitpacked) ",
            "bitpacked(plain, plain, plain, plain, plain, plain, plain, plain)",
        ] {
            assert_eq!(cascade_tokens(name), None, "{name:?}");
        }
        for name in [
            "constant",
            "zstd(alp(delta(patched(bitpacked, bitpacked))))",
            "parts(alp, dict)",
            "rle(dict(lz4, bitpacked), patched(bitpacked, bitpacked))",
        ] {
            let t = cascade_tokens(name).unwrap();
            assert_eq!(render_cascade(&t).unwrap(), name);
        }
        assert!(render_cascade(&[]).is_err());
        // `alp` with one child, and nothing after it.
        assert!(render_cascade(&[9 << 3 | 1]).is_err());
        // Two whole trees.
        assert!(render_cascade(&[2 << 3, 2 << 3]).is_err());
        // A word past the table.
        assert!(render_cascade(&[31 << 3]).is_err());
    }

    #[test]
    fn this_build_writes_its_versions_layout() {
        assert_eq!(
            layout_of(crate::CURRENT_VERSION).unwrap(),
            crate::segment::FOOTER_LAYOUT
        );
    }

    /// Two columns of three 10-row blocks, laid out by `order` (`(column, block)` in file
    /// order), each block `len` bytes.
    fn laid_out(order: &[(usize, usize)], len: u32) -> (Footer, u64) {
        let mut columns = vec![ColumnMeta::default(), ColumnMeta::default()];
        for c in &mut columns {
            c.blocks = (0..3)
                .map(|_| BlockMeta {
                    offset: 0,
                    len,
                    rows: 10,
                    cascade: "".into(),
                    stats: ColumnStats {
                        row_count: 10,
                        ..ColumnStats::default()
                    },
                    bloom: None,
                })
                .collect();
        }
        let mut at = crate::segment::HEADER_LEN;
        for &(c, b) in order {
            columns[c].blocks[b].offset = at;
            at += u64::from(len);
        }
        let schema = Schema::new(vec![
            Field::new("a", DataType::Int64, false),
            Field::new("b", DataType::Int64, false),
        ])
        .unwrap();
        let footer = Footer {
            schema,
            row_count: 30,
            block_rows: 10,
            columns,
            key_range: None,
            metadata: BTreeMap::new(),
            derived: Vec::new(),
        };
        (footer, at)
    }

    /// Blocks that tile the data region pass in the writer's stripe order (the one-pass
    /// check) and in any other order (the sorted check); a gap or an overlap fails either way.
    #[test]
    fn blocks_must_tile_the_data_region_in_any_order() {
        let stripes = [(0, 0), (1, 0), (0, 1), (1, 1), (0, 2), (1, 2)];
        let columns = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)];
        for order in [stripes, columns] {
            let (f, end) = laid_out(&order, 7);
            assert_eq!(f.tiles_in_stripe_order(end), order == stripes);
            f.validate(end).unwrap();
            // A byte past the last block, or one short of it.
            assert!(f.validate(end + 1).is_err());
            assert!(f.validate(end - 1).is_err());
            // A gap between two blocks.
            let mut gap = f.clone();
            gap.columns[1].blocks[1].offset += 1;
            assert!(gap.validate(end).is_err());
            assert!(gap.validate(end + 1).is_err());
            // Two blocks on the same bytes.
            let mut overlap = f.clone();
            overlap.columns[1].blocks[2].offset = overlap.columns[0].blocks[2].offset;
            assert!(overlap.validate(end).is_err());
        }
    }

    /// Every double either round-trips bit for bit through the decimal form or is left as a
    /// double; short decimals take it, and take few bytes.
    #[test]
    fn decimal_scalars_round_trip_exactly_or_are_refused() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut taken = 0;
        for i in 0..200_000 {
            let f = match i % 4 {
                0 => f64::from_bits(next()),
                1 => (next() % 2_000_001) as f64 / 10f64.powi((next() % 9) as i32) - 100.0,
                2 => ((next() % 20_001) as f64 - 10_000.0) / 10.0,
                _ => (next() >> 11) as f64 * 1e-3,
            };
            if let Some(p) = decimal_of(f) {
                taken += 1;
                assert_eq!(decimal_value(p).unwrap().to_bits(), f.to_bits(), "{f:e}");
            }
        }
        assert!(taken > 100_000, "only {taken} values took the decimal form");
        for f in [
            -0.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
            0.1 + 0.2,
        ] {
            assert_eq!(decimal_of(f), None, "{f:e}");
        }
        assert_eq!(decimal_value(decimal_of(-3.2).unwrap()), Some(-3.2));
        let mut o = Out::new(Vec::new(), crate::segment::FOOTER_LAYOUT);
        put_scalar(&mut o, &Some(ScalarValue::Float(-3.2))).unwrap();
        put_scalar(&mut o, &Some(ScalarValue::Float(1023.4))).unwrap();
        assert_eq!(o.buf.len(), 3 + 4, "{:?}", o.buf);
        // A mantissa of 2^53 is refused on read.
        assert_eq!(decimal_value((1u64 << 54) << 4), None);
    }
}

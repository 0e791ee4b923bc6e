//! The footer: schema, row count, per-column block index with stats and bloom filters, symbol
//! dictionaries, key range and user metadata, in a hand-written little-endian encoding.
//!
//! Every variable-length item carries its length, every count is checked against the bytes that
//! remain before anything is allocated, and a trailing extension list (`tag u16 | len u32 |
//! bytes`) lets minor versions add optional fields that older readers skip. See `docs/format.md`.

use std::collections::BTreeMap;
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
    /// The codec cascade of its values (for `inspect`).
    pub cascade: String,
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
}

// ---------------------------------------------------------------- encoding

/// A growing little-endian byte buffer for footer pieces.
pub(crate) struct Out(pub(crate) Vec<u8>);

impl Out {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Self(Vec::with_capacity(n))
    }
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn len(&mut self, n: usize) -> Result<()> {
        let n = u32::try_from(n).map_err(|_| {
            FormatError::InvalidArgument(format!("{n} items do not fit a footer field"))
        })?;
        self.u32(n);
        Ok(())
    }
    fn bytes(&mut self, b: &[u8]) -> Result<()> {
        self.len(b.len())?;
        self.0.extend_from_slice(b);
        Ok(())
    }
    fn str(&mut self, s: &str) -> Result<()> {
        self.bytes(s.as_bytes())
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
            o.u64(*i as u64);
        }
        Some(ScalarValue::UInt(u)) => {
            o.u8(3);
            o.u64(*u);
        }
        Some(ScalarValue::Float(f)) => {
            o.u8(4);
            o.u64(f.to_bits());
        }
        Some(ScalarValue::Bytes(b)) => {
            o.u8(5);
            o.bytes(b)?;
        }
    }
    Ok(())
}

fn put_stats(o: &mut Out, s: &ColumnStats) -> Result<()> {
    let flags = u8::from(s.min_exact)
        | (u8::from(s.max_exact) << 1)
        | (u8::from(s.distinct_count.is_some()) << 2);
    o.u8(flags);
    put_scalar(o, &s.min)?;
    put_scalar(o, &s.max)?;
    o.u64(s.null_count);
    o.u64(s.row_count);
    o.u64(s.nan_count);
    if let Some(d) = s.distinct_count {
        o.u64(d);
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
    o.u64(row_count);
    o.u32(block_rows);
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

/// One block-index entry (a column's entries follow its block count).
pub(crate) fn encode_block(o: &mut Out, b: &BlockMeta) -> Result<()> {
    o.u64(b.offset);
    o.u32(b.len);
    o.u32(b.rows);
    o.str(&b.cascade)?;
    put_stats(o, &b.stats)?;
    match &b.bloom {
        None => o.u32(0),
        Some(f) => {
            o.len(f.num_blocks())?;
            for w in f.words() {
                o.u32(w);
            }
        }
    }
    Ok(())
}

/// What follows a column's block entries: its segment stats and its dictionary.
pub(crate) fn encode_column_tail(
    o: &mut Out,
    stats: &ColumnStats,
    dictionary: Option<&[Vec<u8>]>,
) -> Result<()> {
    put_stats(o, stats)?;
    match dictionary {
        None => o.u8(0),
        Some(d) => {
            o.u8(1);
            o.len(d.len())?;
            for v in d {
                o.bytes(v)?;
            }
        }
    }
    Ok(())
}

/// Footer fields after the columns: key range, metadata and the (empty) extension list.
pub(crate) fn encode_suffix(
    o: &mut Out,
    key_range: Option<&KeyRange>,
    metadata: &BTreeMap<String, String>,
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
    // Extensions: none in 1.0.
    o.u32(0);
    Ok(())
}

impl Footer {
    /// Serialises the footer (without the tail).
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut o = Out::with_capacity(1024);
        encode_prefix(&mut o, self.row_count, self.block_rows, &self.schema)?;
        if self.columns.len() != self.schema.fields.len() {
            return Err(FormatError::SchemaMismatch(format!(
                "{} column entries for {} fields",
                self.columns.len(),
                self.schema.fields.len()
            )));
        }
        for c in &self.columns {
            o.len(c.blocks.len())?;
            for b in &c.blocks {
                encode_block(&mut o, b)?;
            }
            encode_column_tail(&mut o, &c.stats, c.dictionary.as_deref())?;
        }
        encode_suffix(&mut o, self.key_range.as_ref(), &self.metadata)?;
        Ok(o.0)
    }

    /// Parses a footer; `base` is its file offset (for error messages). Every count is checked
    /// against the remaining bytes and the result is validated
    /// structurally (row counts, dictionaries, blocks tiling the data region).
    pub fn decode(buf: &[u8], base: u64) -> Result<Self> {
        let mut r = In { buf, pos: 0, base };
        let row_count = r.u64()?;
        let block_rows = r.u32()?;
        let nf = r.count(3)?;
        let mut fields = Vec::with_capacity(nf);
        for _ in 0..nf {
            fields.push(r.field()?);
        }
        let nk = r.count(4)?;
        let mut sort_key = Vec::with_capacity(nk);
        for _ in 0..nk {
            sort_key.push(r.string()?);
        }
        let schema = Schema::new(fields)
            .and_then(|s| s.with_sort_key(sort_key))
            .map_err(|e| r.err(e.to_string()))?;
        let mut columns = Vec::with_capacity(nf);
        for _ in 0..nf {
            let nb = r.count(20)?;
            let mut blocks = Vec::with_capacity(nb);
            for _ in 0..nb {
                let offset = r.u64()?;
                let len = r.u32()?;
                let rows = r.u32()?;
                let cascade = r.string()?;
                let stats = r.stats()?;
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
            let stats = r.stats()?;
            let dictionary = match r.u8()? {
                0 => None,
                1 => {
                    let n = r.count(4)?;
                    let mut d = Vec::with_capacity(n);
                    for _ in 0..n {
                        d.push(r.bytes()?.to_vec());
                    }
                    Some(d)
                }
                t => return Err(r.err(format!("bad dictionary flag {t}"))),
            };
            columns.push(ColumnMeta {
                blocks,
                stats,
                dictionary,
            });
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
        let nm = r.count(8)?;
        let mut metadata = BTreeMap::new();
        for _ in 0..nm {
            let k = r.string()?;
            let v = r.string()?;
            metadata.insert(k, v);
        }
        // Extensions added by later minor versions: skipped.
        let ne = r.count(6)?;
        for _ in 0..ne {
            let _tag = r.u16()?;
            let _ = r.bytes()?;
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
        let mut ranges = Vec::new();
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
                ranges.push((b.offset, b.offset.saturating_add(u64::from(b.len))));
            }
        }
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
}

impl<'a> In<'a> {
    fn err(&self, detail: String) -> FormatError {
        FormatError::corrupt("footer", self.base + self.pos as u64, detail)
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(e) => {
                let s = &self.buf[self.pos..e];
                self.pos = e;
                Ok(s)
            }
            None => Err(self.err(format!("needs {n} more bytes"))),
        }
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
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
    /// A count of items each at least `min_size` bytes, checked against the bytes left.
    fn count(&mut self, min_size: usize) -> Result<usize> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_size) > self.buf.len() - self.pos {
            return Err(self.err(format!("count {n} exceeds the bytes left")));
        }
        Ok(n)
    }
    fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn string(&mut self) -> Result<String> {
        let b = self.bytes()?;
        String::from_utf8(b.to_vec()).map_err(|_| self.err("string is not UTF-8".into()))
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
            2 => Some(ScalarValue::Int(self.u64()? as i64)),
            3 => Some(ScalarValue::UInt(self.u64()?)),
            4 => Some(ScalarValue::Float(f64::from_bits(self.u64()?))),
            5 => Some(ScalarValue::Bytes(self.bytes()?.to_vec())),
            t => return Err(self.err(format!("bad scalar tag {t}"))),
        })
    }
    fn stats(&mut self) -> Result<ColumnStats> {
        let flags = self.u8()?;
        if flags & !0b111 != 0 {
            return Err(self.err(format!("bad stats flags 0x{flags:02x}")));
        }
        let min = self.scalar()?;
        let max = self.scalar()?;
        let null_count = self.u64()?;
        let row_count = self.u64()?;
        let nan_count = self.u64()?;
        let distinct_count = if flags & 4 != 0 {
            Some(self.u64()?)
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

//! Columns derived from symbol columns (format 3.5).
//!
//! In an analytics table one column is often a function of one or two symbol columns: a
//! flight's distance of its origin and destination, a price band of a product code, a region
//! number of a station. Block by block such a column looks like any other (a route's distance
//! is a 12-bit number in no particular order), so its cascades pay its full width on every row;
//! Parquet's dictionary and zstd do little better. Across a segment it holds a few thousand
//! distinct facts.
//!
//! The writer looks for such a column on a segment's first stripe (an integer, date or
//! timestamp column that one or two symbol columns determine on all but 1/16 of its rows, the
//! first value of a key taken as its entry; the fewest distinct keys win) and from then on
//! keeps a table from the key columns' codes to the column's value, filled as keys first
//! appear. A block whose rows the table covers cheaply is
//! stored as the rows that differ from it (block flag `DERIVED`): on a functional column, none.
//! Its statistics, bloom filter and validity are those of its values, as for any block. The
//! table goes to the footer (extension tag 1) when at least one block used it.
//! A block that would not pay (many new keys, many exceptions) is encoded as usual; after
//! 8 such blocks in a row with none derived, the column stops trying.
//!
//! Reading a derived block needs the same stripe's blocks of its key columns (the segment
//! reads them along, also when they are not projected): each row's value is the table's entry
//! for its key codes, or its exception. See `docs/format.md` for the bytes.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use arrow_buffer::BooleanBuffer;
use strata_codec::{EncodeOptions, Limits};

use crate::error::{FormatError, Result};
use crate::schema::{DataType, Schema};

/// Footer extension tag of the derivation tables.
pub(crate) const EXTENSION_TAG: u16 = 1;
/// Most entries one column's table may hold (what a writer and a reader hold for it is
/// bounded by it: about 2 MB; a reader's dense lookup indexes entries with `u16`).
pub(crate) const MAX_ENTRIES: usize = (1 << 16) - 1;
/// Blocks in a row that may decline the table, none derived yet, before a column stops trying.
pub(crate) const MAX_MISSES: u32 = 8;
/// Most symbol columns considered as keys (pairs of them grow quadratically).
const MAX_KEY_COLUMNS: usize = 8;
/// Largest dense lookup (entries of the key codes' product, 2 bytes each) a reader builds;
/// above it a map of the entries.
const MAX_DENSE: u64 = 1 << 18;

type Map = HashMap<u64, u64, foldhash::fast::FixedState>;

fn new_map(capacity: usize) -> Map {
    HashMap::with_capacity_and_hasher(capacity, foldhash::fast::FixedState::with_seed(0x5354))
}

/// Whether a column's type can be derived: integers, dates and timestamps (symbols, floats,
/// strings and booleans are not).
pub(crate) fn derivable(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Date32
            | DataType::Timestamp(..)
    )
}

/// Whether a derivable type is stored as signed (`i64`) codec values.
pub(crate) fn signed(t: &DataType) -> bool {
    !matches!(
        t,
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64
    )
}

/// One row's key: each key column's code plus one (0 for a null), the first in the low 32
/// bits. Codes are below 2^31.
fn combine(codes: &[&[u32]], row: usize) -> u64 {
    let mut k = 0u64;
    for (i, c) in codes.iter().enumerate() {
        k |= u64::from(c.get(row).copied().unwrap_or(0)) << (32 * i);
    }
    k
}

/// Every row's key of one stripe, from its key columns' row codes (see [`combine`]).
pub(crate) fn row_keys(codes: &[&[u32]], rows: usize) -> Vec<u64> {
    match codes {
        [a] => a.iter().map(|&c| u64::from(c)).collect(),
        [a, b] => a
            .iter()
            .zip(b.iter())
            .map(|(&x, &y)| u64::from(x) | u64::from(y) << 32)
            .collect(),
        _ => (0..rows).map(|r| combine(codes, r)).collect(),
    }
}

/// A segment writer's table for one column.
#[derive(Debug)]
pub(crate) struct Deriver {
    pub(crate) column: usize,
    pub(crate) keys: Vec<usize>,
    signed: bool,
    table: Map,
    /// Some block was stored against the table.
    used: bool,
    /// Blocks in a row that declined it.
    misses: u32,
    /// Still trying (see [`MAX_MISSES`]).
    live: bool,
    /// The key columns' names, for the blocks' cascade names (`derived(origin, dest)`).
    pub(crate) label: String,
}

/// The values of a block derived from a table: what differs from it.
#[derive(Debug)]
pub(crate) struct DerivedValues {
    /// The block's values bytes (see `docs/format.md`).
    pub(crate) bytes: Vec<u8>,
    /// Rows that differ from the table.
    pub(crate) exceptions: usize,
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn read_varint(buf: &[u8], pos: &mut usize) -> std::result::Result<u64, String> {
    let mut v = 0u64;
    for i in 0..10 {
        let b = *buf
            .get(*pos)
            .ok_or_else(|| "varint runs past the end".to_string())?;
        *pos += 1;
        if i == 9 && b > 1 {
            return Err("varint overflows 64 bits".into());
        }
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err("varint longer than 10 bytes".into())
}

fn codec(e: strata_codec::CodecError) -> FormatError {
    FormatError::Codec {
        column: 0,
        block: 0,
        source: e,
    }
}

/// Bits of the widest value of `values` less the smallest (as signed or unsigned).
fn range_width(values: &[u64], signed: bool) -> u32 {
    let span = if signed {
        let (lo, hi) = values.iter().fold((i64::MAX, i64::MIN), |(lo, hi), &v| {
            (lo.min(v as i64), hi.max(v as i64))
        });
        (hi as i128 - lo as i128).max(0) as u128
    } else {
        let (lo, hi) = values
            .iter()
            .fold((u64::MAX, 0), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        u128::from(hi.saturating_sub(lo))
    };
    128 - span.leading_zeros()
}

impl Deriver {
    fn new(column: usize, keys: Vec<usize>, signed: bool) -> Self {
        Self {
            column,
            keys,
            signed,
            table: new_map(1024),
            used: false,
            misses: 0,
            live: true,
            label: String::new(),
        }
    }

    /// Still worth trying on the next block.
    pub(crate) fn live(&self) -> bool {
        self.live
    }

    /// The block's values against the table (`values` the non-null values as `u64` bits,
    /// `keys` every row's key, `valid` the rows' validity), new keys added to it; `None` when
    /// the block should be encoded as usual: the table's new entries and the exceptions would
    /// cost more than three quarters of the values bit-packed at their range's width.
    pub(crate) fn try_block(
        &mut self,
        values: &[u64],
        keys: &[u64],
        valid: Option<&[bool]>,
        eo: &EncodeOptions,
    ) -> Result<Option<DerivedValues>> {
        if !self.live || values.is_empty() {
            return Ok(None);
        }
        let mut positions: Vec<u64> = Vec::new();
        let mut exceptions: Vec<u64> = Vec::new();
        let mut added = 0usize;
        let mut j = 0usize;
        for (r, &k) in keys.iter().enumerate() {
            if valid.is_some_and(|v| !v.get(r).copied().unwrap_or(false)) {
                continue;
            }
            let Some(&v) = values.get(j) else {
                return Err(FormatError::InvalidArgument(
                    "fewer values than valid rows".into(),
                ));
            };
            match self.table.get(&k) {
                Some(&t) if t == v => {}
                Some(_) => {
                    positions.push(j as u64);
                    exceptions.push(v);
                }
                None if self.table.len() < MAX_ENTRIES => {
                    self.table.insert(k, v);
                    added += 1;
                }
                None => {
                    positions.push(j as u64);
                    exceptions.push(v);
                }
            }
            j += 1;
        }
        if j != values.len() {
            return Err(FormatError::InvalidArgument(
                "more values than valid rows".into(),
            ));
        }
        let width = range_width(values, self.signed).max(1) as usize;
        let plain = values.len() * width / 8;
        let key_bits = 8 * self.keys.len();
        let cost = (added * (width + key_bits) + exceptions.len() * (width + 12)) / 8 + 8;
        if cost * 4 > plain * 3 {
            self.misses += 1;
            if !self.used && self.misses >= MAX_MISSES {
                self.live = false;
                self.table = new_map(0);
            }
            return Ok(None);
        }
        self.used = true;
        self.misses = 0;
        let mut bytes = Vec::with_capacity(16 + exceptions.len() * 3);
        varint(&mut bytes, positions.len() as u64);
        if !positions.is_empty() {
            let p = strata_codec::encode_u64(&positions, eo).map_err(codec)?;
            varint(&mut bytes, p.bytes.len() as u64);
            bytes.extend_from_slice(&p.bytes);
            let v = if self.signed {
                let s: Vec<i64> = exceptions.iter().map(|&x| x as i64).collect();
                strata_codec::encode_i64(&s, eo)
            } else {
                strata_codec::encode_u64(&exceptions, eo)
            };
            bytes.extend_from_slice(&v.map_err(codec)?.bytes);
        }
        Ok(Some(DerivedValues {
            bytes,
            exceptions: positions.len(),
        }))
    }

    /// The table for the footer, entries in key order; `None` when no block used it.
    pub(crate) fn finish(self) -> Option<Derivation> {
        if !self.used {
            return None;
        }
        let mut entries: Vec<(u64, u64)> = self.table.into_iter().collect();
        entries.sort_unstable_by_key(|&(k, _)| k);
        let key_codes = (0..self.keys.len())
            .map(|i| {
                entries
                    .iter()
                    .map(|&(k, _)| (k >> (32 * i)) & 0xffff_ffff)
                    .collect()
            })
            .collect();
        Some(Derivation {
            column: self.column,
            keys: self.keys,
            key_codes,
            values: entries.into_iter().map(|(_, v)| v).collect(),
        })
    }
}

/// A stripe's column as the detection sees it.
pub(crate) struct Candidate<'a> {
    pub(crate) column: usize,
    /// Non-null values as `u64` bits.
    pub(crate) values: &'a [u64],
    pub(crate) valid: Option<&'a [bool]>,
    pub(crate) signed: bool,
}

/// The columns of a segment's first stripe that one or two symbol columns determine (`codes`:
/// the symbol columns' row codes, see [`combine`]): a column not constant on the stripe, on
/// all but 1/16 of whose non-null rows the same key has the value of its first row, with fewer distinct keys than 7/8 of its rows. Of
/// the key sets that do, the one with the fewest distinct keys (a single column before a pair
/// on a tie).
pub(crate) fn detect(
    candidates: &[Candidate<'_>],
    codes: &[(usize, &[u32])],
    rows: usize,
) -> Vec<Deriver> {
    let symbols = &codes[..codes.len().min(MAX_KEY_COLUMNS)];
    let mut key_sets: Vec<Vec<usize>> = (0..symbols.len()).map(|i| vec![i]).collect();
    for i in 0..symbols.len() {
        for j in i + 1..symbols.len() {
            key_sets.push(vec![i, j]);
        }
    }
    let keys_of: Vec<Vec<u64>> = key_sets
        .iter()
        .map(|set| {
            let c: Vec<&[u32]> = set.iter().map(|&i| symbols[i].1).collect();
            row_keys(&c, rows)
        })
        .collect();
    let mut out = Vec::new();
    let mut seen = new_map(rows);
    for cand in candidates {
        let n = cand.values.len();
        // A column constant on the stripe is "decided" by any key and codes itself in a few
        // bytes a block.
        if n < 16 || cand.values.iter().all(|&v| v == cand.values[0]) {
            continue;
        }
        let limit = n / 16;
        let mut best: Option<(usize, usize)> = None;
        for (s, keys) in keys_of.iter().enumerate() {
            // A pair holding a column that decides alone adds nothing.
            if key_sets[s].len() > 1 && best.is_some_and(|(b, _)| key_sets[b].len() == 1) {
                continue;
            }
            seen.clear();
            let mut exceptions = 0usize;
            let mut j = 0usize;
            for (r, &k) in keys.iter().enumerate() {
                if cand
                    .valid
                    .is_some_and(|v| !v.get(r).copied().unwrap_or(false))
                {
                    continue;
                }
                let Some(&v) = cand.values.get(j) else { break };
                j += 1;
                match seen.entry(k) {
                    Entry::Occupied(e) => {
                        if *e.get() != v {
                            exceptions += 1;
                            if exceptions > limit {
                                break;
                            }
                        }
                    }
                    Entry::Vacant(e) => {
                        e.insert(v);
                    }
                }
            }
            let distinct = seen.len();
            if exceptions <= limit && distinct * 8 < n * 7 && best.is_none_or(|(_, d)| distinct < d)
            {
                best = Some((s, distinct));
            }
        }
        if let Some((s, _)) = best {
            let keys = key_sets[s].iter().map(|&i| symbols[i].0).collect();
            out.push(Deriver::new(cand.column, keys, cand.signed));
        }
    }
    out
}

/// A column's derivation table, as the footer stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derivation {
    /// The derived column.
    pub column: usize,
    /// Its key columns (one or two symbol columns).
    pub keys: Vec<usize>,
    /// Per key column, each entry's code plus one (0 for a null key).
    pub key_codes: Vec<Vec<u64>>,
    /// Each entry's value, as `u64` bits of the column's codec kind (`i64` or `u64`).
    pub values: Vec<u64>,
}

/// The footer extension's payload for `derivations`.
pub(crate) fn encode_extension(derivations: &[Derivation]) -> Result<Vec<u8>> {
    let eo = EncodeOptions::default();
    let mut out = Vec::new();
    varint(&mut out, derivations.len() as u64);
    for d in derivations {
        varint(&mut out, d.column as u64);
        varint(&mut out, d.keys.len() as u64);
        for &k in &d.keys {
            varint(&mut out, k as u64);
        }
        varint(&mut out, d.values.len() as u64);
        for codes in &d.key_codes {
            let b = strata_codec::encode_u64(codes, &eo).map_err(codec)?;
            varint(&mut out, b.bytes.len() as u64);
            out.extend_from_slice(&b.bytes);
        }
        let b = strata_codec::encode_u64(&d.values, &eo).map_err(codec)?;
        varint(&mut out, b.bytes.len() as u64);
        out.extend_from_slice(&b.bytes);
    }
    Ok(out)
}

/// Parses and checks the footer extension against the schema and the dictionaries' lengths
/// (`dict_len[c]` for a symbol column `c`): every column and key in range and of the right
/// type, a column derived at most once, at most `rows` entries, codes within the dictionaries.
/// The error is a detail for a `Corrupt` error at the extension.
pub(crate) fn decode_extension(
    buf: &[u8],
    schema: &Schema,
    dict_len: &[Option<usize>],
    rows: u64,
) -> std::result::Result<Vec<Derivation>, String> {
    let mut pos = 0;
    let n = read_varint(buf, &mut pos)?;
    if n > schema.fields.len() as u64 {
        return Err(format!(
            "{n} derived columns in a schema of {}",
            schema.fields.len()
        ));
    }
    let mut out: Vec<Derivation> = Vec::with_capacity(n as usize);
    let slice = |pos: &mut usize| -> std::result::Result<&[u8], String> {
        let len = read_varint(buf, pos)?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| pos.checked_add(l))
            .filter(|&e| e <= buf.len())
            .ok_or_else(|| format!("a buffer of {len} bytes runs past the extension"))?;
        let s = &buf[*pos..end];
        *pos = end;
        Ok(s)
    };
    for _ in 0..n {
        let column = read_varint(buf, &mut pos)?;
        let field = usize::try_from(column)
            .ok()
            .and_then(|c| schema.fields.get(c))
            .ok_or_else(|| format!("derived column {column} out of range"))?;
        let column = column as usize;
        if !derivable(&field.data_type) {
            return Err(format!(
                "column {:?} of type {} cannot be derived",
                field.name, field.data_type
            ));
        }
        if out.iter().any(|d| d.column == column) {
            return Err(format!("column {:?} derived twice", field.name));
        }
        let nk = read_varint(buf, &mut pos)?;
        if !(1..=2).contains(&nk) {
            return Err(format!("{nk} key columns (1 or 2)"));
        }
        let mut keys = Vec::with_capacity(nk as usize);
        for _ in 0..nk {
            let k = read_varint(buf, &mut pos)?;
            let ok = usize::try_from(k).ok().filter(|&k| {
                k != column
                    && !keys.contains(&k)
                    && schema
                        .fields
                        .get(k)
                        .is_some_and(|f| f.data_type == DataType::Symbol)
            });
            keys.push(ok.ok_or_else(|| format!("key column {k} is not another symbol column"))?);
        }
        let entries = read_varint(buf, &mut pos)?;
        if entries > rows || entries as usize > MAX_ENTRIES {
            return Err(format!("{entries} entries for {rows} rows"));
        }
        let limits = Limits {
            max_values: entries as usize,
        };
        let mut key_codes = Vec::with_capacity(keys.len());
        for &k in &keys {
            let codes = strata_codec::decode_u64_with(slice(&mut pos)?, limits)
                .map_err(|e| format!("key codes: {e}"))?;
            let most = dict_len.get(k).copied().flatten().unwrap_or(0) as u64;
            if codes.len() as u64 != entries {
                return Err(format!("{} key codes for {entries} entries", codes.len()));
            }
            if let Some(c) = codes.iter().find(|&&c| c > most) {
                return Err(format!("key code {c} past a dictionary of {most}"));
            }
            key_codes.push(codes);
        }
        let values = strata_codec::decode_u64_with(slice(&mut pos)?, limits)
            .map_err(|e| format!("values: {e}"))?;
        if values.len() as u64 != entries {
            return Err(format!("{} values for {entries} entries", values.len()));
        }
        out.push(Derivation {
            column,
            keys,
            key_codes,
            values,
        });
    }
    if pos != buf.len() {
        return Err(format!("{} trailing bytes", buf.len() - pos));
    }
    Ok(out)
}

/// A key column's codes in one block: the non-null rows' codes and the rows' validity.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyCodes<'a> {
    pub(crate) codes: &'a [u64],
    pub(crate) valid: Option<&'a BooleanBuffer>,
}

/// A reader's lookup of one derivation: dense over the product of the key codes when small,
/// else a map.
#[derive(Debug)]
pub(crate) struct Lookup {
    pub(crate) keys: Vec<usize>,
    /// Each key's largest code plus one (the dictionary's length).
    most: Vec<u64>,
    /// Entry of each key (`ABSENT` for none), indexed by the keys' codes plus one.
    dense: Option<Vec<u16>>,
    map: Map,
    values: Vec<u64>,
}

/// No entry: [`MAX_ENTRIES`] is below it.
const ABSENT: u16 = u16::MAX;

impl Lookup {
    /// Builds the lookup; a key present twice is an error (a detail for `Corrupt`).
    pub(crate) fn new(
        d: &Derivation,
        dict_len: &[Option<usize>],
    ) -> std::result::Result<Self, String> {
        let most: Vec<u64> = d
            .keys
            .iter()
            .map(|&k| dict_len.get(k).copied().flatten().unwrap_or(0) as u64)
            .collect();
        let size = most.iter().try_fold(1u64, |acc, &m| acc.checked_mul(m + 1));
        let n = d.values.len();
        let index = |e: usize| -> u64 {
            let mut idx = 0u64;
            for (codes, &m) in d.key_codes.iter().zip(&most) {
                idx = idx * (m + 1) + codes.get(e).copied().unwrap_or(0);
            }
            idx
        };
        let dup = || "a key listed twice".to_string();
        let mut lookup = Self {
            keys: d.keys.clone(),
            most: most.clone(),
            dense: None,
            map: new_map(0),
            values: d.values.clone(),
        };
        match size.filter(|&s| s <= MAX_DENSE) {
            Some(size) => {
                let mut dense = vec![ABSENT; size as usize];
                for e in 0..n {
                    let slot = &mut dense[index(e) as usize];
                    if *slot != ABSENT {
                        return Err(dup());
                    }
                    *slot = u16::try_from(e).map_err(|_| format!("{n} entries"))?;
                }
                lookup.dense = Some(dense);
            }
            None => {
                lookup.map = new_map(n);
                for e in 0..n {
                    if lookup.map.insert(index(e), e as u64).is_some() {
                        return Err(dup());
                    }
                }
            }
        }
        Ok(lookup)
    }

    /// Every non-null row's value of a derived block of `rows` rows: its exception where
    /// `positions` (indexes into the non-null values, ascending) names it, else the table's
    /// entry for its key (`keys`: the key columns' codes of the same rows). The error is a
    /// detail for `Corrupt`.
    pub(crate) fn values_of(
        &self,
        keys: &[KeyCodes<'_>],
        rows: usize,
        valid: Option<&BooleanBuffer>,
        positions: &[u64],
        exceptions: &[u64],
    ) -> std::result::Result<Vec<u64>, String> {
        if keys.len() != self.keys.len() {
            return Err("key columns' blocks do not cover the block's rows".into());
        }
        let missing = |r: usize| format!("row {r} has no entry in the derivation table");
        let mut out = Vec::with_capacity(rows);
        // Keys and values without nulls, no exception, a dense table: one gather a row.
        let all_valid = valid.is_none() && keys.iter().all(|k| k.valid.is_none());
        if let (true, true, Some(dense)) = (all_valid, positions.is_empty(), &self.dense) {
            // Absent slots point one past the values, at a zero; whether any row met one (or
            // a code past its dictionary) is gathered as it goes and reported after.
            let absent = self.values.len();
            let at = |e: u16| -> (usize, bool) {
                let e = if e == ABSENT { absent } else { e as usize };
                (e, e >= absent)
            };
            // A plain loop keeps `bad` in a register (through a closure it went to memory, a
            // store and a load on every row's chain).
            let mut bad = false;
            match keys {
                [a] if a.codes.len() == rows => {
                    out.resize(rows, 0);
                    for (o, &x) in out.iter_mut().zip(a.codes) {
                        let slot = usize::try_from(x).map_or(usize::MAX, |x| x.wrapping_add(1));
                        let (e, miss) = at(dense.get(slot).copied().unwrap_or(ABSENT));
                        bad |= miss;
                        *o = self.values.get(e).copied().unwrap_or(0);
                    }
                }
                [a, b] if a.codes.len() == rows && b.codes.len() == rows => {
                    // The first key is the major index: rows of one origin (often
                    // together) find their entries near each other.
                    let m1 = self.most[1];
                    let stride = usize::try_from(m1 + 1).unwrap_or(usize::MAX);
                    out.resize(rows, 0);
                    for (o, (&x, &y)) in out.iter_mut().zip(a.codes.iter().zip(b.codes)) {
                        let slot = (x as usize)
                            .wrapping_add(1)
                            .wrapping_mul(stride)
                            .wrapping_add((y as usize).wrapping_add(1));
                        let (e, miss) = at(dense.get(slot).copied().unwrap_or(ABSENT));
                        bad |= miss | (y >= m1) | (x > u64::from(u32::MAX));
                        *o = self.values.get(e).copied().unwrap_or(0);
                    }
                }
                _ => {}
            }
            if out.len() == rows {
                if !bad {
                    return Ok(out);
                }
                // Find the row for the error below.
                out.clear();
            }
        }
        let mut next = positions.iter().zip(exceptions).peekable();
        let mut taken = vec![0usize; keys.len()];
        let mut row_key = [0u32; 2];
        for r in 0..rows {
            // Each key column's code for this row (plus one; 0 for a null).
            for ((slot, k), t) in row_key.iter_mut().zip(keys).zip(taken.iter_mut()) {
                *slot = if k.valid.is_some_and(|v| r >= v.len() || !v.value(r)) {
                    0
                } else {
                    let c = k.codes.get(*t).copied().ok_or_else(|| missing(r))?;
                    *t += 1;
                    u32::try_from(c.saturating_add(1)).unwrap_or(u32::MAX)
                };
            }
            if valid.is_some_and(|v| r >= v.len() || !v.value(r)) {
                continue;
            }
            let j = out.len() as u64;
            if let Some((_, &v)) = next.next_if(|&(&p, _)| p == j) {
                out.push(v);
                continue;
            }
            out.push(self.get(&row_key[..keys.len()]).ok_or_else(|| missing(r))?);
        }
        Ok(out)
    }

    /// The value for `codes` (each key's code plus one, 0 for null), if the table has one.
    pub(crate) fn get(&self, codes: &[u32]) -> Option<u64> {
        let mut idx = 0u64;
        for (&c, &m) in codes.iter().zip(&self.most) {
            if u64::from(c) > m {
                return None;
            }
            idx = idx * (m + 1) + u64::from(c);
        }
        let e = match &self.dense {
            Some(d) => *d.get(idx as usize).filter(|&&e| e != ABSENT)? as usize,
            None => *self.map.get(&idx)? as usize,
        };
        self.values.get(e).copied()
    }
}

/// The positions and values of a derived block's exceptions (`bytes`: its values bytes, of a
/// block with `non_null` values); `signed` for an `i64` column.
pub(crate) fn decode_exceptions(
    bytes: &[u8],
    non_null: usize,
    signed: bool,
) -> std::result::Result<(Vec<u64>, Vec<u64>), String> {
    let mut pos = 0;
    let n = read_varint(bytes, &mut pos)?;
    if n > non_null as u64 {
        return Err(format!("{n} exceptions in {non_null} values"));
    }
    if n == 0 {
        if pos != bytes.len() {
            return Err(format!("{} trailing bytes", bytes.len() - pos));
        }
        return Ok((Vec::new(), Vec::new()));
    }
    let len = read_varint(bytes, &mut pos)?;
    let end = usize::try_from(len)
        .ok()
        .and_then(|l| pos.checked_add(l))
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| format!("exception positions of {len} bytes overrun the block"))?;
    let limits = Limits {
        max_values: n as usize,
    };
    let positions = strata_codec::decode_u64_with(&bytes[pos..end], limits)
        .map_err(|e| format!("exception positions: {e}"))?;
    let rest = &bytes[end..];
    let values = if signed {
        strata_codec::decode_i64_with(rest, limits)
            .map(|v| v.into_iter().map(|x| x as u64).collect::<Vec<u64>>())
    } else {
        strata_codec::decode_u64_with(rest, limits)
    }
    .map_err(|e| format!("exception values: {e}"))?;
    if positions.len() as u64 != n || values.len() as u64 != n {
        return Err(format!(
            "{} positions and {} values for {n} exceptions",
            positions.len(),
            values.len()
        ));
    }
    if positions.windows(2).any(|w| w[0] >= w[1])
        || positions.last().is_some_and(|&p| p >= non_null as u64)
    {
        return Err("exception positions not ascending within the block".into());
    }
    Ok((positions, values))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn lookups_find_every_entry_and_nothing_else() {
        for dense in [true, false] {
            // Dictionaries of 40 and 30 codes: dense; of 2^20 and 2^20: a map.
            let (a, b) = if dense { (40, 30) } else { (1 << 20, 1 << 20) };
            let dict_len = vec![Some(a), None, Some(b)];
            let mut k0 = Vec::new();
            let mut k1 = Vec::new();
            let mut values = Vec::new();
            for i in 0..200u64 {
                k0.push(i % 41);
                k1.push((i * 7) % 31);
                values.push(i * 1000 + 3);
            }
            // Drop repeated keys: a table holds each key once.
            let mut seen = std::collections::HashSet::new();
            let keep: Vec<usize> = (0..200).filter(|&i| seen.insert((k0[i], k1[i]))).collect();
            let d = Derivation {
                column: 1,
                keys: vec![0, 2],
                key_codes: vec![
                    keep.iter().map(|&i| k0[i]).collect(),
                    keep.iter().map(|&i| k1[i]).collect(),
                ],
                values: keep.iter().map(|&i| values[i]).collect(),
            };
            let l = Lookup::new(&d, &dict_len).unwrap();
            for &i in &keep {
                assert_eq!(l.get(&[k0[i] as u32, k1[i] as u32]), Some(values[i]));
            }
            assert_eq!(l.get(&[a as u32 + 1, 0]), None);
            assert_eq!(l.get(&[0, b as u32 + 1]), None);
            let mut twice = d.clone();
            twice.key_codes[0].push(d.key_codes[0][0]);
            twice.key_codes[1].push(d.key_codes[1][0]);
            twice.values.push(0);
            assert!(Lookup::new(&twice, &dict_len).is_err());
        }
    }

    #[test]
    fn exceptions_round_trip_and_are_checked() {
        let eo = EncodeOptions::default();
        let mut d = Deriver::new(0, vec![1], true);
        // Keys 1..=8 repeating; values a function of the key but for rows 50 and 90 (the
        // first row of a key sets its entry).
        let keys: Vec<u64> = (0..128u64).map(|r| 1 + r % 8).collect();
        let mut values: Vec<u64> = keys.iter().map(|&k| (k * 300) as i64 as u64).collect();
        values[50] = (-7i64) as u64;
        values[90] = 12;
        let got = d.try_block(&values, &keys, None, &eo).unwrap().unwrap();
        assert_eq!(got.exceptions, 2);
        let (p, v) = decode_exceptions(&got.bytes, 128, true).unwrap();
        assert_eq!(p, vec![50, 90]);
        assert_eq!(v, vec![(-7i64) as u64, 12]);
        // More exceptions than values, and trailing bytes, are refused.
        assert!(decode_exceptions(&got.bytes, 1, true).is_err());
        let mut extra = got.bytes.clone();
        extra.push(0);
        assert!(decode_exceptions(&extra, 128, true).is_err());
        let t = d.finish().unwrap();
        assert_eq!(t.values.len(), 8);
        assert_eq!(t.key_codes, vec![(1..=8).collect::<Vec<u64>>()]);
    }

    #[test]
    fn detection_finds_the_deciding_keys() {
        let rows = 1000;
        let a: Vec<u32> = (0..rows).map(|r| 1 + (r % 10) as u32).collect();
        let b: Vec<u32> = (0..rows).map(|r| 1 + (r / 3 % 7) as u32).collect();
        // Determined by the pair (a, b), not by either alone.
        let pair: Vec<u64> = (0..rows).map(|r| u64::from(a[r] * 100 + b[r])).collect();
        // Determined by b alone.
        let single: Vec<u64> = (0..rows).map(|r| u64::from(b[r]) * 9).collect();
        // Determined by nothing.
        let noise: Vec<u64> = (0..rows as u64).map(|r| r * 2_654_435_761 % 1000).collect();
        let cands = [
            Candidate {
                column: 2,
                values: &pair,
                valid: None,
                signed: true,
            },
            Candidate {
                column: 3,
                values: &single,
                valid: None,
                signed: true,
            },
            Candidate {
                column: 4,
                values: &noise,
                valid: None,
                signed: true,
            },
        ];
        let found = detect(&cands, &[(0, &a), (1, &b)], rows);
        let got: Vec<(usize, Vec<usize>)> =
            found.iter().map(|d| (d.column, d.keys.clone())).collect();
        assert_eq!(got, vec![(2, vec![0, 1]), (3, vec![1])]);
    }
}

//! Derived columns (formats 3.5 and 3.6): columns that other columns decide.
//!
//! In an analytics table one column is often a function of one or two symbol columns (a
//! flight's distance of its origin and destination, a price band of a product code) or of
//! another integer column (a departure time `hhmm` decides its hour and minute). Block by
//! block such a column looks like any other (a route's distance is a 12-bit number in no
//! particular order), so its cascades pay its full width on every row; Parquet's dictionary
//! and zstd do little better. Across a segment it holds a few thousand distinct facts.
//!
//! The writer looks for such a column on a segment's first stripe (an integer, date or
//! timestamp column that one or two symbol columns, or one integer, date or timestamp column
//! (a *value key*, 3.6), determine on all but 1/16 of its rows, the first value of a key taken
//! as its entry; the key set whose table is estimated to cost least wins) and from then on
//! keeps a table from the keys (symbol codes, or a value key's values) to the column's value,
//! filled as keys first appear. A block whose rows the table covers cheaply, and more cheaply
//! than the block's own encoding, is stored as the rows that differ from it (block flag
//! `DERIVED`): on a functional column, none. Where the writer knows the segment's rows (a
//! flush, a merge), the table's whole entry in the footer is shared among the segment's
//! blocks until one uses it (a segment of one block pays for its table alone); after that,
//! and where the rows are not known, a block pays for the entries it adds. Its statistics,
//! bloom filter and validity are those of its values, as for any block. The table goes to
//! the footer (extension tag 1) when at least one block used it. A column derived is never a value key of another. After 8
//! blocks in a row that declined the table with none derived, the column stops trying.
//!
//! A *sum* (3.6) needs no table: a column that is one or two other integer, date or timestamp
//! columns added or subtracted, but for a residual of few distinct values (an arrival time is
//! its scheduled time plus its delay, but for the carries of `hhmm` clock arithmetic), is
//! stored as the residuals, through the cascades and the zstd stage. Detection tries sums
//! after tables (a column a table decides costs next to nothing), on a sample of the stripe
//! first.
//!
//! Reading a derived block needs the same stripe's blocks of its key columns (the segment
//! reads them along, also when they are not projected): each row's value is the table's entry
//! for its key, or its exception; or the sum of its keys' values and its residual. See
//! `docs/format.md` for the bytes.

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
    /// The one key is an integer, date or timestamp column: the table is keyed by its values
    /// (as `u64` bits), not by symbol codes (format 3.6).
    pub(crate) value_key: bool,
    /// A sum (3.6): the column is the sum of its keys' values, each subtracted where its
    /// sign is `true`, plus a residual each block stores; no table.
    pub(crate) sum: Option<Vec<bool>>,
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
    /// Blocks the segment will hold, where the writer knows (see [`Self::try_block`]).
    pub(crate) segment_blocks: Option<usize>,
}

/// The values of a block derived from a table: what differs from it.
#[derive(Debug)]
pub(crate) struct DerivedValues {
    /// The block's values bytes (see `docs/format.md`).
    pub(crate) bytes: Vec<u8>,
    /// Rows that differ from the table.
    pub(crate) exceptions: usize,
    /// What the entries the block added to the table are estimated to cost in the footer,
    /// in bytes.
    pub(crate) table_bytes: usize,
    /// The table covers every row: the block stores a zero count, which no encoding beats.
    pub(crate) covered: bool,
}

/// Every row's key of a stripe as the writer sees it: symbol keys combined (see [`combine`];
/// a null code is a key like any other), or the values of a value key with their validity
/// (a row whose key is null has no entry and is an exception).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowKeys<'a> {
    pub(crate) keys: &'a [u64],
    pub(crate) valid: Option<&'a [bool]>,
}

/// Bits an entry's key is estimated to cost in the footer: a symbol key's code, or a value
/// key's step from the entry before (the table is stored in key order).
const SYMBOL_KEY_BITS: usize = 8;
const VALUE_KEY_BITS: usize = 12;

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
    fn new(column: usize, keys: Vec<usize>, value_key: bool, signed: bool) -> Self {
        Self {
            column,
            keys,
            value_key,
            sum: None,
            signed,
            table: new_map(1024),
            used: false,
            misses: 0,
            live: true,
            label: String::new(),
            segment_blocks: None,
        }
    }

    /// Still worth trying on the next block.
    pub(crate) fn live(&self) -> bool {
        self.live
    }

    /// The block's values against the table (`values` the non-null values as `u64` bits,
    /// `keys` every row's key, `valid` the rows' validity), new keys added to it; `None` when
    /// it cannot pay: its new entries and exceptions would cost more than three quarters of
    /// the values bit-packed at their range's width. The caller then [`Self::accept`]s or
    /// [`Self::decline`]s the block. Keys stay in the table either way: a segment's first
    /// blocks bring most of its keys, and the blocks after them find their entries (a
    /// table nothing was stored against is not written). Where the writer knows how many
    /// blocks the segment holds ([`crate::BlockOptions::segment_rows`]), a block that adds
    /// entries or has exceptions before any block used the table bears the table's whole
    /// entry in the footer ([`Self::unpaid_bytes`]) shared among them, not only its new
    /// entries: a segment of one block pays for its table alone. A block the table covers
    /// (no new entry, no exception) is taken as it is: the blocks before it brought the
    /// keys, and those after it usually find theirs.
    pub(crate) fn try_block(
        &mut self,
        values: &[u64],
        keys: RowKeys<'_>,
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
        for (r, &k) in keys.keys.iter().enumerate() {
            if valid.is_some_and(|v| !v.get(r).copied().unwrap_or(false)) {
                continue;
            }
            let Some(&v) = values.get(j) else {
                return Err(FormatError::InvalidArgument(
                    "fewer values than valid rows".into(),
                ));
            };
            let key_null = keys
                .valid
                .is_some_and(|kv| !kv.get(r).copied().unwrap_or(false));
            let entry = if key_null {
                None
            } else {
                self.table.get(&k).copied()
            };
            match entry {
                Some(t) if t == v => {}
                None if !key_null && self.table.len() < MAX_ENTRIES => {
                    self.table.insert(k, v);
                    added += 1;
                }
                _ => {
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
        let key_bits = if self.value_key {
            VALUE_KEY_BITS
        } else {
            SYMBOL_KEY_BITS * self.keys.len()
        };
        let table_bytes = match self.segment_blocks {
            Some(blocks) if !self.used => self.unpaid_bytes()?.div_ceil(blocks),
            _ => added * (width + key_bits) / 8,
        };
        let cost = table_bytes + exceptions.len() * (width + 12) / 8 + 8;
        if cost * 4 > plain * 3 {
            self.decline();
            return Ok(None);
        }
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
            table_bytes,
            covered: positions.is_empty() && added == 0,
        }))
    }

    /// A sum's block: each non-null value less its row's sum of the keys (`base`, wrapping
    /// `u64` arithmetic), as an `i64` codec buffer.
    pub(crate) fn sum_block(
        &self,
        values: &[u64],
        base: &[u64],
        valid: Option<&[bool]>,
        eo: &EncodeOptions,
    ) -> Result<DerivedValues> {
        let mut residuals = Vec::with_capacity(values.len());
        let mut it = values.iter();
        for (r, &b) in base.iter().enumerate() {
            if valid.is_some_and(|v| !v.get(r).copied().unwrap_or(false)) {
                continue;
            }
            let v = it.next().ok_or_else(|| {
                FormatError::InvalidArgument("fewer values than valid rows".into())
            })?;
            residuals.push(v.wrapping_sub(b) as i64);
        }
        if it.next().is_some() {
            return Err(FormatError::InvalidArgument(
                "more values than valid rows".into(),
            ));
        }
        let bytes = strata_codec::encode_i64(&residuals, eo)
            .map_err(codec)?
            .bytes;
        Ok(DerivedValues {
            bytes,
            exceptions: 0,
            table_bytes: match self.segment_blocks {
                Some(blocks) if !self.used => self.unpaid_bytes()?.div_ceil(blocks),
                _ => 0,
            },
            covered: false,
        })
    }

    /// What the footer spends on this column's table when a first block uses it: the
    /// table's entry as it stands (column, keys, entries' key codes and values with their
    /// codec headers; a sum's signs) and the name its blocks' cascades add. A segment of a
    /// few hundred rows pays it for one block: a month column that its day decides saved
    /// 15 bytes against its own runs and cost more than that in the footer (Beijing as 721
    /// segments, 14 KB larger with tables than without).
    fn unpaid_bytes(&self) -> Result<usize> {
        let entry = encode_extension(std::slice::from_ref(&self.derivation()))?;
        // `derived(<label>)` and its length, once in the cascade table; the extension's
        // count (one byte) is the caller's either way.
        Ok(entry.len().saturating_sub(1) + self.label.len() + "derived()".len() + 1)
    }

    /// A block was stored against the table.
    pub(crate) fn accept(&mut self) {
        self.used = true;
        self.misses = 0;
    }

    /// A block was stored without the table; after [`MAX_MISSES`] in a row with none
    /// derived, the column stops trying.
    pub(crate) fn decline(&mut self) {
        self.misses += 1;
        if !self.used && self.misses >= MAX_MISSES {
            self.live = false;
            self.table = new_map(0);
        }
    }

    /// The table for the footer, entries in key order; `None` when no block used it.
    pub(crate) fn finish(self) -> Option<Derivation> {
        self.used.then(|| self.derivation())
    }

    /// The table as it stands, entries in key order.
    fn derivation(&self) -> Derivation {
        if let Some(sum) = &self.sum {
            return Derivation {
                column: self.column,
                keys: self.keys.clone(),
                value_key: false,
                key_codes: Vec::new(),
                values: Vec::new(),
                sum: Some(sum.clone()),
            };
        }
        let mut entries: Vec<(u64, u64)> = self.table.iter().map(|(&k, &v)| (k, v)).collect();
        entries.sort_unstable_by_key(|&(k, _)| k);
        let key_codes = if self.value_key {
            vec![entries.iter().map(|&(k, _)| k).collect()]
        } else {
            (0..self.keys.len())
                .map(|i| {
                    entries
                        .iter()
                        .map(|&(k, _)| (k >> (32 * i)) & 0xffff_ffff)
                        .collect()
                })
                .collect()
        };
        Derivation {
            column: self.column,
            keys: self.keys.clone(),
            value_key: self.value_key,
            key_codes,
            values: entries.into_iter().map(|(_, v)| v).collect(),
            sum: None,
        }
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

/// Most integer, date or timestamp columns considered as value keys.
const MAX_VALUE_KEYS: usize = 16;

/// One candidate key set of the detection: its key columns, whether it is a value key, and
/// every row's key.
struct KeySet {
    columns: Vec<usize>,
    value_key: bool,
    /// A sum's signs (its `keys` are empty: each row's sum depends on the column).
    sum: Option<Vec<bool>>,
    keys: Vec<u64>,
    /// A value key's validity (a null key decides nothing).
    valid: Option<Vec<bool>>,
    /// Distinct keys on the stripe (value keys only; 0 when not counted).
    distinct: usize,
}

/// Every row's value of a column of `rows` rows (`values` its non-null values as `u64` bits;
/// 0 for a null row), and its validity.
pub(crate) fn values_per_row(
    values: &[u64],
    valid: Option<Vec<bool>>,
    rows: usize,
) -> (Vec<u64>, Option<Vec<bool>>) {
    match valid {
        None => (values.to_vec(), None),
        Some(valid) => {
            let mut it = values.iter();
            let keys = (0..rows)
                .map(|r| {
                    if valid.get(r).copied().unwrap_or(false) {
                        it.next().copied().unwrap_or(0)
                    } else {
                        0
                    }
                })
                .collect();
            (keys, Some(valid))
        }
    }
}

fn distinct_of(values: &[u64], seen: &mut Map) -> usize {
    seen.clear();
    for &v in values {
        seen.insert(v, 0);
    }
    seen.len()
}

/// The columns of a segment's first stripe that other columns determine: one or two symbol
/// columns (`codes`: their row codes, see [`combine`]), or one integer, date or timestamp
/// column (a value key, one of `candidates`). A column is determined when it is not constant
/// on the stripe and all but 1/16 of its non-null rows have the value of the first row with
/// the same key, with fewer distinct keys than 7/8 of its rows. Of the key sets that
/// determine a column, the one whose table and exceptions are estimated to cost the least
/// against the column's values bit-packed is taken; (column, key set) pairs are taken in that
/// order, and a column is never both derived and a value key of another (a reader derives
/// from key blocks as they are stored).
pub(crate) fn detect(
    candidates: &[Candidate<'_>],
    codes: &[(usize, &[u32])],
    rows: usize,
) -> Vec<Deriver> {
    let symbols = &codes[..codes.len().min(MAX_KEY_COLUMNS)];
    let mut sets: Vec<KeySet> = Vec::new();
    let symbol_set = |ix: &[usize]| {
        let c: Vec<&[u32]> = ix.iter().map(|&i| symbols[i].1).collect();
        KeySet {
            columns: ix.iter().map(|&i| symbols[i].0).collect(),
            value_key: false,
            sum: None,
            keys: row_keys(&c, rows),
            valid: None,
            distinct: 0,
        }
    };
    for i in 0..symbols.len() {
        sets.push(symbol_set(&[i]));
    }
    let singles = sets.len();
    for i in 0..symbols.len() {
        for j in i + 1..symbols.len() {
            sets.push(symbol_set(&[i, j]));
        }
    }
    let mut seen = new_map(rows);
    // Distinct values of each candidate: a value key needs fewer than 7/8 of the rows, and
    // as many as the column it would determine, less the exceptions allowed.
    let distinct: Vec<usize> = candidates
        .iter()
        .map(|c| distinct_of(c.values, &mut seen))
        .collect();
    for (c, &d) in candidates.iter().zip(&distinct) {
        if sets.iter().filter(|s| s.value_key).count() >= MAX_VALUE_KEYS {
            break;
        }
        // A sorted column (a time) brings new values with every block: a table keyed by
        // it never serves a later block, and what it decides is in runs beside it.
        let sorted =
            c.values.windows(2).all(|w| w[0] <= w[1]) || c.values.windows(2).all(|w| w[0] >= w[1]);
        // A value key repeats on average at least twice on the stripe: a column of nearly
        // unique values (a drop-off time) decides any other trivially, through a table as
        // long as the column.
        if d > 1 && d * 2 <= c.values.len() && c.values.len() >= 16 && !sorted {
            let (keys, valid) = values_per_row(c.values, c.valid.map(<[bool]>::to_vec), rows);
            sets.push(KeySet {
                columns: vec![c.column],
                value_key: true,
                sum: None,
                keys,
                valid,
                distinct: d,
            });
        }
    }
    // (saving in bits, candidate, key set)
    let mut found: Vec<(i64, usize, usize)> = Vec::new();
    for (ci, cand) in candidates.iter().enumerate() {
        let n = cand.values.len();
        // A column constant on the stripe is "decided" by any key and codes itself in a few
        // bytes a block.
        if n < 16 || cand.values.iter().all(|&v| v == cand.values[0]) {
            continue;
        }
        let limit = n / 16;
        let width = range_width(cand.values, cand.signed).max(1) as i64;
        let plain = n as i64 * width;
        let mut single_decides = false;
        for (s, set) in sets.iter().enumerate() {
            // A pair holding a column that decides alone adds nothing.
            if s >= singles && !set.value_key && set.columns.len() > 1 && single_decides {
                continue;
            }
            // A value key needs at least as many distinct values as the column, less the
            // exceptions.
            if set.value_key
                && (set.columns[0] == cand.column || set.distinct + limit < distinct[ci])
            {
                continue;
            }
            seen.clear();
            let mut exceptions = 0usize;
            let mut failed = false;
            let mut j = 0usize;
            for (r, &k) in set.keys.iter().enumerate() {
                if cand
                    .valid
                    .is_some_and(|v| !v.get(r).copied().unwrap_or(false))
                {
                    continue;
                }
                let Some(&v) = cand.values.get(j) else { break };
                j += 1;
                let key_null = set
                    .valid
                    .as_ref()
                    .is_some_and(|kv| !kv.get(r).copied().unwrap_or(false));
                if key_null {
                    exceptions += 1;
                } else {
                    match seen.entry(k) {
                        Entry::Occupied(e) => {
                            if *e.get() != v {
                                exceptions += 1;
                            }
                        }
                        Entry::Vacant(e) => {
                            e.insert(v);
                        }
                    }
                }
                // A key set that does not decide the column is dropped after a few hundred
                // rows (twice the allowed rate, with slack), not at the stripe's limit.
                if exceptions > limit || exceptions > j / 8 + 32 {
                    failed = true;
                    break;
                }
            }
            let keys = seen.len();
            if failed || keys * 8 >= n * 7 {
                continue;
            }
            if s < singles {
                single_decides = true;
            }
            let key_bits = if set.value_key {
                VALUE_KEY_BITS
            } else {
                SYMBOL_KEY_BITS * set.columns.len()
            } as i64;
            // On one stripe the table's entries are not yet shared by later blocks: the
            // estimate ranks key sets, and each block is stored against the table only where
            // that is smaller than its own encoding.
            let cost = keys as i64 * (key_bits + width) + exceptions as i64 * (width + 12);
            found.push((plain - cost, ci, s));
        }
    }
    detect_sums(candidates, rows, &mut sets, &mut found, &mut seen);
    // Tables first (a column they decide costs next to nothing, and reads with one
    // gather), then sums; largest savings first within each. A column a value key or summed
    // is never derived, a derived column never one: a time that decides its minute stays
    // stored, and the sum it is part of derives another of its columns.
    found.sort_by_key(|&(saving, ci, s)| (sets[s].sum.is_some(), std::cmp::Reverse(saving), ci, s));
    let mut derived = vec![false; candidates.len()];
    let mut is_key: Vec<usize> = Vec::new();
    let mut out = Vec::new();
    for (_, ci, s) in found {
        let cand = &candidates[ci];
        let set = &sets[s];
        if derived[ci] || is_key.contains(&cand.column) {
            continue;
        }
        if set.value_key || set.sum.is_some() {
            let keys_derived = set.columns.iter().any(|&k| {
                candidates
                    .iter()
                    .zip(&derived)
                    .any(|(c, &d)| d && c.column == k)
            });
            if keys_derived {
                continue;
            }
            is_key.extend(&set.columns);
        }
        derived[ci] = true;
        let mut d = Deriver::new(cand.column, set.columns.clone(), set.value_key, cand.signed);
        d.sum.clone_from(&set.sum);
        out.push(d);
    }
    out.sort_by_key(|d| d.column);
    out
}

/// Rows of a stripe a sum is first tried on.
const SUM_SAMPLE: usize = 64;

/// `n · H` of `values`' histogram, in bits: what an entropy coder would need for them.
fn entropy_bits(values: impl Iterator<Item = u64>, seen: &mut Map) -> f64 {
    seen.clear();
    let mut n = 0u64;
    for v in values {
        *seen.entry(v).or_insert(0) += 1;
        n += 1;
    }
    let total = n as f64;
    seen.values()
        .map(|&c| {
            let c = c as f64;
            -c * (c / total).log2()
        })
        .sum()
}

/// Sums (3.6): a column that is one or two other integer, date or timestamp columns added
/// or subtracted, plus a residual of few distinct values (an arrival time is its scheduled
/// time plus its delay, but for the hour's carries). Each column with many distinct values
/// on a sample of the stripe is tried against every single column and pair with signs
/// `+`, `+ +`, `+ -`, `- +`; a sum whose residuals on the sample take a quarter as many
/// values as the column is measured on the whole stripe by its residuals' histogram
/// entropy, and joins `found` with what it saves against the values bit-packed.
fn detect_sums(
    candidates: &[Candidate<'_>],
    rows: usize,
    sets: &mut Vec<KeySet>,
    found: &mut Vec<(i64, usize, usize)>,
    seen: &mut Map,
) {
    if candidates.len() < 2 || rows < SUM_SAMPLE {
        return;
    }
    let per_row: Vec<(Vec<u64>, Option<Vec<bool>>)> = candidates
        .iter()
        .map(|c| values_per_row(c.values, c.valid.map(<[bool]>::to_vec), rows))
        .collect();
    let valid_at = |ci: usize, r: usize| -> bool {
        per_row[ci]
            .1
            .as_ref()
            .is_none_or(|v| v.get(r).copied().unwrap_or(false))
    };
    let step = rows / SUM_SAMPLE;
    let sample: Vec<usize> = (0..SUM_SAMPLE).map(|i| i * step).collect();
    let distinct_in = |v: &mut Vec<u64>| {
        v.sort_unstable();
        v.dedup();
        v.len()
    };
    // Term sets: (columns as candidate indexes, signs).
    let m = candidates.len();
    let mut term_sets: Vec<(Vec<usize>, Vec<bool>)> =
        (0..m).map(|a| (vec![a], vec![false])).collect();
    for a in 0..m {
        for b in a + 1..m {
            for signs in [[false, false], [false, true], [true, false]] {
                term_sets.push((vec![a, b], signs.to_vec()));
            }
        }
    }
    let mut residuals = Vec::with_capacity(SUM_SAMPLE);
    for (ci, cand) in candidates.iter().enumerate() {
        let n = cand.values.len();
        if n < SUM_SAMPLE {
            continue;
        }
        let cv = &per_row[ci].0;
        let mut own: Vec<u64> = sample
            .iter()
            .filter(|&&r| valid_at(ci, r))
            .map(|&r| cv[r])
            .collect();
        let own_distinct = distinct_in(&mut own);
        // A column of few values is cheap as it is.
        if own_distinct < SUM_SAMPLE / 3 {
            continue;
        }
        let base_at = |terms: &[usize], signs: &[bool], r: usize| -> u64 {
            terms.iter().zip(signs).fold(0u64, |b, (&t, &minus)| {
                let x = if valid_at(t, r) { per_row[t].0[r] } else { 0 };
                if minus {
                    b.wrapping_sub(x)
                } else {
                    b.wrapping_add(x)
                }
            })
        };
        let width = range_width(cand.values, cand.signed).max(1) as f64;
        let plain = n as f64 * width;
        for (terms, signs) in &term_sets {
            if terms.contains(&ci) {
                continue;
            }
            residuals.clear();
            residuals.extend(
                sample
                    .iter()
                    .filter(|&&r| valid_at(ci, r))
                    .map(|&r| cv[r].wrapping_sub(base_at(terms, signs, r))),
            );
            if distinct_in(&mut residuals) * 4 > own_distinct {
                continue;
            }
            let bits = entropy_bits(
                (0..rows)
                    .filter(|&r| valid_at(ci, r))
                    .map(|r| cv[r].wrapping_sub(base_at(terms, signs, r))),
                seen,
            );
            // The residuals' codec and zstd stage come near their entropy, with a floor of
            // a tenth of a bit a value.
            let cost = bits.max(n as f64 / 10.0) + 64.0;
            if cost < plain {
                sets.push(KeySet {
                    columns: terms.iter().map(|&t| candidates[t].column).collect(),
                    value_key: false,
                    sum: Some(signs.clone()),
                    keys: Vec::new(),
                    valid: None,
                    distinct: 0,
                });
                found.push(((plain - cost) as i64, ci, sets.len() - 1));
            }
        }
    }
}

/// A column's derivation table, as the footer stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derivation {
    /// The derived column.
    pub column: usize,
    /// Its key columns: one or two symbol columns, or one integer, date or timestamp column
    /// (a value key, format 3.6).
    pub keys: Vec<usize>,
    /// The key is a value key: entries are keyed by its values.
    pub value_key: bool,
    /// Per key column, each entry's code plus one (0 for a null key); for a value key, each
    /// entry's key value as `u64` bits of the key column's codec kind.
    pub key_codes: Vec<Vec<u64>>,
    /// Each entry's value, as `u64` bits of the column's codec kind (`i64` or `u64`).
    pub values: Vec<u64>,
    /// A sum (3.6): per key, whether it is subtracted. The column's value is the sum of its
    /// keys' values (a null key counts 0; wrapping `u64` arithmetic on the codec kinds' bits)
    /// plus a residual its blocks store; no table (`key_codes` and `values` are empty).
    pub sum: Option<Vec<bool>>,
}

/// The entry's `n_keys` field marks a sum (3.6) with this bit; the key count is below it.
const SUM_FLAG: u64 = 0x80;

/// The footer extension's payload for `derivations`.
pub(crate) fn encode_extension(derivations: &[Derivation]) -> Result<Vec<u8>> {
    let eo = EncodeOptions::default();
    let mut out = Vec::new();
    varint(&mut out, derivations.len() as u64);
    for d in derivations {
        varint(&mut out, d.column as u64);
        if let Some(signs) = &d.sum {
            varint(&mut out, SUM_FLAG | d.keys.len() as u64);
            for (&k, &minus) in d.keys.iter().zip(signs) {
                varint(&mut out, k as u64);
                out.push(u8::from(minus));
            }
            continue;
        }
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
        if nk & SUM_FLAG != 0 {
            let terms = nk & !SUM_FLAG;
            if !(1..=2).contains(&terms) {
                return Err(format!("a sum of {terms} columns (1 or 2)"));
            }
            let mut keys = Vec::with_capacity(terms as usize);
            let mut signs = Vec::with_capacity(terms as usize);
            for _ in 0..terms {
                let k = read_varint(buf, &mut pos)?;
                let ok = usize::try_from(k).ok().filter(|&k| {
                    k != column
                        && !keys.contains(&k)
                        && schema
                            .fields
                            .get(k)
                            .is_some_and(|f| derivable(&f.data_type))
                });
                keys.push(ok.ok_or_else(|| {
                    format!("summed column {k} is not another integer, date or timestamp column")
                })?);
                let sign = *buf
                    .get(pos)
                    .ok_or_else(|| "a sum's sign runs past the end".to_string())?;
                pos += 1;
                if sign > 1 {
                    return Err(format!("sign {sign} (0 or 1)"));
                }
                signs.push(sign == 1);
            }
            out.push(Derivation {
                column,
                keys,
                value_key: false,
                key_codes: Vec::new(),
                values: Vec::new(),
                sum: Some(signs),
            });
            continue;
        }
        if !(1..=2).contains(&nk) {
            return Err(format!("{nk} key columns (1 or 2)"));
        }
        let mut keys = Vec::with_capacity(nk as usize);
        let mut value_key = false;
        for _ in 0..nk {
            let k = read_varint(buf, &mut pos)?;
            let key_type = usize::try_from(k)
                .ok()
                .filter(|&k| k != column && !keys.contains(&k))
                .and_then(|k| schema.fields.get(k))
                .map(|f| &f.data_type);
            match key_type {
                Some(DataType::Symbol) => {}
                // A value key (3.6) is the derivation's only key.
                Some(t) if derivable(t) && nk == 1 => value_key = true,
                _ => {
                    return Err(format!(
                        "key column {k} is neither another symbol column nor a sole integer, \
                         date or timestamp column"
                    ));
                }
            }
            keys.push(k as usize);
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
            if codes.len() as u64 != entries {
                return Err(format!("{} key codes for {entries} entries", codes.len()));
            }
            let most = dict_len.get(k).copied().flatten().unwrap_or(0) as u64;
            if let (false, Some(c)) = (value_key, codes.iter().find(|&&c| c > most)) {
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
            value_key,
            key_codes,
            values,
            sum: None,
        });
    }
    if pos != buf.len() {
        return Err(format!("{} trailing bytes", buf.len() - pos));
    }
    // A reader derives a block from its keys' blocks as they are stored.
    if let Some(d) = out
        .iter()
        .find(|d| d.keys.iter().any(|k| out.iter().any(|e| e.column == *k)))
    {
        return Err(format!("column {} derived from a derived column", d.column));
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
    /// Each key's largest code plus one (the dictionary's length); unused for a value key.
    most: Vec<u64>,
    /// A value key's smallest value, subtracted for the dense index; `u64::MAX` for symbol
    /// keys, whose codes are indexed plus one (`x - u64::MAX` wraps to `x + 1`).
    base: u64,
    /// The key is a value key (see [`Derivation::value_key`]).
    value_key: bool,
    /// A sum's signs (see [`Derivation::sum`]); no table.
    sum: Option<Vec<bool>>,
    /// Entry of each key (`ABSENT` for none), indexed by the keys' codes plus one (a value
    /// key's value less `base`).
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
        let n = d.values.len();
        if let Some(signs) = &d.sum {
            if signs.len() != d.keys.len() {
                return Err(format!("{} signs for {} keys", signs.len(), d.keys.len()));
            }
            return Ok(Self {
                keys: d.keys.clone(),
                most: Vec::new(),
                base: 0,
                value_key: false,
                sum: Some(signs.clone()),
                dense: None,
                map: new_map(0),
                values: Vec::new(),
            });
        }
        let (most, base, size): (Vec<u64>, u64, Option<u64>) = if d.value_key {
            let k = d.key_codes.first().map_or(&[][..], Vec::as_slice);
            if k.len() != n || d.keys.len() != 1 {
                return Err(format!("{} key values for {n} entries", k.len()));
            }
            let lo = k.iter().copied().min().unwrap_or(0);
            let hi = k.iter().copied().max().unwrap_or(0);
            (Vec::new(), lo, (hi - lo).checked_add(1))
        } else {
            let most: Vec<u64> = d
                .keys
                .iter()
                .map(|&k| dict_len.get(k).copied().flatten().unwrap_or(0) as u64)
                .collect();
            let size = most.iter().try_fold(1u64, |acc, &m| acc.checked_mul(m + 1));
            (most, u64::MAX, size)
        };
        let index = |e: usize| -> u64 {
            if d.value_key {
                return d.key_codes[0][e].wrapping_sub(base);
            }
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
            base,
            value_key: d.value_key,
            sum: None,
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

    /// Appends to `out` every non-null row's value of a derived block of `rows` rows: its
    /// exception where `positions` (indexes into the non-null values, ascending) names it,
    /// else the table's entry for its key (`keys`: the key columns' codes of the same rows).
    /// The error is a detail for `Corrupt`; on one, what was appended is unspecified (the
    /// caller truncates).
    pub(crate) fn values_of(
        &self,
        keys: &[KeyCodes<'_>],
        rows: usize,
        valid: Option<&BooleanBuffer>,
        positions: &[u64],
        exceptions: &[u64],
        out: &mut Vec<u64>,
    ) -> std::result::Result<(), String> {
        if keys.len() != self.keys.len() {
            return Err("key columns' blocks do not cover the block's rows".into());
        }
        let missing = |r: usize| format!("row {r} has no entry in the derivation table");
        let start = out.len();
        out.reserve(rows);
        // Keys and values without nulls, a dense table: one gather a row, then the
        // exceptions written over their rows.
        let all_valid = valid.is_none() && keys.iter().all(|k| k.valid.is_none());
        let ascending = positions.windows(2).all(|w| w[0] < w[1])
            && positions.last().is_none_or(|&p| p < rows as u64);
        if let (true, true, Some(dense)) = (all_valid, ascending, &self.dense) {
            // Absent slots point one past the values, at a zero; how many rows met one (or
            // a code past its dictionary) is counted as it goes: those must all be
            // exceptions, else the general path below finds the row for the error.
            let absent = self.values.len();
            let at = |e: u16| -> (usize, bool) {
                let e = if e == ABSENT { absent } else { e as usize };
                (e, e >= absent)
            };
            let (m1, base) = (self.most.get(1).copied().unwrap_or(0), self.base);
            let stride = usize::try_from(m1 + 1).unwrap_or(usize::MAX);
            // Row `r`'s entry and whether it has none.
            let entry = |r: usize| -> (usize, bool) {
                match keys {
                    [a] => {
                        let x = a.codes.get(r).copied().unwrap_or(u64::MAX);
                        let slot = usize::try_from(x.wrapping_sub(base)).unwrap_or(usize::MAX);
                        at(dense.get(slot).copied().unwrap_or(ABSENT))
                    }
                    [a, b] => {
                        let x = a.codes.get(r).copied().unwrap_or(u64::MAX);
                        let y = b.codes.get(r).copied().unwrap_or(u64::MAX);
                        let slot = (x as usize)
                            .wrapping_add(1)
                            .wrapping_mul(stride)
                            .wrapping_add((y as usize).wrapping_add(1));
                        let (e, miss) = at(dense.get(slot).copied().unwrap_or(ABSENT));
                        (e, miss | (y >= m1) | (x > u64::from(u32::MAX)))
                    }
                    _ => (absent, true),
                }
            };
            // Plain loops keep the count in a register (through a closure it went to
            // memory, a store and a load on every row's chain).
            let mut misses = 0usize;
            let mut done = false;
            match keys {
                [a] if a.codes.len() == rows => {
                    out.resize(start + rows, 0);
                    let slots = out.get_mut(start..).unwrap_or_default();
                    for (o, &x) in slots.iter_mut().zip(a.codes) {
                        let slot = usize::try_from(x.wrapping_sub(base)).unwrap_or(usize::MAX);
                        let (e, miss) = at(dense.get(slot).copied().unwrap_or(ABSENT));
                        misses += usize::from(miss);
                        *o = self.values.get(e).copied().unwrap_or(0);
                    }
                    done = true;
                }
                [a, b] if a.codes.len() == rows && b.codes.len() == rows => {
                    // The first key is the major index: rows of one origin (often
                    // together) find their entries near each other.
                    out.resize(start + rows, 0);
                    let slots = out.get_mut(start..).unwrap_or_default();
                    for (o, (&x, &y)) in slots.iter_mut().zip(a.codes.iter().zip(b.codes)) {
                        let slot = (x as usize)
                            .wrapping_add(1)
                            .wrapping_mul(stride)
                            .wrapping_add((y as usize).wrapping_add(1));
                        let (e, miss) = at(dense.get(slot).copied().unwrap_or(ABSENT));
                        misses += usize::from(miss | (y >= m1) | (x > u64::from(u32::MAX)));
                        *o = self.values.get(e).copied().unwrap_or(0);
                    }
                    done = true;
                }
                _ => {}
            }
            if done {
                let slots = out.get_mut(start..).unwrap_or_default();
                for (&p, &v) in positions.iter().zip(exceptions) {
                    if let Some(o) = slots.get_mut(p as usize) {
                        *o = v;
                    }
                    if misses > 0 && entry(p as usize).1 {
                        misses -= 1;
                    }
                }
                if misses == 0 && positions.len() == exceptions.len() {
                    return Ok(());
                }
                // Find the row for the error below.
                out.truncate(start);
            }
        }
        let mut next = positions.iter().zip(exceptions).peekable();
        let mut taken = vec![0usize; keys.len()];
        if self.value_key {
            let [k] = keys else {
                return Err("a value key is a derivation's only key".into());
            };
            for r in 0..rows {
                let key = if k.valid.is_some_and(|v| r >= v.len() || !v.value(r)) {
                    None
                } else {
                    let x = k.codes.get(taken[0]).copied().ok_or_else(|| missing(r))?;
                    taken[0] += 1;
                    Some(x)
                };
                if valid.is_some_and(|v| r >= v.len() || !v.value(r)) {
                    continue;
                }
                let j = (out.len() - start) as u64;
                if let Some((_, &v)) = next.next_if(|&(&p, _)| p == j) {
                    out.push(v);
                    continue;
                }
                let v = key
                    .and_then(|x| self.value_of(x))
                    .ok_or_else(|| missing(r))?;
                out.push(v);
            }
            return Ok(());
        }
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
            let j = (out.len() - start) as u64;
            if let Some((_, &v)) = next.next_if(|&(&p, _)| p == j) {
                out.push(v);
                continue;
            }
            out.push(self.get(&row_key[..keys.len()]).ok_or_else(|| missing(r))?);
        }
        Ok(())
    }

    /// Whether this is a sum.
    pub(crate) fn is_sum(&self) -> bool {
        self.sum.is_some()
    }

    /// A sum's values of a block of `rows` rows, made in place: `out[start..]` holds each
    /// non-null row's residual (as `u64` bits) and becomes that plus the row's keys' values
    /// (a null key counts 0), wrapping. The error is a detail for `Corrupt`.
    pub(crate) fn sum_values(
        &self,
        keys: &[KeyCodes<'_>],
        rows: usize,
        valid: Option<&BooleanBuffer>,
        out: &mut [u64],
    ) -> std::result::Result<(), String> {
        let signs = self.sum.as_deref().unwrap_or_default();
        if keys.len() != signs.len() {
            return Err("summed columns' blocks do not cover the block's rows".into());
        }
        // Without nulls in the block, the residuals are the start of the sums; else each
        // row's sum of the keys first, then added to the residuals of the non-null rows.
        let Some(v) = valid else {
            if out.len() != rows {
                return Err("residuals do not match the block's rows".into());
            }
            return add_keys(out, keys, signs);
        };
        if v.len() != rows || v.count_set_bits() != out.len() {
            return Err("residuals do not match the block's non-null rows".into());
        }
        let mut base = vec![0u64; rows];
        add_keys(&mut base, keys, signs)?;
        // As in `add_keys`: whole words of valid rows as slices; elsewhere every row adds
        // its sum at the next output slot (masked to zero at a null row), which only a
        // valid row steps past.
        let last = out.len().saturating_sub(1);
        let mut j = 0usize;
        for (word, chunk) in v.bit_chunks().iter_padded().zip(base.chunks(64)) {
            if word == u64::MAX
                && let Some(os) = out.get_mut(j..j + chunk.len())
            {
                for (o, &b) in os.iter_mut().zip(chunk) {
                    *o = o.wrapping_add(b);
                }
                j += chunk.len();
                continue;
            }
            for (i, &b) in chunk.iter().enumerate() {
                let bit = (word >> i) & 1;
                if let Some(o) = out.get_mut(j.min(last)) {
                    *o = o.wrapping_add(b & 0u64.wrapping_sub(bit));
                }
                j += bit as usize;
            }
        }
        Ok(())
    }

    /// The value for a value key's value `x`, if the table has one.
    pub(crate) fn value_of(&self, x: u64) -> Option<u64> {
        let idx = x.wrapping_sub(self.base);
        let e = match &self.dense {
            Some(d) => *d
                .get(usize::try_from(idx).ok()?)
                .filter(|&&e| e != ABSENT)? as usize,
            None => *self.map.get(&idx)? as usize,
        };
        self.values.get(e).copied()
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

/// Adds each row's keys' values to `buf` (a row each; a null key counts 0), subtracted where
/// the key's sign is `true`, in wrapping arithmetic. The error is a detail for `Corrupt`.
pub(crate) fn add_keys(
    buf: &mut [u64],
    keys: &[KeyCodes<'_>],
    signs: &[bool],
) -> std::result::Result<(), String> {
    let rows = buf.len();
    for (k, &minus) in keys.iter().zip(signs) {
        let x = k.codes;
        match k.valid {
            None if x.len() == rows => {
                if minus {
                    buf.iter_mut()
                        .zip(x)
                        .for_each(|(b, &x)| *b = b.wrapping_sub(x));
                } else {
                    buf.iter_mut()
                        .zip(x)
                        .for_each(|(b, &x)| *b = b.wrapping_add(x));
                }
            }
            Some(v) if v.len() == rows && v.count_set_bits() == x.len() => {
                // 64 rows at a time: a run of valid rows adds its values as a slice; in
                // a word with nulls, a null row adds its next value masked to zero and
                // steps past it only where the row is valid (no branch a row).
                let sign = if minus { u64::MAX } else { 1 };
                let last = x.len().saturating_sub(1);
                let mut j = 0usize;
                for (word, chunk) in v.bit_chunks().iter_padded().zip(buf.chunks_mut(64)) {
                    if word == u64::MAX
                        && let Some(xs) = x.get(j..j + chunk.len())
                    {
                        for (b, &xv) in chunk.iter_mut().zip(xs) {
                            *b = b.wrapping_add(xv.wrapping_mul(sign));
                        }
                        j += chunk.len();
                        continue;
                    }
                    for (i, b) in chunk.iter_mut().enumerate() {
                        let bit = (word >> i) & 1;
                        let xv = x.get(j.min(last)).copied().unwrap_or(0);
                        *b = b.wrapping_add((xv & 0u64.wrapping_sub(bit)).wrapping_mul(sign));
                        j += bit as usize;
                    }
                }
            }
            _ => return Err("a summed column's block has other rows".into()),
        }
    }
    Ok(())
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
                value_key: false,
                key_codes: vec![
                    keep.iter().map(|&i| k0[i]).collect(),
                    keep.iter().map(|&i| k1[i]).collect(),
                ],
                values: keep.iter().map(|&i| values[i]).collect(),
                sum: None,
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

    proptest::proptest! {
        /// A block's values from a dense table (one symbol key, two, or a value key), with
        /// exceptions at rows that have an entry and rows that do not, equal a row-by-row
        /// lookup; a row with neither is an error.
        #[test]
        fn values_of_equal_a_lookup_a_row(
            kind in 0usize..3,
            entries in proptest::collection::vec((0u64..12, 0u64..6, 0u64..1000), 1..40),
            rows in proptest::collection::vec((0u64..13, 0u64..7), 1..300),
            excepted in proptest::collection::vec(proptest::bool::ANY, 300),
        ) {
            let mut seen = std::collections::HashSet::new();
            let entries: Vec<(u64, u64, u64)> = entries
                .into_iter()
                .filter(|&(a, b, _)| seen.insert(if kind == 1 { (a, b) } else { (a, 0) }))
                .collect();
            let (keys, value_key) = match kind {
                0 => (vec![0], false),
                1 => (vec![0, 2], false),
                _ => (vec![3], true),
            };
            let d = Derivation {
                column: 1,
                keys: keys.clone(),
                value_key,
                key_codes: if kind == 1 {
                    vec![entries.iter().map(|e| e.0).collect(), entries.iter().map(|e| e.1).collect()]
                } else {
                    vec![entries.iter().map(|e| e.0).collect()]
                },
                values: entries.iter().map(|e| e.2).collect(),
                sum: None,
            };
            // Dictionaries of 12 and 6 codes: a row's code 12 (or 6) is past them.
            let dict_len = [Some(12), None, Some(6), None];
            let l = Lookup::new(&d, &dict_len).unwrap();
            // A symbol key's entries hold its codes plus one (0: a null key); a value key's,
            // its values.
            let plus = u64::from(kind != 2);
            let table = |a: u64, b: u64| {
                entries
                    .iter()
                    .find(|e| e.0 == a + plus && (kind != 1 || e.1 == b + plus))
                    .map(|e| e.2)
            };
            let (a, b): (Vec<u64>, Vec<u64>) = rows.iter().copied().unzip();
            let mut positions = Vec::new();
            let mut exceptions = Vec::new();
            let mut want = Some(Vec::new());
            for (r, &(x, y)) in rows.iter().enumerate() {
                let v = if excepted[r] {
                    positions.push(r as u64);
                    exceptions.push(5000 + r as u64);
                    Some(5000 + r as u64)
                } else {
                    table(x, y)
                };
                want = want.zip(v).map(|(mut w, v)| {
                    w.push(v);
                    w
                });
            }
            let key_codes: Vec<KeyCodes<'_>> = if kind == 1 {
                vec![KeyCodes { codes: &a, valid: None }, KeyCodes { codes: &b, valid: None }]
            } else {
                vec![KeyCodes { codes: &a, valid: None }]
            };
            let mut out = vec![7u64];
            let got = l.values_of(&key_codes, rows.len(), None, &positions, &exceptions, &mut out);
            match want {
                Some(w) => {
                    proptest::prop_assert!(got.is_ok(), "{got:?}");
                    proptest::prop_assert_eq!(out[0], 7);
                    proptest::prop_assert_eq!(&out[1..], &w[..]);
                }
                None => proptest::prop_assert!(got.is_err()),
            }
        }
    }

    #[test]
    fn exceptions_round_trip_and_are_checked() {
        let eo = EncodeOptions::default();
        let mut d = Deriver::new(0, vec![1], false, true);
        // Keys 1..=8 repeating; values a function of the key but for rows 50 and 90 (the
        // first row of a key sets its entry).
        let keys: Vec<u64> = (0..128u64).map(|r| 1 + r % 8).collect();
        let mut values: Vec<u64> = keys.iter().map(|&k| (k * 300) as i64 as u64).collect();
        values[50] = (-7i64) as u64;
        values[90] = 12;
        let row_keys = RowKeys {
            keys: &keys,
            valid: None,
        };
        let got = d.try_block(&values, row_keys, None, &eo).unwrap().unwrap();
        assert_eq!(got.exceptions, 2);
        let (p, v) = decode_exceptions(&got.bytes, 128, true).unwrap();
        assert_eq!(p, vec![50, 90]);
        assert_eq!(v, vec![(-7i64) as u64, 12]);
        // More exceptions than values, and trailing bytes, are refused.
        assert!(decode_exceptions(&got.bytes, 1, true).is_err());
        let mut extra = got.bytes.clone();
        extra.push(0);
        assert!(decode_exceptions(&extra, 128, true).is_err());
        // Not accepted: no table goes to the footer.
        assert_eq!(d.table.len(), 8);
        let mut unused = Deriver::new(0, vec![1], false, true);
        unused
            .try_block(&values, row_keys, None, &eo)
            .unwrap()
            .unwrap();
        assert!(unused.finish().is_none());
        d.accept();
        let t = d.finish().unwrap();
        assert_eq!(t.values.len(), 8);
        assert_eq!(t.key_codes, vec![(1..=8).collect::<Vec<u64>>()]);
    }

    #[test]
    fn a_key_that_is_itself_derived_is_refused() {
        use crate::schema::Field;
        let schema = Schema::new(vec![
            Field::new("sched", DataType::Int64, false),
            Field::new("minute", DataType::Int64, false),
            Field::new("code", DataType::Symbol, false),
        ])
        .unwrap();
        let by_value = Derivation {
            column: 1,
            keys: vec![0],
            value_key: true,
            key_codes: vec![vec![5, 1_230, 1_645]],
            values: vec![5, 30, 45],
            sum: None,
        };
        let dict_len = [None, None, Some(3)];
        let ok = encode_extension(std::slice::from_ref(&by_value)).unwrap();
        let back = decode_extension(&ok, &schema, &dict_len, 100).unwrap();
        assert_eq!(back, vec![by_value.clone()]);
        let l = Lookup::new(&back[0], &dict_len).unwrap();
        assert_eq!(l.value_of(1_230), Some(30));
        assert_eq!(l.value_of(1_231), None);
        assert_eq!(l.value_of(4), None);
        // `sched` derived from `code` while it is `minute`'s key.
        let chained = [
            by_value,
            Derivation {
                column: 0,
                keys: vec![2],
                value_key: false,
                key_codes: vec![vec![1, 2]],
                values: vec![5, 1_230],
                sum: None,
            },
        ];
        let bad = encode_extension(&chained).unwrap();
        let e = decode_extension(&bad, &schema, &dict_len, 100).unwrap_err();
        assert!(e.contains("derived from a derived column"), "{e}");
        // A value key beside another key, and a float key, are refused.
        let mut pair = chained[0].clone();
        pair.keys = vec![0, 2];
        pair.key_codes = vec![vec![5, 1_230, 1_645], vec![1, 2, 3]];
        let e = decode_extension(&encode_extension(&[pair]).unwrap(), &schema, &dict_len, 100)
            .unwrap_err();
        assert!(e.contains("key column 0"), "{e}");
    }

    #[test]
    fn sums_round_trip_and_bad_ones_are_refused() {
        use crate::schema::Field;
        let schema = Schema::new(vec![
            Field::new("planned", DataType::Int32, false),
            Field::new("late", DataType::Int64, true),
            Field::new("arrival", DataType::Int64, true),
            Field::new("gate", DataType::Float64, false),
        ])
        .unwrap();
        let sum = Derivation {
            column: 2,
            keys: vec![0, 1],
            value_key: false,
            key_codes: Vec::new(),
            values: Vec::new(),
            sum: Some(vec![false, true]),
        };
        let dict_len = [None, None, None, None];
        let bytes = encode_extension(std::slice::from_ref(&sum)).unwrap();
        let back = decode_extension(&bytes, &schema, &dict_len, 100).unwrap();
        assert_eq!(back, vec![sum.clone()]);
        // 5 - 7 + residual 2 = 0; a null key counts 0: 5 + 1 = 6.
        let l = Lookup::new(&back[0], &dict_len).unwrap();
        let (a, b) = ([5u64, 5], [7u64]);
        let valid_b = BooleanBuffer::from(vec![true, false]);
        let keys = [
            KeyCodes {
                codes: &a,
                valid: None,
            },
            KeyCodes {
                codes: &b,
                valid: Some(&valid_b),
            },
        ];
        let mut residuals = [2u64, 1];
        l.sum_values(&keys, 2, None, &mut residuals).unwrap();
        assert_eq!(residuals, [0, 6]);
        assert!(l.sum_values(&keys, 2, None, &mut [2]).is_err());
        assert!(l.sum_values(&keys, 2, None, &mut [2, 1, 0]).is_err());
        // A float term, a sign other than 0 or 1, a sum of three are refused.
        let mut float = sum.clone();
        float.keys = vec![0, 3];
        let e = decode_extension(
            &encode_extension(&[float]).unwrap(),
            &schema,
            &dict_len,
            100,
        )
        .unwrap_err();
        assert!(e.contains("summed column 3"), "{e}");
        let mut bad_sign = bytes.clone();
        let at = bad_sign.len() - 1;
        bad_sign[at] = 2;
        assert!(decode_extension(&bad_sign, &schema, &dict_len, 100).is_err());
        let mut three = sum;
        three.keys = vec![0, 1, 3];
        three.sum = Some(vec![false; 3]);
        assert!(
            decode_extension(
                &encode_extension(&[three]).unwrap(),
                &schema,
                &dict_len,
                100
            )
            .is_err()
        );
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

//! The streaming k-way merge: sorted input segments (minus their deleted rows) into one sorted
//! output segment, block by block.
//!
//! Memory is O(k × block × columns): each input holds one decoded block, the output holds at
//! most one batch of pending row references and the writer one partial stripe plus a fixed
//! budget of block index (`WriterOptions::index_memory`; the rest waits in a side file until
//! the footer is written), so the peak does not grow with the inputs' size. Runs of rows
//! that sort before every other input's head are found by a galloping search (probes at 1, 2,
//! 4, … rows, then a binary search), so a run of one row costs one comparison and merging
//! segments whose key ranges do not overlap costs little more than a copy. A sort key of one
//! 64-bit integer or timestamp column is compared as integers; other keys go through Arrow's
//! row format.
//! Equal keys break ties by write order (then by position), which makes last-write-wins
//! deterministic.

use std::cmp::Ordering;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, DictionaryArray, Int32Array, RecordBatch, new_null_array};
use arrow_row::{OwnedRow, RowConverter, Rows, SortField};
use arrow_schema::SchemaRef;
use roaring::RoaringBitmap;
use strata_format::{DataType, Field, FileSystem, Schema, Segment, SymbolAs};
use strata_writer::{SegmentMeta, SegmentWriter, WriterOptions};

use crate::error::{CompactorError, Result};
use crate::throttle::Throttle;

/// One input of a merge.
#[derive(Debug, Clone)]
pub struct MergeInput {
    /// A name for error messages (usually the segment's file name).
    pub name: String,
    /// The open segment.
    pub segment: Arc<Segment>,
    /// Row positions to leave out.
    pub deleted: Option<RoaringBitmap>,
    /// Order of writing: among equal keys, lower orders come first (and lose under
    /// [`DuplicatePolicy::LastWriteWins`]).
    pub write_order: u64,
}

/// What to do with rows whose whole sort key is equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DuplicatePolicy {
    /// Keep every row.
    #[default]
    KeepAll,
    /// Keep only the row written last (highest write order, then latest position). A table
    /// without a sort key has no duplicates: every row is kept.
    LastWriteWins,
}

/// How to merge.
#[derive(Debug, Clone)]
pub struct MergeOptions {
    /// How the output is written.
    pub writer: WriterOptions,
    /// Duplicate handling.
    pub duplicates: DuplicatePolicy,
    /// A symbol column whose unified dictionary would exceed this many values is written as
    /// plain strings instead (no value is lost or replaced).
    pub symbol_limit: usize,
    /// Rows per output batch handed to the writer.
    pub batch_rows: usize,
    /// Charges every byte read and written, when set.
    pub throttle: Option<Arc<Throttle>>,
    /// When set and raised, the merge stops at its next output batch with
    /// [`CompactorError::Cancelled`] (its partial output is removed; nothing was committed).
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Default for MergeOptions {
    fn default() -> Self {
        Self {
            writer: WriterOptions::default(),
            duplicates: DuplicatePolicy::KeepAll,
            symbol_limit: 1 << 20,
            batch_rows: 8192,
            throttle: None,
            cancel: None,
        }
    }
}

/// What a merge did.
#[derive(Debug, Clone)]
pub struct MergeOutcome {
    /// The output segment.
    pub meta: SegmentMeta,
    /// Rows in the inputs.
    pub rows_in: u64,
    /// Rows left out as deleted.
    pub rows_deleted: u64,
    /// Rows left out as superseded duplicates.
    pub duplicates_dropped: u64,
    /// Rows written.
    pub rows_out: u64,
    /// Block bytes read from the inputs.
    pub bytes_read: u64,
    /// Bytes of the output file.
    pub bytes_written: u64,
}

fn type_name(t: &DataType) -> String {
    t.to_string()
}

/// The schema a merge writes: the union of the inputs' columns (first appearance order), a
/// column missing from some input becomes nullable, symbol and string columns unify (to
/// symbol only if every input has symbol), a symbol column over `symbol_limit` distinct values
/// becomes plain strings, and any other type disagreement is a [`CompactorError::TypeConflict`].
/// Every input must have the same sort key.
pub fn merged_schema(inputs: &[&Segment], symbol_limit: usize) -> Result<Schema> {
    let mut fields: Vec<Field> = Vec::new();
    let mut sort_key: Option<&Vec<String>> = None;
    for seg in inputs {
        let schema = seg.schema();
        match sort_key {
            None => sort_key = Some(&schema.sort_key),
            Some(k) if *k != schema.sort_key => {
                return Err(CompactorError::InvalidMerge(format!(
                    "inputs have different sort keys: {k:?} and {:?}",
                    schema.sort_key
                )));
            }
            Some(_) => {}
        }
        for f in &schema.fields {
            match fields.iter_mut().find(|g| g.name == f.name) {
                None => fields.push(f.clone()),
                Some(g) => {
                    g.nullable |= f.nullable;
                    if g.data_type != f.data_type {
                        let strings = |t: &DataType| matches!(t, DataType::Symbol | DataType::Utf8);
                        if strings(&g.data_type) && strings(&f.data_type) {
                            g.data_type = DataType::Utf8;
                        } else {
                            return Err(CompactorError::TypeConflict {
                                column: f.name.clone(),
                                left: type_name(&g.data_type),
                                right: type_name(&f.data_type),
                            });
                        }
                    }
                }
            }
        }
    }
    for f in &mut fields {
        if inputs
            .iter()
            .any(|s| s.schema().index_of(&f.name).is_none())
        {
            f.nullable = true;
        }
        if f.data_type == DataType::Symbol {
            let mut distinct: std::collections::HashSet<&[u8]> = std::collections::HashSet::new();
            for s in inputs {
                if let Some(dict) = s
                    .schema()
                    .index_of(&f.name)
                    .and_then(|i| s.footer().columns.get(i))
                    .and_then(|c| c.dictionary.as_ref())
                {
                    distinct.extend(dict.iter().map(Vec::as_slice));
                }
            }
            if distinct.len() > symbol_limit {
                f.data_type = DataType::Utf8;
            }
        }
    }
    let schema = Schema::new(fields).map_err(|e| CompactorError::InvalidMerge(e.to_string()))?;
    match sort_key {
        Some(k) if !k.is_empty() => schema
            .with_sort_key(k.iter().cloned())
            .map_err(|e| CompactorError::InvalidMerge(e.to_string())),
        _ => Ok(schema),
    }
}

/// The sort keys of one block.
enum Keys {
    /// One `Int64` or `Timestamp` column; a null is `i128::MIN`, below every value (nulls sort
    /// first, as in the row format).
    Int(Vec<i128>),
    /// Any other key, in Arrow's row format.
    Rows(Rows),
}

/// One row's key, owned (a heap entry, or the last row written).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    Int(i128),
    Row(OwnedRow),
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Key::Int(a), Key::Int(b)) => a.cmp(b),
            (Key::Row(a), Key::Row(b)) => a.cmp(b),
            // One merge uses one kind of key; order the kinds anyway.
            (Key::Int(_), Key::Row(_)) => Ordering::Less,
            (Key::Row(_), Key::Int(_)) => Ordering::Greater,
        }
    }
}

impl Keys {
    /// The keys of `columns` (the sort-key columns of a block of `rows` rows). Without a sort
    /// key every row has the same key, so rows come out in write order.
    fn of(columns: &[ArrayRef], rows: usize, converter: &RowConverter) -> Result<Keys> {
        if columns.is_empty() {
            return Ok(Keys::Int(vec![0; rows]));
        }
        if let [c] = columns
            && matches!(
                c.data_type(),
                arrow_schema::DataType::Int64 | arrow_schema::DataType::Timestamp(_, _)
            )
        {
            let ints = arrow_cast::cast(c, &arrow_schema::DataType::Int64)?;
            if let Some(ints) = ints
                .as_any()
                .downcast_ref::<arrow_array::PrimitiveArray<Int64Type>>()
            {
                let keys = match ints.nulls() {
                    None => ints.values().iter().map(|&v| i128::from(v)).collect(),
                    Some(n) => ints
                        .values()
                        .iter()
                        .zip(n.iter())
                        .map(|(&v, valid)| if valid { i128::from(v) } else { i128::MIN })
                        .collect(),
                };
                return Ok(Keys::Int(keys));
            }
        }
        Ok(Keys::Rows(converter.convert_columns(columns)?))
    }

    fn key(&self, r: usize) -> Key {
        match self {
            Keys::Int(v) => Key::Int(v.get(r).copied().unwrap_or(i128::MIN)),
            Keys::Rows(rows) => Key::Row(rows.row(r).owned()),
        }
    }

    /// Row `r`'s key against `k`.
    #[inline]
    fn cmp_key(&self, r: usize, k: &Key) -> Ordering {
        match (self, k) {
            (Keys::Int(v), Key::Int(k)) => v.get(r).map_or(Ordering::Less, |x| x.cmp(k)),
            (Keys::Rows(rows), Key::Row(k)) => rows.row(r).cmp(&k.row()),
            (Keys::Int(_), Key::Row(_)) => Ordering::Less,
            (Keys::Rows(_), Key::Int(_)) => Ordering::Greater,
        }
    }
}

/// A decoded block of one input, projected onto the output schema.
struct Block {
    columns: Vec<ArrayRef>,
    keys: Keys,
    rows: usize,
    /// Position of the block's first row within its segment.
    first_row: u64,
    /// Which rows of the block are deleted (from the input's deletion vector), if any are.
    deleted: Option<Vec<bool>>,
}

struct Cursor {
    input: MergeInput,
    segment: Arc<Segment>,
    /// For each output column, the input column that feeds it.
    map: Vec<Option<usize>>,
    /// For each output symbol column fed by this input: its codes in the unified dictionary,
    /// indexed by the input's own codes.
    recode: Vec<Option<Vec<i32>>>,
    next_block: usize,
    blocks: usize,
    block: Option<Block>,
    row: usize,
    rows_before: u64,
}

struct Ctx<'a> {
    schema: &'a Schema,
    arrow: SchemaRef,
    /// Per output symbol column, the dictionary all inputs are recoded to: every block of the
    /// merge shares it, so interleaving gathers keys only and the writer interns each symbol
    /// once per merge.
    unified: Vec<Option<ArrayRef>>,
    key_cols: Vec<usize>,
    converter: RowConverter,
    throttle: Option<&'a Throttle>,
    bytes_read: u64,
}

impl Cursor {
    /// Loads the next block, or returns false when the input is exhausted.
    fn load(&mut self, ctx: &mut Ctx<'_>) -> Result<bool> {
        self.rows_before += self.block.as_ref().map_or(0, |b| b.rows as u64);
        self.block = None;
        self.row = 0;
        if self.next_block >= self.blocks {
            return Ok(false);
        }
        let b = self.next_block;
        self.next_block += 1;
        let read_err = |source| CompactorError::Read {
            segment: self.input.name.clone(),
            source,
        };
        let rows = self
            .segment
            .footer()
            .columns
            .first()
            .and_then(|c| c.blocks.get(b))
            .map_or(0, |m| m.rows as usize);
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.map.len());
        for (out_col, src) in self.map.iter().enumerate() {
            let target = ctx.arrow.field(out_col).data_type();
            if let Some(values) = ctx.unified.get(out_col).and_then(Option::as_ref) {
                let keys = match (src, self.recode.get(out_col).and_then(Option::as_ref)) {
                    (Some(c), Some(recode)) => {
                        ctx.bytes_read += self.block_len(*c, b);
                        if let Some(t) = ctx.throttle {
                            t.consume(self.block_len(*c, b));
                        }
                        let a = self.segment.read_block(*c, b).map_err(read_err)?;
                        recode_keys(&a, recode, &self.input.name)?
                    }
                    _ => Int32Array::new_null(rows),
                };
                columns.push(Arc::new(DictionaryArray::try_new(keys, values.clone())?) as ArrayRef);
                continue;
            }
            let array = match src {
                Some(c) => {
                    let len = self
                        .segment
                        .footer()
                        .columns
                        .get(*c)
                        .and_then(|m| m.blocks.get(b))
                        .map_or(0, |m| u64::from(m.len));
                    ctx.bytes_read += len;
                    if let Some(t) = ctx.throttle {
                        t.consume(len);
                    }
                    let a = self.segment.read_block(*c, b).map_err(read_err)?;
                    if a.data_type() == target {
                        a
                    } else {
                        arrow_cast_same(&a, target)?
                    }
                }
                None => new_null_array(target, rows),
            };
            if array.len() != rows {
                return Err(CompactorError::InvalidMerge(format!(
                    "input {} block {b} column {out_col} has {} rows, expected {rows}",
                    self.input.name,
                    array.len()
                )));
            }
            columns.push(array);
        }
        let key_arrays: Vec<ArrayRef> = ctx
            .key_cols
            .iter()
            .filter_map(|&i| columns.get(i).cloned())
            .collect();
        let keys = Keys::of(&key_arrays, rows, &ctx.converter)?;
        let first_row = self.rows_before;
        // One pass over the deletion vector's rows in this block, instead of a lookup per row.
        let deleted = match (&self.input.deleted, u32::try_from(first_row)) {
            (Some(d), Ok(lo)) => {
                let mut mask = vec![false; rows];
                let mut any = false;
                let hi = lo.saturating_add(u32::try_from(rows).unwrap_or(u32::MAX));
                for r in d.range(lo..hi) {
                    if let Some(m) = mask.get_mut((r - lo) as usize) {
                        *m = true;
                        any = true;
                    }
                }
                any.then_some(mask)
            }
            _ => None,
        };
        self.block = Some(Block {
            columns,
            keys,
            rows,
            first_row,
            deleted,
        });
        Ok(true)
    }

    /// Encoded bytes of block `b` of input column `c`.
    fn block_len(&self, c: usize, b: usize) -> u64 {
        self.segment
            .footer()
            .columns
            .get(c)
            .and_then(|m| m.blocks.get(b))
            .map_or(0, |m| u64::from(m.len))
    }

    fn is_deleted(&self, row: usize) -> bool {
        match (&self.input.deleted, &self.block) {
            (Some(d), Some(b)) => match (&b.deleted, u32::try_from(b.first_row)) {
                (Some(mask), Ok(_)) => mask.get(row).copied().unwrap_or(false),
                (None, Ok(_)) => false,
                // Beyond the bitmap's range: look the row up (it cannot be in a u32 bitmap).
                (_, Err(_)) => u32::try_from(b.first_row + row as u64).is_ok_and(|r| d.contains(r)),
            },
            _ => false,
        }
    }
}

/// Arrow's interleave, except for dictionary arrays that share one values array (every symbol
/// column of a merge shares its unified dictionary): their keys are interleaved and the values
/// kept, where Arrow would concatenate one copy of the dictionary per source.
fn interleave(
    sources: &[&dyn Array],
    indices: &[(usize, usize)],
) -> Result<ArrayRef, arrow_schema::ArrowError> {
    if let Some(r) = strata_format::block::on_shared_dictionary_keys(sources, |keys| {
        arrow_select::interleave::interleave(keys, indices)
    }) {
        return r;
    }
    arrow_select::interleave::interleave(sources, indices)
}

/// A copy of `a` that holds no buffer of the block it was sliced from; a dictionary array keeps
/// its (shared, unified) values and copies its keys only.
fn copy_out(a: &ArrayRef) -> Result<ArrayRef, arrow_schema::ArrowError> {
    if let Some(d) = a.as_dictionary_opt::<Int32Type>() {
        let keys = arrow_select::concat::concat(&[d.keys() as &dyn Array])?;
        let keys = keys.as_primitive::<Int32Type>().clone();
        return Ok(Arc::new(DictionaryArray::try_new(
            keys,
            d.values().clone(),
        )?));
    }
    arrow_select::concat::concat(&[a.as_ref()])
}

/// The keys of a symbol block read as a dictionary, recoded into the unified dictionary.
fn recode_keys(a: &ArrayRef, recode: &[i32], input: &str) -> Result<Int32Array> {
    let d = a.as_dictionary_opt::<Int32Type>().ok_or_else(|| {
        CompactorError::InvalidMerge(format!(
            "input {input}: a symbol block read as {}",
            a.data_type()
        ))
    })?;
    let keys = d.keys();
    let mut out = Vec::with_capacity(keys.len());
    for (i, &k) in keys.values().iter().enumerate() {
        let code = match usize::try_from(k).ok().and_then(|k| recode.get(k)) {
            Some(&c) => c,
            // A null slot's key is arbitrary.
            None if keys.is_null(i) => 0,
            None => {
                return Err(CompactorError::InvalidMerge(format!(
                    "input {input}: symbol code {k} outside its dictionary"
                )));
            }
        };
        out.push(code);
    }
    Ok(Int32Array::new(out.into(), keys.nulls().cloned()))
}

/// One dictionary for each output symbol column, the union of the inputs' (in order of first
/// appearance), and per input the recoding of its codes into it.
#[allow(clippy::type_complexity)]
fn unify_dictionaries(
    schema: &Schema,
    segments: &[&Segment],
) -> Result<(Vec<Option<ArrayRef>>, Vec<Vec<Option<Vec<i32>>>>)> {
    let mut unified = Vec::with_capacity(schema.fields.len());
    let mut recodes: Vec<Vec<Option<Vec<i32>>>> = vec![Vec::new(); segments.len()];
    for f in &schema.fields {
        if f.data_type != DataType::Symbol {
            unified.push(None);
            for r in &mut recodes {
                r.push(None);
            }
            continue;
        }
        let mut codes: std::collections::HashMap<&[u8], i32> = std::collections::HashMap::new();
        let mut values = arrow_array::builder::StringBuilder::new();
        for (seg, recode) in segments.iter().zip(&mut recodes) {
            let dict = seg
                .schema()
                .index_of(&f.name)
                .and_then(|c| seg.dictionary(c))
                .and_then(|d| d.as_string_opt::<i32>());
            let Some(dict) = dict else {
                recode.push(None);
                continue;
            };
            let mut r = Vec::with_capacity(dict.len());
            for v in dict.iter() {
                let v = v.unwrap_or_default();
                let next = i32::try_from(codes.len()).map_err(|_| {
                    CompactorError::InvalidMerge(format!("column {:?}: too many symbols", f.name))
                })?;
                let c = *codes.entry(v.as_bytes()).or_insert_with(|| {
                    values.append_value(v);
                    next
                });
                r.push(c);
            }
            recode.push(Some(r));
        }
        unified.push(Some(Arc::new(values.finish()) as ArrayRef));
    }
    Ok((unified, recodes))
}

/// Only string ↔ string-view-free conversions are needed here (Utf8 into a Utf8 target and the
/// like); anything else means the schemas disagree.
fn arrow_cast_same(a: &ArrayRef, target: &arrow_schema::DataType) -> Result<ArrayRef> {
    use arrow_schema::DataType as A;
    match (a.data_type(), target) {
        (A::Dictionary(_, _), A::Utf8) | (A::LargeUtf8, A::Utf8) | (A::Utf8, A::LargeUtf8) => {
            Ok(arrow_cast::cast(a, target)?)
        }
        (from, to) => Err(CompactorError::InvalidMerge(format!(
            "cannot present {from} as {to}"
        ))),
    }
}

#[derive(PartialEq, Eq)]
struct Head {
    key: Key,
    order: u64,
    cursor: usize,
}

impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key
            .cmp(&other.key)
            .then(self.order.cmp(&other.order))
            .then(self.cursor.cmp(&other.cursor))
    }
}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// [`Output::slot_of`] of a cursor no pending row references.
const NO_SLOT: usize = usize::MAX;

/// Pending output: row references into the cursors' current blocks.
struct Output {
    writer: SegmentWriter,
    arrow: SchemaRef,
    indices: Vec<(usize, usize)>,
    /// Slot in the interleave source list of each cursor referenced by `indices`
    /// ([`NO_SLOT`] for the others).
    slot_of: Vec<usize>,
    /// The cursors referenced by `indices`, in slot order.
    slot_cursors: Vec<usize>,
    last_key: Option<Key>,
    /// Under last-write-wins, the last row of a flush is held back as a one-row batch: a later
    /// row with the same key may still supersede it.
    carry: Option<RecordBatch>,
    hold_last: bool,
    rows_out: u64,
    duplicates: u64,
    throttle: Option<Arc<Throttle>>,
    cancel: Option<Arc<AtomicBool>>,
}

impl Output {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if self
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(AtomicOrdering::Relaxed))
        {
            return Err(CompactorError::Cancelled);
        }
        let before = self.writer.bytes_written();
        self.writer.write_batch(batch)?;
        self.rows_out += batch.num_rows() as u64;
        if let Some(t) = &self.throttle {
            t.consume(self.writer.bytes_written().saturating_sub(before));
        }
        Ok(())
    }

    fn flush(&mut self, cursors: &[Cursor], last: bool) -> Result<()> {
        if self.indices.is_empty() {
            if last && let Some(carry) = self.carry.take() {
                self.write(&carry)?;
            }
            return Ok(());
        }
        let batch = self.materialize(cursors)?;
        if self.hold_last && !last {
            let n = batch.num_rows();
            self.write(&batch.slice(0, n - 1))?;
            // Copy the held row out of the input block, which is about to be replaced.
            let held = batch.slice(n - 1, 1);
            let columns = held
                .columns()
                .iter()
                .map(copy_out)
                .collect::<Result<Vec<_>, _>>()?;
            self.carry = Some(RecordBatch::try_new(self.arrow.clone(), columns)?);
        } else {
            self.write(&batch)?;
        }
        Ok(())
    }

    fn materialize(&mut self, cursors: &[Cursor]) -> Result<RecordBatch> {
        let mut columns = Vec::with_capacity(self.arrow.fields().len());
        for col in 0..self.arrow.fields().len() {
            let sources: Vec<&dyn Array> = self
                .slot_cursors
                .iter()
                .filter_map(|&c| cursors.get(c)?.block.as_ref()?.columns.get(col))
                .map(|a| a.as_ref())
                .collect();
            columns.push(interleave(&sources, &self.indices)?);
        }
        let batch = RecordBatch::try_new(self.arrow.clone(), columns)?;
        self.indices.clear();
        for c in self.slot_cursors.drain(..) {
            if let Some(s) = self.slot_of.get_mut(c) {
                *s = NO_SLOT;
            }
        }
        Ok(batch)
    }

    fn has_slot(&self, cursor: usize) -> bool {
        self.slot_of.get(cursor).is_some_and(|&s| s != NO_SLOT)
    }

    fn push(&mut self, cursor: usize, row: usize) {
        let slot = match self.slot_of.get_mut(cursor) {
            Some(s) if *s != NO_SLOT => *s,
            Some(s) => {
                *s = self.slot_cursors.len();
                self.slot_cursors.push(cursor);
                *s
            }
            // Not a cursor of this merge; never happens.
            None => return,
        };
        self.indices.push((slot, row));
    }
}

/// Merges `inputs` into the new segment `dir/name`, written durably. The caller commits the
/// result (and retires the inputs) only after this returns `Ok`: the output has been checked
/// to hold exactly the input rows minus deleted rows and dropped duplicates.
pub fn merge_segments(
    fs: Arc<dyn FileSystem>,
    dir: &Path,
    name: &str,
    inputs: Vec<MergeInput>,
    opts: &MergeOptions,
) -> Result<MergeOutcome> {
    let segs: Vec<&Segment> = inputs.iter().map(|i| i.segment.as_ref()).collect();
    let schema = merged_schema(&segs, opts.symbol_limit)?;
    let arrow: SchemaRef = Arc::new(schema.to_arrow(SymbolAs::Dictionary));
    let (unified, recodes) = unify_dictionaries(&schema, &segs)?;
    let key_cols = schema.sort_key_indices();
    // Without a sort key, rows are in insertion order and no two are "the same row".
    let lww = opts.duplicates == DuplicatePolicy::LastWriteWins && !key_cols.is_empty();
    let converter = RowConverter::new(
        key_cols
            .iter()
            .map(|&i| SortField::new(arrow.field(i).data_type().clone()))
            .collect(),
    )?;
    let mut rows_in = 0u64;
    let mut rows_deleted = 0u64;
    let mut cursors = Vec::with_capacity(inputs.len());
    for (input, recode) in inputs.into_iter().zip(recodes) {
        // Symbol blocks arrive as dictionaries and are recoded into the unified dictionary
        // (or cast to strings for a symbol column written as strings). No copy of the input's
        // footer is made.
        let segment = Arc::new(
            input
                .segment
                .as_ref()
                .clone()
                .with_symbol_as(SymbolAs::Dictionary),
        );
        let n = segment.num_rows();
        rows_in += n;
        if let Some(d) = &input.deleted {
            rows_deleted += d.range_cardinality(0..u32::try_from(n).unwrap_or(u32::MAX));
        }
        let map = schema
            .fields
            .iter()
            .map(|f| segment.schema().index_of(&f.name))
            .collect();
        let blocks = segment
            .footer()
            .columns
            .first()
            .map_or(0, |c| c.blocks.len());
        cursors.push(Cursor {
            input,
            segment,
            map,
            recode,
            next_block: 0,
            blocks,
            block: None,
            row: 0,
            rows_before: 0,
        });
    }
    let mut ctx = Ctx {
        schema: &schema,
        arrow: arrow.clone(),
        unified,
        key_cols,
        converter,
        throttle: opts.throttle.as_deref(),
        bytes_read: 0,
    };
    let _ = ctx.schema;
    let mut writer_opts = opts.writer;
    writer_opts.skip_sort_check = true;
    // Up to 1.5 blocks' worth of live input rows (fewer where duplicates collapse) are one
    // block, not a block and a short one.
    writer_opts.block = opts
        .writer
        .block
        .for_segment_rows(rows_in.saturating_sub(rows_deleted));
    let mut writer = SegmentWriter::create(fs, dir, name, schema.clone(), writer_opts)?;
    // A merge runs beside readers: one core.
    writer.set_threads(1);
    let mut out = Output {
        writer,
        arrow,
        indices: Vec::with_capacity(opts.batch_rows),
        slot_of: vec![NO_SLOT; cursors.len()],
        slot_cursors: Vec::with_capacity(cursors.len()),
        last_key: None,
        carry: None,
        hold_last: lww,
        rows_out: 0,
        duplicates: 0,
        throttle: opts.throttle.clone(),
        cancel: opts.cancel.clone(),
    };
    let mut heads = Heads(Vec::with_capacity(cursors.len()));
    for (i, c) in cursors.iter_mut().enumerate() {
        if c.load(&mut ctx)?
            && let Some(h) = head_of(c, i)
        {
            heads.push(h);
        }
    }
    while let Some(head) = heads.top() {
        let ci = head.cursor;
        let next = heads.runner_up().map(|h| (&h.key, h.order, h.cursor));
        let Some(c) = cursors.get(ci) else { break };
        let Some(block) = c.block.as_ref() else {
            heads.replace_top(None);
            continue;
        };
        // The run: rows of this block that sort before the next input's head.
        let start = c.row;
        let end = match next {
            None => block.rows,
            Some((k2, o2, c2)) => {
                // The first row that does not sort before the next head: gallop (rows start + 1,
                // + 2, + 4, …), then binary search the last step. Runs are often one row long
                // when inputs interleave, and then this costs one comparison.
                let before = |r: usize| {
                    block
                        .keys
                        .cmp_key(r, k2)
                        .then(c.input.write_order.cmp(&o2))
                        .then(ci.cmp(&c2))
                        == Ordering::Less
                };
                // Rows below `lo` sort before the next head; `hi` is `rows` or a row that does not.
                let mut lo = start + 1;
                let mut step = 1;
                let mut hi = loop {
                    let probe = start.saturating_add(step);
                    if probe >= block.rows {
                        break block.rows;
                    }
                    if !before(probe) {
                        break probe;
                    }
                    lo = probe + 1;
                    step = step.saturating_mul(2);
                };
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    if before(mid) {
                        lo = mid + 1;
                    } else {
                        hi = mid;
                    }
                }
                // The head itself always sorts first, so the run is never empty.
                lo.max(start + 1)
            }
        };
        for r in start..end {
            if c.is_deleted(r) {
                continue;
            }
            if lww {
                let same = out
                    .last_key
                    .as_ref()
                    .is_some_and(|k| block.keys.cmp_key(r, k) == Ordering::Equal);
                if same {
                    // The previous row has the same key and was written earlier: drop it.
                    if out.indices.pop().is_none() {
                        out.carry = None;
                    }
                    out.duplicates += 1;
                } else if let Some(carry) = out.carry.take() {
                    out.write(&carry)?;
                }
                if !same {
                    out.last_key = Some(block.keys.key(r));
                }
            }
            out.push(ci, r);
        }
        let exhausted_block = end >= block.rows;
        if let Some(c) = cursors.get_mut(ci) {
            c.row = end;
        }
        let new_head = if exhausted_block {
            // The block is about to be replaced; flush rows that still point into it.
            if out.has_slot(ci) {
                out.flush(&cursors, false)?;
            }
            let loaded = match cursors.get_mut(ci) {
                Some(c) => c.load(&mut ctx)?,
                None => false,
            };
            if loaded {
                cursors.get(ci).and_then(|c| head_of(c, ci))
            } else {
                None
            }
        } else {
            cursors.get(ci).and_then(|c| head_of(c, ci))
        };
        heads.replace_top(new_head);
        if out.indices.len() >= opts.batch_rows {
            out.flush(&cursors, false)?;
        }
    }
    out.flush(&cursors, true)?;
    let duplicates_dropped = out.duplicates;
    let rows_out = out.rows_out;
    let expected = rows_in - rows_deleted - duplicates_dropped;
    if rows_out != expected {
        out.writer.abort();
        return Err(CompactorError::Verification {
            written: rows_out,
            expected,
        });
    }
    let meta = out.writer.finish()?;
    Ok(MergeOutcome {
        bytes_written: meta.bytes,
        meta,
        rows_in,
        rows_deleted,
        duplicates_dropped,
        rows_out,
        bytes_read: ctx.bytes_read,
    })
}

/// The head of cursor `i`: its current row, if its block has one left.
fn head_of(c: &Cursor, i: usize) -> Option<Head> {
    let b = c.block.as_ref().filter(|b| c.row < b.rows)?;
    Some(Head {
        key: b.keys.key(c.row),
        order: c.input.write_order,
        cursor: i,
    })
}

/// The inputs' heads in a binary min-heap that also shows the runner-up (the smaller child of
/// the root): the merge bounds the winner's run by the runner-up, then replaces the winner in
/// place — one sift down per run instead of a pop and a push.
struct Heads(Vec<Head>);

impl Heads {
    fn push(&mut self, h: Head) {
        self.0.push(h);
        let mut i = self.0.len() - 1;
        while i > 0 {
            let parent = (i - 1) / 2;
            if self.0[i] < self.0[parent] {
                self.0.swap(i, parent);
                i = parent;
            } else {
                break;
            }
        }
    }

    fn top(&self) -> Option<&Head> {
        self.0.first()
    }

    fn runner_up(&self) -> Option<&Head> {
        match (self.0.get(1), self.0.get(2)) {
            (Some(a), Some(b)) => Some(if b < a { b } else { a }),
            (a, _) => a,
        }
    }

    /// Replaces the top with `h`, or removes it for `None`, and restores the heap order.
    fn replace_top(&mut self, h: Option<Head>) {
        let replacement = match h {
            Some(h) => h,
            None => match self.0.pop() {
                Some(last) if !self.0.is_empty() => last,
                // The top was the last head (or there was none).
                _ => return,
            },
        };
        match self.0.first_mut() {
            Some(top) => *top = replacement,
            None => {
                self.0.push(replacement);
                return;
            }
        }
        let n = self.0.len();
        let mut i = 0;
        loop {
            let l = 2 * i + 1;
            if l >= n {
                break;
            }
            let r = l + 1;
            let c = if r < n && self.0[r] < self.0[l] { r } else { l };
            if self.0[c] < self.0[i] {
                self.0.swap(c, i);
                i = c;
            } else {
                break;
            }
        }
    }
}

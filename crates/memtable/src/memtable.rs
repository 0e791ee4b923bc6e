//! The [`Memtable`]: validate, stage, commit; drain sorted.

use std::collections::HashSet;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, UInt64Array, new_null_array};
use arrow_ord::sort::{SortColumn, SortOptions, lexsort_to_indices};
use arrow_schema::Schema as ArrowSchema;
use arrow_select::take::take_record_batch;
use strata_format::{DataType, Schema, SymbolAs};

use crate::coerce::{coerce_column, first_null, held_type};
use crate::column::ColumnStore;
use crate::error::{MemtableError, Result};

/// Default [`MemtableOptions::soft_limit_bytes`]: 64 MiB.
pub const DEFAULT_SOFT_LIMIT_BYTES: usize = 64 << 20;
/// Default [`MemtableOptions::hard_limit_bytes`]: 256 MiB.
pub const DEFAULT_HARD_LIMIT_BYTES: usize = 256 << 20;
/// Default [`MemtableOptions::symbol_cardinality_limit`]: 65 536 distinct values.
pub const DEFAULT_SYMBOL_CARDINALITY_LIMIT: usize = 65_536;

/// Limits of a [`Memtable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemtableOptions {
    /// Accounted bytes at or above which [`Memtable::should_flush`] says "flush me". Appends are
    /// still accepted.
    pub soft_limit_bytes: usize,
    /// Accounted bytes an append may never take the memtable above: such an append is refused
    /// whole with [`MemtableError::Backpressure`].
    pub hard_limit_bytes: usize,
    /// Distinct values a `Symbol` column's dictionary may hold. The value that would exceed it
    /// turns the column into plain strings for the rest of the memtable's life.
    pub symbol_cardinality_limit: usize,
}

impl Default for MemtableOptions {
    fn default() -> Self {
        Self {
            soft_limit_bytes: DEFAULT_SOFT_LIMIT_BYTES,
            hard_limit_bytes: DEFAULT_HARD_LIMIT_BYTES,
            symbol_cardinality_limit: DEFAULT_SYMBOL_CARDINALITY_LIMIT,
        }
    }
}

/// What a successful [`Memtable::append`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Rows this append added.
    pub rows: usize,
    /// Accounted bytes the memtable holds after it.
    pub memory_bytes: usize,
    /// True when the memtable is at or over its soft limit.
    pub should_flush: bool,
}

/// How a `Symbol` column is currently held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolEncoding {
    /// Dictionary-encoded, with this many distinct values so far.
    Dictionary {
        /// Distinct values in the dictionary.
        distinct: usize,
    },
    /// Fell back to plain strings after passing the cardinality limit.
    Plain,
}

/// The first and last sort-key values of a drained batch.
///
/// Each is a one-row [`RecordBatch`] holding only the sort-key columns, in sort-key order, with
/// the same Arrow types as the drained batch.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRange {
    /// Sort key of the first row (the smallest key).
    pub first: RecordBatch,
    /// Sort key of the last row (the largest key).
    pub last: RecordBatch,
}

/// Everything a memtable held, sorted.
#[derive(Debug, Clone, PartialEq)]
pub struct Drained {
    /// The rows, columns in schema order, sorted by the sort key (stable: rows with equal keys
    /// keep their arrival order; nulls sort first). `Symbol` columns are
    /// `Dictionary<Int32, Utf8>`, or `Utf8` (with the `strata.symbol` field metadata) once they
    /// fell back to plain strings.
    pub batch: RecordBatch,
    /// Number of rows (`batch.num_rows()`, at least one).
    pub rows: usize,
    /// First and last sort key; `None` when the schema has no sort key.
    pub key_range: Option<KeyRange>,
}

/// An in-memory, Arrow-native write buffer for one schema.
#[derive(Debug)]
pub struct Memtable {
    schema: Arc<Schema>,
    options: MemtableOptions,
    columns: Vec<ColumnStore>,
    rows: usize,
    memory_bytes: usize,
}

impl Memtable {
    /// An empty memtable. Fails when the soft limit is above the hard limit or when the sort key
    /// names a column the schema does not have.
    pub fn new(schema: Arc<Schema>, options: MemtableOptions) -> Result<Self> {
        if options.soft_limit_bytes > options.hard_limit_bytes {
            return Err(MemtableError::InvalidConfig(format!(
                "soft limit {} is above hard limit {}",
                options.soft_limit_bytes, options.hard_limit_bytes
            )));
        }
        let mut seen = HashSet::new();
        for k in &schema.sort_key {
            if schema.index_of(k).is_none() || !seen.insert(k.as_str()) {
                return Err(MemtableError::InvalidConfig(format!(
                    "sort key column {k:?} is not in the schema or appears twice"
                )));
            }
        }
        let mut names = HashSet::new();
        for f in &schema.fields {
            if !names.insert(f.name.as_str()) {
                return Err(MemtableError::InvalidConfig(format!(
                    "column {:?} appears twice in the schema",
                    f.name
                )));
            }
        }
        let columns = schema
            .fields
            .iter()
            .map(|f| match f.data_type {
                DataType::Symbol => ColumnStore::new_symbol(),
                _ => ColumnStore::new_plain(),
            })
            .collect();
        Ok(Self {
            schema,
            options,
            columns,
            rows: 0,
            memory_bytes: 0,
        })
    }

    /// The schema.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    /// The limits.
    pub fn options(&self) -> &MemtableOptions {
        &self.options
    }

    /// Rows held.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// True when no row is held.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Accounted bytes held (see the crate documentation for what is counted).
    pub fn memory_bytes(&self) -> usize {
        self.memory_bytes
    }

    /// True when the memtable is at or over its soft limit and should be flushed.
    pub fn should_flush(&self) -> bool {
        self.memory_bytes >= self.options.soft_limit_bytes
    }

    /// How the `Symbol` column `column` is held; `None` when there is no such `Symbol` column.
    pub fn symbol_encoding(&self, column: &str) -> Option<SymbolEncoding> {
        let i = self.schema.index_of(column)?;
        if self.schema.fields.get(i)?.data_type != DataType::Symbol {
            return None;
        }
        Some(match self.columns.get(i)?.cardinality() {
            Some(distinct) => SymbolEncoding::Dictionary { distinct },
            None => SymbolEncoding::Plain,
        })
    }

    /// Validates the whole batch, then applies it all or nothing.
    ///
    /// Columns are matched by name, in any order. A column missing from the batch is filled
    /// with nulls when nullable and refused otherwise; a column the schema lacks is refused.
    /// Types must be the schema's or one of the documented coercions; a null in a non-nullable
    /// column is refused with the column and the first null row. The batch's own field
    /// nullability is not consulted, only its data. On any error the memtable is unchanged.
    pub fn append(&mut self, batch: &RecordBatch) -> Result<AppendOutcome> {
        let arrays = self.validate(batch)?;
        let rows = batch.num_rows();
        if rows == 0 {
            return Ok(self.outcome(0));
        }
        let mut staged = Vec::with_capacity(arrays.len());
        let mut after = 0usize;
        for ((field, store), array) in self.schema.fields.iter().zip(&self.columns).zip(arrays) {
            let s = store.stage(&field.name, array, self.options.symbol_cardinality_limit)?;
            after = after.saturating_add(s.bytes_after(store.bytes()));
            staged.push(s);
        }
        if after > self.options.hard_limit_bytes {
            return Err(MemtableError::Backpressure {
                current: self.memory_bytes,
                incoming: after.saturating_sub(self.memory_bytes),
                limit: self.options.hard_limit_bytes,
            });
        }
        // Nothing below can fail.
        for (store, s) in self.columns.iter_mut().zip(staged) {
            store.commit(s);
        }
        self.rows += rows;
        self.memory_bytes = after;
        Ok(self.outcome(rows))
    }

    fn outcome(&self, rows: usize) -> AppendOutcome {
        AppendOutcome {
            rows,
            memory_bytes: self.memory_bytes,
            should_flush: self.should_flush(),
        }
    }

    /// Checks names, types and nulls; returns one array per schema column in its held type.
    fn validate(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
        let batch_schema = batch.schema();
        let mut seen = HashSet::new();
        for f in batch_schema.fields() {
            if !seen.insert(f.name().as_str()) {
                return Err(MemtableError::DuplicateColumn {
                    column: f.name().clone(),
                });
            }
            if self.schema.index_of(f.name()).is_none() {
                return Err(MemtableError::UnknownColumn {
                    column: f.name().clone(),
                });
            }
        }
        let mut arrays = Vec::with_capacity(self.schema.fields.len());
        for field in &self.schema.fields {
            let array = match batch.column_by_name(&field.name) {
                Some(given) => coerce_column(&field.name, &field.data_type, given)?,
                None if field.nullable => {
                    new_null_array(&held_type(&field.data_type), batch.num_rows())
                }
                None => {
                    return Err(MemtableError::MissingColumn {
                        column: field.name.clone(),
                    });
                }
            };
            if !field.nullable
                && let Some(row) = first_null(array.as_ref())
            {
                return Err(MemtableError::NullInNonNullable {
                    column: field.name.clone(),
                    row,
                });
            }
            arrays.push(array);
        }
        Ok(arrays)
    }

    /// Takes everything out, sorted by the sort key; `None` when empty.
    ///
    /// Rows with equal keys keep their arrival order and nulls sort first. Afterwards the
    /// memtable is empty and accounts zero bytes; `Symbol` columns that fell back to plain
    /// strings stay plain. On error the memtable keeps its rows.
    pub fn drain(&mut self) -> Result<Option<Drained>> {
        if self.rows == 0 {
            return Ok(None);
        }
        let batch = self.sorted_batch()?;
        let key_range = if self.schema.sort_key.is_empty() {
            None
        } else {
            let key_columns = self.schema.sort_key_indices();
            let project = |b: RecordBatch| {
                b.project(&key_columns)
                    .map_err(MemtableError::arrow("projecting the key range"))
            };
            Some(KeyRange {
                first: project(batch.slice(0, 1))?,
                last: project(batch.slice(batch.num_rows() - 1, 1))?,
            })
        };
        let rows = batch.num_rows();
        for store in &mut self.columns {
            *store = store.emptied();
        }
        self.rows = 0;
        self.memory_bytes = 0;
        Ok(Some(Drained {
            batch,
            rows,
            key_range,
        }))
    }

    /// A point-in-time view of the held rows for readers. Cheap: it shares the buffered
    /// arrays (and copies the dictionaries' value lists as shared strings), so the memtable
    /// can keep taking appends while the view is read elsewhere.
    pub fn snapshot(&self) -> MemtableSnapshot {
        MemtableSnapshot {
            schema: Arc::clone(&self.schema),
            columns: self.columns.iter().map(ColumnStore::shared_copy).collect(),
            rows: self.rows,
        }
    }

    /// All held rows as one batch, sorted.
    fn sorted_batch(&self) -> Result<RecordBatch> {
        let mut fields = Vec::with_capacity(self.columns.len());
        let mut arrays = Vec::with_capacity(self.columns.len());
        for (field, store) in self.schema.fields.iter().zip(&self.columns) {
            let array = match store.concatenated(&field.name)? {
                Some(a) => a,
                None => new_null_array(&held_type(&field.data_type), self.rows),
            };
            let symbol_as = match store.cardinality() {
                Some(_) => SymbolAs::Dictionary,
                None => SymbolAs::Utf8,
            };
            fields.push(field.to_arrow(symbol_as));
            arrays.push(array);
        }
        let metadata = self
            .schema
            .to_arrow(SymbolAs::Dictionary)
            .metadata()
            .clone();
        let arrow_schema = Arc::new(ArrowSchema::new(fields).with_metadata(metadata));
        let batch = RecordBatch::try_new(arrow_schema, arrays)
            .map_err(MemtableError::arrow("assembling the drained batch"))?;
        let key_columns = self.schema.sort_key_indices();
        if key_columns.is_empty() {
            return Ok(batch);
        }
        let options = Some(SortOptions {
            descending: false,
            nulls_first: true,
        });
        let arrival: ArrayRef = Arc::new(UInt64Array::from_iter_values(0..self.rows as u64));
        let sort_columns: Vec<SortColumn> = key_columns
            .iter()
            .map(|&i| SortColumn {
                values: batch.column(i).clone(),
                options,
            })
            .chain(std::iter::once(SortColumn {
                values: arrival,
                options,
            }))
            .collect();
        let indices = lexsort_to_indices(&sort_columns, None)
            .map_err(MemtableError::arrow("sorting by the sort key"))?;
        take_record_batch(&batch, &indices)
            .map_err(MemtableError::arrow("reordering the drained batch"))
    }
}

/// The rows a memtable held at one moment (see [`Memtable::snapshot`]).
#[derive(Debug)]
pub struct MemtableSnapshot {
    schema: Arc<Schema>,
    columns: Vec<ColumnStore>,
    rows: usize,
}

impl MemtableSnapshot {
    /// Rows in the view.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The rows in arrival order as one batch of the schema's Arrow form with `Symbol`
    /// columns as `Utf8` (`schema.to_arrow(SymbolAs::Utf8)`); `None` when the view is empty.
    pub fn to_batch(&self) -> Result<Option<RecordBatch>> {
        if self.rows == 0 {
            return Ok(None);
        }
        let mut arrays = Vec::with_capacity(self.columns.len());
        for (field, store) in self.schema.fields.iter().zip(&self.columns) {
            arrays.push(match store.concatenated_plain(&field.name)? {
                Some(a) => a,
                None => new_null_array(&held_type(&field.data_type), self.rows),
            });
        }
        let arrow_schema = Arc::new(self.schema.to_arrow(SymbolAs::Utf8));
        RecordBatch::try_new(arrow_schema, arrays)
            .map(Some)
            .map_err(MemtableError::arrow("assembling a memtable snapshot"))
    }
}

//! strata-memtable: the Arrow-native write buffer.
//!
//! Place in the stack: `codec → format → **memtable** → writer → …`. A [`Memtable`] validates
//! incoming Arrow [`RecordBatch`](arrow_array::RecordBatch)es against a Strata
//! [`Schema`](strata_format::Schema), applies each all or nothing, accounts its memory in bytes
//! (a soft limit that says "flush me", a hard limit that refuses writes with
//! [`MemtableError::Backpressure`]) and [drains](Memtable::drain) everything sorted by the sort
//! key.
//!
//! What it is not: it does no I/O, keeps no log (durability is the caller's), knows nothing about
//! segments on disk, and is not a concurrent structure (`append` and `drain` take `&mut self`;
//! wrap it in a lock or give each writer its own).
//!
//! # Appending
//!
//! Columns are matched by name. A missing nullable column is filled with nulls; a missing
//! non-nullable column ([`MemtableError::MissingColumn`]), a column the schema lacks
//! ([`MemtableError::UnknownColumn`]), a type outside the table below
//! ([`MemtableError::SchemaMismatch`]) and a null in a non-nullable column
//! ([`MemtableError::NullInNonNullable`], with the first null row) are refused. Every column is
//! validated and converted before anything changes, so a refused batch leaves rows, memory
//! accounting, symbol dictionaries and the next drain exactly as they were.
//!
//! # Coercions
//!
//! Only these, all lossless ([`can_coerce`] decides them; `arrow-cast` applies them with
//! `safe: false` so a cast can never turn a value into a null):
//!
//! | Schema column        | Accepted Arrow types                                                   |
//! |----------------------|------------------------------------------------------------------------|
//! | `Boolean`            | `Boolean`                                                              |
//! | `Int8`               | `Int8`                                                                 |
//! | `Int16`              | `Int8`, `Int16`, `UInt8`                                               |
//! | `Int32`              | `Int8`, `Int16`, `Int32`, `UInt8`, `UInt16`                            |
//! | `Int64`              | `Int8`, `Int16`, `Int32`, `Int64`, `UInt8`, `UInt16`, `UInt32`         |
//! | `UInt8`              | `UInt8`                                                                |
//! | `UInt16`             | `UInt8`, `UInt16`                                                      |
//! | `UInt32`             | `UInt8`, `UInt16`, `UInt32`                                            |
//! | `UInt64`             | `UInt8`, `UInt16`, `UInt32`, `UInt64`                                  |
//! | `Float32`            | `Float32`                                                              |
//! | `Float64`            | `Float32`, `Float64`                                                   |
//! | `Timestamp(u, tz)`   | `Timestamp(u, tz)`: same unit, same time zone string (or both none)    |
//! | `Date32`             | `Date32`                                                               |
//! | `Binary`             | `Binary`                                                               |
//! | `Utf8`, `LargeUtf8`, `Symbol` | `Utf8`, `LargeUtf8`, `Dictionary<K, Utf8 \| LargeUtf8>` for any integer key `K` |
//!
//! A naive timestamp into a zoned column (or the reverse), a different unit, a narrowing or
//! sign-losing integer, integers into floats and strings into binaries are all refused. A
//! `LargeUtf8` column of more than 2 GiB into a `Utf8` or `Symbol` column fails with
//! [`MemtableError::Arrow`].
//!
//! # Memory accounting
//!
//! Bytes, not rows: each column chunk counts the bytes of its Arrow buffers' logical slice
//! (values, offsets, validity); a `Symbol` column counts its `Int32` codes plus, per distinct
//! value, its UTF-8 length and [`DICTIONARY_ENTRY_OVERHEAD`]. A batch that is a small view of
//! much larger buffers is copied, so the count matches what the memtable keeps alive. The count
//! is deterministic (tests compare it exactly) and excludes small fixed costs (vectors of chunk
//! handles, the schema).
//!
//! An append whose result would exceed [`MemtableOptions::hard_limit_bytes`] is refused whole;
//! a batch larger than the hard limit on its own can never be accepted and must be split.
//!
//! # Symbols
//!
//! A `Symbol` column keeps one dictionary (value → `Int32` code) across batches. When a batch
//! brings the distinct count past [`MemtableOptions::symbol_cardinality_limit`], the column
//! converts what it holds to plain strings and stays plain for the memtable's life (drains
//! included); no value is lost or replaced. [`Memtable::symbol_encoding`] tells which.
//!
//! # Draining
//!
//! [`Memtable::drain`] concatenates the columns (schema order), sorts them by the sort key with
//! nulls first, stable (the arrival index is the last sort column), and returns the
//! [`Drained`] batch with its row count and [`KeyRange`] (first and last key as one-row batches).
//! Without a sort key rows come out in arrival order.
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{Int64Array, RecordBatch, StringArray};
//! use arrow_schema::{DataType as ArrowType, Field as ArrowField, Schema as ArrowSchema};
//! use strata_format::{DataType, Field, Schema};
//! use strata_memtable::{Memtable, MemtableOptions};
//!
//! let schema = Schema::new(vec![
//!     Field::new("ts", DataType::Int64, false),
//!     Field::new("host", DataType::Symbol, true),
//! ])?
//! .with_sort_key(["ts"])?;
//! let mut memtable = Memtable::new(Arc::new(schema), MemtableOptions::default())?;
//!
//! // Int32 widens into the Int64 column; Utf8 is dictionary-encoded into the Symbol column.
//! let batch = RecordBatch::try_new(
//!     Arc::new(ArrowSchema::new(vec![
//!         ArrowField::new("ts", ArrowType::Int32, false),
//!         ArrowField::new("host", ArrowType::Utf8, true),
//!     ])),
//!     vec![
//!         Arc::new(arrow_array::Int32Array::from(vec![30, 10, 20])),
//!         Arc::new(StringArray::from(vec!["a", "b", "a"])),
//!     ],
//! )?;
//! let outcome = memtable.append(&batch)?;
//! assert_eq!(outcome.rows, 3);
//! assert!(!outcome.should_flush);
//!
//! let drained = memtable.drain()?.expect("three rows");
//! let ts = drained.batch.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
//! assert_eq!(ts.values(), &[10, 20, 30]);
//! let range = drained.key_range.unwrap();
//! assert_eq!(range.first.column(0).as_any().downcast_ref::<Int64Array>().unwrap().value(0), 10);
//! assert!(memtable.is_empty());
//! assert_eq!(memtable.memory_bytes(), 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod coerce;
mod column;
pub mod error;
mod memtable;

pub use coerce::can_coerce;
pub use column::DICTIONARY_ENTRY_OVERHEAD;
pub use error::{MemtableError, Result};
pub use memtable::{
    AppendOutcome, DEFAULT_HARD_LIMIT_BYTES, DEFAULT_SOFT_LIMIT_BYTES,
    DEFAULT_SYMBOL_CARDINALITY_LIMIT, Drained, KeyRange, Memtable, MemtableOptions,
    MemtableSnapshot, SymbolEncoding,
};

//! strata-predicate: predicates, block pruning, row filtering and scans.
//!
//! Place in the stack: `codec → format → memtable → writer → **predicate** → partition-registry →
//! compactor`. It reads segments through strata-format and never writes. What it is not: a query
//! engine — no joins, aggregates or expressions over several columns; a predicate compares one
//! column with literals, combined with AND / OR / NOT.
//!
//! The path of a query:
//!
//! ```text
//! text ──parse──> Expr ──BoundPredicate::bind(schema)──> BoundPredicate
//!                                                            │
//! Scan::new(segments).predicate(p).projection(..)            ▼
//!   per segment:  column stats + dictionary ──> Outcomes ⊆ {TRUE, FALSE, NULL}
//!                 TRUE impossible → segment skipped
//!   ordered cols: a column whose block min/max never decrease, bounded by the predicate
//!                 → stripes outside [lo, hi] found by binary search, never evaluated
//!   per stripe:   block stats + bloom + dictionary ──> Outcomes
//!                 TRUE impossible → never read; only TRUE → no row evaluation
//!                 else decode predicate columns, evaluate with Arrow kernels
//!                 minus deleted rows → selection → decode projected blocks straight
//!                 into the output batch's buffers → RecordBatch of exactly the batch size
//! ```
//!
//! [`Scan::threads`] (default: the cores available) reads 65,536-row units of large segments,
//! and runs of consecutive small segments cut at the batch boundaries of a sequential scan, on
//! worker threads; batches come back in the same order and sizes as on one thread. Rows of
//! several segments in one batch share one symbol dictionary (each segment's keys are mapped
//! into it), and the batch's buffers are sized once. A scan (each worker's run of segments,
//! on several threads) asks for the next segments' block tables and blocks while it decodes one
//! (`Segment::prefetch`), so a table of many small segments waits less on memory at each one's
//! first bytes.
//!
//! Semantics are the Arrow kernels': `arrow_ord::cmp` comparisons (floats in IEEE total order,
//! so NaN equals NaN and sorts above every number, and -0.0 < +0.0), NULL operands give NULL,
//! Kleene AND / OR, NOT NULL is NULL, and a row is kept only when the predicate is TRUE.
//! Pruning is conservative: it may keep a block that has no match, never the reverse.
//!
//! Key types: [`Expr`], [`parse`], [`BoundPredicate`] (`bind`, `parse_and_bind`, `evaluate`,
//! `prune_segment`, `prune_block`), [`Outcomes`], [`Scan`], [`ScanIter`], [`ScanStats`],
//! [`matching_rows`], [`PredicateError`].
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
//! use strata_format::{BlockOptions, DataType, Field, Schema, Segment, SymbolAs, write_segment_bytes};
//! use strata_predicate::{BoundPredicate, Scan, parse};
//!
//! let schema = Schema::new(vec![
//!     Field::new("ts", DataType::Int64, false),
//!     Field::new("station", DataType::Symbol, false),
//!     Field::new("PM2.5", DataType::Float64, true),
//! ])?
//! .with_sort_key(["ts"])?;
//! let cols: Vec<ArrayRef> = vec![
//!     Arc::new(Int64Array::from_iter_values(0..10_000)),
//!     Arc::new(StringArray::from_iter_values((0..10_000).map(|i| ["Dongsi", "Tiantan"][i % 2]))),
//!     Arc::new(Float64Array::from_iter((0..10_000).map(|i| (i % 7 != 0).then_some((i % 300) as f64)))),
//! ];
//! let batch = RecordBatch::try_new(Arc::new(schema.to_arrow(SymbolAs::Utf8)), cols)?;
//! let opts = BlockOptions { block_rows: 1024, ..BlockOptions::default() }; // default 4096
//! let bytes = write_segment_bytes(schema.clone(), &[batch], opts)?;
//! let segment = Arc::new(Segment::from_bytes(bytes.into())?.with_symbol_as(SymbolAs::Utf8));
//!
//! let expr = parse(r#"ts >= 2000 AND ts < 3000 AND station = 'Dongsi' AND "PM2.5" > 100"#)?;
//! let predicate = BoundPredicate::bind(&expr, segment.schema())?;
//! let scan = Scan::new(vec![segment]).predicate(predicate).projection(vec!["ts", "PM2.5"]);
//! let stats = scan.stats();
//! let rows: usize = scan.into_iter().map(|b| b.map(|b| b.num_rows())).sum::<Result<_, _>>()?;
//! assert!(rows > 0 && rows < 500);
//! // 10 blocks of 1024 rows; only the blocks holding ts 2000..3000 are read.
//! assert_eq!(stats.get().blocks_total, 10);
//! assert_eq!(stats.get().blocks_pruned, 8);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod bind;
mod error;
mod eval;
mod expr;
mod parse;
mod prune;
mod scan;
mod sorted;

pub use bind::{BoundColumn, BoundExpr, BoundPredicate};
pub use error::{PredicateError, Result};
pub use expr::{CmpOp, Expr, Literal};
pub use parse::{ParseError, parse};
pub use prune::Outcomes;
pub use scan::{
    DEFAULT_BATCH_SIZE, PARALLEL_UNIT_ROWS, Projection, Scan, ScanIter, ScanStats, ScanStatsHandle,
    matching_rows,
};

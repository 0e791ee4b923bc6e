//! strata-datafusion: Strata tables as Apache DataFusion tables, so they can be queried,
//! joined, aggregated and loaded with SQL.
//!
//! Place in the stack: above the `strata` facade, which is all it uses (plus the segment scan
//! of `strata::stack` to read a share of a snapshot's segments per partition). What it is not:
//! a query engine of its own — DataFusion plans and runs every query; this crate only reads and
//! writes tables for it, and no crate below it depends on DataFusion.
//!
//! ```text
//! SQL ─DataFusion─> TableScan(projection, filters, limit)
//!                      │ StrataTable::supports_filters_pushdown: Exact / Inexact / Unsupported
//!                      ▼ StrataTable::scan: snapshot pinned, filters → one BoundPredicate
//!                   StrataScanExec: partition i = a share of the segments (a segment larger
//!                      than a fair share cut into row slices; largest first onto the least
//!                      loaded), read on a blocking thread → channel → stream
//! INSERT INTO t SELECT … ─> DataSinkExec(StrataSink) ─> one strata::Transaction, committed
//!                      when the input ends, aborted on any error or cancellation
//! ```
//!
//! Key types: [`StrataTable`] (the `TableProvider`), [`StrataScanExec`] (the `ExecutionPlan`;
//! `EXPLAIN ANALYZE` shows its pruning counters), [`classify`] (how a filter is pushed down),
//! [`ScanParts`] (a scan as plain data, for a worker of another process to rebuild: see
//! strata-distributed), [`Error`].
//!
//! Pushdown rules (details in [`classify`]): comparisons of a bare column with a literal of its
//! own type, `BETWEEN`, `IN` lists, `IS [NOT] NULL`, `LIKE 'prefix%'` and AND / OR / NOT of
//! these are answered exactly by Strata (same Arrow kernels, same NULL, NaN and -0.0 rules);
//! an AND with an untranslatable child is inexact (Strata prunes, DataFusion filters again);
//! casts over columns are never translated. A limit is pushed only past exact filters.
//! Statistics come from the manifest and the zone maps (see the `stats` module).
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{Float64Array, RecordBatch, StringArray, TimestampMillisecondArray};
//! use datafusion::prelude::SessionContext;
//! use strata::{DataType, FaultFs, Field, Partitioning, Schema, Table, TableConfig, TableOptions, TimeUnit};
//! use strata_datafusion::StrataTable;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let schema = Schema::new(vec![
//!     Field::new("ts", DataType::Timestamp(TimeUnit::Millisecond, None), false),
//!     Field::new("host", DataType::Symbol, false),
//!     Field::new("cpu", DataType::Float64, true),
//! ])?
//! .with_sort_key(["host", "ts"])?;
//! let config = TableConfig::new(schema.clone(), "ts", Partitioning::Day)?;
//! let fs = Arc::new(FaultFs::new());
//! let table = Arc::new(Table::create("/metrics", config, TableOptions::with_fs(fs))?);
//! table.write(&RecordBatch::try_new(
//!     Arc::new(schema.to_arrow(strata::SymbolAs::Utf8)),
//!     vec![
//!         Arc::new(TimestampMillisecondArray::from(vec![1_000, 2_000, 3_000])),
//!         Arc::new(StringArray::from(vec!["a", "b", "a"])),
//!         Arc::new(Float64Array::from(vec![0.5, 0.7, 0.9])),
//!     ],
//! )?)?;
//!
//! let ctx = SessionContext::new();
//! ctx.register_table("metrics", Arc::new(StrataTable::new(Arc::clone(&table))))?;
//! let runtime = tokio::runtime::Builder::new_current_thread().build()?;
//! let batches = runtime.block_on(async {
//!     ctx.sql("INSERT INTO metrics VALUES (TIMESTAMP '1970-01-01 00:00:04', 'b', 0.1)")
//!         .await?
//!         .collect()
//!         .await?;
//!     ctx.sql("SELECT host, count(*) AS n, max(cpu) AS top FROM metrics \
//!              WHERE cpu > 0.2 GROUP BY host ORDER BY host")
//!         .await?
//!         .collect()
//!         .await
//! })?;
//! let text = arrow_cast::pretty::pretty_format_batches(&batches)?.to_string();
//! assert_eq!(
//!     text,
//!     "+------+---+-----+\n\
//!      | host | n | top |\n\
//!      +------+---+-----+\n\
//!      | a    | 2 | 0.9 |\n\
//!      | b    | 1 | 0.7 |\n\
//!      +------+---+-----+"
//! );
//! table.close()?;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

mod error;
mod exec;
mod insert;
mod provider;
mod pushdown;
mod stats;

pub use error::{Error, Result};
pub use exec::{ScanParts, StrataScanExec};
pub use provider::StrataTable;
pub use pushdown::classify;

//! strata-predicate: predicates, block pruning, row filtering and scans.
//!
//! Place in the stack: `… → writer → **predicate** → partition-registry → compactor`. Prunes
//! segments and blocks with three-valued logic over typed zone maps, bloom filters and
//! dictionaries, filters rows with Arrow kernels and yields Arrow `RecordBatch`es.
//!
//! ```
//! use strata_predicate::parse;
//!
//! let e = parse(r#"ts >= '2013-03-01T00:00:00Z' AND station = 'Dongsi' AND "PM2.5" > 100"#)?;
//! assert_eq!(e.columns(), ["ts", "station", "PM2.5"]);
//! # Ok::<(), strata_predicate::ParseError>(())
//! ```
#![forbid(unsafe_code)]

mod bind;
mod error;
mod eval;
mod expr;
mod parse;
mod prune;
mod scan;

pub use bind::{BoundColumn, BoundExpr, BoundPredicate};
pub use error::{PredicateError, Result};
pub use expr::{CmpOp, Expr, Literal};
pub use parse::{ParseError, parse};
pub use prune::Outcomes;
pub use scan::{
    DEFAULT_BATCH_SIZE, Projection, Scan, ScanIter, ScanStats, ScanStatsHandle, matching_rows,
};

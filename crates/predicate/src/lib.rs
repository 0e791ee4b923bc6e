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

mod expr;
mod parse;

pub use expr::{CmpOp, Expr, Literal};
pub use parse::{ParseError, parse};

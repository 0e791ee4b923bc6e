//! strata-predicate: predicates, block pruning, row filtering and scans.
//!
//! Place in the stack: `… → writer → **predicate** → partition-registry → compactor`. Prunes
//! segments and blocks with three-valued logic over typed zone maps, bloom filters and
//! dictionaries, filters rows with Arrow kernels and yields Arrow `RecordBatch`es.
//!
//! Status: lands with the predicate issue; this crate holds no code yet.
#![forbid(unsafe_code)]

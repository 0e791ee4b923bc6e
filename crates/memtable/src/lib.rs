//! strata-memtable: the Arrow-native write buffer.
//!
//! Place in the stack: `codec → format → **memtable** → writer → …`. It validates incoming Arrow
//! record batches against the table schema, applies them all or nothing, accounts memory in bytes
//! (soft limit: flush me; hard limit: backpressure) and drains sorted by the sort key.
//!
//! What it is not: it does no I/O and knows nothing about segments on disk.
//!
//! Status: lands with the segment issue; this crate holds no code yet.
#![forbid(unsafe_code)]

//! strata-compactor: background data movement that never loses a row or blocks a reader.
//!
//! Place in the stack: the top of the storage stack, above partition-registry. Policies and
//! triggers, streaming k-way merges, the crash-safe swap protocol, the background scheduler, and
//! the table index published through `arc-swap` so readers stay on their snapshot.
//!
//! Status: lands with the compactor issue; this crate holds no code yet.
#![forbid(unsafe_code)]

//! strata-partition-registry: time partitions, the crash-safe manifest, deletion vectors.
//!
//! Place in the stack: `… → predicate → **partition-registry** → compactor`. The durable catalogue
//! of a table: which partitions exist and in which state, which segments are live, what has been
//! deleted, and how the table recovers after a crash.
//!
//! Status: lands with the partitions issue; this crate holds no code yet.
#![forbid(unsafe_code)]

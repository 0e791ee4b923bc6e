//! strata-format: the self-describing segment file.
//!
//! Place in the stack: `codec → **format** → memtable → writer → predicate → partition-registry →
//! compactor`. The lowest crate that does I/O: it owns the segment layout (header, column blocks
//! each with its own CRC32C, footer with schema, typed zone maps and bloom filters), the reader
//! with random access to any block, and the filesystem trait every durable write goes through.
//!
//! What it is not: it knows nothing about partitions, manifests or compaction.
//!
//! Status: the segment layout lands with the segment issue; this crate holds no code yet.
#![forbid(unsafe_code)]

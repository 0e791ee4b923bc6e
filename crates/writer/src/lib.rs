//! strata-writer: streams a drained memtable (or a merge) into a segment, durably.
//!
//! Place in the stack: `codec → format → memtable → **writer** → …`. Holds about one block per
//! column plus the footer in memory, whatever the segment size; writes `<name>.tmp`, fsyncs,
//! renames and fsyncs the directory, all through the filesystem trait of strata-format.
//!
//! Status: lands with the segment issue; this crate holds no code yet.
#![forbid(unsafe_code)]

//! The memtable's integration tests, one module per scenario, linked into one test binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod append_failing_batch_leaves_memtable_unchanged;
mod coercions_follow_the_documented_table;
mod drain_equal_keys_keep_arrival_order;
mod limits_soft_flags_hard_refuses;
mod symbol_past_cardinality_limit_keeps_every_value;

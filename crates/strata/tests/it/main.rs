//! The facade's integration tests, one module per scenario, linked into one test binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod table_compression_setting_holds_across_writes_and_merges;
mod table_concurrent_writers_lose_nothing;
mod table_crash_with_fsync_keeps_acknowledged_writes;
mod table_on_object_store;
mod table_round_trip_local_reopens_with_same_rows;
mod table_second_writer_is_locked_out;
mod table_write_path_holds;

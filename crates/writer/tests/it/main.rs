//! The writer's integration tests, one module per scenario, linked into one test binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod memtable_to_segment_random_schemas_equal_stable_sorted_input;
mod parquet_testing_files_round_trip_or_are_refused_by_type;
mod streaming_writer_pending_rows_stay_within_one_block;
mod write_drained_symbol_fallback_reads_back_same_values;
mod writer_failure_at_any_operation_leaves_no_segment_or_temp;
mod writer_rejected_batch_leaves_writer_usable;

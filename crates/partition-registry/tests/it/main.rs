//! The partition registry's integration tests, one module per scenario, linked into one test binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod corrupt_manifest_is_torn_tail_or_typed_error;
mod crash_at_every_fs_operation_recovers_last_commit;
mod dead_space_is_tracked_per_segment_and_partition;
mod deleted_row_written_again_stays_visible;
mod local_fs_recovery_removes_orphans;
mod merging_partition_stays_queryable;
mod model_random_operations_agree_with_oracle;
mod object_layout_commits_by_conditional_put;
mod partition_transitions_illegal_are_typed_errors;
mod schema_evolution_reads_real_nulls;

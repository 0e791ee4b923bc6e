//! The compactor's integration tests, one module per scenario, linked into one test binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod bandwidth_probe_is_never_left_behind;
mod crash_during_compaction_recovers_before_or_after;
mod delete_during_merge_is_a_conflict_and_keeps_rows;
mod golden_v1_merged_with_new_segment_keeps_rows;
mod merge_random_inputs_match_oracle;
mod merge_schema_conflicts_typed_error;
mod oracle_stress_readers_see_exact_committed_rows;
mod policy_random_tables_plans_are_well_formed;
mod scheduler_flushes_compacts_and_joins_on_drop;
mod snapshot_held_keeps_retired_files_until_dropped;

//! Integration tests of strata-datafusion, one binary (DataFusion is large to link): each
//! module is one scenario.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod date_bin_groups_by_time_and_prunes_segments;
mod insert_into_commits_all_rows_or_none;
mod one_large_segment_is_split_between_partitions;
mod random_filters_match_memtable;
mod tpch_queries_match_memtable;

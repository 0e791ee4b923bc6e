//! The benchmark suites' integration tests (small runs that check the reports), one module per scenario, linked into one test binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod codec_suite_small_data_dir_writes_reports;
mod compaction_suite_small_flights_merges_and_reports;
mod segment_suite_small_data_dir_writes_reports;

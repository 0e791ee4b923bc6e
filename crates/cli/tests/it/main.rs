//! The command-line tool's integration tests, one module per scenario, linked into one test binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cli_ingest_killed_commits_all_or_nothing;
mod cli_ingest_reads_files_it_did_not_make;
mod cli_inspect_and_errors_match_snapshots;
mod cli_on_an_s3_server;
mod cli_runs_binary_on_files_it_makes;
mod cli_sql_runs_queries_on_tables_it_makes;

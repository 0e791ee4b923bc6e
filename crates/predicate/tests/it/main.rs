//! The predicate crate's integration tests, one module per scenario, linked into one test binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod bind_errors;
mod display_parse_round_trips;
mod parse_syntax;
mod prune_never_skips;
mod scan_oracle;
mod scan_scenarios;

//! The segment format's integration tests, one module per scenario, linked into one test binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod corruption;
mod derived;
mod footer_snapshot;
mod golden;
mod roundtrip;
mod stats_conservative;
mod zstd_stage;

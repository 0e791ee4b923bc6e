//! strata-object-store's integration tests, one module per scenario, linked into one test binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod conformance;
mod counting_store;
mod fault_store;
mod open_url;
mod runtime_nesting;

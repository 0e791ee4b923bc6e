//! Strata benchmark harness.
fn main() {}
